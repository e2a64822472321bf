/*
 * scenario.c - load a scenario file.  libyaml's events become a small tree
 * of nodes that remember their line and column; the tree is then checked
 * against the schema (scenarios/README.md) while struct fd_scenario is
 * filled in, so every message can point at the node it is about.  The first
 * problem refuses the whole file.  Anchors, aliases, tags and several
 * documents are refused: a scenario is plain data.  An exception
 * scenario's 'control' is built as a scenario of its own that shares the
 * file's other keys.
 */
#include "scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "files.h"

#define MAX_DEPTH	32	/* a scenario needs 5 levels */
#define MAX_FILE	(1L << 20)
#define MAX_ID		128
#define MAX_NAME	64	/* a stand-in is a file name */
#define MAX_USER	32
#define MAX_PARENTS	16
#define MAX_RULES	256	/* rules under test in one scenario */
#define MAX_COUNT	1000000L
#define MAX_RULE_VERSION	1000000L
#define MAX_MS		(24L * 3600 * 1000)
#define DEFAULT_TIMEOUT_MS	10000L

/* ---- the node tree ---------------------------------------------------- */

enum kind { NODE_SCALAR, NODE_SEQ, NODE_MAP };

struct node {
	enum kind kind;
	bool plain;		/* an unquoted scalar */
	int line;		/* 1-based */
	int col;
	char *text;		/* scalar: its bytes, NUL-terminated */
	size_t len;
	struct node **kids;	/* items; or key, value, key, value, ... */
	size_t n;
	size_t cap;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kids[i]);	/* depth is at most MAX_DEPTH */
	free(n->kids);
	free(n->text);
	free(n);
}

static int node_add(struct node *parent, struct node *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct node **kids;

		if (cap > SIZE_MAX / sizeof(*kids))
			return -FD_ERR_NOMEM;
		kids = realloc(parent->kids, cap * sizeof(*kids));
		if (!kids)
			return -FD_ERR_NOMEM;
		parent->kids = kids;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* A YAML null: an empty or ~/null plain scalar. */
static bool is_null(const struct node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->kind != NODE_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->text, nulls[i]) == 0)
			return true;
	return false;
}

static const char *kind_name(const struct node *n)
{
	switch (n->kind) {
	case NODE_SCALAR: return "a string";
	case NODE_SEQ: return "a list";
	case NODE_MAP: return "a mapping";
	}
	return "a node";
}

/* ---- diagnostics ------------------------------------------------------ */

struct ctx {
	struct fd_diag *diag;
	struct fd_scenario *sc;
	const struct node *id;		/* the value of 'id' */
	const struct node *rules;	/* the value of 'rules' */
	const struct node *expect;	/* the value of 'expect' */
	const struct node *exceptions;	/* the key 'exceptions' */
	const struct node *control;	/* the key 'control' */
	const struct node *control_expect;	/* its 'expect' value */
};

__attribute__((format(printf, 5, 0)))
static int vfail(struct ctx *c, enum fd_err err, int line, int col,
		 const char *fmt, va_list ap)
{
	char msg[sizeof(c->diag->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return fd_diag_set(c->diag, err, line, col, "%s", msg);
}

__attribute__((format(printf, 5, 6)))
static int fail_at(struct ctx *c, enum fd_err err, int line, int col,
		   const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(c, err, line, col, fmt, ap);
	va_end(ap);
	return ret;
}

/* Refuse the file because of node n. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const struct node *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(c, FD_ERR_INVALID, n->line, n->col, fmt, ap);
	va_end(ap);
	return ret;
}

static int nomem(struct ctx *c)
{
	return fd_diag_set(c->diag, FD_ERR_NOMEM, 0, 0, "out of memory");
}

#define SHOWN_MAX 40

/*
 * Text fit to quote in a message: at most SHOWN_MAX bytes (cut at a
 * character boundary, then "..."), control characters shown as '?'.
 */
static const char *shown(const char *s, size_t len, char buf[SHOWN_MAX + 4])
{
	size_t n = len, i;

	if (n > SHOWN_MAX) {
		n = SHOWN_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (n < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

#define SHOW(n, buf) shown((n)->text, (n)->len, (buf))

/* ---- from libyaml events to the tree ---------------------------------- */

struct builder {
	struct node *root;
	struct node *stack[MAX_DEPTH];
	int depth;
	int ndocs;
};

/* libyaml's marks are 0-based; a reader error only has a byte offset. */
static void offset_to_pos(const char *text, size_t len, size_t off,
			  int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

static int yaml_fail(struct ctx *c, const yaml_parser_t *p, const char *text,
		     size_t len)
{
	const char *problem = p->problem ? p->problem : "malformed yaml";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return nomem(c);
	case YAML_READER_ERROR:
		offset_to_pos(text, len, p->problem_offset, &line, &col);
		return fail_at(c, FD_ERR_SYNTAX, line, col, "%s", problem);
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context)
			return fail_at(c, FD_ERR_SYNTAX, line, col,
				       "%s (%s started at line %d)", problem,
				       p->context,
				       (int)p->context_mark.line + 1);
		return fail_at(c, FD_ERR_SYNTAX, line, col, "%s", problem);
	}
}

static int mark_fail(struct ctx *c, const yaml_mark_t *m, const char *what,
		     const char *name)
{
	char buf[SHOWN_MAX + 4];
	const char *s = name ? name : "";

	return fail_at(c, FD_ERR_INVALID, (int)m->line + 1,
		       (int)m->column + 1, "%s are not supported ('%s')",
		       what, shown(s, strlen(s), buf));
}

/* A node starts: refuse anchors and tags, link it in, maybe descend. */
static int tree_open(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	struct node *n, *parent;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	}
	if (anchor)
		return mark_fail(c, &ev->start_mark, "anchors",
				 (const char *)anchor);
	if (tag)
		return mark_fail(c, &ev->start_mark, "tags",
				 (const char *)tag);
	if (b->depth == MAX_DEPTH)
		return fail_at(c, FD_ERR_INVALID,
			       (int)ev->start_mark.line + 1,
			       (int)ev->start_mark.column + 1,
			       "nesting deeper than %d levels", MAX_DEPTH);

	n = calloc(1, sizeof(*n));
	if (!n)
		return nomem(c);
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = NODE_SCALAR;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			free(n);
			return nomem(c);
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
	} else {
		n->kind = ev->type == YAML_SEQUENCE_START_EVENT ?
			  NODE_SEQ : NODE_MAP;
	}

	parent = b->depth ? b->stack[b->depth - 1] : NULL;
	if (!parent) {
		b->root = n;	/* only one document gets this far */
	} else if (node_add(parent, n)) {
		node_free(n);
		return nomem(c);
	}
	if (n->kind != NODE_SCALAR)
		b->stack[b->depth++] = n;
	return 0;
}

static int tree_event(struct ctx *c, struct builder *b,
		      const yaml_event_t *ev, bool *done)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1)
			return fail_at(c, FD_ERR_INVALID,
				       (int)ev->start_mark.line + 1,
				       (int)ev->start_mark.column + 1,
				       "more than one document in the file");
		return 0;
	case YAML_ALIAS_EVENT:
		return mark_fail(c, &ev->start_mark, "aliases",
				 (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return tree_open(c, b, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* Parse text into a tree; *root is NULL when the file holds no document. */
static int tree_read(struct ctx *c, const char *text, size_t len,
		     struct node **root)
{
	yaml_parser_t p;
	struct builder b;
	bool done = false;
	int err = 0;

	memset(&b, 0, sizeof(b));
	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!err && !done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&p, &ev)) {
			err = yaml_fail(c, &p, text, len);
			break;
		}
		err = tree_event(c, &b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (err) {
		node_free(b.root);
		return err;
	}
	*root = b.root;
	return 0;
}

/* ---- mappings against a list of known keys ---------------------------- */

/* Optimal string alignment distance (a swap costs 1), case-blind. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
			size_t best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			bool swapped = i > 1 && j > 1 &&
				       ca == (b[j - 2] | 0x20) &&
				       (a[i - 2] | 0x20) == cb;

			if (swapped && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The known key closest to an unknown one, when it is close enough. */
static const char *closest_key(const char *key, const char *const *keys)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; keys[i]; i++) {
		size_t d = edit_distance(key, keys[i]);
		size_t near = strlen(keys[i]) >= 5 ? 2 : 1;

		if (d <= near && d < best_d) {
			best = keys[i];
			best_d = d;
		}
	}
	return best;
}

static int unknown_key(struct ctx *c, const struct node *k,
		       const char *const *keys)
{
	char buf[SHOWN_MAX + 4];
	const char *near = strlen(k->text) == k->len ?
			   closest_key(k->text, keys) : NULL;

	if (near)
		return fail(c, k, "unknown key '%s' (did you mean '%s'?)",
			    SHOW(k, buf), near);
	return fail(c, k, "unknown key '%s'", SHOW(k, buf));
}

static int key_index(const struct node *k, const char *const *keys)
{
	if (strlen(k->text) != k->len)
		return -1;
	for (int i = 0; keys[i]; i++)
		if (strcmp(k->text, keys[i]) == 0)
			return i;
	return -1;
}

typedef int (*key_fn)(struct ctx *c, int key, const struct node *k,
		      const struct node *v, void *obj);

struct schema {
	const char *const *keys;	/* NULL-terminated, at most 32 */
	unsigned required;		/* bit i: keys[i] must be given */
	key_fn fn;			/* handles one key's value */
};

/*
 * Check a mapping's keys in document order (known, given once, with a
 * value), handing each value to s->fn, then check that every required key
 * was given.
 */
static int walk_map(struct ctx *c, const struct node *map,
		    const struct schema *s, void *obj)
{
	const struct node *seen[32] = { 0 };

	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct node *k = map->kids[i], *v = map->kids[i + 1];
		int key, err;

		if (k->kind != NODE_SCALAR)
			return fail(c, k, "a key must be a string, not %s",
				    kind_name(k));
		if (is_null(k))
			return fail(c, k, "empty key");
		key = key_index(k, s->keys);
		if (key < 0)
			return unknown_key(c, k, s->keys);
		if (seen[key])
			return fail(c, k, "duplicate key '%s' (first at "
				    "line %d)", s->keys[key], seen[key]->line);
		seen[key] = k;
		if (is_null(v))
			return fail(c, k, "no value for '%s'", s->keys[key]);
		err = s->fn(c, key, k, v, obj);
		if (err)
			return err;
	}
	for (int key = 0; s->keys[key]; key++)
		if ((s->required >> key & 1) && !seen[key])
			return fail(c, map, "missing required key '%s'",
				    s->keys[key]);
	return 0;
}

