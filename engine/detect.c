/*
 * detect.c - run rules over NDJSON events, as Kibana's rule executor does.
 *
 * Events are read one line at a time and only one is parsed at a time, so
 * a file of any size runs in constant memory.  Each line is checked whole
 * but built only as far as the fields the enabled rules read and the
 * times the runs need (sparse.h); a line is parsed in full only when an
 * alert must carry its source.  Every enabled rule's compiled query is
 * tried on each event; a rule's first max_signals matches become alerts
 * and the rest are only counted, as Kibana stops at max_signals per
 * execution.  Each rule's run records the event-time window it covered,
 * which is what makes a negative conclusive.
 *
 * An EQL sequence (or sample) rule gets a stream (eql.h) that sees every
 * event; the groups it finds are collected by line number, and at the end
 * each group becomes one alert built from its last event, with every
 * event of the group among its ancestors.  Lines are found again by their
 * offset, so only offsets, not events, are kept.  (Kibana also writes a
 * building-block alert per event of a sequence; firedrill does not.)
 *
 * Exceptions cost nothing on events no rule matches: a single-event
 * rule's match is parsed whole and checked against the exception items
 * before it becomes an alert.  A sequence rule that may have exceptions
 * checks every event before its stream sees it, as Kibana filters
 * excepted events out of the EQL search; a second, "shadow" stream sees
 * every event, and the shadow's sequences that hold an excepted event
 * become the suppressed records.  Only then are the items' fields built
 * by the sparse parse.
 */
#include "detect.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eql.h"
#include "field.h"
#include "runrec.h"
#include "sha256.h"
#include "sparse.h"

#define DEFAULT_INDEX "logs-endpoint.events.process-default"
#define MSG_OK "Rule execution completed successfully"
#define MSG_CAPPED "This rule reached the maximum alert limit for the " \
		   "rule execution. Some alerts were not created."

/* The event a line holds, and where Elasticsearch would say it lives. */
struct event {
	const cJSON *doc;	/* the source document the rules read */
	const char *line;	/* its text, for an id made from it */
	size_t len;
	cJSON *full;		/* the whole line, parsed for alerts */
	const cJSON *source;	/* the source document within full */
	char id[64];		/* "" until an alert needs it */
	char index[256];
	bool lists_known;	/* scenario lists looked up */
	const char *const *scenario_ids;	/* its scenario's lists */
	size_t nscenario_ids;
};

/* What a sequence rule found: groups of line numbers, in emit order. */
struct groups {
	size_t *lines;		/* every group's lines, back to back */
	size_t *start;		/* where group i begins in lines */
	size_t *len;		/* and how many lines it has */
	size_t n, nlines, cap, lcap;
};

/* The lines a sequence rule's exceptions kept from its stream, in
 * order, with the item that matched each. */
struct excepted {
	size_t *lines;
	const struct fd_exc_item **items;
	size_t n, cap;
};

/* Everything one detection keeps across lines. */
struct detection {
	const struct fd_ruleset *set;
	struct fd_rule_run *runs;
	bool *active;			/* per rule: it runs */
	struct fd_eql_stream **streams;	/* per rule; NULL: single-event */
	struct groups *groups;		/* per rule */
	off_t *offsets;			/* line number -> offset in file */
	size_t noffsets;
	const struct fd_detect_exceptions *exc;	/* NULL: none */
	double exc_now;			/* for expire_time */
	struct fd_eql_stream **shadows;	/* per rule; sees excepted too */
	struct groups *shadow_groups;
	struct excepted *excepted;	/* per rule */
	char err[512];			/* why a line failed, if not rc */
};

static int groups_add(void *arg, const size_t *events, size_t n)
{
	struct groups *g = arg;

	if (g->nlines + n > g->lcap) {
		size_t cap = (g->lcap + n) * 2;
		size_t *v = realloc(g->lines, cap * sizeof(*v));

		if (!v)
			return -FD_ERR_NOMEM;
		g->lines = v;
		g->lcap = cap;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		size_t *s = realloc(g->start, cap * sizeof(*s));
		size_t *l = s ? realloc(g->len, cap * sizeof(*l)) : NULL;

		if (s)
			g->start = s;
		if (!l)
			return -FD_ERR_NOMEM;
		g->len = l;
		g->cap = cap;
	}
	memcpy(g->lines + g->nlines, events, n * sizeof(*events));
	g->start[g->n] = g->nlines;
	g->len[g->n++] = n;
	g->nlines += n;
	return 0;
}

