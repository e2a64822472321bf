/*
 * exception.c - load Kibana exception lists and items, and match events
 * against them as Kibana's detection engine does.
 *
 * Loading.  Every file of a load is read whole and cut into JSON values
 * with cJSON's parse-end pointer (one object, an array, NDJSON alike), and
 * all values are kept until the load ends.  Two passes then run over them:
 * the first takes the list containers (so a folder may hold items before
 * their list), the second the items, which are checked against their
 * list.  Nothing reaches the set until every value passed: a failed load
 * is rolled back.  cJSON keeps no positions, so the reader keeps the path
 * (keys and indexes) to what it is checking, and an error finds that path
 * again in the text to report file:line:col.  A load costs time in
 * proportion to its size: the walk notes where each list and item starts
 * as it goes, lines are counted on from the last place asked for, and
 * lists and items are found by id through hash indexes.
 *
 * Matching follows the filter Kibana's lists plugin builds (a bool
 * should of the items, negated): an item applies while it has not
 * expired and, when it has os_types, to events of those systems; then
 * every entry must hold.  Field values are read with fd_field_visit(),
 * which sees nested objects, dotted keys and arrays as Elasticsearch
 * does.
 */
#include "exception.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "field.h"
#include "files.h"
#include "runrec.h"

#define MAX_EXC_FILE (64L << 20)	/* far beyond any real export */
/* The deepest path an error can point to: as deep as cJSON parses. */
#define MAX_DEPTH (CJSON_NESTING_LIMIT + 8)

enum kind { K_MATCH, K_MATCH_ANY, K_EXISTS, K_WILDCARD, K_LIST, K_NESTED };

/* Kibana's os_types; bit k of an OS mask stands for os_names[k]. */
static const char *const os_names[] = { "linux", "macos", "windows" };

static const char *const kind_names[] = {
	"match", "match_any", "exists", "wildcard", "list", "nested"
};

/*
 * Names to what holds them (lists by list_id, a list's items by item_id):
 * open addressing, linear probing, at most half full.  Keys are borrowed
 * from what they name.
 */
struct slot {
	const char *key;	/* NULL: free */
	void *what;
	uint64_t hash;
};

struct name_index {
	struct slot *slots;
	size_t cap;		/* 0 or a power of two */
	size_t n;
};

/* A value list (Kibana's /api/lists): its values, sorted for bsearch. */
struct value_list {
	char *id;
	char **values;
	size_t n;
};

struct entry {
	enum kind kind;
	bool excluded;
	char *field;
	char **values;		/* match, wildcard: 1; match_any: n */
	size_t nvalues;
	const struct value_list *vlist;	/* list */
	struct entry *inner;	/* nested */
	size_t ninner;
};

struct exc_list {
	char *list_id;
	char *type;
	char *namespace_type;
	unsigned os;		/* checked; not applied, as in Kibana */
	bool endpoint;		/* type endpoint: no excluded, no lists */
	struct fd_exc_item **items;	/* load order */
	size_t nitems;
	struct name_index items_by_id;
	char *origin;
};

struct fd_exc_item {
	char *item_id;
	char *name;
	struct exc_list *list;
	struct entry *entries;
	size_t nentries;
	unsigned os;		/* bit k: os_names[k]; 0: any */
	bool expires;
	double expire_at;
	cJSON *json;
	char *origin;
	size_t index;		/* in the set's load order */
};

struct fd_exc_set {
	struct exc_list **lists;
	size_t nlists;
	struct name_index lists_by_id;
	struct fd_exc_item **items;	/* load order, all lists */
	size_t nitems;
	struct value_list **vlists;
	size_t nvlists;
	char **fields;
	size_t nfields;
};

/* ---- memory ---------------------------------------------------------- */

/*
 * v (n elements of size bytes) with room for n + 1; NULL when out of
 * memory.  The room doubles: an array grown only here, from NULL, has
 * room for the power of two above n, so only a count that is 0 or a
 * power of two needs a realloc, and n appends cost O(n).  (A count may
 * drop, as when a load is rolled back; the room is then still enough.)
 */
static void *grow(void *v, size_t n, size_t size)
{
	if (n & (n - 1))
		return v;
	if (n >= SIZE_MAX / size / 2)
		return NULL;
	return realloc(v, (n ? 2 * n : 1) * size);
}

/* ---- indexes --------------------------------------------------------- */

/* FNV-1a. */
static uint64_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The slot holding key, or the free slot where it would go (x->cap is
 * not 0). */
static struct slot *index_slot(const struct name_index *x, const char *key,
			       uint64_t hash)
{
	size_t mask = x->cap - 1;

	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct slot *s = &x->slots[i];

		if (!s->key || (s->hash == hash && !strcmp(s->key, key)))
			return s;
	}
}

static void *index_find(const struct name_index *x, const char *key)
{
	const struct slot *s;

	if (!x->cap)
		return NULL;
	s = index_slot(x, key, hash_name(key));
	return s->key ? s->what : NULL;
}

/* Room for one more key, so that index_put() cannot fail: a load adds
 * nothing it cannot also index.  -1 when out of memory. */
static int index_reserve(struct name_index *x)
{
	struct name_index bigger = { .n = x->n };

	if (2 * (x->n + 1) <= x->cap)
		return 0;
	bigger.cap = x->cap ? 2 * x->cap : 16;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -1;
	for (size_t i = 0; i < x->cap; i++)
		if (x->slots[i].key)
			*index_slot(&bigger, x->slots[i].key,
				    x->slots[i].hash) = x->slots[i];
	free(x->slots);
	*x = bigger;
	return 0;
}

/* Add key, which is not in x yet, after index_reserve(). */
static void index_put(struct name_index *x, const char *key, void *what)
{
	uint64_t hash = hash_name(key);

	*index_slot(x, key, hash) = (struct slot){ key, what, hash };
	x->n++;
}

/*
 * Take key out of x if it names what (a rolled-back load drops what it
 * added).  The keys after it that probed past its slot move back, so no
 * look-up ever stops early at the hole.
 */
static void index_remove(struct name_index *x, const char *key,
			 const void *what)
{
	struct slot *s;
	size_t mask, hole, j;

	if (!x->cap)
		return;
	s = index_slot(x, key, hash_name(key));
	if (!s->key || s->what != what)
		return;
	mask = x->cap - 1;
	hole = j = (size_t)(s - x->slots);
	x->n--;
	for (;;) {
		size_t home;

		x->slots[hole].key = NULL;
		do {	/* the next key that may fill the hole */
			j = (j + 1) & mask;
			if (!x->slots[j].key)
				return;
			home = (size_t)x->slots[j].hash & mask;
		} while (hole <= j ? hole < home && home <= j :
			 hole < home || home <= j);
		x->slots[hole] = x->slots[j];
		hole = j;
	}
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void entry_release(struct entry *e)
{
	free(e->field);
	free_strings(e->values, e->nvalues);
	for (size_t i = 0; i < e->ninner; i++)
		entry_release(&e->inner[i]);
	free(e->inner);
}

static void item_free(struct fd_exc_item *it)
{
	if (!it)
		return;
	free(it->item_id);
	free(it->name);
	for (size_t i = 0; i < it->nentries; i++)
		entry_release(&it->entries[i]);
	free(it->entries);
	cJSON_Delete(it->json);
	free(it->origin);
	free(it);
}

static void list_free(struct exc_list *l)
{
	if (!l)
		return;
	free(l->list_id);
	free(l->type);
	free(l->namespace_type);
	free(l->items);
	free(l->items_by_id.slots);
	free(l->origin);
	free(l);
}

static void vlist_free(struct value_list *v)
{
	if (!v)
		return;
	free(v->id);
	free_strings(v->values, v->n);
	free(v);
}

struct fd_exc_set *fd_exc_new(void)
{
	return calloc(1, sizeof(struct fd_exc_set));
}

/* Drop what was added after the counts given: a failed load adds
 * nothing.  Items go newest first, so each is the last of its list. */
static void set_truncate(struct fd_exc_set *s, size_t nlists, size_t nitems,
			 size_t nvlists)
{
	while (s->nitems > nitems) {
		struct fd_exc_item *it = s->items[--s->nitems];

		it->list->nitems--;
		index_remove(&it->list->items_by_id, it->item_id, it);
		item_free(it);
	}
	while (s->nlists > nlists) {
		struct exc_list *l = s->lists[--s->nlists];

		index_remove(&s->lists_by_id, l->list_id, l);
		list_free(l);
	}
	while (s->nvlists > nvlists)
		vlist_free(s->vlists[--s->nvlists]);
}

void fd_exc_free(struct fd_exc_set *s)
{
	if (!s)
		return;
	set_truncate(s, 0, 0, 0);
	free(s->items);
	free(s->lists);
	free(s->lists_by_id.slots);
	free(s->vlists);
	free_strings(s->fields, s->nfields);
	free(s);
}

static struct exc_list *find_list(const struct fd_exc_set *s,
				  const char *list_id)
{
	return s ? index_find(&s->lists_by_id, list_id) : NULL;
}

bool fd_exc_has_list(const struct fd_exc_set *s, const char *list_id)
{
	return list_id && find_list(s, list_id) != NULL;
}

/* ---- files ----------------------------------------------------------- */

/* Read a regular file whole (NUL-terminated); -1 with errno set. */
static int slurp(const char *path, char **text, size_t *len)
{
	FILE *f = fd_fopen_regular(path);
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return -1;
	do {
		if (n + 1 >= cap) {
			char *bigger;

			cap = cap ? cap * 2 : 8192;
			bigger = cap > (size_t)MAX_EXC_FILE ? NULL :
				 realloc(buf, cap);
			if (!bigger) {
				free(buf);
				fclose(f);
				errno = cap > (size_t)MAX_EXC_FILE ? EFBIG :
					ENOMEM;
				return -1;
			}
			buf = bigger;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* ---- positions: find a path again in the JSON text ------------------- */

/* One step of a path: a key, or (key NULL) an array index; and, when
 * known, where the value it leads to starts in the text. */
struct seg {
	const char *key;
	int index;
	bool known;
	size_t at;
};

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)t[i]))
		i++;
	return i;
}

