#!/bin/sh
# bench.sh - speed and memory, measured, never asserted.
#
#   1. the cost of one scenario of the pack (spawn, telemetry, evaluation,
#      verdict), next to a bare posix_spawn of a static program;
#   2. `firedrill query` throughput over a large NDJSON file of process
#      events, next to parsing the same file with cJSON alone.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fd="$top/$build/bin/firedrill"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
N=${BENCH_EVENTS:-200000}

cc -O2 -static -o "$work/true_static" tests/bench/true_static.c
cc -O2 -o "$work/spawn_bare" tests/bench/spawn_bare.c
cc -O2 -o "$work/parse_only" tests/bench/parse_only.c -lcjson

echo "== spawn"
bare=$("$work/spawn_bare" "$work/true_static" 2000)
echo "bare posix_spawn+waitpid of a static program: $bare us"

echo "== scenario pack (embedded backend)"
nsc=$(find scenarios -name '*.yaml' | wc -l)
# Each repetition runs into a fresh folder (--out refuses a used one).
best=""
for i in 1 2 3 4 5; do
	set -- $(python3 tests/bench/measure.py 1 "$fd" run --quiet \
		--out "$work/run$i" --tmpdir "$work" scenarios)
	if [ -z "$best" ] || awk "BEGIN{exit !($1 < $best)}"; then
		best=$1; rss=$2
	fi
done
per=$(awk "BEGIN{printf \"%.2f\", $best * 1000 / $nsc}")
echo "whole pack: $nsc scenarios in ${best}s (best of 5), max RSS ${rss} MiB"
echo "per scenario: $per ms (spawn + telemetry + evaluation + verdict)"

echo "== query throughput ($N events)"
python3 tests/bench/gen_events.py "$N" "$work/events.ndjson"
size=$(du -m "$work/events.ndjson" | cut -f1)
q='event.category:process and host.os.type:macos and event.type:start and process.name:(defaults or mkpassdb) and process.args:(ShadowHashData or "-dump")'
set -- $(python3 tests/bench/measure.py 3 "$work/parse_only" "$work/events.ndjson")
echo "cJSON parse only: ${1}s, $(awk "BEGIN{printf \"%d\", $N / $1}") events/s, max RSS $2 MiB (${size} MiB file)"
set -- $(python3 tests/bench/measure.py 3 "$fd" query --language kql \
	--query "$q" --events "$work/events.ndjson")
echo "firedrill query (KQL v107): ${1}s, $(awk "BEGIN{printf \"%d\", $N / $1}") events/s, max RSS $2 MiB"
