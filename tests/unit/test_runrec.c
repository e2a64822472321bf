/*
 * test_runrec.c - reading run.jsonl as docs/run-record.md defines it, and
 * the RFC 3339 time helpers.
 *
 * The run records are written by hand here, line by line, into /tmp: a
 * good one (with unknown keys and an unknown record kind, which must be
 * ignored), one with an exception scenario, its control and a step's
 * env, cwd and path, and one broken file per error, each checked for its
 * line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runrec.h"

#define RUN "20261203T131500Z-1a2b3c4d"
#define RULE "02ea4563-ec10-4974-b7de-12e65aa4f9b3"

#define HEADER \
	"{\"record\":\"run\",\"run_id\":\"" RUN "\"," \
	"\"host_name\":\"ci-box\"," \
	"\"os_type\":\"linux\",\"os_version\":\"6.1.0-18-amd64\"," \
	"\"arch\":\"x86_64\",\"start_time\":\"2026-12-03T13:15:00.000000Z\"," \
	"\"firedrill_version\":\"0.1.0\",\"emulator\":{\"pid\":100," \
	"\"ppid\":1,\"name\":\"firedrill\",\"executable\":" \
	"\"/usr/local/bin/firedrill\",\"args\":[\"firedrill\",\"run\"]," \
	"\"user\":\"root\",\"uid\":0},\"standin_dir\":\"/tmp/fd-" RUN "\"," \
	"\"run_user\":\"nobody\",\"dry_run\":false,\"later_key\":{\"x\":1}}\n"

#define YAML \
	"id: pos\\ntitle: positive\\nrules: [" RULE "]\\n" \
	"host: {os: macos, name: mbp-ci}\\nsteps:\\n  - run: defaults\\n" \
	"    args: [read, x, ShadowHashData]\\n    parents: [zsh]\\n" \
	"expect:\\n  - rule: " RULE "\\n    count: 1\\n"

#define SCENARIO(id, yaml) \
	"{\"record\":\"scenario\",\"scenario\":\"" id "\",\"path\":" \
	"\"scenarios/pos.yaml\",\"source\":\"" yaml "\",\"start_time\":" \
	"\"2026-12-03T13:15:00.100000Z\",\"end_time\":" \
	"\"2026-12-03T13:15:00.300000Z\"}\n"

#define ZSH \
	"{\"record\":\"process\",\"scenario\":\"pos\",\"step\":0," \
	"\"depth\":0," \
	"\"target\":false,\"pid\":200,\"ppid\":100,\"executable\":" \
	"\"/tmp/fd-" RUN "/pos/zsh\",\"name\":\"zsh\",\"args\":[\"zsh\"]," \
	"\"working_directory\":\"/tmp/fd-" RUN "/pos\",\"user\":\"nobody\"," \
	"\"uid\":65534,\"gid\":65534,\"start_time\":" \
	"\"2026-12-03T13:15:00.100000Z\",\"end_time\":" \
	"\"2026-12-03T13:15:00.300000Z\",\"exit_code\":0,\"signal\":null," \
	"\"timed_out\":false,\"sha256\":\"" \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}\n"

#define DEFAULTS(extra) \
	"{\"record\":\"process\",\"scenario\":\"pos\",\"step\":0," \
	"\"depth\":1," \
	"\"target\":true,\"pid\":201,\"ppid\":200,\"executable\":" \
	"\"/tmp/fd-" RUN "/pos/defaults\",\"name\":\"defaults\",\"args\":" \
	"[\"defaults\",\"read\",\"x\",\"ShadowHashData\"]," \
	"\"user\":\"nobody\"," \
	"\"uid\":65534,\"start_time\":\"2026-12-03T13:15:00.150000Z\"," \
	"\"end_time\":\"2026-12-03T13:15:00.250000Z\",\"exit_code\":null," \
	"\"signal\":9,\"timed_out\":true" extra "}\n"

/* An exception scenario: jamf is excepted, its control runs zsh. */
#define EXC_YAML \
	"id: exc\\ntitle: jamf reads it\\nrules: [" RULE "]\\n" \
	"exceptions: [mdm]\\nsteps:\\n  - run: defaults\\n" \
	"    parents: [jamf]\\n    cwd: work\\n    path: ci-tools\\n" \
	"    env: {CI: 'true'}\\n" \
	"expect:\\n  - rule: " RULE "\\n    count: 0\\n" \
	"control:\\n  steps:\\n    - run: defaults\\n" \
	"      parents: [zsh]\\n"

