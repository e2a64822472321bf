/*
 * kql_lex.c - KQL's lexer: whitespace, keywords and literals.
 *
 * KQL is scannerless in Kibana (a PEG grammar), so this lexer is driven by
 * the parser and reads one token where the parser asks.  The rules are
 * Kibana's: an unquoted literal runs until a special character or a
 * keyword (" or ", " and ", "not ") and is then trimmed, so it may hold
 * inner spaces; a quoted literal keeps every character.  Escapes are
 * decoded here, and each unescaped '*' is marked as a wildcard.
 */
#include "kql_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kql_lex_init(struct kql_lex *lx, const char *src, struct kql_arena *a,
		  struct fd_diag *diag)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = strlen(src);
	lx->arena = a;
	lx->diag = diag;
	lx->col_n = 1;
}

void kql_lex_release(struct kql_lex *lx)
{
	free(lx->buf);
	free(lx->wbuf);
	lx->buf = NULL;
	lx->wbuf = NULL;
	lx->cap = 0;
}

/* 1-based column, in characters, of byte offset off. */
int kql_col(struct kql_lex *lx, size_t off)
{
	if (off > lx->len)
		off = lx->len;
	if (off < lx->col_off) {
		lx->col_off = 0;
		lx->col_n = 1;
	}
	for (; lx->col_off < off; lx->col_off++)
		if (((unsigned char)lx->src[lx->col_off] & 0xC0) != 0x80)
			lx->col_n++;
	return lx->col_n;
}

int kql_error(struct kql_lex *lx, enum fd_err err, size_t off,
	      const char *fmt, ...)
{
	struct fd_diag *d = lx->diag;

	if (d) {
		va_list ap;

		d->line = 1;
		d->col = kql_col(lx, off);
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return -(int)err;
}

/* Length of the Space at off: [ \t\r\n] or U+00A0; 0 if none. */
static size_t space_at(const struct kql_lex *lx, size_t off)
{
	const unsigned char *s = (const unsigned char *)lx->src;

	if (off >= lx->len)
		return 0;
	if (s[off] == ' ' || s[off] == '\t' || s[off] == '\r' ||
	    s[off] == '\n')
		return 1;
	if (s[off] == 0xC2 && off + 1 < lx->len && s[off + 1] == 0xA0)
		return 2;
	return 0;
}

size_t kql_skip_space(struct kql_lex *lx)
{
	size_t start = lx->pos, n;

	while ((n = space_at(lx, lx->pos)) > 0)
		lx->pos += n;
	return lx->pos - start;
}

/* Does the word w (lower case) start at off, in any letter case? */
static bool word_at(const struct kql_lex *lx, size_t off, const char *w)
{
	size_t n = strlen(w);

	if (off + n > lx->len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)lx->src[off + i]) != w[i])
			return false;
	return true;
}

/* Space+ word Space+, consumed when it is there. */
static bool eat_binary(struct kql_lex *lx, const char *w)
{
	size_t save = lx->pos;

	if (kql_skip_space(lx) == 0 || !word_at(lx, lx->pos, w))
		goto no;
	lx->pos += strlen(w);
	if (kql_skip_space(lx) == 0)
		goto no;
	return true;
no:
	lx->pos = save;
	return false;
}

bool kql_eat_or(struct kql_lex *lx)
{
	return eat_binary(lx, "or");
}

bool kql_eat_and(struct kql_lex *lx)
{
	return eat_binary(lx, "and");
}

/* 'not' Space+ */
bool kql_eat_not(struct kql_lex *lx)
{
	if (!word_at(lx, lx->pos, "not") || !space_at(lx, lx->pos + 3))
		return false;
	lx->pos += 3;
	kql_skip_space(lx);
	return true;
}

/*
 * Kibana's Keyword lookahead, which ends an unquoted literal: Space 'or'
 * Space, Space 'and' Space, or 'not' Space.  *kwlen gets the length of
 * the word when it is there.
 */
bool kql_at_keyword(const struct kql_lex *lx, size_t off, size_t *kwlen)
{
	size_t sp = space_at(lx, off);

	if (sp) {
		if (word_at(lx, off + sp, "or") &&
		    space_at(lx, off + sp + 2)) {
			*kwlen = 2;
			return true;
		}
		if (word_at(lx, off + sp, "and") &&
		    space_at(lx, off + sp + 3)) {
			*kwlen = 3;
			return true;
		}
		return false;
	}
	if (word_at(lx, off, "not") && space_at(lx, off + 3)) {
		*kwlen = 3;
		return true;
	}
	return false;
}

static bool is_special(unsigned char c)
{
	return c && strchr("\\():<>\"*{}", c) != NULL;
}

