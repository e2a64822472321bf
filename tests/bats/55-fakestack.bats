#!/usr/bin/env bats
# 55-fakestack.bats - the fake Kibana + Elasticsearch that the live
# backends are tested against: it must answer the documented routes with
# the documented shapes, and each fault must do what it says.

load helpers
load server

OTHER_RULE=b5f0c1d2-test-rule
V107="$TOP/rules/credential_access_dumping_hashes_bi_cmds.json"
V112="$TOP/rules/credential_access_dumping_hashes_bi_cmds.eql-2026.json"
ALIAS_8X=.alerts-security.alerts-default
SEARCH=/api/detection_engine/signals/search
RULES=/api/detection_engine/rules
STATUS=/api/detection_engine/signals/status
ALERTS_8X=.internal.alerts-security.alerts-default-000001

# One client and one read-only stack (the alerts below, two forms of the
# seed rule) serve the whole file; tests that change state or need other
# options start a stack of their own.
setup_file() {
	command -v python3 >/dev/null 2>&1 || return 0
	ALERTS="$BATS_FILE_TMPDIR/alerts.ndjson"
	export ALERTS
	write_alerts "$ALERTS"
	start_stack_client "$BATS_FILE_TMPDIR"
	STACK_DIR="$BATS_FILE_TMPDIR" start_stack --alerts "$ALERTS" \
		--rules "$V107" --rules "$V112"
	SHARED_STACK_URL=$STACK_URL
	SHARED_STACK_PID=$STACK_PID
	export SHARED_STACK_URL SHARED_STACK_PID
	unset STACK_PID STACK_PIDS STACK_URL STACK_PORT
}

teardown_file() {
	if [ -n "${SHARED_STACK_PID:-}" ]; then
		kill "$SHARED_STACK_PID" 2>/dev/null || true
		wait "$SHARED_STACK_PID" 2>/dev/null || true
	fi
	stop_stack_client
}

setup() {
	setup_scratch
	skip_unless_python3
}

teardown() {
	stop_stack
	teardown_scratch
}

use_shared_stack() {
	STACK_URL=$SHARED_STACK_URL
}

# Two 8.x alerts as the embedded engine writes them (nested ECS objects
# beside flat kibana.* keys), one line each in FILE.
write_alerts() {
	python3 - "$1" "$SEED_RULE" "$OTHER_RULE" <<'PY'
import json, sys
path, seed, other = sys.argv[1:]

def alert(uuid, rule_id, rule_uuid, name, args, host, when, severity,
          risk, tactic):
    return {
        "@timestamp": "2026-01-01T12:30:00.000Z",
        "event": {"category": ["process"], "type": ["start"],
                  "action": "exec", "kind": "signal"},
        "host": {"name": host, "os": {"type": "macos"}},
        "process": {"name": name, "args": args, "pid": 4242,
                    "command_line": " ".join(args)},
        "kibana.alert.uuid": uuid,
        "kibana.alert.rule.rule_id": rule_id,
        "kibana.alert.rule.uuid": rule_uuid,
        "kibana.alert.rule.name": "rule " + rule_id,
        "kibana.alert.rule.severity": "low",
        "kibana.alert.rule.risk_score": 21,
        "kibana.alert.rule.version": 112,
        "kibana.alert.rule.interval": "5m",
        "kibana.alert.rule.from": "now-9m",
        "kibana.alert.rule.enabled": True,
        "kibana.alert.rule.threat": [{
            "framework": "MITRE ATT&CK",
            "tactic": {"id": tactic, "name": "t", "reference": "r"},
            "technique": [{"id": "T1003", "name": "n", "reference": "r"}]}],
        "kibana.alert.rule.parameters": {"query": "q", "language": "eql"},
        "kibana.alert.severity": severity,
        "kibana.alert.risk_score": risk,
        "kibana.alert.original_time": when,
        "kibana.alert.original_event.action": "exec",
        "kibana.alert.original_event.kind": "event",
        "kibana.alert.ancestors": [{"id": "ev-" + uuid, "type": "event",
                                    "index": "logs-endpoint", "depth": 0}],
        "kibana.alert.depth": 1,
        "kibana.alert.reason": "process event created an alert",
        "kibana.alert.workflow_status": "open",
    }

alerts = [
    alert("alert-a", seed, "c5e91f07-3b8a-4d26-8e4f-91a0d6b2c7e8",
          "defaults", ["defaults", "read", "x.plist", "ShadowHashData"],
          "mac-01", "2026-01-01T10:00:00.000Z", "high", 73, "TA0006"),
    alert("alert-b", other, "0f0f0f0f-0000-4000-8000-000000000001",
          "osascript", ["osascript", "-e", "beep"],
          "mac-02", "2026-01-01T12:00:00.000Z", "medium", 47, "TA0002"),
]
with open(path, "w", encoding="utf-8") as stream:
    for one in alerts:
        stream.write(json.dumps(one) + "\n")
PY
}

