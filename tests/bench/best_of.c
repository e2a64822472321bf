/*
 * best_of.c - run a command R times; print its best wall time (seconds)
 * and the largest resident set (MiB) of any run.  Measured from a small
 * forking parent, so the resident set is the command's own.
 *
 *   best_of R COMMAND [ARGS...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int reps = argc > 2 ? atoi(argv[1]) : 0;
	double best = -1;
	long rss = 0;

	for (int i = 0; i < reps; i++) {
		struct timespec a, b;
		struct rusage ru;
		double t;
		int st;
		pid_t pid;

		clock_gettime(CLOCK_MONOTONIC, &a);
		pid = fork();
		if (pid == 0) {
			dup2(open("/dev/null", O_WRONLY), 1);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
		t = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (best < 0 || t < best)
			best = t;
		if (ru.ru_maxrss > rss)
			rss = ru.ru_maxrss;
	}
	printf("%.4f %.1f\n", best, (double)rss / 1024.0);
	return best < 0;
}
