/*
 * privdir.c - the private directory <tmpdir>/firedrill-<run id>/ (0700):
 * a <scenario id>/ folder (0700) per scenario with copies, never links, of
 * the stand-in under each name it uses (0500), the output log, removal.
 * The folders a step's cwd and path name are made inside the scenario's
 * folder, like it in every way; a step with a path has its own stand-in's
 * copy there.
 *
 * As root the tree stays root's, and only its group is the group of the
 * user the current step runs as (folders 0750, copies 0550): the stand-ins
 * can run the copies but never change, rename or replace anything in it,
 * so nothing root later does there by path can be redirected.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"

static int scenario_dir(const struct fd_emu *e, const struct fd_scenario *sc,
			char *buf, size_t len)
{
	return fd_emu_path(buf, len, e->dir, sc->id, NULL);
}

static int io_error(struct fd_emu *e, const char *what, const char *path)
{
	return fd_diag_set(e->diag, FD_ERR_IO, 0, 0, "cannot %s %s: %s", what,
			   path, strerror(errno));
}

static bool as_root(void)
{
	return geteuid() == 0;
}

/* Modes: private to us; as root, readable by the run user's group. */
static mode_t dir_mode(void)
{
	return as_root() ? 0750 : 0700;
}

static mode_t copy_mode(void)
{
	return as_root() ? 0550 : 0500;
}

int fd_privdir_create(struct fd_emu *e)
{
	const struct fd_emu_cred *cr = &e->def_cred;
	char log[PATH_MAX];

	if (mkdir(e->dir, 0700) < 0)
		return io_error(e, "create the private directory", e->dir);
	e->dir_made = true;
	e->dir_owner = geteuid();
	e->dir_group = getegid();
	/* Share with the run user's group first, then open the mode: the
	 * folder is never readable by anyone it is not meant for. */
	if (as_root() && cr->gid != e->dir_group) {
		if (chown(e->dir, (uid_t)-1, cr->gid) < 0)
			return io_error(e, "share with the run user", e->dir);
		e->dir_group = cr->gid;
	}
	/* mkdir honours the umask; say exactly what we mean. */
	if (chmod(e->dir, dir_mode()) < 0)
		return io_error(e, "set the mode of", e->dir);
	fd_emu_path(log, sizeof(log), e->dir, FD_EMU_LOG_NAME, NULL);
	e->out_fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
			 O_NOFOLLOW | O_CLOEXEC, 0600);
	if (e->out_fd < 0)
		return io_error(e, "create", log);
	return 0;
}

/* Copy the stand-in to path, unless a previous step already did. */
static int copy_standin(struct fd_emu *e, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, 0700);
	struct stat st;

	if (fd < 0 && errno == EEXIST) {
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		return fd_diag_set(e->diag, FD_ERR_IO, 0, 0, "cannot create "
				   "the stand-in copy %s: a folder has its "
				   "name", path);
	}
	if (fd < 0)
		return io_error(e, "create the stand-in copy", path);
	if (fd_write_all(fd, e->standin, e->standin_len) < 0 ||
	    (as_root() && fchown(fd, (uid_t)-1, e->dir_group) < 0) ||
	    fchmod(fd, copy_mode()) < 0) {
		int rc = io_error(e, "write the stand-in copy", path);

		close(fd);
		return rc;
	}
	if (close(fd) < 0)
		return io_error(e, "write the stand-in copy", path);
	return 0;
}

/*
 * A folder of the tree, as private as the rest: made 0700, shared with
 * the run user's group, then given its mode.  One that an earlier step
 * made is taken as it is, if it is a real folder (not a link).
 */
static int make_folder(struct fd_emu *e, const char *path, bool again)
{
	struct stat st;

	if (mkdir(path, 0700) < 0) {
		if (!again || errno != EEXIST)
			return io_error(e, "create", path);
		if (lstat(path, &st) < 0)
			return io_error(e, "look at", path);
		if (!S_ISDIR(st.st_mode))
			return fd_diag_set(e->diag, FD_ERR_IO, 0, 0,
					   "cannot create folder %s: a "
					   "stand-in copy has its name",
					   path);
		return 0;
	}
	if (as_root() && chown(path, (uid_t)-1, e->dir_group) < 0)
		return io_error(e, "share with the run user", path);
	if (chmod(path, dir_mode()) < 0)
		return io_error(e, "set the mode of", path);
	return 0;
}

typedef int (*folder_fn)(struct fd_emu *e, const char *path,
			 const void *arg);

static int make_subfolder(struct fd_emu *e, const char *path,
			  const void *arg)
{
	(void)arg;
	return make_folder(e, path, true);
}

/* The length of the first name of a path: up to its '/' or its end. */
static size_t name_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

/*
 * Call fn on every folder that sub (a step's cwd or path) needs below the
 * scenario's folder, outermost first: a, a/b, a/b/c.
 */