static int excepted_add(struct excepted *x, size_t line,
			const struct fd_exc_item *it)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		size_t *l = realloc(x->lines, cap * sizeof(*l));
		const struct fd_exc_item **v = l ? realloc(x->items,
						cap * sizeof(*v)) : NULL;

		if (l)
			x->lines = l;
		if (!v)
			return -FD_ERR_NOMEM;
		x->items = v;
		x->cap = cap;
	}
	x->lines[x->n] = line;
	x->items[x->n++] = it;
	return 0;
}

/* The item that kept line out of the stream, or NULL (lines ascend). */
static const struct fd_exc_item *excepted_find(const struct excepted *x,
					       size_t line)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->lines[mid] == line)
			return x->items[mid];
		if (x->lines[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stable id for an event without _id: the first 128 bits of the
 * line's sha256, so the same line always gets the same alert uuid. */
static void line_id(const char *line, size_t len, char *out)
{
	uint8_t d[FD_SHA256_LEN];
	char hex[FD_SHA256_HEX];

	fd_sha256_buf(line, len, d);
	fd_sha256_hex(d, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

/* <type>-<dataset>-<namespace>, as a data stream names its index. */
static bool data_stream_index(const cJSON *doc, char *out, size_t len)
{
	const char *type = fd_field_string(doc, "data_stream.type");
	const char *ds = fd_field_string(doc, "data_stream.dataset");
	const char *ns = fd_field_string(doc, "data_stream.namespace");

	if (!type || !ds || !ns)
		return false;
	snprintf(out, len, "%s-%s-%s", type, ds, ns);
	return true;
}

/* A search hit ({_index,_id,_source}) holds its document in _source;
 * anything else is the document itself. */
static const cJSON *source_of(const cJSON *json)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(json, "_source");

	return cJSON_IsObject(src) ? src : json;
}

/* The whole line, parsed once for the alerts it gives, with the id and
 * index Elasticsearch would give it.  -FD_ERR_SYNTAX when cJSON refuses
 * a line the sparse check let through: its fault is inside a value no
 * rule reads, where only the structure is checked. */
static int event_full(struct event *ev)
{
	const char *id, *index;

	if (ev->full)
		return 0;
	ev->full = cJSON_ParseWithLength(ev->line, ev->len);
	if (!ev->full)
		return -FD_ERR_SYNTAX;
	ev->source = source_of(ev->full);
	id = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(ev->full, "_id"));
	index = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(ev->full, "_index"));
	ev->id[0] = '\0';
	if (id && *id)
		snprintf(ev->id, sizeof(ev->id), "%s", id);
	if (index && *index)
		snprintf(ev->index, sizeof(ev->index), "%s", index);
	else if (!data_stream_index(ev->source, ev->index,
				    sizeof(ev->index)))
		snprintf(ev->index, sizeof(ev->index), "%s", DEFAULT_INDEX);
	return 0;
}

static double event_time(const cJSON *doc, const char *field)
{
	const char *s = fd_field_string(doc, field);
	double t;

	if (s)
		return fd_time_parse(s);
	if (fd_field_number(doc, field, &t) == 0)
		return t / 1000.0;	/* epoch_millis */
	return -1;
}

static void widen(struct fd_rule_run *run, double t)
{
	if (t < 0)
		return;
	if (run->window_from == 0 || t < run->window_from)
		run->window_from = t;
	if (t > run->window_to)
		run->window_to = t;
}

/*
 * The rule's time field is timestamp_override when set (falling back to
 * @timestamp when the event lacks it, as Kibana does), else @timestamp.
 * The embedded rule really saw every event it was given, so its window
 * also covers the events' @timestamp: a negative over those events is
 * proven whichever field the rule keys time on.
 */
static void cover_event(struct fd_rule_run *run, const struct event *ev)
{
	const struct fd_rule *r = run->rule;
	double at = event_time(ev->doc, "@timestamp");

	widen(run, at);
	if (r->timestamp_override) {
		double t = event_time(ev->doc, r->timestamp_override);

		widen(run, t >= 0 ? t : at);
	}
}

/* A suppressed record: the alert, and the item that silenced it. */
static bool mark_suppressed(cJSON *alert, const struct fd_exc_item *it)
{
	cJSON *by = cJSON_CreateObject();

	if (by && cJSON_AddStringToObject(by, "list_id",
					  fd_exc_item_list(it)) &&
	    cJSON_AddStringToObject(by, "item_id", fd_exc_item_id(it)) &&
	    cJSON_AddStringToObject(by, "name", fd_exc_item_name(it)) &&
	    cJSON_AddItemToObject(alert, "firedrill.suppressed_by", by))
		return true;
	cJSON_Delete(by);
	return false;
}

/* Write alert (consumed) as one line of out; it is a suppressed record
 * when item is not NULL. */
static int put_alert(cJSON *alert, const struct fd_exc_item *item,
		     FILE *out)
{
	char *text = NULL;
	int rc = 0;

	if (alert && (!item || mark_suppressed(alert, item)))
		text = cJSON_PrintUnformatted(alert);
	cJSON_Delete(alert);
	if (!text)
		return -FD_ERR_NOMEM;
	if (fputs(text, out) == EOF || fputc('\n', out) == EOF)
		rc = -FD_ERR_IO;
	cJSON_free(text);
	return rc;
}

static int write_alert(const struct fd_rule *rule, struct event *ev,
		       double now, const struct fd_exc_item *item, FILE *out)
{
	int rc;

	if (!out)
		return 0;
	rc = event_full(ev);
	if (rc < 0)
		return rc;
	if (!ev->id[0])
		line_id(ev->line, ev->len, ev->id);
	return put_alert(fd_alert_build(rule, ev->source, ev->id, ev->index,
					now), item, out);
}

/*
 * The lists its scenario attaches to ev (once per event), read from doc
 * (the event, whole or sparse).  An id that names no loaded list is an
 * error: the scenario would be silently unprotected.
 */
static int scenario_lists(struct detection *dt, struct event *ev,
			  const cJSON *doc)
{
	const char *name;

	if (ev->lists_known)
		return 0;
	ev->lists_known = true;
	if (!dt->exc->scenario_lists ||
	    !(name = fd_field_string(doc, "firedrill.scenario")))
		return 0;
	ev->nscenario_ids = dt->exc->scenario_lists(dt->exc->arg, name,
						    &ev->scenario_ids);
	for (size_t k = 0; k < ev->nscenario_ids; k++) {
		if (fd_exc_has_list(dt->exc->set, ev->scenario_ids[k]))
			continue;
		snprintf(dt->err, sizeof(dt->err), "scenario '%.200s' "
			 "attaches exception list '%.200s', which is not "
			 "loaded", name, ev->scenario_ids[k]);
		return -FD_ERR_INVALID;
	}
	return 0;
}

/* The item that silences ev (read as doc) for rule i, or NULL. */
static int exception_for(struct detection *dt, size_t i, struct event *ev,
			 const cJSON *doc, const struct fd_exc_item **item)
{
	const struct fd_strv *own = &dt->set->rules[i]->exception_lists;
	int rc = scenario_lists(dt, ev, doc);

	*item = NULL;
	if (rc < 0)
		return rc;
	*item = fd_exc_match(dt->exc->set, (const char *const *)own->v,
			     own->n, doc, dt->exc_now);
	if (!*item && ev->nscenario_ids)
		*item = fd_exc_match(dt->exc->set, ev->scenario_ids,
				     ev->nscenario_ids, doc, dt->exc_now);
	return 0;
}

/* Whether exceptions may silence some event for rule r. */
static bool may_except(const struct detection *dt, const struct fd_rule *r)
{
	return dt->exc && (r->exception_lists.n || dt->exc->scenario_lists);
}

/* A single-event rule matched ev: an alert, or a suppressed record. */
static int rule_matched(struct detection *dt, size_t i, struct event *ev,
			double now, FILE *out)
{
	struct fd_rule_run *run = &dt->runs[i];
	const struct fd_rule *r = dt->set->rules[i];
	const struct fd_exc_item *item = NULL;
	int rc;

	if (may_except(dt, r)) {
		if ((rc = event_full(ev)) < 0 ||
		    (rc = exception_for(dt, i, ev, ev->source, &item)) < 0)
			return rc;
		if (item) {
			run->suppressed++;
			return write_alert(r, ev, now, item,
					   dt->exc->suppressed_out);
		}
	}
	run->matched++;
	if (run->alerts >= (size_t)r->max_signals)
		return 0;
	rc = write_alert(r, ev, now, NULL, out);
	if (rc == 0)
		run->alerts++;
	return rc;
}

/* Push ev to a sequence rule's stream, unless an exception keeps it
 * out; its shadow, if any, sees it either way. */
static int push_sequence(struct detection *dt, size_t i, struct event *ev,
			 size_t lineno)
{
	const struct fd_exc_item *item = NULL;
	int rc;

	if (dt->shadows[i]) {
		rc = fd_eql_stream_push(dt->shadows[i], ev->doc, lineno,
					groups_add, &dt->shadow_groups[i]);
		if (rc == 0)
			rc = exception_for(dt, i, ev, ev->doc, &item);
		if (rc == 0 && item)
			rc = excepted_add(&dt->excepted[i], lineno, item);
		if (rc < 0 || item)
			return rc;
	}
	return fd_eql_stream_push(dt->streams[i], ev->doc, lineno,
				  groups_add, &dt->groups[i]);
}

static int run_rules(struct detection *dt, struct event *ev, size_t lineno,
		     double now, FILE *out)
{
	const struct fd_ruleset *set = dt->set;

	for (size_t i = 0; i < set->n; i++) {
		struct fd_rule_run *run = &dt->runs[i];
		const struct fd_rule *r = set->rules[i];
		int rc;

		if (!dt->active[i])
			continue;
		run->events_seen++;
		cover_event(run, ev);
		if (dt->streams[i])
			rc = push_sequence(dt, i, ev, lineno);
		else if (fd_query_match(r->compiled, ev->doc))
			rc = rule_matched(dt, i, ev, now, out);
		else
			rc = 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The first list of rule's exceptions_list that set lacks, or NULL. */
static const char *missing_list(const struct fd_rule *rule,
				const struct fd_exc_set *set)
{
	for (size_t k = 0; k < rule->exception_lists.n; k++)
		if (!fd_exc_has_list(set, rule->exception_lists.v[k]))
			return rule->exception_lists.v[k];
	return NULL;
}

static void runs_begin(const struct fd_ruleset *set,
		       struct fd_rule_run *runs,
		       const struct fd_detect_exceptions *exc)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];
		const char *list;

		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].rule = r;
		if (!r->enabled) {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "disabled");
			snprintf(runs[i].message, sizeof(runs[i].message),
				 "the rule is disabled");
		} else if (!r->compiled) {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "failed");
			snprintf(runs[i].message, sizeof(runs[i].message),
				 "the rule's query is not compiled");
		} else if (exc && (list = missing_list(r, exc->set))) {
			/* Kibana will not run a rule without its lists. */
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "failed");
			snprintf(runs[i].message, sizeof(runs[i].message),
				 "exception list '%.180s' in the rule's "
				 "exceptions_list is not loaded", list);
		} else {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "running");
		}
	}
}

