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
