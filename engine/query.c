/*
 * query.c - one interface over the query languages.
 *
 * A struct fd_query is a tagged pointer to a language's compiled tree; each
 * call dispatches through the language's table entry.  Adding a language is
 * one row in `langs` and one header.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "eql.h"
#include "kql.h"

struct lang_ops {
	const char *name;
	const char *alias;
	int (*compile)(const char *text, void **out, struct fd_diag *diag);
	bool (*match)(const void *q, const cJSON *doc);
	const char *const *(*fields)(const void *q, size_t *n);
	void (*release)(void *q);
};

static int kql_compile(const char *text, void **out, struct fd_diag *diag)
{
	return fd_kql_compile(text, (struct fd_kql **)out, diag);
}
static bool kql_match(const void *q, const cJSON *doc)
{
	return fd_kql_match(q, doc);
}
static const char *const *kql_fields(const void *q, size_t *n)
{
	return fd_kql_fields(q, n);
}
static void kql_release(void *q)
{
	fd_kql_free(q);
}

static int eql_compile(const char *text, void **out, struct fd_diag *diag)
{
	return fd_eql_compile(text, (struct fd_eql **)out, diag);
}
static bool eql_match(const void *q, const cJSON *doc)
{
	return fd_eql_match(q, doc);
}
static const char *const *eql_fields(const void *q, size_t *n)
{
	return fd_eql_fields(q, n);
}
static void eql_release(void *q)
{
	fd_eql_free(q);
}

static const struct lang_ops langs[FD_LANG_LAST] = {
	[FD_LANG_KQL] = { "kql", "kuery", kql_compile, kql_match, kql_fields,
			  kql_release },
	[FD_LANG_EQL] = { "eql", NULL, eql_compile, eql_match, eql_fields,
			  eql_release },
};

struct fd_query {
	enum fd_lang lang;
	void *tree;
};

int fd_lang_from_name(const char *name)
{
	for (int i = 0; i < FD_LANG_LAST; i++) {
		if (!strcmp(name, langs[i].name) ||
		    (langs[i].alias && !strcmp(name, langs[i].alias)))
			return i;
	}
	return -1;
}

const char *fd_lang_name(enum fd_lang lang)
{
	return lang < FD_LANG_LAST ? langs[lang].name : "unknown";
}

int fd_query_compile(enum fd_lang lang, const char *text,
		     struct fd_query **out, struct fd_diag *diag)
{
	struct fd_query *q;
	int rc;

	*out = NULL;
	if (lang >= FD_LANG_LAST)
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "unknown query language");
	q = calloc(1, sizeof(*q));
	if (!q)
		return -FD_ERR_NOMEM;
	q->lang = lang;
	rc = langs[lang].compile(text, &q->tree, diag);
	if (rc < 0) {
		free(q);
		return rc;
	}
	*out = q;
	return 0;
}

bool fd_query_is_sequence(const struct fd_query *q)
{
	return q->lang == FD_LANG_EQL && fd_eql_is_sequence(q->tree);
}

const struct fd_eql *fd_query_eql(const struct fd_query *q)
{
	return q->lang == FD_LANG_EQL ? q->tree : NULL;
}

bool fd_query_match(const struct fd_query *q, const cJSON *doc)
{
	return langs[q->lang].match(q->tree, doc);
}

const char *const *fd_query_fields(const struct fd_query *q, size_t *n)
{
	return langs[q->lang].fields(q->tree, n);
}

void fd_query_free(struct fd_query *q)
{
	if (!q)
		return;
	langs[q->lang].release(q->tree);
	free(q);
}
