/*
 * test_rule.c - loading Kibana rule JSON: one object, an array, NDJSON as
 * Kibana's export writes it, Kibana's defaults, durations, and every error
 * with its file and line.
 *
 * Each test writes real files under a fresh directory in /tmp.  The seed
 * rule in rules/ and the corpus in ../shared are loaded when present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "shared.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rule.h"

#define SEED_RULE "rules/credential_access_dumping_hashes_bi_cmds.json"
#define SEED_QUERY "event.category:process and host.os.type:macos and " \
	"event.type:start and process.name:(defaults or mkpassdb) and " \
	"process.args:(ShadowHashData or \\\"-dump\\\")"

/* A rule as one NDJSON line; extra is spliced in before the closing brace. */
#define RULE_LINE(id, name, extra) \
	"{\"rule_id\":\"" id "\",\"name\":\"" name "\",\"type\":\"query\"," \
	"\"language\":\"kuery\",\"query\":\"" SEED_QUERY "\"," \
	"\"severity\":\"high\",\"risk_score\":73" extra "}"

static char tmpdir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fd-test-rule-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	(void)state;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	return rmdir(tmpdir);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Load text as a file called name; returns the fd_err result. */
static int load_text(struct fd_ruleset *set, const char *name,
		     const char *text, struct fd_diag *d)
{
	return fd_ruleset_load_file(set, write_file(name, text), d);
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void test_rule__duration(void **state)
{
	(void)state;
	assert_int_equal(fd_rule_parse_duration("5m"), 300);
	assert_int_equal(fd_rule_parse_duration("30s"), 30);
	assert_int_equal(fd_rule_parse_duration("1h"), 3600);
	assert_int_equal(fd_rule_parse_duration("2d"), 172800);
	assert_int_equal(fd_rule_parse_duration("now-9m"), 540);
	assert_int_equal(fd_rule_parse_duration("now-36000s"), 36000);
	assert_int_equal(fd_rule_parse_duration("now-4200s"), 4200);
	assert_int_equal(fd_rule_parse_duration("now-9m/m"), 540);
	assert_int_equal(fd_rule_parse_duration("now"), 0);
	assert_int_equal(fd_rule_parse_duration(""), -1);
	assert_int_equal(fd_rule_parse_duration("5"), -1);
	assert_int_equal(fd_rule_parse_duration("m"), -1);
	assert_int_equal(fd_rule_parse_duration("5x"), -1);
	assert_int_equal(fd_rule_parse_duration("5mm"), -1);
	assert_int_equal(fd_rule_parse_duration("now+5m"), -1);
	assert_int_equal(fd_rule_parse_duration("now-"), -1);
	assert_int_equal(fd_rule_parse_duration("-5m"), -1);
	assert_int_equal(fd_rule_parse_duration(" 5m"), -1);
	assert_int_equal(fd_rule_parse_duration(
				 "99999999999999999999999m"), -1);
	assert_int_equal(fd_rule_parse_duration(NULL), -1);
}

static void test_rule__json_object(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	const struct fd_rule *r;

	(void)state;
	assert_int_equal(load_text(&set, "one.json",
		"{\n"
		"  \"id\": \"40bfe2a6-a260-4dc6-96a2-2da5d0319b9d\",\n"
		"  \"rule_id\": \"r-1\",\n"
		"  \"name\": \"One\",\n"
		"  \"type\": \"query\",\n"
		"  \"language\": \"kuery\",\n"
		"  \"query\": \"" SEED_QUERY "\",\n"
		"  \"severity\": \"medium\",\n"
		"  \"risk_score\": 47,\n"
		"  \"interval\": \"1h\",\n"
		"  \"from\": \"now-9m\",\n"
		"  \"max_signals\": 7,\n"
		"  \"enabled\": false,\n"
		"  \"version\": 107,\n"
		"  \"timestamp_override\": \"event.ingested\"\n"
		"}\n", &d), 0);
	assert_int_equal(set.n, 1);
	r = set.rules[0];
	assert_string_equal(r->rule_id, "r-1");
	assert_string_equal(r->id, "40bfe2a6-a260-4dc6-96a2-2da5d0319b9d");
	assert_string_equal(r->name, "One");
	assert_string_equal(r->type, "query");
	assert_int_equal(r->lang, FD_LANG_KQL);
	assert_string_equal(r->severity, "medium");
	assert_int_equal(r->risk_score, 47);
	assert_int_equal(r->interval_s, 3600);
	assert_int_equal(r->lookback_s, 540);
	assert_int_equal(r->max_signals, 7);
	assert_false(r->enabled);
	assert_int_equal(r->version, 107);
	assert_string_equal(r->timestamp_override, "event.ingested");
	assert_non_null(r->compiled);
	assert_non_null(r->json);
	assert_int_equal(r->line, 1);
	assert_has(r->file, "one.json");
	fd_ruleset_release(&set);
	assert_int_equal(set.n, 0);
	assert_null(set.rules);
}

static void test_rule__kibana_defaults(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	const struct fd_rule *r;
	char first_id[64];

	(void)state;
	assert_int_equal(load_text(&set, "min.ndjson",
		"{\"rule_id\":\"r-min\",\"name\":\"Min\",\"query\":\"a:b\","
		"\"severity\":\"low\",\"risk_score\":21}\n", &d), 0);
	r = set.rules[0];
	assert_string_equal(r->type, "query");
	assert_int_equal(r->lang, FD_LANG_KQL);
	assert_int_equal(r->interval_s, 300);
	assert_int_equal(r->lookback_s, 360);
	assert_int_equal(r->max_signals, 100);
	assert_true(r->enabled);
	assert_int_equal(r->version, 1);
	assert_null(r->timestamp_override);
	assert_string_equal(r->description, "");
	/* A made-up id is uuid-shaped and the same every time. */
	assert_int_equal(strlen(r->id), 36);
	assert_int_equal(r->id[8], '-');
	snprintf(first_id, sizeof(first_id), "%s", r->id);
	fd_ruleset_release(&set);
	assert_int_equal(load_text(&set, "min2.json",
		"{\"rule_id\":\"r-min\",\"name\":\"Min\",\"query\":\"a:b\","
		"\"severity\":\"low\",\"risk_score\":21}", &d), 0);
	assert_string_equal(set.rules[0]->id, first_id);
	fd_ruleset_release(&set);
}

static void test_rule__array(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	assert_int_equal(load_text(&set, "arr.json",
		"[\n"
		"  " RULE_LINE("a-1", "First", "") ",\n"
		"\n"
		"  " RULE_LINE("a-2", "Second", ",\"language\":\"kql\"") "\n"
		"]\n", &d), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.rules[0]->rule_id, "a-1");
	assert_int_equal(set.rules[0]->line, 2);
	assert_string_equal(set.rules[1]->rule_id, "a-2");
	assert_int_equal(set.rules[1]->line, 4);
	fd_ruleset_release(&set);

	assert_int_equal(load_text(&set, "bad-arr.json",
		"[\n" RULE_LINE("a-1", "First", "") "\n"
		RULE_LINE("a-2", "Second", "") "\n]\n", &d), -FD_ERR_SYNTAX);
	assert_int_equal(d.line, 3);
	assert_has(d.msg, "expected ','");
	assert_int_equal(set.n, 0);
}

static void test_rule__ndjson_export(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	assert_int_equal(load_text(&set, "export.ndjson",
		RULE_LINE("e-1", "First", "") "\n"
		"\n"
		RULE_LINE("e-2", "Second", ",\"version\":3") "\r\n"
		"{\"list_id\":\"ci-exceptions\",\"type\":\"detection\","
		"\"namespace_type\":\"single\",\"name\":\"CI\"}\n"
		"{\"item_id\":\"i-1\",\"list_id\":\"ci-exceptions\","
		"\"entries\":[]}\n"
		"{\"exported_count\":2,\"exported_rules_count\":2,"
		"\"missing_rules\":[],\"missing_rules_count\":0}\n", &d), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.rules[0]->line, 1);
	assert_int_equal(set.rules[1]->line, 3);
	assert_int_equal(set.rules[1]->version, 3);
	fd_ruleset_release(&set);
}

struct bad_case {
	const char *text;
	int rc;
	int line;
	const char *msg;
};

static void test_rule__errors_name_file_and_line(void **state)
{
	static const struct bad_case cases[] = {
		{ RULE_LINE("ok", "Fine", "") "\n\n"
		  "{\"name\":\"No Id\",\"query\":\"a:b\",\"severity\":\"low\","
		  "\"risk_score\":1}\n", -FD_ERR_INVALID, 3,
		  "rule 'No Id': missing rule_id" },
		{ "{\"rule_id\":\"x\",\"query\":\"a:b\",\"severity\":\"low\","
		  "\"risk_score\":1}\n", -FD_ERR_INVALID, 1,
		  "rule_id 'x': missing name" },
		{ RULE_LINE("ok", "Fine", "") "\n"
		  "{\"rule_id\":\"x\",\"name\":\"Q\",\"severity\":\"low\","
		  "\"risk_score\":1}\n", -FD_ERR_INVALID, 2,
		  "rule 'Q': missing query" },
		{ "\n\n{\"rule_id\":\"x\",\"name\":\"S\",\"query\":\"a:b\","
		  "\"risk_score\":1}\n", -FD_ERR_INVALID, 3,
		  "rule 'S': missing severity" },
		{ "{\"rule_id\":\"x\",\"name\":\"R\",\"query\":\"a:b\","
		  "\"severity\":\"low\"}\n", -FD_ERR_INVALID, 1,
		  "rule 'R': missing risk_score" },
		{ "{\"rule_id\":\"x\",\"name\":\"R\",\"query\":\"a:b\","
		  "\"severity\":\"low\",\"risk_score\":101}\n",
		  -FD_ERR_INVALID, 1, "risk_score must be an integer" },
		{ "{\"rule_id\":\"x\",\"name\":\"V\",\"query\":\"a:b\","
		  "\"severity\":\"severe\",\"risk_score\":1}\n",
		  -FD_ERR_INVALID, 1, "severity must be low, medium" },
		{ "{\"rule_id\":\"x\",\"name\":\"I\",\"query\":\"a:b\","
		  "\"severity\":\"low\",\"risk_score\":1,"
		  "\"interval\":\"5\"}\n", -FD_ERR_INVALID, 1,
		  "rule 'I': interval: expected a duration" },
		{ "{\"rule_id\":\"x\",\"name\":\"F\",\"query\":\"a:b\","
		  "\"severity\":\"low\",\"risk_score\":1,"
		  "\"from\":\"yesterday\"}",
		  -FD_ERR_INVALID, 1, "rule 'F': from: expected date math" },
		{ "{\"rule_id\":\"x\",\"name\":\"M\",\"query\":\"a:b\","
		  "\"severity\":\"low\",\"risk_score\":1,\"max_signals\":0}",
		  -FD_ERR_INVALID, 1, "max_signals must be an integer" },
		{ RULE_LINE("ok", "Fine", "") "\n"
		  "{\"rule_id\":\"x\",\"name\":\"Broken\"\n",
		  -FD_ERR_SYNTAX, 2, "not valid JSON" },
		{ "[1]", -FD_ERR_INVALID, 1, "expected a rule object" },
		{ "{\"rule_id\":\"x\",\"name\":\"T\",\"type\":\"magic\","
		  "\"query\":\"a:b\",\"severity\":\"low\",\"risk_score\":1}",
		  -FD_ERR_INVALID, 1, "rule 'T': unknown rule type 'magic'" },
		{ "{\"rule_id\":\"x\",\"name\":\"L\",\"language\":\"lucene\","
		  "\"query\":\"a:b\",\"severity\":\"low\",\"risk_score\":1}",
		  -FD_ERR_UNSUPPORTED, 1,
		  "rule 'L': language 'lucene' is not supported" },
	};
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		int rc;

		snprintf(name, sizeof(name), "bad-%zu.ndjson", i);
		rc = load_text(&set, name, cases[i].text, &d);
		if (rc != cases[i].rc || d.line != cases[i].line)
			fail_msg("case %zu: rc %d line %d (%s), want rc %d "
				 "line %d", i, rc, d.line, d.msg, cases[i].rc,
				 cases[i].line);
		assert_has(d.msg, cases[i].msg);
		assert_has(d.file, name);
		assert_int_equal(set.n, 0);	/* nothing half-loaded */
	}
}

