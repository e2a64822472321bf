/*
 * files.h - opening output files safely.
 *
 * Run folders may be handed around, or made by someone else: an output
 * file is never opened through a symbolic link planted in its place.
 */
#ifndef FD_FILES_H
#define FD_FILES_H

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

#endif
