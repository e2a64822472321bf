#!/usr/bin/env bats
# 22-attributes.bats - what exceptions key on, really produced: a step's
# cwd, path and env seen on the live stand-ins in /proc (as root), the
# same in the events of `firedrill run` with the parent's name and the
# user's; and an exception scenario's control, run and reported as a
# scenario of its own.

load helpers

PLIST=/var/db/dslocal/nodes/Default/users/alice.plist

# attributes_scenario [EXTRA_STEP_LINES]: jamf > defaults reading the
# hash, in a cwd, from a path, with two variables.
attributes_scenario() {
	write_scenario attrs <<YAML
# The attributes an exception can key on.
id: t-attrs
title: the MDM agent reads ShadowHashData
rules: [$SEED_RULE]
host: {os: macos, name: mdm-mac-01}
steps:
  - run: defaults
    args: [read, $PLIST, ShadowHashData]
    parents: [jamf]
    cwd: Users/alice/work
    path: ci-tools
    env: {CI: "true", JOB_ID: "42"}
$1
expect:
  - rule: $SEED_RULE
    count: 1
YAML
}

# exception_scenario ID: an exception scenario and its control.
exception_scenario() {
	write_scenario "$1" <<YAML
# jamf is excepted; a shell doing the same is not.
id: $1
title: "the MDM agent reads ShadowHashData: excepted"
rules: [$SEED_RULE]
host: {os: macos}
exceptions: [firedrill-test-mdm]
steps:
  - run: defaults
    args: [read, $PLIST, ShadowHashData]
    parents: [jamf]
expect:
  - rule: $SEED_RULE
    count: 0
control:
  steps:
    - run: defaults
      args: [read, $PLIST, ShadowHashData]
      parents: [zsh]
YAML
}

# The exception list the exception scenario attaches: jamf as a parent.
write_exception_list() {
	mkdir -p "$SCRATCH/exceptions"
	cat >"$SCRATCH/exceptions/mdm.json" <<JSON
[
  {"list_id": "firedrill-test-mdm", "name": "MDM agent",
   "id": "5b3b3b1e-0000-4000-8000-000000000001",
   "description": "the MDM agent", "type": "detection",
   "namespace_type": "single"},
  {"list_id": "firedrill-test-mdm", "item_id": "jamf-parent",
   "name": "jamf", "description": "jamf as the parent",
   "type": "simple", "namespace_type": "single",
   "entries": [{"field": "process.parent.name", "type": "match",
                "operator": "included", "value": "jamf"}]}
]
JSON
}

# wait_for_exe SUFFIX: the pid of the process whose executable ends with
# SUFFIX, once it runs (up to 5 s).
wait_for_exe() {
	local p exe
	for _ in $(seq 100); do
		for p in /proc/[0-9]*; do
			exe=$(readlink "$p/exe" 2>/dev/null) || continue
			case "$exe" in "$TMPDIR"/firedrill-*"$1")
				echo "${p#/proc/}"
				return 0;;
			esac
		done
		sleep 0.05
	done
	return 1
}

# mode FILE, owner FILE: permission bits in octal, the owner's uid (GNU
# stat, else BSD stat).
mode() {
	stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"
}

owner() {
	stat -c %u "$1" 2>/dev/null || stat -f %u "$1"
}

# A user of our own for the test, removed at the end.
make_test_user() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (stand-ins run as a user)"
	command -v useradd >/dev/null ||
		skip "useradd is missing: no test user can be made"
	TEST_USER="fdattr$$"
	useradd -M -U -s /usr/sbin/nologin "$TEST_USER"
}

teardown() {
	if [ -n "${TEST_USER:-}" ]; then
		userdel "$TEST_USER" 2>/dev/null || true
		groupdel "$TEST_USER" 2>/dev/null || true
	fi
	teardown_scratch
}

