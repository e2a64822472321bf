/*
 * eql_parse.c - EQL's parser and checker: tokens to a checked tree.
 *
 * A recursive-descent parser over the token array, shaped like
 * Elasticsearch's grammar: statement = query pipe*, where query is an event
 * query, a sequence, a sample or a join.  Nodes are checked as they are
 * built (types, a field compared with a field, constant lists), constant
 * subtrees are folded, and each basic predicate is wrapped in a PRED node
 * listing the fields it reads.  Errors carry the line and column of the
 * token at fault; constructs Elasticsearch accepts but the engine cannot
 * run (join, array indexes, `x of [...]`, pipes other than head and tail)
 * are FD_ERR_UNSUPPORTED, never syntax errors.
 */
#include "eql_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct fd_eql *q;
	struct eql_arena *a;
	struct fd_diag *diag;
	struct eql_token *t;
	size_t n, i;
	int depth;
	int rc;			/* first error, 0 while none */
	size_t fields_cap;
};

/* ---- errors ---- */

static void *fail_at(struct parser *p, enum fd_err err, int line, int col,
		     const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void *fail_at(struct parser *p, enum fd_err err, int line, int col,
		     const char *fmt, ...)
{
	if (p->rc)
		return NULL;
	p->rc = -(int)err;
	if (p->diag) {
		va_list ap;

		p->diag->line = line;
		p->diag->col = col;
		va_start(ap, fmt);
		vsnprintf(p->diag->msg, sizeof(p->diag->msg), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

#define FAIL(p, tok, ...) \
	fail_at((p), FD_ERR_SYNTAX, (tok)->line, (tok)->col, __VA_ARGS__)
#define FAIL_NODE(p, node, ...) \
	fail_at((p), FD_ERR_SYNTAX, (node)->line, (node)->col, __VA_ARGS__)
#define UNSUPPORTED(p, tok, ...) \
	fail_at((p), FD_ERR_UNSUPPORTED, (tok)->line, (tok)->col, __VA_ARGS__)

static void *nomem(struct parser *p)
{
	return fail_at(p, FD_ERR_NOMEM, 0, 0, "out of memory");
}

static void *alloc(struct parser *p, size_t size)
{
	void *m = eql_alloc(p->a, size);

	return m ? m : nomem(p);
}

/* ---- tokens ---- */

static struct eql_token *cur(struct parser *p)
{
	return &p->t[p->i];
}

static struct eql_token *ahead(struct parser *p, size_t k)
{
	return p->i + k < p->n ? &p->t[p->i + k] : &p->t[p->n - 1];
}

static bool at(struct parser *p, enum eql_tok type)
{
	return cur(p)->type == type;
}

static struct eql_token *take(struct parser *p)
{
	struct eql_token *t = cur(p);

	if (t->type != EQL_T_EOF)
		p->i++;
	return t;
}

static bool accept(struct parser *p, enum eql_tok type)
{
	if (!at(p, type))
		return false;
	take(p);
	return true;
}

/* The lower-case keyword an identifier spells, for "AND" and friends. */
static const char *keyword_hint(const struct eql_token *t)
{
	static const char *const words[] = {
		"and", "or", "not", "in", "like", "regex", "where", "any",
		"true", "false", "null", "sequence", "sample", "by", "with",
		"until", "maxspan", "join", "of",
	};
	size_t i, k;

	if (t->type != EQL_T_IDENT)
		return NULL;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) != t->tlen)
			continue;
		for (k = 0; k < t->tlen; k++)
			if (tolower((unsigned char)t->text[k]) != words[i][k])
				break;
		if (k == t->tlen)
			return words[i];
	}
	return NULL;
}

/* "'name'", "a string", "end of query"... */
static const char *describe(const struct eql_token *t, char *buf, size_t len)
{
	if (t->type == EQL_T_IDENT || t->type == EQL_T_QIDENT ||
	    t->type == EQL_T_TIDENT) {
		snprintf(buf, len, "'%.40s%s'", t->text,
			 t->type == EQL_T_TIDENT ? "~" : "");
		return buf;
	}
	return eql_tok_name(t->type);
}

/* "expected X, found Y" with the lower-case keyword hint when it helps. */
static void *unexpected(struct parser *p, const char *expected)
{
	struct eql_token *t = cur(p);
	const char *kw = keyword_hint(t);
	char buf[64];

	if (kw)
		return FAIL(p, t, "expected %s, found '%s' (keywords are "
			    "lower case: write '%s')", expected, t->text, kw);
	return FAIL(p, t, "expected %s, found %s", expected,
		    describe(t, buf, sizeof(buf)));
}

static struct eql_token *expect(struct parser *p, enum eql_tok type,
				const char *what)
{
	if (at(p, type))
		return take(p);
	return unexpected(p, what);
}

/* ---- nodes ---- */

static struct eql_node *new_node(struct parser *p, enum eql_kind kind,
				 const struct eql_token *at_tok)
{
	struct eql_node *n = alloc(p, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = at_tok->line;
	n->col = at_tok->col;
	n->slot = -1;
	return n;
}

static enum eql_stype stype_of(const struct eql_val *v)
{
	switch (v->t) {
	case EQL_NULL:
		return EQL_ST_NULL;
	case EQL_BOOL:
		return EQL_ST_BOOL;
	case EQL_LONG:
	case EQL_DOUBLE:
		return EQL_ST_NUM;
	case EQL_STR:
		break;
	}
	return EQL_ST_STR;
}

static const char *stype_name(enum eql_stype t)
{
	switch (t) {
	case EQL_ST_NULL:
		return "null";
	case EQL_ST_BOOL:
		return "a boolean";
	case EQL_ST_NUM:
		return "a number";
	case EQL_ST_STR:
		return "a string";
	case EQL_ST_ANY:
		break;
	}
	return "a field";
}

static bool is_const(const struct eql_node *n)
{
	return n->kind == EQL_N_CONST;
}

static bool is_null_const(const struct eql_node *n)
{
	return n->kind == EQL_N_CONST && n->v.t == EQL_NULL;
}

/* Replace a field-free subtree by its value. */
static struct eql_node *fold(struct parser *p, struct eql_node *n)
{
	char buf[256];
	struct eql_scratch sc = { .buf = buf, .cap = sizeof(buf) };
	struct eql_env env = { .slot = NULL, .sc = &sc };
	struct eql_val v;

	eql_eval(n, &env, &v);
	if (v.t == EQL_STR) {
		char *s = eql_memdup(p->a, v.u.s.p, v.u.s.n);

		if (!s) {
			eql_scratch_release(&sc);
			return nomem(p);
		}
		v.u.s.p = s;
	}
	eql_scratch_release(&sc);
	n->kind = EQL_N_CONST;
	n->v = v;
	n->stype = stype_of(&v);
	n->a = n->b = NULL;
	return n;
}

static struct eql_node *const_node(struct parser *p,
				   const struct eql_token *tok)
{
	struct eql_node *n = new_node(p, EQL_N_CONST, tok);

	if (!n)
		return NULL;
	switch (tok->type) {
	case EQL_T_STRING:
		n->v.t = EQL_STR;
		n->v.u.s.p = tok->text;
		n->v.u.s.n = tok->tlen;
		break;
	case EQL_T_INT:
		n->v.t = EQL_LONG;
		n->v.u.l = tok->l;
		break;
	case EQL_T_DEC:
		n->v.t = EQL_DOUBLE;
		n->v.u.d = tok->d;
		break;
	case EQL_T_TRUE:
	case EQL_T_FALSE:
		n->v.t = EQL_BOOL;
		n->v.u.b = tok->type == EQL_T_TRUE;
		break;
	default:
		n->v.t = EQL_NULL;
		break;
	}
	n->stype = stype_of(&n->v);
	return n;
}

static bool is_condition_type(enum eql_stype t)
{
	return t == EQL_ST_BOOL || t == EQL_ST_ANY || t == EQL_ST_NULL;
}

static bool is_number_type(enum eql_stype t)
{
	return t == EQL_ST_NUM || t == EQL_ST_ANY || t == EQL_ST_NULL;
}

static bool is_string_type(enum eql_stype t)
{
	return t == EQL_ST_STR || t == EQL_ST_ANY || t == EQL_ST_NULL;
}

static struct eql_node *logic_node(struct parser *p, enum eql_kind kind,
				   const struct eql_token *tok,
				   struct eql_node *a, struct eql_node *b)
{
	struct eql_node *n;

	if (!a || (kind != EQL_N_NOT && !b))
		return NULL;
	if (!is_condition_type(a->stype))
		return FAIL_NODE(p, a, "expected a condition, found %s",
				 stype_name(a->stype));
	if (b && !is_condition_type(b->stype))
		return FAIL_NODE(p, b, "expected a condition, found %s",
				 stype_name(b->stype));
	n = new_node(p, kind, tok);
	if (!n)
		return NULL;
	n->a = a;
	n->b = b;
	n->stype = EQL_ST_BOOL;
	n->has_field = a->has_field || (b && b->has_field);
	return n->has_field ? n : fold(p, n);
}

static bool is_zero(const struct eql_node *n)
{
	return n->kind == EQL_N_CONST &&
	       ((n->v.t == EQL_LONG && n->v.u.l == 0) ||
		(n->v.t == EQL_DOUBLE && n->v.u.d == 0));
}

static struct eql_node *arith_node(struct parser *p, enum eql_op op,
				   const struct eql_token *tok,
				   struct eql_node *a, struct eql_node *b)
{
	struct eql_node *n;

	if (!a || !b)
		return NULL;
	if (!is_number_type(a->stype) || !is_number_type(b->stype))
		return FAIL(p, tok, "%s needs numbers, found %s",
			    eql_tok_name(tok->type),
			    stype_name(is_number_type(a->stype) ? b->stype :
								  a->stype));
	if ((op == EQL_OP_DIV || op == EQL_OP_MOD) && is_zero(b))
		return FAIL_NODE(p, b, "division by zero");
	n = new_node(p, EQL_N_ARITH, tok);
	if (!n)
		return NULL;
	n->op = op;
	n->a = a;
	n->b = b;
	n->stype = EQL_ST_NUM;
	n->has_field = a->has_field || b->has_field;
	return n->has_field ? n : fold(p, n);
}

static struct eql_node *neg_node(struct parser *p,
				 const struct eql_token *tok,
				 struct eql_node *a)
{
	struct eql_node *n;

	if (!a)
		return NULL;
	if (!is_number_type(a->stype))
		return FAIL(p, tok, "unary '%c' needs a number, found %s",
				 tok->type == EQL_T_MINUS ? '-' : '+',
				 stype_name(a->stype));
	if (tok->type == EQL_T_PLUS)
		return a;
	n = new_node(p, EQL_N_NEG, tok);
	if (!n)
		return NULL;
	n->a = a;
	n->stype = EQL_ST_NUM;
	n->has_field = a->has_field;
	return n->has_field ? n : fold(p, n);
}

static enum eql_op mirror(enum eql_op op)
{
	switch (op) {
	case EQL_OP_LT:
		return EQL_OP_GT;
	case EQL_OP_LE:
		return EQL_OP_GE;
	case EQL_OP_GT:
		return EQL_OP_LT;
	case EQL_OP_GE:
		return EQL_OP_LE;
	default:
		return op;
	}
}

static bool comparable(enum eql_stype x, enum eql_stype y)
{
	return x == EQL_ST_ANY || y == EQL_ST_ANY || x == EQL_ST_NULL ||
	       y == EQL_ST_NULL || x == y;
}

/* a OP b; `!=` is built as not (a == b), and `x == null` as isnull(x). */
static struct eql_node *cmp_node(struct parser *p, const struct eql_token *tok,
				 struct eql_node *a, struct eql_node *b)
{
	static const enum eql_op ops[] = {
		[EQL_T_EQ] = EQL_OP_EQ, [EQL_T_NEQ] = EQL_OP_EQ,
		[EQL_T_LT] = EQL_OP_LT, [EQL_T_LTE] = EQL_OP_LE,
		[EQL_T_GT] = EQL_OP_GT, [EQL_T_GTE] = EQL_OP_GE,
	};
	enum eql_op op = ops[tok->type];
	bool negate = tok->type == EQL_T_NEQ;
	struct eql_node *n;

	if (!a || !b)
		return NULL;
	if (a->has_field && b->has_field)
		return FAIL(p, tok, "a field cannot be compared with another "
			    "field; compare it with a constant");
	if (!comparable(a->stype, b->stype))
		return FAIL(p, tok, "cannot compare %s with %s",
			    stype_name(a->stype), stype_name(b->stype));
	if (is_const(a) && b->has_field) {
		struct eql_node *tmp = a;

		a = b;
		b = tmp;
		op = mirror(op);
	}
	if (op == EQL_OP_EQ && is_null_const(b)) {
		n = new_node(p, EQL_N_ISNULL, tok);
		if (!n)
			return NULL;
		n->a = a;
	} else {
		n = new_node(p, EQL_N_CMP, tok);
		if (!n)
			return NULL;
		n->op = op;
		n->a = a;
		n->b = b;
	}
	n->stype = EQL_ST_BOOL;
	n->has_field = a->has_field;
	if (!n->has_field && !fold(p, n))
		return NULL;
	return negate ? logic_node(p, EQL_N_NOT, tok, n, NULL) : n;
}

/* ---- fields ---- */

/*
 * Note a field the query reads; *path becomes the query's one string of
 * it, so that evaluation can tell fields apart by address.
 */
static int add_field(struct parser *p, const char **path)
{
	struct fd_eql *q = p->q;
	size_t i;

	for (i = 0; i < q->nfields; i++) {
		if (!strcmp(q->fields[i], *path)) {
			*path = q->fields[i];
			return 0;
		}
	}
	if (q->nfields + 1 >= p->fields_cap) {
		size_t cap = p->fields_cap ? p->fields_cap * 2 : 16;
		const char **nf = eql_alloc(p->a, cap * sizeof(*nf));

		if (!nf) {
			nomem(p);
			return -1;
		}
		if (q->nfields)
			memcpy(nf, q->fields, q->nfields * sizeof(*nf));
		q->fields = nf;
		p->fields_cap = cap;
	}
	q->fields[q->nfields++] = *path;
	q->fields[q->nfields] = NULL;
	return 0;
}

/* [?] name (. name)*, with `quoted` names; "a.b" as one path string. */
static struct eql_node *parse_field(struct parser *p)
{
	struct eql_token *first = cur(p);
	bool optional = accept(p, EQL_T_OPTIONAL);
	size_t cap = 64, len = 0;
	char *path = NULL;
	struct eql_node *n;

	for (;;) {
		struct eql_token *seg = cur(p);

		if (seg->type != EQL_T_IDENT && seg->type != EQL_T_QIDENT)
			return unexpected(p, len ? "a field name after '.'" :
						   "a field name after '?'");
		take(p);
		if (len + seg->tlen + 2 > cap || !path) {
			char *np;

			while (len + seg->tlen + 2 > cap)
				cap *= 2;
			np = alloc(p, cap);
			if (!np)
				return NULL;
			if (len)
				memcpy(np, path, len);
			path = np;
		}
		if (len)
			path[len++] = '.';
		memcpy(path + len, seg->text, seg->tlen);
		len += seg->tlen;
		path[len] = '\0';
		if (at(p, EQL_T_DOT)) {
			take(p);
			continue;
		}
		if (at(p, EQL_T_LB) && ahead(p, 1)->type == EQL_T_INT)
			return UNSUPPORTED(p, cur(p), "array indexes "
					   "('[%lld]') are not supported",
					   (long long)ahead(p, 1)->l);
		break;
	}
	n = new_node(p, EQL_N_FIELD, first);
	if (!n)
		return NULL;
	n->path = path;
	n->optional = optional;
	n->stype = EQL_ST_ANY;
	n->has_field = true;
	return add_field(p, &n->path) ? NULL : n;
}

/* ---- expressions ---- */

static struct eql_node *parse_expression(struct parser *p);

static bool enter(struct parser *p)
{
	if (++p->depth > EQL_MAX_DEPTH) {
		FAIL(p, cur(p), "the query nests too deeply (more than %d "
		     "levels)", EQL_MAX_DEPTH);
		return false;
	}
	return true;
}

static void leave(struct parser *p)
{
	p->depth--;
}

/* ( expr, expr, ... ) after a function name or 'in'; *n gets the count. */
static struct eql_node **parse_list(struct parser *p, const char *owner,
				    bool allow_empty, size_t *count)
{
	struct eql_node **items = NULL;
	size_t n = 0, cap = 0;
	struct eql_token *open = cur(p);

	if (!at(p, EQL_T_LP)) {
		FAIL(p, open, "%s needs its values in parentheses", owner);
		return NULL;
	}
	take(p);
	if (at(p, EQL_T_RP)) {
		if (!allow_empty) {
			FAIL(p, cur(p), "%s needs at least one value", owner);
			return NULL;
		}
		take(p);
		*count = 0;
		return alloc(p, sizeof(*items));
	}
	for (;;) {
		struct eql_node *e = parse_expression(p);

		if (!e)
			return NULL;
		if (n == cap) {
			struct eql_node **ni;

			cap = cap ? cap * 2 : 8;
			ni = alloc(p, cap * sizeof(*ni));
			if (!ni)
				return NULL;
			if (n)
				memcpy(ni, items, n * sizeof(*ni));
			items = ni;
		}
		items[n++] = e;
		if (at(p, EQL_T_COMMA)) {
			take(p);
			if (at(p, EQL_T_RP)) {
				FAIL(p, cur(p), "trailing comma in the list "
				     "of %s", owner);
				return NULL;
			}
			continue;
		}
		if (at(p, EQL_T_RP))
			break;
		if (at(p, EQL_T_EOF) || at(p, EQL_T_RB)) {
			FAIL(p, cur(p), "expected ')' to close '('");
			return NULL;
		}
		unexpected(p, "',' or ')'");
		return NULL;
	}
	take(p);
	*count = n;
	return items;
}

static struct eql_node *parse_call(struct parser *p)
{
	struct eql_token *name = take(p);
	bool tilde = name->type == EQL_T_TIDENT;
	const struct eql_func *fn = eql_func_find(name->text, name->tlen);
	struct eql_check ck = { .arena = p->a, .diag = p->diag };
	struct eql_node *n;
	size_t i;
	char owner[80];
	bool fields = false;
	int rc;

	if (!fn)
		return FAIL(p, name, "unknown function '%s'", name->text);
	if (tilde && !fn->tilde)
		return FAIL(p, name, "function '%s' has no case-insensitive "
			    "'~' form", fn->name);
	n = new_node(p, EQL_N_CALL, name);
	if (!n)
		return NULL;
	n->fn = fn;
	n->ci = tilde;
	snprintf(owner, sizeof(owner), "function '%s'", fn->name);
	n->args = parse_list(p, owner, true, &n->nargs);
	if (!n->args)
		return NULL;
	if (n->nargs < fn->min_args || n->nargs > fn->max_args) {
		if (fn->min_args == fn->max_args)
			return FAIL(p, name, "'%s' takes %u argument%s, "
				    "not %zu", fn->name, fn->min_args,
				    fn->min_args == 1 ? "" : "s", n->nargs);
		if (fn->max_args == 255)
			return FAIL(p, name, "'%s' takes at least %u "
				    "argument%s, not %zu", fn->name,
				    fn->min_args, fn->min_args == 1 ? "" : "s",
				    n->nargs);
		return FAIL(p, name, "'%s' takes %u to %u arguments, not %zu",
			    fn->name, fn->min_args, fn->max_args, n->nargs);
	}
	for (i = 0; i < n->nargs; i++)
		fields |= n->args[i]->has_field;
	n->has_field = fields;
	n->stype = fn->result;
	rc = fn->check(n, &ck);
	if (rc < 0) {
		p->rc = rc;
		return NULL;
	}
	return fields ? n : fold(p, n);
}

static struct eql_node *parse_primary(struct parser *p)
{
	struct eql_token *t = cur(p);
	struct eql_node *e;

	switch (t->type) {
	case EQL_T_STRING:
	case EQL_T_INT:
	case EQL_T_DEC:
	case EQL_T_TRUE:
	case EQL_T_FALSE:
	case EQL_T_NULL:
		take(p);
		return const_node(p, t);
	case EQL_T_TIDENT:
		if (ahead(p, 1)->type != EQL_T_LP)
			return FAIL(p, ahead(p, 1), "expected '(' after "
				    "function name '%s~'", t->text);
		return parse_call(p);
	case EQL_T_IDENT:
		if (ahead(p, 1)->type == EQL_T_LP)
			return parse_call(p);
		/* fall through */
	case EQL_T_QIDENT:
	case EQL_T_OPTIONAL:
		return parse_field(p);
	case EQL_T_LP:
		if (!enter(p))
			return NULL;
		take(p);
		e = parse_expression(p);
		if (!e)
			return NULL;
		if (!at(p, EQL_T_RP)) {
			if (at(p, EQL_T_EOF) || at(p, EQL_T_RB) ||
			    at(p, EQL_T_PIPE))
				return FAIL(p, cur(p), "expected ')' to close "
					    "'(' (opened at line %d, column "
					    "%d)", t->line, t->col);
			return unexpected(p, "')' to close '('");
		}
		take(p);
		leave(p);
		return e;
	case EQL_T_ASGN:
		return FAIL(p, t, "'=' is not an operator; use '==' (or ':' "
			    "for a case-insensitive match)");
	default:
		return unexpected(p, "a condition or a value");
	}
}

/* The constant patterns of :, like, like~, regex, regex~. */
static int parse_patterns(struct parser *p, const struct eql_token *op,
			  const struct eql_token ***out, size_t *count)
{
	const struct eql_token **items = NULL;
	size_t n = 0, cap = 0;
	bool list = accept(p, EQL_T_LP);
	const char *name = eql_tok_name(op->type);

	if (list && at(p, EQL_T_RP)) {
		FAIL(p, cur(p), "%s needs at least one pattern", name);
		return -1;
	}
	for (;;) {
		struct eql_token *t = cur(p);

		if (t->type != EQL_T_STRING) {
			bool constant = t->type == EQL_T_INT ||
					t->type == EQL_T_DEC ||
					t->type == EQL_T_TRUE ||
					t->type == EQL_T_FALSE ||
					t->type == EQL_T_NULL;

			if (constant || t->type == EQL_T_IDENT ||
			    t->type == EQL_T_QIDENT ||
			    t->type == EQL_T_OPTIONAL)
				FAIL(p, t, "%s takes string constants as "
				     "patterns, not %s", name,
				     constant ? "other constants" : "fields");
			else
				unexpected(p, "a string pattern");
			return -1;
		}
		take(p);
		if (n == cap) {
			const struct eql_token **ni;

			cap = cap ? cap * 2 : 8;
			ni = alloc(p, cap * sizeof(*ni));
			if (!ni)
				return -1;
			if (n)
				memcpy(ni, items, n * sizeof(*ni));
			items = ni;
		}
		items[n++] = t;
		if (!list)
			break;
		if (accept(p, EQL_T_COMMA)) {
			if (at(p, EQL_T_RP)) {
				FAIL(p, cur(p), "trailing comma in the "
				     "patterns of %s", name);
				return -1;
			}
			continue;
		}
		if (at(p, EQL_T_RP)) {
			take(p);
			break;
		}
		if (at(p, EQL_T_EOF) || at(p, EQL_T_RB))
			FAIL(p, cur(p), "expected ')' to close '('");
		else
			unexpected(p, "',' or ')'");
		return -1;
	}
	*out = items;
	*count = n;
	return 0;
}

static struct eql_node *match_node(struct parser *p, struct eql_token *op,
				   struct eql_node *lhs)
{
	const struct eql_token **pats;
	bool regex = op->type == EQL_T_REGEX || op->type == EQL_T_REGEX_CI;
	struct eql_node *n;
	size_t count, i;

	if (parse_patterns(p, op, &pats, &count) < 0)
		return NULL;
	if (!is_string_type(lhs->stype))
		return FAIL_NODE(p, lhs, "%s needs a string on its left, "
				 "found %s", eql_tok_name(op->type),
				 stype_name(lhs->stype));
	n = new_node(p, regex ? EQL_N_REGEX : EQL_N_WILD, op);
	if (!n)
		return NULL;
	n->a = lhs;
	n->ci = op->type != EQL_T_LIKE && op->type != EQL_T_REGEX;
	n->n = count;
	n->stype = EQL_ST_BOOL;
	n->has_field = lhs->has_field;
	if (regex)
		n->re = alloc(p, count * sizeof(*n->re));
	else
		n->wild = alloc(p, count * sizeof(*n->wild));
	if (!n->re && !n->wild)
		return NULL;
	for (i = 0; i < count; i++) {
		const struct eql_token *t = pats[i];

		if (regex) {
			char err[200];
			int rc = eql_regex_compile(p->a, t->text, t->tlen,
						   n->ci, &n->re[i], err,
						   sizeof(err));

			if (rc < 0)
				return fail_at(p, (enum fd_err)-rc, t->line,
					       t->col, "%s", err);
		} else {
			char *pat = (char *)t->text;

			if (n->ci) {
				pat = alloc(p, t->tlen + 1);
				if (!pat)
					return NULL;
				eql_fold_str(t->text, t->tlen, pat);
			}
			eql_wild_prepare(&n->wild[i], pat, t->tlen, n->ci);
		}
	}
	return n->has_field ? n : fold(p, n);
}

static struct eql_node *in_node(struct parser *p, struct eql_token *op,
				struct eql_node *lhs, bool negate)
{
	struct eql_node **items, *n;
	size_t count, i;

	items = parse_list(p, eql_tok_name(op->type), false, &count);
	if (!items)
		return NULL;
	n = new_node(p, EQL_N_IN, op);
	if (!n)
		return NULL;
	n->a = lhs;
	n->ci = op->type == EQL_T_IN_CI;
	n->n = count;
	n->stype = EQL_ST_BOOL;
	n->has_field = lhs->has_field;
	n->vals = alloc(p, count * sizeof(*n->vals));
	if (!n->vals)
		return NULL;
	for (i = 0; i < count; i++) {
		struct eql_node *e = items[i];
		struct eql_val *v = &n->vals[i];

		if (e->has_field)
			return FAIL_NODE(p, e, "the values of %s must be "
					 "constants, not fields",
					 eql_tok_name(op->type));
		*v = e->v;
		if (n->ci && v->t == EQL_STR) {
			char *f = alloc(p, v->u.s.n + 1);

			if (!f)
				return NULL;
			eql_fold_str(v->u.s.p, v->u.s.n, f);
			v->u.s.p = f;
		}
	}
	if (!n->has_field && !fold(p, n))
		return NULL;
	return negate ? logic_node(p, EQL_N_NOT, op, n, NULL) : n;
}

/* primary [predicate]: in, not in, :, like, regex and their ~ forms. */
static struct eql_node *parse_postfix(struct parser *p)
{
	struct eql_node *e = parse_primary(p);
	struct eql_token *t;

	if (!e)
		return NULL;
	t = cur(p);
	switch (t->type) {
	case EQL_T_NOT: {
		struct eql_token *next = ahead(p, 1);

		if (next->type == EQL_T_IN || next->type == EQL_T_IN_CI) {
			take(p);
			return in_node(p, take(p), e, true);
		}
		if (next->type == EQL_T_LIKE || next->type == EQL_T_LIKE_CI ||
		    next->type == EQL_T_REGEX ||
		    next->type == EQL_T_REGEX_CI || next->type == EQL_T_SEQ) {
			/* "'like~'" without its quotes */
			const char *op = eql_tok_name(next->type);

			return FAIL(p, t, "'not' may only precede 'in' here; "
				    "write 'not field %.*s ...'",
				    (int)strlen(op) - 2, op + 1);
		}
		return e;
	}
	case EQL_T_IN:
	case EQL_T_IN_CI:
		take(p);
		return in_node(p, t, e, false);
	case EQL_T_SEQ:
	case EQL_T_LIKE:
	case EQL_T_LIKE_CI:
	case EQL_T_REGEX:
	case EQL_T_REGEX_CI:
		take(p);
		return match_node(p, t, e);
	default:
		return e;
	}
}

static struct eql_node *parse_unary(struct parser *p)
{
	struct eql_token *t = cur(p);
	struct eql_node *e;

	if (t->type != EQL_T_MINUS && t->type != EQL_T_PLUS)
		return parse_postfix(p);
	if (!enter(p))
		return NULL;
	take(p);
	e = neg_node(p, t, parse_unary(p));
	leave(p);
	return e;
}

static struct eql_node *parse_multiplicative(struct parser *p)
{
	struct eql_node *e = parse_unary(p);

	while (e && (at(p, EQL_T_STAR) || at(p, EQL_T_SLASH) ||
		     at(p, EQL_T_PERCENT))) {
		struct eql_token *t = take(p);
		enum eql_op op = t->type == EQL_T_STAR	? EQL_OP_MUL :
				 t->type == EQL_T_SLASH ? EQL_OP_DIV :
							  EQL_OP_MOD;

		e = arith_node(p, op, t, e, parse_unary(p));
	}
	return e;
}

static struct eql_node *parse_additive(struct parser *p)
{
	struct eql_node *e = parse_multiplicative(p);

	while (e && (at(p, EQL_T_PLUS) || at(p, EQL_T_MINUS))) {
		struct eql_token *t = take(p);

		e = arith_node(p, t->type == EQL_T_PLUS ? EQL_OP_ADD :
							  EQL_OP_SUB,
			       t, e, parse_multiplicative(p));
	}
	return e;
}

static bool is_cmp(enum eql_tok t)
{
	return t == EQL_T_EQ || t == EQL_T_NEQ || t == EQL_T_LT ||
	       t == EQL_T_LTE || t == EQL_T_GT || t == EQL_T_GTE;
}

static struct eql_node *parse_comparison(struct parser *p)
{
	struct eql_node *e = parse_additive(p);
	struct eql_token *t;

	if (!e)
		return NULL;
	t = cur(p);
	if (t->type == EQL_T_ASGN)
		return FAIL(p, t, "'=' is not an operator; use '==' (or ':' "
			    "for a case-insensitive match)");
	if (!is_cmp(t->type))
		return e;
	take(p);
	e = cmp_node(p, t, e, parse_additive(p));
	if (e && is_cmp(cur(p)->type))
		return FAIL(p, cur(p), "comparisons cannot be chained; join "
			    "them with 'and'");
	if (e && at(p, EQL_T_ASGN))
		return FAIL(p, cur(p), "'=' is not an operator; use '=='");
	return e;
}

static struct eql_node *parse_not(struct parser *p)
{
	struct eql_token *t = cur(p);
	struct eql_node *e;

	if (t->type == EQL_T_IDENT && ahead(p, 1)->type == EQL_T_OF)
		return UNSUPPORTED(p, t, "process relationships ('%s of "
				   "[...]') are not supported", t->text);
	if (t->type != EQL_T_NOT)
		return parse_comparison(p);
	if (!enter(p))
		return NULL;
	take(p);
	e = logic_node(p, EQL_N_NOT, t, parse_not(p), NULL);
	leave(p);
	return e;
}

static struct eql_node *parse_and(struct parser *p)
{
	struct eql_node *e = parse_not(p);

	while (e && at(p, EQL_T_AND)) {
		struct eql_token *t = take(p);

		e = logic_node(p, EQL_N_AND, t, e, parse_not(p));
	}
	return e;
}

static struct eql_node *parse_expression(struct parser *p)
{
	struct eql_node *e = parse_and(p);

	while (e && at(p, EQL_T_OR)) {
		struct eql_token *t = take(p);

		e = logic_node(p, EQL_N_OR, t, e, parse_and(p));
	}
	return e;
}

/* ---- predicates ---- */

static int bind_fields(struct parser *p, struct eql_node *pred,
		       struct eql_node *n)
{
	size_t i;
	int k;

	if (!n)
		return 0;
	if (n->kind == EQL_N_FIELD) {
		for (k = 0; k < pred->nslots; k++)
			if (!strcmp(pred->paths[k], n->path))
				break;
		if (k == pred->nslots) {
			if (k == EQL_MAX_SLOTS) {
				UNSUPPORTED(p, n, "one condition may read at "
					    "most %d fields", EQL_MAX_SLOTS);
				return -1;
			}
			pred->paths[pred->nslots++] = n->path;
		}
		n->slot = k;
		return 0;
	}
	if (bind_fields(p, pred, n->a) || bind_fields(p, pred, n->b))
		return -1;
	for (i = 0; i < n->nargs; i++)
		if (bind_fields(p, pred, n->args[i]))
			return -1;
	return 0;
}

static bool simple_pred(const struct eql_node *pred)
{
	const struct eql_node *c = pred->a;

	if (pred->nslots != 1 || !c->a || c->a->kind != EQL_N_FIELD)
		return false;
	switch (c->kind) {
	case EQL_N_CMP:
		return c->b->kind == EQL_N_CONST;
	case EQL_N_ISNULL:
	case EQL_N_WILD:
	case EQL_N_REGEX:
	case EQL_N_IN:
		return true;
	default:
		return false;
	}
}

/* Wrap every basic predicate under the boolean connectives. */
static int lower(struct parser *p, struct eql_node **np)
{
	struct eql_node *n = *np, *pred;

	switch (n->kind) {
	case EQL_N_AND:
	case EQL_N_OR:
		return lower(p, &n->a) || lower(p, &n->b) ? -1 : 0;
	case EQL_N_NOT:
		return lower(p, &n->a);
	case EQL_N_CONST:
		return 0;
	default:
		break;
	}
	pred = alloc(p, sizeof(*pred));
	if (!pred)
		return -1;
	pred->kind = EQL_N_PRED;
	pred->line = n->line;
	pred->col = n->col;
	pred->stype = EQL_ST_BOOL;
	pred->has_field = true;
	pred->a = n;
	if (bind_fields(p, pred, n))
		return -1;
	pred->simple = simple_pred(pred);
	*np = pred;
	return 0;
}

/* ---- event filters and terms ---- */

static int parse_filter(struct parser *p, struct eql_term *term)
{
	const char *category = "event.category";
	struct eql_token *t = cur(p);
	struct eql_node *cond;

	term->line = t->line;
	term->col = t->col;
	if (t->type == EQL_T_ANY) {
		term->category = NULL;
	} else if (t->type == EQL_T_IDENT || t->type == EQL_T_STRING) {
		term->category = t->text;
		term->catlen = t->tlen;
	} else {
		unexpected(p, "an event category (such as process) or 'any'");
		return -1;
	}
	take(p);
	if (!at(p, EQL_T_WHERE)) {
		unexpected(p, "'where' after the event category");
		return -1;
	}
	take(p);
	cond = parse_expression(p);
	if (!cond)
		return -1;
	if (!is_condition_type(cond->stype)) {
		FAIL_NODE(p, cond, "the condition must be true or false, not "
			  "%s", stype_name(cond->stype));
		return -1;
	}
	if (lower(p, &cond))
		return -1;
	term->cond = cond;
	if (term->category && add_field(p, &category))
		return -1;
	return 0;
}

/* by k1, k2, ...: fields only. */
static int parse_keys(struct parser *p, struct eql_key **keys, size_t *n)
{
	struct eql_key *k = NULL;
	size_t count = 0, cap = 0;

	take(p);		/* by */
	do {
		struct eql_token *t = cur(p);
		struct eql_node *e = parse_expression(p);

		if (!e)
			return -1;
		if (e->kind != EQL_N_FIELD) {
			UNSUPPORTED(p, t, "join keys must be fields");
			return -1;
		}
		if (count == cap) {
			struct eql_key *nk;

			cap = cap ? cap * 2 : 4;
			nk = alloc(p, cap * sizeof(*nk));
			if (!nk)
				return -1;
			if (count)
				memcpy(nk, k, count * sizeof(*nk));
			k = nk;
		}
		k[count].path = e->path;
		k[count].optional = e->optional;
		count++;
	} while (accept(p, EQL_T_COMMA));
	*keys = k;
	*n = count;
	return 0;
}

static int parse_maxspan(struct parser *p)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	struct eql_token *num, *unit;
	size_t i;

	take(p);		/* with */
	if (!at(p, EQL_T_MAXSPAN)) {
		unexpected(p, "'maxspan' after 'with'");
		return -1;
	}
	take(p);
	if (!expect(p, EQL_T_ASGN, "'=' after 'maxspan'"))
		return -1;
	num = cur(p);
	if (num->type == EQL_T_DEC) {
		FAIL(p, num, "maxspan must be a whole number with a unit, "
		     "such as 30s");
		return -1;
	}
	if (num->type != EQL_T_INT) {
		unexpected(p, "a time span such as 30s");
		return -1;
	}
	take(p);
	unit = cur(p);
	if (unit->type != EQL_T_IDENT) {
		FAIL(p, unit, "maxspan needs a time unit: write %lld%s "
		     "(units: ms, s, m, h, d)", (long long)num->l,
		     num->l == 1 ? "m" : "s");
		return -1;
	}
	take(p);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit->text, units[i].unit))
			break;
	if (i == sizeof(units) / sizeof(units[0])) {
		FAIL(p, unit, "unknown time unit '%s' (use ms, s, m, h or d)",
		     unit->text);
		return -1;
	}
	if (num->l <= 0) {
		FAIL(p, num, "maxspan must be positive");
		return -1;
	}
	if (num->l > INT64_MAX / units[i].ms) {
		FAIL(p, num, "maxspan is too large");
		return -1;
	}
	p->q->maxspan_ms = num->l * units[i].ms;
	return 0;
}

