/*
 * common.c - what the commands share: locating data, loading a scenario
 * pack, and printing errors.  It needs the C library and libyaml only, so
 * the standalone emulator links it too (the rules are in rules_load.c).
 *
 * A pack is loaded whole before anything runs: one bad file or a repeated
 * id stops the command with exit 2 and every problem printed as
 * file:line:col: message.  An exception scenario's control is taken out
 * of it and placed right after it, a scenario of its own that the pack
 * owns (so every entry is freed once, and none owns another).
 */
#include "cli_base.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "files.h"

static const char *program = "firedrill";

void fd_cli_set_program(const char *name)
{
	program = name;
}

const char *fd_cli_program(void)
{
	return program;
}

void fd_cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *fd_cli_exe_dir(void)
{
	static char dir[PATH_MAX];
	char path[PATH_MAX];
	char *slash;

	if (dir[0])
		return dir;
#ifdef __APPLE__
	/* Resolved, as Linux's /proc/self/exe is: a link to the program
	 * (in a bin folder, say) must not move ../libexec with it. */
	char raw[PATH_MAX];
	uint32_t size = sizeof(raw);

	if (_NSGetExecutablePath(raw, &size) != 0 || !realpath(raw, path))
		return "";
#else
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0)
		return "";
	path[n] = '\0';
#endif
	slash = strrchr(path, '/');
	if (!slash)
		return "";
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s", path);
	return dir;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

const char *fd_cli_data_path(const char *given, const char *env,
			     const char *local)
{
	static char buf[4][PATH_MAX];
	static int next;
	const char *e = env ? getenv(env) : NULL;
	char *out;

	if (given)
		return given;
	if (e && *e)
		return e;
	if (exists(local))
		return local;
	out = buf[next++ % 4];
	snprintf(out, PATH_MAX, "%s/../share/firedrill/%s", fd_cli_exe_dir(),
		 local);
	return out;
}

const char *fd_cli_standin_path(void)
{
	static char buf[PATH_MAX];
	const char *e = getenv("FIREDRILL_STANDIN");

	if (e && *e)
		return e;
	snprintf(buf, sizeof(buf),
		 "%s/../libexec/firedrill/firedrill-standin",
		 fd_cli_exe_dir());
	return buf;
}

bool fd_cli_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int fd_cli_mkdirs(const char *dir)
{
	char failed[PATH_MAX];

	if (fd_mkdirs(dir, failed, sizeof(failed)) == 0)
		return 0;
	fd_cli_error("cannot create '%s': %s", failed, strerror(errno));
	return -1;
}

/* ---- scenario packs ---- */

struct names {
	char **v;
	size_t n;
};

