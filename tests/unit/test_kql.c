/*
 * test_kql.c - the KQL engine: the shared vectors, the rule corpus, error
 * columns and messages, and what the vectors leave out (dotted keys, field
 * wildcards, free text, number-like values, escapes), plus a throughput
 * figure for the seed rule's query.
 *
 * Tests that read ../shared (FD_SHARED_DIR) skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shared.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "kql.h"

#define SEED_QUERY                                                          \
	"event.category:process and host.os.type:macos and "                \
	"event.type:start and process.name:(defaults or mkpassdb) and "     \
	"process.args:(ShadowHashData or \"-dump\")"

/* ---- helpers ---- */

/* Compile q (which must be valid) and match it against JSON text. */
static bool m(const char *q, const char *json)
{
	struct fd_kql *k = NULL;
	struct fd_diag d;
	cJSON *doc;
	bool hit;
	int rc;

	fd_diag_clear(&d);
	rc = fd_kql_compile(q, &k, &d);
	if (rc < 0)
		fail_msg("query %s does not compile: %d: %s", q, d.col, d.msg);
	doc = cJSON_Parse(json);
	assert_non_null(doc);
	hit = fd_kql_match(k, doc);
	cJSON_Delete(doc);
	fd_kql_free(k);
	return hit;
}

/* Compile q, which must fail with this message at this column. */
static void bad(const char *q, int col, const char *msg)
{
	struct fd_kql *k = NULL;
	struct fd_diag d;
	int rc;

	fd_diag_clear(&d);
	rc = fd_kql_compile(q, &k, &d);
	if (rc != -FD_ERR_SYNTAX) {
		fd_kql_free(k);
		fail_msg("query %s: expected a syntax error, got %d", q, rc);
	}
	assert_null(k);
	if (d.line != 1 || d.col != col || strcmp(d.msg, msg) != 0)
		fail_msg("query %s:\n  want 1:%d: %s\n  got  %d:%d: %s", q,
			 col, msg, d.line, d.col, d.msg);
}

/* ---- the shared vectors ---- */

struct event {
	char *id;
	cJSON *doc;
};

static size_t load_events(FILE *f, struct event **out)
{
	struct event *ev = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL;

	while (getline(&line, &len, f) > 0) {
		cJSON *row = cJSON_Parse(line), *id, *doc;

		assert_non_null(row);
		id = cJSON_GetObjectItemCaseSensitive(row, "id");
		doc = cJSON_DetachItemFromObjectCaseSensitive(row, "doc");
		assert_true(cJSON_IsString(id));
		assert_non_null(doc);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ev = realloc(ev, cap * sizeof(*ev));
			assert_non_null(ev);
		}
		ev[n].id = strdup(id->valuestring);
		ev[n].doc = doc;
		n++;
		cJSON_Delete(row);
	}
	free(line);
	*out = ev;
	return n;
}

static void free_events(struct event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ev[i].id);
		cJSON_Delete(ev[i].doc);
	}
	free(ev);
}

static const cJSON *find_event(const struct event *ev, size_t n,
			       const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ev[i].id, id))
			return ev[i].doc;
	return NULL;
}

