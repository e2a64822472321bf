#!/usr/bin/env bats
# 62-faults.bats - every way a stack can fail the validator: each fault
# ends in ERROR (or INCONCLUSIVE), never PASS, with exit status 3, and
# the reports are still written.  Transient faults are retried and may
# recover; refusals (401, 403, 404, an untrusted certificate) end the run
# at once.

load helpers
load server
load live

setup_file() {
	command -v python3 >/dev/null 2>&1 || return 0
	file_scratch
	# One positive and one negative: every fault meets both kinds.
	make_run pair \
		"$TOP/scenarios/dumping-account-hashes/defaults-read-shadowhashdata.yaml" \
		"$TOP/scenarios/dumping-account-hashes/defaults-read-dock.yaml"
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

pair_stack() {
	start_stack --alerts "$FILE_SCRATCH/pair.alerts.ndjson" \
		--rules "$STACK_RULE" "$@"
}

# validate_faulty ARGS...: validate the pair through kibana with quick
# polling and two retries, writing every report.
validate_faulty() {
	RUN_DIR=$(run_dir pair)
	live_validate "$RUN_DIR" --backend kibana --kibana-url "$STACK_URL" \
		--junit "$SCRATCH/live.xml" --retries 2 --poll-max 0.1 "$@"
}

# assert_failed_safely WORDS: exit 3, no PASS, every report written, and
# the reason quoted in the output.
assert_failed_safely() {
	assert_status 3
	assert_output --partial "$1"
	[ "$(summary_of "$SCRATCH/live.json" PASS)" -eq 0 ]
	[ "$(summary_of "$SCRATCH/live.json" ERROR)" -gt 0 ]
	[ -s "$RUN_DIR/report.json" ]
	grep -q '<testsuite' "$SCRATCH/live.xml"
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["exit_status"] == 3' \
		"$RUN_DIR/report.json"
}

@test "the pair passes through the fault-free stack (the control)" {
	pair_stack
	validate_faulty
	assert_status 0
	same_verdicts "$FILE_SCRATCH/pair.embedded.json" "$SCRATCH/live.json"
}

@test "an answer slower than --timeout is an ERROR" {
	pair_stack --fault slow:3
	validate_faulty --timeout 0.5
	assert_failed_safely "timed out"
}

@test "a slow answer within --timeout is only slow" {
	pair_stack --fault slow:0.3
	validate_faulty --timeout 5
	assert_status 0
}

@test "401: credentials refused, ERROR at once, no retry" {
	pair_stack --api-key "cmlnaHQta2V5LTEyMzQ="
	FIREDRILL_API_KEY="d3Jvbmcta2V5LTk5OTk=" validate_faulty
	assert_failed_safely "credentials refused"
	[ "$(stack_requests /api/)" -eq 1 ]
}

@test "403: missing privileges, ERROR at once, no retry" {
	pair_stack --fault 403
	validate_faulty
	assert_failed_safely "missing privileges"
	[ "$(stack_requests /api/)" -eq 1 ]
}

@test "404 on the search route: ERROR at once" {
	pair_stack --fault 404 --fault-route search
	validate_faulty
	assert_failed_safely "HTTP 404"
	[ "$(stack_requests signals/search)" -eq 1 ]
}

@test "429 with Retry-After: the validator waits as told, then succeeds" {
	pair_stack --fault 429:1 --fault-times 1 --fault-route search
	validate_faulty
	assert_status 0
	python3 - "$SCRATCH/stack.log" <<'PY'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])
     if "signals/search" in json.loads(l)["path"]]
assert len(t) >= 2 and t[1] - t[0] >= 0.95, t
PY
}

@test "429 that never ends: ERROR after the retries" {
	pair_stack --fault 429:0 --fault-route search
	validate_faulty
	assert_failed_safely "HTTP 429"
	[ "$(stack_requests signals/search)" -eq 3 ]
}

@test "500 and 503 are retried, and a stack that recovers passes" {
	pair_stack --fault 500 --fault-times 1
	validate_faulty
	assert_status 0
	stop_stack
	rm -rf "$SCRATCH/pair"
	pair_stack --fault 503 --fault-times 2
	validate_faulty
	assert_status 0
}

@test "a 500 that lasts is an ERROR that quotes the server" {
	pair_stack --fault 500
	validate_faulty
	assert_failed_safely "HTTP 500"
}

@test "a 502 that lasts is an ERROR" {
	pair_stack --fault 502
	validate_faulty
	assert_failed_safely "HTTP 502"
}

@test "malformed JSON is an ERROR" {
	pair_stack --fault badjson --fault-route search
	validate_faulty
	assert_failed_safely "not JSON"
}

@test "an empty answer is an ERROR" {
	pair_stack --fault empty --fault-route search
	validate_faulty
	assert_failed_safely "not JSON"
}

@test "a truncated answer is an ERROR" {
	pair_stack --fault truncated --fault-route search
	validate_faulty
	assert_failed_safely "alert search"
}

@test "a connection dropped mid-body is an ERROR" {
	pair_stack --fault drop --fault-route search
	validate_faulty
	assert_failed_safely "alert search"
}

@test "faults on the rule lookup are ERRORs too" {
	pair_stack --fault 500 --fault-route rules
	validate_faulty
	assert_failed_safely "rule lookup"
}

@test "nothing listening is an ERROR" {
	pair_stack
	local url="$STACK_URL"
	stop_stack
	RUN_DIR=$(run_dir pair)
	live_validate "$RUN_DIR" --backend kibana --kibana-url "$url" \
		--junit "$SCRATCH/live.xml" --retries 1
	assert_failed_safely "Couldn't connect"
}

