/*
 * cmd_exceptions.c - `firedrill exceptions check RULE [LIST...]`: the
 * blind-spot review a detection engineer needs before adding an
 * exception.
 *
 * It runs the rule's positive scenarios (real stand-ins, as `run` does),
 * then the rule over their events twice: without exceptions, to see which
 * scenarios alert at all, and with the lists applied to every event, to
 * see which of those alerts an exception would silence, and by which
 * item.  A positive silenced is a blind spot: exit 1, naming the item.
 * The lists come from --exceptions (default: the rules' exceptions/), or,
 * with --backend kibana, from the stack: those attached to the rule there.
 */
#include "cli.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "detect.h"
#include "exception.h"
#include "field.h"
#include "kibana.h"
#include "live_args.h"
#include "opts.h"
#include "runrec.h"

static const struct fd_cmd_help help = {
	"firedrill exceptions check RULE [LIST...] [options]",
	"Before adding an exception, see what it hides: run the positive\n"
	"scenarios of RULE (a rule_id) and name every one that the\n"
	"exception lists LIST... (list_ids; default: the lists the rule\n"
	"itself references) would silence, with the item responsible.\n"
	"With --backend kibana the lists and their items are read from the\n"
	"stack: those attached to the rule there.",
	"exit status:\n"
	"  0  no positive scenario is silenced\n"
	"  1  an exception silences a positive scenario (a blind spot)\n"
	"  2  usage error, or a bad rule, scenario or exception file\n"
	"  3  nothing could be checked (no positive scenario, a backend\n"
	"     error)\n\n"
	"examples:\n"
	"  firedrill exceptions check 02ea4563-ec10-4974-b7de-12e65aa4f9b3 \\\n"
	"      firedrill-dah-mdm\n"
	"  firedrill exceptions check 02ea4563-ec10-4974-b7de-12e65aa4f9b3 \\\n"
	"      --backend kibana --kibana-url https://kibana:5601",
};

struct check {
	const struct fd_rule *rule;
	struct fd_ruleset one;		/* just the rule, borrowed */
	struct fd_exc_set *set;
	const char **lists;		/* the list_ids to apply */
	size_t nlists;
	struct fd_pack pk;		/* the positives, borrowed */
	bool given;			/* lists named on the command line
					   (borrowed); else owned copies */
};

/* Does sc expect RULE (at this version) to alert? */
static bool positive_for(const struct fd_scenario *sc,
			 const struct fd_rule *r)
{
	for (size_t i = 0; i < sc->nexpects; i++) {
		const struct fd_expect *ex = &sc->expects[i];

		if (strcmp(ex->rule_id, r->rule_id) ||
		    (ex->version && ex->version != r->version))
			continue;
		if (ex->count_op == FD_COUNT_AT_LEAST || ex->count > 0)
			return true;
	}
	return false;
}

static size_t every_event(void *arg, const char *scenario,
			  const char *const **ids)
{
	const struct check *c = arg;

	(void)scenario;
	*ids = c->lists;
	return c->nlists;
}

/* One detection pass; alerts (or suppressed records) to path. */
static int detect_once(const struct check *c, const char *events,
		       const char *alerts, const char *suppressed)
{
	struct fd_detect_exceptions exc = { c->set, every_event, (void *)c,
					    NULL, 0 };
	struct fd_rule_run run;
	struct fd_diag d;
	char msg[1200];
	FILE *a = fopen(alerts, "w");
	FILE *s = suppressed ? fopen(suppressed, "w") : NULL;
	int rc, saved;

	fd_diag_clear(&d);
	memset(&run, 0, sizeof(run));
	if (!a || (suppressed && !s)) {
		fd_cli_error("cannot write in the run directory");
		if (a)
			fclose(a);
		if (s)
			fclose(s);
		return -1;
	}
	exc.suppressed_out = s;
	/* Every match counts here, not the first max_signals: a positive
	 * past the cap is still a positive the exception may silence. */
	saved = c->rule->max_signals;
	((struct fd_rule *)c->rule)->max_signals = INT_MAX;
	rc = suppressed ? fd_detect_file_ex(&c->one, events, a, &run, &exc,
					    &d) :
	     fd_detect_file(&c->one, events, a, &run, &d);
	((struct fd_rule *)c->rule)->max_signals = saved;
	fclose(a);
	if (s)
		fclose(s);
	if (rc < 0 || strcmp(run.status, "succeeded")) {
		fd_cli_error("exceptions: %s", rc < 0 ?
			     fd_diag_format(&d, msg, sizeof(msg)) :
			     run.message);
		return -1;
	}
	return 0;
}