/* [filter] or ![filter], then its own keys and `with runs=N`. */
static int parse_term(struct parser *p, struct eql_term *term,
		      enum eql_role role, bool sample)
{
	struct eql_token *open = cur(p);

	if (open->type == EQL_T_MISSING) {
		if (sample) {
			FAIL(p, open, "sample has no missing-event filters "
			     "('![')");
			return -1;
		}
		term->role = role == EQL_ROLE_UNTIL ? EQL_ROLE_UNTIL :
						      EQL_ROLE_MISSING;
	} else if (open->type == EQL_T_LB) {
		term->role = role;
	} else {
		unexpected(p, "'[' to open a filter");
		return -1;
	}
	take(p);
	if (parse_filter(p, term))
		return -1;
	if (!at(p, EQL_T_RB)) {
		if (at(p, EQL_T_EOF) || at(p, EQL_T_LB) ||
		    at(p, EQL_T_MISSING) || at(p, EQL_T_UNTIL))
			FAIL(p, cur(p), "expected ']' to close '[' (opened at "
			     "line %d, column %d)", open->line, open->col);
		else
			unexpected(p, "']' or a condition");
		return -1;
	}
	take(p);
	term->runs = 1;
	if (at(p, EQL_T_BY) && parse_keys(p, &term->keys, &term->nkeys))
		return -1;
	if (at(p, EQL_T_WITH)) {
		struct eql_token *w = take(p), *name = cur(p), *val;

		if (sample || role == EQL_ROLE_UNTIL) {
			FAIL(p, w, "%s does not take 'with' parameters",
			     sample ? "a sample filter" : "until");
			return -1;
		}
		if (name->type != EQL_T_IDENT || strcmp(name->text, "runs")) {
			unexpected(p, "'runs' after 'with'");
			return -1;
		}
		take(p);
		if (!expect(p, EQL_T_ASGN, "'=' after 'runs'"))
			return -1;
		val = cur(p);
		if (val->type != EQL_T_INT || val->l < 1 || val->l > 100) {
			FAIL(p, val, "runs must be a whole number from 1 to "
			     "100");
			return -1;
		}
		take(p);
		term->runs = (unsigned)val->l;
	}
	return 0;
}

