/*
 * jsonw.h - a tiny JSON writer into a growable buffer (libc only, so the
 * emulator needs no JSON library on a test Mac).  Write a key, then its
 * value; commas are placed for you.  Allocation failure is sticky (see
 * fd_jsonw_error()); bytes that are not UTF-8 are written as U+FFFD.
 */
#ifndef FD_JSONW_H
#define FD_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct fd_jsonw {
	char *buf;		/* NUL-terminated once anything is written */
	size_t len;
	size_t cap;
	int err;		/* 0 or -FD_ERR_NOMEM */
	bool comma;		/* the next value needs a ',' before it */
};

void fd_jsonw_init(struct fd_jsonw *w);
void fd_jsonw_free(struct fd_jsonw *w);
/* Forget the text but keep the buffer (the error stays). */
void fd_jsonw_reset(struct fd_jsonw *w);

void fd_jsonw_begin_object(struct fd_jsonw *w);
void fd_jsonw_end_object(struct fd_jsonw *w);
void fd_jsonw_begin_array(struct fd_jsonw *w);
void fd_jsonw_end_array(struct fd_jsonw *w);

/* An object key; the next call writes its value. */
void fd_jsonw_key(struct fd_jsonw *w, const char *key);

/* Values.  fd_jsonw_string(w, NULL) writes null. */
void fd_jsonw_string(struct fd_jsonw *w, const char *s);
void fd_jsonw_string_len(struct fd_jsonw *w, const char *s, size_t len);
void fd_jsonw_int(struct fd_jsonw *w, long long v);
void fd_jsonw_bool(struct fd_jsonw *w, bool v);
void fd_jsonw_null(struct fd_jsonw *w);

/* End a JSON Lines record: a '\n', and the next value starts afresh. */
void fd_jsonw_newline(struct fd_jsonw *w);

/* 0, or -FD_ERR_NOMEM if any append failed. */
int fd_jsonw_error(const struct fd_jsonw *w);

#endif
