# helpers.bash - what every bats file loads: the binary under test, a
# private scratch folder, and checks that read like prose.
#
# FIREDRILL, FD_STANDIN and FD_SHARED_DIR come from tests/run-tests.sh; run
# by hand, they default to the normal build.

TOP="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
: "${FIREDRILL:=$TOP/build/bin/firedrill}"
: "${FD_STANDIN:=$TOP/build/libexec/firedrill/firedrill-standin}"
: "${FD_SHARED_DIR:=$TOP/../shared}"
export FIREDRILL FD_STANDIN FD_SHARED_DIR

load_libs() {
	local lib
	for lib in bats-support bats-assert bats-file; do
		if [ -f "/usr/lib/bats/$lib/load.bash" ]; then
			load "/usr/lib/bats/$lib/load"
		elif [ -f "/usr/lib/bats-$lib/load.bash" ]; then
			load "/usr/lib/bats-$lib/load"
		fi
	done
}
load_libs

setup_scratch() {
	SCRATCH="$(mktemp -d "${BATS_TMPDIR:-/tmp}/fd-test.XXXXXX")"
	SCEN="$SCRATCH/scenarios"
	mkdir -p "$SCEN"
	# Stand-ins run as nobody under root: the scratch must be reachable.
	chmod 0755 "$SCRATCH"
	export SCRATCH SCEN
	export TMPDIR="$SCRATCH/tmp"
	mkdir -p "$TMPDIR"
	chmod 1777 "$TMPDIR"
}

teardown_scratch() {
	if [ -n "${SCRATCH:-}" ]; then
		rm -rf "$SCRATCH"
	fi
}

setup() { setup_scratch; }
teardown() { teardown_scratch; }

# write_scenario NAME: the YAML on stdin becomes $SCEN/NAME.yaml
write_scenario() {
	cat >"$SCEN/$1.yaml"
}

# fd ARGS: run firedrill from the repository root (where rules/ is).
fd() {
	(cd "$TOP" && "$FIREDRILL" "$@")
}

# A crash (128 or more) never passes as "failed as expected".
assert_no_crash() {
	if [ "$status" -ge 128 ]; then
		echo "firedrill died with status $status" >&2
		echo "$output" >&2
		return 1
	fi
}

# assert_status N: exactly N, and not a crash.
assert_status() {
	assert_no_crash || return 1
	if [ "$status" -ne "$1" ]; then
		echo "expected exit status $1, got $status" >&2
		echo "$output" >&2
		return 1
	fi
}

# The seed rule's id, named once.
SEED_RULE=02ea4563-ec10-4974-b7de-12e65aa4f9b3

# no_standin_left DIR: no process runs an executable under DIR.
no_standin_left() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in "$1"*)
			echo "left behind: $p $exe" >&2
			return 1;;
		esac
	done
	return 0
}

skip_unless_shared() {
	[ -d "$FD_SHARED_DIR" ] ||
		skip "shared test data absent ($FD_SHARED_DIR)"
}