/* ---- values ----------------------------------------------------------- */

static int need_kind(struct ctx *c, const struct node *k, const struct node *v,
		     enum kind want)
{
	static const char *const names[] = {
		[NODE_SCALAR] = "a string",
		[NODE_SEQ] = "a list",
		[NODE_MAP] = "a mapping",
	};

	if (v->kind == want)
		return 0;
	return fail(c, v, "'%s' must be %s, not %s", k->text, names[want],
		    kind_name(v));
}

/* A scalar (want says what it should be), which holds no NUL byte. */
static int scalar_text(struct ctx *c, const char *key, const struct node *v,
		       const char *want)
{
	if (v->kind != NODE_SCALAR)
		return fail(c, v, "'%s' must be %s, not %s", key, want,
			    kind_name(v));
	if (strlen(v->text) != v->len)
		return fail(c, v, "'%s' must not contain a NUL byte", key);
	return 0;
}

static int dup_text(struct ctx *c, const struct node *v, char **out)
{
	free(*out);
	*out = strdup(v->text);
	return *out ? 0 : nomem(c);
}

/* A non-empty string value. */
static int get_string(struct ctx *c, const struct node *k,
		      const struct node *v, char **out)
{
	int err = scalar_text(c, k->text, v, "a string");

	if (err)
		return err;
	if (v->len == 0)
		return fail(c, v, "'%s' must not be empty", k->text);
	return dup_text(c, v, out);
}

typedef int (*item_fn)(struct ctx *c, const char *key, const struct node *v,
		       const struct fd_strv *sofar);

/*
 * A list of strings, each passed to check (which may be NULL); with
 * scalar_ok a single string stands for a list of one.
 */
static int get_strv(struct ctx *c, const struct node *k, const struct node *v,
		    bool scalar_ok, item_fn check, struct fd_strv *out)
{
	const struct node *const *items = &v;
	size_t n = 1;

	if (v->kind != NODE_SEQ && !(scalar_ok && v->kind == NODE_SCALAR))
		return fail(c, v, "'%s' must be a list%s, not %s", k->text,
			    scalar_ok ? " or a string" : "", kind_name(v));
	if (v->kind == NODE_SEQ) {
		items = (const struct node *const *)v->kids;
		n = v->n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct node *it = items[i];
		int err;

		if (is_null(it))
			return fail(c, it, "empty item in '%s'", k->text);
		if (it->kind != NODE_SCALAR)
			return fail(c, it, "each item of '%s' must be a "
				    "string, not %s", k->text, kind_name(it));
		err = scalar_text(c, k->text, it, "a string");
		if (!err && check)
			err = check(c, k->text, it, out);
		if (err)
			return err;
		if (fd_strv_push(out, it->text, it->len))
			return nomem(c);
	}
	return 0;
}

/* Digits only, at most max; no sign, no spaces, no leading '+'. */
static bool parse_uint(const char *s, long max, long *out)
{
	long val = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		val = val * 10 + (*s - '0');
		if (val > max)
			return false;
	}
	*out = val;
	return true;
}

/* An integer from 0 to max ("73" is taken for 73 too). */
static int get_uint(struct ctx *c, const struct node *k, const struct node *v,
		    long max, long *out)
{
	char buf[SHOWN_MAX + 4];
	int err = scalar_text(c, k->text, v, "an integer");

	if (err)
		return err;
	if (!parse_uint(v->text, max, out))
		return fail(c, v, "bad %s '%s' (expected an integer from 0 to "
			    "%ld)", k->text, SHOW(v, buf), max);
	return 0;
}

