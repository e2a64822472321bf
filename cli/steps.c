/*
 * steps.c - the two steps of a drill, shared by `emulate`, `validate` and
 * `run`: spawn the stand-ins into a run directory, then validate that run
 * directory through a backend and report.
 *
 * A run directory is made under a temporary name and renamed to the run id
 * once the emulator has one, so a half-made directory never looks like a
 * finished run.
 */
#include "cli.h"
#include "files.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "emulator.h"
#include "report.h"
#include "runrec.h"
#include "telemetry.h"
#include "validate.h"

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
			fd_cli_error("'%s' already holds a run; choose another "
				     "--out", a->out);
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
		fprintf(stderr, "firedrill: run %s: %zu process%s spawned",
			res.run_id, res.spawned,
			res.spawned == 1 ? "" : "es");
		if (a->keep)
			fprintf(stderr, "; stand-ins kept in %s",
				res.standin_dir);
		fprintf(stderr, "\nfiredrill: run record: %s/run.jsonl\n",
			run_dir);
	}
	return FD_EXIT_PASS;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Embedded telemetry: the run record's processes as ECS events. */
int fd_cli_write_events(const struct fd_runrec *rr, const char *path)
{
	FILE *f = fd_fopen_write(path);
	size_t n = 0;
	int rc;

	if (!f) {
		fd_cli_error("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = fd_telemetry_write(rr, now_s(), f, &n);
	if ((fclose(f) != 0 || rc < 0)) {
		fd_cli_error("cannot write '%s': %s", path,
			     fd_strerror(rc < 0 ? -rc : FD_ERR_IO));
		return -1;
	}
	return 0;
}

static int write_reports(const struct fd_cli_validate_args *a,
			 const char *run_dir, const struct fd_runrec *rr,
			 const char *backend, const struct fd_verdicts *vs)
{
	char path[PATH_MAX];
	int bad = 0;

	snprintf(path, sizeof(path), "%s/report.json", run_dir);
	if (fd_report_json(path, rr, backend, vs) < 0) {
		fd_cli_error("cannot write '%s'", path);
		bad = 1;
	}
	if (a->json && fd_report_json(a->json, rr, backend, vs) < 0) {
		fd_cli_error("cannot write '%s'", a->json);
		bad = 1;
	}
	if (a->junit && fd_report_junit(a->junit, rr, vs) < 0) {
		fd_cli_error("cannot write '%s'", a->junit);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int run_backend(const struct fd_backend *be, const char *run_dir,
		       const struct fd_runrec *rr,
		       const struct fd_ruleset *rules,
		       const struct fd_cli_validate_args *a)
{
	struct fd_backend_cfg cfg = { run_dir, rules, rr };
	struct fd_validate_opts vo = { 0 };
	struct fd_verdicts vs;
	char events[PATH_MAX], msg[1200];
	struct fd_diag d;
	void *ctx = calloc(1, be->ctx_size ? be->ctx_size : 1);
	int status = FD_EXIT_ERROR;
	FILE *human;

	fd_diag_clear(&d);
	vo.log = a->quiet ? NULL : stderr;
	if (!ctx || be->open(ctx, &cfg, &d) < 0) {
		fd_cli_error("backend '%s': %s", be->name,
			     ctx ? fd_diag_format(&d, msg, sizeof(msg)) :
			     "out of memory");
		free(ctx);
		return FD_EXIT_ERROR;
	}
	snprintf(events, sizeof(events), "%s/events.ndjson", run_dir);
	if ((be->caps & FD_BACKEND_CAN_INGEST) &&
	    (fd_cli_write_events(rr, events) < 0 ||
	     be->ingest(ctx, events, &d) < 0)) {
		if (d.msg[0])
			fd_cli_error("backend '%s': %s", be->name,
				     fd_diag_format(&d, msg, sizeof(msg)));
		goto out;
	}
	if (fd_validate(rr, be, ctx, rules, &vo, &vs) < 0) {
		fd_cli_error("validate: out of memory");
		goto out;
	}
	/* With --json -, standard output is the JSON alone. */
	human = a->json && !strcmp(a->json, "-") ? stderr : stdout;
	if (!a->quiet)
		fd_report_table(human, &vs, human == stdout && fd_cli_color());
	fd_report_summary(human, &vs, human == stdout && fd_cli_color());
	status = fd_verdicts_exit_status(&vs);
	if (write_reports(a, run_dir, rr, be->name, &vs) < 0 &&
	    status == FD_EXIT_PASS)
		status = FD_EXIT_ERROR;
	fd_verdicts_release(&vs);
out:
	be->close(ctx);
	free(ctx);
	return status;
}

int fd_cli_check_backend(const char *name)
{
	if (!name || fd_backend_find(name))
		return 0;
	fd_cli_error("unknown backend '%s' (known:%s)", name,
		     fd_cli_backend_names());
	return FD_EXIT_USAGE;
}

const char *fd_cli_backend_names(void)
{
	static char names[256];
	size_t used = 0;

	for (size_t i = 0; fd_backends[i] && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
					 " %s", fd_backends[i]->name);
	return names;
}

int fd_cli_validate(const char *run_dir, const struct fd_ruleset *rules,
		    const struct fd_cli_validate_args *a)
{
	const char *name = a->backend ? a->backend : "embedded";
	const struct fd_backend *be = fd_backend_find(name);
	struct fd_runrec rr;
	char path[PATH_MAX], msg[1200];
	struct fd_diag d;
	int status;

	if (!be)
		return fd_cli_check_backend(name);
	fd_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/run.jsonl", run_dir);
	if (fd_runrec_load(path, &rr, &d) < 0) {
		if (!d.file[0])
			snprintf(d.file, sizeof(d.file), "%s", path);
		fprintf(stderr, "%s\n", fd_diag_format(&d, msg, sizeof(msg)));
		return FD_EXIT_USAGE;
	}
	{
		struct fd_pack pk = { rr.scenarios, rr.nscenarios };

		if (fd_cli_check_rules(&pk, rules)) {
			fd_runrec_release(&rr);
			return FD_EXIT_USAGE;
		}
	}
	status = run_backend(be, run_dir, &rr, rules, a);
	fd_runrec_release(&rr);
	return status;
}
