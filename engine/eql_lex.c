/*
 * eql_lex.c - EQL's lexer: the whole query becomes an array of tokens.
 *
 * The rules are Elasticsearch's grammar (EqlBase.g4): lower-case keywords
 * only, identifiers that may start with '@', `back-quoted` names with ``
 * for a back quote, "..." strings with \b \t \n \f \r \" \' \\ and
 * \u{2-8 hex digits}, """raw""" strings on one line, // and nested block
 * comments.  Forms Elasticsearch refuses ('single quotes', ?"old raw",
 * 0x10) get a message saying what to write instead.  Every token keeps its
 * line and column (1-based, in characters).
 */
#include "eql_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	struct eql_arena *arena;
	struct fd_diag *diag;
	const char *src;
	size_t len, pos;
	int line, col;		/* of pos */
	struct eql_token *toks;
	size_t n, cap;
};

static const struct {
	const char *word;
	enum eql_tok tok;
} keywords[] = {
	{ "and", EQL_T_AND },	      { "any", EQL_T_ANY },
	{ "by", EQL_T_BY },	      { "false", EQL_T_FALSE },
	{ "in", EQL_T_IN },	      { "join", EQL_T_JOIN },
	{ "like", EQL_T_LIKE },	      { "maxspan", EQL_T_MAXSPAN },
	{ "not", EQL_T_NOT },	      { "null", EQL_T_NULL },
	{ "of", EQL_T_OF },	      { "or", EQL_T_OR },
	{ "regex", EQL_T_REGEX },     { "sample", EQL_T_SAMPLE },
	{ "sequence", EQL_T_SEQUENCE }, { "true", EQL_T_TRUE },
	{ "until", EQL_T_UNTIL },     { "where", EQL_T_WHERE },
	{ "with", EQL_T_WITH },
};

static const char *const tok_names[EQL_T_LAST] = {
	[EQL_T_EOF] = "end of query",
	[EQL_T_IDENT] = "a name",
	[EQL_T_QIDENT] = "a quoted name",
	[EQL_T_TIDENT] = "a function name",
	[EQL_T_STRING] = "a string",
	[EQL_T_INT] = "a number",
	[EQL_T_DEC] = "a number",
	[EQL_T_AND] = "'and'",
	[EQL_T_ANY] = "'any'",
	[EQL_T_BY] = "'by'",
	[EQL_T_FALSE] = "'false'",
	[EQL_T_IN] = "'in'",
	[EQL_T_IN_CI] = "'in~'",
	[EQL_T_JOIN] = "'join'",
	[EQL_T_LIKE] = "'like'",
	[EQL_T_LIKE_CI] = "'like~'",
	[EQL_T_MAXSPAN] = "'maxspan'",
	[EQL_T_NOT] = "'not'",
	[EQL_T_NULL] = "'null'",
	[EQL_T_OF] = "'of'",
	[EQL_T_OR] = "'or'",
	[EQL_T_REGEX] = "'regex'",
	[EQL_T_REGEX_CI] = "'regex~'",
	[EQL_T_SAMPLE] = "'sample'",
	[EQL_T_SEQUENCE] = "'sequence'",
	[EQL_T_TRUE] = "'true'",
	[EQL_T_UNTIL] = "'until'",
	[EQL_T_WHERE] = "'where'",
	[EQL_T_WITH] = "'with'",
	[EQL_T_SEQ] = "':'",
	[EQL_T_ASGN] = "'='",
	[EQL_T_EQ] = "'=='",
	[EQL_T_NEQ] = "'!='",
	[EQL_T_LT] = "'<'",
	[EQL_T_LTE] = "'<='",
	[EQL_T_GT] = "'>'",
	[EQL_T_GTE] = "'>='",
	[EQL_T_PLUS] = "'+'",
	[EQL_T_MINUS] = "'-'",
	[EQL_T_STAR] = "'*'",
	[EQL_T_SLASH] = "'/'",
	[EQL_T_PERCENT] = "'%'",
	[EQL_T_DOT] = "'.'",
	[EQL_T_COMMA] = "','",
	[EQL_T_LB] = "'['",
	[EQL_T_RB] = "']'",
	[EQL_T_LP] = "'('",
	[EQL_T_RP] = "')'",
	[EQL_T_PIPE] = "'|'",
	[EQL_T_OPTIONAL] = "'?'",
	[EQL_T_MISSING] = "'!['",
};

