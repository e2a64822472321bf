/*
 * test_eql.c - the EQL engine on single events: the shared vectors, the
 * rule corpus, errors and their columns, null and array semantics,
 * functions, wildcards, regular expressions, and a throughput figure.
 *
 * Run: make build/tests/test_eql && build/tests/test_eql
 * Tests that read ../shared (FD_SHARED_DIR) skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>

#include <cmocka.h>

#include "shared.h"
#include <cjson/cJSON.h>

#include "eql.h"
#include "fd_err.h"
#include "query.h"

/* ---- helpers ---- */

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

/* Does query match the JSON document? */
static bool matches(const char *query, const char *json)
{
	struct fd_eql *e = compile_ok(query);
	cJSON *doc = cJSON_Parse(json);
	bool m;

	assert_non_null(doc);
	m = fd_eql_match(e, doc);
	cJSON_Delete(doc);
	fd_eql_free(e);
	return m;
}

static void expect_match(const char *query, const char *json, bool want)
{
	bool got = matches(query, json);

	if (got != want)
		print_error("%s: expected %s on %s\n", query,
			    want ? "a match" : "no match", json);
	assert_true(got == want);
}

/* The query is refused with err at line:col, the message holding part. */
static void expect_error(const char *query, enum fd_err err, int line,
			 int col, const char *part)
{
	struct fd_diag d = { 0 };
	struct fd_eql *e = NULL;
	int rc = fd_eql_compile(query, &e, &d);

	if (rc != -(int)err || d.line != line || d.col != col ||
	    !strstr(d.msg, part))
		print_error("%s\n  got %d at %d:%d: %s\n  want %d at %d:%d: "
			    "...%s...\n", query, rc, d.line, d.col, d.msg,
			    -(int)err, line, col, part);
	assert_null(e);
	assert_int_equal(rc, -(int)err);
	assert_int_equal(d.line, line);
	assert_int_equal(d.col, col);
	assert_non_null(strstr(d.msg, part));
}

