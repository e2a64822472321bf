/*
 * eql_eval.c - evaluate a checked EQL tree against one ECS document.
 *
 * Connectives (and, or, not) work on plain booleans.  Each basic predicate
 * (PRED) is true when some combination of the values of the fields it
 * reads makes it true: the fields are visited one inside the other through
 * fd_field_visit(), a field without a value enters as null, and the first
 * true combination stops the walk.  A predicate on one field compared with
 * constants skips the generic machinery.  Nothing here allocates unless a
 * function builds a string longer than the caller's stack scratch.
 */
#include "eql_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"

/* ---- scratch ---- */

struct scratch_block {
	struct scratch_block *next;
	max_align_t data[];
};

char *eql_scratch_get(struct eql_scratch *sc, size_t n)
{
	struct scratch_block *b;

	if (sc->cap - sc->used >= n) {
		char *p = sc->buf + sc->used;

		sc->used += n;
		return p;
	}
	b = malloc(sizeof(*b) + n + 1);
	if (!b)
		return NULL;
	b->next = sc->heap;
	sc->heap = b;
	return (char *)b->data;
}

void eql_scratch_release(struct eql_scratch *sc)
{
	struct scratch_block *b = sc->heap;

	while (b) {
		struct scratch_block *next = b->next;

		free(b);
		b = next;
	}
	sc->heap = NULL;
	sc->used = 0;
}

/* ---- values ---- */

bool eql_val_from_json(const cJSON *j, struct eql_val *v)
{
	double d;

	switch (j->type & 0xFF) {
	case cJSON_String:
		if (!j->valuestring)
			return false;
		v->t = EQL_STR;
		v->u.s.p = j->valuestring;
		v->u.s.n = strlen(j->valuestring);
		return true;
	case cJSON_Number:
		d = j->valuedouble;
		if (d == floor(d) && d >= -9223372036854775808.0 &&
		    d < 9223372036854775808.0) {
			v->t = EQL_LONG;
			v->u.l = (int64_t)d;
		} else {
			v->t = EQL_DOUBLE;
			v->u.d = d;
		}
		return true;
	case cJSON_True:
	case cJSON_False:
		v->t = EQL_BOOL;
		v->u.b = (j->type & 0xFF) == cJSON_True;
		return true;
	default:
		return false;
	}
}

static bool truthy(const struct eql_val *v)
{
	return v->t == EQL_BOOL && v->u.b;
}

static void set_bool(struct eql_val *out, bool b)
{
	out->t = EQL_BOOL;
	out->u.b = b;
}

/* -1 false, 1 true, 0 null: the result of one predicate on one value. */
static void set_tri(struct eql_val *out, int tri)
{
	if (tri)
		set_bool(out, tri > 0);
	else
		out->t = EQL_NULL;
}

static bool is_num(const struct eql_val *v)
{
	return v->t == EQL_LONG || v->t == EQL_DOUBLE;
}

static double num(const struct eql_val *v)
{
	return v->t == EQL_LONG ? (double)v->u.l : v->u.d;
}

int eql_compare(const struct eql_val *x, const struct eql_val *y)
{
	if (is_num(x) && is_num(y)) {
		double a, b;

		if (x->t == EQL_LONG && y->t == EQL_LONG)
			return (x->u.l > y->u.l) - (x->u.l < y->u.l);
		a = num(x);
		b = num(y);
		if (isnan(a) || isnan(b))
			return 2;
		return (a > b) - (a < b);
	}
	if (x->t == EQL_STR && y->t == EQL_STR) {
		size_t n = x->u.s.n < y->u.s.n ? x->u.s.n : y->u.s.n;
		int c = n ? memcmp(x->u.s.p, y->u.s.p, n) : 0;

		if (c)
			return c < 0 ? -1 : 1;
		return (x->u.s.n > y->u.s.n) - (x->u.s.n < y->u.s.n);
	}
	if (x->t == EQL_BOOL && y->t == EQL_BOOL)
		return (int)x->u.b - (int)y->u.b;
	return 2;
}

/* Java's Double.toString, which Elasticsearch's string() and concat()
 * use: plain notation in [1e-3, 1e7), else d.dddE±n. */
