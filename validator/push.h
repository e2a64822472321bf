/*
 * push.h - replay into a real stack: index a run's ECS events into an
 * Elasticsearch data stream, so the stack's own rules see them.
 */
#ifndef FD_PUSH_H
#define FD_PUSH_H

#include <stddef.h>

#include "fd_err.h"
#include "live.h"

/*
 * Index every event of events_path (NDJSON) into
 * logs-endpoint.events.process-<namespace> through the bulk API, in
 * batches.  Each event's _id is derived from its content, so a retried
 * batch never indexes an event twice.  Transient failures (429, 5xx, a
 * dropped connection) are retried a few times with backoff.  Returns 0
 * with *pushed set, or a negative enum fd_err.
 */
int fd_push_events(const struct fd_live_cfg *live, const char *events_path,
		   size_t *pushed, struct fd_diag *diag);

/* The data stream a push writes to, for namespace ns (NULL: default). */
const char *fd_push_stream(const char *ns, char *buf, size_t len);

#endif
