#!/usr/bin/env bats
# 10-cli.bats - the command line itself: help that answers, usage errors
# that say what is wrong and exit 2, a version.

load helpers

@test "firedrill --help lists every command" {
	run "$FIREDRILL" --help
	assert_status 0
	for cmd in run emulate validate query; do
		assert_output --partial "  $cmd "
	done
}

@test "every command answers --help with its usage and exit status" {
	for cmd in run emulate validate query; do
		run "$FIREDRILL" "$cmd" --help
		assert_status 0
		assert_output --partial "usage: firedrill $cmd"
		assert_output --partial "exit status"
	done
}

@test "no command at all is a usage error" {
	run "$FIREDRILL"
	assert_status 2
	assert_output --partial "usage: firedrill"
}

@test "an unknown command is named and exits 2" {
	run "$FIREDRILL" frobnicate
	assert_status 2
	assert_output --partial "unknown command 'frobnicate'"
}

@test "an unknown option is named, with a hint, and exits 2" {
	for cmd in run emulate validate query; do
		run "$FIREDRILL" "$cmd" --no-such-option
		assert_status 2
		assert_output --partial "unknown option '--no-such-option'"
		assert_output --partial "firedrill $cmd --help"
	done
}

@test "an option that needs a value says so" {
	run "$FIREDRILL" run --out
	assert_status 2
	assert_output --partial "needs a value"
}

@test "--version prints the version" {
	run "$FIREDRILL" --version
	assert_status 0
	assert_output --regexp '^firedrill [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "validate without --run is a usage error" {
	run "$FIREDRILL" validate
	assert_status 2
	assert_output --partial "--run DIR is required"
}

@test "emulate without a scenario is a usage error" {
	run "$FIREDRILL" emulate
	assert_status 2
	assert_output --partial "name at least one scenario"
}

@test "a missing scenario path is named and nothing runs" {
	run fd run --tmpdir "$TMPDIR" "$SCRATCH/nope.yaml"
	assert_status 2
	assert_output --partial "cannot read '$SCRATCH/nope.yaml'"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "a folder with no scenarios is a usage error" {
	mkdir "$SCRATCH/empty"
	run fd run "$SCRATCH/empty"
	assert_status 2
	assert_output --partial "no scenario files"
}

@test "an unknown backend is a usage error, before anything runs" {
	run fd run --backend nosuch --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		scenarios
	assert_status 2
	assert_output --partial "unknown backend 'nosuch' (known: embedded"
	run ls -A "$TMPDIR"
	assert_output ""
	assert_file_not_exists "$SCRATCH/run/run.jsonl"
}

@test "an empty --out is a usage error with a message" {
	run fd run --out "" scenarios
	assert_status 2
	assert_output --partial "--out needs a folder name"
	run fd emulate --out= scenarios
	assert_status 2
	assert_output --partial "--out needs a folder name"
}

@test "a failed emulation leaves no half-made run folder behind" {
	mkdir "$SCRATCH/elsewhere-cwd"
	run sh -c "cd '$SCRATCH/elsewhere-cwd' && '$FIREDRILL' emulate \
		--tmpdir /nonexistent '$TOP/scenarios'"
	assert_no_crash
	[ "$status" -ne 0 ]
	run ls -A "$SCRATCH/elsewhere-cwd/firedrill-runs"
	assert_output ""
}

@test "--json - makes standard output the JSON alone; the table goes to stderr" {
	run sh -c "cd '$TOP' && '$FIREDRILL' run --json - --out '$SCRATCH/run' \
		--tmpdir '$TMPDIR' scenarios 2>/dev/null | python3 -c \
		'import json,sys; print(json.load(sys.stdin)[\"summary\"][\"FAIL\"])'"
	assert_status 0
	assert_output 0
	assert_file_not_exists "$TOP/-"
}

@test "options may come after the paths" {
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" scenarios -q
	assert_status 0
	assert_output --regexp "^[0-9]+ checks in [0-9]+ scenarios"
}
