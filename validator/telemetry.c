/*
 * telemetry.c - ECS process start events, shaped like Elastic Defend's on
 * macOS, built from a run record's process records.
 *
 * One event per process record, parents included.  process.parent.* comes
 * from the record whose pid is the child's ppid in the same step's chain,
 * or from the run header's emulator for the outermost stand-in.  host.os.*
 * follows the scenario's host profile; firedrill.* ties each event to its
 * run, scenario and step.  Entity ids are derived, so they are stable.
 * process.env_vars holds the step's extra environment only, as "NAME=value"
 * strings: Defend captures just the variables its policy names, never the
 * whole environment.
 */
#include "telemetry.h"

#include <ctype.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#define ECS_VERSION "8.11.0"
#define DATASET "endpoint.events.process"

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

static bool add_str(cJSON *obj, const char *key, const char *s)
{
	return !s || add(obj, key, cJSON_CreateString(s));
}

static bool add_num(cJSON *obj, const char *key, double v)
{
	return add(obj, key, cJSON_CreateNumber(v));
}

static bool add_time(cJSON *obj, const char *key, double t)
{
	char buf[40];

	return add_str(obj, key, fd_time_format_us(t, buf, sizeof(buf)));
}

static bool add_one_string_array(cJSON *obj, const char *key, const char *s)
{
	const char *v[] = { s };

	return add(obj, key, cJSON_CreateStringArray(v, 1));
}

/* --- ids --------------------------------------------------------------- */

static void base64(const unsigned char *in, size_t n, char *out, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
}

/* As Defend's: base64 of "<id>-<pid>-<start>"; here id is the run id and
 * start is in microseconds, so a process is named uniquely and stably. */
static void entity_id(const struct fd_runrec *rr, long pid, double start,
		      char *out, size_t len)
{
	char raw[160];
	int n = snprintf(raw, sizeof(raw), "%s-%ld-%.0f", rr->run_id, pid,
			 start * 1e6);

	if (n < 0 || (size_t)n >= sizeof(raw))
		n = (int)strlen(raw);
	base64((const unsigned char *)raw, (size_t)n, out, len);
}

/* A uuid-shaped id that is the same for the same host name. */
static void host_id(const char *name, char *out, size_t len)
{
	fd_sha256_uuid(name, out, len);
}

/* --- lookups ------------------------------------------------------------ */

static const struct fd_scenario *scenario_of(const struct fd_runrec *rr,
					     const char *id)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		if (!strcmp(rr->scenarios[i]->id, id))
			return rr->scenarios[i];
	return NULL;
}

/* The record a child was spawned by: same scenario, pid == ppid, started
 * no later than the child; the same step's chain and the latest start win
 * (pids are reused over a long run). */
static const struct fd_runrec_proc *parent_of(const struct fd_runrec *rr,
					      const struct fd_runrec_proc *c)
{
	const struct fd_runrec_proc *best = NULL;

	for (size_t i = 0; i < rr->nprocs; i++) {
		const struct fd_runrec_proc *p = &rr->procs[i];

		if (p == c || p->pid != c->ppid || p->start > c->start ||
		    strcmp(p->scenario, c->scenario))
			continue;
		if (!best || (p->step == c->step) > (best->step == c->step) ||
		    ((p->step == c->step) == (best->step == c->step) &&
		     p->start >= best->start))
			best = p;
	}
	return best;
}

/* --- fields -------------------------------------------------------------- */

static size_t args_count(const cJSON *args)
{
	return cJSON_IsArray(args) ? (size_t)cJSON_GetArraySize(args) : 0;
}

/* argv joined by spaces, as Defend's process.command_line. */
static char *command_line(const cJSON *args)
{
	const cJSON *a;
	size_t len = 1;
	char *s;

	cJSON_ArrayForEach(a, args)
		if (cJSON_IsString(a))
			len += strlen(a->valuestring) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	len = 0;
	cJSON_ArrayForEach(a, args) {
		size_t n;

		if (!cJSON_IsString(a))
			continue;
		if (len)
			s[len++] = ' ';
		n = strlen(a->valuestring);
		memcpy(s + len, a->valuestring, n + 1);
		len += n;
	}
	return s;
}

static bool add_args(cJSON *obj, const cJSON *args)
{
	char *cl;
	bool ok;

	if (!cJSON_IsArray(args))
		return true;
	cl = command_line(args);
	ok = cl && add(obj, "args", cJSON_Duplicate(args, true)) &&
	     add_num(obj, "args_count", (double)args_count(args)) &&
	     add_str(obj, "command_line", cl);
	free(cl);
	return ok;
}

