/*
 * test_scenario.c - core/scenario.c: a full valid file, the defaults, every
 * way a file is refused (with its exact line:column and message), an
 * exception scenario's control, a step's cwd, path and env, and the
 * shipped pack: every file in scenarios/ loads, ids are unique (controls'
 * too), and every rule named exists in rules/.  The seed rule is checked
 * against DESIGN.md.
 *
 * Run from the repository root:
 *   make build/tests/test_scenario && build/tests/test_scenario
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fd_err.h"
#include "scenario.h"

#define SEED_RULE "02ea4563-ec10-4974-b7de-12e65aa4f9b3"
#define SEED_FILE "rules/credential_access_dumping_hashes_bi_cmds.json"
#define V107_QUERY \
	"event.category:process and host.os.type:macos and " \
	"event.type:start and process.name:(defaults or mkpassdb) and " \
	"process.args:(ShadowHashData or \"-dump\")"

/* A small valid scenario, lines 1-7; cases add lines 8 and on. */
#define HEAD "id: t\ntitle: a test\nrules: [r1]\n"	/* lines 1-3 */
#define STEPS "steps:\n  - run: defaults\n"		/* lines 4-5 */
#define EXPECT "expect:\n  - rule: r1\n"		/* lines 6-7 */
#define BASE HEAD STEPS EXPECT

static struct fd_scenario *parse_ok(const char *text)
{
	struct fd_scenario *sc = NULL;
	struct fd_diag d;
	char buf[1100];
	int err = fd_scenario_parse("t.yaml", text, strlen(text), &sc, &d);

	if (err)
		print_error("unexpected: %s\n", fd_diag_format(&d, buf,
							       sizeof(buf)));
	assert_int_equal(err, 0);
	assert_non_null(sc);
	return sc;
}

static void expect_error(const char *text, size_t len, enum fd_err want,
			 int line, int col, const char *msg)
{
	struct fd_scenario *sc = (struct fd_scenario *)&sc;
	struct fd_diag d;
	int err = fd_scenario_parse("t.yaml", text, len, &sc, &d);

	if (err != -(int)want || d.line != line || d.col != col ||
	    strcmp(d.msg, msg) != 0)
		print_error("got %d, %d:%d: %s\n", err, d.line, d.col, d.msg);
	assert_int_equal(err, -(int)want);
	assert_null(sc);
	assert_string_equal(d.file, "t.yaml");
	assert_string_equal(d.msg, msg);
	assert_int_equal(d.line, line);
	assert_int_equal(d.col, col);
}

/* One cmocka case per refusal: name, text, error, line, column, message. */
#define REFUSE(name, text, err, line, col, msg)				\
	static void test_scenario__##name(void **state)			\
	{								\
		(void)state;						\
		expect_error(text, sizeof(text) - 1, err, line, col, msg); \
	}

#define INVALID FD_ERR_INVALID

/* ---- a full valid file ------------------------------------------------ */

static const char full[] =
	"# the example of scenarios/README.md\n"
	"id: dah-defaults-read-shadowhashdata\n"
	"title: defaults reads a user's ShadowHashData\n"
	"technique: T1003.008\n"
	"rules: [" SEED_RULE "]\n"
	"host: {os: macos, os_name: macOS, os_version: \"14.5\", "
	"family: macos, platform: darwin, name: mac-01, arch: arm64}\n"
	"steps:\n"
	"  - run: defaults\n"
	"    args: [read, /var/db/dslocal/nodes/Default/users/alice.plist,"
	" ShadowHashData]\n"
	"    parents: [launchd, zsh]\n"
	"    user: nobody\n"
	"    dwell: 50ms\n"
	"    timeout: 2s\n"
	"    expect_exit: 0\n"
	"exceptions: [fp-list-1]\n"
	"expect:\n"
	"  - rule: " SEED_RULE "\n"
	"    count: 1\n"
	"    severity: high\n"
	"    risk_score: 73\n"
	"    tactic: TA0006\n"
	"    technique: [T1003]\n"
	"    subtechnique: T1003.008\n"
	"    deadline: 15m\n"
	"control:\n"
	"  steps:\n"
	"    - run: defaults\n"
	"      parents: [zsh]\n";

static void test_scenario__full_valid_file(void **state)
{
	struct fd_scenario *sc = parse_ok(full);
	const struct fd_step *st;
	const struct fd_expect *ex;

	(void)state;
	assert_string_equal(sc->path, "t.yaml");
	assert_string_equal(sc->id, "dah-defaults-read-shadowhashdata");
	assert_string_equal(sc->title,
			    "defaults reads a user's ShadowHashData");
	assert_string_equal(sc->technique, "T1003.008");
	assert_int_equal(sc->rules.n, 1);
	assert_string_equal(sc->rules.v[0], SEED_RULE);
	assert_null(sc->rules.v[1]);
	assert_string_equal(sc->host.os_type, "macos");
	assert_string_equal(sc->host.os_name, "macOS");
	assert_string_equal(sc->host.os_version, "14.5");
	assert_string_equal(sc->host.os_family, "macos");
	assert_string_equal(sc->host.os_platform, "darwin");
	assert_string_equal(sc->host.name, "mac-01");
	assert_string_equal(sc->host.arch, "arm64");

	assert_int_equal(sc->nsteps, 1);
	st = &sc->steps[0];
	assert_string_equal(st->run, "defaults");
	assert_int_equal(st->args.n, 3);
	assert_string_equal(st->args.v[0], "read");
	assert_string_equal(st->args.v[1],
			    "/var/db/dslocal/nodes/Default/users/alice.plist");
	assert_string_equal(st->args.v[2], "ShadowHashData");
	assert_null(st->args.v[3]);
	assert_int_equal(st->parents.n, 2);
	assert_string_equal(st->parents.v[0], "launchd");
	assert_string_equal(st->parents.v[1], "zsh");
	assert_string_equal(st->user, "nobody");
	assert_int_equal(st->dwell_ms, 50);
	assert_int_equal(st->timeout_ms, 2000);
	assert_true(st->has_expect_exit);
	assert_int_equal(st->expect_exit, 0);
	assert_int_equal(st->pos.line, 8);
	assert_int_equal(st->pos.col, 5);

	assert_int_equal(sc->exceptions.n, 1);
	assert_string_equal(sc->exceptions.v[0], "fp-list-1");

	assert_int_equal(sc->nexpects, 1);
	ex = &sc->expects[0];
	assert_string_equal(ex->rule_id, SEED_RULE);
	assert_int_equal(ex->count_op, FD_COUNT_EXACT);
	assert_int_equal(ex->count, 1);
	assert_string_equal(ex->severity, "high");
	assert_int_equal(ex->risk_score, 73);
	assert_int_equal(ex->tactics.n, 1);
	assert_string_equal(ex->tactics.v[0], "TA0006");
	assert_int_equal(ex->techniques.n, 1);
	assert_string_equal(ex->techniques.v[0], "T1003");
	assert_int_equal(ex->subtechniques.n, 1);
	assert_string_equal(ex->subtechniques.v[0], "T1003.008");
	assert_int_equal(ex->deadline_ms, 15 * 60 * 1000);
	assert_int_equal(ex->pos.line, 17);
	assert_int_equal(ex->pos.col, 5);

	assert_string_equal(sc->source, full);
	assert_null(sc->control_of);
	assert_non_null(sc->control);
	assert_string_equal(sc->control->id,
			    "dah-defaults-read-shadowhashdata.control");
	fd_scenario_free(sc);
}

static void test_scenario__defaults(void **state)
{
	struct fd_scenario *sc = parse_ok(BASE);

	(void)state;
	assert_null(sc->technique);
	assert_string_equal(sc->host.os_type, "macos");
	assert_string_equal(sc->host.os_name, "macOS");
	assert_string_equal(sc->host.os_version, "14.5");
	assert_string_equal(sc->host.os_family, "macos");
	assert_string_equal(sc->host.os_platform, "darwin");
	assert_null(sc->host.name);
	assert_null(sc->host.arch);
	/* Every list is an array, even an empty one. */
	assert_non_null(sc->exceptions.v);
	assert_int_equal(sc->exceptions.n, 0);
	assert_null(sc->exceptions.v[0]);
	assert_non_null(sc->steps[0].args.v);
	assert_int_equal(sc->steps[0].args.n, 0);
	assert_non_null(sc->steps[0].parents.v);
	assert_null(sc->steps[0].user);
	assert_int_equal(sc->steps[0].dwell_ms, 0);
	assert_int_equal(sc->steps[0].timeout_ms, 10000);
	assert_false(sc->steps[0].has_expect_exit);
	assert_int_equal(sc->expects[0].count_op, FD_COUNT_AT_LEAST);
	assert_int_equal(sc->expects[0].count, 1);
	assert_null(sc->expects[0].severity);
	assert_int_equal(sc->expects[0].risk_score, -1);
	assert_non_null(sc->expects[0].tactics.v);
	assert_non_null(sc->expects[0].techniques.v);
	assert_non_null(sc->expects[0].subtechniques.v);
	assert_int_equal(sc->expects[0].deadline_ms, 0);
	assert_null(sc->control);
	assert_null(sc->control_of);
	assert_null(sc->steps[0].cwd);
	assert_null(sc->steps[0].path);
	assert_non_null(sc->steps[0].env.v);
	assert_int_equal(sc->steps[0].env.n, 0);
	fd_scenario_free(sc);
}

static void check_host(const char *host, const char *os, const char *name,
		       const char *version, const char *family,
		       const char *platform)
{
	char text[512];
	struct fd_scenario *sc;

	snprintf(text, sizeof(text), "%shost: %s\n", BASE, host);
	sc = parse_ok(text);
	assert_string_equal(sc->host.os_type, os);
	assert_string_equal(sc->host.os_name, name);
	assert_string_equal(sc->host.os_version, version);
	assert_string_equal(sc->host.os_family, family);
	assert_string_equal(sc->host.os_platform, platform);
	fd_scenario_free(sc);
}

