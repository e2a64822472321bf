/*
 * emulator.c - fd_emulate(): check everything up front (names, sizes,
 * users), then describe the plan (dry run) or make the private directory,
 * run each scenario's steps in order and write the run record.  Stop
 * signals only set a flag and wake the wait loop through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef __APPLE__
#include <sys/random.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "emu.h"

/* The stand-in's sha256, pinned by the build (Makefile: STANDIN_PIN). */
#if defined(__has_include)
#if __has_include("standin_sha256.h")
#include "standin_sha256.h"
#endif
#endif

#define STANDIN_MAX_BYTES (256L << 20)
#define DWELL_MAX_MS 86400000L	/* a day */
#define DEFAULT_TIMEOUT_MS 10000L

static volatile sig_atomic_t stop_sig;	/* set by the handler */
static volatile sig_atomic_t wake_wr = -1;	/* the handler's pipe end */
static int pending_sig;			/* for the caller, after a run */
static fd_emulate_hook_fn hook_fn;
static void *hook_arg;

int fd_emulate_pending_signal(void)
{
	return pending_sig;
}

void fd_emulate_set_hook(fd_emulate_hook_fn fn, void *arg)
{
	hook_fn = fn;
	hook_arg = arg;
}

int64_t fd_emu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t fd_emu_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *fd_emu_name(const struct fd_step *st, size_t d)
{
	return d < st->parents.n ? st->parents.v[d] : st->run;
}

size_t fd_emu_chain_len(const struct fd_step *st)
{
	return st->parents.n + 1;
}

int fd_emu_copy_rel(const struct fd_step *st, size_t d, char *buf,
		    size_t len)
{
	const char *name = fd_emu_name(st, d);

	if (d < st->parents.n || !st->path)
		return fd_emu_path(buf, len, name, NULL, NULL);
	return fd_emu_path(buf, len, st->path, name, NULL);
}

int fd_emu_copy_path(const struct fd_emu *e, const struct fd_scenario *sc,
		     const struct fd_step *st, size_t d, char *buf,
		     size_t len)
{
	char rel[PATH_MAX];

	if (fd_emu_copy_rel(st, d, rel, sizeof(rel)) < 0)
		return -1;
	return fd_emu_path(buf, len, e->dir, sc->id, rel);
}

int fd_emu_cwd(const struct fd_emu *e, const struct fd_scenario *sc,
	       const struct fd_step *st, char *buf, size_t len)
{
	return fd_emu_path(buf, len, e->dir, sc->id, st->cwd);
}

size_t fd_emu_argv(const struct fd_step *st, size_t d, const char **argv)
{
	size_t i;

	argv[0] = fd_emu_name(st, d);
	if (d < st->parents.n) {
		argv[1] = NULL;
		return 1;
	}
	for (i = 0; i < st->args.n; i++)
		argv[i + 1] = st->args.v[i];
	argv[i + 1] = NULL;
	return i + 1;
}

int fd_emu_path(char *buf, size_t len, const char *a, const char *b,
		const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t off = 0, i, n;

	for (i = 0; i < 3 && parts[i]; i++) {
		n = strlen(parts[i]);
		if (off + (i > 0) + n >= len) {
			if (len)
				buf[0] = '\0';
			return -1;
		}
		if (i)
			buf[off++] = '/';
		memcpy(buf + off, parts[i], n);
		off += n;
	}
	buf[off] = '\0';
	return 0;
}

