/*
 * test_eql_sequence.c - EQL over event streams: the shared sequence and
 * sample vectors (in order and unsorted), missing events before and after,
 * pipes, unordered input, events without a timestamp, callback errors and
 * the memory bound that maxspan gives.
 *
 * Run: make build/tests/test_eql_sequence && build/tests/test_eql_sequence
 * Tests that read ../shared (FD_SHARED_DIR) skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared.h"
#include <cjson/cJSON.h>

#include "eql.h"
#include "fd_err.h"

#define MAX_RESULTS 64
#define MAX_WIDTH 16

struct results {
	size_t ev[MAX_RESULTS][MAX_WIDTH];
	size_t width[MAX_RESULTS];
	int n;
};

static int collect(void *arg, const size_t *events, size_t n)
{
	struct results *r = arg;

	assert_true(n <= MAX_WIDTH);
	if (r->n < MAX_RESULTS) {
		memcpy(r->ev[r->n], events, n * sizeof(*events));
		r->width[r->n] = n;
	}
	r->n++;
	return 0;
}

static struct fd_eql *compile_ok(const char *q)
{
	struct fd_diag d = { 0 };
	struct fd_eql *e = NULL;
	int rc = fd_eql_compile(q, &e, &d);

	if (rc < 0)
		print_error("compile failed (%d) %d:%d: %s\n  query: %s\n", rc,
			    d.line, d.col, d.msg, q);
	assert_int_equal(rc, 0);
	return e;
}

/* "1 2 3; 4 5 6" lists the expected results in order. */
static void expect_results(const struct results *r, const char *want)
{
	char got[1024];
	size_t o = 0, k;
	int i;

	got[0] = '\0';
	for (i = 0; i < r->n && i < MAX_RESULTS; i++) {
		if (i)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "; ");
		for (k = 0; k < r->width[i]; k++)
			o += (size_t)snprintf(got + o, sizeof(got) - o,
					      "%s%zu", k ? " " : "",
					      r->ev[i][k]);
	}
	if (strcmp(got, want))
		print_error("results: got \"%s\", want \"%s\"\n", got, want);
	assert_string_equal(got, want);
}

