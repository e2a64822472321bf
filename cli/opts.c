/*
 * opts.c - parse a command's options from its table and print its help.
 *
 * The getopt_long tables are built from the struct fd_opt table on each
 * call; --help (-h) is added to every command.  getopt_long is in the C
 * library of both Linux and macOS.
 */
#include "opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_base.h"

#define MAX_OPTS 40

static int count_opts(const struct fd_opt *opts)
{
	int n = 0;

	while (opts[n].name)
		n++;
	return n;
}

void fd_opts_usage(FILE *out, const struct fd_opt *opts,
		   const struct fd_cmd_help *help)
{
	fprintf(out, "usage: %s\n\n%s\n\noptions:\n", help->usage,
		help->summary);
	for (int i = 0; opts[i].name; i++) {
		char left[64];
		const struct fd_opt *o = &opts[i];
		bool arg = o->kind != FD_OPT_FLAG;

		if (o->shortc)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
				 o->shortc, o->name, arg ? " " : "",
				 arg ? o->argname : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 arg ? " " : "", arg ? o->argname : "");
		/* A long option gets its own line, so the help column stays
		 * straight. */
		if (strlen(left) > 20)
			fprintf(out, "  %s\n  %-20s %s\n", left, "", o->help);
		else
			fprintf(out, "  %-20s %s\n", left, o->help);
	}
	fprintf(out, "  %-20s %s\n", "-h, --help", "show this help and exit");
	if (help->epilog)
		fprintf(out, "\n%s\n", help->epilog);
}

static int build_tables(const struct fd_opt *opts, struct option *lo,
			char *shorts, size_t slen)
{
	int n = count_opts(opts), k = 0;
	size_t s = 0;

	if (n + 2 > MAX_OPTS)
		return -1;
	shorts[s++] = ':';	/* report a missing argument as ':' */
	for (int i = 0; i < n; i++) {
		bool arg = opts[i].kind != FD_OPT_FLAG;

		lo[k].name = opts[i].name;
		lo[k].has_arg = arg ? required_argument : no_argument;
		lo[k].flag = NULL;
		lo[k].val = 256 + i;
		k++;
		if (opts[i].shortc && s + 3 < slen) {
			shorts[s++] = (char)opts[i].shortc;
			if (arg)
				shorts[s++] = ':';
		}
	}
	lo[k++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[k] = (struct option){ NULL, 0, NULL, 0 };
	shorts[s++] = 'h';
	shorts[s] = '\0';
	return 0;
}

static const struct fd_opt *by_short(const struct fd_opt *opts, int c)
{
	for (int i = 0; opts[i].name; i++)
		if (opts[i].shortc == c)
			return &opts[i];
	return NULL;
}

static int store(const struct fd_opt *o, const char *cmd)
{
	struct fd_opt_list *l;

	switch (o->kind) {
	case FD_OPT_FLAG:
		*(bool *)o->dest = true;
		return 0;
	case FD_OPT_STRING:
		*(const char **)o->dest = optarg;
		return 0;
	case FD_OPT_LIST:
		l = o->dest;
		if (l->n >= (int)(sizeof(l->v) / sizeof(l->v[0]))) {
			fprintf(stderr, "%s: too many --%s options\n", cmd,
				o->name);
			return -1;
		}
		l->v[l->n++] = optarg;
		return 0;
	}
	return -1;
}

/* The command as it is typed: "firedrill emulate", or a standalone
 * program's own name ("firedrill-emulate"). */
static void command_name(const char *cmd, char *buf, size_t len)
{
	const char *prog = fd_cli_program();

	if (strcmp(prog, "firedrill"))
		snprintf(buf, len, "%s", prog);
	else
		snprintf(buf, len, "firedrill %s", cmd);
}

int fd_opts_parse(int argc, char **argv, const struct fd_opt *opts,
		  const struct fd_cmd_help *help, bool *help_shown)
{
	struct option lo[MAX_OPTS];
	char shorts[2 * MAX_OPTS + 4], cmd[128];
	int c;

	*help_shown = false;
	command_name(argv[0], cmd, sizeof(cmd));
	if (build_tables(opts, lo, shorts, sizeof(shorts)) < 0)
		return -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct fd_opt *o = NULL;

		if (c == 'h') {
			fd_opts_usage(stdout, opts, help);
			*help_shown = true;
			return -1;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (c == ':')
				fprintf(stderr, "%s: option '%s' needs a "
					"value\n", cmd, bad);
			else
				fprintf(stderr, "%s: unknown option '%s'\n",
					cmd, bad);
			fprintf(stderr, "try '%s --help'\n", cmd);
			return -1;
		}
		o = c >= 256 ? &opts[c - 256] : by_short(opts, c);
		if (!o || store(o, cmd) < 0)
			return -1;
	}
	return optind;
}
