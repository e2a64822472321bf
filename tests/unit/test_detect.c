/*
 * test_detect.c - the detector and the alert documents it writes.
 *
 * Alerts are checked key by key against Kibana 8.x's layout (flat
 * "kibana.*" keys beside the event's nested ECS objects, as the 8.1.0
 * fixture in ../shared shows); detection runs the seed KQL over small
 * NDJSON files written under /tmp, including max_signals capping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "shared.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "field.h"
#include "runrec.h"

#define RULE_NAME "Dumping Account Hashes via Built-In Commands"
#define SEED_QUERY "event.category:process and host.os.type:macos and " \
	"event.type:start and process.name:(defaults or mkpassdb) and " \
	"process.args:(ShadowHashData or \\\"-dump\\\")"
#define THREAT "[{\"framework\":\"MITRE ATT&CK\",\"tactic\":{\"id\":" \
	"\"TA0006\",\"name\":\"Credential Access\"},\"technique\":[{\"id\":" \
	"\"T1003\",\"name\":\"OS Credential Dumping\"}]}]"
#define SEED_RULE(extra) \
	"{\"id\":\"40bfe2a6-a260-4dc6-96a2-2da5d0319b9d\"," \
	"\"rule_id\":\"02ea4563-ec10-4974-b7de-12e65aa4f9b3\"," \
	"\"name\":\"" RULE_NAME "\",\"type\":\"query\"," \
	"\"language\":\"kuery\",\"query\":\"" SEED_QUERY "\"," \
	"\"index\":[\"logs-endpoint.events.*\"],\"severity\":\"high\"," \
	"\"risk_score\":73,\"threat\":" THREAT ",\"interval\":\"5m\"," \
	"\"from\":\"now-9m\",\"tags\":[\"OS: macOS\"]," \
	"\"version\":107" extra "}"

/* A macOS process start event; ts, ingested, name and args vary. */
#define EVENT(ts, ingested, os, name, args) \
	"{\"@timestamp\":\"" ts "\",\"event\":{\"category\":[\"process\"]," \
	"\"type\":[\"start\"],\"action\":\"exec\",\"kind\":\"event\"," \
	"\"ingested\":\"" ingested "\"},\"host\":{\"name\":\"mbp-01\"," \
	"\"os\":{\"type\":\"" os "\"}},\"user\":{\"name\":\"alice\"}," \
	"\"process\":{\"name\":\"" name "\",\"args\":" args ",\"parent\":" \
	"{\"name\":\"zsh\"}}}"

#define T0 "2026-12-03T13:15:00.000Z"
#define T1 "2026-12-03T13:15:01.500Z"
#define T2 "2026-12-03T13:15:02.000Z"
#define TI "2026-12-03T13:16:00.000Z"

static char tmpdir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fd-test-detect-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static void rm_in_dir(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static int remove_dir(void **state)
{
	static const char *const names[] = { "rule.json", "events.ndjson",
					     "alerts.ndjson" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rm_in_dir(names[i]);
	return rmdir(tmpdir);
}

static const char *path_of(const char *name)
{
	static char path[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	return path[k];
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void load_rule(struct fd_ruleset *set, const char *json)
{
	struct fd_diag d;
	int rc;

	write_file("rule.json", json);
	rc = fd_ruleset_load_file(set, path_of("rule.json"), &d);
	if (rc)
		fail_msg("rule: %s", d.msg);
}

static const char *str(const cJSON *obj, const char *key)
{
	const char *s = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(obj, key));

	if (!s)
		fail_msg("no string '%s'", key);
	return s;
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v))
		fail_msg("no number '%s'", key);
	return v->valuedouble;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)
							      s[i]))
			return false;
	return s[n] == '\0';
}

static cJSON *build(const struct fd_rule *r, const char *event_json,
		    const char *id)
{
	cJSON *ev = cJSON_Parse(event_json);
	cJSON *a;

	assert_non_null(ev);
	a = fd_alert_build(r, ev, id, "logs-endpoint.events.process-default",
			   1796303700.25);
	cJSON_Delete(ev);
	assert_non_null(a);
	return a;
}

