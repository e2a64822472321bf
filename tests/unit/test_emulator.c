/*
 * test_emulator.c - fd_emulate() spawning real stand-ins ($FD_STANDIN, else
 * build[-san]/libexec/firedrill/firedrill-standin): argv, parents, deadlines,
 * hash checks, cleanup, dry run, users, signals, run.jsonl, a step's cwd,
 * path and env (seen in /proc as root); and core/jsonw.
 * Stand-ins log what they saw to @output.log, compared with the record.
 * From the repository root: make build/tests/test_emulator && run it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "emulator.h"
#include "jsonw.h"
#include "sha256.h"

#if defined(__SANITIZE_ADDRESS__)
#define BUILD_DIR "build-san"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILD_DIR "build-san"
#endif
#endif
#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif

#define SHADOW_PLIST "/var/db/dslocal/nodes/Default/users/alice.plist"

struct ctx {
	char tmp[PATH_MAX];	/* parent of the private directories */
	char out[PATH_MAX + 8];	/* run directory (run.jsonl) */
	char standin[PATH_MAX];
	struct fd_emulate_opts opts;
	struct fd_emulate_result res;
	struct fd_diag diag;
};

/* What one stand-in wrote about itself in the output log. */
struct seen {
	char name[64];
	long pid, ppid, uid, euid;
	char exe[PATH_MAX];
	char argv[1024];
};

static char *shadow_args[] = { "read", SHADOW_PLIST, "ShadowHashData",
			       NULL };
static char *launchd_zsh[] = { "launchd", "zsh", NULL };
static char *zsh_only[] = { "zsh", NULL };

/* ---- helpers ------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *env = getenv("FD_STANDIN");

	if (!c)
		return -1;
	snprintf(c->tmp, sizeof(c->tmp), "/tmp/fd-emu-test-XXXXXX");
	if (!mkdtemp(c->tmp))
		return -1;
	/* nobody must be able to walk through it to its private dir. */
	chmod(c->tmp, 0755);
	snprintf(c->out, sizeof(c->out), "%s/out", c->tmp);
	snprintf(c->standin, sizeof(c->standin), "%s", env && *env ? env :
		 BUILD_DIR "/libexec/firedrill/firedrill-standin");
	c->opts.run_dir = c->out;
	c->opts.standin = c->standin;
	c->opts.tmpdir = c->tmp;
	*state = c;
	if (access(c->standin, X_OK) < 0) {
		fprintf(stderr, "stand-in %s missing: build it first (make "
			"all) or set FD_STANDIN\n", c->standin);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fd_emulate_set_hook(NULL, NULL);
	rm_rf(c->tmp);
	free(c);
	return 0;
}

static void step_init(struct fd_step *st, char *run, char **args,
		      char **parents)
{
	size_t n;

	memset(st, 0, sizeof(*st));
	st->run = run;
	for (n = 0; args && args[n]; n++)
		;
	st->args.v = args;
	st->args.n = n;
	for (n = 0; parents && parents[n]; n++)
		;
	st->parents.v = parents;
	st->parents.n = n;
	st->timeout_ms = 10000;
	st->pos.line = 7;
	st->pos.col = 3;
}

static void scenario_init(struct fd_scenario *sc, char *id,
			  struct fd_step *steps, size_t n)
{
	memset(sc, 0, sizeof(*sc));
	sc->id = id;
	sc->path = "test.yaml";
	sc->source = "id: test\nsteps:\n  - run: defaults\n";
	sc->steps = steps;
	sc->nsteps = n;
}

static int emulate1(struct ctx *c, struct fd_scenario *sc)
{
	struct fd_scenario *scs[] = { sc };

	return fd_emulate(scs, 1, &c->opts, &c->res, &c->diag);
}

/* After a run nothing of ours may be left: not even a zombie. */
static void assert_no_children(void)
{
	int status;

	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* run.jsonl as an array of parsed lines (each must be valid JSON). */
static cJSON *load_record(const struct ctx *c)
{
	char path[PATH_MAX + 32], *text, *line, *nl;
	cJSON *lines = cJSON_CreateArray();

	snprintf(path, sizeof(path), "%s/run.jsonl", c->out);
	text = slurp(path);
	assert_non_null(text);
	for (line = text; *line; line = nl + 1) {
		cJSON *j;

		nl = strchr(line, '\n');
		assert_non_null(nl);	/* every line ends with \n */
		*nl = '\0';
		j = cJSON_Parse(line);
		if (!j)
			fail_msg("run.jsonl line is not JSON: %s", line);
		cJSON_AddItemToArray(lines, j);
	}
	free(text);
	return lines;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(v))
		fail_msg("key %s is not a string", key);
	return v->valuestring;
}

static long num_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v))
		fail_msg("key %s is not a number", key);
	return (long)v->valuedouble;
}

static bool bool_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsBool(v))
		fail_msg("key %s is not a bool", key);
	return cJSON_IsTrue(v);
}

static bool is_null(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	assert_non_null(v);
	return cJSON_IsNull(v);
}

/* The process lines, in file order. */
static size_t procs_of(const cJSON *lines, const cJSON **out, size_t max)
{
	const cJSON *l;
	size_t n = 0;

	cJSON_ArrayForEach(l, lines)
		if (!strcmp(str_of(l, "record"), "process") && n < max)
			out[n++] = l;
	return n;
}

static void assert_args(const cJSON *proc, char *const *want)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(proc, "args");
	size_t i = 0;
	const cJSON *a;

	assert_true(cJSON_IsArray(args));
	cJSON_ArrayForEach(a, args) {
		assert_non_null(want[i]);
		assert_true(cJSON_IsString(a));
		assert_string_equal(a->valuestring, want[i]);
		i++;
	}
	assert_null(want[i]);
}

static bool is_time(const char *s)
{
	int y, mo, d, h, mi, se, us;
	char z;

	return strlen(s) == 27 &&
	       sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6d%c", &y, &mo, &d, &h,
		      &mi, &se, &us, &z) == 8 && z == 'Z' && s[4] == '-' &&
	       s[10] == 'T' && s[19] == '.';
}

