/*
 * validate.c - turn expectations into verdicts by polling a backend.
 *
 * One pending item per expectation.  Each poll cycle sends one search for
 * all pending items, decides what it can, then backs off exponentially
 * (with jitter, capped) until every item is decided or its deadline
 * passes.  An offline backend (embedded) answers everything in one cycle.
 * Deadlines use the monotonic clock.
 */
#include "validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "field.h"

#define DEFAULT_INGEST_MARGIN_S 120.0
#define TIME_SLACK_S 1.0
#define REFRESH_S 2.0		/* Elasticsearch's default refresh, 1 s,
				   and a margin */

struct pending {
	const struct fd_runrec *rr;
	const struct fd_scenario *sc;
	const struct fd_expect *ex;
	const struct fd_rule *rule;
	char frag[256];			/* "/firedrill-<run>/<scen>/" */
	struct fd_alert_filter filter;
	double ev_from, ev_to;		/* the scenario's event times */
	double deadline;		/* monotonic seconds */
	double started;			/* monotonic: validation began */
	double covered_since;		/* monotonic: when a state that
					   covers the events was first read;
					   < 0: not yet */
	bool deadline_from_rule;	/* set from the live rule's schedule
					   when it is first read */
	double margin;			/* the ingest margin */
	double settle;			/* a live run proves a negative only
					   when it started this long after
					   the events */
	const struct fd_runrec_proc *blocked_by;
	char rule_name[256];		/* from the backend, when no local
					   rule is loaded */
	int rule_version;
	bool other_version;		/* for a version the stack does not
					   run: no verdict */
	char note[320];			/* "; 1 suppressed by item ..." */
	char waiting[360];		/* what it waits for, for the log */
	size_t suppressed;		/* alerts an exception silenced */
	bool events_checked;		/* the stack was asked for them */
	double ingested;		/* their latest event.ingested on
					   the stack; < 0: not there */
	bool sees_suppression;		/* the backend can tell */
	bool done;
};

/* What one validation carries from poll cycle to poll cycle. */
struct poll {
	const struct fd_backend *be;
	void *ctx;
	const struct fd_validate_opts *opts;
	bool offline;
	int failures;		/* transient failures in a row */
	bool no_events;		/* the backend cannot see events */
	double retry_after;	/* the backend asked to wait this long */
};

