/*
 * stackapi.h - the Elastic stack's request bodies and answers, as pure
 * functions: what the kibana and elasticsearch backends send and how
 * they read what comes back.  No I/O here, so every shape is tested
 * without a server.
 */
#ifndef FD_STACKAPI_H
#define FD_STACKAPI_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "backend.h"

/* At most this many alerts come back from one search (Elasticsearch's
 * default max_result_window). */
#define FD_STACK_MAX_HITS 10000

/*
 * The body of one alert search for n filters (the hits of all of them,
 * in one request).  It names each field in its 8.x and 7.x spelling, so
 * the same body searches both alert layouts.
 */
cJSON *fd_stack_alert_query(const struct fd_alert_filter *f, size_t n);

/* The events index pattern the stand-ins' events land in. */
#define FD_STACK_EVENTS "logs-endpoint.events.*"

/* The body of one search for the events of n filters (their scenario's
 * stand-ins, host, and spawn window). */
cJSON *fd_stack_events_query(const struct fd_alert_filter *f, size_t n);

/* From its answer: the latest event.ingested (else @timestamp) of each
 * filter's events in ingested[i], or -1. */
int fd_stack_events_seen(const cJSON *answer,
			 const struct fd_alert_filter *f, size_t n,
			 double *ingested, struct fd_diag *diag);

/* The body of a search for the newest alert of a rule, any run. */
cJSON *fd_stack_newest_alert_query(const char *rule_id);

/*
 * Sort the hits of a search answer into out[i] by filter f[i] (each
 * alert re-checked here: the server's answer is never trusted).  An
 * answer without hits, or with more matches than it returned, is
 * -FD_ERR_BACKEND.
 */
int fd_stack_sort_hits(const cJSON *answer, const struct fd_alert_filter *f,
		       size_t n, struct fd_alert_list *out,
		       struct fd_diag *diag);

/*
 * A rule as GET /api/detection_engine/rules returns it, to a rule state:
 * 8.1+ execution_summary.last_execution, or the 7.x flat status fields.
 * The window the last successful run searched is [date - from, date].
 */
void fd_stack_rule_state(const cJSON *rule, struct fd_rule_state *st);

/* The ids of alerts (documents with "_id") as a JSON array; NULL when
 * out of memory. */
cJSON *fd_stack_alert_ids(const cJSON *alerts);

/*
 * Read a _bulk answer: 0 when every item succeeded (a create that found
 * its document already there counts: pushing twice is harmless), else
 * -FD_ERR_NETWORK when items were rejected for load (429), or
 * -FD_ERR_BACKEND with the first failure's type and reason.  *done gets
 * the number of items that succeeded.
 */
int fd_stack_bulk_result(const cJSON *answer, size_t *done,
			 struct fd_diag *diag);

#endif
