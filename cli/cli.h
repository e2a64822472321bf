/*
 * cli.h - what the firedrill commands share: cli_base.h (exit statuses,
 * finding scenarios and the stand-in, loading a scenario pack, the emulate
 * step), plus loading the rules and the validate step, which need the
 * engine.
 */
#ifndef FD_CLI_H
#define FD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_base.h"
#include "rule.h"
#include "scenario.h"

/* Commands: argv[0] is the command's name (fd_cmd_emulate: cli_base.h). */
int fd_cmd_run(int argc, char **argv);
int fd_cmd_validate(int argc, char **argv);
int fd_cmd_query(int argc, char **argv);
int fd_cmd_diff(int argc, char **argv);
int fd_cmd_exceptions(int argc, char **argv);

/* Load the rules folder (or file); FD_EXIT_USAGE on error (printed). */
int fd_cli_load_rules(const char *path, struct fd_ruleset *set);

/*
 * Load the exception lists: from given (--exceptions) or
 * $FIREDRILL_EXCEPTIONS, which must exist, else from the "exceptions"
 * folder beside rules_path when there is one (else *set stays NULL).
 * FD_EXIT_USAGE on a bad file (printed).
 */
struct fd_exc_set;
int fd_cli_load_exceptions(const char *given, const char *rules_path,
			   struct fd_exc_set **set);

/* Every list a scenario attaches must be loaded (FD_EXIT_USAGE, printed,
 * if not); a rule's missing list is a warning (that rule will not run). */
int fd_cli_check_exceptions(const struct fd_pack *pk,
			    const struct fd_ruleset *rules,
			    const struct fd_exc_set *set);

/* Every rule a scenario names must be in set; FD_EXIT_USAGE if not. */
int fd_cli_check_rules(const struct fd_pack *pk,
		       const struct fd_ruleset *set);

#endif

#ifndef FD_CLI_STEPS
#define FD_CLI_STEPS
#include <limits.h>

struct fd_cli_live;

/* The validate step, as `validate` and `run` both take it. */
struct fd_cli_validate_args {
	const char *backend;	/* --backend; NULL: embedded */
	const char *junit;	/* --junit FILE */
	const char *json;	/* --json FILE */
	bool quiet;		/* no table, summary only */
	const struct fd_cli_live *live;	/* live backends' settings
					   (live_args.h); NULL: none */
	const struct fd_exc_set *exceptions;	/* embedded: the lists */
};

struct fd_runrec;

/* Write the embedded telemetry of rr to path; 0 or -1 (printed). */
int fd_cli_write_events(const struct fd_runrec *rr, const char *path);

/* 0 when name is NULL or a known backend, else FD_EXIT_USAGE (printed). */
int fd_cli_check_backend(const char *name);

/* The report paths of a can be written (checked before anything runs);
 * FD_EXIT_USAGE, printed, if not. */
int fd_cli_check_reports(const struct fd_cli_validate_args *a);

/* True when name is a backend of a real stack (kibana, elasticsearch). */
bool fd_cli_backend_is_live(const char *name);

/* " embedded ..." : the backends this build has. */
const char *fd_cli_backend_names(void);

/* Validate the run in run_dir; returns the exit status of the verdicts. */
int fd_cli_validate(const char *run_dir, const struct fd_ruleset *rules,
		    const struct fd_cli_validate_args *a);
#endif
