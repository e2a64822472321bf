/*
 * validate.h - expectations to verdicts.
 *
 * For every scenario in a run record and every expectation in it, the
 * validator asks the backend (one search per poll cycle for all pending
 * expectations) for the alerts that belong to it, and turns what it sees
 * into one verdict per check: the count, then severity, risk score and each
 * MITRE id.  A negative (count 0) passes only when the backend shows the
 * rule ran successfully over a window covering the events and no alert
 * exists; otherwise it is INCONCLUSIVE, never PASS because time ran out.
 */
#ifndef FD_VALIDATE_H
#define FD_VALIDATE_H

#include <stddef.h>
#include <stdio.h>

#include "backend.h"
#include "runrec.h"

enum fd_outcome {
	FD_PASS,
	FD_FAIL,
	FD_INCONCLUSIVE,
	FD_ERROR,
	FD_BLOCKED,
	FD_OUTCOME_LAST
};

const char *fd_outcome_name(enum fd_outcome o);

struct fd_verdict {
	const char *scenario;	/* borrowed from the run record */
	const char *title;
	const char *path;
	const char *rule_id;	/* NULL for a scenario-level row */
	const char *rule_name;	/* NULL when not known */
	int version;		/* the rule version checked; 0: unknown */
	char check[96];		/* e.g. "count == 1", "severity high" */
	enum fd_outcome outcome;
	char reason[512];	/* what was expected and what was seen */
	double ttd;		/* time to detect in seconds; < 0: none */
	size_t alerts;		/* alerts that belong to the expectation */
	size_t order;		/* the scenario's place in the run */
};

struct fd_verdicts {
	struct fd_verdict *v;
	size_t n;
	size_t count[FD_OUTCOME_LAST];
	cJSON *alerts;		/* every alert that belonged to a decided
				   expectation, once each (for
				   --close-alerts); may be NULL */
	size_t other_versions;	/* live: expectations for a version of a
				   rule that the stack does not run */
	int stack_version;	/* the version it runs instead */
	cJSON *strings;		/* names the verdicts point into */
};

struct fd_validate_opts {
	double ingest_margin_s;	/* time for an event to become searchable:
				   added to the default deadline, and a live
				   rule run proves a negative only when it
				   started this long after the events */
	double deadline_s;	/* > 0: every expectation's deadline */
	double poll_min_s;	/* first backoff delay */
	double poll_max_s;	/* backoff cap */
	int retries;		/* transient backend failures in a row
				   before ERROR; 0: 5, < 0: none */
	FILE *log;		/* progress for slow backends; may be NULL */
};

/*
 * Decide every expectation of rr through backend be (already opened, its
 * events already ingested where it needs them).  rules, when not NULL,
 * names rules in the verdicts.  Returns 0 with out filled (release with
 * fd_verdicts_release), or a negative fd_err when nothing could be decided.
 * Backend failures during polling become ERROR verdicts, not a return.
 */
int fd_validate(const struct fd_runrec *rr, const struct fd_backend *be,
		void *ctx, const struct fd_ruleset *rules,
		const struct fd_validate_opts *opts, struct fd_verdicts *out);

void fd_verdicts_release(struct fd_verdicts *vs);

/* DESIGN.md's exit status: 0 all pass, 1 any FAIL, 3 ERROR, INCONCLUSIVE
 * or BLOCKED without any FAIL. */
int fd_verdicts_exit_status(const struct fd_verdicts *vs);

#endif
