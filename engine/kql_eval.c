/*
 * kql_eval.c - evaluate a compiled KQL tree against one cJSON document.
 *
 * Each leaf test walks one field (field.c) and stops at the first value
 * that satisfies it; and/or short-circuit.  Strings compare as bytes
 * (keyword semantics), numbers numerically against the number the value
 * spells, booleans against "true"/"false".  Nothing is allocated per
 * document: everything the tests need was decoded at compile time.
 */
#include "kql_int.h"

#include <string.h>

#include "field.h"

/* ---- '*' patterns ---- */

bool kql_glob_match(const struct kql_glob *g, const char *s, size_t len)
{
	size_t first = 0, last = g->n;
	const struct kql_piece *p;

	if (g->n == 0)
		return g->lead || g->trail || len == 0;
	if (!g->lead) {
		p = &g->piece[0];
		if (len < p->len || memcmp(s, p->s, p->len))
			return false;
		s += p->len;
		len -= p->len;
		first = 1;
	}
	if (!g->trail) {
		if (last == first)
			return len == 0;
		p = &g->piece[last - 1];
		if (len < p->len || memcmp(s + len - p->len, p->s, p->len))
			return false;
		len -= p->len;
		last--;
	}
	/* the middle pieces, leftmost first, is always a right choice */
	for (size_t i = first; i < last; i++) {
		const char *at;

		p = &g->piece[i];
		at = memmem(s, len, p->s, p->len);
		if (!at)
			return false;
		len -= (size_t)(at - s) + p->len;
		s = at + p->len;
	}
	return true;
}

/* ---- one value against one JSON value ---- */

static int present_leaf(const char *path, const cJSON *v, void *arg)
{
	(void)path;
	(void)arg;
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

/* Has a value: null does not count; an object counts if a leaf does. */
static bool present(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return fd_field_walk(v, present_leaf, NULL) != 0;
	return present_leaf(NULL, v, NULL);
}

static bool string_equals(const struct kql_value *val, const char *s)
{
	if (val->has_nul || s[0] != (val->len ? val->text[0] : '\0'))
		return false;
	return strncmp(s, val->text, val->len) == 0 && s[val->len] == '\0';
}

static bool value_matches(const struct kql_value *val, const cJSON *v)
{
	if (val->kind == KQL_V_EXISTS)
		return present(v);
	switch (v->type & 0xFF) {
	case cJSON_String:
		if (!v->valuestring)
			return false;
		if (val->kind == KQL_V_GLOB)
			return kql_glob_match(&val->glob, v->valuestring,
					      strlen(v->valuestring));
		return string_equals(val, v->valuestring);
	case cJSON_Number:
		/* wildcards match strings only */
		return val->kind == KQL_V_EXACT && val->numeric &&
		       v->valuedouble == val->num;
	case cJSON_True:
		return val->kind == KQL_V_EXACT && string_equals(val, "true");
	case cJSON_False:
		return val->kind == KQL_V_EXACT && string_equals(val, "false");
	}
	return false;
}

static bool any_value_matches(const struct kql_node *n, const cJSON *v)
{
	for (size_t i = 0; i < n->is.n; i++)
		if (value_matches(&n->is.val[i], v))
			return true;
	return false;
}

static bool in_range(const struct kql_node *n, const cJSON *v)
{
	const struct kql_value *val = &n->range.val;
	int cmp;

	if (cJSON_IsNumber(v)) {
		if (!val->numeric)
			return false;
		cmp = v->valuedouble < val->num ? -1 :
		      v->valuedouble > val->num ? 1 : 0;
	} else if (cJSON_IsString(v) && v->valuestring) {
		/* keyword order: UTF-8 bytes, then length */
		size_t len = strlen(v->valuestring);

		cmp = memcmp(v->valuestring, val->text,
			     len < val->len ? len : val->len);
		if (cmp == 0)
			cmp = len < val->len ? -1 : len > val->len ? 1 : 0;
	} else {
		return false;
	}
	switch (n->range.op) {
	case KQL_LT: return cmp < 0;
	case KQL_LE: return cmp <= 0;
	case KQL_GT: return cmp > 0;
	case KQL_GE: return cmp >= 0;
	}
	return false;
}

/* ---- leaf tests over a field ---- */

static bool eval(const struct kql_node *n, const cJSON *doc);

struct visit {
	const struct kql_node *n;
	const struct kql_field *field;
	bool (*test)(const struct kql_node *n, const cJSON *v);
};

static int visit_value(const cJSON *v, void *arg)
{
	const struct visit *vi = arg;

	return vi->test(vi->n, v);
}

static int visit_leaf(const char *path, const cJSON *v, void *arg)
{
	const struct visit *vi = arg;

	if (vi->field->kind == KQL_F_GLOB &&
	    (!path || !kql_glob_match(&vi->field->glob, path, strlen(path))))
		return 0;
	return vi->test(vi->n, v);
}

static bool nested_matches(const struct kql_node *n, const cJSON *v)
{
	return cJSON_IsObject(v) && eval(n->nested.inner, v);
}

/* Does any value of the node's field pass test? */
static bool field_any(const struct kql_node *n, const struct kql_field *f,
		      bool (*test)(const struct kql_node *, const cJSON *),
		      const cJSON *doc)
{
	struct visit vi = { n, f, test };

	if (f->kind == KQL_F_PATH)
		return fd_field_visit(doc, f->name, visit_value, &vi) != 0;
	return fd_field_walk(doc, visit_leaf, &vi) != 0;
}

static bool eval_is(const struct kql_node *n, const cJSON *doc)
{
	const struct kql_field *f = &n->is.field;

	/* "*" alone, or "*:*": Kibana's match_all */
	if (f->kind == KQL_F_ANY ||
	    (f->kind == KQL_F_GLOB && f->glob.n == 0)) {
		for (size_t i = 0; i < n->is.n; i++)
			if (n->is.val[i].kind == KQL_V_EXISTS)
				return true;
	}
	return field_any(n, f, any_value_matches, doc);
}

static bool eval(const struct kql_node *n, const cJSON *doc)
{
	switch (n->kind) {
	case KQL_ALL:
		return true;
	case KQL_AND:
		for (size_t i = 0; i < n->list.n; i++)
			if (!eval(n->list.kid[i], doc))
				return false;
		return true;
	case KQL_OR:
		for (size_t i = 0; i < n->list.n; i++)
			if (eval(n->list.kid[i], doc))
				return true;
		return false;
	case KQL_NOT:
		return !eval(n->sub, doc);
	case KQL_IS:
		return eval_is(n, doc);
	case KQL_RANGE:
		return field_any(n, &n->range.field, in_range, doc);
	case KQL_NESTED:
		return field_any(n, &n->nested.field, nested_matches, doc);
	}
	return false;
}

bool fd_kql_match(const struct fd_kql *q, const cJSON *doc)
{
	if (!q)
		return false;
	return eval(q->root, doc);
}