/* Parse the stand-ins' self-descriptions from the output log. */
static size_t load_seen(const struct ctx *c, struct seen *out, size_t max)
{
	char path[PATH_MAX + 32], *text, *line, *nl;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/@output.log", c->res.standin_dir);
	text = slurp(path);
	assert_non_null(text);
	for (line = text; *line && n < max; line = nl + 1) {
		struct seen *s = &out[n];
		char *q, *argv;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (strncmp(line, "firedrill stand-in '", 20))
			continue;
		q = strstr(line + 20, "': pid ");
		if (!q)
			continue;
		snprintf(s->name, sizeof(s->name), "%.*s",
			 (int)(q - line - 20), line + 20);
		if (sscanf(q, "': pid %ld ppid %ld uid %ld euid %ld "
			   "exe %4095s", &s->pid, &s->ppid, &s->uid,
			   &s->euid, s->exe) != 5)
			continue;
		argv = strstr(q, " argv ");
		assert_non_null(argv);
		snprintf(s->argv, sizeof(s->argv), "%s", argv + 6);
		n++;
	}
	free(text);
	return n;
}

static const struct seen *seen_pid(const struct seen *s, size_t n, long pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i].pid == pid)
			return &s[i];
	return NULL;
}

static void file_sha(const char *path, char hex[FD_SHA256_HEX])
{
	uint8_t d[FD_SHA256_LEN];

	assert_int_equal(fd_sha256_file(path, d), 0);
	fd_sha256_hex(d, hex);
}

static size_t count_private_dirs(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "firedrill-", 10))
			n++;
	closedir(d);
	return n;
}

static uid_t nobody_uid(void)
{
	struct passwd *pw = getpwnam("nobody");

	assert_non_null(pw);
	return pw->pw_uid;
}

/* ---- exact argv, executable and copies ---------------------------------- */

static void test_emulator__argv_exact(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	struct seen seen[8];
	const cJSON *p[4];
	cJSON *rec;
	char want_exe[PATH_MAX + 64], hex[FD_SHA256_HEX];
	char *argv[] = { "defaults", "read", SHADOW_PLIST, "ShadowHashData",
			 NULL };
	struct stat sb, orig;
	const struct seen *s;
	size_t ns;

	step_init(&st, "defaults", shadow_args, NULL);
	scenario_init(&sc, "shadow-hash", &st, 1);
	c->opts.keep = true;
	assert_int_equal(emulate1(c, &sc), 0);
	assert_no_children();
	assert_int_equal(c->res.spawned, 1);
	assert_non_null(strstr(c->res.standin_dir, c->res.run_id));

	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 4), 1);
	snprintf(want_exe, sizeof(want_exe), "%s/shadow-hash/defaults",
		 c->res.standin_dir);
	assert_string_equal(str_of(p[0], "executable"), want_exe);
	assert_string_equal(str_of(p[0], "name"), "defaults");
	assert_args(p[0], argv);
	assert_int_equal(num_of(p[0], "ppid"), getpid());
	assert_int_equal(num_of(p[0], "exit_code"), 0);
	assert_true(is_null(p[0], "signal"));
	assert_false(bool_of(p[0], "timed_out"));
	assert_true(bool_of(p[0], "target"));
	file_sha(c->standin, hex);
	assert_string_equal(str_of(p[0], "sha256"), hex);

	/* What the process itself saw: its pid, exe and argv. */
	ns = load_seen(c, seen, 8);
	assert_int_equal(ns, 1);
	s = seen_pid(seen, ns, num_of(p[0], "pid"));
	assert_non_null(s);
	assert_string_equal(s->name, "defaults");
	assert_string_equal(s->exe, want_exe);
	assert_int_equal(s->ppid, getpid());
	assert_string_equal(s->argv, "'defaults' 'read' '" SHADOW_PLIST
			    "' 'ShadowHashData'");

	/*
	 * A copy, not a link, in a private directory: mode 0500 in 0700.
	 * As root the tree stays root's and only the run user's group may
	 * read and run it (0550 in 0750): the stand-ins cannot change it.
	 */
	assert_int_equal(stat(want_exe, &sb), 0);
	assert_int_equal(stat(c->standin, &orig), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_nlink, 1);
	assert_true(sb.st_ino != orig.st_ino || sb.st_dev != orig.st_dev);
	assert_int_equal(sb.st_mode & 07777, geteuid() ? 0500 : 0550);
	assert_int_equal(sb.st_uid, geteuid());
	if (geteuid() == 0)
		assert_int_equal(sb.st_gid, getpwnam("nobody")->pw_gid);
	assert_int_equal(stat(c->res.standin_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, geteuid() ? 0700 : 0750);
	assert_int_equal(sb.st_uid, geteuid());
	cJSON_Delete(rec);
	rm_rf(c->res.standin_dir);
}

/* ---- parent chains ------------------------------------------------------ */

static void test_emulator__parent_chain_ppids(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	struct seen seen[8];
	const cJSON *p[8];
	char *launchd_argv[] = { "launchd", NULL }, *zsh_argv[] = { "zsh",
								   NULL };
	char *argv[] = { "defaults", "read", SHADOW_PLIST, "ShadowHashData",
			 NULL };
	const char *names[] = { "launchd", "zsh", "defaults" };
	cJSON *rec;
	size_t ns, i;

	step_init(&st, "defaults", shadow_args, launchd_zsh);
	scenario_init(&sc, "chain", &st, 1);
	c->opts.keep = true;
	assert_int_equal(emulate1(c, &sc), 0);
	assert_no_children();
	assert_int_equal(c->res.spawned, 3);
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 8), 3);
	ns = load_seen(c, seen, 8);
	assert_int_equal(ns, 3);
	for (i = 0; i < 3; i++) {
		const struct seen *s = seen_pid(seen, ns,
						num_of(p[i], "pid"));
		long want_ppid = i ? num_of(p[i - 1], "pid") : getpid();

		assert_int_equal(num_of(p[i], "depth"), i);
		assert_string_equal(str_of(p[i], "name"), names[i]);
		assert_int_equal(bool_of(p[i], "target"), i == 2);
		assert_int_equal(num_of(p[i], "ppid"), want_ppid);
		/* The kernel's view, from inside the process. */
		assert_non_null(s);
		assert_string_equal(s->name, names[i]);
		assert_int_equal(s->ppid, want_ppid);
		assert_int_equal(num_of(p[i], "exit_code"), 0);
		assert_true(strcmp(str_of(p[i], "start_time"),
				   str_of(p[i], "end_time")) <= 0);
		if (i)
			assert_true(strcmp(str_of(p[i - 1], "start_time"),
					   str_of(p[i], "start_time")) <= 0);
	}
	assert_args(p[0], launchd_argv);
	assert_args(p[1], zsh_argv);
	assert_args(p[2], argv);
	cJSON_Delete(rec);
	rm_rf(c->res.standin_dir);
}

