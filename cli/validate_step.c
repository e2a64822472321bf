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
#include "live_args.h"
#include "push.h"
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

/* -q prints no table; an ERROR still says why, once. */
static void say_first_error(const struct fd_verdicts *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		if (vs->v[i].outcome == FD_ERROR) {
			fd_cli_error("first ERROR: %s %s: %s", vs->v[i].scenario,
				     vs->v[i].check, vs->v[i].reason);
			return;
		}
}

/* Why a step before polling failed, for every expectation's ERROR row. */
static char failed_why[600];

/* --telemetry push: the run's events into the stack, before polling. */
static int push_events(const struct fd_cli_live *live,
		       const struct fd_runrec *rr, const char *run_dir,
		       bool quiet)
{
	char events[PATH_MAX], msg[1200], stream[256];
	struct fd_diag d;
	size_t pushed = 0;

	fd_diag_clear(&d);
	snprintf(events, sizeof(events), "%s/events.ndjson", run_dir);
	if (fd_cli_write_events(rr, events) < 0) {
		snprintf(failed_why, sizeof(failed_why), "the events could "
			 "not be written, so none were pushed");
		return -1;
	}
	if (fd_push_events(&live->cfg, events, &pushed, &d) < 0) {
		fd_cli_error("telemetry push: %s",
			     fd_diag_format(&d, msg, sizeof(msg)));
		snprintf(failed_why, sizeof(failed_why), "telemetry push "
			 "failed: %s", d.msg);
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "firedrill: %zu event%s pushed to %s\n",
			pushed, pushed == 1 ? "" : "s",
			fd_push_stream(live->cfg.ds_namespace, stream,
				       sizeof(stream)));
	return 0;
}

/* --close-alerts: after the verdicts, and only the alerts they matched. */
static int close_alerts(const struct fd_backend *be, void *ctx,
			const struct fd_verdicts *vs, bool quiet)
{
	char msg[1200];
	struct fd_diag d;
	size_t closed = 0;

	fd_diag_clear(&d);
	if (!vs->alerts || cJSON_GetArraySize(vs->alerts) == 0)
		return 0;
	if (be->close_alerts(ctx, vs->alerts, &closed, &d) < 0) {
		fd_cli_error("closing alerts: %s",
			     fd_diag_format(&d, msg, sizeof(msg)));
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "firedrill: %zu alert%s closed\n", closed,
			closed == 1 ? "" : "s");
	return 0;
}

/*
 * A backend that answers every question with one failure: when a step
 * before polling fails (the push), every expectation still gets its ERROR
 * row and every report is written.
 */
static int failed_state(void *ctx, const char *rule_id, int version,
			struct fd_rule_state *st, struct fd_diag *d)
{
	(void)ctx;
	(void)rule_id;
	(void)version;
	(void)st;
	return fd_diag_set(d, FD_ERR_INVALID, 0, 0, "%s", failed_why);
}

static int failed_search(void *ctx, const struct fd_alert_filter *f,
			 size_t n, struct fd_alert_list *out,
			 struct fd_diag *d)
{
	(void)ctx;
	(void)f;
	(void)n;
	(void)out;
	return fd_diag_set(d, FD_ERR_INVALID, 0, 0, "%s", failed_why);
}

static const struct fd_backend failed_backend = {
	.name = "failed",
	.caps = FD_BACKEND_LIVE,
	.search_alerts = failed_search,
	.rule_state = failed_state,
};

/* Run the validation proper; the verdicts end up in vs. */
static int decide_all(const struct fd_backend *be, void *ctx,
		      const char *run_dir, const struct fd_runrec *rr,
		      const struct fd_ruleset *rules,
		      const struct fd_cli_validate_args *a,
		      struct fd_verdicts *vs)
{
	struct fd_validate_opts vo = { 0 };
	char events[PATH_MAX], msg[1200];
	struct fd_diag d;