#define EXC_SCENARIO(id, extra) \
	"{\"record\":\"scenario\",\"scenario\":\"" id "\",\"path\":" \
	"\"scenarios/exc.yaml\",\"source\":\"" EXC_YAML "\"" extra \
	",\"start_time\":\"2026-12-03T13:15:01.000000Z\"," \
	"\"complete\":true}\n"

#define EXC_PROC(id, pid, ppid, exe, cwd, env) \
	"{\"record\":\"process\",\"scenario\":\"" id "\",\"step\":0," \
	"\"depth\":1,\"target\":true,\"pid\":" #pid ",\"ppid\":" #ppid "," \
	"\"executable\":\"/tmp/fd-" RUN "/" id "/" exe "\",\"name\":" \
	"\"defaults\",\"args\":[\"defaults\"],\"working_directory\":" \
	"\"/tmp/fd-" RUN "/" id cwd "\"" env ",\"user\":\"nobody\"," \
	"\"uid\":65534,\"start_time\":\"2026-12-03T13:15:01.100000Z\"}\n"

static char tmpdir[64];
static char rec_path[128];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fd-test-runrec-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rec_path, sizeof(rec_path), "%s/run.jsonl", tmpdir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	unlink(rec_path);
	return rmdir(tmpdir);
}

static void write_rec(const char *text)
{
	FILE *f = fopen(rec_path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void test_runrec__load(void **state)
{
	struct fd_runrec rr;
	struct fd_diag d;
	const struct fd_runrec_proc *p;
	const struct fd_scenario *sc;
	int rc;

	(void)state;
	write_rec(HEADER SCENARIO("pos", YAML)
		  "{\"record\":\"note\",\"text\":\"from a later version\"}\n"
		  "\n" ZSH DEFAULTS(",\"later\":[1,2]"));
	rc = fd_runrec_load(rec_path, &rr, &d);
	if (rc)
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	assert_string_equal(rr.run_id, RUN);
	assert_string_equal(rr.host_name, "ci-box");
	assert_string_equal(rr.os_type, "linux");
	assert_string_equal(rr.os_version, "6.1.0-18-amd64");
	assert_string_equal(rr.arch, "x86_64");
	assert_string_equal(rr.version, "0.1.0");
	assert_true(rr.start == 1796303700.0);
	assert_int_equal(rr.emulator_pid, 100);
	assert_string_equal(rr.emulator_name, "firedrill");
	assert_string_equal(rr.emulator_executable,
			    "/usr/local/bin/firedrill");
	assert_false(rr.dry_run);
	assert_non_null(rr.header);

	assert_int_equal(rr.nscenarios, 1);
	sc = rr.scenarios[0];
	assert_string_equal(sc->id, "pos");
	assert_string_equal(sc->path, "scenarios/pos.yaml");
	assert_string_equal(sc->host.os_type, "macos");
	assert_string_equal(sc->host.name, "mbp-ci");
	assert_int_equal(sc->nexpects, 1);
	assert_string_equal(sc->expects[0].rule_id, RULE);

	assert_int_equal(rr.nprocs, 2);
	p = &rr.procs[0];
	assert_string_equal(p->scenario, "pos");
	assert_int_equal(p->step, 0);
	assert_int_equal(p->depth, 0);
	assert_false(p->target);
	assert_int_equal(p->pid, 200);
	assert_int_equal(p->ppid, 100);
	assert_string_equal(p->name, "zsh");
	assert_string_equal(p->executable, "/tmp/fd-" RUN "/pos/zsh");
	assert_string_equal(p->working_directory, "/tmp/fd-" RUN "/pos");
	assert_string_equal(p->user, "nobody");
	assert_int_equal(p->uid, 65534);
	assert_true(fabs(p->start - 1796303700.1) < 1e-6);
	assert_true(fabs(p->end - 1796303700.3) < 1e-6);
	assert_true(p->has_exit_code);
	assert_int_equal(p->exit_code, 0);
	assert_int_equal(p->signal, 0);
	assert_false(p->timed_out);
	assert_int_equal(strlen(p->sha256), 64);
	assert_int_equal(cJSON_GetArraySize(p->args), 1);

	p = &rr.procs[1];
	assert_true(p->target);
	assert_int_equal(p->depth, 1);
	assert_false(p->has_exit_code);
	assert_int_equal(p->signal, 9);
	assert_true(p->timed_out);
	assert_null(p->working_directory);
	assert_null(p->sha256);
	assert_string_equal(cJSON_GetArrayItem(p->args, 3)->valuestring,
			    "ShadowHashData");

	assert_ptr_equal(fd_runrec_find_pid(&rr, 201), &rr.procs[1]);
	assert_null(fd_runrec_find_pid(&rr, 999));
	fd_runrec_release(&rr);
	assert_null(rr.procs);
	assert_null(rr.header);
}

/* A control comes back from its scenario's source, a scenario alone. */
static void test_runrec__control_and_attributes(void **state)
{
	struct fd_runrec rr;
	struct fd_diag d;
	const struct fd_scenario *sc, *ctl;
	const struct fd_runrec_proc *p;
	int rc;

	(void)state;
	write_rec(HEADER EXC_SCENARIO("exc", "")
		  EXC_PROC("exc", 300, 299, "ci-tools/defaults", "/work",
			   ",\"env\":{\"CI\":\"true\"}")
		  EXC_SCENARIO("exc.control", ",\"control_of\":\"exc\"")
		  EXC_PROC("exc.control", 310, 309, "defaults", "",
			   ",\"env\":{}"));
	rc = fd_runrec_load(rec_path, &rr, &d);
	if (rc)
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	assert_int_equal(rr.nscenarios, 2);
	sc = rr.scenarios[0];
	ctl = rr.scenarios[1];
	assert_string_equal(sc->id, "exc");
	assert_null(sc->control);	/* taken out: each stands alone */
	assert_null(sc->control_of);
	assert_string_equal(sc->exceptions.v[0], "mdm");
	assert_string_equal(sc->steps[0].cwd, "work");
	assert_string_equal(sc->steps[0].path, "ci-tools");
	assert_string_equal(sc->steps[0].env.v[0], "CI=true");
	assert_string_equal(ctl->id, "exc.control");
	assert_string_equal(ctl->control_of, "exc");
	assert_string_equal(ctl->title, "jamf reads it (control)");
	assert_string_equal(ctl->path, "scenarios/exc.yaml");
	assert_string_equal(ctl->exceptions.v[0], "mdm");
	assert_string_equal(ctl->steps[0].parents.v[0], "zsh");
	assert_null(ctl->steps[0].cwd);
	assert_int_equal(ctl->nexpects, 1);
	assert_int_equal(ctl->expects[0].count_op, FD_COUNT_AT_LEAST);
	assert_int_equal(ctl->expects[0].count, 1);
	assert_true(rr.scenario_complete[1]);

	assert_int_equal(rr.nprocs, 2);
	p = &rr.procs[0];
	assert_string_equal(p->executable,
			    "/tmp/fd-" RUN "/exc/ci-tools/defaults");
	assert_string_equal(p->working_directory, "/tmp/fd-" RUN "/exc/work");
	assert_true(cJSON_IsObject(p->env));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
		p->env, "CI")->valuestring, "true");
	p = &rr.procs[1];
	assert_string_equal(p->scenario, "exc.control");
	assert_true(cJSON_IsObject(p->env));
	assert_null(p->env->child);
	fd_runrec_release(&rr);

	/* Older records have no env: it reads as none. */
	write_rec(HEADER SCENARIO("pos", YAML) ZSH);
	assert_int_equal(fd_runrec_load(rec_path, &rr, &d), 0);
	assert_null(rr.procs[0].env);
	fd_runrec_release(&rr);
}