/* ---- deadlines ---------------------------------------------------------- */

static void test_emulator__deadline_kills_group(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	const cJSON *p[4];
	cJSON *rec;
	int64_t t0;
	size_t i;

	step_init(&st, "defaults", shadow_args, zsh_only);
	st.dwell_ms = 30000;
	st.timeout_ms = 300;
	scenario_init(&sc, "slow", &st, 1);
	t0 = mono_ms();
	assert_int_equal(emulate1(c, &sc), 0);
	assert_true(mono_ms() - t0 < 5000);
	assert_true(mono_ms() - t0 >= 300);
	assert_no_children();
	assert_int_equal(c->res.timed_out, 1);
	assert_int_equal(c->res.killed, 0);
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 4), 2);
	for (i = 0; i < 2; i++) {
		assert_true(bool_of(p[i], "timed_out"));
		assert_int_equal(num_of(p[i], "signal"), SIGKILL);
		assert_true(is_null(p[i], "exit_code"));
		/* Gone for good: not running, not a zombie. */
		assert_int_equal(kill((pid_t)num_of(p[i], "pid"), 0), -1);
		assert_int_equal(errno, ESRCH);
	}
	cJSON_Delete(rec);
	assert_int_equal(count_private_dirs(c->tmp), 0);
}

/* ---- hash checks -------------------------------------------------------- */

struct tamper {
	enum fd_emulate_hook when;
	const char *name;
	int calls;
};

static void tamper_hook(enum fd_emulate_hook when, const char *dir,
			void *arg)
{
	struct tamper *t = arg;
	char path[PATH_MAX + 64];
	int fd;

	if (when != t->when || t->calls++)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, t->name);
	chmod(path, 0700);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "X", 1), 1);
	close(fd);
}

static void test_emulator__tampered_copy_refused(void **state)
{
	struct ctx *c = *state;
	struct tamper t = { FD_EMULATE_HOOK_CHECK, "defaults", 0 };
	struct fd_scenario sc;
	struct fd_step st;
	const cJSON *p[4], *l;
	cJSON *rec;

	step_init(&st, "defaults", shadow_args, NULL);
	scenario_init(&sc, "tampered", &st, 1);
	fd_emulate_set_hook(tamper_hook, &t);
	assert_int_equal(emulate1(c, &sc), -FD_ERR_HASH);
	assert_int_equal(t.calls, 1);
	assert_int_equal(c->res.spawned, 0);
	assert_non_null(strstr(c->diag.msg, "sha256"));
	assert_non_null(strstr(c->diag.msg, "nothing was run"));
	assert_no_children();
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 4), 0);
	l = cJSON_GetArrayItem(rec, 1);
	assert_string_equal(str_of(l, "record"), "scenario");
	assert_false(bool_of(l, "complete"));
	cJSON_Delete(rec);
	assert_int_equal(count_private_dirs(c->tmp), 0);
}

/* The emulator's check passes; the parent stand-in's own check, just
 * before its exec, must then refuse the tampered child. */
static void test_emulator__standin_refuses_tampered_child(void **state)
{
	struct ctx *c = *state;
	struct tamper t = { FD_EMULATE_HOOK_SPAWN, "defaults", 0 };
	struct fd_scenario sc;
	struct fd_step st;
	struct seen seen[8];
	size_t ns;

	step_init(&st, "defaults", shadow_args, zsh_only);
	scenario_init(&sc, "tampered-child", &st, 1);
	c->opts.keep = true;
	fd_emulate_set_hook(tamper_hook, &t);
	assert_int_equal(emulate1(c, &sc), -FD_ERR_HASH);
	assert_int_equal(c->res.spawned, 1);	/* zsh only */
	assert_non_null(strstr(c->diag.msg, "refused"));
	assert_no_children();
	ns = load_seen(c, seen, 8);
	assert_int_equal(ns, 1);
	assert_string_equal(seen[0].name, "zsh");
	rm_rf(c->res.standin_dir);
}

/* ---- the private directory ---------------------------------------------- */

static void test_emulator__dir_removed_and_kept(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	struct stat sb;

	step_init(&st, "mkpassdb", (char *[]){ "-dump", NULL }, NULL);
	scenario_init(&sc, "gone", &st, 1);
	assert_int_equal(emulate1(c, &sc), 0);
	assert_int_equal(stat(c->res.standin_dir, &sb), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_private_dirs(c->tmp), 0);

	c->opts.keep = true;
	assert_int_equal(emulate1(c, &sc), 0);
	assert_int_equal(stat(c->res.standin_dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(count_private_dirs(c->tmp), 1);
	assert_no_children();
}

static void test_emulator__dry_run_creates_nothing(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	DIR *d;
	struct dirent *de;
	size_t entries = 0;

	assert_non_null(log);
	step_init(&st, "defaults", shadow_args, zsh_only);
	st.user = NULL;
	scenario_init(&sc, "dry", &st, 1);
	c->opts.dry_run = true;
	c->opts.log = log;
	assert_int_equal(emulate1(c, &sc), 0);
	fclose(log);
	assert_int_equal(c->res.spawned, 0);
	assert_non_null(strstr(buf, "dry run"));
	assert_non_null(strstr(buf, c->res.run_id));
	assert_non_null(strstr(buf, "/dry/defaults"));
	assert_non_null(strstr(buf, "[\"defaults\",\"read\",\"" SHADOW_PLIST
				    "\",\"ShadowHashData\"]"));
	assert_non_null(strstr(buf, "parent chain: firedrill > zsh"));
	assert_non_null(strstr(buf, "user "));
	free(buf);
	/* Nothing in tmp, no run directory. */
	d = opendir(c->tmp);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 0);
	assert_no_children();
}

/* ---- names -------------------------------------------------------------- */

static void expect_invalid(struct ctx *c, struct fd_scenario *sc)
{
	assert_int_equal(emulate1(c, sc), -FD_ERR_INVALID);
	assert_int_equal(c->res.spawned, 0);
	assert_int_equal(access(c->out, F_OK), -1);
	assert_int_equal(count_private_dirs(c->tmp), 0);
}

static void test_emulator__bad_names_refused(void **state)
{
	static char *bad_ids[] = { "../x", "a/b", "..", ".", "", "x y",
				   "id\n" };
	static char *bad_names[] = { "a/b", "..", ".", "", "tab\there",
				     "/usr/bin/defaults" };
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	size_t i;

	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		step_init(&st, "defaults", NULL, NULL);
		scenario_init(&sc, bad_ids[i], &st, 1);
		expect_invalid(c, &sc);
	}
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		step_init(&st, bad_names[i], NULL, NULL);
		scenario_init(&sc, "names", &st, 1);
		expect_invalid(c, &sc);
		assert_string_equal(c->diag.file, "test.yaml");
		assert_int_equal(c->diag.line, 7);
		step_init(&st, "defaults", NULL,
			  (char *[]){ "zsh", bad_names[i], NULL });
		expect_invalid(c, &sc);
	}
	/* Two scenarios may not share a directory. */
	{
		struct fd_scenario sc2;
		struct fd_scenario *scs[] = { &sc, &sc2 };

		step_init(&st, "defaults", NULL, NULL);
		scenario_init(&sc, "twin", &st, 1);
		scenario_init(&sc2, "twin", &st, 1);
		assert_int_equal(fd_emulate(scs, 2, &c->opts, &c->res,
					    &c->diag), -FD_ERR_INVALID);
	}
}