static void runs_end(const struct fd_ruleset *set, struct fd_rule_run *runs,
		     int rc)
{
	for (size_t i = 0; i < set->n; i++) {
		struct fd_rule_run *run = &runs[i];

		if (strcmp(run->status, "running"))
			continue;
		snprintf(run->status, sizeof(run->status), "%s",
			 rc < 0 ? "failed" : "succeeded");
		if (rc < 0)
			snprintf(run->message, sizeof(run->message), "%s",
				 fd_strerror((enum fd_err)-rc));
		else
			snprintf(run->message, sizeof(run->message), "%s",
				 run->matched > run->alerts ? MSG_CAPPED :
				 MSG_OK);
	}
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int bad_line(struct fd_diag *diag, int line, const char *text,
		    size_t len, const cJSON *json)
{
	const char *err = cJSON_GetErrorPtr();
	int col = 0;

	if (json)
		return fd_diag_set(diag, FD_ERR_INVALID, line, 0,
				   "expected a JSON object, one event a "
				   "line");
	if (err && err >= text && err <= text + len)
		col = (int)(err - text) + 1;
	return fd_diag_set(diag, FD_ERR_SYNTAX, line, col,
			   "event is not valid JSON");
}

/*
 * A line the sparse check refused (at offset off) or that is not an
 * object: told as cJSON tells it, so the message and column are those
 * of a full parse; what cJSON alone would take (text after the object)
 * is pointed at where it starts.
 */
static int refuse_line(struct fd_diag *diag, int line, const char *text,
		       size_t len, size_t off)
{
	cJSON *json = cJSON_ParseWithLength(text, len);
	int rc;

	if (cJSON_IsObject(json))
		rc = fd_diag_set(diag, FD_ERR_SYNTAX, line, (int)off + 1,
				 "event is not valid JSON: text after the "
				 "object");
	else
		rc = bad_line(diag, line, text, len, json);
	cJSON_Delete(json);
	return rc;
}

/* Whether a sequence rule checks exceptions on every event. */
static bool any_shadow(const struct detection *dt)
{
	for (size_t i = 0; i < dt->set->n; i++)
		if (dt->shadows[i])
			return true;
	return false;
}

/* What exception items read, for the shadowed sequence rules. */
static int sparse_exceptions(const struct detection *dt,
			     struct fd_sparse *sp, const char *prefix)
{
	const char *const *fields;
	size_t n;
	int rc;

	if (!any_shadow(dt))
		return 0;
	fields = fd_exc_fields(dt->exc->set, &n);
	rc = fd_sparse_add(sp, prefix, "firedrill.scenario");
	for (size_t f = 0; rc == 0 && f < n; f++)
		rc = fd_sparse_add(sp, prefix, fields[f]);
	return rc;
}

/* The paths to build of each line: what the running rules read and the
 * times their runs cover, in a bare document or a search hit's _source. */
static int sparse_for(const struct detection *dt, struct fd_sparse **out)
{
	static const char *const prefixes[] = { NULL, "_source" };
	const struct fd_ruleset *set = dt->set;
	struct fd_sparse *sp;
	int rc;

	rc = fd_sparse_new(&sp);
	for (size_t p = 0; rc == 0 && p < 2; p++) {
		rc = fd_sparse_add(sp, prefixes[p], "@timestamp");
		if (rc == 0)
			rc = sparse_exceptions(dt, sp, prefixes[p]);
		for (size_t i = 0; rc == 0 && i < set->n; i++) {
			const struct fd_rule *r = set->rules[i];
			const char *const *fields;
			size_t n;

			if (!dt->active[i])
				continue;
			if (r->timestamp_override)
				rc = fd_sparse_add(sp, prefixes[p],
						   r->timestamp_override);
			fields = fd_query_fields(r->compiled, &n);
			for (size_t f = 0; rc == 0 && f < n; f++)
				rc = fd_sparse_add(sp, prefixes[p], fields[f]);
		}
	}
	if (rc < 0) {
		fd_sparse_free(sp);
		return rc;
	}
	*out = sp;
	return 0;
}

/* A stream for a sequence rule. */
static int sequence_stream(const struct fd_rule *r,
			   struct fd_eql_stream **out)
{
	/* Unsorted: an events file need not be in time order. */
	if (fd_eql_stream_new(fd_query_eql(r->compiled),
			      FD_EQL_STREAM_UNSORTED, out) < 0)
		return -FD_ERR_NOMEM;
	/* Kibana orders a sequence by the rule's time field. */
	fd_eql_stream_set_time_field(*out, r->timestamp_override);
	return 0;
}

/* Streams for the sequence rules; 0 or -FD_ERR_NOMEM. */
static int detection_begin(struct detection *dt,
			   const struct fd_ruleset *set,
			   struct fd_rule_run *runs,
			   const struct fd_detect_exceptions *exc)
{
	size_t n = set->n ? set->n : 1;

	memset(dt, 0, sizeof(*dt));
	dt->set = set;
	dt->runs = runs;
	dt->exc = exc;
	dt->exc_now = exc && exc->now > 0 ? exc->now : wall_now();
	dt->active = calloc(n, sizeof(*dt->active));
	dt->streams = calloc(n, sizeof(*dt->streams));
	dt->groups = calloc(n, sizeof(*dt->groups));
	dt->shadows = calloc(n, sizeof(*dt->shadows));
	dt->shadow_groups = calloc(n, sizeof(*dt->shadow_groups));
	dt->excepted = calloc(n, sizeof(*dt->excepted));
	if (!dt->active || !dt->streams || !dt->groups || !dt->shadows ||
	    !dt->shadow_groups || !dt->excepted)
		return -FD_ERR_NOMEM;
	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];

		dt->active[i] = !strcmp(runs[i].status, "running");
		if (!dt->active[i] || !fd_query_is_sequence(r->compiled))
			continue;
		if (sequence_stream(r, &dt->streams[i]) < 0 ||
		    (may_except(dt, r) &&
		     sequence_stream(r, &dt->shadows[i]) < 0))
			return -FD_ERR_NOMEM;
	}
	return 0;
}

