/*
 * detect.h - run rules over events and build alerts in Kibana's 8.x alert
 * schema.
 *
 * The detector is what Kibana's rule executor does, offline: for each rule
 * it walks the events in order, keeps those the query matches (at most
 * max_signals per execution), and turns each into an alert document: the
 * source event's fields plus flat "kibana.alert.*" keys (rule name,
 * rule_id, uuid, threat, severity, risk_score, parameters, original_time,
 * ancestors, workflow_status "open", reason, uuid).  It also reports each
 * rule's execution (status, the time window it covered), which is what
 * makes a negative conclusive.
 *
 * Exceptions (exception.h) are applied as Kibana applies them: an event
 * the query matches and an item of the rule's exception lists (or of the
 * lists the event's scenario attaches) matches raises no alert, and is
 * written as a "suppressed" record instead.
 */
#ifndef FD_DETECT_H
#define FD_DETECT_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "exception.h"
#include "rule.h"

/* One rule's execution over the events, as the rule-state API reports. */
struct fd_rule_run {
	const struct fd_rule *rule;	/* borrowed from the rule set */
	char status[32];		/* "succeeded", "failed", ... */
	char message[256];
	double window_from;		/* epoch seconds covered, inclusive */
	double window_to;
	size_t events_seen;
	size_t matched;			/* events the query matched */
	size_t alerts;			/* alerts written (<= max_signals) */
	size_t suppressed;		/* matches an exception silenced;
					   not in matched */
};

/*
 * What fd_detect_file_ex() applies as exceptions.  A rule applies the
 * lists of its exceptions_list and those the event's scenario attaches.
 */
struct fd_detect_exceptions {
	const struct fd_exc_set *set;	/* may be NULL: no lists loaded */
	/*
	 * The extra list ids for one event: those its scenario (the event's
	 * firedrill.scenario) attaches; returns how many, *ids pointing at
	 * them (valid until the detection returns).  May be NULL; not
	 * called for events without firedrill.scenario.  An id that names
	 * no loaded list fails the detection.
	 */
	size_t (*scenario_lists)(void *arg, const char *scenario,
				 const char *const **ids);
	void *arg;
	/* Every suppressed alert, one a line, as the alert it would have
	 * been plus "firedrill.suppressed_by": {list_id, item_id, name}.
	 * May be NULL: counted only. */
	FILE *suppressed_out;
	double now;		/* epoch seconds for expire_time; 0: now */
};

/*
 * Build one alert for event (borrowed) matched by rule.  now is the
 * alert's @timestamp (epoch seconds).  Returns a new cJSON object the
 * caller frees, or NULL when out of memory.
 */
cJSON *fd_alert_build(const struct fd_rule *rule, const cJSON *event,
		      const char *event_id, const char *event_index,
		      double now);

/*
 * Run every rule of set over the NDJSON events in events_path and write the
 * alerts, one JSON object a line, to alerts_out (NULL: count only).  runs
 * receives one entry per rule (set->n of them, caller-allocated).  An
 * event line may be a bare document or a search hit ({_index,_id,_source});
 * without _id the event's id is derived from the line, without _index the
 * index is its data_stream's, else logs-endpoint.events.process-default.
 * Returns 0, or a negative fd_err with diag set (a bad event line is an
 * error naming its line).
 */
int fd_detect_file(const struct fd_ruleset *set, const char *events_path,
		   FILE *alerts_out, struct fd_rule_run *runs,
		   struct fd_diag *diag);

/*
 * The same, applying exceptions (exc NULL: none, as fd_detect_file()).
 * With exc, a rule whose exceptions_list names a list that is not in
 * exc->set does not run: its run is "failed", naming the list, as Kibana
 * fails it.  A suppressed match is not an alert: it is counted in
 * suppressed, not in matched, and takes no place under max_signals.  For
 * an EQL sequence, excepted events take no part in any sequence (Kibana
 * filters them out of the EQL search); each sequence the rule would have
 * found with them that holds one is a suppressed record, naming the item
 * of its first excepted event.
 */
int fd_detect_file_ex(const struct fd_ruleset *set, const char *events_path,
		      FILE *alerts_out, struct fd_rule_run *runs,
		      const struct fd_detect_exceptions *exc,
		      struct fd_diag *diag);

#endif
