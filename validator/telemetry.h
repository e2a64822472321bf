/*
 * telemetry.h - embedded telemetry: ECS process start events, shaped like
 * Elastic Defend's on macOS, built from a run record.
 *
 * In embedded mode nothing watches the stand-ins but firedrill itself, so
 * the events come from the emulator's exec records.  host.os.* comes from
 * each scenario's host profile (so a Linux CI box can play a Mac); the rest
 * of host.* from the run header unless the profile overrides it.
 * agent.type is "firedrill": the events say where they came from.
 */
#ifndef FD_TELEMETRY_H
#define FD_TELEMETRY_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "runrec.h"

/*
 * Build the event for process record i of rr.  ingested is
 * event.ingested (epoch seconds); 0 or less means each process's end time
 * (its start when it has none).  Returns a new object, or NULL when out
 * of memory or i is out of range.
 */
cJSON *fd_telemetry_event(const struct fd_runrec *rr, size_t i,
			  double ingested);

/*
 * Write one event per process record (parents included) to out as NDJSON,
 * in start order.  *n receives the count.  Returns 0 or a negative fd_err.
 */
int fd_telemetry_write(const struct fd_runrec *rr, double ingested,
		       FILE *out, size_t *n);

#endif
