/*
 * fuzz_rule.c - libFuzzer entry point for the rule loader.
 *
 * Each input is loaded as a rules file (one object, an array or NDJSON)
 * through fd_ruleset_load_text(), so the JSON walker, the field checks and
 * the query compilers all see arbitrary bytes; whatever loads is then
 * looked up and released, which ASan checks for leaks and overruns.
 */
#include <stddef.h>
#include <stdint.h>

#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_ruleset set = { 0 };
	struct fd_diag diag;
	char msg[1200];

	if (fd_ruleset_load_text(&set, "fuzz.ndjson", (const char *)data,
				 size, &diag) < 0)
		fd_diag_format(&diag, msg, sizeof(msg));
	for (size_t i = 0; i < set.n; i++)
		fd_ruleset_find(&set, set.rules[i]->rule_id);
	fd_ruleset_release(&set);
	return 0;
}
