/*
 * stackapi.c - alert search bodies, hit sorting, rule state and bulk
 * answers for the live backends.
 *
 * The search names each field twice, as 8.x ("kibana.alert.rule.rule_id")
 * and as 7.x ("signal.rule.rule_id"), in a bool should: a 7.x index has
 * no kibana.* field and an 8.x index no signal.* source, so one body fits
 * both, and the elasticsearch backend searches both index names at once.
 * The run id and scenario are matched with a wildcard on
 * process.executable: stand-ins live under <tmp>/firedrill-<run>/<scen>/.
 */
#include "stackapi.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertdoc.h"
#include "field.h"
#include "rule.h"
#include "runrec.h"

/* {"bool":{"should":[a, b],"minimum_should_match":1}} */
static cJSON *either(cJSON *a, cJSON *b)
{
	cJSON *o = cJSON_CreateObject(), *bo = cJSON_CreateObject();
	cJSON *sh = cJSON_CreateArray();

	cJSON_AddItemToArray(sh, a);
	cJSON_AddItemToArray(sh, b);
	cJSON_AddItemToObject(bo, "should", sh);
	cJSON_AddNumberToObject(bo, "minimum_should_match", 1);
	cJSON_AddItemToObject(o, "bool", bo);
	return o;
}

/* {kind: {field: value}} */
static cJSON *leaf(const char *kind, const char *field, cJSON *value)
{
	cJSON *o = cJSON_CreateObject(), *in = cJSON_CreateObject();

	cJSON_AddItemToObject(in, field, value);
	cJSON_AddItemToObject(o, kind, in);
	return o;
}

static cJSON *term_either(const char *f8, const char *f7, const char *v)
{
	return either(leaf("term", f8, cJSON_CreateString(v)),
		      leaf("term", f7, cJSON_CreateString(v)));
}

static cJSON *range(const char *field, double from, double to)
{
	char a[40], b[40];
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "gte", fd_time_format_ms(from, a,
							      sizeof(a)));
	cJSON_AddStringToObject(r, "lte", fd_time_format_ms(to, b,
							    sizeof(b)));
	return leaf("range", field, r);
}

/* "*<part>*" with the wildcard query's own specials escaped. */
static cJSON *contains(const char *field, const char *part)
{
	char pat[600];
	size_t o = 0;
	cJSON *w = cJSON_CreateObject();

	pat[o++] = '*';
	for (const char *p = part; *p && o + 3 < sizeof(pat); p++) {
		if (*p == '*' || *p == '?' || *p == '\\')
			pat[o++] = '\\';
		pat[o++] = *p;
	}
	pat[o++] = '*';
	pat[o] = '\0';
	cJSON_AddStringToObject(w, "value", pat);
	return leaf("wildcard", field, w);
}

static cJSON *filter_clause(const struct fd_alert_filter *f)
{
	cJSON *o = cJSON_CreateObject(), *bo = cJSON_CreateObject();
	cJSON *all = cJSON_CreateArray();

	if (f->rule_id)
		cJSON_AddItemToArray(all, term_either(
			"kibana.alert.rule.rule_id", "signal.rule.rule_id",
			f->rule_id));
	if (f->version)
		cJSON_AddItemToArray(all, either(
			leaf("term", "kibana.alert.rule.version",
			     cJSON_CreateNumber(f->version)),
			leaf("term", "signal.rule.version",
			     cJSON_CreateNumber(f->version))));
	if (f->scenario || f->run_id)
		cJSON_AddItemToArray(all, contains("process.executable",
						   f->scenario ? f->scenario :
						   f->run_id));
	if (f->host_name) {
		cJSON *t = cJSON_CreateObject();

		/* Endpoint lower-cases host.name (7.10+ term option) */
		cJSON_AddStringToObject(t, "value", f->host_name);
		cJSON_AddBoolToObject(t, "case_insensitive", 1);
		cJSON_AddItemToArray(all, leaf("term", "host.name", t));
	}
	cJSON_AddItemToArray(all, either(
		range("kibana.alert.original_time", f->from, f->to),
		range("signal.original_time", f->from, f->to)));
	cJSON_AddItemToObject(bo, "filter", all);
	cJSON_AddItemToObject(o, "bool", bo);
	return o;
}

