/*
 * test_stackapi.c - the live backends' shapes without a server: the alert
 * search body, reading hits in both alert layouts, rule state from a rule
 * (8.x execution_summary and the 7.x flat fields), bulk answers, error
 * bodies, Retry-After and the scrubbing of secrets.
 *
 * The real documents in ../shared/fixtures are used when present; the
 * tests that need them skip, saying so, when they are absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alertdoc.h"
#include "field.h"
#include "http.h"
#include "runrec.h"
#include "shared.h"
#include "stackapi.h"

#define RUN "20261203T131500Z-1a2b3c4d"

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

/* A fixture's document, or NULL (the caller skips). */
static cJSON *fixture(const char *name)
{
	char rel[256], *text;
	FILE *f;
	long n;
	cJSON *j;

	snprintf(rel, sizeof(rel), "fixtures/%s", name);
	f = open_shared(rel);
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	j = parse(text);
	free(text);
	return j;
}

#define NEED_FIXTURE(var, name)						\
	do {								\
		(var) = fixture(name);					\
		if (!(var)) {						\
			print_message("skipped: %s/fixtures/%s is "	\
				      "absent\n", shared_dir(), name);	\
			skip();						\
		}							\
	} while (0)

/* An es_archiver record ({"type","value":{"index","id","source"}}) as a
 * search hit. */
static cJSON *archive_hit(const cJSON *rec)
{
	const cJSON *v = cJSON_GetObjectItem(rec, "value");
	cJSON *hit = cJSON_CreateObject();

	cJSON_AddItemToObject(hit, "_index", cJSON_Duplicate(
		cJSON_GetObjectItem(v, "index"), 1));
	cJSON_AddItemToObject(hit, "_id", cJSON_Duplicate(
		cJSON_GetObjectItem(v, "id"), 1));
	cJSON_AddItemToObject(hit, "_source", cJSON_Duplicate(
		cJSON_GetObjectItem(v, "source"), 1));
	return hit;
}

static void test_alertdoc__an_8x_alert_reads_as_is(void **state)
{
	cJSON *rec, *hit, *doc;

	(void)state;
	NEED_FIXTURE(rec, "alert-8.1.0-threat-match.kibana-es-archive.json");
	hit = archive_hit(rec);
	doc = fd_alert_from_hit(hit);
	assert_non_null(doc);
	assert_non_null(fd_field_string(doc, "kibana.alert.rule.rule_id"));
	assert_string_equal(fd_field_string(doc, "_id"),
			    cJSON_GetObjectItem(hit, "_id")->valuestring);
	assert_non_null(fd_field_string(doc, "_index"));
	assert_non_null(fd_field_string(doc, "host.name"));
	cJSON_Delete(doc);
	cJSON_Delete(hit);
	cJSON_Delete(rec);
}

static void test_alertdoc__a_7x_signal_gets_the_8x_names(void **state)
{
	cJSON *rec, *hit, *doc;
	double risk;

	(void)state;
	NEED_FIXTURE(rec, "signal-7.16.0-threat-match.kibana-es-archive.json");
	hit = archive_hit(rec);
	doc = fd_alert_from_hit(hit);
	assert_non_null(doc);
	assert_string_equal(fd_field_string(doc, "kibana.alert.rule.rule_id"),
			    "bef9b0da-8c2f-4b82-930f-37ffa1b57fc1");
	assert_string_equal(fd_field_string(doc, "kibana.alert.rule.uuid"),
			    "62f9a8c0-aac9-11ec-aa31-c9ea2cb79db7");
	assert_string_equal(fd_field_string(doc, "kibana.alert.severity"),
			    "low");
	assert_int_equal(fd_field_number(doc, "kibana.alert.risk_score",
					 &risk), 0);
	assert_true(risk == 21);
	assert_string_equal(fd_field_string(doc,
					    "kibana.alert.workflow_status"),
			    "open");
	assert_non_null(fd_field_string(doc, "kibana.alert.original_time"));
	assert_string_equal(fd_field_string(doc, "kibana.alert.uuid"),
			    fd_field_string(doc, "_id"));
	cJSON_Delete(doc);
	cJSON_Delete(hit);
	cJSON_Delete(rec);
}