/* Events of vectors/eql/events.jsonl as an object keyed by id. */
static cJSON *load_vector_events(void)
{
	FILE *f = open_shared("vectors/eql/events.jsonl");
	cJSON *all;
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	all = cJSON_CreateObject();
	assert_non_null(all);
	while (getline(&line, &cap, f) > 0) {
		cJSON *row = cJSON_Parse(line), *id;

		assert_non_null(row);
		id = cJSON_GetObjectItem(row, "id");
		assert_true(cJSON_IsString(id));
		cJSON_AddItemToObject(all, id->valuestring,
				      cJSON_DetachItemFromObject(row, "doc"));
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
	return all;
}

/* ---- the shared vectors ---- */

static bool run_case(const cJSON *c, const cJSON *events)
{
	const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
	const char *q = cJSON_GetObjectItem(c, "query")->valuestring;
	bool want_error = cJSON_IsTrue(cJSON_GetObjectItem(c, "error"));
	struct fd_diag d = { 0 };
	struct fd_eql *e = NULL;
	const cJSON *doc;
	bool want, got;
	int rc = fd_eql_compile(q, &e, &d);

	if (want_error) {
		if (rc < 0 && d.line > 0 && d.col > 0 && d.msg[0])
			return true;
		printf("  FAIL %s: expected an error with a position, got "
		       "%d (%d:%d %s)\n", id, rc, d.line, d.col, d.msg);
		fd_eql_free(e);
		return false;
	}
	if (rc < 0) {
		printf("  FAIL %s: %d:%d: %s\n", id, d.line, d.col, d.msg);
		return false;
	}
	doc = cJSON_GetObjectItem(events, cJSON_GetObjectItem(c, "event")
						  ->valuestring);
	want = cJSON_IsTrue(cJSON_GetObjectItem(c, "match"));
	got = doc && fd_eql_match(e, doc);
	fd_eql_free(e);
	if (doc && got == want)
		return true;
	printf("  FAIL %s: %s, expected %s\n", id,
	       doc ? (got ? "match" : "no match") : "no such event",
	       want ? "match" : "no match");
	return false;
}

static void test_eql__vectors(void **state)
{
	cJSON *events = load_vector_events();
	FILE *f = open_shared("vectors/eql/cases.jsonl");
	int pass = 0, fail = 0, errors = 0;
	char *line = NULL;
	size_t cap = 0;

	(void)state;
	if (!events || !f) {
		printf("skip: no EQL vectors under %s (set FD_SHARED_DIR)\n",
		       shared_dir());
		cJSON_Delete(events);
		if (f)
			fclose(f);
		skip();
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON *c = cJSON_Parse(line);

		assert_non_null(c);
		errors += cJSON_IsTrue(cJSON_GetObjectItem(c, "error"));
		if (run_case(c, events))
			pass++;
		else
			fail++;
		cJSON_Delete(c);
	}
	free(line);
	fclose(f);
	cJSON_Delete(events);
	printf("eql vectors: %d cases (%d error cases): %d passed, %d "
	       "failed\n", pass + fail, errors, pass, fail);
	assert_true(pass > 0);
	assert_int_equal(fail, 0);
}

/* ---- the rule corpus ---- */

struct corpus_count {
	int files, rows, single, sequences, failed;
	long evaluated, matched, results;
};

static int count_result(void *arg, const size_t *events, size_t n)
{
	(void)events;
	(void)n;
	(*(long *)arg)++;
	return 0;
}

/* Evaluate a compiled rule over every vector event (time-stamped one
 * second apart for sequences). */
static void evaluate_rule(struct fd_eql *e, const cJSON *events,
			  struct corpus_count *cc)
{
	const cJSON *doc;
	size_t i = 0;

	if (!fd_eql_is_sequence(e)) {
		cJSON_ArrayForEach(doc, events) {
			cc->matched += fd_eql_match(e, doc);
			cc->evaluated++;
		}
		return;
	} else {
		struct fd_eql_stream *s;

		assert_int_equal(fd_eql_stream_new(e, 0, &s), 0);
		cJSON_ArrayForEach(doc, events) {
			cJSON *copy = cJSON_Duplicate(doc, 1);
			char ts[64];

			snprintf(ts, sizeof(ts),
				 "2026-03-02T%02u:%02u:%02u.000Z",
				 (unsigned)(i / 3600 % 24),
				 (unsigned)(i / 60 % 60), (unsigned)(i % 60));
			cJSON_ReplaceItemInObject(copy, "@timestamp",
						  cJSON_CreateString(ts));
			assert_int_equal(fd_eql_stream_push(s, copy, i++,
							    count_result,
							    &cc->results), 0);
			cJSON_Delete(copy);
			cc->evaluated++;
		}
		assert_int_equal(fd_eql_stream_flush(s, count_result,
						     &cc->results), 0);
		fd_eql_stream_free(s);
	}
}

static void corpus_file(const char *path, const cJSON *events,
			struct corpus_count *cc)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	cc->files++;
	while (getline(&line, &cap, f) > 0) {
		cJSON *row = cJSON_Parse(line), *lang, *q, *name;
		struct fd_diag d = { 0 };
		struct fd_eql *e = NULL;

		assert_non_null(row);
		lang = cJSON_GetObjectItem(row, "language");
		q = cJSON_GetObjectItem(row, "query");
		name = cJSON_GetObjectItem(row, "name");
		if (!cJSON_IsString(lang) || !cJSON_IsString(q) ||
		    strcmp(lang->valuestring, "eql")) {
			cJSON_Delete(row);
			continue;
		}
		cc->rows++;
		if (fd_eql_compile(q->valuestring, &e, &d) < 0) {
			printf("  FAIL %s (%s): %d:%d: %s\n",
			       cJSON_IsString(name) ? name->valuestring : "?",
			       path, d.line, d.col, d.msg);
			cc->failed++;
		} else {
			if (fd_eql_is_sequence(e))
				cc->sequences++;
			else
				cc->single++;
			if (events)
				evaluate_rule(e, events, cc);
			fd_eql_free(e);
		}
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
}

static void test_eql__corpus(void **state)
{
	struct corpus_count cc = { 0 };
	char dir[1024], path[2048];
	cJSON *events = load_vector_events();
	struct dirent *de;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/corpus", shared_dir());
	d = opendir(dir);
	if (!d) {
		printf("skip: no rule corpus under %s (set FD_SHARED_DIR)\n",
		       shared_dir());
		cJSON_Delete(events);
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 6, ".jsonl"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		corpus_file(path, events, &cc);
	}
	closedir(d);
	cJSON_Delete(events);
	printf("eql corpus: %d files, %d EQL queries: %d compiled (%d "
	       "single-event, %d sequences), %d failed\n", cc.files, cc.rows,
	       cc.single + cc.sequences, cc.single, cc.sequences, cc.failed);
	printf("eql corpus: evaluated over the vector events: %ld "
	       "evaluations, %ld single-event matches, %ld sequences\n",
	       cc.evaluated, cc.matched, cc.results);
	assert_true(cc.rows > 0);
	assert_int_equal(cc.failed, 0);
	assert_int_equal(cc.single + cc.sequences, cc.rows);
}

/* ---- errors ---- */

static void test_eql__errors_point_at_column(void **state)
{
	(void)state;
	expect_error("process where (process.name == \"a\"", FD_ERR_SYNTAX, 1,
		     35, "expected ')' to close '('");
	expect_error("process where\n  process.name ==", FD_ERR_SYNTAX, 2, 18,
		     "expected a condition or a value");
	expect_error("process where process.name = \"a\"", FD_ERR_SYNTAX, 1,
		     28, "'=' is not an operator");
	expect_error("process where process.name == 'a'", FD_ERR_SYNTAX, 1,
		     31, "single-quoted");
	expect_error("process where process.name : process.parent.name",
		     FD_ERR_SYNTAX, 1, 30, "string constants");
	expect_error("process where process.name == process.parent.name",
		     FD_ERR_SYNTAX, 1, 28, "another field");
	expect_error("process where length(process.name) == process.pid",
		     FD_ERR_SYNTAX, 1, 36, "another field");
	expect_error("process where \"caf\\u{e}\" == \"x\"", FD_ERR_SYNTAX, 1,
		     19, "2 to 8 hex digits");
	expect_error("process where \"\\u{110000}\" == \"x\"", FD_ERR_SYNTAX,
		     1, 16, "past U+10FFFF");
	expect_error("process where \"C:\\Windows\" == \"x\"", FD_ERR_SYNTAX,
		     1, 18, "invalid escape sequence '\\W'");
	expect_error("process where \"\"\"abc == \"x\"", FD_ERR_SYNTAX, 1, 15,
		     "unterminated raw string");
	expect_error("process where x == 1 /* open", FD_ERR_SYNTAX, 1, 22,
		     "unterminated comment");
	expect_error("process where startsWith~(process.name)",
		     FD_ERR_SYNTAX, 1, 15, "takes 2 arguments");
	expect_error("process where length~(process.name) == 1",
		     FD_ERR_SYNTAX, 1, 15, "no case-insensitive");
	expect_error("process where startsWith(process.name, 5)",
		     FD_ERR_SYNTAX, 1, 40, "argument 2 must be a string");
	expect_error("process where process.name : \"a\" + 1", FD_ERR_SYNTAX,
		     1, 34, "'+' needs numbers, found a boolean");
	expect_error("process where -\"a\" == 1", FD_ERR_SYNTAX, 1, 15,
		     "unary '-' needs a number");
	expect_error("process where \"a\"", FD_ERR_SYNTAX, 1, 15,
		     "must be true or false");
	expect_error("process where 1 < \"a\"", FD_ERR_SYNTAX, 1, 17,
		     "cannot compare a number with a string");
	expect_error("process where process.pid / 0 == 1", FD_ERR_SYNTAX, 1,
		     29, "division by zero");
	expect_error("process where process.name regex \"[a-\"",
		     FD_ERR_SYNTAX, 1, 34, "invalid regular expression");
	expect_error("process where cidrMatch(source.ip, \"10.0.0.0/33\")",
		     FD_ERR_SYNTAX, 1, 36, "invalid address block");
	expect_error("process where true | head -1", FD_ERR_SYNTAX, 1, 22,
		     "one whole number");
	expect_error("process where true ]", FD_ERR_SYNTAX, 1, 20,
		     "expected 'and', 'or' or the end");
	expect_error("process where process.name in (\"a\", process.pid)",
		     FD_ERR_SYNTAX, 1, 37, "must be constants");
	expect_error("process where x == 9223372036854775808", FD_ERR_SYNTAX,
		     1, 20, "too large");
	expect_error("sequence [process where true] [file where true] by x",
		     FD_ERR_SYNTAX, 1, 32, "same number of join keys");
	expect_error("sequence with maxspan=1m by host.id [a where true] "
		     "[b where true]", FD_ERR_SYNTAX, 1, 26,
		     "'by' before 'with maxspan'");
	expect_error("sequence with maxspan=1.5m [a where true] "
		     "[b where true]", FD_ERR_SYNTAX, 1, 23, "whole number");
	expect_error("sequence with maxspan=5w [a where true] [b where true]",
		     FD_ERR_SYNTAX, 1, 24, "unknown time unit 'w'");
	expect_error("sequence with maxspan=0s [a where true] [b where true]",
		     FD_ERR_SYNTAX, 1, 23, "positive");
	expect_error("sequence [a where true]", FD_ERR_SYNTAX, 1, 1,
		     "at least two stages");
	expect_error("sequence [a where true] with runs=101", FD_ERR_SYNTAX,
		     1, 35, "from 1 to 100");
	expect_error("sequence with maxspan=1m ![a where true] "
		     "![b where true]", FD_ERR_SYNTAX, 1, 1,
		     "at least one stage");
	expect_error("sequence [a where true] [b where true\n",
		     FD_ERR_SYNTAX, 2, 1, "expected ']' to close '['");
	expect_error("sequence [a where true] [b where true] until "
		     "[c where true] with runs=2", FD_ERR_SYNTAX, 1, 61,
		     "until does not take");
	expect_error("sample by x [a where true]", FD_ERR_SYNTAX, 1, 1,
		     "at least two filters");
	expect_error("sample by x [a where true] [b where true] | head 1",
		     FD_ERR_SYNTAX, 1, 43, "sample does not take pipes");
	expect_error("sample [a where true] [b where true] until [c where "
		     "true]", FD_ERR_SYNTAX, 1, 38, "until");
}

static void test_eql__unsupported(void **state)
{
	(void)state;
	expect_error("join by host.id [process where true] [file where true]",
		     FD_ERR_UNSUPPORTED, 1, 1, "join");
	expect_error("process where descendant of [process where true]",
		     FD_ERR_UNSUPPORTED, 1, 15, "process relationships");
	expect_error("process where process.args[0] == \"x\"",
		     FD_ERR_UNSUPPORTED, 1, 27, "array indexes");
	expect_error("process where true | unique process.name",
		     FD_ERR_UNSUPPORTED, 1, 22, "'unique' pipe");
	expect_error("process where process.name regex \"a&b\"",
		     FD_ERR_UNSUPPORTED, 1, 34, "'&'");
	expect_error("process where process.name regex \"~a\"",
		     FD_ERR_UNSUPPORTED, 1, 34, "'~'");
	expect_error("process where process.name regex \"<1-5>\"",
		     FD_ERR_UNSUPPORTED, 1, 34, "intervals");
	expect_error("sequence by length(x) [a where true] [b where true]",
		     FD_ERR_UNSUPPORTED, 1, 13, "join keys must be fields");
}

static void test_eql__deep_nesting_is_an_error(void **state)
{
	char q[4096];
	size_t i, n = 0;

	(void)state;
	n += (size_t)snprintf(q, sizeof(q), "any where ");
	for (i = 0; i < 1000; i++)
		q[n++] = '(';
	q[n] = '\0';
	/* the 129th level is the one refused */
	expect_error(q, FD_ERR_SYNTAX, 1, 11 + 128, "nests too deeply");
	n = (size_t)snprintf(q, sizeof(q), "any where ");
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "not ");
	expect_error(q, FD_ERR_SYNTAX, 1, 11 + 128 * 4, "nests too deeply");
}

