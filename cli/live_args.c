/*
 * live_args.c - resolve the live backends' flags and environment into a
 * struct fd_live_cfg and the polling options, refusing bad values with a
 * message that names the flag.
 */
#include "live_args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "files.h"

static const char *flag_or_env(const char *flag, const char *env)
{
	const char *v = flag ? flag : getenv(env);

	return v && *v ? v : NULL;
}

/* A duration in seconds: a finite number, >= 0 (> 0 when positive). */
static int seconds(const char *text, const char *name, bool positive,
		   double *out)
{
	char *end;
	double v;

	if (!text)
		return 0;
	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v < 0 ||
	    (positive && v == 0) || v > 7 * 86400) {
		fd_cli_error("%s: '%s' is not a number of seconds%s", name,
			     text, positive ? " above 0" : "");
		return -1;
	}
	*out = v;
	return 0;
}

static int read_key_file(struct fd_cli_live *l, const char *path)
{
	FILE *f = fd_fopen_regular(path);
	struct stat st;
	size_t n;

	if (!f) {
		fd_cli_error("--api-key-file: cannot read '%s': %s", path,
			     strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0004))
		fd_cli_error("warning: the API key file '%s' is readable by "
			     "every user", path);
	n = fread(l->key, 1, sizeof(l->key) - 1, f);
	fclose(f);
	l->key[n] = '\0';
	/* one line; surrounding space is not part of the key */
	l->key[strcspn(l->key, "\r\n")] = '\0';
	while (n > 0 && isspace((unsigned char)l->key[strlen(l->key) - 1]))
		l->key[strlen(l->key) - 1] = '\0', n--;
	if (!l->key[0]) {
		fd_cli_error("--api-key-file: '%s' holds no key", path);
		return -1;
	}
	l->cfg.api_key = l->key;
	return 0;
}

static int resolve_numbers(struct fd_cli_live *l)
{
	const char *timeout = flag_or_env(l->timeout, "FIREDRILL_TIMEOUT");
	char *end;
	long n;

	l->vo.ingest_margin_s = -1;	/* the validator's default */
	if (seconds(timeout, "--timeout", true, &l->cfg.timeout_s) < 0 ||
	    seconds(l->deadline, "--deadline", true, &l->vo.deadline_s) < 0 ||
	    seconds(l->margin, "--ingest-margin", false,
		    &l->vo.ingest_margin_s) < 0 ||
	    seconds(l->poll, "--poll", true, &l->vo.poll_min_s) < 0 ||
	    seconds(l->poll_max, "--poll-max", true, &l->vo.poll_max_s) < 0)
		return -1;
	if (l->retries) {
		errno = 0;
		n = strtol(l->retries, &end, 10);
		if (end == l->retries || *end || errno || n < 0 || n > 100) {
			fd_cli_error("--retries: '%s' is not a number from 0 "
				     "to 100", l->retries);
			return -1;
		}
		l->vo.retries = n == 0 ? -1 : (int)n;
	}
	return 0;
}

int fd_cli_live_resolve(struct fd_cli_live *l, const char *backend)
{
	bool live = backend && strcmp(backend, "embedded");
	const char *key_file;

	memset(&l->cfg, 0, sizeof(l->cfg));
	memset(&l->vo, 0, sizeof(l->vo));
	if (resolve_numbers(l) < 0)
		return FD_EXIT_USAGE;
	if (l->telemetry && strcmp(l->telemetry, "push")) {
		fd_cli_error("--telemetry: '%s' is not known (known: push)",
			     l->telemetry);
		return FD_EXIT_USAGE;
	}
	l->push = l->telemetry != NULL;
	if (!live && (l->push || l->close_alerts)) {
		fd_cli_error("%s needs a live backend (--backend kibana or "
			     "--backend elasticsearch)", l->push ?
			     "--telemetry push" : "--close-alerts");
		return FD_EXIT_USAGE;
	}
	l->cfg.kibana_url = flag_or_env(l->kibana_url,
					"FIREDRILL_KIBANA_URL");
	l->cfg.es_url = flag_or_env(l->es_url, "FIREDRILL_ES_URL");
	l->cfg.space = flag_or_env(l->space, "FIREDRILL_SPACE");
	l->cfg.ca_file = flag_or_env(l->ca_file, "FIREDRILL_CA_FILE");
	l->cfg.ds_namespace = l->ds_namespace;
	l->cfg.user = flag_or_env(NULL, "FIREDRILL_USER");
	l->cfg.password = flag_or_env(NULL, "FIREDRILL_PASSWORD");
	key_file = flag_or_env(l->api_key_file, "FIREDRILL_API_KEY_FILE");
	if (key_file && read_key_file(l, key_file) < 0)
		return FD_EXIT_USAGE;
	if (!key_file)
		l->cfg.api_key = flag_or_env(NULL, "FIREDRILL_API_KEY");
	if (l->cfg.ca_file && access(l->cfg.ca_file, R_OK) != 0) {
		fd_cli_error("--ca-file: cannot read '%s': %s",
			     l->cfg.ca_file, strerror(errno));
		return FD_EXIT_USAGE;
	}
	if (backend && !strcmp(backend, "kibana") && !l->cfg.kibana_url) {
		fd_cli_error("the kibana backend needs --kibana-url (or "
			     "FIREDRILL_KIBANA_URL)");
		return FD_EXIT_USAGE;
	}
	if (backend && !strcmp(backend, "elasticsearch") && !l->cfg.es_url) {
		fd_cli_error("the elasticsearch backend needs --es-url (or "
			     "FIREDRILL_ES_URL)");
		return FD_EXIT_USAGE;
	}
	if (l->ds_namespace &&
	    (strspn(l->ds_namespace, "abcdefghijklmnopqrstuvwxyz0123456789_")
	     != strlen(l->ds_namespace) || !*l->ds_namespace ||
	     strlen(l->ds_namespace) > 100)) {
		fd_cli_error("--namespace: '%s' is not a data stream "
			     "namespace (a-z, 0-9 and _)", l->ds_namespace);
		return FD_EXIT_USAGE;
	}
	if (l->push && !l->cfg.es_url) {
		fd_cli_error("--telemetry push needs --es-url (or "
			     "FIREDRILL_ES_URL)");
		return FD_EXIT_USAGE;
	}
	return 0;
}

void fd_cli_live_release(struct fd_cli_live *l)
{
	volatile char *p = l->key;

	for (size_t i = 0; i < sizeof(l->key); i++)
		p[i] = 0;
	l->cfg.api_key = NULL;
	l->cfg.password = NULL;
}