/* Every document of an NDJSON file, read once, as a JSON array. */
static cJSON *read_docs(const char *path)
{
	FILE *f = fopen(path, "r");
	cJSON *all = cJSON_CreateArray();
	char *line = NULL;
	size_t cap = 0;

	while (f && all && getline(&line, &cap, f) > 0) {
		cJSON *doc = cJSON_Parse(line);

		if (doc)
			cJSON_AddItemToArray(all, doc);
	}
	free(line);
	if (f)
		fclose(f);
	return all;
}

/* The first of docs that belongs to scenario id, and how many do. */
static const cJSON *first_of(const cJSON *docs, const char *id, size_t *n)
{
	const cJSON *doc, *first = NULL;

	*n = 0;
	cJSON_ArrayForEach(doc, docs) {
		const char *sc = fd_field_string(doc, "firedrill.scenario");

		if (sc && !strcmp(sc, id) && !(*n)++)
			first = doc;
	}
	return first;
}

/* Text from a file or a stack, fit for a terminal: controls become '?'. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 1 < len; s++)
		buf[o++] = iscntrl((unsigned char)*s) ? '?' : *s;
	buf[o] = '\0';
	return buf;
}

static const struct fd_exc_item *item_named(const struct check *c,
					    const char *list,
					    const char *item)
{
	const struct fd_exc_item *it = NULL;

	while ((it = fd_exc_next(c->set, c->lists, c->nlists, it)))
		if (!strcmp(fd_exc_item_id(it), item) &&
		    !strcmp(fd_exc_item_list(it), list))
			return it;
	return NULL;
}

/* One line per positive; returns how many are silenced. */
static size_t report(const struct check *c, const char *dir,
		     size_t *alerting_out)
{
	char path[PATH_MAX + 64], words[600];
	size_t silenced = 0, alerting = 0;
	cJSON *alerts, *sup;

	snprintf(path, sizeof(path), "%s/alerts-without-exceptions.ndjson",
		 dir);
	alerts = read_docs(path);
	snprintf(path, sizeof(path), "%s/suppressed.ndjson", dir);
	sup = read_docs(path);
	printf("%-44s %s\n", "scenario", "with the exceptions");
	for (size_t i = 0; i < c->pk.n; i++) {
		const char *id = c->pk.v[i]->id;
		size_t all, gone;
		const cJSON *a = first_of(alerts, id, &all);
		const cJSON *s = first_of(sup, id, &gone);

		if (!a) {
			printf("%-44s %s\n", id, "no alert even without "
			       "exceptions: not a positive of this version");
		} else if (s) {
			const char *list = fd_field_string(s,
				"firedrill.suppressed_by.list_id");
			const char *item = fd_field_string(s,
				"firedrill.suppressed_by.item_id");
			const struct fd_exc_item *it = item_named(
				c, list ? list : "", item ? item : "");
			char b1[200], b2[200], b3[600];

			alerting++;
			silenced++;
			if (gone < all)
				printf("%-44s PARTLY SILENCED (%zu of %zu "
				       "alerts)", id, gone, all);
			else
				printf("%-44s SILENCED", id);
			printf(" by item '%s' of list '%s': %s\n",
			       shown(item ? item : "?", b1, sizeof(b1)),
			       shown(list ? list : "?", b2, sizeof(b2)),
			       shown(it ? fd_exc_item_describe(it, words,
							       sizeof(words)) :
				     "?", b3, sizeof(b3)));
		} else {
			alerting++;
			printf("%-44s still alerts\n", id);
		}
	}
	cJSON_Delete(alerts);
	cJSON_Delete(sup);
	printf("%zu positive scenario%s of rule '%s' v%d, %zu alerting "
	       "without exceptions; %zu silenced by them\n", c->pk.n,
	       c->pk.n == 1 ? "" : "s", c->rule->rule_id, c->rule->version,
	       alerting, silenced);
	*alerting_out = alerting;
	return silenced;
}

