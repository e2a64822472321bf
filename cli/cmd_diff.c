/*
 * cmd_diff.c - `firedrill diff OLD NEW [SCENARIOS...]`: what a rule change
 * does to the scenario pack.
 *
 * The pack is emulated once; its telemetry goes through the embedded
 * engine twice, once with the OLD rules and once with the NEW, each
 * writing its own alerts file.  A scenario is "caught" by a side when at
 * least one of that side's alerts belongs to it (same run, same scenario,
 * same host, in its time window).  Expectations are not consulted: this
 * is the change, not a verdict.
 */
#include "cli.h"
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "exception.h"
#include "opts.h"
#include "runrec.h"

static const struct fd_cmd_help help = {
	"firedrill diff [options] OLD NEW [SCENARIOS...]",
	"Run the scenario pack (default: scenarios/) once, and show which\n"
	"scenarios the rules in OLD catch that NEW does not, and the other\n"
	"way round.  OLD and NEW are rule files or folders in Kibana's rule\n"
	"JSON (two versions of a rule, typically).  Scenario expectations are\n"
	"ignored: a scenario is caught when a rule raises an alert on it.",
	"exit status: 0 the comparison ran (1 with --exit-code when the two\n"
	"differ); 2 usage or bad input; 3 the emulator or engine failed.\n\n"
	"example:\n"
	"  firedrill diff rules/old.json rules/new.json scenarios/",
};

struct side {
	const char *path;
	const struct fd_exc_set *exceptions;	/* both sides: the same */
	char label[160];
	struct fd_ruleset rules;
	size_t *alerts;		/* per scenario */
	size_t caught;
};

static void side_label(struct side *s)
{
	const struct fd_rule *r = s->rules.n ? s->rules.rules[0] : NULL;

	if (s->rules.n == 1)
		snprintf(s->label, sizeof(s->label), "v%d %s", r->version,
			 fd_lang_name(r->lang));
	else
		snprintf(s->label, sizeof(s->label), "%zu rules",
			 s->rules.n);
}

/* Count, per scenario, the alerts one side's rules raise. */
static int count_side(struct side *s, const char *run_dir,
		      const struct fd_runrec *rr, const char *events,
		      const char *alerts_file)
{
	const struct fd_backend *be = &fd_backend_embedded;
	struct fd_backend_cfg cfg = { run_dir, &s->rules, rr, alerts_file,
				      NULL, s->exceptions };
	void *ctx = calloc(1, be->ctx_size);
	struct fd_diag d;
	char msg[1200], frag[256];
	int rc = -1;

	fd_diag_clear(&d);
	s->alerts = calloc(rr->nscenarios + 1, sizeof(*s->alerts));
	if (!ctx || !s->alerts || be->open(ctx, &cfg, &d) < 0)
		goto out_free;
	if (be->ingest(ctx, events, &d) < 0) {
		fd_cli_error("%s", fd_diag_format(&d, msg, sizeof(msg)));
		goto out;
	}
	for (size_t i = 0; i < rr->nscenarios; i++) {
		const struct fd_scenario *sc = rr->scenarios[i];
		struct fd_alert_filter f = { 0 };
		struct fd_alert_list al = { 0 };

		snprintf(frag, sizeof(frag), "/firedrill-%s/%s/", rr->run_id,
			 sc->id);
		f.run_id = rr->run_id;
		f.scenario = frag;
		f.host_name = sc->host.name ? sc->host.name : rr->host_name;
		f.from = -1;
		f.to = 1e12;
		if (be->search_alerts(ctx, &f, 1, &al, &d) < 0)
			goto out;
		s->alerts[i] = al.n;
		s->caught += al.n > 0;
		fd_alert_list_release(&al);
	}
	rc = 0;
out:
	be->close(ctx);
out_free:
	free(ctx);
	return rc;
}

static const char *change_of(size_t old, size_t new)
{
	if (old && !new)
		return "only OLD";
	if (!old && new)
		return "only NEW";
	return "";
}

static void print_table(FILE *out, const struct fd_runrec *rr,
			const struct side *o, const struct side *n)
{
	int w = (int)strlen("SCENARIO");
	size_t only_old = 0, only_new = 0;

	for (size_t i = 0; i < rr->nscenarios; i++)
		if ((int)strlen(rr->scenarios[i]->id) > w)
			w = (int)strlen(rr->scenarios[i]->id);
	fprintf(out, "OLD: %s (%s)\nNEW: %s (%s)\n\n", o->path, o->label,
		n->path, n->label);
	fprintf(out, "%-*s  %-6s  %-6s  %s\n", w, "SCENARIO", "OLD", "NEW",
		"CHANGE");
	for (size_t i = 0; i < rr->nscenarios; i++) {
		size_t a = o->alerts[i], b = n->alerts[i];

		fprintf(out, "%-*s  %-6s  %-6s  %s\n", w,
			rr->scenarios[i]->id, a ? "caught" : "-",
			b ? "caught" : "-", change_of(a, b));
		only_old += a && !b;
		only_new += !a && b;
	}
	fprintf(out, "\n%zu scenario%s: OLD catches %zu, NEW catches %zu; "
		"%zu only by OLD, %zu only by NEW\n", rr->nscenarios,
		rr->nscenarios == 1 ? "" : "s", o->caught, n->caught,
		only_old, only_new);
}

static cJSON *side_json(const struct side *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "rules", s->path);
	cJSON_AddStringToObject(o, "label", s->label);
	cJSON_AddNumberToObject(o, "caught", (double)s->caught);
	return o;
}