/* t[i] is '"': the offset just past the closing quote. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len && t[i] != '"'; i++)
		if (t[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* The offset just past the value at t[i] (text cJSON already took). */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	int depth = 0;

	if (i >= len)
		return len;
	if (t[i] == '"')
		return skip_string(t, len, i);
	if (t[i] != '{' && t[i] != '[') {
		while (i < len && !strchr(",}] \t\r\n", t[i]))
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (t[i] == '"')
			i = skip_string(t, len, i) - 1;
		else if (t[i] == '{' || t[i] == '[')
			depth++;
		else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
			return i + 1;
	}
	return len;
}

/* In the object at t[i], the offset of key's value, or i if absent. */
static size_t find_key(const char *t, size_t len, size_t i, const char *key)
{
	size_t obj = i, klen = strlen(key);

	for (i++;;) {
		size_t k;

		i = skip_ws(t, len, i);
		if (i >= len || t[i] != '"')
			return obj;
		k = i;
		i = skip_string(t, len, i);
		i = skip_ws(t, len, i) + 1;	/* the ':' */
		i = skip_ws(t, len, i);
		if (i - k >= klen + 2 && !memcmp(t + k + 1, key, klen) &&
		    t[k + 1 + klen] == '"')
			return i;
		i = skip_ws(t, len, skip_value(t, len, i));
		if (i >= len || t[i] != ',')
			return obj;
		i++;
	}
}

/* In the array at t[i], the offset of element index, or i if absent. */
static size_t find_index(const char *t, size_t len, size_t i, int index)
{
	size_t arr = i;

	i = skip_ws(t, len, i + 1);
	for (int k = 0; k < index; k++) {
		i = skip_ws(t, len, skip_value(t, len, i));
		if (i >= len || t[i] != ',')
			return arr;
		i = skip_ws(t, len, i + 1);
	}
	return i < len && t[i] != ']' ? i : arr;
}

/* Where the value at path starts, in the value that starts at t[i]; as
 * deep as the path can be followed. */
static size_t locate(const char *t, size_t len, size_t i,
		     const struct seg *path, int n)
{
	for (int k = 0; k < n; k++) {
		size_t next;

		i = skip_ws(t, len, i);
		if (i >= len)
			return len;
		if (path[k].key && t[i] == '{')
			next = find_key(t, len, i, path[k].key);
		else if (!path[k].key && t[i] == '[')
			next = find_index(t, len, i, path[k].index);
		else
			next = i;
		if (next == i)
			return i;
		i = next;
	}
	return skip_ws(t, len, i);
}

