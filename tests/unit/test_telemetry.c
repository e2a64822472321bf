/*
 * test_telemetry.c - ECS process start events built from a run record.
 *
 * A hand-written run.jsonl holds a 2-level chain (zsh spawning defaults)
 * under a macOS host profile on a Linux emulating host: the child's parent
 * fields must come from zsh's record, zsh's parent must be the emulator,
 * and host.os.* must follow the profile.  The events then go through the
 * real engine with the seed KQL, which must alert on defaults only.  A
 * second record carries what exceptions key on (a step's env, cwd and
 * path, its user, its parent, the host name) into the events' fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "field.h"
#include "telemetry.h"

#define RUN "20261203T131500Z-1a2b3c4d"
#define DIR "/tmp/fd-" RUN
#define RULE "02ea4563-ec10-4974-b7de-12e65aa4f9b3"

#define HEADER \
	"{\"record\":\"run\",\"run_id\":\"" RUN "\"," \
	"\"host_name\":\"ci-box\"," \
	"\"os_type\":\"linux\",\"os_version\":\"6.1.0-18-amd64\"," \
	"\"arch\":\"x86_64\",\"start_time\":\"2026-12-03T13:15:00.000000Z\"," \
	"\"firedrill_version\":\"0.1.0\",\"emulator\":{\"pid\":100," \
	"\"ppid\":1,\"name\":\"firedrill\",\"executable\":" \
	"\"/usr/local/bin/firedrill\",\"args\":[\"firedrill\",\"run\"," \
	"\"scenarios\"],\"user\":\"root\",\"uid\":0},\"dry_run\":false}\n"

#define SCENARIO(id, host) \
	"{\"record\":\"scenario\",\"scenario\":\"" id "\",\"path\":" \
	"\"scenarios/" id ".yaml\",\"source\":\"id: " id "\\ntitle: t\\n" \
	"rules: [" RULE "]\\nhost: " host "\\nsteps:\\n  - run: defaults\\n" \
	"    args: [read, x, ShadowHashData]\\n    parents: [zsh]\\n" \
	"expect:\\n  - rule: " RULE "\\n    count: 1\\n\"}\n"

#define PROC(sc, depth, target, pid, ppid, name, args, start) \
	"{\"record\":\"process\",\"scenario\":\"" sc "\",\"step\":0," \
	"\"depth\":" #depth ",\"target\":" #target ",\"pid\":" #pid "," \
	"\"ppid\":" #ppid ",\"executable\":\"" DIR "/" sc "/" name "\"," \
	"\"name\":\"" name "\",\"args\":" args ",\"working_directory\":" \
	"\"" DIR "/" sc "\",\"user\":\"nobody\",\"uid\":65534,\"gid\":65534," \
	"\"start_time\":\"2026-12-03T13:15:" start "Z\",\"end_time\":" \
	"\"2026-12-03T13:15:09.000000Z\",\"exit_code\":0,\"signal\":null," \
	"\"timed_out\":false,\"sha256\":\"abc123\"}\n"

#define SHADOW "[\"defaults\",\"read\",\"x\",\"ShadowHashData\"]"

/* The child is written first (the emulator reaps it first). */
#define RECORD \
	HEADER \
	SCENARIO("pos", "{os: macos, os_version: '14.5', name: MBP-CI}") \
	PROC("pos", 1, true, 201, 200, "defaults", SHADOW, "00.150000") \
	PROC("pos", 0, false, 200, 100, "zsh", "[\"zsh\"]", "00.100000") \
	SCENARIO("lin", "{os: linux}") \
	PROC("lin", 1, true, 301, 300, "defaults", SHADOW, "01.150000") \
	PROC("lin", 0, false, 300, 100, "zsh", "[\"zsh\"]", "01.100000")