/* An event: time in seconds, category, process name, host and user. */
static cJSON *event(double secs, const char *cat, const char *name,
		    const char *host, const char *user)
{
	cJSON *e = cJSON_CreateObject(), *ev, *proc, *h, *u;
	char ts[64];
	long ms = (long)(secs * 1000 + 0.5);

	snprintf(ts, sizeof(ts), "2026-03-02T10:%02ld:%02ld.%03ldZ",
		 ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
	cJSON_AddStringToObject(e, "@timestamp", ts);
	ev = cJSON_AddObjectToObject(e, "event");
	cJSON_AddItemToObject(ev, "category",
			      cJSON_CreateStringArray(&cat, 1));
	proc = cJSON_AddObjectToObject(e, "process");
	cJSON_AddStringToObject(proc, "name", name);
	h = cJSON_AddObjectToObject(e, "host");
	if (host)
		cJSON_AddStringToObject(h, "id", host);
	u = cJSON_AddObjectToObject(e, "user");
	if (user)
		cJSON_AddStringToObject(u, "name", user);
	return e;
}

/* Run query over docs (pushed in the order given by order, or in array
 * order when NULL) and flush. */
static int run(const char *query, cJSON **docs, size_t n,
	       const size_t *order, unsigned flags, struct results *r)
{
	struct fd_eql *e = compile_ok(query);
	struct fd_eql_stream *s;
	size_t i;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	assert_int_equal(fd_eql_stream_new(e, flags, &s), 0);
	for (i = 0; i < n && !rc; i++) {
		size_t k = order ? order[i] : i;

		rc = fd_eql_stream_push(s, docs[k], k, collect, r);
	}
	if (!rc)
		rc = fd_eql_stream_flush(s, collect, r);
	fd_eql_stream_free(s);
	fd_eql_free(e);
	return rc;
}

static void free_docs(cJSON **docs, size_t n)
{
	while (n--)
		cJSON_Delete(docs[n]);
}

/* ---- the shared vectors ---- */

static bool same_result(const cJSON *want, const struct results *r,
			int b)
{
	size_t k;

	if ((int)r->width[b] != cJSON_GetArraySize(want))
		return false;
	for (k = 0; k < r->width[b]; k++)
		if ((size_t)cJSON_GetArrayItem(want, (int)k)->valueint !=
		    r->ev[b][k])
			return false;
	return true;
}

/* The expected arrays and the results, compared as multisets. */
static bool same_results(const cJSON *want, const struct results *r)
{
	bool taken[MAX_RESULTS] = { false };
	int nw = cJSON_GetArraySize(want), a, b;

	if (nw != r->n || r->n > MAX_RESULTS)
		return false;
	for (a = 0; a < nw; a++) {
		const cJSON *wa = cJSON_GetArrayItem(want, a);

		for (b = 0; b < r->n; b++)
			if (!taken[b] && same_result(wa, r, b))
				break;
		if (b == r->n)
			return false;
		taken[b] = true;
	}
	return true;
}

static void print_results(const char *id, const char *mode,
			  const cJSON *want, const struct results *r)
{
	char *w = cJSON_PrintUnformatted(want);
	int i;
	size_t k;

	printf("  FAIL %s (%s): want %s, got", id, mode, w);
	for (i = 0; i < r->n && i < MAX_RESULTS; i++) {
		printf(" [");
		for (k = 0; k < r->width[i]; k++)
			printf("%s%zu", k ? "," : "", r->ev[i][k]);
		printf("]");
	}
	printf("\n");
	free(w);
}

/* One stream case in one mode; true when it passes. */
static bool run_stream_case(const cJSON *c, unsigned flags)
{
	const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
	const char *q = cJSON_GetObjectItem(c, "query")->valuestring;
	const cJSON *evs = cJSON_GetObjectItem(c, "events"), *ev;
	struct fd_diag d = { 0 };
	struct fd_eql *e = NULL;
	struct fd_eql_stream *s;
	struct results r = { 0 };
	size_t i = 0;
	int rc = fd_eql_compile(q, &e, &d);
	bool ok;

	if (cJSON_IsTrue(cJSON_GetObjectItem(c, "error"))) {
		fd_eql_free(e);
		if (rc < 0 && d.line > 0 && d.msg[0])
			return true;
		printf("  FAIL %s: expected an error, got %d\n", id, rc);
		return false;
	}
	if (rc < 0) {
		printf("  FAIL %s: %d:%d: %s\n", id, d.line, d.col, d.msg);
		return false;
	}
	assert_int_equal(fd_eql_stream_new(e, flags, &s), 0);
	cJSON_ArrayForEach(ev, evs) {
		rc = fd_eql_stream_push(s, ev, i++, collect, &r);
		if (rc)
			break;
	}
	if (!rc)
		rc = fd_eql_stream_flush(s, collect, &r);
	fd_eql_stream_free(s);
	fd_eql_free(e);
	ok = !rc && same_results(cJSON_GetObjectItem(c, "sequences"), &r);
	if (!ok)
		print_results(id, flags ? "unsorted" : "in order",
			      cJSON_GetObjectItem(c, "sequences"), &r);
	return ok;
}

static void test_eql_sequence__vectors(void **state)
{
	char path[1024];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	int pass = 0, fail = 0, cases = 0, errors = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/vectors/eql-sequence/streams.jsonl",
		 shared_dir());
	f = fopen(path, "r");
	if (!f) {
		printf("skip: no EQL sequence vectors under %s (set "
		       "FD_SHARED_DIR)\n", shared_dir());
		skip();
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON *c = cJSON_Parse(line);
		bool ok;

		assert_non_null(c);
		cases++;
		errors += cJSON_IsTrue(cJSON_GetObjectItem(c, "error"));
		ok = run_stream_case(c, 0);
		ok &= run_stream_case(c, FD_EQL_STREAM_UNSORTED);
		if (ok)
			pass++;
		else
			fail++;
		cJSON_Delete(c);
	}
	free(line);
	fclose(f);
	printf("eql sequence vectors: %d cases (%d error cases), each in "
	       "order and unsorted: %d passed, %d failed\n", cases, errors,
	       pass, fail);
	assert_true(pass > 0);
	assert_int_equal(fail, 0);
}

/* ---- behaviour beyond the vectors ---- */