/* Unsafe folders and environments are refused before anything runs. */
static void test_emulator__bad_attributes_refused(void **state)
{
	static char *bad_dirs[] = { "../x", "/tmp", "a/", "a//b", ".",
				    "a/../b", "tab\there" };
	static char *bad_envs[][3] = {
		{ "LD_PRELOAD=/x.so", NULL }, { "PATH=/opt", NULL },
		{ "DYLD_INSERT_LIBRARIES=/x", NULL }, { "lower=x", NULL },
		{ "NOEQUALS", NULL }, { "CI=a\nb", NULL },
		{ "CI=ok", "HOME=/root", NULL },
	};
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	size_t i, n;

	for (i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
		step_init(&st, "defaults", NULL, NULL);
		st.cwd = bad_dirs[i];
		scenario_init(&sc, "dirs", &st, 1);
		expect_invalid(c, &sc);
		assert_non_null(strstr(c->diag.msg, "unsafe cwd"));
		st.cwd = NULL;
		st.path = bad_dirs[i];
		expect_invalid(c, &sc);
		assert_non_null(strstr(c->diag.msg, "unsafe path"));
	}
	for (i = 0; i < sizeof(bad_envs) / sizeof(bad_envs[0]); i++) {
		step_init(&st, "defaults", NULL, NULL);
		for (n = 0; bad_envs[i][n]; n++)
			;
		st.env.v = bad_envs[i];
		st.env.n = n;
		scenario_init(&sc, "envs", &st, 1);
		expect_invalid(c, &sc);
		assert_int_equal(c->diag.line, 7);
	}
	{
		char *many[FD_ENV_MAX + 2];

		for (n = 0; n <= FD_ENV_MAX; n++)
			many[n] = "CI=x";
		many[n] = NULL;
		step_init(&st, "defaults", NULL, NULL);
		st.env.v = many;
		st.env.n = FD_ENV_MAX + 1;
		scenario_init(&sc, "envs", &st, 1);
		expect_invalid(c, &sc);
		assert_non_null(strstr(c->diag.msg, "more than 32"));
	}
}

#ifdef __linux__
/* The first process whose executable is exe: its pid, or 0. */
static long find_exe(const char *exe)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long pid = 0;

	assert_non_null(d);
	while (!pid && (de = readdir(d))) {
		char link[300], got[PATH_MAX];
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%s/exe", de->d_name);
		n = readlink(link, got, sizeof(got) - 1);
		if (n <= 0)
			continue;
		got[n] = '\0';
		if (!strcmp(got, exe))
			pid = atol(de->d_name);
	}
	closedir(d);
	return pid;
}

/* What the kernel says a process runs in and with. */
struct live {
	char cwd[PATH_MAX];
	char environ[8192];	/* NUL-separated, turned into '\n' */
};

static void read_live(long pid, struct live *l)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
	n = readlink(path, l->cwd, sizeof(l->cwd) - 1);
	assert_true(n > 0);
	l->cwd[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, l->environ, sizeof(l->environ) - 1);
	close(fd);
	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		if (!l->environ[i])
			l->environ[i] = '\n';
	l->environ[n] = '\0';
}

/* The private directory a run in c->tmp made (there is one). */
static void private_dir(const struct ctx *c, char *buf, size_t len)
{
	DIR *d = opendir(c->tmp);
	struct dirent *de;

	assert_non_null(d);
	buf[0] = '\0';
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "firedrill-", 10))
			assert_true(snprintf(buf, len, "%s/%s", c->tmp,
					     de->d_name) < (int)len);
	closedir(d);
	assert_true(buf[0] != '\0');
}
#endif

/*
 * cwd, path and env are really applied: a dwelling chain is looked at
 * in /proc while it runs (root only: stand-ins are not dumpable), and the
 * record and the folders' modes say the same.
 */
