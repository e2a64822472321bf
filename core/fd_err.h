/*
 * fd_err.h - firedrill's one error enum, its messages, and located
 * diagnostics.
 *
 * Library code never prints or exits: it returns 0 or a negative enum fd_err
 * and, where a person must be told where the problem is, fills a struct
 * fd_diag (file:line:column: message).  Only the CLI prints and picks the
 * exit status.  Values are fixed: scripts and bug reports rely on them.
 */
#ifndef FD_ERR_H
#define FD_ERR_H

#include <stddef.h>

enum fd_err {
	FD_OK = 0,
	FD_ERR_NOMEM = 1,       /* out of memory */
	FD_ERR_IO = 2,          /* a file could not be read or written */
	FD_ERR_SYNTAX = 3,      /* a query, scenario or rule does not parse */
	FD_ERR_INVALID = 4,     /* well-formed input that breaks a contract */
	FD_ERR_NOTFOUND = 5,    /* a named rule, file or stand-in is missing */
	FD_ERR_SPAWN = 6,       /* a stand-in could not be started */
	FD_ERR_HASH = 7,        /* a stand-in copy failed its hash check */
	FD_ERR_TIMEOUT = 8,     /* a deadline passed */
	FD_ERR_BACKEND = 9,     /* the detection backend failed or misanswered */
	FD_ERR_UNSUPPORTED = 10,/* a valid construct the engine cannot run */
	FD_ERR_PRIVILEGE = 11,  /* a privilege change was refused */
	FD_ERR_INTERRUPTED = 12,/* stopped by SIGINT or SIGTERM */
	FD_ERR_AUTH = 13,       /* the backend refused the credentials or
				   their privileges (401, 403) */
	FD_ERR_NETWORK = 14,    /* the backend could not be reached, or
				   asked to be asked again (429, 5xx) */
	FD_ERR_TLS = 15,        /* the backend's certificate is not trusted */
	FD_ERR_LAST             /* not an error; keep last */
};

/* A fixed, lower-case message for each value; never NULL. */
const char *fd_strerror(enum fd_err err);

/*
 * A located diagnostic.  line and col are 1-based; 0 means unknown.
 * file may be empty (e.g. a query given on the command line).
 */
struct fd_diag {
	char file[4096];
	int line;
	int col;
	char msg[512];
	double retry_after;	/* seconds a backend asked to wait; 0: none */
};

/* Clear a diagnostic. */
void fd_diag_clear(struct fd_diag *d);

/*
 * Fill a diagnostic (printf-style message) and return -err, so that
 * `return fd_diag_set(d, FD_ERR_SYNTAX, line, col, "...")` reads well.
 * d may be NULL.  file is left as it is.
 */
int fd_diag_set(struct fd_diag *d, enum fd_err err, int line, int col,
		const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Format "file:line:col: msg" (parts that are unknown are left out) into
 * buf; returns buf.
 */
const char *fd_diag_format(const struct fd_diag *d, char *buf, size_t len);

#endif