static void test_scenario__host_profiles(void **state)
{
	(void)state;
	check_host("{os: macos}", "macos", "macOS", "14.5", "macos",
		   "darwin");
	check_host("{os: linux}", "linux", "Debian GNU/Linux", "12",
		   "debian", "debian");
	check_host("{os: windows}", "windows", "Windows", "10.0", "windows",
		   "windows");
	check_host("{os_version: \"13.6\"}", "macos", "macOS", "13.6",
		   "macos", "darwin");
	check_host("{os: linux, os_name: Ubuntu, family: ubuntu, "
		   "platform: ubuntu, os_version: \"22.04\"}", "linux",
		   "Ubuntu", "22.04", "ubuntu", "ubuntu");
}

static void test_scenario__value_forms(void **state)
{
	static const char text[] =
		"{id: t, title: x, rules: [r1, r2],\n"
		" steps: [{run: a, dwell: 150, timeout: 1h},\n"
		"         {run: \"" "0123456789012345678901234567890123456789"
		"012345678901234567890123\", dwell: \"5m\",\n"
		"          expect_exit: 255}],\n"
		" expect: [{rule: r1, count: \">= 2\", risk_score: \"0\",\n"
		"           tactic: [TA0006, TA0005], severity: critical},\n"
		"          {rule: r2, count: 0, deadline: 30s}]}\n";
	struct fd_scenario *sc = parse_ok(text);

	(void)state;
	assert_int_equal(sc->nsteps, 2);
	assert_int_equal(sc->steps[0].dwell_ms, 150);
	assert_int_equal(sc->steps[0].timeout_ms, 3600000);
	assert_int_equal(strlen(sc->steps[1].run), 64);
	assert_int_equal(sc->steps[1].dwell_ms, 300000);
	assert_int_equal(sc->steps[1].expect_exit, 255);
	assert_int_equal(sc->steps[1].pos.line, 3);
	assert_int_equal(sc->steps[1].pos.col, 10);
	assert_int_equal(sc->expects[0].count_op, FD_COUNT_AT_LEAST);
	assert_int_equal(sc->expects[0].count, 2);
	assert_int_equal(sc->expects[0].risk_score, 0);
	assert_int_equal(sc->expects[0].tactics.n, 2);
	assert_string_equal(sc->expects[0].tactics.v[1], "TA0005");
	assert_string_equal(sc->expects[0].severity, "critical");
	assert_int_equal(sc->expects[1].count_op, FD_COUNT_EXACT);
	assert_int_equal(sc->expects[1].count, 0);
	assert_int_equal(sc->expects[1].deadline_ms, 30000);
	fd_scenario_free(sc);
}

