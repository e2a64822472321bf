#!/usr/bin/env bats
# 60-live.bats - the kibana and elasticsearch backends against the fake
# stack (tests/server/fakestack.py): the whole pack gives the embedded
# verdicts through either backend and in either alert layout, two runs
# never claim each other's alerts, a negative is proven only by a rule run
# that covers it, the key is never printed, and the housekeeping flags do
# what they say and nothing else.

load helpers
load server
load live

setup_file() {
	command -v python3 >/dev/null 2>&1 || return 0
	file_scratch
	make_run pack "$TOP/scenarios"
	make_run other "$TOP/scenarios"
}

teardown_file() {
	[ -n "${FILE_SCRATCH:-}" ] && rm -rf "$FILE_SCRATCH"
	return 0
}

setup() {
	skip_unless_python3
	setup_scratch
}

teardown() {
	stop_stack
	teardown_scratch
}

pack_stack() {
	local -a exc
	mapfile -t exc < <(stack_exceptions)
	start_stack --alerts "$FILE_SCRATCH/pack.alerts.ndjson" \
		--rules "$STACK_RULE" "${exc[@]}" "$@"
}

@test "the whole pack validates through the kibana backend with the embedded verdicts" {
	pack_stack
	live_validate "$(run_dir pack)" --backend kibana --kibana-url "$STACK_URL"
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/live.json"
	assert_output --partial "not checked: the stack runs version 112"
}

@test "the whole pack validates through the elasticsearch backend with the embedded verdicts" {
	pack_stack
	# the events pushed first: a negative needs them seen on the stack
	live_validate "$(run_dir pack)" --backend elasticsearch \
		--es-url "$STACK_URL" --kibana-url "$STACK_URL" \
		--telemetry push
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/live.json"
	[ "$(stack_requests /.alerts-security.alerts-default)" -ge 1 ]
}

@test "7.x signals give the same verdicts through both backends" {
	pack_stack --layout 7x
	live_validate "$(run_dir pack)" --backend kibana --kibana-url "$STACK_URL"
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/live.json"
	live_validate "$(run_dir pack)" --backend elasticsearch \
		--es-url "$STACK_URL" --kibana-url "$STACK_URL" \
		--telemetry push
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/live.json"
}

@test "with Elasticsearch in reach, a negative waits for its events to be there" {
	pack_stack
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --es-url "$STACK_URL" --deadline 0.5
	assert_status 3
	run rows_with "$SCRATCH/live.json" INCONCLUSIVE
	assert_output --partial "the scenario's events are not in Elasticsearch"
	run rows_with "$SCRATCH/live.json" PASS
	refute_output --partial "count == 0"
	[ "$(stack_requests /logs-endpoint.events.)" -ge 1 ]
}

@test "two runs validated at once on one stack each find only their own alerts" {
	pack_stack --alerts "$FILE_SCRATCH/other.alerts.ndjson"
	local a b
	a=$(run_dir pack)
	b=$(run_dir other)
	fd validate -q --run "$a" --json "$SCRATCH/a.json" --backend kibana \
		--kibana-url "$STACK_URL" --ingest-margin 0 --poll 0.05 \
		>/dev/null 2>&1 &
	local pid=$!
	fd validate -q --run "$b" --json "$SCRATCH/b.json" --backend kibana \
		--kibana-url "$STACK_URL" --ingest-margin 0 --poll 0.05 \
		>/dev/null 2>&1 || { echo "run b did not pass" >&2; false; }
	wait "$pid" || { echo "run a did not pass" >&2; false; }
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/a.json"
	same_verdicts "$FILE_SCRATCH/other.embedded.json" "$SCRATCH/b.json"
}

@test "a negative whose rule last ran before the events is INCONCLUSIVE, not PASS" {
	pack_stack --rule-state stale
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --deadline 0.5
	assert_status 3
	[ "$(summary_of "$SCRATCH/live.json" FAIL)" -eq 0 ]
	run rows_with "$SCRATCH/live.json" INCONCLUSIVE
	assert_output --partial "count == 0|no alert, but the rule's last successful run"
	assert_output --partial "predates the events"
	run rows_with "$SCRATCH/live.json" PASS
	refute_output --partial "count == 0"
}

@test "a rule run that started before the events were searchable proves no negative" {
	pack_stack
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --deadline 0.5 --ingest-margin 86400
	assert_status 3
	run rows_with "$SCRATCH/live.json" INCONCLUSIVE
	assert_output --partial "before the events were surely searchable"
	run rows_with "$SCRATCH/live.json" PASS
	refute_output --partial "count == 0"
}

