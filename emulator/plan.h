/*
 * plan.h - the wire format between the emulator and its stand-ins.  Plan
 * (fd 3): one record per process of a chain, outermost first, in one pipe
 * the chain inherits; each reads only its own.  Report (fd 4): fixed-size
 * records far below PIPE_BUF, one write() each, so they never interleave.
 */
#ifndef FD_PLAN_H
#define FD_PLAN_H

/*
 * Bytes the stand-in program carries and the emulator looks for before
 * it copies anything: a program without them is not the stand-in, and is
 * never run (FIREDRILL_STANDIN=/bin/sh is refused).
 */
#define FD_STANDIN_MARK "firedrill-stand-in-program:" FD_PLAN_MARK_VERSION
#define FD_PLAN_MARK_VERSION "1"

#include <stdint.h>

#define FD_PLAN_FD 3
#define FD_REPORT_FD 4

#define FD_PLAN_MAGIC 0x31504446u	/* "FDP1" */
#define FD_REPORT_MAGIC 0x31524446u	/* "FDR1" */

#define FD_PLAN_MAX_DEPTH 16		/* parents in a chain */
#define FD_PLAN_MAX_ARGS 1024		/* argv entries of one process */
#define FD_PLAN_MAX_BYTES 65536		/* strings of one record */

/*
 * One process's instructions.  When argc is 0 the process is the step's
 * own stand-in: it prints its fake answer, dwells dwell_ms and exits.
 * Otherwise nbytes of NUL-terminated strings follow: where the child's
 * copy is, relative to the stand-in's own directory (its name, or a
 * step's path, '/', and its name; never "." or ".."), then its argc argv
 * strings;
 * the stand-in runs that child only if the child's copy and its own
 * executable both hash to sha256.
 */
struct fd_plan_rec {
	uint32_t magic;
	uint32_t depth;		/* this process's place in the chain */
	uint32_t dwell_ms;
	uint32_t argc;		/* the child's argv count; 0: no child */
	uint32_t nbytes;
	uint8_t sha256[32];
};

enum fd_report_kind {
	FD_REPORT_STARTED = 1,	/* a child was forked (time: before fork) */
	FD_REPORT_ENDED,	/* a child was reaped (status: wait status) */
	FD_REPORT_FAILED	/* a child could not be run (status: errno) */
};

enum fd_report_stage {
	FD_STAGE_PLAN = 1,	/* the plan was missing or malformed */
	FD_STAGE_HASH,		/* the child's copy failed its hash check */
	FD_STAGE_SELF,		/* the stand-in could not find itself */
	FD_STAGE_FDS,		/* descriptors could not be set up */
	FD_STAGE_FORK,
	FD_STAGE_PRIVILEGE,	/* dropping to the run user failed */
	FD_STAGE_CHDIR,
	FD_STAGE_EXEC
};

struct fd_report {
	uint32_t magic;
	int32_t kind;		/* enum fd_report_kind */
	int32_t depth;		/* of the process the record is about */
	int32_t pid;
	int32_t ppid;
	int32_t status;
	int32_t stage;		/* FAILED: enum fd_report_stage */
	int32_t reserved;
	int64_t time_us;	/* microseconds since the epoch */
};

#endif