@test "TLS with an unknown CA is an ERROR at once; with --ca-file it passes" {
	make_ca "$SCRATCH/ca"
	pair_stack --tls-cert "$SCRATCH/ca/server.pem" \
		--tls-key "$SCRATCH/ca/server.key"
	validate_faulty
	assert_failed_safely "--ca-file"
	[ "$(stack_requests /api/)" -eq 0 ]
	rm -rf "$SCRATCH/pair"
	validate_faulty --ca-file "$SCRATCH/ca/ca.pem"
	assert_status 0
}

@test "the same faults through the elasticsearch backend" {
	local fault
	for fault in 403 500 badjson drop; do
		stop_stack
		rm -rf "$SCRATCH/pair"
		pair_stack --fault "$fault" --fault-route search
		RUN_DIR=$(run_dir pair)
		live_validate "$RUN_DIR" --backend elasticsearch \
			--es-url "$STACK_URL" --kibana-url "$STACK_URL" \
			--junit "$SCRATCH/live.xml" --retries 1
		assert_failed_safely " search: "	# events or alerts
	done
}

@test "a rule that is not installed is an ERROR at once" {
	start_stack --alerts "$FILE_SCRATCH/pair.alerts.ndjson"
	validate_faulty
	assert_failed_safely "not installed"
}

# echo_server PAD: a server that answers every request 500 with the
# request's Authorization header at offset PAD of its message, so a cut
# of the message falls inside the key.
echo_server() {
	python3 - "$1" "$SCRATCH/echo.port" <<'PY' &
import http.server, json, os, sys
pad, port_file = int(sys.argv[1]), sys.argv[2]
class Echo(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        body = json.dumps({"statusCode": 500, "error": "x", "message":
                           "x" * pad + self.headers.get("Authorization", "")})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Echo)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
	ECHO_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$SCRATCH/echo.port" ] && break
		sleep 0.05
	done
	ECHO_URL="http://127.0.0.1:$(cat "$SCRATCH/echo.port")"
}

@test "a key that a long server message cuts in half is still never printed" {
	local key='key-id:a-long-secret-value-0123456789abcdef' pad encoded
	encoded=$(printf '%s' "$key" | base64 -w0)
	for pad in 360 375 385 395 470 490; do
		rm -f "$SCRATCH/echo.port"
		echo_server "$pad"
		RUN_DIR=$(run_dir pair)
		FIREDRILL_API_KEY="$key" live_validate "$RUN_DIR" \
			--backend kibana --kibana-url "$ECHO_URL" --retries 0 \
			--junit "$SCRATCH/live.xml"
		kill "$ECHO_PID"
		assert_status 3
		# no 12 characters in a row of the key, in either form
		python3 - "$key" "$encoded" "$output" "$RUN_DIR/report.json" \
			"$SCRATCH/live.xml" "$SCRATCH/live.json" <<'PY'
import sys
key, enc, out = sys.argv[1], sys.argv[2], sys.argv[3]
texts = [out] + [open(p).read() for p in sys.argv[4:]]
for secret in (key, enc):
    for i in range(len(secret) - 11):
        part = secret[i:i + 12]
        for t in texts:
            assert part not in t, "leaked: " + part
PY
		rm -rf "$SCRATCH/pair"
	done
}

@test "a push that fails still writes every report, each expectation an ERROR" {
	pair_stack --fault 403 --fault-route bulk
	RUN_DIR=$(run_dir pair)
	live_validate "$RUN_DIR" --backend kibana --kibana-url "$STACK_URL" \
		--es-url "$STACK_URL" --telemetry push \
		--junit "$SCRATCH/live.xml"
	assert_failed_safely "telemetry push failed"
	[ "$(summary_of "$SCRATCH/live.json" ERROR)" -gt 0 ]
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["backend"] == "kibana"' \
		"$RUN_DIR/report.json"
}

@test "Retry-After never keeps the validator past its deadline" {
	pair_stack --fault 429:600 --fault-route search
	RUN_DIR=$(run_dir pair)
	run timeout 60 "$FIREDRILL" validate --run "$RUN_DIR" \
		--backend kibana --kibana-url "$STACK_URL" --deadline 1 \
		--retries 3 --ingest-margin 0 --poll 0.05 \
		--json "$SCRATCH/live.json" --junit "$SCRATCH/live.xml"
	assert_failed_safely "HTTP 429"
}

@test "a run validated after the rule's look-back is decided at once, not at the deadline" {
	pair_stack
	RUN_DIR=$(run_dir pair)
	# the run happened an hour ago: every rule run since searched later
	python3 - "$RUN_DIR/run.jsonl" <<'PY'
import json, sys, datetime
def back(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (d - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ("start_time", "end_time"):
        if isinstance(r.get(k), str):
            r[k] = back(r[k])
    out.append(json.dumps(r))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
	run timeout 120 "$FIREDRILL" validate --run "$RUN_DIR" --backend kibana \
		--kibana-url "$STACK_URL" --json "$SCRATCH/live.json" \
		--poll 0.05
	assert_no_crash
	[ "$status" -ne 124 ]
	run rows_with "$SCRATCH/live.json" INCONCLUSIVE
	assert_output --partial "validate within the rule's look-back"
}

@test "-q still says why a run ended in ERROR" {
	pair_stack --fault 403
	RUN_DIR=$(run_dir pair)
	run fd validate -q --run "$RUN_DIR" --backend kibana \
		--kibana-url "$STACK_URL"
	assert_status 3
	assert_output --partial "first ERROR:"
	assert_output --partial "missing privileges"
}
