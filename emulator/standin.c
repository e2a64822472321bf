/*
 * standin.c - the only program the emulator runs, copied under the names a
 * scenario needs.  It reads its plan (plan.h), prints a plainly fake answer,
 * dwells and exits 0; as a parent of a chain it runs the next copy of itself
 * from its own directory after a sha256 check and reports on the child.
 *
 * A stand-in whose parent dies must not linger.  On Linux the kernel sees
 * to it (PR_SET_PDEATHSIG, set before exec by whoever forked it).  macOS
 * has no such call, so there the stand-in watches for itself: while it
 * dwells or waits for its child it looks, every PARENT_POLL_MS, whether
 * its parent is still the process that started it, and if not it kills
 * its child and itself with SIGKILL, as the kernel would on Linux.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "plan.h"
#include "sha256.h"

/* What tells the emulator this program is the stand-in (plan.h). */
__attribute__((used)) static const char standin_mark[] = FD_STANDIN_MARK;

#define EXIT_PROTOCOL 125	/* the plan was unusable */
#define EXIT_REFUSED 126	/* the child failed its checks */
#define EXIT_EXEC 127		/* the child could not be started */

/* Whether the stand-in watches its parent itself (see the top). */
#ifdef __linux__
#define WATCH_PARENT 0
#else
#define WATCH_PARENT 1
#endif
#define PARENT_POLL_MS 50

/* The parent that started us; a different getppid() means it died. */
static pid_t first_parent;

struct plan {
	struct fd_plan_rec rec;
	char *child_name;	/* where its copy is, from our folder */
	char *argv[FD_PLAN_MAX_ARGS + 1];
};

/* The strings of the plan record; static, so nothing is allocated. */
static char strings[FD_PLAN_MAX_BYTES + 1];