struct bad_case {
	const char *text;
	int rc;
	int line;
	const char *msg;
};

static void test_runrec__errors_name_file_and_line(void **state)
{
	static const struct bad_case cases[] = {
		{ "", -FD_ERR_INVALID, 0, "no run header" },
		{ "\n\n", -FD_ERR_INVALID, 0, "no run header" },
		{ ZSH, -FD_ERR_INVALID, 1, "expected the run header" },
		{ "{\"record\":\"run\"}\n", -FD_ERR_INVALID, 1,
		  "run header: missing 'run_id'" },
		{ "{\"record\":\"run\",\"run_id\":\"a b\",\"host_name\":\"h\","
		  "\"os_type\":\"linux\",\"os_version\":\"6\",\"arch\":\"x\","
		  "\"start_time\":\"2026-12-03T13:15:00Z\","
		  "\"firedrill_version\":\"0.1.0\",\"emulator\":{\"pid\":1,"
		  "\"name\":\"firedrill\"}}\n", -FD_ERR_INVALID, 1,
		  "'run_id' must be 1 to 64 letters, digits and '-'" },
		{ "{\"record\":\"run\",\"run_id\":\"r\",\"host_name\":\"h\","
		  "\"os_type\":\"linux\",\"os_version\":\"6\",\"arch\":\"x\","
		  "\"start_time\":\"yesterday\",\"firedrill_version\":\"0.1\","
		  "\"emulator\":{\"pid\":1,\"name\":\"f\"}}\n",
		  -FD_ERR_INVALID, 1,
		  "run header: 'start_time' is not an RFC 3339 time" },
		{ "{\"record\":\"run\",\"run_id\":\"r\",\"host_name\":\"h\","
		  "\"os_type\":\"linux\",\"os_version\":\"6\",\"arch\":\"x\","
		  "\"start_time\":\"2026-12-03T13:15:00Z\","
		  "\"firedrill_version\":\"0.1\",\"emulator\":{\"name\":"
		  "\"f\"}}\n", -FD_ERR_INVALID, 1,
		  "run header: emulator: missing 'pid'" },
		{ HEADER "{\"record\":\"process\",\n", -FD_ERR_SYNTAX, 2,
		  "not a JSON object" },
		{ HEADER "{\"scenario\":\"pos\"}\n", -FD_ERR_INVALID, 2,
		  "missing 'record'" },
		{ HEADER "\n" HEADER, -FD_ERR_INVALID, 3,
		  "a second run header" },
		{ HEADER SCENARIO("pos", YAML)
		  "{\"record\":\"process\",\"scenario\":\"pos\",\"step\":0,"
		  "\"depth\":0,\"target\":true,\"ppid\":100}\n",
		  -FD_ERR_INVALID, 3, "process record: missing 'pid'" },
		{ HEADER SCENARIO("pos", YAML) ZSH
		  "{\"record\":\"process\",\"scenario\":\"pos\",\"step\":0,"
		  "\"depth\":1,\"target\":true,\"pid\":5,\"ppid\":200,"
		  "\"executable\":\"/x\",\"name\":\"x\",\"args\":\"x\","
		  "\"start_time\":\"2026-12-03T13:15:00Z\"}\n",
		  -FD_ERR_INVALID, 4, "'args' must be a non-empty array" },
		{ HEADER SCENARIO("pos", YAML)
		  "{\"record\":\"process\",\"scenario\":\"pos\","
		  "\"step\":-1}\n",
		  -FD_ERR_INVALID, 3, "'step' must be an integer >= 0" },
		/* a duplicate key: the first one counts */
		{ HEADER SCENARIO("pos", YAML)
		  DEFAULTS(",\"exit_code\":\"0\""), 0, 0, NULL },
		{ HEADER ZSH, -FD_ERR_INVALID, 2,
		  "scenario 'pos' has no scenario record before it" },
		{ HEADER "\n" SCENARIO("pos", "id: pos\\nsteps: [\\n"),
		  -FD_ERR_SYNTAX, 3,
		  "scenario 'pos': source: scenarios/pos.yaml:3:" },
		{ HEADER SCENARIO("other", YAML), -FD_ERR_INVALID, 2,
		  "scenario 'other' does not match the id in its source" },
		{ HEADER SCENARIO("pos", YAML) SCENARIO("pos", YAML),
		  -FD_ERR_INVALID, 3, "scenario 'pos' appears twice" },
		{ HEADER SCENARIO("pos", YAML)
		  "{\"record\":\"process\",\"scenario\":\"pos\",\"step\":0,"
		  "\"depth\":0,\"target\":\"yes\"}\n", -FD_ERR_INVALID, 3,
		  "'target' must be true or false" },
		{ HEADER EXC_SCENARIO("exc.ctrl", ""), -FD_ERR_INVALID, 2,
		  "scenario 'exc.ctrl' does not match the id in its source "
		  "(nor its control's)" },
		{ HEADER EXC_SCENARIO("exc.control",
				      ",\"control_of\":\"other\""),
		  -FD_ERR_INVALID, 2, "scenario 'exc.control' is not the "
		  "control of 'other' that 'control_of' names" },
		{ HEADER EXC_SCENARIO("exc", ",\"control_of\":\"exc\""),
		  -FD_ERR_INVALID, 2, "scenario 'exc' is not the control of "
		  "'exc'" },
		{ HEADER SCENARIO("pos", YAML) DEFAULTS(",\"env\":[\"CI=1\"]"),
		  -FD_ERR_INVALID, 3, "process record: 'env' must be an "
		  "object" },
		{ HEADER SCENARIO("pos", YAML) DEFAULTS(",\"env\":{\"CI\":1}"),
		  -FD_ERR_INVALID, 3, "'env' must map names to strings" },
	};
	struct fd_runrec rr;
	struct fd_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		write_rec(cases[i].text);
		rc = fd_runrec_load(rec_path, &rr, &d);
		if (rc != cases[i].rc ||
		    (cases[i].rc && d.line != cases[i].line))
			fail_msg("case %zu: rc %d line %d (%s), want rc %d "
				 "line %d", i, rc, d.line, d.msg, cases[i].rc,
				 cases[i].line);
		if (rc == 0) {
			fd_runrec_release(&rr);
			continue;
		}
		if (!strstr(d.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, d.msg,
				 cases[i].msg);
		assert_string_equal(d.file, rec_path);
		assert_null(rr.header);		/* nothing to release */
		assert_int_equal(rr.nprocs, 0);
	}
	assert_int_equal(fd_runrec_load("/nonexistent/run.jsonl", &rr, &d),
			 -FD_ERR_NOTFOUND);
}

