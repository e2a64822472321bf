/*
 * cmd_emulate.c - `firedrill emulate`: plumbing.  Spawn the scenarios'
 * stand-ins and write the run record; validate nothing.  This is what runs
 * on the test Mac, as `firedrill emulate` or as the standalone program
 * firedrill-emulate (emulate_main.c), whose help names it so.
 *
 * Options are parsed from a copy of argv: getopt reorders the array it is
 * given, and the run record quotes the process's argv as it was run
 * (macOS reads it back from that very array, through _NSGetArgv).
 */
#include "cli_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

/* The help, written once for either name the command goes by. */
#define EMULATE_HELP(cmd) { \
	cmd " [options] PATH...", \
	"Spawn the stand-ins of the scenarios in PATH (files or folders) " \
	"and\nwrite the run record (run.jsonl) into the run directory, " \
	"for\n'firedrill validate --run DIR' here or on another machine.  " \
	"Stand-ins\nare copies of firedrill's own harmless program: " \
	"nothing else runs.", \
	"exit status: 0 the run record was written; 2 usage or bad " \
	"input;\n3 the emulator failed.\n\n" \
	"examples:\n" \
	"  " cmd " --out /tmp/drill scenarios/\n" \
	"  " cmd " --dry-run scenarios/dumping-account-hashes", \
}

static const struct fd_cmd_help help = EMULATE_HELP("firedrill emulate");
static const struct fd_cmd_help standalone_help =
	EMULATE_HELP(FD_EMULATE_PROGRAM);

static int emulate(int argc, char **argv)
{
	struct fd_cli_emulate_args ea = { 0 };
	struct fd_pack pk;
	char run_dir[PATH_MAX];
	const struct fd_cmd_help *h =
		strcmp(fd_cli_program(), FD_EMULATE_PROGRAM) ?
		&help : &standalone_help;
	bool shown;
	int first, status;
	const struct fd_opt opts[] = {
		FD_OPT_OUT(&ea.out),
		FD_OPT_USER(&ea.user),
		FD_OPT_TMPDIR(&ea.tmpdir),
		FD_OPT_KEEP(&ea.keep),
		FD_OPT_DRY_RUN(&ea.dry_run),
		FD_OPT_QUIET(&ea.quiet, "print only the run folder"),
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, h, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	if (first >= argc) {
		fd_cli_error("emulate: name at least one scenario file or "
			     "folder");
		fd_opts_usage(stderr, opts, h);
		return FD_EXIT_USAGE;
	}
	if (ea.out && !*ea.out) {
		fd_cli_error("emulate: --out needs a folder name");
		return FD_EXIT_USAGE;
	}
	status = fd_cli_load_pack((const char *const *)argv + first,
				  (size_t)(argc - first), &pk);
	if (status)
		return status;
	status = fd_cli_emulate(&pk, &ea, run_dir);
	if (status == 0 && !ea.dry_run)
		printf("%s\n", run_dir);
	fd_cli_pack_release(&pk);
	return status;
}

int fd_cmd_emulate(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int status;

	if (!args) {
		fd_cli_error("out of memory");
		return FD_EXIT_ERROR;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	status = emulate(argc, args);
	free(args);
	return status;
}