cJSON *fd_stack_alert_query(const struct fd_alert_filter *f, size_t n)
{
	cJSON *body = cJSON_CreateObject(), *q = cJSON_CreateObject();
	cJSON *bo = cJSON_CreateObject(), *sh = cJSON_CreateArray();

	cJSON_AddNumberToObject(body, "size", FD_STACK_MAX_HITS);
	cJSON_AddBoolToObject(body, "track_total_hits", 1);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(sh, filter_clause(&f[i]));
	cJSON_AddItemToObject(bo, "should", sh);
	cJSON_AddNumberToObject(bo, "minimum_should_match", 1);
	cJSON_AddItemToObject(q, "bool", bo);
	cJSON_AddItemToObject(body, "query", q);
	/* cJSON returns NULL from a failed allocation and the Add calls
	 * ignore NULL items, so one walk of the result finds any loss. */
	if (!body || !q || !bo || !sh ||
	    cJSON_GetArraySize(sh) != (int)n) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static cJSON *event_clause(const struct fd_alert_filter *f)
{
	cJSON *o = cJSON_CreateObject(), *bo = cJSON_CreateObject();
	cJSON *all = cJSON_CreateArray();

	cJSON_AddItemToArray(all, contains("process.executable",
					   f->scenario ? f->scenario :
					   f->run_id ? f->run_id : ""));
	cJSON_AddItemToArray(all, range("@timestamp", f->from, f->to));
	cJSON_AddItemToObject(bo, "filter", all);
	cJSON_AddItemToObject(o, "bool", bo);
	return o;
}

cJSON *fd_stack_events_query(const struct fd_alert_filter *f, size_t n)
{
	cJSON *body = cJSON_CreateObject(), *q = cJSON_CreateObject();
	cJSON *bo = cJSON_CreateObject(), *sh = cJSON_CreateArray();

	cJSON_AddNumberToObject(body, "size", FD_STACK_MAX_HITS);
	cJSON_AddItemToObject(body, "_source", cJSON_Parse(
		"[\"@timestamp\",\"event.ingested\",\"process.executable\","
		"\"host.name\"]"));
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(sh, event_clause(&f[i]));
	cJSON_AddItemToObject(bo, "should", sh);
	cJSON_AddNumberToObject(bo, "minimum_should_match", 1);
	cJSON_AddItemToObject(q, "bool", bo);
	cJSON_AddItemToObject(body, "query", q);
	if (!body || !q || !bo || !sh || cJSON_GetArraySize(sh) != (int)n) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* Does this event belong to filter f (its stand-ins, its host)? */
static bool event_of(const struct fd_alert_filter *f, const cJSON *ev)
{
	const char *exe = fd_field_string(ev, "process.executable");
	const char *host = fd_field_string(ev, "host.name");
	const char *part = f->scenario ? f->scenario : f->run_id;

	return exe && part && strstr(exe, part) &&
	       (!f->host_name || (host && !strcasecmp(host, f->host_name)));
}

int fd_stack_events_seen(const cJSON *answer,
			 const struct fd_alert_filter *f, size_t n,
			 double *ingested, struct fd_diag *d)
{
	const cJSON *hits = cJSON_GetObjectItemCaseSensitive(answer, "hits");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(hits, "hits");
	const cJSON *hit;

	for (size_t i = 0; i < n; i++)
		ingested[i] = -1;
	if (!cJSON_IsArray(list))
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0, "event search: "
				   "the answer has no hits.hits list");
	cJSON_ArrayForEach(hit, list) {
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(hit,
								    "_source");
		const char *t = fd_field_string(src, "event.ingested");
		double when;

		if (!t)
			t = fd_field_string(src, "@timestamp");
		when = t ? fd_time_parse(t) : -1;
		for (size_t i = 0; i < n && when >= 0; i++)
			if (event_of(&f[i], src) && when > ingested[i])
				ingested[i] = when;
	}
	return 0;
}

cJSON *fd_stack_newest_alert_query(const char *rule_id)
{
	cJSON *body = cJSON_CreateObject(), *q = cJSON_CreateObject();
	cJSON *bo = cJSON_CreateObject(), *all = cJSON_CreateArray();

	cJSON_AddNumberToObject(body, "size", 1);
	cJSON_AddItemToObject(body, "sort", cJSON_Parse(
		"[{\"@timestamp\":{\"order\":\"desc\"}}]"));
	cJSON_AddItemToArray(all, term_either("kibana.alert.rule.rule_id",
					      "signal.rule.rule_id", rule_id));
	cJSON_AddItemToObject(bo, "filter", all);
	cJSON_AddItemToObject(q, "bool", bo);
	cJSON_AddItemToObject(body, "query", q);
	if (!body || !q || !bo || !all || cJSON_GetArraySize(all) != 1 ||
	    !cJSON_GetObjectItemCaseSensitive(body, "sort")) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static double when(const char *text)
{
	return text ? fd_time_parse(text) : -1;
}

static int add_alert(struct fd_alert_list *l, const cJSON *doc)
{
	cJSON **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -FD_ERR_NOMEM;
	l->v = v;
	v[l->n] = cJSON_Duplicate(doc, 1);
	if (!v[l->n])
		return -FD_ERR_NOMEM;
	l->n++;
	return 0;
}

static int hits_total(const cJSON *hits, double *total)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(hits, "total");

	if (cJSON_IsNumber(t)) {
		*total = t->valuedouble;	/* rest_total_hits_as_int */
		return 0;
	}
	t = cJSON_GetObjectItemCaseSensitive(t, "value");
	if (!cJSON_IsNumber(t))
		return -1;
	*total = t->valuedouble;
	return 0;
}

static bool seen_before(const cJSON *list, const cJSON *hit)
{
	const char *id = str(hit, "_id"), *index = str(hit, "_index");
	const cJSON *h;

	if (!id)
		return false;
	cJSON_ArrayForEach(h, list) {
		if (h == hit)
			return false;
		if (str(h, "_id") && !strcmp(str(h, "_id"), id) &&
		    !strcmp(str(h, "_index") ? str(h, "_index") : "",
			    index ? index : ""))
			return true;
	}
	return false;
}

int fd_stack_sort_hits(const cJSON *answer, const struct fd_alert_filter *f,
		       size_t n, struct fd_alert_list *out,
		       struct fd_diag *d)
{
	const cJSON *hits = cJSON_GetObjectItemCaseSensitive(answer, "hits");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(hits, "hits");
	const cJSON *hit;
	double total;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		out[i].v = NULL;
		out[i].n = 0;
	}
	if (!cJSON_IsArray(list))
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				   "alert search: the answer has no "
				   "hits.hits list");
	/* A partial answer could miss the very alert a negative is
	 * about: ask again. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(answer,
							  "timed_out")) ||
	    num(cJSON_GetObjectItemCaseSensitive(answer, "_shards"),
		"failed", 0) > 0)
		return fd_diag_set(d, FD_ERR_NETWORK, 0, 0,
				   "alert search: a partial answer (shards "
				   "failed or timed out)");
	if (hits_total(hits, &total) < 0)
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				   "alert search: the answer has no "
				   "hits.total");
	if (total > (double)cJSON_GetArraySize(list))
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				   "alert search: %.0f alerts match but %d "
				   "came back; the run is too large to "
				   "validate in one search", total,
				   cJSON_GetArraySize(list));
	cJSON_ArrayForEach(hit, list) {
		cJSON *doc;

		/* The same alert twice in one answer counts once. */
		if (seen_before(list, hit))
			continue;
		doc = fd_alert_from_hit(hit);

		if (!doc)
			return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
					   "alert search: a hit has no "
					   "_source object");
		for (size_t i = 0; i < n && rc == 0; i++)
			if (fd_alert_filter_match(&f[i], doc))
				rc = add_alert(&out[i], doc);
		cJSON_Delete(doc);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* 8.1+: execution_summary.last_execution. */