static void test_detect__alert_layout(void **state)
{
	struct fd_ruleset set = { 0 };
	const cJSON *params, *anc, *v;
	cJSON *a, *b;

	(void)state;
	load_rule(&set, SEED_RULE(""));
	a = build(set.rules[0], EVENT(T0, TI, "macos", "defaults",
				      "[\"defaults\",\"ShadowHashData\"]"),
		  "ev-1");

	/* The event's fields, nested as they were; event.kind is signal. */
	v = cJSON_GetObjectItemCaseSensitive(a, "process");
	assert_true(cJSON_IsObject(v));
	assert_string_equal(str(v, "name"), "defaults");
	assert_string_equal(fd_field_string(a, "process.parent.name"), "zsh");
	assert_string_equal(fd_field_string(a, "host.os.type"), "macos");
	assert_string_equal(fd_field_string(a, "event.kind"), "signal");
	assert_string_equal(fd_field_string(a, "event.action"), "exec");
	assert_string_equal(str(a, "@timestamp"), "2026-12-03T13:15:00.250Z");

	/* Flat kibana.* keys, literally dotted. */
	assert_string_equal(str(a, "kibana.alert.rule.name"), RULE_NAME);
	assert_string_equal(str(a, "kibana.alert.rule.rule_id"),
			    "02ea4563-ec10-4974-b7de-12e65aa4f9b3");
	assert_string_equal(str(a, "kibana.alert.rule.uuid"),
			    "40bfe2a6-a260-4dc6-96a2-2da5d0319b9d");
	assert_string_equal(str(a, "kibana.alert.rule.severity"), "high");
	assert_int_equal(num(a, "kibana.alert.rule.risk_score"), 73);
	assert_string_equal(str(a, "kibana.alert.rule.type"), "query");
	assert_int_equal(num(a, "kibana.alert.rule.version"), 107);
	assert_string_equal(str(a, "kibana.alert.rule.interval"), "5m");
	assert_string_equal(str(a, "kibana.alert.rule.from"), "now-9m");
	assert_string_equal(str(a, "kibana.alert.rule.to"), "now");
	assert_int_equal(num(a, "kibana.alert.rule.max_signals"), 100);
	assert_string_equal(str(a, "kibana.alert.rule.rule_type_id"),
			    "siem.queryRule");
	assert_string_equal(str(a, "kibana.alert.severity"), "high");
	assert_int_equal(num(a, "kibana.alert.risk_score"), 73);
	assert_string_equal(str(a, "kibana.alert.original_time"), T0);
	assert_string_equal(str(a, "kibana.alert.original_event.action"),
			    "exec");
	assert_string_equal(str(a, "kibana.alert.original_event.kind"),
			    "event");
	assert_string_equal(str(a, "kibana.alert.original_event.ingested"),
			    TI);
	assert_string_equal(str(a, "kibana.alert.workflow_status"), "open");
	assert_string_equal(str(a, "kibana.alert.status"), "active");
	assert_int_equal(num(a, "kibana.alert.depth"), 1);
	assert_string_equal(str(a, "kibana.alert.reason"),
			    "process event with process defaults, parent "
			    "process zsh, by alice on mbp-01 created high "
			    "alert " RULE_NAME ".");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(
		a, "kibana.space_ids"), 0)->valuestring, "default");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(a,
							 "kibana.version"));

	/* The rule's threat array, as the rule has it. */
	v = cJSON_GetObjectItemCaseSensitive(a, "kibana.alert.rule.threat");
	assert_true(cJSON_IsArray(v));
	assert_string_equal(fd_field_string(cJSON_GetArrayItem(v, 0),
					    "tactic.id"), "TA0006");
	assert_string_equal(fd_field_string(a, "kibana.alert.rule.threat."
					    "technique.id"), "T1003");

	/* Parameters: the rule minus identity and schedule. */
	params = cJSON_GetObjectItemCaseSensitive(
		a, "kibana.alert.rule.parameters");
	assert_true(cJSON_IsObject(params));
	assert_string_equal(str(params, "query"), set.rules[0]->query);
	assert_string_equal(str(params, "language"), "kuery");
	assert_string_equal(str(params, "rule_id"),
			    "02ea4563-ec10-4974-b7de-12e65aa4f9b3");
	assert_string_equal(str(params, "from"), "now-9m");
	assert_string_equal(str(params, "to"), "now");
	assert_int_equal(num(params, "max_signals"), 100);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(params, "index")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(params, "threat")));
	assert_null(cJSON_GetObjectItem(params, "name"));
	assert_null(cJSON_GetObjectItem(params, "id"));
	assert_null(cJSON_GetObjectItem(params, "enabled"));
	assert_null(cJSON_GetObjectItem(params, "interval"));
	assert_null(cJSON_GetObjectItem(params, "tags"));

	/* Ancestors point at the source event. */
	anc = cJSON_GetObjectItemCaseSensitive(a, "kibana.alert.ancestors");
	assert_int_equal(cJSON_GetArraySize(anc), 1);
	anc = cJSON_GetArrayItem(anc, 0);
	assert_string_equal(str(anc, "id"), "ev-1");
	assert_string_equal(str(anc, "index"),
			    "logs-endpoint.events.process-default");
	assert_string_equal(str(anc, "type"), "event");
	assert_int_equal(num(anc, "depth"), 0);

	/* The uuid: 64 hex, the same for the same event and rule. */
	assert_true(is_hex(str(a, "kibana.alert.uuid"), 64));
	b = build(set.rules[0], EVENT(T0, TI, "macos", "defaults",
				      "[\"defaults\",\"ShadowHashData\"]"),
		  "ev-1");
	assert_string_equal(str(a, "kibana.alert.uuid"),
			    str(b, "kibana.alert.uuid"));
	cJSON_Delete(b);
	b = build(set.rules[0], EVENT(T0, TI, "macos", "defaults",
				      "[\"defaults\",\"ShadowHashData\"]"),
		  "ev-2");
	assert_string_not_equal(str(a, "kibana.alert.uuid"),
				str(b, "kibana.alert.uuid"));
	cJSON_Delete(b);
	cJSON_Delete(a);
	fd_ruleset_release(&set);
}