/* ---- semantics ---- */

/* Section 4.1 of the semantics reference, row by row. */
static void test_eql__null_and_arrays(void **state)
{
	static const char *const docs[3] = {
		"{\"event\":{\"category\":\"process\"},\"f\":[\"a\",\"b\"]}",
		"{\"event\":{\"category\":\"process\"},\"f\":\"a\"}",
		"{\"event\":{\"category\":\"process\"},\"f\":null}",
	};
	static const struct {
		const char *cond;
		bool want[3];
	} rows[] = {
		{ "f == \"a\"", { true, true, false } },
		{ "f != \"a\"", { false, false, true } },
		{ "f == \"c\"", { false, false, false } },
		{ "f != \"c\"", { true, true, true } },
		{ "f in (\"a\",\"x\")", { true, true, false } },
		{ "f not in (\"a\",\"x\")", { false, false, true } },
		{ "f : \"*\"", { true, true, false } },
		{ "not f : \"*\"", { false, false, true } },
		{ "f == null", { false, false, true } },
		{ "f != null", { true, true, false } },
		{ "length(f) == 1", { true, true, false } },
		{ "startsWith(f, \"z\")", { false, false, false } },
		{ "not startsWith(f, \"z\")", { true, true, true } },
		{ "?f == null", { false, false, true } },
		{ "f < 5", { false, false, false } },
		{ "concat(f, \"a\") == \"a\"", { false, false, false } },
		{ "concat(f, \"x\") == \"bx\"", { true, false, false } },
		{ "length(f) == null", { false, false, true } },
	};
	char q[256];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(q, sizeof(q), "process where %s", rows[i].cond);
		for (k = 0; k < 3; k++)
			expect_match(q, docs[k], rows[i].want[k]);
	}
	/* An empty array and a missing key are no value, like null. */
	expect_match("any where f == null", "{\"f\":[]}", true);
	expect_match("any where f == null", "{}", true);
	expect_match("any where f != \"a\"", "{}", true);
	/* Arrays of objects are flattened. */
	expect_match("any where a.b == 2", "{\"a\":[{\"b\":1},{\"b\":2}]}",
		     true);
	/* Two multi-valued fields: some combination must satisfy it. */
	expect_match("any where add(a, b) == 12", "{\"a\":[1,2],\"b\":[10,3]}",
		     true);
	expect_match("any where add(a, b) == 14", "{\"a\":[1,2],\"b\":[10,3]}",
		     false);
	/* A bare boolean field is a condition. */
	expect_match("any where t", "{\"t\":[false,true]}", true);
	expect_match("any where t", "{\"t\":\"true\"}", false);
}

