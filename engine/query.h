/*
 * query.h - compiled detection queries (KQL today; EQL next) behind one
 * interface.
 *
 * fd_query_compile() lexes, parses and checks a query into a tree owned by
 * the returned struct fd_query; fd_query_match() evaluates it against one
 * borrowed cJSON document; fd_query_free() releases the tree.  A syntax
 * error fills diag with line 1-based and col the 1-based column (in
 * characters of the query text) where the problem is.  The engine never
 * prints.
 */
#ifndef FD_QUERY_H
#define FD_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"

enum fd_lang {
	FD_LANG_KQL,		/* Kibana's "kuery" */
	FD_LANG_EQL,
	FD_LANG_LAST
};

struct fd_query;

/* "kql"/"kuery" -> FD_LANG_KQL, "eql" -> FD_LANG_EQL; -1 if unknown. */
int fd_lang_from_name(const char *name);
const char *fd_lang_name(enum fd_lang lang);

/*
 * Compile text in language lang.  Returns 0 and *out, or a negative fd_err
 * (FD_ERR_SYNTAX for a bad query, FD_ERR_UNSUPPORTED for a valid construct
 * the engine cannot evaluate yet) with diag->line/col/msg set.
 */
int fd_query_compile(enum fd_lang lang, const char *text,
		     struct fd_query **out, struct fd_diag *diag);

struct fd_eql;

/*
 * True for an EQL sequence or sample: it matches groups of events, so
 * fd_query_match() is false for it; run it through the stream API of
 * eql.h on fd_query_eql(q).
 */
bool fd_query_is_sequence(const struct fd_query *q);

/* The compiled EQL of an EQL query; NULL for other languages. */
const struct fd_eql *fd_query_eql(const struct fd_query *q);

/* True when doc satisfies a single-event query. */
bool fd_query_match(const struct fd_query *q, const cJSON *doc);

/*
 * The distinct field paths the query reads, for callers that want to
 * extract only those; valid until fd_query_free().
 */
const char *const *fd_query_fields(const struct fd_query *q, size_t *n);

void fd_query_free(struct fd_query *q);

#endif
