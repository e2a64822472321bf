/*
 * eql_int.h - EQL internals shared by the lexer, parser, evaluator,
 * functions, regular expressions and the sequence engine.
 *
 * A compiled query owns one arena holding its tokens, tree, constants and
 * prepared patterns.  The tree is checked and folded at compile time; each
 * basic predicate (a comparison, `:`, like, regex, in, or a function used
 * as a condition) is wrapped in an EQL_N_PRED node that lists the fields it
 * reads, so evaluation can try every value of every field without
 * allocating.
 */
#ifndef FD_EQL_INT_H
#define FD_EQL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eql.h"
#include "fd_err.h"

/* Deepest nesting of parentheses, not and unary operators in a query. */
#define EQL_MAX_DEPTH 128
/* Most distinct fields one basic predicate may read. */
#define EQL_MAX_SLOTS 16
/* Most filters ([...] terms, until included) in a sequence or sample. */
#define EQL_MAX_TERMS 64
/* Most stages of a sequence once `with runs` is expanded (runs is 100 at
 * most; each join key holds stages * stages / 2 event indexes). */
#define EQL_MAX_STAGES 256
/* Most states of one compiled regular expression. */
#define EQL_RE_MAX_STATES 2048

/* ---- arena: every compile-time allocation, freed at once ---- */

struct eql_block;

struct eql_arena {
	struct eql_block *head;
};

void *eql_alloc(struct eql_arena *a, size_t size);	/* zeroed */
char *eql_memdup(struct eql_arena *a, const void *src, size_t len);
void eql_arena_free(struct eql_arena *a);

/* ---- UTF-8 text and case folding ---- */

/* Decode the code point at s[i] (i < n) into *cp; returns the next index.
 * A byte that does not start valid UTF-8 decodes as 0xDC00 + byte. */
size_t eql_utf8_next(const char *s, size_t n, size_t i, uint32_t *cp);
/* Encode cp into out (4 bytes at most); returns the length. */
size_t eql_utf8_put(uint32_t cp, char *out);
/* Number of code points in s. */
size_t eql_utf8_count(const char *s, size_t n);
/* Byte offset of code point number k (or n when k is past the end). */
size_t eql_utf8_offset(const char *s, size_t n, size_t k);

/* Simple lower-case mapping (ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic, fullwidth Latin); it never changes the UTF-8 length. */
uint32_t eql_fold(uint32_t cp);
/* Fold s into out, which has room for n bytes. */
void eql_fold_str(const char *s, size_t n, char *out);
/* Does s, folded, equal p (already folded)? */
bool eql_ci_equal(const char *s, size_t n, const char *p, size_t pn);
/* Byte offset of the first occurrence of p in s at or after byte `from`,
 * or -1; ci folds s (p is already folded when ci). */
long eql_find(const char *s, size_t n, size_t from, const char *p, size_t pn,
	      bool ci);
/* Byte offset of the last occurrence of p in s, or -1. */
long eql_rfind(const char *s, size_t n, const char *p, size_t pn, bool ci);

/* ---- wildcard patterns (like, like~, :) ---- */

enum eql_wild_kind {
	EQL_W_EXACT,		/* no wildcard */
	EQL_W_PREFIX,		/* lit* */
	EQL_W_SUFFIX,		/* *lit */
	EQL_W_CONTAINS,		/* *lit* */
	EQL_W_ANY,		/* only stars */
	EQL_W_STARS,		/* lit*lit*...: stars, no '?' */
	EQL_W_GENERAL
};

struct eql_wild {
	enum eql_wild_kind kind;
	bool ci;
	const char *pat;	/* folded when ci */
	size_t len;
	const char *lit;	/* the literal part for the simple kinds */
	size_t litlen;
};

void eql_wild_prepare(struct eql_wild *w, const char *pat, size_t len,
		      bool ci);
bool eql_wild_match(const struct eql_wild *w, const char *s, size_t n);
/* Prefix and suffix tests; p is already folded when ci. */
bool eql_starts_with(const char *s, size_t n, const char *p, size_t pn,
		     bool ci);
bool eql_ends_with(const char *s, size_t n, const char *p, size_t pn,
		   bool ci);

/* ---- regular expressions (Lucene syntax, anchored) ---- */

struct eql_regex;

/*
 * Compile a Lucene regular expression; ci folds ASCII letters (as
 * Elasticsearch's case_insensitive regexp does).  Returns 0, or
 * -FD_ERR_SYNTAX / -FD_ERR_UNSUPPORTED with a message in err.
 */
int eql_regex_compile(struct eql_arena *a, const char *pat, size_t len,
		      bool ci, struct eql_regex **out, char *err,
		      size_t errlen);