static int random_bytes(void *buf, size_t len)
{
	int fd;
	ssize_t n;

	if (getentropy(buf, len) == 0)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int fd_emu_run_id(char *buf, size_t len)
{
	unsigned char r[4];
	time_t now = time(NULL);
	struct tm tm;

	if (random_bytes(r, sizeof(r)) < 0)
		return -FD_ERR_IO;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ-%02x%02x%02x%02x",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, r[0], r[1], r[2], r[3]);
	return 0;
}

/* ---- checks made before anything is created ----------------------------- */

/* A scenario id: [A-Za-z0-9._-]+, and not "." or "..". */
static bool safe_id(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > 128 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* A stand-in name: one path component of printable ASCII. */
static bool safe_name(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static int step_error(struct fd_diag *diag, const struct fd_scenario *sc,
		      const struct fd_step *st, enum fd_err err,
		      const char *what, const char *detail)
{
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s",
			 sc->path ? sc->path : "");
	return fd_diag_set(diag, err, st->pos.line, st->pos.col,
			   "scenario %s: %s%s%s", sc->id, what,
			   detail ? ": " : "", detail ? detail : "");
}

/* What is wrong with a step's extra environment, or NULL. */
static const char *env_problem(const struct fd_step *st, const char **which)
{
	size_t bytes = 0, i;

	*which = NULL;
	if (st->env.n > FD_ENV_MAX)
		return "more than 32 environment variables";
	for (i = 0; i < st->env.n; i++) {
		const char *kv = st->env.v ? st->env.v[i] : NULL;
		const char *eq = kv ? strchr(kv, '=') : NULL, *p;

		if (!eq)
			return "an environment entry is not NAME=value";
		*which = kv;
		if (!fd_env_name_ok(kv, (size_t)(eq - kv)))
			return "bad environment variable name";
		if (fd_env_name_refusal(kv, (size_t)(eq - kv)))
			return "environment variable not allowed (see "
			       "scenarios/README.md)";
		for (p = eq + 1; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return "control character in an environment "
				       "value";
		bytes += strlen(kv);
	}
	*which = NULL;
	if (bytes > FD_ENV_BYTES)
		return "environment larger than 4096 bytes";
	return NULL;
}

/* cwd and path: folders inside the scenario's, of a path that fits. */
static int check_folders(struct fd_emu *e, const struct fd_scenario *sc,
			 const struct fd_step *st, size_t dirlen)
{
	const char *dirs[] = { st->cwd, st->path };
	const char *what[] = { "unsafe cwd", "unsafe path" };
	size_t i;

	for (i = 0; i < 2; i++) {
		if (!dirs[i])
			continue;
		if (!fd_subdir_ok(dirs[i]))
			return step_error(e->diag, sc, st, FD_ERR_INVALID,
					  what[i], dirs[i]);
		if (dirlen + strlen(dirs[i]) + NAME_MAX + 2 >= PATH_MAX)
			return step_error(e->diag, sc, st, FD_ERR_INVALID,
					  "folder path too long", dirs[i]);
	}
	return 0;
}

static int check_step(struct fd_emu *e, const struct fd_scenario *sc,
		      const struct fd_step *st)
{
	size_t dirlen = strlen(e->dir) + strlen(sc->id) + 2, bytes = 0, i;
	const char *why, *which;
	int rc = check_folders(e, sc, st, dirlen);

	if (rc < 0)
		return rc;
	why = env_problem(st, &which);
	if (why)
		return step_error(e->diag, sc, st, FD_ERR_INVALID, why, which);

	if (!safe_name(st->run))
		return step_error(e->diag, sc, st, FD_ERR_INVALID,
				  "unsafe stand-in name (one path "
				  "component of printable ASCII, not . or "
				  "..)", st->run ? st->run : "(none)");
	if (st->parents.n > FD_PLAN_MAX_DEPTH)
		return step_error(e->diag, sc, st, FD_ERR_INVALID,
				  "too many parents", NULL);
	for (i = 0; i <= st->parents.n; i++) {
		const char *name = fd_emu_name(st, i);

		if (!safe_name(name))
			return step_error(e->diag, sc, st, FD_ERR_INVALID,
					  "unsafe parent name",
					  name ? name : "(none)");
		if (dirlen + strlen(name) + 1 >= PATH_MAX)
			return step_error(e->diag, sc, st, FD_ERR_INVALID,
					  "path of the stand-in too long",
					  name);
	}
	if (st->args.n + 1 > FD_PLAN_MAX_ARGS)
		return step_error(e->diag, sc, st, FD_ERR_INVALID,
				  "too many arguments", NULL);
	/* The plan record naming this step's stand-in: where its copy is,
	 * then its argv (its name, then the arguments). */
	bytes = 2 * (strlen(st->run) + 1) +
		(st->path ? strlen(st->path) + 1 : 0);
	for (i = 0; i < st->args.n; i++) {
		if (!st->args.v[i])
			return step_error(e->diag, sc, st, FD_ERR_INVALID,
					  "missing argument", NULL);
		bytes += strlen(st->args.v[i]) + 1;
	}
	if (bytes > FD_PLAN_MAX_BYTES)
		return step_error(e->diag, sc, st, FD_ERR_INVALID,
				  "arguments too long", NULL);
	if (st->dwell_ms < 0 || st->dwell_ms > DWELL_MAX_MS ||
	    st->timeout_ms < 0)
		return step_error(e->diag, sc, st, FD_ERR_INVALID,
				  "dwell_ms must be 0 to 86400000 and "
				  "timeout_ms not negative", NULL);
	return 0;
}

static int check_scenarios(struct fd_emu *e, struct fd_scenario *const *scs,
			   size_t n)
{
	size_t i, j;
	int rc;

	for (i = 0; i < n; i++) {
		const struct fd_scenario *sc = scs[i];

		if (!sc)
			return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
					   "scenario %zu is missing", i);
		if (!safe_id(sc->id)) {
			snprintf(e->diag ? e->diag->file : (char[1]){ 0 },
				 e->diag ? sizeof(e->diag->file) : 1, "%s",
				 sc->path ? sc->path : "");
			return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
					   "unsafe scenario id '%s' (allowed: "
					   "A-Z a-z 0-9 . _ -, not . or ..)",
					   sc->id ? sc->id : "");
		}
		for (j = 0; j < i; j++)
			if (!strcmp(scs[j]->id, sc->id))
				return fd_diag_set(e->diag, FD_ERR_INVALID,
						   0, 0, "scenario id '%s' is "
						   "used twice in this run",
						   sc->id);
		if (sc->nsteps && !sc->steps)
			return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
					   "scenario %s: steps missing",
					   sc->id);
		for (j = 0; j < sc->nsteps; j++) {
			rc = check_step(e, sc, &sc->steps[j]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ---- users -------------------------------------------------------------- */

static int cred_from(const struct passwd *pw, struct fd_emu_cred *cr)
{
	if (strlen(pw->pw_name) >= sizeof(cr->name))
		return -FD_ERR_INVALID;
	snprintf(cr->name, sizeof(cr->name), "%s", pw->pw_name);
	cr->uid = pw->pw_uid;
	cr->gid = pw->pw_gid;
	cr->drop = geteuid() == 0 && pw->pw_uid != 0;
	return 0;
}

static int lookup_name(const char *name, struct fd_emu_cred *cr)
{
	struct passwd pw, *found = NULL;
	char buf[16384];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return -FD_ERR_NOTFOUND;
	return cred_from(found, cr);
}

static void lookup_self(struct fd_emu_cred *cr)
{
	struct passwd pw, *found = NULL;
	char buf[16384];

	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) == 0 &&
	    found && cred_from(found, cr) == 0) {
		cr->drop = false;
		return;
	}
	snprintf(cr->name, sizeof(cr->name), "%ld", (long)getuid());
	cr->uid = getuid();
	cr->gid = getgid();
	cr->drop = false;
}

/*
 * The credentials for a user a scenario or the options name.  As root any
 * user will do; anyone else can only run stand-ins as themselves.
 */
static int resolve(struct fd_emu *e, const char *name,
		   struct fd_emu_cred *cr, const char **why)
{
	if (lookup_name(name, cr) < 0) {
		*why = "no such user on this machine";
		return -FD_ERR_INVALID;
	}
	if (geteuid() != 0 && cr->uid != e->self_cred.uid) {
		*why = "only root can run stand-ins as another user";
		return -FD_ERR_PRIVILEGE;
	}
	if (geteuid() == 0 && (cr->uid == 0 || cr->gid == 0)) {
		*why = "stand-ins never run with root's privileges (user or "
		       "group 0)";
		return -FD_ERR_PRIVILEGE;
	}
	if (geteuid() != 0)
		*cr = e->self_cred;
	return 0;
}

static int resolve_users(struct fd_emu *e, struct fd_scenario *const *scs,
			 size_t n)
{
	const char *name = e->opts->run_user, *why = NULL;
	size_t i, j, k;
	int rc;

	lookup_self(&e->self_cred);
	if (!name && geteuid() == 0)
		name = "nobody";
	if (!name) {
		e->def_cred = e->self_cred;
	} else if ((rc = resolve(e, name, &e->def_cred, &why)) < 0) {
		return fd_diag_set(e->diag, -rc, 0, 0, "run user '%s': %s "
				   "(firedrill runs as %s)", name, why,
				   e->self_cred.name);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < scs[i]->nsteps; j++) {
			const struct fd_step *st = &scs[i]->steps[j];
			struct fd_emu_cred cr, *more;

			if (!st->user)
				continue;
			for (k = 0; k < e->ncreds; k++)
				if (!strcmp(e->creds[k].name, st->user))
					break;
			if (k < e->ncreds)
				continue;
			rc = resolve(e, st->user, &cr, &why);
			if (rc < 0) {
				char detail[256];

				snprintf(detail, sizeof(detail), "%s (%s; "
					 "firedrill runs as %s)", st->user,
					 why, e->self_cred.name);
				return step_error(e->diag, scs[i], st, -rc,
						  "cannot run as user",
						  detail);
			}
			/* Keyed by the name the scenario used. */
			snprintf(cr.name, sizeof(cr.name), "%s", st->user);
			more = realloc(e->creds, (e->ncreds + 1) *
				       sizeof(*more));
			if (!more)
				return -FD_ERR_NOMEM;
			e->creds = more;
			e->creds[e->ncreds++] = cr;
		}
	}
	return 0;
}

static const struct fd_emu_cred *step_cred(const struct fd_emu *e,
					   const struct fd_step *st)
{
	size_t k;

	if (!st->user)
		return &e->def_cred;
	for (k = 0; k < e->ncreds; k++)
		if (!strcmp(e->creds[k].name, st->user))
			return &e->creds[k];
	return &e->def_cred;	/* not reached: resolve_users saw it */
}

/* ---- set-up ------------------------------------------------------------- */

/*
 * Others must not be able to rename or replace what we make in the
 * temporary directory: it must be ours or root's, and if others may write
 * to it, sticky (as /tmp is).
 */
static bool unsafe_tmpdir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return false;	/* creating the directory will say why */
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return true;
	return (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX);
}

