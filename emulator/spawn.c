/*
 * spawn.c - run one step: fork its chain's outermost stand-in into its own
 * process group (run user, minimal environment plus the step's env, in the
 * step's working directory, fds 0-4 only, exec by absolute path), feed it
 * the plan, collect reports, and wait on poll() until the report pipe's
 * end of file, the deadline (SIGKILL to the group) or a stop signal.  The
 * chain inherits the environment and the working directory.  Every
 * process is reaped before it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "emu.h"

#define GONE_WAIT_US 5000000	/* how long killed processes may take */

/* Everything the child needs, prepared before fork (which allows only
 * async-signal-safe calls after it). */
struct launch {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	const struct fd_emu_cred *cr;
	int fds[5];		/* become 0..4 in the child */
	int max_fd;
};

enum outcome { RUNNING, DONE, TIMED_OUT, STOPPED };

struct step_wait {
	pid_t pid;
	int rep_fd;		/* -1 after end of file */
	int plan_fd;		/* -1 once the plan is written */
	char *plan;
	size_t plan_len, plan_off;
	unsigned char rbuf[sizeof(struct fd_report) * 8];
	size_t rlen;
	struct fd_emu_proc *procs;
	size_t n;
	struct fd_report failed;	/* the first FAILED report */
	bool has_failed;
	enum outcome killed;	/* why we killed the group; RUNNING: not */
};

static void child_fail(int rfd, int stage)
{
	struct fd_report r = {
		.magic = FD_REPORT_MAGIC, .kind = FD_REPORT_FAILED,
		.depth = 0, .pid = (int32_t)getpid(), .status = errno,
		.stage = stage,
	};
	ssize_t n = write(rfd, &r, sizeof(r));

	(void)n;
	_exit(127);
}

static void close_from(int first, int max_fd)
{
	int fd;

#if defined(__linux__) && defined(SYS_close_range)
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	for (fd = first; fd < max_fd; fd++)
		close(fd);
}

/*
 * After the drop: no supplementary group but the user's own.  On macOS
 * this is the POSIX getgroups(), the process's own list: the variant that
 * _DARWIN_C_SOURCE selects answers with the user's default group access
 * list instead, blind to setgroups(), so the build never defines it.
 */
static bool groups_dropped(gid_t gid)
{
	gid_t groups[64];
	int n = getgroups(64, groups), i;

	for (i = 0; i < n; i++)
		if (groups[i] != gid)
			return false;
	return n >= 0;
}

static void drop_privileges(const struct fd_emu_cred *cr, int rfd)
{
	if (!cr->drop)
		return;
	if (setgroups(1, &cr->gid) < 0 || setgid(cr->gid) < 0 ||
	    setuid(cr->uid) < 0)
		child_fail(rfd, FD_STAGE_PRIVILEGE);
	/* Check the drop stuck: every id changed, and no way back. */
	if (getuid() != cr->uid || geteuid() != cr->uid ||
	    getgid() != cr->gid || getegid() != cr->gid ||
	    !groups_dropped(cr->gid) || setuid(0) == 0) {
		errno = EPERM;
		child_fail(rfd, FD_STAGE_PRIVILEGE);
	}
}

/*
 * Die with the parent, so that a SIGKILLed emulator leaves no stand-in
 * running.  Linux: the kernel's PR_SET_PDEATHSIG, set after the privilege
 * drop, which clears it.  macOS has no such call: the stand-in watches its
 * parent itself from its start (standin.c).  Either way, a parent already
 * gone means the stand-in never starts.
 */
static void die_with_parent(pid_t parent)
{
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent)
		_exit(127);	/* the parent is already gone */
}

static void child_exec(const struct launch *l)
{
	pid_t parent = getppid();
	static const int sigs[] = {
		SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP, SIGQUIT, SIGALRM,
		SIGUSR1, SIGUSR2,
	};
	struct sigaction dfl;
	sigset_t none;
	int moved[5], rfd = l->fds[FD_REPORT_FD];
	size_t i;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A session of its own: its own process group (killed whole at the
	 * deadline) and no controlling terminal to type into. */
	if (setsid() < 0)
		setpgid(0, 0);
	/* Lift the fds above 0..4 first, so no dup2 clobbers a source. */
	for (i = 0; i < 5; i++) {
		moved[i] = fcntl(l->fds[i], F_DUPFD_CLOEXEC, 5);
		if (moved[i] < 0)
			child_fail(rfd, FD_STAGE_FDS);
	}
	for (i = 0; i < 5; i++)
		if (dup2(moved[i], (int)i) < 0)
			child_fail(rfd, FD_STAGE_FDS);
	rfd = FD_REPORT_FD;
	close_from(5, l->max_fd);
	drop_privileges(l->cr, rfd);
	die_with_parent(parent);
	if (chdir(l->cwd) < 0)
		child_fail(rfd, FD_STAGE_CHDIR);
	execve(l->path, l->argv, l->envp);
	child_fail(rfd, FD_STAGE_EXEC);
}

