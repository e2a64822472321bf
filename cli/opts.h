/*
 * opts.h - a small table-driven option parser over getopt_long.
 *
 * A command declares its options once, in a table ending with an entry
 * whose name is NULL; the same table parses argv and prints --help, so the
 * two never drift.  Like git's parse-options, but a tenth of it.
 */
#ifndef FD_OPTS_H
#define FD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

enum fd_opt_kind {
	FD_OPT_FLAG,		/* bool *dest = true */
	FD_OPT_STRING,		/* const char **dest = optarg */
	FD_OPT_LIST,		/* struct fd_opt_list *dest gets each use */
};

struct fd_opt_list {
	const char *v[32];
	int n;
};

struct fd_opt {
	int shortc;		/* 0: long only */
	const char *name;	/* long name; NULL ends the table */
	enum fd_opt_kind kind;
	void *dest;
	const char *argname;	/* shown in help, e.g. "DIR" */
	const char *help;
};

/* Options that several commands share, written once. */
#define FD_OPT_RULES(d) { 'r', "rules", FD_OPT_STRING, (d), "PATH",	\
	"rules folder or file (default: rules/)" }
#define FD_OPT_OUT(d) { 'o', "out", FD_OPT_STRING, (d), "DIR",		\
	"run directory (default: firedrill-runs/RUN_ID)" }
#define FD_OPT_BACKEND(d) { 'b', "backend", FD_OPT_STRING, (d), "NAME", \
	"detection backend (default: embedded)" }
#define FD_OPT_JUNIT(d) { 0, "junit", FD_OPT_STRING, (d), "FILE",	\
	"also write a JUnit XML report" }
#define FD_OPT_JSON(d) { 0, "json", FD_OPT_STRING, (d), "FILE",		\
	"also write a JSON report" }
#define FD_OPT_USER(d) { 'u', "user", FD_OPT_STRING, (d), "NAME",	\
	"as root: run stand-ins as NAME (default: nobody)" }
#define FD_OPT_TMPDIR(d) { 0, "tmpdir", FD_OPT_STRING, (d), "DIR",	\
	"parent of the stand-in folder (default: $TMPDIR)" }
#define FD_OPT_KEEP(d) { 'k', "keep", FD_OPT_FLAG, (d), NULL,		\
	"keep the stand-in folder to inspect it" }
#define FD_OPT_DRY_RUN(d) { 'n', "dry-run", FD_OPT_FLAG, (d), NULL,	\
	"show what would run; run nothing" }
#define FD_OPT_QUIET(d, what) { 'q', "quiet", FD_OPT_FLAG, (d), NULL, \
	(what) }
#define FD_OPT_EXCEPTIONS(d) { 0, "exceptions", FD_OPT_STRING, (d),	\
	"PATH", "exception lists (default: the rules' exceptions/)" }
#define FD_OPT_END { 0, NULL, 0, NULL, NULL, NULL }

struct fd_cmd_help {
	const char *usage;	/* "firedrill run [options] [PATH...]" */
	const char *summary;	/* one paragraph */
	const char *epilog;	/* examples, exit status; may be NULL */
};

/*
 * Parse argv (argv[0] is the command name).  Returns the index of the
 * first operand, or -1 after printing help (--help; *help_shown set) or a
 * usage error (to stderr, with "try --help").
 */
int fd_opts_parse(int argc, char **argv, const struct fd_opt *opts,
		  const struct fd_cmd_help *help, bool *help_shown);

void fd_opts_usage(FILE *out, const struct fd_opt *opts,
		   const struct fd_cmd_help *help);

#endif
