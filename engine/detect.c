/*
 * detect.c - run rules over NDJSON events, as Kibana's rule executor does.
 *
 * Events are read one line at a time and only one is parsed at a time, so
 * a file of any size runs in constant memory.  Every enabled rule's
 * compiled query is tried on each event; a rule's first max_signals
 * matches become alerts and the rest are only counted, as Kibana stops at
 * max_signals per execution.  Each rule's run records the event-time
 * window it covered, which is what makes a negative conclusive.
 */
#include "detect.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "field.h"
#include "runrec.h"
#include "sha256.h"

#define DEFAULT_INDEX "logs-endpoint.events.process-default"
#define MSG_OK "Rule execution completed successfully"
#define MSG_CAPPED "This rule reached the maximum alert limit for the " \
		   "rule execution. Some alerts were not created."

/* The event a line holds, and where Elasticsearch would say it lives. */
struct event {
	const cJSON *doc;	/* the source document */
	const char *line;	/* its text, for an id made from it */
	size_t len;
	char id[64];		/* "" until an alert needs it */
	char index[256];
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stable id for an event without _id: the first 128 bits of the
 * line's sha256, so the same line always gets the same alert uuid. */
static void line_id(const char *line, size_t len, char *out)
{
	uint8_t d[FD_SHA256_LEN];
	char hex[FD_SHA256_HEX];

	fd_sha256_buf(line, len, d);
	fd_sha256_hex(d, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

/* <type>-<dataset>-<namespace>, as a data stream names its index. */
static bool data_stream_index(const cJSON *doc, char *out, size_t len)
{
	const char *type = fd_field_string(doc, "data_stream.type");
	const char *ds = fd_field_string(doc, "data_stream.dataset");
	const char *ns = fd_field_string(doc, "data_stream.namespace");

	if (!type || !ds || !ns)
		return false;
	snprintf(out, len, "%s-%s-%s", type, ds, ns);
	return true;
}

/* Accept both a bare document and a search hit ({_index,_id,_source}). */
static void event_from(const cJSON *json, const char *line, size_t len,
		       struct event *ev)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(json, "_source");
	const char *id = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, "_id"));
	const char *index = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, "_index"));

	ev->doc = cJSON_IsObject(src) ? src : json;
	ev->line = line;
	ev->len = len;
	ev->id[0] = '\0';
	if (id && *id)
		snprintf(ev->id, sizeof(ev->id), "%s", id);
	if (index && *index)
		snprintf(ev->index, sizeof(ev->index), "%s", index);
	else if (!data_stream_index(ev->doc, ev->index, sizeof(ev->index)))
		snprintf(ev->index, sizeof(ev->index), "%s", DEFAULT_INDEX);
}

static double event_time(const cJSON *doc, const char *field)
{
	const char *s = fd_field_string(doc, field);
	double t;

	if (s)
		return fd_time_parse(s);
	if (fd_field_number(doc, field, &t) == 0)
		return t / 1000.0;	/* epoch_millis */
	return -1;
}

static void widen(struct fd_rule_run *run, double t)
{
	if (t < 0)
		return;
	if (run->window_from == 0 || t < run->window_from)
		run->window_from = t;
	if (t > run->window_to)
		run->window_to = t;
}

/*
 * The rule's time field is timestamp_override when set (falling back to
 * @timestamp when the event lacks it, as Kibana does), else @timestamp.
 * The embedded rule really saw every event it was given, so its window
 * also covers the events' @timestamp: a negative over those events is
 * proven whichever field the rule keys time on.
 */
static void cover_event(struct fd_rule_run *run, const struct event *ev)
{
	const struct fd_rule *r = run->rule;
	double at = event_time(ev->doc, "@timestamp");

	widen(run, at);
	if (r->timestamp_override) {
		double t = event_time(ev->doc, r->timestamp_override);

		widen(run, t >= 0 ? t : at);
	}
}

static int write_alert(const struct fd_rule *rule, struct event *ev,
		       double now, FILE *out)
{
	cJSON *alert;
	char *text;
	int rc = 0;

	if (!out)
		return 0;
	if (!ev->id[0])
		line_id(ev->line, ev->len, ev->id);
	alert = fd_alert_build(rule, ev->doc, ev->id, ev->index, now);
	text = alert ? cJSON_PrintUnformatted(alert) : NULL;
	cJSON_Delete(alert);
	if (!text)
		return -FD_ERR_NOMEM;
	if (fputs(text, out) == EOF || fputc('\n', out) == EOF)
		rc = -FD_ERR_IO;
	cJSON_free(text);
	return rc;
}

