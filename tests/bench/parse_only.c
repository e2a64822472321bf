/*
 * parse_only.c - the floor for `firedrill query`: read an NDJSON file and
 * parse every line with cJSON, doing nothing else.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;

	if (!f)
		return 2;
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *doc = cJSON_ParseWithLength(line, (size_t)len);

		n += doc != NULL;
		cJSON_Delete(doc);
	}
	free(line);
	fclose(f);
	printf("%ld\n", n);
	return 0;
}