# hits_for QUERY_JSON: hits.total.value of a Kibana alert search.
hits_for() {
	kibana_call POST "$SEARCH" "{\"query\": $1}" >/dev/null || return 1
	body_field hits.total.value
}

# --------------------------------------------------------------- shapes

@test "the stack writes its port file and answers GET / like Elasticsearch" {
	use_shared_stack
	[ "$(cat "$BATS_FILE_TMPDIR/stack.port")" -gt 0 ]
	run stack_call GET /
	assert_line "HTTP 200"
	run body_field version.number
	assert_output "8.15.0"
	run body_field tagline
	assert_output "You Know, for Search"
}

@test "a term query on rule_id through Kibana finds that rule's alerts" {
	use_shared_stack
	run kibana_call POST "$SEARCH" \
		'{"query":{"bool":{"filter":[{"term":
			{"kibana.alert.rule.rule_id":"'"$SEED_RULE"'"}}]}}}'
	assert_line "HTTP 200"
	run body_field hits.total
	assert_output '{"value": 1, "relation": "eq"}'
	run body_field hits.hits.0._id
	assert_output alert-a
	run body_field hits.hits.0._index
	assert_output "$ALERTS_8X"
	run body_field hits.hits.0._source.kibana.alert.severity
	assert_output high
	run body_field timed_out
	assert_output false
}

@test "nested, flat and array fields all resolve in the query subset" {
	use_shared_stack
	run hits_for '{"term":{"host.name":{"value":"mac-02"}}}'
	assert_output 1
	run hits_for '{"terms":{"process.name":["defaults","osascript"]}}'
	assert_output 2
	run hits_for '{"term":{"process.args":"ShadowHashData"}}'
	assert_output 1
	run hits_for '{"term":{"kibana.alert.rule.threat.tactic.id":"TA0006"}}'
	assert_output 1
	run hits_for '{"wildcard":{"process.command_line":
		{"value":"*shadowhash*","case_insensitive":true}}}'
	assert_output 1
	run hits_for '{"wildcard":{"process.command_line":"*shadowhash*"}}'
	assert_output 0
	run hits_for '{"prefix":{"process.name":"osa"}}'
	assert_output 1
	run hits_for '{"range":{"kibana.alert.original_time":
		{"gte":"2026-01-01T11:00:00Z"}}}'
	assert_output 1
	run hits_for '{"range":{"kibana.alert.risk_score":{"gt":47,"lte":73}}}'
	assert_output 1
	run hits_for '{"exists":{"field":"kibana.alert.ancestors.id"}}'
	assert_output 2
	run hits_for '{"exists":{"field":"process.parent.name"}}'
	assert_output 0
	run hits_for '{"bool":{"should":[{"term":{"host.name":"mac-01"}},
		{"term":{"host.name":"nowhere"}}]}}'
	assert_output 1
	run hits_for '{"bool":{"must":[{"match_all":{}}],
		"must_not":[{"ids":{"values":["alert-a"]}}]}}'
	assert_output 1
	run hits_for '{"term":{"signal.rule.rule_id":"'"$OTHER_RULE"'"}}'
	assert_output 1
}

@test "_source filtering keeps only the listed fields, flat or nested" {
	use_shared_stack
	run kibana_call POST "$SEARCH" \
		'{"size":1,"_source":["kibana.alert.uuid","process.n*"],
		  "query":{"ids":{"values":["alert-a"]}}}'
	assert_line "HTTP 200"
	run body_field hits.hits.0._source
	assert_output '{"process": {"name": "defaults"},'$(
		)' "kibana.alert.uuid": "alert-a"}'
}

@test "the alerts' own space answers under /s/; another space has none" {
	start_stack --alerts "$ALERTS" --space ci
	run hits_for '{"match_all":{}}'
	assert_output 0
	run kibana_call POST "/s/ci$SEARCH" '{"query":{"match_all":{}}}'
	assert_line "HTTP 200"
	run body_field hits.total.value
	assert_output 2
	run body_field hits.hits.0._index
	assert_output .internal.alerts-security.alerts-ci-000001
}

@test "the 7x layout serves .siem-signals carrying signal.rule.rule_id" {
	start_stack --alerts "$ALERTS" --layout 7x
	run stack_call POST /.siem-signals-default/_search \
		'{"query":{"term":{"signal.rule.rule_id":"'"$SEED_RULE"'"}}}'
	assert_line "HTTP 200"
	run body_field hits.hits.0._index
	assert_output .siem-signals-default-000001
	run body_field hits.hits.0._id
	assert_output alert-a
	run body_field hits.hits.0._source.signal.rule.id
	assert_output c5e91f07-3b8a-4d26-8e4f-91a0d6b2c7e8
	run body_field hits.hits.0._source.signal.rule.severity
	assert_output high
	run body_field hits.hits.0._source.signal.rule.risk_score
	assert_output 73
	run body_field hits.hits.0._source.signal.rule.threat.0.tactic.id
	assert_output TA0006
	run body_field hits.hits.0._source.signal.status
	assert_output open
	run body_field hits.hits.0._source.signal.original_time
	assert_output 2026-01-01T10:00:00.000Z
	run body_field hits.hits.0._source.signal.original_event.action
	assert_output exec
	run body_field hits.hits.0._source.event.kind
	assert_output signal
	run body_field hits.hits.0._source.process.name
	assert_output defaults
	run body_field hits.hits.0._source.kibana.alert.uuid
	assert_output "<missing>"
	run stack_call POST /.alerts-security.alerts-default/_search '{}'
	assert_line "HTTP 404"
}

