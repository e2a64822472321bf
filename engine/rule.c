/*
 * rule.c - load detection rules from Kibana's rule JSON.
 *
 * A rules file is read whole (rule files are small) and walked one JSON
 * value at a time with cJSON's parse-end pointer, so one reader serves a
 * single object (pretty-printed or not), a JSON array of rules, and NDJSON
 * as Kibana's export writes it, and each rule knows the line it starts on.
 * Every rule is checked, given Kibana's defaults, and its query compiled.
 */
#include "rule.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "sha256.h"

#define MAX_RULE_FILE (64L << 20)	/* far beyond any real export */

/* Kibana's defaults for a rule that leaves them out. */
#define DEFAULT_INTERVAL "5m"
#define DEFAULT_FROM "now-6m"
#define DEFAULT_TO "now"
#define DEFAULT_MAX_SIGNALS 100

/* A rules file being walked; line numbers are counted forward lazily. */
struct reader {
	const char *path;
	const char *text;
	size_t len;
	size_t pos;
	size_t counted;		/* text[0..counted) is in line */
	int line;
};

static int reader_line(struct reader *r, size_t off)
{
	while (r->counted < off && r->counted < r->len) {
		if (r->text[r->counted] == '\n')
			r->line++;
		r->counted++;
	}
	return r->line;
}

static int reader_col(const struct reader *r, size_t off)
{
	size_t start = off;

	while (start > 0 && r->text[start - 1] != '\n')
		start--;
	return (int)(off - start) + 1;
}

static void reader_skip_space(struct reader *r)
{
	while (r->pos < r->len && isspace((unsigned char)r->text[r->pos]))
		r->pos++;
}

/* Parse the JSON value at r->pos and move past it. */
static int reader_value(struct reader *r, cJSON **out, struct fd_diag *diag)
{
	const char *end = NULL;
	const char *err;
	size_t off;

	*out = cJSON_ParseWithLengthOpts(r->text + r->pos, r->len - r->pos,
					 &end, false);
	if (*out) {
		r->pos = (size_t)(end - r->text);
		return 0;
	}
	err = cJSON_GetErrorPtr();
	off = err && err >= r->text && err <= r->text + r->len ?
	      (size_t)(err - r->text) : r->pos;
	return fd_diag_set(diag, FD_ERR_SYNTAX, reader_line(r, off),
			   reader_col(r, off), "not valid JSON");
}

static int read_file(const char *path, char **text, size_t *len,
		     struct fd_diag *diag)
{
	FILE *f = fd_fopen_regular(path);
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f && errno == EINVAL)
		return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
				   "not a regular file");
	if (!f)
		return fd_diag_set(diag, errno == ENOENT ? FD_ERR_NOTFOUND :
				   FD_ERR_IO, 0, 0, "cannot open: %s",
				   strerror(errno));
	for (;;) {
		size_t got;

		if (n + 1 >= cap) {
			char *grown;

			cap = cap ? cap * 2 : 8192;
			if (cap > (size_t)MAX_RULE_FILE) {
				free(buf);
				fclose(f);
				return fd_diag_set(diag, FD_ERR_INVALID, 0, 0,
						   "file too large for a "
						   "rules file");
			}
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				fclose(f);
				return -FD_ERR_NOMEM;
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return fd_diag_set(diag, FD_ERR_IO, 0, 0, "read error");
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

long fd_rule_parse_duration(const char *text)
{
	const char *p = text;
	bool relative = false;
	long n = 0, unit;

	if (!text)
		return -1;
	if (!strncmp(p, "now", 3)) {
		p += 3;
		if (!*p)
			return 0;
		if (*p++ != '-')
			return -1;
		relative = true;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (n > (LONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p++ - '0');
	}
	switch (*p++) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': case 'H': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	/* Date math may round ("now-9m/m"); a window of whole seconds does
	 * not need it, so the rounding unit is accepted and ignored. */
	if (relative && *p == '/' && strchr("smhHdw", p[1]) && p[1])
		p += 2;
	if (*p || n > LONG_MAX / unit)
		return -1;
	return n * unit;
}

/* A made-up saved-object id: stable for a rule_id, shaped like a uuid. */
static void make_id(const char *rule_id, char *buf, size_t len)
{
	fd_sha256_uuid(rule_id, buf, len);
}

static void rule_free(struct fd_rule *r)
{
	if (!r)
		return;
	free(r->rule_id);
	free(r->id);
	free(r->name);
	free(r->description);
	free(r->type);
	free(r->query);
	free(r->severity);
	free(r->timestamp_override);
	fd_strv_release(&r->exception_lists);
	free(r->file);
	fd_query_free(r->compiled);
	cJSON_Delete(r->json);
	free(r);
}

/* How a rule is named in messages: by name, else by rule_id. */
static void rule_label(const cJSON *json, char *buf, size_t len)
{
	const char *name = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, "name"));
	const char *rid = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, "rule_id"));

	if (name && *name)
		snprintf(buf, len, "rule '%s'", name);
	else if (rid && *rid)
		snprintf(buf, len, "rule_id '%s'", rid);
	else
		snprintf(buf, len, "rule");
}