static int pick_dir(struct fd_emu *e, const char *run_id)
{
	const char *tmp = e->opts->tmpdir;

	if (!tmp || !*tmp)
		tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* Canonical (macOS: /var -> /private/var), so the paths in the
	 * run record are the ones the kernel reports. */
	if (!realpath(tmp, e->tmpdir))
		return fd_diag_set(e->diag, FD_ERR_NOTFOUND, 0, 0,
				   "temporary directory %s: %s", tmp,
				   strerror(errno));
	if (unsafe_tmpdir(e->tmpdir))
		return fd_diag_set(e->diag, FD_ERR_PRIVILEGE, 0, 0,
				   "temporary directory %s can be changed by "
				   "other users (writable without the sticky "
				   "bit, or not ours); set TMPDIR or --tmpdir "
				   "to a safe one", e->tmpdir);
	if ((size_t)snprintf(e->dir, sizeof(e->dir), "%s/firedrill-%s",
			     e->tmpdir, run_id) >= sizeof(e->dir))
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "temporary directory path too long");
	return 0;
}

static int load_standin(struct fd_emu *e)
{
	const char *path = e->opts->standin;
	struct stat st;
	size_t off = 0;
	int fd;

	if (!path)
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "no stand-in program given");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd_diag_set(e->diag, FD_ERR_NOTFOUND, 0, 0,
				   "stand-in program %s: %s", path,
				   strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > STANDIN_MAX_BYTES) {
		close(fd);
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "stand-in program %s is not a regular "
				   "file of a sane size", path);
	}
	e->standin_len = (size_t)st.st_size;
	e->standin = malloc(e->standin_len);
	while (e->standin && off < e->standin_len) {
		ssize_t n = read(fd, e->standin + off, e->standin_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!e->standin)
		return fd_diag_set(e->diag, FD_ERR_NOMEM, 0, 0,
				   "out of memory");
	if (off != e->standin_len)
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
				   "cannot read stand-in program %s", path);
	if (!memmem(e->standin, e->standin_len, FD_STANDIN_MARK,
		    strlen(FD_STANDIN_MARK)))
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "%s is not firedrill's stand-in program "
				   "(it lacks the stand-in's mark); only the "
				   "stand-in ever runs", path);
	fd_sha256_buf(e->standin, e->standin_len, e->sha);
	fd_sha256_hex(e->sha, e->sha_hex);