/* Lines and columns are counted from the start of the text. */
static void line_col(const char *t, size_t off, int *line, int *col)
{
	size_t start = 0;

	*line = 1;
	for (size_t i = 0; i < off; i++)
		if (t[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	*col = (int)(off - start) + 1;
}

/* ---- the loader ------------------------------------------------------ */

/* What a load reads: a file's text, or (text NULL) JSON from a caller. */
struct source {
	char *name;
	char *text;
	size_t len;
};

/* Where line counting got to in a source (see line_col_at()). */
struct line_mark {
	const struct source *src;
	size_t off;		/* counted up to here */
	size_t line_start;	/* where its line starts */
	int line;
};

/* One top-level JSON value of a source. */
struct staged {
	const cJSON *json;
	cJSON *owned;
	size_t start;
	const struct source *src;
};

enum pass { PASS_LISTS, PASS_ITEMS };

struct loader {
	struct fd_exc_set *set;
	struct fd_diag *diag;
	const char *value_dir;	/* NULL: value lists from memory only */
	const struct source *src;
	size_t start;		/* where the current value starts */
	struct seg path[MAX_DEPTH];
	int depth;
	int base;		/* depth of the list or item being read */
	char label[320];	/* "item 'x'": who an error is about */
	struct line_mark mark;
};

static void enter_key(struct loader *ld, const char *key)
{
	if (ld->depth < MAX_DEPTH)
		ld->path[ld->depth] = (struct seg){ .key = key };
	ld->depth++;
}

static void enter_index(struct loader *ld, int index)
{
	if (ld->depth < MAX_DEPTH)
		ld->path[ld->depth] = (struct seg){ .index = index };
	ld->depth++;
}

static void leave(struct loader *ld)
{
	ld->depth--;
}

/* The path below the list or item being read: "entries[1].value". */
static void path_text(const struct loader *ld, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int k = ld->base; k < ld->depth && k < MAX_DEPTH; k++) {
		const struct seg *s = &ld->path[k];
		int n;

		if (s->key)
			n = snprintf(buf + used, len - used, "%s%s",
				     used ? "." : "", s->key);
		else
			n = snprintf(buf + used, len - used, "[%d]",
				     s->index);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* Whether where the value at the path's first depth steps starts is
 * known for certain (*at): the current value's start, or a step whose
 * place the walk recorded. */
static bool known_at(const struct loader *ld, int depth, size_t *at)
{
	if (!ld->src->text || depth > MAX_DEPTH)
		return false;
	if (depth > 0 && !ld->path[depth - 1].known)
		return false;
	*at = depth > 0 ? ld->path[depth - 1].at : ld->start;
	return true;
}

/* Record that the value of the last step starts at at. */
static void mark_at(struct loader *ld, size_t at)
{
	if (ld->depth > 0 && ld->depth <= MAX_DEPTH) {
		ld->path[ld->depth - 1].known = true;
		ld->path[ld->depth - 1].at = at;
	}
}

/* Where the value at the path's first depth steps starts in the text
 * (as deep as the path can be followed): sought from the deepest step
 * whose place is known, so that the lists and items of a big file are
 * not each sought from its start. */
static size_t offset_of(const struct loader *ld, int depth)
{
	int n = depth < MAX_DEPTH ? depth : MAX_DEPTH, k = n;
	size_t from = ld->start;

	while (k > 0 && !ld->path[k - 1].known)
		k--;
	if (k > 0)
		from = ld->path[k - 1].at;
	return locate(ld->src->text, ld->src->len, from, ld->path + k,
		      n - k);
}

/*
 * The line and column of offset off in the current source.  The offsets
 * asked for mostly grow (a pass reads a source in order), so counting
 * goes on from the last one, and starts again from the top only when a
 * new pass or source goes back: a load counts its lines a few times, not
 * once for every list and item.
 */
static void line_col_at(struct loader *ld, size_t off, int *line, int *col)
{
	struct line_mark *m = &ld->mark;
	const char *t = ld->src->text, *nl;

	if (m->src != ld->src || off < m->off)
		*m = (struct line_mark){ .src = ld->src, .line = 1 };
	while ((nl = memchr(t + m->off, '\n', off - m->off))) {
		m->line++;
		m->off = m->line_start = (size_t)(nl - t) + 1;
	}
	m->off = off;
	*line = m->line;
	*col = (int)(off - m->line_start) + 1;
}

/* The line and column of the current path; 0, 0 without text. */
static void here(struct loader *ld, int depth, int *line, int *col)
{
	*line = *col = 0;
	if (ld->src->text)
		line_col_at(ld, offset_of(ld, depth), line, col);
}

static int fail(struct loader *ld, enum fd_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuse the load: "file:line:col: item 'x': entries[1].value: msg". */
static int fail(struct loader *ld, enum fd_err err, const char *fmt, ...)
{
	char msg[400], where[160];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path_text(ld, where, sizeof(where));
	here(ld, ld->depth, &line, &col);
	if (ld->diag)
		snprintf(ld->diag->file, sizeof(ld->diag->file), "%s",
			 ld->src->name);
	return fd_diag_set(ld->diag, err, line, col, "%s%s%s%s%s", ld->label,
			   ld->label[0] ? ": " : "", where,
			   where[0] ? ": " : "", msg);
}

static int nomem(struct loader *ld)
{
	return fail(ld, FD_ERR_NOMEM, "out of memory");
}

/* "file:line" of the list or item being read. */
static char *origin_here(struct loader *ld)
{
	char buf[4200];
	int line, col;

	here(ld, ld->base, &line, &col);
	if (line)
		snprintf(buf, sizeof(buf), "%s:%d", ld->src->name, line);
	else
		snprintf(buf, sizeof(buf), "%s", ld->src->name);
	return strdup(buf);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool absent(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

/* obj.key as a non-empty string in *out (borrowed); NULL when absent and
 * not required. */
static int get_string(struct loader *ld, const cJSON *obj, const char *key,
		      bool required, const char **out)
{
	const cJSON *v = get(obj, key);
	int rc = 0;

	*out = NULL;
	if (absent(v))
		return required ? fail(ld, FD_ERR_INVALID, "missing %s", key)
				: 0;
	enter_key(ld, key);
	if (!cJSON_IsString(v) || !*v->valuestring)
		rc = fail(ld, FD_ERR_INVALID, "must be a non-empty string");
	else
		*out = v->valuestring;
	leave(ld);
	return rc;
}

/* The first control character (C0, DEL or C1) of s, n bytes of UTF-8,
 * as a code point; -1 if none. */
static long control_char(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : 0;

		if (c < 0x20 || c == 0x7f)
			return c;
		if (c == 0xc2 && next >= 0x80 && next <= 0x9f)
			return 0x80 + (next & 0x3f);
	}
	return -1;
}

/* Whether the JSON string at t[i] (its opening quote) holds a NUL, as a
 * \u0000 escape or a raw byte: cJSON's copy of it stops there. */
static bool string_has_nul(const char *t, size_t len, size_t i)
{
	if (i >= len || t[i] != '"')
		return false;
	for (i++; i < len && t[i] != '"'; i++) {
		if (!t[i])
			return true;
		if (t[i] != '\\')
			continue;
		if (i + 5 < len && t[i + 1] == 'u' &&
		    !memcmp(t + i + 2, "0000", 4))
			return true;
		i++;
	}
	return false;
}

/*
 * obj.key, a required id (item_id, list_id, a value list's id), as
 * get_string() reads it, and plain text.  An id holding a NUL would be
 * cut there (two ids could then be one), and control characters have no
 * place in one.  Only a file's text shows a NUL: JSON parsed elsewhere
 * has already lost what followed it.
 */
static int get_id(struct loader *ld, const cJSON *obj, const char *key,
		  const char **out)
{
	const cJSON *v = get(obj, key);
	long bad;
	int rc = 0;

	*out = NULL;
	if (!cJSON_IsString(v))
		return get_string(ld, obj, key, true, out);
	enter_key(ld, key);
	bad = ld->src->text && string_has_nul(ld->src->text, ld->src->len,
					      offset_of(ld, ld->depth)) ? 0 :
	      control_char(v->valuestring, strlen(v->valuestring));
	if (bad >= 0)
		rc = fail(ld, FD_ERR_INVALID, "holds a control character "
			  "(U+%04lX); an id must be plain text", bad);
	leave(ld);
	return rc < 0 ? rc : get_string(ld, obj, key, true, out);
}

static int dup_into(struct loader *ld, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : nomem(ld);
}

/* os_types: an array of linux, macos, windows, as OS_* bits. */
static int get_os(struct loader *ld, const cJSON *obj, unsigned *os)
{
	const cJSON *v = get(obj, "os_types"), *one;
	int i = 0, rc = 0;

	*os = 0;
	if (absent(v))
		return 0;
	enter_key(ld, "os_types");
	if (!cJSON_IsArray(v))
		rc = fail(ld, FD_ERR_INVALID, "must be an array of linux, "
			  "macos, windows");
	cJSON_ArrayForEach(one, v) {
		unsigned bit = 0;

		for (unsigned k = 0; k < 3 && cJSON_IsString(one); k++)
			if (!strcmp(one->valuestring, os_names[k]))
				bit = 1u << k;
		if (rc == 0 && !bit) {
			enter_index(ld, i);
			rc = fail(ld, FD_ERR_INVALID, "unknown OS; Kibana "
				  "knows linux, macos and windows");
			leave(ld);
		}
		*os |= bit;
		i++;
	}
	leave(ld);
	return rc;
}

/* ---- value lists ----------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int vlist_push(struct value_list *v, const char *s, size_t n)
{
	char **bigger = grow(v->values, v->n, sizeof(*bigger));

	if (!bigger)
		return -FD_ERR_NOMEM;
	v->values = bigger;
	if (!(v->values[v->n] = strndup(s, n)))
		return -FD_ERR_NOMEM;
	v->n++;
	return 0;
}

static int set_add_vlist(struct fd_exc_set *s, struct value_list *v)
{
	struct value_list **bigger = grow(s->vlists, s->nvlists,
					  sizeof(*bigger));

	if (!bigger)
		return -FD_ERR_NOMEM;
	s->vlists = bigger;
	s->vlists[s->nvlists++] = v;
	qsort(v->values, v->n, sizeof(*v->values), cmp_str);
	return 0;
}

int fd_exc_add_value_list(struct fd_exc_set *s, const char *id,
			  const char *const *values, size_t n)
{
	struct value_list *v = calloc(1, sizeof(*v));
	int rc = v && (v->id = strdup(id)) ? 0 : -FD_ERR_NOMEM;

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = vlist_push(v, values[i], strlen(values[i]));
	if (rc == 0)
		rc = set_add_vlist(s, v);
	if (rc < 0)
		vlist_free(v);
	return rc;
}

/* Whether s (n bytes) is well-formed UTF-8: no stray or overlong
 * sequence, no surrogate, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp, least;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1, cp = c & 0x1f, least = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2, cp = c & 0x0f, least = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3, cp = c & 0x07, least = 0x10000;
		else
			return false;
		if (n - i <= more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < least || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

/* Why a line of a value-list file (n bytes, no newline) cannot be read,
 * in why; false if it can. */
static bool vlist_bad_line(const char *s, size_t n, char *why, size_t len)
{
	if (memchr(s, '\0', n))
		snprintf(why, len, "holds a NUL byte: not UTF-8 text "
			 "(UTF-16?)");
	else if (!utf8_valid((const unsigned char *)s, n))
		snprintf(why, len, "is not valid UTF-8");
	else
		return false;
	return true;
}

/*
 * One value a line (n bytes of text), trimmed; blank lines and #
 * comments skipped; a leading UTF-8 byte order mark dropped.  Text that
 * is not UTF-8 (a NUL, as UTF-16 has, would also cut the list short) and
 * a value with a control character are refused: -FD_ERR_INVALID, with
 * the line and why.
 */
static int vlist_parse(struct value_list *v, const char *text, size_t n,
		       int *line, char *why, size_t len)
{
	size_t pos = n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;

	for (*line = 1; pos < n; (*line)++) {
		const char *a = text + pos, *end = memchr(a, '\n', n - pos);
		const char *b;
		long bad;
		int rc;

		if (!end)
			end = text + n;
		pos = (size_t)(end - text) + 1;
		if (vlist_bad_line(a, (size_t)(end - a), why, len))
			return -FD_ERR_INVALID;
		b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b || *a == '#')
			continue;
		if ((bad = control_char(a, (size_t)(b - a))) >= 0) {
			snprintf(why, len, "a value holds a control "
				 "character (U+%04lX)", bad);
			return -FD_ERR_INVALID;
		}
		if ((rc = vlist_push(v, a, (size_t)(b - a))) < 0)
			return rc;
	}
	return 0;
}

/* The newest value list with this id in the set, or NULL. */
static const struct value_list *find_vlist(const struct fd_exc_set *s,
					   const char *id)
{
	for (size_t i = s->nvlists; i > 0; i--)
		if (!strcmp(s->vlists[i - 1]->id, id))
			return s->vlists[i - 1];
	return NULL;
}

/* Read <value_dir>/value-lists/<id>.txt into the set. */
static int vlist_read(struct loader *ld, const char *id,
		      const struct value_list **out)
{
	struct value_list *v;
	char path[4200], *text = NULL, why[80];
	size_t len;
	int rc, line;

	if (strchr(id, '/') || id[0] == '.')
		return fail(ld, FD_ERR_INVALID, "value list id '%s' cannot "
			    "name a file under value-lists/", id);
	snprintf(path, sizeof(path), "%s/value-lists/%s.txt", ld->value_dir,
		 id);
	if (slurp(path, &text, &len) < 0)
		return fail(ld, errno == ENOENT ? FD_ERR_NOTFOUND : FD_ERR_IO,
			    "value list '%s': cannot read %s: %s", id, path,
			    strerror(errno));
	v = calloc(1, sizeof(*v));
	rc = v && (v->id = strdup(id)) ?
	     vlist_parse(v, text, len, &line, why, sizeof(why)) :
	     -FD_ERR_NOMEM;
	free(text);
	if (rc == 0)
		rc = set_add_vlist(ld->set, v);
	if (rc < 0)
		vlist_free(v);
	if (rc == -FD_ERR_INVALID)
		return fail(ld, FD_ERR_INVALID, "value list '%s': %s:%d: %s",
			    id, path, line, why);
	if (rc < 0)
		return nomem(ld);
	*out = v;
	return 0;
}

static int resolve_vlist(struct loader *ld, const char *id,
			 const struct value_list **out)
{
	*out = find_vlist(ld->set, id);
	if (*out)
		return 0;
	if (!ld->value_dir)
		return fail(ld, FD_ERR_NOTFOUND, "value list '%s' is not "
			    "loaded", id);
	return vlist_read(ld, id, out);
}

/* ---- entries --------------------------------------------------------- */

static int kind_of(const char *type)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(*kind_names); i++)
		if (!strcmp(type, kind_names[i]))
			return (int)i;
	return -1;
}

/* The entry's value: one non-empty string (match, wildcard), a
 * non-empty array of them (match_any), or none (exists, list). */
static int entry_value(struct loader *ld, const cJSON *obj, struct entry *e)
{
	const cJSON *v = get(obj, "value"), *one;
	const char *name = kind_names[e->kind];
	int rc = 0, i = 0;

	if (e->kind == K_EXISTS || e->kind == K_LIST) {
		if (absent(v))
			return 0;
		enter_key(ld, "value");
		rc = fail(ld, FD_ERR_INVALID, "%s %s entry takes no value",
			  e->kind == K_EXISTS ? "an" : "a", name);
		leave(ld);
		return rc;
	}
	if (absent(v))
		return fail(ld, FD_ERR_INVALID, "missing value");
	enter_key(ld, "value");
	if (e->kind != K_MATCH_ANY) {
		if (!cJSON_IsString(v) || !*v->valuestring)
			rc = fail(ld, FD_ERR_INVALID, "a %s entry needs a "
				  "non-empty string", name);
		else if (!(e->values = calloc(1, sizeof(*e->values))) ||
			 !(e->values[e->nvalues++] = strdup(v->valuestring)))
			rc = nomem(ld);
		leave(ld);
		return rc;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		rc = fail(ld, FD_ERR_INVALID, "a match_any entry needs a "
			  "non-empty array of strings");
	else if (!(e->values = calloc((size_t)cJSON_GetArraySize(v),
				      sizeof(*e->values))))
		rc = nomem(ld);
	cJSON_ArrayForEach(one, v) {
		if (rc < 0)
			break;
		enter_index(ld, i++);
		if (!cJSON_IsString(one) || !*one->valuestring)
			rc = fail(ld, FD_ERR_INVALID, "a match_any entry "
				  "needs non-empty strings");
		else if (!(e->values[e->nvalues++] =
				   strdup(one->valuestring)))
			rc = nomem(ld);
		leave(ld);
	}
	leave(ld);
	return rc;
}

/* The value list a list entry names: {"id":..,"type":..}. */
static int entry_list(struct loader *ld, const cJSON *obj, struct entry *e)
{
	const cJSON *l = get(obj, "list");
	const char *id, *type;
	int rc;

	if (absent(l))
		return fail(ld, FD_ERR_INVALID, "a list entry needs "
			    "\"list\": {\"id\": .., \"type\": ..}");
	enter_key(ld, "list");
	if (!cJSON_IsObject(l))
		rc = fail(ld, FD_ERR_INVALID, "must be an object with id "
			  "and type");
	else if ((rc = get_id(ld, l, "id", &id)) == 0 &&
		 (rc = get_string(ld, l, "type", true, &type)) == 0) {
		enter_key(ld, "id");
		rc = resolve_vlist(ld, id, &e->vlist);
		leave(ld);
	}
	leave(ld);
	return rc;
}

static int parse_entry(struct loader *ld, const cJSON *obj, bool inner,
		       const struct exc_list *list, struct entry *e);

/* A nested entry: one element of the object array at field must
 * satisfy all its entries (match, match_any, exists). */
static int entry_nested(struct loader *ld, const cJSON *obj,
			const struct exc_list *list, struct entry *e)
{
	const cJSON *v = get(obj, "entries"), *one;
	int rc = 0, i = 0;

	if (absent(v))
		return fail(ld, FD_ERR_INVALID, "a nested entry needs "
			    "entries");
	enter_key(ld, "entries");
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		rc = fail(ld, FD_ERR_INVALID, "must be a non-empty array");
	else if (!(e->inner = calloc((size_t)cJSON_GetArraySize(v),
				     sizeof(*e->inner))))
		rc = nomem(ld);
	cJSON_ArrayForEach(one, v) {
		if (rc < 0)
			break;
		enter_index(ld, i++);
		rc = parse_entry(ld, one, true, list, &e->inner[e->ninner++]);
		leave(ld);
	}
	leave(ld);
	return rc;
}

static int entry_operator(struct loader *ld, const cJSON *obj,
			  const struct exc_list *list, struct entry *e)
{
	const char *op;
	int rc = get_string(ld, obj, "operator", true, &op);

	if (rc < 0)
		return rc;
	enter_key(ld, "operator");
	if (strcmp(op, "included") && strcmp(op, "excluded"))
		rc = fail(ld, FD_ERR_INVALID, "must be included or "
			  "excluded, not '%s'", op);
	e->excluded = !strcmp(op, "excluded");
	if (rc == 0 && e->excluded && list->endpoint)
		rc = fail(ld, FD_ERR_INVALID, "list '%s' is an endpoint "
			  "list (type endpoint), whose entries cannot be "
			  "excluded", list->list_id);
	leave(ld);
	return rc;
}

static int parse_entry(struct loader *ld, const cJSON *obj, bool inner,
		       const struct exc_list *list, struct entry *e)
{
	const char *type, *field;
	int kind, rc;

	if (!cJSON_IsObject(obj))
		return fail(ld, FD_ERR_INVALID, "an entry must be an object");
	if ((rc = get_string(ld, obj, "type", true, &type)) < 0)
		return rc;
	kind = kind_of(type);
	enter_key(ld, "type");
	if (kind < 0)
		rc = fail(ld, FD_ERR_INVALID, "unknown entry type '%s' "
			  "(match, match_any, exists, wildcard, list or "
			  "nested)", type);
	else if (inner && kind != K_MATCH && kind != K_MATCH_ANY &&
		 kind != K_EXISTS)
		rc = fail(ld, FD_ERR_INVALID, "inside a nested entry only "
			  "match, match_any and exists may be used, not %s",
			  type);
	else if (kind == K_LIST && list->endpoint)
		rc = fail(ld, FD_ERR_INVALID, "list '%s' is an endpoint "
			  "list (type endpoint), which cannot use value "
			  "lists", list->list_id);
	leave(ld);
	if (rc < 0 || (rc = get_string(ld, obj, "field", true, &field)) < 0 ||
	    (rc = dup_into(ld, field, &e->field)) < 0)
		return rc;
	e->kind = (enum kind)kind;
	if (e->kind == K_NESTED)
		return entry_nested(ld, obj, list, e);
	if ((rc = entry_operator(ld, obj, list, e)) < 0 ||
	    (rc = entry_value(ld, obj, e)) < 0)
		return rc;
	return e->kind == K_LIST ? entry_list(ld, obj, e) : 0;
}

/* ---- items and lists ------------------------------------------------- */

static int item_entries(struct loader *ld, const cJSON *obj,
			struct fd_exc_item *it)
{
	const cJSON *v = get(obj, "entries"), *one;
	int rc = 0, i = 0;

	if (absent(v))
		return fail(ld, FD_ERR_INVALID, "missing entries");
	enter_key(ld, "entries");
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		rc = fail(ld, FD_ERR_INVALID, "must be a non-empty array");
	else if (!(it->entries = calloc((size_t)cJSON_GetArraySize(v),
				       sizeof(*it->entries))))
		rc = nomem(ld);
	cJSON_ArrayForEach(one, v) {
		struct entry *e;

		if (rc < 0)
			break;
		enter_index(ld, i++);
		e = &it->entries[it->nentries++];
		rc = parse_entry(ld, one, false, it->list, e);
		/* Kibana keeps value lists apart from other entries. */
		if (rc == 0 && i > 1 &&
		    (e->kind == K_LIST) != (it->entries[0].kind == K_LIST))
			rc = fail(ld, FD_ERR_INVALID, "a list entry cannot "
				  "be combined with other entry types in "
				  "one item");
		leave(ld);
	}
	leave(ld);
	return rc;
}

static int item_expire(struct loader *ld, const cJSON *obj,
		       struct fd_exc_item *it)
{
	const char *when;
	int rc = get_string(ld, obj, "expire_time", false, &when);

	if (rc < 0 || !when)
		return rc;
	it->expire_at = fd_time_parse(when);
	it->expires = true;
	if (it->expire_at != -1)
		return 0;
	enter_key(ld, "expire_time");
	rc = fail(ld, FD_ERR_INVALID, "expected an ISO 8601 time like "
		  "2026-12-31T00:00:00Z, not '%s'", when);
	leave(ld);
	return rc;
}

/* item_id must be new to its list; namespace_type, if given, the list's. */
static int item_fits_list(struct loader *ld, const cJSON *obj,
			  const struct fd_exc_item *it)
{
	const struct exc_list *l = it->list;
	const struct fd_exc_item *old = index_find(&l->items_by_id,
						   it->item_id);
	const char *type, *ns;
	int rc;

	if (old) {
		enter_key(ld, "item_id");
		rc = fail(ld, FD_ERR_INVALID, "list '%s' already has an "
			  "item '%s' (%s)", l->list_id, it->item_id,
			  old->origin);
		leave(ld);
		return rc;
	}
	if ((rc = get_string(ld, obj, "type", false, &type)) < 0 ||
	    (rc = get_string(ld, obj, "namespace_type", false, &ns)) < 0)
		return rc;
	if (type && strcmp(type, "simple")) {
		enter_key(ld, "type");
		rc = fail(ld, FD_ERR_INVALID, "an item's type is simple, "
			  "not '%s'", type);
		leave(ld);
	} else if (ns && strcmp(ns, l->namespace_type)) {
		enter_key(ld, "namespace_type");
		rc = fail(ld, FD_ERR_INVALID, "list '%s' is %s, not %s",
			  l->list_id, l->namespace_type, ns);
		leave(ld);
	}
	return rc;
}

static int item_list(struct loader *ld, const cJSON *obj,
		     struct fd_exc_item *it)
{
	const char *list_id;
	int rc = get_id(ld, obj, "list_id", &list_id);

	if (rc < 0)
		return rc;
	it->list = find_list(ld->set, list_id);
	if (it->list)
		return 0;
	enter_key(ld, "list_id");
	rc = fail(ld, FD_ERR_INVALID, "list '%s' is not loaded; refused, as "
		  "Kibana refuses an item without its list (load the list "
		  "object, or the export's list line, with it)", list_id);
	leave(ld);
	return rc;
}

static int set_add_item(struct fd_exc_set *s, struct fd_exc_item *it)
{
	struct exc_list *l = it->list;
	struct fd_exc_item **all = grow(s->items, s->nitems, sizeof(*all));
	struct fd_exc_item **mine;

	if (!all)
		return -FD_ERR_NOMEM;
	s->items = all;
	mine = grow(l->items, l->nitems, sizeof(*mine));
	if (!mine)
		return -FD_ERR_NOMEM;
	l->items = mine;
	if (index_reserve(&l->items_by_id) < 0)
		return -FD_ERR_NOMEM;
	it->index = s->nitems;
	s->items[s->nitems++] = it;
	l->items[l->nitems++] = it;
	index_put(&l->items_by_id, it->item_id, it);
	return 0;
}

static int parse_item(struct loader *ld, const cJSON *obj)
{
	struct fd_exc_item *it = calloc(1, sizeof(*it));
	const char *item_id, *name;
	int rc;

	if (!it)
		return nomem(ld);
	snprintf(ld->label, sizeof(ld->label), "item");
	rc = get_id(ld, obj, "item_id", &item_id);
	if (rc == 0) {
		snprintf(ld->label, sizeof(ld->label), "item '%.256s'",
			 item_id);
		rc = dup_into(ld, item_id, &it->item_id);
	}
	if (rc == 0 && (rc = item_list(ld, obj, it)) == 0 &&
	    (rc = item_fits_list(ld, obj, it)) == 0 &&
	    (rc = get_string(ld, obj, "name", true, &name)) == 0 &&
	    (rc = dup_into(ld, name, &it->name)) == 0 &&
	    (rc = item_entries(ld, obj, it)) == 0 &&
	    (rc = get_os(ld, obj, &it->os)) == 0 &&
	    (rc = item_expire(ld, obj, it)) == 0) {
		it->json = cJSON_Duplicate(obj, true);
		it->origin = origin_here(ld);
		if (!it->json || !it->origin ||
		    set_add_item(ld->set, it) < 0)
			rc = nomem(ld);
		else
			return 0;
	}
	item_free(it);
	return rc;
}

static bool known_list_type(const char *type)
{
	static const char *const types[] = {
		"detection", "rule_default", "endpoint",
		"endpoint_trusted_apps", "endpoint_events",
		"endpoint_host_isolation_exceptions", "endpoint_blocklists",
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		if (!strcmp(type, types[i]))
			return true;
	return false;
}

static int list_keys(struct loader *ld, const cJSON *obj,
		     struct exc_list *l)
{
	const char *type, *ns;
	int rc;

	if ((rc = get_string(ld, obj, "type", true, &type)) < 0 ||
	    (rc = get_string(ld, obj, "namespace_type", false, &ns)) < 0)
		return rc;
	if (!known_list_type(type)) {
		enter_key(ld, "type");
		rc = fail(ld, FD_ERR_INVALID, "unknown list type '%s' "
			  "(detection, rule_default, endpoint, ...)", type);
		leave(ld);
		return rc;
	}
	if (ns && strcmp(ns, "single") && strcmp(ns, "agnostic")) {
		enter_key(ld, "namespace_type");
		rc = fail(ld, FD_ERR_INVALID, "must be single or agnostic");
		leave(ld);
		return rc;
	}
	l->endpoint = !strcmp(type, "endpoint");
	if ((rc = dup_into(ld, type, &l->type)) < 0 ||
	    (rc = dup_into(ld, ns ? ns : "single", &l->namespace_type)) < 0)
		return rc;
	return get_os(ld, obj, &l->os);
}

static int parse_list(struct loader *ld, const cJSON *obj)
{
	struct exc_list *l = calloc(1, sizeof(*l)), **bigger;
	const struct exc_list *old;
	const char *list_id;
	int rc;

	if (!l)
		return nomem(ld);
	snprintf(ld->label, sizeof(ld->label), "list");
	rc = get_id(ld, obj, "list_id", &list_id);
	if (rc == 0) {
		snprintf(ld->label, sizeof(ld->label), "list '%.256s'",
			 list_id);
		if ((old = find_list(ld->set, list_id))) {
			enter_key(ld, "list_id");
			rc = fail(ld, FD_ERR_INVALID, "loaded twice (first "
				  "at %s)", old->origin);
			leave(ld);
		}
	}
	if (rc == 0 && (rc = dup_into(ld, list_id, &l->list_id)) == 0 &&
	    (rc = list_keys(ld, obj, l)) == 0) {
		l->origin = origin_here(ld);
		bigger = grow(ld->set->lists, ld->set->nlists,
			      sizeof(*bigger));
		if (bigger)
			ld->set->lists = bigger;
		if (!l->origin || !bigger ||
		    index_reserve(&ld->set->lists_by_id) < 0)
			rc = nomem(ld);
		else {
			ld->set->lists[ld->set->nlists++] = l;
			index_put(&ld->set->lists_by_id, l->list_id, l);
			return 0;
		}
	}
	list_free(l);
	return rc;
}

/* ---- walking what a source holds ------------------------------------- */

enum shape { S_SKIP, S_LIST, S_ITEM, S_WRAPPER, S_FIND, S_BAD };

static enum shape shape_of(const cJSON *v)
{
	static const char *const summaries[] = {
		"exported_exception_list_count",
		"exported_exception_list_item_count", "exported_count",
		"exported_rules_count",
	};
	const char *type;

	if (!cJSON_IsObject(v))
		return S_BAD;
	for (size_t i = 0; i < sizeof(summaries) / sizeof(*summaries); i++)
		if (get(v, summaries[i]))
			return S_SKIP;
	if (get(v, "entries") || get(v, "item_id"))
		return S_ITEM;
	if (get(v, "list_id")) {
		type = cJSON_GetStringValue(get(v, "type"));
		return type && !strcmp(type, "simple") ? S_ITEM : S_LIST;
	}
	/* The rules and connectors of a rules export that has exceptions. */
	if (get(v, "rule_id") || cJSON_IsObject(get(v, "attributes")))
		return S_SKIP;
	if (cJSON_IsArray(get(v, "lists")) || cJSON_IsArray(get(v, "items")))
		return S_WRAPPER;
	if (cJSON_IsArray(get(v, "data")))
		return S_FIND;
	return S_BAD;
}

static int walk_value(struct loader *ld, const cJSON *v, enum pass pass);

/*
 * The walk notes where each element and wrapper member starts, stepping
 * through the text as it steps through the JSON, so that finding an item
 * again (for its origin, or an error) starts from the item, not from the
 * top.  The steps are those of locate(), so the places are the same;
 * where one cannot be taken, nothing is noted and locate() finds it.
 */
#define UNKNOWN SIZE_MAX

/* Where the first element of the array at the current path starts. */
static size_t first_element(const struct loader *ld)
{
	const char *t = ld->src->text;
	size_t len = ld->src->len, at;

	if (!known_at(ld, ld->depth, &at) || at >= len || t[at] != '[')
		return UNKNOWN;
	at = skip_ws(t, len, at + 1);
	return at < len && t[at] != ']' ? at : UNKNOWN;
}

/* Where the element after the one at at starts. */
static size_t next_element(const struct loader *ld, size_t at)
{
	const char *t = ld->src->text;
	size_t len = ld->src->len;

	if (at == UNKNOWN)
		return UNKNOWN;
	at = skip_ws(t, len, skip_value(t, len, at));
	if (at >= len || t[at] != ',')
		return UNKNOWN;
	at = skip_ws(t, len, at + 1);
	return at < len && t[at] != ']' ? at : UNKNOWN;
}

static int walk_array(struct loader *ld, const cJSON *arr, enum pass pass)
{
	const cJSON *one;
	int rc = 0, i = 0;
	size_t at = first_element(ld);

	cJSON_ArrayForEach(one, arr) {
		enter_index(ld, i++);
		if (at != UNKNOWN)
			mark_at(ld, at);
		rc = cJSON_IsArray(one) ? fail(ld, FD_ERR_INVALID, "expected "
					       "an exception list or item, "
					       "not an array") :
		     walk_value(ld, one, pass);
		leave(ld);
		if (rc < 0)
			return rc;
		at = next_element(ld, at);
	}
	return 0;
}

static int walk_member(struct loader *ld, const cJSON *obj, const char *key,
		       enum pass pass)
{
	const cJSON *v = get(obj, key);
	size_t at, found;
	int rc;

	if (!v)
		return 0;
	if (!known_at(ld, ld->depth, &at) || ld->src->text[at] != '{')
		at = UNKNOWN;
	enter_key(ld, key);
	if (at != UNKNOWN &&
	    (found = find_key(ld->src->text, ld->src->len, at, key)) != at)
		mark_at(ld, found);
	rc = cJSON_IsArray(v) ? walk_array(ld, v, pass) :
	     fail(ld, FD_ERR_INVALID, "must be an array");
	leave(ld);
	return rc;
}

static int walk_value(struct loader *ld, const cJSON *v, enum pass pass)
{
	int rc = 0;

	if (cJSON_IsArray(v))
		return walk_array(ld, v, pass);
	ld->base = ld->depth;
	switch (shape_of(v)) {
	case S_SKIP:
		break;
	case S_LIST:
		rc = pass == PASS_LISTS ? parse_list(ld, v) : 0;
		break;
	case S_ITEM:
		rc = pass == PASS_ITEMS ? parse_item(ld, v) : 0;
		break;
	case S_WRAPPER:
		rc = walk_member(ld, v, "lists", pass);
		if (rc == 0)
			rc = walk_member(ld, v, "items", pass);
		break;
	case S_FIND:
		rc = walk_member(ld, v, "data", pass);
		break;
	case S_BAD:
		if (pass == PASS_LISTS)
			rc = fail(ld, FD_ERR_INVALID, "expected an exception "
				  "list or item (an object with list_id)");
		break;
	}
	ld->label[0] = '\0';
	ld->base = 0;
	return rc;
}

/* ---- loads ----------------------------------------------------------- */

struct batch {
	struct source **sources;
	size_t nsources;
	struct staged *values;
	size_t nvalues;
};

static void batch_release(struct batch *b)
{
	for (size_t i = 0; i < b->nvalues; i++)
		cJSON_Delete(b->values[i].owned);
	for (size_t i = 0; i < b->nsources; i++) {
		free(b->sources[i]->name);
		free(b->sources[i]->text);
		free(b->sources[i]);
	}
	free(b->values);
	free(b->sources);
}

static int batch_source(struct batch *b, const char *name,
			struct source **out)
{
	struct source **bigger = grow(b->sources, b->nsources,
				      sizeof(*bigger));
	struct source *src;

	if (!bigger)
		return -FD_ERR_NOMEM;
	b->sources = bigger;
	src = calloc(1, sizeof(*src));
	if (!src || !(src->name = strdup(name))) {
		free(src);
		return -FD_ERR_NOMEM;
	}
	b->sources[b->nsources++] = src;
	*out = src;
	return 0;
}

static int batch_value(struct batch *b, const cJSON *json, cJSON *owned,
		       size_t start, const struct source *src)
{
	struct staged *bigger = grow(b->values, b->nvalues, sizeof(*bigger));

	if (!bigger) {
		cJSON_Delete(owned);
		return -FD_ERR_NOMEM;
	}
	b->values = bigger;
	b->values[b->nvalues++] = (struct staged){ json, owned, start, src };
	return 0;
}

/* Cut a source's text into JSON values, one after another. */
static int batch_text(struct batch *b, const struct source *src,
		      struct fd_diag *diag)
{
	size_t pos = 0;

	if (src->len >= 3 && !memcmp(src->text, "\xef\xbb\xbf", 3))
		pos = 3;		/* a UTF-8 byte order mark */
	for (;;) {
		const char *end = NULL, *err;
		cJSON *v;
		int line, col;

		pos = skip_ws(src->text, src->len, pos);
		if (pos >= src->len)
			return 0;
		v = cJSON_ParseWithLengthOpts(src->text + pos, src->len - pos,
					      &end, false);
		if (!v) {
			err = cJSON_GetErrorPtr();
			if (!err || err < src->text ||
			    err > src->text + src->len)
				err = src->text + pos;
			line_col(src->text, (size_t)(err - src->text), &line,
				 &col);
			if (diag)
				snprintf(diag->file, sizeof(diag->file), "%s",
					 src->name);
			return fd_diag_set(diag, FD_ERR_SYNTAX, line, col,
					   "not valid JSON");
		}
		if (batch_value(b, v, v, pos, src) < 0)
			return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0,
					   "out of memory");
		pos = (size_t)(end - src->text);
	}
}

static int batch_file(struct batch *b, const char *path, struct fd_diag *d)
{
	struct source *src;

	if (batch_source(b, path, &src) < 0)
		return fd_diag_set(d, FD_ERR_NOMEM, 0, 0, "out of memory");
	if (slurp(path, &src->text, &src->len) < 0) {
		int err = errno;

		if (d)
			snprintf(d->file, sizeof(d->file), "%s", path);
		return fd_diag_set(d, err == ENOENT ? FD_ERR_NOTFOUND :
				   err == EINVAL || err == EFBIG ?
				   FD_ERR_INVALID : FD_ERR_IO, 0, 0,
				   "cannot read: %s", err == EINVAL ?
				   "not a regular file" : strerror(err));
	}
	return batch_text(b, src, d);
}

/* Every *.json and *.ndjson file of dir, in name order. */
static int batch_dir(struct batch *b, const char *dir, struct fd_diag *d)
{
	struct fd_strv names = { 0 };
	int rc = fd_list_json_files(dir, &names, d);

	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		rc = batch_file(b, path, d);
	}
	fd_strv_release(&names);
	return rc;
}

/* Add field to the set's fields unless seen (an index of them) has it. */
static int add_field(struct fd_exc_set *s, struct name_index *seen,
		     const char *field)
{
	char **bigger;

	if (index_find(seen, field))
		return 0;
	if (index_reserve(seen) < 0)
		return -FD_ERR_NOMEM;
	bigger = grow(s->fields, s->nfields + 1, sizeof(*bigger));
	if (!bigger)
		return -FD_ERR_NOMEM;
	s->fields = bigger;
	if (!(s->fields[s->nfields] = strdup(field)))
		return -FD_ERR_NOMEM;
	index_put(seen, s->fields[s->nfields], s->fields[s->nfields]);
	s->fields[++s->nfields] = NULL;
	return 0;
}

/* The paths every item reads, afresh after a load. */
static int rebuild_fields(struct fd_exc_set *s)
{
	struct name_index seen = { 0 };
	int rc = 0;

	free_strings(s->fields, s->nfields);
	s->fields = NULL;
	s->nfields = 0;
	for (size_t i = 0; rc == 0 && i < s->nitems; i++) {
		const struct fd_exc_item *it = s->items[i];

		for (size_t k = 0; rc == 0 && k < it->nentries; k++)
			rc = add_field(s, &seen, it->entries[k].field);
		if (rc == 0 && it->os)
			rc = add_field(s, &seen, "host.os.type");
		if (rc == 0 && it->os)
			rc = add_field(s, &seen, "host.os.name");
	}
	free(seen.slots);
	return rc;
}

/* Both passes over a batch; the set is as before unless all went well. */
static int batch_load(struct fd_exc_set *s, struct batch *b,
		      const char *value_dir, struct fd_diag *diag)
{
	struct loader ld = { .set = s, .diag = diag, .value_dir = value_dir };
	size_t nlists = s->nlists, nitems = s->nitems, nv = s->nvlists;
	int rc = 0;

	for (int pass = PASS_LISTS; rc == 0 && pass <= PASS_ITEMS; pass++)
		for (size_t i = 0; rc == 0 && i < b->nvalues; i++) {
			ld.src = b->values[i].src;
			ld.start = b->values[i].start;
			ld.depth = 0;
			rc = walk_value(&ld, b->values[i].json,
					(enum pass)pass);
		}
	if (rc == 0 && rebuild_fields(s) < 0)
		rc = fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
	if (rc < 0) {
		set_truncate(s, nlists, nitems, nv);
		rebuild_fields(s);
	}
	return rc;
}

int fd_exc_add_path(struct fd_exc_set *s, const char *path,
		    struct fd_diag *diag)
{
	struct batch b = { 0 };
	char dir[4200];
	struct stat st;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", path);
		rc = batch_dir(&b, path, diag);
	} else {
		const char *slash = strrchr(path, '/');

		if (slash)
			snprintf(dir, sizeof(dir), "%.*s",
				 slash == path ? 1 : (int)(slash - path),
				 path);
		else
			snprintf(dir, sizeof(dir), ".");
		rc = batch_file(&b, path, diag);
	}
	if (rc == 0)
		rc = batch_load(s, &b, dir, diag);
	batch_release(&b);
	return rc;
}

int fd_exc_load(struct fd_exc_set **set, const char *path,
		struct fd_diag *diag)
{
	struct fd_exc_set *s = fd_exc_new();
	int rc;

	*set = NULL;
	if (!s) {
		fd_diag_clear(diag);
		return fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
	}
	rc = fd_exc_add_path(s, path, diag);
	if (rc < 0)
		fd_exc_free(s);
	else
		*set = s;
	return rc;
}

int fd_exc_add_json(struct fd_exc_set *s, const cJSON *doc,
		    const char *origin, struct fd_diag *diag)
{
	struct batch b = { 0 };
	struct source *src;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", origin);
	if (batch_source(&b, origin, &src) < 0 ||
	    batch_value(&b, doc, NULL, 0, src) < 0)
		rc = fd_diag_set(diag, FD_ERR_NOMEM, 0, 0, "out of memory");
	else
		rc = batch_load(s, &b, NULL, diag);
	batch_release(&b);
	return rc;
}

/* ---- matching -------------------------------------------------------- */

/* A scalar as Elasticsearch would index it for a keyword: strings as they
 * are, booleans as true/false, numbers in their shortest exact form. */
static const char *scalar_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (!cJSON_IsNumber(v))
		return NULL;
	snprintf(buf, len, "%1.15g", v->valuedouble);
	if (strtod(buf, NULL) != v->valuedouble)
		snprintf(buf, len, "%1.17g", v->valuedouble);
	return buf;
}

