/*
 * eql_func.c - EQL's functions, as one const table.
 *
 * Each row names a function (matched without regard to case, as
 * Elasticsearch does), its arity, whether it has a `~` form, its result
 * type and argument signature, a compile-time check and an evaluator.
 * Evaluators follow Elasticsearch's processors: a null argument gives null,
 * positions are zero-based and count characters, and strings they return
 * point into their input or into the caller's scratch, never the heap.
 */
#include "eql_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void arg(const struct eql_node *call, size_t i,
		const struct eql_env *env, struct eql_val *v)
{
	if (i < call->nargs)
		eql_eval(call->args[i], env, v);
	else
		v->t = EQL_NULL;
}

static struct eql_val null_val(void)
{
	struct eql_val v = { .t = EQL_NULL };

	return v;
}

static struct eql_val bool_val(bool b)
{
	struct eql_val v = { .t = EQL_BOOL, .u.b = b };

	return v;
}

static struct eql_val long_val(int64_t l)
{
	struct eql_val v = { .t = EQL_LONG, .u.l = l };

	return v;
}

static struct eql_val double_val(double d)
{
	struct eql_val v = { .t = EQL_DOUBLE, .u.d = d };

	return v;
}

static struct eql_val str_val(const char *p, size_t n)
{
	struct eql_val v = { .t = EQL_STR, .u.s = { p, n } };

	return v;
}

/* Argument i as text to search for: folded into scratch for a ~ function
 * unless the checker already folded the constant (bit i of call->n). */
static bool needle(const struct eql_node *call, size_t i,
		   const struct eql_env *env, struct eql_val *v)
{
	char *f;

	arg(call, i, env, v);
	if (v->t != EQL_STR)
		return false;
	if (!call->ci || (call->n >> i & 1) || !v->u.s.n)
		return true;
	f = eql_scratch_get(env->sc, v->u.s.n);
	if (!f)
		return false;
	eql_fold_str(v->u.s.p, v->u.s.n, f);
	v->u.s.p = f;
	return true;
}

/* ---- arithmetic ---- */

static struct eql_val eval_arith(const struct eql_node *call,
				 const struct eql_env *env, enum eql_op op)
{
	struct eql_val a, b, r;

	arg(call, 0, env, &a);
	arg(call, 1, env, &b);
	eql_arith(op, &a, &b, &r);
	return r;
}

static struct eql_val f_add(const struct eql_node *c,
				const struct eql_env *e)
{
	return eval_arith(c, e, EQL_OP_ADD);
}

static struct eql_val f_subtract(const struct eql_node *c,
				const struct eql_env *e)
{
	return eval_arith(c, e, EQL_OP_SUB);
}

static struct eql_val f_multiply(const struct eql_node *c,
				const struct eql_env *e)
{
	return eval_arith(c, e, EQL_OP_MUL);
}

static struct eql_val f_divide(const struct eql_node *c,
				const struct eql_env *e)
{
	return eval_arith(c, e, EQL_OP_DIV);
}

static struct eql_val f_modulo(const struct eql_node *c,
				const struct eql_env *e)
{
	return eval_arith(c, e, EQL_OP_MOD);
}

/* ---- strings ---- */

static struct eql_val f_length(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR)
		return null_val();
	return long_val((int64_t)eql_utf8_count(s.u.s.p, s.u.s.n));
}

/* Text of a value for concat and string(): strings as they are, numbers
 * and booleans formatted into scratch. */
static bool as_text(const struct eql_val *v, const struct eql_env *env,
		    const char **p, size_t *n)
{
	char buf[40], *s;

	if (v->t == EQL_NULL)
		return false;
	if (v->t == EQL_STR) {
		*p = v->u.s.p;
		*n = v->u.s.n;
		return true;
	}
	*n = eql_format(v, buf);
	s = eql_scratch_get(env->sc, *n + 1);
	if (!s)
		return false;
	memcpy(s, buf, *n + 1);
	*p = s;
	return true;
}