#ifdef FD_STANDIN_SHA256
	if (strcmp(e->sha_hex, FD_STANDIN_SHA256))
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "%s is not the stand-in this firedrill was "
				   "built with (sha256 differs); only that "
				   "stand-in ever runs", path);
#endif
	return 0;
}

static int open_record(struct fd_emu *e, const char *run_id)
{
	char path[PATH_MAX];

	if (!e->opts->run_dir)
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "no run directory given");
	if (fd_mkdirs(e->opts->run_dir, NULL, 0) < 0)
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
				   "cannot create run directory %s: %s",
				   e->opts->run_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/run.jsonl", e->opts->run_dir);
	/* O_NOFOLLOW: a link planted in the run folder is not followed. */
	e->rec_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
			 O_CLOEXEC,
			 0644);
	if (e->rec_fd < 0)
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
				   "cannot create %s: %s", path,
				   strerror(errno));
	return fd_record_header(e, run_id);
}

/* ---- signals ------------------------------------------------------------ */

/* The signals that stop a run: a closed terminal (SIGHUP) must not
 * leave stand-ins behind any more than ^C does. */
static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP };
#define NSTOP (sizeof(stop_sigs) / sizeof(stop_sigs[0]))

struct sig_state {
	struct sigaction stop[NSTOP], pipe, chld;
	int wake[2];
	int subreaper;		/* the previous setting, Linux */
};

