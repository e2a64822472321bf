/*
 * cmd_run.c - `firedrill run`: the porcelain.  Load the pack and the
 * rules (nothing runs if either is bad), emulate, then validate.
 */
#include "cli.h"

#include <string.h>

#include "exception.h"
#include "live_args.h"
#include "opts.h"

static const struct fd_cmd_help help = {
	"firedrill run [options] [PATH...]",
	"Emulate the scenarios in PATH (scenario files or folders; default:\n"
	"scenarios/) and validate every expectation on the detection backend\n"
	"(default: the embedded engine, which runs the rules in --rules).\n"
	"The run directory keeps run.jsonl, events.ndjson, alerts.ndjson and\n"
	"report.json.",
	"exit status:\n"
	"  0  every expectation passed\n"
	"  1  an expectation failed\n"
	"  2  usage error, or a bad scenario or rule file (nothing ran)\n"
	"  3  an ERROR, INCONCLUSIVE or BLOCKED verdict, and no FAIL\n\n"
	"environment: FIREDRILL_RULES and FIREDRILL_SCENARIOS name the default\n"
	"folders, FIREDRILL_STANDIN the stand-in program.\n\n"
	FD_LIVE_HELP
	"examples:\n"
	"  firedrill run\n"
	"  firedrill run --junit report.xml scenarios/dumping-account-hashes\n"
	"  firedrill run --dry-run scenarios/dumping-account-hashes/x.yaml",
};

int fd_cmd_run(int argc, char **argv)
{
	struct fd_cli_emulate_args ea = { 0 };
	struct fd_cli_validate_args va = { 0 };
	struct fd_cli_live live = { 0 };
	const char *rules_dir = NULL, *exc_path = NULL, *rules_path = NULL;
	struct fd_exc_set *exc = NULL;
	struct fd_ruleset rules = { 0 };
	struct fd_pack pk;
	char run_dir[PATH_MAX];
	const char *defaults[1];
	bool shown, live_stack;
	int first, status;
	const struct fd_opt opts[] = {
		FD_OPT_RULES(&rules_dir),
		FD_OPT_EXCEPTIONS(&exc_path),
		FD_OPT_OUT(&ea.out),
		FD_OPT_BACKEND(&va.backend),
		FD_OPT_JUNIT(&va.junit),
		FD_OPT_JSON(&va.json),
		FD_OPT_USER(&ea.user),
		FD_OPT_TMPDIR(&ea.tmpdir),
		FD_OPT_KEEP(&ea.keep),
		FD_OPT_DRY_RUN(&ea.dry_run),
		FD_OPT_QUIET(&va.quiet, "print the summary lines only"),
		FD_OPT_LIVE(&live),
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, &help, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	ea.quiet = va.quiet;
	defaults[0] = fd_cli_data_path(NULL, "FIREDRILL_SCENARIOS",
				       "scenarios");
	if (ea.out && !*ea.out) {
		fd_cli_error("run: --out needs a folder name");
		return FD_EXIT_USAGE;
	}
	status = fd_cli_load_pack(first < argc ?
				  (const char *const *)argv + first :
				  defaults,
				  first < argc ? (size_t)(argc - first) : 1,
				  &pk);
	if (status)
		return status;
	status = fd_cli_check_backend(va.backend);
	if (status == 0)
		status = fd_cli_check_reports(&va);
	if (status == 0)
		status = fd_cli_live_resolve(&live, va.backend);
	va.live = &live;
	live_stack = fd_cli_backend_is_live(va.backend);
	if (status == 0 && live_stack && rules_dir) {
		fd_cli_error("run: --rules is for the embedded backend; a live "
			     "stack runs its own rules");
		status = FD_EXIT_USAGE;
	}
	rules_path = fd_cli_data_path(rules_dir, "FIREDRILL_RULES", "rules");
	if (status == 0 && !live_stack)
		status = fd_cli_load_rules(rules_path, &rules);
	if (status == 0 && !live_stack)
		status = fd_cli_check_rules(&pk, &rules);
	if (status == 0 && !live_stack)
		status = fd_cli_load_exceptions(exc_path, rules_path, &exc);
	if (status == 0 && !live_stack)
		status = fd_cli_check_exceptions(&pk, &rules, exc);
	va.exceptions = exc;
	if (status == 0)
		status = fd_cli_emulate(&pk, &ea, run_dir);
	if (status == 0 && !ea.dry_run)
		status = fd_cli_validate(run_dir, live_stack ? NULL : &rules,
					 &va);
	if (status == 0 && !ea.dry_run && !va.quiet)
		fprintf(stderr, "firedrill: reports in %s\n", run_dir);
	fd_exc_free(exc);
	fd_ruleset_release(&rules);
	fd_cli_pack_release(&pk);
	fd_cli_live_release(&live);
	return status;
}
