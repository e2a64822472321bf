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
 */
#ifndef FD_DETECT_H
#define FD_DETECT_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

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

#endif
