/*
 * cli.h - what the firedrill commands share: exit statuses, finding the
 * rules, scenarios and stand-in, loading a scenario pack, and the two steps
 * that `run` chains (emulate, then validate).
 */
#ifndef FD_CLI_H
#define FD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "rule.h"
#include "scenario.h"

/* DESIGN.md's exit statuses. */
enum {
	FD_EXIT_PASS = 0,
	FD_EXIT_FAIL = 1,
	FD_EXIT_USAGE = 2,
	FD_EXIT_ERROR = 3,
};

struct fd_pack {
	struct fd_scenario **v;
	size_t n;
};

/* Commands: argv[0] is the command's name. */
int fd_cmd_run(int argc, char **argv);
int fd_cmd_emulate(int argc, char **argv);
int fd_cmd_validate(int argc, char **argv);
int fd_cmd_query(int argc, char **argv);
int fd_cmd_diff(int argc, char **argv);

/* Print "firedrill: " and the message to stderr. */
void fd_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The directory firedrill's own executable is in ("" if unknown). */
const char *fd_cli_exe_dir(void);

/*
 * Resolve a default data path: `given` if set; else env var `env` if set;
 * else `local` if it exists in the working directory; else
 * <exe dir>/../share/firedrill/<local>.  Returns a static buffer or given.
 */
const char *fd_cli_data_path(const char *given, const char *env,
			     const char *local);

/* The stand-in program: $FIREDRILL_STANDIN, or beside the executable in
 * ../libexec/firedrill/firedrill-standin. */
const char *fd_cli_standin_path(void);

/*
 * Load every scenario file named by paths (files, or folders walked for
 * *.yaml / *.yml, sorted).  Every bad file is reported as
 * file:line:col: message; returns 0, or FD_EXIT_USAGE if any file is bad or
 * ids collide (then nothing is loaded).
 */
int fd_cli_load_pack(const char *const *paths, size_t n, struct fd_pack *pk);
void fd_cli_pack_release(struct fd_pack *pk);

/* Load the rules folder (or file); FD_EXIT_USAGE on error (printed). */
int fd_cli_load_rules(const char *path, struct fd_ruleset *set);

/* Every rule a scenario names must be in set; FD_EXIT_USAGE if not. */
int fd_cli_check_rules(const struct fd_pack *pk,
		       const struct fd_ruleset *set);

/* Make sure dir exists (mkdir -p); 0 or -1 (printed). */
int fd_cli_mkdirs(const char *dir);

bool fd_cli_color(void);

#endif

#ifndef FD_CLI_STEPS
#define FD_CLI_STEPS
#include <limits.h>

/* The emulate step, as `emulate` and `run` both take it. */
struct fd_cli_emulate_args {
	const char *out;	/* run directory; NULL: firedrill-runs/<id> */
	const char *user;	/* --user */
	const char *tmpdir;	/* --tmpdir */
	bool keep;		/* --keep */
	bool dry_run;		/* --dry-run */
	bool quiet;
};

struct fd_live_cfg;

/* The validate step, as `validate` and `run` both take it. */
struct fd_cli_validate_args {
	const char *backend;	/* --backend; NULL: embedded */
	const char *junit;	/* --junit FILE */
	const char *json;	/* --json FILE */
	bool quiet;		/* no table, summary only */
	const struct fd_live_cfg *live;	/* live backends' settings
					   (live.h); NULL: none given */
};

/*
 * Emulate pk; on success run_dir (PATH_MAX) names the run directory.
 * Returns an exit status; on SIGINT/SIGTERM it re-raises the signal after
 * cleaning up, so it does not return.
 */
int fd_cli_emulate(const struct fd_pack *pk,
		   const struct fd_cli_emulate_args *a, char *run_dir);

struct fd_runrec;

/* Write the embedded telemetry of rr to path; 0 or -1 (printed). */
int fd_cli_write_events(const struct fd_runrec *rr, const char *path);

/* 0 when name is NULL or a known backend, else FD_EXIT_USAGE (printed). */
int fd_cli_check_backend(const char *name);

/* " embedded ..." : the backends this build has. */
const char *fd_cli_backend_names(void);

/* Validate the run in run_dir; returns the exit status of the verdicts. */
int fd_cli_validate(const char *run_dir, const struct fd_ruleset *rules,
		    const struct fd_cli_validate_args *a);
#endif