# ------------------------------------------------------ Kibana refusals

@test "a Kibana search without kbn-xsrf is refused with 400" {
	use_shared_stack
	run stack_call -H "elastic-api-version: 2023-10-31" POST "$SEARCH" \
		'{"query":{"match_all":{}}}'
	assert_line "HTTP 400"
	run body_field message
	assert_output "Request must contain a kbn-xsrf header."
	run body_field statusCode
	assert_output 400
	run body_field error
	assert_output "Bad Request"
}

@test "a search without elastic-api-version, or with another, is refused" {
	use_shared_stack
	run stack_call -H "kbn-xsrf: true" POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 400"
	run body_field message
	assert_output --partial \
		"Please specify a version via elastic-api-version header"
	run stack_call -H "kbn-xsrf: true" -H "elastic-api-version: 1" \
		POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 400"
}

@test "a Kibana search body needs a known key, and at least one" {
	use_shared_stack
	run kibana_call POST "$SEARCH" '{"from":0,"size":1}'
	assert_line "HTTP 400"
	run body_field message
	assert_output '[request body]: invalid keys "from"'
	run kibana_call POST "$SEARCH" '{}'
	assert_line "HTTP 400"
	run body_field message
	assert_output '"value" must have at least 1 children'
}

@test "a size above 10000 is refused like Elasticsearch's result window" {
	use_shared_stack
	run kibana_call POST "$SEARCH" '{"size":10001}'
	assert_line "HTTP 400"
	run body_field status_code
	assert_output 400
	run body_field message
	assert_output --partial "Result window is too large"
	run stack_call POST "/.alerts-security.alerts-default/_search" \
		'{"size":10000}'
	assert_line "HTTP 200"
}

@test "an unknown query kind is a parsing_exception in either shape" {
	use_shared_stack
	run stack_call POST "/.alerts-security.alerts-*/_search" \
		'{"query":{"match":{"host.name":"mac-01"}}}'
	assert_line "HTTP 400"
	run body_field error.root_cause.0.type
	assert_output parsing_exception
	run body_field error.reason
	assert_output "unknown query [match]"
	run kibana_call POST "$SEARCH" '{"query":{"match":{"a":"b"}}}'
	assert_line "HTTP 400"
	run body_field message
	assert_output --partial "parsing_exception"
}

# ---------------------------------------------------------------- rules

@test "the rules GET returns the rule with its execution summary" {
	use_shared_stack
	run kibana_call GET "$RULES?rule_id=$SEED_RULE"
	assert_line "HTTP 200"
	# The last file with the rule_id wins.
	run body_field version
	assert_output 112
	run body_field id
	assert_output c5e91f07-3b8a-4d26-8e4f-91a0d6b2c7e8
	run body_field execution_summary.last_execution.status
	assert_output succeeded
	run body_field execution_summary.last_execution.status_order
	assert_output 0
	run body_field execution_summary.last_execution.metrics
	assert_output --partial '"execution_gap_duration_s": 0'
	run body_field execution_summary.last_execution.date
	assert_output --regexp \
		'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$'
	run kibana_call GET "$RULES?id=c5e91f07-3b8a-4d26-8e4f-91a0d6b2c7e8"
	assert_line "HTTP 200"
}

@test "an unknown rule_id gets the Security Solution 404 shape" {
	use_shared_stack
	run kibana_call GET "$RULES?rule_id=no-such-rule"
	assert_line "HTTP 404"
	run cat "$SCRATCH/last.body"
	assert_output '{"message": "rule_id: \"no-such-rule\" not found",'$(
		)' "status_code": 404}'
}