static int names_add(struct names *ns, const char *s)
{
	char **grown = realloc(ns->v, (ns->n + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	ns->v = grown;
	ns->v[ns->n] = strdup(s);
	return ns->v[ns->n++] ? 0 : -1;
}

static void names_release(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_scenario_name(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return false;
	return (len > 5 && !strcmp(name + len - 5, ".yaml")) ||
	       (len > 4 && !strcmp(name + len - 4, ".yml"));
}

/* Collect scenario files under dir, recursively, sorted per folder. */
static int walk(const char *dir, struct names *out)
{
	struct names here = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		fd_cli_error("cannot read '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) || is_scenario_name(e->d_name))
			if (names_add(&here, path) < 0)
				rc = -1;
	}
	closedir(d);
	if (here.n > 1)
		qsort(here.v, here.n, sizeof(*here.v), cmp_str);
	for (size_t i = 0; i < here.n && rc == 0; i++) {
		struct stat st;

		if (stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk(here.v[i], out);
		else
			rc = names_add(out, here.v[i]);
	}
	names_release(&here);
	return rc;
}

/* The same file named twice (or reached twice) is loaded once: files
 * are compared by device and inode, each looked at once. */
static void drop_repeats(struct names *ns)
{
	struct stat *seen = calloc(ns->n ? ns->n : 1, sizeof(*seen));
	size_t kept = 0;

	for (size_t i = 0; seen && i < ns->n; i++) {
		bool repeat = false;

		/* A file that cannot be looked at (st_nlink 0) is kept,
		 * and its load will say why. */
		if (stat(ns->v[i], &seen[kept]) != 0)
			memset(&seen[kept], 0, sizeof(seen[kept]));
		for (size_t k = 0; k < kept && !repeat; k++)
			repeat = seen[kept].st_nlink && seen[k].st_nlink &&
				 seen[k].st_dev == seen[kept].st_dev &&
				 seen[k].st_ino == seen[kept].st_ino;
		if (repeat)
			free(ns->v[i]);
		else
			ns->v[kept++] = ns->v[i];
	}
	if (seen)
		ns->n = kept;
	free(seen);
}

static int collect(const char *const *paths, size_t n, struct names *out)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0) {
			fd_cli_error("cannot read '%s': %s", paths[i],
				     strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode) ? walk(paths[i], out) < 0 :
		    names_add(out, paths[i]) < 0)
			return -1;
	}
	return 0;
}

/* "'x.control' (the control of 'x')", or just "'x'". */
static void describe(const struct fd_scenario *sc, char *buf, size_t len)
{
	if (sc->control_of)
		snprintf(buf, len, "'%s' (the control of '%s')", sc->id,
			 sc->control_of);
	else
		snprintf(buf, len, "'%s'", sc->id);
}

static bool id_repeated(const struct fd_pack *pk, size_t upto)
{
	const struct fd_scenario *sc = pk->v[upto];
	char mine[300], theirs[300];

	for (size_t i = 0; i < upto; i++) {
		if (strcmp(pk->v[i]->id, sc->id))
			continue;
		describe(sc, mine, sizeof(mine));
		describe(pk->v[i], theirs, sizeof(theirs));
		fprintf(stderr, "%s: scenario id %s is already used by %s in "
			"'%s'\n", sc->path, mine, theirs, pk->v[i]->path);
		return true;
	}
	return false;
}

/* Add sc, then its control as a scenario of its own; false on a repeat. */
static bool pack_add(struct fd_pack *pk, struct fd_scenario *sc)
{
	struct fd_scenario *ctl = fd_scenario_take_control(sc);
	bool repeated;

	pk->v[pk->n] = sc;
	repeated = id_repeated(pk, pk->n);
	pk->n++;
	if (!ctl)
		return !repeated;
	pk->v[pk->n] = ctl;
	repeated |= id_repeated(pk, pk->n);
	pk->n++;
	return !repeated;
}

int fd_cli_load_pack(const char *const *paths, size_t n, struct fd_pack *pk)
{
	struct names files = { 0 };
	bool bad = false;

	memset(pk, 0, sizeof(*pk));
	if (collect(paths, n, &files) < 0) {
		names_release(&files);
		return FD_EXIT_USAGE;
	}
	drop_repeats(&files);
	if (files.n == 0) {
		fd_cli_error("no scenario files (*.yaml) found");
		names_release(&files);
		return FD_EXIT_USAGE;
	}
	/* Room for a control after every scenario. */
	pk->v = files.n < SIZE_MAX / (2 * sizeof(*pk->v)) ?
		calloc(2 * files.n, sizeof(*pk->v)) : NULL;
	for (size_t i = 0; pk->v && i < files.n; i++) {
		struct fd_scenario *sc;
		struct fd_diag d;
		char msg[1200];

		fd_diag_clear(&d);
		if (fd_scenario_load(files.v[i], &sc, &d) < 0) {
			fprintf(stderr, "%s\n",
				fd_diag_format(&d, msg, sizeof(msg)));
			bad = true;
			continue;
		}
		if (!pack_add(pk, sc))
			bad = true;
	}
	names_release(&files);
	if (!pk->v || bad) {
		if (!pk->v)
			fd_cli_error("out of memory");
		else
			fd_cli_error("nothing was run: fix the scenario "
				     "files above");
		fd_cli_pack_release(pk);
		return FD_EXIT_USAGE;
	}
	return 0;
}

void fd_cli_pack_release(struct fd_pack *pk)
{
	for (size_t i = 0; pk->v && i < pk->n; i++)
		fd_scenario_free(pk->v[i]);
	free(pk->v);
	memset(pk, 0, sizeof(*pk));
}
