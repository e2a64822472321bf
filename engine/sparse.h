/*
 * sparse.h - parse a JSON text into only what a set of field paths reads.
 *
 * A struct fd_sparse holds dotted field paths (as fd_query_fields() gives
 * them) and buffers reused from one text to the next.  fd_sparse_parse()
 * returns a cJSON document that keeps only the object members on the way
 * to those paths and the whole values at their ends, so fd_field_visit()
 * gives, for every path of the set, exactly what it gives on cJSON's
 * document of the same text: the same values in the same order.  A path
 * with '*' (a KQL field pattern, or "*" for free text) may read any field:
 * then every value is kept, and the result is cJSON's whole document.
 */
#ifndef FD_SPARSE_H
#define FD_SPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct fd_sparse;

/* A new, empty path set (nothing is kept but the structure's root). */
int fd_sparse_new(struct fd_sparse **out);

/*
 * Add the path prefix.path (prefix may be NULL: path alone).  Adding a path
 * twice is harmless; an empty path reads nothing and is ignored.
 */
int fd_sparse_add(struct fd_sparse *sp, const char *prefix, const char *path);

/* Add n paths (a list as fd_query_fields() returns it). */
int fd_sparse_add_list(struct fd_sparse *sp, const char *const *paths,
		       size_t n);

/*
 * Find the text's structure with vectors of at most bytes bytes (64, 32,
 * 16, or 0 for plain C) where the CPU has them; returns the width used.
 * New parsers use the widest; every width gives the same result (tests
 * and measurements use this).
 */
int fd_sparse_set_vectors(struct fd_sparse *sp, int bytes);

/* True when a pattern among the paths makes every value kept. */
bool fd_sparse_keeps_all(const struct fd_sparse *sp);

/*
 * Parse text[0..len).  What is checked:
 *  - the whole text: one value with nothing but whitespace (bytes up to
 *    0x20, as cJSON skips them) after it, unlike cJSON_ParseWithLength(),
 *    which ignores what follows; strings that end, escapes that cJSON
 *    takes, brackets that pair up and nest at most CJSON_NESTING_LIMIT
 *    deep, no backslash outside a string;
 *  - every object on the way to a path and every value kept: exactly
 *    cJSON's grammar;
 *  - inside a value no path reaches, only that structure: a missing
 *    comma or a misspelt literal there goes unseen (that is the speed:
 *    such a value is skipped by its brackets, not read token by token).
 * So every text cJSON takes is taken, with the same values; a text cJSON
 * refuses is refused unless its fault lies only inside skipped values.
 * Returns 0 and *doc, read-only and valid until the next parse or
 * fd_sparse_free() (never cJSON_Delete() it); -FD_ERR_SYNTAX with
 * *err_off (may be NULL) the offset where the text went wrong; or
 * -FD_ERR_NOMEM.  Memory is reused: a stream of texts needs what its
 * largest text needs, nothing more.
 */
int fd_sparse_parse(struct fd_sparse *sp, const char *text, size_t len,
		    const cJSON **doc, size_t *err_off);

/* Bytes the set and its buffers hold now (to show memory is constant). */
size_t fd_sparse_footprint(const struct fd_sparse *sp);

void fd_sparse_free(struct fd_sparse *sp);

#endif