/* One case; returns true when it passes. */
static bool run_case(const cJSON *row, const struct event *ev, size_t nev,
		     size_t *nmatch, size_t *nerr)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(row, "query");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(row, "error");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(row, "match");
	const cJSON *evid = cJSON_GetObjectItemCaseSensitive(row, "event");
	struct fd_kql *k = NULL;
	struct fd_diag d;
	const cJSON *doc;
	bool got;
	int rc;

	assert_true(cJSON_IsString(id) && cJSON_IsString(q));
	fd_diag_clear(&d);
	rc = fd_kql_compile(q->valuestring, &k, &d);
	if (cJSON_IsTrue(err)) {
		(*nerr)++;
		fd_kql_free(k);
		if (rc == -FD_ERR_SYNTAX)
			return true;
		printf("FAIL %s: %s: expected a syntax error, got %d\n",
		       id->valuestring, q->valuestring, rc);
		return false;
	}
	(*nmatch)++;
	if (rc < 0) {
		printf("FAIL %s: %s: 1:%d: %s\n", id->valuestring,
		       q->valuestring, d.col, d.msg);
		return false;
	}
	assert_true(cJSON_IsString(evid) && cJSON_IsBool(want));
	doc = find_event(ev, nev, evid->valuestring);
	assert_non_null(doc);
	got = fd_kql_match(k, doc);
	fd_kql_free(k);
	if (got == (bool)cJSON_IsTrue(want))
		return true;
	printf("FAIL %s: %s: expected %s\n", id->valuestring, q->valuestring,
	       cJSON_IsTrue(want) ? "a match" : "no match");
	return false;
}

static void test_kql__vectors(void **state)
{
	FILE *fe = open_shared("vectors/kql/events.jsonl");
	FILE *fc = open_shared("vectors/kql/cases.jsonl");
	size_t nev, ncases = 0, nmatch = 0, nerr = 0, failed = 0, len = 0;
	struct event *ev;
	char *line = NULL;

	(void)state;
	if (!fe || !fc) {
		if (fe)
			fclose(fe);
		if (fc)
			fclose(fc);
		printf("skip: no KQL vectors under %s (set FD_SHARED_DIR)\n",
		       shared_dir());
		skip();
	}
	nev = load_events(fe, &ev);
	fclose(fe);
	assert_true(nev > 0);
	while (getline(&line, &len, fc) > 0) {
		cJSON *row = cJSON_Parse(line);

		assert_non_null(row);
		ncases++;
		if (!run_case(row, ev, nev, &nmatch, &nerr))
			failed++;
		cJSON_Delete(row);
	}
	free(line);
	fclose(fc);
	free_events(ev, nev);
	printf("kql vectors: %zu cases (%zu match, %zu error) over %zu "
	       "events, %zu failed\n", ncases, nmatch, nerr, nev, failed);
	assert_true(ncases > 0);
	assert_int_equal(failed, 0);
}

/* ---- the rule corpus: every KQL query parses ---- */

static size_t corpus_file(const char *path, size_t *failed)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, len = 0;
	char *line = NULL;

	assert_non_null(f);
	while (getline(&line, &len, f) > 0) {
		cJSON *row = cJSON_Parse(line);
		const cJSON *lang, *q;
		struct fd_kql *k = NULL;
		struct fd_diag d;

		assert_non_null(row);
		lang = cJSON_GetObjectItemCaseSensitive(row, "language");
		q = cJSON_GetObjectItemCaseSensitive(row, "query");
		if (cJSON_IsString(lang) &&
		    !strcmp(lang->valuestring, "kuery")) {
			assert_true(cJSON_IsString(q));
			n++;
			fd_diag_clear(&d);
			if (fd_kql_compile(q->valuestring, &k, &d) < 0) {
				printf("FAIL %s: 1:%d: %s\n", path, d.col,
				       d.msg);
				(*failed)++;
			}
			fd_kql_free(k);
		}
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
	return n;
}

static void test_kql__corpus_parses(void **state)
{
	char dir[1024], path[2048];
	size_t n = 0, failed = 0, files = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/corpus", shared_dir());
	d = opendir(dir);
	if (!d) {
		printf("skip: no rule corpus under %s (set FD_SHARED_DIR)\n",
		       shared_dir());
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 6, ".jsonl"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += corpus_file(path, &failed);
		files++;
	}
	closedir(d);
	printf("kql corpus: %zu KQL queries in %zu files, %zu failed\n", n,
	       files, failed);
	assert_true(n > 0);
	assert_int_equal(failed, 0);
}

/* ---- syntax errors: message and column ---- */