/* "250ms", "2s", "5m", "1h", or a plain number of milliseconds. */
static bool parse_duration(const char *s, long *ms)
{
	static const struct { const char *unit; long ms; } units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 },
	};
	char digits[16];
	size_t n = strspn(s, "0123456789");
	long val;

	if (n == 0 || n >= sizeof(digits))
		return false;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (!parse_uint(digits, MAX_MS, &val))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].unit) == 0) {
			if (val > MAX_MS / units[i].ms)
				return false;
			*ms = val * units[i].ms;
			return true;
		}
	}
	return false;
}

static int get_duration(struct ctx *c, const struct node *k,
			const struct node *v, long min, long *out)
{
	char buf[SHOWN_MAX + 4];
	int err = scalar_text(c, k->text, v, "a duration");

	if (err)
		return err;
	if (!parse_duration(v->text, out))
		return fail(c, v, "bad duration '%s' for '%s' (expected e.g. "
			    "250ms, 2s, 5m, 1h or a number of milliseconds, "
			    "at most 24h)", SHOW(v, buf), k->text);
	if (*out < min)
		return fail(c, v, "'%s' must be more than 0", k->text);
	return 0;
}

/* ---- what values must look like --------------------------------------- */

static bool all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		 "0123456789._-"

/* Safe as one path component: not empty, no '/', not "." or "..". */
static bool is_file_name(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len > 0 && len <= max && !strchr(s, '/') &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bool is_id(const char *s)
{
	return is_file_name(s, MAX_ID) && all_of(s, ID_CHARS);
}

/* "T" or "TA" followed by four digits, then ".ddd" when sub is set. */
static bool is_mitre(const char *s, const char *prefix, bool sub)
{
	size_t p = strlen(prefix);

	if (strncmp(s, prefix, p) != 0 || strspn(s + p, "0123456789") != 4)
		return false;
	s += p + 4;
	if (!sub)
		return *s == '\0';
	return s[0] == '.' && strspn(s + 1, "0123456789") == 3 &&
	       s[4] == '\0';
}

static int check_name(struct ctx *c, const char *key, const struct node *v,
		      const struct fd_strv *sofar)
{
	char buf[SHOWN_MAX + 4];

	(void)key;
	if (sofar && sofar->n == MAX_PARENTS)
		return fail(c, v, "more than %d parents", MAX_PARENTS);
	if (!is_file_name(v->text, MAX_NAME))
		return fail(c, v, "bad stand-in name '%s' (expected a file "
			    "name of 1 to %d bytes, without '/', not '.' or "
			    "'..')", SHOW(v, buf), MAX_NAME);
	return 0;
}

static int check_nonempty(struct ctx *c, const char *key,
			  const struct node *v, const struct fd_strv *sofar)
{
	(void)sofar;
	if (v->len == 0)
		return fail(c, v, "empty item in '%s'", key);
	return 0;
}

static int check_rule(struct ctx *c, const char *key, const struct node *v,
		      const struct fd_strv *sofar)
{
	char buf[SHOWN_MAX + 4];
	int err = check_nonempty(c, key, v, sofar);

	if (!err && sofar->n == MAX_RULES)
		err = fail(c, v, "more than %d rules", MAX_RULES);
	if (!err && fd_strv_contains(sofar, v->text))
		err = fail(c, v, "rule '%s' is listed twice", SHOW(v, buf));
	return err;
}

static int check_tactic(struct ctx *c, const char *key, const struct node *v,
			const struct fd_strv *sofar)
{
	char buf[SHOWN_MAX + 4];

	(void)sofar;
	if (!is_mitre(v->text, "TA", false))
		return fail(c, v, "bad %s id '%s' (expected e.g. TA0006)", key,
			    SHOW(v, buf));
	return 0;
}

static int check_technique(struct ctx *c, const char *key,
			   const struct node *v, const struct fd_strv *sofar)
{
	char buf[SHOWN_MAX + 4];

	(void)sofar;
	if (!is_mitre(v->text, "T", false))
		return fail(c, v, "bad %s id '%s' (expected e.g. T1003)", key,
			    SHOW(v, buf));
	return 0;
}

static int check_subtechnique(struct ctx *c, const char *key,
			      const struct node *v,
			      const struct fd_strv *sofar)
{
	char buf[SHOWN_MAX + 4];

	(void)sofar;
	if (!is_mitre(v->text, "T", true))
		return fail(c, v, "bad %s id '%s' (expected e.g. T1003.008)",
			    key, SHOW(v, buf));
	return 0;
}

/* ---- host ------------------------------------------------------------- */

enum { H_OS, H_OS_NAME, H_OS_VERSION, H_FAMILY, H_PLATFORM, H_NAME, H_ARCH };
static const char *const host_keys[] = {
	"os", "os_name", "os_version", "family", "platform", "name", "arch",
	NULL
};

/* What a host profile says when only its os is given. */
static const struct {
	const char *os, *name, *version, *family, *platform;
} host_defaults[] = {
	{ "macos", "macOS", "14.5", "macos", "darwin" },
	{ "linux", "Debian GNU/Linux", "12", "debian", "debian" },
	{ "windows", "Windows", "10.0", "windows", "windows" },
};
#define NHOSTS (sizeof(host_defaults) / sizeof(host_defaults[0]))

static int host_key(struct ctx *c, int key, const struct node *k,
		    const struct node *v, void *obj)
{
	struct fd_host *h = obj;
	char **slot[] = {
		[H_OS] = &h->os_type, [H_OS_NAME] = &h->os_name,
		[H_OS_VERSION] = &h->os_version, [H_FAMILY] = &h->os_family,
		[H_PLATFORM] = &h->os_platform, [H_NAME] = &h->name,
		[H_ARCH] = &h->arch,
	};
	char buf[SHOWN_MAX + 4];
	int err = get_string(c, k, v, slot[key]);

	if (err || key != H_OS)
		return err;
	for (size_t i = 0; i < NHOSTS; i++)
		if (strcmp(h->os_type, host_defaults[i].os) == 0)
			return 0;
	return fail(c, v, "bad os '%s' (expected macos, linux or windows)",
		    SHOW(v, buf));
}

static int fill_default(struct ctx *c, char **slot, const char *value)
{
	if (*slot)
		return 0;
	*slot = strdup(value);
	return *slot ? 0 : nomem(c);
}

/* Fill what the profile left out from its os (macos when none). */
static int host_finish(struct ctx *c, struct fd_host *h)
{
	size_t i = 0;
	int err = fill_default(c, &h->os_type, "macos");

	/* host_key() let only the table's values in. */
	while (!err && i + 1 < NHOSTS &&
	       strcmp(h->os_type, host_defaults[i].os) != 0)
		i++;
	if (!err)
		err = fill_default(c, &h->os_name, host_defaults[i].name);
	if (!err)
		err = fill_default(c, &h->os_version,
				   host_defaults[i].version);
	if (!err)
		err = fill_default(c, &h->os_family, host_defaults[i].family);
	if (!err)
		err = fill_default(c, &h->os_platform,
				   host_defaults[i].platform);
	return err;
}

/* ---- steps ------------------------------------------------------------ */

enum {
	ST_RUN, ST_ARGS, ST_PARENTS, ST_USER, ST_DWELL, ST_TIMEOUT, ST_EXIT,
	ST_CWD, ST_PATH, ST_ENV
};
static const char *const step_keys[] = {
	"run", "args", "parents", "user", "dwell", "timeout", "expect_exit",
	"cwd", "path", "env", NULL
};

/* ---- folders and environment of a step ------------------------------- */

/* The length of the first name of a path: up to its '/' or its end. */
static size_t name_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

static bool printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool fd_subdir_ok(const char *s)
{
	size_t len = strlen(s), depth = 0;

	if (len == 0 || len > FD_SUBDIR_MAX)
		return false;
	for (;;) {
		size_t n = name_len(s);

		if (n == 0 || !printable_ascii(s, n) ||
		    (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.') ||
		    ++depth > FD_SUBDIR_DEPTH)
			return false;
		s += n;
		if (!*s)
			return true;
		s++;		/* the '/'; an empty name after it fails */
	}
}

bool fd_env_name_ok(const char *name, size_t len)
{
	if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
		    ch != '_')
			return false;
	}
	return true;
}