static cJSON *read_json(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

/* Every kibana.* key the 8.1.0 fixture and we both promise is flat in
 * both, with the same JSON type; ECS objects are nested in both. */
static void test_detect__matches_fixture_layout(void **state)
{
	static const char *const flat[] = {
		"kibana.version", "kibana.space_ids", "kibana.alert.rule.name",
		"kibana.alert.rule.rule_id", "kibana.alert.rule.uuid",
		"kibana.alert.rule.threat", "kibana.alert.rule.severity",
		"kibana.alert.rule.risk_score", "kibana.alert.rule.parameters",
		"kibana.alert.rule.type", "kibana.alert.rule.version",
		"kibana.alert.rule.interval", "kibana.alert.rule.from",
		"kibana.alert.rule.to", "kibana.alert.rule.max_signals",
		"kibana.alert.rule.enabled", "kibana.alert.rule.tags",
		"kibana.alert.rule.rule_type_id", "kibana.alert.rule.consumer",
		"kibana.alert.severity", "kibana.alert.risk_score",
		"kibana.alert.original_time", "kibana.alert.ancestors",
		"kibana.alert.depth", "kibana.alert.status",
		"kibana.alert.workflow_status", "kibana.alert.reason",
		"kibana.alert.uuid", "@timestamp",
	};
	struct fd_ruleset set = { 0 };
	const cJSON *src, *fa, *oa, *kv;
	char path[1024];
	cJSON *fix, *a;

	(void)state;
	snprintf(path, sizeof(path), "%s/fixtures/alert-8.1.0-threat-match."
		 "kibana-es-archive.json", shared_dir());
	if (access(path, R_OK) != 0) {
		print_message("skipped: %s is absent (set FD_SHARED_DIR)\n",
			      path);
		skip();
	}
	fix = read_json(path);
	src = cJSON_GetObjectItem(cJSON_GetObjectItem(fix, "value"),
				  "source");
	assert_non_null(src);
	load_rule(&set, SEED_RULE(""));
	a = build(set.rules[0], EVENT(T0, TI, "macos", "defaults",
				      "[\"defaults\",\"ShadowHashData\"]"),
		  "ev-1");
	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(src,
								     flat[i]);
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(a,
								    flat[i]);

		if (!want || !got)
			fail_msg("'%s': fixture %s, ours %s", flat[i],
				 want ? "has it" : "lacks it",
				 got ? "has it" : "lacks it");
		if ((want->type & 0xff) != (got->type & 0xff))
			fail_msg("'%s': type %d in the fixture, %d in ours",
				 flat[i], want->type & 0xff, got->type & 0xff);
	}
	/* Same depth and ancestor shape as Kibana writes. */
	assert_int_equal(num(a, "kibana.alert.depth"),
			 num(src, "kibana.alert.depth"));
	fa = cJSON_GetArrayItem(cJSON_GetObjectItem(src,
						    "kibana.alert.ancestors"),
				0);
	oa = cJSON_GetArrayItem(cJSON_GetObjectItem(a,
						    "kibana.alert.ancestors"),
				0);
	cJSON_ArrayForEach(kv, fa)
		assert_non_null(cJSON_GetObjectItemCaseSensitive(oa,
								 kv->string));
	assert_int_equal(cJSON_GetArraySize(fa), cJSON_GetArraySize(oa));
	/* Every fixture parameter our seed rule also has is in ours. */
	cJSON_ArrayForEach(kv, cJSON_GetObjectItem(src,
					"kibana.alert.rule.parameters")) {
		if (!strncmp(kv->string, "threat_", 7) ||
		    !strcmp(kv->string, "filters") ||
		    !strcmp(kv->string, "license") ||
		    !strcmp(kv->string, "description"))
			continue;	/* the seed rule does not set them */
		if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(
				a, "kibana.alert.rule.parameters"),
				kv->string))
			fail_msg("parameter '%s' missing", kv->string);
	}
	/* ECS objects nested in both. */
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(src, "host")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(a, "host")));
	assert_null(cJSON_GetObjectItemCaseSensitive(a, "host.name"));
	cJSON_Delete(a);
	cJSON_Delete(fix);
	fd_ruleset_release(&set);
}