static void test_kql__error_columns(void **state)
{
	(void)state;
	bad("process.name:", 14, "expected a value after ':'");
	bad("process.name:  ", 16, "expected a value after ':'");
	bad(":defaults", 1, "expected a field name before ':'");
	bad("process.name::defaults", 14, "expected a value after ':'");
	bad("process.pid:>5", 13, "expected a value after ':'");
	bad("process.pid<", 13, "expected a value after '<'");
	bad("process.pid<>5", 13, "expected a value after '<'");
	bad("process.pid >= ", 16, "expected a value after '>='");
	bad("process.name:defaults)", 22, "unexpected ')'");
	bad("(process.name:defaults", 23,
	    "expected ')' to close '(' at column 1");
	bad("a:b and (c:d or (e:f)", 22,
	    "expected ')' to close '(' at column 9");
	bad("process.parent:{name:launchd", 29,
	    "expected '}' to close '{' at column 16");
	bad("process.parent:{}", 17, "expected a query inside '{}'");
	bad("process.name:()", 15, "expected a value inside '()'");
	bad("()", 2, "expected a query inside '()'");
	bad("{name:launchd}", 1, "unexpected '{'");
	bad("process.name:defaults event.type:start", 23,
	    "expected 'and' or 'or' before 'event.type'");
	bad("process.name:a:b", 15,
	    "unexpected ':' (quote a value that contains it)");
	bad("process.name:\"a\"b", 17, "expected 'and' or 'or' before 'b'");
	bad("process.name:(defaults)(mkpassdb)", 24,
	    "expected 'and' or 'or' before '('");
	bad("process.args:\\q", 14, "invalid escape '\\q'");
	bad("process.args:a\\", 15,
	    "invalid escape '\\' at the end of the query");
	bad("process.args:\\u12", 14, "invalid escape '\\u12'");
	bad("a:x\\ y", 4, "invalid escape '\\ '");
	bad("process.args:\\]", 14, "invalid escape '\\]'");
	bad("process.args:\\uZZZZ", 14, "invalid escape '\\uZZZZ'");
	bad("\"process.name:defaults", 1, "unterminated quoted string");
	bad("process.args:\"C:\\Users\\\"", 14,
	    "unterminated quoted string (its last '\"' is escaped by '\\')");
	bad("not(process.name:defaults)", 4, "expected a space after 'not'");
	bad("a:b and not(c:d)", 12, "expected a space after 'not'");
	bad("process.name:x and(process.pid:5)", 19,
	    "expected a space after 'and'");
	bad("(a:b) and(c:d)", 10, "expected a space after 'and'");
	bad("process.name:not defaults", 14,
	    "'not' cannot start a value (write field:(not value))");
	bad("not not a:b", 5, "'not' cannot follow 'not'");
	bad("a:\"b\" and", 10, "expected a query after 'and'");
	bad("a:\"b\" or ", 10, "expected a query after 'or'");
	bad("a:b and ", 9, "expected a query after 'and'");
	bad("process.args:x>", 15,
	    "unexpected '>' (quote a value that contains it)");
	/* columns count characters, not bytes */
	bad("user.name:\"josé\" x", 18, "expected 'and' or 'or' before 'x'");
	/* a query spread over lines still reports line 1 and a column */
	bad("a:b and\n c:", 12, "expected a value after ':'");
}

/* ---- documents with dotted keys ---- */