static bool add_parent(cJSON *proc, const struct fd_runrec *rr,
		       const struct fd_runrec_proc *c)
{
	const struct fd_runrec_proc *p = parent_of(rr, c);
	cJSON *par = cJSON_AddObjectToObject(proc, "parent");
	char eid[256];

	if (!par || !add_num(par, "pid", (double)c->ppid))
		return false;
	if (p) {
		entity_id(rr, p->pid, p->start, eid, sizeof(eid));
		return add_str(par, "entity_id", eid) &&
		       add_str(par, "name", p->name) &&
		       add_str(par, "executable", p->executable) &&
		       add_args(par, p->args);
	}
	if (c->ppid != rr->emulator_pid)
		return true;	/* a parent firedrill did not see */
	entity_id(rr, rr->emulator_pid, rr->start, eid, sizeof(eid));
	return add_str(par, "entity_id", eid) &&
	       add_str(par, "name", rr->emulator_name) &&
	       add_str(par, "executable", rr->emulator_executable) &&
	       add_args(par, cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(
					rr->header, "emulator"), "args"));
}

/* As Defend writes it on exec: ["NAME=value", ...]; none, no field. */
static bool add_env_vars(cJSON *proc, const cJSON *env)
{
	const cJSON *v;
	cJSON *arr;

	if (!cJSON_IsObject(env) || !env->child)
		return true;
	arr = cJSON_AddArrayToObject(proc, "env_vars");
	if (!arr)
		return false;
	cJSON_ArrayForEach(v, env) {
		size_t len = strlen(v->string) + strlen(v->valuestring) + 2;
		char *kv = malloc(len);
		cJSON *item;

		if (!kv)
			return false;
		snprintf(kv, len, "%s=%s", v->string, v->valuestring);
		item = cJSON_CreateString(kv);
		free(kv);
		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			return false;
		}
	}
	return true;
}

static bool add_process(cJSON *ev, const struct fd_runrec *rr,
			const struct fd_runrec_proc *p)
{
	cJSON *proc = cJSON_AddObjectToObject(ev, "process");
	cJSON *hash;
	char eid[256];

	if (!proc)
		return false;
	entity_id(rr, p->pid, p->start, eid, sizeof(eid));
	if (!add_num(proc, "pid", (double)p->pid) ||
	    !add_str(proc, "entity_id", eid) ||
	    !add_str(proc, "name", p->name) ||
	    !add_str(proc, "executable", p->executable) ||
	    !add_args(proc, p->args) ||
	    !add_str(proc, "working_directory", p->working_directory) ||
	    !add_env_vars(proc, p->env) ||
	    !add_time(proc, "start", p->start))
		return false;
	if (p->sha256) {
		hash = cJSON_AddObjectToObject(proc, "hash");
		if (!hash || !add_str(hash, "sha256", p->sha256))
			return false;
	}
	return add_parent(proc, rr, p);
}

/* What an OS type implies when the profile does not say. */
static void os_defaults(const char *type, const char **name,
			const char **family, const char **platform)
{
	static const struct { const char *type, *name, *family,
			      *platform; } known[] = {
		{ "macos", "macOS", "macos", "darwin" },
		{ "linux", "Linux", "linux", "linux" },
		{ "windows", "Windows", "windows", "windows" },
	};

	*name = *family = *platform = NULL;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(type, known[i].type))
			continue;
		*name = known[i].name;
		*family = known[i].family;
		*platform = known[i].platform;
	}
}

static bool add_os(cJSON *host, const struct fd_runrec *rr,
		   const struct fd_host *prof)
{
	const char *type = prof->os_type ? prof->os_type : rr->os_type;
	const char *name, *family, *platform;
	cJSON *os = cJSON_AddObjectToObject(host, "os");
	char full[256];

	os_defaults(type, &name, &family, &platform);
	if (prof->os_name)
		name = prof->os_name;
	if (prof->os_family)
		family = prof->os_family;
	if (prof->os_platform)
		platform = prof->os_platform;
	if (!os || !add_str(os, "type", type) || !add_str(os, "name", name) ||
	    !add_str(os, "version", prof->os_version) ||
	    !add_str(os, "family", family) ||
	    !add_str(os, "platform", platform))
		return false;
	if (name && prof->os_version) {
		snprintf(full, sizeof(full), "%s %s", name, prof->os_version);
		if (!add_str(os, "full", full))
			return false;
	}
	/* The real kernel, unless the profile plays another OS. */
	if (!strcmp(type, rr->os_type) && !add_str(os, "kernel",
						   rr->os_version))
		return false;
	return true;
}

