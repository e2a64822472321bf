/*
 * alert.c - build one alert in Kibana's 8.x alert schema.
 *
 * The alert is a copy of the source event (nested ECS objects, as in the
 * event) with event.kind "signal", plus flat dotted "kibana.*" keys, as
 * Kibana 8.x writes them: the rule's identity, schedule and parameters, the
 * effective severity and risk score (after severity_mapping and
 * risk_score_mapping), the ancestry, the reason, and a deterministic uuid.
 */
#include "detect.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "field.h"
#include "runrec.h"
#include "sha256.h"

#define KIBANA_VERSION "8.11.0"
#define SPACE_ID "default"

/* Rule keys that are not parameters: identity, schedule, bookkeeping. */
static const char *const not_params[] = {
	"id", "name", "enabled", "interval", "tags", "actions", "throttle",
	"created_at", "created_by", "updated_at", "updated_by", "revision",
	"execution_summary", "meta", "output_index", "notify_when",
	"status", "status_date", "last_success_at", "last_success_message",
	"last_failure_at", "last_failure_message", "last_gap",
	"schedule", "rule_source_meta",
};

/* Kibana's parameter defaults, so every alert says what the rule used. */
static const struct { const char *key, *json; } param_defaults[] = {
	{ "author", "[]" }, { "false_positives", "[]" },
	{ "from", "\"now-6m\"" }, { "to", "\"now\"" },
	{ "max_signals", "100" }, { "version", "1" },
	{ "risk_score_mapping", "[]" }, { "severity_mapping", "[]" },
	{ "threat", "[]" }, { "references", "[]" },
	{ "exceptions_list", "[]" }, { "immutable", "false" },
};

/* Parameters Kibana also writes as flat kibana.alert.rule.<key>. */
static const char *const flat_params[] = {
	"author", "description", "false_positives", "from", "rule_id",
	"max_signals", "risk_score", "risk_score_mapping", "severity",
	"severity_mapping", "threat", "to", "references", "version",
	"exceptions_list", "immutable", "license", "note",
	"building_block_type", "timestamp_override", "rule_name_override",
};

/* Rule meta Kibana writes as flat kibana.alert.rule.<key>, when set. */
static const char *const flat_meta[] = {
	"tags", "actions", "created_at", "created_by", "updated_at",
	"updated_by", "revision",
};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return true;
	return false;
}

#define IN(key, list) in_list(key, list, sizeof(list) / sizeof(list[0]))

static bool add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

static bool add_copy(cJSON *obj, const char *key, const cJSON *item)
{
	return add(obj, key, cJSON_Duplicate(item, true));
}

static bool add_rule_key(cJSON *a, const char *key, cJSON *item)
{
	char name[128];

	snprintf(name, sizeof(name), "kibana.alert.rule.%s", key);
	return add(a, name, item);
}

static cJSON *rule_params(const struct fd_rule *rule)
{
	cJSON *p = cJSON_CreateObject();
	const cJSON *kv;

	if (!p)
		return NULL;
	cJSON_ArrayForEach(kv, rule->json) {
		if (IN(kv->string, not_params))
			continue;
		if (!add_copy(p, kv->string, kv))
			goto fail;
	}
	if (!cJSON_GetObjectItemCaseSensitive(p, "language") &&
	    !add(p, "language", cJSON_CreateString(
			 rule->lang == FD_LANG_EQL ? "eql" : "kuery")))
		goto fail;
	for (size_t i = 0; i < sizeof(param_defaults) /
	     sizeof(param_defaults[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(p, param_defaults[i].key))
			continue;
		if (!add(p, param_defaults[i].key,
			 cJSON_Parse(param_defaults[i].json)))
			goto fail;
	}
	return p;
fail:
	cJSON_Delete(p);
	return NULL;
}

/* --- effective severity and risk score --------------------------- */

static int severity_rank(const char *s)
{
	static const char *const order[] = { "low", "medium", "high",
					     "critical" };

	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, order[i]))
			return i;
	return -1;
}

/* A scalar as Kibana compares it: its string form. */
static bool scalar_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble)
		 && fabs(v->valuedouble) < 1e15)
		snprintf(buf, len, "%.0f", v->valuedouble);
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.17g", v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else
		return false;
	return true;
}

struct value_is {
	const char *want;
};

