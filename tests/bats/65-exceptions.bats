#!/usr/bin/env bats
# 65-exceptions.bats - false-positive exceptions, proven both ways: the
# exception pack suppresses what it should while each control still
# alerts; taking an exception away turns a suppression into a FAIL; an
# exception scenario without its control is not a scenario; and
# `exceptions check` names the exception that would blind the rule, from
# local files or from the stack.

load helpers
load server
load live

PACK="$TOP/scenarios/dumping-account-hashes-exceptions"

setup() {
	setup_scratch
}

teardown() {
	stop_stack
	teardown_scratch
}

@test "the exception pack passes: every suppression names its item, every control alerts" {
	run fd run -o "$SCRATCH/run" --json "$SCRATCH/r.json" "$PACK"
	assert_status 0
	python3 - "$SCRATCH/r.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["verdicts"]
zero = [v for v in rows if v["check"] == "count == 0"]
assert zero and all("suppressed by exception item" in v["reason"]
                    for v in zero), zero
controls = [v for v in rows if v["scenario"].endswith(".control")
            and v["check"].startswith("count")]
assert len(controls) == 7 * 3 and all(v["outcome"] == "PASS"
                                     for v in controls), controls
PY
	# the suppressed records name the item
	grep -q '"item_id":"dah-mdm-jamf-parent"' "$SCRATCH/run/suppressed.ndjson"
}

@test "an expired item silences nothing" {
	run fd run -o "$SCRATCH/run" "$PACK/expired-item.yaml"
	assert_status 0
	[ ! -s "$SCRATCH/run/suppressed.ndjson" ]
}

@test "without the exception item, a suppression scenario FAILs" {
	# The same lists, with the MDM item taken out of its list.
	mkdir -p "$SCRATCH/exc"
	cp "$TOP/rules/exceptions/firedrill-dah-pack.json" "$SCRATCH/exc/"
	head -1 "$TOP/rules/exceptions/firedrill-dah-mdm.ndjson" \
		>"$SCRATCH/exc/firedrill-dah-mdm.ndjson"
	run fd run -o "$SCRATCH/run" --exceptions "$SCRATCH/exc" \
		"$PACK/mdm-agent-parent.yaml"
	assert_status 1
	assert_output --partial "expected no alert, got 1"
}

@test "without its exceptions, the scenario FAILs" {
	# exceptions and control go together: take both away
	python3 - "$PACK/mdm-agent-parent.yaml" >"$SCEN/bare.yaml" <<'PY'
import sys
out, skip = [], False
for line in open(sys.argv[1]):
    if line.startswith("exceptions:"):
        continue
    if line.startswith("control:"):
        skip = True
    if not skip:
        out.append(line)
sys.stdout.write("".join(out))
PY
	run fd run -o "$SCRATCH/run" "$SCEN/bare.yaml"
	assert_status 1
	assert_output --partial "expected no alert, got 1"
}

@test "an exception scenario without its control is refused, and nothing runs" {
	python3 - "$PACK/mdm-agent-parent.yaml" >"$SCEN/nocontrol.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
sys.stdout.write(text[:text.index("control:")])
PY
	run fd run -o "$SCRATCH/run" "$SCEN/nocontrol.yaml"
	assert_status 2
	assert_output --partial "nocontrol.yaml:"
	assert_output --partial "an exception scenario needs a control"
	[ ! -e "$SCRATCH/run/run.jsonl" ]
}

@test "a scenario that attaches a list nobody loaded is refused" {
	sed 's/firedrill-dah-mdm/no-such-list/' "$PACK/mdm-agent-parent.yaml" \
		>"$SCEN/unknown.yaml"
	run fd run -o "$SCRATCH/run" "$SCEN/unknown.yaml"
	assert_status 2
	assert_output --partial "exception list 'no-such-list' is not loaded"
}

@test "exceptions check flags the too-broad exception and names its item" {
	run fd exceptions check "$SEED_RULE" firedrill-dah-too-broad \
		-o "$SCRATCH/check"
	assert_status 1
	assert_output --partial "SILENCED by item 'dah-defaults-anything' of list 'firedrill-dah-too-broad'"
	assert_output --partial 'process.name is "defaults"'
	assert_output --partial "dah-defaults-read-shadowhashdata "
	# mkpassdb is not a defaults command: it still alerts
	assert_output --regexp "dah-mkpassdb-dump +still alerts"
}

@test "exceptions check passes every other list of the pack" {
	local list
	for list in firedrill-dah-mdm firedrill-dah-service-account \
		    firedrill-dah-ci-tools firedrill-dah-inventory \
		    firedrill-dah-lab-hosts firedrill-dah-expired; do
		rm -rf "$SCRATCH/check"
		run fd exceptions check "$SEED_RULE" "$list" -o "$SCRATCH/check"
		assert_status 0
		assert_output --partial "0 silenced by them"
		refute_output --partial "SILENCED"
	done
}

