/*
 * eql_text.c - the compile-time arena, UTF-8 helpers, case folding and
 * wildcard matching for EQL.
 *
 * Folding maps a code point to its lower-case form in the scripts detection
 * rules meet (Latin, Greek, Cyrillic) and never changes the UTF-8 length,
 * so a folded pattern can be compared with a value folded on the fly.
 * Wildcard patterns are classified once (exact, prefix, suffix, contains)
 * and fall back to a star-backtracking matcher over code points.
 */
#include "eql_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct eql_block {
	struct eql_block *next;
	size_t used, cap;
	max_align_t data[];
};

#define EQL_BLOCK_MIN 4096

void *eql_alloc(struct eql_arena *a, size_t size)
{
	struct eql_block *b = a->head;
	size_t align = sizeof(max_align_t);
	size_t need = (size + align - 1) / align * align;
	void *p;

	if (need < size)
		return NULL;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > EQL_BLOCK_MIN ? need : EQL_BLOCK_MIN;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *eql_memdup(struct eql_arena *a, const void *src, size_t len)
{
	char *p = eql_alloc(a, len + 1);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

void eql_arena_free(struct eql_arena *a)
{
	struct eql_block *b = a->head;

	while (b) {
		struct eql_block *next = b->next;

		free(b);
		b = next;
	}
	a->head = NULL;
}

/* ---- UTF-8 ---- */

size_t eql_utf8_next(const char *str, size_t n, size_t i, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[i];
	uint32_t v;
	size_t len, k;

	if (c < 0x80) {
		*cp = c;
		return i + 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
	} else {
		goto bad;
	}
	if (n - i < len)
		goto bad;
	for (k = 1; k < len; k++) {
		if ((s[i + k] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (s[i + k] & 0x3F);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
		goto bad;
	*cp = v;
	return i + len;
bad:
	*cp = 0xDC00 + c;
	return i + 1;
}

size_t eql_utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t eql_utf8_count(const char *s, size_t n)
{
	size_t i = 0, k = 0;
	uint32_t cp;

	while (i < n) {
		i = eql_utf8_next(s, n, i, &cp);
		k++;
	}
	return k;
}

size_t eql_utf8_offset(const char *s, size_t n, size_t k)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n && k--)
		i = eql_utf8_next(s, n, i, &cp);
	return i;
}

/* ---- case folding ---- */

static uint32_t fold_latin_ext_a(uint32_t c)
{
	if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 ||
	    c == 0x17F)
		return c;	/* no same-length lower case */
	if (c == 0x178)
		return 0xFF;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c + 1 : c;
	return (c & 1) ? c : c + 1;
}

uint32_t eql_fold(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'A' && c <= 'Z') ? c + 32 : c;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if (c >= 0x100 && c <= 0x17F)
		return fold_latin_ext_a(c);
	if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB))
		return c + 32;
	if (c == 0x386)
		return 0x3AC;
	if (c >= 0x388 && c <= 0x38A)
		return c + 37;
	if (c == 0x38C)
		return 0x3CC;
	if (c == 0x38E || c == 0x38F)
		return c + 63;
	if (c >= 0x410 && c <= 0x42F)
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)
		return c + 80;
	if (c >= 0xFF21 && c <= 0xFF3A)
		return c + 32;
	return c;
}

void eql_fold_str(const char *s, size_t n, char *out)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t next;

		if ((unsigned char)s[i] < 0x80) {
			char c = s[i];

			out[i++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
			continue;
		}
		next = eql_utf8_next(s, n, i, &cp);
		if (cp >= 0xDC80 && cp <= 0xDCFF) {
			out[i] = s[i];	/* not UTF-8: keep the byte */
		} else {
			eql_utf8_put(eql_fold(cp), out + i);
		}
		i = next;
	}
}

