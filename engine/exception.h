/*
 * exception.h - Kibana exception lists: load them, and tell whether one of
 * their items silences an event.
 *
 * A set holds exception lists (containers: list_id, type, os_types...) and
 * their items (entries that are ANDed), in Kibana's API shapes, loaded from
 * files (one object, an array, {"lists":[..],"items":[..]}, a _find answer
 * {"data":[..]}, or the NDJSON of POST /api/exception_lists/_export) or
 * from JSON already parsed (what the live backend fetched).  A load adds
 * everything or nothing: a bad file is refused whole with file:line:col.
 * An item must belong to a list of the set: a load that brings an item
 * whose list_id names no list is refused, as Kibana refuses to create one.
 *
 * Matching follows Kibana: entries of an item are ANDed, items of a list
 * and the lists given are ORed; "excluded" negates an entry; an item's
 * os_types and expire_time limit where and until when it applies (a
 * list's os_types are kept but, as in Kibana, not applied).  See
 * docs/exceptions.md.  The engine never prints.
 */
#ifndef FD_EXCEPTION_H
#define FD_EXCEPTION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"

struct fd_exc_set;
struct fd_exc_item;

/* An empty set, or NULL when out of memory. */
struct fd_exc_set *fd_exc_new(void);

/*
 * A new set (*set) from a file, or from a folder (every *.json and
 * *.ndjson in it, sorted by name).  Value lists for "list" entries are
 * read from <folder>/value-lists/<id>.txt, the folder being path itself or
 * the file's folder.  Returns 0, or a negative fd_err with diag set
 * (*set is then NULL).
 */
int fd_exc_load(struct fd_exc_set **set, const char *path,
		struct fd_diag *diag);

/* The same, adding to an existing set; on error the set is unchanged. */
int fd_exc_add_path(struct fd_exc_set *set, const char *path,
		    struct fd_diag *diag);

/*
 * Add lists and items from parsed JSON (borrowed): a list object, an item
 * object, an array of them, or any shape a file may have.  origin names
 * the source in messages (e.g. "kibana").  Lists come first, whatever the
 * order in doc, so an array of items before their list is fine.  Value
 * lists must already be in the set (fd_exc_add_value_list()).  On error
 * the set is unchanged.
 */
int fd_exc_add_json(struct fd_exc_set *set, const cJSON *doc,
		    const char *origin, struct fd_diag *diag);

/*
 * Add a value list (what Kibana keeps under /api/lists) from memory: its
 * id and n values (copied).  An id already in the set is replaced only
 * for items loaded afterwards.  Returns 0 or -FD_ERR_NOMEM.
 */
int fd_exc_add_value_list(struct fd_exc_set *set, const char *id,
			  const char *const *values, size_t n);

void fd_exc_free(struct fd_exc_set *set);

/* Whether a list with this list_id is in the set (set may be NULL). */
bool fd_exc_has_list(const struct fd_exc_set *set, const char *list_id);

/*
 * The first item, in the n lists named (in that order; ids of lists not
 * in the set are passed over), that silences event at time now (epoch
 * seconds, for expire_time); NULL if none.  set may be NULL.
 */
const struct fd_exc_item *fd_exc_match(const struct fd_exc_set *set,
				       const char *const *list_ids, size_t n,
				       const cJSON *event, double now);

/* Whether this one item silences event at time now. */
bool fd_exc_item_matches(const struct fd_exc_item *it, const cJSON *event,
			 double now);

/*
 * Walk the items of the n lists in load order: start with prev NULL, then
 * pass the item returned; NULL at the end.  (For reviewing what the
 * exceptions of a rule hide.)
 */
const struct fd_exc_item *fd_exc_next(const struct fd_exc_set *set,
				      const char *const *list_ids, size_t n,
				      const struct fd_exc_item *prev);

const char *fd_exc_item_id(const struct fd_exc_item *it);
const char *fd_exc_item_name(const struct fd_exc_item *it);
const char *fd_exc_item_list(const struct fd_exc_item *it);	/* list_id */
/* Where it was loaded from: "file:line", or the origin given. */
const char *fd_exc_item_origin(const struct fd_exc_item *it);
/* Its expire_time in epoch seconds; false when it never expires. */
bool fd_exc_item_expires(const struct fd_exc_item *it, double *when);
/* The item object as loaded (entries, comments...); owned by the set. */
const cJSON *fd_exc_item_json(const struct fd_exc_item *it);

/*
 * The item's condition in words, like Kibana's exception viewer:
 * `process.name is "mdmclient" AND user.name is not one of ("a", "b")`.
 * Truncated to fit; returns buf.
 */
const char *fd_exc_item_describe(const struct fd_exc_item *it, char *buf,
				 size_t len);

/*
 * The distinct top-level field paths the items read (a nested entry's
 * object field; host.os.type and host.os.name when an item has
 * os_types), so a caller that builds only some fields of an event can
 * build these.
 * Valid until the set changes.
 */
const char *const *fd_exc_fields(const struct fd_exc_set *set, size_t *n);

#endif