static void test_eql__categories(void **state)
{
	(void)state;
	expect_match("process where true",
		     "{\"event\":{\"category\":[\"file\",\"process\"]}}",
		     true);
	expect_match("Process where true",
		     "{\"event\":{\"category\":[\"process\"]}}", false);
	expect_match("\"\"\"my-cat\"\"\" where true",
		     "{\"event\":{\"category\":\"my-cat\"}}", true);
	expect_match("process where true", "{}", false);
	expect_match("any where true", "{}", true);
	expect_match("any where false", "{}", false);
}

static void test_eql__strings_and_names(void **state)
{
	static const char doc[] =
		"{\"s\":\"a\\\"\",\"t\":\"a\\\"\\\"\",\"u\":\"caf\\u00e9\","
		"\"w\":\"C:\\\\Windows\",\"labels\":{\"my-l`x\":\"v\"},"
		"\"@timestamp\":\"t\",\"n\":\"a\\tb\"}";

	(void)state;
	expect_match("any where s == \"\"\"a\"\"\"\"", doc, true);
	expect_match("any where t == \"\"\"a\"\"\"\"\"", doc, true);
	expect_match("any where u == \"caf\\u{e9}\"", doc, true);
	expect_match("any where u == \"caf\\u{000000E9}\"", doc, true);
	expect_match("any where w == \"\"\"C:\\Windows\"\"\"", doc, true);
	expect_match("any where w == \"C:\\\\Windows\"", doc, true);
	expect_match("any where labels.`my-l``x` == \"v\"", doc, true);
	expect_match("any where @timestamp == \"t\"", doc, true);
	expect_match("any where n == \"a\\tb\"", doc, true);
	expect_match("any where n == \"\"\"a\\tb\"\"\"", doc, false);
	expect_match("any // a comment\n where /* and /* nested */ one */ "
		     "s == \"a\\\"\"", doc, true);
	expect_match("any where\r\n\ts\r\n==\t\"a\\\"\"", doc, true);
}