@test "a disabled, failed, partly failed, gapped or never-run rule leaves negatives INCONCLUSIVE, and says which" {
	local state want
	for state in disabled failed partial gap never-ran running \
		     legacy-failed; do
		case $state in
		disabled) want="the rule is disabled" ;;
		failed|legacy-failed) want="last run is 'failed'" ;;
		partial) want="last run is 'partial failure'" ;;
		gap) want="reported a gap of 600 s" ;;
		never-ran) want="has not run yet" ;;
		running) want="last run is 'running'" ;;
		esac
		stop_stack
		pack_stack --rule-state "$state"
		live_validate "$(run_dir pack)" --backend kibana \
			--kibana-url "$STACK_URL" --deadline 0.3
		assert_status 3
		run rows_with "$SCRATCH/live.json" INCONCLUSIVE
		assert_output --partial "$want"
		run rows_with "$SCRATCH/live.json" PASS
		refute_output --partial "count == 0"
		rm -rf "$SCRATCH/pack"
	done
}

@test "the 7.x rule status fields prove a negative as execution_summary does" {
	pack_stack --rule-state legacy
	live_validate "$(run_dir pack)" --backend kibana --kibana-url "$STACK_URL"
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pack.embedded.json" "$SCRATCH/live.json"
}

@test "Elasticsearch alone cannot prove a negative: INCONCLUSIVE, and it says to give Kibana" {
	pack_stack
	live_validate "$(run_dir pack)" --backend elasticsearch \
		--es-url "$STACK_URL" --deadline 0.3
	assert_status 3
	[ "$(summary_of "$SCRATCH/live.json" FAIL)" -eq 0 ]
	run rows_with "$SCRATCH/live.json" INCONCLUSIVE
	assert_output --partial "give --kibana-url"
}

@test "one alert search and one rule lookup per poll cycle, whatever the number of expectations" {
	pack_stack --rule-state stale
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --deadline 0.6
	assert_status 3
	local searches lookups
	searches=$(stack_requests /api/detection_engine/signals/search)
	lookups=$(stack_requests /api/detection_engine/rules)
	[ "$searches" -ge 2 ]
	[ "$searches" -eq "$lookups" ]
}

@test "a Kibana space puts every call under /s/<space>" {
	pack_stack --space purple-1
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --space purple-1
	assert_status 0
	[ "$(stack_requests /s/purple-1/api/detection_engine/signals/search)" -ge 1 ]
	[ "$(stack_requests /s/purple-1/api/detection_engine/rules)" -ge 1 ]
}

@test "the API key appears in no output, log or report, even when the server echoes it" {
	local key="ZmFrZWlkOnN1cGVyLXNlY3JldC1rZXktNzcxMw=="
	pack_stack --api-key "$key" --fault echo-auth --fault-times 1
	local dir
	dir=$(run_dir pack)
	FIREDRILL_API_KEY="$key" live_validate "$dir" --backend kibana \
		--kibana-url "$STACK_URL" --junit "$SCRATCH/live.xml" \
		--retries 2
	assert_status 0
	refute_output --partial "$key"
	refute_output --partial "super-secret"
	run grep -rl -e "$key" -e "super-secret" "$dir" "$SCRATCH/live.json" \
		"$SCRATCH/live.xml"
	assert_status 1
	# The echo did happen: the retry message quotes the scrubbed answer.
	FIREDRILL_API_KEY="$key" run fd validate --run "$dir" \
		--backend kibana --kibana-url "$STACK_URL" --retries -1 \
		--poll 0.05 --ingest-margin 0
	refute_output --partial "$key"
}

@test "an id:key API key is sent encoded, and never printed in either form" {
	local encoded
	encoded=$(printf '%s' 'key-id:plain-secret-4242' | base64)
	pack_stack --api-key "$encoded" --fault echo-auth
	FIREDRILL_API_KEY='key-id:plain-secret-4242' live_validate \
		"$(run_dir pack)" --backend kibana --kibana-url "$STACK_URL" \
		--retries 1
	assert_status 3
	assert_output --partial "ApiKey ****"
	refute_output --partial "plain-secret-4242"
	refute_output --partial "$encoded"
}

@test "a key file works like FIREDRILL_API_KEY" {
	pack_stack --api-key "a2V5LWZpbGUtc2VjcmV0"
	printf 'a2V5LWZpbGUtc2VjcmV0\n' >"$SCRATCH/key"
	chmod 0600 "$SCRATCH/key"
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --api-key-file "$SCRATCH/key"
	assert_status 0
	refute_output --partial "a2V5LWZpbGUtc2VjcmV0"
}

