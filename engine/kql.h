/*
 * kql.h - Kibana Query Language: lexer, parser, tree and evaluator.
 *
 * Semantics are Kibana's on keyword fields (see docs/kql.md): values are
 * exact and case-sensitive, multi-valued fields match when any value does,
 * `not` is plain negation, `field:*` tests existence, `field:{...}` is a
 * nested query over one element.  Use it through query.h.
 */
#ifndef FD_KQL_H
#define FD_KQL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"

struct fd_kql;

/*
 * Compile text.  Returns 0 and *out, or a negative fd_err with diag (may be
 * NULL) set: FD_ERR_SYNTAX with line 1 and the 1-based column, in
 * characters, of the offending token; FD_ERR_UNSUPPORTED for a nesting
 * deeper than the engine allows or a nested query on a field pattern.
 * An empty query matches every document, as in Kibana.
 */
int fd_kql_compile(const char *text, struct fd_kql **out,
		   struct fd_diag *diag);

/* True when doc (borrowed; NULL reads as an empty document) matches.
 * Allocates nothing. */
bool fd_kql_match(const struct fd_kql *q, const cJSON *doc);

/*
 * The distinct field paths the query names, in order of appearance,
 * NULL-terminated, *n of them; valid until fd_kql_free().  Inner fields of
 * a nested query are given as full paths (after the nested path itself),
 * field patterns as written ("process.*"), and free text as "*" (it reads
 * every field).
 */
const char *const *fd_kql_fields(const struct fd_kql *q, size_t *n);

void fd_kql_free(struct fd_kql *q);

#endif