static void test_alertdoc__a_hit_without_source_is_refused(void **state)
{
	cJSON *hit = parse("{\"_id\":\"x\",\"_source\":[1]}");

	(void)state;
	assert_null(fd_alert_from_hit(hit));
	cJSON_Delete(hit);
}

static struct fd_alert_filter filter_for(const char *scenario_frag)
{
	struct fd_alert_filter f = {
		.rule_id = "r-1", .run_id = RUN, .scenario = scenario_frag,
		.host_name = "mac-1",
		.from = fd_time_parse("2026-12-03T13:15:00Z"),
		.to = fd_time_parse("2026-12-03T13:16:00Z"),
	};

	return f;
}

static void test_stackapi__the_search_names_both_layouts(void **state)
{
	struct fd_alert_filter f = filter_for("/firedrill-" RUN "/s*1/");
	cJSON *body = fd_stack_alert_query(&f, 1);
	char *text = cJSON_PrintUnformatted(body);

	(void)state;
	assert_non_null(strstr(text, "\"kibana.alert.rule.rule_id\":\"r-1\""));
	assert_non_null(strstr(text, "\"signal.rule.rule_id\":\"r-1\""));
	assert_non_null(strstr(text, "kibana.alert.original_time"));
	assert_non_null(strstr(text, "signal.original_time"));
	assert_non_null(strstr(text, "\"host.name\":{\"value\":\"mac-1\""));
	/* the wildcard's own specials are escaped */
	assert_non_null(strstr(text, "/s\\\\*1/*"));
	assert_non_null(strstr(text, "\"size\":10000"));
	free(text);
	cJSON_Delete(body);
}

static cJSON *answer_with(const char *scenario, const char *run,
			  double total)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"hits\":{\"total\":{\"value\":%g},\"hits\":[{\"_index\":"
		 "\".internal.alerts-security.alerts-default-000001\","
		 "\"_id\":\"a1\",\"_source\":{\"kibana.alert.rule.rule_id\":"
		 "\"r-1\",\"kibana.alert.original_time\":"
		 "\"2026-12-03T13:15:30.000Z\",\"host\":{\"name\":\"mac-1\"},"
		 "\"process\":{\"executable\":\"/tmp/firedrill-%s/%s/"
		 "defaults\"}}}]}}", total, run, scenario);
	return parse(buf);
}

static void test_stackapi__hits_are_rechecked_here(void **state)
{
	struct fd_alert_filter f[2] = {
		filter_for("/firedrill-" RUN "/one/"),
		filter_for("/firedrill-" RUN "/two/"),
	};
	struct fd_alert_list out[2];
	struct fd_diag d;
	cJSON *mine = answer_with("one", RUN, 1);
	cJSON *theirs = answer_with("one", "20261203T131500Z-ffffffff", 1);

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_stack_sort_hits(mine, f, 2, out, &d), 0);
	assert_int_equal(out[0].n, 1);
	assert_int_equal(out[1].n, 0);
	assert_string_equal(fd_field_string(out[0].v[0], "_id"), "a1");
	fd_alert_list_release(&out[0]);
	fd_alert_list_release(&out[1]);
	/* a server that answers with another run's alert is not believed */
	assert_int_equal(fd_stack_sort_hits(theirs, f, 2, out, &d), 0);
	assert_int_equal(out[0].n + out[1].n, 0);
	cJSON_Delete(mine);
	cJSON_Delete(theirs);
}

static void test_stackapi__more_matches_than_hits_is_an_error(void **state)
{
	struct fd_alert_filter f = filter_for("/firedrill-" RUN "/one/");
	struct fd_alert_list out;
	struct fd_diag d;
	cJSON *a = answer_with("one", RUN, 20000);
	cJSON *none = parse("{\"took\":1}");

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_stack_sort_hits(a, &f, 1, &out, &d),
			 -FD_ERR_BACKEND);
	assert_non_null(strstr(d.msg, "20000 alerts match"));
	assert_int_equal(fd_stack_sort_hits(none, &f, 1, &out, &d),
			 -FD_ERR_BACKEND);
	cJSON_Delete(a);
	cJSON_Delete(none);
}

