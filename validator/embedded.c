/*
 * embedded.c - the embedded backend: firedrill's own detection engine.
 *
 * ingest() runs every loaded rule over the run's events (the engine writes
 * alerts.ndjson into the run directory, in Kibana's 8.x alert schema) and
 * keeps the alerts and each rule's execution in memory; search_alerts()
 * and rule_state() answer from there, at once.  A rule is "executed" over
 * exactly the events it was given, so a negative here is conclusive when
 * the rule ran and succeeded.
 */
#include "backend.h"
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "field.h"
#include "rule.h"

struct embedded {
	const struct fd_backend_cfg *cfg;
	struct fd_rule_run *runs;
	bool ingested;
	cJSON **alerts;
	size_t nalerts;
	cJSON **suppressed;	/* alerts an exception silenced */
	size_t nsuppressed;
};

static int embedded_open(void *ctx, const struct fd_backend_cfg *cfg,
			 struct fd_diag *diag)
{
	struct embedded *e = ctx;

	if (!cfg->rules)
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "embedded backend: no rules loaded");
	e->cfg = cfg;
	e->runs = calloc(cfg->rules->n ? cfg->rules->n : 1,
			 sizeof(*e->runs));
	return e->runs ? 0 : -FD_ERR_NOMEM;
}

/* Every JSON line of path into *v (grown). */
static int read_docs(const char *path, cJSON ***v, size_t *n,
		     struct fd_diag *diag)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!f)
		return fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot open '%s': %s",
				   path, strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *a = cJSON_ParseWithLength(line, (size_t)len);
		cJSON **grown;

		if (!a)
			continue;
		grown = realloc(*v, (*n + 1) * sizeof(*grown));
		if (!grown) {
			cJSON_Delete(a);
			rc = -FD_ERR_NOMEM;
			break;
		}
		*v = grown;
		(*v)[(*n)++] = a;
	}
	free(line);
	fclose(f);
	return rc;
}

/* The lists a scenario attaches (exceptions: in its file). */
static size_t scenario_lists(void *arg, const char *scenario,
			     const char *const **ids)
{
	const struct fd_runrec *rr = arg;

	for (size_t i = 0; rr && i < rr->nscenarios; i++)
		if (!strcmp(rr->scenarios[i]->id, scenario)) {
			*ids = (const char *const *)
			       rr->scenarios[i]->exceptions.v;
			return rr->scenarios[i]->exceptions.n;
		}
	return 0;
}

static FILE *open_out(const struct embedded *e, const char *name,
		      char *path, size_t len, struct fd_diag *diag)
{
	FILE *f;

	snprintf(path, len, "%s/%s", e->cfg->run_dir, name);
	f = fd_fopen_write(path);
	if (!f)
		fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write '%s': %s",
			    path, strerror(errno));
	return f;
}

static int embedded_ingest(void *ctx, const char *events_path,
			   struct fd_diag *diag)
{
	struct embedded *e = ctx;
	struct fd_detect_exceptions exc = {
		.set = e->cfg->exceptions,
		.scenario_lists = scenario_lists,
		.arg = (void *)e->cfg->rr,
	};
	char path[1024], spath[1024];
	FILE *out, *sup;
	int rc;

	out = open_out(e, e->cfg->alerts_file ? e->cfg->alerts_file :
		       "alerts.ndjson", path, sizeof(path), diag);
	if (!out)
		return -FD_ERR_IO;
	sup = open_out(e, "suppressed.ndjson", spath, sizeof(spath), diag);
	if (!sup) {
		fclose(out);
		return -FD_ERR_IO;
	}
	exc.suppressed_out = sup;
	rc = fd_detect_file_ex(e->cfg->rules, events_path, out, e->runs,
			       &exc, diag);
	if (fclose(out) != 0 && rc == 0)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write '%s'",
				 path);
	if (fclose(sup) != 0 && rc == 0)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write '%s'",
				 spath);
	if (rc < 0)
		return rc;
	e->ingested = true;
	rc = read_docs(path, &e->alerts, &e->nalerts, diag);
	return rc < 0 ? rc : read_docs(spath, &e->suppressed,
				       &e->nsuppressed, diag);
}

