#!/usr/bin/env bats
# 50-diff.bats - `firedrill diff OLD NEW`: what a rule change does to the
# scenario pack, as a detection engineer wants it on a rule pull request.

load helpers

V107="rules/credential_access_dumping_hashes_bi_cmds.json"
V109="rules/credential_access_dumping_hashes_bi_cmds.eql-2025.json"
V112="rules/credential_access_dumping_hashes_bi_cmds.eql-2026.json"

# The scenarios a side catches alone, from the table, sorted.
only() {
	grep " only $1\$" "$SCRATCH/diff.out" | cut -d' ' -f1 | sort | tr '\n' ' '
}

@test "diff v107 against the 2026 form lists exactly the documented changes" {
	run fd diff --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$V107" "$V112" \
		scenarios/dumping-account-hashes
	assert_status 0
	printf '%s\n' "$output" >"$SCRATCH/diff.out"
	run only OLD
	assert_output "dah-defaults-dump dah-mkpassdb-shadowhashdata "
	run only NEW
	assert_output "dah-cat-user-plist dah-defaults-read-lowercase-shadowhashdata dah-dscl-read-shadowhashdata dah-head-user-plist dah-plutil-print-user-plist dah-strings-user-plist dah-xxd-user-plist "
	grep -q "OLD catches 6, NEW catches 11; 2 only by OLD, 7 only by NEW" \
		"$SCRATCH/diff.out"
}

@test "diff v107 against the 2025 form: only the case variants change" {
	run fd diff --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$V107" "$V109"
	assert_status 0
	printf '%s\n' "$output" >"$SCRATCH/diff.out"
	run only OLD
	assert_output ""
	run only NEW
	assert_output "dah-defaults-read-lowercase-shadowhashdata dah-mkpassdb-uppercase-dump "
}

@test "diff writes the comparison as JSON" {
	run fd diff --out "$SCRATCH/run" --tmpdir "$TMPDIR" \
		--json "$SCRATCH/diff.json" "$V107" "$V112" \
		scenarios/dumping-account-hashes
	assert_status 0
	run python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(d["only_old"])), "|", len(d["only_new"]), "|",
      d["old"]["caught"], d["new"]["caught"], len(d["scenarios"]))' \
		"$SCRATCH/diff.json"
	assert_output "dah-defaults-dump dah-mkpassdb-shadowhashdata | 7 | 6 11 19"
}

@test "diff applies the exception lists to both sides" {
	# The exception pack's suppressions hold on both sides: only the
	# seed pack's documented changes remain.
	run fd diff --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$V107" "$V112"
	assert_status 0
	printf '%s\n' "$output" >"$SCRATCH/diff.out"
	run only OLD
	assert_output "dah-defaults-dump dah-mkpassdb-shadowhashdata "
	grep -q "^dah-exc-mdm-agent-parent  *-  *- *$" "$SCRATCH/diff.out"
	grep -q "^dah-exc-mdm-agent-parent.control  *caught  *caught *$" \
		"$SCRATCH/diff.out"
}

@test "diff --exit-code: 1 when the versions differ, 0 when they agree" {
	run fd diff --exit-code --out "$SCRATCH/a" --tmpdir "$TMPDIR" \
		"$V107" "$V112"
	assert_status 1
	run fd diff --exit-code --out "$SCRATCH/b" --tmpdir "$TMPDIR" \
		"$V112" "$V112"
	assert_status 0
	assert_output --partial "0 only by OLD, 0 only by NEW"
}

@test "diff on chosen scenarios runs only those" {
	run fd diff --out "$SCRATCH/run" --tmpdir "$TMPDIR" "$V107" "$V112" \
		scenarios/dumping-account-hashes/dscl-read-shadowhashdata.yaml
	assert_status 0
	assert_output --partial "dah-dscl-read-shadowhashdata"
	assert_output --partial "1 scenario: OLD catches 0, NEW catches 1"
}

@test "diff needs two rule sets" {
	run fd diff "$V107"
	assert_status 2
	assert_output --partial "name the OLD and the NEW rules"
}

@test "diff with a rule file that does not load is a usage error" {
	echo '{"rule_id": "x"' >"$SCRATCH/bad.json"
	run fd diff --tmpdir "$TMPDIR" "$SCRATCH/bad.json" "$V112"
	assert_status 2
	assert_output --partial "bad.json"
	run ls -A "$TMPDIR"
	assert_output ""
}

@test "diff --json - writes the JSON alone to standard output" {
	run sh -c "cd '$TOP' && '$FIREDRILL' diff --json - --out '$SCRATCH/run' \
		--tmpdir '$TMPDIR' '$V107' '$V112' 2>/dev/null | python3 -c \
		'import json,sys; print(len(json.load(sys.stdin)[\"only_new\"]))'"
	assert_status 0
	assert_output 7
}