static void groups_release(struct groups *g)
{
	free(g->lines);
	free(g->start);
	free(g->len);
}

static void detection_end(struct detection *dt)
{
	for (size_t i = 0; dt->streams && dt->groups && i < dt->set->n; i++) {
		fd_eql_stream_free(dt->streams[i]);
		groups_release(&dt->groups[i]);
	}
	for (size_t i = 0; dt->shadows && dt->shadow_groups && dt->excepted &&
	     i < dt->set->n; i++) {
		fd_eql_stream_free(dt->shadows[i]);
		groups_release(&dt->shadow_groups[i]);
		free(dt->excepted[i].lines);
		free(dt->excepted[i].items);
	}
	free(dt->active);
	free(dt->streams);
	free(dt->groups);
	free(dt->shadows);
	free(dt->shadow_groups);
	free(dt->excepted);
	free(dt->offsets);
}

static int note_offset(struct detection *dt, size_t lineno, off_t at)
{
	if (lineno >= dt->noffsets) {
		size_t n = (lineno + 1) * 2;
		off_t *v = realloc(dt->offsets, n * sizeof(*v));

		if (!v)
			return -FD_ERR_NOMEM;
		dt->offsets = v;
		dt->noffsets = n;
	}
	dt->offsets[lineno] = at;
	return 0;
}

