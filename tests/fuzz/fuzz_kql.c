/*
 * fuzz_kql.c - libFuzzer target: arbitrary bytes compiled as KQL, then
 * matched against a fixed document that has nested objects, dotted keys,
 * arrays, numbers, booleans and nulls.
 *
 * Besides memory errors it checks the contract: a query either compiles
 * or fails with a syntax/unsupported error whose column lies inside the
 * text (line 1), and fd_kql_fields() is a NULL-terminated list.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore -Iengine \
 *     tests/fuzz/fuzz_kql.c core/fd_err.c engine/field.c engine/kql_*.c \
 *     -lcjson -o fuzz_kql && ./fuzz_kql tests/fuzz/corpus/kql
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kql.h"

static const char doc_json[] =
	"{\"@timestamp\":\"2024-05-01T12:00:00.000Z\","
	"\"event\":{\"category\":[\"process\"],\"type\":[\"start\"]},"
	"\"host.os.type\":\"macos\",\"host\":{\"cpu\":{\"usage\":0.5}},"
	"\"process\":{\"name\":\"defaults\",\"pid\":1201,\"args_count\":3,"
	"\"args\":[\"defaults\",\"read\",\"ShadowHashData\",null,\"\"],"
	"\"parent.name\":\"zsh\",\"code_signature\":{\"trusted\":true},"
	"\"macho\":{\"sections\":[{\"name\":\"__TEXT\",\"size\":4096,"
	"\"flags\":[\"r\",\"x\"]},{\"name\":\"__DATA\",\"size\":8192}]}},"
	"\"threat\":[{\"tactic\":{\"id\":\"TA0006\"}},{\"tactic\":"
	"{\"id\":\"TA0002\"}}],\"user\":{\"name\":\"jos\\u00e9\","
	"\"id\":\"501\"},\"title\":null,\"empty\":{},\"list\":[]}";

static cJSON *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_kql *q = NULL;
	const char *const *f;
	struct fd_diag d;
	char *text;
	size_t n;
	int rc;

	if (!doc) {
		doc = cJSON_Parse(doc_json);
		if (!doc)
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	fd_diag_clear(&d);
	rc = fd_kql_compile(text, &q, &d);
	if (rc < 0) {
		if (q || (rc != -FD_ERR_SYNTAX && rc != -FD_ERR_UNSUPPORTED))
			abort();
		if (d.line != 1 || d.col < 1 ||
		    (size_t)d.col > chars(text) + 1 || !d.msg[0])
			abort();
	} else {
		(void)fd_kql_match(q, doc);
		(void)fd_kql_match(q, NULL);
		f = fd_kql_fields(q, &n);
		for (size_t i = 0; i < n; i++)
			if (!f[i])
				abort();
		if (f[n])
			abort();
		fd_kql_free(q);
	}
	free(text);
	return 0;
}