@test "exceptions check refuses what it cannot check" {
	run fd exceptions check "$SEED_RULE" no-such-list
	assert_status 2
	assert_output --partial "list 'no-such-list' is not loaded"
	run fd exceptions check no-such-rule firedrill-dah-mdm
	assert_status 2
	run fd exceptions check
	assert_status 2
	run fd exceptions check "$SEED_RULE"
	assert_status 2
	assert_output --partial "no list to check"
	run fd exceptions --help
	assert_status 0
	assert_output --partial "firedrill exceptions check RULE"
}

@test "exceptions check reads the rule's lists from the stack and flags the too-broad one" {
	# only the too-broad list attached to the rule on the stack
	start_stack --rules "$STACK_RULE" \
		--exceptions "$TOP/rules/exceptions/firedrill-dah-pack.json" \
		--rule-exceptions firedrill-dah-too-broad
	run fd exceptions check "$SEED_RULE" --backend kibana \
		--kibana-url "$STACK_URL" -o "$SCRATCH/check"
	assert_status 1
	assert_output --partial "SILENCED by item 'dah-defaults-anything'"
	[ "$(stack_requests /api/exception_lists/items/_find)" -ge 1 ]
}

@test "exceptions check passes a rule whose stack lists are narrow" {
	start_stack --rules "$STACK_RULE" \
		--exceptions "$TOP/rules/exceptions/firedrill-dah-mdm.ndjson" \
		--rule-exceptions firedrill-dah-mdm
	run fd exceptions check "$SEED_RULE" --backend kibana \
		--kibana-url "$STACK_URL" -o "$SCRATCH/check"
	assert_status 0
	assert_output --partial "0 silenced by them"
}

@test "live: a scenario whose exception list is not on the rule is an ERROR" {
	file_scratch
	make_run exc "$PACK/mdm-agent-parent.yaml"
	start_stack --alerts "$FILE_SCRATCH/exc.alerts.ndjson" \
		--rules "$STACK_RULE"
	live_validate "$(run_dir exc)" --backend kibana \
		--kibana-url "$STACK_URL"
	assert_status 3
	assert_output --partial "exception list 'firedrill-dah-mdm' is not attached to the rule on the stack"
	rm -rf "$FILE_SCRATCH"
}

@test "a suppression scenario whose steps never trigger the rule FAILs" {
	# jamf reads the Dock's preferences: no rule fires, so the MDM
	# exception is never put to the test, whatever the control does.
	python3 - "$PACK/mdm-agent-parent.yaml" >"$SCEN/never.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
head, control = text.split("control:", 1)
head = head.replace("/var/db/dslocal/nodes/Default/users/alice.plist, "
                    "ShadowHashData]", "com.apple.dock]", 1)
sys.stdout.write(head + "control:" + control)
PY
	grep -q "com.apple.dock" "$SCEN/never.yaml"
	run fd run -o "$SCRATCH/run" "$SCEN/never.yaml"
	assert_status 1
	assert_output --partial "nothing was suppressed either"
}

@test "exceptions check counts every match, past the rule's max_signals" {
	mkdir -p "$SCRATCH/rules"
	python3 - "$TOP/rules/credential_access_dumping_hashes_bi_cmds.eql-2026.json" \
		>"$SCRATCH/rules/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["max_signals"] = 1
print(json.dumps(r))
PY
	cp -r "$TOP/rules/exceptions" "$SCRATCH/rules/"
	run fd exceptions check "$SEED_RULE" firedrill-dah-too-broad \
		-r "$SCRATCH/rules" -o "$SCRATCH/check" \
		-s "$TOP/scenarios/dumping-account-hashes/mkpassdb-dump.yaml" \
		-s "$TOP/scenarios/dumping-account-hashes/defaults-read-shadowhashdata.yaml"
	assert_status 1
	assert_output --regexp "dah-defaults-read-shadowhashdata +SILENCED"
}

@test "exceptions check says when a positive is only partly silenced" {
	write_scenario both <<YAML
id: t-both
title: jamf and zsh both read ShadowHashData
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, /var/db/dslocal/nodes/Default/users/alice.plist, ShadowHashData]
    parents: [jamf]
  - run: defaults
    args: [read, /var/db/dslocal/nodes/Default/users/alice.plist, ShadowHashData]
    parents: [zsh]
expect:
  - rule: $SEED_RULE
    count: ">= 1"
YAML
	run fd exceptions check "$SEED_RULE" firedrill-dah-mdm -s "$SCEN" \
		-o "$SCRATCH/check"
	assert_status 1
	assert_output --partial "PARTLY SILENCED (1 of 2 alerts) by item 'dah-mdm-jamf-parent'"
}

@test "exceptions check with no positive that alerts checked nothing: exit 3" {
	write_scenario quiet <<YAML
id: t-quiet
title: claims to alert, never does
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, com.apple.dock]
expect:
  - rule: $SEED_RULE
    count: 1
YAML
	run fd exceptions check "$SEED_RULE" firedrill-dah-too-broad \
		-s "$SCEN" -o "$SCRATCH/check"
	assert_status 3
	assert_output --partial "nothing was checked"
	run fd exceptions check "$SEED_RULE" firedrill-dah-mdm --version abc
	assert_status 2
}