static size_t format_double(double d, char *buf)
{
	char tmp[40], digits[24];
	int p, e, nd = 0, k;
	size_t o = 0;
	const char *s;

	if (isnan(d))
		return (size_t)snprintf(buf, 32, "NaN");
	if (isinf(d))
		return (size_t)snprintf(buf, 32, d > 0 ? "Infinity" :
							  "-Infinity");
	if (d == 0)
		return (size_t)snprintf(buf, 32, signbit(d) ? "-0.0" : "0.0");
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	s = tmp;
	if (*s == '-') {
		buf[o++] = '-';
		s++;
	}
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	e = atoi(s + 1);
	if (fabs(d) >= 1e-3 && fabs(d) < 1e7) {
		if (e >= 0) {
			for (k = 0; k <= e; k++)
				buf[o++] = k < nd ? digits[k] : '0';
			buf[o++] = '.';
			if (nd > e + 1)
				for (k = e + 1; k < nd; k++)
					buf[o++] = digits[k];
			else
				buf[o++] = '0';
		} else {
			buf[o++] = '0';
			buf[o++] = '.';
			for (k = 0; k < -e - 1; k++)
				buf[o++] = '0';
			for (k = 0; k < nd; k++)
				buf[o++] = digits[k];
		}
		buf[o] = '\0';
		return o;
	}
	buf[o++] = digits[0];
	buf[o++] = '.';
	if (nd > 1)
		for (k = 1; k < nd; k++)
			buf[o++] = digits[k];
	else
		buf[o++] = '0';
	return o + (size_t)snprintf(buf + o, 8, "E%d", e);
}

size_t eql_format(const struct eql_val *v, char *buf)
{
	switch (v->t) {
	case EQL_LONG:
		return (size_t)snprintf(buf, 32, "%lld", (long long)v->u.l);
	case EQL_DOUBLE:
		return format_double(v->u.d, buf);
	case EQL_BOOL:
		return (size_t)snprintf(buf, 32, "%s",
					v->u.b ? "true" : "false");
	default:
		buf[0] = '\0';
		return 0;
	}
}

/* ---- arithmetic ---- */

static void arith_long(enum eql_op op, int64_t a, int64_t b,
		       struct eql_val *out)
{
	int64_t r;
	bool over = false;

	switch (op) {
	case EQL_OP_ADD:
		over = __builtin_add_overflow(a, b, &r);
		break;
	case EQL_OP_SUB:
		over = __builtin_sub_overflow(a, b, &r);
		break;
	case EQL_OP_MUL:
		over = __builtin_mul_overflow(a, b, &r);
		break;
	case EQL_OP_DIV:
		/* Java's integer division truncates, as C's does. */
		over = b == 0 || (a == INT64_MIN && b == -1);
		r = over ? 0 : a / b;
		break;
	default:
		over = b == 0;
		r = over || b == -1 ? 0 : a % b;
		break;
	}
	if (over) {
		out->t = EQL_NULL;
		return;
	}
	out->t = EQL_LONG;
	out->u.l = r;
}

void eql_arith(enum eql_op op, const struct eql_val *x,
	       const struct eql_val *y, struct eql_val *out)
{
	double a, b, r;

	if (!is_num(x) || !is_num(y)) {
		out->t = EQL_NULL;
		return;
	}
	if (x->t == EQL_LONG && y->t == EQL_LONG) {
		arith_long(op, x->u.l, y->u.l, out);
		return;
	}
	a = num(x);
	b = num(y);
	switch (op) {
	case EQL_OP_ADD:
		r = a + b;
		break;
	case EQL_OP_SUB:
		r = a - b;
		break;
	case EQL_OP_MUL:
		r = a * b;
		break;
	case EQL_OP_DIV:
		if (b == 0) {
			out->t = EQL_NULL;
			return;
		}
		r = a / b;
		break;
	default:
		if (b == 0) {
			out->t = EQL_NULL;
			return;
		}
		r = fmod(a, b);
		break;
	}
	out->t = EQL_DOUBLE;
	out->u.d = r;
}

/* ---- one predicate on one value ---- */