@test "--close-alerts closes the alerts this run matched, and no other" {
	pack_stack --alerts "$FILE_SCRATCH/other.alerts.ndjson"
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --close-alerts
	assert_status 0
	assert_output --partial "alerts closed"
	stack_call GET /_fakestack/state >/dev/null
	python3 - "$SCRATCH/last.body" "$FILE_SCRATCH/pack.alerts.ndjson" <<'PY'
import json, sys
closed = set(json.load(open(sys.argv[1]))["closed"])
mine = {json.loads(l)["kibana.alert.uuid"] for l in open(sys.argv[2])}
assert closed, "nothing was closed"
assert closed == mine, (sorted(closed - mine), sorted(mine - closed))
PY
}

@test "--close-alerts through Elasticsearch alone updates only the matched alerts" {
	pack_stack --alerts "$FILE_SCRATCH/other.alerts.ndjson"
	live_validate "$(run_dir pack)" --backend elasticsearch \
		--es-url "$STACK_URL" --close-alerts --deadline 0.3
	assert_status 3		# its negatives stay INCONCLUSIVE
	stack_call GET /_fakestack/state >/dev/null
	python3 - "$SCRATCH/last.body" "$FILE_SCRATCH/pack.alerts.ndjson" <<'PY'
import json, sys
closed = set(json.load(open(sys.argv[1]))["closed"])
mine = {json.loads(l)["kibana.alert.uuid"] for l in open(sys.argv[2])}
assert closed == mine, (sorted(closed - mine), sorted(mine - closed))
PY
}

@test "--telemetry push indexes the run's events into the process data stream" {
	pack_stack
	local dir
	dir=$(run_dir pack)
	live_validate "$dir" --backend kibana --kibana-url "$STACK_URL" \
		--es-url "$STACK_URL" --telemetry push --namespace ci
	assert_status 0
	assert_output --partial "pushed to logs-endpoint.events.process-ci"
	stack_call GET /_fakestack/state >/dev/null
	python3 - "$SCRATCH/last.body" "$dir/events.ndjson" <<'PY'
import json, sys
bulk = json.load(open(sys.argv[1]))["bulk"]
docs = bulk.get("logs-endpoint.events.process-ci", [])
sent = [json.loads(l) for l in open(sys.argv[2])]
assert len(docs) == len(sent) > 0, (len(docs), len(sent), list(bulk))
run_id = sent[0]["firedrill"]["run_id"]
assert all(d["firedrill"]["run_id"] == run_id for d in docs)
PY
}

@test "a push retried after a refusal indexes no event twice" {
	pack_stack --fault 503 --fault-times 1 --fault-route bulk
	local dir
	dir=$(run_dir pack)
	live_validate "$dir" --backend kibana --kibana-url "$STACK_URL" \
		--es-url "$STACK_URL" --telemetry push
	assert_status 0
	stack_call GET /_fakestack/state >/dev/null
	python3 - "$SCRATCH/last.body" "$dir/events.ndjson" <<'PY'
import json, sys
docs = json.load(open(sys.argv[1]))["bulk"]["logs-endpoint.events.process-default"]
assert len(docs) == sum(1 for _ in open(sys.argv[2])), len(docs)
PY
}

@test "time to detect is in every report" {
	pack_stack
	live_validate "$(run_dir pack)" --backend kibana \
		--kibana-url "$STACK_URL" --junit "$SCRATCH/live.xml"
	assert_status 0
	assert_output --partial "s after spawn"
	python3 - "$SCRATCH/live.json" <<'PY'
import json, sys
rows = [v for v in json.load(open(sys.argv[1]))["verdicts"]
        if v["check"].startswith("count") and v["alerts"]]
assert rows and all(v["time_to_detect_s"] is not None for v in rows)
PY
	grep -q 'time="[0-9.]*[1-9][0-9.]*"' "$SCRATCH/live.xml"
}

@test "live settings that cannot work are usage errors, and nothing is asked" {
	local dir
	dir=$(run_dir pack)
	run fd validate --run "$dir" --backend kibana
	assert_status 2
	assert_output --partial "needs --kibana-url"
	run fd validate --run "$dir" --backend elasticsearch
	assert_status 2
	assert_output --partial "needs --es-url"
	run fd validate --run "$dir" --backend kibana \
		--kibana-url "http://elastic:changeme@127.0.0.1:1"
	assert_status 2
	assert_output --partial "carries credentials"
	refute_output --partial "changeme"
	run fd validate --run "$dir" --backend kibana --kibana-url ftp://x
	assert_status 2
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --timeout soon
	assert_status 2
	assert_output --partial "--timeout"
	run fd validate --run "$dir" --close-alerts
	assert_status 2
	assert_output --partial "needs a live backend"
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --rules rules
	assert_status 2
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --telemetry pull
	assert_status 2
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --telemetry push
	assert_status 2
	assert_output --partial "needs --es-url"
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --ca-file "$SCRATCH/none.pem"
	assert_status 2
	run fd validate --run "$dir" --backend kibana \
		--kibana-url http://127.0.0.1:1 --space 'Bad Space'
	assert_status 2
}
