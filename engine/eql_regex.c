/*
 * eql_regex.c - Lucene regular expressions, as EQL's regex and regex~ use
 * them: always anchored, matched over code points.
 *
 * The parser follows Lucene's RegExp grammar (union, concatenation,
 * repeats ? * + {n} {n,} {n,m}, [classes] with ranges and ^, . any
 * character, "quoted" literals, \d \s \w and their negations, @ any string,
 * # nothing, \ to escape).  The intersection (&), complement (~) and
 * numeric interval (<n-m>) operators are reported as unsupported.  The
 * tree is compiled to a Thompson NFA that a set simulation runs in stack
 * memory, so matching is linear in the value and never allocates.
 */
#include "eql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RE_MAX_DEPTH 100

struct range {
	uint32_t lo, hi;
};

struct cset {
	bool negate;
	size_t n;
	struct range r[];
};

enum rkind {
	R_EMPTY,		/* the empty string */
	R_NONE,			/* # : nothing */
	R_ANYSTRING,		/* @ */
	R_SET,
	R_CONCAT,
	R_UNION,
	R_REPEAT
};

struct rnode {
	enum rkind kind;
	int min, max;		/* R_REPEAT; max -1: no limit */
	const struct cset *set;
	struct rnode **kids;
	size_t nkids;
};

enum iop {
	I_SET,
	I_SPLIT,
	I_JMP,
	I_MATCH,
	I_FAIL
};

struct inst {
	enum iop op;
	uint32_t x, y;
	const struct cset *set;
};

struct eql_regex {
	struct inst *prog;
	size_t n;
};

struct rparser {
	struct eql_arena *tmp;	/* the tree, freed after compiling */
	struct eql_arena *keep;	/* character sets, kept with the query */
	const char *s;
	size_t len, pos;
	bool ci;
	int depth;
	char *err;
	size_t errlen;
	int rc;
	/* the program being emitted */
	struct inst *prog;
	size_t n, cap;
};

