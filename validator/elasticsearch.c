/*
 * elasticsearch.c - the elasticsearch backend: the alert indices searched
 * directly, for stacks where the validator may read Elasticsearch but
 * not call Kibana's API, and for 7.x clusters.
 *
 *   search_alerts  POST /.alerts-security.alerts-<space>,
 *                       .siem-signals-<space>/_search
 *                  with ignore_unavailable, so one body (stackapi.c names
 *                  every field in both spellings) finds 8.x alerts and
 *                  7.x signals alike.
 *   rule_state     Elasticsearch has no rule API: with --kibana-url the
 *                  kibana backend answers it; without, the state is
 *                  "unknown" and a negative can only be INCONCLUSIVE.
 *   close_alerts   through Kibana when it is known, else one _bulk of
 *                  partial updates naming each matched alert by index and
 *                  id, so nothing else on the cluster is touched.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertdoc.h"
#include "field.h"
#include "http.h"
#include "kibana.h"
#include "stackapi.h"

struct es {
	struct fd_http http;
	char search_path[512];
	void *kibana;		/* a kibana backend context, or NULL */
	unsigned cycle;		/* poll cycles so far */
	struct {		/* the version last seen on an alert */
		char rule_id[256];
		unsigned cycle;
		int version;
		char name[256];
	} seen[16];
	size_t nseen;
};

static int es_open(void *ctx, const struct fd_backend_cfg *cfg,
		   struct fd_diag *d)
{
	struct es *e = ctx;
	const struct fd_live_cfg *live = cfg->live;
	const char *space = fd_live_space(live);
	int rc;

	if (!live || !live->es_url || !*live->es_url)
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "the elasticsearch backend needs --es-url "
				   "(or FIREDRILL_ES_URL)");
	if (live->kibana_url && *live->kibana_url) {
		e->kibana = calloc(1, fd_backend_kibana.ctx_size);
		if (!e->kibana)
			return -FD_ERR_NOMEM;
		rc = fd_backend_kibana.open(e->kibana, cfg, d);
		if (rc < 0)
			return rc;
	}
	if (strspn(space, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
	    strlen(space))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%.100s' is not a space id", space);
	snprintf(e->search_path, sizeof(e->search_path),
		 "/.alerts-security.alerts-%s,.siem-signals-%s/_search"
		 "?ignore_unavailable=true&allow_no_indices=true", space,
		 space);
	return fd_http_open(&e->http, live->es_url, live, 0, d);
}

int fd_es_events_seen(struct fd_http *h, const struct fd_alert_filter *f,
		      size_t n, double *ingested, struct fd_diag *d)
{
	cJSON *body = fd_stack_events_query(f, n), *answer = NULL;
	int rc;

	if (!body)
		return -FD_ERR_NOMEM;
	rc = fd_http_json(h, "event search", "POST", "/" FD_STACK_EVENTS
			  "/_search?ignore_unavailable=true"
			  "&allow_no_indices=true", body, &answer, d);
	cJSON_Delete(body);
	if (rc == 0)
		rc = fd_stack_events_seen(answer, f, n, ingested, d);
	cJSON_Delete(answer);
	return rc;
}

static int es_events_seen(void *ctx, const struct fd_alert_filter *f,
			  size_t n, double *ingested, struct fd_diag *d)
{
	struct es *e = ctx;

	return fd_es_events_seen(&e->http, f, n, ingested, d);
}

static int es_search(void *ctx, const struct fd_alert_filter *f, size_t n,
		     struct fd_alert_list *out, struct fd_diag *d)
{
	struct es *e = ctx;
	cJSON *body = fd_stack_alert_query(f, n), *answer = NULL;
	int rc;

	e->cycle++;
	if (!body)
		return -FD_ERR_NOMEM;
	if (e->kibana)	/* its rule states are read afresh */
		fd_kibana_next_cycle(e->kibana);
	rc = fd_http_json(&e->http, "alert search", "POST", e->search_path,
			  body, &answer, d);
	cJSON_Delete(body);
	if (rc == 0)
		rc = fd_stack_sort_hits(answer, f, n, out, d);
	cJSON_Delete(answer);
	return rc;
}

/*
 * Without Kibana, the newest alert of the rule anywhere in the space
 * tells which version of it the stack runs (and its name); with no alert
 * at all, the version stays unknown.
 */
static int newest_version(struct es *e, const char *rule_id, int *version,
			  char *name, size_t len, struct fd_diag *d)
{
	cJSON *body = fd_stack_newest_alert_query(rule_id), *answer = NULL;
	const cJSON *hit;
	int rc;

	*version = 0;
	name[0] = '\0';
	if (!body)
		return -FD_ERR_NOMEM;
	rc = fd_http_json(&e->http, "rule version lookup", "POST",
			  e->search_path, body, &answer, d);
	cJSON_Delete(body);
	hit = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(answer, "hits"), "hits"), 0);
	if (rc == 0 && hit) {
		cJSON *doc = fd_alert_from_hit(hit);
		double v;
		const char *n = fd_field_string(doc, "kibana.alert.rule.name");

		if (fd_field_number(doc, "kibana.alert.rule.version", &v) == 0)
			*version = (int)v;
		snprintf(name, len, "%s", n ? n : "");
		cJSON_Delete(doc);
	}
	cJSON_Delete(answer);
	return rc;
}

