/*
 * validate_step.c - the validate step, shared by `validate` and `run`: read a run
 * directory, validate it through a backend, and report.  (The emulate step
 * is in emulate_step.c.)
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
#include "report.h"
#include "runrec.h"
#include "telemetry.h"
#include "validate.h"

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