/* Read line lineno again and parse it whole into ev. */
static int reread(struct detection *dt, FILE *in, size_t lineno,
		  char **buf, size_t *cap, struct event *ev)
{
	ssize_t len;

	if (fseeko(in, dt->offsets[lineno], SEEK_SET) < 0 ||
	    (len = getline(buf, cap, in)) < 0)
		return -FD_ERR_IO;
	while (len > 0 && isspace((unsigned char)(*buf)[len - 1]))
		len--;
	memset(ev, 0, sizeof(*ev));
	ev->line = *buf;
	ev->len = (size_t)len;
	return event_full(ev);
}

static cJSON *ancestor(const struct event *ev)
{
	cJSON *one = cJSON_CreateObject();

	if (one && cJSON_AddStringToObject(one, "id", ev->id) &&
	    cJSON_AddStringToObject(one, "type", "event") &&
	    cJSON_AddStringToObject(one, "index", ev->index) &&
	    cJSON_AddNumberToObject(one, "depth", 0))
		return one;
	cJSON_Delete(one);
	return NULL;
}

/* One alert for group g of gr: the last event's, with every event's
 * ancestry; a suppressed record when item is not NULL. */
static int write_group(struct detection *dt, FILE *in, size_t rule,
		       const struct groups *gr, size_t g, double now,
		       const struct fd_exc_item *item, FILE *out)
{
	const size_t *lines = gr->lines + gr->start[g];
	cJSON *anc = cJSON_CreateArray(), *alert = NULL;
	char *buf = NULL;
	size_t cap = 0;
	int rc = anc ? 0 : -FD_ERR_NOMEM;

	for (size_t k = 0; rc == 0 && k < gr->len[g]; k++) {
		struct event ev;
		cJSON *one;

		rc = reread(dt, in, lines[k], &buf, &cap, &ev);
		if (rc == 0 && !ev.id[0])
			line_id(ev.line, ev.len, ev.id);
		one = rc == 0 ? ancestor(&ev) : NULL;
		if (rc == 0 && !one)
			rc = -FD_ERR_NOMEM;
		if (one)
			cJSON_AddItemToArray(anc, one);
		if (rc == 0 && k + 1 == gr->len[g]) {
			alert = fd_alert_build(dt->set->rules[rule],
					       ev.source, ev.id, ev.index,
					       now);
			if (!alert || !cJSON_ReplaceItemInObjectCaseSensitive(
				    alert, "kibana.alert.ancestors", anc))
				rc = -FD_ERR_NOMEM;
			else
				anc = NULL;	/* now the alert's */
		}
		cJSON_Delete(ev.full);
	}
	if (rc == 0)
		rc = put_alert(alert, item, out);
	else
		cJSON_Delete(alert);
	cJSON_Delete(anc);
	free(buf);
	return rc;
}

