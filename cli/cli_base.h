/*
 * cli_base.h - the part of the commands' shared interface that needs the
 * C library and libyaml only: exit statuses, finding data and the
 * stand-in, loading a scenario pack, printing errors, and the emulate
 * step.
 *
 * The standalone emulator (firedrill-emulate, built for the test Mac)
 * includes this header alone; cli.h adds what needs the engine (rules,
 * validation) on top of it.
 */
#ifndef FD_CLI_BASE_H
#define FD_CLI_BASE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "scenario.h"

/* DESIGN.md's exit statuses. */
enum {
	FD_EXIT_PASS = 0,
	FD_EXIT_FAIL = 1,
	FD_EXIT_USAGE = 2,
	FD_EXIT_ERROR = 3,
};

/* The standalone emulator's name: fd_cmd_emulate() run as a program of
 * its own gets it as argv[0], and its help and messages use it. */
#define FD_EMULATE_PROGRAM "firedrill-emulate"

struct fd_pack {
	struct fd_scenario **v;
	size_t n;
};

/* Commands: argv[0] is the command's name. */
int fd_cmd_emulate(int argc, char **argv);

/* Print "<program>: " and the message to stderr. */
void fd_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The program's name in messages: "firedrill" unless a standalone program
 * (FD_EMULATE_PROGRAM) says otherwise at its start.
 */
void fd_cli_set_program(const char *name);
const char *fd_cli_program(void);

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

/* Make sure dir exists (mkdir -p); 0 or -1 (printed). */
int fd_cli_mkdirs(const char *dir);

bool fd_cli_color(void);

/* The emulate step, as `emulate` and `run` both take it. */
struct fd_cli_emulate_args {
	const char *out;	/* run directory; NULL: firedrill-runs/<id> */
	const char *user;	/* --user */
	const char *tmpdir;	/* --tmpdir */
	bool keep;		/* --keep */
	bool dry_run;		/* --dry-run */
	bool quiet;
};

/*
 * Emulate pk; on success run_dir (PATH_MAX) names the run directory.
 * Returns an exit status; on SIGINT/SIGTERM it re-raises the signal after
 * cleaning up, so it does not return.
 */
int fd_cli_emulate(const struct fd_pack *pk,
		   const struct fd_cli_emulate_args *a, char *run_dir);

#endif