/* A number field equals a value that reads as the same number: "73" and
 * "73.0" both match 73, as a term query on a numeric field does. */
static bool number_equals(double d, const char *want)
{
	char *end;
	double w;

	if (!*want || strspn(want, "0123456789+-.eE") != strlen(want))
		return false;
	w = strtod(want, &end);
	return !*end && w == d;
}

static bool value_equals(const cJSON *v, const char *want)
{
	if (cJSON_IsString(v))
		return !strcmp(v->valuestring, want);
	if (cJSON_IsBool(v))
		return !strcmp(want, cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v))
		return number_equals(v->valuedouble, want);
	return false;
}

/* Bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
		   (c >> 3) == 30 ? 4 : 1;

	for (size_t i = 1; i < n; i++)
		if (!s[i])
			return i;
	return n;
}

/*
 * Elasticsearch's wildcard: '*' any run, '?' one character, '\' makes the
 * next character literal; the whole text must match; case counts.  A
 * star is retried one character further on a mismatch (the classic
 * linear-space matcher), so no input makes it recurse.
 */
static bool wildcard_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*p == '*') {
			star_p = ++p;
			star_s = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s += char_len(s);
			continue;
		}
		if (*p) {
			const char *lit = *p == '\\' && p[1] ? p + 1 : p;

			if (*lit == *s) {
				p = lit + 1;
				s++;
				continue;
			}
		}
		if (!star_p)
			return false;
		p = star_p;
		star_s += char_len(star_s);
		s = star_s;
	}
	while (*p == '*')
		p++;
	return !*p;
}

