/*
 * runrec.h - read a run record (run.jsonl, see docs/run-record.md).
 *
 * The reader is strict about what it needs (a header first, the keys each
 * record requires) and ignores keys it does not know.  The scenarios are
 * re-parsed from the `source` the emulator copied into the record, so a
 * validator on another machine has the same host profiles and
 * expectations; a control comes back as the control of its scenario's
 * source, a scenario of its own (control_of names its scenario), and no
 * scenario of the record owns another.  Everything is owned by the
 * struct fd_runrec.
 */
#ifndef FD_RUNREC_H
#define FD_RUNREC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"
#include "scenario.h"

struct fd_runrec_proc {
	const char *scenario;	/* points into json */
	int step;
	int depth;
	bool target;
	long pid;
	long ppid;
	const char *executable;
	const char *name;
	const cJSON *args;	/* the JSON array */
	const char *working_directory;
	const cJSON *env;	/* the step's extra environment, an object
				   of strings; NULL when the line has none */
	const char *user;
	long uid;
	double start;		/* epoch seconds */
	double end;
	bool has_exit_code;
	int exit_code;
	int signal;		/* 0: none */
	bool timed_out;
	bool interrupted;	/* killed because the run was interrupted */
	const char *sha256;
	cJSON *json;		/* the whole line; owned */
};

struct fd_runrec {
	const char *run_id;	/* these point into header */
	const char *host_name;
	const char *os_type;
	const char *os_version;
	const char *arch;
	const char *version;
	double start;
	long emulator_pid;
	const char *emulator_name;
	const char *emulator_executable;
	bool dry_run;
	cJSON *header;		/* owned */
	struct fd_scenario **scenarios;	/* in run order; owned */
	bool *scenario_complete;	/* per scenario: all its steps ran */
	size_t nscenarios;
	const cJSON *planned;	/* the header's scenario ids, or NULL */
	bool ended;		/* the record has its "end" line */
	bool cut_short;		/* its last line was cut off mid-write */
	bool complete;		/* ... and the run finished */
	struct fd_runrec_proc *procs;	/* in file order; owned */
	size_t nprocs;
};

/*
 * Read path into rr (zeroed first).  Returns 0, or a negative fd_err with
 * diag naming the file and line.  On error rr holds nothing to release.
 */
int fd_runrec_load(const char *path, struct fd_runrec *rr,
		   struct fd_diag *diag);

/* The process with this pid in scenario's records, or NULL. */
const struct fd_runrec_proc *fd_runrec_find_pid(const struct fd_runrec *rr,
						long pid);

void fd_runrec_release(struct fd_runrec *rr);

/* Parse an RFC 3339 UTC time ("...Z", fraction optional) to epoch seconds;
 * -1 when it is not one. */
double fd_time_parse(const char *text);

/* Format epoch seconds as RFC 3339 UTC with milliseconds ("...123Z") into
 * buf (at least 32 bytes); returns buf. */
const char *fd_time_format_ms(double t, char *buf, size_t len);

/* The same with microseconds ("...123456Z"), as run.jsonl and the
 * telemetry write times, so they round-trip through fd_time_parse(). */
const char *fd_time_format_us(double t, char *buf, size_t len);

#endif