/* Quoted strings keep what plain ones would turn into numbers or nulls. */
static void test_scenario__args_are_text(void **state)
{
	struct fd_scenario *sc = parse_ok(HEAD "steps:\n"
		"  - run: x\n"
		"    args: [\"\", \"null\", 007, -1, 'a b', \"--\", \"~\"]\n"
		EXPECT);
	const char *want[] = { "", "null", "007", "-1", "a b", "--", "~" };

	(void)state;
	assert_int_equal(sc->steps[0].args.n, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(sc->steps[0].args.v[i], want[i]);
	fd_scenario_free(sc);
}

static void test_scenario__crlf_lines(void **state)
{
	static const char text[] = "id: t\r\ntitle: x\r\nrules: [r1]\r\n"
		"steps:\r\n  - run: a\r\nexpect:\r\n  - rule: r1\r\n"
		"colour: red\r\n";

	(void)state;
	expect_error(text, sizeof(text) - 1, INVALID, 8, 1,
		     "unknown key 'colour'");
}

/* ---- refusals: YAML itself -------------------------------------------- */

REFUSE(syntax_unclosed_flow, "id: t\ntitle: [a\n", FD_ERR_SYNTAX, 3, 1,
       "did not find expected ',' or ']' (while parsing a flow sequence "
       "started at line 2)")
REFUSE(syntax_bad_indent, "id: t\n  title: x\n", FD_ERR_SYNTAX, 2, 8,
       "mapping values are not allowed in this context")
REFUSE(syntax_tab_indent, "id: t\n\ttitle: x\n", FD_ERR_SYNTAX, 2, 1,
       "found a tab character that violates indentation (while scanning "
       "a plain scalar started at line 1)")
REFUSE(syntax_bad_utf8_trail, "id: t\ntitle: caf\xc3\n", FD_ERR_SYNTAX,
       2, 12, "invalid trailing UTF-8 octet")
REFUSE(syntax_bad_utf8_end, "id: t\ntitle: caf\xc3", FD_ERR_SYNTAX, 2, 11,
       "incomplete UTF-8 octet sequence")
REFUSE(syntax_bad_utf8_lead, "id: t\ntitle: \xff\n", FD_ERR_SYNTAX, 2, 8,
       "invalid leading UTF-8 octet")
REFUSE(empty_file, "", INVALID, 1, 1, "empty file")
REFUSE(empty_file_comments, "# nothing here\n\n", INVALID, 1, 1,
       "empty file")
REFUSE(empty_document, "---\n", INVALID, 1, 1, "empty file")
REFUSE(two_documents, BASE "---\nid: u\n", INVALID, 8, 1,
       "more than one document in the file")
REFUSE(anchor, HEAD STEPS "technique: &t T1003\n" EXPECT, INVALID, 6, 12,
       "anchors are not supported ('t')")
REFUSE(anchor_on_mapping, BASE "host: &h {os: macos}\n", INVALID, 8, 7,
       "anchors are not supported ('h')")
REFUSE(alias, BASE "technique: *t\n", INVALID, 8, 12,
       "aliases are not supported ('t')")
REFUSE(tag, "id: !!str t\n", INVALID, 1, 5,
       "tags are not supported ('tag:yaml.org,2002:str')")
REFUSE(not_a_mapping, "- id: t\n", INVALID, 1, 1,
       "a scenario must be a mapping, not a list")
REFUSE(nesting_too_deep, "id: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
       "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", INVALID, 1, 36,
       "nesting deeper than 32 levels")
REFUSE(complex_key, BASE "? [a]\n: b\n", INVALID, 8, 3,
       "a key must be a string, not a list")

/* ---- refusals: keys --------------------------------------------------- */

REFUSE(unknown_key, BASE "stpes: []\n", INVALID, 8, 1,
       "unknown key 'stpes' (did you mean 'steps'?)")
REFUSE(unknown_key_far, BASE "colour: red\n", INVALID, 8, 1,
       "unknown key 'colour'")
REFUSE(unknown_key_case, BASE "ID: u\n", INVALID, 8, 1,
       "unknown key 'ID' (did you mean 'id'?)")
REFUSE(unknown_key_in_step, HEAD STEPS "    argz: [a]\n" EXPECT, INVALID,
       6, 5, "unknown key 'argz' (did you mean 'args'?)")
REFUSE(unknown_key_in_expect, BASE "    tactics: TA0006\n", INVALID, 8, 5,
       "unknown key 'tactics' (did you mean 'tactic'?)")
REFUSE(unknown_key_in_host, BASE "host: {os: macos, version: \"14\"}\n",
       INVALID, 8, 19, "unknown key 'version'")
REFUSE(unknown_key_long, BASE "0123456789012345678901234567890123456789"
       "0123456789: 1\n", INVALID, 8, 1,
       "unknown key '0123456789012345678901234567890123456789...'")
REFUSE(duplicate_key, BASE "id: u\n", INVALID, 8, 1,
       "duplicate key 'id' (first at line 1)")
REFUSE(duplicate_key_in_step, HEAD STEPS "    run: zsh\n" EXPECT, INVALID,
       6, 5, "duplicate key 'run' (first at line 5)")
REFUSE(missing_key, "id: t\nrules: [r1]\n" STEPS EXPECT, INVALID, 1, 1,
       "missing required key 'title'")
REFUSE(missing_key_after_comment, "# why\n\nid: t\ntitle: x\n" STEPS EXPECT,
       INVALID, 3, 1, "missing required key 'rules'")
REFUSE(missing_steps, HEAD EXPECT, INVALID, 1, 1,
       "missing required key 'steps'")
REFUSE(missing_expect, HEAD STEPS, INVALID, 1, 1,
       "missing required key 'expect'")
REFUSE(missing_run, HEAD "steps:\n  - args: [a]\n" EXPECT, INVALID, 5, 5,
       "missing required key 'run'")
REFUSE(missing_rule, HEAD STEPS "expect:\n  - {count: 1}\n", INVALID, 7, 5,
       "missing required key 'rule'")
REFUSE(no_value, "id: t\ntitle:\nrules: [r1]\n" STEPS EXPECT, INVALID, 2, 1,
       "no value for 'title'")
REFUSE(null_value, BASE "technique: ~\n", INVALID, 8, 1,
       "no value for 'technique'")

/* ---- refusals: types -------------------------------------------------- */

REFUSE(list_for_string, "id: t\ntitle: [a, b]\nrules: [r1]\n" STEPS EXPECT,
       INVALID, 2, 8, "'title' must be a string, not a list")
REFUSE(mapping_for_string, BASE "technique: {id: T1003}\n", INVALID, 8, 12,
       "'technique' must be a string, not a mapping")
REFUSE(string_for_list, "id: t\ntitle: x\nrules: r1\n" STEPS EXPECT,
       INVALID, 3, 8, "'rules' must be a list, not a string")
REFUSE(string_for_mapping, BASE "host: macos\n", INVALID, 8, 7,
       "'host' must be a mapping, not a string")
REFUSE(string_for_steps, HEAD "steps: defaults\n" EXPECT, INVALID, 4, 8,
       "'steps' must be a list, not a string")
REFUSE(step_not_mapping, HEAD "steps:\n  - defaults\n" EXPECT, INVALID,
       5, 5, "each step must be a mapping, not a string")
REFUSE(expect_not_mapping, HEAD STEPS "expect: [r1]\n", INVALID, 6, 10,
       "each expectation must be a mapping, not a string")
REFUSE(list_item_not_string, HEAD STEPS "    args: [a, [b]]\n" EXPECT,
       INVALID, 6, 15, "each item of 'args' must be a string, not a list")
REFUSE(list_item_null, HEAD STEPS "    args: [a, ~]\n" EXPECT, INVALID,
       6, 15, "empty item in 'args'")
REFUSE(list_for_integer, BASE "    risk_score: [73]\n", INVALID, 8, 17,
       "'risk_score' must be an integer, not a list")
REFUSE(mapping_for_duration, BASE "    deadline: {m: 15}\n", INVALID, 8, 15,
       "'deadline' must be a duration, not a mapping")
REFUSE(list_for_count, BASE "    count: [1]\n", INVALID, 8, 12,
       "'count' must be a count, not a list")
REFUSE(mapping_for_tactic, BASE "    tactic: {id: TA0006}\n", INVALID, 8, 13,
       "'tactic' must be a list or a string, not a mapping")
REFUSE(nul_byte, "id: t\ntitle: \"a\\0b\"\nrules: [r1]\n" STEPS EXPECT,
       INVALID, 2, 8, "'title' must not contain a NUL byte")

/* ---- refusals: values ------------------------------------------------- */

REFUSE(bad_id, "id: \"a b\"\ntitle: x\nrules: [r1]\n" STEPS EXPECT,
       INVALID, 1, 5, "bad id 'a b' (expected 1 to 128 of A-Z a-z 0-9 . _ "
       "-, not '.' or '..')")
REFUSE(bad_id_slash, "id: a/b\ntitle: x\nrules: [r1]\n" STEPS EXPECT,
       INVALID, 1, 5, "bad id 'a/b' (expected 1 to 128 of A-Z a-z 0-9 . _ "
       "-, not '.' or '..')")
REFUSE(bad_id_dotdot, "id: ..\ntitle: x\nrules: [r1]\n" STEPS EXPECT,
       INVALID, 1, 5, "bad id '..' (expected 1 to 128 of A-Z a-z 0-9 . _ "
       "-, not '.' or '..')")
REFUSE(empty_id, "id: ''\ntitle: x\nrules: [r1]\n" STEPS EXPECT, INVALID,
       1, 5, "'id' must not be empty")
REFUSE(standin_slash, HEAD "steps:\n  - run: ../bin/sh\n" EXPECT, INVALID,
       5, 10, "bad stand-in name '../bin/sh' (expected a file name of 1 to "
       "64 bytes, without '/', not '.' or '..')")
REFUSE(standin_dot, HEAD "steps:\n  - run: .\n" EXPECT, INVALID, 5, 10,
       "bad stand-in name '.' (expected a file name of 1 to 64 bytes, "
       "without '/', not '.' or '..')")
REFUSE(standin_dotdot, HEAD "steps:\n  - run: '..'\n" EXPECT, INVALID,
       5, 10, "bad stand-in name '..' (expected a file name of 1 to 64 "
       "bytes, without '/', not '.' or '..')")
REFUSE(standin_empty, HEAD "steps:\n  - run: \"\"\n" EXPECT, INVALID, 5, 10,
       "'run' must not be empty")
REFUSE(standin_too_long, HEAD "steps:\n  - run: "
       "01234567890123456789012345678901234567890123456789012345678901234"
       "\n" EXPECT, INVALID, 5, 10,
       "bad stand-in name '0123456789012345678901234567890123456789...' "
       "(expected a file name of 1 to 64 bytes, without '/', not '.' or "
       "'..')")
REFUSE(parent_slash, HEAD STEPS "    parents: [zsh, /bin/sh]\n" EXPECT,
       INVALID, 6, 20, "bad stand-in name '/bin/sh' (expected a file name "
       "of 1 to 64 bytes, without '/', not '.' or '..')")
REFUSE(too_many_parents, HEAD STEPS
       "    parents: [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, b]\n"
       EXPECT, INVALID, 6, 63, "more than 16 parents")
REFUSE(bad_user, HEAD STEPS "    user: \"-x\"\n" EXPECT, INVALID, 6, 11,
       "bad user name '-x' (expected 1 to 32 of A-Z a-z 0-9 . _ -, not "
       "starting with '-')")
REFUSE(bad_count_op, BASE "    count: \"> 1\"\n", INVALID, 8, 12,
       "bad count '> 1' (expected a number or \">= N\")")
REFUSE(bad_count_negative, BASE "    count: -1\n", INVALID, 8, 12,
       "bad count '-1' (expected a number or \">= N\")")
REFUSE(bad_count_word, BASE "    count: \">= some\"\n", INVALID, 8, 12,
       "bad count '>= some' (expected a number or \">= N\")")
REFUSE(bad_count_fraction, BASE "    count: 1.5\n", INVALID, 8, 12,
       "bad count '1.5' (expected a number or \">= N\")")
REFUSE(bad_severity, BASE "    severity: High\n", INVALID, 8, 15,
       "bad severity 'High' (expected low, medium, high or critical)")
REFUSE(risk_score_high, BASE "    risk_score: 101\n", INVALID, 8, 17,
       "bad risk_score '101' (expected an integer from 0 to 100)")
REFUSE(risk_score_negative, BASE "    risk_score: -1\n", INVALID, 8, 17,
       "bad risk_score '-1' (expected an integer from 0 to 100)")
REFUSE(risk_score_word, BASE "    risk_score: high\n", INVALID, 8, 17,
       "bad risk_score 'high' (expected an integer from 0 to 100)")
REFUSE(bad_expect_exit, HEAD STEPS "    expect_exit: 256\n" EXPECT, INVALID,
       6, 18, "bad expect_exit '256' (expected an integer from 0 to 255)")
REFUSE(bad_duration_unit, HEAD STEPS "    dwell: 2x\n" EXPECT, INVALID, 6, 12,
       "bad duration '2x' for 'dwell' (expected e.g. 250ms, 2s, 5m, 1h or "
       "a number of milliseconds, at most 24h)")
REFUSE(bad_duration_fraction, BASE "    deadline: 1.5s\n", INVALID, 8, 15,
       "bad duration '1.5s' for 'deadline' (expected e.g. 250ms, 2s, 5m, "
       "1h or a number of milliseconds, at most 24h)")
REFUSE(bad_duration_too_long, HEAD STEPS "    timeout: 25h\n" EXPECT,
       INVALID, 6, 14, "bad duration '25h' for 'timeout' (expected e.g. "
       "250ms, 2s, 5m, 1h or a number of milliseconds, at most 24h)")
REFUSE(bad_duration_huge, HEAD STEPS "    dwell: 99999999999999999999s\n"
       EXPECT, INVALID, 6, 12, "bad duration '99999999999999999999s' for "
       "'dwell' (expected e.g. 250ms, 2s, 5m, 1h or a number of "
       "milliseconds, at most 24h)")
REFUSE(zero_timeout, HEAD STEPS "    timeout: 0s\n" EXPECT, INVALID, 6, 14,
       "'timeout' must be more than 0")
REFUSE(bad_os, BASE "host: {os: darwin}\n", INVALID, 8, 12,
       "bad os 'darwin' (expected macos, linux or windows)")
REFUSE(bad_tactic, BASE "    tactic: [TA0006, T1003]\n", INVALID, 8, 22,
       "bad tactic id 'T1003' (expected e.g. TA0006)")
REFUSE(bad_technique, BASE "    technique: T1003.008\n", INVALID, 8, 16,
       "bad technique id 'T1003.008' (expected e.g. T1003)")
REFUSE(bad_subtechnique, BASE "    subtechnique: T1003\n", INVALID, 8, 19,
       "bad subtechnique id 'T1003' (expected e.g. T1003.008)")
REFUSE(bad_scenario_technique, BASE "technique: TA0006\n", INVALID, 8, 12,
       "bad technique id 'TA0006' (expected e.g. T1003 or T1003.008)")
REFUSE(empty_rules, "id: t\ntitle: x\nrules: []\n" STEPS EXPECT, INVALID,
       3, 8, "'rules' must not be empty")
REFUSE(empty_steps, HEAD "steps: []\n" EXPECT, INVALID, 4, 8,
       "'steps' must not be empty")
REFUSE(empty_expect, HEAD STEPS "expect: []\n", INVALID, 6, 9,
       "'expect' must not be empty")
REFUSE(rule_listed_twice, "id: t\ntitle: x\nrules: [r1, r1]\n" STEPS EXPECT,
       INVALID, 3, 13, "rule 'r1' is listed twice")
REFUSE(expect_rule_not_in_rules, BASE "  - rule: r2\n    count: 0\n", INVALID,
       8, 11, "rule 'r2' is not in 'rules'")
REFUSE(rule_without_expectation, "id: t\ntitle: x\nrules: [r1, r2]\n"
       STEPS EXPECT, INVALID, 3, 13, "no expectation for rule 'r2'")
REFUSE(second_expectation, BASE "  - rule: r1\n", INVALID, 8, 11,
       "a second expectation for rule 'r1' (first at line 7; add "
       "'version' to tell them apart)")
REFUSE(second_expectation_same_version,
       BASE "    version: 2\n  - rule: r1\n    version: 2\n", INVALID, 9,
       11, "a second expectation for rule 'r1' version 2 (first at line 7)")
REFUSE(version_zero, BASE "    version: 0\n", INVALID, 8, 14,
       "'version' must be 1 or more")
REFUSE(count_at_least_zero, BASE "    count: \">= 0\"\n", INVALID, 8, 12,
       "count '>= 0' always holds: use 0 for a negative, or \">= 1\"")
REFUSE(negative_with_severity, BASE "    count: 0\n    severity: high\n",
       INVALID, 9, 15, "'severity' cannot be checked when 'count' is 0: a "
       "negative expects no alert")

/* One expectation per version, and one for every version not named. */
static void test_scenario__expectations_per_version(void **state)
{
	static const char text[] = BASE "    count: 0\n"
		"  - rule: r1\n    version: 107\n    count: 1\n"
		"  - rule: r1\n    version: 112\n    count: 1\n";
	struct fd_scenario *sc = parse_ok(text);

	(void)state;
	assert_int_equal(sc->nexpects, 3);
	assert_int_equal(sc->expects[0].version, 0);
	assert_int_equal(sc->expects[0].count, 0);
	assert_int_equal(sc->expects[1].version, 107);
	assert_int_equal(sc->expects[2].version, 112);
	assert_int_equal(sc->expects[2].count, 1);
	fd_scenario_free(sc);
}

static void test_scenario__too_many_rules(void **state)
{
	char text[4096] = "id: t\ntitle: x\nrules: [r0";
	size_t used = strlen(text);

	(void)state;
	for (int i = 1; i <= 256; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 ", r%d", i);
	snprintf(text + used, sizeof(text) - used, "]\n" STEPS EXPECT);
	expect_error(text, strlen(text), INVALID, 3,
		     (int)(strstr(text, "r256") - strstr(text, "rules:")) + 1,
		     "more than 256 rules");
}

/* ---- exception scenarios and their control ---------------------------- */

/* BASE with an exception list (line 8): a control must follow. */
#define EXC BASE "exceptions: [l1]\n"
#define CONTROL "control:\n  steps:\n    - run: zsh\n"	/* lines 9-11 */

static void test_scenario__control_shares_and_owns(void **state)
{
	static const char text[] =
		"id: exc\ntitle: jamf reads it\ntechnique: T1003.008\n"
		"rules: [r1, r2]\nhost: {os: macos, name: mdm-mac}\n"
		"exceptions: [l1, l2]\n"
		"steps:\n  - run: defaults\n    parents: [jamf]\n"
		"expect:\n  - rule: r1\n    count: 0\n  - rule: r2\n"
		"    count: 0\n"
		"control:\n  steps:\n    - run: defaults\n"
		"      parents: [zsh]\n    - run: mkpassdb\n";
	struct fd_scenario *sc = parse_ok(text), *ctl;

	(void)state;
	ctl = sc->control;
	assert_non_null(ctl);
	assert_null(sc->control_of);
	assert_string_equal(ctl->id, "exc.control");
	assert_string_equal(ctl->title, "jamf reads it (control)");
	assert_string_equal(ctl->control_of, "exc");
	assert_null(ctl->control);
	assert_string_equal(ctl->path, "t.yaml");
	assert_string_equal(ctl->source, text);
	assert_string_equal(ctl->technique, "T1003.008");
	assert_int_equal(ctl->rules.n, 2);
	assert_string_equal(ctl->rules.v[1], "r2");
	assert_int_equal(ctl->exceptions.n, 2);
	assert_string_equal(ctl->exceptions.v[0], "l1");
	assert_null(ctl->exceptions.v[2]);
	assert_string_equal(ctl->host.os_type, "macos");
	assert_string_equal(ctl->host.os_version, "14.5");
	assert_string_equal(ctl->host.name, "mdm-mac");
	assert_null(ctl->host.arch);
	/* Its own steps... */
	assert_int_equal(ctl->nsteps, 2);
	assert_string_equal(ctl->steps[0].parents.v[0], "zsh");
	assert_string_equal(ctl->steps[1].run, "mkpassdb");
	assert_non_null(ctl->steps[1].parents.v);
	assert_non_null(ctl->steps[1].env.v);
	assert_int_equal(ctl->steps[0].pos.line, 17);
	assert_int_equal(ctl->steps[0].timeout_ms, 10000);
	/* ... and, by default, an alert from every rule. */
	assert_int_equal(ctl->nexpects, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct fd_expect *ex = &ctl->expects[i];

		assert_string_equal(ex->rule_id, ctl->rules.v[i]);
		assert_int_equal(ex->count_op, FD_COUNT_AT_LEAST);
		assert_int_equal(ex->count, 1);
		assert_int_equal(ex->risk_score, -1);
		assert_null(ex->severity);
		assert_non_null(ex->tactics.v);
		assert_int_equal(ex->pos.line, 15);
	}
	/* The scenario keeps its own. */
	assert_int_equal(sc->nsteps, 1);
	assert_string_equal(sc->steps[0].parents.v[0], "jamf");
	assert_int_equal(sc->expects[0].count, 0);
	fd_scenario_free(sc);
}

static void test_scenario__control_expectations(void **state)
{
	struct fd_scenario *sc = parse_ok(EXC CONTROL
		"  expect:\n    - rule: r1\n      count: 2\n"
		"      severity: high\n");
	const struct fd_expect *ex = &sc->control->expects[0];

	(void)state;
	assert_int_equal(sc->control->nexpects, 1);
	assert_int_equal(ex->count_op, FD_COUNT_EXACT);
	assert_int_equal(ex->count, 2);
	assert_string_equal(ex->severity, "high");
	assert_int_equal(ex->pos.line, 13);
	fd_scenario_free(sc);
}

/* When the excepted attribute is the host: the control changes it. */
static void test_scenario__control_host(void **state)
{
	struct fd_scenario *sc = parse_ok(EXC
		"host: {os: linux, name: lab-01, arch: arm64}\n"
		"control:\n  host: {name: ci-07}\n"
		"  steps:\n    - run: zsh\n");
	const struct fd_host *h = &sc->control->host;

	(void)state;
	assert_string_equal(h->name, "ci-07");
	assert_string_equal(h->os_type, "linux");
	assert_string_equal(h->os_name, "Debian GNU/Linux");
	assert_string_equal(h->os_version, "12");
	assert_string_equal(h->arch, "arm64");
	assert_string_equal(sc->host.name, "lab-01");
	fd_scenario_free(sc);
	/* Defaults follow the control's own os. */
	sc = parse_ok(EXC "host: {name: lab-01}\n"
		      "control:\n  host: {os: linux}\n"
		      "  steps:\n    - run: zsh\n");
	h = &sc->control->host;
	assert_string_equal(h->os_type, "linux");
	assert_string_equal(h->os_platform, "debian");
	assert_string_equal(h->name, "lab-01");
	assert_string_equal(sc->host.os_type, "macos");
	fd_scenario_free(sc);
}

/* A pack takes the control out: each is then freed on its own. */
static void test_scenario__take_control(void **state)
{
	struct fd_scenario *sc = parse_ok(EXC CONTROL), *ctl;

	(void)state;
	ctl = fd_scenario_take_control(sc);
	assert_non_null(ctl);
	assert_null(sc->control);
	assert_null(fd_scenario_take_control(sc));
	assert_null(fd_scenario_take_control(NULL));
	fd_scenario_free(sc);
	assert_string_equal(ctl->id, "t.control");
	assert_string_equal(ctl->control_of, "t");
	fd_scenario_free(ctl);
}

REFUSE(exceptions_without_control, EXC, INVALID, 8, 1,
       "an exception scenario needs a control: the same steps without the "
       "excepted attribute, which must still alert (see "
       "scenarios/README.md)")
REFUSE(control_without_exceptions, BASE CONTROL, INVALID, 8, 1,
       "'control' belongs to an exception scenario: add the 'exceptions' it "
       "runs with, or remove 'control'")
REFUSE(control_with_empty_exceptions, BASE "exceptions: []\n" CONTROL,
       INVALID, 9, 1, "'control' belongs to an exception scenario: add the "
       "'exceptions' it runs with, or remove 'control'")
REFUSE(control_count_zero, EXC CONTROL
       "  expect:\n    - rule: r1\n      count: 0\n", INVALID, 14, 14,
       "a control must alert: its 'count' cannot be 0 (it shows the rule "
       "still fires without the excepted attribute)")
REFUSE(control_missing_steps, EXC "control:\n  expect:\n    - rule: r1\n",
       INVALID, 10, 3, "missing required key 'steps'")
REFUSE(control_empty_steps, EXC "control:\n  steps: []\n", INVALID, 10, 10,
       "'steps' must not be empty")
REFUSE(control_unknown_key, EXC "control:\n  step:\n    - run: zsh\n",
       INVALID, 10, 3, "unknown key 'step' (did you mean 'steps'?)")
REFUSE(control_unknown_key_far, EXC CONTROL "  exceptions: [l2]\n",
       INVALID, 12, 3, "unknown key 'exceptions'")
REFUSE(control_unknown_step_key, EXC CONTROL "      argz: [a]\n", INVALID,
       12, 7, "unknown key 'argz' (did you mean 'args'?)")
REFUSE(control_bad_host, EXC "control:\n  host: {os: darwin}\n"
       "  steps:\n    - run: zsh\n", INVALID, 10, 14,
       "bad os 'darwin' (expected macos, linux or windows)")
REFUSE(control_host_not_mapping, EXC "control:\n  host: ci-07\n"
       "  steps:\n    - run: zsh\n", INVALID, 10, 9,
       "'host' must be a mapping, not a string")
REFUSE(control_not_mapping, EXC "control: [zsh]\n", INVALID, 9, 10,
       "'control' must be a mapping, not a list")
REFUSE(control_expect_missing_rule, "id: t\ntitle: x\nrules: [r1, r2]\n"
       STEPS "expect:\n  - rule: r1\n  - rule: r2\n" "exceptions: [l1]\n"
       "control:\n  steps:\n    - run: zsh\n  expect:\n    - rule: r1\n",
       INVALID, 14, 5, "the control has no expectation for rule 'r2' "
       "(leave its 'expect' out to expect an alert from every rule)")
REFUSE(control_expect_rule_not_in_rules, EXC CONTROL
       "  expect:\n    - rule: r9\n", INVALID, 13, 13,
       "rule 'r9' is not in 'rules'")
REFUSE(control_id_too_long, "id: "
       "0123456789012345678901234567890123456789"
       "0123456789012345678901234567890123456789"
       "01234567890123456789012345678901234567890\n"
       "title: x\nrules: [r1]\n" STEPS EXPECT "exceptions: [l1]\n" CONTROL,
       INVALID, 1, 5, "id '0123456789012345678901234567890123456789...' "
       "is too long for an exception scenario: its control's id, the id "
       "and '.control', must be at most 128 characters")

/* 120 characters still leave room for ".control". */
static void test_scenario__control_id_at_most(void **state)
{
	struct fd_scenario *sc = parse_ok("id: "
		"0123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789\n"
		"title: x\nrules: [r1]\n" STEPS EXPECT "exceptions: [l1]\n"
		CONTROL);

	(void)state;
	assert_int_equal(strlen(sc->control->id), 128);
	fd_scenario_free(sc);
}

/* ---- a step's cwd, path and env --------------------------------------- */

static void test_scenario__step_attributes(void **state)
{
	struct fd_scenario *sc = parse_ok(HEAD "steps:\n"
		"  - run: defaults\n"
		"    cwd: Users/alice/work\n"
		"    path: \"Library/Application Support/JAMF\"\n"
		"    env: {CI: \"true\", JOB_ID: 42, EMPTY: \"\", "
		"A_1: 'x=y z'}\n"
		"  - run: zsh\n    cwd: Library\n" EXPECT);
	const struct fd_step *st = &sc->steps[0];

	(void)state;
	assert_string_equal(st->cwd, "Users/alice/work");
	assert_string_equal(st->path, "Library/Application Support/JAMF");
	assert_int_equal(st->env.n, 4);
	assert_string_equal(st->env.v[0], "CI=true");
	assert_string_equal(st->env.v[1], "JOB_ID=42");
	assert_string_equal(st->env.v[2], "EMPTY=");
	assert_string_equal(st->env.v[3], "A_1=x=y z");
	assert_null(st->env.v[4]);
	assert_string_equal(sc->steps[1].cwd, "Library");
	assert_null(sc->steps[1].path);
	fd_scenario_free(sc);
}

/* The limits themselves are allowed. */
static void test_scenario__step_attribute_limits(void **state)
{
	char text[8192], *p = text;
	struct fd_scenario *sc;

	(void)state;
	p += sprintf(p, HEAD STEPS "    cwd: a/b/c/d/e/f/g/h\n    env:\n");
	for (int i = 0; i < 32; i++)
		p += sprintf(p, "      V%02d: %0120d\n", i, 0);
	sprintf(p, EXPECT);
	sc = parse_ok(text);
	assert_int_equal(sc->steps[0].env.n, 32);
	assert_true(fd_subdir_ok(sc->steps[0].cwd));
	fd_scenario_free(sc);
}

#define BAD_FOLDER(v, key) "bad folder '" v "' for '" key "' (expected a " \
	"relative path inside the scenario's folder: 1 to 8 names of " \
	"printable ASCII joined by '/', not '.' or '..', at most 200 bytes)"

REFUSE(cwd_dotdot, HEAD STEPS "    cwd: a/../b\n" EXPECT, INVALID, 6, 10,
       BAD_FOLDER("a/../b", "cwd"))
REFUSE(cwd_absolute, HEAD STEPS "    cwd: /tmp\n" EXPECT, INVALID, 6, 10,
       BAD_FOLDER("/tmp", "cwd"))
REFUSE(cwd_dot, HEAD STEPS "    cwd: .\n" EXPECT, INVALID, 6, 10,
       BAD_FOLDER(".", "cwd"))
REFUSE(cwd_empty, HEAD STEPS "    cwd: ''\n" EXPECT, INVALID, 6, 10,
       "'cwd' must not be empty")
REFUSE(path_trailing_slash, HEAD STEPS "    path: ci-tools/\n" EXPECT,
       INVALID, 6, 11, BAD_FOLDER("ci-tools/", "path"))
REFUSE(path_double_slash, HEAD STEPS "    path: a//b\n" EXPECT, INVALID,
       6, 11, BAD_FOLDER("a//b", "path"))
REFUSE(path_too_deep, HEAD STEPS "    path: a/b/c/d/e/f/g/h/i\n" EXPECT,
       INVALID, 6, 11, BAD_FOLDER("a/b/c/d/e/f/g/h/i", "path"))
REFUSE(path_not_ascii, HEAD STEPS "    path: caf\xc3\xa9\n" EXPECT, INVALID,
       6, 11, BAD_FOLDER("caf\xc3\xa9", "path"))
REFUSE(path_control_char, HEAD STEPS "    path: \"a\\tb\"\n" EXPECT, INVALID,
       6, 11, BAD_FOLDER("a?b", "path"))
REFUSE(path_list, HEAD STEPS "    path: [a]\n" EXPECT, INVALID, 6, 11,
       "'path' must be a string, not a list")
REFUSE(path_is_a_parent, HEAD STEPS "    parents: [zsh]\n    path: zsh\n"
       EXPECT, INVALID, 7, 11, "'path' needs a folder 'zsh' where a "
       "stand-in copy of that name lives; rename one of them")
REFUSE(cwd_is_a_copy, HEAD STEPS "    path: tools\n"
       "  - run: zsh\n    cwd: tools/defaults/x\n" EXPECT, INVALID, 8, 10,
       "'cwd' needs a folder 'tools/defaults' where a stand-in copy of "
       "that name lives; rename one of them")

static void test_scenario__path_too_long(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), HEAD STEPS "    path: %0201d\n" EXPECT,
		 0);
	expect_error(text, strlen(text), INVALID, 6, 11, BAD_FOLDER(
		"0000000000000000000000000000000000000000...", "path"));
}

