#!/usr/bin/env bats
# 26-portable.bats - the emulator builds and runs on macOS with libyaml
# and the C library alone, shown on Linux: firedrill-emulate links nothing
# else and calls nothing macOS lacks; built the macOS way (ci/check-
# portable.sh macos-build: __APPLE__, no __linux__, so no prctl) it runs,
# records itself, and its stand-ins still die with their parent.  The
# same lifetime tests run on the Linux build, where the kernel does it.

load helpers

PLIST=/var/db/dslocal/nodes/Default/users/alice.plist

setup_file() {
	local top
	top="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	# Built once for the whole file; a test below reports how it went.
	MACOS_DIR="$BATS_FILE_TMPDIR/macos"
	export MACOS_DIR
	if bash "$top/ci/check-portable.sh" macos-build "$MACOS_DIR" \
		>"$BATS_FILE_TMPDIR/macos-build.log" 2>&1; then
		touch "$BATS_FILE_TMPDIR/macos-build.ok"
	fi
}

setup() {
	setup_scratch
	BUILD_DIR="$(cd "$(dirname "$FIREDRILL")/.." && pwd)"
	EMULATE="$BUILD_DIR/bin/firedrill-emulate"
	MACOS_EMULATE="$MACOS_DIR/build/bin/firedrill-emulate"
}

skip_if_sanitized() {
	if nm -D --undefined-only "$EMULATE" | grep -q __asan_init; then
		skip "a sanitizer build links the sanitizers' runtimes"
	fi
}

need_macos_build() {
	[ -f "$BATS_FILE_TMPDIR/macos-build.ok" ] || {
		cat "$BATS_FILE_TMPDIR/macos-build.log" >&2
		echo "the macOS-way build failed (above)" >&2
		return 1
	}
}

# A scenario whose target dwells under a parent chain; its argv carries
# token, to find it with pgrep.
write_chain() {
	local token=$1 dwell=${2:-0}
	cat >"$SCEN/t-chain.yaml" <<YAML
id: t-chain
title: a parent chain
technique: T1003.008
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, $PLIST, ShadowHashData, $token]
    parents: [launchd, zsh]
    dwell: $dwell
    timeout: 60s
expect:
  - rule: $SEED_RULE
    count: 1
YAML
}

# pid_of NAME: the live stand-in copy called NAME under $TMPDIR.
pid_of() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in "$TMPDIR"/*/"$1")
			echo "${p#/proc/}"
			return 0;;
		esac
	done
	return 1
}

# wait_for_target TOKEN: until the target stand-in runs (5 s at most).
wait_for_target() {
	local _
	for _ in $(seq 50); do
		pgrep -f "$1" >/dev/null && return 0
		sleep 0.1
	done
	echo "the target stand-in never started" >&2
	return 1
}

# gone_within SECONDS: no stand-in runs under $TMPDIR any more.
gone_within() {
	local _
	for _ in $(seq $(($1 * 10))); do
		no_standin_left "$TMPDIR" 2>/dev/null && return 0
		sleep 0.1
	done
	no_standin_left "$TMPDIR"
}

# The process line of one stand-in in run.jsonl.
proc_line() {
	grep '"record":"process"' "$SCRATCH/run/run.jsonl" |
		grep "\"name\":\"$1\""
}

# field LINE KEY: a number or string value from one JSON line.
field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",]*\).*/\1/p"
}

@test "firedrill-emulate and its stand-in need only libyaml and libc" {
	skip_if_sanitized
	run bash "$TOP/ci/check-portable.sh" libs "$BUILD_DIR"
	assert_success
	run readelf -d "$EMULATE"
	assert_output --partial '[libyaml-0.so.2]'
	refute_output --partial cjson
	refute_output --partial curl
}

@test "every C library call of the emulator is one macOS has" {
	skip_if_sanitized
	run bash "$TOP/ci/check-portable.sh" symbols "$BUILD_DIR"
	assert_success
	assert_output --partial "every call is one macOS's C library has"
}