static void test_emulator__step_attributes_applied(void **state)
{
#ifdef __linux__
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	struct live zsh, defaults;
	struct stat sb;
	char dir[PATH_MAX], exe[PATH_MAX + 64], want[PATH_MAX + 64];
	const cJSON *p[2], *env;
	cJSON *rec;
	long zpid = 0, dpid = 0;
	int64_t until;
	int status;
	pid_t kid;

	if (geteuid() != 0) {
		print_message("not root: /proc of a stand-in is not "
			      "readable\n");
		skip();
	}
	step_init(&st, "defaults", shadow_args, zsh_only);
	st.cwd = "Users/alice/work";
	st.path = "ci-tools";
	st.env.v = (char *[]){ "CI=true", "JOB_ID=42", NULL };
	st.env.n = 2;
	st.dwell_ms = 1500;
	scenario_init(&sc, "attrs", &st, 1);
	c->opts.keep = true;
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0)
		_exit(-emulate1(c, &sc));
	until = mono_ms() + 5000;
	while ((!zpid || !dpid) && mono_ms() < until) {
		char tree[PATH_MAX];

		usleep(20000);
		if (count_private_dirs(c->tmp) == 0)
			continue;
		private_dir(c, tree, sizeof(tree));
		snprintf(exe, sizeof(exe), "%s/attrs/ci-tools/defaults", tree);
		dpid = find_exe(exe);
		snprintf(exe, sizeof(exe), "%s/attrs/zsh", tree);
		zpid = find_exe(exe);
	}
	assert_true(zpid > 0 && dpid > 0);
	read_live(zpid, &zsh);
	read_live(dpid, &defaults);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	private_dir(c, dir, sizeof(dir));
	snprintf(want, sizeof(want), "%s/attrs/Users/alice/work", dir);
	assert_string_equal(defaults.cwd, want);
	assert_string_equal(zsh.cwd, want);	/* the chain starts there */
	snprintf(want, sizeof(want), "PATH=/usr/bin:/bin\nHOME=%s/attrs\n"
		 "LANG=C\nCI=true\nJOB_ID=42\n", dir);
	assert_string_equal(defaults.environ, want);
	assert_string_equal(zsh.environ, want);

	/* Every new folder is made like the scenario's own. */
	snprintf(want, sizeof(want), "%s/attrs/Users/alice", dir);
	assert_int_equal(lstat(want, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(sb.st_gid, getpwnam("nobody")->pw_gid);
	snprintf(want, sizeof(want), "%s/attrs/ci-tools/defaults", dir);
	assert_int_equal(lstat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0550);

	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 2), 2);
	snprintf(want, sizeof(want), "%s/attrs/ci-tools/defaults", dir);
	assert_string_equal(str_of(p[1], "executable"), want);
	snprintf(want, sizeof(want), "%s/attrs/zsh", dir);
	assert_string_equal(str_of(p[0], "executable"), want);
	snprintf(want, sizeof(want), "%s/attrs/Users/alice/work", dir);
	assert_string_equal(str_of(p[0], "working_directory"), want);
	assert_string_equal(str_of(p[1], "working_directory"), want);
	env = cJSON_GetObjectItemCaseSensitive(p[1], "env");
	assert_int_equal(cJSON_GetArraySize(env), 2);
	assert_string_equal(str_of(env, "CI"), "true");
	assert_string_equal(str_of(env, "JOB_ID"), "42");
	cJSON_Delete(rec);
	rm_rf(dir);
	assert_no_children();
#else
	(void)state;
	print_message("no /proc here: tested on Linux\n");
	skip();
#endif
}

/* Without a path, a step's record says the scenario's folder, env {}. */
static void test_emulator__step_attributes_default(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st[2];
	const cJSON *p[2], *env;
	cJSON *rec;
	struct seen seen[4];
	size_t ns;

	step_init(&st[0], "defaults", shadow_args, NULL);
	/* A second step's path: the copy there runs, hash-checked. */
	step_init(&st[1], "defaults", shadow_args, NULL);
	st[1].path = "opt/tools";
	scenario_init(&sc, "plain", st, 2);
	c->opts.keep = true;
	assert_int_equal(emulate1(c, &sc), 0);
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 2), 2);
	env = cJSON_GetObjectItemCaseSensitive(p[0], "env");
	assert_true(cJSON_IsObject(env));
	assert_null(env->child);
	assert_non_null(strstr(str_of(p[0], "executable"), "/plain/defaults"));
	assert_non_null(strstr(str_of(p[1], "executable"),
			       "/plain/opt/tools/defaults"));
	assert_string_equal(strrchr(str_of(p[0], "working_directory"), '/'),
			    "/plain");
	ns = load_seen(c, seen, 4);
	assert_int_equal(ns, 2);
	assert_string_equal(seen_pid(seen, ns, num_of(p[1], "pid"))->exe,
			    str_of(p[1], "executable"));
	cJSON_Delete(rec);
	rm_rf(c->res.standin_dir);
}

/* ---- users -------------------------------------------------------------- */

static void test_emulator__root_runs_as_nobody(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st[2];
	struct seen seen[8];
	struct passwd *daemon_pw;
	long daemon_uid, nobody = (long)nobody_uid();
	const cJSON *p[4];
	cJSON *rec;
	size_t ns, i;

	if (geteuid() != 0) {
		print_message("not root: the drop to nobody is not tested\n");
		skip();
	}
	daemon_pw = getpwnam("daemon");
	assert_non_null(daemon_pw);
	daemon_uid = (long)daemon_pw->pw_uid;
	step_init(&st[0], "defaults", shadow_args, zsh_only);
	step_init(&st[1], "mkpassdb", (char *[]){ "-dump", NULL }, NULL);
	st[1].user = "daemon";		/* a step may name its user */
	scenario_init(&sc, "users", st, 2);
	c->opts.keep = true;
	assert_int_equal(emulate1(c, &sc), 0);
	assert_no_children();
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 4), 3);
	ns = load_seen(c, seen, 8);
	assert_int_equal(ns, 3);
	for (i = 0; i < 3; i++) {
		const struct seen *s = seen_pid(seen, ns,
						num_of(p[i], "pid"));
		long want = i < 2 ? nobody : daemon_uid;

		assert_non_null(s);
		assert_int_equal(s->uid, want);
		assert_int_equal(s->euid, want);
		assert_int_equal(num_of(p[i], "uid"), want);
		assert_string_equal(str_of(p[i], "user"),
				    i < 2 ? "nobody" : "daemon");
	}
	cJSON_Delete(rec);
	rm_rf(c->res.standin_dir);
}