bool eql_regex_match(const struct eql_regex *re, const char *s, size_t n);

/* ---- values ---- */

enum eql_type {
	EQL_NULL,
	EQL_BOOL,
	EQL_LONG,
	EQL_DOUBLE,
	EQL_STR
};

struct eql_val {
	enum eql_type t;
	union {
		bool b;
		int64_t l;
		double d;
		struct {
			const char *p;
			size_t n;
		} s;
	} u;
};

/* Static types, for compile-time checks. */
enum eql_stype {
	EQL_ST_ANY,		/* a field: known only per event */
	EQL_ST_NULL,
	EQL_ST_BOOL,
	EQL_ST_NUM,
	EQL_ST_STR
};

/* ---- tokens ---- */

enum eql_tok {
	EQL_T_EOF,
	EQL_T_IDENT,
	EQL_T_QIDENT,		/* `back quoted` */
	EQL_T_TIDENT,		/* name~ (a case-insensitive function) */
	EQL_T_STRING,
	EQL_T_INT,
	EQL_T_DEC,
	/* keywords */
	EQL_T_AND,
	EQL_T_ANY,
	EQL_T_BY,
	EQL_T_FALSE,
	EQL_T_IN,
	EQL_T_IN_CI,
	EQL_T_JOIN,
	EQL_T_LIKE,
	EQL_T_LIKE_CI,
	EQL_T_MAXSPAN,
	EQL_T_NOT,
	EQL_T_NULL,
	EQL_T_OF,
	EQL_T_OR,
	EQL_T_REGEX,
	EQL_T_REGEX_CI,
	EQL_T_SAMPLE,
	EQL_T_SEQUENCE,
	EQL_T_TRUE,
	EQL_T_UNTIL,
	EQL_T_WHERE,
	EQL_T_WITH,
	/* punctuation */
	EQL_T_SEQ,		/* : */
	EQL_T_ASGN,		/* = */
	EQL_T_EQ,
	EQL_T_NEQ,
	EQL_T_LT,
	EQL_T_LTE,
	EQL_T_GT,
	EQL_T_GTE,
	EQL_T_PLUS,
	EQL_T_MINUS,
	EQL_T_STAR,
	EQL_T_SLASH,
	EQL_T_PERCENT,
	EQL_T_DOT,
	EQL_T_COMMA,
	EQL_T_LB,
	EQL_T_RB,
	EQL_T_LP,
	EQL_T_RP,
	EQL_T_PIPE,
	EQL_T_OPTIONAL,		/* ? */
	EQL_T_MISSING,		/* ![ */
	EQL_T_LAST
};

struct eql_token {
	enum eql_tok type;
	int line, col;		/* 1-based, col in characters */
	size_t off, len;	/* raw span in the query */
	char *text;		/* decoded name or string, NUL-terminated */
	size_t tlen;
	int64_t l;		/* EQL_T_INT */
	double d;		/* EQL_T_DEC */
};

/* Human name of a token type, for messages ("')'", "a string"). */
const char *eql_tok_name(enum eql_tok t);

/* Tokenize src into an arena array ending with EQL_T_EOF. */
int eql_lex(struct eql_arena *a, const char *src, struct eql_token **toks,
	    size_t *ntoks, struct fd_diag *diag);

/* ---- the tree ---- */

enum eql_kind {
	EQL_N_CONST,
	EQL_N_FIELD,
	EQL_N_NEG,
	EQL_N_NOT,
	EQL_N_AND,
	EQL_N_OR,
	EQL_N_ARITH,
	EQL_N_CMP,
	EQL_N_ISNULL,
	EQL_N_WILD,		/* :, like, like~ */
	EQL_N_REGEX,		/* regex, regex~ */
	EQL_N_IN,		/* in, in~ */
	EQL_N_CALL,
	EQL_N_PRED
};

enum eql_op {
	EQL_OP_ADD,
	EQL_OP_SUB,
	EQL_OP_MUL,
	EQL_OP_DIV,
	EQL_OP_MOD,
	EQL_OP_EQ,
	EQL_OP_LT,
	EQL_OP_LE,
	EQL_OP_GT,
	EQL_OP_GE
};

struct eql_func;

struct eql_node {
	enum eql_kind kind;
	int line, col;
	enum eql_stype stype;
	bool has_field;		/* reads a field somewhere below */
	enum eql_op op;
	bool ci;		/* ~ forms, like~, :, in~, regex~ */
	struct eql_node *a, *b;
	/* EQL_N_CONST */
	struct eql_val v;
	/* EQL_N_FIELD */
	const char *path;
	bool optional;
	int slot;
	/* EQL_N_WILD, EQL_N_REGEX, EQL_N_IN: the constant list */
	size_t n;
	struct eql_wild *wild;
	struct eql_regex **re;
	struct eql_val *vals;	/* folded copies for in~ */
	/* EQL_N_CALL */
	const struct eql_func *fn;
	struct eql_node **args;
	size_t nargs;
	void *prep;		/* per-function compile-time data */
	/* EQL_N_PRED */
	const char *paths[EQL_MAX_SLOTS];
	int nslots;
	bool simple;		/* one field compared with constants */
};