static void test_eql__comparisons_and_arithmetic(void **state)
{
	static const char doc[] = "{\"n\":3,\"d\":2.5,\"s\":\"osascript\","
				  "\"b\":true,\"big\":9007199254740993}";

	(void)state;
	expect_match("any where n / 2 == 1", doc, true);
	expect_match("any where n / 2.0 == 1.5", doc, true);
	expect_match("any where -n / 2 == -1", doc, true);
	expect_match("any where n % 2 == 1", doc, true);
	expect_match("any where modulo(-10, -6) == -4", doc, true);
	expect_match("any where modulo(10, -6) == 4", doc, true);
	expect_match("any where modulo(10, 0.5) == 0", doc, true);
	expect_match("any where d * 2 == 5", doc, true);
	expect_match("any where n + d == 5.5", doc, true);
	expect_match("any where 2 + 3 * n == 11", doc, true);
	expect_match("any where (2 + 3) * n == 15", doc, true);
	expect_match("any where 1e1 == 10 and .5 == 0.5 and 1. == 1", doc,
		     true);
	expect_match("any where s > \"c\" and s < \"p\"", doc, true);
	expect_match("any where s < \"Z\"", doc, false);
	expect_match("any where b == true and b != false", doc, true);
	expect_match("any where s == 1", doc, false);
	expect_match("any where n == \"3\"", doc, false);
	expect_match("any where divide(n, z) == null", "{\"n\":3,\"z\":0}",
		     true);
	expect_match("any where n % z == null", "{\"n\":3,\"z\":0.0}", true);
	expect_error("any where divide(n, 0.0) == 1", FD_ERR_SYNTAX, 1, 21,
		     "division by zero");
	expect_match("any where n * 4611686018427387904 > 0", doc, false);
	expect_match("any where not not n == 3", doc, true);
	expect_match("any where n == 1 or n == 3 and s == \"x\"", doc, false);
	expect_match("any where not n == 1 and n == 3", doc, true);
}

