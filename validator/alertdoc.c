/*
 * alertdoc.c - map a search hit, 8.x or 7.x, to the 8.x alert view.
 *
 * The 7.x map follows Kibana's signal_aad_mapping (signal.rule.id is the
 * rule's saved-object id, kibana.alert.rule.uuid in 8.x).  A 7.x signal's
 * effective severity and risk score were written into signal.rule.*, so
 * they become both the alert's and the rule's values.
 */
#include "alertdoc.h"

#include <stdio.h>
#include <string.h>

struct map {
	const char *from;	/* path under "signal" */
	const char *to;		/* 8.x key */
};

static const struct map signal_map[] = {
	{ "rule.rule_id", "kibana.alert.rule.rule_id" },
	{ "rule.id", "kibana.alert.rule.uuid" },
	{ "rule.name", "kibana.alert.rule.name" },
	{ "rule.version", "kibana.alert.rule.version" },
	{ "rule.severity", "kibana.alert.severity" },
	{ "rule.severity", "kibana.alert.rule.severity" },
	{ "rule.risk_score", "kibana.alert.risk_score" },
	{ "rule.risk_score", "kibana.alert.rule.risk_score" },
	{ "rule.threat", "kibana.alert.rule.threat" },
	{ "rule.interval", "kibana.alert.rule.interval" },
	{ "rule.from", "kibana.alert.rule.from" },
	{ "status", "kibana.alert.workflow_status" },
	{ "original_time", "kibana.alert.original_time" },
	{ "original_event", "kibana.alert.original_event" },
	{ "ancestors", "kibana.alert.ancestors" },
	{ "depth", "kibana.alert.depth" },
	{ "reason", "kibana.alert.reason" },
};

/* The value at a dotted path of nested objects, or a flat "signal.x" key
 * at the top (some exports flatten). */
static const cJSON *get_path(const cJSON *doc, const char *root,
			     const char *path)
{
	char flat[256], part[128];
	const cJSON *at;
	const char *p = path;

	snprintf(flat, sizeof(flat), "%s.%s", root, path);
	at = cJSON_GetObjectItemCaseSensitive(doc, flat);
	if (at)
		return at;
	at = cJSON_GetObjectItemCaseSensitive(doc, root);
	while (at && *p) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		at = cJSON_GetObjectItemCaseSensitive(at, part);
		p += n + (p[n] == '.');
	}
	return at;
}

static int add_copy(cJSON *doc, const char *key, const cJSON *v)
{
	cJSON *c;

	if (!v || cJSON_GetObjectItemCaseSensitive(doc, key))
		return 0;
	c = cJSON_Duplicate(v, 1);
	if (!c)
		return -1;
	cJSON_AddItemToObject(doc, key, c);
	return 0;
}

static int map_signal(cJSON *doc)
{
	for (size_t i = 0; i < sizeof(signal_map) / sizeof(*signal_map); i++)
		if (add_copy(doc, signal_map[i].to,
			     get_path(doc, "signal", signal_map[i].from)) < 0)
			return -1;
	return 0;
}

cJSON *fd_alert_from_hit(const cJSON *hit)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(hit, "_source");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(hit, "_id");
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(hit, "_index");
	cJSON *doc;

	if (!cJSON_IsObject(src))
		return NULL;
	doc = cJSON_Duplicate(src, 1);
	if (!doc)
		return NULL;
	if (add_copy(doc, "_id", cJSON_IsString(id) ? id : NULL) < 0 ||
	    add_copy(doc, "_index", cJSON_IsString(index) ? index : NULL) < 0 ||
	    (get_path(doc, "signal", "rule") && map_signal(doc) < 0) ||
	    add_copy(doc, "kibana.alert.uuid",
		     cJSON_IsString(id) ? id : NULL) < 0) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}