static bool in_vlist(const struct value_list *v, const char *text)
{
	return bsearch(&text, v->values, v->n, sizeof(*v->values),
		       cmp_str) != NULL;
}

/* Whether a value (null, scalar or object) holds anything. */
static bool has_value(const cJSON *v)
{
	const cJSON *kid;

	if (cJSON_IsNull(v))
		return false;
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return true;
	cJSON_ArrayForEach(kid, v)
		if (has_value(kid))
			return true;
	return false;
}

/* One value of the entry's field: does it make the entry hold? */
static int value_hits(const cJSON *v, void *arg)
{
	const struct entry *e = arg;
	char buf[40];
	const char *text;

	switch (e->kind) {
	case K_EXISTS:
		return has_value(v);
	case K_MATCH:
	case K_MATCH_ANY:
		for (size_t i = 0; i < e->nvalues; i++)
			if (value_equals(v, e->values[i]))
				return 1;
		return 0;
	case K_WILDCARD:
		text = scalar_text(v, buf, sizeof(buf));
		return text && wildcard_match(e->values[0], text);
	case K_LIST:
		text = scalar_text(v, buf, sizeof(buf));
		return text && in_vlist(e->vlist, text);
	case K_NESTED:
		break;
	}
	return 0;
}

static bool entry_true(const struct entry *e, const cJSON *doc);