static int visit_equals(const cJSON *v, void *arg)
{
	const struct value_is *vi = arg;
	char text[256];

	return scalar_text(v, text, sizeof(text)) && !strcmp(text, vi->want);
}

static bool field_has(const cJSON *doc, const char *field, const char *want)
{
	struct value_is vi = { want };

	return fd_field_visit(doc, field, visit_equals, &vi) != 0;
}

/* The highest severity whose mapping entry matches, as Kibana picks. */
static const char *effective_severity(const struct fd_rule *rule,
				      const cJSON *event)
{
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(
		rule->json, "severity_mapping");
	const cJSON *list = cJSON_IsArray(map) ? map : NULL;
	const char *best = rule->severity;
	int best_rank = -1;
	const cJSON *m;

	cJSON_ArrayForEach(m, list) {
		const char *field = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(m, "field"));
		const char *sev = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(m, "severity"));
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(m,
								      "value");
		char want[256];

		if (!field || severity_rank(sev) < 0 ||
		    severity_rank(sev) < best_rank ||
		    !scalar_text(value, want, sizeof(want)))
			continue;
		if (field_has(event, field, want)) {
			best = sev;
			best_rank = severity_rank(sev);
		}
	}
	return best;
}

/* risk_score_mapping[0]: the field's value when it is a score 0-100. */
static double effective_risk(const struct fd_rule *rule, const cJSON *event)
{
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(
		rule->json, "risk_score_mapping");
	const char *field = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(map, 0),
						 "field"));
	double v;

	if (field && fd_field_number(event, field, &v) == 0 && v >= 0 &&
	    v <= 100)
		return v;
	return rule->risk_score;
}

/* --- the reason ---------------------------------------------------- */

struct joined {
	char *buf;
	size_t len;
	size_t used;
	int n;
};

static int visit_join(const cJSON *v, void *arg)
{
	struct joined *j = arg;
	char text[256];
	int w;

	if (!scalar_text(v, text, sizeof(text)) || !*text ||
	    j->used >= j->len)
		return 0;
	w = snprintf(j->buf + j->used, j->len - j->used, "%s%s",
		     j->n ? ", " : "", text);
	j->used += w > 0 ? (size_t)w : 0;
	j->n++;
	return 0;
}

/* The field's values joined by ", ", as Kibana's reason shows them; false
 * when it has none (or only "-"). */
static bool field_text(const cJSON *doc, const char *field, char *buf,
		       size_t len)
{
	struct joined j = { buf, len, 0, 0 };

	buf[0] = '\0';
	fd_field_visit(doc, field, visit_join, &j);
	return j.n > 0 && strcmp(buf, "-");
}

static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/*
 * Kibana's buildReasonMessageUtil: "process event with process defaults,
 * parent process zsh, by alice on mbp-01 created high alert NAME."
 */
static void build_reason(const struct fd_rule *rule, const cJSON *event,
			 char *out, size_t len)
{
	enum { NAMED, ADDRESS, PORT };
	static const struct { const char *field, *label; int kind; }
	of_interest[] = {
		{ "process.name", "process", NAMED },
		{ "process.parent.name", "parent process", NAMED },
		{ "file.name", "file", NAMED },
		{ "source.address", "source", ADDRESS },
		{ "source.port", "", PORT },
		{ "destination.address", "destination", ADDRESS },
		{ "destination.port", "", PORT },
	};
	bool with = false;
	char v[256];

	out[0] = '\0';
	if (field_text(event, "event.category", v, sizeof(v)))
		append(out, len, "%s ", v);
	append(out, len, "event");
	for (size_t i = 0; i < sizeof(of_interest) / sizeof(of_interest[0]);
	     i++) {
		const char *label = of_interest[i].label;
		int kind = of_interest[i].kind;

		if (!field_text(event, of_interest[i].field, v, sizeof(v)))
			continue;
		if (!with)
			append(out, len, " with");
		with = true;
		if (kind == PORT)
			append(out, len, ":%s,", v);
		else if (kind == ADDRESS)
			append(out, len, " %s %s", label, v);
		else
			append(out, len, " %s %s,", label, v);
	}
	if (field_text(event, "user.name", v, sizeof(v)))
		append(out, len, " by %s", v);
	if (field_text(event, "host.name", v, sizeof(v)))
		append(out, len, " on %s", v);
	append(out, len, " created %s alert %s.", rule->severity, rule->name);
}