static bool have_fd(int fd, bool fifo_only)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	return !fifo_only || S_ISFIFO(st.st_mode);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(int kind, int depth, pid_t pid, int status, int stage,
		   int64_t t)
{
	struct fd_report r = {
		.magic = FD_REPORT_MAGIC, .kind = kind, .depth = depth,
		.pid = (int32_t)pid, .ppid = (int32_t)getpid(),
		.status = status, .stage = stage, .time_us = t,
	};
	ssize_t n;

	if (!have_fd(FD_REPORT_FD, true))
		return;
	do
		n = write(FD_REPORT_FD, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* One name of a path: printable ASCII, no '/', not "." or "..". */
static bool safe_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * Where a copy of ourselves can be: a name in our directory, or below it
 * in folders of the scenario (a step's path), never above or outside.
 */
static bool safe_place(const char *s)
{
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);

		if (!safe_name(s, n))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

/*
 * Read this process's record.  Returns 1 when there is no plan pipe (the
 * stand-in was started by hand), 0 when p is filled, -1 when the plan is
 * malformed.
 */
static int read_plan(struct plan *p)
{
	uint32_t i;
	char *s, *end;

	if (!have_fd(FD_PLAN_FD, true))
		return 1;
	if (!read_full(FD_PLAN_FD, &p->rec, sizeof(p->rec)) ||
	    p->rec.magic != FD_PLAN_MAGIC ||
	    p->rec.depth > FD_PLAN_MAX_DEPTH ||
	    p->rec.argc > FD_PLAN_MAX_ARGS ||
	    p->rec.nbytes > FD_PLAN_MAX_BYTES)
		return -1;
	if (p->rec.argc == 0)
		return p->rec.nbytes == 0 ? 0 : -1;
	if (!read_full(FD_PLAN_FD, strings, p->rec.nbytes))
		return -1;
	strings[p->rec.nbytes] = '\0';
	end = strings + p->rec.nbytes;
	s = strings;
	p->child_name = s;
	s += strlen(s) + 1;
	for (i = 0; i < p->rec.argc; i++) {
		if (s >= end)
			return -1;
		p->argv[i] = s;
		s += strlen(s) + 1;
	}
	p->argv[i] = NULL;
	return s == end && safe_place(p->child_name) ? 0 : -1;
}

/* Our own executable's absolute path. */
static bool self_path(char *buf, size_t len)
{
#ifdef __APPLE__
	char raw[PATH_MAX];
	uint32_t size = sizeof(raw);

	if (_NSGetExecutablePath(raw, &size) != 0 || len < PATH_MAX)
		return false;
	return realpath(raw, buf) != NULL;
#else
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0 || (size_t)n >= len - 1)
		return false;
	buf[n] = '\0';
	return buf[0] == '/';
#endif
}

static void print_args(FILE *out, char **argv)
{
	const unsigned char *s;
	size_t i;

	for (i = 0; argv[i]; i++) {
		fputs(i ? " '" : "'", out);
		for (s = (const unsigned char *)argv[i]; *s; s++) {
			if (*s < 0x20 || *s == 0x7f || *s == '\'' ||
			    *s == '\\')
				fprintf(out, "\\x%02x", *s);
			else
				fputc(*s, out);
		}
		fputc('\'', out);
	}
}

/* What a person (or a test) reading the log needs: who ran, as whom. */
static void say_who(const char *name, char **argv)
{
	char exe[PATH_MAX];

	if (!self_path(exe, sizeof(exe)))
		snprintf(exe, sizeof(exe), "?");
	printf("firedrill stand-in '%s': pid %ld ppid %ld uid %ld euid %ld "
	       "exe %s argv ", name, (long)getpid(), (long)getppid(),
	       (long)getuid(), (long)geteuid(), exe);
	print_args(stdout, argv);
	putchar('\n');
}

static void nap_ms(uint32_t ms)
{
	struct timespec left = {
		.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/*
 * Our parent died: getppid() changed, or it was launchd (pid 1) from the
 * start, which on macOS adopts every orphan and is never a stand-in's
 * own parent; so a parent that died while we were being started is seen
 * too.
 */
static bool parent_gone(void)
{
	return first_parent == 1 || getppid() != first_parent;
}

/* End as the kernel ends an orphan on Linux: the child first, so that
 * nothing of the chain below us is left either. */
static void die_orphaned(pid_t child)
{
	if (child > 0)
		kill(child, SIGKILL);
	kill(getpid(), SIGKILL);
	_exit(EXIT_EXEC);
}

static void dwell(uint32_t ms)
{
	if (!WATCH_PARENT) {
		nap_ms(ms);
		return;
	}
	/* In slices, looking for our parent before each. */
	while (ms > 0) {
		uint32_t slice = ms < PARENT_POLL_MS ? ms : PARENT_POLL_MS;

		if (parent_gone())
			die_orphaned(0);
		nap_ms(slice);
		ms -= slice;
	}
}

static void on_child(int sig)
{
	(void)sig;	/* only to end the nap in wait_child() early */
}

/*
 * Wait for the child; 0 with its status, or -1.  Watching our parent, we
 * nap between looks; SIGCHLD ends a nap at once, so the child's end is
 * seen when it happens, not at the next look.
 */
static int wait_child(pid_t pid, int *status)
{
	struct sigaction sa;
	struct timespec left;
	pid_t r;

	if (!WATCH_PARENT) {
		while (waitpid(pid, status, 0) < 0)
			if (errno != EINTR)
				return -1;
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;	/* no SA_RESTART: naps end early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (parent_gone())
			die_orphaned(pid);
		left.tv_sec = 0;
		left.tv_nsec = PARENT_POLL_MS * 1000000L;
		nanosleep(&left, NULL);
	}
}

static bool same_hash(const char *path, const uint8_t want[FD_SHA256_LEN])
{
	uint8_t got[FD_SHA256_LEN];

	return fd_sha256_file(path, got) == 0 &&
	       !memcmp(got, want, FD_SHA256_LEN);
}

/*
 * Run the child the plan names: a copy of ourselves from our own
 * directory, hash-checked, exec'd with an absolute path and the plan's
 * argv.  Returns our exit status: the child's, as a shell would.
 */
static int run_child(const struct plan *p)
{
	char self[PATH_MAX], path[PATH_MAX], *slash;
	int child_depth = (int)p->rec.depth + 1, status;
	int64_t t0;
	pid_t pid, self_pid;

	if (!self_path(self, sizeof(self))) {
		report(FD_REPORT_FAILED, child_depth, 0, errno,
		       FD_STAGE_SELF, now_us());
		return EXIT_REFUSED;
	}
	slash = strrchr(self, '/');
	if (snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - self),
		     self, p->child_name) >= (int)sizeof(path)) {
		report(FD_REPORT_FAILED, child_depth, 0, ENAMETOOLONG,
		       FD_STAGE_SELF, now_us());
		return EXIT_REFUSED;
	}
	/* Only another copy of ourselves: both must hash to the plan's. */
	if (!same_hash(self, p->rec.sha256) ||
	    !same_hash(path, p->rec.sha256)) {
		fprintf(stderr, "firedrill stand-in: %s failed its hash "
			"check; not run\n", path);
		report(FD_REPORT_FAILED, child_depth, 0, 0, FD_STAGE_HASH,
		       now_us());
		return EXIT_REFUSED;
	}
	fflush(NULL);
	t0 = now_us();
	self_pid = getpid();
	pid = fork();
	if (pid < 0) {
		report(FD_REPORT_FAILED, child_depth, 0, errno,
		       FD_STAGE_FORK, now_us());
		return EXIT_EXEC;
	}
	if (pid == 0) {
#ifdef __linux__
		/* Die with this parent: a killed chain leaves nothing. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		/* Already orphaned (to the emulator, a subreaper on Linux, or
		 * to launchd): do not start.  Later, the kernel (Linux) or
		 * the child itself (elsewhere) sees to it. */
		if (getppid() != self_pid)
			_exit(EXIT_EXEC);
		/* execv: our environment, the emulator's minimal one. */
		execv(path, p->argv);
		report(FD_REPORT_FAILED, child_depth, 0, errno,
		       FD_STAGE_EXEC, now_us());
		_exit(EXIT_EXEC);
	}
	close(FD_PLAN_FD);	/* the rest of the plan is the child's */
	report(FD_REPORT_STARTED, child_depth, pid, 0, 0, t0);
	if (wait_child(pid, &status) < 0)
		return EXIT_EXEC;
	report(FD_REPORT_ENDED, child_depth, pid, status, 0, now_us());
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int main(int argc, char **argv)
{
	static struct plan plan;
	const char *name = argc > 0 && argv[0] ? argv[0] : "stand-in";
	int rc;

	if (WATCH_PARENT)
		first_parent = getppid();
#ifdef __linux__
	/* Other processes of the run user may not trace or read us.  (On
	 * macOS, task_for_pid() already needs root or a debugger's
	 * entitlement and authorisation.) */
	prctl(PR_SET_DUMPABLE, 0);
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = read_plan(&plan);
	if (rc < 0) {
		fprintf(stderr, "firedrill stand-in '%s': unusable plan "
			"from the emulator; doing nothing\n", name);
		report(FD_REPORT_FAILED, (int)plan.rec.depth, getpid(), 0,
		       FD_STAGE_PLAN, now_us());
		return EXIT_PROTOCOL;
	}
	if (argc > 0)
		say_who(name, argv);
	if (rc == 0 && plan.rec.argc > 0) {
		printf("firedrill stand-in '%s': this is a harmless "
		       "emulation; starting stand-in '%s'\n", name,
		       plan.argv[0]);
		return run_child(&plan);
	}
	printf("firedrill stand-in '%s': this is a harmless emulation, "
	       "no data was read\n", name);
	fflush(stdout);
	if (rc == 0) {
		close(FD_PLAN_FD);
		dwell(plan.rec.dwell_ms);
	}
	return 0;
}
