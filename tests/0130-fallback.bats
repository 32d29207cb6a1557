#!/usr/bin/env bats
# Fallbacks (--fallback, [model] fallback =) and the circuit breaker shared
# by every mlb process of the user.

load helpers/common

setup() {
	clean_world
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
}

# models: the model of each request the server received, in order.
models() {
	jq -r '.body.model // empty' "$MLB_SERVER_LOG"
}

@test "--fallback: a model that fails before its first token hands the pane to the next, which answers" {
	run --separate-stderr mlb-send -s f1 --retries 0 -m 'openai:down+fault=500' \
		--fallback 'openai:locked+fault=401' --fallback anthropic:echo "hi there"
	assert_success
	events=$output
	assert_equal "$(models | tr '\n' ' ')" "down+fault=500 locked+fault=401 echo "
	# the events say so, and the pane keeps its name
	run jq -c 'select(.type=="status" and .stage=="fallback") | [.model, .fallback, .reason]' <<<"$output"
	assert_output '["openai:down+fault=500","openai:locked+fault=401","failed"]
["openai:locked+fault=401","anthropic:echo","failed"]'
	assert_equal "$(jq -r '.pane' <<<"$events" | sort -u)" "openai-down-fault-500"
	final=$(jq -c 'select(.type=="final") | [.model, .fallback_for, .content]' <<<"$events")
	assert_equal "$final" '["anthropic:echo","openai:down+fault=500","hi there"]'
	# stored: the reply names who answered and whom it stands in for; the pane keeps its model
	msg="$(nth_msg "$MLB_HOME/sessions/f1/panes/openai-down-fault-500" 2)"
	grep -qx 'Model: anthropic:echo' "$msg"
	grep -qx 'Fallback-For: openai:down+fault=500' "$msg"
	assert_equal "$(jq -r .model "$MLB_HOME/sessions/f1/panes/openai-down-fault-500/pane.json")" "openai:down+fault=500"
}

@test "[model] fallback in the configuration, per pane of a broadcast; retries are spent first" {
	cat >"$XDG_CONFIG_HOME/mlb/config" <<-'EOF2'
	[model "openai:flaky+fault=503+retry_after=0"]
		fallback = gemini:echo
	EOF2
	run --separate-stderr mlb-broadcast --no-store --retries 1 -m 'openai:flaky+fault=503+retry_after=0' -m anthropic:echo "same words"
	assert_success
	assert_equal "$(jq -r '.body.model // empty' "$MLB_SERVER_LOG" | grep -c flaky)" 2
	assert_equal "$(jq -r 'select(.path | test("gemini")) | .path' "$MLB_SERVER_LOG" | wc -l)" 1
	assert_equal "$(jq -c 'select(.type=="final") | [.pane, .model, .content]' <<<"$output" | sort)" \
'["anthropic-echo","anthropic:echo","same words"]
["openai-flaky-fault-503-retry_after-0","gemini:echo","same words"]'
}

@test "when every fallback fails the turn fails, the question is kept unanswered, and nothing is asked twice" {
	run --separate-stderr mlb-send -s f3 --retries 0 -m 'openai:a+fault=500' --fallback 'openai:b+fault=400' "q"
	assert_failure 1
	assert_equal "$(models | tr '\n' ' ')" "a+fault=500 b+fault=400 "
	grep -qx 'Unanswered: true' "$(nth_msg "$MLB_HOME/sessions/f3/panes/openai-a-fault-500" 1)"
	# a fallback that is the model itself is left out
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:a+fault=500' --fallback 'openai:a+fault=500' "q"
	assert_failure 1
	assert_equal "$(models | grep -c 'a+fault=500')" 2
}

@test "circuit breaker: processes at once count every failure; once open, the model is skipped for the cooldown" {
	cat >"$XDG_CONFIG_HOME/mlb/config" <<-'EOF2'
	[circuit]
		failures = 3
		cooldown = 60
	EOF2
	local i pids=()
	for i in 1 2 3; do
		mlb-send --no-store --retries 0 -m 'openai:sick+fault=500+ttft=300' --fallback openai:echo "p$i" \
			>"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
		pids+=($!)
	done
	wait "${pids[@]}"	# not the server's
	for i in 1 2 3; do
		assert_equal "$(jq -r 'select(.type=="final") | .model' "$BATS_TEST_TMPDIR/out$i")" "openai:echo"
	done
	# three failures at once, each counted: exactly one of them opened the circuit
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/out[123] | jq -c 'select(.stage=="circuit_open") | .circuit_model')" '"openai:sick+fault=500+ttft=300"'
	assert_equal "$(models | grep -c sick)" 3
	state="$HOME/.local/state/mlb/circuit"
	run awk -F '\t' 'NF != 3 || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/' "$state"
	assert_output ""
	grep -q '^openai:sick+fault=500+ttft=300	' "$state"
	# now the model is not asked at all: its fallback answers at once, and the events say until when
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:sick+fault=500+ttft=300' --fallback openai:echo "p4"
	assert_success
	assert_equal "$(models | grep -c sick)" 3
	until=$(jq -r 'select(.stage=="circuit_open") | .until' <<<"$output")
	[[ "$until" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
	assert_equal "$(jq -c 'select(.stage=="fallback") | .reason' <<<"$output")" '"circuit_open"'
	assert_equal "$(jq -r 'select(.type=="final") | .content' <<<"$output")" "p4"
	# a model with no fallback is still asked: there is nothing better to do
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:sick+fault=500+ttft=300' "p5"
	assert_failure 1
	assert_equal "$(models | grep -c sick)" 4
}

@test "circuit breaker: after the cooldown the model is asked again, and a success closes the circuit" {
	cat >"$XDG_CONFIG_HOME/mlb/config" <<-'EOF2'
	[circuit]
		failures = 1
		cooldown = 0.5
	EOF2
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:x+fault=500+fail_times=1' --fallback anthropic:echo "one"
	assert_success
	assert_equal "$(jq -r 'select(.stage=="circuit_open") | .circuit_model' <<<"$output")" "openai:x+fault=500+fail_times=1"
	sleep 0.6
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:x+fault=500+fail_times=1' --fallback anthropic:echo "two"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final") | .model' <<<"$output")" "openai:x+fault=500+fail_times=1"
	[ ! -s "$HOME/.local/state/mlb/circuit" ]
}

@test "circuit settings that do not parse are a clear error" {
	printf '[circuit]\n\tfailures = many\n' >"$XDG_CONFIG_HOME/mlb/config"
	run --separate-stderr mlb-send --no-store -m openai:echo "x"
	assert_failure 1
	assert_equal "$stderr" "mlb-send: configuration 'circuit.failures' is 'many'; it must be a number"
}
