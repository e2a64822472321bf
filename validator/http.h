/*
 * http.h - the live backends' one HTTP client (libcurl), and the error
 * classes every backend failure falls into.
 *
 * A struct fd_http is one base URL with its credentials and TLS settings.
 * fd_http_call() sends one request and sorts every outcome into an enum
 * fd_err that tells the validator what to do next:
 *
 *   0                 2xx: the answer is in resp
 *   -FD_ERR_NETWORK   connection refused or dropped, timeout, 429, 5xx:
 *                     worth asking again later (diag.retry_after is set
 *                     when the server said how long to wait)
 *   -FD_ERR_BACKEND   an answer that is not what the API documents
 *                     (malformed JSON is found by the caller)
 *   -FD_ERR_AUTH      401 or 403: asking again cannot help
 *   -FD_ERR_TLS       the server's certificate is not trusted
 *   -FD_ERR_NOTFOUND  404
 *   -FD_ERR_INVALID   400, a bad URL
 *
 * The credentials travel in the Authorization header only; any message
 * built from a server's answer is scrubbed of them before it is returned,
 * and redirects are never followed (they could carry the header to
 * another host).
 */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"
#include "live.h"

struct fd_http {
	void *curl;		/* CURL * */
	void *headers;		/* struct curl_slist * */
	char base[1024];	/* scheme://host:port[/path], no slash at end */
	char auth[1024];	/* "Authorization: ..." or "" */
	const char *secrets[3];	/* scrubbed from every message */
	char encoded[768];	/* the key or user:password, base64 */
};

struct fd_http_resp {
	long status;
	char *body;		/* NUL-terminated; free with fd_http_resp_free */
	size_t len;
	double retry_after;	/* from Retry-After; 0: none */
};

/*
 * Set up h for base_url: refuses a URL that is not http(s) or that
 * carries credentials (they belong in the environment, not in a URL
 * that gets printed).  kibana adds the kbn-xsrf and elastic-api-version
 * headers.
 */
int fd_http_open(struct fd_http *h, const char *base_url,
		 const struct fd_live_cfg *cfg, int kibana,
		 struct fd_diag *diag);
void fd_http_close(struct fd_http *h);

/*
 * One request: method and path (appended to the base URL; must start
 * with '/'), an optional body of content type ctype.  what names the call
 * in messages ("alert search").  Returns 0 for a 2xx answer, else a
 * negative enum fd_err as above, with diag saying what the server said.
 * resp holds whatever answer came (release it with fd_http_resp_free
 * whatever the result).
 */
int fd_http_call(struct fd_http *h, const char *what, const char *method,
		 const char *path, const char *ctype, const char *body,
		 size_t len, struct fd_http_resp *resp, struct fd_diag *diag);

/* fd_http_call() and a JSON parse of the answer: *out owned by caller.
 * Malformed JSON is -FD_ERR_BACKEND. */
int fd_http_json(struct fd_http *h, const char *what, const char *method,
		 const char *path, const cJSON *body, cJSON **out,
		 struct fd_diag *diag);

void fd_http_resp_free(struct fd_http_resp *r);

/* The message in an error body: Boom ({"statusCode","error","message"}),
 * Security Solution ({"message","status_code"}) or Elasticsearch
 * ({"error":{"type","reason"},"status"}); NULL when none. */
const char *fd_http_error_message(const cJSON *body, char *buf,
				  size_t len);

/* Replace every occurrence of each non-empty secret in msg (in place). */
void fd_http_scrub(char *msg, size_t cap, const char *const *secrets,
		   size_t n);

/* Seconds from a Retry-After value (delta-seconds or an HTTP date);
 * 0 when absent or unreadable. */
double fd_http_retry_after(const char *value, double now);

/* Percent-encode text for a query string into buf; returns buf. */
const char *fd_http_escape(const char *text, char *buf, size_t len);

#endif
