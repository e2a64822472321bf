#!/usr/bin/env bats
# 30-run.bats - the main job end to end on the embedded backend: real
# stand-ins, the real engine, every expectation checked; and what must
# happen when the rule, a scenario, or the run goes wrong.

load helpers

# A positive and a negative of the seed rule, small enough to read here.
write_pair() {
	write_scenario positive <<YAML
id: t-positive
title: defaults reads a user's ShadowHashData
technique: T1003.008
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, /var/db/dslocal/nodes/Default/users/alice.plist, ShadowHashData]
    parents: [zsh]
expect:
  - rule: $SEED_RULE
    count: 1
    severity: high
    risk_score: 73
    tactic: TA0006
    technique: T1003
YAML
	write_scenario negative <<YAML
id: t-negative
title: defaults reads the Dock's preferences
technique: T1003.008
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, com.apple.dock]
expect:
  - rule: $SEED_RULE
    count: 0
YAML
}

@test "the scenario pack passes on the embedded backend" {
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" scenarios
	assert_status 0
	assert_output --partial "PASS"
	refute_output --partial "FAIL "
	assert_output --regexp "checks? in [0-9]+ scenarios?: [0-9]+ PASS, 0 FAIL"
	assert_file_exists "$SCRATCH/run/run.jsonl"
	assert_file_exists "$SCRATCH/run/events.ndjson"
	assert_file_exists "$SCRATCH/run/alerts.ndjson"
	assert_file_exists "$SCRATCH/run/report.json"
}

@test "the run's processes were really spawned and really alerted on" {
	write_pair
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	# Two processes for the positive (zsh and defaults), one negative.
	run grep -c '"record":"process"' "$SCRATCH/run/run.jsonl"
	assert_output 3
	# One alert per form of the rule (rules/ holds three), each on the
	# stand-in whose argv is the attacker's command.
	run grep -c . "$SCRATCH/run/alerts.ndjson"
	assert_output 3
	for v in 107 109 112; do
		run grep -c "\"kibana.alert.rule.version\":$v" \
			"$SCRATCH/run/alerts.ndjson"
		assert_output 1
	done
	run grep -o '"args":\["defaults","read","/var/db/dslocal/nodes/Default/users/alice.plist","ShadowHashData"\]' \
		"$SCRATCH/run/alerts.ndjson"
	assert_status 0
	run grep -o '"kibana.alert.severity":"high"' "$SCRATCH/run/alerts.ndjson"
	assert_status 0
}