static int write_json(const char *path, const struct fd_runrec *rr,
		      const struct side *o, const struct side *n)
{
	cJSON *root = cJSON_CreateObject(), *list, *only_old, *only_new;
	char *text;
	FILE *f;
	int rc = -1;

	cJSON_AddStringToObject(root, "run_id", rr->run_id);
	cJSON_AddItemToObject(root, "old", side_json(o));
	cJSON_AddItemToObject(root, "new", side_json(n));
	only_old = cJSON_AddArrayToObject(root, "only_old");
	only_new = cJSON_AddArrayToObject(root, "only_new");
	list = cJSON_AddArrayToObject(root, "scenarios");
	for (size_t i = 0; i < rr->nscenarios; i++) {
		cJSON *e = cJSON_CreateObject();
		const char *id = rr->scenarios[i]->id;

		cJSON_AddStringToObject(e, "scenario", id);
		cJSON_AddNumberToObject(e, "old_alerts", (double)o->alerts[i]);
		cJSON_AddNumberToObject(e, "new_alerts", (double)n->alerts[i]);
		cJSON_AddItemToArray(list, e);
		if (o->alerts[i] && !n->alerts[i])
			cJSON_AddItemToArray(only_old, cJSON_CreateString(id));
		if (!o->alerts[i] && n->alerts[i])
			cJSON_AddItemToArray(only_new, cJSON_CreateString(id));
	}
	text = cJSON_Print(root);
	f = strcmp(path, "-") ? fd_fopen_write(path) : stdout;
	if (text && f) {
		fprintf(f, "%s\n", text);
		rc = 0;
	}
	if (f && f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fd_cli_error("cannot write '%s'", path);
	free(text);
	cJSON_Delete(root);
	return rc;
}

static bool differ(const struct fd_runrec *rr, const struct side *o,
		   const struct side *n)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		if (!o->alerts[i] != !n->alerts[i])
			return true;
	return false;
}

static int compare(const char *run_dir, struct side *o, struct side *n,
		   const char *json, bool exit_code)
{
	char path[PATH_MAX + 64], events[PATH_MAX + 64], msg[1200];
	struct fd_runrec rr;
	struct fd_diag d;
	int status = FD_EXIT_ERROR;

	fd_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/run.jsonl", run_dir);
	snprintf(events, sizeof(events), "%s/events.ndjson", run_dir);
	if (fd_runrec_load(path, &rr, &d) < 0) {
		fprintf(stderr, "%s\n", fd_diag_format(&d, msg, sizeof(msg)));
		return FD_EXIT_ERROR;
	}
	if (fd_cli_write_events(&rr, events) == 0 &&
	    count_side(o, run_dir, &rr, events, "alerts-old.ndjson") == 0 &&
	    count_side(n, run_dir, &rr, events, "alerts-new.ndjson") == 0) {
		/* With --json -, standard output is the JSON alone. */
		print_table(json && !strcmp(json, "-") ? stderr : stdout, &rr,
			    o, n);
		status = exit_code && differ(&rr, o, n) ? FD_EXIT_FAIL :
			 FD_EXIT_PASS;
		if (json && write_json(json, &rr, o, n) < 0)
			status = FD_EXIT_ERROR;
	}
	fd_runrec_release(&rr);
	return status;
}

int fd_cmd_diff(int argc, char **argv)
{
	struct fd_cli_emulate_args ea = { .quiet = true };
	struct side o = { 0 }, n = { 0 };
	const char *json = NULL, *defaults[1], *exc_path = NULL;
	struct fd_exc_set *exc = NULL;
	bool exit_code = false, shown;
	char run_dir[PATH_MAX];
	struct fd_pack pk = { 0 };
	int first, status;
	const struct fd_opt opts[] = {
		FD_OPT_OUT(&ea.out),
		{ 0, "json", FD_OPT_STRING, &json, "FILE",
		  "also write the comparison as JSON (- for stdout)" },
		{ 0, "exit-code", FD_OPT_FLAG, &exit_code, NULL,
		  "exit 1 when OLD and NEW catch different scenarios" },
		FD_OPT_EXCEPTIONS(&exc_path),
		FD_OPT_USER(&ea.user),
		FD_OPT_TMPDIR(&ea.tmpdir),
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, &help, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	if (argc - first < 2) {
		fd_cli_error("diff: name the OLD and the NEW rules");
		fd_opts_usage(stderr, opts, &help);
		return FD_EXIT_USAGE;
	}
	o.path = argv[first];
	n.path = argv[first + 1];
	defaults[0] = fd_cli_data_path(NULL, "FIREDRILL_SCENARIOS",
				       "scenarios");
	status = fd_cli_load_rules(o.path, &o.rules);
	if (status == 0)
		status = fd_cli_load_rules(n.path, &n.rules);
	if (status == 0)
		status = fd_cli_load_pack(first + 2 < argc ?
					  (const char *const *)argv + first + 2
					  : defaults, first + 2 < argc ?
					  (size_t)(argc - first - 2) : 1, &pk);
	/* Both sides run with the same exceptions, as the stack would. */
	if (status == 0)
		status = fd_cli_load_exceptions(exc_path, n.path, &exc);
	if (status == 0)
		status = fd_cli_check_exceptions(&pk, NULL, exc);
	o.exceptions = n.exceptions = exc;
	if (status == 0) {
		side_label(&o);
		side_label(&n);
		status = fd_cli_emulate(&pk, &ea, run_dir);
	}
	if (status == 0)
		status = compare(run_dir, &o, &n, json, exit_code);
	fd_cli_pack_release(&pk);
	fd_exc_free(exc);
	fd_ruleset_release(&o.rules);
	fd_ruleset_release(&n.rules);
	free(o.alerts);
	free(n.alerts);
	return status;
}