static int cmp_test(enum eql_op op, const struct eql_val *a,
		    const struct eql_val *b)
{
	int c;
	bool r;

	/* the usual test, a string equal to a constant: lengths first */
	if (op == EQL_OP_EQ && a->t == EQL_STR && b->t == EQL_STR)
		return a->u.s.n == b->u.s.n &&
		       (!a->u.s.n ||
			!memcmp(a->u.s.p, b->u.s.p, a->u.s.n)) ? 1 : -1;
	c = eql_compare(a, b);

	if (c == 2)
		return 0;
	switch (op) {
	case EQL_OP_EQ:
		r = c == 0;
		break;
	case EQL_OP_LT:
		r = c < 0;
		break;
	case EQL_OP_LE:
		r = c <= 0;
		break;
	case EQL_OP_GT:
		r = c > 0;
		break;
	default:
		r = c >= 0;
		break;
	}
	return r ? 1 : -1;
}

static int wild_test(const struct eql_node *n, const struct eql_val *v)
{
	size_t i;

	if (v->t != EQL_STR)
		return 0;
	for (i = 0; i < n->n; i++)
		if (eql_wild_match(&n->wild[i], v->u.s.p, v->u.s.n))
			return 1;
	return -1;
}

static int regex_test(const struct eql_node *n, const struct eql_val *v)
{
	size_t i;

	if (v->t != EQL_STR)
		return 0;
	for (i = 0; i < n->n; i++)
		if (eql_regex_match(n->re[i], v->u.s.p, v->u.s.n))
			return 1;
	return -1;
}

static int in_test(const struct eql_node *n, const struct eql_val *v)
{
	size_t i;

	if (v->t == EQL_NULL)
		return 0;
	for (i = 0; i < n->n; i++) {
		const struct eql_val *e = &n->vals[i];

		if (v->t == EQL_STR && e->t == EQL_STR) {
			if (n->ci ? eql_ci_equal(v->u.s.p, v->u.s.n, e->u.s.p,
						 e->u.s.n) :
				    (v->u.s.n == e->u.s.n &&
				     !memcmp(v->u.s.p, e->u.s.p, v->u.s.n)))
				return 1;
		} else if (eql_compare(v, e) == 0) {
			return 1;
		}
	}
	return -1;
}

/* The test of a simple predicate's node on one value of its field. */
static int node_test(const struct eql_node *c, const struct eql_val *v)
{
	switch (c->kind) {
	case EQL_N_CMP:
		return cmp_test(c->op, v, &c->b->v);
	case EQL_N_ISNULL:
		return v->t == EQL_NULL ? 1 : -1;
	case EQL_N_WILD:
		return wild_test(c, v);
	case EQL_N_REGEX:
		return regex_test(c, v);
	case EQL_N_IN:
		return in_test(c, v);
	default:
		return 0;
	}
}

/* ---- value-level evaluation ---- */

void eql_eval(const struct eql_node *n, const struct eql_env *env,
	      struct eql_val *out)
{
	struct eql_val a, b;

	switch (n->kind) {
	case EQL_N_CONST:
		*out = n->v;
		return;
	case EQL_N_FIELD:
		if (env->slot && n->slot >= 0)
			*out = env->slot[n->slot];
		else
			out->t = EQL_NULL;
		return;
	case EQL_N_NEG:
		eql_eval(n->a, env, &a);
		if (a.t == EQL_LONG && a.u.l != INT64_MIN) {
			out->t = EQL_LONG;
			out->u.l = -a.u.l;
		} else if (is_num(&a)) {
			out->t = EQL_DOUBLE;
			out->u.d = -num(&a);
		} else {
			out->t = EQL_NULL;
		}
		return;
	case EQL_N_NOT:
		eql_eval(n->a, env, &a);
		set_bool(out, !truthy(&a));
		return;
	case EQL_N_AND:
	case EQL_N_OR:
		eql_eval(n->a, env, &a);
		if (truthy(&a) == (n->kind == EQL_N_OR)) {
			set_bool(out, truthy(&a));
			return;
		}
		eql_eval(n->b, env, &b);
		set_bool(out, truthy(&b));
		return;
	case EQL_N_ARITH:
		eql_eval(n->a, env, &a);
		eql_eval(n->b, env, &b);
		eql_arith(n->op, &a, &b, out);
		return;
	case EQL_N_CMP:
		eql_eval(n->a, env, &a);
		eql_eval(n->b, env, &b);
		set_tri(out, cmp_test(n->op, &a, &b));
		return;
	case EQL_N_ISNULL:
	case EQL_N_WILD:
	case EQL_N_REGEX:
	case EQL_N_IN:
		eql_eval(n->a, env, &a);
		set_tri(out, node_test(n, &a));
		return;
	case EQL_N_CALL:
		*out = n->fn->eval(n, env);
		return;
	case EQL_N_PRED:
		eql_eval(n->a, env, out);
		return;
	}
	out->t = EQL_NULL;
}