static void test_eql_sequence__single_event_stream(void **state)
{
	cJSON *docs[4];
	struct results r;

	(void)state;
	docs[0] = event(0, "process", "a", "h1", NULL);
	docs[1] = event(1, "process", "b", "h1", NULL);
	docs[2] = event(2, "file", "a", "h1", NULL);
	docs[3] = event(3, "process", "a", "h1", NULL);
	assert_int_equal(run("process where process.name == \"a\"", docs, 4,
			     NULL, 0, &r), 0);
	expect_results(&r, "0; 3");
	assert_int_equal(run("any where process.name == \"a\" | tail 2", docs,
			     4, NULL, 0, &r), 0);
	expect_results(&r, "2; 3");
	assert_int_equal(run("any where true | head 3 | tail 2", docs, 4,
			     NULL, 0, &r), 0);
	expect_results(&r, "1; 2");
	assert_int_equal(run("any where true | tail 3 | head 1", docs, 4,
			     NULL, 0, &r), 0);
	expect_results(&r, "1");
	assert_int_equal(run("any where true | head 0", docs, 4, NULL, 0, &r),
			 0);
	expect_results(&r, "");
	/* a huge tail keeps what arrives, not n slots (found by fuzzing) */
	assert_int_equal(run("any where true | tail 333333333333333333 | "
			     "tail 2", docs, 4, NULL, 0, &r), 0);
	expect_results(&r, "2; 3");
	free_docs(docs, 4);
}

static void test_eql_sequence__head_and_tail(void **state)
{
	static const char q[] = "sequence by host.id [process where "
				"process.name == \"a\"] [process where "
				"process.name == \"b\"]";
	char query[256];
	cJSON *docs[6];
	struct results r;

	(void)state;
	docs[0] = event(0, "process", "a", "h1", NULL);
	docs[1] = event(1, "process", "b", "h1", NULL);
	docs[2] = event(2, "process", "a", "h2", NULL);
	docs[3] = event(3, "process", "b", "h2", NULL);
	docs[4] = event(4, "process", "a", "h3", NULL);
	docs[5] = event(5, "process", "b", "h3", NULL);
	assert_int_equal(run(q, docs, 6, NULL, 0, &r), 0);
	expect_results(&r, "0 1; 2 3; 4 5");
	snprintf(query, sizeof(query), "%s | head 2", q);
	assert_int_equal(run(query, docs, 6, NULL, 0, &r), 0);
	expect_results(&r, "0 1; 2 3");
	snprintf(query, sizeof(query), "%s | tail 2", q);
	assert_int_equal(run(query, docs, 6, NULL, 0, &r), 0);
	expect_results(&r, "2 3; 4 5");
	free_docs(docs, 6);
}

static void test_eql_sequence__unsorted_input(void **state)
{
	static const char q[] = "sequence by host.id with maxspan=10s "
				"[process where process.name == \"a\"] "
				"[process where process.name == \"b\"]";
	static const size_t backwards[] = { 4, 3, 2, 1, 0 };
	cJSON *docs[5];
	struct results r;

	(void)state;
	docs[0] = event(0, "process", "a", "h1", NULL);
	docs[1] = event(1, "process", "a", "h2", NULL);
	docs[2] = event(5, "process", "b", "h1", NULL);
	docs[3] = event(20, "process", "b", "h2", NULL);
	docs[4] = event(21, "process", "a", "h1", NULL);
	assert_int_equal(run(q, docs, 5, NULL, 0, &r), 0);
	expect_results(&r, "0 2");
	/* In order is required by default... */
	assert_int_equal(run(q, docs, 5, backwards, 0, &r), -FD_ERR_INVALID);
	/* ...and FD_EQL_STREAM_UNSORTED sorts by time. */
	assert_int_equal(run(q, docs, 5, backwards, FD_EQL_STREAM_UNSORTED,
			     &r), 0);
	expect_results(&r, "0 2");
	free_docs(docs, 5);
}