static int add_term(struct parser *p, size_t *cap)
{
	struct fd_eql *q = p->q;

	if (q->nterms == EQL_MAX_TERMS) {
		UNSUPPORTED(p, cur(p), "at most %d filters are supported",
			    EQL_MAX_TERMS);
		return -1;
	}
	if (q->nterms == *cap) {
		struct eql_term *nt;

		*cap = *cap ? *cap * 2 : 4;
		nt = alloc(p, *cap * sizeof(*nt));
		if (!nt)
			return -1;
		if (q->nterms)
			memcpy(nt, q->terms, q->nterms * sizeof(*nt));
		q->terms = nt;
	}
	memset(&q->terms[q->nterms], 0, sizeof(q->terms[0]));
	return 0;
}

/* Prefix each term's keys with the query-level keys; all must agree. */
static int join_keys(struct parser *p, const struct eql_key *top,
		     size_t ntop)
{
	struct fd_eql *q = p->q;
	size_t i, j, own = q->nterms ? q->terms[0].nkeys : 0;

	for (i = 0; i < q->nterms; i++) {
		struct eql_term *t = &q->terms[i];
		struct eql_key *k;

		if (t->nkeys != own) {
			FAIL(p, t, "every filter needs the same number of "
			     "join keys (%zu here, %zu in the first)",
			     t->nkeys, own);
			return -1;
		}
		k = alloc(p, (ntop + t->nkeys + 1) * sizeof(*k));
		if (!k)
			return -1;
		if (ntop)
			memcpy(k, top, ntop * sizeof(*k));
		if (t->nkeys)
			memcpy(k + ntop, t->keys, t->nkeys * sizeof(*k));
		t->keys = k;
		t->nkeys += ntop;
		for (j = 0; j < t->nkeys; j++)
			if (add_field(p, &k[j].path))
				return -1;
	}
	return 0;
}