static void test_rule__query_error_has_column(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	char buf[1200];
	int rc;

	(void)state;
	rc = load_text(&set, "q.ndjson",
		RULE_LINE("ok", "Fine", "") "\n\n"
		"{\"rule_id\":\"x\",\"name\":\"Bad Query\",\"query\":"
		"\"process.name:(defaults or\",\"severity\":\"low\","
		"\"risk_score\":1}\n", &d);
	assert_int_equal(rc, -FD_ERR_SYNTAX);
	assert_int_equal(d.line, 3);
	assert_int_equal(d.col, 0);
	assert_has(d.msg, "rule 'Bad Query': query: column ");
	fd_diag_format(&d, buf, sizeof(buf));
	assert_has(buf, "q.ndjson:3: rule 'Bad Query': query: column ");
	assert_int_equal(set.n, 0);
}

static void test_rule__unsupported_types_say_so(void **state)
{
	static const char *const types[] = { "machine_learning", "esql",
					      "threshold", "new_terms",
					      "threat_match" };
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char text[400];

		snprintf(text, sizeof(text), "{\"rule_id\":\"u\",\"name\":"
			 "\"Odd %s\",\"type\":\"%s\",\"severity\":\"low\","
			 "\"risk_score\":1}\n", types[i], types[i]);
		assert_int_equal(load_text(&set, "u.json", text, &d),
				 -FD_ERR_UNSUPPORTED);
		assert_has(d.msg, "rule 'Odd ");
		assert_has(d.msg, types[i]);
		assert_has(d.msg, "not supported");
		assert_int_equal(d.line, 1);
	}
	assert_int_equal(load_text(&set, "sq.json",
		"{\"rule_id\":\"s\",\"name\":\"Saved\","
		"\"type\":\"saved_query\",\"saved_id\":\"q1\","
		"\"severity\":\"low\",\"risk_score\":1}",
		&d), -FD_ERR_UNSUPPORTED);
	assert_has(d.msg, "rule 'Saved': saved query rules");
	assert_int_equal(set.n, 0);
}