@test "each rule state shows in the rule object" {
	local table state field want
	table=$(cat <<'STATES'
disabled enabled false
failed execution_summary.last_execution.status failed
partial execution_summary.last_execution.status partial failure
gap execution_summary.last_execution.metrics.execution_gap_duration_s 600
stale execution_summary.last_execution.status succeeded
never-ran execution_summary <missing>
running execution_summary.last_execution.status running
legacy last_success_message succeeded
legacy-failed status failed
STATES
)
	# Side by side: one server per state.
	while read -r state _; do
		launch_stack "$SCRATCH" "$state" --rules "$V107" \
			--rule-state "$state"
	done <<<"$table"
	while read -r state field want; do
		await_stack "$SCRATCH" "$state"
		kibana_call GET "$RULES?rule_id=$SEED_RULE" >/dev/null
		run body_field "$field"
		[ "$output" = "$want" ] || {
			echo "$state: $field is $output, not $want" >&2
			return 1
		}
	done <<<"$table"
	# A stale run dates from an hour ago; a failed one says why.
	await_stack "$SCRATCH" stale
	kibana_call GET "$RULES?rule_id=$SEED_RULE" >/dev/null
	run body_field execution_summary.last_execution.date
	[ "$(date -u -d "$output" +%s)" -le $(($(date -u +%s) - 3500)) ]
	await_stack "$SCRATCH" failed
	kibana_call GET "$RULES?rule_id=$SEED_RULE" >/dev/null
	run body_field execution_summary.last_execution.message
	assert_output --partial "An error occurred during rule execution"
}

# ------------------------------------------------------- status and bulk

@test "alerts close through signals/status and through a bulk update" {
	start_stack --alerts "$ALERTS"
	run kibana_call POST "$STATUS" \
		'{"signal_ids":["alert-b"],"status":"closed"}'
	assert_line "HTTP 200"
	run body_field updated
	assert_output 1
	run body_field failures
	assert_output "[]"
	run stack_call GET /_fakestack/state
	run body_field closed
	assert_output '["alert-b"]'
	run hits_for '{"term":{"kibana.alert.workflow_status":"open"}}'
	assert_output 1
	# Without kbn-xsrf nothing changes.
	run stack_call -H "elastic-api-version: 2023-10-31" POST "$STATUS" \
		'{"signal_ids":["alert-a"],"status":"closed"}'
	assert_line "HTTP 400"
	printf '%s\n' \
		'{"update":{"_id":"alert-a"}}' \
		'{"doc":{"kibana.alert.workflow_status":"closed"}}' \
		'{"update":{"_id":"no-such-alert"}}' \
		'{"doc":{"kibana.alert.workflow_status":"closed"}}' \
		>"$SCRATCH/bulk.ndjson"
	run stack_call -H "Content-Type: application/x-ndjson" \
		POST "/$ALIAS_8X/_bulk" "@$SCRATCH/bulk.ndjson"
	assert_line "HTTP 200"
	run body_field items.0.update.status
	assert_output 200
	run body_field items.1.update.status
	assert_output 404
	run body_field items.1.update.error.type
	assert_output document_missing_exception
	run stack_call GET /_fakestack/state
	run body_field closed
	assert_output '["alert-a", "alert-b"]'
}

@test "bulk create lands in a data stream; index there fails its item" {
	start_stack
	local stream=logs-endpoint.events.process-default
	printf '%s\n' \
		'{"create":{"_index":"'$stream'"}}' \
		'{"process":{"name":"defaults"},"marker":"m-1"}' \
		'{"index":{"_index":"'$stream'"}}' \
		'{"process":{"name":"defaults"}}' >"$SCRATCH/bulk.ndjson"
	run stack_call -H "Content-Type: application/x-ndjson" \
		POST /_bulk "@$SCRATCH/bulk.ndjson"
	assert_line "HTTP 200"
	run body_field errors
	assert_output true
	run body_field items.0.create.status
	assert_output 201
	run body_field items.0.create._index
	assert_output ".ds-$stream-2026.12.03-000001"
	run body_field items.1.index.status
	assert_output 400
	run body_field items.1.index.error.reason
	assert_output "only write ops with an op_type of create are allowed in\
 data streams"
	run stack_call GET /_fakestack/state
	run body_field bulk.logs-endpoint.events.process-default.0.marker
	assert_output m-1
	run stack_call POST "/logs-endpoint.events.*/_search" \
		'{"query":{"term":{"marker":"m-1"}}}'
	run body_field hits.total.value
	assert_output 1
}

@test "a bulk body without a final newline is refused" {
	use_shared_stack
	run stack_call POST /_bulk '{"create":{"_index":"logs-a-b"}}'
	assert_line "HTTP 400"
	run body_field error.reason
	assert_output "The bulk request must be terminated by a newline [\n]"
}

@test "an unknown index is index_not_found unless ignore_unavailable is set" {
	use_shared_stack
	run stack_call POST /no-such-index/_search '{}'
	assert_line "HTTP 404"
	run body_field error.type
	assert_output index_not_found_exception
	run body_field error.index
	assert_output no-such-index
	run body_field status
	assert_output 404
	run stack_call POST \
		"/no-such-index,.alerts-security.alerts-default/_search?$(
		)ignore_unavailable=true" '{}'
	assert_line "HTTP 200"
	run body_field hits.total.value
	assert_output 2
	# A wildcard matching nothing is no error, and *alerts* skips hidden.
	run stack_call POST "/*alerts*/_search" '{}'
	assert_line "HTTP 200"
	run body_field hits.total.value
	assert_output 0
}

# ----------------------------------------------------------------- auth