/* One element of a nested entry's object array: does it hold all? */
static int element_hits(const cJSON *v, void *arg)
{
	const struct entry *e = arg;

	if (!cJSON_IsObject(v))
		return 0;
	for (size_t i = 0; i < e->ninner; i++)
		if (!entry_true(&e->inner[i], v))
			return 0;
	return 1;
}

static bool entry_true(const struct entry *e, const cJSON *doc)
{
	bool hit = fd_field_visit(doc, e->field, e->kind == K_NESTED ?
				  element_hits : value_hits,
				  (void *)e) != 0;

	return e->excluded ? !hit : hit;
}

static int os_bits(const cJSON *v, void *arg)
{
	for (unsigned k = 0; k < 3 && cJSON_IsString(v); k++)
		if (!strcmp(v->valuestring, os_names[k]))
			*(unsigned *)arg |= 1u << k;
	return 0;
}

static int os_bits_caseless(const cJSON *v, void *arg)
{
	for (unsigned k = 0; k < 3 && cJSON_IsString(v); k++)
		if (!strcasecmp(v->valuestring, os_names[k]))
			*(unsigned *)arg |= 1u << k;
	return 0;
}

/*
 * The systems an event is on, as Kibana's filter for os_types asks:
 * host.os.type, or host.os.name.caseless (the lower-cased copy of
 * host.os.name an Endpoint index keeps, so "macOS" is macos).
 */