static void test_kql__dotted_keys(void **state)
{
	(void)state;
	assert_true(m("process.name:defaults",
		      "{\"process.name\":\"defaults\"}"));
	assert_true(m("process.parent.name:zsh",
		      "{\"process.parent\":{\"name\":\"zsh\"}}"));
	assert_true(m("process.parent.name:zsh",
		      "{\"process\":{\"parent.name\":\"zsh\"}}"));
	assert_true(m("kibana.alert.rule.name:\"Dumping Account Hashes\"",
		      "{\"kibana.alert.rule.name\":\"Dumping Account Hashes\","
		      "\"process\":{\"name\":\"defaults\"}}"));
	/* flat and nested side by side: both are the same field */
	assert_true(m("process.args:b and process.args:a",
		      "{\"process\":{\"args\":[\"a\"]},"
		      "\"process.args\":[\"b\"]}"));
	/* arrays at every level, names are case-sensitive */
	assert_true(m("a.b.c:x",
		      "{\"a\":[{\"b\":[{\"c\":[\"y\",[\"x\"]]}]}]}"));
	assert_false(m("Process.name:defaults",
		       "{\"process.name\":\"defaults\"}"));
	assert_false(m("process.name:defaults",
		       "{\"process.names\":\"defaults\"}"));
	assert_false(m("process.name:defaults",
		       "{\"process\":{\"name\":{\"x\":\"defaults\"}}}"));
	assert_true(m("process.name:*", "{\"process.name\":\"\"}"));
	assert_false(m("process.name:*", "{\"process.name\":null}"));
	assert_true(m("not process.name:x", "{\"process.name\":[]}"));
	/* the seed query over a Kibana-style flat alert */
	assert_true(m(SEED_QUERY,
		      "{\"event.category\":[\"process\"],"
		      "\"host.os.type\":\"macos\",\"event.type\":\"start\","
		      "\"process.name\":\"mkpassdb\","
		      "\"process\":{\"args\":[\"mkpassdb\",\"-dump\"]}}"));
}

/* ---- field-name wildcards, expanded over the document's leaves ---- */

static void test_kql__field_wildcards(void **state)
{
	static const char doc[] =
		"{\"process\":{\"name\":\"defaults\",\"pid\":7,"
		"\"parent\":{\"name\":\"zsh\"}},\"user\":{\"name\":\"alice\"},"
		"\"host.os.type\":\"macos\"}";

	(void)state;
	assert_true(m("process.*:zsh", doc));
	assert_true(m("process.*:defaults", doc));
	assert_false(m("process.*:alice", doc));
	assert_true(m("*.name:alice", doc));
	assert_true(m("host.*.type:macos", doc));
	assert_true(m("process.*:7", doc));
	assert_true(m("process.p* > 5", doc));
	assert_false(m("process.pi* > 10", doc));
	/* "zsh" > "10" in keyword order */
	assert_true(m("process.p* > 10", doc));
	assert_true(m("process.*:*", doc));
	assert_false(m("file.*:*", doc));
	assert_true(m("*:*", "{}"));
	assert_true(m("*:alice", doc));
	/* an escaped or quoted star is part of the name */
	assert_false(m("process.\\*:zsh", doc));
	assert_true(m("\"a.*\":x", "{\"a.*\":\"x\"}"));
	assert_false(m("\"process.*\":zsh", doc));
}

/* ---- free text: a value without a field ---- */

static void test_kql__free_text(void **state)
{
	static const char doc[] =
		"{\"process\":{\"name\":\"defaults\",\"pid\":1201,"
		"\"args\":[\"defaults\",\"read\",\"ShadowHashData\"]},"
		"\"event\":{\"kind\":\"event\"},\"ok\":true}";

	(void)state;
	assert_true(m("ShadowHashData", doc));
	assert_true(m("\"ShadowHashData\"", doc));
	assert_false(m("shadowhashdata", doc));
	assert_false(m("Shadow", doc));
	assert_true(m("Shadow*", doc));
	assert_true(m("*Hash*", doc));
	assert_true(m("1201", doc));
	assert_true(m("true", doc));
	assert_false(m("false", doc));
	assert_true(m("defaults and read", doc));
	assert_true(m("missing or read", doc));
	assert_false(m("not read", doc));
	assert_true(m("*", "{}"));
	assert_true(m("", "{}"));
	assert_true(m("   ", "{\"a\":1}"));
	/* inside a nested query, free text reads the element */
	assert_true(m("s:{b and c}", "{\"s\":[{\"x\":\"b\"},{\"y\":\"b\","
		      "\"z\":\"c\"}]}"));
	assert_false(m("s:{b and c}",
		       "{\"s\":[{\"x\":\"b\"},{\"z\":\"c\"}]}"));
}