struct check {
	struct fd_rule *r;
	const char *label;
	struct fd_diag *diag;
};

static int bad(const struct check *c, enum fd_err err, const char *what)
{
	return fd_diag_set(c->diag, err, c->r->line, 0, "%s: %s", c->label,
			   what);
}

static const cJSON *key(const struct check *c, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(c->r->json, name);
}

static int dup_string(const struct check *c, const char *name, bool required,
		      const char *fallback, char **out)
{
	const cJSON *v = key(c, name);
	char what[96];

	if (!v || cJSON_IsNull(v)) {
		if (required) {
			snprintf(what, sizeof(what), "missing %s", name);
			return bad(c, FD_ERR_INVALID, what);
		}
		if (!fallback)
			return 0;
		*out = strdup(fallback);
		return *out ? 0 : -FD_ERR_NOMEM;
	}
	if (!cJSON_IsString(v) || (required && !*v->valuestring)) {
		snprintf(what, sizeof(what), "%s must be a non-empty string",
			 name);
		return bad(c, FD_ERR_INVALID, what);
	}
	*out = strdup(v->valuestring);
	return *out ? 0 : -FD_ERR_NOMEM;
}

/* An integer key in [min, max]; fallback when absent. */
static int get_int(const struct check *c, const char *name, bool required,
		   long fallback, long min, long max, long *out)
{
	const cJSON *v = key(c, name);
	char what[128];

	if (!v || cJSON_IsNull(v)) {
		if (required) {
			snprintf(what, sizeof(what), "missing %s", name);
			return bad(c, FD_ERR_INVALID, what);
		}
		*out = fallback;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < (double)min ||
	    v->valuedouble > (double)max ||
	    v->valuedouble != (double)(long)v->valuedouble) {
		snprintf(what, sizeof(what),
			 "%s must be an integer from %ld to %ld", name, min,
			 max);
		return bad(c, FD_ERR_INVALID, what);
	}
	*out = (long)v->valuedouble;
	return 0;
}

static int get_duration(const struct check *c, const char *name,
			const char *fallback, long *out)
{
	const cJSON *v = key(c, name);
	const char *text = fallback;
	char what[160];

	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			text = NULL;
		else
			text = v->valuestring;
	}
	*out = fd_rule_parse_duration(text);
	if (*out < 0 || (!strcmp(name, "interval") && *out == 0)) {
		snprintf(what, sizeof(what), "%s: expected %s, not '%.40s'",
			 name, strcmp(name, "interval") ? "date math like "
			 "now-9m" : "a duration like 5m", text ? text : "?");
		return bad(c, FD_ERR_INVALID, what);
	}
	return 0;
}

/* Types whose alerts are not "this event matched": say why, plainly. */
static const char *unsupported_type(const char *type)
{
	static const struct { const char *type, *why; } types[] = {
		{ "machine_learning", "machine learning rules need an "
		  "anomaly detection job" },
		{ "esql", "ES|QL rules are not supported" },
		{ "threshold", "threshold rules count events over a window" },
		{ "new_terms", "new terms rules compare against history" },
		{ "threat_match", "indicator match rules need a threat "
		  "index" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].type))
			return types[i].why;
	return NULL;
}

