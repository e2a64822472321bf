/*
 * test_validate.c - expectations to verdicts, through a fake backend whose
 * answers each test sets: alerts found, the rule's state, failures.
 *
 * The fake backend counts its calls, so the tests can also check that one
 * poll cycle asks once for all pending expectations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "report.h"
#include "runrec.h"
#include "validate.h"

#define RULE "02ea4563-ec10-4974-b7de-12e65aa4f9b3"
#define RUN "20261203T131500Z-1a2b3c4d"

static const char positive_yaml[] =
	"id: pos\n"
	"title: positive\n"
	"rules: [" RULE "]\n"
	"host: {os: macos}\n"
	"steps:\n"
	"  - run: defaults\n"
	"    args: [read, x, ShadowHashData]\n"
	"expect:\n"
	"  - rule: " RULE "\n"
	"    count: 1\n"
	"    severity: high\n"
	"    risk_score: 73\n"
	"    tactic: TA0006\n"
	"    technique: T1003\n";

static const char negative_yaml[] =
	"id: neg\n"
	"title: negative\n"
	"rules: [" RULE "]\n"
	"host: {os: macos}\n"
	"steps:\n"
	"  - run: defaults\n"
	"    args: [read, com.apple.dock]\n"
	"expect:\n"
	"  - rule: " RULE "\n"
	"    count: 0\n";

/* ---- the fake backend ---- */

struct fake {
	const char *alert_severity;	/* NULL: no alert */
	int alert_risk;
	const char *alert_scenario;	/* whose path the alert carries */
	struct fd_rule_state state;
	int fail_search;	/* every search fails */
	int fail_first;		/* the first n searches fail */
	enum fd_err fail_err;	/* how they fail; 0: FD_ERR_BACKEND */
	int searches;
	int alert_from_search;	/* > 0: alerts only from this search on */
	char order[64];		/* 's' per search, 'r' per state read */
	size_t last_nfilters;
};

static struct fake F;

static cJSON *fake_alert(void)
{
	char exe[256];
	cJSON *a = cJSON_CreateObject();
	cJSON *threat = cJSON_CreateArray(), *t = cJSON_CreateObject();
	cJSON *tech = cJSON_CreateArray(), *tt = cJSON_CreateObject();
	cJSON *proc = cJSON_CreateObject(), *host = cJSON_CreateObject();

	snprintf(exe, sizeof(exe), "/tmp/firedrill-%s/%s/defaults", RUN,
		 F.alert_scenario);
	cJSON_AddStringToObject(a, "@timestamp", "2026-12-03T13:15:02.000Z");
	cJSON_AddStringToObject(a, "kibana.alert.rule.rule_id", RULE);
	cJSON_AddStringToObject(a, "kibana.alert.severity",
				F.alert_severity);
	cJSON_AddNumberToObject(a, "kibana.alert.risk_score", F.alert_risk);
	cJSON_AddStringToObject(a, "kibana.alert.original_time",
				"2026-12-03T13:15:01.000Z");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(t, "tactic"), "id",
			      cJSON_CreateString("TA0006"));
	cJSON_AddStringToObject(tt, "id", "T1003");
	cJSON_AddItemToArray(tech, tt);
	cJSON_AddItemToObject(t, "technique", tech);
	cJSON_AddItemToArray(threat, t);
	cJSON_AddItemToObject(a, "kibana.alert.rule.threat", threat);
	cJSON_AddStringToObject(proc, "executable", exe);
	cJSON_AddStringToObject(proc, "name", "defaults");
	cJSON_AddItemToObject(a, "process", proc);
	cJSON_AddStringToObject(host, "name", "test-host");
	cJSON_AddItemToObject(a, "host", host);
	return a;
}