/* ---- the values of the fields an event is asked for ---- */

/*
 * One filter asks for the same fields many times (the seed rule reads
 * process.name in every branch): each field's values are read from the
 * document once, converted, and kept for the rest of the filter.  A
 * field with more values than an entry holds, or one past the last
 * entry, is read from the document each time, as it would be without
 * the cache: the cache only saves work, it never decides anything.
 * Entries are found by the path's address: the parser gives every field
 * of a query one string (add_field()), and two addresses of one path
 * only cost a second read.
 */
#define FCACHE_FIELDS 16
#define FCACHE_VALUES 8

struct fcache_entry {
	const char *path;
	bool spill;		/* more values than v holds */
	unsigned nv;
	struct eql_val v[FCACHE_VALUES];
};

struct fcache {
	const cJSON *doc;
	size_t n;
	struct fcache_entry e[FCACHE_FIELDS];
};

static int collect_visit(const cJSON *value, void *arg)
{
	struct fcache_entry *e = arg;
	struct eql_val v;

	if (!eql_val_from_json(value, &v))
		return 0;
	if (e->nv == FCACHE_VALUES) {
		e->spill = true;
		return 1;
	}
	e->v[e->nv++] = v;
	return 0;
}

/* The values of path in fc's document, or NULL: read them uncached. */
static const struct fcache_entry *fcache_get(struct fcache *fc,
					     const char *path)
{
	struct fcache_entry *e;
	size_t i;

	if (!fc)
		return NULL;
	for (i = 0; i < fc->n; i++)
		if (fc->e[i].path == path)
			return fc->e[i].spill ? NULL : &fc->e[i];
	if (fc->n == FCACHE_FIELDS)
		return NULL;
	e = &fc->e[fc->n++];
	e->path = path;
	e->spill = false;
	e->nv = 0;
	fd_field_visit(fc->doc, path, collect_visit, e);
	return e->spill ? NULL : e;
}

/* ---- predicates over an event ---- */

struct pred_ctx {
	const struct eql_node *pred;
	const cJSON *doc;
	struct fcache *fc;
	struct eql_val slot[EQL_MAX_SLOTS];
	struct eql_env env;
	size_t mark;
};

struct pred_level {
	struct pred_ctx *ctx;
	int k;
	int seen;
};

static int bind_from(struct pred_ctx *ctx, int k);

static int bind_visit(const cJSON *value, void *arg)
{
	struct pred_level *lv = arg;

	if (!eql_val_from_json(value, &lv->ctx->slot[lv->k]))
		return 0;
	lv->seen++;
	return bind_from(lv->ctx, lv->k + 1);
}

/* Give field k each of its values in turn (null when it has none) and go
 * on with the next field; evaluate once all are bound.  Nonzero: true. */
static int bind_from(struct pred_ctx *ctx, int k)
{
	struct pred_level lv = { ctx, k, 0 };
	const struct fcache_entry *e;
	struct eql_val v;
	int rc = 0;

	if (k == ctx->pred->nslots) {
		ctx->env.sc->used = ctx->mark;
		eql_eval(ctx->pred->a, &ctx->env, &v);
		return truthy(&v);
	}
	e = fcache_get(ctx->fc, ctx->pred->paths[k]);
	if (e) {
		for (unsigned i = 0; i < e->nv && !rc; i++) {
			ctx->slot[k] = e->v[i];
			lv.seen++;
			rc = bind_from(ctx, k + 1);
		}
	} else {
		rc = fd_field_visit(ctx->doc, ctx->pred->paths[k], bind_visit,
				    &lv);
	}
	if (rc || lv.seen)
		return rc;
	ctx->slot[k].t = EQL_NULL;
	return bind_from(ctx, k + 1);
}