/* Expand runs into positive stages and place missing filters in gaps. */
static int plan_sequence(struct parser *p, const struct eql_token *kw)
{
	const char *timestamp = "@timestamp";
	struct fd_eql *q = p->q;
	size_t i, total = 0, npos = 0, k;
	bool missing = false;

	for (i = 0; i < q->nterms; i++) {
		if (q->terms[i].role == EQL_ROLE_UNTIL)
			continue;
		total += q->terms[i].runs;
		if (q->terms[i].role == EQL_ROLE_STAGE)
			npos += q->terms[i].runs;
		else
			missing = true;
	}
	if (total < 2) {
		FAIL(p, kw, "a sequence needs at least two stages (or one "
		     "with 'with runs=N')");
		return -1;
	}
	if (!npos) {
		FAIL(p, kw, "a sequence needs at least one stage that is not "
		     "a missing event ('![')");
		return -1;
	}
	if (missing && q->maxspan_ms < 0) {
		FAIL(p, kw, "a sequence with missing events ('![') needs "
		     "'with maxspan'");
		return -1;
	}
	if (total > EQL_MAX_STAGES) {
		UNSUPPORTED(p, kw, "at most %d stages are supported",
			    EQL_MAX_STAGES);
		return -1;
	}
	q->npos = npos;
	q->pos_term = alloc(p, npos * sizeof(*q->pos_term));
	q->gap_used = alloc(p, (npos + 1) * sizeof(*q->gap_used));
	q->missing_gap = alloc(p, q->nterms * sizeof(*q->missing_gap));
	if (!q->pos_term || !q->gap_used || !q->missing_gap)
		return -1;
	npos = 0;
	for (i = 0; i < q->nterms; i++) {
		struct eql_term *t = &q->terms[i];

		q->missing_gap[i] = -1;
		if (t->role == EQL_ROLE_UNTIL)
			continue;
		if (t->role == EQL_ROLE_MISSING) {
			q->missing_gap[i] = (int)npos;
			q->gap_used[npos] = true;
			continue;
		}
		for (k = 0; k < t->runs; k++)
			q->pos_term[npos++] = (int)i;
	}
	return add_field(p, &timestamp);
}