static int fake_search(void *ctx, const struct fd_alert_filter *f, size_t n,
		       struct fd_alert_list *out, struct fd_diag *diag)
{
	(void)ctx;
	F.searches++;
	F.last_nfilters = n;
	if (strlen(F.order) + 1 < sizeof(F.order))
		strcat(F.order, "s");
	if (F.fail_search || F.searches <= F.fail_first)
		return fd_diag_set(diag, F.fail_err ? F.fail_err :
				   FD_ERR_BACKEND, 0, 0,
				   "HTTP 500 from the fake");
	for (size_t i = 0; i < n; i++) {
		cJSON *a;

		out[i].v = NULL;
		out[i].n = 0;
		if (!F.alert_severity ||
		    (F.alert_from_search && F.searches < F.alert_from_search))
			continue;
		a = fake_alert();
		if (!fd_alert_filter_match(&f[i], a)) {
			cJSON_Delete(a);
			continue;
		}
		out[i].v = malloc(sizeof(cJSON *));
		out[i].v[0] = a;
		out[i].n = 1;
	}
	return 0;
}

static int fake_state(void *ctx, const char *rule_id, int version,
		      struct fd_rule_state *st, struct fd_diag *diag)
{
	(void)ctx;
	(void)rule_id;
	(void)version;
	(void)diag;
	if (strlen(F.order) + 1 < sizeof(F.order))
		strcat(F.order, "r");
	*st = F.state;
	return 0;
}

static const struct fd_backend fake_offline = {
	.name = "fake", .caps = FD_BACKEND_OFFLINE,
	.search_alerts = fake_search, .rule_state = fake_state,
};

static const struct fd_backend fake_live = {
	.name = "fake-live", .caps = 0,
	.search_alerts = fake_search, .rule_state = fake_state,
};

/* ---- a run record built by hand ---- */

struct fixture {
	struct fd_runrec rr;
	struct fd_scenario *sc[2];
	struct fd_runrec_proc procs[2];
	struct fd_verdicts vs;
};

static void add_scenario(struct fixture *fx, size_t i, const char *yaml)
{
	struct fd_diag d;
	struct fd_runrec_proc *p = &fx->procs[i];

	fd_diag_clear(&d);
	assert_int_equal(fd_scenario_parse("t.yaml", yaml, strlen(yaml),
					   &fx->sc[i], &d), 0);
	memset(p, 0, sizeof(*p));
	p->scenario = fx->sc[i]->id;
	p->target = true;
	p->pid = 100 + (long)i;
	p->name = "defaults";
	p->start = fd_time_parse("2026-12-03T13:15:01.000Z");
	p->end = p->start + 0.01;
	p->has_exit_code = true;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	add_scenario(fx, 0, positive_yaml);
	add_scenario(fx, 1, negative_yaml);
	fx->rr.run_id = RUN;
	fx->rr.ended = true;
	fx->rr.complete = true;
	fx->rr.host_name = "test-host";
	fx->rr.scenarios = fx->sc;
	fx->rr.nscenarios = 2;
	fx->rr.procs = fx->procs;
	fx->rr.nprocs = 2;
	memset(&F, 0, sizeof(F));
	F.alert_severity = "high";
	F.alert_risk = 73;
	F.alert_scenario = "pos";
	F.state.found = true;
	F.state.enabled = true;
	snprintf(F.state.status, sizeof(F.state.status), "succeeded");
	F.state.covered_from = fx->procs[0].start - 60;
	F.state.covered_to = fx->procs[0].start + 60;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	fd_verdicts_release(&fx->vs);
	fd_scenario_free(fx->sc[0]);
	fd_scenario_free(fx->sc[1]);
	free(fx);
	return 0;
}

static const struct fd_verdict *row(const struct fixture *fx,
				    const char *scenario, const char *check)
{
	for (size_t i = 0; i < fx->vs.n; i++)
		if (!strcmp(fx->vs.v[i].scenario, scenario) &&
		    !strcmp(fx->vs.v[i].check, check))
			return &fx->vs.v[i];
	fail_msg("no verdict '%s' for '%s'", check, scenario);
	return NULL;
}

static void validate(struct fixture *fx, const struct fd_backend *be)
{
	struct fd_validate_opts o = { .poll_min_s = 0.01,
				      .poll_max_s = 0.02 };

	assert_int_equal(fd_validate(&fx->rr, be, NULL, NULL, &o, &fx->vs),
			 0);
}

