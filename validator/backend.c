/*
 * backend.c - the table of backends and what every backend shares: the
 * alert list and the correlation filter.
 *
 * Correlation never rests on a time window alone: an alert belongs to an
 * expectation when its rule, its run id and scenario (both carried in
 * process.executable, because stand-ins live under a directory named for
 * them), its host and its original time all agree.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "field.h"
#include "runrec.h"

const struct fd_backend *const fd_backends[] = {
	&fd_backend_embedded,
	&fd_backend_kibana,
	&fd_backend_elasticsearch,
	NULL
};

const struct fd_backend *fd_backend_find(const char *name)
{
	for (size_t i = 0; fd_backends[i]; i++)
		if (!strcmp(fd_backends[i]->name, name))
			return fd_backends[i];
	return NULL;
}

void fd_alert_list_release(struct fd_alert_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		cJSON_Delete(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool field_is(const cJSON *doc, const char *path, const char *want)
{
	const char *v = fd_field_string(doc, path);

	return v && !strcmp(v, want);
}

static bool field_is_nocase(const cJSON *doc, const char *path,
			    const char *want)
{
	const char *v = fd_field_string(doc, path);

	return v && !strcasecmp(v, want);
}

static bool field_contains(const cJSON *doc, const char *path,
			   const char *part)
{
	const char *v = fd_field_string(doc, path);

	return v && strstr(v, part);
}

bool fd_alert_filter_match(const struct fd_alert_filter *f,
			   const cJSON *alert)
{
	const char *when;
	double t, version;

	if (f->rule_id && !field_is(alert, "kibana.alert.rule.rule_id",
				    f->rule_id))
		return false;
	if (f->version && (fd_field_number(alert, "kibana.alert.rule.version",
					   &version) < 0 ||
			   version != (double)f->version))
		return false;
	if (f->run_id && !field_contains(alert, "process.executable",
					 f->run_id))
		return false;
	if (f->scenario && !field_contains(alert, "process.executable",
					   f->scenario))
		return false;
	/* Elastic Endpoint lower-cases host.name; a Mac's own name is
	 * mixed case. */
	if (f->host_name && !field_is_nocase(alert, "host.name",
					     f->host_name))
		return false;
	when = fd_field_string(alert, "kibana.alert.original_time");
	if (!when)
		return false;
	t = fd_time_parse(when);
	return t >= f->from && t <= f->to;
}
