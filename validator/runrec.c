/*
 * runrec.c - read a run record (run.jsonl), as docs/run-record.md defines.
 *
 * Lines are read one at a time: the first must be the run header, each
 * scenario record's `source` is parsed again with fd_scenario_parse() (a
 * control's line carries its scenario's source: the reader keeps the
 * parsed scenario's control), and each process record keeps its parsed
 * line, which its fields point into.
 * Unknown keys and unknown record kinds are ignored; a missing or mistyped
 * key that the validator needs is an error naming the file and line.
 */
#include "runrec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- time ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no time zone database is consulted. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m,
			    unsigned *d)
{
	long long era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read exactly n digits. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return false;
	(*p)++;
	return true;
}

/* Z, z or +hh:mm / -hh:mm: the offset to subtract, in seconds. */
static bool zone(const char **p, int *offset)
{
	int sign, hh, mm;

	if (expect(p, "Zz")) {
		*offset = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (!digits(p, 2, &hh) || !expect(p, ":") || !digits(p, 2, &mm) ||
	    hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 3600 + mm * 60);
	return true;
}

double fd_time_parse(const char *text)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	const char *p = text;
	int y, mo, d, h, mi, s, offset;
	double frac = 0, scale = 0.1;
	long long days;

	if (!p || !digits(&p, 4, &y) || !expect(&p, "-") ||
	    !digits(&p, 2, &mo) || !expect(&p, "-") || !digits(&p, 2, &d) ||
	    !expect(&p, "Tt ") || !digits(&p, 2, &h) || !expect(&p, ":") ||
	    !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &s))
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (!zone(&p, &offset) || *p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	return (double)(days * 86400 + h * 3600 + mi * 60 + s - offset) +
	       frac;
}

/* Format t with `places` fractional digits (3 or 6), truncating. */
static const char *format_time(double t, int places, char *buf, size_t len)
{
	long long us = llround(t * 1e6), secs, days, rem;
	long long y, unit = places == 3 ? 1000 : 1;
	unsigned m, d;

	secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	us -= secs * 1000000;
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	rem = secs - days * 86400;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%0*lldZ",
		 y, m, d, rem / 3600, rem / 60 % 60, rem % 60, places,
		 us / unit);
	return buf;
}

const char *fd_time_format_ms(double t, char *buf, size_t len)
{
	return format_time(t, 3, buf, len);
}

const char *fd_time_format_us(double t, char *buf, size_t len)
{
	return format_time(t, 6, buf, len);
}

/* --- records ----------------------------------------------------------- */

struct line {
	const char *path;
	int no;
	const cJSON *json;
	const char *what;	/* "run header", "process record", ... */
	struct fd_diag *diag;
};

static int bad(const struct line *l, enum fd_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct line *l, enum fd_err err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fd_diag_set(l->diag, err, l->no, 0, "%s: %s", l->what, msg);
}

static const cJSON *get(const struct line *l, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(l->json, key);
}

static int need_string(const struct line *l, const char *key,
		       const char **out)
{
	const cJSON *v = get(l, key);

	if (!v)
		return bad(l, FD_ERR_INVALID, "missing '%s'", key);
	if (!cJSON_IsString(v) || !*v->valuestring)
		return bad(l, FD_ERR_INVALID,
			   "'%s' must be a non-empty string", key);
	*out = v->valuestring;
	return 0;
}

static int opt_string(const struct line *l, const char *key,
		      const char **out)
{
	const cJSON *v = get(l, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(l, FD_ERR_INVALID, "'%s' must be a string", key);
	*out = v->valuestring;
	return 0;
}

static bool is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
	       fabs(v->valuedouble) < 9007199254740992.0;
}

static int need_long(const struct line *l, const char *key, long min,
		     long *out)
{
	const cJSON *v = get(l, key);

	if (!v)
		return bad(l, FD_ERR_INVALID, "missing '%s'", key);
	if (!is_integer(v) || v->valuedouble < (double)min)
		return bad(l, FD_ERR_INVALID, min ?
			   "'%s' must be a positive integer" :
			   "'%s' must be an integer >= 0", key);
	*out = (long)v->valuedouble;
	return 0;
}

