/*
 * report.c - the table, JUnit XML and JSON reports of a validation.
 *
 * The table sizes its columns to the widest cell (reasons are never cut);
 * JUnit maps FAIL to <failure>, and ERROR, INCONCLUSIVE and BLOCKED to
 * <error type="...">, so none of them reads as green in CI.
 */
#include "report.h"
#include "files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *outcome_color(enum fd_outcome o)
{
	switch (o) {
	case FD_PASS: return "\033[32m";
	case FD_FAIL: return "\033[31;1m";
	case FD_INCONCLUSIVE: return "\033[33m";
	case FD_ERROR: return "\033[35;1m";
	case FD_BLOCKED: return "\033[36m";
	case FD_OUTCOME_LAST: break;
	}
	return "";
}

static int width_of(const char *s)
{
	return s ? (int)strlen(s) : 0;
}

static void rule_label(const struct fd_verdict *v, char *buf, size_t len)
{
	/* A uuid is long and unique in its first 8 characters; other ids
	 * are shown whole. */
	int keep = strlen(v->rule_id ? v->rule_id : "") == 36 ? 8 : 40;

	if (!v->rule_id)
		snprintf(buf, len, "-");
	else if (v->version)
		snprintf(buf, len, "%.*s v%d", keep, v->rule_id, v->version);
	else
		snprintf(buf, len, "%.*s", keep, v->rule_id);
}

/* Text from a run record may hold anything: no control byte reaches the
 * terminal. */
static const char *clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
			 s[i];
	buf[i] = '\0';
	return buf;
}

void fd_report_table(FILE *out, const struct fd_verdicts *vs, bool color)
{
	int ws = width_of("SCENARIO"), wr = width_of("RULE");
	int wc = width_of("EXPECTATION"), wo = width_of("INCONCLUSIVE");
	char rule[64];

	for (size_t i = 0; i < vs->n; i++) {
		const struct fd_verdict *v = &vs->v[i];

		rule_label(v, rule, sizeof(rule));
		if (width_of(v->scenario) > ws)
			ws = width_of(v->scenario);
		if (width_of(rule) > wr)
			wr = width_of(rule);
		if (width_of(v->check) > wc)
			wc = width_of(v->check);
	}
	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", ws, "SCENARIO", wr,
		"RULE", wc, "EXPECTATION", wo, "OUTCOME", "REASON");
	for (size_t i = 0; i < vs->n; i++) {
		const struct fd_verdict *v = &vs->v[i];
		const char *name = fd_outcome_name(v->outcome);
		bool same = i > 0 && !strcmp(vs->v[i - 1].scenario,
					     v->scenario);
		char reason[sizeof(v->reason)], a[160], b[128], c[128];

		rule_label(v, rule, sizeof(rule));
		fprintf(out, "%-*s  %-*s  %-*s  ", ws,
			same ? "" : clean(v->scenario, a, sizeof(a)), wr,
			clean(rule, b, sizeof(b)), wc,
			clean(v->check, c, sizeof(c)));
		if (color)
			fprintf(out, "%s%-*s\033[0m  ",
				outcome_color(v->outcome), wo, name);
		else
			fprintf(out, "%-*s  ", wo, name);
		fprintf(out, "%s\n", clean(v->reason, reason, sizeof(reason)));
	}
}

static size_t count_scenarios(const struct fd_verdicts *vs)
{
	size_t n = 0;

	for (size_t i = 0; i < vs->n; i++)
		if (i == 0 || strcmp(vs->v[i - 1].scenario, vs->v[i].scenario))
			n++;
	return n;
}

/* " N PASS, N FAIL[, N other...]" and a newline: PASS and FAIL always. */
static void print_counts(FILE *out, const size_t count[FD_OUTCOME_LAST],
			 bool color)
{
	for (int o = 0; o < FD_OUTCOME_LAST; o++) {
		if (o > FD_FAIL && !count[o])
			continue;
		fprintf(out, "%s %s%zu %s%s", o ? "," : "",
			color && count[o] ? outcome_color(o) : "", count[o],
			fd_outcome_name(o), color && count[o] ? "\033[0m" : "");
	}
	fputc('\n', out);
}

static bool same_form(const struct fd_verdict *a, const struct fd_verdict *b)
{
	return a->rule_id && b->rule_id && a->version == b->version &&
	       !strcmp(a->rule_id, b->rule_id);
}

/* One line per rule version ("form"): its checks and outcomes. */
static void summary_by_form(FILE *out, const struct fd_verdicts *vs,
			    bool color)
{
	for (size_t i = 0; i < vs->n; i++) {
		const struct fd_verdict *v = &vs->v[i];
		struct fd_verdicts sub = { 0 };
		char rule[64];
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = same_form(&vs->v[k], v);
		if (seen || !v->rule_id)
			continue;
		for (size_t k = i; k < vs->n; k++)
			if (same_form(&vs->v[k], v)) {
				sub.n++;
				sub.count[vs->v[k].outcome]++;
			}
		rule_label(v, rule, sizeof(rule));
		fprintf(out, "  %s: %zu check%s:", rule, sub.n,
			sub.n == 1 ? "" : "s");
		print_counts(out, sub.count, color);
	}
}

