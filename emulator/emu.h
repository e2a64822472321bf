/*
 * emu.h - what the emulator's files share (not a public interface): the
 * run's state, a step's credentials, and one process of a chain.
 * emulator.c drives a run; privdir.c owns the private directory and the
 * copies; spawn.c runs one step's chain; record.c writes run.jsonl.
 */
#ifndef FD_EMU_H
#define FD_EMU_H

#include <limits.h>
#include <signal.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "emulator.h"
#include "files.h"
#include "jsonw.h"
#include "plan.h"
#include "sha256.h"

#define FD_EMU_LOG_NAME "@output.log"	/* never a valid scenario id */
#define FD_EMU_USER_MAX 64

/* Who a stand-in runs as. */
struct fd_emu_cred {
	char name[FD_EMU_USER_MAX];
	uid_t uid;
	gid_t gid;
	bool drop;		/* we are root and must switch to uid/gid */
};

/* One process of a step's chain. */
struct fd_emu_proc {
	int depth;
	bool started;		/* it was forked (pid is real) */
	bool ended;		/* it is gone and how is known */
	bool timed_out;		/* firedrill killed it at the deadline */
	bool interrupted;	/* firedrill killed it on a stop signal */
	pid_t pid;
	pid_t ppid;
	int exit_code;		/* -1: it did not exit */
	int signal;		/* 0: no signal ended it */
	int64_t start_us;	/* just before fork and exec */
	int64_t end_us;		/* when it was reaped */
};

struct fd_emu {
	const struct fd_emulate_opts *opts;
	struct fd_emulate_result *res;
	struct fd_diag *diag;
	pid_t self;
	char tmpdir[PATH_MAX];	/* canonical, so paths match the kernel's */
	char dir[PATH_MAX];	/* the private directory */
	bool dir_made;
	uid_t dir_owner;	/* who owns the tree now (root runs) */
	gid_t dir_group;
	int devnull;
	int out_fd;		/* the stand-ins' stdout and stderr */
	int rec_fd;		/* run.jsonl */
	unsigned char *standin;	/* the original's bytes */
	size_t standin_len;
	uint8_t sha[FD_SHA256_LEN];
	char sha_hex[FD_SHA256_HEX];
	struct fd_emu_cred self_cred;	/* who runs firedrill */
	struct fd_emu_cred def_cred;	/* the default run user */
	struct fd_emu_cred *creds;	/* users steps name, resolved */
	size_t ncreds;
	volatile sig_atomic_t *stop;	/* the signal asking us to stop */
	int wake_fd;		/* readable when a signal arrived */
	bool subreaper;		/* orphans of a chain come back to us */
	struct fd_scenario *const *scs;	/* the run's plan, for the header */
	size_t nscs;
};

/* Close *fd if open, and mark it closed. */
static inline void fd_emu_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Microseconds since the epoch, and a monotonic clock in microseconds. */
int64_t fd_emu_now_us(void);
int64_t fd_emu_mono_us(void);

/* Join path parts (c may be NULL) with '/' into buf; -1 if too long. */
int fd_emu_path(char *buf, size_t len, const char *a, const char *b,
		const char *c);

/* A fresh run id: YYYYMMDDTHHMMSSZ-<8 hex>. */
int fd_emu_run_id(char *buf, size_t len);

/* The stand-in name at depth d of a step's chain (parents, then run). */
const char *fd_emu_name(const struct fd_step *st, size_t d);

/* Where the copy at depth d lives, relative to the scenario's folder:
 * its name, or "<path>/<name>" for the step's own stand-in when the step
 * has a path.  -1 if it does not fit in buf. */
int fd_emu_copy_rel(const struct fd_step *st, size_t d, char *buf,
		    size_t len);

/* The absolute path of that copy. */
int fd_emu_copy_path(const struct fd_emu *e, const struct fd_scenario *sc,
		     const struct fd_step *st, size_t d, char *buf,
		     size_t len);

/* The chain's working directory: the scenario's folder, or its cwd. */
int fd_emu_cwd(const struct fd_emu *e, const struct fd_scenario *sc,
	       const struct fd_step *st, char *buf, size_t len);

/* Processes in a step's chain: its parents and itself. */
size_t fd_emu_chain_len(const struct fd_step *st);

/* Fill argv (FD_PLAN_MAX_ARGS + 1 slots) for depth d; returns argc.  The
 * step's own stand-in gets [run, args...], a parent just [name]. */
size_t fd_emu_argv(const struct fd_step *st, size_t d, const char **argv);

/* Record a wait status in p. */
void fd_emu_set_status(struct fd_emu_proc *p, int status, int64_t end_us);

/* privdir.c */
int fd_privdir_create(struct fd_emu *e);
int fd_privdir_populate(struct fd_emu *e, const struct fd_scenario *sc);
int fd_privdir_own(struct fd_emu *e, const struct fd_scenario *sc,
		   const struct fd_emu_cred *cr);
int fd_privdir_check(struct fd_emu *e, const struct fd_scenario *sc,
		     const struct fd_step *st);
void fd_privdir_remove(struct fd_emu *e);

/* spawn.c: run step si of sc; fills procs[0..*nprocs).  On a stop signal
 * it kills and reaps the chain, fills procs all the same (what ran, marked
 * interrupted) and returns -FD_ERR_INTERRUPTED. */
int fd_spawn_step(struct fd_emu *e, const struct fd_scenario *sc, size_t si,
		  const struct fd_emu_cred *cr, struct fd_emu_proc *procs,
		  size_t *nprocs);

/* record.c */
void fd_record_time(int64_t us, char *buf, size_t len);
void fd_record_argv(struct fd_jsonw *w, const struct fd_step *st, size_t d);
int fd_record_header(struct fd_emu *e, const char *run_id);
int fd_record_end(struct fd_emu *e, size_t done, bool complete);
/* Append the step's process lines to w. */
void fd_record_step(struct fd_jsonw *w, const struct fd_emu *e,
		    const struct fd_scenario *sc, size_t si,
		    const struct fd_emu_cred *cr,
		    const struct fd_emu_proc *procs, size_t nprocs);
/* Write the scenario line, then the process lines in procs. */
int fd_record_scenario(struct fd_emu *e, const struct fd_scenario *sc,
		       int64_t start_us, int64_t end_us, bool complete,
		       const struct fd_jsonw *procs);

#endif