static void test_detect__severity_and_risk_mapping(void **state)
{
	struct fd_ruleset set = { 0 };
	cJSON *a;

	(void)state;
	load_rule(&set, SEED_RULE(
		",\"severity_mapping\":[{\"field\":\"user.name\",\"operator\":"
		"\"equals\",\"value\":\"alice\",\"severity\":\"critical\"},"
		"{\"field\":\"user.name\",\"operator\":\"equals\",\"value\":"
		"\"alice\",\"severity\":\"medium\"},{\"field\":\"host.name\","
		"\"operator\":\"equals\",\"value\":\"other\",\"severity\":"
		"\"low\"}],\"risk_score_mapping\":[{\"field\":\"risk\","
		"\"operator\":\"equals\",\"value\":\"\"}]"));
	a = build(set.rules[0],
		  "{\"user\":{\"name\":\"alice\"},\"risk\":91}", "e");
	assert_string_equal(str(a, "kibana.alert.severity"), "critical");
	assert_string_equal(str(a, "kibana.alert.rule.severity"), "high");
	assert_int_equal(num(a, "kibana.alert.risk_score"), 91);
	assert_string_equal(str(a, "kibana.alert.reason"),
			    "event by alice created high alert " RULE_NAME
			    ".");
	/* The event had no event object: the alert gets one. */
	assert_string_equal(fd_field_string(a, "event.kind"), "signal");
	assert_null(cJSON_GetObjectItem(a, "kibana.alert.original_time"));
	cJSON_Delete(a);
	a = build(set.rules[0], "{\"user\":{\"name\":\"bob\"},\"risk\":150}",
		  "e");
	assert_string_equal(str(a, "kibana.alert.severity"), "high");
	assert_int_equal(num(a, "kibana.alert.risk_score"), 73);
	cJSON_Delete(a);
	fd_ruleset_release(&set);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Run the set over events.ndjson into alerts.ndjson; returns the alerts
 * as a JSON array (the caller frees). */
static cJSON *detect(const struct fd_ruleset *set, const char *events,
		     struct fd_rule_run *runs)
{
	FILE *out = fopen(path_of("alerts.ndjson"), "w");
	struct fd_diag d;
	cJSON *list = cJSON_CreateArray();
	char *text, *line, *nl;
	int rc;

	write_file("events.ndjson", events);
	assert_non_null(out);
	rc = fd_detect_file(set, path_of("events.ndjson"), out, runs, &d);
	assert_int_equal(fclose(out), 0);
	if (rc)
		fail_msg("detect: %s", d.msg);
	text = read_all(path_of("alerts.ndjson"));
	for (line = text; *line; line = nl + 1) {
		cJSON *a;

		nl = strchr(line, '\n');
		assert_non_null(nl);	/* every alert ends its line */
		*nl = '\0';
		a = cJSON_Parse(line);
		assert_non_null(a);
		cJSON_AddItemToArray(list, a);
	}
	free(text);
	return list;
}

static void test_detect__seed_kql_over_events(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	cJSON *alerts;

	(void)state;
	load_rule(&set, SEED_RULE(",\"timestamp_override\":"
				  "\"event.ingested\""));
	alerts = detect(&set,
		/* 1: positive */
		EVENT(T1, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"/var/db/dslocal/nodes/Default/users/alice.plist\","
		      "\"ShadowHashData\"]") "\n"
		/* 2: negative: another plist */
		EVENT(T0, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"com.apple.dock\"]") "\n"
		"\n"
		/* 4: positive */
		EVENT(T2, TI, "macos", "mkpassdb", "[\"mkpassdb\","
		      "\"-dump\"]") "\n"
		/* 5-8: negatives the v107 form must not match */
		EVENT(T1, TI, "macos", "mkpassdb", "[\"mkpassdb\","
		      "\"--dump\"]") "\n"
		EVENT(T1, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"x\",\"shadowhashdata\"]") "\n"
		EVENT(T1, TI, "macos", "DEFAULTS", "[\"DEFAULTS\","
		      "\"ShadowHashData\"]") "\n"
		EVENT(T1, TI, "linux", "defaults", "[\"defaults\","
		      "\"ShadowHashData\"]") "\n", &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 2);
	assert_string_equal(fd_field_string(cJSON_GetArrayItem(alerts, 0),
					    "process.name"), "defaults");
	assert_string_equal(fd_field_string(cJSON_GetArrayItem(alerts, 1),
					    "process.name"), "mkpassdb");
	assert_ptr_equal(run.rule, set.rules[0]);
	assert_string_equal(run.status, "succeeded");
	assert_int_equal(run.events_seen, 7);
	assert_int_equal(run.matched, 2);
	assert_int_equal(run.alerts, 2);
	/* The window covers the events' times: @timestamp and the rule's
	 * time field (event.ingested here). */
	assert_true(run.window_from == fd_time_parse(T0));
	assert_true(run.window_to == fd_time_parse(TI));
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

/* The 2025-04 EQL form: like~ is case-insensitive, so the lowercase
 * shadowhashdata that v107's KQL misses is a match here. */
static void test_detect__seed_eql_over_events(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	struct fd_diag d;
	cJSON *alerts;
	int rc;

	(void)state;
	write_file("rule.json",
		"{\"rule_id\":\"eql-1\",\"name\":\"EQL form\",\"type\":"
		"\"eql\",\"language\":\"eql\",\"query\":\"process where "
		"host.os.type == \\\"macos\\\" and event.type in "
		"(\\\"start\\\", \\\"process_started\\\") and\\n "
		"process.name in (\\\"defaults\\\", \\\"mkpassdb\\\") and "
		"process.args like~ (\\\"ShadowHashData\\\", "
		"\\\"-dump\\\")\",\"severity\":\"high\","
		"\"risk_score\":73}");
	rc = fd_ruleset_load_file(&set, path_of("rule.json"), &d);
	if (rc == -FD_ERR_UNSUPPORTED) {
		print_message("skipped: the engine cannot run this EQL yet: "
			      "%s\n", d.msg);
		skip();
	}
	assert_int_equal(rc, 0);
	alerts = detect(&set,
		EVENT(T1, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"x\",\"ShadowHashData\"]") "\n"
		EVENT(T1, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"com.apple.dock\"]") "\n"
		EVENT(T1, TI, "macos", "mkpassdb", "[\"mkpassdb\","
		      "\"-dump\"]") "\n"
		EVENT(T1, TI, "macos", "mkpassdb", "[\"mkpassdb\","
		      "\"--dump\"]") "\n"
		EVENT(T1, TI, "macos", "defaults", "[\"defaults\",\"read\","
		      "\"x\",\"shadowhashdata\"]") "\n"
		EVENT(T1, TI, "macos", "DEFAULTS", "[\"DEFAULTS\","
		      "\"ShadowHashData\"]") "\n"
		EVENT(T1, TI, "linux", "defaults", "[\"defaults\","
		      "\"ShadowHashData\"]") "\n", &run);
	assert_int_equal(run.events_seen, 7);
	assert_int_equal(run.matched, 3);
	assert_int_equal(cJSON_GetArraySize(alerts), 3);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetArrayItem(alerts, 2), "process"),
		"args"), 3)->valuestring, "shadowhashdata");
	assert_string_equal(fd_field_string(cJSON_GetArrayItem(alerts, 2),
					    "kibana.alert.rule.rule_type_id"),
			    "siem.eqlRule");
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