static void test_stackapi__partial_answers_are_asked_again(void **state)
{
	struct fd_alert_filter f = filter_for("/firedrill-" RUN "/one/");
	struct fd_alert_list out;
	struct fd_diag d;
	cJSON *shards = parse("{\"_shards\":{\"total\":2,\"failed\":1},"
			      "\"hits\":{\"total\":{\"value\":0},"
			      "\"hits\":[]}}");
	cJSON *slow = parse("{\"timed_out\":true,\"hits\":{\"total\":"
			    "{\"value\":0},\"hits\":[]}}");
	cJSON *no_total = parse("{\"hits\":{\"hits\":[]}}");

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_stack_sort_hits(shards, &f, 1, &out, &d),
			 -FD_ERR_NETWORK);
	assert_int_equal(fd_stack_sort_hits(slow, &f, 1, &out, &d),
			 -FD_ERR_NETWORK);
	assert_int_equal(fd_stack_sort_hits(no_total, &f, 1, &out, &d),
			 -FD_ERR_BACKEND);
	cJSON_Delete(shards);
	cJSON_Delete(slow);
	cJSON_Delete(no_total);
}

static void test_stackapi__one_alert_twice_counts_once(void **state)
{
	struct fd_alert_filter f = filter_for("/firedrill-" RUN "/one/");
	struct fd_alert_list out;
	struct fd_diag d;
	cJSON *a = answer_with("one", RUN, 2);
	cJSON *hits = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "hits"),
					  "hits");

	(void)state;
	fd_diag_clear(&d);
	cJSON_AddItemToArray(hits, cJSON_Duplicate(cJSON_GetArrayItem(hits, 0),
						   1));
	assert_int_equal(fd_stack_sort_hits(a, &f, 1, &out, &d), 0);
	assert_int_equal(out.n, 1);
	fd_alert_list_release(&out);
	cJSON_Delete(a);
}

static void test_stackapi__host_names_match_in_any_case(void **state)
{
	struct fd_alert_filter f = filter_for("/firedrill-" RUN "/one/");
	struct fd_alert_list out;
	struct fd_diag d;
	cJSON *a = answer_with("one", RUN, 1), *body;
	char *text;

	(void)state;
	fd_diag_clear(&d);
	f.host_name = "MAC-1";	/* the Mac's name; Endpoint writes mac-1 */
	assert_int_equal(fd_stack_sort_hits(a, &f, 1, &out, &d), 0);
	assert_int_equal(out.n, 1);
	fd_alert_list_release(&out);
	body = fd_stack_alert_query(&f, 1);
	text = cJSON_PrintUnformatted(body);
	assert_non_null(strstr(text, "\"case_insensitive\":true"));
	free(text);
	cJSON_Delete(body);
	cJSON_Delete(a);
}

static void test_stackapi__rule_state_from_execution_summary(void **state)
{
	cJSON *rule;
	struct fd_rule_state st;

	(void)state;
	NEED_FIXTURE(rule, "rule-with-execution-summary.kibana-health-doc.json");
	fd_stack_rule_state(rule, &st);
	assert_true(st.found && st.enabled);
	assert_int_equal(st.interval_s, 60);
	assert_int_equal(st.lookback_s, 21660);
	assert_string_equal(st.status, "succeeded");
	assert_true(st.last_run == fd_time_parse("2023-05-26T16:09:36.848Z"));
	assert_true(st.covered_to == st.last_run);
	assert_true(st.covered_from == st.last_run - 21660);
	/* this run reported a gap: it proves no negative */
	assert_true(st.gap_s == 80395);
	assert_int_equal(st.version, 3);
	assert_string_equal(st.name, "Test rule");
	cJSON_Delete(rule);
}

static void test_stackapi__a_rule_that_never_ran(void **state)
{
	cJSON *rule;
	struct fd_rule_state st;

	(void)state;
	NEED_FIXTURE(rule, "rule-get-response.security-docs-example.json");
	fd_stack_rule_state(rule, &st);
	assert_true(st.found);
	assert_false(st.enabled);
	assert_int_equal(st.interval_s, 3600);
	assert_string_equal(st.status, "");
	assert_non_null(strstr(st.message, "not run yet"));
	assert_true(st.covered_to == 0);
	cJSON_Delete(rule);
}