static void on_stop(int sig)
{
	int saved = errno;

	stop_sig = sig;
	if (wake_wr >= 0) {
		ssize_t n = write(wake_wr, "", 1);

		(void)n;
	}
	errno = saved;
}

static int signals_start(struct sig_state *s, struct fd_emu *e)
{
	struct sigaction sa;
	size_t i;

	if (pipe(s->wake) < 0)
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
				   "cannot make a pipe: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		fcntl(s->wake[i], F_SETFD, FD_CLOEXEC);
		fcntl(s->wake[i], F_SETFL, O_NONBLOCK);
	}
	stop_sig = 0;
	wake_wr = s->wake[1];
	e->wake_fd = s->wake[0];
	e->stop = &stop_sig;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: waits end early */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSTOP; i++)
		sigaddset(&sa.sa_mask, stop_sigs[i]);
	for (i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &sa, &s->stop[i]);
	/* A stand-in that dies early must not kill us with SIGPIPE, and a
	 * caller's SIG_IGN for SIGCHLD would make children unwaitable. */
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, &s->pipe);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, &s->chld);
#ifdef __linux__
	/* Orphans of a killed chain come back to us to be reaped. */
	if (prctl(PR_GET_CHILD_SUBREAPER, &s->subreaper) < 0)
		s->subreaper = 0;
	e->subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
#endif
	return 0;
}

static void signals_stop(struct sig_state *s, struct fd_emu *e)
{
	size_t i;

#ifdef __linux__
	if (e->subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, s->subreaper);
#endif
	for (i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &s->stop[i], NULL);
	sigaction(SIGPIPE, &s->pipe, NULL);
	sigaction(SIGCHLD, &s->chld, NULL);
	wake_wr = -1;
	close(s->wake[0]);
	close(s->wake[1]);
	e->wake_fd = -1;
}

/* ---- the dry run -------------------------------------------------------- */

static void print_argv(FILE *out, const struct fd_step *st, size_t d)
{
	struct fd_jsonw w;

	fd_jsonw_init(&w);
	fd_record_argv(&w, st, d);
	fputs(fd_jsonw_error(&w) ? "[?]" : w.buf, out);
	fd_jsonw_free(&w);
}

static void print_step(const struct fd_emu *e, const struct fd_scenario *sc,
		       size_t si)
{
	const struct fd_step *st = &sc->steps[si];
	const struct fd_emu_cred *cr = step_cred(e, st);
	FILE *out = e->opts->log;
	size_t n = fd_emu_chain_len(st), d, k;
	char path[PATH_MAX];

	fprintf(out, "  step %zu: deadline %ld ms, dwell %ld ms\n", si + 1,
		st->timeout_ms > 0 ? st->timeout_ms : DEFAULT_TIMEOUT_MS,
		st->dwell_ms);
	if (st->cwd) {
		fd_emu_cwd(e, sc, st, path, sizeof(path));
		fprintf(out, "    working directory %s\n", path);
	}
	for (k = 0; st->env.v && k < st->env.n; k++)
		fprintf(out, "    environment %s\n", st->env.v[k]);
	for (d = 0; d < n; d++) {
		fd_emu_copy_path(e, sc, st, d, path, sizeof(path));
		fprintf(out, "    %s %s\n      user %s (uid %ld), argv ",
			d + 1 == n ? "run" : "parent", path, cr->name,
			(long)cr->uid);
		print_argv(out, st, d);
		fprintf(out, "\n      parent chain: firedrill");
		for (k = 0; k < d; k++)
			fprintf(out, " > %s", fd_emu_name(st, k));
		fputc('\n', out);
	}
}