/* ---- number-like values, booleans, keyword case ---- */

static void test_kql__numbers_and_keywords(void **state)
{
	(void)state;
	/* the same text on keyword fields */
	assert_true(m("a:01", "{\"a\":\"01\"}"));
	assert_false(m("a:01", "{\"a\":\"1\"}"));
	assert_true(m("a:1.50", "{\"a\":\"1.50\"}"));
	assert_true(m("a:true", "{\"a\":\"true\"}"));
	assert_true(m("a:null", "{\"a\":\"null\"}"));
	/* numbers on numeric fields */
	assert_true(m("a:01", "{\"a\":1}"));
	assert_true(m("a:\"1.50\"", "{\"a\":1.5}"));
	assert_true(m("a:1e3", "{\"a\":1000}"));
	assert_false(m("a:0x10", "{\"a\":16}"));
	assert_false(m("a:abc", "{\"a\":0}"));
	assert_false(m("a:1*", "{\"a\":1}"));
	assert_true(m("a:*", "{\"a\":0}"));
	assert_true(m("a >= -2.5 and a < 0", "{\"a\":-1}"));
	assert_false(m("a > x", "{\"a\":1}"));
	/* booleans */
	assert_true(m("a:true", "{\"a\":true}"));
	assert_false(m("a:TRUE", "{\"a\":true}"));
	assert_true(m("a:false", "{\"a\":[true,false]}"));
	/* keyword order on strings: UTF-8 bytes */
	assert_true(m("a < \"500\"", "{\"a\":\"1000\"}"));
	assert_true(m("a < a", "{\"a\":\"DEFAULTS\"}"));
	assert_true(m("a > z", "{\"a\":\"\xc3\xa9\"}"));
	assert_true(m("a <= ab and a >= ab", "{\"a\":\"ab\"}"));
	assert_false(m("a < ab", "{\"a\":\"ab\"}"));
	/* operators in any letter case, and as plain words elsewhere */
	assert_true(m("a:x AnD NoT b:y Or c:z", "{\"a\":\"x\"}"));
	assert_true(m("not:x", "{\"not\":\"x\"}"));
	assert_true(m("a:notify", "{\"a\":\"notify\"}"));
	assert_true(m("a:orange and b:android", "{\"a\":\"orange\","
		      "\"b\":\"android\"}"));
	assert_true(m("a:(x or)", "{\"a\":\"x or\"}"));
	assert_true(m("a:x or", "{\"a\":\"x or\"}"));
}

/* ---- escapes, quoting, trimming ---- */