static char tmpdir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fd-test-telemetry-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static const char *path_of(const char *name)
{
	static char path[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	return path[k];
}

static int remove_dir(void **state)
{
	(void)state;
	unlink(path_of("run.jsonl"));
	unlink(path_of("events.ndjson"));
	unlink(path_of("rule.json"));
	return rmdir(tmpdir);
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void load(struct fd_runrec *rr)
{
	struct fd_diag d;

	write_file("run.jsonl", RECORD);
	if (fd_runrec_load(path_of("run.jsonl"), rr, &d))
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	assert_int_equal(rr->nprocs, 4);
}

static const char *s(const cJSON *doc, const char *field)
{
	const char *v = fd_field_string(doc, field);

	if (!v)
		fail_msg("no string field '%s'", field);
	return v;
}

static long n(const cJSON *doc, const char *field)
{
	double v;

	if (fd_field_number(doc, field, &v))
		fail_msg("no number field '%s'", field);
	return (long)v;
}

static void test_telemetry__chain_parent_fields(void **state)
{
	struct fd_runrec rr;
	cJSON *child, *zsh;
	const cJSON *args;

	(void)state;
	load(&rr);
	child = fd_telemetry_event(&rr, 0, 1796303760.0);
	zsh = fd_telemetry_event(&rr, 1, 1796303760.0);
	assert_non_null(child);
	assert_non_null(zsh);

	/* The process itself. */
	assert_int_equal(n(child, "process.pid"), 201);
	assert_string_equal(s(child, "process.name"), "defaults");
	assert_string_equal(s(child, "process.executable"),
			    DIR "/pos/defaults");
	args = cJSON_GetObjectItem(cJSON_GetObjectItem(child, "process"),
				   "args");
	assert_int_equal(cJSON_GetArraySize(args), 4);
	assert_string_equal(cJSON_GetArrayItem(args, 0)->valuestring,
			    "defaults");
	assert_int_equal(n(child, "process.args_count"), 4);
	assert_string_equal(s(child, "process.command_line"),
			    "defaults read x ShadowHashData");
	assert_string_equal(s(child, "process.working_directory"),
			    DIR "/pos");
	assert_string_equal(s(child, "process.start"),
			    "2026-12-03T13:15:00.150000Z");
	assert_string_equal(s(child, "process.hash.sha256"), "abc123");

	/* Its parent, from zsh's own record. */
	assert_int_equal(n(child, "process.parent.pid"), 200);
	assert_string_equal(s(child, "process.parent.name"), "zsh");
	assert_string_equal(s(child, "process.parent.executable"),
			    DIR "/pos/zsh");
	assert_int_equal(n(child, "process.parent.args_count"), 1);
	assert_string_equal(s(child, "process.parent.args"), "zsh");
	assert_string_equal(s(child, "process.parent.entity_id"),
			    s(zsh, "process.entity_id"));
	assert_string_not_equal(s(child, "process.entity_id"),
				s(zsh, "process.entity_id"));

	/* The outermost parent's parent is the emulator. */
	assert_int_equal(n(zsh, "process.parent.pid"), 100);
	assert_string_equal(s(zsh, "process.parent.name"), "firedrill");
	assert_string_equal(s(zsh, "process.parent.executable"),
			    "/usr/local/bin/firedrill");
	assert_int_equal(n(zsh, "process.parent.args_count"), 3);
	assert_string_equal(s(zsh, "process.parent.command_line"),
			    "firedrill run scenarios");
	assert_non_null(fd_field_string(zsh, "process.parent.entity_id"));

	cJSON_Delete(child);
	cJSON_Delete(zsh);
	fd_runrec_release(&rr);
}

/* An exception scenario's step: jamf > defaults, run as a named user
 * with a cwd, a path and an environment; its control's without them. */
#define EXC_SOURCE \
	"id: exc\\ntitle: t\\nrules: [" RULE "]\\nhost: {name: mdm-mac}\\n" \
	"exceptions: [mdm]\\nsteps:\\n  - run: defaults\\n" \
	"    parents: [jamf]\\n    user: fdtest\\n    cwd: work\\n" \
	"    path: ci-tools\\n    env: {CI: 'true', JOB_ID: '42'}\\n" \
	"expect:\\n  - rule: " RULE "\\n    count: 0\\ncontrol:\\n" \
	"  steps:\\n    - run: defaults\\n"

#define EXC_PROC(sc, depth, target, pid, ppid, exe, name, cwd, env) \
	"{\"record\":\"process\",\"scenario\":\"" sc "\",\"step\":0," \
	"\"depth\":" #depth ",\"target\":" #target ",\"pid\":" #pid "," \
	"\"ppid\":" #ppid ",\"executable\":\"" DIR "/" sc "/" exe "\"," \
	"\"name\":\"" name "\",\"args\":[\"" name "\"]," \
	"\"working_directory\":\"" DIR "/" sc cwd "\"" env "," \
	"\"user\":\"fdtest\",\"uid\":1234,\"gid\":1234," \
	"\"start_time\":\"2026-12-03T13:15:0" #depth ".000000Z\"}\n"

#define EXC_ENV ",\"env\":{\"CI\":\"true\",\"JOB_ID\":\"42\"}"

#define EXC_RECORD \
	HEADER \
	"{\"record\":\"scenario\",\"scenario\":\"exc\",\"source\":\"" \
	EXC_SOURCE "\"}\n" \
	EXC_PROC("exc", 0, false, 400, 100, "jamf", "jamf", "/work", \
		 EXC_ENV) \
	EXC_PROC("exc", 1, true, 401, 400, "ci-tools/defaults", "defaults", \
		 "/work", EXC_ENV) \
	"{\"record\":\"scenario\",\"scenario\":\"exc.control\"," \
	"\"control_of\":\"exc\",\"source\":\"" EXC_SOURCE "\"}\n" \
	EXC_PROC("exc.control", 1, true, 501, 100, "defaults", "defaults", \
		 "", ",\"env\":{}")

static void test_telemetry__exception_attributes(void **state)
{
	struct fd_runrec rr;
	struct fd_diag d;
	const cJSON *vars;
	cJSON *jamf, *ev, *ctl;

	(void)state;
	write_file("run.jsonl", EXC_RECORD);
	if (fd_runrec_load(path_of("run.jsonl"), &rr, &d))
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	jamf = fd_telemetry_event(&rr, 0, 0);
	ev = fd_telemetry_event(&rr, 1, 0);
	ctl = fd_telemetry_event(&rr, 2, 0);
	assert_non_null(ev);

	assert_string_equal(s(ev, "process.executable"),
			    DIR "/exc/ci-tools/defaults");
	assert_string_equal(s(ev, "process.working_directory"),
			    DIR "/exc/work");
	vars = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "process"),
				   "env_vars");
	assert_true(cJSON_IsArray(vars));
	assert_int_equal(cJSON_GetArraySize(vars), 2);
	assert_string_equal(cJSON_GetArrayItem(vars, 0)->valuestring,
			    "CI=true");
	assert_string_equal(cJSON_GetArrayItem(vars, 1)->valuestring,
			    "JOB_ID=42");
	assert_string_equal(s(ev, "process.parent.name"), "jamf");
	assert_string_equal(s(ev, "process.parent.executable"),
			    DIR "/exc/jamf");
	assert_string_equal(s(ev, "user.name"), "fdtest");
	assert_string_equal(s(ev, "user.id"), "1234");
	assert_string_equal(s(ev, "host.name"), "mdm-mac");
	/* The parent ran in the same place, with the same variables. */
	assert_string_equal(s(jamf, "process.working_directory"),
			    DIR "/exc/work");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(jamf,
		"process"), "env_vars"));
	/* The control's events: its own scenario, host from the shared
	 * profile, and no env_vars at all when the step adds none. */
	assert_string_equal(s(ctl, "firedrill.scenario"), "exc.control");
	assert_string_equal(s(ctl, "host.name"), "mdm-mac");
	assert_string_equal(s(ctl, "process.executable"),
			    DIR "/exc.control/defaults");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(ctl, "process"),
					"env_vars"));
	cJSON_Delete(jamf);
	cJSON_Delete(ev);
	cJSON_Delete(ctl);
	fd_runrec_release(&rr);
}