static void test_eql__functions(void **state)
{
	static const char doc[] =
		"{\"p\":\"/usr/bin/osascript\",\"c\":\"start regsvr32.exe\","
		"\"h\":\"deadbeef\",\"x\":\"0x1F\",\"sp\":\" 42 \","
		"\"f\":\"1.5e1\",\"n\":42,\"d\":42.5,\"b\":true,"
		"\"ip4\":\"192.168.1.7\",\"ip6\":\"2001:db8::1\","
		"\"m\":\"::ffff:10.1.2.3\",\"e\":\"\",\"u\":\"CAF\\u00c9\"}";

	(void)state;
	expect_match("any where between(p, \"/\", \"/\") == \"usr\"", doc,
		     true);
	expect_match("any where between(p, \"/\", \"/\", true) == \"usr/bin\"",
		     doc, true);
	expect_match("any where between~(p, \"/USR/\", \"/\") == \"bin\"", doc,
		     true);
	expect_match("any where between(p, \"#\", \"/\") == \"\"", doc, true);
	expect_match("any where between(e, \"a\", \"b\") == \"\"", doc, true);
	expect_match("any where substring(c, -4, -1) == \".ex\"", doc, true);
	expect_match("any where substring(c, 6) == \"regsvr32.exe\"", doc,
		     true);
	expect_match("any where substring(c, 20) == \"\"", doc, true);
	expect_match("any where substring(c, 3, 1) == \"\"", doc, true);
	expect_match("any where indexOf(p, \"s\") == 2", doc, true);
	expect_match("any where indexOf(p, \"s\", 6) == 10", doc, true);
	expect_match("any where indexOf(p, \"s\", -3) == 2", doc, true);
	expect_match("any where indexOf(p, \"s\", 99) == null", doc, true);
	expect_match("any where indexOf(p, \"\") == 0", doc, true);
	expect_match("any where indexOf~(p, \"BIN\") == 5", doc, true);
	expect_match("any where indexOf(p, \"BIN\") == null", doc, true);
	expect_match("any where length(u) == 4 and length(e) == 0", doc,
		     true);
	expect_match("any where stringContains(c, \"\") ", doc, false);
	expect_match("any where stringContains~(u, \"fé\")", doc, true);
	expect_match("any where startsWith~(u, \"caf\")", doc, true);
	expect_match("any where endsWith~(p, \"SCRIPT\")", doc, true);
	expect_match("any where endsWith(p, \"SCRIPT\")", doc, false);
	expect_match("any where startsWith(e, \"\")", doc, true);
	expect_match("any where startsWith(p, c)", doc, false);
	expect_match("any where concat(p, \":\", n, \":\", d, \":\", b) == "
		     "\"/usr/bin/osascript:42:42.5:true\"", doc, true);
	expect_match("any where string(n) == \"42\" and string(d) == \"42.5\"",
		     doc, true);
	expect_match("any where string(1e7 + 0.5) == \"1.00000005E7\"", doc,
		     true);
	expect_match("any where string(0.001) == \"0.001\" and "
		     "string(0.0001) == \"1.0E-4\"", doc, true);
	expect_match("any where number(h, 16) == 3735928559", doc, true);
	expect_match("any where number(x) == 31 and number(x, 10) == 31",
		     doc, true);
	expect_match("any where number(sp) == 42 and number(f) == 15", doc,
		     true);
	expect_match("any where number(\"-12\") == -12", doc, true);
	expect_match("any where number(\"1,000\") == null", doc, true);
	expect_match("any where number(e) == null", doc, true);
	expect_match("any where number(\"777\", 8) == 511", doc, true);
	expect_match("any where add(n, d) == 84.5 and subtract(n, 2) == 40",
		     doc, true);
	expect_match("any where multiply(n, 2) == 84 and divide(n, 4) == 10",
		     doc, true);
	expect_match("any where cidrMatch(ip4, \"192.168.0.0/16\")", doc,
		     true);
	expect_match("any where cidrMatch(ip4, \"10.0.0.0/8\", \"::1\")", doc,
		     false);
	expect_match("any where cidrMatch(ip4, \"192.168.1.7\")", doc, true);
	expect_match("any where cidrMatch(ip6, \"2001:DB8::/32\")", doc, true);
	expect_match("any where cidrMatch(ip6, \"192.168.0.0/16\")", doc,
		     false);
	expect_match("any where cidrMatch(m, \"10.0.0.0/8\")", doc, true);
	expect_match("any where cidrmatch(ip4, \"192.168.1.0/25\") and "
		     "STARTSWITH~(p, \"/USR\")", doc, true);
	expect_match("any where cidrMatch(n, \"10.0.0.0/8\")", doc, false);
}

static void test_eql__wildcards(void **state)
{
	static const char doc[] =
		"{\"p\":\"/Users/bob/Library/LaunchAgents/x.plist\","
		"\"u\":\"Caf\\u00e9\",\"w\":\"C:\\\\Windows\\\\cmd.exe\","
		"\"s\":\"a*b\"}";

	(void)state;
	expect_match("any where p like \"/Users/*/Library/*\"", doc, true);
	expect_match("any where p like \"/Users/*/Library/*.plist\"", doc,
		     true);
	expect_match("any where p like \"/Users/*/library/*\"", doc, false);
	expect_match("any where p like~ \"/users/*/LIBRARY/*\"", doc, true);
	expect_match("any where p : \"*launchagents*\"", doc, true);
	expect_match("any where p like \"*Agents*Agents*\"", doc, false);
	/* "?" "?" keeps the pattern from reading as a C trigraph */
	expect_match("any where p like \"/Users/?" "?" "?/*\"", doc, true);
	expect_match("any where p like \"/Users/?" "?/*\"", doc, false);
	expect_match("any where u like \"Caf?\"", doc, true);
	expect_match("any where u : \"CAFÉ\" and u : \"café\"", doc, true);
	expect_match("any where u like \"CAFÉ\"", doc, false);
	expect_match("any where u in~ (\"CAFÉ\")", doc, true);
	expect_match("any where w : \"?:\\\\windows\\\\*.exe\"", doc, true);
	expect_match("any where s like \"a\\\\*b\"", doc, false);
	expect_match("any where s like \"a*b\" and s == \"a*b\"", doc, true);
	expect_match("any where p : (\"x\", \"*.PLIST\")", doc, true);
	expect_match("any where p : \"**\"", doc, true);
	expect_match("any where p like \"*x.plist*\"", doc, true);
}

/* Bytes that are not UTF-8 are characters of their own: a pattern never
 * matches inside a real character (found by differential fuzzing). */