/* An integer or null/absent; *has tells which. */
static int opt_int(const struct line *l, const char *key, bool *has,
		   int *out)
{
	const cJSON *v = get(l, key);

	*has = false;
	*out = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!is_integer(v) || fabs(v->valuedouble) > 2147483647.0)
		return bad(l, FD_ERR_INVALID, "'%s' must be an integer or "
			   "null", key);
	*has = true;
	*out = (int)v->valuedouble;
	return 0;
}

static int need_bool(const struct line *l, const char *key, bool *out)
{
	const cJSON *v = get(l, key);

	if (!v)
		return bad(l, FD_ERR_INVALID, "missing '%s'", key);
	if (!cJSON_IsBool(v))
		return bad(l, FD_ERR_INVALID, "'%s' must be true or false",
			   key);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int opt_bool(const struct line *l, const char *key, bool *out)
{
	*out = false;
	if (!get(l, key) || cJSON_IsNull(get(l, key)))
		return 0;
	return need_bool(l, key, out);
}

static int need_time(const struct line *l, const char *key, double *out)
{
	const char *s = NULL;
	int rc = need_string(l, key, &s);

	if (rc < 0)
		return rc;
	*out = fd_time_parse(s);
	if (*out < 0)
		return bad(l, FD_ERR_INVALID, "'%s' is not an RFC 3339 time "
			   "(2026-12-03T13:15:00.123456Z)", key);
	return 0;
}

static int opt_time(const struct line *l, const char *key, double *out)
{
	*out = 0;
	if (!get(l, key) || cJSON_IsNull(get(l, key)))
		return 0;
	return need_time(l, key, out);
}

static bool valid_run_id(const char *id)
{
	if (!*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
	return true;
}

static int read_emulator(struct fd_runrec *rr, const struct line *hl)
{
	const cJSON *emu = get(hl, "emulator");
	struct line l = *hl;
	int rc;

	if (!cJSON_IsObject(emu))
		return bad(hl, FD_ERR_INVALID, "'%s' must be an object",
			   "emulator");
	l.json = emu;
	l.what = "run header: emulator";
	if ((rc = need_long(&l, "pid", 1, &rr->emulator_pid)) < 0 ||
	    (rc = need_string(&l, "name", &rr->emulator_name)) < 0 ||
	    (rc = opt_string(&l, "executable", &rr->emulator_executable)) < 0)
		return rc;
	return 0;
}

static int read_header(struct fd_runrec *rr, cJSON *json,
		       const struct line *l)
{
	int rc;

	rr->header = json;
	if ((rc = need_string(l, "run_id", &rr->run_id)) < 0 ||
	    (rc = need_string(l, "host_name", &rr->host_name)) < 0 ||
	    (rc = need_string(l, "os_type", &rr->os_type)) < 0 ||
	    (rc = need_string(l, "os_version", &rr->os_version)) < 0 ||
	    (rc = need_string(l, "arch", &rr->arch)) < 0 ||
	    (rc = need_time(l, "start_time", &rr->start)) < 0 ||
	    (rc = need_string(l, "firedrill_version", &rr->version)) < 0 ||
	    (rc = read_emulator(rr, l)) < 0 ||
	    (rc = opt_bool(l, "dry_run", &rr->dry_run)) < 0)
		return rc;
	if (!valid_run_id(rr->run_id))
		return bad(l, FD_ERR_INVALID, "'%s' must be 1 to 64 letters, "
			   "digits and '-'", "run_id");
	rr->planned = get(l, "planned");
	if (rr->planned && !cJSON_IsArray(rr->planned))
		return bad(l, FD_ERR_INVALID, "'planned' must be a list of "
			   "scenario ids");
	return 0;
}

static const struct fd_scenario *find_scenario(const struct fd_runrec *rr,
					       const char *id)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		if (!strcmp(rr->scenarios[i]->id, id))
			return rr->scenarios[i];
	return NULL;
}

/*
 * The scenario a line is about, from its parsed source: the scenario
 * itself, or its control (a control's line carries its scenario's source).
 * The other is freed, so every scenario of the record stands alone.
 */
static struct fd_scenario *pick_scenario(struct fd_scenario *sc,
					 const char *id)
{
	struct fd_scenario *ctl = fd_scenario_take_control(sc);

	if (sc->id && !strcmp(sc->id, id)) {
		fd_scenario_free(ctl);
		return sc;
	}
	fd_scenario_free(sc);
	if (ctl && !strcmp(ctl->id, id))
		return ctl;
	fd_scenario_free(ctl);
	return NULL;
}

static int add_scenario(struct fd_runrec *rr, const struct line *l)
{
	const char *id = NULL, *source = NULL, *path = NULL, *of = NULL;
	struct fd_scenario *sc, **grown;
	bool complete = true, *done;
	struct fd_diag sd;
	char where[700];
	int rc;

	if ((rc = need_string(l, "scenario", &id)) < 0 ||
	    (rc = need_string(l, "source", &source)) < 0 ||
	    (rc = opt_string(l, "path", &path)) < 0 ||
	    (rc = opt_string(l, "control_of", &of)) < 0 ||
	    (rc = opt_bool(l, "complete", &complete)) < 0)
		return rc;
	if (find_scenario(rr, id))
		return bad(l, FD_ERR_INVALID, "scenario '%s' appears twice",
			   id);
	fd_diag_clear(&sd);
	rc = fd_scenario_parse(path ? path : id, source, strlen(source), &sc,
			       &sd);
	if (rc < 0) {
		fd_diag_format(&sd, where, sizeof(where));
		return fd_diag_set(l->diag, (enum fd_err)-rc, l->no, 0,
				   "scenario '%s': source: %s", id, where);
	}
	sc = pick_scenario(sc, id);
	if (!sc)
		return bad(l, FD_ERR_INVALID, "scenario '%s' does not match "
			   "the id in its source (nor its control's)", id);
	if (of && (!sc->control_of || strcmp(of, sc->control_of))) {
		rc = bad(l, FD_ERR_INVALID, "scenario '%s' is not the control "
			 "of '%s' that 'control_of' names", id, of);
		fd_scenario_free(sc);
		return rc;
	}
	grown = realloc(rr->scenarios, (rr->nscenarios + 1) * sizeof(*grown));
	if (!grown) {
		fd_scenario_free(sc);
		return -FD_ERR_NOMEM;
	}
	rr->scenarios = grown;
	done = realloc(rr->scenario_complete,
		       (rr->nscenarios + 1) * sizeof(*done));
	if (!done) {
		fd_scenario_free(sc);
		return -FD_ERR_NOMEM;
	}
	rr->scenario_complete = done;
	done[rr->nscenarios] = complete;
	rr->scenarios[rr->nscenarios++] = sc;
	return 0;
}

static int check_args(const struct line *l)
{
	const cJSON *args = get(l, "args"), *a;

	if (!args)
		return bad(l, FD_ERR_INVALID, "missing '%s'", "args");
	if (!cJSON_IsArray(args) || !cJSON_GetArraySize(args))
		return bad(l, FD_ERR_INVALID, "'%s' must be a non-empty array "
			   "(argv[0] first)", "args");
	cJSON_ArrayForEach(a, args)
		if (!cJSON_IsString(a))
			return bad(l, FD_ERR_INVALID, "'%s' must hold only "
				   "strings", "args");
	return 0;
}

/* 'env': absent, null, or an object of strings. */
static int read_env(struct fd_runrec_proc *p, const struct line *l)
{
	const cJSON *env = get(l, "env"), *v;

	p->env = NULL;
	if (!env || cJSON_IsNull(env))
		return 0;
	if (!cJSON_IsObject(env))
		return bad(l, FD_ERR_INVALID, "'%s' must be an object", "env");
	cJSON_ArrayForEach(v, env)
		if (!cJSON_IsString(v) || !v->string || !*v->string)
			return bad(l, FD_ERR_INVALID, "'%s' must map names "
				   "to strings", "env");
	p->env = env;
	return 0;
}

static int read_proc(struct fd_runrec_proc *p, const struct line *l)
{
	long step = 0, depth = 0, uid = -1;
	bool has_signal = false;
	int rc;

	if ((rc = need_string(l, "scenario", &p->scenario)) < 0 ||
	    (rc = need_long(l, "step", 0, &step)) < 0 ||
	    (rc = need_long(l, "depth", 0, &depth)) < 0 ||
	    (rc = need_bool(l, "target", &p->target)) < 0 ||
	    (rc = need_long(l, "pid", 1, &p->pid)) < 0 ||
	    (rc = need_long(l, "ppid", 0, &p->ppid)) < 0 ||
	    (rc = need_string(l, "executable", &p->executable)) < 0 ||
	    (rc = need_string(l, "name", &p->name)) < 0 ||
	    (rc = check_args(l)) < 0 ||
	    (rc = need_time(l, "start_time", &p->start)) < 0 ||
	    (rc = opt_time(l, "end_time", &p->end)) < 0 ||
	    (rc = opt_string(l, "working_directory",
			     &p->working_directory)) < 0 ||
	    (rc = opt_string(l, "user", &p->user)) < 0 ||
	    (rc = opt_int(l, "exit_code", &p->has_exit_code,
			  &p->exit_code)) < 0 ||
	    (rc = opt_int(l, "signal", &has_signal, &p->signal)) < 0 ||
	    (rc = opt_bool(l, "timed_out", &p->timed_out)) < 0 ||
	    (rc = opt_bool(l, "interrupted", &p->interrupted)) < 0 ||
	    (rc = opt_string(l, "sha256", &p->sha256)) < 0 ||
	    (rc = read_env(p, l)) < 0)
		return rc;
	if (get(l, "uid") && !cJSON_IsNull(get(l, "uid")) &&
	    (rc = need_long(l, "uid", 0, &uid)) < 0)
		return rc;
	if (step > 1000000 || depth > 1000000)
		return bad(l, FD_ERR_INVALID, "'%s' is out of range",
			   step > 1000000 ? "step" : "depth");
	p->step = (int)step;
	p->depth = (int)depth;
	p->uid = uid;
	p->args = get(l, "args");
	return 0;
}

static int add_proc(struct fd_runrec *rr, cJSON *json, const struct line *l)
{
	struct fd_runrec_proc p = { .json = json }, *grown;
	int rc = read_proc(&p, l);

	if (rc < 0)
		return rc;
	if (!find_scenario(rr, p.scenario))
		return bad(l, FD_ERR_INVALID, "scenario '%s' has no scenario "
			   "record before it", p.scenario);
	grown = realloc(rr->procs, (rr->nprocs + 1) * sizeof(*grown));
	if (!grown)
		return -FD_ERR_NOMEM;
	rr->procs = grown;
	rr->procs[rr->nprocs++] = p;
	return 0;
}

/* Take one parsed line; json is consumed (kept, or freed). */
static int add_record(struct fd_runrec *rr, cJSON *json, struct line *l)
{
	const char *kind = cJSON_GetStringValue(get(l, "record"));
	int rc;

	if (!kind) {
		cJSON_Delete(json);
		return fd_diag_set(l->diag, FD_ERR_INVALID, l->no, 0,
				   "missing 'record' (run, scenario or "
				   "process)");
	}
	if (!rr->header && strcmp(kind, "run")) {
		rc = fd_diag_set(l->diag, FD_ERR_INVALID, l->no, 0,
				 "expected the run header (record \"run\") "
				 "first, found record \"%.40s\"", kind);
		cJSON_Delete(json);
		return rc;
	}
	if (!strcmp(kind, "run")) {
		if (rr->header) {
			cJSON_Delete(json);
			return fd_diag_set(l->diag, FD_ERR_INVALID, l->no, 0,
					   "a second run header");
		}
		l->what = "run header";
		return read_header(rr, json, l);	/* kept: freed later */
	}
	if (!strcmp(kind, "process")) {
		l->what = "process record";
		rc = add_proc(rr, json, l);
		if (rc < 0)
			cJSON_Delete(json);
		return rc;
	}
	if (!strcmp(kind, "scenario")) {
		l->what = "scenario record";
		rc = add_scenario(rr, l);
	} else if (!strcmp(kind, "end")) {
		l->what = "end record";
		rr->ended = true;
		rr->complete = true;
		rc = opt_bool(l, "complete", &rr->complete);
	} else {
		rc = 0;		/* a later version's record: ignored */
	}
	cJSON_Delete(json);
	return rc;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* How the emulator's writer starts a process line ("record" first). */
#define PROCESS_PREFIX "{\"record\":\"process\""

static int read_lines(FILE *f, struct fd_runrec *rr, struct line *l)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&buf, &cap, f)) >= 0) {
		cJSON *json;

		l->no++;
		if (blank(buf, (size_t)len))
			continue;
		json = cJSON_ParseWithLength(buf, (size_t)len);
		if (!cJSON_IsObject(json) && rr->header &&
		    buf[len - 1] != '\n') {
			/* The last line (getline stopped at the end of the
			 * file), cut off mid-write: the writer was killed.
			 * What came before stands; the record has no end,
			 * which the validator reports. */
			cJSON_Delete(json);
			rr->cut_short = true;
			/* A lost process line was the last scenario's (the
			 * writer puts "record" first); a lost scenario or
			 * end line takes nothing from what came before. */
			if (rr->nscenarios &&
			    !strncmp(buf, PROCESS_PREFIX,
				     sizeof(PROCESS_PREFIX) - 1))
				rr->scenario_complete[rr->nscenarios - 1] =
					false;
			break;
		}
		if (!cJSON_IsObject(json)) {
			cJSON_Delete(json);
			rc = fd_diag_set(l->diag, FD_ERR_SYNTAX, l->no, 0,
					 "not a JSON object");
			break;
		}
		l->json = json;
		rc = add_record(rr, json, l);
	}
	free(buf);
	if (rc == 0 && ferror(f))
		rc = fd_diag_set(l->diag, FD_ERR_IO, l->no, 0, "read error");
	if (rc == 0 && !rr->header)
		rc = fd_diag_set(l->diag, FD_ERR_INVALID, 0, 0,
				 "empty run record: no run header");
	return rc;
}