static struct eql_val f_concat(const struct eql_node *c,
				const struct eql_env *e)
{
	size_t i, total = 0, at = 0, n;
	const char *p;
	struct eql_val v;
	char *out;

	for (i = 0; i < c->nargs; i++) {
		arg(c, i, e, &v);
		if (!as_text(&v, e, &p, &n))
			return null_val();
		total += n;
	}
	out = eql_scratch_get(e->sc, total + 1);
	if (!out)
		return null_val();
	for (i = 0; i < c->nargs; i++) {
		arg(c, i, e, &v);
		if (!as_text(&v, e, &p, &n) || at + n > total)
			return null_val();
		memcpy(out + at, p, n);
		at += n;
	}
	return str_val(out, at);
}

static struct eql_val f_string(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val v;
	const char *p;
	size_t n;

	arg(c, 0, e, &v);
	if (!as_text(&v, e, &p, &n))
		return null_val();
	return str_val(p, n);
}

static struct eql_val f_starts_with(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, p;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR || !needle(c, 1, e, &p))
		return null_val();
	return bool_val(eql_starts_with(s.u.s.p, s.u.s.n, p.u.s.p, p.u.s.n,
				    c->ci));
}

static struct eql_val f_ends_with(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, p;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR || !needle(c, 1, e, &p))
		return null_val();
	return bool_val(eql_ends_with(s.u.s.p, s.u.s.n, p.u.s.p, p.u.s.n,
				  c->ci));
}

/* As Elasticsearch: an empty string or substring gives false. */
static struct eql_val f_string_contains(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, p;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR || !needle(c, 1, e, &p))
		return null_val();
	if (!s.u.s.n || !p.u.s.n)
		return bool_val(false);
	return bool_val(eql_find(s.u.s.p, s.u.s.n, 0, p.u.s.p, p.u.s.n,
			     c->ci) >= 0);
}

/* Character positions (code points), clamped like Java's. */
static int64_t as_index(const struct eql_val *v)
{
	if (v->t == EQL_LONG)
		return v->u.l;
	if (v->t == EQL_DOUBLE) {
		if (v->u.d >= 2147483647.0)
			return 2147483647;
		if (v->u.d <= -2147483648.0)
			return -2147483648LL;
		return (int64_t)v->u.d;
	}
	return 0;
}

/* Java's String.indexOf(p, start): null when not found. */
static struct eql_val f_index_of(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, p, st;
	size_t chars, from;
	int64_t start = 0;
	long hit;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR || !needle(c, 1, e, &p))
		return null_val();
	arg(c, 2, e, &st);
	if (st.t != EQL_NULL && st.t != EQL_LONG && st.t != EQL_DOUBLE)
		return null_val();
	if (st.t != EQL_NULL)
		start = as_index(&st);
	if (start < 0)
		start = 0;
	chars = eql_utf8_count(s.u.s.p, s.u.s.n);
	if ((uint64_t)start >= chars)
		return p.u.s.n ? null_val() : long_val((int64_t)chars);
	from = eql_utf8_offset(s.u.s.p, s.u.s.n, (size_t)start);
	hit = eql_find(s.u.s.p, s.u.s.n, from, p.u.s.p, p.u.s.n, c->ci);
	if (hit < 0)
		return null_val();
	return long_val((int64_t)eql_utf8_count(s.u.s.p, (size_t)hit));
}

/* Python slice semantics: negative positions count from the end. */
static struct eql_val f_substring(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, a, b;
	int64_t len, start, end;
	size_t from, to;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR)
		return null_val();
	if (!s.u.s.n)
		return str_val(s.u.s.p, 0);
	arg(c, 1, e, &a);
	arg(c, 2, e, &b);
	len = (int64_t)eql_utf8_count(s.u.s.p, s.u.s.n);
	start = a.t == EQL_NULL ? 0 : as_index(&a);
	end = b.t == EQL_NULL ? len : as_index(&b);
	if (start < 0)
		start += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end += len;
	if (end < 0)
		end = 0;
	else if (end > len)
		end = len;
	if (start >= end)
		return str_val(s.u.s.p, 0);
	from = eql_utf8_offset(s.u.s.p, s.u.s.n, (size_t)start);
	to = eql_utf8_offset(s.u.s.p, s.u.s.n, (size_t)end);
	return str_val(s.u.s.p + from, to - from);
}

/* Elasticsearch's between: text after the first `left` up to the next (or
 * with greedy, the last) `right`; "" when either is missing, the source
 * itself when any of the three is empty. */