#define LOADER_VAR "it changes how a program is loaded or run (LD_*, " \
	"DYLD_*, MALLOC_*, GLIBC_TUNABLES, ...), and only the stand-in's " \
	"own code ever runs"
#define MINIMAL_VAR "firedrill's minimal environment sets it (PATH, HOME, " \
	"LANG=C, and so the locale)"

REFUSE(env_list, HEAD STEPS "    env: [CI]\n" EXPECT, INVALID, 6, 10,
       "'env' must be a mapping, not a list")
REFUSE(env_lowercase, HEAD STEPS "    env: {ci: x}\n" EXPECT, INVALID, 6, 11,
       "bad environment variable name 'ci' (expected A-Z, 0-9 and _, not "
       "starting with a digit)")
REFUSE(env_digit_first, HEAD STEPS "    env: {1X: x}\n" EXPECT, INVALID,
       6, 11, "bad environment variable name '1X' (expected A-Z, 0-9 and "
       "_, not starting with a digit)")
REFUSE(env_key_list, HEAD STEPS "    env: {[A]: x}\n" EXPECT, INVALID, 6, 11,
       "an environment variable's name must be a string, not a list")
REFUSE(env_path, HEAD STEPS "    env: {PATH: /opt/bin}\n" EXPECT, INVALID,
       6, 11, "environment variable 'PATH' cannot be set: " MINIMAL_VAR)