int fd_runrec_load(const char *path, struct fd_runrec *rr,
		   struct fd_diag *diag)
{
	struct line l = { .path = path, .diag = diag };
	FILE *f;
	int rc;

	memset(rr, 0, sizeof(*rr));
	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", path);
	f = fopen(path, "r");
	if (!f)
		return fd_diag_set(diag, errno == ENOENT ? FD_ERR_NOTFOUND :
				   FD_ERR_IO, 0, 0, "cannot open: %s",
				   strerror(errno));
	rc = read_lines(f, rr, &l);
	fclose(f);
	if (rc < 0)
		fd_runrec_release(rr);
	return rc;
}

const struct fd_runrec_proc *fd_runrec_find_pid(const struct fd_runrec *rr,
						long pid)
{
	for (size_t i = 0; i < rr->nprocs; i++)
		if (rr->procs[i].pid == pid)
			return &rr->procs[i];
	return NULL;
}

void fd_runrec_release(struct fd_runrec *rr)
{
	for (size_t i = 0; i < rr->nscenarios; i++)
		fd_scenario_free(rr->scenarios[i]);
	for (size_t i = 0; i < rr->nprocs; i++)
		cJSON_Delete(rr->procs[i].json);
	free(rr->scenarios);
	free(rr->scenario_complete);
	free(rr->procs);
	cJSON_Delete(rr->header);
	memset(rr, 0, sizeof(*rr));
}