const char *eql_tok_name(enum eql_tok t)
{
	return t < EQL_T_LAST && tok_names[t] ? tok_names[t] : "a token";
}

static int lex_error(struct lexer *lx, int line, int col, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

static int lex_error(struct lexer *lx, int line, int col, const char *fmt,
		     ...)
{
	if (lx->diag) {
		va_list ap;

		lx->diag->line = line;
		lx->diag->col = col;
		va_start(ap, fmt);
		vsnprintf(lx->diag->msg, sizeof(lx->diag->msg), fmt, ap);
		va_end(ap);
	}
	return -FD_ERR_SYNTAX;
}

static int peekc(const struct lexer *lx, size_t k)
{
	return lx->pos + k < lx->len ? (unsigned char)lx->src[lx->pos + k]
				     : -1;
}

/* Move over one byte, keeping line and column (columns count characters,
 * so UTF-8 continuation bytes do not advance them). */
static void advance(struct lexer *lx)
{
	unsigned char c = (unsigned char)lx->src[lx->pos++];

	if (c == '\n') {
		lx->line++;
		lx->col = 1;
	} else if ((c & 0xC0) != 0x80) {
		lx->col++;
	}
}

static void advance_n(struct lexer *lx, size_t n)
{
	while (n-- && lx->pos < lx->len)
		advance(lx);
}

static bool is_letter(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_word(int c)
{
	return is_letter(c) || is_digit(c) || c == '_';
}

static struct eql_token *push(struct lexer *lx, enum eql_tok type,
			      size_t off, int line, int col)
{
	struct eql_token *t;

	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 64;
		struct eql_token *nt = eql_alloc(lx->arena, cap * sizeof(*nt));

		if (!nt)
			return NULL;
		if (lx->n)
			memcpy(nt, lx->toks, lx->n * sizeof(*nt));
		lx->toks = nt;
		lx->cap = cap;
	}
	t = &lx->toks[lx->n++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->off = off;
	t->line = line;
	t->col = col;
	t->len = lx->pos - off;
	return t;
}

/* Whitespace and comments; block comments nest as in the grammar. */
static int skip_blank(struct lexer *lx)
{
	for (;;) {
		int c = peekc(lx, 0);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			advance(lx);
		} else if (c == '/' && peekc(lx, 1) == '/') {
			while (lx->pos < lx->len && peekc(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peekc(lx, 1) == '*') {
			int line = lx->line, col = lx->col, depth = 0;

			do {
				int a = peekc(lx, 0), b = peekc(lx, 1);

				if (a < 0)
					return lex_error(lx, line, col,
						"unterminated comment: "
						"'/*' needs '*/'");
				if (a == '/' && b == '*') {
					depth++;
					advance_n(lx, 2);
				} else if (a == '*' && b == '/') {
					depth--;
					advance_n(lx, 2);
				} else {
					advance(lx);
				}
			} while (depth > 0);
		} else {
			return 0;
		}
	}
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \u{H...} at pos (the backslash); appends the UTF-8 bytes to out. */
static int lex_unicode(struct lexer *lx, char *out, size_t *olen)
{
	int line = lx->line, col = lx->col;
	uint32_t cp = 0;
	int digits = 0;

	advance_n(lx, 2);	/* \u */
	if (peekc(lx, 0) != '{')
		return lex_error(lx, line, col,
				 "invalid unicode escape: write \\u{hex}");
	advance(lx);
	while (hexval(peekc(lx, 0)) >= 0) {
		if (digits < 9)
			cp = cp << 4 | (uint32_t)hexval(peekc(lx, 0));
		digits++;
		advance(lx);
	}
	if (peekc(lx, 0) != '}')
		return lex_error(lx, line, col,
				 "invalid unicode escape: expected '}'");
	advance(lx);
	if (digits < 2 || digits > 8)
		return lex_error(lx, line, col,
				 "invalid unicode escape: \\u{...} takes 2 "
				 "to 8 hex digits");
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return lex_error(lx, line, col,
				 "invalid unicode escape: U+%04X is a "
				 "surrogate code point", (unsigned)cp);
	if (cp > 0x10FFFF)
		return lex_error(lx, line, col,
				 "invalid unicode escape: U+%X is past "
				 "U+10FFFF", (unsigned)cp);
	*olen += eql_utf8_put(cp, out + *olen);
	return 0;
}

/* "..." with escapes; no raw line breaks. */
static int lex_string(struct lexer *lx)
{
	size_t off = lx->pos;
	int line = lx->line, col = lx->col;
	struct eql_token *t;
	char *out;
	size_t olen = 0;

	/* A decoded string is never longer than its source text. */
	out = eql_alloc(lx->arena, lx->len - lx->pos + 1);
	if (!out)
		return -FD_ERR_NOMEM;
	advance(lx);
	for (;;) {
		int c = peekc(lx, 0);

		if (c < 0)
			return lex_error(lx, line, col,
					 "unterminated string: expected '\"'");
		if (c == '\r' || c == '\n')
			return lex_error(lx, line, col, "unterminated "
					 "string: a string cannot hold a line "
					 "break (write \\n)");
		if (c == '"')
			break;
		if (c != '\\') {
			out[olen++] = (char)c;
			advance(lx);
			continue;
		}
		c = peekc(lx, 1);
		switch (c) {
		case 'b': out[olen++] = '\b'; break;
		case 't': out[olen++] = '\t'; break;
		case 'n': out[olen++] = '\n'; break;
		case 'f': out[olen++] = '\f'; break;
		case 'r': out[olen++] = '\r'; break;
		case '"': out[olen++] = '"'; break;
		case '\'': out[olen++] = '\''; break;
		case '\\': out[olen++] = '\\'; break;
		case 'u': {
			int rc = lex_unicode(lx, out, &olen);

			if (rc < 0)
				return rc;
			continue;
		}
		default:
			if (c < 0)
				return lex_error(lx, line, col,
						 "unterminated string: "
						 "expected '\"'");
			return lex_error(lx, lx->line, lx->col,
					 "invalid escape sequence '\\%c' "
					 "(for a backslash write \\\\ or use "
					 "a \"\"\"raw string\"\"\")",
					 c < 0x20 || c > 0x7E ? '?' : c);
		}
		advance_n(lx, 2);
	}
	advance(lx);
	t = push(lx, EQL_T_STRING, off, line, col);
	if (!t)
		return -FD_ERR_NOMEM;
	out[olen] = '\0';
	t->text = out;
	t->tlen = olen;
	return 0;
}

/* """...""" on one line; up to two quotes before the closing """ belong to
 * the value ("""a"""" is a"). */
static int lex_raw_string(struct lexer *lx)
{
	size_t off = lx->pos, i, end;
	int line = lx->line, col = lx->col;
	struct eql_token *t;

	for (i = lx->pos + 3; i < lx->len; i++) {
		if (lx->src[i] == '\r' || lx->src[i] == '\n')
			break;
		if (lx->src[i] == '"' && i + 2 < lx->len &&
		    lx->src[i + 1] == '"' && lx->src[i + 2] == '"')
			break;
	}
	if (i >= lx->len || lx->src[i] != '"')
		return lex_error(lx, line, col,
				 "unterminated raw string: expected '\"\"\"' "
				 "on the same line");
	end = i + 3;
	if (end < lx->len && lx->src[end] == '"') {
		end++;
		if (end < lx->len && lx->src[end] == '"')
			end++;
	}
	advance_n(lx, end - lx->pos);
	t = push(lx, EQL_T_STRING, off, line, col);
	if (!t)
		return -FD_ERR_NOMEM;
	t->tlen = end - off - 6;
	t->text = eql_memdup(lx->arena, lx->src + off + 3, t->tlen);
	return t->text ? 0 : -FD_ERR_NOMEM;
}

/* `name` with `` for a back quote. */
static int lex_quoted_ident(struct lexer *lx)
{
	size_t off = lx->pos;
	int line = lx->line, col = lx->col;
	struct eql_token *t;
	char *out = eql_alloc(lx->arena, lx->len - lx->pos + 1);
	size_t olen = 0;

	if (!out)
		return -FD_ERR_NOMEM;
	advance(lx);
	for (;;) {
		int c = peekc(lx, 0);

		if (c < 0)
			return lex_error(lx, line, col,
					 "unterminated quoted name: "
					 "expected '`'");
		if (c == '`') {
			if (peekc(lx, 1) != '`')
				break;
			advance(lx);
		}
		out[olen++] = (char)c;
		advance(lx);
	}
	advance(lx);
	if (!olen)
		return lex_error(lx, line, col, "empty quoted name ``");
	t = push(lx, EQL_T_QIDENT, off, line, col);
	if (!t)
		return -FD_ERR_NOMEM;
	out[olen] = '\0';
	t->text = out;
	t->tlen = olen;
	return 0;
}

static int lex_word(struct lexer *lx)
{
	size_t off = lx->pos, n, i;
	int line = lx->line, col = lx->col;
	enum eql_tok type = EQL_T_IDENT;
	struct eql_token *t;
	bool tilde;

	advance(lx);
	while (is_word(peekc(lx, 0)))
		advance(lx);
	n = lx->pos - off;
	tilde = peekc(lx, 0) == '~';
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].word) == n &&
		    !memcmp(keywords[i].word, lx->src + off, n)) {
			type = keywords[i].tok;
			break;
		}
	}
	if (tilde) {
		advance(lx);
		if (type == EQL_T_IN)
			type = EQL_T_IN_CI;
		else if (type == EQL_T_LIKE)
			type = EQL_T_LIKE_CI;
		else if (type == EQL_T_REGEX)
			type = EQL_T_REGEX_CI;
		else
			type = EQL_T_TIDENT;
	}
	t = push(lx, type, off, line, col);
	if (!t)
		return -FD_ERR_NOMEM;
	t->text = eql_memdup(lx->arena, lx->src + off, n);
	t->tlen = n;
	return t->text ? 0 : -FD_ERR_NOMEM;
}

