/*
 * emulator.h - run scenarios' steps as harmless stand-in processes and
 * write the run record (run.jsonl).
 *
 * Safety model (DESIGN.md): only firedrill's own stand-in program runs,
 * copied (not linked) into a fresh private directory (mode 0700) whose path
 * holds the run id; its sha256 is checked before every exec; no shell, no
 * PATH search, a minimal environment (plus a step's own variables, never
 * one that changes how a program loads); a deadline per step after which the
 * whole process group is killed; every child reaped; the directory removed
 * at the end, on error and on SIGINT/SIGTERM unless keep is set.  Started
 * as root, stand-ins run as an unprivileged user.
 *
 * This module uses the C library and libyaml only (through scenario.h), so
 * that it builds on a test Mac without the validator's dependencies.
 */
#ifndef FD_EMULATOR_H
#define FD_EMULATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fd_err.h"
#include "scenario.h"

#define FD_RUN_ID_MAX 64

struct fd_emulate_opts {
	const char *run_dir;	/* where run.jsonl is written; created
				   (0755) if missing */
	const char *standin;	/* path of the stand-in program to copy */
	const char *tmpdir;	/* parent of the private directory;
				   NULL: $TMPDIR, else /tmp */
	const char *run_user;	/* as root: default user for stand-ins;
				   NULL: "nobody" */
	bool keep;		/* keep the private directory */
	bool dry_run;		/* describe what would run; spawn nothing,
				   create nothing */
	FILE *log;		/* dry-run plan and progress; may be NULL */
};

struct fd_emulate_result {
	char run_id[FD_RUN_ID_MAX];
	char standin_dir[512];	/* the private directory (gone unless keep) */
	size_t spawned;		/* processes started, parents included */
	size_t killed;		/* stand-ins ended by a signal not ours */
	size_t timed_out;	/* steps that passed their deadline */
};

/*
 * Run every step of the n scenarios, in order, and write
 * opts->run_dir/run.jsonl.  Returns 0 when every stand-in was started and
 * reaped (whatever their exit), or a negative fd_err with diag set.  On
 * SIGINT/SIGTERM (or SIGHUP) during the run it kills and reaps what it
 * started (recorded, marked interrupted), removes the private directory
 * and returns -FD_ERR_INTERRUPTED; the caller then re-raises the signal
 * (fd_emulate_pending_signal()).
 */
int fd_emulate(struct fd_scenario *const *scs, size_t n,
	       const struct fd_emulate_opts *opts,
	       struct fd_emulate_result *res, struct fd_diag *diag);

/* The signal that interrupted the last fd_emulate(), or 0. */
int fd_emulate_pending_signal(void);

/*
 * For tests only: fn is called before each step starts, with the directory
 * that holds the scenario's copies: first before the emulator checks their
 * hashes (FD_EMULATE_HOOK_CHECK), then after (FD_EMULATE_HOOK_SPAWN), so a
 * test can tamper with a copy and see either check refuse it.  NULL
 * removes it.
 */
enum fd_emulate_hook {
	FD_EMULATE_HOOK_CHECK,
	FD_EMULATE_HOOK_SPAWN
};

typedef void (*fd_emulate_hook_fn)(enum fd_emulate_hook when,
				   const char *dir, void *arg);

void fd_emulate_set_hook(fd_emulate_hook_fn fn, void *arg);

#endif