@test "changing the rule's severity to medium fails the severity checks" {
	write_pair
	mkdir "$SCRATCH/rules"
	for f in "$TOP"/rules/*.json; do
		sed 's/"severity": *"high"/"severity": "medium"/' "$f" \
			>"$SCRATCH/rules/$(basename "$f")"
	done
	run fd run --rules "$SCRATCH/rules" --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 1
	assert_output --partial "severity high"
	assert_output --partial "expected severity 'high', got 'medium'"
}

@test "a malformed scenario gives file:line:column, exit 2, and spawns nothing" {
	write_pair
	write_scenario broken <<YAML
id: t-broken
title: a step with a typo in a key
rules: [$SEED_RULE]
steps:
  - run: defaults
    argz: [read]
expect:
  - rule: $SEED_RULE
    count: 1
YAML
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --regexp "broken\.yaml:6:5: "
	assert_output --partial "argz"
	run ls -A "$TMPDIR"
	assert_output ""
	assert_file_not_exists "$SCRATCH/run/run.jsonl"
}

@test "a scenario naming a rule that is not in rules/ is refused before anything runs" {
	write_scenario unknown <<YAML
id: t-unknown-rule
title: expects a rule nobody has
rules: [00000000-0000-0000-0000-000000000000]
steps:
  - run: defaults
    args: [read, x, ShadowHashData]
expect:
  - rule: 00000000-0000-0000-0000-000000000000
    count: 1
YAML
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --regexp "unknown\.yaml:[0-9]+:[0-9]+: rule '00000000-0000-0000-0000-000000000000' is not in"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "an alert where none is expected is a FAIL that names the process" {
	write_scenario wrong <<YAML
id: t-wrong-negative
title: a positive command wrongly expected to stay quiet
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: mkpassdb
    args: [-dump]
expect:
  - rule: $SEED_RULE
    count: 0
YAML
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 1
	assert_output --partial "expected no alert, got 1"
	assert_output --partial "mkpassdb"
}

@test "a missing alert is a FAIL that says what was expected and seen" {
	write_scenario missing <<YAML
id: t-missing
title: a quiet command wrongly expected to alert
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, com.apple.dock]
expect:
  - rule: $SEED_RULE
    count: 1
    severity: high
YAML
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 1
	assert_output --partial "expected 1 alert, got 0"
	assert_output --partial "no alert to check"
}

@test "a negative against a disabled rule is INCONCLUSIVE and exits 3" {
	write_pair
	rm "$SCEN/positive.yaml"
	mkdir "$SCRATCH/rules"
	for f in "$TOP"/rules/*.json; do
		sed 's/"enabled": *true/"enabled": false/' "$f" \
			>"$SCRATCH/rules/$(basename "$f")"
	done
	run fd run --rules "$SCRATCH/rules" --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 3
	assert_output --partial "INCONCLUSIVE"
	assert_output --partial "disabled"
}

@test "reports: JUnit and JSON carry every verdict" {
	write_pair
	run fd run --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		--junit "$SCRATCH/junit.xml" --json "$SCRATCH/report.json" "$SCEN"
	assert_status 0
	# 5 checks of the positive and 1 of the negative, for each of the
	# three forms of the rule in rules/.
	run grep -c '<testcase ' "$SCRATCH/junit.xml"
	assert_output 18
	run grep -c '"outcome":' "$SCRATCH/report.json"
	assert_output 18
	run grep '"exit_status":' "$SCRATCH/report.json"
	assert_output --partial "0"
}

@test "validate on another machine needs nothing but the run record" {
	write_pair
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	mkdir "$SCRATCH/elsewhere"
	cp "$SCRATCH/run/run.jsonl" "$SCRATCH/elsewhere/"
	rm -rf "$SCEN"
	run fd validate --run "$SCRATCH/elsewhere"
	assert_status 0
	assert_output --partial "t-positive"
	assert_output --partial "t-negative"
}

@test "a damaged run record is named with its line, exit 2" {
	write_pair
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	echo '{"record":"process",' >>"$SCRATCH/run/run.jsonl"
	run fd validate --run "$SCRATCH/run"
	assert_status 2
	assert_output --regexp "run\.jsonl:[0-9]+"
}

@test "--dry-run shows the plan and spawns nothing" {
	write_pair
	run fd run --dry-run --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	assert_output --partial "defaults"
	assert_output --partial "ShadowHashData"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "SIGINT in the middle of a run leaves no stand-in folder and no process" {
	write_scenario slow <<YAML
id: t-slow
title: a stand-in that dwells long enough to be interrupted
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, x, ShadowHashData]
    parents: [zsh]
    dwell: 30s
    timeout: 60s
expect:
  - rule: $SEED_RULE
    count: 1
YAML
	(cd "$TOP" && exec "$FIREDRILL" run --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ls "$TMPDIR"/firedrill-*/t-slow/defaults >/dev/null 2>&1 &&
			break
		sleep 0.1
	done
	sleep 0.5
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	# Death by SIGINT, re-raised after cleaning up.
	[ "$status" -eq 130 ]
	run ls -A "$TMPDIR"
	assert_output ""
	no_standin_left "$TMPDIR"
}

@test "a run record cut short (no end line) validates as ERROR, exit 3" {
	write_pair
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	sed -i '$d' "$SCRATCH/run/run.jsonl"
	run fd validate --run "$SCRATCH/run"
	assert_status 3
	assert_output --partial "the run record has no end line"
}

@test "a run record with only its header is an ERROR, not an empty pass" {
	write_pair
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	sed -i '2,$d' "$SCRATCH/run/run.jsonl"
	run fd validate --run "$SCRATCH/run"
	assert_status 3
	assert_output --partial "the run record has no end line"
	assert_output --partial "the run stopped before this scenario ran"
}

@test "an interrupted emulation never validates as a pass" {
	write_pair
	write_scenario slow <<YAML
id: t-slow
title: a stand-in that dwells long enough to be interrupted
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, com.apple.dock]
  - run: defaults
    args: [read, x, ShadowHashData]
    dwell: 30s
    timeout: 60s
expect:
  - rule: $SEED_RULE
    count: 0
