/*
 * main.c - the firedrill command: a table of subcommands, each a function
 * that takes argv and returns the exit status.
 *
 * Porcelain `run` chains the plumbing `emulate` and `validate`; `query` is
 * the engine on its own.  After a command, stdout is flushed and checked,
 * so a full disk or a closed pipe is never reported as success.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct fd_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct fd_cmd cmds[] = {
	{ "run", fd_cmd_run, "emulate scenarios, then validate them" },
	{ "emulate", fd_cmd_emulate,
	  "spawn the stand-ins and write the run record" },
	{ "validate", fd_cmd_validate,
	  "check a run's expectations on a detection backend" },
	{ "query", fd_cmd_query, "run a KQL or EQL query over NDJSON events" },
	{ "diff", fd_cmd_diff,
	  "show which scenarios two rule versions catch differently" },
	{ "exceptions", fd_cmd_exceptions,
	  "check what exception lists would silence (exceptions check)" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: firedrill [--version] [--help] COMMAND [ARGS]\n\n"
		"firedrill sets off a safe, fake emergency on a test host and\n"
		"checks that the detection fired: harmless stand-ins that look\n"
		"like attacker commands, and a validator that asks the\n"
		"detection backend for the right alert.\n\ncommands:\n");
	for (int i = 0; cmds[i].name; i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\n'firedrill COMMAND --help' tells more about each.\n"
		"exit status: 0 pass, 1 fail, 2 usage or input error, "
		"3 error or inconclusive\n");
}

static int finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("firedrill: cannot write standard output");
		return status ? status : 3;
	}
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish(0);
	}
	if (!strcmp(argv[1], "--version")) {
		printf("firedrill %s\n", FD_VERSION);
		return finish(0);
	}
	for (int i = 0; cmds[i].name; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return finish(cmds[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "firedrill: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