static void dry_run(const struct fd_emu *e, struct fd_scenario *const *scs,
		    size_t n, const char *run_id)
{
	FILE *out = e->opts->log;
	size_t i, j;

	if (!out)
		return;
	fprintf(out, "dry run %s: nothing is created, copied or spawned\n",
		run_id);
	fprintf(out, "stand-in %s (sha256 %s)\n", e->opts->standin,
		e->sha_hex);
	if (geteuid() == 0)
		fprintf(out, "private directory %s (owner root, group of %s, "
			"mode 0750; copies 0550)\n", e->dir,
			e->def_cred.name);
	else
		fprintf(out, "private directory %s (mode 0700; copies 0500)\n",
			e->dir);
	for (i = 0; i < n; i++) {
		fprintf(out, "scenario %s (%s)\n", scs[i]->id,
			scs[i]->path ? scs[i]->path : "-");
		for (j = 0; j < scs[i]->nsteps; j++)
			print_step(e, scs[i], j);
	}
	fflush(out);
}

/* ---- the run ------------------------------------------------------------ */

static void progress(const struct fd_emu *e, const struct fd_scenario *sc,
		     size_t si, const struct fd_emu_proc *p, size_t n)
{
	const struct fd_emu_proc *t = &p[n - 1];
	FILE *out = e->opts->log;

	if (!out)
		return;
	fprintf(out, "%s step %zu: %s", sc->id, si + 1,
		fd_emu_name(&sc->steps[si], n - 1));
	if (!t->started)
		fprintf(out, " never started");
	else if (t->signal)
		fprintf(out, " pid %ld killed by signal %d", (long)t->pid,
			t->signal);
	else
		fprintf(out, " pid %ld exited %d", (long)t->pid,
			t->exit_code);
	fprintf(out, "%s\n", t->timed_out ? " (deadline passed)" :
		t->interrupted ? " (run interrupted)" : "");
}

static void call_hook(const struct fd_emu *e, const struct fd_scenario *sc,
		      enum fd_emulate_hook when)
{
	char dir[PATH_MAX];

	if (!hook_fn)
		return;
	fd_emu_path(dir, sizeof(dir), e->dir, sc->id, NULL);
	hook_fn(when, dir, hook_arg);
}

static int run_step(struct fd_emu *e, const struct fd_scenario *sc,
		    size_t si, struct fd_jsonw *lines, int64_t *start,
		    int64_t *end)
{
	const struct fd_step *st = &sc->steps[si];
	const struct fd_emu_cred *cr = step_cred(e, st);
	struct fd_emu_proc procs[FD_PLAN_MAX_DEPTH + 1];
	size_t n = 0, d;
	int rc;

	if (*e->stop)
		return -FD_ERR_INTERRUPTED;
	rc = fd_privdir_own(e, sc, cr);
	if (rc < 0)
		return rc;
	call_hook(e, sc, FD_EMULATE_HOOK_CHECK);
	rc = fd_privdir_check(e, sc, st);
	if (rc < 0)
		return rc;
	call_hook(e, sc, FD_EMULATE_HOOK_SPAWN);
	rc = fd_spawn_step(e, sc, si, cr, procs, &n);
	/* Interrupted, the step's processes still really ran: an endpoint
	 * saw them, so the record must say what they were. */
	if (rc < 0 && rc != -FD_ERR_INTERRUPTED)
		return rc;
	fd_record_step(lines, e, sc, si, cr, procs, n);
	for (d = 0; d < n; d++) {
		if (!procs[d].started)
			continue;
		if (!*start || procs[d].start_us < *start)
			*start = procs[d].start_us;
		if (procs[d].end_us > *end)
			*end = procs[d].end_us;
		if (procs[d].signal && !procs[d].timed_out &&
		    !procs[d].interrupted)
			e->res->killed++;
	}
	progress(e, sc, si, procs, n);
	return rc;
}

