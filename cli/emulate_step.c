/*
 * emulate_step.c - the emulate step, shared by `emulate` and `run`: spawn
 * the stand-ins into a run directory.
 *
 * A run directory is made under a temporary name and renamed to the run id
 * once the emulator has one, so a half-made directory never looks like a
 * finished run.  This file needs the emulator and the C library only: it
 * is part of the emulator that a test Mac builds.
 */
#include "cli_base.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulator.h"

#define RUNS_ROOT "firedrill-runs"

static int prepare_out(const struct fd_cli_emulate_args *a, char *dir)
{
	char probe[PATH_MAX];
	struct stat st;

	if (a->out) {
		snprintf(dir, PATH_MAX, "%s", a->out);
		if (lstat(a->out, &st) == 0 &&
		    (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())) {
			fd_cli_error("'%s' is not a folder of yours; choose "
				     "another --out", a->out);
			return -1;
		}
		snprintf(probe, sizeof(probe), "%s/run.jsonl", a->out);
		if (stat(probe, &st) == 0) {
			fd_cli_error("'%s' already holds a run; choose "
				     "another --out", a->out);
			return -1;
		}
		return fd_cli_mkdirs(dir);
	}
	if (fd_cli_mkdirs(RUNS_ROOT) < 0)
		return -1;
	snprintf(dir, PATH_MAX, "%s/.new-XXXXXX", RUNS_ROOT);
	if (!mkdtemp(dir)) {
		fd_cli_error("cannot create a run directory in '%s': %s",
			     RUNS_ROOT, strerror(errno));
		return -1;
	}
	chmod(dir, 0755);
	return 0;
}

/* Give a default run directory its run id as name. */
static void name_run_dir(const struct fd_cli_emulate_args *a, char *dir,
			 const char *run_id)
{
	char final[PATH_MAX];

	if (a->out || !run_id[0])
		return;
	snprintf(final, sizeof(final), "%s/%s", RUNS_ROOT, run_id);
	if (rename(dir, final) == 0)
		snprintf(dir, PATH_MAX, "%s", final);
}

int fd_cli_emulate(const struct fd_pack *pk,
		   const struct fd_cli_emulate_args *a, char *run_dir)
{
	struct fd_emulate_opts o = { 0 };
	struct fd_emulate_result res;
	struct fd_diag d;
	char msg[1200];
	int rc, sig;

	memset(&res, 0, sizeof(res));
	fd_diag_clear(&d);
	if (a->dry_run) {
		o.dry_run = true;
		o.log = stdout;
		o.standin = fd_cli_standin_path();
		o.run_user = a->user;
		o.tmpdir = a->tmpdir;
		o.run_dir = NULL;
		rc = fd_emulate(pk->v, pk->n, &o, &res, &d);
		if (rc < 0) {
			fd_cli_error("%s", fd_diag_format(&d, msg,
							  sizeof(msg)));
			return rc == -FD_ERR_PRIVILEGE ||
			       rc == -FD_ERR_INVALID ? FD_EXIT_USAGE :
			       FD_EXIT_ERROR;
		}
		return FD_EXIT_PASS;
	}
	if (prepare_out(a, run_dir) < 0)
		return FD_EXIT_USAGE;
	o.run_dir = run_dir;
	o.standin = fd_cli_standin_path();
	o.tmpdir = a->tmpdir;
	o.run_user = a->user;
	o.keep = a->keep;
	o.log = a->quiet ? NULL : stderr;
	rc = fd_emulate(pk->v, pk->n, &o, &res, &d);
	if (rc < 0 && !a->out)
		rmdir(run_dir);	/* nothing was written: leave nothing */
	name_run_dir(a, run_dir, res.run_id);
	sig = fd_emulate_pending_signal();
	if (rc == -FD_ERR_INTERRUPTED && sig) {
		fd_cli_error("interrupted; the partial run record is in '%s'",
			     run_dir);
		fflush(NULL);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	if (rc < 0) {
		fd_cli_error("emulate: %s", fd_diag_format(&d, msg,
							    sizeof(msg)));
		return rc == -FD_ERR_PRIVILEGE || rc == -FD_ERR_INVALID ?
		       FD_EXIT_USAGE : FD_EXIT_ERROR;
	}
	if (!a->quiet) {
		fprintf(stderr, "%s: run %s: %zu process%s spawned",
			fd_cli_program(), res.run_id, res.spawned,
			res.spawned == 1 ? "" : "es");
		if (a->keep)
			fprintf(stderr, "; stand-ins kept in %s",
				res.standin_dir);
		fprintf(stderr, "\n%s: run record: %s/run.jsonl\n",
			fd_cli_program(), run_dir);
	}
	return FD_EXIT_PASS;
}