struct simple_ctx {
	const struct eql_node *test;
	int seen;
};

static int simple_visit(const cJSON *value, void *arg)
{
	struct simple_ctx *sc = arg;
	struct eql_val v;

	if (!eql_val_from_json(value, &v))
		return 0;
	sc->seen++;
	return node_test(sc->test, &v) > 0;
}

static bool simple_match(const struct eql_node *pred, const cJSON *doc,
			 struct fcache *fc)
{
	const struct fcache_entry *e = fcache_get(fc, pred->paths[0]);
	struct simple_ctx s = { pred->a, 0 };
	struct eql_val null = { .t = EQL_NULL };

	if (e) {
		for (unsigned i = 0; i < e->nv; i++)
			if (node_test(pred->a, &e->v[i]) > 0)
				return true;
		s.seen = (int)e->nv;
	} else if (fd_field_visit(doc, pred->paths[0], simple_visit, &s)) {
		return true;
	}
	return !s.seen && node_test(pred->a, &null) > 0;
}

static bool pred_match(const struct eql_node *pred, const cJSON *doc,
		       struct eql_scratch *sc, struct fcache *fc)
{
	struct pred_ctx ctx;

	if (pred->simple)
		return simple_match(pred, doc, fc);
	ctx.pred = pred;
	ctx.doc = doc;
	ctx.fc = fc;
	ctx.env.slot = ctx.slot;
	ctx.env.sc = sc;
	ctx.mark = sc->used;
	return bind_from(&ctx, 0) != 0;
}

static bool cond(const struct eql_node *n, const cJSON *doc,
		 struct eql_scratch *sc, struct fcache *fc)
{
	switch (n->kind) {
	case EQL_N_AND:
		return cond(n->a, doc, sc, fc) && cond(n->b, doc, sc, fc);
	case EQL_N_OR:
		return cond(n->a, doc, sc, fc) || cond(n->b, doc, sc, fc);
	case EQL_N_NOT:
		return !cond(n->a, doc, sc, fc);
	case EQL_N_CONST:
		return truthy(&n->v);
	case EQL_N_PRED:
		return pred_match(n, doc, sc, fc);
	default:
		return false;
	}
}

bool eql_cond(const struct eql_node *n, const cJSON *doc,
	      struct eql_scratch *sc)
{
	return cond(n, doc, sc, NULL);
}

struct cat_ctx {
	const char *cat;
	size_t len;
};

static int cat_visit(const cJSON *value, void *arg)
{
	const struct cat_ctx *c = arg;
	const char *s = cJSON_IsString(value) ? value->valuestring : NULL;

	return s && !strncmp(s, c->cat, c->len) && s[c->len] == '\0';
}

/* A string value equal to cat, as cat_visit() has it. */
static bool category_match(const cJSON *doc, const char *cat, size_t len,
			   struct fcache *fc)
{
	struct cat_ctx c = { cat, len };
	const struct fcache_entry *e;

	if (!cat)
		return true;
	if (memchr(cat, '\0', len))
		return false;
	e = fcache_get(fc, "event.category");
	if (!e)
		return fd_field_visit(doc, "event.category", cat_visit,
				      &c) != 0;
	for (unsigned i = 0; i < e->nv; i++)
		if (e->v[i].t == EQL_STR && e->v[i].u.s.n == len &&
		    !memcmp(e->v[i].u.s.p, cat, len))
			return true;
	return false;
}

bool eql_category_match(const cJSON *doc, const char *cat, size_t len)
{
	return category_match(doc, cat, len, NULL);
}

bool eql_term_match(const struct eql_term *t, const cJSON *doc,
		    struct eql_scratch *sc)
{
	struct fcache fc;
	bool r;

	fc.doc = doc;
	fc.n = 0;
	if (!category_match(doc, t->category, t->catlen, &fc))
		return false;
	r = cond(t->cond, doc, sc, &fc);
	eql_scratch_release(sc);
	return r;
}

bool fd_eql_match(const struct fd_eql *q, const cJSON *doc)
{
	char buf[1024];
	struct eql_scratch sc = { .buf = buf, .cap = sizeof(buf) };

	if (!q || !doc || q->kind != EQL_Q_EVENT)
		return false;
	return eql_term_match(&q->terms[0], doc, &sc);
}