/* An EQL sequence matches groups of events, which the detector does not
 * run: it is refused as unsupported, never as a syntax error, and never
 * loaded as a rule that could not alert.  A single-event EQL rule loads
 * (or, while EQL cannot run it, is refused as unsupported). */
static void test_rule__eql_never_a_syntax_error(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	int rc;

	(void)state;
	rc = load_text(&set, "eql.ndjson",
		"{\"rule_id\":\"q\",\"name\":\"Seq\",\"type\":\"eql\","
		"\"language\":\"eql\",\"query\":\"sequence by "
		"process.entity_id [process where process.name == \\\"a\\\"] "
		"[process where process.name == \\\"b\\\"]\","
		"\"severity\":\"low\",\"risk_score\":1}\n", &d);
	/* A sequence rule loads: the detector runs it through a stream. */
	assert_int_equal(rc, 0);
	assert_int_equal(set.n, 1);
	assert_true(fd_query_is_sequence(set.rules[0]->compiled));
	fd_ruleset_release(&set);

	rc = load_text(&set, "eql1.ndjson",
		"{\"rule_id\":\"e\",\"name\":\"One\",\"type\":\"eql\","
		"\"query\":\"process where process.name == \\\"a\\\"\","
		"\"severity\":\"low\",\"risk_score\":1}\n", &d);
	if (rc == 0) {
		assert_int_equal(set.rules[0]->lang, FD_LANG_EQL);
		assert_non_null(set.rules[0]->compiled);
	} else {
		assert_int_equal(rc, -FD_ERR_UNSUPPORTED);
	}
	fd_ruleset_release(&set);
}