static void last_execution(const cJSON *ex, struct fd_rule_state *st)
{
	const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(ex,
								"metrics");

	snprintf(st->status, sizeof(st->status), "%s",
		 str(ex, "status") ? str(ex, "status") : "unknown");
	snprintf(st->message, sizeof(st->message), "%s",
		 str(ex, "message") ? str(ex, "message") : "");
	st->last_run = when(str(ex, "date"));
	st->gap_s = num(metrics, "execution_gap_duration_s", 0);
}

/* 7.x - 8.0: the legacy rule-status fields. */
static void legacy_status(const cJSON *r, struct fd_rule_state *st)
{
	const char *status = str(r, "status");
	double ok = when(str(r, "last_success_at"));
	double bad = when(str(r, "last_failure_at"));

	snprintf(st->status, sizeof(st->status), "%s", status);
	if (!strcmp(status, "succeeded")) {
		st->last_run = ok >= 0 ? ok : when(str(r, "status_date"));
		snprintf(st->message, sizeof(st->message), "%s",
			 str(r, "last_success_message") ?
			 str(r, "last_success_message") : "");
	} else {
		st->last_run = bad >= 0 ? bad : when(str(r, "status_date"));
		snprintf(st->message, sizeof(st->message), "%s",
			 str(r, "last_failure_message") ?
			 str(r, "last_failure_message") : "");
	}
}