REFUSE(env_home, HEAD STEPS "    env: {CI: x, HOME: /root}\n" EXPECT,
       INVALID, 6, 18, "environment variable 'HOME' cannot be set: "
       MINIMAL_VAR)
REFUSE(env_lc_all, HEAD STEPS "    env: {LC_ALL: C.UTF-8}\n" EXPECT, INVALID,
       6, 11, "environment variable 'LC_ALL' cannot be set: " MINIMAL_VAR)
REFUSE(env_ld_preload, HEAD STEPS "    env: {LD_PRELOAD: /x.so}\n" EXPECT,
       INVALID, 6, 11, "environment variable 'LD_PRELOAD' cannot be set: "
       LOADER_VAR)
REFUSE(env_dyld, HEAD STEPS "    env: {DYLD_INSERT_LIBRARIES: /x}\n" EXPECT,
       INVALID, 6, 11, "environment variable 'DYLD_INSERT_LIBRARIES' "
       "cannot be set: " LOADER_VAR)
REFUSE(env_tunables, HEAD STEPS "    env: {GLIBC_TUNABLES: x}\n" EXPECT,
       INVALID, 6, 11, "environment variable 'GLIBC_TUNABLES' cannot be "
       "set: " LOADER_VAR)
REFUSE(env_null_value, HEAD STEPS "    env: {CI: }\n" EXPECT, INVALID, 6, 11,
       "no value for 'CI' (write \"\" for an empty one)")
REFUSE(env_list_value, HEAD STEPS "    env: {CI: [a]}\n" EXPECT, INVALID,
       6, 15, "'CI' must be a string, not a list")
REFUSE(env_control_char, HEAD STEPS "    env: {CI: \"a\\tb\"}\n" EXPECT,
       INVALID, 6, 15, "the value of 'CI' must be printable (no control "
       "characters)")
REFUSE(env_nul, HEAD STEPS "    env: {CI: \"a\\0b\"}\n" EXPECT, INVALID,
       6, 15, "'CI' must not contain a NUL byte")
REFUSE(env_duplicate, HEAD STEPS "    env: {CI: a, CI: b}\n" EXPECT, INVALID,
       6, 18, "duplicate key 'CI' (first at line 6)")

static void test_scenario__env_too_many(void **state)
{
	char text[4096], *p = text;

	(void)state;
	p += sprintf(p, HEAD STEPS "    env:\n");
	for (int i = 0; i < 33; i++)
		p += sprintf(p, "      V%02d: x\n", i);
	sprintf(p, EXPECT);
	expect_error(text, strlen(text), INVALID, 7 + 32, 7,
		     "more than 32 environment variables");
}

static void test_scenario__env_too_big(void **state)
{
	char text[8192];

	(void)state;
	/* "A=" and "B=" with 2046 bytes each make 4096; "C=x" is over. */
	snprintf(text, sizeof(text), HEAD STEPS "    env:\n      A: %02046d\n"
		 "      B: %02046d\n      C: x\n" EXPECT, 0, 0);
	expect_error(text, strlen(text), INVALID, 9, 7, "environment larger "
		     "than 4096 bytes (all its NAME=value strings together)");
	/* An empty value still counts "C=". */
	snprintf(text, sizeof(text), HEAD STEPS "    env:\n      A: %02046d\n"
		 "      B: %02044d\n      C: \"\"\n" EXPECT, 0, 0);
	fd_scenario_free(parse_ok(text));
}

/* What the emulator asks again, for scenarios built by hand. */
static void test_scenario__env_and_folder_checks(void **state)
{
	(void)state;
	assert_true(fd_env_name_ok("CI_2", 4));
	assert_true(fd_env_name_ok("_X", 2));
	assert_false(fd_env_name_ok("", 0));
	assert_false(fd_env_name_ok("A-B", 3));
	assert_false(fd_env_name_ok("9A", 2));
	assert_false(fd_env_name_ok("A=B", 3));
	assert_null(fd_env_name_refusal("CI", 2));
	assert_null(fd_env_name_refusal("PATHS", 5));
	assert_null(fd_env_name_refusal("LD", 2));
	assert_non_null(fd_env_name_refusal("PATH", 4));
	assert_non_null(fd_env_name_refusal("LANG", 4));
	assert_non_null(fd_env_name_refusal("LD_LIBRARY_PATH", 15));
	assert_non_null(fd_env_name_refusal("DYLD_LIBRARY_PATH", 17));
	assert_non_null(fd_env_name_refusal("MALLOC_CHECK_", 13));
	assert_true(fd_subdir_ok("a"));
	assert_true(fd_subdir_ok("a b/.c/..d"));
	assert_false(fd_subdir_ok(""));
	assert_false(fd_subdir_ok(".."));
	assert_false(fd_subdir_ok("a/.."));
	assert_false(fd_subdir_ok("/a"));
	assert_false(fd_subdir_ok("a/"));
}