static bool env_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

static bool env_starts(const char *name, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(name, prefix, n) == 0;
}

const char *fd_env_name_refusal(const char *name, size_t len)
{
	/* Variables that make the C library or the dynamic loader run or
	 * load other code, or change how the stand-in itself behaves. */
	static const char *const loader_prefixes[] = {
		"LD_", "DYLD_", "MALLOC_", NULL
	};
	static const char *const loader_names[] = {
		"GLIBC_TUNABLES", "GCONV_PATH", "LOCPATH", "NLSPATH",
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", NULL
	};

	if (env_is(name, len, "PATH") || env_is(name, len, "HOME") ||
	    env_is(name, len, "LANG") || env_starts(name, len, "LC_"))
		return "firedrill's minimal environment sets it (PATH, HOME, "
		       "LANG=C, and so the locale)";
	for (size_t i = 0; loader_prefixes[i]; i++)
		if (env_starts(name, len, loader_prefixes[i]))
			goto loader;
	for (size_t i = 0; loader_names[i]; i++)
		if (env_is(name, len, loader_names[i]))
			goto loader;
	return NULL;
loader:
	return "it changes how a program is loaded or run (LD_*, DYLD_*, "
	       "MALLOC_*, GLIBC_TUNABLES, ...), and only the stand-in's own "
	       "code ever runs";
}

/* 'cwd' or 'path': a folder below the scenario's own. */
static int get_subdir(struct ctx *c, const struct node *k,
		      const struct node *v, char **out)
{
	char buf[SHOWN_MAX + 4];
	int err = get_string(c, k, v, out);

	if (!err && !fd_subdir_ok(*out))
		err = fail(c, v, "bad folder '%s' for '%s' (expected a "
			   "relative path inside the scenario's folder: 1 "
			   "to %d names of printable ASCII joined by '/', "
			   "not '.' or '..', at most %d bytes)", SHOW(v, buf),
			   k->text, FD_SUBDIR_DEPTH, FD_SUBDIR_MAX);
	return err;
}

