/*
 * sparse.c - parse a JSON text into only what a set of field paths reads.
 *
 * Two passes.  The first marks, 64 bytes at a time with the widest
 * vectors the CPU has, the quotes that end strings (a backslash takes the
 * next byte, as cJSON has it) and the brackets outside strings.  The
 * second walks the objects the paths lead through, matching each key
 * against a trie of the paths exactly as field.c follows them (nested
 * objects, literal dotted keys, any mix), and checks them against
 * cJSON 1.7's grammar, quirks included ("\u" with bad hex digits is a
 * NUL; a number is whatever strtod takes of a run of [0-9+-.eE]; at most
 * CJSON_NESTING_LIMIT containers deep).  Values a path ends at are built
 * whole, as cJSON would build them.  Values no path reaches are skipped:
 * a string by its closing quote, a container by its brackets alone
 * (which must pair up and nest), its strings' escapes checked; nothing
 * else in them is looked at, and nothing is allocated.  Nodes come from
 * chunks and strings from one buffer, both kept from one text to the
 * next, so a stream runs in constant memory.
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
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_VECTORS 1
#endif

#include "fd_err.h"

#define FIRST_CHUNK 256		/* nodes in the first chunk */
#define MAX_CHUNK 65536		/* chunks stop doubling here */

struct node_chunk {
	struct node_chunk *next;
	size_t n;
	cJSON node[];
};

/*
 * The paths as a trie of bytes: a key leads from a node to the node its
 * bytes spell, and a path goes on through a '.' child.  For the walk the
 * trie is compiled into edges: the runs of bytes between the nodes where
 * paths branch, end or meet a '.' (a '.' is an edge of its own).
 */
struct tnode {
	uint32_t child;			/* first child (0: none) */
	uint32_t sibling;
	unsigned char byte;
	bool end;			/* a path ends here */
	/* compiled */
	uint32_t edge;			/* its first edge in sp->edges */
	uint32_t dot;			/* the child through '.', or 0 */
	uint64_t starts[4];		/* the first bytes of its edges */
};

struct edge {
	uint32_t label;			/* offset in sp->labels */
	uint32_t len;
	uint32_t to;
};

/* What stands where in 64 bytes of text, a bit a byte. */
struct marks {
	uint64_t quote;			/* a '"' no backslash takes */
	uint64_t open;			/* '{' or '[' outside strings */
	uint64_t close;			/* '}' or ']' outside strings */
	uint64_t bslash;		/* '\\' */
};

struct fd_sparse {
	struct tnode *trie;
	size_t ntrie, trie_cap;
	bool keep_all;			/* a pattern: keep every value */
	int vectors;			/* bytes a vector (0: plain C) */
	bool compiled;			/* edges match the trie */
	struct edge *edges;		/* ntrie of them at most */
	unsigned char *labels;		/* ntrie bytes at most */

	struct marks *marks;		/* the text's structure */
	size_t marks_cap;

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
	const struct edge *edges;
	const unsigned char *labels;
	const unsigned char *base, *end;
	const struct marks *marks;
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
	fd_sparse_set_vectors(sp, 64);
	*out = sp;
	return 0;
}

int fd_sparse_set_vectors(struct fd_sparse *sp, int bytes)
{
	int have = 0;

#if defined(__SSE2__)
	have = 16;
#endif
#ifdef HAVE_X86_VECTORS
	/* the wide ways find strings with a carry-less multiply too */
	if (__builtin_cpu_supports("pclmul") &&
	    __builtin_cpu_supports("avx2"))
		have = 32;
	if (__builtin_cpu_supports("pclmul") &&
	    __builtin_cpu_supports("avx512bw"))
		have = 64;
#endif
	if (bytes >= have)
		sp->vectors = have;
	else
		sp->vectors = bytes >= 32 ? 32 : bytes >= 16 ? 16 : 0;
	return sp->vectors;
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
		struct tnode *nt;

		if (cap > UINT32_MAX)
			return 0;
		nt = realloc(sp->trie, cap * sizeof(*nt));
		if (!nt)
			return 0;
		sp->trie = nt;
		sp->trie_cap = cap;
	}
	k = (uint32_t)sp->ntrie++;
	sp->trie[k] = (struct tnode){ .child = 0, .sibling = sp->trie[n].child,
				     .byte = c, .end = false };
	sp->trie[n].child = k;
	sp->compiled = false;
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
		sp->compiled = false;
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

/*
 * Compile into edges the children of every node an edge leads to, from
 * the root (see struct tnode): each node's byte lands in one label.
 */