static int lex_number(struct lexer *lx)
{
	size_t off = lx->pos;
	int line = lx->line, col = lx->col;
	bool dec = false;
	struct eql_token *t;
	char buf[64];
	size_t n;

	while (is_digit(peekc(lx, 0)))
		advance(lx);
	if (peekc(lx, 0) == '.' && (lx->pos > off || is_digit(peekc(lx, 1)))) {
		dec = true;
		advance(lx);
		while (is_digit(peekc(lx, 0)))
			advance(lx);
	}
	if ((peekc(lx, 0) == 'e' || peekc(lx, 0) == 'E') &&
	    (is_digit(peekc(lx, 1)) ||
	     ((peekc(lx, 1) == '+' || peekc(lx, 1) == '-') &&
	      is_digit(peekc(lx, 2))))) {
		dec = true;
		advance_n(lx, 2);
		while (is_digit(peekc(lx, 0)))
			advance(lx);
	}
	n = lx->pos - off;
	if (!dec && n == 1 && lx->src[off] == '0' &&
	    (peekc(lx, 0) == 'x' || peekc(lx, 0) == 'X'))
		return lex_error(lx, line, col,
				 "hexadecimal number literals are not "
				 "supported; use number(\"0x...\")");
	if (n >= sizeof(buf))
		return lex_error(lx, line, col, "number too long");
	memcpy(buf, lx->src + off, n);
	buf[n] = '\0';
	t = push(lx, dec ? EQL_T_DEC : EQL_T_INT, off, line, col);
	if (!t)
		return -FD_ERR_NOMEM;
	errno = 0;
	if (dec) {
		t->d = strtod(buf, NULL);
	} else {
		t->l = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return lex_error(lx, line, col,
					 "number %s is too large", buf);
	}
	return 0;
}