static void test_validate__all_pass(void **state)
{
	struct fixture *fx = *state;

	validate(fx, &fake_offline);
	assert_int_equal(fx->vs.n, 6);
	assert_int_equal(fx->vs.count[FD_PASS], 6);
	assert_int_equal(fd_verdicts_exit_status(&fx->vs), 0);
	assert_true(row(fx, "pos", "count == 1")->ttd >= 0);
	assert_int_equal(F.searches, 1);
	assert_int_equal(F.last_nfilters, 2);
}

static void test_validate__wrong_severity_names_both(void **state)
{
	struct fixture *fx = *state;

	F.alert_severity = "medium";
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "pos", "severity high")->outcome, FD_FAIL);
	assert_string_equal(row(fx, "pos", "severity high")->reason,
			    "expected severity 'high', got 'medium'");
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_PASS);
	assert_int_equal(fd_verdicts_exit_status(&fx->vs), 1);
}

static void test_validate__wrong_risk_score(void **state)
{
	struct fixture *fx = *state;

	F.alert_risk = 47;
	validate(fx, &fake_offline);
	assert_string_equal(row(fx, "pos", "risk_score 73")->reason,
			    "expected risk score 73, got 47");
}

static void test_validate__missing_alert_fails(void **state)
{
	struct fixture *fx = *state;

	F.alert_severity = NULL;
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
	assert_string_equal(row(fx, "pos", "count == 1")->reason,
			    "expected 1 alert, got 0");
	assert_int_equal(row(fx, "pos", "severity high")->outcome, FD_FAIL);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome, FD_PASS);
}

static void test_validate__alert_on_a_negative_fails(void **state)
{
	struct fixture *fx = *state;

	F.alert_scenario = "neg";
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome, FD_FAIL);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
}

static void test_validate__alerts_of_another_run_do_not_count(void **state)
{
	struct fixture *fx = *state;

	fx->rr.run_id = "20261203T131500Z-ffffffff";
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
}

/* A run id that ends another's must not claim its alerts. */
static void test_validate__a_run_id_suffix_claims_nothing(void **state)
{
	struct fixture *fx = *state;

	fx->rr.run_id = "1a2b3c4d";
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
}

static void test_validate__negative_needs_a_covering_run(void **state)
{
	struct fixture *fx = *state;

	F.state.covered_to = fx->procs[1].start - 1;
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome,
			 FD_INCONCLUSIVE);
	assert_int_equal(fd_verdicts_exit_status(&fx->vs), 3);
}

static void test_validate__negative_on_a_disabled_rule(void **state)
{
	struct fixture *fx = *state;

	F.state.enabled = false;
	F.alert_severity = NULL;
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome,
			 FD_INCONCLUSIVE);
	assert_non_null(strstr(row(fx, "neg", "count == 0")->reason,
			       "disabled"));
}

static void test_validate__negative_on_a_failed_run(void **state)
{
	struct fixture *fx = *state;

	snprintf(F.state.status, sizeof(F.state.status), "failed");
	snprintf(F.state.message, sizeof(F.state.message), "index missing");
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome,
			 FD_INCONCLUSIVE);
	assert_non_null(strstr(row(fx, "neg", "count == 0")->reason,
			       "index missing"));
}

static void test_validate__backend_failure_is_error(void **state)
{
	struct fixture *fx = *state;

	/* Every check of every expectation is listed, each an ERROR. */
	F.fail_search = 1;
	validate(fx, &fake_offline);
	assert_int_equal(fx->vs.count[FD_ERROR], fx->vs.n);
	assert_int_equal(fx->vs.n, 6);
	assert_int_equal(fd_verdicts_exit_status(&fx->vs), 3);
	assert_int_equal(F.searches, 6);	/* the first and 5 retries */
}

static void test_validate__a_transient_failure_is_retried(void **state)
{
	struct fixture *fx = *state;

	F.fail_first = 2;
	F.fail_err = FD_ERR_NETWORK;
	validate(fx, &fake_live);
	assert_int_equal(F.searches, 3);
	assert_int_equal(fx->vs.count[FD_PASS], fx->vs.n);
}