@test "with --api-key, a request without the key gets 401 in either shape" {
	start_stack --alerts "$ALERTS" --api-key a2V5OnNlY3JldA==
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 401"
	run body_field error
	assert_output Unauthorized
	run stack_call POST /.alerts-security.alerts-default/_search '{}'
	assert_line "HTTP 401"
	run body_field error.type
	assert_output security_exception
	run kibana_call -H "Authorization: ApiKey wrong" \
		POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 401"
	run kibana_call -H "Authorization: ApiKey a2V5OnNlY3JldA==" \
		POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 200"
	run stack_call GET /_fakestack/state
	assert_line "HTTP 200"
}

@test "with --basic, only the right user and password pass" {
	start_stack --basic elastic:changeme
	local right wrong
	right=$(printf elastic:changeme | base64)
	wrong=$(printf elastic:wrong | base64)
	run stack_call -H "Authorization: Basic $right" GET /
	assert_line "HTTP 200"
	run stack_call -H "Authorization: Basic $wrong" GET /
	assert_line "HTTP 401"
}

# --------------------------------------------------------------- faults

@test "a 429 answer carries Retry-After" {
	start_stack --fault 429:7
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 429"
	assert_line "retry-after: 7"
	run body_field error
	assert_output "Too Many Requests"
}

@test "401, 403, 404, 500, 502 and 503 faults answer in documented shapes" {
	# Several faults take turns, one request each.
	start_stack --fault 401 --fault 403 --fault 401 --fault 403 \
		--fault 404 --fault 500 --fault 502 --fault 503
	local code
	for code in 401 403; do
		run stack_call POST "/$ALIAS_8X/_search" '{}'
		assert_line "HTTP $code"
		run body_field error.type
		assert_output security_exception
	done
	for code in 401 403 404; do
		run kibana_call POST "$SEARCH" '{"size":1}'
		assert_line "HTTP $code"
		run body_field statusCode
		assert_output "$code"
	done
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 500"
	run body_field status_code
	assert_output 500
	for code in 502 503; do
		run stack_call GET /_search
		assert_line "HTTP $code"
		run body_field statusCode
		assert_output "$code"
	done
}

@test "badjson and empty answer 200 with bodies no JSON parser accepts" {
	start_stack --fault badjson --fault empty
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 200"
	assert_line '{"took": 1, "hits": {"total": '
	run body_field hits
	assert_failure
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 200"
	assert_line "content-length: 0"
}

@test "truncated promises 100 bytes more than it sends; drop stops halfway" {
	start_stack --alerts "$ALERTS" --fault truncated --fault drop
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_failure
	assert_line "HTTP 200"
	assert_line --partial "transport-error: IncompleteRead"
	assert_output --partial "100 more expected"
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_failure
	assert_line "HTTP 200"
	assert_line --partial "transport-error:"
	local sent promised
	sent=$(wc -c <"$SCRATCH/last.body")
	promised=$(printf '%s\n' "$output" | sed -n 's/^content-length: //p')
	[ "$sent" -eq $((promised / 2)) ]
}

@test "echo-auth sends the Authorization header back in a 500" {
	start_stack --api-key c2VjcmV0LWtleQ== --fault echo-auth
	run kibana_call -H "Authorization: ApiKey c2VjcmV0LWtleQ==" \
		POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 500"
	run body_field message
	assert_output --partial "ApiKey c2VjcmV0LWtleQ=="
}

@test "slow delays the answer, then answers normally" {
	start_stack --fault slow:0.3
	local before after
	before=$(date +%s%N)
	run stack_call GET /_search
	after=$(date +%s%N)
	assert_line "HTTP 200"
	[ $(((after - before) / 1000000)) -ge 300 ]
}

@test "--fault-times 2 faults only the first two matching requests" {
	start_stack --fault 503 --fault-times 2
	run stack_call GET /_search
	assert_line "HTTP 503"
	run stack_call GET /_search
	assert_line "HTTP 503"
	run stack_call GET /_search
	assert_line "HTTP 200"
}

@test "--fault-route limits faults to its routes, and GET / is never faulted" {
	start_stack --rules "$V107" \
		--fault 502 --fault-route rules
	run stack_call GET /
	assert_line "HTTP 200"
	run kibana_call POST "$SEARCH" '{"size":1}'
	assert_line "HTTP 200"
	run kibana_call GET "$RULES?rule_id=$SEED_RULE"
	assert_line "HTTP 502"
}

# ----------------------------------------------------- log, TLS, real run

@test "the request log holds one line per request, with its fault" {
	start_stack --fault 503 --fault-times 1
	stack_call -H "kbn-xsrf: yes" POST /_search '{"size":1}' >/dev/null ||
		true
	stack_call GET /_search >/dev/null
	stack_call GET /_fakestack/state >/dev/null
	run stack_requests _search
	assert_output 2
	run python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
first = lines[0]
print(first["method"], first["status"], first["fault"],
      first["headers"]["kbn-xsrf"], first["body"]["size"],
      lines[1]["fault"])' "$SCRATCH/stack.log"
	assert_output "POST 503 503 yes 1 None"
	run body_field requests
	assert_output 2
}