/* Does s at byte i, folded, start with the folded p? Stores the end. */
static bool ci_prefix_at(const char *s, size_t n, size_t i, const char *p,
			 size_t pn, size_t *end)
{
	size_t j = 0;

	while (j < pn) {
		unsigned char sc, pc;

		if (i >= n)
			return false;
		sc = (unsigned char)s[i];
		pc = (unsigned char)p[j];
		if (sc < 0x80) {
			if (sc >= 'A' && sc <= 'Z')
				sc += 32;
			if (sc != pc)
				return false;
			i++;
			j++;
		} else {
			uint32_t a, b;

			i = eql_utf8_next(s, n, i, &a);
			j = eql_utf8_next(p, pn, j, &b);
			if (eql_fold(a) != b && a != b)
				return false;
		}
	}
	if (end)
		*end = i;
	return true;
}

bool eql_ci_equal(const char *s, size_t n, const char *p, size_t pn)
{
	size_t end;

	if (n != pn)
		return false;
	return ci_prefix_at(s, n, 0, p, pn, &end) && end == n;
}

/* Does a character (as eql_utf8_next() splits them, a stray byte being a
 * character of its own) start at byte i?  Only a valid sequence whose lead
 * byte lies at most 3 bytes before can cover i. */
static bool char_start(const char *s, size_t n, size_t i)
{
	size_t k;

	if (i >= n)
		return true;
	for (k = 1; k <= 3 && k <= i; k++) {
		unsigned char c = (unsigned char)s[i - k];
		uint32_t cp;
		size_t end;

		if (c < 0x80)
			return true;
		if (c < 0xC0)
			continue;
		end = eql_utf8_next(s, n, i - k, &cp);
		return end <= i;
	}
	return true;
}

static size_t next_char(const char *s, size_t n, size_t i)
{
	uint32_t cp;

	if ((unsigned char)s[i] < 0x80)
		return i + 1;
	return eql_utf8_next(s, n, i, &cp);
}

long eql_find(const char *s, size_t n, size_t from, const char *p, size_t pn,
	      bool ci)
{
	size_t i;

	if (from > n)
		return -1;
	if (!ci) {
		const char *hit;

		if (pn == 0)
			return (long)from;
		/* byte matches of valid UTF-8 always fall on characters;
		 * the boundary checks matter only for stray bytes */
		for (i = from; (hit = memmem(s + i, n - i, p, pn)); i++) {
			i = (size_t)(hit - s);
			if (char_start(s, n, i) && char_start(s, n, i + pn))
				return (long)i;
		}
		return -1;
	}
	/* folding keeps lengths, so a match spans pn bytes */
	for (i = from; i + pn <= n; i = next_char(s, n, i))
		if (ci_prefix_at(s, n, i, p, pn, NULL))
			return (long)i;
	return -1;
}

long eql_rfind(const char *s, size_t n, const char *p, size_t pn, bool ci)
{
	size_t i;

	if (pn > n)
		return -1;
	for (i = n - pn + 1; i-- > 0;) {
		if (!char_start(s, n, i))
			continue;
		if (ci ? ci_prefix_at(s, n, i, p, pn, NULL) :
			 !memcmp(s + i, p, pn) && char_start(s, n, i + pn))
			return (long)i;
	}
	return -1;
}

/* ---- wildcards ---- */

void eql_wild_prepare(struct eql_wild *w, const char *pat, size_t len,
		      bool ci)
{
	size_t stars = 0, quests = 0, i;
	bool lead, trail;

	w->ci = ci;
	w->pat = pat;
	w->len = len;
	for (i = 0; i < len; i++) {
		stars += pat[i] == '*';
		quests += pat[i] == '?';
	}
	lead = len && pat[0] == '*';
	trail = len && pat[len - 1] == '*';
	w->kind = EQL_W_GENERAL;
	w->lit = pat;
	w->litlen = len;
	if (quests)
		return;
	if (stars == len && len) {
		w->kind = EQL_W_ANY;
	} else if (stars == 0) {
		w->kind = EQL_W_EXACT;
	} else if (stars == 1 && trail) {
		w->kind = EQL_W_PREFIX;
		w->litlen = len - 1;
	} else if (stars == 1 && lead) {
		w->kind = EQL_W_SUFFIX;
		w->lit = pat + 1;
		w->litlen = len - 1;
	} else if (stars == 2 && lead && trail && len > 2 &&
		   !memchr(pat + 1, '*', len - 2)) {
		w->kind = EQL_W_CONTAINS;
		w->lit = pat + 1;
		w->litlen = len - 2;
	} else {
		w->kind = EQL_W_STARS;
	}
}

