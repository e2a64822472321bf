/*
 * fuzz_eql.c - libFuzzer target: arbitrary bytes compiled as EQL, then
 * evaluated: single-event queries against fixed documents, sequences and
 * samples through a stream, in order and unsorted.  Bytes after a NUL, if
 * they are JSON, become one more document.
 *
 * Besides memory errors it checks the contract: a query either compiles
 * or fails with a syntax/unsupported error whose line and column lie
 * inside the text, and fd_eql_fields() is a NULL-terminated list.
 *
 *   make fuzz && ./build-fuzz/fuzz_eql tests/fuzz/corpus/eql
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eql.h"

static const char *const doc_json[] = {
	"{\"@timestamp\":\"2026-03-02T10:00:00.000Z\","
	"\"event\":{\"category\":[\"process\"],\"type\":[\"start\"],"
	"\"action\":\"exec\"},\"host\":{\"id\":\"h1\",\"os\":{\"type\":"
	"\"macos\"},\"ip\":[\"10.0.0.5\",\"fe80::1\"]},\"process\":{\"name\":"
	"\"defaults\",\"pid\":1201,\"args_count\":3,\"entity_id\":\"P1\","
	"\"args\":[\"defaults\",\"read\",\"ShadowHashData\",null,\"\"],"
	"\"parent\":{\"name\":\"zsh\",\"entity_id\":\"P0\"},"
	"\"code_signature\":{\"trusted\":true}},\"user\":{\"name\":"
	"\"jos\\u00e9\",\"id\":\"0x1F\"},\"title\":null,\"list\":[]}",
	"{\"@timestamp\":\"2026-03-02T10:00:01.500+00:00\","
	"\"event\":{\"category\":\"file\",\"action\":\"modification\"},"
	"\"host\":{\"id\":\"h1\"},\"file\":{\"path\":\"/tmp/out.txt\","
	"\"name\":\"out.txt\"},\"process\":{\"entity_id\":\"P1\","
	"\"name\":\"defaults\"},\"user\":{\"name\":\"Jos\\u00c9\"}}",
	"{\"@timestamp\":1772445602000,\"event\":{\"category\":[\"network\","
	"\"process\"]},\"host\":{\"id\":\"h2\"},\"source\":{\"ip\":"
	"\"192.168.1.7\"},\"destination\":{\"port\":443},"
	"\"process\":{\"name\":\"curl\",\"entity_id\":\"P1\",\"args_count\":"
	"2.5}}",
	"{\"@timestamp\":\"not a time\",\"event\":{\"category\":"
	"[\"process\"]},\"process\":{\"name\":\"x\"}}",
};

#define NDOCS (sizeof(doc_json) / sizeof(doc_json[0]))

static cJSON *docs[NDOCS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *arg, const size_t *events, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (events[i] > NDOCS)
			abort();
	(*(size_t *)arg)++;
	return 0;
}

/* Is line:col (1-based, col in characters) inside text or just past a
 * line's end? */
static bool inside(const char *text, int line, int col)
{
	int l = 1, c = 1;

	for (; *text; text++) {
		if (l == line && c == col)
			return true;
		if (*text == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)*text & 0xC0) != 0x80) {
			c++;
		}
	}
	return l == line && c == col;
}

static void run_stream(const struct fd_eql *q, const cJSON *extra,
		       unsigned flags)
{
	struct fd_eql_stream *s;
	size_t i, results = 0;

	if (fd_eql_stream_new(q, flags, &s))
		return;
	for (i = 0; i < NDOCS; i++) {
		size_t k = flags ? NDOCS - 1 - i : i;

		if (fd_eql_stream_push(s, docs[k], k, count, &results) ==
		    -FD_ERR_NOMEM)
			abort();
	}
	if (extra)
		(void)fd_eql_stream_push(s, extra, NDOCS, count, &results);
	(void)fd_eql_stream_flush(s, count, &results);
	fd_eql_stream_free(s);
}

static void check(const char *text, const cJSON *extra)
{
	struct fd_eql *q = NULL;
	const char *const *f;
	struct fd_diag d;
	size_t n, i;
	int rc;

	fd_diag_clear(&d);
	rc = fd_eql_compile(text, &q, &d);
	if (rc < 0) {
		if (q || (rc != -FD_ERR_SYNTAX && rc != -FD_ERR_UNSUPPORTED))
			abort();
		if (!inside(text, d.line, d.col) || !d.msg[0])
			abort();
		return;
	}
	for (i = 0; i < NDOCS; i++)
		(void)fd_eql_match(q, docs[i]);
	if (extra)
		(void)fd_eql_match(q, extra);
	(void)fd_eql_match(q, NULL);
	f = fd_eql_fields(q, &n);
	for (i = 0; i < n; i++)
		if (!f[i])
			abort();
	if (f[n])
		abort();
	run_stream(q, extra, 0);
	run_stream(q, extra, FD_EQL_STREAM_UNSORTED);
	fd_eql_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	cJSON *extra = NULL;
	char *text;
	size_t i, qlen = nul ? (size_t)(nul - data) : size;

	for (i = 0; i < NDOCS && !docs[i]; i++) {
		docs[i] = cJSON_Parse(doc_json[i]);
		if (!docs[i])
			abort();
	}
	text = malloc(qlen + 1);
	if (!text)
		return 0;
	memcpy(text, data, qlen);
	text[qlen] = '\0';
	if (nul)
		extra = cJSON_ParseWithLength((const char *)nul + 1,
					      size - qlen - 1);
	check(text, extra);
	cJSON_Delete(extra);
	free(text);
	return 0;
}
