/*
 * sparse.c - parse a JSON text into only what a set of field paths reads.
 *
 * One pass checks the whole text against the grammar cJSON 1.7 accepts
 * (its quirks included: a backslash always takes the next byte when the
 * end of a string is sought, "\u" with bad hex digits is a NUL, numbers
 * are whatever strtod takes of a run of [0-9+-.eE]; at most
 * CJSON_NESTING_LIMIT nested containers) and, unlike cJSON, refuses
 * anything but whitespace after the value.  Nodes are built only where a
 * path can lead: at each object every key is matched against what is
 * left of the paths exactly as field.c follows them, so nested objects,
 * literal dotted keys and any mix of the two resolve as on the whole
 * document.  A member no path reaches is skipped by a loop that finds
 * string ends 16 bytes at a time and counts brackets, allocating nothing.
 * Nodes come from chunks and strings from one buffer, both kept from one
 * text to the next, so a stream runs in constant memory.
 */
#include "sparse.h"

#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fd_err.h"

#define FIRST_CHUNK 256		/* nodes in the first chunk */
#define MAX_CHUNK 65536		/* chunks stop doubling here */

struct node_chunk {
	struct node_chunk *next;
	size_t n;
	cJSON node[];
};

/* The paths as a trie of bytes: a key leads from a node to the node its
 * bytes spell, and a path goes on through a '.' child. */
struct tnode {
	uint32_t child;			/* first child; 0: none (0 is the root) */
	uint32_t sibling;
	unsigned char byte;
	bool end;			/* a path ends here */
};

struct fd_sparse {
	struct tnode *trie;
	size_t ntrie, trie_cap;
	size_t npaths;
	size_t path_bytes;
	bool keep_all;			/* a pattern: keep every value */

	uint64_t *quotes;		/* the text's unescaped '"', a bit each */
	size_t quotes_cap;		/* in words */

	unsigned char *bytes;		/* the strings of one parse */
	size_t bytes_cap, bytes_used;

	unsigned char *key;		/* one key with escapes, decoded */
	size_t key_cap;

	struct node_chunk *chunks, *cur;
	size_t used;			/* nodes taken from cur */
	size_t chunk_bytes;
};

struct scan {
	struct fd_sparse *sp;
	const struct tnode *trie;
	const unsigned char *base, *p, *end;
	const uint64_t *quotes;
	size_t nwords;
	bool has_bs;			/* the text holds a backslash */
	const unsigned char *bad;	/* where the text went wrong */
	bool nomem;
};

/* ---- the path set ---- */

int fd_sparse_new(struct fd_sparse **out)
{
	struct fd_sparse *sp = calloc(1, sizeof(*sp));

	*out = NULL;
	if (!sp)
		return -FD_ERR_NOMEM;
	sp->trie = calloc(16, sizeof(*sp->trie));
	if (!sp->trie) {
		free(sp);
		return -FD_ERR_NOMEM;
	}
	sp->trie_cap = 16;
	sp->ntrie = 1;			/* the root */
	*out = sp;
	return 0;
}

static uint32_t trie_child(const struct tnode *t, uint32_t n, unsigned char c)
{
	for (uint32_t k = t[n].child; k; k = t[k].sibling)
		if (t[k].byte == c)
			return k;
	return 0;
}

/* The child of n for byte c, made if missing; 0 when out of memory. */
static uint32_t trie_make(struct fd_sparse *sp, uint32_t n, unsigned char c)
{
	uint32_t k = trie_child(sp->trie, n, c);

	if (k)
		return k;
	if (sp->ntrie == sp->trie_cap) {
		size_t cap = sp->trie_cap * 2;
		struct tnode *nt = realloc(sp->trie, cap * sizeof(*nt));

		if (!nt || cap > UINT32_MAX) {
			free(nt == sp->trie ? NULL : nt);
			return 0;
		}
		sp->trie = nt;
		sp->trie_cap = cap;
	}
	k = (uint32_t)sp->ntrie++;
	sp->trie[k] = (struct tnode){ .child = 0, .sibling = sp->trie[n].child,
				     .byte = c, .end = false };
	sp->trie[n].child = k;
	return k;
}