static unsigned event_os(const cJSON *event)
{
	unsigned os = 0;

	fd_field_visit(event, "host.os.type", os_bits, &os);
	fd_field_visit(event, "host.os.name", os_bits_caseless, &os);
	return os;
}

bool fd_exc_item_matches(const struct fd_exc_item *it, const cJSON *event,
			 double now)
{
	if (it->expires && now >= it->expire_at)
		return false;
	if (it->os && !(it->os & event_os(event)))
		return false;
	for (size_t i = 0; i < it->nentries; i++)
		if (!entry_true(&it->entries[i], event))
			return false;
	return true;
}

const struct fd_exc_item *fd_exc_match(const struct fd_exc_set *s,
				       const char *const *list_ids, size_t n,
				       const cJSON *event, double now)
{
	for (size_t k = 0; s && k < n; k++) {
		const struct exc_list *l = find_list(s, list_ids[k]);

		for (size_t i = 0; l && i < l->nitems; i++)
			if (fd_exc_item_matches(l->items[i], event, now))
				return l->items[i];
	}
	return NULL;
}

static bool named(const char *list_id, const char *const *ids, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(list_id, ids[k]))
			return true;
	return false;
}

const struct fd_exc_item *fd_exc_next(const struct fd_exc_set *s,
				      const char *const *list_ids, size_t n,
				      const struct fd_exc_item *prev)
{
	for (size_t i = prev ? prev->index + 1 : 0; s && i < s->nitems; i++)
		if (named(s->items[i]->list->list_id, list_ids, n))
			return s->items[i];
	return NULL;
}