@test "the stack serves HTTPS with a certificate from make_ca" {
	make_ca "$SCRATCH/tls"
	start_stack --tls-cert "$SCRATCH/tls/server.pem" \
		--tls-key "$SCRATCH/tls/server.key"
	[[ "$STACK_URL" == https://127.0.0.1:* ]]
	run stack_call --cacert "$SCRATCH/tls/ca.pem" GET /
	assert_line "HTTP 200"
	# Without the CA the client must refuse the certificate.
	run stack_call GET /
	assert_failure
	assert_output --partial "CERTIFICATE_VERIFY_FAILED"
}

@test "alerts from a real firedrill run are found by their rule" {
	[ -x "$FIREDRILL" ] || skip "firedrill is not built ($FIREDRILL)"
	run fd run -q -o "$SCRATCH/run" --tmpdir "$TMPDIR" \
		scenarios/dumping-account-hashes
	assert_status 0
	local count
	count=$(grep -c . "$SCRATCH/run/alerts.ndjson")
	start_stack --alerts "$SCRATCH/run/alerts.ndjson" --layout 7x
	run stack_call POST "/.siem-signals-*/_search" \
		'{"size":0,"query":{"term":
			{"signal.rule.rule_id":"'"$SEED_RULE"'"}}}'
	assert_line "HTTP 200"
	run body_field hits.total.value
	assert_output "$count"
}

# ------------------------------------------------------ exception lists

EXCEPTIONS=/api/exception_lists
EXCEPTION_ITEM=/api/exception_lists/items
EXCEPTION_FIND=/api/exception_lists/items/_find
UUID_SHAPE='^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'

# write_exceptions DIR: DIR/exceptions.ndjson, a Kibana export of the
# single list ci-allow (three items, the summary line last), and
# DIR/endpoint.json, the agnostic endpoint_list with one item as a
# pretty-printed array.  Both leave out most of what Kibana adds.
write_exceptions() {
	python3 - "$1/exceptions.ndjson" <<'PY'
import json, sys

def item(item_id, entry, **extra):
    return dict(list_id="ci-allow", item_id=item_id, name=item_id,
                description="d", entries=[entry], **extra)

lines = [
    {"list_id": "ci-allow", "name": "CI allowlist",
     "description": "CI hosts", "type": "detection",
     "namespace_type": "single"},
    item("ci-host", {"field": "host.name", "type": "match_any",
                     "operator": "included",
                     "value": ["ci-mac-01", "ci-mac-02"]},
         type="simple", namespace_type="single"),
    item("ci-osascript", {"field": "process.name", "type": "match",
                          "operator": "included", "value": "osascript"},
         comments=[{"comment": "the CI beeps"}]),
    item("ci-parent", {"field": "process.parent.name", "type": "exists",
                       "operator": "included"},
         id="0b5e7a52-6c1d-4f2e-9a63-2f1d0c9e8b47", tags=["ci"]),
    {"exported_exception_list_count": 1,
     "exported_exception_list_item_count": 3,
     "missing_exception_list_item_count": 0,
     "missing_exception_list_items": [], "missing_exception_lists": [],
     "missing_exception_lists_count": 0},
]
with open(sys.argv[1], "w", encoding="utf-8") as stream:
    for line in lines:
        stream.write(json.dumps(line) + "\n")
PY
	cat >"$1/endpoint.json" <<'JSON'
[
  {"list_id": "endpoint_list", "id": "endpoint_list", "type": "endpoint",
   "namespace_type": "agnostic", "name": "Endpoint Security Exception List",
   "description": "Endpoint Security Exception List"},
  {"list_id": "endpoint_list", "item_id": "ep-codesign", "name": "signed",
   "description": "d", "os_types": ["macos"],
   "entries": [{"field": "process.code_signature.trusted", "type": "match",
                "operator": "included", "value": "true"}]}
]
JSON
}

start_exception_stack() {
	write_exceptions "$SCRATCH"
	start_stack --exceptions "$SCRATCH/exceptions.ndjson" \
		--exceptions "$SCRATCH/endpoint.json" "$@"
}