static int check_type(const struct check *c)
{
	struct fd_rule *r = c->r;
	const char *why;
	char what[256];
	int rc = dup_string(c, "type", false, "query", &r->type);

	if (rc < 0)
		return rc;
	why = unsupported_type(r->type);
	if (why) {
		snprintf(what, sizeof(what), "type '%s' is not supported by "
			 "the engine (%s); only query and eql rules run",
			 r->type, why);
		return bad(c, FD_ERR_UNSUPPORTED, what);
	}
	if (strcmp(r->type, "query") && strcmp(r->type, "saved_query") &&
	    strcmp(r->type, "eql")) {
		snprintf(what, sizeof(what), "unknown rule type '%.64s'",
			 r->type);
		return bad(c, FD_ERR_INVALID, what);
	}
	return 0;
}

static int check_language(const struct check *c)
{
	const cJSON *v = key(c, "language");
	const char *name = strcmp(c->r->type, "eql") ? "kuery" : "eql";
	char what[160];
	int lang;

	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return bad(c, FD_ERR_INVALID,
				   "language must be a string");
		name = v->valuestring;
	}
	if (!strcmp(name, "lucene") || !strcmp(name, "esql")) {
		snprintf(what, sizeof(what), "language '%s' is not supported "
			 "by the engine (kuery and eql are)", name);
		return bad(c, FD_ERR_UNSUPPORTED, what);
	}
	lang = fd_lang_from_name(name);
	if (lang < 0) {
		snprintf(what, sizeof(what), "unknown language '%.64s'", name);
		return bad(c, FD_ERR_INVALID, what);
	}
	c->r->lang = (enum fd_lang)lang;
	return 0;
}

static int check_severity(const struct check *c)
{
	static const char *const levels[] = { "low", "medium", "high",
					      "critical" };
	int rc = dup_string(c, "severity", true, NULL, &c->r->severity);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(c->r->severity, levels[i]))
			return 0;
	return bad(c, FD_ERR_INVALID,
		   "severity must be low, medium, high or critical");
}

static int check_enabled(const struct check *c)
{
	const cJSON *v = key(c, "enabled");

	c->r->enabled = true;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return bad(c, FD_ERR_INVALID, "enabled must be true or false");
	c->r->enabled = cJSON_IsTrue(v);
	return 0;
}

static int check_schedule(const struct check *c)
{
	struct fd_rule *r = c->r;
	long to = 0, max_signals = 0, version = 0;
	int rc;

	rc = get_duration(c, "interval", DEFAULT_INTERVAL, &r->interval_s);
	if (!rc)
		rc = get_duration(c, "from", DEFAULT_FROM, &r->lookback_s);
	if (!rc)
		rc = get_duration(c, "to", DEFAULT_TO, &to);
	if (!rc)
		rc = get_int(c, "max_signals", false, DEFAULT_MAX_SIGNALS, 1,
			     INT_MAX, &max_signals);
	if (!rc)
		rc = get_int(c, "version", false, 1, 1, INT_MAX, &version);
	if (rc < 0)
		return rc;
	r->max_signals = (int)max_signals;
	r->version = (int)version;
	return 0;
}

static int compile_query(const struct check *c)
{
	struct fd_rule *r = c->r;
	struct fd_diag qd;
	char where[48] = "";
	int rc;

	fd_diag_clear(&qd);
	rc = fd_query_compile(r->lang, r->query, &r->compiled, &qd);
	if (rc == 0)
		return 0;
	if (qd.line > 1 && qd.col > 0)
		snprintf(where, sizeof(where), "line %d, column %d: ",
			 qd.line, qd.col);
	else if (qd.col > 0)
		snprintf(where, sizeof(where), "column %d: ", qd.col);
	if (rc == -FD_ERR_UNSUPPORTED)
		return fd_diag_set(c->diag, FD_ERR_UNSUPPORTED, r->line, 0,
				   "%s: query (%s): not supported by the "
				   "engine: %s%s", c->label,
				   fd_lang_name(r->lang), where, qd.msg);
	return fd_diag_set(c->diag, (enum fd_err)-rc, r->line, 0,
			   "%s: query: %s%s", c->label, where,
			   qd.msg[0] ? qd.msg : fd_strerror((enum fd_err)-rc));
}

