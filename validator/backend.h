/*
 * backend.h - the one interface through which the validator talks to a
 * detection backend: search alerts, read a rule's state, ingest events.
 *
 * Each backend is one const struct fd_backend in its own file (curl's vtls
 * pattern): a name, a caps bitmask of what it can do, the size of its
 * private context, and function pointers (NULL where unsupported).  The
 * validator asks caps, never names, so embedded and live runs share every
 * assertion and every report.
 */
#ifndef FD_BACKEND_H
#define FD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"
#include "live.h"

struct fd_exc_set;
#include "rule.h"
#include "runrec.h"

enum fd_backend_caps {
	FD_BACKEND_CAN_INGEST = 1 << 0,	/* takes events (embedded, ES) */
	FD_BACKEND_OFFLINE = 1 << 1,	/* answers at once: no polling */
	FD_BACKEND_LIVE = 1 << 2,	/* a real stack: needs live cfg */
};

struct fd_backend_cfg {
	const char *run_dir;		/* the run directory */
	const struct fd_ruleset *rules;	/* embedded: the rules to run */
	const struct fd_runrec *rr;	/* the run being validated */
	const char *alerts_file;	/* embedded: in run_dir; NULL:
					   "alerts.ndjson" */
	const struct fd_live_cfg *live;	/* kibana, elasticsearch */
	const struct fd_exc_set *exceptions;	/* embedded: the lists rules
						   and scenarios name */
};

/* Which alerts belong to one expectation: never a time window alone. */
struct fd_alert_filter {
	const char *rule_id;
	int version;		/* kibana.alert.rule.version; 0: any */
	const char *run_id;	/* must appear in process.executable */
	const char *scenario;	/* "<run_id>/<scenario>/" likewise */
	const char *host_name;	/* host.name; NULL: any */
	double from;		/* kibana.alert.original_time window */
	double to;
};

/* Alerts found, one list per filter. */
struct fd_alert_list {
	cJSON **v;		/* owned by the list */
	size_t n;
};

struct fd_rule_state {
	bool found;
	bool unknown;		/* the backend cannot read rule state */
	bool enabled;
	long interval_s;
	long lookback_s;
	int max_signals;
	char status[32];	/* last execution: "succeeded", "failed", ... */
	char message[256];
	double last_run;	/* when the last execution ran; 0: never */
	double covered_from;	/* the event-time window that successful */
	double covered_to;	/* executions are known to have searched */
	double gap_s;		/* a gap the last execution reported */
	char name[256];		/* the rule's name; "" if not known */
	char lists[32][256];	/* list_ids of its exceptions_list */
	int nlists;		/* -1: not known (or more than fit) */
	int version;		/* the version installed; 0 if not known */
};

struct fd_backend {
	const char *name;
	unsigned caps;
	size_t ctx_size;
	int (*open)(void *ctx, const struct fd_backend_cfg *cfg,
		    struct fd_diag *diag);
	/* Events for the backend to detect on (embedded: run the engine). */
	int (*ingest)(void *ctx, const char *events_path,
		      struct fd_diag *diag);
	/* One request for all n filters; out[i] receives filter i's. */
	int (*search_alerts)(void *ctx, const struct fd_alert_filter *f,
			     size_t n, struct fd_alert_list *out,
			     struct fd_diag *diag);
	/* version 0: the version the backend runs (the highest). */
	int (*rule_state)(void *ctx, const char *rule_id, int version,
			  struct fd_rule_state *st, struct fd_diag *diag);
	/* Set the workflow status of alerts (documents as search_alerts
	 * gave them, with "_id" and "_index") to closed; NULL where the
	 * backend has no alerts of its own to close. */
	int (*close_alerts)(void *ctx, const cJSON *alerts, size_t *closed,
			    struct fd_diag *diag);
	/*
	 * Are the events of each filter searchable on the stack?  ingested[i]
	 * gets the latest event.ingested (else @timestamp) of filter i's
	 * events, or -1 when none is there.  One request for all n.  NULL
	 * where the backend cannot see events (kibana without --es-url).
	 */
	int (*events_seen)(void *ctx, const struct fd_alert_filter *f,
			   size_t n, double *ingested, struct fd_diag *diag);
	/* Alerts an exception suppressed that filter f would have claimed:
	 * how many, and the item behind the first, in words, in buf.  NULL
	 * where the backend cannot tell (a live stack writes nothing). */
	size_t (*suppressed)(void *ctx, const struct fd_alert_filter *f,
			     char *buf, size_t len);
	void (*close)(void *ctx);
};

extern const struct fd_backend fd_backend_embedded;
extern const struct fd_backend fd_backend_kibana;
extern const struct fd_backend fd_backend_elasticsearch;

/* The backend called name, or NULL.  fd_backends is NULL-terminated. */
extern const struct fd_backend *const fd_backends[];
const struct fd_backend *fd_backend_find(const char *name);

void fd_alert_list_release(struct fd_alert_list *l);

/* True when alert (any layout) passes filter f. */
bool fd_alert_filter_match(const struct fd_alert_filter *f,
			   const cJSON *alert);

#endif
