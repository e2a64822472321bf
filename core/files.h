/*
 * files.h - opening output files safely.
 *
 * Run folders may be handed around, or made by someone else: an output
 * file is never opened through a symbolic link planted in its place.
 */
#ifndef FD_FILES_H
#define FD_FILES_H

#include <stddef.h>
#include <stdio.h>

/*
 * Open path for writing, created or truncated (0644), never through a
 * symbolic link in its last component.  NULL with errno set (ELOOP for a
 * link).
 */
FILE *fd_fopen_write(const char *path);

/*
 * Open path for reading, only if it is a regular file: a FIFO or a device
 * named like an input never blocks or feeds a load.  NULL with errno set
 * (EISDIR for a folder, EINVAL for anything else that is not a file).
 */
FILE *fd_fopen_regular(const char *path);

/*
 * mkdir -p (0755): 0, or -1 with errno set and, when failed is not NULL,
 * the path of the folder that could not be made in failed.
 */
int fd_mkdirs(const char *path, char *failed, size_t len);

/* Write all len bytes, going on after short writes and EINTR; 0 or -1
 * with errno set. */
int fd_write_all(int fd, const void *buf, size_t len);

struct fd_strv;
struct fd_diag;

/*
 * The names of the regular *.json and *.ndjson files in dir (hidden ones
 * left out), sorted, appended to out (zeroed, or built by fd_strv_push).
 * Returns 0, or a negative fd_err with diag set (its file is dir).  The
 * rules folder and the exceptions folder are read alike.
 */
int fd_list_json_files(const char *dir, struct fd_strv *out,
		       struct fd_diag *diag);

#endif