@test "a dwelling stand-in runs in its cwd, from its path, with its env" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (/proc of a stand-in)"
	[ -d /proc/self ] || skip "no /proc"
	attributes_scenario "    dwell: 2s"
	(cd "$TOP" && exec "$FIREDRILL" emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	target=$(wait_for_exe /t-attrs/ci-tools/defaults)
	parent=$(wait_for_exe /t-attrs/jamf)
	cwd=$(readlink "/proc/$target/cwd")
	parent_cwd=$(readlink "/proc/$parent/cwd")
	environ=$(tr '\0' '\n' <"/proc/$target/environ")
	parent_environ=$(tr '\0' '\n' <"/proc/$parent/environ")
	ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$target/status")
	wait "$pid"
	case "$cwd" in "$TMPDIR"/firedrill-*/t-attrs/Users/alice/work) ;;
		*) echo "cwd: $cwd" >&2; false;;
	esac
	[ "$parent_cwd" = "$cwd" ]
	[ "$ppid" = "$parent" ]
	printf '%s\n' "$environ" | grep -qx 'CI=true'
	printf '%s\n' "$environ" | grep -qx 'JOB_ID=42'
	printf '%s\n' "$environ" | grep -qx 'PATH=/usr/bin:/bin'
	printf '%s\n' "$environ" | grep -qx 'LANG=C'
	[ "$(printf '%s\n' "$environ" | wc -l)" -eq 5 ]
	[ "$parent_environ" = "$environ" ]
	# The record says what the kernel said.
	run grep '"name":"defaults"' "$SCRATCH/run/run.jsonl"
	assert_output --partial "\"working_directory\":\"$cwd\""
	assert_output --partial '"env":{"CI":"true","JOB_ID":"42"}'
	assert_output --regexp \
	    '"executable":"[^"]*/t-attrs/ci-tools/defaults"'
	assert_output --partial "\"ppid\":$parent"
}

@test "the new folders are made like the rest of the stand-in folder" {
	attributes_scenario
	run fd emulate --keep --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	dir=$(echo "$TMPDIR"/firedrill-*/t-attrs)
	if [ "$(id -u)" -eq 0 ]; then
		want=750 copy=550
	else
		want=700 copy=500
	fi
	for d in "$dir" "$dir/Users" "$dir/Users/alice" \
		"$dir/Users/alice/work" "$dir/ci-tools"; do
		[ "$(mode "$d")" = "$want" ]
		[ "$(owner "$d")" = "$(id -u)" ]
	done
	[ "$(mode "$dir/ci-tools/defaults")" = "$copy" ]
	# The copy there is the stand-in itself, not a link to it.
	cmp "$dir/ci-tools/defaults" "$FD_STANDIN"
	[ ! -L "$dir/ci-tools/defaults" ]
	rm -rf "$TMPDIR"/firedrill-*
}

@test "the run's events carry cwd, path, env, the parent and the user" {
	make_test_user
	attributes_scenario "    user: $TEST_USER"
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	run grep '"name":"defaults"' "$SCRATCH/run/events.ndjson"
	assert_status 0
	assert_output --regexp \
	    '"working_directory":"[^"]*/t-attrs/Users/alice/work"'
	assert_output --regexp \
	    '"executable":"[^"]*/t-attrs/ci-tools/defaults"'
	assert_output --partial '"env_vars":["CI=true","JOB_ID=42"]'
	assert_output --regexp '"parent":\{[^}]*"name":"jamf"'
	assert_output --regexp \
	    '"parent":\{[^}]*"executable":"[^"]*/t-attrs/jamf"'
	assert_output --partial "\"name\":\"$TEST_USER\""
	assert_output --partial "\"id\":\"$(id -u "$TEST_USER")\""
	assert_output --partial '"hostname":"mdm-mac-01"'
}

@test "a step's user who does not exist is refused before anything runs" {
	attributes_scenario "    user: fd-no-such-user"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "attrs.yaml:7:5:"
	assert_output --partial "fd-no-such-user (no such user on this machine"
	run ls -A "$TMPDIR"
	assert_output ""
}