static void test_stackapi__legacy_status_fields(void **state)
{
	cJSON *ok = parse("{\"enabled\":true,\"interval\":\"5m\","
			  "\"from\":\"now-9m\",\"status\":\"succeeded\","
			  "\"status_date\":\"2021-01-01T00:00:09Z\","
			  "\"last_success_at\":\"2021-01-01T00:00:00Z\"}");
	cJSON *bad = parse("{\"enabled\":true,\"status\":\"failed\","
			   "\"last_failure_at\":\"2021-01-01T00:05:00Z\","
			   "\"last_failure_message\":\"index missing\","
			   "\"last_success_at\":\"2021-01-01T00:00:00Z\"}");
	struct fd_rule_state st;

	(void)state;
	fd_stack_rule_state(ok, &st);
	assert_string_equal(st.status, "succeeded");
	assert_true(st.last_run == fd_time_parse("2021-01-01T00:00:00Z"));
	assert_true(st.covered_from == st.last_run - 540);
	fd_stack_rule_state(bad, &st);
	assert_string_equal(st.status, "failed");
	assert_string_equal(st.message, "index missing");
	assert_true(st.covered_to == 0);
	cJSON_Delete(ok);
	cJSON_Delete(bad);
}

static void test_stackapi__bulk_answers(void **state)
{
	cJSON *ok = parse("{\"errors\":false,\"items\":[{\"create\":"
			  "{\"status\":201}},{\"create\":{\"status\":409}}]}");
	cJSON *busy = parse("{\"errors\":true,\"items\":[{\"create\":"
			    "{\"status\":201}},{\"create\":{\"status\":429,"
			    "\"error\":{\"type\":\"es_rejected_execution_"
			    "exception\",\"reason\":\"queue full\"}}}]}");
	cJSON *bad = parse("{\"errors\":true,\"items\":[{\"index\":"
			   "{\"status\":400,\"error\":{\"type\":"
			   "\"illegal_argument_exception\",\"reason\":"
			   "\"only create\"}}}]}");
	struct fd_diag d;
	size_t done;

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_stack_bulk_result(ok, &done, &d), 0);
	assert_int_equal(done, 2);
	assert_int_equal(fd_stack_bulk_result(busy, &done, &d),
			 -FD_ERR_NETWORK);
	assert_int_equal(done, 1);
	assert_int_equal(fd_stack_bulk_result(bad, &done, &d),
			 -FD_ERR_BACKEND);
	assert_non_null(strstr(d.msg, "illegal_argument_exception: only "
			       "create"));
	cJSON_Delete(ok);
	cJSON_Delete(busy);
	cJSON_Delete(bad);
}

static void test_http__both_error_shapes_and_elasticsearch(void **state)
{
	cJSON *boom = parse("{\"statusCode\":401,\"error\":\"Unauthorized\","
			    "\"message\":\"bad key\"}");
	cJSON *siem = parse("{\"message\":\"rule not found\","
			    "\"status_code\":404}");
	cJSON *es = parse("{\"error\":{\"type\":\"index_not_found_exception\","
			  "\"reason\":\"no such index [x]\"},\"status\":404}");
	char buf[200];

	(void)state;
	assert_string_equal(fd_http_error_message(boom, buf, sizeof(buf)),
			    "bad key");
	assert_string_equal(fd_http_error_message(siem, buf, sizeof(buf)),
			    "rule not found");
	assert_string_equal(fd_http_error_message(es, buf, sizeof(buf)),
			    "index_not_found_exception: no such index [x]");
	assert_null(fd_http_error_message(NULL, buf, sizeof(buf)));
	cJSON_Delete(boom);
	cJSON_Delete(siem);
	cJSON_Delete(es);
}

static void test_http__retry_after_in_both_forms(void **state)
{
	double now = fd_time_parse("2026-12-03T13:00:00Z");

	(void)state;
	assert_true(fd_http_retry_after("7", now) == 7);
	assert_true(fd_http_retry_after(" 2 ", now) == 2);
	assert_true(fd_http_retry_after("Thu, 03 Dec 2026 13:00:30 GMT",
					now) == 30);
	assert_true(fd_http_retry_after("yesterday-ish", now) == 0);
	assert_true(fd_http_retry_after(NULL, now) == 0);
	assert_true(fd_http_retry_after("-5", now) == 0);
	assert_true(fd_http_retry_after("999999", now) == 600);
}

