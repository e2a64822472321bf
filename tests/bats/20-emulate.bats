#!/usr/bin/env bats
# 20-emulate.bats - `firedrill emulate`: real stand-ins with the exact
# argv and real parents, the run record, the private folder (gone unless
# --keep), --dry-run, --user, deadlines, and SIGINT/SIGTERM mid-run
# leaving no folder and no process behind.

load helpers

PLIST=/var/db/dslocal/nodes/Default/users/alice.plist
RUN_ID_RE='[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}'
SHADOW_ARGV="[\"defaults\",\"read\",\"$PLIST\",\"ShadowHashData\"]"

# Rule and expectation keys are there only because a scenario needs them:
# emulate validates nothing.
write_steps() {
	local name=$1
	{
		cat <<YAML
id: $name
title: emulate test $name
technique: T1003.008
rules: [$SEED_RULE]
host: {os: macos}
steps:
YAML
		cat
		cat <<YAML
expect:
  - rule: $SEED_RULE
    count: 1
YAML
	} >"$SCEN/$name.yaml"
}

# procs [RUN_DIR]: the process lines of run.jsonl (compact JSON, one
# object a line).
procs() {
	grep '"record":"process"' "${1:-$SCRATCH/run}/run.jsonl"
}

# mode FILE: permission bits in octal (GNU stat, else BSD stat).
mode() {
	stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"
}

# owner FILE: the owner's uid.
owner() {
	stat -c %u "$1" 2>/dev/null || stat -f %u "$1"
}

# links FILE: hard link count.
links() {
	stat -c %h "$1" 2>/dev/null || stat -f %l "$1"
}

sha256() {
	{ sha256sum "$1" 2>/dev/null || shasum -a 256 "$1"; } | cut -d' ' -f1
}

# field LINE KEY: a number or string value from one JSON line.
field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",]*\).*/\1/p"
}

