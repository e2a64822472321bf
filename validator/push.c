/*
 * push.c - bulk-index a run's events into logs-endpoint.events.process-*.
 *
 * Data streams take only op_type create.  Each action names an _id made
 * from the event's own bytes (sha256), so when a batch is retried after
 * a dropped connection, events that did land answer 409 and are counted
 * as indexed, not indexed twice.  Batches stay under BATCH_BYTES.
 */
#include "push.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "sha256.h"
#include "stackapi.h"

#define BATCH_BYTES (4u * 1024 * 1024)
#define TRIES 5

const char *fd_push_stream(const char *ns, char *buf, size_t len)
{
	snprintf(buf, len, "logs-endpoint.events.process-%s",
		 ns && *ns ? ns : "default");
	return buf;
}

struct batch {
	char *buf;
	size_t len, cap, docs;
};

static int batch_add(struct batch *b, const char *stream, const char *line,
		     size_t n)
{
	uint8_t sum[FD_SHA256_LEN];
	char hex[FD_SHA256_HEX], action[512];
	int an;

	fd_sha256_buf(line, n, sum);
	an = snprintf(action, sizeof(action),
		      "{\"create\":{\"_index\":\"%s\",\"_id\":\"%.40s\"}}\n",
		      stream, fd_sha256_hex(sum, hex));
	if (b->len + (size_t)an + n + 2 > b->cap) {
		size_t cap = (b->len + (size_t)an + n + 2) * 2;
		char *grown = realloc(b->buf, cap);

		if (!grown)
			return -FD_ERR_NOMEM;
		b->buf = grown;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, action, (size_t)an);
	b->len += (size_t)an;
	memcpy(b->buf + b->len, line, n);
	b->len += n;
	b->buf[b->len++] = '\n';
	b->docs++;
	return 0;
}

static void pause_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	nanosleep(&ts, NULL);
}

/* Send one batch, trying again on transient failures. */
static int send_batch(struct fd_http *h, struct batch *b, size_t *pushed,
		      struct fd_diag *d)
{
	double wait = 1;
	int rc = 0;

	for (int t = 0; t < TRIES; t++) {
		struct fd_http_resp r;
		size_t done = 0;
		cJSON *answer;

		if (t > 0) {
			pause_s(d->retry_after > 0 && d->retry_after < 60 ?
				d->retry_after : d->retry_after >= 60 ? 60 :
				wait);
			wait *= 2;
		}
		rc = fd_http_call(h, "event push", "POST", "/_bulk",
				  "application/x-ndjson", b->buf, b->len, &r,
				  d);
		if (rc == 0) {
			answer = cJSON_ParseWithLength(r.body ? r.body : "",
						       r.len);
			rc = answer ? fd_stack_bulk_result(answer, &done, d) :
			     fd_diag_set(d, FD_ERR_BACKEND, 0, 0,
					 "event push: the answer is not "
					 "JSON");
			cJSON_Delete(answer);
		}
		fd_http_resp_free(&r);
		if (rc == 0) {
			*pushed += done;
			break;
		}
		if (rc != -FD_ERR_NETWORK)
			break;
	}
	b->len = 0;
	b->docs = 0;
	return rc;
}

int fd_push_events(const struct fd_live_cfg *live, const char *path,
		   size_t *pushed, struct fd_diag *d)
{
	struct fd_http h;
	struct batch b = { 0 };
	char stream[256], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc;

	*pushed = 0;
	if (!live || !live->es_url || !*live->es_url)
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "--telemetry push needs --es-url (or "
				   "FIREDRILL_ES_URL)");
	fd_push_stream(live->ds_namespace, stream, sizeof(stream));
	if (strspn(stream, "abcdefghijklmnopqrstuvwxyz0123456789_.-") !=
	    strlen(stream))
		return fd_diag_set(d, FD_ERR_INVALID, 0, 0,
				   "'%s' is not a data stream name "
				   "(a namespace is lower case)", stream);
	f = fopen(path, "r");
	if (!f)
		return fd_diag_set(d, FD_ERR_IO, 0, 0, "cannot read '%s': %s",
				   path, strerror(errno));
	rc = fd_http_open(&h, live->es_url, live, 0, d);
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		rc = batch_add(&b, stream, line, (size_t)n);
		if (rc == 0 && b.len >= BATCH_BYTES)
			rc = send_batch(&h, &b, pushed, d);
	}
	if (rc == 0 && b.docs)
		rc = send_batch(&h, &b, pushed, d);
	free(line);
	free(b.buf);
	fclose(f);
	fd_http_close(&h);
	return rc;
}