static void test_rule__failed_load_keeps_set(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	assert_int_equal(load_text(&set, "good.json",
				   RULE_LINE("g", "Good", ""), &d), 0);
	assert_int_equal(load_text(&set, "half.ndjson",
		RULE_LINE("h1", "H1", "") "\n" RULE_LINE("h2", "H2", "") "\n"
		"{\"rule_id\":\"h3\"}\n", &d), -FD_ERR_INVALID);
	assert_int_equal(d.line, 3);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.rules[0]->rule_id, "g");
	assert_int_equal(fd_ruleset_load_file(&set, "/nonexistent/r.json",
					      &d), -FD_ERR_NOTFOUND);
	assert_string_equal(d.file, "/nonexistent/r.json");
	fd_ruleset_release(&set);
}

static void test_rule__load_dir_sorted(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;

	(void)state;
	write_file("b.ndjson", RULE_LINE("b", "B", "") "\n");
	write_file("a.json", RULE_LINE("a", "A", ""));
	write_file("c.txt", "not rules");
	write_file(".hidden.json", "not rules either");
	assert_int_equal(fd_ruleset_load_dir(&set, tmpdir, &d), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.rules[0]->rule_id, "a");
	assert_string_equal(set.rules[1]->rule_id, "b");
	fd_ruleset_release(&set);

	write_file("d.json", "{\"rule_id\":\"d\"}");
	assert_int_equal(fd_ruleset_load_dir(&set, tmpdir, &d),
			 -FD_ERR_INVALID);
	assert_has(d.file, "d.json");
	assert_int_equal(set.n, 0);
	assert_int_equal(fd_ruleset_load_dir(&set, "/nonexistent-dir", &d),
			 -FD_ERR_NOTFOUND);
}