static int each_folder(struct fd_emu *e, const struct fd_scenario *sc,
		       const char *sub, folder_fn fn, const void *arg)
{
	char rel[PATH_MAX], path[PATH_MAX];
	size_t off = 0;
	int rc;

	if (!sub)
		return 0;
	snprintf(rel, sizeof(rel), "%s", sub);
	for (;;) {
		char keep;

		off += name_len(rel + off);
		keep = rel[off];
		rel[off] = '\0';
		if (fd_emu_path(path, sizeof(path), e->dir, sc->id, rel) < 0)
			return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
					   "path too long for scenario %s",
					   sc->id);
		rc = fn(e, path, arg);
		if (rc < 0 || !keep)
			return rc;
		rel[off++] = keep;
	}
}

/* Every folder the scenario's steps need, each step's cwd and path. */
static int each_step_folder(struct fd_emu *e, const struct fd_scenario *sc,
			    folder_fn fn, const void *arg)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sc->nsteps; i++) {
		rc = each_folder(e, sc, sc->steps[i].cwd, fn, arg);
		if (rc == 0)
			rc = each_folder(e, sc, sc->steps[i].path, fn, arg);
	}
	return rc;
}

int fd_privdir_populate(struct fd_emu *e, const struct fd_scenario *sc)
{
	char path[PATH_MAX];
	size_t i, d;
	int rc;

	if (scenario_dir(e, sc, path, sizeof(path)) < 0)
		return fd_diag_set(e->diag, FD_ERR_INVALID, 0, 0,
				   "path too long for scenario %s", sc->id);
	rc = make_folder(e, path, false);
	if (rc == 0)
		rc = each_step_folder(e, sc, make_subfolder, NULL);
	for (i = 0; rc == 0 && i < sc->nsteps; i++) {
		const struct fd_step *st = &sc->steps[i];

		for (d = 0; rc == 0 && d < fd_emu_chain_len(st); d++) {
			if (fd_emu_copy_path(e, sc, st, d, path,
					     sizeof(path)) < 0)
				return fd_diag_set(e->diag, FD_ERR_INVALID,
						   0, 0, "path too long");
			rc = copy_standin(e, path);
		}
	}
	return rc;
}

/* arg: the gid_t of the group to share the folder with. */
static int share_folder(struct fd_emu *e, const char *path, const void *arg)
{
	if (lchown(path, (uid_t)-1, *(const gid_t *)arg) < 0)
		return io_error(e, "share with the run user", path);
	return 0;
}

/*
 * Share the tree (the private directory, the scenario's directory and its
 * copies) with the group of the user the next step runs as.  It stays
 * root's: only its group changes.  Anyone but root runs every step as
 * themselves, in a tree of their own.
 */
int fd_privdir_own(struct fd_emu *e, const struct fd_scenario *sc,
		   const struct fd_emu_cred *cr)
{
	char path[PATH_MAX];
	size_t i, d;
	int rc;

	if (!as_root() || e->dir_group == cr->gid)
		return 0;
	if (chown(e->dir, (uid_t)-1, cr->gid) < 0)
		return io_error(e, "share with the run user", e->dir);
	scenario_dir(e, sc, path, sizeof(path));
	if (chown(path, (uid_t)-1, cr->gid) < 0)
		return io_error(e, "share with the run user", path);
	rc = each_step_folder(e, sc, share_folder, &cr->gid);
	if (rc < 0)
		return rc;
	for (i = 0; i < sc->nsteps; i++) {
		const struct fd_step *st = &sc->steps[i];

		for (d = 0; d < fd_emu_chain_len(st); d++) {
			fd_emu_copy_path(e, sc, st, d, path, sizeof(path));
			if (lchown(path, (uid_t)-1, cr->gid) < 0)
				return io_error(e, "share with the run user",
						path);
		}
	}
	e->dir_group = cr->gid;
	return 0;
}

/* Before a step: every copy in its chain must hash to the original. */
int fd_privdir_check(struct fd_emu *e, const struct fd_scenario *sc,
		     const struct fd_step *st)
{
	uint8_t got[FD_SHA256_LEN];
	char path[PATH_MAX], hex[FD_SHA256_HEX];
	size_t d;

	for (d = 0; d < fd_emu_chain_len(st); d++) {
		fd_emu_copy_path(e, sc, st, d, path, sizeof(path));
		if (fd_sha256_file(path, got) < 0)
			return fd_diag_set(e->diag, FD_ERR_HASH, st->pos.line,
					   st->pos.col,
					   "cannot hash stand-in copy %s: %s;"
					   " nothing was run", path,
					   strerror(errno));
		if (memcmp(got, e->sha, FD_SHA256_LEN))
			return fd_diag_set(e->diag, FD_ERR_HASH, st->pos.line,
					   st->pos.col,
					   "stand-in copy %s has sha256 %s, "
					   "not the original's %s; nothing "
					   "was run", path,
					   fd_sha256_hex(got, hex),
					   e->sha_hex);
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

void fd_privdir_remove(struct fd_emu *e)
{
	if (!e->dir_made || e->opts->keep)
		return;
	/* FTW_PHYS: never follow a link out of the directory. */
	if (nftw(e->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
		e->dir_made = false;
}