static int parse_sequence(struct parser *p)
{
	struct fd_eql *q = p->q;
	struct eql_token *kw = take(p);
	struct eql_key *top = NULL;
	size_t ntop = 0, cap = 0;

	q->kind = EQL_Q_SEQUENCE;
	if (at(p, EQL_T_BY)) {
		if (parse_keys(p, &top, &ntop))
			return -1;
		if (at(p, EQL_T_WITH) && parse_maxspan(p))
			return -1;
	} else if (at(p, EQL_T_WITH)) {
		if (parse_maxspan(p))
			return -1;
		if (at(p, EQL_T_BY)) {
			FAIL(p, cur(p), "write 'by' before 'with maxspan'");
			return -1;
		}
	}
	if (!at(p, EQL_T_LB) && !at(p, EQL_T_MISSING)) {
		unexpected(p, "'[' to open the first stage");
		return -1;
	}
	while (at(p, EQL_T_LB) || at(p, EQL_T_MISSING)) {
		if (add_term(p, &cap) ||
		    parse_term(p, &q->terms[q->nterms], EQL_ROLE_STAGE, false))
			return -1;
		q->nterms++;
	}
	if (at(p, EQL_T_UNTIL)) {
		take(p);
		if (add_term(p, &cap) ||
		    parse_term(p, &q->terms[q->nterms], EQL_ROLE_UNTIL, false))
			return -1;
		q->until_term = (int)q->nterms++;
	}
	if (join_keys(p, top, ntop))
		return -1;
	return plan_sequence(p, kw);
}