/* Where a token that starts at off ends, for quoting it in a message. */
size_t kql_token_end(const struct kql_lex *lx, size_t off)
{
	size_t end = off, limit = off + 40;

	if (off >= lx->len)
		return off;
	if (lx->src[off] == '"') {
		for (end = off + 1; end < lx->len && lx->src[end] != '"';
		     end++)
			if (lx->src[end] == '\\' && end + 1 < lx->len)
				end++;
		end = end < lx->len ? end + 1 : lx->len;
	} else if (is_special((unsigned char)lx->src[off])) {
		end = off + 1;
		if (lx->src[off] == '\\' && end < lx->len)
			end++;
	} else {
		while (end < lx->len && !space_at(lx, end) &&
		       !is_special((unsigned char)lx->src[end]))
			end++;
	}
	if (end > limit)
		end = limit;
	/* never cut a UTF-8 character in two */
	while (end < lx->len && ((unsigned char)lx->src[end] & 0xC0) == 0x80)
		end++;
	return end;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at off, or -1. */
static long u_escape_at(const struct kql_lex *lx, size_t off)
{
	long v = 0;

	if (off + 6 > lx->len || lx->src[off] != '\\' ||
	    lx->src[off + 1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval((unsigned char)lx->src[off + i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t utf8_put(char *out, unsigned long cp)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Decode "\uXXXX" at pos into out (a surrogate pair of two escapes makes
 * one character, as in JavaScript; a lone surrogate becomes U+FFFD).
 * Returns the bytes written, or 0 if there is no such escape.
 */
static size_t decode_u(struct kql_lex *lx, char *out)
{
	long hi = u_escape_at(lx, lx->pos), lo;

	if (hi < 0)
		return 0;
	lx->pos += 6;
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		lo = u_escape_at(lx, lx->pos);
		if (lo >= 0xDC00 && lo <= 0xDFFF) {
			lx->pos += 6;
			return utf8_put(out, 0x10000 + ((hi - 0xD800) << 10) +
					(lo - 0xDC00));
		}
		return utf8_put(out, 0xFFFD);
	}
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return utf8_put(out, 0xFFFD);
	return utf8_put(out, (unsigned long)hi);
}

static int reserve(struct kql_lex *lx, size_t need)
{
	char *b;
	unsigned char *w;

	if (need <= lx->cap)
		return 0;
	b = realloc(lx->buf, need);
	if (!b)
		return -FD_ERR_NOMEM;
	lx->buf = b;
	w = realloc(lx->wbuf, need);
	if (!w)
		return -FD_ERR_NOMEM;
	lx->wbuf = w;
	lx->cap = need;
	return 0;
}

/*
 * Length of the JavaScript whitespace (String.prototype.trim's set) that
 * starts at s[0] (at_end false) or ends at s[len - 1] (at_end true).
 */
static size_t js_space(const unsigned char *s, size_t len, bool at_end)
{
	static const char *const wide[] = {
		"\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
		"\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85",
		"\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89",
		"\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
		"\xE2\x81\x9F", "\xE3\x80\x80", "\xEF\xBB\xBF",
	};
	unsigned char c;

	if (len == 0)
		return 0;
	c = at_end ? s[len - 1] : s[0];
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return 1;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		size_t n = strlen(wide[i]);

		if (n <= len && !memcmp(at_end ? s + len - n : s, wide[i], n))
			return n;
	}
	return 0;
}

static int bad_escape(struct kql_lex *lx, size_t off)
{
	size_t end = off + 1;

	if (end >= lx->len)
		return kql_error(lx, FD_ERR_SYNTAX, off, "invalid escape "
				 "'\\' at the end of the query");
	if (lx->src[end] == 'u') {
		/* show what follows \u, up to four characters */
		for (end++; end < lx->len && end < off + 6 &&
		     isalnum((unsigned char)lx->src[end]); end++)
			;
	} else {
		end++;
		while (end < lx->len &&
		       ((unsigned char)lx->src[end] & 0xC0) == 0x80)
			end++;
	}
	return kql_error(lx, FD_ERR_SYNTAX, off, "invalid escape '%.*s'",
			 (int)(end - off), lx->src + off);
}

/* One escape of an unquoted literal at pos; returns bytes written. */
static int unquoted_escape(struct kql_lex *lx, size_t *n)
{
	char *out = lx->buf + *n;
	unsigned char next;
	size_t kw;

	next = lx->pos + 1 < lx->len ? (unsigned char)lx->src[lx->pos + 1] : 0;
	if (next == 't' || next == 'r' || next == 'n') {
		*out = next == 't' ? '\t' : next == 'r' ? '\r' : '\n';
		lx->wbuf[(*n)++] = 0;
		lx->pos += 2;
		return 0;
	}
	if (is_special(next)) {
		*out = (char)next;
		lx->wbuf[(*n)++] = 0;
		lx->pos += 2;
		return 0;
	}
	if (next == 'u') {
		size_t w = decode_u(lx, out);

		if (w) {
			memset(lx->wbuf + *n, 0, w);
			*n += w;
			return 0;
		}
	}
	kw = word_at(lx, lx->pos + 1, "or") ? 2 :
	     word_at(lx, lx->pos + 1, "and") ? 3 :
	     word_at(lx, lx->pos + 1, "not") ? 3 : 0;
	if (kw) {
		memcpy(out, lx->src + lx->pos + 1, kw);
		memset(lx->wbuf + *n, 0, kw);
		*n += kw;
		lx->pos += 1 + kw;
		return 0;
	}
	return bad_escape(lx, lx->pos);
}

static int read_unquoted(struct kql_lex *lx, size_t *n)
{
	for (;;) {
		unsigned char c = kql_peek(lx);
		size_t kw;
		int rc;

		if (c == '\\') {
			rc = unquoted_escape(lx, n);
			if (rc < 0)
				return rc;
			continue;
		}
		if (c == '*') {
			lx->buf[*n] = '*';
			lx->wbuf[(*n)++] = 1;
			lx->pos++;
			continue;
		}
		if (lx->pos >= lx->len || is_special(c) ||
		    kql_at_keyword(lx, lx->pos, &kw))
			return 0;
		lx->buf[*n] = (char)c;
		lx->wbuf[(*n)++] = 0;
		lx->pos++;
	}
}

static int read_quoted(struct kql_lex *lx, size_t *n)
{
	size_t open = lx->pos++;
	bool escaped_quote = false;

	for (;;) {
		unsigned char c = kql_peek(lx), next;
		size_t w;

		if (lx->pos >= lx->len)
			return kql_error(lx, FD_ERR_SYNTAX, open, "%s",
					 escaped_quote ?
					 "unterminated quoted string (its "
					 "last '\"' is escaped by '\\')" :
					 "unterminated quoted string");
		if (c == '"') {
			lx->pos++;
			return 0;
		}
		next = lx->pos + 1 < lx->len ?
		       (unsigned char)lx->src[lx->pos + 1] : 0;
		if (c == '\\' && (next == 't' || next == 'r' || next == 'n')) {
			lx->buf[(*n)++] = next == 't' ? '\t' :
					  next == 'r' ? '\r' : '\n';
			lx->pos += 2;
		} else if (c == '\\' && (w = decode_u(lx, lx->buf + *n)) > 0) {
			*n += w;
		} else if (c == '\\' && (next == '\\' || next == '"')) {
			escaped_quote = next == '"';
			lx->buf[(*n)++] = (char)next;
			lx->pos += 2;
		} else {
			/* any other backslash is kept as it is */
			lx->buf[(*n)++] = (char)c;
			lx->pos++;
		}
	}
}

/*
 * Read a quoted or unquoted literal at pos.  Returns 1 with *out filled,
 * 0 if no literal starts here (nothing consumed), or a negative fd_err.
 */
int kql_read_literal(struct kql_lex *lx, struct kql_lit *out)
{
	size_t start = lx->pos, n = 0, lead = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = reserve(lx, lx->len - lx->pos + 1);
	if (rc < 0)
		return rc;
	out->quoted = kql_peek(lx) == '"';
	rc = out->quoted ? read_quoted(lx, &n) : read_unquoted(lx, &n);
	if (rc < 0)
		return rc;
	if (lx->pos == start)
		return 0;
	if (!out->quoted) {
		const unsigned char *b = (const unsigned char *)lx->buf;
		size_t sp;

		while ((sp = js_space(b + lead, n - lead, false)) > 0)
			lead += sp;
		while ((sp = js_space(b + lead, n - lead, true)) > 0)
			n -= sp;
	}
	out->start = start;
	out->end = lx->pos;
	out->len = n - lead;
	out->text = kql_memdup(lx->arena, lx->buf + lead, out->len);
	if (!out->text)
		return -FD_ERR_NOMEM;
	if (!out->quoted && memchr(lx->wbuf + lead, 1, out->len)) {
		out->has_wild = true;
		out->wild = (unsigned char *)kql_memdup(lx->arena,
							lx->wbuf + lead,
							out->len);
		if (!out->wild)
			return -FD_ERR_NOMEM;
	}
	lx->last = *out;
	lx->have_last = true;
	return 1;
}

/*
 * A decimal number, all of s: [+-]? (digits [. digits] | . digits)
 * ([eE] [+-]? digits)?.  No hex, inf or nan, no spaces.
 */
bool kql_parse_number(const char *s, size_t len, double *out)
{
	size_t i = 0, digits = 0;
	char *end;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (!digits)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && isdigit((unsigned char)s[i]); i++)
			exp++;
		if (!exp)
			return false;
	}
	if (i != len || memchr(s, '\0', len))
		return false;
	*out = strtod(s, &end);
	return end == s + len;
}