@test "the macOS code paths build warning-free, without the engine" {
	run cat "$BATS_FILE_TMPDIR/macos-build.log"
	assert_output --partial "macos-build: the macOS code paths build"
	need_macos_build
	# prctl is Linux's alone: the macOS build never calls it.
	run nm -u "$MACOS_DIR"/build/obj/emulator/*.o
	refute_output --partial prctl
	assert_output --partial _NSGetExecutablePath
}

@test "firedrill-emulate has the options and help of firedrill emulate" {
	run "$EMULATE" --help
	assert_success
	assert_line "usage: firedrill-emulate [options] PATH..."
	assert_output --partial "firedrill-emulate --out /tmp/drill scenarios/"
	diff <("$FIREDRILL" emulate --help |
	       sed 's/firedrill emulate/firedrill-emulate/') \
	     <("$EMULATE" --help)
	run "$EMULATE" --version
	assert_success
	assert_output "firedrill-emulate $("$FIREDRILL" --version |
					     cut -d' ' -f2)"
	run "$EMULATE" --no-such-option
	assert_status 2
	assert_output --partial "try 'firedrill-emulate --help'"
	run "$EMULATE"
	assert_status 2
}

@test "firedrill-emulate writes a run record that firedrill validates" {
	local pack="$TOP/scenarios/dumping-account-hashes"
	run "$EMULATE" --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		"$pack/defaults-read-shadowhashdata.yaml"
	assert_status 0
	assert_file_exists "$SCRATCH/run/run.jsonl"
	run head -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial '"name":"firedrill-emulate"'
	run tail -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial '"record":"end"'
	assert_output --partial '"complete":true'
	run ls -A "$TMPDIR"
	assert_output ""
	run fd validate --run "$SCRATCH/run"
	assert_status 0
	assert_output --partial "0 FAIL"
}

@test "built the macOS way, the emulator runs a chain and quotes its argv" {
	need_macos_build
	write_chain "fd-mac-$$"
	# Operands first: getopt reorders argv, the record must not.
	run "$MACOS_EMULATE" "$SCEN" --out "$SCRATCH/run" --tmpdir "$TMPDIR"
	assert_status 0
	run head -n 1 "$SCRATCH/run/run.jsonl"
	assert_output --partial "\"executable\":\"$MACOS_EMULATE\""
	assert_output --partial \
		"\"args\":[\"$MACOS_EMULATE\",\"$SCEN\",\"--out\""
	launchd=$(proc_line launchd)
	zsh=$(proc_line zsh)
	defaults=$(proc_line defaults)
	[ "$(field "$zsh" ppid)" = "$(field "$launchd" pid)" ]
	[ "$(field "$defaults" ppid)" = "$(field "$zsh" pid)" ]
	[ "$(field "$defaults" exit_code)" = 0 ]
	[[ "$defaults" == *"\"args\":[\"defaults\",\"read\""* ]]
}

# kill_emulator EMULATOR: SIGKILL it while the chain runs; no stand-in
# may outlive it.
kill_emulator() {
	local token="fd-kill-$$-$RANDOM" pid
	write_chain "$token" 30s
	"$1" --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN" \
		>"$SCRATCH/out" 2>&1 &
	pid=$!
	wait_for_target "$token"
	kill -KILL "$pid"
	wait "$pid" || true
	gone_within 3
	run pgrep -f "$token"
	assert_failure
}

@test "a SIGKILLed emulator leaves no stand-in (Linux: the kernel)" {
	kill_emulator "$EMULATE"
}

@test "a SIGKILLed emulator leaves no stand-in (macOS way: they watch)" {
	need_macos_build
	kill_emulator "$MACOS_EMULATE"
}

# kill_parent EMULATOR: SIGKILL the target's parent from outside (as an
# endpoint's prevention would); the target dies with it, and the run
# goes on to its record.
kill_parent() {
	local token="fd-parent-$$-$RANDOM" pid zsh emulated=0 _
	write_chain "$token" 30s
	"$1" --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN" \
		>"$SCRATCH/out" 2>&1 &
	pid=$!
	wait_for_target "$token"
	zsh=$(pid_of zsh)
	kill -KILL "$zsh"
	for _ in $(seq 30); do
		pgrep -f "$token" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "$token"
	assert_failure
	wait "$pid" || emulated=$?
	cat "$SCRATCH/out"
	[ "$emulated" -eq 0 ]
	gone_within 3
	[[ "$(proc_line zsh)" == *'"signal":9'* ]]
	[[ "$(proc_line defaults)" == *'"signal":9'* ]]
}

@test "a stand-in dies with its parent (Linux: the kernel)" {
	kill_parent "$EMULATE"
}

@test "a stand-in dies with its parent (macOS way: it watches)" {
	need_macos_build
	kill_parent "$MACOS_EMULATE"
}
