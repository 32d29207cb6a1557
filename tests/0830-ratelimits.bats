#!/usr/bin/env bats
# Rate limits per provider (maxConcurrent, requestsPerMinute,
# tokensPerMinute), honoured across the rows and steps of one process; a
# 429 slows the provider down for everyone, and it recovers.

load helpers/common

setup() {
	clean_world
	start_server
	cd "$BATS_TEST_TMPDIR"
	printf '{"name": "rl", "steps": [{"id": "ask", "models": ["openai:alpha+delay=40"], "prompt": "{{q}}"}]}\n' >rl.json
	for i in 1 2 3 4 5 6 7 8; do printf '{"q": "question %d"}\n' "$i"; done >rows.jsonl
}

# spans: the start and end (ms since the epoch) of each request in $output, one "start end" a line.
spans() {
	jq -r 'select(.type=="status" and (.stage=="request" or .stage=="done")) | [.pane, .stage, .ts] | @tsv' <<<"$output" |
		python3 -c '
import sys, datetime
start = {}
for line in sys.stdin:
    pane, stage, ts = line.split("\t")
    t = datetime.datetime.strptime(ts.strip(), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
    if stage == "request":
        start.setdefault(pane, []).append(t)
    else:
        print(int(start[pane][-1]), int(t))'
}

# most_at_once: the most requests that ran at the same time, from spans on stdin.
most_at_once() {
	python3 -c '
import sys
ev = []
for line in sys.stdin:
    s, e = map(int, line.split())
    ev += [(s, 1), (e, -1)]
cur = top = 0
for t, d in sorted(ev, key=lambda x: (x[0], x[1])):
    cur += d
    top = max(top, cur)
print(top)'
}

@test "maxConcurrent and requestsPerMinute hold across the rows of a run" {
	# without limits, eight rows at once run eight requests at once
	run --separate-stderr mlb-pipeline run rl.json --rows rows.jsonl --jobs 8 -s free --json
	assert_success
	[ "$(spans | most_at_once)" -ge 4 ]
	printf '[provider "openai"]\n\tmaxConcurrent = 2\n\trequestsPerMinute = 600\n' >config
	export MLB_CONFIG=$BATS_TEST_TMPDIR/config
	run --separate-stderr mlb-pipeline run rl.json --rows rows.jsonl --jobs 8 -s limited --json
	assert_success
	[ "$(spans | most_at_once)" -eq 2 ]
	# 600 a minute: starts at least 100 ms apart (a few ms of clock slack)
	spans | cut -d' ' -f1 | sort -n | awk 'NR > 1 && $1 - prev < 95 { bad = 1 } { prev = $1 } END { exit bad }'
	[ "$(requests | wc -l)" -eq 16 ]
}

@test "a 429 holds back every request of the provider until its Retry-After, then the run recovers" {
	printf '[provider "openai"]\n\tmaxConcurrent = 1\n' >config
	export MLB_CONFIG=$BATS_TEST_TMPDIR/config
	printf '{"name": "rl", "steps": [{"id": "ask", "models": ["openai:alpha+fault=429+retry_after=1+fail_times=1"], "prompt": "{{q}}"}]}\n' >rl.json
	head -n 3 rows.jsonl >rows3.jsonl
	run --separate-stderr mlb-pipeline run rl.json --rows rows3.jsonl --jobs 3 -s calm --json
	assert_success
	[ "$(requests | jq -s 'map(select(.model | startswith("alpha"))) | length')" -eq 4 ]
	# the first request got the 429; no request of another row started within the second it asked for
	ms() { python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000))' "$1"; }
	throttled=$(jq -r 'select(.type=="status" and .stage=="retry") | .pane' <<<"$output")
	t429=$(ms "$(jq -r 'select(.type=="status" and .stage=="retry") | .ts' <<<"$output")")
	other=$(ms "$(jq -r --arg p "$throttled" 'select(.type=="status" and .stage=="request" and .pane != $p) | .ts' <<<"$output" | head -n 1)")
	[ $((other - t429)) -ge 950 ] || fail "another row's request started $((other - t429)) ms after the 429"
	# then it recovers: the last row's request follows the one before without waiting again
	prev_done=$(ms "$(jq -r 'select(.type=="status" and .stage=="done") | .ts' <<<"$output" | tail -n 2 | head -n 1)")
	last=$(ms "$(jq -r 'select(.type=="status" and .stage=="request") | .ts' <<<"$output" | tail -n 1)")
	[ $((last - prev_done)) -lt 500 ] || fail "the run did not recover: $((last - prev_done)) ms before the last request"
}

@test "tokensPerMinute holds back a request whose tokens would pass it within the minute" {
	printf '[provider "openai"]\n\ttokensPerMinute = 30\n' >config
	export MLB_CONFIG=$BATS_TEST_TMPDIR/config
	printf '{"name": "rl", "steps": [{"id": "ask", "models": ["openai:alpha+tokens=40"], "prompt": "{{q}}"}]}\n' >rl.json
	head -n 2 rows.jsonl >rows2.jsonl
	# the first request uses more than the minute allows: the second waits a minute; stop it sooner
	run --separate-stderr timeout --preserve-status -s INT 3 mlb-pipeline run rl.json --rows rows2.jsonl --jobs 1 -s tpm --json
	[ "$status" -eq 130 ]
	[ "$(requests | wc -l)" -eq 1 ]
}

@test "a rate limit that is not a number from 0 is refused with the setting's name" {
	printf '[provider "openai"]\n\tmaxConcurrent = -1\n' >config
	export MLB_CONFIG=$BATS_TEST_TMPDIR/config
	run mlb-pipeline run rl.json --rows rows.jsonl
	[ "$status" -eq 1 ]
	assert_output --partial "configuration 'provider.openai.maxConcurrent' must be a whole number from 0 (no limit) to 10000"
	printf '[provider "openai"]\n\trequestsPerMinute = lots\n' >config
	run mlb-send -m openai:alpha hi
	[ "$status" -eq 1 ]
	assert_output --partial "provider.openai.requestsPerMinute"
}