static void test_rule__find_highest_version(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	const struct fd_rule *r;

	(void)state;
	assert_int_equal(load_text(&set, "v.ndjson",
		RULE_LINE("v", "Old", ",\"version\":2") "\n"
		RULE_LINE("v", "New", ",\"version\":9") "\n"
		RULE_LINE("v", "Mid", ",\"version\":5") "\n", &d), 0);
	r = fd_ruleset_find(&set, "v");
	assert_non_null(r);
	assert_string_equal(r->name, "New");
	assert_null(fd_ruleset_find(&set, "w"));
	fd_ruleset_release(&set);
}

static void test_rule__seed_rule(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	const struct fd_rule *r;

	(void)state;
	if (access(SEED_RULE, R_OK) != 0) {
		print_message("skipped: %s is not there\n", SEED_RULE);
		skip();
	}
	assert_int_equal(fd_ruleset_load_file(&set, SEED_RULE, &d), 0);
	r = fd_ruleset_find(&set, "02ea4563-ec10-4974-b7de-12e65aa4f9b3");
	assert_non_null(r);
	assert_string_equal(r->name,
			    "Dumping Account Hashes via Built-In Commands");
	assert_int_equal(r->lang, FD_LANG_KQL);
	assert_int_equal(r->interval_s, 300);
	assert_int_equal(r->lookback_s, 540);
	assert_int_equal(r->max_signals, 100);
	assert_int_equal(r->risk_score, 73);
	assert_string_equal(r->timestamp_override, "event.ingested");
	assert_non_null(r->compiled);
	fd_ruleset_release(&set);
}

/* Every rule of Elastic's macOS corpus: query rules load, EQL rules load
 * or are refused as unsupported, other types are refused as unsupported.
 * Each row is loaded as a one-rule NDJSON file.  Returns the number of
 * rows that broke that promise; the first is described in why. */
static int load_corpus(const char *path, size_t *counts, char *why,
		       size_t len)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, bad = 0;

	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct fd_ruleset set = { 0 };
		struct fd_diag d;
		char want[32] = "";
		const char *t;
		bool ok;
		int rc;

		lineno++;
		rc = load_text(&set, "corpus.ndjson", line, &d);
		fd_ruleset_release(&set);
		t = strstr(line, "\"type\": \"");
		if (t)
			sscanf(t + 9, "%31[a-z_]", want);
		if (!strcmp(want, "query"))
			ok = rc == 0;
		else if (!strcmp(want, "eql"))
			ok = rc == 0 || rc == -FD_ERR_UNSUPPORTED;
		else
			ok = rc == -FD_ERR_UNSUPPORTED;
		counts[rc == 0 ? 0 : 1]++;
		if (!ok && !bad++)
			snprintf(why, len, "%s:%d: %s rule: %s (%s)", path,
				 lineno, want, rc ? d.msg : "loaded",
				 fd_strerror(-rc));
	}
	free(line);
	fclose(f);
	return bad;
}