static struct eql_val f_between(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, l, r, g;
	long at, end;
	size_t start;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR || !needle(c, 1, e, &l) || !needle(c, 2, e, &r))
		return null_val();
	arg(c, 3, e, &g);
	if (!s.u.s.n || !l.u.s.n || !r.u.s.n)
		return str_val(s.u.s.p, s.u.s.n);
	at = eql_find(s.u.s.p, s.u.s.n, 0, l.u.s.p, l.u.s.n, c->ci);
	if (at < 0)
		return str_val(s.u.s.p, 0);
	start = (size_t)at + l.u.s.n;
	if (g.t == EQL_BOOL && g.u.b)
		end = eql_rfind(s.u.s.p, s.u.s.n, r.u.s.p, r.u.s.n, c->ci);
	else
		end = eql_find(s.u.s.p, s.u.s.n, start, r.u.s.p, r.u.s.n,
			       c->ci);
	if (end < 0 || (size_t)end < start)
		return str_val(s.u.s.p, 0);
	return str_val(s.u.s.p + start, (size_t)end - start);
}

/* ---- number() ---- */

/* Java's Long.parseLong(s, radix): sign then digits, nothing else. */
static bool parse_long(const char *s, size_t n, int radix, int64_t *out)
{
	uint64_t v = 0, limit;
	bool neg = false;
	size_t i = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		int d, ch = (unsigned char)s[i];

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (isalpha(ch))
			d = tolower(ch) - 'a' + 10;
		else
			return false;
		if (d >= radix)
			return false;
		if (v > (limit - (uint64_t)d) / (uint64_t)radix)
			return false;
		v = v * (uint64_t)radix + (uint64_t)d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* Java's Double.valueOf: surrounding whitespace, sign, decimal digits,
 * exponent, an optional type suffix, NaN and Infinity. */
static bool parse_double(const char *s, size_t n, double *out)
{
	char buf[128], *end;
	size_t a = 0, b = n, i;

	while (a < b && (unsigned char)s[a] <= ' ')
		a++;
	while (b > a && (unsigned char)s[b - 1] <= ' ')
		b--;
	if (b > a && strchr("fFdD", s[b - 1]) && b - a > 1)
		b--;
	if (a == b || b - a >= sizeof(buf))
		return false;
	for (i = a; i < b; i++) {
		char ch = s[i];

		if (!isdigit((unsigned char)ch) && !strchr("+-.eE", ch) &&
		    !isalpha((unsigned char)ch))
			return false;
		if (ch == 'x' || ch == 'X')
			return false;
	}
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	if (!strcmp(buf, "NaN") || !strcmp(buf, "+NaN") ||
	    !strcmp(buf, "-NaN")) {
		*out = NAN;
		return true;
	}
	if (!strcmp(buf, "Infinity") || !strcmp(buf, "+Infinity") ||
	    !strcmp(buf, "-Infinity")) {
		*out = buf[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	for (i = 0; buf[i]; i++)
		if (isalpha((unsigned char)buf[i]) && buf[i] != 'e' &&
		    buf[i] != 'E')
			return false;
	errno = 0;
	*out = strtod(buf, &end);
	return *end == '\0' && end != buf;
}

/* number(s[, base]): surrounding whitespace is ignored and "0x..." is
 * hexadecimal whatever the base. */
static struct eql_val f_number(const struct eql_node *c,
				const struct eql_env *e)
{
	struct eql_val s, b;
	int64_t radix = 10, l;
	const char *p;
	size_t n;
	double d;

	arg(c, 0, e, &s);
	if (s.t != EQL_STR)
		return null_val();
	arg(c, 1, e, &b);
	if (b.t == EQL_LONG)
		radix = b.u.l;
	else if (b.t != EQL_NULL)
		return null_val();
	p = s.u.s.p;
	n = s.u.s.n;
	while (n && (unsigned char)*p <= ' ') {
		p++;
		n--;
	}
	while (n && (unsigned char)p[n - 1] <= ' ')
		n--;
	if (n >= 2 && p[0] == '0' && p[1] == 'x') {
		radix = 16;
		p += 2;
		n -= 2;
	}
	if (radix < 2 || radix > 36)
		return null_val();
	if (parse_long(p, n, (int)radix, &l))
		return long_val(l);
	if (radix == 10 && parse_double(p, n, &d))
		return double_val(d);
	return null_val();
}

/* ---- cidrMatch ---- */

struct cidr {
	int family;		/* 4 or 6 */
	unsigned char addr[16];
	int bits;
};

/* An address, with IPv4-mapped IPv6 read as IPv4 (as Java does). */
static bool parse_ip(const char *s, size_t n, unsigned char out[16],
		     int *family)
{
	char buf[64];

	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1) {
		*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out) != 1)
		return false;
	*family = 6;
	if (!memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(out, out + 12, 4);
		*family = 4;
	}
	return true;
}

static bool parse_cidr(const char *s, size_t n, struct cidr *c)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int max;

	if (!parse_ip(s, alen, c->addr, &c->family))
		return false;
	max = c->family == 4 ? 32 : 128;
	c->bits = max;
	if (slash) {
		size_t i, digits = n - alen - 1;
		int bits = 0;

		if (!digits || digits > 3)
			return false;
		for (i = alen + 1; i < n; i++) {
			if (!isdigit((unsigned char)s[i]))
				return false;
			bits = bits * 10 + (s[i] - '0');
		}
		if (bits > max)
			return false;
		c->bits = bits;
	}
	return true;
}