static int trie_add(struct fd_sparse *sp, const char *s, uint32_t *n)
{
	for (; *s; s++) {
		*n = trie_make(sp, *n, (unsigned char)*s);
		if (!*n)
			return -FD_ERR_NOMEM;
	}
	return 0;
}

int fd_sparse_add(struct fd_sparse *sp, const char *prefix, const char *path)
{
	uint32_t n = 0;
	int rc;

	if (!*path)
		return 0;
	if (strchr(path, '*') || (prefix && strchr(prefix, '*')))
		sp->keep_all = true;
	if (prefix) {
		rc = trie_add(sp, prefix, &n);
		if (rc == 0)
			rc = trie_add(sp, ".", &n);
		if (rc < 0)
			return rc;
	}
	rc = trie_add(sp, path, &n);
	if (rc < 0)
		return rc;
	if (!sp->trie[n].end) {
		sp->trie[n].end = true;
		sp->npaths++;
		sp->path_bytes += (prefix ? strlen(prefix) + 1 : 0) +
				  strlen(path);
	}
	return 0;
}

int fd_sparse_add_list(struct fd_sparse *sp, const char *const *paths,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = fd_sparse_add(sp, NULL, paths[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

bool fd_sparse_keeps_all(const struct fd_sparse *sp)
{
	return sp->keep_all;
}

/* ---- memory of one parse ---- */

static cJSON *node(struct scan *s, int type)
{
	struct fd_sparse *sp = s->sp;
	struct node_chunk *c = sp->cur;
	cJSON *n;

	if (!c || sp->used == c->n) {
		struct node_chunk *next = c ? c->next : sp->chunks;

		if (!next) {
			size_t cnt = c ? c->n * 2 : FIRST_CHUNK;

			if (cnt > MAX_CHUNK)
				cnt = MAX_CHUNK;
			next = malloc(sizeof(*next) + cnt * sizeof(cJSON));
			if (!next) {
				s->nomem = true;
				return NULL;
			}
			next->next = NULL;
			next->n = cnt;
			sp->chunk_bytes += sizeof(*next) + cnt * sizeof(cJSON);
			if (c)
				c->next = next;
			else
				sp->chunks = next;
		}
		sp->cur = c = next;
		sp->used = 0;
	}
	n = &c->node[sp->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/*
 * n bytes of the parse's string buffer.  Every string or number kept is
 * decoded from a distinct stretch of the text no shorter than the result
 * plus its NUL (the closing quote, or the byte after a number), so a
 * buffer of len + 1 bytes always suffices; running out is a bug, and
 * reported as a failure rather than trusted.
 */
static unsigned char *bytes(struct scan *s, size_t n)
{
	struct fd_sparse *sp = s->sp;
	unsigned char *b;

	if (n > sp->bytes_cap - sp->bytes_used) {
		s->nomem = true;
		return NULL;
	}
	b = sp->bytes + sp->bytes_used;
	sp->bytes_used += n;
	return b;
}

static bool grow(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *nb;

	if (need <= *cap)
		return true;
	if (need < 4096)
		need = 4096;
	nb = realloc(*buf, need);
	if (!nb)
		return false;
	*buf = nb;
	*cap = need;
	return true;
}

static void *fail(struct scan *s, const unsigned char *where)
{
	if (!s->bad)
		s->bad = where;
	return NULL;
}

/* ---- lexical pieces, as cJSON reads them ---- */

/* cJSON skips every byte up to 0x20 (NUL and controls too). */
static inline const unsigned char *ws(const unsigned char *p,
				      const unsigned char *end)
{
	while (p < end && *p <= ' ')
		p++;
	return p;
}

/* The first '"' or '\\' at or after p, or end. */
static inline const unsigned char *find_special(const unsigned char *p,
						const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, quote),
				     _mm_cmpeq_epi8(v, bslash)));

		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * The closing quote of a string whose body starts at p, found as cJSON
 * finds it: a backslash always takes the next byte with it.  *esc tells
 * whether the body holds a backslash.  NULL if the text ends first.
 */
static const unsigned char *string_close(const unsigned char *p,
					 const unsigned char *end, bool *esc)
{
	for (;;) {
		p = find_special(p, end);
		if (p == end)
			return NULL;
		if (*p == '"')
			return p;
		*esc = true;
		if (end - p < 2)
			return NULL;
		p += 2;
	}
}

/* cJSON's parse_hex4: a bad digit makes the whole value 0. */
static unsigned hex4(const unsigned char *h)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = h[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + 10 + (unsigned)(c - 'A');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + 10 + (unsigned)(c - 'a');
		else
			return 0;
	}
	return v;
}

/*
 * One \uXXXX (or a surrogate pair of them) at b, in a body ending at e:
 * its UTF-8 into out (NULL: only count) and *n; returns the bytes it
 * took from the text, or 0 where cJSON refuses it.
 */
static int utf16(const unsigned char *b, const unsigned char *e,
		 unsigned char *out, size_t *n)
{
	unsigned long cp;
	unsigned first;
	int take = 6;
	size_t len;

	if (e - b < 6)
		return 0;
	first = hex4(b + 2);
	if (first >= 0xDC00 && first <= 0xDFFF)
		return 0;
	if (first >= 0xD800 && first <= 0xDBFF) {
		const unsigned char *lo = b + 6;
		unsigned second;

		if (e - lo < 6 || lo[0] != '\\' || lo[1] != 'u')
			return 0;
		second = hex4(lo + 2);
		if (second < 0xDC00 || second > 0xDFFF)
			return 0;
		cp = 0x10000 + (((first & 0x3FFUL) << 10) |
				(second & 0x3FFUL));
		take = 12;
	} else {
		cp = first;
	}
	len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	if (out) {
		static const unsigned char mark[5] = { 0, 0, 0xC0, 0xE0, 0xF0 };

		for (size_t i = len - 1; i > 0; i--) {
			out[i] = (unsigned char)((cp & 0x3F) | 0x80);
			cp >>= 6;
		}
		out[0] = (unsigned char)(cp | mark[len]);
	}
	*n = len;
	return take;
}

/*
 * Decode the body [b, e) of a string with escapes as cJSON does, into
 * out (NULL: only check).  Returns its length, or -1 where cJSON refuses
 * it.  b[1] may be the closing quote itself (cJSON reads it so after an
 * odd \u), never past it; the result is never longer than e - b.
 */
static ptrdiff_t unescape(const unsigned char *b, const unsigned char *e,
			  unsigned char *out)
{
	size_t n = 0;

	while (b < e) {
		unsigned char c;

		if (*b != '\\') {
			const unsigned char *q = memchr(b, '\\',
							(size_t)(e - b));
			size_t run;

			if (!q)
				q = e;
			run = (size_t)(q - b);
			if (out)
				memcpy(out + n, b, run);
			n += run;
			b = q;
			continue;
		}
		switch (b[1]) {
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case '"':
		case '\\':
		case '/':
			c = b[1];
			break;
		case 'u': {
			size_t len;
			int take = utf16(b, e, out ? out + n : NULL, &len);

			if (!take)
				return -1;
			n += len;
			b += take;
			continue;
		}
		default:
			return -1;
		}
		if (out)
			out[n] = c;
		n++;
		b += 2;
	}
	return (ptrdiff_t)n;
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The bytes cJSON copies for strtod. */
static inline bool is_number_byte(unsigned char c)
{
	return is_digit(c) || c == '+' || c == '-' || c == '.' ||
	       c == 'e' || c == 'E';
}

/*
 * The end of the number at p (a '-' or a digit), or NULL.  cJSON hands
 * strtod the run of number bytes; whatever strtod leaves of the run is a
 * number byte no rule accepts next, so the number is good only when
 * strtod's decimal form covers the whole run.
 */
static const unsigned char *number_end(const unsigned char *p,
				       const unsigned char *end)
{
	const unsigned char *q = p;
	size_t digits = 0;

	if (*q == '-')
		q++;
	for (; q < end && is_digit(*q); q++)
		digits++;
	if (q < end && *q == '.')
		for (q++; q < end && is_digit(*q); q++)
			digits++;
	if (!digits)
		return NULL;
	if (q < end && (*q == 'e' || *q == 'E')) {
		const unsigned char *x = q + 1;

		if (x < end && (*x == '+' || *x == '-'))
			x++;
		if (x < end && is_digit(*x)) {
			while (x < end && is_digit(*x))
				x++;
			q = x;
		}
	}
	if (q < end && is_number_byte(*q))
		return NULL;
	return q;
}

/* ---- skipping: check a value, keep nothing ---- */

static bool skip_string(struct scan *s, const unsigned char **pp)
{
	const unsigned char *b = *pp + 1, *e;
	bool esc = false;

	e = string_close(b, s->end, &esc);
	if (!e || (esc && unescape(b, e, NULL) < 0)) {
		fail(s, *pp);
		return false;
	}
	*pp = e + 1;
	return true;
}

static bool literal(const unsigned char **pp, const unsigned char *end,
		    const char *word, size_t len)
{
	if ((size_t)(end - *pp) < len || memcmp(*pp, word, len))
		return false;
	*pp += len;
	return true;
}

/*
 * Skip the value at s->p (whitespace already skipped) with depth
 * containers open around it.  Containers are followed with a bit per
 * level (object or array) instead of recursion.
 */
static bool skip_value(struct scan *s, unsigned depth)
{
	uint64_t is_obj[CJSON_NESTING_LIMIT / 64 + 1];
	const unsigned char *p = s->p, *end = s->end, *q;
	unsigned level = 0;
	bool obj;

value:
	if (p == end)
		goto bad;
	switch (*p) {
	case '"':
		if (!skip_string(s, &p))
			return false;
		break;
	case '{':
	case '[':
		if (depth + level >= CJSON_NESTING_LIMIT)
			goto bad;
		obj = *p == '{';
		if (obj)
			is_obj[level / 64] |= UINT64_C(1) << (level % 64);
		else
			is_obj[level / 64] &= ~(UINT64_C(1) << (level % 64));
		level++;
		p = ws(p + 1, end);
		if (p < end && *p == (obj ? '}' : ']')) {
			p++;
			level--;
			break;
		}
		if (obj)
			goto key;
		goto value;
	case 't':
		if (!literal(&p, end, "true", 4))
			goto bad;
		break;
	case 'f':
		if (!literal(&p, end, "false", 5))
			goto bad;
		break;
	case 'n':
		if (!literal(&p, end, "null", 4))
			goto bad;
		break;
	default:
		if (*p != '-' && !is_digit(*p))
			goto bad;
		q = number_end(p, end);
		if (!q)
			goto bad;
		p = q;
		break;
	}
next:
	if (level == 0) {
		s->p = p;
		return true;
	}
	obj = is_obj[(level - 1) / 64] >> ((level - 1) % 64) & 1;
	p = ws(p, end);
	if (p == end)
		goto bad;
	if (*p == ',') {
		p = ws(p + 1, end);
		if (obj)
			goto key;
		goto value;
	}
	if (*p != (obj ? '}' : ']'))
		goto bad;
	p++;
	level--;
	goto next;
key:
	if (p == end || *p != '"' || !skip_string(s, &p))
		goto bad;
	p = ws(p, end);
	if (p == end || *p != ':')
		goto bad;
	p = ws(p + 1, end);
	goto value;
bad:
	fail(s, p);
	return false;
}

/* ---- building: keep a whole value ---- */

/* The string at s->p, decoded into the parse's buffer. */
static char *string_at(struct scan *s)
{
	const unsigned char *b = s->p + 1, *e;
	unsigned char *out;
	ptrdiff_t len;
	bool esc = false;

	e = string_close(b, s->end, &esc);
	if (!e)
		return fail(s, s->p);
	out = bytes(s, (size_t)(e - b) + 1);
	if (!out)
		return NULL;
	if (esc) {
		len = unescape(b, e, out);
		if (len < 0)
			return fail(s, s->p);
	} else {
		len = e - b;
		memcpy(out, b, (size_t)len);
	}
	out[len] = '\0';
	s->p = e + 1;
	return (char *)out;
}

/* A number as cJSON makes it: strtod in the current locale, valueint
 * saturated. */
static cJSON *number_at(struct scan *s)
{
	const unsigned char *q = number_end(s->p, s->end);
	char point = *localeconv()->decimal_point;
	unsigned char *txt;
	size_t len;
	double d;
	cJSON *n;

	if (!q)
		return fail(s, s->p);
	len = (size_t)(q - s->p);
	txt = bytes(s, len + 1);
	n = txt ? node(s, cJSON_Number) : NULL;
	if (!n)
		return NULL;
	for (size_t i = 0; i < len; i++)
		txt[i] = s->p[i] == '.' ? (unsigned char)point : s->p[i];
	txt[len] = '\0';
	d = strtod((const char *)txt, NULL);
	n->valuedouble = d;
	n->valueint = d >= INT_MAX ? INT_MAX :
		      d <= (double)INT_MIN ? INT_MIN : (int)d;
	s->p = q;
	return n;
}

static void append(cJSON *parent, cJSON **last, cJSON *kid)
{
	if (!parent->child) {
		parent->child = kid;
	} else {
		(*last)->next = kid;
		kid->prev = *last;
	}
	*last = kid;
	parent->child->prev = kid;
}

/*
 * After a member or an element: ',' (s->p moves past it and the
 * whitespace after it, and true is returned) or the closing byte (s->p
 * moves past it, *done is set).  Anything else fails.
 */
static bool separator(struct scan *s, unsigned char close, bool *done)
{
	const unsigned char *p = ws(s->p, s->end);

	if (p < s->end && *p == ',') {
		s->p = ws(p + 1, s->end);
		return true;
	}
	if (p < s->end && *p == close) {
		s->p = p + 1;
		*done = true;
		return true;
	}
	fail(s, p);
	return false;
}

/* Open a container at s->p: its node, or NULL; *empty when it closes at
 * once. */
static cJSON *open_container(struct scan *s, unsigned depth, int type,
			     bool *empty)
{
	unsigned char close = type == cJSON_Object ? '}' : ']';
	cJSON *n;

	if (depth >= CJSON_NESTING_LIMIT)
		return fail(s, s->p);
	n = node(s, type);
	if (!n)
		return NULL;
	s->p = ws(s->p + 1, s->end);
	*empty = s->p < s->end && *s->p == close;
	if (*empty)
		s->p++;
	return n;
}

/* A member's name and the ':' after it; s->p ends on its value. */
static bool member_colon(struct scan *s)
{
	s->p = ws(s->p, s->end);
	if (s->p == s->end || *s->p != ':') {
		fail(s, s->p);
		return false;
	}
	s->p = ws(s->p + 1, s->end);
	return true;
}

static cJSON *build_value(struct scan *s, unsigned depth);

static cJSON *build_container(struct scan *s, unsigned depth, int type)
{
	bool obj = type == cJSON_Object, done = false;
	cJSON *n = open_container(s, depth, type, &done), *last = NULL;

	if (!n)
		return NULL;
	while (!done) {
		char *key = NULL;
		cJSON *kid;

		if (obj) {
			if (s->p == s->end || *s->p != '"')
				return fail(s, s->p);
			key = string_at(s);
			if (!key || !member_colon(s))
				return NULL;
		}
		kid = build_value(s, depth + 1);
		if (!kid)
			return NULL;
		kid->string = key;
		append(n, &last, kid);
		if (!separator(s, obj ? '}' : ']', &done))
			return NULL;
	}
	return n;
}

static cJSON *build_value(struct scan *s, unsigned depth)
{
	const unsigned char *p = s->p;
	cJSON *n;

	if (p == s->end)
		return fail(s, p);
	switch (*p) {
	case '"':
		n = node(s, cJSON_String);
		if (n && !(n->valuestring = string_at(s)))
			return NULL;
		return n;
	case '{':
		return build_container(s, depth, cJSON_Object);
	case '[':
		return build_container(s, depth, cJSON_Array);
	case 't':
		if (!literal(&s->p, s->end, "true", 4))
			return fail(s, p);
		n = node(s, cJSON_True);
		if (n)
			n->valueint = 1;
		return n;
	case 'f':
		if (!literal(&s->p, s->end, "false", 5))
			return fail(s, p);
		return node(s, cJSON_False);
	case 'n':
		if (!literal(&s->p, s->end, "null", 4))
			return fail(s, p);
		return node(s, cJSON_NULL);
	default:
		if (*p != '-' && !is_digit(*p))
			return fail(s, p);
		return number_at(s);
	}
}

/* ---- the sparse walk: keep what the paths reach ---- */

/*
 * field.c's after_key() over a key of klen bytes (cut at a NUL, as cJSON's
 * C string would be): if the key is the first segments of path, the rest
 * of the path after the '.' ("" at its end); else NULL.
 */
static const char *after_key(const unsigned char *key, size_t klen,
			     const char *path)
{
	size_t i = 0;

	while (i < klen && key[i] && key[i] == (unsigned char)path[i])
		i++;
	if (i < klen && key[i])
		return NULL;
	if (path[i] == '.')
		return path + i + 1;
	return path[i] ? NULL : path + i;
}

static cJSON *sparse_value(struct scan *s, unsigned depth,
			   const char *const *rest, size_t nrest,
			   size_t level);

/*
 * One member of an object the paths rest lead into: its value kept
 * whole when a path ends at its key, walked with what is left of the
 * paths when some go on through it, else skipped.  *kid is the member
 * kept, or NULL.
 */
static bool member(struct scan *s, unsigned depth, const char *const *rest,
		   size_t nrest, size_t level, cJSON **kid)
{
	struct fd_sparse *sp = s->sp;
	const char **next = sp->rest + (level + 1) * sp->npaths;
	const unsigned char *b, *e, *key;
	size_t klen, nnext = 0;
	bool esc = false, whole = false;

	*kid = NULL;
	if (s->p == s->end || *s->p != '"')
		goto bad;
	b = s->p + 1;
	e = string_close(b, s->end, &esc);
	if (!e)
		goto bad;
	key = b;
	klen = (size_t)(e - b);
	if (esc) {
		ptrdiff_t len;

		if (!grow(&sp->key, &sp->key_cap, klen + 1)) {
			s->nomem = true;
			return false;
		}
		len = unescape(b, e, sp->key);
		if (len < 0)
			goto bad;
		key = sp->key;
		klen = (size_t)len;
	}
	for (size_t i = 0; i < nrest; i++) {
		const char *r = after_key(key, klen, rest[i]);

		if (!r)
			continue;
		if (!*r)
			whole = true;
		else
			next[nnext++] = r;
	}
	s->p = e + 1;
	if (!member_colon(s))
		return false;
	if (!whole && !nnext)
		return skip_value(s, depth + 1);
	{
		/* The name is copied before the value: a deeper member may
		 * reuse sp->key. */
		unsigned char *name = bytes(s, klen + 1);

		if (!name)
			return false;
		memcpy(name, key, klen);
		name[klen] = '\0';
		*kid = whole ? build_value(s, depth + 1) :
		       sparse_value(s, depth + 1, next, nnext, level + 1);
		if (!*kid)
			return false;
		(*kid)->string = (char *)name;
	}
	return true;
bad:
	fail(s, s->p);
	return false;
}

static cJSON *sparse_container(struct scan *s, unsigned depth, int type,
			       const char *const *rest, size_t nrest,
			       size_t level)
{
	bool obj = type == cJSON_Object, done = false;
	cJSON *n = open_container(s, depth, type, &done), *last = NULL;

	if (!n)
		return NULL;
	while (!done) {
		cJSON *kid;

		if (obj) {
			if (!member(s, depth, rest, nrest, level, &kid))
				return NULL;
		} else {
			/* Arrays are walked through: same paths. */
			kid = sparse_value(s, depth + 1, rest, nrest, level);
			if (!kid)
				return NULL;
		}
		if (kid)
			append(n, &last, kid);
		if (!separator(s, obj ? '}' : ']', &done))
			return NULL;
	}
	return n;
}

/* A value some paths go on through: containers are walked, a scalar is
 * kept as it is (it ends those paths, but a caller may look at it). */
static cJSON *sparse_value(struct scan *s, unsigned depth,
			   const char *const *rest, size_t nrest,
			   size_t level)
{
	if (s->p < s->end && *s->p == '{')
		return sparse_container(s, depth, cJSON_Object, rest, nrest,
					level);
	if (s->p < s->end && *s->p == '[')
		return sparse_container(s, depth, cJSON_Array, rest, nrest,
					level);
	return build_value(s, depth);
}

/* ---- parse ---- */

static int prepare(struct fd_sparse *sp, size_t len)
{
	size_t rows = sp->maxlen + 2, need = rows * sp->npaths + 1;

	if (need > sp->rest_cap) {
		const char **nr = realloc(sp->rest, need * sizeof(*nr));

		if (!nr)
			return -FD_ERR_NOMEM;
		sp->rest = nr;
		sp->rest_cap = need;
	}
	if (len + 1 > sp->bytes_cap &&
	    !grow(&sp->bytes, &sp->bytes_cap, len + 1))
		return -FD_ERR_NOMEM;
	sp->bytes_used = 0;
	sp->cur = NULL;
	sp->used = 0;
	return 0;
}

int fd_sparse_parse(struct fd_sparse *sp, const char *text, size_t len,
		    const cJSON **doc, size_t *err_off)
{
	struct scan s = { .sp = sp };
	const cJSON *root;
	int rc;

	*doc = NULL;
	rc = prepare(sp, len);
	if (rc < 0)
		return rc;
	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	/* cJSON skips a byte order mark only in a text of 5 bytes or more */
	if (len >= 5 && !memcmp(text, "\xEF\xBB\xBF", 3))
		s.p += 3;
	s.p = ws(s.p, s.end);
	if (sp->keep_all)
		root = build_value(&s, 0);
	else
		root = sparse_value(&s, 0, (const char *const *)sp->paths,
				    sp->npaths, 0);
	if (root) {
		s.p = ws(s.p, s.end);
		if (s.p != s.end)
			root = fail(&s, s.p);
	}
	if (!root) {
		if (s.nomem)
			return -FD_ERR_NOMEM;
		if (err_off)
			*err_off = (size_t)(s.bad - (const unsigned char *)text);
		return -FD_ERR_SYNTAX;
	}
	*doc = root;
	return 0;
}

size_t fd_sparse_footprint(const struct fd_sparse *sp)
{
	size_t n = sizeof(*sp) + sp->paths_cap * sizeof(*sp->paths) +
		   sp->rest_cap * sizeof(*sp->rest) + sp->bytes_cap +
		   sp->key_cap + sp->chunk_bytes;

	for (size_t i = 0; i < sp->npaths; i++)
		n += strlen(sp->paths[i]) + 1;
	return n;
}

void fd_sparse_free(struct fd_sparse *sp)
{
	struct node_chunk *c, *next;

	if (!sp)
		return;
	for (size_t i = 0; i < sp->npaths; i++)
		free(sp->paths[i]);
	free(sp->paths);
	free(sp->rest);
	free(sp->bytes);
	free(sp->key);
	for (c = sp->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(sp);
}