static void test_runrec__time_parse(void **state)
{
	(void)state;
	assert_true(fd_time_parse("1970-01-01T00:00:00Z") == 0);
	assert_true(fd_time_parse("2026-12-03T13:15:00Z") == 1796303700.0);
	assert_true(fabs(fd_time_parse("2026-12-03T13:15:00.123456Z") -
			 1796303700.123456) < 1e-6);
	assert_true(fd_time_parse("2026-12-03T13:15:00.5z") == 1796303700.5);
	assert_true(fd_time_parse("2026-12-03t13:15:00Z") == 1796303700.0);
	assert_true(fd_time_parse("2026-12-03T14:15:00+01:00") ==
		    1796303700.0);
	assert_true(fd_time_parse("2026-12-03T08:45:00-04:30") ==
		    1796303700.0);
	assert_true(fd_time_parse("2000-02-29T00:00:00Z") == 951782400.0);
	assert_true(fd_time_parse("2024-02-29T12:00:00Z") > 0);
	assert_true(fd_time_parse("1969-12-31T23:59:58Z") == -2);
	assert_true(fd_time_parse("2023-02-29T00:00:00Z") == -1);
	assert_true(fd_time_parse("2100-02-29T00:00:00Z") == -1);
	assert_true(fd_time_parse("2026-04-31T00:00:00Z") == -1);
	assert_true(fd_time_parse("2026-13-01T00:00:00Z") == -1);
	assert_true(fd_time_parse("2026-12-03T24:00:00Z") == -1);
	assert_true(fd_time_parse("2026-12-03T13:15:00") == -1);
	assert_true(fd_time_parse("2026-12-03T13:15:00.Z") == -1);
	assert_true(fd_time_parse("2026-12-03T13:15:00Zx") == -1);
	assert_true(fd_time_parse("2026-12-03T13:15Z") == -1);
	assert_true(fd_time_parse("2026-12-03T13:15:00+1:00") == -1);
	assert_true(fd_time_parse("") == -1);
	assert_true(fd_time_parse(NULL) == -1);
}

