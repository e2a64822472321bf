/*
 * http.c - one libcurl easy handle per base URL, and the mapping from
 * everything that can go wrong on the wire to enum fd_err.
 *
 * Why each choice:
 * - TLS verification stays on (libcurl's default); --ca-file adds a
 *   bundle to trust instead of turning checks off.
 * - Only http and https, and no redirects: a redirect would carry the
 *   Authorization header to wherever it points.
 * - Answers are capped (MAX_BODY) so a broken proxy cannot eat memory.
 * - Messages quote the server's own error text (both of Kibana's shapes
 *   and Elasticsearch's), scrubbed of our secrets: a server that echoes
 *   the request headers must not make us print the key.
 */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#ifndef FD_VERSION
#define FD_VERSION "dev"
#endif

#define MAX_BODY (256L * 1024 * 1024)
#define MAX_RETRY_AFTER_S 600.0
#define SCRUBBED "[redacted]"

const char *fd_live_space(const struct fd_live_cfg *c)
{
	return c && c->space && *c->space ? c->space : "default";
}

static void base64(const char *in, char *out, size_t cap)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

void fd_http_scrub(char *msg, size_t cap, const char *const *secrets,
		   size_t n)
{
	char out[1024];

	if (cap > sizeof(out))
		cap = sizeof(out);
	for (size_t i = 0; i < n; i++) {
		const char *s = secrets[i], *p = msg, *at;
		size_t sl = s ? strlen(s) : 0, o = 0;

		/* Short secrets would scrub ordinary words; a key or a
		 * password shorter than 4 is refused at open. */
		if (sl < 4 || !strstr(msg, s))
			continue;
		while ((at = strstr(p, s)) && o < cap - 1) {
			size_t keep = (size_t)(at - p);

			o += (size_t)snprintf(out + o, cap - o, "%.*s%s",
					      (int)keep, p, SCRUBBED);
			if (o >= cap)
				o = cap - 1;
			p = at + sl;
		}
		if (o < cap - 1)
			snprintf(out + o, cap - o, "%s", p);
		out[cap - 1] = '\0';
		memcpy(msg, out, strlen(out) + 1);
	}
}

static int check_url(const char *url, struct fd_diag *d)
{
	const char *host;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%.200s' is not an http:// or https:// "
				   "URL", url);
	host = strstr(url, "://") + 3;
	if (strcspn(host, "@/") < strcspn(host, "/"))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "the URL carries credentials; give them in "
				   "FIREDRILL_API_KEY (or --api-key-file, or "
				   "FIREDRILL_USER and FIREDRILL_PASSWORD) "
				   "instead");
	if (!*host || *host == '/')
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%.200s' names no host", url);
	/* The API paths are appended: a query or fragment would swallow
	 * them, and a space is not a URL. */
	if (strpbrk(url, "?# \t\r\n"))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%.200s': give the base URL only (no query, "
				   "fragment or spaces)", url);
	if (strlen(url) >= sizeof(((struct fd_http *)0)->base))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "the URL is too long");
	return 0;
}

static int set_auth(struct fd_http *h, const struct fd_live_cfg *cfg,
		    struct fd_diag *d)
{
	char plain[512];

	h->auth[0] = '\0';
	if (cfg->api_key && *cfg->api_key) {
		if (strlen(cfg->api_key) < 4 ||
		    strlen(cfg->api_key) >= sizeof(plain))
			return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
					   "the API key is too %s",
					   strlen(cfg->api_key) < 4 ?
					   "short" : "long");
		/* "id:key" as Elasticsearch shows it, or the encoded form
		 * that the create-API-key call returns. */
		if (strchr(cfg->api_key, ':'))
			base64(cfg->api_key, h->encoded, sizeof(h->encoded));
		else
			snprintf(h->encoded, sizeof(h->encoded), "%s",
				 cfg->api_key);
		snprintf(h->auth, sizeof(h->auth),
			 "Authorization: ApiKey %s", h->encoded);
		h->secrets[0] = cfg->api_key;
		/* the key part of "id:key" is the secret half */
		if (strchr(cfg->api_key, ':'))
			h->secrets[2] = strchr(cfg->api_key, ':') + 1;
	} else if (cfg->user && *cfg->user) {
		if (!cfg->password || strlen(cfg->password) < 4)
			return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
					   "basic auth for '%s' needs "
					   "FIREDRILL_PASSWORD (4 characters "
					   "or more)", cfg->user);
		if ((size_t)snprintf(plain, sizeof(plain), "%s:%s",
				     cfg->user, cfg->password) >=
		    sizeof(plain))
			return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
					   "the user name or password is too "
					   "long");
		base64(plain, h->encoded, sizeof(h->encoded));
		snprintf(h->auth, sizeof(h->auth),
			 "Authorization: Basic %s", h->encoded);
		h->secrets[0] = cfg->password;
		memset(plain, 0, sizeof(plain));
	}
	h->secrets[1] = h->encoded[0] ? h->encoded : NULL;
	return 0;
}