/* The message printed for a person: file:line:col: message. */
static void test_scenario__diag_format(void **state)
{
	static const char text[] = BASE "stpes: []\n";
	struct fd_scenario *sc;
	struct fd_diag d;
	char buf[1100];

	(void)state;
	assert_int_equal(fd_scenario_parse("scenarios/x.yaml", text,
					   sizeof(text) - 1, &sc, &d),
			 -FD_ERR_INVALID);
	assert_string_equal(fd_diag_format(&d, buf, sizeof(buf)),
			    "scenarios/x.yaml:8:1: unknown key 'stpes' "
			    "(did you mean 'steps'?)");
}

/* A diag is optional; the text need not end in a NUL. */
static void test_scenario__no_diag_and_unterminated(void **state)
{
	char text[sizeof(BASE) + 8];
	struct fd_scenario *sc;

	(void)state;
	memcpy(text, BASE "id: u", sizeof(BASE) - 1 + 5);
	assert_int_equal(fd_scenario_parse("t", text, sizeof(BASE) - 1 + 5,
					   &sc, NULL), -FD_ERR_INVALID);
	assert_null(sc);
	memset(text, 'x', sizeof(text));
	memcpy(text, BASE, sizeof(BASE) - 1);
	assert_int_equal(fd_scenario_parse("t", text, sizeof(BASE) - 1, &sc,
					   NULL), 0);
	assert_int_equal(strlen(sc->source), sizeof(BASE) - 1);
	fd_scenario_free(sc);
	fd_scenario_free(NULL);
}

static void test_scenario__load_missing_file(void **state)
{
	struct fd_scenario *sc;
	struct fd_diag d;

	(void)state;
	assert_int_equal(fd_scenario_load("tests/no/such/file.yaml", &sc, &d),
			 -FD_ERR_NOTFOUND);
	assert_null(sc);
	assert_string_equal(d.file, "tests/no/such/file.yaml");
	assert_string_equal(d.msg,
			    "cannot read file: No such file or directory");
}

static void test_scenario__load_directory(void **state)
{
	struct fd_scenario *sc;
	struct fd_diag d;

	(void)state;
	assert_int_equal(fd_scenario_load("scenarios", &sc, &d),
			 -FD_ERR_IO);
	assert_null(sc);
	assert_string_equal(d.msg, "cannot read file: Is a directory");
}

static void test_scenario__load_too_large(void **state)
{
	char path[] = "/tmp/fd-test-scenario-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct fd_scenario *sc;
	struct fd_diag d;

	(void)state;
	assert_non_null(f);
	fputs(BASE, f);
	for (int i = 0; i < (1 << 20) / 8; i++)
		fputs("# pad.\n\n", f);	/* 8 bytes */
	fclose(f);
	assert_int_equal(fd_scenario_load(path, &sc, &d), -FD_ERR_INVALID);
	remove(path);
	assert_null(sc);
	assert_string_equal(d.msg, "file larger than 1048576 bytes");
}

static void test_scenario__strv(void **state)
{
	struct fd_strv sv = { 0 };
	char name[16];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(fd_strv_push(&sv, name, strlen(name)), 0);
		assert_null(sv.v[sv.n]);
	}
	assert_int_equal(sv.n, 100);
	assert_string_equal(sv.v[57], "s57");
	assert_true(fd_strv_contains(&sv, "s99"));
	assert_false(fd_strv_contains(&sv, "s100"));
	assert_int_equal(fd_strv_push(&sv, "ab\0c", 4), 0);
	assert_string_equal(sv.v[100], "ab");
	fd_strv_release(&sv);
	assert_null(sv.v);
	assert_int_equal(sv.n, 0);
}

/* ---- the shipped pack and rules --------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static void push(struct fd_strv *sv, const char *s)
{
	assert_int_equal(fd_strv_push(sv, s, strlen(s)), 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every file in dir (and below it when deep) whose name ends in one of the
 * suffixes, sorted.
 */
static void walk(const char *dir, bool deep, const char *const *suffixes,
		 struct fd_strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			if (deep)
				walk(path, deep, suffixes, out);
			continue;
		}
		for (size_t i = 0; suffixes[i]; i++)
			if (has_suffix(e->d_name, suffixes[i]))
				push(out, path);
	}
	closedir(d);
	qsort(out->v, out->n, sizeof(*out->v), by_name);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void add_rule_ids(const cJSON *json, struct fd_strv *ids)
{
	const cJSON *rule;

	if (cJSON_IsArray(json)) {
		cJSON_ArrayForEach(rule, json)
			add_rule_ids(rule, ids);
		return;
	}
	rule = cJSON_GetObjectItemCaseSensitive(json, "rule_id");
	if (cJSON_IsString(rule))
		push(ids, rule->valuestring);
}

/*
 * The rule_ids of the .json (an object or an array) and .ndjson files in
 * rules/: the files the engine loads (it does not look in subfolders).
 */
static void load_rule_ids(struct fd_strv *ids)
{
	static const char *const suffixes[] = { ".json", ".ndjson", NULL };
	struct fd_strv files = { 0 };

	walk("rules", false, suffixes, &files);
	for (size_t i = 0; i < files.n; i++) {
		char *text = slurp(files.v[i]);
		char *line = text, *next;
		bool ndjson = has_suffix(files.v[i], ".ndjson");

		for (; line && *line; line = next) {
			cJSON *json;

			next = ndjson ? strchr(line, '\n') : NULL;
			if (next)
				*next++ = '\0';
			if (!line[strspn(line, " \t\r")])
				continue;
			json = cJSON_Parse(line);
			if (!json)
				print_error("%s: not JSON\n", files.v[i]);
			assert_non_null(json);
			add_rule_ids(json, ids);
			cJSON_Delete(json);
		}
		free(text);
	}
	fd_strv_release(&files);
}

static void load_pack(struct fd_strv *files, struct fd_scenario ***scs)
{
	static const char *const suffixes[] = { ".yaml", ".yml", NULL };

	walk("scenarios", true, suffixes, files);
	assert_true(files->n > 0);
	*scs = calloc(files->n, sizeof(**scs));
	assert_non_null(*scs);
	for (size_t i = 0; i < files->n; i++) {
		struct fd_diag d;
		char buf[1100];
		int err = fd_scenario_load(files->v[i], &(*scs)[i], &d);

		if (err)
			print_error("%s\n", fd_diag_format(&d, buf,
							   sizeof(buf)));
		assert_int_equal(err, 0);
	}
}

static void free_pack(struct fd_strv *files, struct fd_scenario **scs)
{
	for (size_t i = 0; i < files->n; i++)
		fd_scenario_free(scs[i]);
	free(scs);
	fd_strv_release(files);
}

static void test_scenario__pack_loads_with_unique_ids(void **state)
{
	struct fd_strv files = { 0 }, ids = { 0 };
	struct fd_scenario **scs;

	(void)state;
	load_pack(&files, &scs);
	for (size_t i = 0; i < files.n; i++) {
		if (fd_strv_contains(&ids, scs[i]->id))
			print_error("%s: id '%s' is used twice\n",
				    files.v[i], scs[i]->id);
		assert_false(fd_strv_contains(&ids, scs[i]->id));
		push(&ids, scs[i]->id);
		/* A control's id is taken too. */
		if (scs[i]->control) {
			assert_false(fd_strv_contains(&ids,
						      scs[i]->control->id));
			push(&ids, scs[i]->control->id);
		}
		/* Each file says at its top why it exists. */
		assert_true(strncmp(scs[i]->source, "# ", 2) == 0);
	}
	fd_strv_release(&ids);
	free_pack(&files, scs);
}

static void test_scenario__pack_rules_exist(void **state)
{
	struct fd_strv files = { 0 }, rule_ids = { 0 };
	struct fd_scenario **scs;

	(void)state;
	load_rule_ids(&rule_ids);
	assert_true(fd_strv_contains(&rule_ids, SEED_RULE));
	load_pack(&files, &scs);
	for (size_t i = 0; i < files.n; i++) {
		for (size_t j = 0; j < scs[i]->rules.n; j++) {
			const char *id = scs[i]->rules.v[j];

			if (!fd_strv_contains(&rule_ids, id))
				print_error("%s: rule '%s' is not in rules/\n",
					    files.v[i], id);
			assert_true(fd_strv_contains(&rule_ids, id));
		}
	}
	fd_strv_release(&rule_ids);
	free_pack(&files, scs);
}

/*
 * What issues 2 and 3 ask the dumping-account-hashes pack to hold: each
 * command, and what each form of the rule must do with it (v107 KQL, the
 * 2025 EQL form as v109, the 2026 EQL form as v112).
 */
static const int versions[] = { 107, 109, 112 };