static int parse_sample(struct parser *p)
{
	struct fd_eql *q = p->q;
	struct eql_token *kw = take(p);
	struct eql_key *top = NULL;
	size_t ntop = 0, cap = 0;

	q->kind = EQL_Q_SAMPLE;
	if (at(p, EQL_T_BY) && parse_keys(p, &top, &ntop))
		return -1;
	if (at(p, EQL_T_WITH)) {
		FAIL(p, cur(p), "sample does not take 'with' parameters "
		     "(maxspan, runs)");
		return -1;
	}
	while (at(p, EQL_T_LB) || at(p, EQL_T_MISSING)) {
		if (add_term(p, &cap) ||
		    parse_term(p, &q->terms[q->nterms], EQL_ROLE_STAGE, true))
			return -1;
		q->nterms++;
	}
	if (at(p, EQL_T_UNTIL)) {
		FAIL(p, cur(p), "sample does not take 'until'");
		return -1;
	}
	if (q->nterms < 2) {
		FAIL(p, kw, "a sample needs at least two filters");
		return -1;
	}
	if (q->nterms > 5) {
		FAIL(p, kw, "a sample takes at most five filters");
		return -1;
	}
	return join_keys(p, top, ntop);
}

/* join is valid EQL that Elasticsearch does not run: parse, then refuse. */
static int parse_join(struct parser *p)
{
	struct fd_eql *q = p->q;
	struct eql_token *kw = take(p);
	struct eql_key *top = NULL;
	size_t ntop = 0, cap = 0;

	if (at(p, EQL_T_BY) && parse_keys(p, &top, &ntop))
		return -1;
	while (at(p, EQL_T_LB)) {
		if (add_term(p, &cap) ||
		    parse_term(p, &q->terms[q->nterms], EQL_ROLE_STAGE, true))
			return -1;
		q->nterms++;
	}
	if (accept(p, EQL_T_UNTIL)) {
		if (add_term(p, &cap) ||
		    parse_term(p, &q->terms[q->nterms], EQL_ROLE_UNTIL, true))
			return -1;
		q->nterms++;
	}
	if (q->nterms < 2) {
		unexpected(p, "'[' to open a filter");
		return -1;
	}
	UNSUPPORTED(p, kw, "join queries are not supported");
	return -1;
}