/*
 * A sequence rule: the events need not come in time order; each matched
 * sequence is one alert, built from its last event, with every event of
 * the sequence among its ancestors; max_signals caps sequences.
 */
static void test_detect__sequence_rule_alerts_once_per_sequence(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	struct fd_diag d;
	const cJSON *a, *anc;
	cJSON *alerts;

#define SEQ_EVENT(ts, host, name) "{\"@timestamp\":\"" ts "\",\"event\":" \
	"{\"category\":[\"process\"]},\"host\":{\"name\":\"" host "\"}," \
	"\"process\":{\"name\":\"" name "\"}}\n"
	(void)state;
	write_file("rule.json",
		"{\"rule_id\":\"seq-1\",\"name\":\"Shell then dump\","
		"\"type\":\"eql\",\"language\":\"eql\",\"query\":"
		"\"sequence by host.name with maxspan=5s [process where "
		"process.name == \\\"zsh\\\"] [process where process.name == "
		"\\\"mkpassdb\\\"]\",\"severity\":\"high\","
		"\"risk_score\":73}");
	assert_int_equal(fd_ruleset_load_file(&set, path_of("rule.json"), &d),
			 0);
	alerts = detect(&set,
		SEQ_EVENT("2026-12-03T13:15:03.000Z", "a", "mkpassdb")
		SEQ_EVENT("2026-12-03T13:15:01.000Z", "a", "zsh")
		SEQ_EVENT("2026-12-03T13:15:02.000Z", "b", "zsh")
		SEQ_EVENT("2026-12-03T13:15:09.000Z", "b", "mkpassdb")
		SEQ_EVENT("2026-12-03T13:15:04.000Z", "c", "zsh")
		SEQ_EVENT("2026-12-03T13:15:05.000Z", "c", "mkpassdb"), &run);
#undef SEQ_EVENT
	assert_string_equal(run.status, "succeeded");
	assert_int_equal(run.events_seen, 6);
	assert_int_equal(run.matched, 2);	/* hosts a and c */
	assert_int_equal(cJSON_GetArraySize(alerts), 2);
	a = cJSON_GetArrayItem(alerts, 0);
	assert_string_equal(fd_field_string(a, "host.name"), "a");
	assert_string_equal(fd_field_string(a, "process.name"), "mkpassdb");
	anc = cJSON_GetObjectItem(a, "kibana.alert.ancestors");
	assert_int_equal(cJSON_GetArraySize(anc), 2);
	assert_string_equal(fd_field_string(a, "kibana.alert.original_time"),
			    "2026-12-03T13:15:03.000Z");
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

/* A sequence is ordered by the rule's time field (timestamp_override),
 * as Kibana's EQL search orders it, not by @timestamp. */
static void test_detect__sequence_follows_timestamp_override(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	struct fd_diag d;
	cJSON *alerts;

#define TS_EVENT(at, created, name) "{\"@timestamp\":\"" at "\"," \
	"\"event\":{\"category\":[\"process\"],\"created\":\"" created \
	"\"},\"host\":{\"name\":\"a\"},\"process\":{\"name\":\"" \
	name "\"}}\n"
	(void)state;
	write_file("rule.json",
		"{\"rule_id\":\"seq-2\",\"name\":\"Created order\","
		"\"type\":\"eql\",\"language\":\"eql\",\"query\":"
		"\"sequence by host.name [process where process.name == "
		"\\\"a\\\"] [process where process.name == \\\"b\\\"]\","
		"\"timestamp_override\":\"event.created\","
		"\"severity\":\"low\",\"risk_score\":1}");
	assert_int_equal(fd_ruleset_load_file(&set, path_of("rule.json"), &d),
			 0);
	/* By @timestamp, b comes before a; by event.created, after. */
	alerts = detect(&set,
		TS_EVENT("2026-12-03T13:00:05.000Z", "2026-12-03T13:00:01.000Z",
			 "a")
		TS_EVENT("2026-12-03T13:00:00.000Z", "2026-12-03T13:00:02.000Z",
			 "b"), &run);
#undef TS_EVENT
	assert_int_equal(run.matched, 1);
	assert_int_equal(cJSON_GetArraySize(alerts), 1);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

static void test_detect__max_signals_caps_alerts(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	size_t cap = 200 * 600, used = 0;
	char *events = malloc(cap);
	cJSON *alerts;

	(void)state;
	assert_non_null(events);
	for (int i = 0; i < 160; i++) {
		/* 150 matching events, each distinct; 10 that do not match */
		used += (size_t)snprintf(events + used, cap - used,
			"{\"@timestamp\":\"2026-12-03T13:15:%02d.%03dZ\","
			"\"event\":{\"category\":\"process\",\"type\":"
			"\"start\"},\"host\":{\"os\":{\"type\":\"macos\"}},"
			"\"process\":{\"pid\":%d,\"name\":\"%s\",\"args\":"
			"[\"mkpassdb\",\"-dump\"]}}\n", i % 60, i, 1000 + i,
			i < 150 ? "mkpassdb" : "other");
	}
	load_rule(&set, SEED_RULE(""));
	assert_int_equal(set.rules[0]->max_signals, 100);
	alerts = detect(&set, events, &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 100);
	assert_int_equal(run.matched, 150);
	assert_int_equal(run.alerts, 100);
	assert_int_equal(run.events_seen, 160);
	assert_string_equal(run.status, "succeeded");
	assert_non_null(strstr(run.message, "maximum alert limit"));
	/* The first 100 matches, in order. */
	assert_int_equal((int)num(cJSON_GetObjectItem(cJSON_GetArrayItem(
		alerts, 99), "process"), "pid"), 1099);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);

	load_rule(&set, SEED_RULE(",\"max_signals\":3"));
	alerts = detect(&set, events, &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 3);
	assert_int_equal(run.matched, 150);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
	free(events);
}

static void test_detect__event_ids_and_index(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	const cJSON *anc;
	cJSON *alerts, *again;
	char first[80];
	const char *ev_line = EVENT(T0, TI, "macos", "mkpassdb",
				    "[\"mkpassdb\",\"-dump\"]");
	char events[4096];

	(void)state;
	load_rule(&set, SEED_RULE(""));
	snprintf(events, sizeof(events),
		 /* a search hit: _id and _index are the hit's */
		 "{\"_index\":\".ds-logs-endpoint.events.process-default-1\","
		 "\"_id\":\"swA33H8BbwF-iHfjbGQZ\",\"_source\":%s}\n"
		 /* a bare event in a data stream */
		 "%.*s,\"data_stream\":{\"type\":\"logs\",\"dataset\":"
		 "\"endpoint.events.process\",\"namespace\":\"ci\"}}\n"
		 /* a bare event: the id comes from the line */
		 "%s\n", ev_line, (int)strlen(ev_line) - 1, ev_line, ev_line);
	alerts = detect(&set, events, &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 3);
	anc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		alerts, 0), "kibana.alert.ancestors"), 0);
	assert_string_equal(str(anc, "id"), "swA33H8BbwF-iHfjbGQZ");
	assert_string_equal(str(anc, "index"),
			    ".ds-logs-endpoint.events.process-default-1");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(alerts, 0),
					"_source"));
	assert_string_equal(fd_field_string(cJSON_GetArrayItem(alerts, 0),
					    "process.name"), "mkpassdb");
	anc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		alerts, 1), "kibana.alert.ancestors"), 0);
	assert_string_equal(str(anc, "index"),
			    "logs-endpoint.events.process-ci");
	anc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		alerts, 2), "kibana.alert.ancestors"), 0);
	assert_string_equal(str(anc, "index"),
			    "logs-endpoint.events.process-default");
	assert_true(is_hex(str(anc, "id"), 32));
	snprintf(first, sizeof(first), "%s",
		 str(cJSON_GetArrayItem(alerts, 2), "kibana.alert.uuid"));
	/* Run again: the same ids, so the same alert uuids. */
	again = detect(&set, events, &run);
	assert_string_equal(str(cJSON_GetArrayItem(again, 2),
				"kibana.alert.uuid"), first);
	cJSON_Delete(again);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

