/*
 * cmd_query.c - `firedrill query`: run one KQL or EQL query over an NDJSON
 * file of events and print the 1-based line numbers of the matches.
 *
 * The events are read a large block at a time and taken a line at a time
 * where they lie (constant memory whatever the file's size: the block
 * grows only to hold the longest line), and each line is checked whole
 * but built only as far as the fields the query reads (sparse.h), which
 * is most of the speed.  A query that does not parse is a usage error
 * that points at its column: query:1:COLUMN: message.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eql.h"
#include "opts.h"
#include "query.h"
#include "sparse.h"

static const struct fd_cmd_help help = {
	"firedrill query --language kql|eql --query QUERY --events FILE",
	"Evaluate QUERY against every event (one JSON object a line) in FILE\n"
	"('-' for standard input) and print the 1-based line number of each\n"
	"matching event, one a line.  Blank lines count as lines and never\n"
	"match.  For an EQL sequence (or sample), each line is one match:\n"
	"the line numbers of its events, in order, separated by spaces.",
	"exit status: 0 the query ran (with or without matches); 2 usage\n"
	"error, a query that does not parse (query:1:COLUMN: message) or a\n"
	"line that is not a JSON object (FILE:LINE: message).\n\n"
	"example:\n"
	"  firedrill query --language kql \\\n"
	"    --query 'process.name:defaults and process.args:ShadowHashData' \\\n"
	"    --events events.ndjson",
};

#define BLOCK (1 << 20)		/* bytes read at a time */

/* Blank as a C string: nothing but spaces, tabs and line ends before the
 * end or a NUL. */
static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len && s[i]; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

/* Lines read a block at a time and handed out in place. */
struct lines {
	int fd;
	char *buf;
	size_t cap, start, end;
	int eof, error;
};

/* The next line without its '\n', *len bytes; NULL at the end of the
 * input or on a read error (r->error). */