int fd_http_open(struct fd_http *h, const char *base_url,
		 const struct fd_live_cfg *cfg, int kibana,
		 struct fd_diag *d)
{
	static int global_done;
	struct curl_slist *hd = NULL;
	CURL *c;
	int rc;

	memset(h, 0, sizeof(*h));
	if (!base_url || !*base_url)
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0, "no URL given");
	rc = check_url(base_url, d);
	if (rc == 0)
		rc = set_auth(h, cfg, d);
	if (rc < 0)
		return rc;
	snprintf(h->base, sizeof(h->base), "%s", base_url);
	while (h->base[0] && h->base[strlen(h->base) - 1] == '/')
		h->base[strlen(h->base) - 1] = '\0';
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return fd_diag_set(d, FD_ERR_NOMEM, 0, 0,
					   "libcurl could not start");
		global_done = 1;
	}
	c = curl_easy_init();
	if (!c)
		return fd_diag_set(d, FD_ERR_NOMEM, 0, 0,
				   "libcurl could not start");
	h->curl = c;
	hd = curl_slist_append(hd, "Accept: application/json");
	if (kibana) {
		hd = curl_slist_append(hd, "kbn-xsrf: firedrill");
		hd = curl_slist_append(hd, "elastic-api-version: 2023-10-31");
	}
	if (h->auth[0])
		hd = curl_slist_append(hd, h->auth);
	h->headers = hd;
	if (!hd)
		return fd_diag_set(d, FD_ERR_NOMEM, 0, 0, "out of memory");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "firedrill/" FD_VERSION);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file && *cfg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)((cfg->timeout_s > 0 ? cfg->timeout_s : 30) *
				1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)((cfg->connect_timeout_s > 0 ?
				 cfg->connect_timeout_s : 10) * 1000));
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)MAX_BODY);
	return 0;
}

void fd_http_close(struct fd_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	/* The encoded credentials are as good as the key. */
	memset(h->encoded, 0, sizeof(h->encoded));
	memset(h->auth, 0, sizeof(h->auth));
	h->curl = NULL;
	h->headers = NULL;
}

void fd_http_resp_free(struct fd_http_resp *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fd_http_resp *r = arg;
	size_t n = size * nmemb;
	char *grown;

	if (r->len + n + 1 > (size_t)MAX_BODY)
		return 0;
	grown = realloc(r->body, r->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + r->len, data, n);
	r->body = grown;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

double fd_http_retry_after(const char *value, double now)
{
	char *end;
	double s;
	time_t when;

	if (!value)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	s = strtod(value, &end);
	if (end != value && (*end == '\0' || isspace((unsigned char)*end)))
		return s > 0 ? (s > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S :
				s) : 0;
	when = curl_getdate(value, NULL);
	if (when < 0 || (double)when <= now)
		return 0;
	s = (double)when - now;
	return s > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : s;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fd_http_resp *r = arg;
	size_t n = size * nmemb;
	char line[256];

	if (n > 12 && n < sizeof(line) &&
	    !strncasecmp(data, "retry-after:", 12)) {
		memcpy(line, data + 12, n - 12);
		line[n - 12] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		r->retry_after = fd_http_retry_after(line, (double)time(NULL));
	}
	return n;
}

const char *fd_http_error_message(const cJSON *body, char *buf, size_t len)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(body, "message");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(body, "error");
	const cJSON *reason, *type;

	if (cJSON_IsString(msg) && *msg->valuestring) {
		snprintf(buf, len, "%s", msg->valuestring);
		return buf;
	}
	if (cJSON_IsObject(err)) {
		reason = cJSON_GetObjectItemCaseSensitive(err, "reason");
		type = cJSON_GetObjectItemCaseSensitive(err, "type");
		snprintf(buf, len, "%s%s%s",
			 cJSON_IsString(type) ? type->valuestring : "",
			 cJSON_IsString(type) && cJSON_IsString(reason) ?
			 ": " : "",
			 cJSON_IsString(reason) ? reason->valuestring : "");
		return buf[0] ? buf : NULL;
	}
	if (cJSON_IsString(err)) {
		snprintf(buf, len, "%s", err->valuestring);
		return buf;
	}
	return NULL;
}