static int trie_compile(struct fd_sparse *sp)
{
	struct tnode *t = sp->trie;
	size_t nedge = 0, nlabel = 0, nwork = 0;
	struct edge *e = realloc(sp->edges, sp->ntrie * sizeof(*e));
	unsigned char *l;
	uint32_t *work;

	if (!e)
		return -FD_ERR_NOMEM;
	sp->edges = e;
	l = realloc(sp->labels, sp->ntrie);
	if (!l)
		return -FD_ERR_NOMEM;
	sp->labels = l;
	work = malloc(sp->ntrie * sizeof(*work));
	if (!work)
		return -FD_ERR_NOMEM;
	work[nwork++] = 0;
	while (nwork) {
		uint32_t n = work[--nwork];

		t[n].edge = (uint32_t)nedge;
		t[n].dot = 0;
		memset(t[n].starts, 0, sizeof(t[n].starts));
		for (uint32_t c = t[n].child; c; c = t[c].sibling) {
			uint32_t m = c;

			e[nedge].label = (uint32_t)nlabel;
			l[nlabel++] = t[c].byte;
			if (t[c].byte == '.') {
				t[n].dot = c;
			} else {
				while (!t[m].end && t[m].child &&
				       !t[t[m].child].sibling &&
				       t[t[m].child].byte != '.') {
					m = t[m].child;
					l[nlabel++] = t[m].byte;
				}
			}
			e[nedge].len = (uint32_t)nlabel - e[nedge].label;
			e[nedge].to = m;
			t[n].starts[t[c].byte / 64] |=
				UINT64_C(1) << (t[c].byte % 64);
			nedge++;
			work[nwork++] = m;
		}
	}
	free(work);
	sp->compiled = true;
	return 0;
}

/* ---- memory of one parse ---- */

/* Move on to the next chunk of nodes, made if missing; false when out of
 * memory.  Out of line, so that node(), run for every value kept, is
 * inlined. */
static __attribute__((noinline)) bool next_chunk(struct scan *s)
{
	struct fd_sparse *sp = s->sp;
	struct node_chunk *c = sp->cur;
	struct node_chunk *next = c ? c->next : sp->chunks;

	if (!next) {
		size_t cnt = c ? c->n * 2 : FIRST_CHUNK;

		if (cnt > MAX_CHUNK)
			cnt = MAX_CHUNK;
		next = malloc(sizeof(*next) + cnt * sizeof(cJSON));
		if (!next) {
			s->nomem = true;
			return false;
		}
		next->next = NULL;
		next->n = cnt;
		sp->chunk_bytes += sizeof(*next) + cnt * sizeof(cJSON);
		if (c)
			c->next = next;
		else
			sp->chunks = next;
	}
	sp->cur = next;
	sp->used = 0;
	return true;
}

static inline cJSON *node(struct scan *s, int type)
{
	struct fd_sparse *sp = s->sp;
	cJSON *n;

	if ((!sp->cur || sp->used == sp->cur->n) && !next_chunk(s))
		return NULL;
	n = &sp->cur->node[sp->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/*
 * n bytes of the parse's string buffer.  Every string or number kept is
 * decoded from its own stretch of the text, no shorter than the result
 * plus its NUL (the closing quote, or the byte after a number), so len + 1
 * bytes always suffice; running out would be a bug, reported as a failure
 * rather than trusted.
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

static bool grow_bytes(unsigned char **buf, size_t *cap, size_t need)
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

/* ---- the text's structure, 64 bytes at a time ---- */

/* The '"', '\\', '{' or '[', and '}' or ']' of 64 bytes at b. */
static inline __attribute__((always_inline))
void block_marks_c(const unsigned char *b, struct marks *m)
{
	m->quote = m->bslash = m->open = m->close = 0;
	for (int k = 0; k < 64; k++) {
		m->quote |= (uint64_t)(b[k] == '"') << k;
		m->bslash |= (uint64_t)(b[k] == '\\') << k;
		m->open |= (uint64_t)((b[k] | 0x20) == '{') << k;
		m->close |= (uint64_t)((b[k] | 0x20) == '}') << k;
	}
}

#if defined(__SSE2__)
/* The same, 16 bytes at a time. */
static inline __attribute__((always_inline))
void block_marks_sse2(const unsigned char *b, struct marks *m)
{
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i lower = _mm_set1_epi8(0x20); /* '[' | 0x20: '{' */
	const __m128i open = _mm_set1_epi8('{');
	const __m128i close = _mm_set1_epi8('}');

	m->quote = m->bslash = m->open = m->close = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128(
			(const __m128i *)(const void *)(b + 16 * k));
		__m128i l = _mm_or_si128(v, lower);

		m->quote |= (uint64_t)(unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(v, quote)) << (16 * k);
		m->bslash |= (uint64_t)(unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(v, bslash)) << (16 * k);
		m->open |= (uint64_t)(unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(l, open)) << (16 * k);
		m->close |= (uint64_t)(unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(l, close)) << (16 * k);
	}
}
#endif

#ifdef HAVE_X86_VECTORS
/* The same, 32 bytes at a time. */
static inline __attribute__((always_inline, target("avx2")))
void block_marks_avx2(const unsigned char *b, struct marks *m)
{
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i bslash = _mm256_set1_epi8('\\');
	const __m256i lower = _mm256_set1_epi8(0x20);
	const __m256i open = _mm256_set1_epi8('{');
	const __m256i close = _mm256_set1_epi8('}');

	m->quote = m->bslash = m->open = m->close = 0;
	for (int k = 0; k < 2; k++) {
		__m256i v = _mm256_loadu_si256(
			(const __m256i *)(const void *)(b + 32 * k));
		__m256i l = _mm256_or_si256(v, lower);

		m->quote |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
			_mm256_cmpeq_epi8(v, quote)) << (32 * k);
		m->bslash |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
			_mm256_cmpeq_epi8(v, bslash)) << (32 * k);
		m->open |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
			_mm256_cmpeq_epi8(l, open)) << (32 * k);
		m->close |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
			_mm256_cmpeq_epi8(l, close)) << (32 * k);
	}
}