static char *next_line(struct lines *r, size_t *len)
{
	for (;;) {
		char *line = r->buf + r->start;
		char *nl = memchr(line, '\n', r->end - r->start);
		ssize_t n;

		if (nl || (r->eof && r->start < r->end)) {
			*len = nl ? (size_t)(nl - line) : r->end - r->start;
			r->start += *len + (nl != NULL);
			return line;
		}
		if (r->eof)
			return NULL;
		memmove(r->buf, line, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		if (r->end == r->cap) {
			char *nb = realloc(r->buf, r->cap * 2);

			if (!nb) {
				r->error = ENOMEM;
				return NULL;
			}
			r->buf = nb;
			r->cap *= 2;
		}
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->error = errno;
			return NULL;
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

/* The parser that builds what q reads; NULL when out of memory. */
static struct fd_sparse *sparse_for(const struct fd_query *q)
{
	struct fd_sparse *sp;
	const char *const *fields;
	size_t n;

	if (fd_sparse_new(&sp) < 0)
		return NULL;
	fields = fd_query_fields(q, &n);
	if (fd_sparse_add_list(sp, fields, n) < 0) {
		fd_sparse_free(sp);
		return NULL;
	}
	return sp;
}

/* Print one sequence: its events' line numbers (the stream's indexes). */
static int print_group(void *arg, const size_t *events, size_t n)
{
	(void)arg;
	for (size_t i = 0; i < n; i++)
		printf("%s%zu", i ? " " : "", events[i]);
	putchar('\n');
	return 0;
}

/* Hand a line to the query: matched alone, or pushed into its stream. */
static int take(const struct fd_query *q, struct fd_eql_stream *st,
		const cJSON *doc, unsigned long lineno)
{
	if (st)
		return fd_eql_stream_push(st, doc, lineno, print_group, NULL);
	if (fd_query_match(q, doc))
		printf("%lu\n", lineno);
	return 0;
}

static int scan(const struct fd_query *q, int fd, const char *name)
{
	struct fd_sparse *sp = sparse_for(q);
	struct fd_eql_stream *st = NULL;
	struct lines in = { .fd = fd, .cap = BLOCK };
	unsigned long lineno = 0;
	int status = FD_EXIT_PASS;
	char *line;
	size_t len;

	in.buf = malloc(in.cap);
	/* A file need not be in time order: the stream sorts at the end. */
	if (sp && fd_query_is_sequence(q) &&
	    fd_eql_stream_new(fd_query_eql(q), FD_EQL_STREAM_UNSORTED,
			      &st) < 0) {
		fd_sparse_free(sp);	/* reported as out of memory below */
		sp = NULL;
	}
	if (!sp || !in.buf) {
		fd_cli_error("query: out of memory");
		fd_sparse_free(sp);
		free(in.buf);
		return FD_EXIT_ERROR;
	}
	while ((line = next_line(&in, &len))) {
		const cJSON *doc;
		int rc;

		lineno++;
		if (blank(line, len))
			continue;
		rc = fd_sparse_parse(sp, line, len, &doc, NULL);
		if (rc == -FD_ERR_NOMEM) {
			fd_cli_error("query: out of memory");
			status = FD_EXIT_ERROR;
			break;
		}
		if (rc < 0 || !cJSON_IsObject(doc)) {
			fprintf(stderr, "%s:%lu: not a JSON object\n", name,
				lineno);
			status = FD_EXIT_USAGE;
			break;
		}
		if (take(q, st, doc, lineno) < 0) {
			fd_cli_error("query: out of memory");
			status = FD_EXIT_ERROR;
			break;
		}
	}
	if (st && status == FD_EXIT_PASS &&
	    fd_eql_stream_flush(st, print_group, NULL) < 0) {
		fd_cli_error("query: out of memory");
		status = FD_EXIT_ERROR;
	}
	fd_eql_stream_free(st);
	if (status == FD_EXIT_PASS && in.error) {
		fprintf(stderr, "%s: read error\n", name);
		status = FD_EXIT_ERROR;
	}
	free(in.buf);
	fd_sparse_free(sp);
	return status;
}

int fd_cmd_query(int argc, char **argv)
{
	const char *lang_name = NULL, *text = NULL, *events = NULL;
	struct fd_query *q = NULL;
	struct fd_diag d;
	FILE *in;
	bool shown;
	int first, lang, status;
	const struct fd_opt opts[] = {
		{ 'l', "language", FD_OPT_STRING, &lang_name, "LANG",
		  "kql (also: kuery) or eql" },
		{ 'q', "query", FD_OPT_STRING, &text, "QUERY",
		  "the query text" },
		{ 'e', "events", FD_OPT_STRING, &events, "FILE",
		  "NDJSON events, or - for standard input" },
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, &help, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	if (!lang_name || !text || !events || first < argc) {
		fd_cli_error("query: --language, --query and --events are "
			     "required, and nothing else");
		fd_opts_usage(stderr, opts, &help);
		return FD_EXIT_USAGE;
	}
	lang = fd_lang_from_name(lang_name);
	if (lang < 0) {
		fd_cli_error("query: unknown language '%s' (kql or eql)",
			     lang_name);
		return FD_EXIT_USAGE;
	}
	fd_diag_clear(&d);
	if (fd_query_compile((enum fd_lang)lang, text, &q, &d) < 0) {
		fprintf(stderr, "query:%d:%d: %s\n", d.line ? d.line : 1,
			d.col, d.msg);
		return FD_EXIT_USAGE;
	}
	in = strcmp(events, "-") ? fopen(events, "r") : stdin;
	if (!in) {
		fd_cli_error("cannot read '%s': %s", events, strerror(errno));
		fd_query_free(q);
		return FD_EXIT_USAGE;
	}
	status = scan(q, fileno(in), events);
	if (in != stdin)
		fclose(in);
	fd_query_free(q);
	return status;
}