static int es_rule_state(void *ctx, const char *rule_id, int version,
			 struct fd_rule_state *st, struct fd_diag *d)
{
	struct es *e = ctx;
	size_t i;
	int rc;

	if (e->kibana)
		return fd_backend_kibana.rule_state(e->kibana, rule_id,
						    version, st, d);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < e->nseen; i++)
		if (!strcmp(e->seen[i].rule_id, rule_id))
			break;
	if (i == e->nseen || e->seen[i].cycle != e->cycle) {
		if (i == e->nseen && i == sizeof(e->seen) / sizeof(*e->seen))
			i = 0;	/* full: reuse */
		rc = newest_version(e, rule_id, &e->seen[i].version,
				    e->seen[i].name, sizeof(e->seen[i].name),
				    d);
		if (rc < 0)
			return rc;
		snprintf(e->seen[i].rule_id, sizeof(e->seen[i].rule_id), "%s",
			 rule_id);
		e->seen[i].cycle = e->cycle;
		if (i == e->nseen)
			e->nseen++;
	}
	st->version = e->seen[i].version;
	snprintf(st->name, sizeof(st->name), "%s", e->seen[i].name);
	st->found = true;
	st->enabled = true;
	st->unknown = true;
	st->nlists = -1;
	snprintf(st->status, sizeof(st->status), "unknown");
	snprintf(st->message, sizeof(st->message),
		 "Elasticsearch alone cannot show the rule's runs; give "
		 "--kibana-url to read them");
	return 0;
}

/* One partial update per alert: 8.x keeps the status in a flat key, 7.x
 * under signal. */
static int append_update(char **buf, size_t *len, const cJSON *alert)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(alert, "_id");
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(alert, "_index");
	bool legacy = cJSON_GetObjectItemCaseSensitive(alert, "signal");
	cJSON *action = cJSON_CreateObject(), *meta = cJSON_CreateObject();
	char *a_text, *grown;
	const char *doc = legacy ?
		"{\"doc\":{\"signal\":{\"status\":\"closed\"}}}\n" :
		"{\"doc\":{\"kibana.alert.workflow_status\":\"closed\"}}\n";
	size_t need;

	if (!cJSON_IsString(id) || !cJSON_IsString(index)) {
		cJSON_Delete(action);
		cJSON_Delete(meta);
		return 0;	/* nothing names it: leave it */
	}
	cJSON_AddStringToObject(meta, "_index", index->valuestring);
	cJSON_AddStringToObject(meta, "_id", id->valuestring);
	cJSON_AddItemToObject(action, "update", meta);
	a_text = cJSON_PrintUnformatted(action);
	cJSON_Delete(action);
	if (!a_text)
		return -FD_ERR_NOMEM;
	need = *len + strlen(a_text) + 1 + strlen(doc) + 1;
	grown = realloc(*buf, need);
	if (!grown) {
		free(a_text);
		return -FD_ERR_NOMEM;
	}
	*buf = grown;
	*len += (size_t)sprintf(grown + *len, "%s\n%s", a_text, doc);
	free(a_text);
	return 0;
}

static int es_close_alerts(void *ctx, const cJSON *alerts, size_t *closed,
			   struct fd_diag *d)
{
	struct es *e = ctx;
	struct fd_http_resp r;
	const cJSON *a;
	char *body = NULL;
	size_t len = 0;
	cJSON *answer;
	int rc = 0;

	*closed = 0;
	if (e->kibana)
		return fd_backend_kibana.close_alerts(e->kibana, alerts,
						      closed, d);
	cJSON_ArrayForEach(a, alerts)
		if ((rc = append_update(&body, &len, a)) < 0)
			break;
	if (rc < 0 || !body) {
		free(body);
		return rc;
	}
	rc = fd_http_call(&e->http, "closing alerts", "POST", "/_bulk",
			  "application/x-ndjson", body, len, &r, d);
	free(body);
	if (rc == 0) {
		answer = cJSON_ParseWithLength(r.body ? r.body : "", r.len);
		rc = answer ? fd_stack_bulk_result(answer, closed, d) :
		     fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				 "closing alerts: the answer is not JSON");
		cJSON_Delete(answer);
	}
	fd_http_resp_free(&r);
	return rc;
}

static void es_close(void *ctx)
{
	struct es *e = ctx;

	if (e->kibana) {
		fd_backend_kibana.close(e->kibana);
		free(e->kibana);
	}
	fd_http_close(&e->http);
}

const struct fd_backend fd_backend_elasticsearch = {
	.name = "elasticsearch",
	.caps = FD_BACKEND_LIVE,
	.ctx_size = sizeof(struct es),
	.open = es_open,
	.search_alerts = es_search,
	.rule_state = es_rule_state,
	.close_alerts = es_close_alerts,
	.events_seen = es_events_seen,
	.close = es_close,
};
