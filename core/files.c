/*
 * files.c - opening output files safely (see files.h).
 */
#include "files.h"
#include "fd_err.h"
#include "scenario.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *fd_fopen_regular(const char *path)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int why = errno;

		if (why == 0 || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode))
			why = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		errno = why;
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	f = fdopen(fd, "rb");
	if (!f)
		close(fd);
	return f;
}

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

int fd_mkdirs(const char *path, char *failed, size_t len)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = n ? ENAMETOOLONG : ENOENT;
		goto fail;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	if (failed && len) {
		int saved = errno;

		snprintf(failed, len, "%s", n < sizeof(buf) && n ? buf : path);
		errno = saved;
	}
	return -1;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool is_json_file(const char *dir, const char *name)
{
	size_t n = strlen(name);
	char path[4200];
	struct stat st;

	if (name[0] == '.')
		return false;
	if (!(n > 5 && !strcmp(name + n - 5, ".json")) &&
	    !(n > 7 && !strcmp(name + n - 7, ".ndjson")))
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fd_list_json_files(const char *dir, struct fd_strv *out,
		       struct fd_diag *diag)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = out->n;

	if (!d) {
		if (diag)
			snprintf(diag->file, sizeof(diag->file), "%s", dir);
		return fd_diag_set(diag, errno == ENOENT ? FD_ERR_NOTFOUND :
				   FD_ERR_IO, 0, 0, "cannot open: %s",
				   strerror(errno));
	}
	while ((de = readdir(d)))
		if (is_json_file(dir, de->d_name) &&
		    fd_strv_push(out, de->d_name, strlen(de->d_name)) < 0) {
			closedir(d);
			return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0,
					   "out of memory");
		}
	closedir(d);
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v),
		      by_name);
	return 0;
}