static const struct {
	const char *id;
	const char *os;
	const char *run;
	const char *argv;	/* args joined by spaces */
	const char *parent;	/* NULL: none */
	long count[3];		/* per entry of versions[] */
} pack[] = {
	{ "dah-defaults-read-shadowhashdata", "macos", "defaults",
	  "read /var/db/dslocal/nodes/Default/users/alice.plist ShadowHashData", NULL, { 1, 1, 1 } },
	{ "dah-mkpassdb-dump", "macos", "mkpassdb",
	  "-dump", NULL, { 1, 1, 1 } },
	{ "dah-defaults-shadowhashdata-dump", "macos", "defaults",
	  "ShadowHashData -dump", NULL, { 1, 1, 1 } },
	{ "dah-defaults-read-shadowhashdata-under-zsh", "macos", "defaults",
	  "read /var/db/dslocal/nodes/Default/users/alice.plist ShadowHashData", "zsh", { 1, 1, 1 } },
	{ "dah-defaults-read-dock", "macos", "defaults",
	  "read com.apple.dock", NULL, { 0, 0, 0 } },
	{ "dah-mkpassdb-double-dash-dump", "macos", "mkpassdb",
	  "--dump", NULL, { 0, 0, 0 } },
	{ "dah-defaults-read-lowercase-shadowhashdata", "macos", "defaults",
	  "read /var/db/dslocal/nodes/Default/users/alice.plist shadowhashdata", NULL, { 0, 1, 1 } },
	{ "dah-uppercase-defaults-name", "macos", "DEFAULTS",
	  "read /var/db/dslocal/nodes/Default/users/alice.plist ShadowHashData", NULL, { 0, 0, 0 } },
	{ "dah-linux-host", "linux", "defaults",
	  "read /var/db/dslocal/nodes/Default/users/alice.plist ShadowHashData", NULL, { 0, 0, 0 } },
	{ "dah-dscl-read-shadowhashdata", "macos", "dscl",
	  ". -read /Users/alice ShadowHashData", NULL, { 0, 0, 1 } },
	{ "dah-dscl-read-native-shadowhashdata", "macos", "dscl",
	  ". -read /Users/alice dsAttrTypeNative:ShadowHashData", NULL, { 0, 0, 0 } },
	{ "dah-plutil-print-user-plist", "macos", "plutil",
	  "-p /var/db/dslocal/nodes/Default/users/alice.plist", NULL, { 0, 0, 1 } },
	{ "dah-cat-user-plist", "macos", "cat",
	  "/var/db/dslocal/nodes/Default/users/alice.plist", NULL, { 0, 0, 1 } },
	{ "dah-strings-user-plist", "macos", "strings",
	  "/var/db/dslocal/nodes/Default/users/alice.plist", NULL, { 0, 0, 1 } },
	{ "dah-xxd-user-plist", "macos", "xxd",
	  "/var/db/dslocal/nodes/Default/users/alice.plist", NULL, { 0, 0, 1 } },
	{ "dah-head-user-plist", "macos", "head",
	  "-c 4096 /var/db/dslocal/nodes/Default/users/alice.plist", NULL, { 0, 0, 1 } },
	{ "dah-mkpassdb-shadowhashdata", "macos", "mkpassdb",
	  "ShadowHashData", NULL, { 1, 1, 0 } },
	{ "dah-defaults-dump", "macos", "defaults",
	  "-dump", NULL, { 1, 1, 0 } },
	{ "dah-mkpassdb-uppercase-dump", "macos", "mkpassdb",
	  "-DUMP", NULL, { 0, 1, 0 } },
};

/* The expectation that applies to version v: its own, else the default. */
static const struct fd_expect *expect_for(const struct fd_scenario *sc,
					  int v)
{
	const struct fd_expect *dflt = NULL;

	for (size_t i = 0; i < sc->nexpects; i++) {
		if (sc->expects[i].version == v)
			return &sc->expects[i];
		if (sc->expects[i].version == 0)
			dflt = &sc->expects[i];
	}
	return dflt;
}

static void check_pack_expect(const struct fd_scenario *sc, size_t k,
			      size_t f)
{
	const struct fd_expect *ex = expect_for(sc, versions[f]);

	if (!ex)
		print_error("%s: nothing expected of v%d\n", sc->id,
			    versions[f]);
	assert_non_null(ex);
	assert_string_equal(ex->rule_id, SEED_RULE);
	assert_int_equal(ex->count_op, FD_COUNT_EXACT);
	if (ex->count != pack[k].count[f])
		print_error("%s: v%d expects %ld\n", sc->id, versions[f],
			    ex->count);
	assert_int_equal(ex->count, pack[k].count[f]);
	if (pack[k].count[f] == 0)
		return;
	assert_string_equal(ex->severity, "high");
	assert_int_equal(ex->risk_score, 73);
	assert_true(fd_strv_contains(&ex->tactics, "TA0006"));
	assert_true(fd_strv_contains(&ex->techniques, "T1003"));
	/* Only the 2026 form maps the sub-technique. */
	assert_int_equal(fd_strv_contains(&ex->subtechniques, "T1003.008"),
			 versions[f] == 112);
}

static void check_pack_entry(const struct fd_scenario *sc, size_t k)
{
	const struct fd_step *st = &sc->steps[0];
	char argv[512] = "";
	size_t used = 0;

	assert_string_equal(sc->host.os_type, pack[k].os);
	assert_int_equal(sc->nsteps, 1);
	assert_string_equal(st->run, pack[k].run);
	for (size_t i = 0; i < st->args.n; i++)
		used += (size_t)snprintf(argv + used, sizeof(argv) - used,
					 "%s%s", i ? " " : "", st->args.v[i]);
	assert_string_equal(argv, pack[k].argv);
	assert_int_equal(st->parents.n, pack[k].parent ? 1 : 0);
	if (pack[k].parent)
		assert_string_equal(st->parents.v[0], pack[k].parent);
	for (size_t f = 0; f < 3; f++)
		check_pack_expect(sc, k, f);
}

static void test_scenario__pack_covers_the_issue(void **state)
{
	const size_t n = sizeof(pack) / sizeof(pack[0]);
	struct fd_strv files = { 0 };
	struct fd_scenario **scs;

	(void)state;
	load_pack(&files, &scs);
	for (size_t k = 0; k < n; k++) {
		size_t i = 0;

		while (i < files.n && strcmp(scs[i]->id, pack[k].id) != 0)
			i++;
		if (i == files.n)
			print_error("no scenario '%s'\n", pack[k].id);
		assert_true(i < files.n);
		check_pack_entry(scs[i], k);
	}
	free_pack(&files, scs);
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	assert_true(cJSON_IsString(it));
	return it->valuestring;
}

static double json_num(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

static void test_scenario__seed_rule(void **state)
{
	char *text = slurp(SEED_FILE);
	cJSON *rule = cJSON_Parse(text);
	const cJSON *threat, *tech, *list;

	(void)state;
	assert_true(cJSON_IsObject(rule));
	assert_string_equal(json_str(rule, "rule_id"), SEED_RULE);
	assert_string_equal(json_str(rule, "name"),
			    "Dumping Account Hashes via Built-In Commands");
	assert_true(is_uuid(json_str(rule, "id")));
	assert_string_equal(json_str(rule, "type"), "query");
	assert_string_equal(json_str(rule, "language"), "kuery");
	assert_string_equal(json_str(rule, "query"), V107_QUERY);
	assert_string_equal(json_str(rule, "severity"), "high");
	assert_int_equal(json_num(rule, "risk_score"), 73);
	assert_string_equal(json_str(rule, "interval"), "5m");
	assert_string_equal(json_str(rule, "from"), "now-9m");
	assert_string_equal(json_str(rule, "to"), "now");
	assert_int_equal(json_num(rule, "max_signals"), 100);
	assert_int_equal(json_num(rule, "version"), 107);
	assert_string_equal(json_str(rule, "timestamp_override"),
			    "event.ingested");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rule, "enabled")));
	list = cJSON_GetObjectItem(rule, "index");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	assert_string_equal(cJSON_GetArrayItem(list, 0)->valuestring,
			    "logs-endpoint.events.*");
	list = cJSON_GetObjectItem(rule, "exceptions_list");
	assert_true(cJSON_IsArray(list));
	assert_int_equal(cJSON_GetArraySize(list), 0);

	threat = cJSON_GetObjectItem(rule, "threat");
	assert_int_equal(cJSON_GetArraySize(threat), 1);
	threat = cJSON_GetArrayItem(threat, 0);
	assert_string_equal(json_str(threat, "framework"), "MITRE ATT&CK");
	tech = cJSON_GetObjectItem(threat, "tactic");
	assert_string_equal(json_str(tech, "id"), "TA0006");
	assert_string_equal(json_str(tech, "name"), "Credential Access");
	tech = cJSON_GetObjectItem(threat, "technique");
	assert_int_equal(cJSON_GetArraySize(tech), 1);
	tech = cJSON_GetArrayItem(tech, 0);
	assert_string_equal(json_str(tech, "id"), "T1003");
	assert_string_equal(json_str(tech, "name"), "OS Credential Dumping");
	assert_non_null(strstr(json_str(tech, "reference"), "T1003"));
	cJSON_Delete(rule);
	free(text);
}

/* The seed query is DESIGN.md's v107 form, character for character. */
static void test_scenario__seed_query_is_design_v107(void **state)
{
	const char *dir = getenv("FD_SHARED_DIR");
	char path[1024], *design, *row, *q, *end;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/DESIGN.md", dir ? dir : "../shared");
	f = fopen(path, "r");
	if (!f) {
		printf("# skip: %s is absent\n", path);
		skip();
	}
	fclose(f);
	design = slurp(path);
	row = strstr(design, "\n| v107");
	assert_non_null(row);
	q = strchr(strchr(row + 1, '|') + 1, '|');	/* the language cell */
	q = strchr(strchr(q + 1, '|'), '`');		/* the query cell */
	assert_non_null(q);
	end = strchr(q + 1, '`');
	assert_non_null(end);
	*end = '\0';
	assert_string_equal(q + 1, V107_QUERY);
	free(design);
}

/* The first example in scenarios/README.md is a valid scenario. */
static void test_scenario__readme_example_loads(void **state)
{
	char *doc = slurp("scenarios/README.md");
	char *start = strstr(doc, "```yaml\n"), *end;
	struct fd_scenario *sc;

	(void)state;
	assert_non_null(start);
	start += strlen("```yaml\n");
	end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	sc = parse_ok(start);
	assert_string_equal(sc->id, "dah-defaults-read-shadowhashdata");
	assert_string_equal(sc->steps[0].parents.v[0], "zsh");
	assert_int_equal(sc->steps[0].dwell_ms, 50);
	fd_scenario_free(sc);
	free(doc);
}