/* Emulate the positives, then detect without and with exceptions. */
static int run_check(const struct check *c,
		     const struct fd_cli_emulate_args *given, bool quiet)
{
	struct fd_cli_emulate_args ea = *given;
	char dir[PATH_MAX], path[PATH_MAX + 64], events[PATH_MAX + 64];
	char a0[PATH_MAX + 64], a1[PATH_MAX + 64], sup[PATH_MAX + 64];
	char msg[1200];
	struct fd_runrec rr;
	struct fd_diag d;
	size_t alerting = 0;
	int status;

	status = fd_cli_emulate(&c->pk, &ea, dir);
	if (status)
		return status;
	fd_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/run.jsonl", dir);
	if (fd_runrec_load(path, &rr, &d) < 0) {
		fd_cli_error("%s", fd_diag_format(&d, msg, sizeof(msg)));
		return FD_EXIT_ERROR;
	}
	snprintf(events, sizeof(events), "%s/events.ndjson", dir);
	snprintf(a0, sizeof(a0), "%s/alerts-without-exceptions.ndjson", dir);
	snprintf(a1, sizeof(a1), "%s/alerts.ndjson", dir);
	snprintf(sup, sizeof(sup), "%s/suppressed.ndjson", dir);
	status = fd_cli_write_events(&rr, events) < 0 ||
		 detect_once(c, events, a0, NULL) < 0 ||
		 detect_once(c, events, a1, sup) < 0 ? FD_EXIT_ERROR : 0;
	fd_runrec_release(&rr);
	if (status)
		return status;
	status = report(c, dir, &alerting) ? FD_EXIT_FAIL : FD_EXIT_PASS;
	if (alerting == 0) {
		fd_cli_error("exceptions: none of the %zu positive scenarios "
			     "alerts even without exceptions: nothing was "
			     "checked", c->pk.n);
		status = FD_EXIT_ERROR;
	}
	if (!quiet)
		fprintf(stderr, "firedrill: the run is in %s\n", dir);
	return status;
}

/* The lists from the stack: those attached to the rule there. */
static int lists_from_stack(struct check *c, const char *backend,
			    struct fd_cli_live *live)
{
	const struct fd_backend *be = fd_backend_find(backend);
	struct fd_backend_cfg cfg = { 0 };
	struct fd_diag d;
	char msg[1200];
	void *ctx;
	cJSON *doc = NULL, *it;
	int rc;

	if (!be || be != &fd_backend_kibana) {
		fd_cli_error("exceptions: --backend takes kibana only (the "
			     "lists live in Kibana)");
		return FD_EXIT_USAGE;
	}
	fd_diag_clear(&d);
	cfg.live = &live->cfg;
	ctx = calloc(1, be->ctx_size);
	rc = ctx ? be->open(ctx, &cfg, &d) : -FD_ERR_NOMEM;
	if (rc == 0)
		rc = fd_kibana_fetch_exceptions(ctx, c->rule->rule_id, &doc,
						&d);
	if (rc == 0)
		rc = fd_exc_add_json(c->set, doc, "kibana", &d);
	if (ctx)
		be->close(ctx);
	free(ctx);
	if (rc < 0) {
		cJSON_Delete(doc);
		fd_cli_error("exceptions from the stack: %s",
			     fd_diag_format(&d, msg, sizeof(msg)));
		return rc == -FD_ERR_INVALID ? FD_EXIT_USAGE : FD_EXIT_ERROR;
	}
	/* With no LIST given: every list the stack attached. */
	cJSON_ArrayForEach(it, doc) {
		const cJSON *lid = cJSON_GetObjectItem(it, "list_id");
		const char **grown;

		if (c->given || cJSON_GetObjectItem(it, "entries") ||
		    !cJSON_IsString(lid))
			continue;
		grown = realloc(c->lists, (c->nlists + 1) * sizeof(*grown));
		if (!grown)
			break;
		c->lists = grown;
		c->lists[c->nlists++] = strdup(lid->valuestring);
	}
	cJSON_Delete(doc);
	return 0;
}

/* The lists the local rule references, when none are named. */
static void lists_of_rule(struct check *c)
{
	c->lists = (const char **)c->rule->exception_lists.v;
	c->nlists = c->rule->exception_lists.n;
	c->given = true;	/* borrowed from the rule */
}

static int pick_positives(struct check *c, const struct fd_pack *all)
{
	c->pk.v = calloc(all->n ? all->n : 1, sizeof(*c->pk.v));
	if (!c->pk.v)
		return FD_EXIT_ERROR;
	for (size_t i = 0; i < all->n; i++)
		if (positive_for(all->v[i], c->rule))
			c->pk.v[c->pk.n++] = all->v[i];
	if (c->pk.n == 0) {
		fd_cli_error("exceptions: no scenario expects rule '%s' v%d "
			     "to alert: nothing to check",
			     c->rule->rule_id, c->rule->version);
		return FD_EXIT_ERROR;
	}
	return 0;
}

static int check_lists(const struct check *c)
{
	for (size_t i = 0; i < c->nlists; i++)
		if (!fd_exc_has_list(c->set, c->lists[i])) {
			fd_cli_error("exceptions: list '%s' is not loaded "
				     "(give the folder with --exceptions)",
				     c->lists[i]);
			return FD_EXIT_USAGE;
		}
	if (c->nlists == 0) {
		fd_cli_error("exceptions: no list to check: name one, or "
			     "give a rule that references some");
		return FD_EXIT_USAGE;
	}
	return 0;
}