/* --- ids ----------------------------------------------------------- */

/*
 * Kibana's alert id is a sha256 over the event's index and id and the
 * rule's space and id; ours hashes the same parts (NUL-separated), so the
 * same event and rule always give the same alert uuid.
 */
static void alert_uuid(const char *const *parts, size_t n,
		       char hex[FD_SHA256_HEX])
{
	struct fd_sha256 c;
	uint8_t d[FD_SHA256_LEN];

	fd_sha256_init(&c);
	for (size_t i = 0; i < n; i++)
		fd_sha256_update(&c, parts[i], strlen(parts[i]) + 1);
	fd_sha256_final(&c, d);
	fd_sha256_hex(d, hex);
}

/* --- the alert ----------------------------------------------------- */

/* Keys of the event that the alert does not copy. */
static bool skip_source_key(const char *k)
{
	return !strcmp(k, "@timestamp") || !strcmp(k, "_id") ||
	       !strcmp(k, "_index") || !strcmp(k, "kibana") ||
	       !strncmp(k, "kibana.", 7) || !strcmp(k, "signal") ||
	       !strncmp(k, "signal.", 7);
}

static bool copy_source(cJSON *a, const cJSON *event)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, event) {
		if (!skip_source_key(kv->string) &&
		    !add_copy(a, kv->string, kv))
			return false;
	}
	return true;
}

/* The alert's own event.kind, in whichever layout the event used. */
static bool set_event_kind(cJSON *a)
{
	cJSON *ev = cJSON_GetObjectItemCaseSensitive(a, "event");
	const cJSON *kv;

	if (cJSON_IsObject(ev)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ev, "kind");
		return add(ev, "kind", cJSON_CreateString("signal"));
	}
	cJSON_ArrayForEach(kv, a) {
		if (!strncmp(kv->string, "event.", 6)) {
			cJSON_DeleteItemFromObjectCaseSensitive(a,
								"event.kind");
			return add(a, "event.kind",
				   cJSON_CreateString("signal"));
		}
	}
	if (ev)
		cJSON_DeleteItemFromObjectCaseSensitive(a, "event");
	ev = cJSON_AddObjectToObject(a, "event");
	return ev && add(ev, "kind", cJSON_CreateString("signal"));
}

/* kibana.alert.original_event.<key> for every event.* value, flat. */
static bool add_original_event(cJSON *a, const char *prefix,
			       const cJSON *obj)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, obj) {
		char name[256];

		snprintf(name, sizeof(name), "%s.%s", prefix, kv->string);
		if (cJSON_IsObject(kv)) {
			if (!add_original_event(a, name, kv))
				return false;
		} else if (!add_copy(a, name, kv)) {
			return false;
		}
	}
	return true;
}

static bool add_original(cJSON *a, const cJSON *event)
{
	const char *prefix = "kibana.alert.original_event";
	const cJSON *kv;
	char ts[40];
	double t;

	cJSON_ArrayForEach(kv, event) {
		char name[256];

		if (!strcmp(kv->string, "event") && cJSON_IsObject(kv)) {
			if (!add_original_event(a, prefix, kv))
				return false;
		} else if (!strncmp(kv->string, "event.", 6)) {
			snprintf(name, sizeof(name), "%s.%s", prefix,
				 kv->string + 6);
			if (!add_copy(a, name, kv))
				return false;
		}
	}
	kv = cJSON_GetObjectItemCaseSensitive(event, "@timestamp");
	if (cJSON_IsString(kv))
		return add_copy(a, "kibana.alert.original_time", kv);
	if (fd_field_number(event, "@timestamp", &t) == 0)
		return add(a, "kibana.alert.original_time",
			   cJSON_CreateString(fd_time_format_ms(t / 1000.0, ts,
								sizeof(ts))));
	return true;
}

static cJSON *ancestors(const char *event_id, const char *event_index)
{
	cJSON *list = cJSON_CreateArray(), *one = cJSON_CreateObject();

	if (!list || !one || !add(one, "id", cJSON_CreateString(event_id)) ||
	    !add(one, "type", cJSON_CreateString("event")) ||
	    !add(one, "index", cJSON_CreateString(event_index)) ||
	    !add(one, "depth", cJSON_CreateNumber(0))) {
		cJSON_Delete(list);
		cJSON_Delete(one);
		return NULL;
	}
	cJSON_AddItemToArray(list, one);
	return list;
}