static void *rfail(struct rparser *p, enum fd_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *rfail(struct rparser *p, enum fd_err err, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (p->rc)
		return NULL;
	p->rc = -(int)err;
	k = snprintf(p->err, p->errlen, "invalid regular expression: ");
	if (k < 0 || (size_t)k >= p->errlen)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return NULL;
}

static void *rnomem(struct rparser *p)
{
	p->rc = 0;
	rfail(p, FD_ERR_NOMEM, "out of memory");
	return NULL;
}

static bool more(const struct rparser *p)
{
	return p->pos < p->len;
}

static bool peek(const struct rparser *p, const char *chars)
{
	return more(p) && p->s[p->pos] && strchr(chars, p->s[p->pos]);
}

static bool match(struct rparser *p, char c)
{
	if (!more(p) || p->s[p->pos] != c)
		return false;
	p->pos++;
	return true;
}

static uint32_t next_cp(struct rparser *p)
{
	uint32_t cp;

	p->pos = eql_utf8_next(p->s, p->len, p->pos, &cp);
	return cp;
}

/* 1-based character position in the pattern, for messages. */
static size_t where(const struct rparser *p)
{
	return eql_utf8_count(p->s, p->pos) + 1;
}

/* ---- character sets ---- */

static const struct cset *make_set(struct rparser *p,
				   const struct range *r, size_t n,
				   bool negate)
{
	struct cset *s = eql_alloc(p->keep, sizeof(*s) + n * sizeof(*r));

	if (!s)
		return rnomem(p);
	s->negate = negate;
	s->n = n;
	memcpy(s->r, r, n * sizeof(*r));
	return s;
}

static bool is_ascii_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One character; with regex~ an ASCII letter matches either case. */
static size_t char_ranges(const struct rparser *p, uint32_t c,
			  struct range *out)
{
	out[0].lo = out[0].hi = c;
	if (!p->ci || !is_ascii_letter(c))
		return 1;
	out[1].lo = out[1].hi = c ^ 0x20;
	return 2;
}

static struct rnode *new_rnode(struct rparser *p, enum rkind kind)
{
	struct rnode *n = eql_alloc(p->tmp, sizeof(*n));

	if (!n)
		return rnomem(p);
	n->kind = kind;
	return n;
}

static struct rnode *set_node(struct rparser *p, const struct range *r,
			      size_t n, bool negate)
{
	struct rnode *node = new_rnode(p, R_SET);

	if (!node)
		return NULL;
	node->set = make_set(p, r, n, negate);
	return node->set ? node : NULL;
}

static struct rnode *char_node(struct rparser *p, uint32_t c)
{
	struct range r[2];

	return set_node(p, r, char_ranges(p, c, r), false);
}

/* \d \s \w and, complemented, \D \S \W as sorted ranges (5 at most);
 * 0 when c names no class. */
static size_t predefined(uint32_t c, struct range *out)
{
	struct range r[4];
	size_t n, i, k = 0;
	uint32_t lo = 0;

	switch (c) {
	case 'd':
	case 'D':
		r[0] = (struct range){ '0', '9' };
		n = 1;
		break;
	case 's':
	case 'S':
		r[0] = (struct range){ '\t', '\n' };
		r[1] = (struct range){ '\r', '\r' };
		r[2] = (struct range){ ' ', ' ' };
		n = 3;
		break;
	case 'w':
	case 'W':
		r[0] = (struct range){ '0', '9' };
		r[1] = (struct range){ 'A', 'Z' };
		r[2] = (struct range){ '_', '_' };
		r[3] = (struct range){ 'a', 'z' };
		n = 4;
		break;
	default:
		return 0;
	}
	if (c == 'd' || c == 's' || c == 'w') {
		memcpy(out, r, n * sizeof(*r));
		return n;
	}
	for (i = 0; i < n; i++) {
		if (r[i].lo > lo)
			out[k++] = (struct range){ lo, r[i].lo - 1 };
		lo = r[i].hi + 1;
	}
	out[k++] = (struct range){ lo, 0x10FFFF };
	return k;
}

/*
 * At a backslash: a predefined class goes into r (returns its size), a
 * letter that names no class is an error (as in current Lucene), and any
 * other escaped character is returned in *lit with 0.
 */
static int escape(struct rparser *p, struct range *r, uint32_t *lit)
{
	uint32_t c;
	size_t n;

	p->pos++;		/* the backslash */
	if (!more(p)) {
		rfail(p, FD_ERR_SYNTAX, "'\\' at the end of the pattern");
		return -1;
	}
	c = next_cp(p);
	n = predefined(c, r);
	if (n)
		return (int)n;
	if (is_ascii_letter(c)) {
		rfail(p, FD_ERR_SYNTAX, "invalid character class \\%c at "
		      "position %zu", (char)c, where(p) - 1);
		return -1;
	}
	*lit = c;
	return 0;
}

/* A character of a class or a simple expression, escapes decoded. */
static bool char_exp(struct rparser *p, uint32_t *c)
{
	if (!more(p)) {
		rfail(p, FD_ERR_SYNTAX, "unexpected end of the pattern");
		return false;
	}
	if (match(p, '\\') && !more(p)) {
		rfail(p, FD_ERR_SYNTAX, "'\\' at the end of the pattern");
		return false;
	}
	*c = next_cp(p);
	return true;
}

/* [...] or [^...]: Lucene reads one class item at least, then more until
 * ']' (so "[]a]" holds ']' and 'a'). */
static struct rnode *parse_class(struct rparser *p)
{
	struct range *r = NULL;
	size_t n = 0, cap = 0;
	bool negate = match(p, '^');

	do {
		struct range item[5];
		size_t k;
		uint32_t c, d;

		if (peek(p, "\\")) {
			int rc = escape(p, item, &c);

			if (rc < 0)
				return NULL;
			k = (size_t)rc;
			if (!k)
				goto single;
		} else {
			if (!char_exp(p, &c))
				return NULL;
		single:
			if (match(p, '-')) {
				if (!char_exp(p, &d))
					return NULL;
				if (c > d)
					return rfail(p, FD_ERR_SYNTAX,
						     "invalid range at "
						     "position %zu",
						     where(p) - 1);
				item[0] = (struct range){ c, d };
				k = 1;
			} else {
				k = char_ranges(p, c, item);
			}
		}
		if (n + k > cap) {
			struct range *nr;

			cap = (cap + k) * 2;
			nr = eql_alloc(p->tmp, cap * sizeof(*nr));
			if (!nr)
				return rnomem(p);
			if (n)
				memcpy(nr, r, n * sizeof(*nr));
			r = nr;
		}
		memcpy(r + n, item, k * sizeof(*item));
		n += k;
	} while (more(p) && !peek(p, "]"));
	if (!match(p, ']'))
		return rfail(p, FD_ERR_SYNTAX, "expected ']' at position %zu",
			     where(p));
	return set_node(p, r, n, negate);
}

static struct rnode *parse_union(struct rparser *p);

static struct rnode *parse_simple(struct rparser *p)
{
	struct rnode *e;
	uint32_t c;

	if (match(p, '.')) {
		struct range any = { 0, 0x10FFFF };

		return set_node(p, &any, 1, false);
	}
	if (match(p, '#'))
		return new_rnode(p, R_NONE);
	if (match(p, '@'))
		return new_rnode(p, R_ANYSTRING);
	if (match(p, '"')) {
		e = new_rnode(p, R_CONCAT);
		if (!e)
			return NULL;
		while (more(p) && !peek(p, "\"")) {
			struct rnode *ch = char_node(p, next_cp(p));
			struct rnode **kids;

			if (!ch)
				return NULL;
			kids = eql_alloc(p->tmp, (e->nkids + 1) *
						 sizeof(*kids));
			if (!kids)
				return rnomem(p);
			if (e->nkids)
				memcpy(kids, e->kids,
				       e->nkids * sizeof(*kids));
			kids[e->nkids++] = ch;
			e->kids = kids;
		}
		if (!match(p, '"'))
			return rfail(p, FD_ERR_SYNTAX, "expected '\"' at "
				     "position %zu", where(p));
		return e;
	}
	if (match(p, '(')) {
		if (match(p, ')'))
			return new_rnode(p, R_EMPTY);
		if (++p->depth > RE_MAX_DEPTH)
			return rfail(p, FD_ERR_SYNTAX, "groups nest too "
				     "deeply");
		e = parse_union(p);
		p->depth--;
		if (!e)
			return NULL;
		if (!match(p, ')'))
			return rfail(p, FD_ERR_SYNTAX, "expected ')' at "
				     "position %zu", where(p));
		return e;
	}
	if (peek(p, "<"))
		return rfail(p, FD_ERR_UNSUPPORTED, "numeric intervals "
			     "(<n-m>) are not supported");
	if (peek(p, "\\")) {
		struct range r[5];
		int rc = escape(p, r, &c);

		if (rc < 0)
			return NULL;
		if (rc > 0)
			return set_node(p, r, (size_t)rc, false);
		return char_node(p, c);
	}
	if (!char_exp(p, &c))
		return NULL;
	return char_node(p, c);
}

static struct rnode *parse_class_exp(struct rparser *p)
{
	if (peek(p, "~"))
		return rfail(p, FD_ERR_UNSUPPORTED, "the complement operator "
			     "'~' is not supported");
	if (match(p, '['))
		return parse_class(p);
	return parse_simple(p);
}

static bool parse_int(struct rparser *p, int *out)
{
	long v = 0;
	size_t start = p->pos;

	while (more(p) && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		v = v * 10 + (p->s[p->pos++] - '0');
		if (v > 100000) {
			rfail(p, FD_ERR_SYNTAX, "repeat count too large");
			return false;
		}
	}
	if (p->pos == start) {
		rfail(p, FD_ERR_SYNTAX, "integer expected at position %zu",
		      where(p));
		return false;
	}
	*out = (int)v;
	return true;
}

static struct rnode *parse_repeat(struct rparser *p)
{
	struct rnode *e = parse_class_exp(p);

	while (e && peek(p, "?*+{")) {
		struct rnode *r = new_rnode(p, R_REPEAT);
		char op = p->s[p->pos++];

		if (!r)
			return NULL;
		r->kids = eql_alloc(p->tmp, sizeof(*r->kids));
		if (!r->kids)
			return rnomem(p);
		r->kids[0] = e;
		r->nkids = 1;
		r->min = op == '+' ? 1 : 0;
		r->max = op == '?' ? 1 : -1;
		if (op == '{') {
			if (!parse_int(p, &r->min))
				return NULL;
			r->max = r->min;
			if (match(p, ',')) {
				r->max = -1;
				if (!peek(p, "}") && !parse_int(p, &r->max))
					return NULL;
			}
			if (!match(p, '}'))
				return rfail(p, FD_ERR_SYNTAX, "expected '}' "
					     "at position %zu", where(p));
			if (r->max >= 0 && r->max < r->min)
				return rfail(p, FD_ERR_SYNTAX, "invalid "
					     "repeat {%d,%d}", r->min, r->max);
		}
		e = r;
	}
	return e;
}

static int add_kid(struct rparser *p, struct rnode *parent, size_t *cap,
		   struct rnode *kid)
{
	if (parent->nkids == *cap) {
		struct rnode **k;

		*cap = *cap ? *cap * 2 : 4;
		k = eql_alloc(p->tmp, *cap * sizeof(*k));
		if (!k) {
			rnomem(p);
			return -1;
		}
		if (parent->nkids)
			memcpy(k, parent->kids,
			       parent->nkids * sizeof(*k));
		parent->kids = k;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

static struct rnode *parse_concat(struct rparser *p)
{
	struct rnode *c = new_rnode(p, R_CONCAT);
	size_t cap = 0;

	if (!c)
		return NULL;
	do {
		struct rnode *e;

		if (peek(p, "&"))
			return rfail(p, FD_ERR_UNSUPPORTED, "the intersection "
				     "operator '&' is not supported");
		e = parse_repeat(p);
		if (!e || add_kid(p, c, &cap, e))
			return NULL;
	} while (more(p) && !peek(p, ")|"));
	return c;
}

/* Lucene's union: concatenations separated by '|'; an empty side is the
 * empty string only at the very end ("a|" is an error in Lucene too). */
static struct rnode *parse_union(struct rparser *p)
{
	struct rnode *u = new_rnode(p, R_UNION);
	size_t cap = 0;

	if (!u)
		return NULL;
	do {
		struct rnode *e = parse_concat(p);

		if (!e || add_kid(p, u, &cap, e))
			return NULL;
	} while (match(p, '|'));
	return u;
}

/* ---- compiling to an NFA ---- */

static long emit(struct rparser *p, enum iop op, uint32_t x, uint32_t y,
		 const struct cset *set)
{
	if (p->n == EQL_RE_MAX_STATES) {
		rfail(p, FD_ERR_SYNTAX, "the pattern is too complex (more "
		      "than %d states)", EQL_RE_MAX_STATES);
		return -1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct inst *np = realloc(p->prog, cap * sizeof(*np));

		if (!np) {
			rnomem(p);
			return -1;
		}
		p->prog = np;
		p->cap = cap;
	}
	p->prog[p->n] = (struct inst){ op, x, y, set };
	return (long)p->n++;
}

static int compile_node(struct rparser *p, const struct rnode *n, int depth);

/* e{min,max}: min copies, then a loop or max - min copies of e?. */
static int compile_repeat(struct rparser *p, const struct rnode *n,
			  int depth)
{
	const struct rnode *e = n->kids[0];
	int i, optional = n->max < 0 ? 1 : n->max - n->min;
	long split;

	for (i = 0; i < n->min; i++)
		if (compile_node(p, e, depth))
			return -1;
	for (i = 0; i < optional; i++) {
		split = emit(p, I_SPLIT, 0, 0, NULL);
		if (split < 0)
			return -1;
		p->prog[split].x = (uint32_t)p->n;
		if (compile_node(p, e, depth))
			return -1;
		if (n->max < 0 && emit(p, I_JMP, (uint32_t)split, 0, NULL) < 0)
			return -1;
		p->prog[split].y = (uint32_t)p->n;
	}
	return 0;
}

static int compile_node(struct rparser *p, const struct rnode *n, int depth)
{
	size_t i;
	long at, split;
	long *jmps;

	if (depth > RE_MAX_DEPTH * 4) {
		rfail(p, FD_ERR_SYNTAX, "the pattern nests too deeply");
		return -1;
	}
	switch (n->kind) {
	case R_EMPTY:
		return 0;
	case R_NONE:
		return emit(p, I_FAIL, 0, 0, NULL) < 0 ? -1 : 0;
	case R_ANYSTRING: {
		struct range r = { 0, 0x10FFFF };
		const struct cset *s = make_set(p, &r, 1, false);

		if (!s)
			return -1;
		split = emit(p, I_SPLIT, 0, 0, NULL);
		if (split < 0)
			return -1;
		p->prog[split].x = (uint32_t)p->n;
		if (emit(p, I_SET, 0, 0, s) < 0 ||
		    emit(p, I_JMP, (uint32_t)split, 0, NULL) < 0)
			return -1;
		p->prog[split].y = (uint32_t)p->n;
		return 0;
	}
	case R_SET:
		return emit(p, I_SET, 0, 0, n->set) < 0 ? -1 : 0;
	case R_CONCAT:
		for (i = 0; i < n->nkids; i++)
			if (compile_node(p, n->kids[i], depth + 1))
				return -1;
		return 0;
	case R_REPEAT:
		return compile_repeat(p, n, depth + 1);
	case R_UNION:
		if (n->nkids == 1)
			return compile_node(p, n->kids[0], depth + 1);
		jmps = eql_alloc(p->tmp, n->nkids * sizeof(*jmps));
		if (!jmps) {
			rnomem(p);
			return -1;
		}
		for (i = 0; i < n->nkids; i++) {
			split = -1;
			if (i + 1 < n->nkids) {
				split = emit(p, I_SPLIT, 0, 0, NULL);
				if (split < 0)
					return -1;
				p->prog[split].x = (uint32_t)p->n;
			}
			if (compile_node(p, n->kids[i], depth + 1))
				return -1;
			jmps[i] = -1;
			if (i + 1 < n->nkids) {
				at = emit(p, I_JMP, 0, 0, NULL);
				if (at < 0)
					return -1;
				jmps[i] = at;
				p->prog[split].y = (uint32_t)p->n;
			}
		}
		for (i = 0; i + 1 < n->nkids; i++)
			p->prog[jmps[i]].x = (uint32_t)p->n;
		return 0;
	}
	return 0;
}

int eql_regex_compile(struct eql_arena *a, const char *pat, size_t len,
		      bool ci, struct eql_regex **out, char *err,
		      size_t errlen)
{
	struct eql_arena tmp = { NULL };
	struct rparser p = {
		.tmp = &tmp, .keep = a, .s = pat, .len = len, .ci = ci,
		.err = err, .errlen = errlen,
	};
	struct rnode *root;
	struct eql_regex *re = NULL;

	err[0] = '\0';
	root = parse_union(&p);
	if (root && more(&p))
		rfail(&p, FD_ERR_SYNTAX, "unexpected '%c' at position %zu",
		      p.s[p.pos], where(&p));
	if (root && !p.rc && !compile_node(&p, root, 0) &&
	    emit(&p, I_MATCH, 0, 0, NULL) >= 0) {
		re = eql_alloc(a, sizeof(*re));
		if (re)
			re->prog = (struct inst *)eql_memdup(
				a, p.prog, p.n * sizeof(*p.prog));
		if (!re || !re->prog)
			rnomem(&p);
		else
			re->n = p.n;
	}
	free(p.prog);
	eql_arena_free(&tmp);
	if (p.rc)
		return p.rc;
	*out = re;
	return 0;
}

/* ---- matching ---- */

static bool in_set(const struct cset *s, uint32_t c)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (c >= s->r[i].lo && c <= s->r[i].hi)
			return !s->negate;
	return s->negate;
}

struct thread_list {
	uint16_t pc[EQL_RE_MAX_STATES];
	size_t n;
};

/* Add pc and everything reachable from it without reading a character. */
static void add_thread(const struct eql_regex *re, struct thread_list *l,
		       uint32_t *mark, uint32_t gen, uint16_t *stack,
		       uint32_t start)
{
	size_t sp = 0;

	stack[sp++] = (uint16_t)start;
	while (sp) {
		uint32_t pc = stack[--sp];
		const struct inst *in = &re->prog[pc];

		if (mark[pc] == gen)
			continue;
		mark[pc] = gen;
		switch (in->op) {
		case I_JMP:
			stack[sp++] = (uint16_t)in->x;
			break;
		case I_SPLIT:
			stack[sp++] = (uint16_t)in->y;
			stack[sp++] = (uint16_t)in->x;
			break;
		case I_SET:
		case I_MATCH:
			l->pc[l->n++] = (uint16_t)pc;
			break;
		case I_FAIL:
			break;
		}
	}
}

bool eql_regex_match(const struct eql_regex *re, const char *s, size_t n)
{
	struct thread_list a, b, *cur = &a, *nxt = &b, *tmp;
	uint32_t mark[EQL_RE_MAX_STATES];
	uint16_t stack[2 * EQL_RE_MAX_STATES];
	uint32_t gen = 1;
	size_t i = 0, k;

	memset(mark, 0, re->n * sizeof(*mark));
	a.n = 0;
	add_thread(re, cur, mark, gen, stack, 0);
	while (i < n && cur->n) {
		uint32_t cp;

		i = eql_utf8_next(s, n, i, &cp);
		nxt->n = 0;
		gen++;
		for (k = 0; k < cur->n; k++) {
			const struct inst *in = &re->prog[cur->pc[k]];

			if (in->op == I_SET && in_set(in->set, cp))
				add_thread(re, nxt, mark, gen, stack,
					   cur->pc[k] + 1u);
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (i < n)
		return false;
	for (k = 0; k < cur->n; k++)
		if (re->prog[cur->pc[k]].op == I_MATCH)
			return true;
	return false;
}