static void test_validate__refused_credentials_end_the_run_at_once(void **state)
{
	struct fixture *fx = *state;

	F.fail_search = 1;
	F.fail_err = FD_ERR_AUTH;
	validate(fx, &fake_live);
	assert_int_equal(F.searches, 1);
	assert_int_equal(fx->vs.count[FD_ERROR], fx->vs.n);
	assert_non_null(strstr(row(fx, "pos", "count == 1")->reason,
			       "HTTP 500 from the fake"));
}

static void test_validate__retries_zero_means_none(void **state)
{
	struct fixture *fx = *state;
	struct fd_validate_opts o = { .poll_min_s = 0.01, .retries = -1 };

	F.fail_search = 1;
	F.fail_err = FD_ERR_NETWORK;
	assert_int_equal(fd_validate(&fx->rr, &fake_live, NULL, NULL, &o,
				     &fx->vs), 0);
	assert_int_equal(F.searches, 1);
}

static void test_validate__a_missing_rule_is_an_error_at_once(void **state)
{
	struct fixture *fx = *state;

	F.state.found = false;
	snprintf(F.state.message, sizeof(F.state.message),
		 "rule '%s' is not installed in space 'default'", RULE);
	validate(fx, &fake_live);
	assert_int_equal(F.searches, 1);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome, FD_ERROR);
	assert_non_null(strstr(row(fx, "pos", "count == 1")->reason,
			       "not installed"));
}

static void test_validate__only_the_stack_version_is_checked(void **state)
{
	struct fixture *fx = *state;

	/* pos names version 107, the stack runs 112: pos is not checked,
	 * and since none of its expectations applies, that is an ERROR;
	 * neg names no version, so it applies. */
	fx->sc[0]->expects[0].version = 107;
	F.state.version = 112;
	snprintf(F.state.name, sizeof(F.state.name), "Seed rule");
	validate(fx, &fake_live);
	assert_int_equal(fx->vs.other_versions, 1);
	assert_int_equal(fx->vs.stack_version, 112);
	assert_int_equal(row(fx, "pos", "expectations")->outcome, FD_ERROR);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome, FD_PASS);
	assert_int_equal(row(fx, "neg", "count == 0")->version, 112);
	assert_string_equal(row(fx, "neg", "count == 0")->rule_name,
			    "Seed rule");
}

static void test_validate__a_run_must_start_after_the_margin(void **state)
{
	struct fixture *fx = *state;
	struct fd_validate_opts o = { .poll_min_s = 0.01,
				      .ingest_margin_s = 120,
				      .deadline_s = 0.05 };

	/* The rule's last run started 60 s after the events: with 120 s
	 * for them to become searchable, it proves nothing. */
	F.state.last_run = fx->procs[0].start + 60;
	F.state.covered_to = F.state.last_run;
	assert_int_equal(fd_validate(&fx->rr, &fake_live, NULL, NULL, &o,
				     &fx->vs), 0);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome,
			 FD_INCONCLUSIVE);
	assert_non_null(strstr(row(fx, "neg", "count == 0")->reason,
			       "surely searchable"));
}

static void test_validate__the_stack_rule_sets_the_deadline(void **state)
{
	struct fixture *fx = *state;
	struct timespec t0, t1;

	/* No local rule, no deadline in the scenario: the rule's interval
	 * (1 s) and look-back (0) on the stack, plus the margin (0), are
	 * the wait, not the 15-minute fallback. */
	F.alert_severity = NULL;
	F.state.covered_to = 0;
	F.state.interval_s = 1;
	F.state.lookback_s = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	validate(fx, &fake_live);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
}

static void test_validate__state_is_read_before_the_search(void **state)
{
	struct fixture *fx = *state;

	validate(fx, &fake_live);
	assert_int_equal(strncmp(F.order, "rrs", 3), 0);
}

static void test_validate__an_alert_still_being_written_fails_a_negative(
	void **state)
{
	struct fixture *fx = *state;
	struct fd_validate_opts o = { .poll_min_s = 0.5, .poll_max_s = 0.5,
				      .ingest_margin_s = 5,
				      .deadline_s = 3 };

	/* The state shows the covering run from the start, but its alert
	 * becomes searchable only at the second search: the negative must
	 * not pass on the first. */
	F.alert_scenario = "neg";
	F.alert_from_search = 2;
	F.state.last_run = fx->procs[1].start + 10;
	F.state.covered_to = F.state.last_run;
	assert_int_equal(fd_validate(&fx->rr, &fake_live, NULL, NULL, &o,
				     &fx->vs), 0);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome, FD_FAIL);
}