static void test_runrec__time_format(void **state)
{
	char buf[40], again[40];

	(void)state;
	assert_string_equal(fd_time_format_ms(1796303700.123456, buf,
					      sizeof(buf)),
			    "2026-12-03T13:15:00.123Z");
	assert_string_equal(fd_time_format_us(1796303700.123456, buf,
					      sizeof(buf)),
			    "2026-12-03T13:15:00.123456Z");
	assert_string_equal(fd_time_format_ms(0, buf, sizeof(buf)),
			    "1970-01-01T00:00:00.000Z");
	assert_string_equal(fd_time_format_ms(-0.5, buf, sizeof(buf)),
			    "1969-12-31T23:59:59.500Z");
	assert_string_equal(fd_time_format_ms(951782400.999, buf,
					      sizeof(buf)),
			    "2000-02-29T00:00:00.999Z");
	assert_string_equal(fd_time_format_us(4102444799.9999996, buf,
					      sizeof(buf)),
			    "2100-01-01T00:00:00.000000Z");
	/* Microsecond text survives a round trip exactly. */
	for (long i = 0; i < 2000; i++) {
		double t = 1600000000.0 + (double)i * 86399.000137;

		fd_time_format_us(t, buf, sizeof(buf));
		fd_time_format_us(fd_time_parse(buf), again, sizeof(again));
		assert_string_equal(buf, again);
		assert_true(fabs(fd_time_parse(buf) - t) < 1e-6);
	}
}

#define T(test) cmocka_unit_test_setup_teardown(test, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_runrec__load),
		T(test_runrec__control_and_attributes),
		T(test_runrec__errors_name_file_and_line),
		cmocka_unit_test(test_runrec__time_parse),
		cmocka_unit_test(test_runrec__time_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