/* | head n, | tail n; other pipes parse but are unsupported. */
static int parse_pipes(struct parser *p)
{
	struct fd_eql *q = p->q;
	size_t cap = 0;

	while (at(p, EQL_T_PIPE)) {
		struct eql_token *bar = take(p), *name = cur(p);
		struct eql_node *arg = NULL;
		size_t nargs = 0;
		bool head, tail;

		if (name->type != EQL_T_IDENT) {
			unexpected(p, "a pipe name (head or tail) after '|'");
			return -1;
		}
		take(p);
		while (!at(p, EQL_T_PIPE) && !at(p, EQL_T_EOF)) {
			if (nargs && !expect(p, EQL_T_COMMA, "',' or '|'"))
				return -1;
			arg = parse_expression(p);
			if (!arg)
				return -1;
			nargs++;
		}
		head = !strcmp(name->text, "head");
		tail = !strcmp(name->text, "tail");
		if (!head && !tail) {
			UNSUPPORTED(p, name, "the '%s' pipe is not supported "
				    "(only head and tail are)", name->text);
			return -1;
		}
		if (q->kind == EQL_Q_SAMPLE) {
			FAIL(p, bar, "sample does not take pipes");
			return -1;
		}
		if (nargs != 1 || arg->kind != EQL_N_CONST ||
		    arg->v.t != EQL_LONG || arg->v.u.l < 0) {
			FAIL(p, name, "'%s' takes one whole number, such as "
			     "'| %s 10'", name->text, name->text);
			return -1;
		}
		if (q->npipes == cap) {
			struct eql_pipe *np;

			cap = cap ? cap * 2 : 2;
			np = alloc(p, cap * sizeof(*np));
			if (!np)
				return -1;
			if (q->npipes)
				memcpy(np, q->pipes,
				       q->npipes * sizeof(*np));
			q->pipes = np;
		}
		q->pipes[q->npipes].tail = tail;
		q->pipes[q->npipes].n = arg->v.u.l;
		q->npipes++;
	}
	return 0;
}