YAML
	# positive, slow, then negative: interrupt during slow's second step.
	mv "$SCEN/negative.yaml" "$SCEN/zz-negative.yaml"
	(cd "$TOP" && exec "$FIREDRILL" emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ls "$TMPDIR"/firedrill-*/t-slow/defaults >/dev/null 2>&1 &&
			break
		sleep 0.1
	done
	sleep 0.5
	kill -INT "$pid"
	wait "$pid" || true
	# The end line counts the scenarios that started: positive, slow.
	run grep -c '"record":"end".*"scenarios":2,"complete":false' \
		"$SCRATCH/run/run.jsonl"
	assert_output 1
	run fd validate --run "$SCRATCH/run"
	assert_status 3
	assert_output --partial "the emulation was interrupted"
	assert_output --partial "the run was interrupted during this scenario"
	assert_output --partial "t-negative"
	assert_output --partial "the run stopped before this scenario ran"
}

@test "a rule the engine cannot run is skipped with a note, and the rest run" {
	write_pair
	mkdir "$SCRATCH/rules"
	cp "$TOP"/rules/*.json "$SCRATCH/rules/"
	echo '{"rule_id":"ml-1","name":"Unusual process (ML)","type":"machine_learning","severity":"low","risk_score":21,"anomaly_threshold":50,"machine_learning_job_id":"x"}' \
		>"$SCRATCH/rules/zz-export.ndjson"
	run fd run --rules "$SCRATCH/rules" --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	assert_output --partial "skipped $SCRATCH/rules/zz-export.ndjson:1: rule 'Unusual process (ML)'"
}

@test "a scenario that names a rule the engine cannot run is refused, nothing runs" {
	mkdir "$SCRATCH/rules"
	cp "$TOP"/rules/*.json "$SCRATCH/rules/"
	echo '{"rule_id":"ml-1","name":"Unusual process (ML)","type":"machine_learning","severity":"low","risk_score":21,"anomaly_threshold":50,"machine_learning_job_id":"x"}' \
		>"$SCRATCH/rules/zz-export.ndjson"
	write_scenario ml <<YAML
id: t-ml
title: expects a machine learning rule
rules: [ml-1]
steps:
  - run: defaults
expect:
  - rule: ml-1
    count: 1
YAML
	run fd run --rules "$SCRATCH/rules" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --regexp "ml\.yaml:[0-9]+:[0-9]+: rule 'ml-1' cannot run here: "
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "an empty rules folder is named as the problem" {
	write_pair
	mkdir "$SCRATCH/rules"
	run fd run --rules "$SCRATCH/rules" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 2
	assert_output --partial "no rule that the engine can run in '$SCRATCH/rules'"
}

@test "SIGKILL of firedrill itself leaves no stand-in running" {
	write_scenario slow <<YAML
id: t-slow
title: a chain that dwells long enough to be killed
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, x, ShadowHashData]
    parents: [launchd, zsh]
    dwell: 30s
    timeout: 60s
expect:
  - rule: $SEED_RULE
    count: 1
YAML
	(cd "$TOP" && exec "$FIREDRILL" emulate --out "$SCRATCH/run" \
		--tmpdir "$TMPDIR" "$SCEN") >"$SCRATCH/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ls "$TMPDIR"/firedrill-*/t-slow/defaults >/dev/null 2>&1 &&
			break
		sleep 0.1
	done
	sleep 0.5
	kill -KILL "$pid"
	wait "$pid" || true
	# The private folder cannot be removed by a killed process, but
	# every stand-in dies with its parent.
	for _ in $(seq 20); do
		no_standin_left "$TMPDIR" 2>/dev/null && break
		sleep 0.1
	done
	no_standin_left "$TMPDIR"
}

@test "a run record whose last line is cut off mid-write validates what it has, exit 3" {
	write_pair
	run fd emulate --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$SCEN"
	assert_status 0
	f="$SCRATCH/run/run.jsonl"
	# Drop the end line, and cut the last process line in half.
	sed -i '$d' "$f"
	size=$(wc -c <"$f")
	truncate -s $((size - 40)) "$f"
	run fd validate --run "$SCRATCH/run"
	assert_status 3
	assert_output --partial "the run record's last line is cut off"
	assert_output --partial "t-positive"
}

@test "a report that cannot be written is refused before anything runs" {
	run fd run -o "$SCRATCH/run" --json "$SCRATCH/no/such/dir/r.json" \
		scenarios/dumping-account-hashes/defaults-dump.yaml
	assert_status 2
	assert_output --partial "--json: cannot write"
	[ ! -e "$SCRATCH/run/run.jsonl" ]
	run fd run -o "$SCRATCH/run" --junit "$SCRATCH/no/r.xml" \
		scenarios/dumping-account-hashes/defaults-dump.yaml
	assert_status 2
	assert_output --partial "--junit: cannot write"
}