static cJSON *string_or(const cJSON *json, const char *key,
			const char *fallback)
{
	const char *s = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, key));

	return cJSON_CreateString(s ? s : fallback);
}

static bool add_rule_meta(cJSON *a, const struct fd_rule *rule)
{
	bool eql = rule->lang == FD_LANG_EQL;
	const cJSON *kv;

	if (!add_rule_key(a, "name", cJSON_CreateString(rule->name)) ||
	    !add_rule_key(a, "uuid", cJSON_CreateString(rule->id)) ||
	    !add_rule_key(a, "type", cJSON_CreateString(rule->type)) ||
	    !add_rule_key(a, "rule_type_id", cJSON_CreateString(
				  eql ? "siem.eqlRule" : "siem.queryRule")) ||
	    !add_rule_key(a, "category", cJSON_CreateString(
				  eql ? "Event Correlation Rule" :
				  "Custom Query Rule")) ||
	    !add_rule_key(a, "consumer", cJSON_CreateString("siem")) ||
	    !add_rule_key(a, "producer", cJSON_CreateString("siem")) ||
	    !add_rule_key(a, "enabled", cJSON_CreateBool(rule->enabled)) ||
	    !add_rule_key(a, "interval", string_or(rule->json, "interval",
						   "5m")))
		return false;
	cJSON_ArrayForEach(kv, rule->json) {
		if (IN(kv->string, flat_meta) &&
		    !add_rule_key(a, kv->string, cJSON_Duplicate(kv, true)))
			return false;
	}
	return true;
}

static bool add_rule_params(cJSON *a, const struct fd_rule *rule)
{
	cJSON *params = rule_params(rule);
	const cJSON *kv;

	if (!params)
		return false;
	cJSON_ArrayForEach(kv, params) {
		if (IN(kv->string, flat_params) &&
		    !add_rule_key(a, kv->string, cJSON_Duplicate(kv, true))) {
			cJSON_Delete(params);
			return false;
		}
	}
	return add_rule_key(a, "parameters", params);
}

static bool add_kibana(cJSON *a, const struct fd_rule *rule,
		       const cJSON *event, const char *event_id,
		       const char *event_index)
{
	const char *parts[] = { event_index, event_id, SPACE_ID, rule->id };
	char reason[1024], uuid[FD_SHA256_HEX];
	cJSON *spaces = cJSON_CreateArray();

	if (!spaces || !add(a, "kibana.space_ids", spaces) ||
	    !cJSON_AddItemToArray(spaces, cJSON_CreateString(SPACE_ID)))
		return false;
	build_reason(rule, event, reason, sizeof(reason));
	alert_uuid(parts, 4, uuid);
	return add(a, "kibana.version", cJSON_CreateString(KIBANA_VERSION)) &&
	       add_rule_meta(a, rule) && add_rule_params(a, rule) &&
	       add(a, "kibana.alert.severity", cJSON_CreateString(
			   effective_severity(rule, event))) &&
	       add(a, "kibana.alert.risk_score", cJSON_CreateNumber(
			   effective_risk(rule, event))) &&
	       add_original(a, event) &&
	       add(a, "kibana.alert.ancestors",
		   ancestors(event_id, event_index)) &&
	       add(a, "kibana.alert.depth", cJSON_CreateNumber(1)) &&
	       add(a, "kibana.alert.status", cJSON_CreateString("active")) &&
	       add(a, "kibana.alert.workflow_status",
		   cJSON_CreateString("open")) &&
	       add(a, "kibana.alert.reason", cJSON_CreateString(reason)) &&
	       add(a, "kibana.alert.uuid", cJSON_CreateString(uuid));
}

cJSON *fd_alert_build(const struct fd_rule *rule, const cJSON *event,
		      const char *event_id, const char *event_index,
		      double now)
{
	cJSON *a = cJSON_CreateObject();
	char ts[40];

	if (!a)
		return NULL;
	if (!add(a, "@timestamp", cJSON_CreateString(
			 fd_time_format_ms(now, ts, sizeof(ts)))) ||
	    !copy_source(a, event) || !set_event_kind(a) ||
	    !add_kibana(a, rule, event, event_id ? event_id : "",
			event_index ? event_index : "")) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}
