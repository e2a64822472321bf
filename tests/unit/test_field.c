/*
 * test_field.c - field access on ECS documents: nested objects, literal
 * dotted keys and any mix of the two, arrays at every level, nulls,
 * case-sensitive names, early stops, and the leaf walk with its paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "field.h"

static cJSON *parse(const char *json)
{
	cJSON *doc = cJSON_Parse(json);

	assert_non_null(doc);
	return doc;
}

/* Collects the values of a field as compact JSON, joined with '|'. */
struct seen {
	char buf[512];
	int n;
	int stop_after;		/* 0: never stop */
};

static int collect(const cJSON *v, void *arg)
{
	struct seen *s = arg;
	char *txt = cJSON_PrintUnformatted(v);
	size_t len = strlen(s->buf);

	assert_non_null(txt);
	snprintf(s->buf + len, sizeof(s->buf) - len, "%s%s", len ? "|" : "",
		 txt);
	free(txt);
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

/* The values of path in json, in document order. */
static const char *values(const char *json, const char *path,
			  struct seen *s)
{
	cJSON *doc = parse(json);

	memset(s, 0, sizeof(*s));
	assert_int_equal(fd_field_visit(doc, path, collect, s), 0);
	cJSON_Delete(doc);
	return s->buf;
}

static void test_field__nested_and_dotted(void **state)
{
	struct seen s;

	(void)state;
	assert_string_equal(values("{\"process\":{\"name\":\"defaults\"}}",
				   "process.name", &s), "\"defaults\"");
	assert_string_equal(values("{\"process.name\":\"defaults\"}",
				   "process.name", &s), "\"defaults\"");
	assert_string_equal(values("{\"process.parent\":{\"name\":\"zsh\"}}",
				   "process.parent.name", &s), "\"zsh\"");
	assert_string_equal(values("{\"process\":{\"parent.name\":\"zsh\"}}",
				   "process.parent.name", &s), "\"zsh\"");
	/* every spelling at once: all are the same field */
	assert_string_equal(values("{\"a\":{\"b\":{\"c\":1},\"b.c\":2},"
				   "\"a.b\":{\"c\":3},\"a.b.c\":4}",
				   "a.b.c", &s), "1|2|3|4");
	/* Kibana's flat alert keys beside nested ECS objects */
	assert_string_equal(values("{\"kibana.alert.rule.name\":\"R\","
				   "\"kibana\":{\"alert\":{\"severity\":"
				   "\"high\"}}}",
				   "kibana.alert.rule.name", &s), "\"R\"");
	assert_string_equal(values("{\"kibana.alert.rule.name\":\"R\","
				   "\"kibana\":{\"alert\":{\"severity\":"
				   "\"high\"}}}",
				   "kibana.alert.severity", &s), "\"high\"");
	/* a key is only a whole segment, never part of one */
	assert_string_equal(values("{\"proc\":{\"ess.name\":1},"
				   "\"process.nam\":2,\"process.names\":3}",
				   "process.name", &s), "");
}

static void test_field__arrays_and_nulls(void **state)
{
	struct seen s;

	(void)state;
	assert_string_equal(values("{\"a\":[{\"b\":[1,[2,3]]},{\"b\":4},"
				   "[{\"b\":5}]]}", "a.b", &s), "1|2|3|4|5");
	assert_string_equal(values("{\"a\":[]}", "a", &s), "");
	assert_string_equal(values("{\"a\":[null,\"x\"]}", "a", &s),
			    "null|\"x\"");
	assert_string_equal(values("{\"a\":null}", "a.b", &s), "");
	assert_string_equal(values("{\"a\":\"x\"}", "a.b", &s), "");
	/* objects are handed over whole when the path ends at them */
	assert_string_equal(values("{\"a\":[{\"b\":1},{\"c\":2}]}", "a", &s),
			    "{\"b\":1}|{\"c\":2}");
	/* names are case-sensitive */
	assert_string_equal(values("{\"Process\":{\"Name\":1}}",
				   "process.name", &s), "");
	/* the empty path names nothing */
	assert_string_equal(values("{\"\":1}", "", &s), "");
	assert_int_equal(fd_field_visit(NULL, "a", collect, &s), 0);
}

static void test_field__early_stop(void **state)
{
	cJSON *doc = parse("{\"a\":[1,2,3],\"a.b\":0}");
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(fd_field_visit(doc, "a", collect, &s), 7);
	assert_string_equal(s.buf, "1|2");
	cJSON_Delete(doc);
}

static void test_field__string_and_number(void **state)
{
	cJSON *doc = parse("{\"process\":{\"args\":[1,\"defaults\",\"x\"],"
			   "\"pid\":[\"n\",501]},\"process.name\":\"d\"}");
	double d = 0;

	(void)state;
	assert_string_equal(fd_field_string(doc, "process.args"), "defaults");
	assert_string_equal(fd_field_string(doc, "process.name"), "d");
	assert_null(fd_field_string(doc, "process.missing"));
	assert_int_equal(fd_field_number(doc, "process.pid", &d), 0);
	assert_true(d == 501);
	assert_int_equal(fd_field_number(doc, "process.name", &d), -1);
	cJSON_Delete(doc);
}

static int leaf_paths(const char *path, const cJSON *v, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->buf);

	snprintf(s->buf + len, sizeof(s->buf) - len, "%s%s=%s",
		 len ? "|" : "", path ? path : "(long)",
		 cJSON_IsNull(v) ? "null" : cJSON_IsString(v) ?
		 v->valuestring : "?");
	return 0;
}

static void test_field__walk(void **state)
{
	cJSON *doc = parse("{\"a\":{\"b\":\"1\",\"c\":[{\"d\":\"2\"},\"3\"]},"
			   "\"a.e\":{\"f\":\"4\"},\"g\":null,\"h\":[],"
			   "\"i\":{}}");
	char long_key[FD_FIELD_PATH_MAX + 8];
	struct seen s;
	cJSON *big;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_field_walk(doc, leaf_paths, &s), 0);
	assert_string_equal(s.buf,
			    "a.b=1|a.c.d=2|a.c=3|a.e.f=4|g=null");
	cJSON_Delete(doc);

	/* a path too long for the buffer is handed over as NULL */
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	big = cJSON_CreateObject();
	assert_non_null(big);
	assert_non_null(cJSON_AddStringToObject(big, long_key, "v"));
	assert_non_null(cJSON_AddStringToObject(big, "short", "w"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_field_walk(big, leaf_paths, &s), 0);
	assert_string_equal(s.buf, "(long)=v|short=w");
	cJSON_Delete(big);
	assert_int_equal(fd_field_walk(NULL, leaf_paths, &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field__nested_and_dotted),
		cmocka_unit_test(test_field__arrays_and_nulls),
		cmocka_unit_test(test_field__early_stop),
		cmocka_unit_test(test_field__string_and_number),
		cmocka_unit_test(test_field__walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