/* Run fd_emulate as an unprivileged user in a child; returns its rc. */
static int emulate_as_nobody(struct ctx *c, struct fd_scenario *sc)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct passwd *pw = getpwnam("nobody");

		if (!pw || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			_exit(99);
		_exit(-emulate1(c, sc));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static void test_emulator__other_user_needs_root(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	int rc;

	step_init(&st, "defaults", shadow_args, NULL);
	st.user = "root";
	scenario_init(&sc, "as-root", &st, 1);
	c->opts.dry_run = true;		/* refused before even that */
	rc = geteuid() == 0 ? emulate_as_nobody(c, &sc) : emulate1(c, &sc);
	if (geteuid() != 0)
		assert_non_null(strstr(c->diag.msg, "only root"));
	assert_int_equal(rc, -FD_ERR_PRIVILEGE);
	st.user = NULL;
	c->opts.run_user = "root";
	rc = geteuid() == 0 ? emulate_as_nobody(c, &sc) : emulate1(c, &sc);
	assert_int_equal(rc, -FD_ERR_PRIVILEGE);
	c->opts.run_user = NULL;
	st.user = "no-such-user-firedrill";
	assert_int_equal(emulate1(c, &sc), -FD_ERR_INVALID);
	assert_non_null(strstr(c->diag.msg, "no such user"));
	assert_no_children();
}

/* As root, a tmpdir nobody cannot enter is named in the error. */
static void test_emulator__unreachable_dir_explained(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;

	if (geteuid() != 0) {
		print_message("not root: no privilege drop to test\n");
		skip();
	}
	chmod(c->tmp, 0700);
	step_init(&st, "defaults", shadow_args, NULL);
	scenario_init(&sc, "locked", &st, 1);
	assert_int_equal(emulate1(c, &sc), -FD_ERR_SPAWN);
	assert_non_null(strstr(c->diag.msg, "cannot enter"));
	assert_no_children();
	assert_int_equal(count_private_dirs(c->tmp), 0);
}

/* ---- signals ------------------------------------------------------------ */

/* The pid after the last "stand-in '<name>': pid " in text, or 0. */
static long last_pid_of(const char *text, const char *name)
{
	char needle[96];
	const char *at, *last = NULL;

	snprintf(needle, sizeof(needle), "stand-in '%s': pid ", name);
	for (at = text; (at = strstr(at, needle)); at++)
		last = at;
	return last ? strtol(last + strlen(needle), NULL, 10) : 0;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

/* The first run's output log under tmp, or NULL. */
static char *read_log(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	char *text = NULL;

	while (d && !text && (de = readdir(d))) {
		char path[PATH_MAX * 2];

		if (strncmp(de->d_name, "firedrill-", 10))
			continue;
		snprintf(path, sizeof(path), "%s/%s/@output.log", tmp,
			 de->d_name);
		text = slurp(path);
	}
	if (d)
		closedir(d);
	return text;
}

/*
 * A helper process that, once step 1's chain (zsh, then its second
 * defaults) runs and has for 300 ms, writes their pids (as the stand-ins
 * logged them) to fd and signals us.  After 10 s it signals anyway.
 */
static pid_t signal_when_running(const struct ctx *c, int sig, int fd)
{
	pid_t parent = getpid(), pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		long pids[2] = { 0, 0 };
		int tries;

		for (tries = 0; tries < 1000 && !pids[1]; tries++) {
			char *text = read_log(c->tmp);

			if (text && count_of(text, "stand-in 'defaults': "
					     "pid ") >= 2) {
				pids[0] = last_pid_of(text, "zsh");
				pids[1] = last_pid_of(text, "defaults");
			}
			free(text);
			if (!pids[1])
				usleep(10000);
		}
		usleep(300000);
		if (write(fd, pids, sizeof(pids)) != sizeof(pids))
			_exit(1);
		kill(parent, sig);
		_exit(0);
	}
	return pid;
}

static const cJSON *scenario_line(const cJSON *rec)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, rec)
		if (!strcmp(str_of(l, "record"), "scenario"))
			return l;
	fail_msg("no scenario line");
	return NULL;
}

static void interrupt_with(struct ctx *c, int sig)
{
	struct fd_scenario sc;
	struct fd_step st[2];
	struct sigaction before, after;
	const cJSON *p[8], *l;
	cJSON *rec;
	int64_t t0;
	pid_t helper;
	long pids[2];
	int status, fds[2];
	size_t i;

	step_init(&st[0], "defaults", shadow_args, NULL);
	step_init(&st[1], "defaults", shadow_args, zsh_only);
	st[1].dwell_ms = 30000;
	st[1].timeout_ms = 60000;
	scenario_init(&sc, "interrupted", st, 2);
	sigaction(sig, NULL, &before);
	assert_int_equal(pipe(fds), 0);
	t0 = mono_ms();
	helper = signal_when_running(c, sig, fds[1]);
	close(fds[1]);
	assert_int_equal(emulate1(c, &sc), -FD_ERR_INTERRUPTED);
	assert_true(mono_ms() - t0 < 15000);
	assert_int_equal(fd_emulate_pending_signal(), sig);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(fds[0], pids, sizeof(pids)), sizeof(pids));
	close(fds[0]);
	assert_true(pids[0] > 0 && pids[1] > 0);
	assert_no_children();
	/* The caller's disposition is back. */
	sigaction(sig, NULL, &after);
	assert_ptr_equal(after.sa_handler, before.sa_handler);
	assert_int_equal(count_private_dirs(c->tmp), 0);
	/* firedrill's own kill is not an outside one. */
	assert_int_equal(c->res.killed, 0);
	assert_int_equal(c->res.timed_out, 0);
	assert_int_equal(c->res.spawned, 3);
	/* The record keeps step 0, and what ran of the step it stopped:
	 * zsh and defaults, with the pids they really had. */
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 8), 3);
	assert_int_equal(num_of(p[0], "step"), 0);
	assert_false(bool_of(p[0], "interrupted"));
	assert_int_equal(num_of(p[0], "exit_code"), 0);
	assert_int_equal(num_of(p[1], "pid"), pids[0]);
	assert_int_equal(num_of(p[2], "pid"), pids[1]);
	assert_int_equal(num_of(p[1], "ppid"), getpid());
	assert_int_equal(num_of(p[2], "ppid"), pids[0]);
	assert_string_equal(str_of(p[1], "name"), "zsh");
	assert_string_equal(str_of(p[2], "name"), "defaults");
	assert_true(bool_of(p[2], "target"));
	for (i = 1; i < 3; i++) {
		assert_int_equal(num_of(p[i], "step"), 1);
		assert_true(bool_of(p[i], "interrupted"));
		assert_false(bool_of(p[i], "timed_out"));
		assert_int_equal(num_of(p[i], "signal"), SIGKILL);
		assert_true(is_null(p[i], "exit_code"));
		/* It ran from its start until after the signal. */
		assert_true(strcmp(str_of(p[i], "start_time"),
				   str_of(p[i], "end_time")) < 0);
	}
	/* The scenario began with its first step, not at the interrupt. */
	l = scenario_line(rec);
	assert_false(bool_of(l, "complete"));
	assert_string_equal(str_of(l, "start_time"),
			    str_of(p[0], "start_time"));
	assert_true(strcmp(str_of(l, "start_time"),
			   str_of(l, "end_time")) < 0);
	assert_true(strcmp(str_of(l, "end_time"),
			   str_of(p[2], "end_time")) >= 0);
	l = cJSON_GetArrayItem(rec, cJSON_GetArraySize(rec) - 1);
	assert_string_equal(str_of(l, "record"), "end");
	assert_false(bool_of(l, "complete"));
	cJSON_Delete(rec);
}