static bool uuid_shaped(const char *id)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? id[i] != '-' : !isxdigit((unsigned char)id[i]))
			return false;
	}
	return id[36] == '\0';
}

static void test_telemetry__defend_shape(void **state)
{
	struct fd_runrec rr;
	const cJSON *v;
	cJSON *ev, *other;

	(void)state;
	load(&rr);
	ev = fd_telemetry_event(&rr, 0, 1796303760.0);
	assert_string_equal(s(ev, "@timestamp"),
			    "2026-12-03T13:15:00.150000Z");
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "event"), "category");
	assert_true(cJSON_IsArray(v));
	assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, "process");
	assert_string_equal(s(ev, "event.type"), "start");
	assert_string_equal(s(ev, "event.action"), "exec");
	assert_string_equal(s(ev, "event.kind"), "event");
	assert_string_equal(s(ev, "event.dataset"), "endpoint.events.process");
	assert_string_equal(s(ev, "event.module"), "endpoint");
	assert_string_equal(s(ev, "event.ingested"),
			    "2026-12-03T13:16:00.000000Z");
	assert_string_equal(s(ev, "event.created"), s(ev, "@timestamp"));

	/* host.os from the profile; the Linux kernel is not claimed.
	 * host.name in lower case, as Endpoint writes it. */
	assert_string_equal(s(ev, "host.name"), "mbp-ci");
	assert_string_equal(s(ev, "host.hostname"), "MBP-CI");
	assert_true(uuid_shaped(s(ev, "host.id")));
	assert_string_equal(s(ev, "host.architecture"), "x86_64");
	assert_string_equal(s(ev, "host.os.type"), "macos");
	assert_string_equal(s(ev, "host.os.name"), "macOS");
	assert_string_equal(s(ev, "host.os.version"), "14.5");
	assert_string_equal(s(ev, "host.os.family"), "macos");
	assert_string_equal(s(ev, "host.os.platform"), "darwin");
	assert_string_equal(s(ev, "host.os.full"), "macOS 14.5");
	assert_null(fd_field_string(ev, "host.os.kernel"));
	/* A record without env: no process.env_vars. */
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "process"),
					"env_vars"));

	assert_string_equal(s(ev, "user.id"), "65534");
	assert_string_equal(s(ev, "user.name"), "nobody");
	assert_string_equal(s(ev, "group.id"), "65534");
	assert_string_equal(s(ev, "agent.type"), "firedrill");
	assert_string_equal(s(ev, "agent.version"), "0.1.0");
	assert_string_equal(s(ev, "ecs.version"), "8.11.0");
	assert_string_equal(s(ev, "data_stream.type"), "logs");
	assert_string_equal(s(ev, "data_stream.dataset"),
			    "endpoint.events.process");
	assert_string_equal(s(ev, "data_stream.namespace"), "default");
	assert_string_equal(s(ev, "firedrill.run_id"), RUN);
	assert_string_equal(s(ev, "firedrill.scenario"), "pos");
	assert_int_equal(n(ev, "firedrill.step"), 0);

	/* A Linux profile on a Linux host: the kernel is the real one, and
	 * the host name is the run header's. */
	other = fd_telemetry_event(&rr, 2, 0);
	assert_string_equal(s(other, "host.os.type"), "linux");
	assert_string_equal(s(other, "host.os.kernel"), "6.1.0-18-amd64");
	assert_string_equal(s(other, "host.name"), "ci-box");
	assert_string_not_equal(s(other, "host.id"), s(ev, "host.id"));
	/* ingested 0: the process's end time */
	assert_string_equal(s(other, "event.ingested"),
			    "2026-12-03T13:15:09.000000Z");
	assert_string_equal(s(other, "process.parent.name"), "zsh");
	assert_int_equal(n(other, "process.parent.pid"), 300);
	cJSON_Delete(other);
	cJSON_Delete(ev);
	assert_null(fd_telemetry_event(&rr, 4, 0));
	fd_runrec_release(&rr);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void test_telemetry__write_in_start_order(void **state)
{
	static const long want_pids[] = { 200, 201, 300, 301 };
	struct fd_runrec rr;
	FILE *out;
	size_t count;
	char *text, *line, *nl;
	size_t k = 0;

	(void)state;
	load(&rr);
	out = fopen(path_of("events.ndjson"), "w");
	assert_non_null(out);
	assert_int_equal(fd_telemetry_write(&rr, 1796303760.0, out, &count),
			 0);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(count, 4);
	text = read_all(path_of("events.ndjson"));
	for (line = text; *line; line = nl + 1) {
		cJSON *ev;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		ev = cJSON_Parse(line);
		assert_non_null(ev);
		assert_true(k < 4);
		assert_int_equal(n(ev, "process.pid"), want_pids[k++]);
		cJSON_Delete(ev);
	}
	assert_int_equal(k, 4);
	free(text);
	fd_runrec_release(&rr);
}

