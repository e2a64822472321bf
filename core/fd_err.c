/*
 * fd_err.c - messages for enum fd_err and located diagnostics.
 *
 * fd_strerror() is a switch with no default, so the compiler names any
 * enum value that lacks a message.
 */
#include "fd_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *fd_strerror(enum fd_err err)
{
	switch (err) {
	case FD_OK: return "no error";
	case FD_ERR_NOMEM: return "out of memory";
	case FD_ERR_IO: return "input/output error";
	case FD_ERR_SYNTAX: return "syntax error";
	case FD_ERR_INVALID: return "invalid input";
	case FD_ERR_NOTFOUND: return "not found";
	case FD_ERR_SPAWN: return "cannot start stand-in";
	case FD_ERR_HASH: return "stand-in hash mismatch";
	case FD_ERR_TIMEOUT: return "deadline passed";
	case FD_ERR_BACKEND: return "backend error";
	case FD_ERR_UNSUPPORTED: return "not supported by the engine";
	case FD_ERR_PRIVILEGE: return "privilege change refused";
	case FD_ERR_INTERRUPTED: return "interrupted";
	case FD_ERR_AUTH: return "credentials refused";
	case FD_ERR_NETWORK: return "backend unreachable or busy";
	case FD_ERR_TLS: return "certificate not trusted";
	case FD_ERR_LAST: break;
	}
	return "unknown error";
}

void fd_diag_clear(struct fd_diag *d)
{
	if (d)
		memset(d, 0, sizeof(*d));
}

int fd_diag_set(struct fd_diag *d, enum fd_err err, int line, int col,
		const char *fmt, ...)
{
	if (d) {
		va_list ap;

		d->line = line;
		d->col = col;
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return -(int)err;
}

const char *fd_diag_format(const struct fd_diag *d, char *buf, size_t len)
{
	const char *file = d->file[0] ? d->file : NULL;

	if (file && d->line > 0 && d->col > 0)
		snprintf(buf, len, "%s:%d:%d: %s", file, d->line, d->col,
			 d->msg);
	else if (file && d->line > 0)
		snprintf(buf, len, "%s:%d: %s", file, d->line, d->msg);
	else if (file)
		snprintf(buf, len, "%s: %s", file, d->msg);
	else
		snprintf(buf, len, "%s", d->msg);
	return buf;
}
