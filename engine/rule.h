/*
 * rule.h - detection rules in Kibana's rule JSON, as the rules API returns
 * them and as Kibana's export writes them (NDJSON, one rule a line; the
 * export's trailing summary line {"exported_count":..} is skipped).
 *
 * A rule set owns its rules; each rule keeps its whole JSON object (for
 * kibana.alert.rule.parameters) and the fields the engine needs, with its
 * query compiled.  Nothing about any particular rule is known here.
 */
#ifndef FD_RULE_H
#define FD_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"
#include "query.h"
#include "scenario.h"		/* struct fd_strv */

struct fd_rule {
	char *rule_id;
	char *id;		/* saved-object uuid; made up if absent */
	char *name;
	char *description;
	char *type;		/* query, eql, ... */
	enum fd_lang lang;
	char *query;
	char *severity;
	int risk_score;
	int version;
	bool enabled;
	long interval_s;	/* schedule, e.g. 5m -> 300 */
	long lookback_s;	/* from now-9m, to now -> 540 */
	int max_signals;	/* default 100 */
	char *timestamp_override;	/* NULL: @timestamp */
	/* The list_id of each exceptions_list entry, in order; Kibana
	 * applies their items at each run (exception.h). */
	struct fd_strv exception_lists;
	struct fd_query *compiled;
	cJSON *json;		/* the rule as loaded; owned */
	char *file;		/* where it came from */
	int line;		/* line in an NDJSON file; 1 for a JSON file */
};

/* A rule that was read but cannot run here (e.g. machine_learning). */
struct fd_rule_skip {
	char *rule_id;		/* NULL when the rule has none */
	char *message;		/* file:line: rule 'Name': why */
};

struct fd_ruleset {
	struct fd_rule **rules;
	size_t n;
	/*
	 * Set before loading to keep going past rules the engine cannot
	 * run (FD_ERR_UNSUPPORTED): they are listed in skipped instead of
	 * failing the load.  A Kibana export mixes rule types; a scenario
	 * that names a skipped rule is refused by the caller.
	 */
	bool skip_unsupported;
	struct fd_rule_skip *skipped;
	size_t nskipped;
};

/*
 * Add the rules of one file (a JSON object, a JSON array of rules, or
 * NDJSON) to set.  Returns 0, or a negative fd_err with diag naming the
 * file, line and problem (a rule whose query fails to compile is an error:
 * "rules/x.ndjson:3: rule 'Name': query: column 57: expected a value").
 */
int fd_ruleset_load_file(struct fd_ruleset *set, const char *path,
			 struct fd_diag *diag);

/*
 * The same for text already in memory (len bytes, no NUL needed); name is
 * what diagnostics and fd_rule.file call it.
 */
int fd_ruleset_load_text(struct fd_ruleset *set, const char *name,
			 const char *text, size_t len, struct fd_diag *diag);

/* Load every *.json and *.ndjson file in dir (sorted by name). */
int fd_ruleset_load_dir(struct fd_ruleset *set, const char *dir,
			struct fd_diag *diag);

/* The rule with this rule_id (the highest version if several), or NULL. */
const struct fd_rule *fd_ruleset_find(const struct fd_ruleset *set,
				      const char *rule_id);

/* The rule with this rule_id and version (0: the highest), or NULL. */
const struct fd_rule *fd_ruleset_find_version(const struct fd_ruleset *set,
					      const char *rule_id,
					      int version);

/* The skipped entry for rule_id, or NULL. */
const struct fd_rule_skip *fd_ruleset_skipped(const struct fd_ruleset *set,
					      const char *rule_id);

/* Release everything the set holds; the struct itself is the caller's. */
void fd_ruleset_release(struct fd_ruleset *set);

/* Parse Kibana's interval/date-math durations: "5m", "30s", "1h", "now-9m"
 * (-> 540).  Returns seconds, or -1 when it is not one. */
long fd_rule_parse_duration(const char *text);

#endif