/* ---- evaluation ---- */

struct eql_term;

/* Room for function results (concat, string, substring...) built while one
 * predicate is evaluated; a small stack buffer, heap beyond it. */
struct eql_scratch {
	char *buf;
	size_t cap, used;
	void *heap;		/* chain of overflow blocks */
};

struct eql_env {
	const struct eql_val *slot;
	struct eql_scratch *sc;
};

char *eql_scratch_get(struct eql_scratch *sc, size_t n);
void eql_scratch_release(struct eql_scratch *sc);

/* Evaluate a value-level node. */
void eql_eval(const struct eql_node *n, const struct eql_env *env,
	      struct eql_val *out);
/* Truth of a boolean-level node (and, or, not, constants, predicates). */
bool eql_cond(const struct eql_node *n, const cJSON *doc,
	      struct eql_scratch *sc);
/* Does the event match one filter (category and condition)? */
bool eql_term_match(const struct eql_term *t, const cJSON *doc,
		    struct eql_scratch *sc);
/* x OP y for + - * / %; null when an operand is not a number, on division
 * by zero and on 64-bit overflow. */
void eql_arith(enum eql_op op, const struct eql_val *x,
	       const struct eql_val *y, struct eql_val *out);
/* Does the event's event.category hold category (NULL: any)? */
bool eql_category_match(const cJSON *doc, const char *cat, size_t len);
/* Compare two values: -1, 0, 1, or 2 when they cannot be compared. */
int eql_compare(const struct eql_val *x, const struct eql_val *y);
/* Value of a cJSON leaf; false for objects and null. */
bool eql_val_from_json(const cJSON *j, struct eql_val *v);
/* Text of a number or boolean into buf (32 bytes); returns the length. */
size_t eql_format(const struct eql_val *v, char *buf);

/* ---- functions ---- */

struct eql_check {
	struct eql_arena *arena;
	struct fd_diag *diag;
};

struct eql_func {
	const char *name;	/* matched without regard to case */
	unsigned char min_args, max_args;	/* max 255: no limit */
	bool tilde;		/* has a case-insensitive ~ form */
	enum eql_stype result;
	/* Argument types, one letter each: s string, n number, b boolean,
	 * v any; a final '+' repeats the letter before it. */
	const char *sig;
	/* Compile-time checks and preparation; 0 or a negative fd_err. */
	int (*check)(struct eql_node *call, struct eql_check *ck);
	struct eql_val (*eval)(const struct eql_node *call,
			       const struct eql_env *env);
};

const struct eql_func *eql_func_find(const char *name, size_t len);

/* ---- compiled query ---- */

enum eql_qkind {
	EQL_Q_EVENT,
	EQL_Q_SEQUENCE,
	EQL_Q_SAMPLE
};

enum eql_role {
	EQL_ROLE_STAGE,
	EQL_ROLE_MISSING,
	EQL_ROLE_UNTIL
};

struct eql_key {
	const char *path;
	bool optional;
};

/* One event filter: `category where condition`, with its join keys. */
struct eql_term {
	const char *category;	/* NULL for any */
	size_t catlen;
	struct eql_node *cond;
	struct eql_key *keys;	/* sequence-level keys first, then own */
	size_t nkeys;
	enum eql_role role;
	unsigned runs;
	int line, col;
};

struct eql_pipe {
	bool tail;		/* else head */
	int64_t n;
};

struct fd_eql {
	struct eql_arena arena;
	enum eql_qkind kind;
	struct eql_term *terms;
	size_t nterms;
	int64_t maxspan_ms;	/* -1: none */
	struct eql_pipe *pipes;
	size_t npipes;
	const char **fields;
	size_t nfields;
	/* sequences, with runs expanded: positive stages in order */
	size_t npos;
	int *pos_term;		/* term of each positive stage */
	int until_term;		/* -1: none */
	bool *gap_used;		/* npos + 1 gaps: before stage 0 .. after */
	int *missing_gap;	/* per term: its gap, or -1 */
};

/* Parse and check; fills q (arena already set up). */
int eql_parse(struct fd_eql *q, const char *text, struct fd_diag *diag);

/* Parse an @timestamp value (ISO 8601 text or epoch milliseconds). */
bool eql_parse_time(const cJSON *j, int64_t *ms);

#endif
