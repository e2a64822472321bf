/*
 * jsonw.c - the JSON writer: appends to a doubling buffer, tracks only
 * whether a comma is due (keys clear it, values and closers set it), and
 * escapes strings byte by byte, validating UTF-8 as it goes.
 */
#include "jsonw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_err.h"

void fd_jsonw_init(struct fd_jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void fd_jsonw_free(struct fd_jsonw *w)
{
	free(w->buf);
	fd_jsonw_init(w);
}

void fd_jsonw_reset(struct fd_jsonw *w)
{
	w->len = 0;
	if (w->buf)
		w->buf[0] = '\0';
	w->comma = false;
}

int fd_jsonw_error(const struct fd_jsonw *w)
{
	return w->err;
}

static bool reserve(struct fd_jsonw *w, size_t more)
{
	size_t cap;
	char *p;

	if (w->err)
		return false;
	if (w->len + more + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			w->err = -FD_ERR_NOMEM;
			return false;
		}
		cap *= 2;
	}
	p = realloc(w->buf, cap);
	if (!p) {
		w->err = -FD_ERR_NOMEM;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

static void append(struct fd_jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void put(struct fd_jsonw *w, const char *s)
{
	append(w, s, strlen(s));
}

/* Before a value (or an opener): the comma that separates it. */
static void sep(struct fd_jsonw *w)
{
	if (w->comma)
		append(w, ",", 1);
	w->comma = false;
}

void fd_jsonw_begin_object(struct fd_jsonw *w)
{
	sep(w);
	append(w, "{", 1);
}

void fd_jsonw_end_object(struct fd_jsonw *w)
{
	append(w, "}", 1);
	w->comma = true;
}

void fd_jsonw_begin_array(struct fd_jsonw *w)
{
	sep(w);
	append(w, "[", 1);
}

void fd_jsonw_end_array(struct fd_jsonw *w)
{
	append(w, "]", 1);
	w->comma = true;
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it
 * is not one: overlongs, surrogates and code points past U+10FFFF are
 * refused, as RFC 3629 says.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void escape_byte(struct fd_jsonw *w, unsigned char c)
{
	/* Pairs: the byte, then the letter of its two-character escape. */
	static const char named[] = "\"\"\\\\\bb\ff\nn\rr\tt";
	char buf[8];
	const char *p;

	for (p = named; *p; p += 2) {
		if ((unsigned char)*p == c) {
			buf[0] = '\\';
			buf[1] = p[1];
			append(w, buf, 2);
			return;
		}
	}
	snprintf(buf, sizeof(buf), "\\u%04x", c);
	put(w, buf);
}

static void quoted(struct fd_jsonw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	append(w, "\"", 1);
	while (i < n) {
		size_t run = i, len;

		/* Copy plain runs in one append. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       p[run] != '"' && p[run] != '\\')
			run++;
		append(w, s + i, run - i);
		i = run;
		if (i == n)
			break;
		if (p[i] < 0x80) {
			escape_byte(w, p[i]);
			i++;
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (len) {
			append(w, s + i, len);
			i += len;
		} else {
			put(w, "\\ufffd");
			i++;
		}
	}
	append(w, "\"", 1);
}

void fd_jsonw_key(struct fd_jsonw *w, const char *key)
{
	sep(w);
	quoted(w, key, strlen(key));
	append(w, ":", 1);
}

void fd_jsonw_string_len(struct fd_jsonw *w, const char *s, size_t len)
{
	sep(w);
	quoted(w, s, len);
	w->comma = true;
}

void fd_jsonw_string(struct fd_jsonw *w, const char *s)
{
	if (!s) {
		fd_jsonw_null(w);
		return;
	}
	fd_jsonw_string_len(w, s, strlen(s));
}

void fd_jsonw_int(struct fd_jsonw *w, long long v)
{
	char buf[32];

	sep(w);
	snprintf(buf, sizeof(buf), "%lld", v);
	put(w, buf);
	w->comma = true;
}

void fd_jsonw_bool(struct fd_jsonw *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false");
	w->comma = true;
}

void fd_jsonw_null(struct fd_jsonw *w)
{
	sep(w);
	put(w, "null");
	w->comma = true;
}

void fd_jsonw_newline(struct fd_jsonw *w)
{
	append(w, "\n", 1);
	w->comma = false;
}
