/*
 * emulate_main.c - firedrill-emulate, the emulator as a program of its
 * own: `firedrill emulate` with the same options and behaviour, linked
 * with libyaml and the C library only, for the test Mac where Elastic
 * Defend watches.  The run directory it writes is validated elsewhere with
 * `firedrill validate --run DIR`.
 *
 * It is fd_cmd_emulate() under the program's own name, which its help and
 * messages use.
 */
#include <stdio.h>
#include <string.h>

#include "cli_base.h"

int main(int argc, char **argv)
{
	int status;

	fd_cli_set_program(FD_EMULATE_PROGRAM);
	if (argc < 1)
		return FD_EXIT_USAGE;	/* started with no argv at all */
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", FD_EMULATE_PROGRAM, FD_VERSION);
		status = FD_EXIT_PASS;
	} else {
		status = fd_cmd_emulate(argc, argv);
	}
	/* A full disk or a closed pipe is never reported as success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fd_cli_error("cannot write standard output");
		return status ? status : FD_EXIT_ERROR;
	}
	return status;
}
