/*
 * cmd_validate.c - `firedrill validate`: plumbing.  Read a run directory's
 * run record and decide every expectation through a backend.
 */
#include "cli.h"

#include "exception.h"
#include "live_args.h"
#include "opts.h"

static const struct fd_cmd_help help = {
	"firedrill validate --run DIR [options]",
	"Validate the run in DIR (its run.jsonl, written by 'firedrill\n"
	"emulate', here or on a test Mac): ask the detection backend for the\n"
	"alerts each expectation names and print a verdict for every check.\n"
	"The embedded backend builds events.ndjson from the run record and\n"
	"runs the rules in --rules over it; the kibana and elasticsearch\n"
	"backends poll a real stack, whose own rules decide.",
	"exit status:\n"
	"  0  every expectation passed\n"
	"  1  an expectation failed\n"
	"  2  usage error, or a bad run record or rule file\n"
	"  3  an ERROR, INCONCLUSIVE or BLOCKED verdict, and no FAIL\n\n"
	FD_LIVE_HELP
	"examples:\n"
	"  firedrill validate --run firedrill-runs/20261203T131500Z-1a2b3c4d\n"
	"  FIREDRILL_API_KEY_FILE=~/.config/firedrill/key \\\n"
	"    firedrill validate --run DIR --backend kibana \\\n"
	"    --kibana-url https://kibana.example:5601 --space purple",
};

int fd_cmd_validate(int argc, char **argv)
{
	struct fd_cli_validate_args va = { 0 };
	struct fd_cli_live live = { 0 };
	const char *run_dir = NULL, *rules_dir = NULL, *exc_path = NULL;
	struct fd_exc_set *exc = NULL;
	struct fd_ruleset rules = { 0 };
	bool shown;
	int first, status;
	const struct fd_opt opts[] = {
		{ 0, "run", FD_OPT_STRING, &run_dir, "DIR",
		  "the run directory to validate (required)" },
		FD_OPT_RULES(&rules_dir),
		FD_OPT_EXCEPTIONS(&exc_path),
		FD_OPT_BACKEND(&va.backend),
		FD_OPT_JUNIT(&va.junit),
		FD_OPT_JSON(&va.json),
		FD_OPT_QUIET(&va.quiet, "print the summary lines only"),
		FD_OPT_LIVE(&live),
		FD_OPT_END,
	};

	first = fd_opts_parse(argc, argv, opts, &help, &shown);
	if (first < 0)
		return shown ? FD_EXIT_PASS : FD_EXIT_USAGE;
	if (!run_dir || first < argc) {
		fd_cli_error(run_dir ? "validate: unexpected argument '%s'" :
			     "validate: --run DIR is required%s",
			     run_dir ? argv[first] : "");
		fd_opts_usage(stderr, opts, &help);
		return FD_EXIT_USAGE;
	}
	status = fd_cli_check_backend(va.backend);
	if (status == 0)
		status = fd_cli_check_reports(&va);
	if (status == 0)
		status = fd_cli_live_resolve(&live, va.backend);
	va.live = &live;
	if (status == 0 && fd_cli_backend_is_live(va.backend)) {
		if (rules_dir) {
			fd_cli_error("validate: --rules is for the embedded "
				     "backend; a live stack runs its own "
				     "rules");
			status = FD_EXIT_USAGE;
		} else {
			status = fd_cli_validate(run_dir, NULL, &va);
		}
	} else if (status == 0) {
		const char *rp = fd_cli_data_path(rules_dir, "FIREDRILL_RULES",
						  "rules");

		status = fd_cli_load_rules(rp, &rules);
		if (status == 0)
			status = fd_cli_load_exceptions(exc_path, rp, &exc);
		va.exceptions = exc;
		if (status == 0)
			status = fd_cli_validate(run_dir, &rules, &va);
	}
	fd_exc_free(exc);
	fd_ruleset_release(&rules);
	fd_cli_live_release(&live);
	return status;
}