static void test_emulator__sigint_cleans_up(void **state)
{
	interrupt_with(*state, SIGINT);
}

static void test_emulator__sigterm_cleans_up(void **state)
{
	interrupt_with(*state, SIGTERM);
}

/* A closed terminal must not leave stand-ins behind either. */
static void test_emulator__sighup_cleans_up(void **state)
{
	interrupt_with(*state, SIGHUP);
}

/* A stand-in killed by someone else (an endpoint's prevention) is
 * recorded with that signal, not as timed out. */
static void test_emulator__killed_from_outside(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st;
	const cJSON *p[4];
	cJSON *rec;
	pid_t helper, parent = getpid();
	int status;

	step_init(&st, "defaults", shadow_args, zsh_only);
	st.dwell_ms = 30000;
	scenario_init(&sc, "blocked", &st, 1);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		/* Find the target's pid in the output log, then kill it. */
		static const char needle[] = "stand-in 'defaults': pid ";
		int tries;

		for (tries = 0; tries < 500; tries++) {
			DIR *d = opendir(c->tmp);
			struct dirent *de;
			long pid = 0;

			while (d && (de = readdir(d))) {
				char path[PATH_MAX * 2], *text, *at;

				if (strncmp(de->d_name, "firedrill-", 10))
					continue;
				snprintf(path, sizeof(path),
					 "%s/%s/@output.log", c->tmp,
					 de->d_name);
				text = slurp(path);
				at = text ? strstr(text, needle) : NULL;
				if (at)
					pid = strtol(at + strlen(needle),
						     NULL, 10);
				free(text);
			}
			if (d)
				closedir(d);
			if (pid > 0) {
				kill((pid_t)pid, SIGTERM);
				_exit(0);
			}
			usleep(10000);
		}
		kill(parent, 0);
		_exit(1);
	}
	assert_int_equal(emulate1(c, &sc), 0);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_no_children();
	assert_int_equal(c->res.killed, 1);
	assert_int_equal(c->res.timed_out, 0);
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 4), 2);
	assert_int_equal(num_of(p[1], "signal"), SIGTERM);
	assert_false(bool_of(p[1], "timed_out"));
	assert_false(bool_of(p[1], "interrupted"));
	/* zsh, like a shell, exits 128 + the child's signal. */
	assert_int_equal(num_of(p[0], "exit_code"), 128 + SIGTERM);
	cJSON_Delete(rec);
}

/* ---- the run record ----------------------------------------------------- */

static void test_emulator__run_record_format(void **state)
{
	static const char *proc_keys[] = {
		"scenario", "step", "depth", "target", "pid", "ppid",
		"executable", "name", "args", "working_directory", "user",
		"uid", "gid", "start_time", "end_time", "exit_code",
		"signal", "timed_out", "interrupted", "sha256",
	};
	struct ctx *c = *state;
	struct fd_scenario sc[2];
	struct fd_scenario *scs[] = { &sc[0], &sc[1] };
	struct fd_step st[4];
	const cJSON *h, *em, *l;
	cJSON *rec;
	const char *expect_order[] = { "run", "scenario", "process",
				       "process", "scenario", "process",
				       "process", "process", "end" };
	size_t i = 0, k;

	step_init(&st[0], "defaults", shadow_args, NULL);
	step_init(&st[1], "mkpassdb", (char *[]){ "-dump", NULL }, NULL);
	step_init(&st[2], "defaults", (char *[]){ "ShadowHashData", "-dump",
						  NULL }, zsh_only);
	step_init(&st[3], "defaults", (char *[]){ "read", "quote\"back\\"
						  "slash\ttab", NULL }, NULL);
	scenario_init(&sc[0], "first", st, 2);
	scenario_init(&sc[1], "second", st + 2, 2);
	sc[1].source = "id: second\n# \"quoted\" \\ text\n";
	assert_int_equal(fd_emulate(scs, 2, &c->opts, &c->res, &c->diag), 0);
	assert_no_children();
	assert_int_equal(c->res.spawned, 5);
	rec = load_record(c);
	assert_int_equal(cJSON_GetArraySize(rec), 9);
	cJSON_ArrayForEach(l, rec)
		assert_string_equal(str_of(l, "record"), expect_order[i++]);

	h = cJSON_GetArrayItem(rec, 0);
	assert_string_equal(str_of(h, "run_id"), c->res.run_id);
	assert_int_equal(strlen(c->res.run_id), 25);
	assert_int_equal(c->res.run_id[8], 'T');
	assert_int_equal(c->res.run_id[15], 'Z');
	assert_int_equal(c->res.run_id[16], '-');
	assert_true(strlen(str_of(h, "host_name")) > 0);
#ifdef __linux__
	assert_string_equal(str_of(h, "os_type"), "linux");
#endif
	assert_true(strlen(str_of(h, "os_version")) > 0);
	assert_true(strlen(str_of(h, "arch")) > 0);
	assert_true(is_time(str_of(h, "start_time")));
	assert_true(strlen(str_of(h, "firedrill_version")) > 0);
	assert_string_equal(str_of(h, "standin_dir"), c->res.standin_dir);
	assert_string_equal(str_of(h, "run_user"), geteuid() == 0 ?
			    "nobody" : getpwuid(getuid())->pw_name);
	assert_false(bool_of(h, "dry_run"));
	/* The plan, so a validator can tell what never ran. */
	l = cJSON_GetObjectItemCaseSensitive(h, "planned");
	assert_int_equal(cJSON_GetArraySize(l), 2);
	assert_string_equal(cJSON_GetArrayItem(l, 1)->valuestring, "second");
	/* The end line: the run finished. */
	l = cJSON_GetArrayItem(rec, 8);
	assert_true(bool_of(l, "complete"));
	assert_int_equal(num_of(l, "scenarios"), 2);
	assert_true(is_time(str_of(l, "end_time")));
	em = cJSON_GetObjectItemCaseSensitive(h, "emulator");
	assert_true(cJSON_IsObject(em));
	assert_int_equal(num_of(em, "pid"), getpid());
	assert_int_equal(num_of(em, "ppid"), getppid());
	assert_true(str_of(em, "executable")[0] == '/');
	assert_string_equal(str_of(em, "name"),
			    strrchr(str_of(em, "executable"), '/') + 1);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		em, "args")) >= 1);
	assert_int_equal(num_of(em, "uid"), getuid());

	l = cJSON_GetArrayItem(rec, 4);
	assert_string_equal(str_of(l, "scenario"), "second");
	assert_string_equal(str_of(l, "path"), "test.yaml");
	assert_string_equal(str_of(l, "source"), sc[1].source);
	assert_true(is_time(str_of(l, "start_time")));
	assert_true(strcmp(str_of(l, "start_time"),
			   str_of(l, "end_time")) <= 0);
	assert_true(bool_of(l, "complete"));

	cJSON_ArrayForEach(l, rec) {
		if (strcmp(str_of(l, "record"), "process"))
			continue;
		for (k = 0; k < sizeof(proc_keys) / sizeof(proc_keys[0]); k++)
			assert_non_null(cJSON_GetObjectItemCaseSensitive(
				l, proc_keys[k]));
		assert_true(is_time(str_of(l, "start_time")));
		assert_true(is_time(str_of(l, "end_time")));
		assert_false(bool_of(l, "interrupted"));
		assert_non_null(strstr(str_of(l, "working_directory"),
				       c->res.run_id));
	}
	l = cJSON_GetArrayItem(rec, 7);
	assert_args(l, (char *[]){ "defaults", "read",
				   "quote\"back\\slash\ttab", NULL });
	assert_int_equal(num_of(l, "step"), 1);
	cJSON_Delete(rec);
}

