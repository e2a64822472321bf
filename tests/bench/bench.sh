#!/bin/bash
# bench.sh - speed and memory, measured, never asserted.
#
#   1. the cost of one scenario of the pack (spawn, telemetry, evaluation,
#      verdict), next to a bare posix_spawn of a static program;
#   2. `firedrill query` throughput over a large NDJSON file of process
#      events (gen_events.py, about 1.5 KB each) for the v107 KQL form
#      and the 2026 EQL form of the seed rule, next to parsing the same
#      file with cJSON alone, and the largest resident set over that file
#      and over one five times as long (memory must not grow with it).
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
cc -O2 -o "$work/best_of" tests/bench/best_of.c

echo "== spawn"
bare=$("$work/spawn_bare" "$work/true_static" 2000)
echo "bare posix_spawn+waitpid of a static program: $bare us"

echo "== scenario pack (embedded backend)"
nsc=$(find scenarios -name '*.yaml' | wc -l)
# Each repetition runs into a fresh folder (--out refuses a used one).
best=""
for i in 1 2 3 4 5; do
	set -- $("$work/best_of" 1 "$fd" run --quiet \
		--out "$work/run$i" --tmpdir "$work" scenarios)
	if [ -z "$best" ] || awk "BEGIN{exit !($1 < $best)}"; then
		best=$1; rss=$2
	fi
done
# controls are scenarios of their own: count what the run record holds
nsc=$(grep -c '"record":"scenario"' "$work/run1/run.jsonl")
per=$(awk "BEGIN{printf \"%.2f\", $best * 1000 / $nsc}")
echo "whole pack: $nsc scenarios in ${best}s (best of 5), max RSS ${rss} MiB"
echo "per scenario: $per ms (spawn + telemetry + evaluation + verdict)"

echo "== exceptions check (the seed rule's positives, one list)"
best=""
for i in 1 2 3; do
	set -- $("$work/best_of" 1 "$fd" exceptions check --quiet \
		--tmpdir "$work" --out "$work/check$i" \
		02ea4563-ec10-4974-b7de-12e65aa4f9b3 firedrill-dah-mdm)
	if [ -z "$best" ] || awk "BEGIN{exit !($1 < $best)}"; then
		best=$1; rss=$2
	fi
done
echo "exceptions check: ${best}s (best of 3), max RSS ${rss} MiB"

if command -v python3 >/dev/null 2>&1; then
	echo "== live backends against the fake stack (loopback)"
	python3 - "$work/run1/alerts.ndjson" >"$work/a112.ndjson" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if json.loads(line).get("kibana.alert.rule.version") == 112:
        sys.stdout.write(line)
PY
	exc=()
	for f in rules/exceptions/*json; do exc+=(--exceptions "$f"); done
	for id in $(grep -ho '"list_id": *"[^"]*"' rules/exceptions/* |
		    sed 's/.*"\([^"]*\)"$/\1/' | sort -u); do
		exc+=(--rule-exceptions "$id")
	done
	python3 tests/server/fakestack.py --port-file "$work/port" \
		--alerts "$work/a112.ndjson" "${exc[@]}" \
		--rules rules/credential_access_dumping_hashes_bi_cmds.eql-2026.json \
		>/dev/null 2>&1 &
	srv=$!
	while [ ! -s "$work/port" ]; do sleep 0.05; done
	url="http://127.0.0.1:$(cat "$work/port")"
	for be in kibana elasticsearch; do
		set -- $("$work/best_of" 5 "$fd" validate --quiet \
			--run "$work/run1" --backend "$be" --kibana-url "$url" \
			--es-url "$url" --telemetry push --ingest-margin 0 \
			--poll 0.5 --deadline 60)
		echo "push and validate the whole pack, $be backend:" \
			"${1}s (best of 5), max RSS ${2} MiB"
	done
	kill "$srv"
fi

echo "== query throughput ($N events)"
kql='event.category:process and host.os.type:macos and event.type:start and
 process.name:(defaults or mkpassdb) and process.args:(ShadowHashData or "-dump")
'
# The 2026 form of the rule, as Elastic's detection-rules write it (May
# 2026; see DESIGN.md), kept here so the bench needs nothing outside the
# repository.
eql='process where host.os.type == "macos" and event.type in ("start","process_started") and (
  (process.name == "defaults" and process.args like~ "ShadowHashData") or
  (process.name == "mkpassdb" and process.args == "-dump") or
  (process.name == "dscl" and process.args like~ "ShadowHashData") or
  (
    process.name in ("plutil","cat","strings","xxd","head") and
    process.args like "/var/db/dslocal/nodes/Default/users/*.plist"
  )
)
'
ev="$work/events.ndjson"
python3 tests/bench/gen_events.py "$N" "$ev"
size=$(du -m "$ev" | cut -f1)
avg=$(awk '{ n += length($0) + 1 } END { printf "%d", n / NR }' "$ev")
echo "$N events, $size MiB ($avg bytes an event); best of 5 runs"

# row NAME EVENTS SECONDS RSS
row() {
	awk -v name="$1" -v n="$2" -v t="$3" -v rss="$4" 'BEGIN {
		printf "%-27s %7.3f s %9d events/s   max RSS %6.1f MiB\n",
		       name, t, n / t, rss }'
}

set -- $("$work/best_of" 5 "$work/parse_only" "$ev")
row "cJSON parse only" "$N" "$1" "$2"
set -- $("$work/best_of" 5 "$fd" query --language kql --query "$kql" \
	--events "$ev")
row "firedrill query, KQL v107" "$N" "$1" "$2"
set -- $("$work/best_of" 5 "$fd" query --language eql --query "$eql" \
	--events "$ev")
row "firedrill query, EQL 2026" "$N" "$1" "$2"
echo "matches: KQL v107 $("$fd" query --language kql --query "$kql" \
	--events "$ev" | wc -l), EQL 2026 $("$fd" query --language eql \
	--query "$eql" --events "$ev" | wc -l)"

big=$((N * 5))
echo "== memory over $big events (the same file five times)"
for i in 1 2 3 4 5; do
	cat "$ev"
done >"$work/big.ndjson"
rm -f "$ev"
set -- $("$work/best_of" 1 "$fd" query --language kql --query "$kql" \
	--events "$work/big.ndjson")
row "firedrill query, KQL v107" "$big" "$1" "$2"
set -- $("$work/best_of" 1 "$fd" query --language eql --query "$eql" \
	--events "$work/big.ndjson")
row "firedrill query, EQL 2026" "$big" "$1" "$2"
