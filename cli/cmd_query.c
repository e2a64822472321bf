/*
 * cmd_query.c - `firedrill query`: run one KQL or EQL query over an NDJSON
 * file of events and print the 1-based line numbers of the matches.
 *
 * The events are read one line at a time (constant memory whatever the
 * file's size).  A query that does not parse is a usage error that points
 * at its column: query:1:COLUMN: message.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "opts.h"
#include "query.h"

static const struct fd_cmd_help help = {
	"firedrill query --language kql|eql --query QUERY --events FILE",
	"Evaluate QUERY against every event (one JSON object a line) in FILE\n"
	"('-' for standard input) and print the 1-based line number of each\n"
	"matching event, one a line.  Blank lines count as lines and never\n"
	"match.",
	"exit status: 0 the query ran (with or without matches); 2 usage\n"
	"error, a query that does not parse (query:1:COLUMN: message) or a\n"
	"line that is not a JSON object (FILE:LINE: message).\n\n"
	"example:\n"
	"  firedrill query --language kql \\\n"
	"    --query 'process.name:defaults and process.args:ShadowHashData' \\\n"
	"    --events events.ndjson",
};

static int blank(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return *s == '\0';
}

static int scan(const struct fd_query *q, FILE *in, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int status = FD_EXIT_PASS;

	while ((len = getline(&line, &cap, in)) >= 0) {
		cJSON *doc;

		lineno++;
		if (blank(line))
			continue;
		doc = cJSON_ParseWithLength(line, (size_t)len);
		if (!doc || !cJSON_IsObject(doc)) {
			fprintf(stderr, "%s:%lu: not a JSON object\n", name,
				lineno);
			cJSON_Delete(doc);
			status = FD_EXIT_USAGE;
			break;
		}
		if (fd_query_match(q, doc))
			printf("%lu\n", lineno);
		cJSON_Delete(doc);
	}
	if (status == FD_EXIT_PASS && ferror(in)) {
		fprintf(stderr, "%s: read error\n", name);
		status = FD_EXIT_ERROR;
	}
	free(line);
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
	status = scan(q, in, events);
	if (in != stdin)
		fclose(in);
	fd_query_free(q);
	return status;
}