static void test_rule__corpus(void **state)
{
	static const char *const files[] = { "macos-rules-HEAD.jsonl",
					     "macos-rules-2025-04.jsonl" };
	size_t counts[2] = { 0, 0 };
	char path[1024], why[2048] = "";
	int bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/corpus/%s", shared_dir(), files[0]);
	if (access(path, R_OK) != 0) {
		print_message("skipped: %s is absent (set FD_SHARED_DIR)\n",
			      path);
		skip();
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/corpus/%s", shared_dir(),
			 files[i]);
		bad += load_corpus(path, counts, why, sizeof(why));
	}
	print_message("corpus: %zu rules loaded, %zu refused\n", counts[0],
		      counts[1]);
	if (bad)
		fail_msg("%d corpus rules broke the promise; first: %s", bad,
			 why);
	assert_true(counts[0] >= 38);	/* at least every query rule */
}

/* exceptions_list: the list_id of each entry, in order, once each. */
static void test_rule__exceptions_list(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag d;
	const struct fd_rule *r;

#define REF(id, type) "{\"id\":\"uuid-" id "\",\"list_id\":\"" id \
	"\",\"type\":\"" type "\",\"namespace_type\":\"single\"}"
	(void)state;
	assert_int_equal(load_text(&set, "x.ndjson",
		RULE_LINE("r-1", "One", ",\"exceptions_list\":["
			  REF("allow-mdm", "detection") ","
			  REF("r-1-default", "rule_default") ","
			  REF("allow-mdm", "detection") "]") "\n"
		RULE_LINE("r-2", "Two", ",\"exceptions_list\":[]") "\n"
		RULE_LINE("r-3", "Three", "") "\n"
		"{\"exported_count\":3,\"exported_rules_count\":3,"
		"\"exported_exception_list_count\":0}\n", &d), 0);
#undef REF
	r = fd_ruleset_find(&set, "r-1");
	assert_int_equal(r->exception_lists.n, 2);
	assert_string_equal(r->exception_lists.v[0], "allow-mdm");
	assert_string_equal(r->exception_lists.v[1], "r-1-default");
	assert_null(r->exception_lists.v[2]);
	assert_int_equal(fd_ruleset_find(&set, "r-2")->exception_lists.n, 0);
	assert_int_equal(fd_ruleset_find(&set, "r-3")->exception_lists.n, 0);
	fd_ruleset_release(&set);

	assert_int_equal(load_text(&set, "bad.ndjson",
		RULE_LINE("r-1", "One", "") "\n"
		RULE_LINE("r-2", "Two", ",\"exceptions_list\":[{\"id\":"
			  "\"x\",\"type\":\"detection\"}]") "\n", &d),
		-FD_ERR_INVALID);
	assert_int_equal(d.line, 2);
	assert_has(d.msg, "rule 'Two': exceptions_list[0] needs a list_id");
	assert_int_equal(load_text(&set, "bad.ndjson",
		RULE_LINE("r-1", "One", ",\"exceptions_list\":\"allow\""),
		&d), -FD_ERR_INVALID);
	assert_has(d.msg, "exceptions_list must be an array");
	assert_int_equal(set.n, 0);
	fd_ruleset_release(&set);
}

#define T(test) cmocka_unit_test_setup_teardown(test, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rule__duration),
		T(test_rule__json_object),
		T(test_rule__kibana_defaults),
		T(test_rule__array),
		T(test_rule__ndjson_export),
		T(test_rule__errors_name_file_and_line),
		T(test_rule__query_error_has_column),
		T(test_rule__unsupported_types_say_so),
		T(test_rule__eql_never_a_syntax_error),
		T(test_rule__failed_load_keeps_set),
		T(test_rule__load_dir_sorted),
		T(test_rule__find_highest_version),
		T(test_rule__seed_rule),
		T(test_rule__corpus),
		T(test_rule__exceptions_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