static int run_scenario(struct fd_emu *e, const struct fd_scenario *sc)
{
	struct fd_jsonw lines;
	int64_t start = 0, end = 0;
	size_t si;
	int rc, wrc;

	fd_jsonw_init(&lines);
	rc = fd_privdir_populate(e, sc);
	for (si = 0; rc == 0 && si < sc->nsteps; si++)
		rc = run_step(e, sc, si, &lines, &start, &end);
	if (rc < 0 && e->diag && e->diag->line > 0)
		snprintf(e->diag->file, sizeof(e->diag->file), "%s",
			 sc->path ? sc->path : "");
	if (!start)
		start = end = fd_emu_now_us();
	wrc = fd_record_scenario(e, sc, start, end, rc == 0, &lines);
	fd_jsonw_free(&lines);
	return rc < 0 ? rc : wrc;
}

static int run_all(struct fd_emu *e, struct fd_scenario *const *scs,
		   size_t n, const char *run_id)
{
	size_t i;
	int rc;

	rc = open_record(e, run_id);
	if (rc == 0)
		rc = fd_privdir_create(e);
	if (rc == 0) {
		e->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (e->devnull < 0)
			rc = fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
					 "cannot open /dev/null: %s",
					 strerror(errno));
	}
	size_t started = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		if (*e->stop) {
			rc = -FD_ERR_INTERRUPTED;
			break;
		}
		started++;
		rc = run_scenario(e, scs[i]);
	}
	if (e->rec_fd >= 0) {
		int erc = fd_record_end(e, started, rc == 0 && !*e->stop);

		if (rc == 0)
			rc = erc;
	}
	if ((rc == 0 || rc == -FD_ERR_INTERRUPTED) && *e->stop) {
		pending_sig = *e->stop;
		rc = fd_diag_set(e->diag, FD_ERR_INTERRUPTED, 0, 0,
				 "interrupted by signal %d; stand-ins "
				 "killed", pending_sig);
	}
	return rc;
}

int fd_emulate(struct fd_scenario *const *scs, size_t n,
	       const struct fd_emulate_opts *opts,
	       struct fd_emulate_result *res, struct fd_diag *diag)
{
	struct fd_emu e = {
		.opts = opts, .res = res, .diag = diag, .self = getpid(),
		.devnull = -1, .out_fd = -1, .rec_fd = -1, .wake_fd = -1,
		.stop = &stop_sig,
	};
	struct sig_state sigs;
	char run_id[FD_RUN_ID_MAX];
	int rc;

	fd_diag_clear(diag);
	pending_sig = 0;
	stop_sig = 0;
	if (!opts || !res || (n && !scs))
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "fd_emulate: missing argument");
	memset(res, 0, sizeof(*res));
	rc = fd_emu_run_id(run_id, sizeof(run_id));
	if (rc < 0)
		return fd_diag_set(diag, FD_ERR_IO, 0, 0,
				   "no random bytes for the run id");
	rc = pick_dir(&e, run_id);
	if (rc == 0)
		rc = check_scenarios(&e, scs, n);
	if (rc == 0)
		rc = resolve_users(&e, scs, n);
	if (rc == 0)
		rc = load_standin(&e);
	if (rc < 0)
		goto out;
	snprintf(res->run_id, sizeof(res->run_id), "%s", run_id);
	snprintf(res->standin_dir, sizeof(res->standin_dir), "%s", e.dir);
	if (opts->dry_run) {
		dry_run(&e, scs, n, run_id);
		goto out;
	}
	rc = signals_start(&sigs, &e);
	if (rc < 0)
		goto out;
	e.scs = scs;
	e.nscs = n;
	rc = run_all(&e, scs, n, run_id);
	fd_emu_close(&e.devnull);
	fd_emu_close(&e.out_fd);
	fd_emu_close(&e.rec_fd);
	fd_privdir_remove(&e);
	/* Still there: say so, whatever else went wrong. */
	if (e.dir_made && !opts->keep && rc == 0)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0,
				 "cannot remove the private directory %s: "
				 "%s", e.dir, strerror(errno));
	else if (e.dir_made && !opts->keep && diag)
		snprintf(diag->msg + strlen(diag->msg),
			 sizeof(diag->msg) - strlen(diag->msg),
			 "; the private directory %s could not be removed",
			 e.dir);
	signals_stop(&sigs, &e);
out:
	free(e.standin);
	free(e.creds);
	return rc;
}
