/*
 * fuzz_exception.c - libFuzzer entry point for exception lists.
 *
 * The first half of each input is parsed as JSON and added to a set as
 * lists and items (fd_exc_add_json: the shape checks, entry validation,
 * wildcard compilation); the second half is parsed as an event, and every
 * list loaded is matched against it, so the matcher sees arbitrary
 * patterns against arbitrary documents.  ASan checks for leaks and
 * overruns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exception.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	cJSON *doc = cJSON_ParseWithLength((const char *)data, half);
	cJSON *event = cJSON_ParseWithLength((const char *)data + half,
					     size - half);
	struct fd_exc_set *set = fd_exc_new();
	struct fd_diag diag;
	const cJSON *it;
	const char *ids[64];
	size_t n = 0;

	if (set && doc && fd_exc_add_json(set, doc, "fuzz", &diag) == 0) {
		const cJSON *all = cJSON_IsArray(doc) ? doc : NULL;

		/* every list_id the input names, as a caller would pass */
		cJSON_ArrayForEach(it, all) {
			const cJSON *lid = cJSON_GetObjectItem(it, "list_id");

			if (cJSON_IsString(lid) && n < 64)
				ids[n++] = lid->valuestring;
		}
		if (event) {
			const struct fd_exc_item *m;
			char words[512];

			m = fd_exc_match(set, ids, n, event, 1.8e9);
			if (m)
				fd_exc_item_describe(m, words, sizeof(words));
		}
	}
	fd_exc_free(set);
	cJSON_Delete(doc);
	cJSON_Delete(event);
	return 0;
}
