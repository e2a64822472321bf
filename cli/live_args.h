/*
 * live_args.h - the flags and environment variables of the live backends
 * (kibana, elasticsearch), shared by `validate` and `run`.
 *
 * Flags win over environment variables.  The API key has no flag: a
 * flag's value shows in the process list, so the key comes from
 * FIREDRILL_API_KEY or from a file (--api-key-file).
 */
#ifndef FD_LIVE_ARGS_H
#define FD_LIVE_ARGS_H

#include <stdbool.h>

#include "live.h"
#include "validate.h"

struct fd_cli_live {
	/* as given on the command line */
	const char *kibana_url, *es_url, *space, *api_key_file, *ca_file;
	const char *timeout, *telemetry, *ds_namespace, *deadline;
	const char *margin, *poll, *poll_max, *retries;
	bool close_alerts;
	/* resolved by fd_cli_live_resolve() */
	struct fd_live_cfg cfg;
	struct fd_validate_opts vo;
	bool push;		/* --telemetry push */
	char key[1024];		/* read from the key file */
};

#define FD_OPT_LIVE(l)							\
	{ 0, "kibana-url", FD_OPT_STRING, &(l)->kibana_url, "URL",	\
	  "Kibana's URL [FIREDRILL_KIBANA_URL]" },			\
	{ 0, "es-url", FD_OPT_STRING, &(l)->es_url, "URL",		\
	  "Elasticsearch's URL [FIREDRILL_ES_URL]" },			\
	{ 0, "space", FD_OPT_STRING, &(l)->space, "ID",			\
	  "Kibana space (default: default) [FIREDRILL_SPACE]" },	\
	{ 0, "api-key-file", FD_OPT_STRING, &(l)->api_key_file, "FILE",	\
	  "read the API key from FILE [FIREDRILL_API_KEY_FILE]" },	\
	{ 0, "ca-file", FD_OPT_STRING, &(l)->ca_file, "FILE",		\
	  "also trust these CAs (PEM) [FIREDRILL_CA_FILE]" },		\
	{ 0, "timeout", FD_OPT_STRING, &(l)->timeout, "SECONDS",	\
	  "per request (default: 30) [FIREDRILL_TIMEOUT]" },		\
	{ 0, "telemetry", FD_OPT_STRING, &(l)->telemetry, "push",	\
	  "first index the run's events into Elasticsearch" },		\
	{ 0, "namespace", FD_OPT_STRING, &(l)->ds_namespace, "NAME",	\
	  "data stream namespace for a push (default: default)" },	\
	{ 0, "close-alerts", FD_OPT_FLAG, &(l)->close_alerts, NULL,	\
	  "close the matched alerts after the verdicts" },		\
	{ 0, "deadline", FD_OPT_STRING, &(l)->deadline, "SECONDS",	\
	  "wait at most this long for each expectation" },		\
	{ 0, "ingest-margin", FD_OPT_STRING, &(l)->margin, "SECONDS",	\
	  "time for an event to become searchable (default: 120)" },	\
	{ 0, "poll", FD_OPT_STRING, &(l)->poll, "SECONDS",		\
	  "first wait between polls (default: 2)" },			\
	{ 0, "poll-max", FD_OPT_STRING, &(l)->poll_max, "SECONDS",	\
	  "longest wait between polls (default: 30)" },		\
	{ 0, "retries", FD_OPT_STRING, &(l)->retries, "N",		\
	  "transient failures in a row before ERROR (default: 5)" }

/* The --help lines on the live backends' environment. */
#define FD_LIVE_HELP							\
	"live backends (--backend kibana | elasticsearch):\n"		\
	"  the API key comes from FIREDRILL_API_KEY or --api-key-file\n"	\
	"  (never a flag: flags show in the process list); or set\n"	\
	"  FIREDRILL_USER and FIREDRILL_PASSWORD for basic auth.  The\n"	\
	"  elasticsearch backend reads rule runs through Kibana when\n"	\
	"  --kibana-url is also given; without it a negative cannot be\n"	\
	"  proven.  The key is never printed.\n\n"

/*
 * Fill l->cfg and l->vo from the flags and the environment, for backend
 * (a name).  Returns 0, or FD_EXIT_USAGE after printing what is wrong.
 */
int fd_cli_live_resolve(struct fd_cli_live *l, const char *backend);

/* Forget the key. */
void fd_cli_live_release(struct fd_cli_live *l);

#endif