/* The same, 64 bytes at once. */
static inline __attribute__((always_inline, target("avx512bw")))
void block_marks_avx512(const unsigned char *b, struct marks *m)
{
	__m512i v = _mm512_loadu_si512((const void *)b);
	__m512i l = _mm512_or_si512(v, _mm512_set1_epi8(0x20));

	m->quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
	m->bslash = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'));
	m->open = _mm512_cmpeq_epi8_mask(l, _mm512_set1_epi8('{'));
	m->close = _mm512_cmpeq_epi8_mask(l, _mm512_set1_epi8('}'));
}
#endif

/*
 * The bytes a backslash takes with it, cJSON's way (each backslash not
 * itself taken takes the next byte), given the backslashes of a block
 * and whether the previous block's last backslash takes this block's
 * first byte (*carry, updated for the next block).
 */
static uint64_t escaped(uint64_t bs, unsigned *carry)
{
	uint64_t taken = 0;

	if (*carry) {
		taken = 1;
		bs &= ~UINT64_C(1);
	}
	*carry = 0;
	while (bs) {
		unsigned i = (unsigned)__builtin_ctzll(bs);

		if (i == 63) {
			*carry = 1;
			break;
		}
		taken |= UINT64_C(2) << i;
		bs &= ~(UINT64_C(3) << i);
	}
	return taken;
}

/* Bit i set when an odd number of bits 0..i of x are: inside a string,
 * given the quotes that open and close strings. */
static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

#ifdef HAVE_X86_VECTORS
/* The same in one carry-less multiply by all ones. */
static inline __attribute__((always_inline, target("pclmul,sse2")))
uint64_t prefix_xor_clmul(uint64_t x)
{
	__m128i all = _mm_set1_epi8((char)0xFF);
	__m128i v = _mm_set_epi64x(0, (long long)x);

	return (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(v, all, 0));
}
#endif

/*
 * Mark the text's structure: the quotes where cJSON ends strings, and
 * the brackets outside strings.  A backslash outside a string is an
 * error cJSON meets before any quote it could hide, so finding one
 * refuses the text at once.
 */
static inline __attribute__((always_inline))
int mark_blocks(struct scan *s, size_t len,
		void (*marks)(const unsigned char *, struct marks *),
		uint64_t (*inside_of)(uint64_t))
{
	struct fd_sparse *sp = s->sp;
	size_t nw = len / 64 + 1;
	uint64_t inside = 0;
	unsigned carry = 0;

	if (nw > sp->marks_cap) {
		struct marks *nm = realloc(sp->marks, nw * sizeof(*nm));

		if (!nm)
			return -FD_ERR_NOMEM;
		sp->marks = nm;
		sp->marks_cap = nw;
	}
	s->has_bs = false;
	for (size_t w = 0; w < nw; w++) {
		const unsigned char *b = s->base + w * 64;
		struct marks *m = &sp->marks[w];
		unsigned char tail[64];
		uint64_t in, stray;

		if (len - w * 64 < 64) {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, b, len - w * 64);
			b = tail;
		}
		marks(b, m);
		if (m->bslash | carry) {
			s->has_bs = true;
			m->quote &= ~escaped(m->bslash, &carry);
		}
		in = inside_of(m->quote) ^ inside;
		inside = (uint64_t)0 - (in >> 63);
		stray = m->bslash & ~in;
		if (stray) {
			fail(s, s->base + w * 64 +
				(unsigned)__builtin_ctzll(stray));
			return -FD_ERR_SYNTAX;
		}
		m->open &= ~in;
		m->close &= ~in;
	}
	s->marks = sp->marks;
	s->nwords = nw;
	return 0;
}

#ifdef HAVE_X86_VECTORS
__attribute__((target("avx2,pclmul")))
static int mark_text_avx2(struct scan *s, size_t len)
{
	return mark_blocks(s, len, block_marks_avx2, prefix_xor_clmul);
}

