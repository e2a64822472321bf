/*
 * kibana.c - the kibana backend: Elastic Security's detection-engine API.
 *
 *   search_alerts  POST [/s/<space>]/api/detection_engine/signals/search
 *                  (one request per poll cycle for every pending filter)
 *   rule_state     GET  [/s/<space>]/api/detection_engine/rules?rule_id=
 *                  (once per rule per poll cycle: the answer is cached
 *                  until the next search starts a new cycle)
 *   close_alerts   POST [/s/<space>]/api/detection_engine/signals/status
 *
 * Kibana searches the space's own alert index as the calling user, so a
 * key without the Security feature in that space is told 403 and the run
 * ends in ERROR at once.  A rule that is not installed answers 404 in the
 * Security Solution error shape; a 404 in any other shape means the URL
 * is not a Kibana, and is an error.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "kibana.h"
#include "stackapi.h"

#define MAX_CACHED 32
#define CLOSE_BATCH 1000
#define PER_PAGE 100
#define MAX_PAGES 100

struct cached_state {
	char rule_id[256];
	unsigned cycle;
	struct fd_rule_state st;
};

struct kibana {
	struct fd_http http;
	struct fd_http es;	/* with --es-url: to see the events */
	bool has_es;
	char prefix[160];	/* "/s/<space>", or "" for the default */
	unsigned cycle;		/* poll cycles so far */
	struct cached_state cache[MAX_CACHED];
	size_t ncache;
};

static bool space_ok(const char *s)
{
	if (!*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

static int kibana_open(void *ctx, const struct fd_backend_cfg *cfg,
		       struct fd_diag *d)
{
	struct kibana *k = ctx;
	const struct fd_live_cfg *live = cfg->live;
	const char *space = fd_live_space(live);

	if (!live || !live->kibana_url || !*live->kibana_url)
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "the kibana backend needs --kibana-url "
				   "(or FIREDRILL_KIBANA_URL)");
	if (!space_ok(space))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%.100s' is not a Kibana space id (a-z, "
				   "0-9, _ and -)", space);
	if (strcmp(space, "default"))
		snprintf(k->prefix, sizeof(k->prefix), "/s/%s", space);
	if (live->es_url && *live->es_url) {
		int rc = fd_http_open(&k->es, live->es_url, live, 0, d);

		if (rc < 0)
			return rc;
		k->has_es = true;
	}
	return fd_http_open(&k->http, live->kibana_url, live, 1, d);
}

static int kibana_search(void *ctx, const struct fd_alert_filter *f,
			 size_t n, struct fd_alert_list *out,
			 struct fd_diag *d)
{
	struct kibana *k = ctx;
	cJSON *body = fd_stack_alert_query(f, n), *answer = NULL;
	char path[256];
	int rc;

	fd_kibana_next_cycle(k);
	if (!body)
		return -FD_ERR_NOMEM;
	snprintf(path, sizeof(path), "%s/api/detection_engine/signals/search",
		 k->prefix);
	rc = fd_http_json(&k->http, "alert search", "POST", path, body,
			  &answer, d);
	cJSON_Delete(body);
	if (rc == 0)
		rc = fd_stack_sort_hits(answer, f, n, out, d);
	cJSON_Delete(answer);
	return rc;
}

/* A 404 from the rules route: the rule is missing (Security Solution's
 * error shape), or the URL is not a Kibana at all. */
static bool rule_missing(const struct fd_http_resp *r)
{
	cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	bool siem = cJSON_GetObjectItemCaseSensitive(body, "status_code") &&
		    !cJSON_GetObjectItemCaseSensitive(body, "statusCode");

	cJSON_Delete(body);
	return siem;
}

/*
 * GET one rule: 0 with *rule (a JSON object, the caller's), or a failure;
 * *missing is set when the stack says the rule is not installed (then
 * -FD_ERR_NOTFOUND, with the message).
 */
