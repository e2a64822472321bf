/*
 * rules_load.c - loading the rules folder for the commands that use the
 * engine, and checking that every rule a scenario names is there.
 *
 * Kept apart from common.c because rules need the engine (and cJSON):
 * the standalone emulator links common.c without them.
 */
#include "cli.h"
#include "exception.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fd_cli_load_rules(const char *path, struct fd_ruleset *set)
{
	struct fd_diag d;
	struct stat st;
	char msg[1200];
	int rc;

	memset(set, 0, sizeof(*set));
	set->skip_unsupported = true;
	fd_diag_clear(&d);
	if (stat(path, &st) != 0) {
		fd_cli_error("cannot read rules '%s': %s (name them with "
			     "--rules PATH or FIREDRILL_RULES)", path,
			     strerror(errno));
		return FD_EXIT_USAGE;
	}
	rc = S_ISDIR(st.st_mode) ? fd_ruleset_load_dir(set, path, &d) :
	     fd_ruleset_load_file(set, path, &d);
	if (rc < 0) {
		if (!d.file[0])
			snprintf(d.file, sizeof(d.file), "%s", path);
		fprintf(stderr, "%s\n", fd_diag_format(&d, msg, sizeof(msg)));
		fd_ruleset_release(set);
		return FD_EXIT_USAGE;
	}
	for (size_t i = 0; i < set->nskipped; i++)
		fprintf(stderr, "firedrill: skipped %s\n",
			set->skipped[i].message);
	if (set->n == 0) {
		fd_cli_error("no rule that the engine can run in '%s'%s", path,
			     S_ISDIR(st.st_mode) ? " (it reads *.json and "
			     "*.ndjson files)" : "");
		fd_ruleset_release(set);
		return FD_EXIT_USAGE;
	}
	return 0;
}

/* Say why the rule that ex names is not in set. */
static void say_missing(const struct fd_scenario *sc,
			const struct fd_expect *ex,
			const struct fd_ruleset *set)
{
	const char *file = sc->path, *id = ex->rule_id;
	int line = ex->pos.line, col = ex->pos.col;

	if (fd_ruleset_skipped(set, id))
		fprintf(stderr, "%s:%d:%d: rule '%s' cannot run here: %s\n",
			file, line, col, id,
			fd_ruleset_skipped(set, id)->message);
	else if (ex->version && fd_ruleset_find(set, id))
		fprintf(stderr, "%s:%d:%d: rule '%s' has no version %d in "
			"the rules folder\n", file, line, col, id,
			ex->version);
	else
		fprintf(stderr, "%s:%d:%d: rule '%s' is not in the rules "
			"folder\n", file, line, col, id);
}

int fd_cli_check_rules(const struct fd_pack *pk,
		       const struct fd_ruleset *set)
{
	int rc = 0;

	for (size_t i = 0; i < pk->n; i++) {
		const struct fd_scenario *sc = pk->v[i];

		for (size_t k = 0; k < sc->nexpects; k++) {
			const struct fd_expect *ex = &sc->expects[k];

			if (fd_ruleset_find_version(set, ex->rule_id,
						    ex->version))
				continue;
			say_missing(sc, ex, set);
			rc = FD_EXIT_USAGE;
		}
	}
	if (rc)
		fd_cli_error("nothing was run: fix the scenario files above");
	return rc;
}

/* The default: an exceptions folder beside the rules. */
static void default_exceptions(const char *rules_path, char *buf,
			       size_t len)
{
	struct stat st;

	if (stat(rules_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(buf, len, "%s/exceptions", rules_path);
	} else {
		const char *slash = strrchr(rules_path, '/');

		snprintf(buf, len, "%.*s%sexceptions",
			 slash ? (int)(slash - rules_path) : 0, rules_path,
			 slash ? "/" : "");
	}
}

int fd_cli_load_exceptions(const char *given, const char *rules_path,
			   struct fd_exc_set **set)
{
	const char *env = getenv("FIREDRILL_EXCEPTIONS");
	const char *path = given ? given : env && *env ? env : NULL;
	char fallback[PATH_MAX], msg[1200];
	struct fd_diag d;
	struct stat st;

	*set = NULL;
	if (!path) {
		default_exceptions(rules_path, fallback, sizeof(fallback));
		if (stat(fallback, &st) != 0)
			return 0;	/* none: that is fine */
		path = fallback;
	}
	fd_diag_clear(&d);
	if (fd_exc_load(set, path, &d) < 0) {
		if (!d.file[0])
			snprintf(d.file, sizeof(d.file), "%s", path);
		fprintf(stderr, "%s\n", fd_diag_format(&d, msg, sizeof(msg)));
		return FD_EXIT_USAGE;
	}
	return 0;
}

int fd_cli_check_exceptions(const struct fd_pack *pk,
			    const struct fd_ruleset *rules,
			    const struct fd_exc_set *set)
{
	int bad = 0;

	for (size_t i = 0; i < pk->n; i++) {
		const struct fd_scenario *sc = pk->v[i];

		if (sc->control_of)
			continue;	/* its scenario's lists, said once */
		for (size_t k = 0; k < sc->exceptions.n; k++) {
			if (fd_exc_has_list(set, sc->exceptions.v[k]))
				continue;
			fprintf(stderr, "%s: exception list '%s' is not "
				"loaded (give the folder with --exceptions "
				"PATH, default: rules/exceptions)\n",
				sc->path, sc->exceptions.v[k]);
			bad = 1;
		}
	}
	for (size_t i = 0; rules && i < rules->n; i++) {
		const struct fd_rule *r = rules->rules[i];

		for (size_t k = 0; k < r->exception_lists.n; k++) {
			if (fd_exc_has_list(set, r->exception_lists.v[k]))
				continue;
			fd_cli_error("warning: rule '%s' v%d refers to "
				     "exception list '%s', which is not "
				     "loaded: the rule will not run",
				     r->rule_id, r->version,
				     r->exception_lists.v[k]);
		}
	}
	return bad ? FD_EXIT_USAGE : 0;
}
