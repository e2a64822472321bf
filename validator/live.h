/*
 * live.h - the settings that the live backends (kibana, elasticsearch)
 * and the event push share: where the stack is, who we are, and how
 * long to wait.
 *
 * The CLI fills one struct fd_live_cfg from flags and environment
 * variables; the backends only read it.  Secrets (the API key, the
 * password) live here and nowhere else: the HTTP layer puts them in one
 * header and scrubs them from every message it hands back.
 */
#ifndef FD_LIVE_H
#define FD_LIVE_H

#include <stdbool.h>

struct fd_live_cfg {
	const char *kibana_url;	/* https://kibana:5601 */
	const char *es_url;	/* https://es:9200 */
	const char *space;	/* Kibana space id; NULL: "default" */
	const char *api_key;	/* base64 of id:key, or id:key */
	const char *user;	/* basic auth, when no API key */
	const char *password;
	const char *ca_file;	/* PEM bundle to trust; NULL: system's */
	double timeout_s;	/* per request; <= 0: 30 */
	double connect_timeout_s;	/* <= 0: 10 */
	const char *ds_namespace;	/* data stream namespace for a push;
					   NULL: "default" */
};

/* The space id, with its default. */
const char *fd_live_space(const struct fd_live_cfg *c);

#endif