/* The item of the first excepted event of group g, or NULL. */
static const struct fd_exc_item *group_exception(const struct groups *gr,
						 size_t g,
						 const struct excepted *x)
{
	for (size_t k = 0; k < gr->len[g]; k++) {
		const struct fd_exc_item *it = excepted_find(
			x, gr->lines[gr->start[g] + k]);

		if (it)
			return it;
	}
	return NULL;
}

/* The shadow's sequences that an exception kept from the rule. */
static int finish_shadow(struct detection *dt, FILE *in, size_t i,
			 double now)
{
	struct groups *gr = &dt->shadow_groups[i];
	FILE *out = dt->exc->suppressed_out;
	int rc = fd_eql_stream_flush(dt->shadows[i], groups_add, gr);

	for (size_t g = 0; rc == 0 && g < gr->n; g++) {
		const struct fd_exc_item *it = group_exception(
			gr, g, &dt->excepted[i]);

		if (!it)
			continue;	/* nothing excepted: the rule saw it */
		dt->runs[i].suppressed++;
		if (out)
			rc = write_group(dt, in, i, gr, g, now, it, out);
	}
	return rc;
}

/* End of input for the sequence rules: their groups become alerts. */
static int finish_sequences(struct detection *dt, FILE *in, double now,
			    FILE *out)
{
	for (size_t i = 0; i < dt->set->n; i++) {
		struct fd_rule_run *run = &dt->runs[i];
		const struct fd_rule *r = dt->set->rules[i];
		int rc;

		if (!dt->streams[i])
			continue;
		rc = fd_eql_stream_flush(dt->streams[i], groups_add,
					 &dt->groups[i]);
		if (rc < 0)
			return rc;
		run->matched = dt->groups[i].n;
		for (size_t g = 0; g < dt->groups[i].n; g++) {
			if (run->alerts >= (size_t)r->max_signals)
				break;
			if (out && (rc = write_group(dt, in, i, &dt->groups[i],
						     g, now, NULL, out)) < 0)
				return rc;
			run->alerts++;
		}
		if (dt->shadows[i] && (rc = finish_shadow(dt, in, i, now)) < 0)
			return rc;
	}
	return 0;
}

