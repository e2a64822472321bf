/*
 * scenario.h - a scenario file, loaded from YAML (libyaml only, so the
 * emulator builds on a test Mac with nothing else).
 *
 * One scenario per file.  Every key is documented in scenarios/README.md.
 * A bad file is refused whole with file:line:column in the diagnostic, so
 * nothing runs.  The loaded struct owns every string in it; free it with
 * fd_scenario_free().
 */
#ifndef FD_SCENARIO_H
#define FD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "fd_err.h"

/* A position in the scenario file, for messages about a key. */
struct fd_pos {
	int line;
	int col;
};

struct fd_strv {
	char **v;		/* n strings, NULL-terminated (v[n] == NULL) */
	size_t n;
};

/*
 * Append a copy of the len bytes at s (plus a NUL) to sv, which must be
 * zeroed or built by this function.  Returns 0 or -FD_ERR_NOMEM (sv is then
 * unchanged).  In a loaded scenario every fd_strv has v != NULL, even when
 * n == 0.
 */
int fd_strv_push(struct fd_strv *sv, const char *s, size_t len);

/* Whether sv holds a string equal to s. */
bool fd_strv_contains(const struct fd_strv *sv, const char *s);

/* Free the strings and the array; sv is left zeroed. */
void fd_strv_release(struct fd_strv *sv);

/*
 * Make dst (zeroed, or released) a copy of src; dst->v is an array even
 * when src is empty.  Returns 0 or -FD_ERR_NOMEM (dst is then zeroed).
 */
int fd_strv_copy(struct fd_strv *dst, const struct fd_strv *src);

/* The host profile: what embedded telemetry says the host is. */
struct fd_host {
	char *os_type;		/* host.os.type: macos, linux, windows */
	char *os_name;		/* host.os.name, e.g. "macOS" */
	char *os_version;	/* host.os.version, e.g. "14.5" */
	char *os_family;	/* host.os.family, e.g. "macos" */
	char *os_platform;	/* host.os.platform, e.g. "darwin" */
	char *name;		/* host.name; NULL: this machine's name */
	char *arch;		/* host.architecture; NULL: this machine's */
};

/* One step: a stand-in to spawn, optionally under a chain of parents. */
struct fd_step {
	char *run;		/* stand-in name: process.name and argv[0] */
	struct fd_strv args;	/* argv after argv[0] */
	struct fd_strv parents;	/* parent chain, outermost first */
	char *user;		/* run as this user (root only); NULL: default */
	char *cwd;		/* the chain's working directory, a relative
				   folder below the scenario's own; NULL:
				   the scenario's folder itself */
	char *path;		/* the folder of the step's own stand-in
				   copy, relative as cwd; NULL: the
				   scenario's folder (parents always are) */
	struct fd_strv env;	/* extra environment of the chain,
				   "NAME=value" strings in file order */
	long dwell_ms;		/* how long the stand-in lives; default 0 */
	long timeout_ms;	/* step deadline; default 10000 */
	bool has_expect_exit;
	int expect_exit;	/* expected exit code when has_expect_exit */
	struct fd_pos pos;	/* where the step starts */
};

enum fd_count_op {
	FD_COUNT_EXACT,		/* count: N  (N may be 0: a negative) */
	FD_COUNT_AT_LEAST	/* count: ">= N" */
};

/* What one rule must (or must not) do for this scenario. */
struct fd_expect {
	char *rule_id;
	enum fd_count_op count_op;
	long count;
	char *severity;		/* NULL: not checked */
	int risk_score;		/* -1: not checked */
	struct fd_strv tactics;		/* ids, e.g. TA0006; all must appear */
	struct fd_strv techniques;	/* e.g. T1003 */
	struct fd_strv subtechniques;	/* e.g. T1003.008 */
	long deadline_ms;	/* 0: default from the rule's schedule */
	int version;		/* only this rule version; 0: every loaded
				   version no other expectation names */
	struct fd_pos pos;	/* where the expectation starts */
};

struct fd_scenario {
	char *path;		/* the file it was read from */
	char *id;		/* [A-Za-z0-9._-]+, unique in a pack */
	char *title;
	char *technique;	/* MITRE id the scenario emulates */
	struct fd_strv rules;	/* rule_ids under test */
	struct fd_host host;
	struct fd_step *steps;
	size_t nsteps;
	struct fd_strv exceptions;	/* exception list ids to apply */
	struct fd_expect *expects;
	size_t nexpects;
	char *source;		/* the file's text, as read */
	/*
	 * An exception scenario (non-empty exceptions) has a control: the
	 * same behaviour without the excepted attribute, run with the same
	 * exceptions, which must alert.  It is a whole scenario of its own:
	 * id "<id>.control", title "<title> (control)", the same path,
	 * source, technique, rules and exceptions; the same host but for
	 * what its own 'host' changes; its own steps and expectations
	 * (default: ">= 1" from every rule).  Owned; a pack takes it out with
	 * fd_scenario_take_control() and runs it as a scenario of its own.
	 */
	struct fd_scenario *control;
	char *control_of;	/* in a control: the id of the scenario it
				   controls; NULL otherwise */
};

#define FD_CONTROL_SUFFIX ".control"

/*
 * Parse a scenario from YAML text.  name is used in diagnostics and kept
 * as path.  Returns 0 and sets *out, or a negative fd_err with diag filled
 * (diag->file = name).  On error *out is NULL.
 */
int fd_scenario_parse(const char *name, const char *text, size_t len,
		      struct fd_scenario **out, struct fd_diag *diag);

/* Read and parse a file; as fd_scenario_parse(). */
int fd_scenario_load(const char *path, struct fd_scenario **out,
		     struct fd_diag *diag);

/* Free a scenario (and its control, if it still has it); NULL is fine. */
void fd_scenario_free(struct fd_scenario *sc);

/*
 * Take sc's control out of it: the caller owns the result, and sc no
 * longer has one.  NULL when sc has no control.
 */
struct fd_scenario *fd_scenario_take_control(struct fd_scenario *sc);

/*
 * Why an environment variable name may not be set on a stand-in, or NULL
 * when it may: PATH, HOME and LANG come from firedrill's minimal
 * environment; names that change how a program is loaded or run (LD_*,
 * DYLD_*, ...) would let something other than the stand-in's own code
 * run.  The loader and the emulator both ask.
 */
const char *fd_env_name_refusal(const char *name, size_t len);

/* Whether the len bytes at name are [A-Z_][A-Z0-9_]*. */
bool fd_env_name_ok(const char *name, size_t len);

/*
 * Whether s is a safe folder below the scenario's own: 1 to
 * FD_SUBDIR_MAX bytes of names joined by single '/', each of printable
 * ASCII, not "." or "..", at most FD_SUBDIR_DEPTH of them; no leading or
 * trailing '/'.
 */
bool fd_subdir_ok(const char *s);

#define FD_SUBDIR_MAX 200
#define FD_SUBDIR_DEPTH 8
#define FD_ENV_MAX 32		/* variables a step may add */
#define FD_ENV_BYTES 4096	/* their "NAME=value" bytes, all together */

#endif
