#!/bin/sh
# run-tests.sh - run every test of one or more builds: the cmocka unit
# tests, then the bats CLI tests, and print one closing line "N passed, N
# failed, N skipped" over all of them.  Exit 0 only when nothing failed.
#
#   sh tests/run-tests.sh build build-san
#
# Both kinds report TAP; this script counts the "ok" / "not ok" lines.
# Tests that need ../shared find it through FD_SHARED_DIR and skip without it.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
[ $# -gt 0 ] || set -- build

: "${FD_SHARED_DIR:=$top/../shared}"
export FD_SHARED_DIR
# Sanitizers: fail on any report, leaks included.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

[ -d "$FD_SHARED_DIR" ] ||
	echo "note: $FD_SHARED_DIR is absent: tests that use shared vectors," \
	     "corpus or fixtures will be skipped"

log=$(mktemp)
trap 'rm -f "$log" "$log.one" "$log.bats"' EXIT
status=0

for build in "$@"; do
	FIREDRILL="$top/$build/bin/firedrill"
	FD_STANDIN="$top/$build/libexec/firedrill/firedrill-standin"
	FD_BUILD="$build"
	export FIREDRILL FD_STANDIN FD_BUILD

	echo "== unit tests ($build)"
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		echo "-- $(basename "$t")"
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log.one" 2>&1
		rc=$?
		cat "$log.one"
		cat "$log.one" >>"$log"
		if [ $rc -ne 0 ]; then
			status=1
			grep '^not ok' "$log.one" | grep -q -v -i '# skip' ||
				echo "not ok - $(basename "$t") exited with" \
				     "status $rc" | tee -a "$log"
		fi
	done

	echo "== CLI tests ($build)"
	bats --tap tests/bats >"$log.bats" 2>&1 || status=1
	cat "$log.bats"
	cat "$log.bats" >>"$log"
done

# cmocka marks a skip "not ok N # SKIP", bats "ok N ... # skip".
skipped=$(grep -E '^(not )?ok ' "$log" | grep -c -i '# skip')
failed=$(grep '^not ok' "$log" | grep -c -v -i '# skip')
passed=$(grep '^ok ' "$log" | grep -c -v -i '# skip')
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
