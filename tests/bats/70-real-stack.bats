#!/usr/bin/env bats
# 70-real-stack.bats - the live suite: the same paths as 60-live.bats, but
# against a real Elastic stack.  It runs only when its address and key are
# given, and is skipped otherwise:
#
#   FIREDRILL_TEST_KIBANA_URL  https://kibana.example:5601
#   FIREDRILL_TEST_ES_URL      https://es.example:9200 (for the push)
#   FIREDRILL_TEST_API_KEY     an API key with the Security feature in the
#                              space, read on the alert indices, and
#                              create_doc on logs-endpoint.events.process-*
#   FIREDRILL_TEST_SPACE       (optional) the Kibana space, default: default
#   FIREDRILL_TEST_CA_FILE     (optional) the stack's CA
#
# The seed rule (02ea4563-...) must be installed and enabled in the space.
# The events are pushed (replay mode), so no Mac is needed; the real rule
# must then fire within its schedule, so this suite takes minutes.

load helpers

setup() {
	if [ -z "${FIREDRILL_TEST_KIBANA_URL:-}" ] ||
	   [ -z "${FIREDRILL_TEST_API_KEY:-}" ]; then
		skip "no real stack: set FIREDRILL_TEST_KIBANA_URL and FIREDRILL_TEST_API_KEY to run the live suite"
	fi
	setup_scratch
	export FIREDRILL_KIBANA_URL="$FIREDRILL_TEST_KIBANA_URL"
	export FIREDRILL_ES_URL="${FIREDRILL_TEST_ES_URL:-}"
	export FIREDRILL_API_KEY="$FIREDRILL_TEST_API_KEY"
	export FIREDRILL_SPACE="${FIREDRILL_TEST_SPACE:-default}"
	[ -n "${FIREDRILL_TEST_CA_FILE:-}" ] &&
		export FIREDRILL_CA_FILE="$FIREDRILL_TEST_CA_FILE"
	return 0
}

teardown() {
	teardown_scratch
}

@test "the seed rule is installed and its state can be read" {
	write_scenario probe <<YAML
id: live-probe
title: a negative, to read the rule's state
rules: [$SEED_RULE]
host: {os: macos}
steps:
  - run: defaults
    args: [read, com.apple.dock]
expect:
  - rule: $SEED_RULE
    count: 0
YAML
	run fd run --backend kibana --deadline 5 -o "$SCRATCH/run" "$SCEN"
	refute_output --partial "not installed"
	refute_output --partial "credentials refused"
	refute_output --partial "$FIREDRILL_TEST_API_KEY"
}

@test "pushed events raise the real alert, with severity, risk score and MITRE ids" {
	[ -n "${FIREDRILL_TEST_ES_URL:-}" ] ||
		skip "set FIREDRILL_TEST_ES_URL to push events"
	run fd run --backend kibana --telemetry push --close-alerts \
		-o "$SCRATCH/run" \
		"$TOP/scenarios/dumping-account-hashes/defaults-read-shadowhashdata.yaml"
	assert_status 0
	refute_output --partial "$FIREDRILL_TEST_API_KEY"
}