static void test_detect__bad_event_line(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	struct fd_diag d;
	char buf[1200];

	(void)state;
	load_rule(&set, SEED_RULE(""));
	write_file("events.ndjson", "{\"a\":1}\n\n{\"a\":\n{\"a\":2}\n");
	assert_int_equal(fd_detect_file(&set, path_of("events.ndjson"), NULL,
					&run, &d), -FD_ERR_SYNTAX);
	assert_int_equal(d.line, 3);
	fd_diag_format(&d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "events.ndjson:3"));
	assert_string_equal(run.status, "failed");

	write_file("events.ndjson", "{\"a\":1}\n[1,2]\n");
	assert_int_equal(fd_detect_file(&set, path_of("events.ndjson"), NULL,
					&run, &d), -FD_ERR_INVALID);
	assert_int_equal(d.line, 2);
	assert_non_null(strstr(d.msg, "JSON object"));

	assert_int_equal(fd_detect_file(&set, "/nonexistent/events.ndjson",
					NULL, &run, &d), -FD_ERR_NOTFOUND);
	assert_string_equal(d.file, "/nonexistent/events.ndjson");
	fd_ruleset_release(&set);
}

static void test_detect__disabled_rule_does_not_run(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	cJSON *alerts;

	(void)state;
	load_rule(&set, SEED_RULE(",\"enabled\":false"));
	alerts = detect(&set, EVENT(T0, TI, "macos", "mkpassdb",
				    "[\"mkpassdb\",\"-dump\"]") "\n", &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 0);
	assert_string_equal(run.status, "disabled");
	assert_int_equal(run.events_seen, 0);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

static void test_detect__no_events(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	cJSON *alerts;

	(void)state;
	load_rule(&set, SEED_RULE(""));
	alerts = detect(&set, "", &run);
	assert_int_equal(cJSON_GetArraySize(alerts), 0);
	assert_string_equal(run.status, "succeeded");
	assert_int_equal(run.events_seen, 0);
	assert_true(run.window_from == 0 && run.window_to == 0);
	cJSON_Delete(alerts);
	fd_ruleset_release(&set);
}

#define T(test) cmocka_unit_test_setup_teardown(test, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_detect__alert_layout),
		T(test_detect__matches_fixture_layout),
		T(test_detect__severity_and_risk_mapping),
		T(test_detect__seed_kql_over_events),
		T(test_detect__seed_eql_over_events),
		T(test_detect__sequence_rule_alerts_once_per_sequence),
		T(test_detect__sequence_follows_timestamp_override),
		T(test_detect__max_signals_caps_alerts),
		T(test_detect__event_ids_and_index),
		T(test_detect__bad_event_line),
		T(test_detect__disabled_rule_does_not_run),
		T(test_detect__no_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