/*
 * exceptions_list: [{id, list_id, type, namespace_type}].  Kibana wants
 * all four; the engine needs list_id, and a list_id is what names a list
 * among those loaded, so only it is required here.
 */
static int check_exceptions_list(const struct check *c)
{
	const cJSON *refs = key(c, "exceptions_list"), *ref;
	char what[160];
	int i = 0;

	if (!refs || cJSON_IsNull(refs))
		return 0;
	if (!cJSON_IsArray(refs))
		return bad(c, FD_ERR_INVALID, "exceptions_list must be an "
			   "array");
	cJSON_ArrayForEach(ref, refs) {
		const char *id = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ref, "list_id"));

		if (!id || !*id) {
			snprintf(what, sizeof(what), "exceptions_list[%d] "
				 "needs a list_id", i);
			return bad(c, FD_ERR_INVALID, what);
		}
		if (!fd_strv_contains(&c->r->exception_lists, id) &&
		    fd_strv_push(&c->r->exception_lists, id, strlen(id)) < 0)
			return -FD_ERR_NOMEM;
		i++;
	}
	return 0;
}

static int check_rule(const struct check *c)
{
	struct fd_rule *r = c->r;
	long risk = 0;
	int rc;

	if (!cJSON_IsObject(r->json))
		return bad(c, FD_ERR_INVALID, "expected a rule object");
	if ((rc = dup_string(c, "rule_id", true, NULL, &r->rule_id)) < 0 ||
	    (rc = dup_string(c, "name", true, NULL, &r->name)) < 0 ||
	    (rc = check_type(c)) < 0)
		return rc;
	if (!key(c, "query") && !strcmp(r->type, "saved_query"))
		return bad(c, FD_ERR_UNSUPPORTED, "saved query rules must "
			   "carry their query inline");
	if ((rc = check_language(c)) < 0 ||
	    (rc = dup_string(c, "query", true, NULL, &r->query)) < 0 ||
	    (rc = check_severity(c)) < 0 ||
	    (rc = get_int(c, "risk_score", true, 0, 0, 100, &risk)) < 0 ||
	    (rc = dup_string(c, "description", false, "",
			     &r->description)) < 0 ||
	    (rc = check_enabled(c)) < 0 || (rc = check_schedule(c)) < 0 ||
	    (rc = dup_string(c, "timestamp_override", false, NULL,
			     &r->timestamp_override)) < 0 ||
	    (rc = dup_string(c, "id", false, NULL, &r->id)) < 0 ||
	    (rc = check_exceptions_list(c)) < 0)
		return rc;
	r->risk_score = (int)risk;
	if (r->timestamp_override && !*r->timestamp_override) {
		free(r->timestamp_override);
		r->timestamp_override = NULL;
	}
	if (!r->id) {
		char id[40];

		make_id(r->rule_id, id, sizeof(id));
		r->id = strdup(id);
		if (!r->id)
			return -FD_ERR_NOMEM;
	}
	return compile_query(c);
}

/* Lines of a Kibana export that are not rules: the summary, exception
 * lists and items, action connectors. */
static bool is_export_extra(const cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(v, "exported_count") ||
	    cJSON_GetObjectItemCaseSensitive(v, "exported_rules_count") ||
	    cJSON_GetObjectItemCaseSensitive(v,
					     "exported_exception_list_count"))
		return true;
	if (cJSON_GetObjectItemCaseSensitive(v, "rule_id"))
		return false;
	return cJSON_GetObjectItemCaseSensitive(v, "list_id") ||
	       cJSON_GetObjectItemCaseSensitive(v, "item_id") ||
	       cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v,
							       "attributes"));
}