static bool in_block(const unsigned char *ip, const struct cidr *c)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(ip, c->addr, (size_t)full))
		return false;
	if (!rest)
		return true;
	return ((ip[full] ^ c->addr[full]) & (0xFF << (8 - rest)) & 0xFF) ==
	       0;
}

static struct eql_val f_cidr_match(const struct eql_node *c,
				const struct eql_env *e)
{
	const struct cidr *blocks = c->prep;
	unsigned char ip[16];
	struct eql_val v;
	int family;
	size_t i;

	arg(c, 0, e, &v);
	if (v.t != EQL_STR || !parse_ip(v.u.s.p, v.u.s.n, ip, &family))
		return null_val();
	for (i = 0; i + 1 < c->nargs; i++)
		if (blocks[i].family == family && in_block(ip, &blocks[i]))
			return bool_val(true);
	return bool_val(false);
}

/* ---- compile-time checks ---- */

static bool type_ok(enum eql_stype t, char want)
{
	if (t == EQL_ST_ANY || t == EQL_ST_NULL || want == 'v')
		return true;
	return (want == 's' && t == EQL_ST_STR) ||
	       (want == 'n' && t == EQL_ST_NUM) ||
	       (want == 'b' && t == EQL_ST_BOOL);
}

static const char *type_word(char want)
{
	return want == 's' ? "a string" : want == 'n' ? "a number" :
	       want == 'b' ? "true or false" : "a value";
}

/* Argument types from the signature; fold constant needles for ~. */
static int check_args(struct eql_node *call, struct eql_check *ck)
{
	const char *sig = call->fn->sig;
	size_t i, len = strlen(sig);

	for (i = 0; i < call->nargs; i++) {
		struct eql_node *a = call->args[i];
		char want;

		if (i < len && sig[i] != '+')
			want = sig[i];
		else
			want = sig[len - 1] == '+' ? sig[len - 2] :
						     sig[len - 1];
		if (!type_ok(a->stype, want))
			return fd_diag_set(ck->diag, FD_ERR_SYNTAX, a->line,
					   a->col, "function '%s': argument "
					   "%zu must be %s", call->fn->name,
					   i + 1, type_word(want));
		if (call->ci && i > 0 && want == 's' &&
		    a->kind == EQL_N_CONST && a->v.t == EQL_STR) {
			char *f = eql_alloc(ck->arena, a->v.u.s.n + 1);

			if (!f)
				return fd_diag_set(ck->diag, FD_ERR_NOMEM, 0,
						   0, "out of memory");
			eql_fold_str(a->v.u.s.p, a->v.u.s.n, f);
			a->v.u.s.p = f;
			call->n |= (size_t)1 << i;
		}
	}
	return 0;
}

static int check_plain(struct eql_node *call, struct eql_check *ck)
{
	return check_args(call, ck);
}

