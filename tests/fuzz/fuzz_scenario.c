/*
 * fuzz_scenario.c - libFuzzer entry for the scenario loader: any bytes go
 * through fd_scenario_parse(), which must either refuse them with a located
 * diagnostic or return a scenario that keeps the loader's promises (every
 * list NULL-terminated, the host profile filled in, each expectation's rule
 * under test).  Built by `make fuzz`; seeds: tests/fuzz/corpus/scenario/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strv(const struct fd_strv *sv)
{
	if (!sv->v || sv->v[sv->n])
		abort();
	for (size_t i = 0; i < sv->n; i++)
		if (!sv->v[i])
			abort();
}

static void check(const struct fd_scenario *sc, const char *text,
		  size_t size)
{
	if (!sc->id || !sc->title || !sc->nsteps || !sc->nexpects ||
	    !sc->rules.n || memcmp(sc->source, text, size) != 0)
		abort();
	if (!sc->host.os_type || !sc->host.os_name || !sc->host.os_version ||
	    !sc->host.os_family || !sc->host.os_platform)
		abort();
	check_strv(&sc->rules);
	check_strv(&sc->exceptions);
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct fd_step *st = &sc->steps[i];

		if (!st->run || !*st->run || strchr(st->run, '/') ||
		    st->timeout_ms <= 0 || st->dwell_ms < 0)
			abort();
		check_strv(&st->args);
		check_strv(&st->parents);
	}
	for (size_t i = 0; i < sc->nexpects; i++) {
		const struct fd_expect *ex = &sc->expects[i];

		if (!fd_strv_contains(&sc->rules, ex->rule_id) ||
		    ex->count < 0 || ex->risk_score < -1 ||
		    ex->risk_score > 100)
			abort();
		check_strv(&ex->tactics);
		check_strv(&ex->techniques);
		check_strv(&ex->subtechniques);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_scenario *sc = NULL;
	struct fd_diag diag;
	int err;

	err = fd_scenario_parse("fuzz.yaml", (const char *)data, size, &sc,
				&diag);
	if (err) {
		/* A refusal always says what and, unless memory ran out,
		 * where. */
		if (sc || !diag.msg[0] || strcmp(diag.file, "fuzz.yaml") ||
		    (err != -FD_ERR_NOMEM && diag.line < 1) ||
		    (err != -FD_ERR_NOMEM && diag.col < 1))
			abort();
		return 0;
	}
	check(sc, (const char *)data, size);
	fd_scenario_free(sc);
	return 0;
}