static int parse_statement(struct parser *p)
{
	struct fd_eql *q = p->q;
	size_t cap = 0;
	int rc;

	switch (cur(p)->type) {
	case EQL_T_SEQUENCE:
		rc = parse_sequence(p);
		break;
	case EQL_T_SAMPLE:
		rc = parse_sample(p);
		break;
	case EQL_T_JOIN:
		rc = parse_join(p);
		break;
	default:
		q->kind = EQL_Q_EVENT;
		rc = add_term(p, &cap);
		if (!rc)
			rc = parse_filter(p, &q->terms[0]);
		if (!rc)
			q->nterms = 1;
		break;
	}
	if (rc || parse_pipes(p))
		return -1;
	if (!at(p, EQL_T_EOF)) {
		if (at(p, EQL_T_RP))
			FAIL(p, cur(p), "unmatched ')'");
		else if (q->kind == EQL_Q_EVENT)
			unexpected(p, "'and', 'or' or the end of the query");
		else
			unexpected(p, "the end of the query");
		return -1;
	}
	return 0;
}

int eql_parse(struct fd_eql *q, const char *text, struct fd_diag *diag)
{
	struct parser p = { .q = q, .a = &q->arena, .diag = diag };
	int rc;

	q->maxspan_ms = -1;
	q->until_term = -1;
	rc = eql_lex(&q->arena, text, &p.t, &p.n, diag);
	if (rc < 0) {
		if (rc == -FD_ERR_NOMEM)
			fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
		return rc;
	}
	if (parse_statement(&p) < 0 || p.rc)
		return p.rc ? p.rc : -FD_ERR_SYNTAX;
	if (!q->fields) {
		q->fields = eql_alloc(&q->arena, sizeof(*q->fields));
		if (!q->fields)
			return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0,
					   "out of memory");
	}
	return 0;
}

/* ---- public entry points ---- */

int fd_eql_compile(const char *text, struct fd_eql **out,
		   struct fd_diag *diag)
{
	struct fd_eql *q;
	int rc;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
	rc = eql_parse(q, text, diag);
	if (rc < 0) {
		fd_eql_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

const char *const *fd_eql_fields(const struct fd_eql *q, size_t *n)
{
	*n = q->nfields;
	return q->fields;
}

bool fd_eql_is_sequence(const struct fd_eql *q)
{
	return q->kind != EQL_Q_EVENT;
}

void fd_eql_free(struct fd_eql *q)
{
	if (!q)
		return;
	eql_arena_free(&q->arena);
	free(q);
}
