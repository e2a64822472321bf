/*
 * spawn_bare.c - the baseline for the emulator's overhead: posix_spawn a
 * static program and wait for it, N times; prints microseconds per spawn.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct timespec a, b;
	int n = argc > 2 ? atoi(argv[2]) : 1000;
	char *args[] = { argv[1], NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: spawn_bare PROGRAM [N]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[1], NULL, NULL, args, environ)) {
			perror("posix_spawn");
			return 1;
		}
		waitpid(pid, &st, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((double)(b.tv_sec - a.tv_sec) * 1e6 +
			  (double)(b.tv_nsec - a.tv_nsec) / 1e3) / n);
	return 0;
}