void fd_stack_rule_state(const cJSON *r, struct fd_rule_state *st)
{
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(r,
						"execution_summary");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(sum,
							   "last_execution");
	long span;

	memset(st, 0, sizeof(*st));
	st->found = true;
	st->enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		r, "enabled"));
	st->interval_s = fd_rule_parse_duration(str(r, "interval") ?
						str(r, "interval") : "5m");
	span = fd_rule_parse_duration(str(r, "from") ? str(r, "from") :
				      "now-6m");
	st->lookback_s = span;
	st->max_signals = (int)num(r, "max_signals", 100);
	st->version = (int)num(r, "version", 0);
	snprintf(st->name, sizeof(st->name), "%s",
		 str(r, "name") ? str(r, "name") : "");
	st->last_run = -1;
	{
		const cJSON *refs = cJSON_GetObjectItemCaseSensitive(
			r, "exceptions_list"), *ref;

		/* More than fit, or an id too long: unknown, never a
		 * wrong "not attached". */
		cJSON_ArrayForEach(ref, refs) {
			const char *lid = str(ref, "list_id");

			if (!lid || st->nlists < 0)
				continue;
			if (st->nlists == 32 ||
			    strlen(lid) >= sizeof(st->lists[0]))
				st->nlists = -1;
			else
				snprintf(st->lists[st->nlists++],
					 sizeof(st->lists[0]), "%s", lid);
		}
	}
	if (cJSON_IsObject(ex))
		last_execution(ex, st);
	else if (str(r, "status"))
		legacy_status(r, st);
	else
		snprintf(st->message, sizeof(st->message),
			 "the rule has not run yet");
	if (!strcmp(st->status, "succeeded") && st->last_run >= 0 &&
	    span >= 0) {
		st->covered_from = st->last_run - (double)span;
		st->covered_to = st->last_run;
	}
}

cJSON *fd_stack_alert_ids(const cJSON *alerts)
{
	cJSON *ids = cJSON_CreateArray();
	const cJSON *a;

	if (!ids)
		return NULL;
	cJSON_ArrayForEach(a, alerts) {
		const char *id = str(a, "_id");

		if (id && !cJSON_AddItemToArray(ids, cJSON_CreateString(id))) {
			cJSON_Delete(ids);
			return NULL;
		}
	}
	return ids;
}

int fd_stack_bulk_result(const cJSON *answer, size_t *done,
			 struct fd_diag *d)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(answer,
							      "items");
	const cJSON *it, *first = NULL;
	bool busy = false;

	*done = 0;
	if (!cJSON_IsArray(items))
		return fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				   "bulk: the answer has no items list");
	cJSON_ArrayForEach(it, items) {
		const cJSON *op = it->child;
		double status = num(op, "status", 0);

		if ((status >= 200 && status < 300) || status == 409) {
			(*done)++;	/* 409: created by an earlier try */
			continue;
		}
		busy |= status == 429;
		if (!first)
			first = op;
	}
	if (!first)
		return 0;
	{
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(first,
								   "error");

		return fd_diag_set(d, busy ? FD_ERR_NETWORK : FD_ERR_BACKEND,
				   0, 0, "bulk: %zu of %d documents "
				   "refused; first: %s: %s", (size_t)
				   cJSON_GetArraySize(items) - *done,
				   cJSON_GetArraySize(items),
				   str(err, "type") ? str(err, "type") :
				   "error",
				   str(err, "reason") ? str(err, "reason") :
				   "no reason given");
	}
}