static int make_pipe(int p[2])
{
	int i;

	if (pipe(p) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0) {
			close(p[0]);
			close(p[1]);
			return -1;
		}
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The plan: one record per process, outermost first. */
static char *build_plan(const struct fd_emu *e, const struct fd_step *st,
			size_t *len)
{
	size_t n = fd_emu_chain_len(st), d, cap = 0, off = 0;
	char *buf = NULL;

	for (d = 0; d < n; d++) {
		const char *argv[FD_PLAN_MAX_ARGS + 1];
		char child[PATH_MAX];
		size_t argc = 0, bytes = 0, i;
		struct fd_plan_rec rec = { .magic = FD_PLAN_MAGIC };
		char *p;

		if (d + 1 < n) {
			argc = fd_emu_argv(st, d + 1, argv);
			fd_emu_copy_rel(st, d + 1, child, sizeof(child));
			bytes = strlen(child) + 1;
			for (i = 0; i < argc; i++)
				bytes += strlen(argv[i]) + 1;
		}
		rec.depth = (uint32_t)d;
		rec.dwell_ms = d + 1 == n && st->dwell_ms > 0 ?
			       (uint32_t)st->dwell_ms : 0;
		rec.argc = (uint32_t)argc;
		rec.nbytes = (uint32_t)bytes;
		memcpy(rec.sha256, e->sha, FD_SHA256_LEN);
		cap += sizeof(rec) + bytes;
		p = realloc(buf, cap);
		if (!p) {
			free(buf);
			return NULL;
		}
		buf = p;
		memcpy(buf + off, &rec, sizeof(rec));
		off += sizeof(rec);
		if (argc) {
			/* The child: where its copy is, from the folder of
			 * this (parent) stand-in, the scenario's. */
			memcpy(buf + off, child, strlen(child) + 1);
			off += strlen(child) + 1;
			for (i = 0; i < argc; i++) {
				size_t sz = strlen(argv[i]) + 1;

				memcpy(buf + off, argv[i], sz);
				off += sz;
			}
		}
	}
	*len = off;
	return buf;
}

void fd_emu_set_status(struct fd_emu_proc *p, int status, int64_t end_us)
{
	p->ended = true;
	p->end_us = end_us;
	p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	p->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void apply_report(struct fd_emu *e, struct step_wait *w,
			 const struct fd_report *r)
{
	struct fd_emu_proc *p;

	if (r->magic != FD_REPORT_MAGIC || r->depth < 0 ||
	    (size_t)r->depth >= w->n)
		return;
	p = &w->procs[r->depth];
	switch (r->kind) {
	case FD_REPORT_STARTED:
		if (p->started || r->depth == 0)
			return;
		p->started = true;
		p->pid = r->pid;
		p->ppid = r->ppid;
		p->start_us = r->time_us;
		/* Forked just before the group was killed: killed too. */
		p->timed_out = w->killed == TIMED_OUT;
		p->interrupted = w->killed == STOPPED;
		e->res->spawned++;
		break;
	case FD_REPORT_ENDED:
		if (p->started && p->pid == r->pid && !p->ended)
			fd_emu_set_status(p, r->status, r->time_us);
		break;
	case FD_REPORT_FAILED:
		if (!w->has_failed) {
			w->failed = *r;
			w->has_failed = true;
		}
		break;
	}
}

static void read_reports(struct fd_emu *e, struct step_wait *w)
{
	for (;;) {
		ssize_t n = read(w->rep_fd, w->rbuf + w->rlen,
				 sizeof(w->rbuf) - w->rlen);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;		/* EAGAIN: nothing more now */
		if (n == 0) {
			fd_emu_close(&w->rep_fd);
			return;
		}
		w->rlen += (size_t)n;
		while (w->rlen - off >= sizeof(struct fd_report)) {
			struct fd_report r;

			memcpy(&r, w->rbuf + off, sizeof(r));
			apply_report(e, w, &r);
			off += sizeof(r);
		}
		memmove(w->rbuf, w->rbuf + off, w->rlen - off);
		w->rlen -= off;
	}
}

static void write_plan(struct step_wait *w)
{
	while (w->plan_off < w->plan_len) {
		ssize_t n = write(w->plan_fd, w->plan + w->plan_off,
				  w->plan_len - w->plan_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			break;		/* EPIPE: the chain is gone */
		w->plan_off += (size_t)n;
	}
	fd_emu_close(&w->plan_fd);
}

static void drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void nap_us(long us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000,
	};

	nanosleep(&ts, NULL);
}

/* One pass of the wait: returns the outcome so far. */
static enum outcome wait_once(struct fd_emu *e, struct step_wait *w,
			      int64_t deadline, long *backoff)
{
	struct pollfd pfd[3];
	int64_t now = fd_emu_mono_us();
	int np = 0, status, ms;
	pid_t r;

	if (*e->stop)
		return STOPPED;
	if (now >= deadline)
		return TIMED_OUT;
	if (w->rep_fd < 0) {
		/* Every stand-in has let go of the report pipe, so the
		 * outermost is exiting: reap it, backing off briefly. */
		r = waitpid(w->pid, &status, WNOHANG);
		if (r == w->pid) {
			fd_emu_set_status(&w->procs[0], status,
					  fd_emu_now_us());
			return DONE;
		}
		nap_us(*backoff);
		*backoff = *backoff < 1000 ? *backoff * 2 : 1000;
		return RUNNING;
	}
	pfd[np++] = (struct pollfd){ .fd = e->wake_fd, .events = POLLIN };
	pfd[np++] = (struct pollfd){ .fd = w->rep_fd, .events = POLLIN };
	if (w->plan_fd >= 0)
		pfd[np++] = (struct pollfd){ .fd = w->plan_fd,
					     .events = POLLOUT };
	ms = (int)((deadline - now + 999) / 1000);
	if (ms > 1000)
		ms = 1000;
	if (poll(pfd, (nfds_t)np, ms) < 0)
		return RUNNING;		/* EINTR: the flag says why */
	if (pfd[0].revents)
		drain(e->wake_fd);
	if (np > 2 && pfd[2].revents)
		write_plan(w);
	if (pfd[1].revents)
		read_reports(e, w);
	return RUNNING;
}

/* Note a process we reaped ourselves (an orphan given back to us). */
static void note_reaped(struct step_wait *w, pid_t pid, int status)
{
	size_t d;

	for (d = 0; d < w->n; d++) {
		struct fd_emu_proc *p = &w->procs[d];

		if (p->started && p->pid == pid && !p->ended)
			fd_emu_set_status(p, status, fd_emu_now_us());
	}
}

/*
 * After SIGKILL: reap the outermost, read the last reports, then wait
 * until no process of the group is left.  On Linux we are the chain's
 * subreaper, so its orphans are ours to reap (waitpid on the group);
 * elsewhere they go to init (launchd), and we wait until the group is
 * empty.  Bounded, so a stuck process cannot hang firedrill.
 */
static void reap_all(struct fd_emu *e, struct step_wait *w)
{
	int64_t limit = fd_emu_mono_us() + GONE_WAIT_US;
	long backoff = 50;
	int status;
	pid_t r;

	if (!w->procs[0].ended) {
		while ((r = waitpid(w->pid, &status, 0)) < 0 &&
		       errno == EINTR)
			;
		if (r == w->pid)
			fd_emu_set_status(&w->procs[0], status,
					  fd_emu_now_us());
	}
	while (w->rep_fd >= 0 && fd_emu_mono_us() < limit) {
		struct pollfd pfd = { .fd = w->rep_fd, .events = POLLIN };

		poll(&pfd, 1, 100);
		read_reports(e, w);
	}
	for (;;) {
		while ((r = waitpid(-w->pid, &status, WNOHANG)) > 0)
			note_reaped(w, r, status);
		if (kill(-w->pid, 0) < 0 && errno == ESRCH)
			break;
		if (fd_emu_mono_us() >= limit)
			break;
		nap_us(backoff);
		backoff = backoff < 10000 ? backoff * 2 : 10000;
	}
}

/*
 * Kill the step's group and mark what was still running as killed by
 * firedrill, at the deadline or on a stop signal, so that neither is
 * mistaken for a kill from outside (an endpoint's prevention).
 */
static void kill_group(struct step_wait *w, enum outcome why)
{
	size_t d;

	w->killed = why;
	if (kill(-w->pid, SIGKILL) < 0)
		kill(w->pid, SIGKILL);
	for (d = 0; d < w->n; d++) {
		struct fd_emu_proc *p = &w->procs[d];

		if (!p->started || p->ended)
			continue;
		p->timed_out = why == TIMED_OUT;
		p->interrupted = why == STOPPED;
	}
}

/* Processes killed with the group whose end nobody reported. */
static void settle_killed(struct step_wait *w)
{
	int64_t now = fd_emu_now_us();
	size_t d;

	for (d = 0; d < w->n; d++) {
		struct fd_emu_proc *p = &w->procs[d];

		if (p->started && !p->ended) {
			p->ended = true;
			p->end_us = now;
			p->exit_code = -1;
			p->signal = SIGKILL;
		}
	}
}

static const char *stage_name(int stage)
{
	switch (stage) {
	case FD_STAGE_PLAN: return "reading its plan";
	case FD_STAGE_HASH: return "checking its hash";
	case FD_STAGE_SELF: return "finding its own directory";
	case FD_STAGE_FDS: return "setting up its descriptors";
	case FD_STAGE_FORK: return "forking";
	case FD_STAGE_PRIVILEGE: return "dropping privileges";
	case FD_STAGE_CHDIR: return "entering its directory";
	case FD_STAGE_EXEC: return "exec";
	}
	return "starting";
}

static int failure(struct fd_emu *e, const struct fd_scenario *sc,
		   const struct fd_step *st, const struct fd_emu_cred *cr,
		   const struct fd_report *r)
{
	size_t d = (size_t)r->depth;
	const char *name = fd_emu_name(st, d);
	int line = st->pos.line, col = st->pos.col;

	if (r->stage == FD_STAGE_HASH)
		return fd_diag_set(e->diag, FD_ERR_HASH, line, col,
				   "stand-in '%s' refused to run '%s': its "
				   "copy failed the sha256 check",
				   d ? fd_emu_name(st, d - 1) : "firedrill",
				   name);
	if (r->stage == FD_STAGE_PRIVILEGE)
		return fd_diag_set(e->diag, FD_ERR_PRIVILEGE, line, col,
				   "cannot run stand-in '%s' as user %s "
				   "(uid %ld): %s", name, cr->name,
				   (long)cr->uid, strerror(r->status));
	if (r->stage == FD_STAGE_CHDIR && cr->drop) {
		char cwd[PATH_MAX];

		fd_emu_cwd(e, sc, st, cwd, sizeof(cwd));
		return fd_diag_set(e->diag, FD_ERR_SPAWN, line, col,
				   "user %s cannot enter %s: %s; every "
				   "parent of the private directory must be "
				   "searchable by %s (try TMPDIR=/tmp)",
				   cr->name, cwd, strerror(r->status),
				   cr->name);
	}
	if (r->stage == FD_STAGE_EXEC &&
	    (r->status == EACCES || r->status == EPERM))
		return fd_diag_set(e->diag, FD_ERR_SPAWN, line, col,
				   "cannot exec stand-in '%s' in %s: %s; is "
				   "%s mounted noexec? (set TMPDIR)", name,
				   e->dir, strerror(r->status), e->tmpdir);
	return fd_diag_set(e->diag, FD_ERR_SPAWN, line, col,
			   "cannot start stand-in '%s' (%s): %s", name,
			   stage_name(r->stage), strerror(r->status));
}

/* Run the forked chain to its end; the caller has set w up. */
static int supervise(struct fd_emu *e, const struct fd_scenario *sc,
		     const struct fd_step *st, const struct fd_emu_cred *cr,
		     struct step_wait *w, int64_t deadline)
{
	enum outcome oc = RUNNING;
	long backoff = 20;

	write_plan(w);
	while (oc == RUNNING)
		oc = wait_once(e, w, deadline, &backoff);
	if (oc != DONE)
		kill_group(w, oc);
	/* Also after a clean end: a parent killed from outside (an
	 * endpoint's prevention) leaves orphans to reap or wait for. */
	reap_all(e, w);
	settle_killed(w);
	if (oc == TIMED_OUT)
		e->res->timed_out++;
	if (oc == STOPPED)
		return -FD_ERR_INTERRUPTED;
	if (w->has_failed)
		return failure(e, sc, st, cr, &w->failed);
	return 0;
}

int fd_spawn_step(struct fd_emu *e, const struct fd_scenario *sc, size_t si,
		  const struct fd_emu_cred *cr, struct fd_emu_proc *procs,
		  size_t *nprocs)
{
	const struct fd_step *st = &sc->steps[si];
	const char *argv[FD_PLAN_MAX_ARGS + 1];
	char cwd[PATH_MAX], path[PATH_MAX], home[PATH_MAX + 8];
	char *envp[3 + FD_ENV_MAX + 1] = {
		"PATH=/usr/bin:/bin", home, "LANG=C", NULL
	};
	struct step_wait w = { .rep_fd = -1, .plan_fd = -1 };
	struct launch l = { .path = path, .argv = (char *const *)argv,
			    .envp = envp, .cwd = cwd, .cr = cr };
	int plan[2], rep[2], rc;
	long timeout = st->timeout_ms > 0 ? st->timeout_ms : 10000;
	int64_t deadline;
	size_t d;

	*nprocs = w.n = fd_emu_chain_len(st);
	w.procs = procs;
	for (d = 0; d < w.n; d++)
		procs[d] = (struct fd_emu_proc){ .depth = (int)d,
						 .exit_code = -1 };
	/* HOME stays the scenario's folder, wherever the chain starts. */
	fd_emu_path(cwd, sizeof(cwd), e->dir, sc->id, NULL);
	snprintf(home, sizeof(home), "HOME=%s", cwd);
	fd_emu_cwd(e, sc, st, cwd, sizeof(cwd));
	fd_emu_copy_path(e, sc, st, 0, path, sizeof(path));
	/* check_step() saw to it that the step's own fit. */
	for (d = 0; d < st->env.n && d < FD_ENV_MAX; d++)
		envp[3 + d] = st->env.v[d];
	fd_emu_argv(st, 0, argv);
	w.plan = build_plan(e, st, &w.plan_len);
	if (!w.plan)
		return fd_diag_set(e->diag, FD_ERR_NOMEM, 0, 0,
				   "out of memory");
	if (make_pipe(plan) < 0) {
		free(w.plan);
		return fd_diag_set(e->diag, FD_ERR_SPAWN, 0, 0,
				   "cannot make a pipe: %s", strerror(errno));
	}
	if (make_pipe(rep) < 0) {
		close(plan[0]);
		close(plan[1]);
		free(w.plan);
		return fd_diag_set(e->diag, FD_ERR_SPAWN, 0, 0,
				   "cannot make a pipe: %s", strerror(errno));
	}
	l.fds[0] = e->devnull;
	l.fds[1] = e->out_fd;
	l.fds[2] = e->out_fd;
	l.fds[FD_PLAN_FD] = plan[0];
	l.fds[FD_REPORT_FD] = rep[1];
	l.max_fd = (int)sysconf(_SC_OPEN_MAX);
	if (l.max_fd < 0 || l.max_fd > 65536)
		l.max_fd = 65536;
	procs[0].start_us = fd_emu_now_us();
	deadline = fd_emu_mono_us() + (int64_t)timeout * 1000;
	w.pid = fork();
	if (w.pid == 0)
		child_exec(&l);
	close(plan[0]);
	close(rep[1]);
	w.plan_fd = plan[1];
	w.rep_fd = rep[0];
	if (w.pid < 0) {
		rc = fd_diag_set(e->diag, FD_ERR_SPAWN, 0, 0,
				 "cannot fork: %s", strerror(errno));
	} else {
		/* The child makes its own session (and so its group); a kill
		 * before it has falls back to its pid (kill_group). */
		procs[0].started = true;
		procs[0].pid = w.pid;
		procs[0].ppid = e->self;
		e->res->spawned++;
		set_nonblock(w.plan_fd);
		set_nonblock(w.rep_fd);
		rc = supervise(e, sc, st, cr, &w, deadline);
	}
	fd_emu_close(&w.plan_fd);
	fd_emu_close(&w.rep_fd);
	free(w.plan);
	return rc;
}