__attribute__((target("avx512bw,pclmul")))
static int mark_text_avx512(struct scan *s, size_t len)
{
	return mark_blocks(s, len, block_marks_avx512, prefix_xor_clmul);
}
#endif

/* With the widest vectors allowed (the same marks whichever is used). */
static int mark_text(struct scan *s, size_t len)
{
	switch (s->sp->vectors) {
#ifdef HAVE_X86_VECTORS
	case 64:
		return mark_text_avx512(s, len);
	case 32:
		return mark_text_avx2(s, len);
#endif
#if defined(__SSE2__)
	case 16:
		return mark_blocks(s, len, block_marks_sse2, prefix_xor);
#endif
	default:
		return mark_blocks(s, len, block_marks_c, prefix_xor);
	}
}

/* The quote that closes the string opened at open, or NULL. */
static inline const unsigned char *close_quote(const struct scan *s,
					       const unsigned char *open)
{
	size_t i = (size_t)(open - s->base) + 1, w = i / 64;
	uint64_t m;

	if (w >= s->nwords)
		return NULL;
	m = s->marks[w].quote & (~UINT64_C(0) << (i % 64));
	while (!m) {
		if (++w == s->nwords)
			return NULL;
		m = s->marks[w].quote;
	}
	return s->base + w * 64 + (unsigned)__builtin_ctzll(m);
}

/*
 * The walk through objects takes the quotes in order from a cursor: the
 * next quote is then a bit away, not a search from the last position.
 * Whatever moves past quotes otherwise puts the cursor back with
 * cursor_seek().
 */
struct cursor {
	size_t w;			/* a word of marks */
	uint64_t m;			/* the quotes left in it */
};

static inline void cursor_seek(const struct scan *s, struct cursor *c,
			       const unsigned char *p)
{
	size_t i = (size_t)(p - s->base);

	c->w = i / 64;
	c->m = c->w < s->nwords ?
	       s->marks[c->w].quote & (~UINT64_C(0) << (i % 64)) : 0;
}

/* Take the next quote; NULL when there is none. */
static inline const unsigned char *cursor_next(const struct scan *s,
					       struct cursor *c)
{
	const unsigned char *q;