/* A value fit for the environment: no control characters. */
static bool env_value_ok(const struct node *v)
{
	for (size_t i = 0; i < v->len; i++) {
		unsigned char ch = (unsigned char)v->text[i];

		if (ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* One NAME: value pair of 'env'; *bytes counts "NAME=value". */
static int env_pair(struct ctx *c, const struct node *map, size_t i,
		    size_t *bytes, struct fd_strv *out)
{
	const struct node *k = map->kids[i], *v = map->kids[i + 1];
	char buf[SHOWN_MAX + 4], *pair;
	const char *why;
	int err;

	if (is_null(k))
		return fail(c, k, "empty key");
	if (k->kind != NODE_SCALAR)
		return fail(c, k, "an environment variable's name must be a "
			    "string, not %s", kind_name(k));
	if (!fd_env_name_ok(k->text, k->len))
		return fail(c, k, "bad environment variable name '%s' "
			    "(expected A-Z, 0-9 and _, not starting with a "
			    "digit)", SHOW(k, buf));
	why = fd_env_name_refusal(k->text, k->len);
	if (why)
		return fail(c, k, "environment variable '%s' cannot be set: "
			    "%s", SHOW(k, buf), why);
	for (size_t j = 0; j < i; j += 2)
		if (strcmp(map->kids[j]->text, k->text) == 0)
			return fail(c, k, "duplicate key '%s' (first at line "
				    "%d)", SHOW(k, buf), map->kids[j]->line);
	if (out->n == FD_ENV_MAX)
		return fail(c, k, "more than %d environment variables",
			    FD_ENV_MAX);
	if (is_null(v))
		return fail(c, k, "no value for '%s' (write \"\" for an "
			    "empty one)", SHOW(k, buf));
	err = scalar_text(c, k->text, v, "a string");
	if (err)
		return err;
	if (!env_value_ok(v))
		return fail(c, v, "the value of '%s' must be printable (no "
			    "control characters)", SHOW(k, buf));
	*bytes += k->len + 1 + v->len;
	if (*bytes > FD_ENV_BYTES)
		return fail(c, k, "environment larger than %d bytes (all its "
			    "NAME=value strings together)", FD_ENV_BYTES);
	pair = malloc(k->len + 1 + v->len + 1);
	if (!pair)
		return nomem(c);
	snprintf(pair, k->len + 1 + v->len + 1, "%s=%s", k->text, v->text);
	err = fd_strv_push(out, pair, k->len + 1 + v->len);
	free(pair);
	return err ? nomem(c) : 0;
}

/* 'env': a mapping of names to values, kept as "NAME=value". */
static int get_env(struct ctx *c, const struct node *k, const struct node *v,
		   struct fd_strv *out)
{
	size_t bytes = 0;
	int err = need_kind(c, k, v, NODE_MAP);

	for (size_t i = 0; !err && i + 1 < v->n; i += 2)
		err = env_pair(c, v, i, &bytes, out);
	return err;
}

static bool is_user(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= MAX_USER && s[0] != '-' &&
	       all_of(s, ID_CHARS);
}

static int step_key(struct ctx *c, int key, const struct node *k,
		    const struct node *v, void *obj)
{
	struct fd_step *st = obj;
	char buf[SHOWN_MAX + 4];
	long val = 0;
	int err;

	switch (key) {
	case ST_RUN:
		err = get_string(c, k, v, &st->run);
		if (!err)
			err = check_name(c, k->text, v, NULL);
		return err;
	case ST_ARGS:
		return get_strv(c, k, v, false, NULL, &st->args);
	case ST_PARENTS:
		return get_strv(c, k, v, false, check_name, &st->parents);
	case ST_USER:
		err = get_string(c, k, v, &st->user);
		if (!err && !is_user(st->user))
			err = fail(c, v, "bad user name '%s' (expected 1 "
				   "to %d of A-Z a-z 0-9 . _ -, not starting "
				   "with '-')", SHOW(v, buf), MAX_USER);
		return err;
	case ST_DWELL:
		return get_duration(c, k, v, 0, &st->dwell_ms);
	case ST_TIMEOUT:
		return get_duration(c, k, v, 1, &st->timeout_ms);
	case ST_EXIT:
		err = get_uint(c, k, v, 255, &val);
		st->has_expect_exit = !err;
		st->expect_exit = (int)val;
		return err;
	case ST_CWD:
		return get_subdir(c, k, v, &st->cwd);
	case ST_PATH:
		return get_subdir(c, k, v, &st->path);
	case ST_ENV:
		return get_env(c, k, v, &st->env);
	}
	return 0;
}

static const struct schema step_schema = {
	step_keys, 1u << ST_RUN, step_key
};

/* ---- expectations ----------------------------------------------------- */

enum {
	EX_RULE, EX_COUNT, EX_SEVERITY, EX_RISK, EX_TACTIC, EX_TECHNIQUE,
	EX_SUBTECHNIQUE, EX_DEADLINE, EX_VERSION
};
static const char *const expect_keys[] = {
	"rule", "count", "severity", "risk_score", "tactic", "technique",
	"subtechnique", "deadline", "version", NULL
};

/* "N" or ">= N" (spaces around either part are allowed). */
static bool parse_count(const char *s, struct fd_expect *ex)
{
	char digits[16];
	size_t n;

	s += strspn(s, " ");
	ex->count_op = FD_COUNT_EXACT;
	if (strncmp(s, ">=", 2) == 0) {
		ex->count_op = FD_COUNT_AT_LEAST;
		s += 2 + strspn(s + 2, " ");
	}
	n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(digits) || !all_of(s + n, " "))
		return false;
	memcpy(digits, s, n);
	digits[n] = '\0';
	return parse_uint(digits, MAX_COUNT, &ex->count);
}

static int expect_key(struct ctx *c, int key, const struct node *k,
		      const struct node *v, void *obj)
{
	static const char *const severities[] = {
		"low", "medium", "high", "critical"
	};
	struct fd_expect *ex = obj;
	char buf[SHOWN_MAX + 4];
	long val = 0;
	int err;

	switch (key) {
	case EX_RULE:
		return get_string(c, k, v, &ex->rule_id);
	case EX_COUNT:
		err = scalar_text(c, k->text, v, "a count");
		if (!err && !parse_count(v->text, ex))
			err = fail(c, v, "bad count '%s' (expected a number "
				   "or \">= N\")", SHOW(v, buf));
		if (!err && ex->count_op == FD_COUNT_AT_LEAST && ex->count == 0)
			err = fail(c, v, "count '%s' always holds: use 0 for "
				   "a negative, or \">= 1\"", SHOW(v, buf));
		return err;
	case EX_SEVERITY:
		err = get_string(c, k, v, &ex->severity);
		if (err)
			return err;
		for (size_t i = 0; i < 4; i++)
			if (strcmp(ex->severity, severities[i]) == 0)
				return 0;
		return fail(c, v, "bad severity '%s' (expected low, medium, "
			    "high or critical)", SHOW(v, buf));
	case EX_RISK:
		err = get_uint(c, k, v, 100, &val);
		ex->risk_score = err ? -1 : (int)val;
		return err;
	case EX_TACTIC:
		return get_strv(c, k, v, true, check_tactic, &ex->tactics);
	case EX_TECHNIQUE:
		return get_strv(c, k, v, true, check_technique,
				&ex->techniques);
	case EX_SUBTECHNIQUE:
		return get_strv(c, k, v, true, check_subtechnique,
				&ex->subtechniques);
	case EX_DEADLINE:
		return get_duration(c, k, v, 1, &ex->deadline_ms);
	case EX_VERSION:
		err = get_uint(c, k, v, MAX_RULE_VERSION, &val);
		if (!err && val == 0)
			err = fail(c, v, "'version' must be 1 or more");
		ex->version = err ? 0 : (int)val;
		return err;
	}
	return 0;
}

static const struct schema expect_schema = {
	expect_keys, 1u << EX_RULE, expect_key
};

/* ---- the scenario ----------------------------------------------------- */

enum {
	SC_ID, SC_TITLE, SC_TECHNIQUE, SC_RULES, SC_HOST, SC_STEPS,
	SC_EXCEPTIONS, SC_EXPECT, SC_CONTROL
};
static const char *const scenario_keys[] = {
	"id", "title", "technique", "rules", "host", "steps", "exceptions",
	"expect", "control", NULL
};

static const struct schema host_schema = { host_keys, 0, host_key };

/* A non-empty list whose items are all mappings. */
static int need_items(struct ctx *c, const struct node *k,
		      const struct node *v, const char *what)
{
	int err = need_kind(c, k, v, NODE_SEQ);

	if (err)
		return err;
	if (v->n == 0)
		return fail(c, v, "'%s' must not be empty", k->text);
	for (size_t i = 0; i < v->n; i++)
		if (v->kids[i]->kind != NODE_MAP)
			return fail(c, v->kids[i],
				    "each %s must be a mapping, not %s", what,
				    kind_name(v->kids[i]));
	return 0;
}

static const struct node *map_get(const struct node *map, const char *key);

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Where each stand-in copy of sc lives, relative to its folder, sorted. */
static int copy_places(struct ctx *c, const struct fd_scenario *sc,
		       struct fd_strv *out)
{
	char place[FD_SUBDIR_MAX + 1 + MAX_NAME + 1];

	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct fd_step *st = &sc->steps[i];

		for (size_t d = 0; d < st->parents.n; d++)
			if (fd_strv_push(out, st->parents.v[d],
					 strlen(st->parents.v[d])))
				return nomem(c);
		snprintf(place, sizeof(place), "%s%s%s",
			 st->path ? st->path : "", st->path ? "/" : "",
			 st->run);
		if (fd_strv_push(out, place, strlen(place)))
			return nomem(c);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_text);
	return 0;
}

/* Whether sorted sv holds s (a binary search: bsearch() is not on the
 * list of what the emulator may call on a Mac). */
static bool sorted_has(const struct fd_strv *sv, const char *s)
{
	size_t lo = 0, hi = sv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(sv->v[mid], s);

		if (cmp == 0)
			return true;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* No folder a step's 'cwd' or 'path' needs may be a stand-in's copy. */
static int check_folder(struct ctx *c, const struct node *v,
			const char *key, const struct fd_strv *copies)
{
	char prefix[FD_SUBDIR_MAX + 1], buf[SHOWN_MAX + 4];

	snprintf(prefix, sizeof(prefix), "%s", v->text);
	for (char *slash = prefix;; slash++) {
		char keep;

		slash += name_len(slash);
		keep = *slash;
		*slash = '\0';
		if (sorted_has(copies, prefix))
			return fail(c, v, "'%s' needs a folder '%s' where a "
				    "stand-in copy of that name lives; "
				    "rename one of them", key,
				    shown(prefix, strlen(prefix), buf));
		if (!keep)
			return 0;
		*slash = keep;
	}
}

static int check_folders(struct ctx *c, const struct node *steps,
			 const struct fd_scenario *sc)
{
	static const char *const keys[] = { "cwd", "path" };
	struct fd_strv copies = { 0 };
	int err = copy_places(c, sc, &copies);

	for (size_t i = 0; !err && i < steps->n; i++) {
		for (size_t k = 0; !err && k < 2; k++) {
			const struct node *v = map_get(steps->kids[i],
						       keys[k]);

			if (v)
				err = check_folder(c, v, keys[k], &copies);
		}
	}
	fd_strv_release(&copies);
	return err;
}

static int get_steps(struct ctx *c, const struct node *k,
		     const struct node *v, struct fd_scenario *sc)
{
	int err = need_items(c, k, v, "step");

	if (err)
		return err;
	sc->steps = calloc(v->n, sizeof(*sc->steps));
	if (!sc->steps)
		return nomem(c);
	sc->nsteps = v->n;	/* zeroed entries are safe to free */
	for (size_t i = 0; i < v->n && !err; i++) {
		struct fd_step *st = &sc->steps[i];

		st->timeout_ms = DEFAULT_TIMEOUT_MS;
		st->pos.line = v->kids[i]->line;
		st->pos.col = v->kids[i]->col;
		err = walk_map(c, v->kids[i], &step_schema, st);
	}
	return err ? err : check_folders(c, v, sc);
}

/* A negative expects no alert: checks of an alert's fields mean nothing. */
static int check_negative(struct ctx *c, const struct node *map,
			  const struct fd_expect *ex)
{
	static const char *const alert_keys[] = {
		"severity", "risk_score", "tactic", "technique", "subtechnique"
	};

	if (ex->count_op != FD_COUNT_EXACT || ex->count != 0)
		return 0;
	for (size_t i = 0; i < 5; i++) {
		const struct node *v = map_get(map, alert_keys[i]);

		if (v)
			return fail(c, v, "'%s' cannot be checked when "
				    "'count' is 0: a negative expects no "
				    "alert", alert_keys[i]);
	}
	return 0;
}

/* A control proves that the rule still fires: it expects an alert. */
static int check_alerts(struct ctx *c, const struct node *map,
			const struct fd_expect *ex)
{
	if (ex->count_op != FD_COUNT_EXACT || ex->count != 0)
		return 0;
	return fail(c, map_get(map, "count"), "a control must alert: its "
		    "'count' cannot be 0 (it shows the rule still fires "
		    "without the excepted attribute)");
}

static int get_expects(struct ctx *c, const struct node *k,
		       const struct node *v, struct fd_scenario *sc,
		       bool control)
{
	int err = need_items(c, k, v, "expectation");

	if (err)
		return err;
	sc->expects = calloc(v->n, sizeof(*sc->expects));
	if (!sc->expects)
		return nomem(c);
	sc->nexpects = v->n;
	for (size_t i = 0; i < v->n && !err; i++) {
		struct fd_expect *ex = &sc->expects[i];

		ex->count_op = FD_COUNT_AT_LEAST;	/* count: ">= 1" */
		ex->count = 1;
		ex->risk_score = -1;
		ex->pos.line = v->kids[i]->line;
		ex->pos.col = v->kids[i]->col;
		err = walk_map(c, v->kids[i], &expect_schema, ex);
		if (!err)
			err = control ? check_alerts(c, v->kids[i], ex) :
			      check_negative(c, v->kids[i], ex);
	}
	return err;
}

/* ---- the control ------------------------------------------------------ */

enum { CT_STEPS, CT_EXPECT, CT_HOST };
static const char *const control_keys[] = {
	"steps", "expect", "host", NULL
};

static int control_key(struct ctx *c, int key, const struct node *k,
		       const struct node *v, void *obj)
{
	struct fd_scenario *ctl = obj;
	int err;

	switch (key) {
	case CT_STEPS:
		return get_steps(c, k, v, ctl);
	case CT_EXPECT:
		c->control_expect = v;
		return get_expects(c, k, v, ctl, true);
	case CT_HOST:
		/* When the excepted attribute is the host (host.name). */
		err = need_kind(c, k, v, NODE_MAP);
		return err ? err : walk_map(c, v, &host_schema, &ctl->host);
	}
	return 0;
}

static const struct schema control_schema = {
	control_keys, 1u << CT_STEPS, control_key
};

static int get_control(struct ctx *c, const struct node *k,
		       const struct node *v)
{
	int err = need_kind(c, k, v, NODE_MAP);

	if (err)
		return err;
	c->control = k;
	c->sc->control = calloc(1, sizeof(*c->sc->control));
	if (!c->sc->control)
		return nomem(c);
	return walk_map(c, v, &control_schema, c->sc->control);
}

static int scenario_key(struct ctx *c, int key, const struct node *k,
			const struct node *v, void *obj)
{
	struct fd_scenario *sc = obj;
	char buf[SHOWN_MAX + 4];
	int err;

	switch (key) {
	case SC_ID:
		c->id = v;
		err = get_string(c, k, v, &sc->id);
		if (!err && !is_id(sc->id))
			err = fail(c, v, "bad id '%s' (expected 1 to %d of "
				   "A-Z a-z 0-9 . _ -, not '.' or '..')",
				   SHOW(v, buf), MAX_ID);
		return err;
	case SC_TITLE:
		return get_string(c, k, v, &sc->title);
	case SC_TECHNIQUE:
		err = get_string(c, k, v, &sc->technique);
		if (!err && !is_mitre(sc->technique, "T", false) &&
		    !is_mitre(sc->technique, "T", true))
			err = fail(c, v, "bad technique id '%s' (expected "
				   "e.g. T1003 or T1003.008)", SHOW(v, buf));
		return err;
	case SC_RULES:
		c->rules = v;
		err = get_strv(c, k, v, false, check_rule, &sc->rules);
		if (!err && sc->rules.n == 0)
			err = fail(c, v, "'rules' must not be empty");
		return err;
	case SC_HOST:
		err = need_kind(c, k, v, NODE_MAP);
		return err ? err : walk_map(c, v, &host_schema, &sc->host);
	case SC_STEPS:
		return get_steps(c, k, v, sc);
	case SC_EXCEPTIONS:
		c->exceptions = k;
		return get_strv(c, k, v, false, check_nonempty,
				&sc->exceptions);
	case SC_EXPECT:
		c->expect = v;
		return get_expects(c, k, v, sc, false);
	case SC_CONTROL:
		return get_control(c, k, v);
	}
	return 0;
}

static const struct schema scenario_schema = {
	scenario_keys,
	1u << SC_ID | 1u << SC_TITLE | 1u << SC_RULES | 1u << SC_STEPS |
	1u << SC_EXPECT,
	scenario_key
};

/* The value of key in a mapping node, or NULL. */
static const struct node *map_get(const struct node *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->kind == NODE_SCALAR &&
		    strcmp(map->kids[i]->text, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

/* The earlier expectation for the same rule and version, or NULL. */
static const struct fd_expect *same_target(const struct fd_scenario *sc,
					   size_t i)
{
	const struct fd_expect *ex = &sc->expects[i];

	for (size_t k = 0; k < i; k++)
		if (sc->expects[k].version == ex->version &&
		    strcmp(sc->expects[k].rule_id, ex->rule_id) == 0)
			return &sc->expects[k];
	return NULL;
}

/*
 * Each expectation (the items of expect) names a rule under test; each
 * rule has at least one.  A rule may have one expectation per version,
 * plus one without a version for every version not named.
 */
static int check_rules(struct ctx *c, const struct fd_scenario *sc,
		       const struct node *expect)
{
	const struct fd_expect *claimed[MAX_RULES] = { 0 };
	char buf[SHOWN_MAX + 4];

	for (size_t i = 0; i < sc->nexpects; i++) {
		const struct node *v = map_get(expect->kids[i], "rule");
		const struct fd_expect *twin = same_target(sc, i);
		size_t r = 0;

		while (r < sc->rules.n &&
		       strcmp(sc->rules.v[r], sc->expects[i].rule_id) != 0)
			r++;
		if (r == sc->rules.n)
			return fail(c, v, "rule '%s' is not in 'rules'",
				    SHOW(v, buf));
		if (twin && twin->version)
			return fail(c, v, "a second expectation for rule '%s' "
				    "version %d (first at line %d)",
				    SHOW(v, buf), twin->version,
				    twin->pos.line);
		if (twin)
			return fail(c, v, "a second expectation for rule '%s' "
				    "(first at line %d; add 'version' to tell "
				    "them apart)", SHOW(v, buf),
				    twin->pos.line);
		claimed[r] = &sc->expects[i];
	}
	for (size_t r = 0; r < sc->rules.n; r++) {
		if (claimed[r])
			continue;
		if (sc->control_of)
			return fail(c, expect, "the control has no "
				    "expectation for rule '%s' (leave its "
				    "'expect' out to expect an alert from "
				    "every rule)",
				    SHOW(c->rules->kids[r], buf));
		return fail(c, c->rules->kids[r],
			    "no expectation for rule '%s'",
			    SHOW(c->rules->kids[r], buf));
	}
	return 0;
}

/* Every list a loaded scenario has is an array, even when empty. */
static int strv_ensure(struct ctx *c, struct fd_strv *sv)
{
	if (sv->v)
		return 0;
	sv->v = calloc(1, sizeof(*sv->v));
	return sv->v ? 0 : nomem(c);
}

/* Every list of sc an array, even when empty. */
static int finish_lists(struct ctx *c, struct fd_scenario *sc)
{
	int err = strv_ensure(c, &sc->rules);

	if (!err)
		err = strv_ensure(c, &sc->exceptions);
	for (size_t i = 0; !err && i < sc->nsteps; i++) {
		err = strv_ensure(c, &sc->steps[i].args);
		if (!err)
			err = strv_ensure(c, &sc->steps[i].parents);
		if (!err)
			err = strv_ensure(c, &sc->steps[i].env);
	}
	for (size_t i = 0; !err && i < sc->nexpects; i++) {
		struct fd_expect *ex = &sc->expects[i];

		err = strv_ensure(c, &ex->tactics);
		if (!err)
			err = strv_ensure(c, &ex->techniques);
		if (!err)
			err = strv_ensure(c, &ex->subtechniques);
	}
	return err;
}

/* Exceptions and a control come together, and the control's id fits. */
static int check_control(struct ctx *c)
{
	const struct fd_scenario *sc = c->sc;
	char buf[SHOWN_MAX + 4];

	if (sc->exceptions.n && !sc->control)
		return fail(c, c->exceptions, "an exception scenario needs a "
			    "control: the same steps without the excepted "
			    "attribute, which must still alert (see "
			    "scenarios/README.md)");
	if (sc->control && !sc->exceptions.n)
		return fail(c, c->control, "'control' belongs to an "
			    "exception scenario: add the 'exceptions' it "
			    "runs with, or remove 'control'");
	if (sc->control &&
	    strlen(sc->id) + strlen(FD_CONTROL_SUFFIX) > MAX_ID)
		return fail(c, c->id, "id '%s' is too long for an exception "
			    "scenario: its control's id, the id and "
			    "'" FD_CONTROL_SUFFIX "', must be at most %d "
			    "characters", SHOW(c->id, buf), MAX_ID);
	return 0;
}

static int dup_or_null(struct ctx *c, const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out ? 0 : nomem(c);
}

/* The text of a and b, joined, into *out. */
static int join(struct ctx *c, const char *a, const char *b, char **out)
{
	size_t la = strlen(a), lb = strlen(b);

	*out = malloc(la + lb + 1);
	if (!*out)
		return nomem(c);
	memcpy(*out, a, la);
	memcpy(*out + la, b, lb + 1);
	return 0;
}

/* *to, when unset, gets a copy of from (which may be NULL too). */
static int inherit(struct ctx *c, const char *from, char **to)
{
	return *to ? 0 : dup_or_null(c, from, to);
}

/*
 * The control's host profile: what its own 'host' gives, the rest as the
 * scenario's file gives it (before defaults, which both then get from
 * their os).
 */
static int inherit_host(struct ctx *c, const struct fd_host *from,
			struct fd_host *to)
{
	int err = inherit(c, from->os_type, &to->os_type);

	if (!err)
		err = inherit(c, from->os_name, &to->os_name);
	if (!err)
		err = inherit(c, from->os_version, &to->os_version);
	if (!err)
		err = inherit(c, from->os_family, &to->os_family);
	if (!err)
		err = inherit(c, from->os_platform, &to->os_platform);
	if (!err)
		err = inherit(c, from->name, &to->name);
	if (!err)
		err = inherit(c, from->arch, &to->arch);
	return err;
}

/* What the control shares with its scenario, copied (the host aside). */
static int copy_shared(struct ctx *c, const struct fd_scenario *sc,
		       struct fd_scenario *ctl)
{
	int err = join(c, sc->id, FD_CONTROL_SUFFIX, &ctl->id);

	if (!err)
		err = join(c, sc->title, " (control)", &ctl->title);
	if (!err)
		err = dup_or_null(c, sc->id, &ctl->control_of);
	if (!err)
		err = dup_or_null(c, sc->path, &ctl->path);
	if (!err)
		err = dup_or_null(c, sc->source, &ctl->source);
	if (!err)
		err = dup_or_null(c, sc->technique, &ctl->technique);
	if (!err && fd_strv_copy(&ctl->rules, &sc->rules))
		err = nomem(c);
	if (!err && fd_strv_copy(&ctl->exceptions, &sc->exceptions))
		err = nomem(c);
	return err;
}

/* Without an 'expect', a control expects ">= 1" alert from every rule. */
static int default_expects(struct ctx *c, struct fd_scenario *ctl)
{
	ctl->expects = calloc(ctl->rules.n, sizeof(*ctl->expects));
	if (!ctl->expects)
		return nomem(c);
	ctl->nexpects = ctl->rules.n;
	for (size_t r = 0; r < ctl->rules.n; r++) {
		struct fd_expect *ex = &ctl->expects[r];

		ex->count_op = FD_COUNT_AT_LEAST;
		ex->count = 1;
		ex->risk_score = -1;
		ex->pos.line = c->control->line;
		ex->pos.col = c->control->col;
		ex->rule_id = strdup(ctl->rules.v[r]);
		if (!ex->rule_id)
			return nomem(c);
	}
	return 0;
}

static int build_control(struct ctx *c)
{
	struct fd_scenario *ctl = c->sc->control;
	int err = copy_shared(c, c->sc, ctl);

	if (!err)
		err = c->control_expect ?
		      check_rules(c, ctl, c->control_expect) :
		      default_expects(c, ctl);
	if (!err)
		err = host_finish(c, &ctl->host);
	return err ? err : finish_lists(c, ctl);
}

static int finish(struct ctx *c)
{
	struct fd_scenario *sc = c->sc;
	int err = check_rules(c, sc, c->expect);

	if (!err)
		err = check_control(c);
	if (!err && sc->control)
		err = inherit_host(c, &sc->host, &sc->control->host);
	if (!err)
		err = host_finish(c, &sc->host);
	if (!err)
		err = finish_lists(c, sc);
	if (!err && sc->control)
		err = build_control(c);
	return err;
}

static int build(struct ctx *c, const struct node *root)
{
	if (!root || is_null(root))
		return fail_at(c, FD_ERR_INVALID, 1, 1, "empty file");
	if (root->kind != NODE_MAP)
		return fail(c, root, "a scenario must be a mapping, not %s",
			    kind_name(root));
	return walk_map(c, root, &scenario_schema, c->sc);
}

static struct fd_scenario *scenario_new(const char *name, const char *text,
					size_t len)
{
	struct fd_scenario *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->path = strdup(name);
	sc->source = malloc(len + 1);
	if (!sc->path || !sc->source) {
		fd_scenario_free(sc);
		return NULL;
	}
	memcpy(sc->source, text, len);
	sc->source[len] = '\0';
	return sc;
}

int fd_scenario_parse(const char *name, const char *text, size_t len,
		      struct fd_scenario **out, struct fd_diag *diag)
{
	struct fd_diag scratch;
	struct ctx c;
	struct node *root = NULL;
	int err;

	memset(&c, 0, sizeof(c));
	c.diag = diag ? diag : &scratch;
	fd_diag_clear(c.diag);
	if (!name)
		name = "";
	snprintf(c.diag->file, sizeof(c.diag->file), "%s", name);
	*out = NULL;
	if (!text && len)
		return fail_at(&c, FD_ERR_INVALID, 0, 0, "no text");
	if (len == SIZE_MAX)
		return nomem(&c);

	c.sc = scenario_new(name, text ? text : "", len);
	if (!c.sc)
		return nomem(&c);
	err = tree_read(&c, text ? text : "", len, &root);
	if (!err)
		err = build(&c, root);
	if (!err)
		err = finish(&c);
	node_free(root);
	if (err) {
		fd_scenario_free(c.sc);
		return err;
	}
	*out = c.sc;
	return 0;
}

static int read_fail(struct fd_diag *diag, int errnum)
{
	return fd_diag_set(diag, errnum == ENOENT ? FD_ERR_NOTFOUND :
			   FD_ERR_IO, 0, 0, "cannot read file: %s",
			   strerror(errnum));
}

/* Read a whole file of at most MAX_FILE bytes. */
static int read_file(const char *path, char **text, size_t *len,
		     struct fd_diag *diag)
{
	/* O_NONBLOCK: a FIFO named *.yaml must not hang the load. */
	FILE *f = fd_fopen_regular(path);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!f && errno == EINVAL)
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "not a regular file");
	if (!f)
		return read_fail(diag, errno);
	do {
		if (n == cap) {
			char *bigger;

			cap = cap ? 2 * cap : 4096;
			if (cap > (size_t)MAX_FILE + 1)
				cap = (size_t)MAX_FILE + 1;
			bigger = realloc(buf, cap);
			if (!bigger) {
				err = fd_diag_set(diag, FD_ERR_NOMEM, 0, 0,
						  "out of memory");
				break;
			}
			buf = bigger;
		}
		n += fread(buf + n, 1, cap - n, f);
	} while (n == cap && n <= (size_t)MAX_FILE);

	if (!err && ferror(f))
		err = read_fail(diag, errno ? errno : EIO);
	else if (!err && n > (size_t)MAX_FILE)
		err = fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				  "file larger than %ld bytes", MAX_FILE);
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*text = buf;
	*len = n;
	return 0;
}

int fd_scenario_load(const char *path, struct fd_scenario **out,
		     struct fd_diag *diag)
{
	struct fd_diag scratch;
	char *text = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	if (!diag)
		diag = &scratch;
	fd_diag_clear(diag);
	snprintf(diag->file, sizeof(diag->file), "%s", path);
	err = read_file(path, &text, &len, diag);
	if (err)
		return err;
	err = fd_scenario_parse(path, text, len, out, diag);
	free(text);
	return err;
}

static void step_release(struct fd_step *st)
{
	free(st->run);
	fd_strv_release(&st->args);
	fd_strv_release(&st->parents);
	free(st->user);
	free(st->cwd);
	free(st->path);
	fd_strv_release(&st->env);
}

static void expect_release(struct fd_expect *ex)
{
	free(ex->rule_id);
	free(ex->severity);
	fd_strv_release(&ex->tactics);
	fd_strv_release(&ex->techniques);
	fd_strv_release(&ex->subtechniques);
}

void fd_scenario_free(struct fd_scenario *sc)
{
	if (!sc)
		return;
	free(sc->path);
	free(sc->id);
	free(sc->title);
	free(sc->technique);
	fd_strv_release(&sc->rules);
	free(sc->host.os_type);
	free(sc->host.os_name);
	free(sc->host.os_version);
	free(sc->host.os_family);
	free(sc->host.os_platform);
	free(sc->host.name);
	free(sc->host.arch);
	for (size_t i = 0; i < sc->nsteps; i++)
		step_release(&sc->steps[i]);
	free(sc->steps);
	fd_strv_release(&sc->exceptions);
	for (size_t i = 0; i < sc->nexpects; i++)
		expect_release(&sc->expects[i]);
	free(sc->expects);
	free(sc->source);
	fd_scenario_free(sc->control);	/* a control has none: depth 1 */
	free(sc->control_of);
	free(sc);
}

struct fd_scenario *fd_scenario_take_control(struct fd_scenario *sc)
{
	struct fd_scenario *ctl = sc ? sc->control : NULL;

	if (sc)
		sc->control = NULL;
	return ctl;
}