/* Many short steps: the end-of-step path must never lose a status. */
static void test_emulator__many_steps(void **state)
{
	struct ctx *c = *state;
	struct fd_scenario sc;
	struct fd_step st[40];
	const cJSON *p[80];
	cJSON *rec;
	size_t i;

	for (i = 0; i < 40; i++)
		step_init(&st[i], "defaults", shadow_args,
			  i % 2 ? zsh_only : NULL);
	scenario_init(&sc, "many", st, 40);
	assert_int_equal(emulate1(c, &sc), 0);
	assert_no_children();
	rec = load_record(c);
	assert_int_equal(procs_of(rec, p, 80), 60);
	for (i = 0; i < 60; i++) {
		assert_int_equal(num_of(p[i], "exit_code"), 0);
		assert_false(bool_of(p[i], "timed_out"));
	}
	cJSON_Delete(rec);
}

/* ---- core/jsonw --------------------------------------------------------- */

static void test_emulator__jsonw_escapes(void **state)
{
	struct fd_jsonw w;
	cJSON *j;
	const char raw[] = "q\" b\\ nl\n tab\t ctl\x01 del\x7f \xc3\xa9 "
			   "bad\xff end";

	(void)state;
	fd_jsonw_init(&w);
	fd_jsonw_begin_object(&w);
	fd_jsonw_key(&w, "s");
	fd_jsonw_string(&w, raw);
	fd_jsonw_key(&w, "a");
	fd_jsonw_begin_array(&w);
	fd_jsonw_int(&w, -5);
	fd_jsonw_bool(&w, true);
	fd_jsonw_null(&w);
	fd_jsonw_begin_object(&w);
	fd_jsonw_end_object(&w);
	fd_jsonw_begin_array(&w);
	fd_jsonw_end_array(&w);
	fd_jsonw_string(&w, NULL);
	fd_jsonw_end_array(&w);
	fd_jsonw_key(&w, "n");
	fd_jsonw_int(&w, 1234567890123LL);
	fd_jsonw_end_object(&w);
	assert_int_equal(fd_jsonw_error(&w), 0);
	assert_string_equal(w.buf,
			    "{\"s\":\"q\\\" b\\\\ nl\\n tab\\t ctl\\u0001 "
			    "del\x7f \xc3\xa9 bad\\ufffd end\","
			    "\"a\":[-5,true,null,{},[],null],"
			    "\"n\":1234567890123}");
	j = cJSON_Parse(w.buf);
	assert_non_null(j);
	cJSON_Delete(j);
	fd_jsonw_newline(&w);
	fd_jsonw_begin_object(&w);
	fd_jsonw_end_object(&w);
	assert_non_null(strstr(w.buf, "}\n{}"));
	fd_jsonw_free(&w);
}

static void test_emulator__jsonw_utf8(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },		/* euro */
		{ "\xf0\x9f\x94\xa5", "\"\xf0\x9f\x94\xa5\"" },	/* fire */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },		/* overlong */
		/* a surrogate */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },		/* cut short */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fd_jsonw w;

		fd_jsonw_init(&w);
		fd_jsonw_string(&w, cases[i].in);
		assert_string_equal(w.buf, cases[i].out);
		fd_jsonw_free(&w);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_emulator__argv_exact),
		T(test_emulator__parent_chain_ppids),
		T(test_emulator__deadline_kills_group),
		T(test_emulator__tampered_copy_refused),
		T(test_emulator__standin_refuses_tampered_child),
		T(test_emulator__dir_removed_and_kept),
		T(test_emulator__dry_run_creates_nothing),
		T(test_emulator__bad_names_refused),
		T(test_emulator__bad_attributes_refused),
		T(test_emulator__step_attributes_applied),
		T(test_emulator__step_attributes_default),
		T(test_emulator__root_runs_as_nobody),
		T(test_emulator__other_user_needs_root),
		T(test_emulator__unreachable_dir_explained),
		T(test_emulator__sigint_cleans_up),
		T(test_emulator__sigterm_cleans_up),
		T(test_emulator__sighup_cleans_up),
		T(test_emulator__killed_from_outside),
		T(test_emulator__run_record_format),
		T(test_emulator__many_steps),
		cmocka_unit_test(test_emulator__jsonw_escapes),
		cmocka_unit_test(test_emulator__jsonw_utf8),
	};

	/* FD_TEST_FILTER=pattern runs only the matching cases. */
	if (getenv("FD_TEST_FILTER"))
		cmocka_set_test_filter(getenv("FD_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