static void test_eql__invalid_utf8(void **state)
{
	static const char *const conds[] = {
		"v like \"*\x80\"", "v : \"*\x80*\"", "v like \"\xC3*\"",
		"v : \"\xC3*\"", "v like~ \"*\x80\"",
	};
	cJSON *doc = cJSON_CreateObject();
	struct fd_eql *e;
	char q[128];
	size_t i;

	(void)state;
	cJSON_AddStringToObject(doc, "v", "\xC3\x80");	/* U+00C0 */
	/* stray bytes */
	cJSON_AddStringToObject(doc, "w", "a\x80" "b\xBF");
	for (i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		snprintf(q, sizeof(q), "any where %s", conds[i]);
		e = compile_ok(q);
		assert_false(fd_eql_match(e, doc));
		fd_eql_free(e);
	}
	e = compile_ok("any where w like \"a?b?\" and w : \"*\x80" "b*\" and "
		       "endsWith~(w, \"\xBF\") and length(w) == 4");
	assert_true(fd_eql_match(e, doc));
	fd_eql_free(e);
	cJSON_Delete(doc);
}

static void test_eql__regex(void **state)
{
	static const struct {
		const char *pattern;
		const char *value;
		bool ci, want;
	} rows[] = {
		{ "osa.*", "osascript", false, true },
		{ "osa", "osascript", false, false },
		{ "OSA.*", "osascript", true, true },
		{ "[a-c]+", "ABC", true, false },
		{ "[abc]+", "ABC", true, true },
		{ "a{2,3}", "aaa", false, true },
		{ "a{2,3}", "aaaa", false, false },
		{ "a{2,}", "aaaaaa", false, true },
		{ "(ab)+|c", "ababab", false, true },
		{ "[^0-9]+", "abc", false, true },
		{ "[^0-9]+", "ab1", false, false },
		{ "\\d{3}-\\w+", "123-x_Y9", false, true },
		{ "[a-z0-9\\s_\\-\\\\./]+\\s", "/usr/bin/a b\\c ", false,
		  true },
		{ "\\S+", "a b", false, false },
		{ "\\W", "-", false, true },
		{ "a\\.b", "a.b", false, true },
		{ "a\\.b", "axb", false, false },
		{ "\"a.b\"", "a.b", false, true },
		{ "\"a.b\"", "axb", false, false },
		{ "x@", "xanything", false, true },
		{ "#|a", "a", false, true },
		{ "#", "", false, false },
		{ "()", "", false, true },
		{ "a()b", "ab", false, true },
		{ ".", "é", false, true },
		{ "caf.", "café", false, true },
		{ "CAFÉ", "café", true, false },
		{ "https?://[0-9]{1,3}(\\.[0-9]{1,3}){3}(:[0-9]{1,5})?/.*",
		  "http://10.0.0.1:8080/x", false, true },
		{ ".*\\.(top|xyz)", "evil.xyz", false, true },
		{ ".*\\.(top|xyz)", "evil.xyzz", false, false },
		{ "]", "]", false, true },
		{ "[]a]+", "]a]", false, true },
		{ "*a", "*a", false, true },
		{ "(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac",
		  false, false },
	};
	char q[512], doc[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cJSON *v = cJSON_CreateString(rows[i].value), *pat;
		char *vs, *ps;

		pat = cJSON_CreateString(rows[i].pattern);
		vs = cJSON_PrintUnformatted(v);
		ps = cJSON_PrintUnformatted(pat);
		/* JSON string escapes are EQL string escapes here */
		snprintf(q, sizeof(q), "any where v regex%s %s",
			 rows[i].ci ? "~" : "", ps);
		snprintf(doc, sizeof(doc), "{\"v\":%s}", vs);
		expect_match(q, doc, rows[i].want);
		free(vs);
		free(ps);
		cJSON_Delete(v);
		cJSON_Delete(pat);
	}
	expect_error("any where v regex \"\"", FD_ERR_SYNTAX, 1, 19,
		     "regular expression");
	expect_error("any where v regex \"a|\"", FD_ERR_SYNTAX, 1, 19,
		     "regular expression");
	expect_error("any where v regex \"(a\"", FD_ERR_SYNTAX, 1, 19,
		     "expected ')'");
	expect_error("any where v regex \"\"\"\\q\"\"\"", FD_ERR_SYNTAX, 1, 19,
		     "invalid character class");
	expect_error("any where v regex \"z-a\" or v regex \"[z-a]\"",
		     FD_ERR_SYNTAX, 1, 36, "invalid range");
	expect_error("any where v regex \"a{3,2}\"", FD_ERR_SYNTAX, 1, 19,
		     "invalid repeat");
	expect_error("any where v regex \"(a{100}){100}\"", FD_ERR_SYNTAX, 1,
		     19, "too complex");
}

static void test_eql__fields_listed_once(void **state)
{
	struct fd_eql *e;
	const char *const *f;
	size_t n, i;
	bool cat = false, name = false, args = false, ts = false;

	(void)state;
	e = compile_ok("process where process.name == \"a\" and "
		       "(process.name : \"b\" or ?process.args like \"c\")");
	f = fd_eql_fields(e, &n);
	assert_int_equal(n, 3);
	assert_null(f[n]);
	for (i = 0; i < n; i++) {
		cat |= !strcmp(f[i], "event.category");
		name |= !strcmp(f[i], "process.name");
		args |= !strcmp(f[i], "process.args");
	}
	assert_true(cat && name && args);
	fd_eql_free(e);
	e = compile_ok("sequence by host.id [any where true] by user.name "
		       "[any where x == 1] by user.id");
	f = fd_eql_fields(e, &n);
	name = args = false;
	for (i = 0; i < n; i++) {
		cat |= !strcmp(f[i], "event.category");
		name |= !strcmp(f[i], "host.id");
		args |= !strcmp(f[i], "user.id");
		ts |= !strcmp(f[i], "@timestamp");
	}
	assert_true(name && args && ts);
	assert_int_equal(n, 5);	/* host.id user.name user.id x @timestamp */
	fd_eql_free(e);
}