static void test_eql_sequence__timestamps(void **state)
{
	static const char q[] = "sequence with maxspan=2s [any where a == 1] "
				"[any where a == 2]";
	static const char *const pairs[][2] = {
		/* offsets, fractions and epoch milliseconds */
		{ "\"2026-03-02T12:00:00+02:00\"",
		  "\"2026-03-02T10:00:02Z\"" },
		{ "\"2026-03-02T10:00:00.9999Z\"",
		  "\"2026-03-02T10:00:02.999Z\"" },
		{ "1772445600000", "\"2026-03-02T10:00:02.000Z\"" },
		{ "\"1772445600000\"", "1772445602000" },
		{ "\"2026-03-02 10:00:00Z\"",
		  "\"2026-03-02T10:00:01-00:00\"" },
	};
	char buf[2][128];
	cJSON *docs[2];
	struct results r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		snprintf(buf[0], sizeof(buf[0]), "{\"a\":1,\"@timestamp\":%s}",
			 pairs[i][0]);
		snprintf(buf[1], sizeof(buf[1]), "{\"a\":2,\"@timestamp\":%s}",
			 pairs[i][1]);
		docs[0] = cJSON_Parse(buf[0]);
		docs[1] = cJSON_Parse(buf[1]);
		assert_int_equal(run(q, docs, 2, NULL, 0, &r), 0);
		if (r.n != 1)
			print_error("timestamps %s, %s\n", pairs[i][0],
				    pairs[i][1]);
		expect_results(&r, "0 1");
		free_docs(docs, 2);
	}
	/* 2.001s apart is past a 2s maxspan */
	docs[0] = cJSON_Parse("{\"a\":1,\"@timestamp\":"
			      "\"2026-03-02T10:00:00Z\"}");
	docs[1] = cJSON_Parse("{\"a\":2,\"@timestamp\":"
			      "\"2026-03-02T10:00:02.001Z\"}");
	assert_int_equal(run(q, docs, 2, NULL, 0, &r), 0);
	expect_results(&r, "");
	free_docs(docs, 2);
}

static void test_eql_sequence__no_timestamp_is_skipped(void **state)
{
	struct fd_eql *e = compile_ok("sequence [any where a == 1] "
				      "[any where a == 2]");
	struct fd_eql_stream *s;
	struct fd_eql_stream_stats st;
	struct results r = { 0 };
	cJSON *d0 = cJSON_Parse("{\"a\":1,\"@timestamp\":1000}");
	cJSON *d1 = cJSON_Parse("{\"a\":2}");
	cJSON *d2 = cJSON_Parse("{\"a\":2,\"@timestamp\":\"not a time\"}");
	cJSON *d3 = cJSON_Parse("{\"a\":2,\"@timestamp\":2000}");

	(void)state;
	assert_int_equal(fd_eql_stream_new(e, 0, &s), 0);
	assert_int_equal(fd_eql_stream_push(s, d0, 0, collect, &r), 0);
	assert_int_equal(fd_eql_stream_push(s, d1, 1, collect, &r), 0);
	assert_int_equal(fd_eql_stream_push(s, d2, 2, collect, &r), 0);
	assert_int_equal(fd_eql_stream_push(s, d3, 3, collect, &r), 0);
	assert_int_equal(fd_eql_stream_flush(s, collect, &r), 0);
	fd_eql_stream_stats(s, &st);
	assert_int_equal(st.pushed, 4);
	assert_int_equal(st.skipped, 2);
	expect_results(&r, "0 3");
	fd_eql_stream_free(s);
	fd_eql_free(e);
	cJSON_Delete(d0);
	cJSON_Delete(d1);
	cJSON_Delete(d2);
	cJSON_Delete(d3);
}

/* Missing events before the first stage and after the last, alone and
 * together (semantics reference, "Missing events"). */
static void test_eql_sequence__missing_lead_and_trail(void **state)
{
	static const char lead[] = "sequence by host.id with maxspan=10s "
				   "![process where process.name == \"x\"] "
				   "[process where process.name == \"b\"]";
	static const char both[] = "sequence by host.id with maxspan=10s "
				   "![process where process.name == \"x\"] "
				   "[process where process.name == \"b\"] "
				   "![process where process.name == \"y\"]";
	cJSON *docs[8];
	struct results r;

	(void)state;
	/* h1: x at 0, b at 5: rejected; h2: x at 0, b at 15: accepted;
	 * h3: b alone: accepted; h4: x at 1, b at 11 exactly: rejected */
	docs[0] = event(0, "process", "x", "h1", NULL);
	docs[1] = event(0, "process", "x", "h2", NULL);
	docs[2] = event(1, "process", "x", "h4", NULL);
	docs[3] = event(2, "process", "b", "h3", NULL);
	docs[4] = event(5, "process", "b", "h1", NULL);
	docs[5] = event(11, "process", "b", "h4", NULL);
	docs[6] = event(15, "process", "b", "h2", NULL);
	docs[7] = event(30, "process", "z", "h9", NULL);
	assert_int_equal(run(lead, docs, 8, NULL, 0, &r), 0);
	expect_results(&r, "3; 6");
	free_docs(docs, 8);
	/* both: reject only when x and y both exist and y - x <= 10s */
	docs[0] = event(0, "process", "x", "h1", NULL);	/* y at 9: out */
	docs[1] = event(0, "process", "x", "h2", NULL);	/* y at 12: in */
	docs[2] = event(3, "process", "b", "h1", NULL);
	docs[3] = event(4, "process", "b", "h2", NULL);
	docs[4] = event(5, "process", "b", "h3", NULL);	/* no x: in */
	docs[5] = event(9, "process", "y", "h1", NULL);
	docs[6] = event(12, "process", "y", "h2", NULL);
	docs[7] = event(13, "process", "y", "h3", NULL);
	assert_int_equal(run(both, docs, 8, NULL, 0, &r), 0);
	expect_results(&r, "4; 3");
	/* the same judged at the end of an unsorted stream */
	assert_int_equal(run(both, docs, 8, NULL, FD_EQL_STREAM_UNSORTED, &r),
			 0);
	assert_int_equal(r.n, 2);
	free_docs(docs, 8);
}