static void test_http__secrets_are_scrubbed_everywhere(void **state)
{
	char msg[64] = "key=s3cret! and again s3cret!";
	char tight[24] = "xx s3cret! s3cret!";
	const char *secrets[] = { "s3cret!", "abc", NULL };

	(void)state;
	fd_http_scrub(msg, sizeof(msg), secrets, 3);
	assert_string_equal(msg, "key=[redacted] and again [redacted]");
	/* a longer replacement never writes past the buffer */
	fd_http_scrub(tight, sizeof(tight), secrets, 3);
	assert_null(strstr(tight, "s3cret"));
	assert_true(strlen(tight) < sizeof(tight));
	/* too short to scrub safely: "abc" is refused as a key anyway */
	assert_null(strstr(msg, "[redacted]bc"));
	/* every place a secret can end near the end of the buffer */
	for (size_t at = 0; at + 8 <= sizeof(tight); at++) {
		memset(tight, 'x', sizeof(tight) - 1);
		tight[sizeof(tight) - 1] = '\0';
		memcpy(tight + at, "s3cret!", 7);
		fd_http_scrub(tight, sizeof(tight), secrets, 3);
		assert_null(strstr(tight, "s3cret!"));
		assert_true(strlen(tight) < sizeof(tight));
	}
}

static void test_http__urls_with_credentials_are_refused(void **state)
{
	struct fd_live_cfg cfg = { 0 };
	struct fd_http h;
	struct fd_diag d;

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_http_open(&h, "https://u:p@es:9200", &cfg, 0, &d),
			 -FD_ERR_INVALID);
	assert_null(strstr(d.msg, "u:p"));
	assert_int_equal(fd_http_open(&h, "file:///etc/passwd", &cfg, 0, &d),
			 -FD_ERR_INVALID);
	assert_int_equal(fd_http_open(&h, "https://", &cfg, 0, &d),
			 -FD_ERR_INVALID);
	assert_int_equal(fd_http_open(&h, "https://es:9200/?x=1", &cfg, 0,
				      &d), -FD_ERR_INVALID);
	assert_int_equal(fd_http_open(&h, "https://es:9200/#top", &cfg, 0,
				      &d), -FD_ERR_INVALID);
	assert_int_equal(fd_http_open(&h, "https://es :9200", &cfg, 0, &d),
			 -FD_ERR_INVALID);
	assert_int_equal(fd_http_open(&h, "https://es:9200/", &cfg, 0, &d), 0);
	assert_string_equal(h.base, "https://es:9200");
	fd_http_close(&h);
}

static void test_http__an_id_key_pair_is_sent_encoded(void **state)
{
	struct fd_live_cfg cfg = { .api_key = "id:key-1234" };
	struct fd_http h;
	struct fd_diag d;

	(void)state;
	fd_diag_clear(&d);
	assert_int_equal(fd_http_open(&h, "http://127.0.0.1:9", &cfg, 1, &d),
			 0);
	assert_string_equal(h.auth, "Authorization: ApiKey aWQ6a2V5LTEyMzQ=");
	fd_http_close(&h);
	assert_string_equal(h.auth, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alertdoc__an_8x_alert_reads_as_is),
		cmocka_unit_test(test_alertdoc__a_7x_signal_gets_the_8x_names),
		cmocka_unit_test(test_alertdoc__a_hit_without_source_is_refused),
		cmocka_unit_test(test_stackapi__the_search_names_both_layouts),
		cmocka_unit_test(test_stackapi__hits_are_rechecked_here),
		cmocka_unit_test(test_stackapi__more_matches_than_hits_is_an_error),
		cmocka_unit_test(test_stackapi__partial_answers_are_asked_again),
		cmocka_unit_test(test_stackapi__one_alert_twice_counts_once),
		cmocka_unit_test(test_stackapi__host_names_match_in_any_case),
		cmocka_unit_test(test_stackapi__rule_state_from_execution_summary),
		cmocka_unit_test(test_stackapi__a_rule_that_never_ran),
		cmocka_unit_test(test_stackapi__legacy_status_fields),
		cmocka_unit_test(test_stackapi__bulk_answers),
		cmocka_unit_test(test_http__both_error_shapes_and_elasticsearch),
		cmocka_unit_test(test_http__retry_after_in_both_forms),
		cmocka_unit_test(test_http__secrets_are_scrubbed_everywhere),
		cmocka_unit_test(test_http__urls_with_credentials_are_refused),
		cmocka_unit_test(test_http__an_id_key_pair_is_sent_encoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