int fd_cmd_exceptions(int argc, char **argv)
{
	const char *rules_dir = NULL, *exc_path = NULL;
	struct fd_cli_emulate_args ea = { .quiet = true };
	const char *backend = NULL, *version = NULL, *rules_path;
	struct fd_opt_list scen = { { 0 }, 0 };
	struct fd_cli_live live = { 0 };
	struct fd_ruleset rules = { 0 };
	struct fd_pack all = { 0 };
	struct check c = { 0 };
	const char *defaults[1];
	bool shown, quiet = false;
	int first, status;
	const struct fd_opt opts[] = {
		FD_OPT_RULES(&rules_dir),
		FD_OPT_EXCEPTIONS(&exc_path),
		{ 's', "scenarios", FD_OPT_LIST, &scen, "PATH",
		  "scenario files or folders (default: scenarios/)" },
		{ 0, "version", FD_OPT_STRING, &version, "N",
		  "this version of the rule (default: the highest)" },
		FD_OPT_OUT(&ea.out),
		FD_OPT_USER(&ea.user),
		FD_OPT_TMPDIR(&ea.tmpdir),
		FD_OPT_BACKEND(&backend),
		FD_OPT_QUIET(&quiet, "print the table only"),
		FD_OPT_LIVE(&live),
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, &help, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	if (first >= argc || strcmp(argv[first], "check") ||
	    first + 1 >= argc) {
		if (first < argc && strcmp(argv[first], "check"))
			fd_cli_error("exceptions: unknown subcommand '%s' "
				     "(known: check)", argv[first]);
		fd_cli_error("exceptions: usage: firedrill exceptions check "
			     "RULE [LIST...]");
		fd_opts_usage(stderr, opts, &help);
		return FD_EXIT_USAGE;
	}
	if (version && (strspn(version, "0123456789") != strlen(version) ||
			!*version || strlen(version) > 9 || !atoi(version))) {
		fd_cli_error("exceptions: --version: '%s' is not a rule "
			     "version (1 or more)", version);
		return FD_EXIT_USAGE;
	}
	rules_path = fd_cli_data_path(rules_dir, "FIREDRILL_RULES", "rules");
	defaults[0] = fd_cli_data_path(NULL, "FIREDRILL_SCENARIOS",
				       "scenarios");
	status = fd_cli_load_rules(rules_path, &rules);
	if (status == 0) {
		c.rule = fd_ruleset_find_version(&rules, argv[first + 1],
						 version ? atoi(version) : 0);
		if (!c.rule) {
			fd_cli_error("exceptions: no rule '%s'%s%s in '%s'",
				     argv[first + 1], version ? " version " :
				     "", version ? version : "", rules_path);
			status = FD_EXIT_USAGE;
		}
	}
	/* From the stack, the lists are the stack's; local files only when
	 * named (e.g. for value lists). */
	if (status == 0 && (!backend || exc_path))
		status = fd_cli_load_exceptions(exc_path, rules_path, &c.set);
	if (status == 0 && !c.set && !(c.set = fd_exc_new()))
		status = FD_EXIT_ERROR;
	c.lists = (const char **)argv + first + 2;
	c.nlists = (size_t)(argc - first - 2);
	c.given = true;
	if (status == 0 && backend) {
		c.given = c.nlists > 0;
		if (!c.given)
			c.lists = NULL;	/* filled from the stack */
		status = fd_cli_live_resolve(&live, backend);
		if (status == 0)
			status = lists_from_stack(&c, backend, &live);
	} else if (status == 0 && c.nlists == 0) {
		lists_of_rule(&c);
	}
	if (status == 0)
		status = check_lists(&c);
	if (status == 0)
		status = fd_cli_load_pack(scen.n ? (const char *const *)
					  scen.v : defaults,
					  scen.n ? (size_t)scen.n : 1, &all);
	if (status == 0) {
		c.one.rules = (struct fd_rule **)&c.rule;
		c.one.n = 1;
		status = pick_positives(&c, &all);
	}
	if (status == 0)
		status = run_check(&c, &ea, quiet);
	if (!c.given) {
		for (size_t i = 0; i < c.nlists; i++)
			free((char *)c.lists[i]);
		free(c.lists);
	}
	free(c.pk.v);
	fd_cli_pack_release(&all);
	fd_exc_free(c.set);
	fd_ruleset_release(&rules);
	fd_cli_live_release(&live);
	return status;
}