static int embedded_search(void *ctx, const struct fd_alert_filter *f,
			   size_t n, struct fd_alert_list *out,
			   struct fd_diag *diag)
{
	struct embedded *e = ctx;

	(void)diag;
	for (size_t i = 0; i < n; i++) {
		out[i].v = NULL;
		out[i].n = 0;
		for (size_t k = 0; k < e->nalerts; k++) {
			cJSON **v;

			if (!fd_alert_filter_match(&f[i], e->alerts[k]))
				continue;
			v = realloc(out[i].v, (out[i].n + 1) * sizeof(*v));
			if (!v)
				return -FD_ERR_NOMEM;
			out[i].v = v;
			v[out[i].n] = cJSON_Duplicate(e->alerts[k], 1);
			if (!v[out[i].n])
				return -FD_ERR_NOMEM;
			out[i].n++;
		}
	}
	return 0;
}

static int embedded_rule_state(void *ctx, const char *rule_id, int version,
			       struct fd_rule_state *st,
			       struct fd_diag *diag)
{
	struct embedded *e = ctx;
	const struct fd_ruleset *set = e->cfg->rules;
	const struct fd_rule *want = fd_ruleset_find_version(set, rule_id,
							     version);

	(void)diag;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];
		const struct fd_rule_run *run = &e->runs[i];

		if (r != want)
			continue;
		st->found = true;
		st->enabled = r->enabled;
		st->interval_s = r->interval_s;
		st->lookback_s = r->lookback_s;
		st->max_signals = r->max_signals;
		if (!e->ingested || !r->enabled) {
			snprintf(st->status, sizeof(st->status), "%s",
				 r->enabled ? "not run" : "disabled");
			return 0;
		}
		snprintf(st->status, sizeof(st->status), "%s", run->status);
		snprintf(st->message, sizeof(st->message), "%s",
			 run->message);
		st->last_run = run->window_to;
		st->covered_from = run->window_from;
		st->covered_to = run->window_to;
		return 0;
	}
	return 0;
}

static size_t embedded_suppressed(void *ctx, const struct fd_alert_filter *f,
				  char *buf, size_t len)
{
	struct embedded *e = ctx;
	size_t n = 0;

	for (size_t i = 0; i < e->nsuppressed; i++) {
		const cJSON *a = e->suppressed[i];

		if (!fd_alert_filter_match(f, a))
			continue;
		if (n++ == 0) {
			const char *item = fd_field_string(a,
				"firedrill.suppressed_by.item_id");
			const char *list = fd_field_string(a,
				"firedrill.suppressed_by.list_id");
			const char *name = fd_field_string(a,
				"firedrill.suppressed_by.name");

			snprintf(buf, len, "item '%s'%s%s%s of list '%s'",
				 item ? item : "?", name ? " (" : "",
				 name ? name : "", name ? ")" : "",
				 list ? list : "?");
		}
	}
	return n;
}

static void embedded_close(void *ctx)
{
	struct embedded *e = ctx;

	for (size_t i = 0; i < e->nalerts; i++)
		cJSON_Delete(e->alerts[i]);
	free(e->alerts);
	for (size_t i = 0; i < e->nsuppressed; i++)
		cJSON_Delete(e->suppressed[i]);
	free(e->suppressed);
	free(e->runs);
}

const struct fd_backend fd_backend_embedded = {
	.name = "embedded",
	.caps = FD_BACKEND_CAN_INGEST | FD_BACKEND_OFFLINE,
	.ctx_size = sizeof(struct embedded),
	.open = embedded_open,
	.ingest = embedded_ingest,
	.search_alerts = embedded_search,
	.rule_state = embedded_rule_state,
	.suppressed = embedded_suppressed,
	.close = embedded_close,
};
