#!/usr/bin/env bats
# 25-safety.bats - the emulator's safety model against someone who tries
# to bend it: root stand-ins, another program as the stand-in, a temporary
# folder others control, links planted in a run folder, terminals.

load helpers

one_step() {
	write_scenario one <<YAML
id: t-one
title: one stand-in
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, x, ShadowHashData]
$1
expect:
  - rule: $SEED_RULE
    count: 1
YAML
}

@test "stand-ins never run as root, from a scenario or from --user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	one_step "    user: root"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "stand-ins never run with root's privileges"
	one_step ""
	run fd emulate --user root --out "$SCRATCH/run2" --tmpdir "$TMPDIR" \
		"$SCEN"
	assert_status 2
	assert_output --partial "stand-ins never run with root's privileges"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "only firedrill's own stand-in program is ever run" {
	one_step ""
	FIREDRILL_STANDIN=/bin/sh run fd emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "/bin/sh is not firedrill's stand-in program"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "a script that copies the stand-in's mark is still refused" {
	one_step ""
	mark=$(grep -a -o 'firedrill-stand-in-program:[0-9]*' "$FD_STANDIN" |
		head -n 1)
	[ -n "$mark" ]
	printf '#!/bin/sh\n# %s\ntouch %s/ran\n' "$mark" "$SCRATCH" \
		>"$SCRATCH/fake.sh"
	chmod 755 "$SCRATCH/fake.sh"
	FIREDRILL_STANDIN="$SCRATCH/fake.sh" run fd emulate \
		--out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "is not the stand-in this firedrill was built with"
	assert_file_not_exists "$SCRATCH/ran"
}

@test "a temporary folder others can write to without the sticky bit is refused" {
	one_step ""
	mkdir -m 0777 "$SCRATCH/open"
	chmod 0777 "$SCRATCH/open"
	run fd emulate --out "$SCRATCH/run" --tmpdir "$SCRATCH/open" "$SCEN"
	assert_status 2
	assert_output --partial "can be changed by other users"
	run ls -A "$SCRATCH/open"
	assert_output ""
}

@test "stand-ins run in a session of their own, with no terminal" {
	one_step "    parents: [zsh]
    dwell: 20s
    timeout: 30s"
	(cd "$TOP" && exec "$FIREDRILL" emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	found=""
	for _ in $(seq 100); do
		for p in /proc/[0-9]*; do
			exe=$(readlink "$p/exe" 2>/dev/null) || continue
			case "$exe" in "$TMPDIR"/firedrill-*/t-one/defaults)
				found=${p#/proc/};;
			esac
		done
		[ -n "$found" ] && break
		sleep 0.1
	done
	[ -n "$found" ]
	# /proc/PID/stat: field 6 is the session, field 7 the terminal.
	stat=$(sed 's/.*) //' "/proc/$found/stat")
	set -- $stat
	session=$4 tty=$5
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$tty" -eq 0 ]
	[ "$session" -ne "$(ps -o sid= -p $$ | tr -d ' ')" ]
}

@test "a link planted in a run folder is never written through" {
	one_step ""
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	echo precious >"$SCRATCH/victim"
	ln -s "$SCRATCH/victim" "$SCRATCH/run/events.ndjson"
	run fd validate --run "$SCRATCH/run"
	assert_no_crash
	[ "$status" -ne 0 ]
	run cat "$SCRATCH/victim"
	assert_output precious
}

@test "an --out folder that belongs to another user is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	one_step ""
	mkdir "$SCRATCH/theirs"
	chown nobody "$SCRATCH/theirs"
	run fd emulate --out "$SCRATCH/theirs" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "is not a folder of yours"
	run ls -A "$SCRATCH/theirs"
	assert_output ""
}

@test "stand-ins never run in group 0 either" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v useradd >/dev/null || skip "no useradd"
	name="fdgid0$$"
	useradd -M -N -g 0 -s /usr/sbin/nologin "$name"
	one_step ""
	run fd emulate --user "$name" --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		"$SCEN"
	userdel "$name"
	assert_status 2
	assert_output --partial "user or group 0"
	run ls -A "$TMPDIR"
	assert_output ""
}
