/*
 * files.c - opening output files safely (see files.h).
 */
#include "files.h"

#include <fcntl.h>
#include <unistd.h>

FILE *fd_fopen_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		      O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}
