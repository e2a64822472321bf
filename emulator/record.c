/*
 * record.c - write run.jsonl as docs/run-record.md describes: the header
 * at the start, then per scenario, once it is over, its line and one line
 * per process of its completed steps (and of a step a stop signal cut
 * short).  Lines are built whole in memory (core/jsonw), then written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifdef __APPLE__
#include <crt_externs.h>
#include <mach-o/dyld.h>
#endif

#include "emu.h"

#ifndef FD_VERSION
#define FD_VERSION "0.0.0"
#endif

void fd_record_time(int64_t us, char *buf, size_t len)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(us % 1000000));
}

static void put_time(struct fd_jsonw *w, const char *key, int64_t us)
{
	char buf[40];

	fd_record_time(us, buf, sizeof(buf));
	fd_jsonw_key(w, key);
	fd_jsonw_string(w, buf);
}

static void put_str(struct fd_jsonw *w, const char *key, const char *val)
{
	fd_jsonw_key(w, key);
	fd_jsonw_string(w, val);
}

static void put_int(struct fd_jsonw *w, const char *key, long long val)
{
	fd_jsonw_key(w, key);
	fd_jsonw_int(w, val);
}

static void put_bool(struct fd_jsonw *w, const char *key, bool val)
{
	fd_jsonw_key(w, key);
	fd_jsonw_bool(w, val);
}

static int flush(struct fd_emu *e, const struct fd_jsonw *w)
{
	if (fd_jsonw_error(w))
		return fd_diag_set(e->diag, FD_ERR_NOMEM, 0, 0,
				   "out of memory writing the run record");
	if (fd_write_all(e->rec_fd, w->buf, w->len) < 0)
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
				   "cannot write %s/run.jsonl: %s",
				   e->opts->run_dir, strerror(errno));
	return 0;
}

void fd_record_argv(struct fd_jsonw *w, const struct fd_step *st, size_t d)
{
	const char *argv[FD_PLAN_MAX_ARGS + 1];
	size_t argc = fd_emu_argv(st, d, argv), i;

	fd_jsonw_begin_array(w);
	for (i = 0; i < argc; i++)
		fd_jsonw_string(w, argv[i]);
	fd_jsonw_end_array(w);
}

/* The emulating process's executable and argv, as the kernel has them. */
static void self_exe(char *buf, size_t len)
{
#ifdef __APPLE__
	char raw[PATH_MAX];
	uint32_t size = sizeof(raw);

	buf[0] = '\0';
	if (_NSGetExecutablePath(raw, &size) == 0 && len >= PATH_MAX &&
	    !realpath(raw, buf))
		snprintf(buf, len, "%s", raw);
#else
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
#endif
}