static int detect_stream(const struct fd_ruleset *set, FILE *in,
			 FILE *out, struct fd_rule_run *runs,
			 const struct fd_detect_exceptions *exc,
			 struct fd_diag *diag)
{
	struct detection dt;
	double now = wall_now();
	struct fd_sparse *sp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc;
	off_t at = 0;

	rc = detection_begin(&dt, set, runs, exc);
	if (rc == 0)
		rc = sparse_for(&dt, &sp);
	if (rc < 0) {
		detection_end(&dt);
		return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
	}
	while (rc == 0 && (at = ftello(in)) >= 0 &&
	       (len = getline(&line, &cap, in)) >= 0) {
		struct event ev = { .line = line };
		const cJSON *json;
		size_t off = 0;

		lineno++;
		if (note_offset(&dt, (size_t)lineno, at) < 0) {
			rc = fd_diag_set(diag, FD_ERR_NOMEM, lineno, 0,
					 "out of memory");
			break;
		}
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			len--;
		if (blank(line, (size_t)len))
			continue;
		ev.len = (size_t)len;
		rc = fd_sparse_parse(sp, line, ev.len, &json, &off);
		if (rc == -FD_ERR_NOMEM) {
			rc = fd_diag_set(diag, FD_ERR_NOMEM, lineno, 0,
					 "out of memory");
			break;
		}
		if (rc < 0 || !cJSON_IsObject(json)) {
			rc = refuse_line(diag, lineno, line, ev.len, off);
			break;
		}
		ev.doc = source_of(json);
		rc = run_rules(&dt, &ev, (size_t)lineno, now, out);
		cJSON_Delete(ev.full);
		if (rc < 0 && dt.err[0])
			rc = fd_diag_set(diag, (enum fd_err)-rc, lineno, 0,
					 "%s", dt.err);
		else if (rc == -FD_ERR_IO)
			rc = fd_diag_set(diag, FD_ERR_IO, lineno, 0,
					 "cannot write alerts: %s",
					 strerror(errno));
		else if (rc == -FD_ERR_SYNTAX)
			rc = refuse_line(diag, lineno, line, ev.len, 0);
		else if (rc == -FD_ERR_NOMEM)
			rc = fd_diag_set(diag, FD_ERR_NOMEM, lineno, 0,
					 "out of memory");
	}
	if (rc == 0 && ferror(in))
		rc = fd_diag_set(diag, FD_ERR_IO, lineno, 0, "read error");
	if (rc == 0) {
		rc = finish_sequences(&dt, in, now, out);
		if (rc < 0)
			rc = fd_diag_set(diag, (enum fd_err)-rc, 0, 0,
					 "sequence alerts: %s",
					 fd_strerror((enum fd_err)-rc));
	}
	free(line);
	fd_sparse_free(sp);
	detection_end(&dt);
	return rc;
}