static void test_eql_sequence__optional_keys(void **state)
{
	static const char q[] = "sequence by ?user.name [process where "
				"process.name == \"a\"] [process where "
				"process.name == \"b\"]";
	cJSON *docs[4];
	struct results r;

	(void)state;
	docs[0] = event(0, "process", "a", "h1", NULL);
	docs[1] = event(1, "process", "b", "h1", "bob");
	docs[2] = event(2, "process", "b", "h1", NULL);
	docs[3] = event(3, "process", "b", "h1", NULL);
	assert_int_equal(run(q, docs, 4, NULL, 0, &r), 0);
	expect_results(&r, "0 2");
	free_docs(docs, 4);
}

static void test_eql_sequence__samples(void **state)
{
	static const char q[] = "sample by host.id [process where "
				"process.name == \"a\"] [process where "
				"process.name : \"*\"]";
	cJSON *docs[7];
	struct results r;

	(void)state;
	docs[0] = event(0, "process", "a", "h3", NULL);
	docs[1] = event(1, "process", "q", "h3", NULL);
	docs[2] = event(2, "process", "a", "h1", NULL);	/* alone: no */
	docs[3] = event(3, "process", "a", "h2", NULL);
	docs[4] = event(4, "process", "a", "h2", NULL);	/* two a's: yes */
	docs[5] = event(5, "process", "a", NULL, NULL);	/* no key */
	docs[6] = event(6, "process", "a", NULL, NULL);
	assert_int_equal(run(q, docs, 7, NULL, 0, &r), 0);
	/* ascending key order, one event per filter, all distinct */
	expect_results(&r, "3 4; 0 1");
	free_docs(docs, 7);
}

static int refuse(void *arg, const size_t *events, size_t n)
{
	(void)events;
	(void)n;
	(*(int *)arg)++;
	return -FD_ERR_IO;
}

static void test_eql_sequence__emit_error_stops(void **state)
{
	struct fd_eql *e = compile_ok("sequence [any where a == 1] "
				      "[any where a == 2]");
	struct fd_eql_stream *s;
	cJSON *d1 = cJSON_Parse("{\"a\":1,\"@timestamp\":1}");
	cJSON *d2 = cJSON_Parse("{\"a\":2,\"@timestamp\":2}");
	int calls = 0;

	(void)state;
	assert_int_equal(fd_eql_stream_new(e, 0, &s), 0);
	assert_int_equal(fd_eql_stream_push(s, d1, 0, refuse, &calls), 0);
	assert_int_equal(fd_eql_stream_push(s, d2, 1, refuse, &calls),
			 -FD_ERR_IO);
	assert_int_equal(fd_eql_stream_push(s, d1, 2, refuse, &calls),
			 -FD_ERR_IO);
	assert_int_equal(fd_eql_stream_flush(s, refuse, &calls), -FD_ERR_IO);
	assert_int_equal(calls, 1);
	fd_eql_stream_free(s);
	fd_eql_free(e);
	cJSON_Delete(d1);
	cJSON_Delete(d2);
}

/* With maxspan, keys whose sequences can no longer complete are freed:
 * a million distinct process ids leave only the recent ones held. */
