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
#include "rule.h"

struct embedded {
	const struct fd_backend_cfg *cfg;
	struct fd_rule_run *runs;
	bool ingested;
	cJSON **alerts;
	size_t nalerts;
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

static int read_alerts(struct embedded *e, const char *path,
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
		cJSON **v;

		if (!a)
			continue;
		v = realloc(e->alerts, (e->nalerts + 1) * sizeof(*v));
		if (!v) {
			cJSON_Delete(a);
			rc = -FD_ERR_NOMEM;
			break;
		}
		e->alerts = v;
		e->alerts[e->nalerts++] = a;
	}
	free(line);
	fclose(f);
	return rc;
}

static int embedded_ingest(void *ctx, const char *events_path,
			   struct fd_diag *diag)
{
	struct embedded *e = ctx;
	char path[1024];
	FILE *out;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", e->cfg->run_dir,
		 e->cfg->alerts_file ? e->cfg->alerts_file : "alerts.ndjson");
	out = fd_fopen_write(path);
	if (!out)
		return fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write '%s': %s",
				   path, strerror(errno));
	rc = fd_detect_file(e->cfg->rules, events_path, out, e->runs, diag);
	if (fclose(out) != 0 && rc == 0)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write '%s'",
				 path);
	if (rc < 0)
		return rc;
	e->ingested = true;
	return read_alerts(e, path, diag);
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

static void embedded_close(void *ctx)
{
	struct embedded *e = ctx;

	for (size_t i = 0; i < e->nalerts; i++)
		cJSON_Delete(e->alerts[i]);
	free(e->alerts);
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
	.close = embedded_close,
};