static void test_kql__escapes(void **state)
{
	(void)state;
	assert_true(m("a:\\and", "{\"a\":\"and\"}"));
	assert_true(m("a:\\AND", "{\"a\":\"AND\"}"));
	assert_true(m("a:\\not", "{\"a\":\"ot\"}"));
	assert_true(m("a:\\Not", "{\"a\":\"Not\"}"));
	assert_true(m("a:\\u00e9t\\u00E9", "{\"a\":\"\xc3\xa9t\xc3\xa9\"}"));
	assert_true(m("a:\\ud83d\\ude00", "{\"a\":\"\xf0\x9f\x98\x80\"}"));
	assert_true(m("a:\"\\ud83d\"", "{\"a\":\"\xef\xbf\xbd\"}"));
	assert_true(m("a:\"\\u00e9\"", "{\"a\":\"\xc3\xa9\"}"));
	assert_true(m("a:\"\\u12\"", "{\"a\":\"\\\\u12\"}"));
	assert_true(m("a:\"x\\qy\"", "{\"a\":\"x\\\\qy\"}"));
	assert_true(m("a:\"\\\\\\\"\"", "{\"a\":\"\\\\\\\"\"}"));
	assert_true(m("a:\"tab\\there\"", "{\"a\":\"tab\\there\"}"));
	assert_true(m("a:\"two\nlines\"", "{\"a\":\"two\\nlines\"}"));
	/* trimming: unquoted only, JavaScript's whitespace set */
	assert_true(m("a:  x y  ", "{\"a\":\"x y\"}"));
	assert_true(m("a:\\tx\\n", "{\"a\":\"x\"}"));
	assert_true(m("a:\xc2\xa0x\xc2\xa0", "{\"a\":\"x\"}"));
	assert_true(m("a:x\xe3\x80\x80", "{\"a\":\"x\"}"));
	assert_true(m("a:\" x \"", "{\"a\":\" x \"}"));
	assert_true(m("a:\\t", "{\"a\":\"\"}"));
	/* stars */
	assert_true(m("a:\\*", "{\"a\":\"*\"}"));
	assert_false(m("a:\\*", "{\"a\":\"x\"}"));
	assert_true(m("a:\\**", "{\"a\":\"*x\"}"));
	assert_false(m("a:\\**", "{\"a\":\"x*\"}"));
	assert_true(m("a:**", "{\"a\":\"\"}"));
	assert_false(m("a:**", "{\"a\":1}"));
	assert_true(m("a:x*y*z", "{\"a\":\"xyz\"}"));
	assert_true(m("a:x*y*z", "{\"a\":\"x-y-y-z\"}"));
	assert_false(m("a:x*y*z", "{\"a\":\"x-z-y\"}"));
	assert_false(m("a:x*x", "{\"a\":\"x\"}"));
	assert_true(m("a:*\n*", "{\"a\":\"1\\n2\"}"));
	assert_true(m("a:?", "{\"a\":\"?\"}"));
	assert_false(m("a:?", "{\"a\":\"x\"}"));
	assert_true(m("a:C\\:\\\\dir\\\\*.exe",
		      "{\"a\":\"C:\\\\dir\\\\x.exe\"}"));
}

/* ---- nested queries ---- */

static void test_kql__nested(void **state)
{
	static const char doc[] =
		"{\"s\":[{\"n\":\"a\",\"k\":1,\"t\":[{\"u\":\"x\"}]},"
		"{\"n\":\"b\",\"k\":2,\"t\":{\"u\":\"y\"}}],"
		"\"o\":{\"n\":\"c\"},\"e\":[],\"str\":\"v\"}";

	(void)state;
	assert_true(m("s:{n:a and k:1}", doc));
	assert_false(m("s:{n:a and k:2}", doc));
	assert_true(m("s:{n:b and t:{u:y}}", doc));
	assert_false(m("s:{n:b and t:{u:x}}", doc));
	assert_true(m("o:{n:c}", doc));
	assert_false(m("e:{not n:x}", doc));
	assert_false(m("str:{not n:x}", doc));
	assert_false(m("missing:{not n:x}", doc));
	assert_true(m("s : { k > 1 }", doc));
	assert_true(m("not s:{k > 2}", doc));
	assert_true(m("s:{\"n\":b}", doc));
	assert_true(m("s:{\"n\":b}", "{\"s.n\":\"x\",\"s\":{\"n\":\"b\"}}"));
}

/* ---- the fields a query names ---- */