static void test_eql_sequence__memory_bounded_by_maxspan(void **state)
{
	struct fd_eql *e = compile_ok("sequence by process.entity_id with "
				      "maxspan=5s [process where true] "
				      "[file where true]");
	struct fd_eql_stream *s;
	struct fd_eql_stream_stats st;
	struct results r = { 0 };
	cJSON *doc = cJSON_Parse("{\"event\":{\"category\":\"process\"},"
				 "\"process\":{\"entity_id\":\"x\"},"
				 "\"@timestamp\":0}");
	cJSON *id = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "process"),
					"entity_id");
	cJSON *ts = cJSON_GetObjectItem(doc, "@timestamp");
	size_t i, most = 0, n = 200000;
	char buf[32];

	(void)state;
	assert_int_equal(fd_eql_stream_new(e, 0, &s), 0);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "P%zu", i);
		assert_non_null(cJSON_SetValuestring(id, buf));
		/* 10 ms apart */
		cJSON_SetNumberValue(ts, (double)i * 10);
		assert_int_equal(fd_eql_stream_push(s, doc, i, collect, &r),
				 0);
		fd_eql_stream_stats(s, &st);
		if (st.keys > most)
			most = st.keys;
	}
	assert_int_equal(fd_eql_stream_flush(s, collect, &r), 0);
	printf("eql sequence memory: %zu distinct keys pushed, at most %zu "
	       "held at once\n", n, most);
	/* 5s of keys (500) plus one sweep interval */
	assert_true(most < 10000);
	assert_int_equal(r.n, 0);
	fd_eql_stream_free(s);
	fd_eql_free(e);
	cJSON_Delete(doc);
}

/* Every sequence rule of the corpus runs through a stream. */
static void test_eql_sequence__corpus_rules_run(void **state)
{
	static const char *const files[] = {
		"corpus/macos-rules-HEAD.jsonl",
		"corpus/macos-rules-2025-04.jsonl",
	};
	cJSON *docs[6];
	size_t i;
	int rules = 0;

	(void)state;
	docs[0] = event(0, "process", "osascript", "h1", "u");
	docs[1] = event(1, "network", "osascript", "h1", "u");
	docs[2] = event(2, "file", "python3", "h1", "u");
	docs[3] = event(3, "process", "pbpaste", "h1", "u");
	docs[4] = cJSON_Parse("{\"@timestamp\":\"nope\"}");
	docs[5] = event(4, "process", "sh", "h1", "u");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[1024], *line = NULL;
		size_t cap = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", shared_dir(), files[i]);
		f = fopen(path, "r");
		if (!f) {
			printf("skip: no rule corpus under %s (set "
			       "FD_SHARED_DIR)\n", shared_dir());
			free_docs(docs, 6);
			skip();
		}
		while (getline(&line, &cap, f) > 0) {
			cJSON *row = cJSON_Parse(line);
			cJSON *q = cJSON_GetObjectItem(row, "query");
			struct fd_eql *e = NULL;
			struct fd_diag d;
			struct results r;

			if (strcmp(cJSON_GetObjectItem(row, "language")
					   ->valuestring, "eql") ||
			    fd_eql_compile(q->valuestring, &e, &d) < 0 ||
			    !fd_eql_is_sequence(e)) {
				fd_eql_free(e);
				cJSON_Delete(row);
				continue;
			}
			fd_eql_free(e);
			assert_int_equal(run(q->valuestring, docs, 6, NULL, 0,
					     &r), 0);
			assert_int_equal(run(q->valuestring, docs, 6, NULL,
					     FD_EQL_STREAM_UNSORTED, &r), 0);
			rules++;
			cJSON_Delete(row);
		}
		free(line);
		fclose(f);
	}
	printf("eql sequence corpus: %d sequence rules ran through streams\n",
	       rules);
	assert_true(rules > 0);
	free_docs(docs, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eql_sequence__vectors),
		cmocka_unit_test(test_eql_sequence__single_event_stream),
		cmocka_unit_test(test_eql_sequence__head_and_tail),
		cmocka_unit_test(test_eql_sequence__unsorted_input),
		cmocka_unit_test(test_eql_sequence__timestamps),
		cmocka_unit_test(test_eql_sequence__no_timestamp_is_skipped),
		cmocka_unit_test(test_eql_sequence__missing_lead_and_trail),
		cmocka_unit_test(test_eql_sequence__optional_keys),
		cmocka_unit_test(test_eql_sequence__samples),
		cmocka_unit_test(test_eql_sequence__emit_error_stops),
		cmocka_unit_test(test_eql_sequence__memory_bounded_by_maxspan),
		cmocka_unit_test(test_eql_sequence__corpus_rules_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