/* Two-character operators first, then one-character ones. */
static int lex_punct(struct lexer *lx)
{
	static const struct {
		const char *text;
		enum eql_tok tok;
	} ops[] = {
		{ "==", EQL_T_EQ },  { "!=", EQL_T_NEQ }, { "<=", EQL_T_LTE },
		{ ">=", EQL_T_GTE }, { "![", EQL_T_MISSING },
		{ "=", EQL_T_ASGN }, { "<", EQL_T_LT },	  { ">", EQL_T_GT },
		{ ":", EQL_T_SEQ },  { "+", EQL_T_PLUS }, { "-", EQL_T_MINUS },
		{ "*", EQL_T_STAR }, { "/", EQL_T_SLASH },
		{ "%", EQL_T_PERCENT }, { ".", EQL_T_DOT },
		{ ",", EQL_T_COMMA }, { "[", EQL_T_LB }, { "]", EQL_T_RB },
		{ "(", EQL_T_LP },   { ")", EQL_T_RP },	  { "|", EQL_T_PIPE },
		{ "?", EQL_T_OPTIONAL },
	};
	size_t off = lx->pos, i;
	int line = lx->line, col = lx->col, c = peekc(lx, 0);

	if (c == '!' && peekc(lx, 1) == ':')
		return lex_error(lx, line, col,
				 "there is no '!:' operator; write "
				 "'not field : value'");
	if (c == '?' && (peekc(lx, 1) == '"' || peekc(lx, 1) == '\''))
		return lex_error(lx, line, col,
				 "?%c...%c strings are not supported; raw "
				 "strings use three double quotes "
				 "(\"\"\"...\"\"\")", peekc(lx, 1),
				 peekc(lx, 1));
	if (c == '\'')
		return lex_error(lx, line, col,
				 "single-quoted strings are not supported; "
				 "use double quotes");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].text);

		if (lx->pos + n <= lx->len &&
		    !memcmp(lx->src + lx->pos, ops[i].text, n)) {
			advance_n(lx, n);
			return push(lx, ops[i].tok, off, line, col) ?
				       0 : -FD_ERR_NOMEM;
		}
	}
	if (c >= 0x20 && c < 0x7F)
		return lex_error(lx, line, col, "unexpected character '%c'",
				 c);
	return lex_error(lx, line, col, "unexpected character (byte 0x%02X)",
			 (unsigned)c);
}