# bad_step LINE: a scenario whose one step has LINE (line 6) as well.
bad_step() {
	write_scenario bad <<YAML
id: t-bad
title: a step with a bad attribute
rules: [$SEED_RULE]
steps:
  - run: defaults
$1
expect:
  - rule: $SEED_RULE
YAML
}

@test "a bad cwd, path or env is refused with its place" {
	bad_step "    env: {LD_PRELOAD: /tmp/x.so}"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial \
	    "bad.yaml:6:11: environment variable 'LD_PRELOAD' cannot be set"
	bad_step "    env: {PATH: /opt/evil}"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial \
	    "bad.yaml:6:11: environment variable 'PATH' cannot be set: \
firedrill's minimal environment sets it"
	bad_step "    cwd: ../../etc"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial \
	    "bad.yaml:6:10: bad folder '../../etc' for 'cwd'"
	bad_step "    path: /usr/bin"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial \
	    "bad.yaml:6:11: bad folder '/usr/bin' for 'path'"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "--dry-run shows the cwd, the path and the env" {
	attributes_scenario
	run fd emulate --dry-run --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		"$SCEN"
	assert_status 0
	assert_output --regexp \
	    "working directory [^ ]*/t-attrs/Users/alice/work"
	assert_output --partial "environment CI=true"
	assert_output --partial "environment JOB_ID=42"
	assert_output --regexp "run [^ ]*/t-attrs/ci-tools/defaults"
	assert_output --regexp "parent [^ ]*/t-attrs/jamf"
}

@test "firedrill run on an exception scenario runs and reports its control" {
	exception_scenario t-exc
	write_exception_list
	run fd run --exceptions "$SCRATCH/exceptions" --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	# The exception silences jamf; the control, without it, alerts.
	assert_output --regexp 't-exc +02ea4563 v107 +count == 0 +PASS'
	assert_output --regexp \
	    't-exc\.control +02ea4563 v107 +count >= 1 +PASS +1 alert'
	assert_output --partial "6 checks in 2 scenarios: 6 PASS, 0 FAIL"
	# The record: both scenarios, the control right after, each with
	# its own processes; the control's line names its scenario.
	run grep -o '"planned":\[[^]]*\]' "$SCRATCH/run/run.jsonl"
	assert_output '"planned":["t-exc","t-exc.control"]'
	run grep '"record":"scenario"' "$SCRATCH/run/run.jsonl"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *'"scenario":"t-exc.control"'* ]]
	[[ "${lines[1]}" == *'"control_of":"t-exc"'* ]]
	run grep -c '"scenario":"t-exc.control","step":0' \
		"$SCRATCH/run/run.jsonl"
	assert_output 2
	run grep -o '"executable":"[^"]*/t-exc.control/zsh"' \
		"$SCRATCH/run/run.jsonl"
	assert_status 0
	# The report: verdicts for both, the control's titled as such, and
	# the control alerts (it runs without the excepted attribute).
	run grep -o '"scenario":[[:space:]]*"t-exc.control"' \
		"$SCRATCH/run/report.json"
	assert_status 0
	run grep -o '"title":[[:space:]]*"[^"]*excepted (control)"' \
		"$SCRATCH/run/report.json"
	assert_status 0
}

@test "an exception scenario without a control, or a clashing id, is refused" {
	exception_scenario t-exc
	sed -i.bak '/^control:/,$d' "$SCEN/t-exc.yaml"
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial \
	    "t-exc.yaml:6:1: an exception scenario needs a control"
	exception_scenario t-exc
	write_scenario clash <<YAML
id: t-exc.control
title: a scenario that takes the control's id
rules: [$SEED_RULE]
steps:
  - run: defaults
expect:
  - rule: $SEED_RULE
    count: 0
YAML
	rm -f "$SCEN"/*.bak
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "scenario id 't-exc.control'"
	assert_output --partial "(the control of 't-exc')"
	run ls -A "$TMPDIR"
	assert_output ""
}