/* Printable, one line, at most max bytes of a body we could not read. */
static void excerpt(const char *body, size_t len, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < cap && i < 120; i++)
		buf[o++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	if (len > 120 && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static int status_error(const char *what, struct fd_http_resp *r,
			struct fd_diag *d)
{
	char said[400] = "";
	cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	enum fd_err e;

	if (!fd_http_error_message(body, said, sizeof(said)) && r->body)
		excerpt(r->body, r->len, said, sizeof(said));
	cJSON_Delete(body);
	if (r->status == 401 || r->status == 403)
		e = FD_ERR_AUTH;
	else if (r->status == 404)
		e = FD_ERR_NOTFOUND;
	else if (r->status == 408 || r->status == 429 || r->status >= 500)
		e = FD_ERR_NETWORK;
	else if (r->status >= 400 || (r->status >= 300 && r->status < 400))
		e = FD_ERR_INVALID;	/* a redirect is not followed */
	else
		e = FD_ERR_BACKEND;
	d->retry_after = r->retry_after;
	return fd_diag_set(d, e, 0, 0, "%s: HTTP %ld%s%s%s", what, r->status,
			   r->status == 401 ? " (credentials refused)" :
			   r->status == 403 ? " (missing privileges)" : "",
			   said[0] ? ": " : "", said);
}

static int transport_error(const char *what, CURLcode cc, const char *eb,
			   struct fd_diag *d)
{
	enum fd_err e = FD_ERR_NETWORK;
	const char *hint = "";

	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		e = FD_ERR_TLS;
		hint = " (give the CA that signed it with --ca-file)";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		e = FD_ERR_TLS;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		e = FD_ERR_INVALID;
		break;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		e = FD_ERR_BACKEND;
		hint = " (the answer is too large)";
		break;
	default:
		break;
	}
	return fd_diag_set(d, e, 0, 0, "%s: %s%s%s%s", what,
			   curl_easy_strerror(cc), eb[0] ? ": " : "", eb,
			   hint);
}

/* Overwrite every secret in an answer, in place and before anything is
 * cut from it: a server that echoes the request must not get the key
 * into a message, whole or in part. */
static void mask_answer(const struct fd_http *h, struct fd_http_resp *r)
{
	for (size_t i = 0; r->body && i < 3; i++) {
		const char *s = h->secrets[i];
		size_t sl = s ? strlen(s) : 0;
		char *at = r->body;

		if (sl < 4)
			continue;
		while ((at = memmem(at, r->len - (size_t)(at - r->body), s,
				    sl))) {
			memset(at, '*', sl);
			at += sl;
		}
	}
}

int fd_http_call(struct fd_http *h, const char *what, const char *method,
		 const char *path, const char *ctype, const char *body,
		 size_t len, struct fd_http_resp *resp, struct fd_diag *d)
{
	CURL *c = h->curl;
	struct curl_slist *hd = h->headers, *extra = NULL;
	char url[4096], eb[CURL_ERROR_SIZE] = "", ct[128];
	CURLcode cc;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	d->retry_after = 0;
	if (snprintf(url, sizeof(url), "%s%s", h->base, path) >=
	    (int)sizeof(url))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0, "%s: URL too long",
				   what);
	if (ctype) {
		/* A per-call header list: the shared one, then this. */
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		for (struct curl_slist *p = h->headers; p; p = p->next)
			extra = curl_slist_append(extra, p->data);
		extra = curl_slist_append(extra, ct);
		if (!extra)
			return fd_diag_set(d, FD_ERR_NOMEM, 0, 0,
					   "out of memory");
		hd = extra;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, eb);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	}
	if (strcmp(method, body ? "POST" : "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(extra);
	mask_answer(h, resp);
	if (cc != CURLE_OK)
		rc = transport_error(what, cc, eb, d);
	else if (resp->status < 200 || resp->status > 299)
		rc = status_error(what, resp, d);
	if (rc < 0)
		fd_http_scrub(d->msg, sizeof(d->msg), h->secrets, 3);
	return rc;
}

int fd_http_json(struct fd_http *h, const char *what, const char *method,
		 const char *path, const cJSON *body, cJSON **out,
		 struct fd_diag *d)
{
	struct fd_http_resp r;
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	char seen[200];
	int rc;

	*out = NULL;
	if (body && !text)
		return fd_diag_set(d, FD_ERR_NOMEM, 0, 0, "out of memory");
	rc = fd_http_call(h, what, method, path,
			  text ? "application/json" : NULL, text,
			  text ? strlen(text) : 0, &r, d);
	free(text);
	if (rc < 0) {
		fd_http_resp_free(&r);
		return rc;
	}
	*out = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	if (!*out) {
		excerpt(r.body ? r.body : "", r.len, seen, sizeof(seen));
		rc = fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
				 "%s: the answer is not JSON (%zu bytes%s%s)",
				 what, r.len, seen[0] ? ": " : "", seen);
		fd_http_scrub(d->msg, sizeof(d->msg), h->secrets, 3);
	}
	fd_http_resp_free(&r);
	return rc;
}

const char *fd_http_escape(const char *text, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)text;
	     *p && o + 4 < len; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}