static int lex_one(struct lexer *lx)
{
	int c = peekc(lx, 0);

	if (c == '"') {
		if (peekc(lx, 1) == '"' && peekc(lx, 2) == '"')
			return lex_raw_string(lx);
		return lex_string(lx);
	}
	if (c == '`')
		return lex_quoted_ident(lx);
	if (is_letter(c) || c == '_' || c == '@')
		return lex_word(lx);
	if (is_digit(c) || (c == '.' && is_digit(peekc(lx, 1))))
		return lex_number(lx);
	return lex_punct(lx);
}

int eql_lex(struct eql_arena *a, const char *src, struct eql_token **toks,
	    size_t *ntoks, struct fd_diag *diag)
{
	struct lexer lx = {
		.arena = a, .diag = diag, .src = src, .len = strlen(src),
		.line = 1, .col = 1,
	};
	int rc;

	for (;;) {
		rc = skip_blank(&lx);
		if (rc < 0)
			return rc;
		if (lx.pos >= lx.len)
			break;
		rc = lex_one(&lx);
		if (rc < 0)
			return rc;
	}
	if (!push(&lx, EQL_T_EOF, lx.pos, lx.line, lx.col))
		return -FD_ERR_NOMEM;
	*toks = lx.toks;
	*ntoks = lx.n;
	return 0;
}