/* Star-backtracking match over code points: the last star absorbs one
 * more character each time the rest fails, which is enough for `*` and `?`
 * (no pattern needs more than the latest star to be retried). */
static bool wild_general(const char *p, size_t pn, const char *s, size_t sn,
			 bool ci)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star_p = ++pi;
			star_s = si;
			continue;
		}
		if (pi < pn) {
			uint32_t pc, sc;
			size_t pi2 = eql_utf8_next(p, pn, pi, &pc);
			size_t si2 = eql_utf8_next(s, sn, si, &sc);

			if (pc == '?' || pc == sc ||
			    (ci && pc == eql_fold(sc))) {
				pi = pi2;
				si = si2;
				continue;
			}
		}
		if (star_p != (size_t)-1) {
			uint32_t cp;

			pi = star_p;
			star_s = eql_utf8_next(s, sn, star_s, &cp);
			si = star_s;
			continue;
		}
		return false;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

bool eql_starts_with(const char *s, size_t n, const char *p, size_t pn,
		     bool ci)
{
	if (n < pn)
		return false;
	if (!ci)
		return !memcmp(s, p, pn) && char_start(s, n, pn);
	return ci_prefix_at(s, n, 0, p, pn, NULL);
}

bool eql_ends_with(const char *s, size_t n, const char *p, size_t pn,
		   bool ci)
{
	size_t end;

	if (n < pn)
		return false;
	if (!ci)
		return !memcmp(s + n - pn, p, pn) && char_start(s, n, n - pn);
	/* Folding keeps lengths, so the suffix starts pn bytes from the end
	 * unless that cuts a character, which then cannot match. */
	if (!char_start(s, n, n - pn))
		return false;
	return ci_prefix_at(s, n, n - pn, p, pn, &end) && end == n;
}

/* A pattern of literal pieces joined by stars (no '?'): the first piece is
 * a prefix, the last a suffix, and each middle piece is found leftmost
 * after the one before, which is enough when only '*' is special. */
static bool wild_stars(const char *p, size_t pn, const char *s, size_t sn,
		       bool ci)
{
	const char *star = memchr(p, '*', pn), *last;
	size_t head = (size_t)(star - p), tail, at, end;

	last = memrchr(p, '*', pn);
	tail = pn - (size_t)(last - p) - 1;
	if (head + tail > sn || !eql_starts_with(s, sn, p, head, ci) ||
	    !eql_ends_with(s, sn, last + 1, tail, ci))
		return false;
	at = head;
	end = sn - tail;
	p = star + 1;
	while (p < last) {
		const char *next = memchr(p, '*', (size_t)(last - p) + 1);
		size_t len = (size_t)(next - p);
		long hit;

		if (len) {
			hit = eql_find(s, end, at, p, len, ci);
			if (hit < 0)
				return false;
			at = (size_t)hit + len;
		}
		p = next + 1;
	}
	return true;
}

bool eql_wild_match(const struct eql_wild *w, const char *s, size_t n)
{
	switch (w->kind) {
	case EQL_W_EXACT:
		if (w->ci)
			return eql_ci_equal(s, n, w->lit, w->litlen);
		return n == w->litlen && !memcmp(s, w->lit, n);
	case EQL_W_PREFIX:
		return eql_starts_with(s, n, w->lit, w->litlen, w->ci);
	case EQL_W_SUFFIX:
		return eql_ends_with(s, n, w->lit, w->litlen, w->ci);
	case EQL_W_CONTAINS:
		return eql_find(s, n, 0, w->lit, w->litlen, w->ci) >= 0;
	case EQL_W_ANY:
		return true;
	case EQL_W_STARS:
		return wild_stars(w->pat, w->len, s, n, w->ci);
	case EQL_W_GENERAL:
		break;
	}
	return wild_general(w->pat, w->len, s, n, w->ci);
}