static int set_push(struct fd_ruleset *set, struct fd_rule *r)
{
	struct fd_rule **v;

	if (set->n >= SIZE_MAX / sizeof(*v) - 1)
		return -FD_ERR_NOMEM;
	v = realloc(set->rules, (set->n + 1) * sizeof(*v));
	if (!v)
		return -FD_ERR_NOMEM;
	set->rules = v;
	set->rules[set->n++] = r;
	return 0;
}

/* Note a rule the engine cannot run; returns 0 (skipped) or an error. */
static int skip_rule(struct fd_ruleset *set, const cJSON *json,
		     struct fd_diag *diag)
{
	const char *id = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json, "rule_id"));
	struct fd_rule_skip *grown;
	char msg[1200];

	grown = realloc(set->skipped, (set->nskipped + 1) * sizeof(*grown));
	if (!grown)
		return -FD_ERR_NOMEM;
	set->skipped = grown;
	grown = &set->skipped[set->nskipped];
	grown->rule_id = id ? strdup(id) : NULL;
	grown->message = strdup(fd_diag_format(diag, msg, sizeof(msg)));
	if ((id && !grown->rule_id) || !grown->message) {
		free(grown->rule_id);
		free(grown->message);
		return -FD_ERR_NOMEM;
	}
	set->nskipped++;
	if (diag) {		/* the load goes on: no error to report */
		diag->line = diag->col = 0;
		diag->msg[0] = '\0';
	}
	return 0;
}

/* Take json (always consumed) as the rule found at line. */
static int add_rule(struct fd_ruleset *set, struct reader *rd, cJSON *json,
		    int line, struct fd_diag *diag)
{
	struct fd_rule *r;
	char label[300];
	struct check c;
	int rc;

	if (cJSON_IsObject(json) && is_export_extra(json)) {
		cJSON_Delete(json);
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		cJSON_Delete(json);
		return -FD_ERR_NOMEM;
	}
	r->json = json;
	r->line = line;
	r->file = strdup(rd->path);
	rule_label(json, label, sizeof(label));
	c = (struct check){ .r = r, .label = label, .diag = diag };
	rc = r->file ? check_rule(&c) : -FD_ERR_NOMEM;
	if (rc == -FD_ERR_UNSUPPORTED && set->skip_unsupported)
		rc = skip_rule(set, json, diag);
	else if (rc == 0)
		rc = set_push(set, r) < 0 ? -FD_ERR_NOMEM : 1;
	if (rc != 1)
		rule_free(r);
	return rc < 0 ? rc : 0;
}

static int walk_array(struct fd_ruleset *set, struct reader *rd,
		      struct fd_diag *diag)
{
	rd->pos++;			/* the '[' */
	for (;;) {
		cJSON *v;
		int line, rc;

		reader_skip_space(rd);
		if (rd->pos < rd->len && rd->text[rd->pos] == ']') {
			rd->pos++;
			return 0;
		}
		line = reader_line(rd, rd->pos);
		rc = reader_value(rd, &v, diag);
		if (rc == 0)
			rc = add_rule(set, rd, v, line, diag);
		if (rc < 0)
			return rc;
		reader_skip_space(rd);
		if (rd->pos < rd->len && rd->text[rd->pos] == ',') {
			rd->pos++;
			continue;
		}
		if (rd->pos < rd->len && rd->text[rd->pos] == ']') {
			rd->pos++;
			return 0;
		}
		return fd_diag_set(diag, FD_ERR_SYNTAX,
				   reader_line(rd, rd->pos),
				   reader_col(rd, rd->pos),
				   "expected ',' or ']' after a rule");
	}
}

/* One object, or NDJSON: JSON values one after another. */
static int walk_sequence(struct fd_ruleset *set, struct reader *rd,
			 struct fd_diag *diag)
{
	for (;;) {
		cJSON *v;
		int line, rc;

		reader_skip_space(rd);
		if (rd->pos >= rd->len)
			return 0;
		line = reader_line(rd, rd->pos);
		rc = reader_value(rd, &v, diag);
		if (rc == 0)
			rc = add_rule(set, rd, v, line, diag);
		if (rc < 0)
			return rc;
	}
}

