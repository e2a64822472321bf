/*
 * kql_parse.c - KQL's parser: query text to a tree, with located errors.
 *
 * Recursive descent over Kibana's grammar (kuery grammar.peggy):
 *
 *   query   = or?               or  = and ("or" and)*
 *   and     = not ("and" not)*  not = "not" operand | operand
 *   operand = "(" or ")" | term
 *   term    = field ":" "{" or "}" | field range-op literal
 *           | field ":" values | literal                 (free text)
 *   values  = "(" or ")" | literal, where or, and, not and operand now
 *             combine values of that one field
 *
 * Keywords take any letter case.  A value list is expanded into ordinary
 * nodes (field:(a or not b) is field:a or not field:b), and values of one
 * field joined by "or" are then merged into one node, so the evaluator
 * reads the field once.  Every node keeps the column where it starts.
 */
#include "kql_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ---- */

struct kql_block {
	struct kql_block *next;
	size_t used, size;
	max_align_t data[];
};

#define BLOCK_MIN 4096

void *kql_alloc(struct kql_arena *a, size_t size)
{
	struct kql_block *b = a->head;
	size_t align = sizeof(max_align_t), need;
	void *p;

	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	if (!b || b->size - b->used < size) {
		need = size > BLOCK_MIN ? size : BLOCK_MIN;
		if (need > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + need);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = need;
		b->next = a->head;
		a->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *kql_memdup(struct kql_arena *a, const void *src, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = kql_alloc(a, len + 1);
	if (p && len)
		memcpy(p, src, len);
	return p;
}

void kql_arena_free(struct kql_arena *a)
{
	struct kql_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

/* ---- parser state ---- */

struct fname {
	const char *name;
	struct fname *next;
};

struct parser {
	struct kql_lex lx;
	struct kql_arena *arena;
	int depth;
	const char *prefix;	/* nested path of the inner query, or NULL */
	struct fname *fields;
	size_t nfields;
};

static int parse_or(struct parser *p, const struct kql_field *f,
		    const char *after, struct kql_node **out);
static int parse_operand(struct parser *p, const struct kql_field *f,
			 const char *after, struct kql_node **out);

static struct kql_node *new_node(struct parser *p, enum kql_kind kind,
				 size_t off)
{
	struct kql_node *n = kql_alloc(p->arena, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->col = kql_col(&p->lx, off);
	}
	return n;
}

static int enter(struct parser *p, size_t off)
{
	if (++p->depth > KQL_MAX_DEPTH)
		return kql_error(&p->lx, FD_ERR_UNSUPPORTED, off,
				 "query nests deeper than %d levels",
				 KQL_MAX_DEPTH);
	return 0;
}

/*
 * Remember a field path the query names (the full path inside a nested
 * query); *stored, if given, gets the stored copy.
 */
static int note_field(struct parser *p, const char *name,
		      const char **stored)
{
	struct fname *f;
	char *full;
	size_t plen = p->prefix ? strlen(p->prefix) + 1 : 0;
	size_t nlen = strlen(name);

	full = kql_alloc(p->arena, plen + nlen + 1);
	if (!full)
		return -FD_ERR_NOMEM;
	if (plen) {
		memcpy(full, p->prefix, plen - 1);
		full[plen - 1] = '.';
	}
	memcpy(full + plen, name, nlen + 1);
	for (f = p->fields; f; f = f->next) {
		if (!strcmp(f->name, full)) {
			if (stored)
				*stored = f->name;
			return 0;
		}
	}
	f = kql_alloc(p->arena, sizeof(*f));
	if (!f)
		return -FD_ERR_NOMEM;
	f->name = full;
	if (stored)
		*stored = full;
	f->next = p->fields;
	p->fields = f;
	p->nfields++;
	return 0;
}

/* Split text at its unescaped stars into a pattern. */
static int make_glob(struct parser *p, const struct kql_lit *lit,
		     struct kql_glob *g)
{
	struct kql_piece *pc;
	size_t n = 0, i = 0;

	pc = kql_alloc(p->arena, (lit->len / 2 + 1) * sizeof(*pc));
	if (!pc)
		return -FD_ERR_NOMEM;
	g->lead = lit->len > 0 && lit->wild[0];
	g->trail = lit->len > 0 && lit->wild[lit->len - 1];
	while (i < lit->len) {
		size_t start;

		while (i < lit->len && lit->wild[i])
			i++;
		start = i;
		while (i < lit->len && !lit->wild[i])
			i++;
		if (i > start) {
			pc[n].s = lit->text + start;
			pc[n].len = i - start;
			n++;
		}
	}
	g->piece = pc;
	g->n = n;
	return 0;
}

static int make_field(struct parser *p, const struct kql_lit *lit,
		      struct kql_field *f, const char **full)
{
	int rc;

	f->col = kql_col(&p->lx, lit->start);
	f->name = lit->text;
	f->kind = lit->has_wild ? KQL_F_GLOB : KQL_F_PATH;
	if (lit->has_wild) {
		rc = make_glob(p, lit, &f->glob);
		if (rc < 0)
			return rc;
	}
	return note_field(p, f->name, full);
}

static int make_value(struct parser *p, const struct kql_lit *lit,
		      bool in_range, struct kql_value *v)
{
	v->col = kql_col(&p->lx, lit->start);
	v->text = lit->text;
	v->len = lit->len;
	v->has_nul = memchr(lit->text, '\0', lit->len) != NULL;
	v->numeric = kql_parse_number(lit->text, lit->len, &v->num);
	v->kind = KQL_V_EXACT;
	if (lit->has_wild && !in_range) {
		if (lit->len == 1)
			v->kind = KQL_V_EXISTS;
		else {
			v->kind = KQL_V_GLOB;
			return make_glob(p, lit, &v->glob);
		}
	}
	return 0;
}

static struct kql_node *new_is(struct parser *p, const struct kql_field *f,
			       size_t off)
{
	struct kql_node *n = new_node(p, KQL_IS, off);

	if (n) {
		n->is.field = *f;
		n->is.n = 1;
		n->is.val = kql_alloc(p->arena, sizeof(*n->is.val));
		if (!n->is.val)
			return NULL;
	}
	return n;
}

/* ---- lists: flattening and merging ---- */

static bool same_field(const struct kql_field *a, const struct kql_field *b)
{
	if (a->kind != b->kind || a->kind == KQL_F_GLOB)
		return false;
	return a->kind == KQL_F_ANY || !strcmp(a->name, b->name);
}

/* Merge the IS kids of an OR that name the same field into the first. */
static int merge_or(struct parser *p, struct kql_node *head)
{
	for (struct kql_node *a = head; a; a = a->next) {
		struct kql_node **link = &a->next;
		size_t total = a->is.n;
		struct kql_value *vals;
		size_t k;

		if (a->kind != KQL_IS)
			continue;
		for (struct kql_node *b = a->next; b; b = b->next)
			if (b->kind == KQL_IS &&
			    same_field(&a->is.field, &b->is.field))
				total += b->is.n;
		if (total == a->is.n)
			continue;
		vals = kql_alloc(p->arena, total * sizeof(*vals));
		if (!vals)
			return -FD_ERR_NOMEM;
		memcpy(vals, a->is.val, a->is.n * sizeof(*vals));
		k = a->is.n;
		while (*link) {
			struct kql_node *b = *link;

			if (b->kind == KQL_IS &&
			    same_field(&a->is.field, &b->is.field)) {
				memcpy(vals + k, b->is.val,
				       b->is.n * sizeof(*vals));
				k += b->is.n;
				*link = b->next;
			} else {
				link = &b->next;
			}
		}
		a->is.val = vals;
		a->is.n = k;
	}
	return 0;
}

/*
 * Make an AND or OR of the sibling chain at head (kids of the same kind
 * are spliced in); a chain of one is returned as it is.
 */
static int finish_list(struct parser *p, enum kql_kind kind,
		       struct kql_node *head, struct kql_node **out)
{
	struct kql_node *n, *k, *flat = NULL, **tail = &flat, *next;
	size_t count = 0;
	int rc;

	if (!head->next) {
		*out = head;
		return 0;
	}
	for (k = head; k; k = next) {
		next = k->next;
		if (k->kind == kind) {
			for (size_t i = 0; i < k->list.n; i++) {
				*tail = k->list.kid[i];
				tail = &k->list.kid[i]->next;
			}
		} else {
			*tail = k;
			tail = &k->next;
		}
	}
	*tail = NULL;
	if (kind == KQL_OR) {
		rc = merge_or(p, flat);
		if (rc < 0)
			return rc;
	}
	for (k = flat; k; k = k->next)
		count++;
	if (count == 1) {
		*out = flat;
		return 0;
	}
	n = kql_alloc(p->arena, sizeof(*n));
	if (!n)
		return -FD_ERR_NOMEM;
	n->kind = kind;
	n->col = flat->col;
	n->list.n = count;
	n->list.kid = kql_alloc(p->arena, count * sizeof(*n->list.kid));
	if (!n->list.kid)
		return -FD_ERR_NOMEM;
	count = 0;
	for (k = flat; k; k = k->next)
		n->list.kid[count++] = k;
	*out = n;
	return 0;
}

/* ---- diagnostics ---- */

static bool keyword_word(const char *s, size_t len)
{
	return (len == 2 && !strncasecmp(s, "or", 2)) ||
	       (len == 3 && (!strncasecmp(s, "and", 3) ||
			     !strncasecmp(s, "not", 3)));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * "a:b c:d": an unquoted value ran on into the next term, up to the ':'
 * (or range operator) at off.  Points at the term's first word.
 */
static int ran_on(struct parser *p, size_t off)
{
	struct kql_lex *lx = &p->lx;
	const struct kql_lit *last = &lx->last;
	size_t w, end;

	if (!lx->have_last || last->quoted || last->end != off)
		return 0;
	for (w = last->end; w > last->start && is_blank(lx->src[w - 1]); w--)
		;
	end = w;
	while (w > last->start && !is_blank(lx->src[w - 1]))
		w--;
	if (w == last->start)
		return 0;
	return kql_error(lx, FD_ERR_SYNTAX, w,
			 "expected 'and' or 'or' before '%.*s'",
			 (int)(end - w), lx->src + w);
}

/* "not(", "x and(": a keyword that ends the unquoted literal before off. */
static int glued_keyword(struct parser *p, size_t off)
{
	struct kql_lex *lx = &p->lx;
	const struct kql_lit *last = &lx->last;
	size_t w;

	if (!lx->have_last || last->quoted || last->end != off)
		return 0;
	for (w = last->end; w > last->start && !is_blank(lx->src[w - 1]); w--)
		;
	if (!keyword_word(lx->src + w, last->end - w))
		return 0;
	return kql_error(lx, FD_ERR_SYNTAX, off,
			 "expected a space after '%.*s'",
			 (int)(last->end - w), lx->src + w);
}

/* "a:"b" and" or "(a) or(b)": an operator with nothing usable after it. */
static int dangling_keyword(struct parser *p, size_t off, size_t end)
{
	struct kql_lex *lx = &p->lx;
	size_t save = lx->pos, at;

	if (!keyword_word(lx->src + off, end - off) ||
	    tolower((unsigned char)lx->src[off]) == 'n')
		return 0;
	if (lx->src[end] == '(')
		return kql_error(lx, FD_ERR_SYNTAX, end,
				 "expected a space after '%.*s'",
				 (int)(end - off), lx->src + off);
	lx->pos = end;
	kql_skip_space(lx);
	at = lx->pos;
	lx->pos = save;
	return kql_error(lx, FD_ERR_SYNTAX, at,
			 "expected a query after '%.*s'", (int)(end - off),
			 lx->src + off);
}

/*
 * Something is left where the query, or a ( ) or { } group, should end.
 * closer is ')' or '}' inside a group (opened at open), 0 at the top.
 */
static int unexpected(struct parser *p, char closer, size_t open)
{
	struct kql_lex *lx = &p->lx;
	size_t off = lx->pos, end;
	char c = (char)kql_peek(lx);
	int rc;

	if (off >= lx->len)
		return kql_error(lx, FD_ERR_SYNTAX, off,
				 "expected '%c' to close '%c' at column %d",
				 closer, closer == ')' ? '(' : '{',
				 kql_col(lx, open));
	if (c == ')' || c == '}')
		return kql_error(lx, FD_ERR_SYNTAX, off, "unexpected '%c'", c);
	if (c == ':' || c == '<' || c == '>') {
		rc = ran_on(p, off);
		return rc ? rc : kql_error(lx, FD_ERR_SYNTAX, off,
					   "unexpected '%c' (quote a value "
					   "that contains it)", c);
	}
	if (c == '(' && (rc = glued_keyword(p, off)) != 0)
		return rc;
	end = kql_token_end(lx, off);
	rc = dangling_keyword(p, off, end);
	if (rc)
		return rc;
	return kql_error(lx, FD_ERR_SYNTAX, off,
			 "expected 'and' or 'or' before '%.*s'",
			 (int)(end - off), lx->src + off);
}

/* No term where one must be; after names what came before it. */
static int missing(struct parser *p, const char *after, const char *what)
{
	struct kql_lex *lx = &p->lx;
	size_t off = lx->pos, kw, end;
	char c = (char)kql_peek(lx);

	if (off >= lx->len)
		return after ? kql_error(lx, FD_ERR_SYNTAX, off,
					 "expected a %s after %s", what,
					 after) :
			       kql_error(lx, FD_ERR_SYNTAX, off,
					 "expected a %s", what);
	if (after && ((c == ')' && !strcmp(after, "'('")) ||
		      (c == '}' && !strcmp(after, "'{'"))))
		return kql_error(lx, FD_ERR_SYNTAX, off,
				 "expected a %s inside '%s'", what,
				 c == ')' ? "()" : "{}");
	if ((c == ':' || c == '<' || c == '>') && !strcmp(what, "query"))
		return kql_error(lx, FD_ERR_SYNTAX, off,
				 "expected a field name before '%c'", c);
	if (c == ':' || c == '<' || c == '>')
		return kql_error(lx, FD_ERR_SYNTAX, off,
				 "expected a %s after %s", what,
				 after ? after : "':'");
	if (kql_at_keyword(lx, off, &kw))
		return kql_error(lx, FD_ERR_SYNTAX, off,
				 after && !strcmp(after, "'not'") ?
				 "'not' cannot follow 'not'" :
				 "unexpected 'not'");
	end = kql_token_end(lx, off);
	return kql_error(lx, FD_ERR_SYNTAX, off, "unexpected '%.*s'",
			 (int)(end - off), lx->src + off);
}

/* ---- terms ---- */

/* One value of field f: field:value, or an operand in field:( ... ). */
static int parse_value(struct parser *p, const struct kql_field *f,
		       const char *after, struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	struct kql_lit lit;
	struct kql_node *n;
	int rc;

	rc = kql_read_literal(lx, &lit);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		size_t kw;

		if (after && !strcmp(after, "':'") &&
		    kql_at_keyword(lx, lx->pos, &kw))
			return kql_error(lx, FD_ERR_SYNTAX, lx->pos,
					 "'not' cannot start a value (write "
					 "field:(not value))");
		return missing(p, after, "value");
	}
	n = new_is(p, f, lit.start);
	if (!n)
		return -FD_ERR_NOMEM;
	rc = make_value(p, &lit, false, &n->is.val[0]);
	if (rc < 0)
		return rc;
	*out = n;
	return 0;
}

static int parse_nested(struct parser *p, const struct kql_lit *name,
			struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	const char *outer = p->prefix, *inner;
	size_t open = lx->pos;
	struct kql_node *n;
	int rc;

	if (name->has_wild)
		return kql_error(lx, FD_ERR_UNSUPPORTED, name->start,
				 "a nested query needs a plain field name, "
				 "not the pattern '%s'", name->text);
	n = new_node(p, KQL_NESTED, name->start);
	if (!n)
		return -FD_ERR_NOMEM;
	rc = make_field(p, name, &n->nested.field, &inner);
	if (rc < 0)
		return rc;
	rc = enter(p, open);
	if (rc < 0)
		return rc;
	lx->pos++;
	kql_skip_space(lx);
	p->prefix = inner;	/* inner names are relative to the path */
	rc = parse_or(p, NULL, "'{'", &n->nested.inner);
	p->prefix = outer;
	if (rc < 0)
		return rc;
	kql_skip_space(lx);
	if (kql_peek(lx) != '}')
		return unexpected(p, '}', open);
	lx->pos++;
	p->depth--;
	*out = n;
	return 0;
}

static int parse_range(struct parser *p, const struct kql_lit *name,
		       struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	const char *s = lx->src + lx->pos;
	struct kql_node *n;
	struct kql_lit lit;
	size_t oplen = s[1] == '=' ? 2 : 1;
	int rc;

	n = new_node(p, KQL_RANGE, name->start);
	if (!n)
		return -FD_ERR_NOMEM;
	n->range.op = s[0] == '<' ? (oplen == 2 ? KQL_LE : KQL_LT) :
				    (oplen == 2 ? KQL_GE : KQL_GT);
	rc = make_field(p, name, &n->range.field, NULL);
	if (rc < 0)
		return rc;
	lx->pos += oplen;
	kql_skip_space(lx);
	rc = kql_read_literal(lx, &lit);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return kql_error(lx, FD_ERR_SYNTAX, lx->pos,
				 "expected a value after '%.*s'", (int)oplen,
				 s);
	rc = make_value(p, &lit, true, &n->range.val);
	if (rc < 0)
		return rc;
	*out = n;
	return 0;
}

/* field:values, field:{query}, field < value, or free text. */
static int parse_term(struct parser *p, const char *after,
		      struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	struct kql_field f = { .kind = KQL_F_ANY };
	struct kql_lit lit;
	struct kql_node *n;
	size_t save;
	int rc;
	char c;

	rc = kql_read_literal(lx, &lit);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return missing(p, after, "query");
	save = lx->pos;
	kql_skip_space(lx);
	c = (char)kql_peek(lx);
	if (c == '<' || c == '>')
		return parse_range(p, &lit, out);
	if (c == ':') {
		lx->pos++;
		kql_skip_space(lx);
		if (kql_peek(lx) == '{')
			return parse_nested(p, &lit, out);
		rc = make_field(p, &lit, &f, NULL);
		if (rc < 0)
			return rc;
		return parse_operand(p, &f, "':'", out);
	}
	/* free text: the literal is a value matched against every field */
	lx->pos = save;
	f.col = kql_col(lx, lit.start);
	if (!p->prefix) {
		rc = note_field(p, "*", NULL);
		if (rc < 0)
			return rc;
	}
	n = new_is(p, &f, lit.start);
	if (!n)
		return -FD_ERR_NOMEM;
	rc = make_value(p, &lit, false, &n->is.val[0]);
	if (rc < 0)
		return rc;
	*out = n;
	return 0;
}

/*
 * The operator levels, shared by queries (f NULL) and the value lists of
 * field f (field:(a or b and not (c or d))): a parenthesised group, else
 * a term or a value; then not, and, or, from the tightest.
 */
static int parse_operand(struct parser *p, const struct kql_field *f,
			 const char *after, struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	size_t open = lx->pos;
	int rc;

	if (kql_peek(lx) != '(')
		return f ? parse_value(p, f, after, out) :
			   parse_term(p, after, out);
	rc = enter(p, open);
	if (rc < 0)
		return rc;
	lx->pos++;
	kql_skip_space(lx);
	rc = parse_or(p, f, "'('", out);
	if (rc < 0)
		return rc;
	kql_skip_space(lx);
	if (kql_peek(lx) != ')')
		return unexpected(p, ')', open);
	lx->pos++;
	p->depth--;
	return 0;
}

static int parse_not(struct parser *p, const struct kql_field *f,
		     const char *after, struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	size_t off = lx->pos;
	struct kql_node *n, *sub;
	int rc;

	if (!kql_eat_not(lx))
		return parse_operand(p, f, after, out);
	rc = enter(p, off);
	if (rc < 0)
		return rc;
	rc = parse_operand(p, f, "'not'", &sub);
	if (rc < 0)
		return rc;
	p->depth--;
	n = new_node(p, KQL_NOT, off);
	if (!n)
		return -FD_ERR_NOMEM;
	n->sub = sub;
	*out = n;
	return 0;
}

static int parse_and(struct parser *p, const struct kql_field *f,
		     const char *after, struct kql_node **out)
{
	struct kql_node *head, *k;
	int rc;

	rc = parse_not(p, f, after, &head);
	if (rc < 0)
		return rc;
	for (k = head; kql_eat_and(&p->lx); k = k->next) {
		rc = parse_not(p, f, "'and'", &k->next);
		if (rc < 0)
			return rc;
	}
	return finish_list(p, KQL_AND, head, out);
}

static int parse_or(struct parser *p, const struct kql_field *f,
		    const char *after, struct kql_node **out)
{
	struct kql_node *head, *k;
	int rc;

	rc = parse_and(p, f, after, &head);
	if (rc < 0)
		return rc;
	for (k = head; kql_eat_or(&p->lx); k = k->next) {
		rc = parse_and(p, f, "'or'", &k->next);
		if (rc < 0)
			return rc;
	}
	return finish_list(p, KQL_OR, head, out);
}

static int parse_query(struct parser *p, struct kql_node **out)
{
	struct kql_lex *lx = &p->lx;
	int rc;

	kql_skip_space(lx);
	if (lx->pos >= lx->len) {
		/* Kibana: an empty query matches every document */
		*out = new_node(p, KQL_ALL, lx->pos);
		return *out ? 0 : -FD_ERR_NOMEM;
	}
	rc = parse_or(p, NULL, NULL, out);
	if (rc < 0)
		return rc;
	kql_skip_space(lx);
	if (lx->pos < lx->len)
		return unexpected(p, 0, 0);
	return 0;
}

/* ---- public API ---- */

static int collect_fields(struct parser *p, struct fd_kql *q)
{
	struct fname *f;
	size_t i = p->nfields;

	q->fields = kql_alloc(p->arena, (p->nfields + 1) * sizeof(char *));
	if (!q->fields)
		return -FD_ERR_NOMEM;
	/* the list is newest first; store in order of appearance */
	for (f = p->fields; f; f = f->next)
		q->fields[--i] = f->name;
	q->nfields = p->nfields;
	return 0;
}

int fd_kql_compile(const char *text, struct fd_kql **out,
		   struct fd_diag *diag)
{
	struct fd_kql *q;
	struct parser p;
	int rc;

	*out = NULL;
	if (!text)
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "no query text");
	q = calloc(1, sizeof(*q));
	if (!q)
		return -FD_ERR_NOMEM;
	memset(&p, 0, sizeof(p));
	p.arena = &q->arena;
	kql_lex_init(&p.lx, text, &q->arena, diag);
	rc = parse_query(&p, &q->root);
	if (rc == 0)
		rc = collect_fields(&p, q);
	kql_lex_release(&p.lx);
	if (rc < 0) {
		if (rc == -FD_ERR_NOMEM)
			fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
		fd_kql_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

const char *const *fd_kql_fields(const struct fd_kql *q, size_t *n)
{
	if (n)
		*n = q ? q->nfields : 0;
	return q ? (const char *const *)q->fields : NULL;
}

void fd_kql_free(struct fd_kql *q)
{
	if (!q)
		return;
	kql_arena_free(&q->arena);
	free(q);
}