static void test_eql__query_interface(void **state)
{
	struct fd_eql *e = NULL;
	struct fd_query *q = NULL;
	struct fd_diag d = { 0 };
	cJSON *doc = cJSON_Parse("{\"event\":{\"category\":\"process\"},"
				 "\"@timestamp\":1,\"process\":"
				 "{\"name\":\"DEFAULTS\"}}");

	(void)state;
	assert_int_equal(fd_lang_from_name("eql"), FD_LANG_EQL);
	assert_int_equal(fd_query_compile(FD_LANG_EQL,
					  "process where process.name : "
					  "\"defaults\"", &q, &d), 0);
	assert_true(fd_query_match(q, doc));
	fd_query_free(q);
	assert_int_equal(fd_query_compile(FD_LANG_EQL,
					  "sequence [process where true] "
					  "[process where true]", &q, &d), 0);
	assert_false(fd_query_match(q, doc));
	fd_query_free(q);
	assert_int_equal(fd_query_compile(FD_LANG_EQL, "process where (", &q,
					  &d), -FD_ERR_SYNTAX);
	assert_null(q);
	assert_int_equal(d.col, 16);
	/* callers may pass no diagnostic at all */
	assert_int_equal(fd_eql_compile("process where (", &e, NULL),
			 -FD_ERR_SYNTAX);
	assert_int_equal(fd_eql_compile("process where x regex \"[\"", &e,
					NULL), -FD_ERR_SYNTAX);
	assert_int_equal(fd_eql_compile("any where cidrMatch(x, \"a\")", &e,
					NULL), -FD_ERR_SYNTAX);
	assert_int_equal(fd_eql_compile("join [a where true] [b where true]",
					&e, NULL), -FD_ERR_UNSUPPORTED);
	assert_null(e);
	cJSON_Delete(doc);
}

/* The 2026 form of the seed rule over the vector events, many times. */
static void test_eql__throughput(void **state)
{
	FILE *f = open_shared("corpus/dumping-account-hashes-history.jsonl");
	cJSON *events = load_vector_events(), *row = NULL, *doc;
	const cJSON *docs[128];
	char *line = NULL;
	size_t cap = 0, n = 0, i;
	struct timespec a, b;
	struct fd_eql *e;
	long matches = 0, rounds = 20000;
	double secs;

	(void)state;
	if (!f || !events) {
		printf("skip: no corpus or vectors under %s (set "
		       "FD_SHARED_DIR)\n", shared_dir());
		if (f)
			fclose(f);
		cJSON_Delete(events);
		skip();
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON_Delete(row);
		row = cJSON_Parse(line);
	}
	free(line);
	fclose(f);
	assert_non_null(row);
	assert_string_equal(cJSON_GetObjectItem(row, "language")->valuestring,
			    "eql");
	e = compile_ok(cJSON_GetObjectItem(row, "query")->valuestring);
	cJSON_ArrayForEach(doc, events) {
		if (n < sizeof(docs) / sizeof(docs[0]))
			docs[n++] = doc;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < (size_t)rounds * n; i++)
		matches += fd_eql_match(e, docs[i % n]);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	secs = (double)(b.tv_sec - a.tv_sec) +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("eql throughput: 2026 seed rule, %zu vector events x %ld: "
	       "%.0f events/s (CPU time), %ld matches per pass\n", n, rounds,
	       (double)rounds * (double)n / (secs > 0 ? secs : 1e-9),
	       matches / rounds);
	assert_true(matches > 0 && matches % rounds == 0);
	fd_eql_free(e);
	cJSON_Delete(row);
	cJSON_Delete(events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eql__vectors),
		cmocka_unit_test(test_eql__corpus),
		cmocka_unit_test(test_eql__errors_point_at_column),
		cmocka_unit_test(test_eql__unsupported),
		cmocka_unit_test(test_eql__deep_nesting_is_an_error),
		cmocka_unit_test(test_eql__null_and_arrays),
		cmocka_unit_test(test_eql__categories),
		cmocka_unit_test(test_eql__strings_and_names),
		cmocka_unit_test(test_eql__comparisons_and_arithmetic),
		cmocka_unit_test(test_eql__functions),
		cmocka_unit_test(test_eql__wildcards),
		cmocka_unit_test(test_eql__invalid_utf8),
		cmocka_unit_test(test_eql__regex),
		cmocka_unit_test(test_eql__fields_listed_once),
		cmocka_unit_test(test_eql__query_interface),
		cmocka_unit_test(test_eql__throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