/* ---- about an item --------------------------------------------------- */

const char *fd_exc_item_id(const struct fd_exc_item *it)
{
	return it->item_id;
}

const char *fd_exc_item_name(const struct fd_exc_item *it)
{
	return it->name;
}

const char *fd_exc_item_list(const struct fd_exc_item *it)
{
	return it->list->list_id;
}

const char *fd_exc_item_origin(const struct fd_exc_item *it)
{
	return it->origin;
}

bool fd_exc_item_expires(const struct fd_exc_item *it, double *when)
{
	if (it->expires && when)
		*when = it->expire_at;
	return it->expires;
}

const cJSON *fd_exc_item_json(const struct fd_exc_item *it)
{
	return it->json;
}

const char *const *fd_exc_fields(const struct fd_exc_set *s, size_t *n)
{
	static const char *const none[] = { NULL };

	*n = s ? s->nfields : 0;
	return s && s->fields ? (const char *const *)s->fields : none;
}

struct text {
	char *buf;
	size_t len, used;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->used + 1 >= t->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n < t->len - t->used ? (size_t)n :
			   t->len - t->used - 1;
}

static void describe_entries(struct text *t, const struct entry *e,
			     size_t n);

static void describe_entry(struct text *t, const struct entry *e)
{
	const char *not = e->excluded ? " not" : "";

	put(t, "%s ", e->field);
	switch (e->kind) {
	case K_MATCH:
		put(t, "is%s \"%s\"", not, e->values[0]);
		break;
	case K_MATCH_ANY:
		put(t, "is%s one of (", not);
		for (size_t i = 0; i < e->nvalues; i++)
			put(t, "%s\"%s\"", i ? ", " : "", e->values[i]);
		put(t, ")");
		break;
	case K_EXISTS:
		put(t, "%s", e->excluded ? "does not exist" : "exists");
		break;
	case K_WILDCARD:
		put(t, "%s \"%s\"", e->excluded ? "does not match" :
		    "matches", e->values[0]);
		break;
	case K_LIST:
		put(t, "is%s in list %s", not, e->vlist->id);
		break;
	case K_NESTED:
		put(t, "has an element where (");
		describe_entries(t, e->inner, e->ninner);
		put(t, ")");
		break;
	}
}

static void describe_entries(struct text *t, const struct entry *e,
			     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(t, " AND ");
		describe_entry(t, &e[i]);
	}
}

const char *fd_exc_item_describe(const struct fd_exc_item *it, char *buf,
				 size_t len)
{
	struct text t = { buf, len, 0 };

	if (!len)
		return buf;
	buf[0] = '\0';
	describe_entries(&t, it->entries, it->nentries);
	return buf;
}