static int check_division(struct eql_node *call, struct eql_check *ck)
{
	const struct eql_node *b = call->args[1];
	int rc = check_args(call, ck);

	if (rc < 0)
		return rc;
	if (b->kind == EQL_N_CONST &&
	    ((b->v.t == EQL_LONG && b->v.u.l == 0) ||
	     (b->v.t == EQL_DOUBLE && b->v.u.d == 0)))
		return fd_diag_set(ck->diag, FD_ERR_SYNTAX, b->line, b->col,
				   "function '%s': division by zero",
				   call->fn->name);
	return 0;
}

static int check_cidr(struct eql_node *call, struct eql_check *ck)
{
	struct cidr *blocks;
	size_t i;
	int rc = check_args(call, ck);

	if (rc < 0)
		return rc;
	blocks = eql_alloc(ck->arena, call->nargs * sizeof(*blocks));
	if (!blocks)
		return fd_diag_set(ck->diag, FD_ERR_NOMEM, 0, 0,
				   "out of memory");
	for (i = 1; i < call->nargs; i++) {
		const struct eql_node *a = call->args[i];

		if (a->kind != EQL_N_CONST || a->v.t != EQL_STR)
			return fd_diag_set(ck->diag, FD_ERR_SYNTAX, a->line,
					   a->col, "cidrMatch takes constant "
					   "address blocks such as "
					   "\"10.0.0.0/8\"");
		if (!parse_cidr(a->v.u.s.p, a->v.u.s.n, &blocks[i - 1]))
			return fd_diag_set(ck->diag, FD_ERR_SYNTAX, a->line,
					   a->col, "invalid address block "
					   "\"%.*s\"", (int)a->v.u.s.n,
					   a->v.u.s.p);
	}
	call->prep = blocks;
	return 0;
}

static int check_between(struct eql_node *call, struct eql_check *ck)
{
	const struct eql_node *g = call->nargs == 4 ? call->args[3] : NULL;
	int rc = check_args(call, ck);

	if (rc < 0)
		return rc;
	if (g && g->kind != EQL_N_CONST)
		return fd_diag_set(ck->diag, FD_ERR_SYNTAX, g->line, g->col,
				   "between: greedy must be the constant true "
				   "or false");
	return 0;
}

static const struct eql_func funcs[] = {
	{ "add", 2, 2, false, EQL_ST_NUM, "nn", check_plain, f_add },
	{ "between", 3, 4, true, EQL_ST_STR, "sssb", check_between,
	  f_between },
	{ "cidrMatch", 2, 255, false, EQL_ST_BOOL, "ss+", check_cidr,
	  f_cidr_match },
	{ "concat", 1, 255, false, EQL_ST_STR, "v+", check_plain, f_concat },
	{ "divide", 2, 2, false, EQL_ST_NUM, "nn", check_division,
	  f_divide },
	{ "endsWith", 2, 2, true, EQL_ST_BOOL, "ss", check_plain,
	  f_ends_with },
	{ "indexOf", 2, 3, true, EQL_ST_NUM, "ssn", check_plain,
	  f_index_of },
	{ "length", 1, 1, false, EQL_ST_NUM, "s", check_plain, f_length },
	{ "modulo", 2, 2, false, EQL_ST_NUM, "nn", check_division,
	  f_modulo },
	{ "multiply", 2, 2, false, EQL_ST_NUM, "nn", check_plain,
	  f_multiply },
	{ "number", 1, 2, false, EQL_ST_NUM, "sn", check_plain, f_number },
	{ "startsWith", 2, 2, true, EQL_ST_BOOL, "ss", check_plain,
	  f_starts_with },
	{ "string", 1, 1, false, EQL_ST_STR, "v", check_plain, f_string },
	{ "stringContains", 2, 2, true, EQL_ST_BOOL, "ss", check_plain,
	  f_string_contains },
	{ "substring", 2, 3, false, EQL_ST_STR, "snn", check_plain,
	  f_substring },
	{ "subtract", 2, 2, false, EQL_ST_NUM, "nn", check_plain,
	  f_subtract },
};

const struct eql_func *eql_func_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == len &&
		    !strncasecmp(funcs[i].name, name, len))
			return &funcs[i];
	return NULL;
}
