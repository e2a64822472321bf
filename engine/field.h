/*
 * field.h - read a field of an ECS document, as Elasticsearch would.
 *
 * A field name is a dotted path ("process.parent.name").  Documents may
 * hold it nested ({"process":{"name":..}}), as a literal dotted key
 * ({"process.name":..}), or any mix of the two (Kibana's 8.x alerts keep
 * "kibana.alert.*" flat beside nested ECS objects); all are the same field.
 * Arrays are walked through at every level.  Names are case-sensitive.
 * The document is borrowed, never copied or freed.
 */
#ifndef FD_FIELD_H
#define FD_FIELD_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Called once per leaf value (never an array; may be an object for nested
 * queries, or cJSON_NULL).  Return nonzero to stop the walk early. */
typedef int (*fd_field_visit_fn)(const cJSON *value, void *arg);

/*
 * Visit every value of the field `path` in doc.  Returns the visitor's
 * nonzero result if it stopped the walk, else 0.
 */
int fd_field_visit(const cJSON *doc, const char *path, fd_field_visit_fn fn,
		   void *arg);

/*
 * Called once per leaf (string, number, boolean or null) of a document,
 * with its full dotted path (NULL if longer than FD_FIELD_PATH_MAX - 1
 * bytes).  Return nonzero to stop the walk early.
 */
typedef int (*fd_field_leaf_fn)(const char *path, const cJSON *value,
				void *arg);

#define FD_FIELD_PATH_MAX 1024

/*
 * Visit every leaf under doc (an object, an array or a scalar).  Keys are
 * joined with '.', so {"a":{"b":1}} and {"a.b":1} both give "a.b";
 * arrays add nothing to the path.  Returns the visitor's nonzero result
 * if it stopped the walk, else 0.  Allocates nothing.
 */
int fd_field_walk(const cJSON *doc, fd_field_leaf_fn fn, void *arg);

/* The first string value of a field, or NULL. */
const char *fd_field_string(const cJSON *doc, const char *path);

/* The first numeric value of a field in *out; returns 0, or -1 if none. */
int fd_field_number(const cJSON *doc, const char *path, double *out);

#endif