int fd_detect_file(const struct fd_ruleset *set, const char *events_path,
		   FILE *alerts_out, struct fd_rule_run *runs,
		   struct fd_diag *diag)
{
	return fd_detect_file_ex(set, events_path, alerts_out, runs, NULL,
				 diag);
}

int fd_detect_file_ex(const struct fd_ruleset *set, const char *events_path,
		      FILE *alerts_out, struct fd_rule_run *runs,
		      const struct fd_detect_exceptions *exc,
		      struct fd_diag *diag)
{
	FILE *in;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", events_path);
	runs_begin(set, runs, exc);
	in = fopen(events_path, "r");
	if (!in) {
		rc = fd_diag_set(diag, errno == ENOENT ? FD_ERR_NOTFOUND :
				 FD_ERR_IO, 0, 0, "cannot open: %s",
				 strerror(errno));
		runs_end(set, runs, rc);
		return rc;
	}
	rc = detect_stream(set, in, alerts_out, runs, exc, diag);
	fclose(in);
	if (rc == 0 && alerts_out && fflush(alerts_out) == EOF)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0,
				 "cannot write alerts: %s", strerror(errno));
	if (rc == 0 && exc && exc->suppressed_out &&
	    fflush(exc->suppressed_out) == EOF)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0, "cannot write "
				 "suppressed alerts: %s", strerror(errno));
	runs_end(set, runs, rc);
	return rc;
}