static bool add_host(cJSON *ev, const struct fd_runrec *rr,
		     const struct fd_scenario *sc)
{
	static const struct fd_host none;
	const struct fd_host *prof = sc ? &sc->host : &none;
	const char *name = prof->name ? prof->name : rr->host_name;
	cJSON *host = cJSON_AddObjectToObject(ev, "host");
	char id[40], lower[256];
	size_t i;

	/* Elastic Endpoint writes host.name in lower case (a Mac calls
	 * itself "Johns-MacBook-Pro"); host.hostname keeps the case. */
	for (i = 0; name && name[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	host_id(name, id, sizeof(id));
	return host && add_str(host, "name", lower) &&
	       add_str(host, "hostname", name) && add_str(host, "id", id) &&
	       add_str(host, "architecture",
		       prof->arch ? prof->arch : rr->arch) &&
	       add_os(host, rr, prof);
}

static bool add_event(cJSON *ev, const struct fd_runrec_proc *p,
		      double ingested)
{
	cJSON *e = cJSON_AddObjectToObject(ev, "event");

	if (ingested <= 0)
		ingested = p->end > 0 ? p->end : p->start;
	return e && add_one_string_array(e, "category", "process") &&
	       add_one_string_array(e, "type", "start") &&
	       add_str(e, "action", "exec") && add_str(e, "kind", "event") &&
	       add_time(e, "created", p->start) &&
	       add_time(e, "ingested", ingested) &&
	       add_str(e, "dataset", DATASET) &&
	       add_str(e, "module", "endpoint");
}

static bool add_user(cJSON *ev, const struct fd_runrec_proc *p)
{
	const cJSON *gid = cJSON_GetObjectItemCaseSensitive(p->json, "gid");
	cJSON *user, *group;
	char id[32];

	if (p->uid < 0 && !p->user)
		return true;
	user = cJSON_AddObjectToObject(ev, "user");
	if (!user)
		return false;
	snprintf(id, sizeof(id), "%ld", p->uid);
	if ((p->uid >= 0 && !add_str(user, "id", id)) ||
	    !add_str(user, "name", p->user))
		return false;
	if (!cJSON_IsNumber(gid) || gid->valuedouble < 0)
		return true;
	group = cJSON_AddObjectToObject(ev, "group");
	snprintf(id, sizeof(id), "%.0f", gid->valuedouble);
	return group && add_str(group, "id", id);
}

static bool add_meta(cJSON *ev, const struct fd_runrec *rr,
		     const struct fd_runrec_proc *p)
{
	cJSON *agent = cJSON_AddObjectToObject(ev, "agent");
	cJSON *ecs = cJSON_AddObjectToObject(ev, "ecs");
	cJSON *ds = cJSON_AddObjectToObject(ev, "data_stream");
	cJSON *fd = cJSON_AddObjectToObject(ev, "firedrill");

	return agent && ecs && ds && fd &&
	       add_str(agent, "type", "firedrill") &&
	       add_str(agent, "version", rr->version) &&
	       add_str(ecs, "version", ECS_VERSION) &&
	       add_str(ds, "type", "logs") &&
	       add_str(ds, "dataset", DATASET) &&
	       add_str(ds, "namespace", "default") &&
	       add_str(fd, "run_id", rr->run_id) &&
	       add_str(fd, "scenario", p->scenario) &&
	       add_num(fd, "step", p->step) &&
	       add_num(fd, "depth", p->depth) &&
	       add(fd, "target", cJSON_CreateBool(p->target));
}

cJSON *fd_telemetry_event(const struct fd_runrec *rr, size_t i,
			  double ingested)
{
	const struct fd_runrec_proc *p;
	cJSON *ev;

	if (i >= rr->nprocs)
		return NULL;
	p = &rr->procs[i];
	ev = cJSON_CreateObject();
	if (!ev || !add_time(ev, "@timestamp", p->start) ||
	    !add_event(ev, p, ingested) ||
	    !add_host(ev, rr, scenario_of(rr, p->scenario)) ||
	    !add_process(ev, rr, p) || !add_user(ev, p) ||
	    !add_meta(ev, rr, p)) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

/* --- writing ------------------------------------------------------------- */

struct order {
	double start;
	size_t i;
};

static int by_start(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;	/* ties: file order */
}

int fd_telemetry_write(const struct fd_runrec *rr, double ingested,
		       FILE *out, size_t *n)
{
	struct order *order = malloc((rr->nprocs ? rr->nprocs : 1) *
				     sizeof(*order));
	int rc = 0;

	*n = 0;
	if (!order)
		return -FD_ERR_NOMEM;
	for (size_t i = 0; i < rr->nprocs; i++)
		order[i] = (struct order){ rr->procs[i].start, i };
	qsort(order, rr->nprocs, sizeof(*order), by_start);
	for (size_t k = 0; k < rr->nprocs && rc == 0; k++) {
		cJSON *ev = fd_telemetry_event(rr, order[k].i, ingested);
		char *text = ev ? cJSON_PrintUnformatted(ev) : NULL;

		cJSON_Delete(ev);
		if (!text) {
			rc = -FD_ERR_NOMEM;
			break;
		}
		if (fputs(text, out) == EOF || fputc('\n', out) == EOF)
			rc = -FD_ERR_IO;
		else
			(*n)++;
		cJSON_free(text);
	}
	free(order);
	if (rc == 0 && fflush(out) == EOF)
		rc = -FD_ERR_IO;
	return rc;
}