static int get_rule(struct kibana *k, const char *rule_id, cJSON **rule,
		    bool *missing, struct fd_diag *d)
{
	struct fd_http_resp r;
	char path[1024], esc[768];
	int rc;

	*rule = NULL;
	*missing = false;
	snprintf(path, sizeof(path), "%s/api/detection_engine/rules?rule_id=%s",
		 k->prefix, fd_http_escape(rule_id, esc, sizeof(esc)));
	rc = fd_http_call(&k->http, "rule lookup", "GET", path, NULL, NULL, 0,
			  &r, d);
	if (rc == -FD_ERR_NOTFOUND && rule_missing(&r)) {
		*missing = true;
		rc = fd_diag_set(d, FD_ERR_NOTFOUND, 0, 0, "rule '%s' is not "
				 "installed in space '%s'", rule_id,
				 k->prefix[0] ? k->prefix + 3 : "default");
	}
	if (rc == 0) {
		*rule = cJSON_ParseWithLength(r.body ? r.body : "", r.len);
		if (!cJSON_IsObject(*rule)) {
			cJSON_Delete(*rule);
			*rule = NULL;
			rc = fd_diag_set(d, FD_ERR_BACKEND, 0, 0, "rule lookup: "
					 "the answer is not a JSON object");
		}
	}
	fd_http_resp_free(&r);
	return rc;
}

static int fetch_rule(struct kibana *k, const char *rule_id,
		      struct fd_rule_state *st, struct fd_diag *d)
{
	cJSON *rule;
	bool missing;
	int rc = get_rule(k, rule_id, &rule, &missing, d);

	if (missing) {
		memset(st, 0, sizeof(*st));	/* found: false */
		snprintf(st->message, sizeof(st->message), "%.255s", d->msg);
		return 0;
	}
	if (rc < 0)
		return rc;
	fd_stack_rule_state(rule, st);
	cJSON_Delete(rule);
	return 0;
}

static int kibana_rule_state(void *ctx, const char *rule_id, int version,
			     struct fd_rule_state *st, struct fd_diag *d)
{
	struct kibana *k = ctx;
	struct cached_state *c = NULL;
	int rc;

	(void)version;	/* Kibana holds one version of a rule */
	for (size_t i = 0; i < k->ncache; i++)
		if (!strcmp(k->cache[i].rule_id, rule_id))
			c = &k->cache[i];
	if (c && c->cycle == k->cycle) {
		*st = c->st;
		return 0;
	}
	rc = fetch_rule(k, rule_id, st, d);
	if (rc < 0)
		return rc;
	if (!c && k->ncache < MAX_CACHED)
		c = &k->cache[k->ncache++];
	if (c) {
		snprintf(c->rule_id, sizeof(c->rule_id), "%s", rule_id);
		c->cycle = k->cycle;
		c->st = *st;
	}
	return 0;
}

static int close_batch(struct kibana *k, cJSON *ids, size_t *closed,
		       struct fd_diag *d)
{
	cJSON *body = cJSON_CreateObject(), *answer = NULL;
	char path[256];
	int rc;

	if (!body) {
		cJSON_Delete(ids);
		return -FD_ERR_NOMEM;
	}
	cJSON_AddItemToObject(body, "signal_ids", ids);
	cJSON_AddStringToObject(body, "status", "closed");
	snprintf(path, sizeof(path), "%s/api/detection_engine/signals/status",
		 k->prefix);
	rc = fd_http_json(&k->http, "closing alerts", "POST", path, body,
			  &answer, d);
	if (rc == 0) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(answer,
								  "updated");

		*closed += cJSON_IsNumber(u) ? (size_t)u->valuedouble :
			   (size_t)cJSON_GetArraySize(ids);
	}
	cJSON_Delete(body);
	cJSON_Delete(answer);
	return rc;
}

static int kibana_close_alerts(void *ctx, const cJSON *alerts,
			       size_t *closed, struct fd_diag *d)
{
	struct kibana *k = ctx;
	cJSON *all = fd_stack_alert_ids(alerts), *batch = NULL;
	int rc = 0;

	*closed = 0;
	if (!all)
		return -FD_ERR_NOMEM;
	/* Batches keep each request small; ids move, not copy. */
	while (rc == 0 && cJSON_GetArraySize(all) > 0) {
		batch = cJSON_CreateArray();
		if (!batch) {
			rc = -FD_ERR_NOMEM;
			break;
		}
		while (cJSON_GetArraySize(all) > 0 &&
		       cJSON_GetArraySize(batch) < CLOSE_BATCH)
			cJSON_AddItemToArray(batch,
					     cJSON_DetachItemFromArray(all, 0));
		rc = close_batch(k, batch, closed, d);
	}
	cJSON_Delete(all);
	return rc;
}