	while (!c->m) {
		if (c->w + 1 >= s->nwords)
			return NULL;
		c->m = s->marks[++c->w].quote;
	}
	q = s->base + c->w * 64 + (unsigned)__builtin_ctzll(c->m);
	c->m &= c->m - 1;
	return q;
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
 * One \u escape of four hex digits (or a surrogate pair of them) at b,
 * in a body ending at e: its UTF-8 into out (NULL: only count) and *n;
 * returns the bytes it took from the text, or 0 where cJSON refuses it.
 */
static int utf16(const unsigned char *b, const unsigned char *e,
		 unsigned char *out, size_t *n)
{
	static const unsigned char mark[5] = { 0, 0, 0xC0, 0xE0, 0xF0 };
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

/* True when the body [b, e) holds a backslash. */
static inline bool has_escape(const struct scan *s, const unsigned char *b,
			      const unsigned char *e)
{
	return s->has_bs && memchr(b, '\\', (size_t)(e - b));
}

/*
 * The end of the string opened at p (past its closing quote), its
 * escapes checked as cJSON takes them; NULL if it does not end.
 */
static inline const unsigned char *string_end(struct scan *s,
					      const unsigned char *p)
{
	const unsigned char *e = close_quote(s, p);

	if (!e || (has_escape(s, p + 1, e) && unescape(p + 1, e, NULL) < 0))
		return fail(s, p);
	return e + 1;
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
	const unsigned char *q = p + (*p == '-');
	size_t digits = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Most numbers are a few digits and a byte that ends them: eight
	 * bytes at once tell (a byte is a digit when it is below 10 once
	 * '0' is taken off; what follows the first other byte is not
	 * looked at). */
	if (end - q >= 8) {
		uint64_t w, x, other;
		unsigned n;

		memcpy(&w, q, 8);
		x = w ^ UINT64_C(0x3030303030303030);
		other = ((x + UINT64_C(0x7676767676767676)) | x) &
			UINT64_C(0x8080808080808080);
		n = other ? (unsigned)__builtin_ctzll(other) / 8 : 8;
		if (n > 0 && n < 8 && !is_number_byte(q[n]))
			return q + n;
	}
#endif
	q = p;
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

/* The end of the literal word at p, or NULL. */
static inline const unsigned char *literal(const unsigned char *p,
					   const unsigned char *end,
					   const char *word, size_t len)
{
	if ((size_t)(end - p) < len || memcmp(p, word, len))
		return NULL;
	return p + len;
}

/* ---- skipping: check a value, keep nothing ---- */

/* The last unescaped quote before pos (there is one: pos is inside a
 * string). */
static const unsigned char *open_quote(const struct scan *s, size_t pos)
{
	size_t w = pos / 64;
	uint64_t m = s->marks[w].quote & ((UINT64_C(1) << (pos % 64)) - 1);

	while (!m)
		m = s->marks[--w].quote;
	return s->base + w * 64 + 63 - (unsigned)__builtin_clzll(m);
}

/* Check the escapes of every string with a backslash in [from, to). */
static bool check_escapes(struct scan *s, size_t from, size_t to)
{
	while (from < to) {
		size_t w = from / 64, pos;
		uint64_t m = s->marks[w].bslash &
			     (~UINT64_C(0) << (from % 64));
		const unsigned char *open, *close;

		while (!m) {
			if (++w * 64 >= to)
				return true;
			m = s->marks[w].bslash;
		}
		pos = w * 64 + (unsigned)__builtin_ctzll(m);
		if (pos >= to)
			return true;
		open = open_quote(s, pos);
		close = close_quote(s, open);
		if (unescape(open + 1, close, NULL) < 0) {
			fail(s, open);
			return false;
		}
		from = (size_t)(close - s->base) + 1;
	}
	return true;
}

/*
 * Skip the container at p, with depth containers open around it, by its
 * brackets alone: they must pair up ('{' with '}', '[' with ']') and nest
 * at most CJSON_NESTING_LIMIT deep, and the escapes of its strings must
 * be ones cJSON takes; what stands between them is not looked at.
 */
static const unsigned char *skip_container(struct scan *s,
					   const unsigned char *p,
					   unsigned depth)
{
	uint64_t curly[CJSON_NESTING_LIMIT / 64 + 1];
	size_t start = (size_t)(p - s->base), w = start / 64, pos;
	uint64_t from = ~UINT64_C(0) << (start % 64);
	uint64_t open = s->marks[w].open & from & (from - 1);
	uint64_t close = s->marks[w].close & from;
	unsigned level = 1;	/* levels below this container's own */

	if (depth >= CJSON_NESTING_LIMIT)
		return fail(s, p);
	curly[0] = *p == '{';
	for (;;) {
		uint64_t bit;

		while (!(open | close)) {
			if (++w == s->nwords)
				return fail(s, s->end);
			open = s->marks[w].open;
			close = s->marks[w].close;
		}
		bit = (open | close) & (~(open | close) + 1);
		pos = w * 64 + (unsigned)__builtin_ctzll(bit);
		if (open & bit) {
			if (depth + level >= CJSON_NESTING_LIMIT)
				return fail(s, s->base + pos);
			if (s->base[pos] == '{')
				curly[level / 64] |=
					UINT64_C(1) << (level % 64);
			else
				curly[level / 64] &=
					~(UINT64_C(1) << (level % 64));
			level++;
			open &= ~bit;
			continue;
		}
		level--;
		if ((s->base[pos] == '}') !=
		    (curly[level / 64] >> (level % 64) & 1))
			return fail(s, s->base + pos);
		if (level == 0)
			break;
		close &= ~bit;
	}
	if (s->has_bs && !check_escapes(s, start, pos))
		return NULL;
	return s->base + pos + 1;
}

/*
 * The end of the container at p when nothing is nested in it and no
 * string in it has a backslash (the common case of a skipped value), or
 * NULL to take the general way.
 */
static inline const unsigned char *flat_end(const struct scan *s,
					    const unsigned char *p,
					    unsigned depth)
{
	size_t i = (size_t)(p - s->base) + 1, w = i / 64, pos;
	uint64_t both, bit;

	if (w >= s->nwords || s->has_bs || depth >= CJSON_NESTING_LIMIT)
		return NULL;
	both = (s->marks[w].open | s->marks[w].close) &
	       (~UINT64_C(0) << (i % 64));
	bit = both & (~both + 1);
	if (!(s->marks[w].close & bit))
		return NULL;
	pos = w * 64 + (unsigned)__builtin_ctzll(bit);
	if ((s->base[pos] == '}') != (*p == '{'))
		return NULL;
	return s->base + pos + 1;
}

/* Skip the value at p (not whitespace), with depth containers open
 * around it; the end of the value, or NULL. */
static const unsigned char *skip_value(struct scan *s, const unsigned char *p,
				       unsigned depth)
{
	const unsigned char *q = NULL;

	if (p == s->end)
		return fail(s, p);
	switch (*p) {
	case '"':
		return string_end(s, p);
	case '{':
	case '[':
		q = flat_end(s, p, depth);
		return q ? q : skip_container(s, p, depth);
	case 't':
		q = literal(p, s->end, "true", 4);
		break;
	case 'f':
		q = literal(p, s->end, "false", 5);
		break;
	case 'n':
		q = literal(p, s->end, "null", 4);
		break;
	default:
		if (*p == '-' || is_digit(*p))
			q = number_end(p, s->end);
		break;
	}
	return q ? q : fail(s, p);
}

/* ---- building: keep a whole value ---- */

/* The string at p, decoded into the parse's buffer as *out. */
static const unsigned char *string_at(struct scan *s, const unsigned char *p,
				      char **out)
{
	const unsigned char *b = p + 1, *e = close_quote(s, p);
	unsigned char *txt;
	ptrdiff_t len;

	if (!e)
		return fail(s, p);
	txt = bytes(s, (size_t)(e - b) + 1);
	if (!txt)
		return NULL;
	if (has_escape(s, b, e)) {
		len = unescape(b, e, txt);
		if (len < 0)
			return fail(s, p);
	} else {
		len = e - b;
		memcpy(txt, b, (size_t)len);
	}
	txt[len] = '\0';
	*out = (char *)txt;
	return e + 1;
}

/* The number at p as cJSON makes it: strtod in the current locale,
 * valueint saturated. */
static const unsigned char *number_at(struct scan *s, const unsigned char *p,
				      cJSON **out)
{
	const unsigned char *q = number_end(p, s->end);
	char point = *localeconv()->decimal_point;
	unsigned char *txt;
	size_t len;
	double d;
	cJSON *n;

	if (!q)
		return fail(s, p);
	len = (size_t)(q - p);
	txt = bytes(s, len + 1);
	n = txt ? node(s, cJSON_Number) : NULL;
	if (!n)
		return NULL;
	for (size_t i = 0; i < len; i++)
		txt[i] = p[i] == '.' ? (unsigned char)point : p[i];
	txt[len] = '\0';
	d = strtod((const char *)txt, NULL);
	n->valuedouble = d;
	n->valueint = d >= INT_MAX ? INT_MAX :
		      d <= (double)INT_MIN ? INT_MIN : (int)d;
	*out = n;
	return q;
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
 * After a member or an element at p: past a ',' and the whitespace after
 * it (*done stays false), or past the closing byte (*done is set); NULL
 * on anything else.
 */
static inline const unsigned char *separator(struct scan *s,
					     const unsigned char *p,
					     unsigned char close, bool *done)
{
	/* compact text, the usual case: a ',' then the next value */
	if (__builtin_expect(p + 1 < s->end && p[0] == ',' && p[1] > ' ', 1))
		return p + 1;
	p = ws(p, s->end);
	if (p < s->end && *p == ',')
		return ws(p + 1, s->end);
	if (p < s->end && *p == close) {
		*done = true;
		return p + 1;
	}
	return fail(s, p);
}

/* Past the ':' after a member's name at p, and the whitespace after it:
 * the start of the value, which must be there (callers read it). */
static inline const unsigned char *colon(struct scan *s,
					 const unsigned char *p)
{
	if (__builtin_expect(p + 1 < s->end && p[0] == ':' && p[1] > ' ', 1))
		return p + 1;
	p = ws(p, s->end);
	if (p == s->end || *p != ':')
		return fail(s, p);
	p = ws(p + 1, s->end);
	return p < s->end ? p : fail(s, p);
}

/* Open the container at p: its node *out, and where its inside starts;
 * *done when it closes at once. */
static inline const unsigned char *open_container(struct scan *s,
						  const unsigned char *p,
						  unsigned depth, int type,
						  cJSON **out, bool *done)
{
	unsigned char close = type == cJSON_Object ? '}' : ']';

	if (depth >= CJSON_NESTING_LIMIT)
		return fail(s, p);
	*out = node(s, type);
	if (!*out)
		return NULL;
	p = ws(p + 1, s->end);
	*done = p < s->end && *p == close;
	return *done ? p + 1 : p;
}

static const unsigned char *build_value(struct scan *s,
					const unsigned char *p,
					unsigned depth, cJSON **out);

static const unsigned char *build_container(struct scan *s,
					    const unsigned char *p,
					    unsigned depth, int type,
					    cJSON **out)
{
	bool obj = type == cJSON_Object, done = false;
	cJSON *last = NULL;

	p = open_container(s, p, depth, type, out, &done);
	while (p && !done) {
		char *key = NULL;
		cJSON *kid;

		if (obj) {
			if (p == s->end || *p != '"')
				return fail(s, p);
			p = string_at(s, p, &key);
			if (p)
				p = colon(s, p);
			if (!p)
				return NULL;
		}
		p = build_value(s, p, depth + 1, &kid);
		if (!p)
			return NULL;
		kid->string = key;
		append(*out, &last, kid);
		p = separator(s, p, obj ? '}' : ']', &done);
	}
	return p;
}

static const unsigned char *build_value(struct scan *s,
					const unsigned char *p,
					unsigned depth, cJSON **out)
{
	const unsigned char *q = NULL;
	int type = cJSON_NULL;

	if (p == s->end)
		return fail(s, p);
	switch (*p) {
	case '"':
		*out = node(s, cJSON_String);
		return *out ? string_at(s, p, &(*out)->valuestring) : NULL;
	case '{':
		return build_container(s, p, depth, cJSON_Object, out);
	case '[':
		return build_container(s, p, depth, cJSON_Array, out);
	case 't':
		q = literal(p, s->end, "true", 4);
		type = cJSON_True;
		break;
	case 'f':
		q = literal(p, s->end, "false", 5);
		type = cJSON_False;
		break;
	case 'n':
		q = literal(p, s->end, "null", 4);
		break;
	default:
		if (*p == '-' || is_digit(*p))
			return number_at(s, p, out);
		break;
	}
	if (!q)
		return fail(s, p);
	*out = node(s, type);
	if (!*out)
		return NULL;
	(*out)->valueint = type == cJSON_True;
	return q;
}

/* ---- the sparse walk: keep what the paths reach ---- */

enum reach { SKIP, WHOLE, DESCEND };

/*
 * Where a key of klen bytes (cut at a NUL, as cJSON's C string is) leads
 * from trie node n, as field.c's after_key() would have it: a path ends
 * at the key (keep its value whole), some go on through it (*next: the
 * node after the '.'), or none.
 */
static enum reach follow(const struct scan *s, uint32_t n,
			 const unsigned char *key, size_t klen,
			 uint32_t *next)
{
	const struct tnode *t = s->trie;
	size_t i = 0;
	uint32_t dot;

	while (i < klen && key[i]) {
		unsigned char c = key[i];
		const struct edge *e;

		if (!(t[n].starts[c / 64] >> (c % 64) & 1))
			return SKIP;
		e = s->edges + t[n].edge;
		while (s->labels[e->label] != c)
			e++;
		/* A key cut short by a NUL ends inside the edge: no path
		 * ends or meets a '.' there. */
		if (klen - i < e->len ||
		    memcmp(key + i, s->labels + e->label, e->len))
			return SKIP;
		i += e->len;
		n = e->to;
	}
	if (t[n].end)
		return WHOLE;
	dot = t[n].dot;
	if (!dot)
		return SKIP;
	if (t[dot].end)		/* a path "a." ends at the key "a" */
		return WHOLE;
	*next = dot;
	return DESCEND;
}

static const unsigned char *sparse_value(struct scan *s,
					 const unsigned char *p,
					 unsigned depth, uint32_t at,
					 struct cursor *c, cJSON **out);

/* A member's name, decoded when it has escapes: *key, *klen. */
static bool member_name(struct scan *s, const unsigned char *open,
			const unsigned char *close, const unsigned char **key,
			size_t *klen)
{
	struct fd_sparse *sp = s->sp;
	ptrdiff_t len;

	*key = open + 1;
	*klen = (size_t)(close - open - 1);
	if (!has_escape(s, *key, close))
		return true;
	if (!grow_bytes(&sp->key, &sp->key_cap, *klen + 1)) {
		s->nomem = true;
		return false;
	}
	len = unescape(*key, close, sp->key);
	if (len < 0) {
		fail(s, open);
		return false;
	}
	*key = sp->key;
	*klen = (size_t)len;
	return true;
}

/* A copy of a member's name in the parse's buffer. */
static char *keep_name(struct scan *s, const unsigned char *key,
		       size_t klen)
{
	unsigned char *name = bytes(s, klen + 1);

	if (name) {
		memcpy(name, key, klen);
		name[klen] = '\0';
	}
	return (char *)name;
}

/*
 * An object the walk reached at trie node at: each member's value is
 * kept whole when a path ends at its key, walked on when paths go on
 * through it, else skipped.  The quote cursor is held here through the
 * members, most of which are skipped strings.
 */
static const unsigned char *sparse_object(struct scan *s,
					  const unsigned char *p,
					  unsigned depth, uint32_t at,
					  struct cursor *cur, cJSON **out)
{
	struct cursor c = *cur;
	cJSON *last = NULL;
	bool done = false;

	p = open_container(s, p, depth, cJSON_Object, out, &done);
	while (p && !done) {
		const unsigned char *q, *e, *key;
		enum reach r;
		uint32_t next = 0;
		size_t klen;
		cJSON *kid;
		char *name;

		/*
		 * The quotes come from the cursor and p only has to agree:
		 * the work on a member then waits on bits, not on reading
		 * the bytes before it.
		 */
		q = cursor_next(s, &c);
		e = cursor_next(s, &c);
		if (q != p || !e)
			return fail(s, p);
		if (!member_name(s, q, e, &key, &klen))
			return NULL;
		r = follow(s, at, key, klen, &next);
		p = colon(s, e + 1);
		if (!p)
			return NULL;
		if (r == SKIP && *p == '"') {
			q = cursor_next(s, &c);
			e = cursor_next(s, &c);
			if (q != p || !e || (has_escape(s, q + 1, e) &&
					     unescape(q + 1, e, NULL) < 0))
				return fail(s, p);
			p = separator(s, e + 1, '}', &done);
			continue;
		}
		if (r == SKIP) {
			/* a number or a literal holds no quote: the cursor
			 * stays right */
			bool container = *p == '{' || *p == '[';

			p = skip_value(s, p, depth + 1);
			if (p && container)
				cursor_seek(s, &c, p);
			p = p ? separator(s, p, '}', &done) : NULL;
			continue;
		}
		/* The name goes first: a deeper member may reuse sp->key. */
		name = keep_name(s, key, klen);
		if (!name)
			return NULL;
		if (r == WHOLE) {
			p = build_value(s, p, depth + 1, &kid);
			if (p)
				cursor_seek(s, &c, p);
		} else {
			p = sparse_value(s, p, depth + 1, next, &c, &kid);
		}
		if (!p)
			return NULL;
		kid->string = name;
		append(*out, &last, kid);
		p = separator(s, p, '}', &done);
	}
	*cur = c;
	return p;
}

/* An array the walk goes through: its elements, with the same paths. */
static const unsigned char *sparse_array(struct scan *s,
					 const unsigned char *p,
					 unsigned depth, uint32_t at,
					 struct cursor *c, cJSON **out)
{
	cJSON *last = NULL;
	bool done = false;

	p = open_container(s, p, depth, cJSON_Array, out, &done);
	while (p && !done) {
		cJSON *kid;

		p = sparse_value(s, p, depth + 1, at, c, &kid);
		if (!p)
			return NULL;
		append(*out, &last, kid);
		p = separator(s, p, ']', &done);
	}
	return p;
}

/* A value some paths go on through: containers are walked, a scalar is
 * kept as it is (no path goes on, but a caller may look at it). */
static const unsigned char *sparse_value(struct scan *s,
					 const unsigned char *p,
					 unsigned depth, uint32_t at,
					 struct cursor *c, cJSON **out)
{
	if (p < s->end && *p == '{')
		return sparse_object(s, p, depth, at, c, out);
	if (p < s->end && *p == '[')
		return sparse_array(s, p, depth, at, c, out);
	p = build_value(s, p, depth, out);
	if (p)
		cursor_seek(s, c, p);
	return p;
}

/* ---- parse ---- */

int fd_sparse_parse(struct fd_sparse *sp, const char *text, size_t len,
		    const cJSON **doc, size_t *err_off)
{
	struct scan s = { .sp = sp };
	int rc;

	*doc = NULL;
	if (!sp->compiled && (rc = trie_compile(sp)) < 0)
		return rc;
	s.trie = sp->trie;
	s.edges = sp->edges;
	s.labels = sp->labels;
	if (!grow_bytes(&sp->bytes, &sp->bytes_cap, len + 1))
		return -FD_ERR_NOMEM;
	sp->bytes_used = 0;
	sp->cur = NULL;
	sp->used = 0;
	s.base = (const unsigned char *)text;
	s.end = s.base + len;
	rc = mark_text(&s, len);
	if (rc == 0) {
		const unsigned char *p = s.base;
		struct cursor c;
		cJSON *root = NULL;

		/* cJSON skips a byte order mark only in a text of 5 bytes
		 * or more */
		if (len >= 5 && !memcmp(p, "\xEF\xBB\xBF", 3))
			p += 3;
		p = ws(p, s.end);
		cursor_seek(&s, &c, p);
		p = sp->keep_all ? build_value(&s, p, 0, &root) :
				   sparse_value(&s, p, 0, 0, &c, &root);
		if (p && (p = ws(p, s.end)) != s.end)
			p = fail(&s, p);
		if (!p)
			rc = s.nomem ? -FD_ERR_NOMEM : -FD_ERR_SYNTAX;
		else
			*doc = root;
	}
	if (rc == -FD_ERR_SYNTAX && err_off)
		*err_off = (size_t)(s.bad - s.base);
	return rc;
}

size_t fd_sparse_footprint(const struct fd_sparse *sp)
{
	return sizeof(*sp) + sp->trie_cap * sizeof(*sp->trie) +
	       sp->ntrie * (sizeof(*sp->edges) + 1) +
	       sp->marks_cap * sizeof(*sp->marks) + sp->bytes_cap +
	       sp->key_cap + sp->chunk_bytes;
}

void fd_sparse_free(struct fd_sparse *sp)
{
	struct node_chunk *c, *next;

	if (!sp)
		return;
	free(sp->trie);
	free(sp->edges);
	free(sp->labels);
	free(sp->marks);
	free(sp->bytes);
	free(sp->key);
	for (c = sp->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(sp);
}
