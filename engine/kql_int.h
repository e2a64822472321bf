/*
 * kql_int.h - KQL internals shared by the lexer, parser and evaluator.
 *
 * A compiled query is a tree of struct kql_node in one arena.  Values and
 * field names are decoded (escapes applied, unquoted text trimmed) and
 * classified once at compile time: exact text, '*' wildcard split into
 * literal pieces, exists, and the number the text spells if it is one.
 */
#ifndef FD_KQL_INT_H
#define FD_KQL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"
#include "kql.h"

/* Deepest nesting of ( ), { } and not that a query may use. */
#define KQL_MAX_DEPTH 128

/* ---- arena: every compile-time allocation, freed at once ---- */

struct kql_block;

struct kql_arena {
	struct kql_block *head;
};

void *kql_alloc(struct kql_arena *a, size_t size);	/* zeroed */
char *kql_memdup(struct kql_arena *a, const void *src, size_t len);
void kql_arena_free(struct kql_arena *a);

/* ---- '*' patterns, for values and field names ---- */

struct kql_piece {
	const char *s;
	size_t len;
};

/* A pattern is lead? piece (* piece)* trail?, where lead and trail are
 * stars at either end; no pieces at all means "*". */
struct kql_glob {
	const struct kql_piece *piece;
	size_t n;
	bool lead, trail;
};

bool kql_glob_match(const struct kql_glob *g, const char *s, size_t len);

/* ---- literals as the lexer reads them ---- */

struct kql_lit {
	size_t start, end;	/* raw byte span in the query */
	bool quoted;
	char *text;		/* decoded, NUL-terminated, in the arena */
	size_t len;
	unsigned char *wild;	/* wild[i]: text[i] is an unescaped '*' */
	bool has_wild;
};

/* ---- the tree ---- */

enum kql_vkind {
	KQL_V_EXACT,		/* equals the text (or the number) */
	KQL_V_GLOB,		/* '*' wildcard over strings */
	KQL_V_EXISTS,		/* a lone '*': the field has a value */
};

struct kql_value {
	enum kql_vkind kind;
	const char *text;	/* decoded; stars shown as '*' */
	size_t len;
	bool has_nul;		/* \u0000 inside: equals no JSON string */
	bool numeric;		/* text spells a decimal number ... */
	double num;		/* ... which is this */
	struct kql_glob glob;	/* KQL_V_GLOB */
	int col;
};

enum kql_fkind {
	KQL_F_PATH,		/* a dotted path */
	KQL_F_GLOB,		/* a pattern over the document's leaf paths */
	KQL_F_ANY,		/* free text: every leaf */
};

struct kql_field {
	enum kql_fkind kind;
	const char *name;	/* NULL for KQL_F_ANY */
	struct kql_glob glob;	/* KQL_F_GLOB */
	int col;
};

enum kql_kind {
	KQL_ALL,		/* the empty query */
	KQL_AND,
	KQL_OR,
	KQL_NOT,
	KQL_IS,			/* field equals any of n values */
	KQL_RANGE,
	KQL_NESTED,
};

enum kql_op { KQL_LT, KQL_LE, KQL_GT, KQL_GE };

struct kql_node {
	enum kql_kind kind;
	int col;		/* 1-based column where the node starts */
	struct kql_node *next;	/* sibling, while parsing */
	union {
		struct {
			struct kql_node **kid;
			size_t n;
		} list;
		struct kql_node *sub;
		struct {
			struct kql_field field;
			struct kql_value *val;
			size_t n;
		} is;
		struct {
			struct kql_field field;
			enum kql_op op;
			struct kql_value val;
		} range;
		struct {
			struct kql_field field;
			struct kql_node *inner;
		} nested;
	};
};

struct fd_kql {
	struct kql_arena arena;
	struct kql_node *root;
	const char **fields;	/* distinct field paths, NULL-terminated */
	size_t nfields;
};

/* ---- lexer ---- */

struct kql_lex {
	const char *src;
	size_t len;
	size_t pos;
	struct kql_arena *arena;
	struct fd_diag *diag;
	/* scratch for decoding one literal */
	char *buf;
	unsigned char *wbuf;
	size_t cap;
	/* column cache: col_n is the column of byte col_off */
	size_t col_off;
	int col_n;
	/* the last literal read, for better messages */
	struct kql_lit last;
	bool have_last;
};

void kql_lex_init(struct kql_lex *lx, const char *src, struct kql_arena *a,
		  struct fd_diag *diag);
void kql_lex_release(struct kql_lex *lx);

int kql_col(struct kql_lex *lx, size_t off);
int kql_error(struct kql_lex *lx, enum fd_err err, size_t off,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Byte at pos (0 at the end). */
static inline unsigned char kql_peek(const struct kql_lex *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->src[lx->pos] : 0;
}

size_t kql_skip_space(struct kql_lex *lx);
bool kql_eat_or(struct kql_lex *lx);
bool kql_eat_and(struct kql_lex *lx);
bool kql_eat_not(struct kql_lex *lx);
bool kql_at_keyword(const struct kql_lex *lx, size_t off, size_t *kwlen);
int kql_read_literal(struct kql_lex *lx, struct kql_lit *out);
size_t kql_token_end(const struct kql_lex *lx, size_t off);

/* ---- evaluator helpers ---- */

bool kql_parse_number(const char *s, size_t len, double *out);

#endif
