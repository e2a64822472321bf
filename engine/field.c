/*
 * field.c - read the fields of an ECS document, nested or dotted.
 *
 * A path is never split: at each object, every key that equals the next
 * one or more dotted segments of the path is followed with the rest, so
 * {"a":{"b":..}}, {"a.b":..} and {"a":{"b.c":..}} all resolve "a.b(.c)"
 * in one pass over the object's keys.  Arrays are walked through wherever
 * they appear.  Nothing is allocated: a walk is a recursion over the
 * document, bounded by cJSON's nesting limit.
 */
#include "field.h"

#include <stdbool.h>
#include <string.h>

/* cJSON's type tests, inlined: they run for every node a walk passes. */
static inline bool is_array(const cJSON *n)
{
	return (n->type & 0xFF) == cJSON_Array;
}

static inline bool is_object(const cJSON *n)
{
	return (n->type & 0xFF) == cJSON_Object;
}

/*
 * If key is the first segments of path (up to a '.' or the end), return
 * the rest of the path after that '.' ("" at the end); else NULL.
 */
static const char *after_key(const char *key, const char *path)
{
	while (*key && *key == *path) {
		key++;
		path++;
	}
	if (*key)
		return NULL;
	if (*path == '.')
		return path + 1;
	return *path ? NULL : path;
}

static int walk_path(const cJSON *node, const char *rest,
		     fd_field_visit_fn fn, void *arg)
{
	const cJSON *kid;
	int rc;

	if (is_array(node)) {
		for (kid = node->child; kid; kid = kid->next) {
			rc = walk_path(kid, rest, fn, arg);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (*rest == '\0')
		return fn(node, arg);
	if (!is_object(node))
		return 0;
	for (kid = node->child; kid; kid = kid->next) {
		const char *r;

		if (!kid->string || !(r = after_key(kid->string, rest)))
			continue;
		rc = walk_path(kid, r, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int fd_field_visit(const cJSON *doc, const char *path, fd_field_visit_fn fn,
		   void *arg)
{
	if (!doc || !path || !*path)
		return 0;
	return walk_path(doc, path, fn, arg);
}

struct leaf_walk {
	fd_field_leaf_fn fn;
	void *arg;
	char path[FD_FIELD_PATH_MAX];
	size_t len;
	bool too_long;		/* path holds only a prefix */
};

static int walk_leaves(const cJSON *node, struct leaf_walk *w)
{
	const cJSON *kid;
	int rc;

	if (is_array(node)) {
		for (kid = node->child; kid; kid = kid->next) {
			rc = walk_leaves(kid, w);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!is_object(node))
		return w->fn(w->too_long ? NULL : w->path, node, w->arg);
	for (kid = node->child; kid; kid = kid->next) {
		size_t save = w->len, klen;
		bool save_long = w->too_long;
		const char *key = kid->string ? kid->string : "";

		klen = strlen(key);
		if (!w->too_long &&
		    w->len + (w->len > 0) + klen < sizeof(w->path)) {
			if (w->len > 0)
				w->path[w->len++] = '.';
			memcpy(w->path + w->len, key, klen + 1);
			w->len += klen;
		} else {
			w->too_long = true;
		}
		rc = walk_leaves(kid, w);
		w->len = save;
		w->path[save] = '\0';
		w->too_long = save_long;
		if (rc)
			return rc;
	}
	return 0;
}

int fd_field_walk(const cJSON *doc, fd_field_leaf_fn fn, void *arg)
{
	struct leaf_walk w;

	if (!doc)
		return 0;
	w.fn = fn;
	w.arg = arg;
	w.path[0] = '\0';
	w.len = 0;
	w.too_long = false;
	return walk_leaves(doc, &w);
}

static int first_string(const cJSON *v, void *arg)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return 0;
	*(const char **)arg = v->valuestring;
	return 1;
}

const char *fd_field_string(const cJSON *doc, const char *path)
{
	const char *s = NULL;

	fd_field_visit(doc, path, first_string, &s);
	return s;
}

static int first_number(const cJSON *v, void *arg)
{
	if (!cJSON_IsNumber(v))
		return 0;
	*(double *)arg = v->valuedouble;
	return 1;
}

int fd_field_number(const cJSON *doc, const char *path, double *out)
{
	double d;

	if (!fd_field_visit(doc, path, first_number, &d))
		return -1;
	*out = d;
	return 0;
}