static void self_args(struct fd_jsonw *w)
{
#ifdef __APPLE__
	char **argv = *_NSGetArgv();
	int argc = *_NSGetArgc(), i;

	fd_jsonw_begin_array(w);
	for (i = 0; i < argc; i++)
		fd_jsonw_string(w, argv[i]);
	fd_jsonw_end_array(w);
#else
	char buf[65536];
	size_t len = 0, i = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	while (fd >= 0 && len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	fd_jsonw_begin_array(w);
	while (i < len) {
		size_t arg = strnlen(buf + i, len - i);

		fd_jsonw_string_len(w, buf + i, arg);
		i += arg + 1;
	}
	fd_jsonw_end_array(w);
#endif
}

static const char *os_type(const char *sysname, char *buf, size_t len)
{
	size_t i;

	if (!strcmp(sysname, "Darwin"))
		return "macos";
	for (i = 0; sysname[i] && i + 1 < len; i++) {
		char c = sysname[i];

		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	buf[i] = '\0';
	return buf;
}

int fd_record_header(struct fd_emu *e, const char *run_id)
{
	struct fd_jsonw w;
	struct utsname u;
	char exe[PATH_MAX], type[sizeof(u.sysname)];
	const char *base;
	int rc;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	self_exe(exe, sizeof(exe));
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	fd_jsonw_init(&w);
	fd_jsonw_begin_object(&w);
	put_str(&w, "record", "run");
	put_str(&w, "run_id", run_id);
	put_str(&w, "host_name", u.nodename);
	put_str(&w, "os_type", os_type(u.sysname, type, sizeof(type)));
	put_str(&w, "os_version", u.release);
	put_str(&w, "arch", u.machine);
	put_time(&w, "start_time", fd_emu_now_us());
	put_str(&w, "firedrill_version", FD_VERSION);
	fd_jsonw_key(&w, "emulator");
	fd_jsonw_begin_object(&w);
	put_int(&w, "pid", (long long)e->self);
	put_int(&w, "ppid", (long long)getppid());
	put_str(&w, "name", base[0] ? base : "firedrill");
	put_str(&w, "executable", exe);
	fd_jsonw_key(&w, "args");
	self_args(&w);
	put_str(&w, "user", e->self_cred.name);
	put_int(&w, "uid", (long long)e->self_cred.uid);
	fd_jsonw_end_object(&w);
	put_str(&w, "standin_dir", e->dir);
	put_str(&w, "run_user", e->def_cred.name);
	put_bool(&w, "dry_run", false);
	fd_jsonw_key(&w, "planned");
	fd_jsonw_begin_array(&w);
	for (size_t i = 0; i < e->nscs; i++)
		fd_jsonw_string(&w, e->scs[i]->id);
	fd_jsonw_end_array(&w);
	fd_jsonw_end_object(&w);
	fd_jsonw_newline(&w);
	rc = flush(e, &w);
	fd_jsonw_free(&w);
	return rc;
}

/*
 * The last line: how many scenarios ran and whether the run finished.  A
 * record without it was cut short (the emulator was killed), and the
 * validator says so instead of passing what it has.
 */
int fd_record_end(struct fd_emu *e, size_t done, bool complete)
{
	struct fd_jsonw w;
	int rc;

	fd_jsonw_init(&w);
	fd_jsonw_begin_object(&w);
	put_str(&w, "record", "end");
	put_time(&w, "end_time", fd_emu_now_us());
	put_int(&w, "scenarios", (long long)done);
	put_bool(&w, "complete", complete);
	fd_jsonw_end_object(&w);
	fd_jsonw_newline(&w);
	rc = flush(e, &w);
	fd_jsonw_free(&w);
	return rc;
}

/* The step's extra environment, as {"NAME": "value", ...}. */
static void put_env(struct fd_jsonw *w, const struct fd_step *st)
{
	size_t i;

	fd_jsonw_key(w, "env");
	fd_jsonw_begin_object(w);
	for (i = 0; st->env.v && i < st->env.n; i++) {
		const char *eq = strchr(st->env.v[i], '=');
		char name[FD_ENV_BYTES + 1];

		if (!eq || (size_t)(eq - st->env.v[i]) > FD_ENV_BYTES)
			continue;	/* check_step() refused those */
		memcpy(name, st->env.v[i], (size_t)(eq - st->env.v[i]));
		name[eq - st->env.v[i]] = '\0';
		fd_jsonw_key(w, name);
		fd_jsonw_string(w, eq + 1);
	}
	fd_jsonw_end_object(w);
}

static void put_process(struct fd_jsonw *w, const struct fd_emu *e,
			const struct fd_scenario *sc, size_t si,
			const struct fd_emu_cred *cr,
			const struct fd_emu_proc *p, size_t nprocs)
{
	const struct fd_step *st = &sc->steps[si];
	size_t d = (size_t)p->depth;
	char path[PATH_MAX], cwd[PATH_MAX];

	fd_emu_cwd(e, sc, st, cwd, sizeof(cwd));
	fd_emu_copy_path(e, sc, st, d, path, sizeof(path));
	fd_jsonw_begin_object(w);
	put_str(w, "record", "process");
	put_str(w, "scenario", sc->id);
	put_int(w, "step", (long long)si);
	put_int(w, "depth", p->depth);
	put_bool(w, "target", d + 1 == nprocs);
	put_int(w, "pid", (long long)p->pid);
	put_int(w, "ppid", (long long)p->ppid);
	put_str(w, "executable", path);
	put_str(w, "name", fd_emu_name(st, d));
	fd_jsonw_key(w, "args");
	fd_record_argv(w, st, d);
	put_str(w, "working_directory", cwd);
	put_env(w, st);
	put_str(w, "user", cr->name);
	put_int(w, "uid", (long long)cr->uid);
	put_int(w, "gid", (long long)cr->gid);
	put_time(w, "start_time", p->start_us);
	put_time(w, "end_time", p->end_us);
	fd_jsonw_key(w, "exit_code");
	if (p->exit_code >= 0)
		fd_jsonw_int(w, p->exit_code);
	else
		fd_jsonw_null(w);
	fd_jsonw_key(w, "signal");
	if (p->signal)
		fd_jsonw_int(w, p->signal);
	else
		fd_jsonw_null(w);
	put_bool(w, "timed_out", p->timed_out);
	put_bool(w, "interrupted", p->interrupted);
	put_str(w, "sha256", e->sha_hex);
	fd_jsonw_end_object(w);
	fd_jsonw_newline(w);
}

void fd_record_step(struct fd_jsonw *w, const struct fd_emu *e,
		    const struct fd_scenario *sc, size_t si,
		    const struct fd_emu_cred *cr,
		    const struct fd_emu_proc *procs, size_t nprocs)
{
	size_t d;

	for (d = 0; d < nprocs; d++)
		if (procs[d].started)
			put_process(w, e, sc, si, cr, &procs[d], nprocs);
}

int fd_record_scenario(struct fd_emu *e, const struct fd_scenario *sc,
		       int64_t start_us, int64_t end_us, bool complete,
		       const struct fd_jsonw *procs)
{
	struct fd_jsonw w;
	int rc;

	fd_jsonw_init(&w);
	fd_jsonw_begin_object(&w);
	put_str(&w, "record", "scenario");
	put_str(&w, "scenario", sc->id);
	put_str(&w, "path", sc->path ? sc->path : "");
	put_str(&w, "source", sc->source ? sc->source : "");
	if (sc->control_of)
		put_str(&w, "control_of", sc->control_of);
	put_time(&w, "start_time", start_us);
	put_time(&w, "end_time", end_us);
	put_bool(&w, "complete", complete);
	fd_jsonw_end_object(&w);
	fd_jsonw_newline(&w);
	rc = flush(e, &w);
	if (!rc)
		rc = flush(e, procs);
	fd_jsonw_free(&w);
	return rc;
}