static int run_rules(const struct fd_ruleset *set, struct event *ev,
		     double now, FILE *out, struct fd_rule_run *runs)
{
	for (size_t i = 0; i < set->n; i++) {
		struct fd_rule_run *run = &runs[i];
		const struct fd_rule *r = set->rules[i];
		int rc;

		if (!r->enabled || !r->compiled)
			continue;
		run->events_seen++;
		cover_event(run, ev);
		if (!fd_query_match(r->compiled, ev->doc))
			continue;
		run->matched++;
		if (run->alerts >= (size_t)r->max_signals)
			continue;
		rc = write_alert(r, ev, now, out);
		if (rc < 0)
			return rc;
		run->alerts++;
	}
	return 0;
}

static void runs_begin(const struct fd_ruleset *set,
		       struct fd_rule_run *runs)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];

		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].rule = r;
		if (!r->enabled) {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "disabled");
			snprintf(runs[i].message, sizeof(runs[i].message),
				 "the rule is disabled");
		} else if (!r->compiled) {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "failed");
			snprintf(runs[i].message, sizeof(runs[i].message),
				 "the rule's query is not compiled");
		} else {
			snprintf(runs[i].status, sizeof(runs[i].status),
				 "running");
		}
	}
}

static void runs_end(const struct fd_ruleset *set, struct fd_rule_run *runs,
		     int rc)
{
	for (size_t i = 0; i < set->n; i++) {
		struct fd_rule_run *run = &runs[i];

		if (strcmp(run->status, "running"))
			continue;
		snprintf(run->status, sizeof(run->status), "%s",
			 rc < 0 ? "failed" : "succeeded");
		if (rc < 0)
			snprintf(run->message, sizeof(run->message), "%s",
				 fd_strerror((enum fd_err)-rc));
		else
			snprintf(run->message, sizeof(run->message), "%s",
				 run->matched > run->alerts ? MSG_CAPPED :
				 MSG_OK);
	}
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int bad_line(struct fd_diag *diag, int line, const char *text,
		    size_t len, const cJSON *json)
{
	const char *err = cJSON_GetErrorPtr();
	int col = 0;

	if (json)
		return fd_diag_set(diag, FD_ERR_INVALID, line, 0,
				   "expected a JSON object, one event a "
				   "line");
	if (err && err >= text && err <= text + len)
		col = (int)(err - text) + 1;
	return fd_diag_set(diag, FD_ERR_SYNTAX, line, col,
			   "event is not valid JSON");
}

static int detect_stream(const struct fd_ruleset *set, FILE *in,
			 FILE *out, struct fd_rule_run *runs,
			 struct fd_diag *diag)
{
	double now = wall_now();
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		struct event ev;
		cJSON *json;

		lineno++;
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			len--;
		if (blank(line, (size_t)len))
			continue;
		json = cJSON_ParseWithLength(line, (size_t)len);
		if (!cJSON_IsObject(json)) {
			rc = bad_line(diag, lineno, line, (size_t)len, json);
			cJSON_Delete(json);
			break;
		}
		event_from(json, line, (size_t)len, &ev);
		rc = run_rules(set, &ev, now, out, runs);
		cJSON_Delete(json);
		if (rc == -FD_ERR_IO)
			rc = fd_diag_set(diag, FD_ERR_IO, lineno, 0,
					 "cannot write alerts: %s",
					 strerror(errno));
	}
	if (rc == 0 && ferror(in))
		rc = fd_diag_set(diag, FD_ERR_IO, lineno, 0, "read error");
	free(line);
	return rc;
}

int fd_detect_file(const struct fd_ruleset *set, const char *events_path,
		   FILE *alerts_out, struct fd_rule_run *runs,
		   struct fd_diag *diag)
{
	FILE *in;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", events_path);
	runs_begin(set, runs);
	in = fopen(events_path, "r");
	if (!in) {
		rc = fd_diag_set(diag, errno == ENOENT ? FD_ERR_NOTFOUND :
				 FD_ERR_IO, 0, 0, "cannot open: %s",
				 strerror(errno));
		runs_end(set, runs, rc);
		return rc;
	}
	rc = detect_stream(set, in, alerts_out, runs, diag);
	fclose(in);
	if (rc == 0 && alerts_out && fflush(alerts_out) == EOF)
		rc = fd_diag_set(diag, FD_ERR_IO, 0, 0,
				 "cannot write alerts: %s", strerror(errno));
	runs_end(set, runs, rc);
	return rc;
}