@test "an exception list container comes back with Kibana's fields added" {
	start_exception_stack
	run kibana_call GET "$EXCEPTIONS?list_id=ci-allow&namespace_type=single"
	assert_line "HTTP 200"
	run body_field name
	assert_output "CI allowlist"
	run body_field type
	assert_output detection
	run body_field namespace_type
	assert_output single
	run body_field tags
	assert_output "[]"
	run body_field os_types
	assert_output "[]"
	run body_field immutable
	assert_output false
	run body_field _version
	assert_output --regexp '^[A-Za-z0-9+/=]+$'
	run body_field tie_breaker_id
	assert_output --regexp "$UUID_SHAPE"
	run body_field created_at
	assert_output --regexp \
		'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$'
	run body_field id
	assert_output --regexp "$UUID_SHAPE"
	local id=$output
	# The id finds it too; namespace_type defaults to single.
	run kibana_call GET "$EXCEPTIONS?id=$id"
	assert_line "HTTP 200"
	run body_field list_id
	assert_output ci-allow
	# The file's own id is kept.
	run kibana_call GET \
		"$EXCEPTIONS?list_id=endpoint_list&namespace_type=agnostic"
	assert_line "HTTP 200"
	run body_field id
	assert_output endpoint_list
	run body_field type
	assert_output endpoint
	# Like every versioned route, it needs elastic-api-version.
	run stack_call GET "$EXCEPTIONS?list_id=ci-allow"
	assert_line "HTTP 400"
}

@test "exception items come back whole, with Kibana's fields added" {
	start_exception_stack
	run kibana_call GET "$EXCEPTION_ITEM?item_id=ci-osascript"
	assert_line "HTTP 200"
	run body_field list_id
	assert_output ci-allow
	run body_field type
	assert_output simple
	run body_field namespace_type
	assert_output single
	run body_field entries.0
	assert_output '{"field": "process.name", "type": "match",'$(
		)' "operator": "included", "value": "osascript"}'
	run body_field comments.0.comment
	assert_output "the CI beeps"
	run body_field comments.0.created_by
	assert_output elastic
	run body_field id
	assert_output --regexp "$UUID_SHAPE"
	run body_field tie_breaker_id
	assert_output --regexp "$UUID_SHAPE"
	run body_field _version
	refute_output "<missing>"
	run kibana_call GET "$EXCEPTION_ITEM?item_id=ci-parent"
	run body_field id
	assert_output 0b5e7a52-6c1d-4f2e-9a63-2f1d0c9e8b47
	run body_field tags
	assert_output '["ci"]'
	run body_field comments
	assert_output "[]"
	# An item without namespace_type takes its list's.
	run kibana_call GET "$EXCEPTION_ITEM?item_id=ep-codesign"
	assert_line "HTTP 404"
	run kibana_call GET \
		"$EXCEPTION_ITEM?item_id=ep-codesign&namespace_type=agnostic"
	assert_line "HTTP 200"
	run body_field os_types
	assert_output '["macos"]'
}

@test "single lists live in the served space; agnostic ones in every space" {
	start_exception_stack --space ci
	run kibana_call GET "/s/ci$EXCEPTIONS?list_id=ci-allow"
	assert_line "HTTP 200"
	run kibana_call GET "$EXCEPTIONS?list_id=ci-allow"
	assert_line "HTTP 404"
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow"
	assert_line "HTTP 404"
	run kibana_call GET \
		"$EXCEPTIONS?list_id=endpoint_list&namespace_type=agnostic"
	assert_line "HTTP 200"
	run kibana_call GET \
		"/s/other$EXCEPTION_FIND?list_id=endpoint_list&$(
		)namespace_type=agnostic"
	assert_line "HTTP 200"
	run body_field total
	assert_output 1
}

@test "_find returns the list's items in load order, a page at a time" {
	start_exception_stack
	run kibana_call GET \
		"$EXCEPTION_FIND?list_id=ci-allow&namespace_type=single"
	assert_line "HTTP 200"
	run body_field page
	assert_output 1
	run body_field per_page
	assert_output 20
	run body_field total
	assert_output 3
	run body_field data.2.item_id
	assert_output ci-parent
	local page want
	for page in 1 2 3 4; do
		want=$(sed -n "${page}p" <<<$'ci-host\nci-osascript\nci-parent')
		kibana_call GET \
			"$EXCEPTION_FIND?list_id=ci-allow&per_page=1&page=$page" \
			>/dev/null
		run body_field total
		assert_output 3
		run body_field page
		assert_output "$page"
		run body_field per_page
		assert_output 1
		run body_field data.0.item_id
		assert_output "${want:-<missing>}"
		run body_field data.1
		assert_output "<missing>"
	done
}

@test "_find takes several lists, paired with as many namespace types" {
	start_exception_stack
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow,endpoint_list&$(
		)namespace_type=single,agnostic&per_page=2&page=2"
	assert_line "HTTP 200"
	run body_field total
	assert_output 4
	run body_field data.1.item_id
	assert_output ep-codesign
	# One existing list is enough; the missing one adds nothing.
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow,no-such-list&$(
		)namespace_type=single,single"
	assert_line "HTTP 200"
	run body_field total
	assert_output 3
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow,endpoint_list"
	assert_line "HTTP 400"
	run body_field message
	assert_output --partial "Expected list_id length: 2 to equal"
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow&per_page=0"
	assert_line "HTTP 400"
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow&per_page=10001"
	assert_line "HTTP 400"
	run body_field message
	assert_output --partial "Result window is too large"
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow&per_page=10000"
	assert_line "HTTP 200"
}