@test "emulate spawns defaults with the exact argv and writes the record" {
	write_steps t-argv <<YAML
  - run: defaults
    args: [read, $PLIST, ShadowHashData]
YAML
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	assert_file_exists "$SCRATCH/run/run.jsonl"
	run head -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial '"record":"run"'
	assert_output --regexp "\"run_id\":\"$RUN_ID_RE\""
	run procs
	assert_output --partial '"name":"defaults"'
	assert_output --partial "\"args\":$SHADOW_ARGV"
	assert_output --regexp \
	    "\"executable\":\"[^\"]*/firedrill-$RUN_ID_RE/t-argv/defaults\""
	assert_output --partial '"exit_code":0'
	assert_output --partial '"timed_out":false'
	assert_output --regexp '"sha256":"[0-9a-f]{64}"'
	# The copy was checked against the stand-in that was installed.
	sum=$(sha256 "$FD_STANDIN")
	assert_output --partial "\"sha256\":\"$sum\""
	# The private folder is gone.
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "a parent chain is real: each ppid is the parent stand-in's pid" {
	write_steps t-chain <<YAML
  - run: defaults
    args: [read, $PLIST, ShadowHashData]
    parents: [launchd, zsh]
YAML
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	run procs
	[ "${#lines[@]}" -eq 3 ]
	launchd=${lines[0]} zsh=${lines[1]} defaults=${lines[2]}
	[ "$(field "$launchd" name)" = launchd ]
	[ "$(field "$zsh" name)" = zsh ]
	[ "$(field "$defaults" name)" = defaults ]
	[ "$(field "$zsh" ppid)" = "$(field "$launchd" pid)" ]
	[ "$(field "$defaults" ppid)" = "$(field "$zsh" pid)" ]
	[ "$(field "$defaults" target)" = true ]
	[ "$(field "$zsh" target)" = false ]
	# Parents are called by their bare name, like a person would.
	assert_output --partial '"args":["zsh"]'
	assert_output --partial '"args":["launchd"]'
}

@test "--keep leaves the stand-in copies, private, that stand-ins cannot change" {
	write_steps t-keep <<YAML
  - run: mkpassdb
    args: [-dump]
    parents: [zsh]
YAML
	run fd emulate --keep --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		"$SCEN"
	assert_status 0
	dir=$(ls -d "$TMPDIR"/firedrill-*)
	[ -d "$dir" ]
	# As root the tree stays root's, shared read-only with the run
	# user's group: 0750 folders and 0550 copies.  Otherwise 0700/0500.
	if [ "$(id -u)" -eq 0 ]; then dmode=750 cmode=550; else dmode=700 cmode=500; fi
	[ "$(mode "$dir")" = $dmode ]
	[ "$(mode "$dir/t-keep")" = $dmode ]
	[ "$(owner "$dir/t-keep")" = "$(id -u)" ]
	for name in zsh mkpassdb; do
		[ -f "$dir/t-keep/$name" ] && [ ! -L "$dir/t-keep/$name" ]
		[ "$(mode "$dir/t-keep/$name")" = $cmode ]
		[ "$(owner "$dir/t-keep/$name")" = "$(id -u)" ]
		[ "$(links "$dir/t-keep/$name")" = 1 ]
		cmp -s "$FD_STANDIN" "$dir/t-keep/$name"
	done
	# The stand-in's plainly fake answer, in the folder's output log.
	run cat "$dir/@output.log"
	assert_output --partial "stand-in 'mkpassdb': this is a harmless"
	assert_output --partial "emulation, no data was read"
}

@test "--dry-run shows user, path, argv and parents, and creates nothing" {
	write_steps t-dry <<YAML
  - run: defaults
    args: [read, $PLIST, ShadowHashData]
    parents: [zsh]
YAML
	run fd emulate --dry-run --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		"$SCEN"
	assert_status 0
	assert_output --partial "dry run"
	assert_output --partial "/t-dry/zsh"
	assert_output --partial "/t-dry/defaults"
	assert_output --partial "$SHADOW_ARGV"
	assert_output --partial "parent chain: firedrill > zsh"
	assert_output --partial "user "
	run ls -A "$TMPDIR"
	assert_output ""
	assert_not_exists "$SCRATCH/run/run.jsonl"
}

@test "an unsafe stand-in name is refused and nothing runs" {
	for name in ../evil /bin/sh ..; do
		rm -f "$SCEN"/*.yaml
		write_steps t-bad <<YAML
  - run: "$name"
YAML
		run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
			"$SCEN"
		assert_status 2
		run ls -A "$TMPDIR"
		assert_output ""
		assert_not_exists "$SCRATCH/run/run.jsonl"
	done
}

@test "as root, stand-ins run as nobody, or as --user, or as a step's user" {
	[ "$(id -u)" -eq 0 ] || skip "not root: no privilege drop to test"
	write_steps t-users <<YAML
  - run: defaults
    args: [read, x, ShadowHashData]
  - run: mkpassdb
    args: [-dump]
    user: daemon
YAML
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	run procs
	[ "$(field "${lines[0]}" uid)" = "$(id -u nobody)" ]
	[ "$(field "${lines[0]}" user)" = nobody ]
	[ "$(field "${lines[1]}" uid)" = "$(id -u daemon)" ]
	run fd emulate --user daemon --out "$SCRATCH/run2" --tmpdir "$TMPDIR" \
		"$SCEN"
	assert_status 0
	run procs "$SCRATCH/run2"
	[ "$(field "${lines[0]}" user)" = daemon ]
	run fd emulate --user no-such-user-fd --out "$SCRATCH/run3" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "no such user"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "without root, another user is refused before anything runs" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become nobody"
	command -v setpriv >/dev/null || skip "setpriv missing"
	write_steps t-other <<YAML
  - run: defaults
    args: [read, x, ShadowHashData]
    user: daemon
YAML
	chmod -R a+rX "$SCEN"
	mkdir -m 1777 "$SCRATCH/nobody"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$FIREDRILL" emulate --out "$SCRATCH/nobody/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "only root"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "a step past its deadline is killed with its whole group" {
	write_steps t-deadline <<YAML
  - run: defaults
    args: [read, x, ShadowHashData, fd-deadline-$$]
    parents: [zsh]
    dwell: 30s
    timeout: 300ms
YAML
	start=$(date +%s)
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	[ $(($(date +%s) - start)) -lt 10 ]
	run procs
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		[ "$(field "$l" timed_out)" = true ]
		[ "$(field "$l" signal)" = 9 ]
	done
	run pgrep -f "fd-deadline-$$"
	assert_failure
	run ls -A "$TMPDIR"
	assert_output ""
}

# interrupt SIGNAL: start a long emulate, signal it mid-run, check that
# it died of that signal, leaving no folder and no process, and that the
# record has what ran, marked interrupted.
interrupt() {
	local sig=$1 token="fd-$1-$$-$RANDOM" pid status=0 i target scen l
	write_steps t-slow <<YAML
  - run: defaults
    args: [read, x, ShadowHashData, $token]
    parents: [zsh]
    dwell: 30s
    timeout: 60s
YAML
	(cd "$TOP" && exec "$FIREDRILL" emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	# Wait until the target stand-in really runs (its argv has the token).
	for i in $(seq 100); do
		pgrep -f "$token" >/dev/null && break
		sleep 0.1
	done
	target=$(pgrep -f "$token" | head -n 1)
	[ -n "$target" ]
	sleep 0.3
	kill "-$sig" "$pid"
	wait "$pid" || status=$?
	cat "$SCRATCH/out"
	# Death by the signal, re-raised after cleaning up.
	[ "$status" -eq $((128 + $(kill -l "$sig"))) ]
	run ls -A "$TMPDIR"
	assert_output ""
	run pgrep -f "$token"
	assert_failure
	no_standin_left "$TMPDIR"
	# The record is whole lines of JSON: the header at least.
	run head -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial '"record":"run"'
	# What really ran is recorded: zsh and defaults (the pid we saw),
	# killed by firedrill (SIGKILL) because of the interruption.
	run procs
	[ "${#lines[@]}" -eq 2 ]
	[ "$(field "${lines[0]}" name)" = zsh ]
	[ "$(field "${lines[1]}" name)" = defaults ]
	[ "$(field "${lines[1]}" pid)" = "$target" ]
	[ "$(field "${lines[1]}" ppid)" = "$(field "${lines[0]}" pid)" ]
	for l in "${lines[@]}"; do
		[ "$(field "$l" interrupted)" = true ]
		[ "$(field "$l" timed_out)" = false ]
		[ "$(field "$l" signal)" = 9 ]
	done
	# The scenario began with its step, not when it was interrupted.
	scen=$(grep '"record":"scenario"' "$SCRATCH/run/run.jsonl")
	[[ "$scen" == *'"complete":false'* ]]
	[ "$(field "$scen" start_time)" = "$(field "${lines[0]}" start_time)" ]
	[[ "$(field "$scen" start_time)" < "$(field "$scen" end_time)" ]]
	run tail -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial '"record":"end"'
	assert_output --partial '"complete":false'
}

@test "SIGINT mid-run leaves no stand-in folder and no process" {
	interrupt INT
}

@test "SIGTERM mid-run leaves no stand-in folder and no process" {
	interrupt TERM
}