static void test_kql__fields(void **state)
{
	struct fd_kql *k = NULL;
	const char *const *f;
	size_t n;

	(void)state;
	assert_int_equal(fd_kql_compile(SEED_QUERY " and not "
					"event.category:(file or network) and "
					"process.args_count >= 2 and "
					"\"process.parent.name\":zsh", &k,
					NULL), 0);
	f = fd_kql_fields(k, &n);
	assert_int_equal(n, 7);
	assert_string_equal(f[0], "event.category");
	assert_string_equal(f[1], "host.os.type");
	assert_string_equal(f[2], "event.type");
	assert_string_equal(f[3], "process.name");
	assert_string_equal(f[4], "process.args");
	assert_string_equal(f[5], "process.args_count");
	assert_string_equal(f[6], "process.parent.name");
	assert_null(f[7]);
	fd_kql_free(k);

	assert_int_equal(fd_kql_compile("a.b:{c:x and d:{e > 1}} or y or "
					"p.*:z", &k, NULL), 0);
	f = fd_kql_fields(k, &n);
	assert_int_equal(n, 6);
	assert_string_equal(f[0], "a.b");
	assert_string_equal(f[1], "a.b.c");
	assert_string_equal(f[2], "a.b.d");
	assert_string_equal(f[3], "a.b.d.e");
	assert_string_equal(f[4], "*");
	assert_string_equal(f[5], "p.*");
	fd_kql_free(k);
}

/* ---- limits and odd input ---- */

static void test_kql__limits(void **state)
{
	struct fd_kql *k = NULL;
	struct fd_diag d;
	char deep[1024];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++)
		deep[i] = '(';
	memcpy(deep + i, "a:b", 4);
	fd_diag_clear(&d);
	assert_int_equal(fd_kql_compile(deep, &k, &d), -FD_ERR_UNSUPPORTED);
	assert_int_equal(d.col, 129);
	assert_null(k);
	assert_int_equal(fd_kql_compile(NULL, &k, &d), -FD_ERR_INVALID);
	assert_int_equal(fd_kql_compile("p.*:{a:b}", &k, &d),
			 -FD_ERR_UNSUPPORTED);
	assert_false(fd_kql_match(NULL, NULL));
	assert_int_equal(fd_kql_compile("not a:b", &k, NULL), 0);
	assert_true(fd_kql_match(k, NULL));
	fd_kql_free(k);
	fd_kql_free(NULL);
}

/* ---- speed: the seed query over the vector events ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_kql__throughput(void **state)
{
	FILE *fe = open_shared("vectors/kql/events.jsonl");
	size_t nev, hits = 0, runs = 0, want = 0;
	struct fd_kql *k = NULL;
	struct event *ev;
	double t0, dt;

	(void)state;
	if (!fe) {
		printf("skip: no KQL vectors under %s (set FD_SHARED_DIR)\n",
		       shared_dir());
		skip();
	}
	nev = load_events(fe, &ev);
	fclose(fe);
	assert_int_equal(fd_kql_compile(SEED_QUERY, &k, NULL), 0);
	for (size_t i = 0; i < nev; i++)
		want += fd_kql_match(k, ev[i].doc);
	assert_true(want > 0 && want < nev);
	t0 = now_s();
	do {
		for (size_t i = 0; i < nev; i++)
			hits += fd_kql_match(k, ev[i].doc);
		runs++;
	} while ((dt = now_s() - t0) < 0.25);
	assert_int_equal(hits, want * runs);
	printf("kql throughput: seed query, %zu events x %zu runs: %.0f "
	       "matches/s (%zu of %zu events match)\n", nev, runs,
	       (double)(nev * runs) / dt, want, nev);
	fd_kql_free(k);
	free_events(ev, nev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kql__vectors),
		cmocka_unit_test(test_kql__corpus_parses),
		cmocka_unit_test(test_kql__error_columns),
		cmocka_unit_test(test_kql__dotted_keys),
		cmocka_unit_test(test_kql__field_wildcards),
		cmocka_unit_test(test_kql__free_text),
		cmocka_unit_test(test_kql__numbers_and_keywords),
		cmocka_unit_test(test_kql__escapes),
		cmocka_unit_test(test_kql__nested),
		cmocka_unit_test(test_kql__fields),
		cmocka_unit_test(test_kql__limits),
		cmocka_unit_test(test_kql__throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