static void test_validate__at_least_settles_when_reached(void **state)
{
	struct fixture *fx = *state;

	/* No run covers the events yet, but ">= 1" is already true. */
	fx->sc[0]->expects[0].count_op = FD_COUNT_AT_LEAST;
	fx->sc[1]->expects[0].deadline_ms = 50;
	F.state.covered_to = 0;
	validate(fx, &fake_live);
	assert_int_equal(row(fx, "pos", "count >= 1")->outcome, FD_PASS);
}

static void test_validate__killed_stand_in_is_blocked(void **state)
{
	struct fixture *fx = *state;

	fx->procs[0].signal = 9;
	fx->procs[0].has_exit_code = false;
	validate(fx, &fake_offline);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_BLOCKED);
	assert_int_equal(fd_verdicts_exit_status(&fx->vs), 3);
}

static void test_validate__live_polls_until_the_deadline(void **state)
{
	struct fixture *fx = *state;

	/* No alert ever comes and no run covers the events: a live backend
	 * is polled again and again until the deadline, then the positive
	 * fails and the negative is INCONCLUSIVE, never PASS. */
	F.alert_severity = NULL;
	F.state.covered_to = 0;
	fx->sc[0]->expects[0].deadline_ms = 100;
	fx->sc[1]->expects[0].deadline_ms = 100;
	validate(fx, &fake_live);
	assert_true(F.searches >= 2);
	assert_int_equal(row(fx, "pos", "count == 1")->outcome, FD_FAIL);
	assert_int_equal(row(fx, "neg", "count == 0")->outcome,
			 FD_INCONCLUSIVE);
}

static void test_validate__verdicts_keep_scenario_order(void **state)
{
	struct fixture *fx = *state;

	validate(fx, &fake_offline);
	assert_string_equal(fx->vs.v[0].scenario, "pos");
	assert_string_equal(fx->vs.v[fx->vs.n - 1].scenario, "neg");
}

static void test_validate__junit_escapes_and_counts(void **state)
{
	struct fixture *fx = *state;
	char path[] = "/tmp/fd-junit-XXXXXX", buf[8192];
	int fd = mkstemp(path);
	FILE *f;
	size_t n;

	assert_true(fd >= 0);
	close(fd);
	F.alert_severity = "<medium>";
	validate(fx, &fake_offline);
	assert_int_equal(fd_report_junit(path, &fx->rr, &fx->vs), 0);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	assert_non_null(strstr(buf, "got &apos;&lt;medium&gt;&apos;"));
	assert_non_null(strstr(buf, "tests=\"6\" failures=\"1\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_validate__all_pass),
		T(test_validate__wrong_severity_names_both),
		T(test_validate__wrong_risk_score),
		T(test_validate__missing_alert_fails),
		T(test_validate__alert_on_a_negative_fails),
		T(test_validate__alerts_of_another_run_do_not_count),
		T(test_validate__a_run_id_suffix_claims_nothing),
		T(test_validate__negative_needs_a_covering_run),
		T(test_validate__negative_on_a_disabled_rule),
		T(test_validate__negative_on_a_failed_run),
		T(test_validate__backend_failure_is_error),
		T(test_validate__a_transient_failure_is_retried),
		T(test_validate__refused_credentials_end_the_run_at_once),
		T(test_validate__retries_zero_means_none),
		T(test_validate__a_missing_rule_is_an_error_at_once),
		T(test_validate__only_the_stack_version_is_checked),
		T(test_validate__a_run_must_start_after_the_margin),
		T(test_validate__at_least_settles_when_reached),
		T(test_validate__the_stack_rule_sets_the_deadline),
		T(test_validate__state_is_read_before_the_search),
		T(test_validate__an_alert_still_being_written_fails_a_negative),
		T(test_validate__killed_stand_in_is_blocked),
		T(test_validate__live_polls_until_the_deadline),
		T(test_validate__verdicts_keep_scenario_order),
		T(test_validate__junit_escapes_and_counts),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