/* Every item of one list, page by page. */
static int fetch_items(struct kibana *k, const char *list_id, const char *ns,
		       cJSON *out, struct fd_diag *d)
{
	char path[1024], l_esc[512], n_esc[64];

	fd_http_escape(list_id, l_esc, sizeof(l_esc));
	fd_http_escape(ns, n_esc, sizeof(n_esc));
	for (int page = 1; page <= MAX_PAGES; page++) {
		cJSON *answer = NULL, *data;
		const cJSON *total;
		int rc;

		snprintf(path, sizeof(path), "%s/api/exception_lists/items/_find"
			 "?list_id=%s&namespace_type=%s&page=%d&per_page=%d",
			 k->prefix, l_esc, n_esc, page, PER_PAGE);
		rc = fd_http_json(&k->http, "exception items", "GET", path,
				  NULL, &answer, d);
		if (rc < 0)
			return rc;
		data = cJSON_GetObjectItemCaseSensitive(answer, "data");
		total = cJSON_GetObjectItemCaseSensitive(answer, "total");
		if (!cJSON_IsArray(data)) {
			cJSON_Delete(answer);
			return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
					   "exception items: the answer has no "
					   "data list");
		}
		while (cJSON_GetArraySize(data) > 0)
			cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(
						     data, 0));
		rc = !cJSON_IsNumber(total) ||
		     page * PER_PAGE >= (int)total->valuedouble;
		cJSON_Delete(answer);
		if (rc)
			return 0;
	}
	return fd_diag_set(d, FD_ERR_BACKEND, 0, 0, "exception list '%s' has "
			   "more than %d items", list_id, MAX_PAGES * PER_PAGE);
}

/* One list: its container, then its items. */
static int fetch_list(struct kibana *k, const cJSON *ref, cJSON *out,
		      struct fd_diag *d)
{
	const cJSON *lid = cJSON_GetObjectItemCaseSensitive(ref, "list_id");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(ref,
							   "namespace_type");
	const char *nst = cJSON_IsString(ns) ? ns->valuestring : "single";
	char path[1024], l_esc[512], n_esc[64];
	cJSON *list = NULL;
	int rc;

	if (!cJSON_IsString(lid))
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0, "the rule's "
				   "exceptions_list has an entry without "
				   "list_id");
	snprintf(path, sizeof(path), "%s/api/exception_lists?list_id=%s"
		 "&namespace_type=%s", k->prefix,
		 fd_http_escape(lid->valuestring, l_esc, sizeof(l_esc)),
		 fd_http_escape(nst, n_esc, sizeof(n_esc)));
	rc = fd_http_json(&k->http, "exception list", "GET", path, NULL,
			  &list, d);
	if (rc < 0)
		return rc;
	cJSON_AddItemToArray(out, list);
	return fetch_items(k, lid->valuestring, nst, out, d);
}

int fd_kibana_fetch_exceptions(void *ctx, const char *rule_id, cJSON **out,
			       struct fd_diag *d)
{
	struct kibana *k = ctx;
	cJSON *rule, *all;
	const cJSON *refs, *ref;
	bool missing;
	int rc;

	*out = NULL;
	rc = get_rule(k, rule_id, &rule, &missing, d);
	if (rc < 0)
		return rc;
	all = cJSON_CreateArray();
	refs = cJSON_GetObjectItemCaseSensitive(rule, "exceptions_list");
	cJSON_ArrayForEach(ref, refs) {
		if (!all || (rc = fetch_list(k, ref, all, d)) < 0)
			break;
	}
	cJSON_Delete(rule);
	if (!all || rc < 0) {
		cJSON_Delete(all);
		return all ? rc : -FD_ERR_NOMEM;
	}
	*out = all;
	return 0;
}

void fd_kibana_next_cycle(void *ctx)
{
	struct kibana *k = ctx;

	k->cycle++;
}

static int kibana_events_seen(void *ctx, const struct fd_alert_filter *f,
			      size_t n, double *ingested, struct fd_diag *d)
{
	struct kibana *k = ctx;

	if (!k->has_es)
		return -FD_ERR_UNSUPPORTED;	/* Kibana's API has no event
						   search */
	return fd_es_events_seen(&k->es, f, n, ingested, d);
}

static void kibana_close(void *ctx)
{
	struct kibana *k = ctx;

	fd_http_close(&k->http);
	if (k->has_es)
		fd_http_close(&k->es);
}

const struct fd_backend fd_backend_kibana = {
	.name = "kibana",
	.caps = FD_BACKEND_LIVE,
	.ctx_size = sizeof(struct kibana),
	.open = kibana_open,
	.search_alerts = kibana_search,
	.rule_state = kibana_rule_state,
	.close_alerts = kibana_close_alerts,
	.events_seen = kibana_events_seen,
	.close = kibana_close,
};