/* The exception scenario that scenarios/README.md shows is valid. */
static void test_scenario__readme_exception_example_loads(void **state)
{
	char *doc = slurp("scenarios/README.md");
	char *start = strstr(doc, "## Exception scenarios"), *end;
	struct fd_scenario *sc;

	(void)state;
	assert_non_null(start);
	start = strstr(start, "```yaml\n");
	assert_non_null(start);
	start += strlen("```yaml\n");
	end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	sc = parse_ok(start);
	assert_string_equal(sc->id, "dah-exc-mdm-parent");
	assert_string_equal(sc->exceptions.v[0], "firedrill-dah-mdm");
	assert_string_equal(sc->control->id, "dah-exc-mdm-parent.control");
	assert_string_equal(sc->control->steps[0].parents.v[0], "zsh");
	fd_scenario_free(sc);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario__full_valid_file),
		cmocka_unit_test(test_scenario__defaults),
		cmocka_unit_test(test_scenario__host_profiles),
		cmocka_unit_test(test_scenario__value_forms),
		cmocka_unit_test(test_scenario__args_are_text),
		cmocka_unit_test(test_scenario__crlf_lines),
		cmocka_unit_test(test_scenario__syntax_unclosed_flow),
		cmocka_unit_test(test_scenario__syntax_bad_indent),
		cmocka_unit_test(test_scenario__syntax_tab_indent),
		cmocka_unit_test(test_scenario__syntax_bad_utf8_trail),
		cmocka_unit_test(test_scenario__syntax_bad_utf8_end),
		cmocka_unit_test(test_scenario__syntax_bad_utf8_lead),
		cmocka_unit_test(test_scenario__empty_file),
		cmocka_unit_test(test_scenario__empty_file_comments),
		cmocka_unit_test(test_scenario__empty_document),
		cmocka_unit_test(test_scenario__two_documents),
		cmocka_unit_test(test_scenario__anchor),
		cmocka_unit_test(test_scenario__anchor_on_mapping),
		cmocka_unit_test(test_scenario__alias),
		cmocka_unit_test(test_scenario__tag),
		cmocka_unit_test(test_scenario__not_a_mapping),
		cmocka_unit_test(test_scenario__nesting_too_deep),
		cmocka_unit_test(test_scenario__complex_key),
		cmocka_unit_test(test_scenario__unknown_key),
		cmocka_unit_test(test_scenario__unknown_key_far),
		cmocka_unit_test(test_scenario__unknown_key_case),
		cmocka_unit_test(test_scenario__unknown_key_in_step),
		cmocka_unit_test(test_scenario__unknown_key_in_expect),
		cmocka_unit_test(test_scenario__unknown_key_in_host),
		cmocka_unit_test(test_scenario__unknown_key_long),
		cmocka_unit_test(test_scenario__duplicate_key),
		cmocka_unit_test(test_scenario__duplicate_key_in_step),
		cmocka_unit_test(test_scenario__missing_key),
		cmocka_unit_test(test_scenario__missing_key_after_comment),
		cmocka_unit_test(test_scenario__missing_steps),
		cmocka_unit_test(test_scenario__missing_expect),
		cmocka_unit_test(test_scenario__missing_run),
		cmocka_unit_test(test_scenario__missing_rule),
		cmocka_unit_test(test_scenario__no_value),
		cmocka_unit_test(test_scenario__null_value),
		cmocka_unit_test(test_scenario__list_for_string),
		cmocka_unit_test(test_scenario__mapping_for_string),
		cmocka_unit_test(test_scenario__string_for_list),
		cmocka_unit_test(test_scenario__string_for_mapping),
		cmocka_unit_test(test_scenario__string_for_steps),
		cmocka_unit_test(test_scenario__step_not_mapping),
		cmocka_unit_test(test_scenario__expect_not_mapping),
		cmocka_unit_test(test_scenario__list_item_not_string),
		cmocka_unit_test(test_scenario__list_item_null),
		cmocka_unit_test(test_scenario__list_for_integer),
		cmocka_unit_test(test_scenario__mapping_for_duration),
		cmocka_unit_test(test_scenario__list_for_count),
		cmocka_unit_test(test_scenario__mapping_for_tactic),
		cmocka_unit_test(test_scenario__nul_byte),
		cmocka_unit_test(test_scenario__bad_id),
		cmocka_unit_test(test_scenario__bad_id_slash),
		cmocka_unit_test(test_scenario__bad_id_dotdot),
		cmocka_unit_test(test_scenario__empty_id),
		cmocka_unit_test(test_scenario__standin_slash),
		cmocka_unit_test(test_scenario__standin_dot),
		cmocka_unit_test(test_scenario__standin_dotdot),
		cmocka_unit_test(test_scenario__standin_empty),
		cmocka_unit_test(test_scenario__standin_too_long),
		cmocka_unit_test(test_scenario__parent_slash),
		cmocka_unit_test(test_scenario__too_many_parents),
		cmocka_unit_test(test_scenario__bad_user),
		cmocka_unit_test(test_scenario__bad_count_op),
		cmocka_unit_test(test_scenario__bad_count_negative),
		cmocka_unit_test(test_scenario__bad_count_word),
		cmocka_unit_test(test_scenario__bad_count_fraction),
		cmocka_unit_test(test_scenario__bad_severity),
		cmocka_unit_test(test_scenario__risk_score_high),
		cmocka_unit_test(test_scenario__risk_score_negative),
		cmocka_unit_test(test_scenario__risk_score_word),
		cmocka_unit_test(test_scenario__bad_expect_exit),
		cmocka_unit_test(test_scenario__bad_duration_unit),
		cmocka_unit_test(test_scenario__bad_duration_fraction),
		cmocka_unit_test(test_scenario__bad_duration_too_long),
		cmocka_unit_test(test_scenario__bad_duration_huge),
		cmocka_unit_test(test_scenario__zero_timeout),
		cmocka_unit_test(test_scenario__bad_os),
		cmocka_unit_test(test_scenario__bad_tactic),
		cmocka_unit_test(test_scenario__bad_technique),
		cmocka_unit_test(test_scenario__bad_subtechnique),
		cmocka_unit_test(test_scenario__bad_scenario_technique),
		cmocka_unit_test(test_scenario__empty_rules),
		cmocka_unit_test(test_scenario__empty_steps),
		cmocka_unit_test(test_scenario__empty_expect),
		cmocka_unit_test(test_scenario__rule_listed_twice),
		cmocka_unit_test(test_scenario__expect_rule_not_in_rules),
		cmocka_unit_test(test_scenario__rule_without_expectation),
		cmocka_unit_test(test_scenario__second_expectation),
		cmocka_unit_test(test_scenario__second_expectation_same_version),
		cmocka_unit_test(test_scenario__version_zero),
		cmocka_unit_test(test_scenario__negative_with_severity),
		cmocka_unit_test(test_scenario__count_at_least_zero),
		cmocka_unit_test(test_scenario__expectations_per_version),
		cmocka_unit_test(test_scenario__too_many_rules),
		cmocka_unit_test(test_scenario__control_shares_and_owns),
		cmocka_unit_test(test_scenario__control_expectations),
		cmocka_unit_test(test_scenario__control_host),
		cmocka_unit_test(test_scenario__take_control),
		cmocka_unit_test(test_scenario__exceptions_without_control),
		cmocka_unit_test(test_scenario__control_without_exceptions),
		cmocka_unit_test(test_scenario__control_with_empty_exceptions),
		cmocka_unit_test(test_scenario__control_count_zero),
		cmocka_unit_test(test_scenario__control_missing_steps),
		cmocka_unit_test(test_scenario__control_empty_steps),
		cmocka_unit_test(test_scenario__control_unknown_key),
		cmocka_unit_test(test_scenario__control_unknown_key_far),
		cmocka_unit_test(test_scenario__control_unknown_step_key),
		cmocka_unit_test(test_scenario__control_bad_host),
		cmocka_unit_test(test_scenario__control_host_not_mapping),
		cmocka_unit_test(test_scenario__control_not_mapping),
		cmocka_unit_test(test_scenario__control_expect_missing_rule),
		cmocka_unit_test(
			test_scenario__control_expect_rule_not_in_rules),
		cmocka_unit_test(test_scenario__control_id_too_long),
		cmocka_unit_test(test_scenario__control_id_at_most),
		cmocka_unit_test(test_scenario__step_attributes),
		cmocka_unit_test(test_scenario__step_attribute_limits),
		cmocka_unit_test(test_scenario__cwd_dotdot),
		cmocka_unit_test(test_scenario__cwd_absolute),
		cmocka_unit_test(test_scenario__cwd_dot),
		cmocka_unit_test(test_scenario__cwd_empty),
		cmocka_unit_test(test_scenario__path_trailing_slash),
		cmocka_unit_test(test_scenario__path_double_slash),
		cmocka_unit_test(test_scenario__path_too_deep),
		cmocka_unit_test(test_scenario__path_not_ascii),
		cmocka_unit_test(test_scenario__path_control_char),
		cmocka_unit_test(test_scenario__path_list),
		cmocka_unit_test(test_scenario__path_is_a_parent),
		cmocka_unit_test(test_scenario__cwd_is_a_copy),
		cmocka_unit_test(test_scenario__path_too_long),
		cmocka_unit_test(test_scenario__env_list),
		cmocka_unit_test(test_scenario__env_lowercase),
		cmocka_unit_test(test_scenario__env_digit_first),
		cmocka_unit_test(test_scenario__env_key_list),
		cmocka_unit_test(test_scenario__env_path),
		cmocka_unit_test(test_scenario__env_home),
		cmocka_unit_test(test_scenario__env_lc_all),
		cmocka_unit_test(test_scenario__env_ld_preload),
		cmocka_unit_test(test_scenario__env_dyld),
		cmocka_unit_test(test_scenario__env_tunables),
		cmocka_unit_test(test_scenario__env_null_value),
		cmocka_unit_test(test_scenario__env_list_value),
		cmocka_unit_test(test_scenario__env_control_char),
		cmocka_unit_test(test_scenario__env_nul),
		cmocka_unit_test(test_scenario__env_duplicate),
		cmocka_unit_test(test_scenario__env_too_many),
		cmocka_unit_test(test_scenario__env_too_big),
		cmocka_unit_test(test_scenario__env_and_folder_checks),
		cmocka_unit_test(test_scenario__diag_format),
		cmocka_unit_test(test_scenario__no_diag_and_unterminated),
		cmocka_unit_test(test_scenario__load_missing_file),
		cmocka_unit_test(test_scenario__load_directory),
		cmocka_unit_test(test_scenario__load_too_large),
		cmocka_unit_test(test_scenario__strv),
		cmocka_unit_test(test_scenario__pack_loads_with_unique_ids),
		cmocka_unit_test(test_scenario__pack_rules_exist),
		cmocka_unit_test(test_scenario__pack_covers_the_issue),
		cmocka_unit_test(test_scenario__readme_example_loads),
		cmocka_unit_test(
			test_scenario__readme_exception_example_loads),
		cmocka_unit_test(test_scenario__seed_rule),
		cmocka_unit_test(test_scenario__seed_query_is_design_v107),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
