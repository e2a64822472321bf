#!/usr/bin/env bats
# 40-query.bats - `firedrill query`: line numbers of matches, errors that
# point at the column, and the shared KQL vectors end to end.

load helpers

events() {
	cat >"$SCRATCH/events.ndjson" <<'JSON'
{"event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"macos"}},"process":{"name":"defaults","args":["defaults","read","/var/db/dslocal/nodes/Default/users/alice.plist","ShadowHashData"]}}
{"event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"macos"}},"process":{"name":"defaults","args":["defaults","read","com.apple.dock"]}}

{"event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"macos"}},"process":{"name":"mkpassdb","args":["mkpassdb","-dump"]}}
JSON
}

SEED_KQL='event.category:process and host.os.type:macos and event.type:start and process.name:(defaults or mkpassdb) and process.args:(ShadowHashData or "-dump")'

@test "query prints the 1-based line numbers of the matching events" {
	events
	run "$FIREDRILL" query --language kql --query "$SEED_KQL" \
		--events "$SCRATCH/events.ndjson"
	assert_status 0
	assert_output "$(printf '1\n4')"
}

@test "query with no match prints nothing and exits 0" {
	events
	run "$FIREDRILL" query --language kql --query 'process.name:nothing' \
		--events "$SCRATCH/events.ndjson"
	assert_status 0
	assert_output ""
}

@test "query reads standard input when the events file is -" {
	events
	run sh -c "\"$FIREDRILL\" query --language kuery \
		--query 'process.args:\"-dump\"' --events - \
		<\"$SCRATCH/events.ndjson\""
	assert_status 0
	assert_output "4"
}

@test "a syntax error exits 2 and points at the column" {
	events
	run "$FIREDRILL" query --language kql --query 'process.name:' \
		--events "$SCRATCH/events.ndjson"
	assert_status 2
	assert_output --regexp '^query:1:1[34]: '
}

@test "an unbalanced parenthesis is a syntax error at its column" {
	events
	run "$FIREDRILL" query --language kql \
		--query 'process.name:(defaults or mkpassdb' \
		--events "$SCRATCH/events.ndjson"
	assert_status 2
	assert_output --regexp '^query:1:[0-9]+: '
}

@test "a line that is not JSON is named with its line number" {
	printf '{"a":1}\nnot json\n' >"$SCRATCH/bad.ndjson"
	run "$FIREDRILL" query --language kql --query 'a:1' \
		--events "$SCRATCH/bad.ndjson"
	assert_status 2
	assert_output --partial "bad.ndjson:2: not a JSON object"
}

@test "an unknown language is a usage error" {
	events
	run "$FIREDRILL" query --language sql --query 'x' \
		--events "$SCRATCH/events.ndjson"
	assert_status 2
	assert_output --partial "unknown language 'sql'"
}

@test "a missing events file is named" {
	run "$FIREDRILL" query --language kql --query 'a:1' \
		--events "$SCRATCH/none.ndjson"
	assert_status 2
	assert_output --partial "cannot read"
}

@test "the shared KQL vectors agree end to end through the CLI" {
	skip_unless_shared
	run python3 "$TOP/tests/bats/kql_vectors_cli.py" "$FIREDRILL" \
		"$FD_SHARED_DIR/vectors/kql"
	assert_status 0
	assert_output --partial "0 disagreements"
}

@test "an EQL query prints the matching lines" {
	events
	run "$FIREDRILL" query --language eql \
		--query 'process where process.name in ("defaults", "mkpassdb") and process.args like~ ("shadowhashdata", "-dump")' \
		--events "$SCRATCH/events.ndjson"
	assert_status 0
	assert_output "$(printf '1\n4')"
}

@test "an EQL sequence prints one line per match: its events' line numbers" {
	cat >"$SCRATCH/seq.ndjson" <<'JSON'
{"@timestamp":"2026-01-01T00:00:01Z","event":{"category":["process"]},"host":{"name":"a"},"process":{"name":"zsh"}}
{"@timestamp":"2026-01-01T00:00:02Z","event":{"category":["process"]},"host":{"name":"b"},"process":{"name":"zsh"}}

{"@timestamp":"2026-01-01T00:00:03Z","event":{"category":["process"]},"host":{"name":"a"},"process":{"name":"defaults"}}
{"@timestamp":"2026-01-01T00:00:09Z","event":{"category":["process"]},"host":{"name":"b"},"process":{"name":"defaults"}}
JSON
	run "$FIREDRILL" query --language eql --query 'sequence by host.name with maxspan=5s
  [process where process.name == "zsh"]
  [process where process.name == "defaults"]' --events "$SCRATCH/seq.ndjson"
	assert_status 0
	assert_output "1 4"
}

@test "an EQL syntax error points at its line and column" {
	events
	run "$FIREDRILL" query --language eql \
		--query 'process where process.name = "x"' \
		--events "$SCRATCH/events.ndjson"
	assert_status 2
	assert_output --regexp '^query:1:28: '
}

@test "the shared EQL and sequence vectors agree end to end through the CLI" {
	skip_unless_shared
	run python3 "$TOP/tests/bats/eql_vectors_cli.py" "$FIREDRILL" \
		"$FD_SHARED_DIR/vectors/eql" "$FD_SHARED_DIR/vectors/eql-sequence"
	assert_status 0
	assert_output --partial "0 disagreements"
}