/* The events feed the real engine: the seed KQL alerts on defaults under
 * the macOS profile, never on zsh nor on the Linux host. */
static void test_telemetry__feeds_the_engine(void **state)
{
	struct fd_ruleset set = { 0 };
	struct fd_rule_run run;
	struct fd_runrec rr;
	struct fd_diag d;
	FILE *out;
	size_t count;
	char *alerts;

	(void)state;
	load(&rr);
	out = fopen(path_of("events.ndjson"), "w");
	assert_non_null(out);
	assert_int_equal(fd_telemetry_write(&rr, 1796303760.0, out, &count),
			 0);
	assert_int_equal(fclose(out), 0);
	write_file("rule.json",
		"{\"rule_id\":\"" RULE "\",\"name\":\"Dumping\",\"type\":"
		"\"query\",\"language\":\"kuery\",\"query\":\"event.category:"
		"process and host.os.type:macos and event.type:start and "
		"process.name:(defaults or mkpassdb) and process.args:"
		"(ShadowHashData or \\\"-dump\\\")\",\"severity\":\"high\","
		"\"risk_score\":73,"
		"\"timestamp_override\":\"event.ingested\"}");
	assert_int_equal(fd_ruleset_load_file(&set, path_of("rule.json"), &d),
			 0);
	out = fopen(path_of("run.jsonl"), "w");	/* reused for alerts */
	assert_non_null(out);
	assert_int_equal(fd_detect_file(&set, path_of("events.ndjson"), out,
					&run, &d), 0);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(run.events_seen, 4);
	assert_int_equal(run.alerts, 1);
	alerts = read_all(path_of("run.jsonl"));
	assert_non_null(strstr(alerts, "\"process\":{\"pid\":201,"));
	assert_non_null(strstr(alerts, "process event with process defaults, "
			       "parent process zsh, by nobody on mbp-ci "
			       "created high alert Dumping."));
	/* Covered: every process start of the run (event time). */
	assert_true(run.window_from <= rr.procs[1].start);
	assert_true(run.window_to >= rr.procs[2].start);
	free(alerts);
	fd_ruleset_release(&set);
	fd_runrec_release(&rr);
}

#define T(test) cmocka_unit_test_setup_teardown(test, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_telemetry__chain_parent_fields),
		T(test_telemetry__defend_shape),
		T(test_telemetry__exception_attributes),
		T(test_telemetry__write_in_start_order),
		T(test_telemetry__feeds_the_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
