#!/usr/bin/env bats
# Signals: SIGHUP (a closed terminal, an ssh drop), SIGTERM (a CI runner) and
# SIGINT (Ctrl-C) mid-stream store the question and what was received, and
# the tool exits 128+N; the session's repository stays sound.

load helpers/common

setup() {
	clean_world
}

# wait_tokens FILE N: wait (bounded) until FILE holds N token events.
wait_tokens() {
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c '"type":"token"' "$1" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "no tokens in $1 after 5 s"
}

# interrupt SIG STATUS SESSION TOOL ARGS...: start the tool, send SIG once tokens flow, check the status.
interrupt() {
	local sig=$1 want=$2 session=$3 status=0
	shift 3
	"$@" >"$BATS_TEST_TMPDIR/$session.out" 2>"$BATS_TEST_TMPDIR/$session.err" &
	local pid=$!
	wait_tokens "$BATS_TEST_TMPDIR/$session.out" 3
	kill "-$sig" "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq "$want" ] || fail "exit status $status after SIG$sig, not $want: $(cat "$BATS_TEST_TMPDIR/$session.err")"
	git -C "$MLB_HOME/sessions/$session" fsck --full --strict
}

# stored_partial SESSION PANE QUESTION: the question and a partial answer are committed in the
# pane whose name starts with PANE.
stored_partial() {
	local repo="$MLB_HOME/sessions/$1" pane=$2 files
	files=$(git -C "$repo" ls-tree -r --name-only main | grep "^panes/$pane[^/]*/[^/]*\.msg\$")
	[ "$(wc -l <<<"$files")" -eq 2 ] || fail "expected two messages in $pane: $files"
	run git -C "$repo" show "main:$(head -1 <<<"$files")"
	assert_output --partial "Role: user"
	assert_output --partial "$3"
	run git -C "$repo" show "main:$(tail -1 <<<"$files")"
	assert_output --partial "Role: assistant"
	assert_output --partial "Partial: true"
	# the answer holds what was received: some words, not all 400
	body=$(sed '1,/^$/d' <<<"$output")
	[ -n "$body" ] || fail "the partial answer is empty"
	[ "$(wc -w <<<"$body")" -lt 400 ]
}

@test "SIGHUP mid-stream: mlb-send stores the question and the partial answer, exits 129" {
	start_server
	interrupt HUP 129 hup mlb-send -s hup -m openai:alpha+tokens=400+delay=20 "question one"
	stored_partial hup openai-alpha "question one"
	# the final event still reached the pipe, marked partial
	jq -se 'any(.[]; .type == "final" and .partial == true)' "$BATS_TEST_TMPDIR/hup.out"
}

@test "SIGTERM mid-stream: mlb-send stores the partial answer, exits 143" {
	start_server
	interrupt TERM 143 term mlb-send -s term -m anthropic:alpha+tokens=400+delay=20 "question two"
	stored_partial term anthropic-alpha "question two"
}

@test "SIGINT mid-stream: mlb-send stores the partial answer, exits 130" {
	start_server
	interrupt INT 130 int mlb-send -s int -m gemini:alpha+tokens=400+delay=20 "question three"
	stored_partial int gemini-alpha "question three"
}

@test "SIGTERM and SIGHUP mid-stream: mlb-broadcast stores every pane's partial, exits 128+N" {
	start_server
	interrupt TERM 143 bterm mlb-broadcast -s bterm -m openai:alpha+tokens=400+delay=20 \
		-m gemini:beta+tokens=400+delay=20 "question four"
	stored_partial bterm openai-alpha "question four"
	stored_partial bterm gemini-beta "question four"
	interrupt HUP 129 bhup mlb-broadcast -s bhup -m openai:alpha+tokens=400+delay=20 \
		-m anthropic:beta+tokens=400+delay=20 "question five"
	stored_partial bhup anthropic-beta "question five"
}

@test "SIGHUP mid-stream: mlb-pipeline stores the running step's partial, skips the rest, exits 129" {
	start_server
	printf '%s\n' '{"name":"two","steps":[' \
		'{"id":"a","models":["openai:alpha+tokens=400+delay=20"],"prompt":"question six"},' \
		'{"id":"b","needs":["a"],"models":["openai:echo"],"prompt":"then {{a}}"}]}' >"$BATS_TEST_TMPDIR/two.json"
	interrupt HUP 129 pipe mlb-pipeline run "$BATS_TEST_TMPDIR/two.json" -s pipe --json
	stored_partial pipe a "question six"
	jq -se 'any(.[]; .stage == "step_skipped" and .step == "b")' "$BATS_TEST_TMPDIR/pipe.out"
}