void fd_report_summary(FILE *out, const struct fd_verdicts *vs, bool color)
{
	fprintf(out, "%zu check%s in %zu scenario%s:", vs->n,
		vs->n == 1 ? "" : "s", count_scenarios(vs),
		count_scenarios(vs) == 1 ? "" : "s");
	print_counts(out, vs->count, color);
	summary_by_form(out, vs, color);
	if (vs->other_versions)
		fprintf(out, "%zu expectation%s for other versions of a rule "
			"not checked: the stack runs version %d\n",
			vs->other_versions, vs->other_versions == 1 ? "" : "s",
			vs->stack_version);
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' &&
			    *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static int close_report(FILE *f, const char *path)
{
	if (ferror(f) | (fclose(f) != 0)) {
		(void)path;
		return -FD_ERR_IO;
	}
	return 0;
}

static void junit_case(FILE *f, const struct fd_verdict *v)
{
	fputs("    <testcase classname=\"", f);
	xml_escaped(f, v->scenario);
	fputs("\" name=\"", f);
	xml_escaped(f, v->rule_id ? v->rule_id : "scenario");
	if (v->version)
		fprintf(f, " v%d", v->version);
	fputs(": ", f);
	xml_escaped(f, v->check);
	fprintf(f, "\" time=\"%.3f\">", v->ttd > 0 ? v->ttd : 0.0);
	if (v->outcome == FD_FAIL) {
		fputs("<failure message=\"", f);
		xml_escaped(f, v->reason);
		fputs("\"/>", f);
	} else if (v->outcome != FD_PASS) {
		fprintf(f, "<error type=\"%s\" message=\"",
			fd_outcome_name(v->outcome));
		xml_escaped(f, v->reason);
		fputs("\"/>", f);
	} else {
		fputs("<system-out>", f);
		xml_escaped(f, v->reason);
		fputs("</system-out>", f);
	}
	fputs("</testcase>\n", f);
}

int fd_report_junit(const char *path, const struct fd_runrec *rr,
		    const struct fd_verdicts *vs)
{
	FILE *f = fd_fopen_write(path);
	size_t errors = vs->n - vs->count[FD_PASS] - vs->count[FD_FAIL];

	if (!f)
		return -FD_ERR_IO;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"firedrill\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\">\n", vs->n,
		vs->count[FD_FAIL], errors);
	for (size_t i = 0; i < vs->n; i++) {
		const struct fd_verdict *v = &vs->v[i];
		size_t n = 0, fails = 0, errs = 0;

		if (i > 0 && !strcmp(vs->v[i - 1].scenario, v->scenario))
			continue;
		for (size_t k = i; k < vs->n &&
		     !strcmp(vs->v[k].scenario, v->scenario); k++, n++) {
			fails += vs->v[k].outcome == FD_FAIL;
			errs += vs->v[k].outcome > FD_FAIL;
		}
		fputs("  <testsuite name=\"", f);
		xml_escaped(f, v->scenario);
		fputs("\" id=\"", f);
		xml_escaped(f, rr->run_id);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n",
			n, fails, errs);
		for (size_t k = i; k < i + n; k++)
			junit_case(f, &vs->v[k]);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return close_report(f, path);
}

static cJSON *verdict_json(const struct fd_verdict *v)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "scenario", v->scenario);
	cJSON_AddStringToObject(o, "title", v->title ? v->title : "");
	cJSON_AddStringToObject(o, "file", v->path ? v->path : "");
	if (v->rule_id)
		cJSON_AddStringToObject(o, "rule_id", v->rule_id);
	else
		cJSON_AddNullToObject(o, "rule_id");
	if (v->rule_name)
		cJSON_AddStringToObject(o, "rule_name", v->rule_name);
	if (v->version)
		cJSON_AddNumberToObject(o, "rule_version", v->version);
	cJSON_AddStringToObject(o, "check", v->check);
	cJSON_AddStringToObject(o, "outcome", fd_outcome_name(v->outcome));
	cJSON_AddStringToObject(o, "reason", v->reason);
	cJSON_AddNumberToObject(o, "alerts", (double)v->alerts);
	if (v->ttd >= 0)
		cJSON_AddNumberToObject(o, "time_to_detect_s", v->ttd);
	else
		cJSON_AddNullToObject(o, "time_to_detect_s");
	return o;
}

int fd_report_json(const char *path, const struct fd_runrec *rr,
		   const char *backend, const struct fd_verdicts *vs)
{
	cJSON *root = cJSON_CreateObject(), *sum, *list;
	char *text = NULL;
	FILE *f;
	int rc = -FD_ERR_NOMEM;

	if (!root)
		return rc;
	cJSON_AddStringToObject(root, "run_id", rr->run_id);
	cJSON_AddStringToObject(root, "backend", backend);
	cJSON_AddNumberToObject(root, "exit_status",
				fd_verdicts_exit_status(vs));
	sum = cJSON_AddObjectToObject(root, "summary");
	list = cJSON_AddArrayToObject(root, "verdicts");
	if (!sum || !list)
		goto out;
	for (int o = 0; o < FD_OUTCOME_LAST; o++)
		cJSON_AddNumberToObject(sum, fd_outcome_name(o),
					(double)vs->count[o]);
	if (vs->other_versions) {
		cJSON_AddNumberToObject(sum, "not_checked_other_versions",
					(double)vs->other_versions);
		cJSON_AddNumberToObject(sum, "stack_version",
					vs->stack_version);
	}
	for (size_t i = 0; i < vs->n; i++) {
		cJSON *v = verdict_json(&vs->v[i]);

		if (!v)
			goto out;
		cJSON_AddItemToArray(list, v);
	}
	text = cJSON_Print(root);
	if (!text)
		goto out;
	f = strcmp(path, "-") ? fd_fopen_write(path) : stdout;
	if (!f) {
		rc = -FD_ERR_IO;
		goto out;
	}
	fputs(text, f);
	fputc('\n', f);
	rc = f == stdout ? (fflush(f) == 0 ? 0 : -FD_ERR_IO) :
	     close_report(f, path);
out:
	free(text);
	cJSON_Delete(root);
	return rc;
}
