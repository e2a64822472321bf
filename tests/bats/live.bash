# live.bash - what the live-backend tests share: real runs made once per
# file, the alerts the embedded engine raised for them, and a comparison
# of verdicts.  Load after helpers and server.
#
# A real stack runs one version of a rule; the pack's expectations cover
# three.  So the fake stack is given the embedded engine's alerts of the
# version it "runs" (v112, the rules file below), and a live validation
# must give exactly the embedded verdicts of that version.

STACK_RULE="$TOP/rules/credential_access_dumping_hashes_bi_cmds.eql-2026.json"
STACK_VERSION=112

# The pack's exception lists, on the stack and attached to its rule, as
# a team would have them when it validates its exceptions live.
stack_exceptions() {
	local f id
	for f in "$TOP"/rules/exceptions/*.json "$TOP"/rules/exceptions/*.ndjson; do
		[ -e "$f" ] && printf -- '--exceptions\n%s\n' "$f"
	done
	for id in $(python3 - "$TOP/rules/exceptions" <<'PY'
import glob, json, os, sys
ids = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.*json"))):
    text = open(f).read()
    docs = json.loads(text) if f.endswith(".json") else \
        [json.loads(l) for l in text.splitlines() if l.strip()]
    for d in docs if isinstance(docs, list) else [docs]:
        if "list_id" in d and "entries" not in d and "item_id" not in d:
            ids.append(d["list_id"])
print(" ".join(ids))
PY
	); do
		printf -- '--rule-exceptions\n%s\n' "$id"
	done
}

# file_scratch: a folder for the whole file (setup_file), reachable by
# the stand-ins' user, with its own sticky TMPDIR.
file_scratch() {
	FILE_SCRATCH="$(mktemp -d "${BATS_TMPDIR:-/tmp}/fd-live.XXXXXX")"
	chmod 0755 "$FILE_SCRATCH"
	mkdir -p "$FILE_SCRATCH/tmp"
	chmod 1777 "$FILE_SCRATCH/tmp"
	export FILE_SCRATCH
}

# make_run NAME PATH...: an embedded run of PATH into $FILE_SCRATCH/NAME,
# its embedded report kept as NAME.embedded.json and the alerts of the
# stack's version as NAME.alerts.ndjson.
make_run() {
	local name="$1"
	shift
	(cd "$TOP" && TMPDIR="$FILE_SCRATCH/tmp" "$FIREDRILL" run -q \
		-o "$FILE_SCRATCH/$name" "$@") >/dev/null 2>&1 || {
		echo "the embedded run '$name' did not pass" >&2
		return 1
	}
	cp "$FILE_SCRATCH/$name/report.json" \
		"$FILE_SCRATCH/$name.embedded.json"
	python3 - "$FILE_SCRATCH/$name/alerts.ndjson" "$STACK_VERSION" \
		>"$FILE_SCRATCH/$name.alerts.ndjson" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if json.loads(line).get("kibana.alert.rule.version") == int(sys.argv[2]):
        sys.stdout.write(line)
PY
}

# run_dir NAME: a fresh copy of run NAME for one test (a validation
# writes its report.json into the run directory).
run_dir() {
	cp -r "$FILE_SCRATCH/$1" "$SCRATCH/$1"
	echo "$SCRATCH/$1"
}

# live_validate RUN_DIR ARGS...: firedrill validate, quick polling, the
# JSON report in $SCRATCH/live.json.
live_validate() {
	local dir="$1"
	shift
	run fd validate --run "$dir" --json "$SCRATCH/live.json" \
		--ingest-margin 0 --poll 0.05 --poll-max 0.2 "$@"
}

# same_verdicts EMBEDDED_JSON LIVE_JSON: the live verdicts are exactly
# the embedded verdicts of the stack's version (scenario, check, outcome).
same_verdicts() {
	python3 - "$1" "$2" "$STACK_VERSION" <<'PY'
import collections, json, sys
emb = json.load(open(sys.argv[1]))["verdicts"]
live = json.load(open(sys.argv[2]))["verdicts"]
version = int(sys.argv[3])
key = lambda v: (v["scenario"], v["check"], v["outcome"])
want = collections.Counter(key(v) for v in emb
                           if v.get("rule_version") == version)
got = collections.Counter(key(v) for v in live)
if want != got or not want:
    for row in sorted((want - got).elements()):
        print("missing:   ", row)
    for row in sorted((got - want).elements()):
        print("unexpected:", row)
    print("%d embedded rows, %d live rows" % (sum(want.values()),
                                              sum(got.values())))
    sys.exit(1)
PY
}

# summary_of JSON OUTCOME: that outcome's count in a JSON report.
summary_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"][sys.argv[2]])' "$1" "$2"
}

# rows_with JSON OUTCOME: "scenario|check|reason" of every such row.
rows_with() {
	python3 - "$1" "$2" <<'PY'
import json, sys
for v in json.load(open(sys.argv[1]))["verdicts"]:
    if v["outcome"] == sys.argv[2]:
        print("%s|%s|%s" % (v["scenario"], v["check"], v["reason"]))
PY
}

# stack_state FIELD: the fake stack's state (bulk, closed, requests).
stack_state() {
	stack_call GET /_fakestack/state >/dev/null && body_field "$1"
}
