/*
 * kibana.h - what the kibana backend offers the other backends beyond
 * its table (the elasticsearch backend borrows its rule state).
 */
#ifndef FD_KIBANA_H
#define FD_KIBANA_H

#include <stddef.h>

#include "fd_err.h"

/* Start a new poll cycle: rule states cached so far are read afresh. */
void fd_kibana_next_cycle(void *ctx);

/*
 * The exception lists attached to rule_id on the stack, and all their
 * items, as one JSON array of list and item objects in the API's shapes
 * (*out, owned by the caller).  A rule without lists gives an empty array.
 */
struct cJSON;
int fd_kibana_fetch_exceptions(void *ctx, const char *rule_id,
			       struct cJSON **out, struct fd_diag *diag);

/*
 * The events of n filters in Elasticsearch's logs-endpoint.events.*, one
 * search through h (an Elasticsearch connection): ingested[i] as
 * fd_stack_events_seen() gives it.  Shared by both live backends.
 */
struct fd_http;
struct fd_alert_filter;
int fd_es_events_seen(struct fd_http *h, const struct fd_alert_filter *f,
		      size_t n, double *ingested, struct fd_diag *diag);

#endif