static int walk(struct fd_ruleset *set, struct reader *rd,
		struct fd_diag *diag)
{
	int rc;

	if (rd->len >= 3 && !memcmp(rd->text, "\xef\xbb\xbf", 3))
		rd->pos = rd->counted = 3;	/* a UTF-8 byte order mark */
	reader_skip_space(rd);
	if (rd->pos >= rd->len || rd->text[rd->pos] != '[')
		return walk_sequence(set, rd, diag);
	rc = walk_array(set, rd, diag);
	if (rc < 0)
		return rc;
	reader_skip_space(rd);
	if (rd->pos < rd->len)
		return fd_diag_set(diag, FD_ERR_SYNTAX,
				   reader_line(rd, rd->pos),
				   reader_col(rd, rd->pos),
				   "unexpected text after the array of "
				   "rules");
	return 0;
}

/* Drop rules added after the first `keep`: a failed load adds nothing. */
static void set_truncate(struct fd_ruleset *set, size_t keep)
{
	while (set->n > keep)
		rule_free(set->rules[--set->n]);
	if (!set->n) {
		free(set->rules);
		set->rules = NULL;
	}
}

int fd_ruleset_load_text(struct fd_ruleset *set, const char *name,
			 const char *text, size_t len, struct fd_diag *diag)
{
	struct reader rd = { .path = name, .text = text, .len = len,
			     .line = 1 };
	size_t before = set->n;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", name);
	rc = walk(set, &rd, diag);
	if (rc < 0)
		set_truncate(set, before);
	return rc;
}

int fd_ruleset_load_file(struct fd_ruleset *set, const char *path,
			 struct fd_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	fd_diag_clear(diag);
	if (diag)
		snprintf(diag->file, sizeof(diag->file), "%s", path);
	rc = read_file(path, &text, &len, diag);
	if (rc == 0)
		rc = fd_ruleset_load_text(set, path, text, len, diag);
	free(text);
	return rc;
}

int fd_ruleset_load_dir(struct fd_ruleset *set, const char *dir,
			struct fd_diag *diag)
{
	size_t before = set->n;
	struct fd_strv names = { 0 };
	int rc;

	fd_diag_clear(diag);
	rc = fd_list_json_files(dir, &names, diag);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		rc = fd_ruleset_load_file(set, path, diag);
	}
	fd_strv_release(&names);
	if (rc < 0)
		set_truncate(set, before);
	return rc;
}

const struct fd_rule *fd_ruleset_find_version(const struct fd_ruleset *set,
					      const char *rule_id,
					      int version)
{
	if (version == 0)
		return fd_ruleset_find(set, rule_id);
	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];

		if (r->version == version && !strcmp(r->rule_id, rule_id))
			return r;
	}
	return NULL;
}

const struct fd_rule *fd_ruleset_find(const struct fd_ruleset *set,
				      const char *rule_id)
{
	const struct fd_rule *best = NULL;

	for (size_t i = 0; i < set->n; i++) {
		const struct fd_rule *r = set->rules[i];

		if (!strcmp(r->rule_id, rule_id) &&
		    (!best || r->version > best->version))
			best = r;
	}
	return best;
}

const struct fd_rule_skip *fd_ruleset_skipped(const struct fd_ruleset *set,
					      const char *rule_id)
{
	for (size_t i = 0; i < set->nskipped; i++)
		if (set->skipped[i].rule_id &&
		    !strcmp(set->skipped[i].rule_id, rule_id))
			return &set->skipped[i];
	return NULL;
}

void fd_ruleset_release(struct fd_ruleset *set)
{
	set_truncate(set, 0);
	for (size_t i = 0; i < set->nskipped; i++) {
		free(set->skipped[i].rule_id);
		free(set->skipped[i].message);
	}
	free(set->skipped);
	set->skipped = NULL;
	set->nskipped = 0;
}