const char *fd_outcome_name(enum fd_outcome o)
{
	switch (o) {
	case FD_PASS: return "PASS";
	case FD_FAIL: return "FAIL";
	case FD_INCONCLUSIVE: return "INCONCLUSIVE";
	case FD_ERROR: return "ERROR";
	case FD_BLOCKED: return "BLOCKED";
	case FD_OUTCOME_LAST: break;
	}
	return "?";
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A copy of s that lives as long as vs (the pending items do not). */
static const char *intern(struct fd_verdicts *vs, const char *s)
{
	const cJSON *it;

	if (!vs->strings && !(vs->strings = cJSON_CreateArray()))
		return NULL;
	cJSON_ArrayForEach(it, vs->strings)
		if (!strcmp(it->valuestring, s))
			return it->valuestring;
	it = cJSON_CreateString(s);
	if (!it || !cJSON_AddItemToArray(vs->strings, (cJSON *)it))
		return NULL;
	return it->valuestring;
}

static struct fd_verdict *add_verdict(struct fd_verdicts *vs,
				      const struct pending *p,
				      enum fd_outcome o, const char *check,
				      const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct fd_verdict *add_verdict(struct fd_verdicts *vs,
				      const struct pending *p,
				      enum fd_outcome o, const char *check,
				      const char *fmt, ...)
{
	struct fd_verdict *v, *grown;
	va_list ap;
	size_t order = 0;

	grown = realloc(vs->v, (vs->n + 1) * sizeof(*grown));
	if (!grown) {
		/* Out of memory: callers may still set fields; the row is
		 * lost, and the run cannot pass. */
		static struct fd_verdict sink;

		vs->count[FD_ERROR]++;
		return &sink;
	}
	vs->v = grown;
	v = &vs->v[vs->n++];
	memset(v, 0, sizeof(*v));
	while (order < p->rr->nscenarios &&
	       p->rr->scenarios[order] != p->sc)
		order++;	/* a run-level row sorts last */
	v->order = order;
	v->scenario = p->sc->id;
	v->title = p->sc->title;
	v->path = p->sc->path;
	v->rule_id = p->ex ? p->ex->rule_id : NULL;
	v->rule_name = p->rule ? p->rule->name :
		       p->rule_name[0] ? intern(vs, p->rule_name) : NULL;
	v->version = p->filter.version ? p->filter.version :
		     p->rule_version;
	v->outcome = o;
	v->ttd = -1;
	snprintf(v->check, sizeof(v->check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	vs->count[o]++;
	return v;
}

static void count_check(const struct fd_expect *ex, char *buf, size_t len)
{
	if (ex->count_op == FD_COUNT_AT_LEAST)
		snprintf(buf, len, "count >= %ld", ex->count);
	else
		snprintf(buf, len, "count == %ld", ex->count);
}

static const char *alert_severity(const cJSON *a)
{
	const char *s = fd_field_string(a, "kibana.alert.severity");

	return s ? s : fd_field_string(a, "kibana.alert.rule.severity");
}

static int alert_risk(const cJSON *a, double *out)
{
	if (fd_field_number(a, "kibana.alert.risk_score", out) == 0)
		return 0;
	return fd_field_number(a, "kibana.alert.rule.risk_score", out);
}

struct id_search {
	const char *want;
	char seen[256];
};

static int visit_id(const cJSON *v, void *arg)
{
	struct id_search *s = arg;
	size_t used = strlen(s->seen);

	if (!cJSON_IsString(v))
		return 0;
	if (!strcmp(v->valuestring, s->want))
		return 1;
	if (used + strlen(v->valuestring) + 3 < sizeof(s->seen))
		snprintf(s->seen + used, sizeof(s->seen) - used, "%s%s",
			 used ? ", " : "", v->valuestring);
	return 0;
}

/* Check one MITRE id against every alert: all must carry it. */
static void check_mitre(struct fd_verdicts *vs, const struct pending *p,
			const struct fd_alert_list *al, const char *kind,
			const char *path, const char *want)
{
	char check[96];

	snprintf(check, sizeof(check), "%s %s", kind, want);
	for (size_t i = 0; i < al->n; i++) {
		struct id_search s = { .want = want };

		if (fd_field_visit(al->v[i], path, visit_id, &s))
			continue;
		add_verdict(vs, p, FD_FAIL, check,
			    "expected %s '%s', alert has %s%s%s", kind, want,
			    s.seen[0] ? "'" : "none", s.seen,
			    s.seen[0] ? "'" : "");
		return;
	}
	add_verdict(vs, p, FD_PASS, check, "%zu alert%s map%s to %s", al->n,
		    al->n == 1 ? "" : "s", al->n == 1 ? "s" : "",
		    want)->alerts = al->n;
}

static void check_severity(struct fd_verdicts *vs, const struct pending *p,
			   const struct fd_alert_list *al)
{
	char check[96];

	snprintf(check, sizeof(check), "severity %s", p->ex->severity);
	for (size_t i = 0; i < al->n; i++) {
		const char *got = alert_severity(al->v[i]);

		if (got && !strcmp(got, p->ex->severity))
			continue;
		add_verdict(vs, p, FD_FAIL, check,
			    "expected severity '%s', got '%s'",
			    p->ex->severity, got ? got : "(none)");
		return;
	}
	add_verdict(vs, p, FD_PASS, check, "severity '%s' on %zu alert%s",
		    p->ex->severity, al->n,
		    al->n == 1 ? "" : "s")->alerts = al->n;
}

static void check_risk(struct fd_verdicts *vs, const struct pending *p,
		       const struct fd_alert_list *al)
{
	char check[96];

	snprintf(check, sizeof(check), "risk_score %d", p->ex->risk_score);
	for (size_t i = 0; i < al->n; i++) {
		double got;

		if (alert_risk(al->v[i], &got) == 0 &&
		    got == (double)p->ex->risk_score)
			continue;
		if (alert_risk(al->v[i], &got) == 0)
			add_verdict(vs, p, FD_FAIL, check,
				    "expected risk score %d, got %g",
				    p->ex->risk_score, got);
		else
			add_verdict(vs, p, FD_FAIL, check,
				    "expected risk score %d, alert has none",
				    p->ex->risk_score);
		return;
	}
	add_verdict(vs, p, FD_PASS, check, "risk score %d on %zu alert%s",
		    p->ex->risk_score, al->n,
		    al->n == 1 ? "" : "s")->alerts = al->n;
}

/* The attribute checks, each its own verdict, over the alerts found. */
static void check_attributes(struct fd_verdicts *vs, const struct pending *p,
			     const struct fd_alert_list *al)
{
	const struct fd_expect *ex = p->ex;

	if (ex->severity)
		check_severity(vs, p, al);
	if (ex->risk_score >= 0)
		check_risk(vs, p, al);
	for (size_t i = 0; i < ex->tactics.n; i++)
		check_mitre(vs, p, al, "tactic",
			    "kibana.alert.rule.threat.tactic.id",
			    ex->tactics.v[i]);
	for (size_t i = 0; i < ex->techniques.n; i++)
		check_mitre(vs, p, al, "technique",
			    "kibana.alert.rule.threat.technique.id",
			    ex->techniques.v[i]);
	for (size_t i = 0; i < ex->subtechniques.n; i++)
		check_mitre(vs, p, al, "subtechnique",
			    "kibana.alert.rule.threat.technique.subtechnique.id",
			    ex->subtechniques.v[i]);
}

/* Attribute checks that could not be made, so the report still lists them. */
static void unchecked_attributes(struct fd_verdicts *vs,
				 const struct pending *p, enum fd_outcome o,
				 const char *why)
{
	const struct fd_expect *ex = p->ex;
	char check[96];

	if (ex->count_op == FD_COUNT_EXACT && ex->count == 0)
		return;
	if (ex->severity) {
		snprintf(check, sizeof(check), "severity %s", ex->severity);
		add_verdict(vs, p, o, check, "%s", why);
	}
	if (ex->risk_score >= 0) {
		snprintf(check, sizeof(check), "risk_score %d",
			 ex->risk_score);
		add_verdict(vs, p, o, check, "%s", why);
	}
	for (size_t i = 0; i < ex->tactics.n; i++) {
		snprintf(check, sizeof(check), "tactic %s", ex->tactics.v[i]);
		add_verdict(vs, p, o, check, "%s", why);
	}
	for (size_t i = 0; i < ex->techniques.n; i++) {
		snprintf(check, sizeof(check), "technique %s",
			 ex->techniques.v[i]);
		add_verdict(vs, p, o, check, "%s", why);
	}
	for (size_t i = 0; i < ex->subtechniques.n; i++) {
		snprintf(check, sizeof(check), "subtechnique %s",
			 ex->subtechniques.v[i]);
		add_verdict(vs, p, o, check, "%s", why);
	}
}

static double first_alert_time(const struct fd_alert_list *al)
{
	double best = -1;

	for (size_t i = 0; i < al->n; i++) {
		const char *ts = fd_field_string(al->v[i], "@timestamp");
		double t = ts ? fd_time_parse(ts) : -1;

		if (t >= 0 && (best < 0 || t < best))
			best = t;
	}
	return best;
}

/*
 * Did a successful run of the rule search the events?  Its window must
 * reach back to the first event, and (on a live stack) the run must have
 * started at least the settle time after the last event, when the event
 * was surely searchable.  A run that reported a gap proves nothing.
 */
static bool state_covers(const struct fd_rule_state *st,
			 const struct pending *p)
{
	/* Seen on the stack: searchable once indexed and refreshed; else
	 * assumed searchable after the ingest margin. */
	double searchable = p->events_checked ? p->ingested + REFRESH_S :
			    p->ev_to + p->settle;

	return st->found && !st->unknown && st->enabled &&
	       !strcmp(st->status, "succeeded") && st->gap_s <= 0 &&
	       (!p->events_checked || p->ingested >= 0) &&
	       st->covered_from <= p->ev_from &&
	       st->covered_to >= searchable;
}

/*
 * Covered, and long enough ago that the covering run's alerts are
 * searchable: Kibana writes alerts without waiting for a refresh (unless
 * the rule has actions), so a search right after the run may miss them.
 * The wait is the refresh interval, bounded by the ingest margin.
 */
static bool state_proves(const struct fd_rule_state *st,
			 const struct pending *p)
{
	double wait = p->settle < REFRESH_S ? p->settle : REFRESH_S;

	return state_covers(st, p) && p->covered_since >= 0 &&
	       mono_now() - p->covered_since >= wait;
}

/*
 * Has the rule's schedule moved past the events?  Each run searches a
 * window that starts later than the last one's; once a successful run's
 * window starts after the events were searchable, no later run will
 * search them, so waiting longer changes nothing.
 */
static bool moved_past(const struct fd_rule_state *st,
		       const struct pending *p)
{
	double upper = p->events_checked && p->ingested >= 0 ? p->ingested :
		       p->ev_to + p->settle;

	return st->found && !st->unknown && !strcmp(st->status, "succeeded") &&
	       st->last_run >= 0 && st->covered_from > upper;
}

/* Why a negative cannot be proven from this rule state. */
static void state_gap(const struct fd_rule_state *st,
		      const struct pending *p, char *buf, size_t len)
{
	char at[40];

	if (!st->found)
		snprintf(buf, len, "the rule is not on the backend");
	else if (state_covers(st, p))
		snprintf(buf, len, "the run that covers the events was seen "
			 "too late for its alerts to be surely searchable");
	else if (st->unknown)
		snprintf(buf, len, "the rule's runs cannot be seen: %s",
			 st->message);
	else if (p->events_checked && p->ingested < 0)
		snprintf(buf, len, "the scenario's events are not in "
			 "Elasticsearch (%s): the sensor did not send them, "
			 "or they went elsewhere", "logs-endpoint.events.*");
	else if (!st->enabled)
		snprintf(buf, len, "the rule is disabled");
	else if (!st->status[0])
		snprintf(buf, len, "the rule has not run yet");
	else if (strcmp(st->status, "succeeded"))
		snprintf(buf, len, "the rule's last run is '%s'%s%s",
			 st->status, st->message[0] ? ": " : "",
			 st->message);
	else if (st->gap_s > 0)
		snprintf(buf, len, "the rule's last run reported a gap of "
			 "%.0f s, so windows were missed", st->gap_s);
	else if (st->last_run >= 0 && st->last_run < p->ev_to)
		snprintf(buf, len, "the rule's last successful run (%s) "
			 "predates the events",
			 fd_time_format_ms(st->last_run, at, sizeof(at)));
	else if (p->settle > 0 && st->last_run >= 0 &&
		 st->last_run < p->ev_to + p->settle)
		snprintf(buf, len, "the rule's last successful run (%s) "
			 "started before the events were surely searchable "
			 "(%.0f s after them)",
			 fd_time_format_ms(st->last_run, at, sizeof(at)),
			 p->settle);
	else if (st->covered_from > p->ev_from)
		snprintf(buf, len, "the rule's last successful run searched "
			 "from %s only, after the events",
			 fd_time_format_ms(st->covered_from, at, sizeof(at)));
	else
		snprintf(buf, len,
			 "no successful run of the rule covers the events");
}

/* Decide a count-0 expectation; returns true when decided. */
static bool decide_negative(struct fd_verdicts *vs, struct pending *p,
			    const struct fd_alert_list *al,
			    const struct fd_rule_state *st, bool final)
{
	char check[96], why[320];

	count_check(p->ex, check, sizeof(check));
	if (al->n > 0) {
		const char *name = fd_field_string(al->v[0], "process.name");

		add_verdict(vs, p, FD_FAIL, check,
			    "expected no alert, got %zu (first on process "
			    "'%s')", al->n, name ? name : "?")->alerts = al->n;
		return true;
	}
	/* An exception scenario proves a suppression only if something
	 * was suppressed: steps that never trigger the rule test nothing
	 * (their control may still alert). */
	if (p->sc->exceptions.n && p->sees_suppression && !p->suppressed &&
	    state_proves(st, p)) {
		add_verdict(vs, p, FD_FAIL, check,
			    "no alert, but nothing was suppressed either: "
			    "the steps never trigger the rule, so the "
			    "exception is not tested");
		return true;
	}
	if (state_proves(st, p)) {
		add_verdict(vs, p, FD_PASS, check,
			    "no alert; the rule ran successfully over the "
			    "events' window%s", p->note);
		return true;
	}
	/* A later run may still prove it; a disabled rule, a failed run or
	 * a schedule already past the events settles it now. */
	if (!final && st->found && st->enabled && !moved_past(st, p) &&
	    (st->unknown || !strcmp(st->status, "succeeded") ||
	     !strcmp(st->status, "running") ||
	     !strcmp(st->status, "going to run") || !st->status[0])) {
		state_gap(st, p, why, sizeof(why));
		snprintf(p->waiting, sizeof(p->waiting), "no alert yet, and "
			 "%s", why);
		return false;
	}
	state_gap(st, p, why, sizeof(why));
	add_verdict(vs, p, FD_INCONCLUSIVE, check, "no alert, but %s%s", why,
		    moved_past(st, p) ? " (validate within the rule's "
		    "look-back of the emulation)" : "");
	return true;
}

/* Decide a positive expectation; returns true when decided. */
static bool decide_positive(struct fd_verdicts *vs, struct pending *p,
			    const struct fd_alert_list *al,
			    const struct fd_rule_state *st, bool final)
{
	const struct fd_expect *ex = p->ex;
	char check[96];
	bool enough = ex->count_op == FD_COUNT_AT_LEAST ?
		      (long)al->n >= ex->count : (long)al->n == ex->count;
	/* An exact count may still grow until a run has covered the
	 * events; "at least" is settled once reached, and with no view of
	 * the rule's runs there is nothing better to wait for. */
	bool settled = final || ex->count_op == FD_COUNT_AT_LEAST ||
		       st->unknown || state_proves(st, p) ||
		       moved_past(st, p);
	struct fd_verdict *v;

	/* No later run will search the events: what is here is all. */
	if (moved_past(st, p))
		final = true;
	count_check(ex, check, sizeof(check));
	if (ex->count_op == FD_COUNT_EXACT && (long)al->n > ex->count) {
		add_verdict(vs, p, FD_FAIL, check,
			    "expected %ld alert%s, got %zu", ex->count,
			    ex->count == 1 ? "" : "s", al->n)->alerts = al->n;
		check_attributes(vs, p, al);
		return true;
	}
	if (!enough || !settled) {
		if (!final) {
			snprintf(p->waiting, sizeof(p->waiting), enough ?
				 "%zu alert%s; waiting for a rule run over "
				 "the events, so no more can come" :
				 "%zu alert%s so far", al->n,
				 al->n == 1 ? "" : "s");
			return false;
		}
		if (al->n == 0 && st->found && !st->enabled) {
			add_verdict(vs, p, FD_FAIL, check,
				    "expected %ld alert%s, got none (the rule "
				    "is disabled)", ex->count,
				    ex->count == 1 ? "" : "s");
			unchecked_attributes(vs, p, FD_FAIL,
					     "no alert to check");
			return true;
		}
		if (!enough) {
			add_verdict(vs, p, FD_FAIL, check,
				    "expected %s%ld alert%s, got %zu%s",
				    ex->count_op == FD_COUNT_AT_LEAST ?
				    "at least " : "", ex->count,
				    ex->count == 1 ? "" : "s", al->n,
				    p->note)->alerts = al->n;
			if (al->n)
				check_attributes(vs, p, al);
			else
				unchecked_attributes(vs, p, FD_FAIL,
						     "no alert to check");
			return true;
		}
	}
	v = add_verdict(vs, p, FD_PASS, check, "%zu alert%s", al->n,
			al->n == 1 ? "" : "s");
	v->alerts = al->n;
	if (al->n) {
		double t = first_alert_time(al);

		v->ttd = t >= 0 ? t - p->ev_from : -1;
		if (v->ttd >= 0)
			snprintf(v->reason + strlen(v->reason),
				 sizeof(v->reason) - strlen(v->reason),
				 "; detected %.3f s after spawn", v->ttd);
	}
	check_attributes(vs, p, al);
	return true;
}

static const struct fd_runrec_proc *killed_stand_in(
	const struct fd_runrec *rr, const char *scenario)
{
	for (size_t i = 0; i < rr->nprocs; i++) {
		const struct fd_runrec_proc *pr = &rr->procs[i];

		/* Killed by something other than firedrill: not at its
		 * deadline, not because the run was interrupted. */
		if (!strcmp(pr->scenario, scenario) && pr->signal &&
		    !pr->timed_out && !pr->interrupted)
			return pr;
	}
	return NULL;
}

/* Harness-level rows: steps that timed out or exited unexpectedly. */
static void check_steps(struct fd_verdicts *vs, const struct fd_runrec *rr,
			const struct pending *p)
{
	const struct fd_scenario *sc = p->sc;
	char check[96];

	for (size_t i = 0; i < rr->nprocs; i++) {
		const struct fd_runrec_proc *pr = &rr->procs[i];
		const struct fd_step *st;

		if (strcmp(pr->scenario, sc->id) || !pr->target ||
		    pr->step < 0 || (size_t)pr->step >= sc->nsteps)
			continue;
		st = &sc->steps[pr->step];
		snprintf(check, sizeof(check), "step %d '%s'", pr->step + 1,
			 pr->name);
		if (pr->timed_out)
			add_verdict(vs, p, FD_ERROR, check,
				    "passed its deadline of %ld ms and was "
				    "killed", st->timeout_ms);
		else if (st->has_expect_exit && !pr->signal &&
			 (!pr->has_exit_code ||
			  pr->exit_code != st->expect_exit))
			add_verdict(vs, p, FD_ERROR, check,
				    "expected exit %d, got %d", st->expect_exit,
				    pr->exit_code);
	}
}

static void scenario_window(const struct fd_runrec *rr, const char *id,
			    double *from, double *to)
{
	*from = -1;
	*to = -1;
	for (size_t i = 0; i < rr->nprocs; i++) {
		const struct fd_runrec_proc *pr = &rr->procs[i];

		if (strcmp(pr->scenario, id))
			continue;
		if (*from < 0 || pr->start < *from)
			*from = pr->start;
		if (pr->start > *to)
			*to = pr->start;
	}
}

static double default_deadline(const struct pending *p,
			       const struct fd_validate_opts *o)
{
	double margin = o && o->ingest_margin_s >= 0 ? o->ingest_margin_s :
			DEFAULT_INGEST_MARGIN_S;

	if (o && o->deadline_s > 0)
		return o->deadline_s;
	if (p->ex->deadline_ms > 0)
		return (double)p->ex->deadline_ms / 1000.0;
	if (p->rule)
		return (double)(p->rule->interval_s + p->rule->lookback_s) +
		       margin;
	return 900.0 + margin;
}

/* Is version pinned by another expectation of sc for the same rule? */
static bool version_pinned(const struct fd_scenario *sc, const char *rule_id,
			   int version)
{
	for (size_t i = 0; i < sc->nexpects; i++)
		if (sc->expects[i].version == version &&
		    !strcmp(sc->expects[i].rule_id, rule_id))
			return true;
	return false;
}

/*
 * The rule versions one expectation applies to: the one it names, or
 * every loaded version of its rule that no other expectation of the
 * scenario names.  Without rules (a live backend) it is the version the
 * backend runs, as one target with rule NULL.
 */
static size_t expect_targets(const struct fd_scenario *sc,
			     const struct fd_expect *ex,
			     const struct fd_ruleset *rules,
			     const struct fd_rule **out, size_t max)
{
	size_t n = 0;

	if (!rules || ex->version) {
		out[0] = rules ? fd_ruleset_find_version(rules, ex->rule_id,
							 ex->version) : NULL;
		return 1;
	}
	for (size_t i = 0; i < rules->n && n < max; i++) {
		const struct fd_rule *r = rules->rules[i];

		size_t k = n;

		if (strcmp(r->rule_id, ex->rule_id) ||
		    version_pinned(sc, r->rule_id, r->version))
			continue;
		/* in version order, whatever the files' order */
		while (k > 0 && out[k - 1]->version > r->version) {
			out[k] = out[k - 1];
			k--;
		}
		out[k] = r;
		n++;
	}
	return n;
}

static struct pending *add_pending(struct pending **ps, size_t *np)
{
	struct pending *grown = realloc(*ps, (*np + 1) * sizeof(**ps));

	if (!grown)
		return NULL;
	*ps = grown;
	memset(&grown[*np], 0, sizeof(**ps));
	return &grown[(*np)++];
}

static void init_pending(struct pending *p, const struct fd_runrec *rr,
			 const struct fd_scenario *sc,
			 const struct fd_expect *ex, const struct fd_rule *rule,
			 const struct fd_validate_opts *opts)
{
	p->rr = rr;
	p->sc = sc;
	p->ex = ex;
	p->rule = rule;
	/* The stand-ins' folder: <tmpdir>/firedrill-<run id>/<scenario>/. */
	snprintf(p->frag, sizeof(p->frag), "/firedrill-%s/%s/", rr->run_id,
		 sc->id);
	scenario_window(rr, sc->id, &p->ev_from, &p->ev_to);
	p->filter.rule_id = ex->rule_id;
	p->filter.version = rule ? rule->version : ex->version;
	p->filter.run_id = rr->run_id;
	p->filter.host_name = sc->host.name ? sc->host.name : rr->host_name;
	p->filter.from = p->ev_from - TIME_SLACK_S;
	p->filter.to = p->ev_to + TIME_SLACK_S;
	p->started = mono_now();
	p->covered_since = -1;
	p->deadline = p->started + default_deadline(p, opts);
	p->deadline_from_rule = !rule && !ex->deadline_ms &&
				!(opts && opts->deadline_s > 0);
	p->settle = opts && opts->ingest_margin_s >= 0 ?
		    opts->ingest_margin_s : DEFAULT_INGEST_MARGIN_S;
	p->margin = p->settle;
	p->blocked_by = killed_stand_in(rr, sc->id);
}

#define MAX_VERSIONS 64

static int build_pending(const struct fd_runrec *rr,
			 const struct fd_ruleset *rules,
			 const struct fd_validate_opts *opts,
			 struct pending **out, size_t *n)
{
	struct pending *ps = NULL;
	size_t np = 0;

	for (size_t s = 0; s < rr->nscenarios; s++) {
		const struct fd_scenario *sc = rr->scenarios[s];

		for (size_t e = 0; e < sc->nexpects; e++) {
			const struct fd_rule *targets[MAX_VERSIONS];
			size_t nt = expect_targets(sc, &sc->expects[e], rules,
						   targets, MAX_VERSIONS);

			for (size_t t = 0; t < nt; t++) {
				struct pending *p = add_pending(&ps, &np);

				if (!p) {
					free(ps);
					return -FD_ERR_NOMEM;
				}
				init_pending(p, rr, sc, &sc->expects[e],
					     targets[t], opts);
			}
		}
	}
	*out = ps;
	*n = np;
	return 0;
}

static bool scenario_complete(const struct fd_runrec *rr,
			      const struct fd_scenario *sc)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		if (rr->scenarios[i] == sc)
			return !rr->scenario_complete ||
			       rr->scenario_complete[i];
	return false;
}

static bool ran(const struct fd_runrec *rr, const char *id)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		if (!strcmp(rr->scenarios[i]->id, id))
			return true;
	return false;
}

static void add_run_row(struct fd_verdicts *vs, const struct fd_runrec *rr,
			const char *scenario, const char *check,
			const char *reason)
{
	struct fd_scenario sc = { .id = (char *)scenario };
	struct pending p = { .rr = rr, .sc = &sc };
	struct fd_verdict *v = add_verdict(vs, &p, FD_ERROR, check, "%s",
					   reason);

	v->title = NULL;
	v->path = NULL;
}

/*
 * A run that did not finish proves nothing about what it did not run: a
 * record without its end line (the emulator was killed), an interrupted
 * run, and every planned scenario that never started are ERRORs.
 */
static void check_run(struct fd_verdicts *vs, const struct fd_runrec *rr)
{
	const cJSON *id;

	if (rr->dry_run)
		return;
	if (!rr->ended)
		add_run_row(vs, rr, "(run)", "run record", rr->cut_short ?
			    "the run record's last line is cut off: the "
			    "emulator was killed while writing it" :
			    "the run record has no end line: the emulator "
			    "was killed, or is still running");
	else if (!rr->complete)
		add_run_row(vs, rr, "(run)", "run record",
			    "the emulation was interrupted");
	cJSON_ArrayForEach(id, rr->planned) {
		if (cJSON_IsString(id) && !ran(rr, id->valuestring))
			add_run_row(vs, rr, id->valuestring, "scenario",
				    "the run stopped before this scenario "
				    "ran");
	}
}

/* Rows decided without asking the backend: blocked or never ran. */
static bool decide_locally(struct fd_verdicts *vs,
			   const struct fd_runrec *rr, struct pending *p)
{
	char check[96];

	count_check(p->ex, check, sizeof(check));
	if (rr->dry_run) {
		add_verdict(vs, p, FD_ERROR, check,
			    "dry run: nothing was spawned");
		return true;
	}
	if (!scenario_complete(rr, p->sc)) {
		add_verdict(vs, p, FD_ERROR, check,
			    "the run was interrupted during this scenario");
		return true;
	}
	if (p->ev_from < 0) {
		add_verdict(vs, p, FD_ERROR, check,
			    "no process of this scenario is in the run "
			    "record");
		return true;
	}
	if (p->blocked_by) {
		add_verdict(vs, p, FD_BLOCKED, check,
			    "stand-in '%s' (pid %ld) was killed by signal %d,"
			    " not by firedrill", p->blocked_by->name,
			    p->blocked_by->pid, p->blocked_by->signal);
		return true;
	}
	return false;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	nanosleep(&ts, NULL);
}

static double next_delay(double delay, const struct fd_validate_opts *o)
{
	double cap = o && o->poll_max_s > 0 ? o->poll_max_s : 30.0;
	double jitter = 0.5 + (double)(rand() % 1000) / 1000.0;

	delay = delay * 2 * jitter;
	return delay > cap ? cap : delay;
}

static void backend_failed(struct fd_verdicts *vs, struct pending *ps,
			   size_t np, const struct fd_diag *d, int tries)
{
	char check[96];

	for (size_t i = 0; i < np; i++) {
		if (ps[i].done)
			continue;
		count_check(ps[i].ex, check, sizeof(check));
		add_verdict(vs, &ps[i], FD_ERROR, check, "backend: %s%s",
			    d->msg[0] ? d->msg : "request failed",
			    tries > 1 ? " (and every retry)" : "");
		unchecked_attributes(vs, &ps[i], FD_ERROR,
				     "the backend could not be asked");
		ps[i].done = true;
	}
}

static bool all_past_deadline(const struct pending *ps, size_t np)
{
	double now = mono_now();

	for (size_t i = 0; i < np; i++)
		if (!ps[i].done && now < ps[i].deadline)
			return false;
	return true;
}

/*
 * A failed request: a transient one (unreachable, 429, 5xx, an answer
 * cut short or malformed) is retried next cycle until the retries run
 * out or every deadline passed; anything else (credentials refused, an
 * untrusted certificate, a wrong URL) ends every pending item in ERROR
 * at once.  Returns true when the items stay pending.
 */
static bool request_failed(struct poll *pl, struct fd_verdicts *vs,
			   struct pending *ps, size_t np, int rc,
			   const struct fd_diag *d)
{
	int retries = !pl->opts || pl->opts->retries == 0 ? 5 :
		      pl->opts->retries < 0 ? 0 : pl->opts->retries;
	bool transient = rc == -FD_ERR_NETWORK || rc == -FD_ERR_BACKEND;

	if (transient && pl->failures < retries &&
	    !all_past_deadline(ps, np)) {
		pl->failures++;
		pl->retry_after = d->retry_after;
		if (pl->opts && pl->opts->log)
			fprintf(pl->opts->log, "firedrill: backend: %s; "
				"retry %d of %d\n", d->msg, pl->failures,
				retries);
		return true;
	}
	backend_failed(vs, ps, np, d, pl->failures + 1);
	return false;
}

/* Remember the alerts of a decided item, once each, by _id. */
static void keep_alerts(struct fd_verdicts *vs,
			const struct fd_alert_list *al)
{
	for (size_t i = 0; i < al->n; i++) {
		const char *id = fd_field_string(al->v[i], "_id");
		const cJSON *a;
		bool seen = false;

		if (!id)
			continue;
		if (!vs->alerts && !(vs->alerts = cJSON_CreateArray()))
			return;
		cJSON_ArrayForEach(a, vs->alerts)
			seen |= !strcmp(fd_field_string(a, "_id"), id);
		if (!seen)
			cJSON_AddItemToArray(vs->alerts,
					     cJSON_Duplicate(al->v[i], 1));
	}
}

/* Rows decided by the rule's state alone: missing, or another version.
 * Returns true when p was decided. */
static bool decide_by_rule(struct fd_verdicts *vs, struct pending *p,
			   const struct fd_rule_state *st)
{
	char check[96];

	if (st->name[0])
		snprintf(p->rule_name, sizeof(p->rule_name), "%s", st->name);
	/* No local copy of the rule: its schedule on the stack sets the
	 * default deadline, as a local rule's would. */
	if (p->deadline_from_rule && st->found && st->interval_s > 0 &&
	    st->lookback_s >= 0) {
		p->deadline = p->started + (double)(st->interval_s +
						    st->lookback_s) +
			      p->margin;
		p->deadline_from_rule = false;
	}
	if (st->version)
		p->rule_version = st->version;
	count_check(p->ex, check, sizeof(check));
	if (!st->found) {
		add_verdict(vs, p, FD_ERROR, check, "%s", st->message[0] ?
			    st->message : "the rule is not on the backend");
		unchecked_attributes(vs, p, FD_ERROR,
				     "the rule is not on the backend");
		return true;
	}
	if (p->ex->version && !st->version && st->unknown) {
		add_verdict(vs, p, FD_INCONCLUSIVE, check, "this expectation "
			    "is for version %d, and which version the stack "
			    "runs is unknown (no alert of the rule yet; give "
			    "--kibana-url to read it)", p->ex->version);
		unchecked_attributes(vs, p, FD_INCONCLUSIVE,
				     "the rule's version is unknown");
		return true;
	}
	/* On a stack, a scenario's exceptions are those attached to the
	 * rule there: a list the rule does not reference would prove
	 * nothing about it. */
	for (size_t i = 0; st->nlists >= 0 && i < p->sc->exceptions.n; i++) {
		bool on = false;

		for (int k = 0; k < st->nlists; k++)
			on |= !strcmp(st->lists[k], p->sc->exceptions.v[i]);
		if (on)
			continue;
		add_verdict(vs, p, FD_ERROR, check, "exception list '%s' is "
			    "not attached to the rule on the stack",
			    p->sc->exceptions.v[i]);
		unchecked_attributes(vs, p, FD_ERROR, "the exception under "
				     "test is not on the stack");
		return true;
	}
	/* A pack holds expectations for several versions of a rule; a
	 * stack runs one, and only its expectations apply: the one that
	 * names its version, else the one that names none (as on the
	 * embedded backend). */
	if (st->version && (p->ex->version ?
			    st->version != p->ex->version :
			    version_pinned(p->sc, p->ex->rule_id,
					   st->version))) {
		p->other_version = true;
		vs->other_versions++;
		vs->stack_version = st->version;
		return true;
	}
	return false;
}

/* Decide what can be decided of item p from its alerts and rule state. */
static bool decide(struct poll *pl, struct fd_verdicts *vs,
		   struct pending *p, const struct fd_alert_list *al,
		   const struct fd_rule_state *st)
{
	bool final = pl->offline || mono_now() >= p->deadline;
	bool negative = p->ex->count_op == FD_COUNT_EXACT &&
			p->ex->count == 0;
	bool done;

	struct fd_alert_filter f = p->filter;
	char what[256];
	size_t n;

	if (!pl->offline && decide_by_rule(vs, p, st))
		return true;
	/* Say which exception item silenced what would have been an
	 * alert: the proof of a suppression, or the cause of a miss. */
	f.scenario = p->frag;
	n = pl->be->suppressed ? pl->be->suppressed(pl->ctx, &f, what,
						    sizeof(what)) : 0;
	p->note[0] = '\0';
	p->suppressed = n;
	p->sees_suppression = pl->be->suppressed != NULL;
	if (n)
		snprintf(p->note, sizeof(p->note), "; %zu suppressed by "
			 "exception %s", n, what);
	done = negative ? decide_negative(vs, p, al, st, final) :
	       decide_positive(vs, p, al, st, final);
	if (done)
		keep_alerts(vs, al);
	return done;
}

/* One poll cycle over every pending item; returns how many remain. */
/*
 * One poll cycle over every pending item; returns how many remain.  The
 * rule states are read before the alert search: a run that the state
 * shows finished has written its alerts, so a search made after it sees
 * them (once the index has refreshed: see covered_since).
 */
static size_t poll_cycle(struct poll *pl, struct fd_verdicts *vs,
			 struct pending *ps, size_t np)
{
	struct fd_alert_filter *f = calloc(np, sizeof(*f));
	struct fd_alert_list *al = calloc(np, sizeof(*al));
	struct fd_rule_state *st = calloc(np, sizeof(*st));
	size_t *idx = calloc(np, sizeof(*idx));
	size_t nf = 0, left = 0, k;
	struct fd_diag d;
	double read_at;
	int rc = 0;

	fd_diag_clear(&d);
	if (!f || !al || !idx || !st) {
		fd_diag_set(&d, FD_ERR_NOMEM, 0, 0, "out of memory");
		backend_failed(vs, ps, np, &d, 1);
		goto out;
	}
	for (size_t i = 0; i < np; i++)
		if (!ps[i].done) {
			idx[nf] = i;
			f[nf] = ps[i].filter;
			/* frag lives in the item, which may have moved */
			f[nf++].scenario = ps[i].frag;
		}
	/* First the events (a run must start after they were there), then
	 * the rule states, then the alerts. */
	if (pl->be->events_seen && !pl->no_events) {
		double *ing = calloc(nf ? nf : 1, sizeof(*ing));

		rc = ing ? pl->be->events_seen(pl->ctx, f, nf, ing, &d) :
		     -FD_ERR_NOMEM;
		if (rc == -FD_ERR_UNSUPPORTED) {
			pl->no_events = true;
			rc = 0;
		} else if (rc == 0) {
			for (k = 0; k < nf; k++) {
				ps[idx[k]].events_checked = true;
				ps[idx[k]].ingested = ing[k];
			}
		}
		free(ing);
	}
	read_at = mono_now();
	for (k = 0; k < nf && rc == 0; k++)
		rc = pl->be->rule_state(pl->ctx, ps[idx[k]].ex->rule_id,
					ps[idx[k]].filter.version, &st[k], &d);
	if (rc == 0)
		rc = pl->be->search_alerts(pl->ctx, f, nf, al, &d);
	if (rc < 0) {
		left = request_failed(pl, vs, ps, np, rc, &d) ? nf : 0;
		goto out;
	}
	for (k = 0; k < nf; k++) {
		struct pending *p = &ps[idx[k]];

		if (state_covers(&st[k], p) && p->covered_since < 0)
			p->covered_since = read_at;
		p->done = decide(pl, vs, p, &al[k], &st[k]);
		left += !p->done;
	}
	pl->failures = 0;
	pl->retry_after = 0;
out:
	for (k = 0; k < nf && al; k++)
		fd_alert_list_release(&al[k]);
	free(f);
	free(al);
	free(st);
	free(idx);
	return left;
}

/* Stable: rows of one scenario together, in run order, as decided. */
static void sort_by_scenario(struct fd_verdicts *vs)
{
	for (size_t i = 1; i < vs->n; i++) {
		struct fd_verdict v = vs->v[i];
		size_t j = i;

		while (j > 0 && vs->v[j - 1].order > v.order) {
			vs->v[j] = vs->v[j - 1];
			j--;
		}
		vs->v[j] = v;
	}
}

/* A scenario none of whose expectations applied to the version the
 * stack runs checked nothing, which must not pass unseen. */
static void check_applicable(struct fd_verdicts *vs, struct pending *ps,
			     size_t np)
{
	for (size_t i = 0; i < np; i++) {
		size_t j = i;
		bool any = false;

		while (j < np && ps[j].sc == ps[i].sc)
			any |= !ps[j++].other_version;
		if (!any)
			add_verdict(vs, &ps[i], FD_ERROR, "expectations",
				    "none is for version %d of the rule, "
				    "which the stack runs", vs->stack_version);
		i = j - 1;
	}
}

/* Say what the validator waits for: how many, and the first one's why. */
static void log_pending(FILE *log, const struct pending *ps, size_t np,
			size_t left, double wait)
{
	const struct pending *p = NULL;
	char check[96];

	for (size_t i = 0; i < np && !p; i++)
		if (!ps[i].done && ps[i].waiting[0])
			p = &ps[i];
	fprintf(log, "firedrill: %zu expectation%s pending; next poll in "
		"%.1f s\n", left, left == 1 ? "" : "s", wait);
	if (!p)
		return;
	count_check(p->ex, check, sizeof(check));
	fprintf(log, "firedrill:   %s %s: %s (deadline in %.0f s)\n",
		p->sc->id, check, p->waiting,
		p->deadline - mono_now() > 0 ? p->deadline - mono_now() : 0);
}

static double cap_to_deadline(const struct pending *ps, size_t np,
			      double wait)
{
	double now = mono_now(), nearest = -1;

	for (size_t i = 0; i < np; i++)
		if (!ps[i].done && (nearest < 0 || ps[i].deadline < nearest))
			nearest = ps[i].deadline;
	if (nearest >= 0 && now + wait > nearest)
		wait = nearest > now ? nearest - now + 0.01 : 0.01;
	return wait;
}

int fd_validate(const struct fd_runrec *rr, const struct fd_backend *be,
		void *ctx, const struct fd_ruleset *rules,
		const struct fd_validate_opts *opts, struct fd_verdicts *out)
{
	struct pending *ps;
	size_t np, left = 0;
	struct poll pl = { be, ctx, opts, be->caps & FD_BACKEND_OFFLINE, 0,
			   0 };
	double delay = opts && opts->poll_min_s > 0 ? opts->poll_min_s : 2.0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = build_pending(rr, rules, opts, &ps, &np);
	if (rc < 0)
		return rc;
	check_run(out, rr);
	for (size_t i = 0; i < np; i++) {
		if (i == 0 || ps[i].sc != ps[i - 1].sc)
			check_steps(out, rr, &ps[i]);
		if (pl.offline)	/* the engine saw exactly these events */
			ps[i].settle = 0;
		ps[i].done = decide_locally(out, rr, &ps[i]);
		left += !ps[i].done;
	}
	while (left > 0) {
		double wait;

		left = poll_cycle(&pl, out, ps, np);
		if (left == 0)
			break;
		wait = pl.retry_after > delay ? pl.retry_after : delay;
		/* Never sleep past the nearest deadline, whatever the
		 * server asked: the last poll happens at it. */
		wait = cap_to_deadline(ps, np, wait);
		if (opts && opts->log)
			log_pending(opts->log, ps, np, left, wait);
		sleep_s(wait);
		delay = next_delay(delay, opts);
	}
	check_applicable(out, ps, np);
	free(ps);
	sort_by_scenario(out);
	return 0;
}

void fd_verdicts_release(struct fd_verdicts *vs)
{
	if (!vs)
		return;
	free(vs->v);
	cJSON_Delete(vs->alerts);
	cJSON_Delete(vs->strings);
	memset(vs, 0, sizeof(*vs));
}

int fd_verdicts_exit_status(const struct fd_verdicts *vs)
{
	if (vs->count[FD_FAIL])
		return 1;
	if (vs->count[FD_ERROR] || vs->count[FD_INCONCLUSIVE] ||
	    vs->count[FD_BLOCKED])
		return 3;
	return 0;
}