@test "an unknown exception list or item gets the Security Solution 404" {
	start_exception_stack
	run kibana_call GET "$EXCEPTIONS?list_id=no-such-list"
	assert_line "HTTP 404"
	run cat "$SCRATCH/last.body"
	assert_output '{"message": "exception list list_id: \"no-such-list\"'$(
		)' does not exist", "status_code": 404}'
	# The list exists, but in the other namespace.
	run kibana_call GET "$EXCEPTIONS?list_id=ci-allow&namespace_type=agnostic"
	assert_line "HTTP 404"
	# _find words it as Kibana's handler does, with "id".
	run kibana_call GET "$EXCEPTION_FIND?list_id=no-such-list"
	assert_line "HTTP 404"
	run cat "$SCRATCH/last.body"
	assert_output '{"message": "exception list id: \"no-such-list\"'$(
		)' does not exist", "status_code": 404}'
	run kibana_call GET "$EXCEPTION_ITEM?item_id=no-such-item"
	assert_line "HTTP 404"
	run body_field message
	assert_output 'exception list item item_id: "no-such-item" does not exist'
	run kibana_call GET "$EXCEPTIONS"
	assert_line "HTTP 400"
	run body_field message
	assert_output "id or list_id required"
}

@test "--rule-exceptions adds the list to the rule's exceptions_list" {
	write_exceptions "$SCRATCH"
	# A rule that already names the endpoint list keeps it, once.
	python3 - "$V107" "$SCRATCH/rule.json" <<'PY'
import json, sys
rule = json.load(open(sys.argv[1]))
rule["exceptions_list"] = [{"id": "endpoint_list",
                            "list_id": "endpoint_list",
                            "type": "endpoint",
                            "namespace_type": "agnostic"}]
json.dump(rule, open(sys.argv[2], "w"))
PY
	start_stack --rules "$SCRATCH/rule.json" \
		--exceptions "$SCRATCH/exceptions.ndjson" \
		--exceptions "$SCRATCH/endpoint.json" \
		--rule-exceptions ci-allow --rule-exceptions endpoint_list
	kibana_call GET "$EXCEPTIONS?list_id=ci-allow" >/dev/null
	local id
	id=$(body_field id)
	run kibana_call GET "$RULES?rule_id=$SEED_RULE"
	assert_line "HTTP 200"
	run body_field exceptions_list.0.list_id
	assert_output endpoint_list
	run body_field exceptions_list.1
	assert_output '{"id": "'"$id"'", "list_id": "ci-allow",'$(
		)' "type": "detection", "namespace_type": "single"}'
	run body_field exceptions_list.2
	assert_output "<missing>"
}

@test "an orphan item or an unknown --rule-exceptions list stops start-up" {
	write_exceptions "$SCRATCH"
	tail -n +2 "$SCRATCH/exceptions.ndjson" >"$SCRATCH/orphans.ndjson"
	run timeout 10 python3 -S "$FAKESTACK" --port-file "$SCRATCH/p" \
		--exceptions "$SCRATCH/orphans.ndjson"
	assert_status 2
	assert_output --partial "belongs to list ci-allow (single)"
	run timeout 10 python3 -S "$FAKESTACK" --port-file "$SCRATCH/p" \
		--exceptions "$SCRATCH/exceptions.ndjson" \
		--rule-exceptions no-such-list
	assert_status 2
	assert_output --partial "--rule-exceptions no-such-list"
}

@test "--fault-route exceptions faults only the exception routes" {
	write_exceptions "$SCRATCH"
	launch_stack "$SCRATCH" only --rules "$V107" \
		--exceptions "$SCRATCH/exceptions.ndjson" \
		--fault 503 --fault-route exceptions
	launch_stack "$SCRATCH" any --rules "$V107" \
		--exceptions "$SCRATCH/exceptions.ndjson" --fault 429:3
	await_stack "$SCRATCH" only
	run kibana_call GET "$EXCEPTIONS?list_id=ci-allow"
	assert_line "HTTP 503"
	run body_field error
	assert_output "Service Unavailable"
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow"
	assert_line "HTTP 503"
	run kibana_call GET "$EXCEPTION_ITEM?item_id=ci-host"
	assert_line "HTTP 503"
	run kibana_call GET "$RULES?rule_id=$SEED_RULE"
	assert_line "HTTP 200"
	run python3 -c '
import json, sys
for line in open(sys.argv[1]):
    entry = json.loads(line)
    print(entry["path"], entry["status"], entry["fault"])' \
		"$SCRATCH/only.log"
	assert_line "$EXCEPTION_FIND 503 503"
	assert_line "$RULES 200 None"
	# The default route, any, takes them in too.
	await_stack "$SCRATCH" any
	run kibana_call GET "$EXCEPTION_FIND?list_id=ci-allow"
	assert_line "HTTP 429"
	assert_line "retry-after: 3"
}