	fd_diag_clear(&d);
	if (a->live)
		vo = a->live->vo;
	vo.log = a->quiet ? NULL : stderr;
	snprintf(events, sizeof(events), "%s/events.ndjson", run_dir);
	if ((be->caps & FD_BACKEND_CAN_INGEST) &&
	    (fd_cli_write_events(rr, events) < 0 ||
	     be->ingest(ctx, events, &d) < 0)) {
		if (d.msg[0])
			fd_cli_error("backend '%s': %s", be->name,
				     fd_diag_format(&d, msg, sizeof(msg)));
		return -1;
	}
	if (a->live && a->live->push &&
	    push_events(a->live, rr, run_dir, a->quiet) < 0)
		be = &failed_backend;
	if (fd_validate(rr, be, ctx, rules, &vo, vs) < 0) {
		fd_cli_error("validate: out of memory");
		return -1;
	}
	return 0;
}

static int run_backend(const struct fd_backend *be, const char *run_dir,
		       const struct fd_runrec *rr,
		       const struct fd_ruleset *rules,
		       const struct fd_cli_validate_args *a)
{
	struct fd_backend_cfg cfg = { run_dir, rules, rr, NULL,
				      a->live ? &a->live->cfg : NULL,
				      a->exceptions };
	struct fd_verdicts vs;
	char msg[1200];
	struct fd_diag d;
	void *ctx = calloc(1, be->ctx_size ? be->ctx_size : 1);
	int status = FD_EXIT_ERROR, rc = 0;
	FILE *human;

	fd_diag_clear(&d);
	if (!ctx || (rc = be->open(ctx, &cfg, &d)) < 0) {
		fd_cli_error("backend '%s': %s", be->name,
			     ctx ? fd_diag_format(&d, msg, sizeof(msg)) :
			     "out of memory");
		if (ctx)
			be->close(ctx);
		free(ctx);
		return rc == -FD_ERR_INVALID ? FD_EXIT_USAGE : FD_EXIT_ERROR;
	}
	if (decide_all(be, ctx, run_dir, rr, rules, a, &vs) < 0)
		goto out;
	/* With --json -, standard output is the JSON alone. */
	human = a->json && !strcmp(a->json, "-") ? stderr : stdout;
	if (!a->quiet)
		fd_report_table(human, &vs, human == stdout && fd_cli_color());
	fd_report_summary(human, &vs, human == stdout && fd_cli_color());
	if (a->quiet)
		say_first_error(&vs);
	status = fd_verdicts_exit_status(&vs);
	if (write_reports(a, run_dir, rr, be->name, &vs) < 0 &&
	    status == FD_EXIT_PASS)
		status = FD_EXIT_ERROR;
	if (a->live && a->live->close_alerts &&
	    close_alerts(be, ctx, &vs, a->quiet) < 0 &&
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

/* Can a report be written at path?  Its folder must exist and be
 * writable; "-" is standard output. */
static int report_path_ok(const char *flag, const char *path)
{
	char dir[PATH_MAX];
	const char *slash;

	if (!path || !strcmp(path, "-"))
		return 0;
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? (slash == path ? "/" : path) : ".");
	if (!*path || (slash && !slash[1]) || access(dir, W_OK) != 0) {
		fd_cli_error("%s: cannot write '%s'%s%s", flag, path,
			     errno ? ": " : "", errno ? strerror(errno) : "");
		return FD_EXIT_USAGE;
	}
	return 0;
}

int fd_cli_check_reports(const struct fd_cli_validate_args *a)
{
	errno = 0;
	if (report_path_ok("--json", a->json) ||
	    report_path_ok("--junit", a->junit))
		return FD_EXIT_USAGE;
	return 0;
}

bool fd_cli_backend_is_live(const char *name)
{
	const struct fd_backend *be = name ? fd_backend_find(name) : NULL;

	return be && (be->caps & FD_BACKEND_LIVE);
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

		if (rules && (fd_cli_check_rules(&pk, rules) ||
			      fd_cli_check_exceptions(&pk, rules,
						      a->exceptions))) {
			fd_runrec_release(&rr);
			return FD_EXIT_USAGE;
		}
	}
	status = run_backend(be, run_dir, &rr, rules, a);
	fd_runrec_release(&rr);
	return status;
}
