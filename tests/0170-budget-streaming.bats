#!/usr/bin/env bats
# Budgets hold while a reply streams: mlb-broadcast --budget, mlb-pipeline
# --budget and | mlb-meter --budget each stop a long, priced stream within a
# read of the limit, keep the partial, and exit 4.

load helpers/common

# 3000 tokens, 5 ms apart: fifteen seconds if nothing stops it
LONG='openai:long+tokens=3000+delay=5'
BUDGET=0.01
PRICE=0.0001	# a completion token; the prompt is free, so that every path counts the same

setup() {
	clean_world
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "%s"]\n\tinput = 0\n\toutput = %s\n' "$LONG" "$PRICE" >"$XDG_CONFIG_HOME/mlb/config"
}

# stored_overshoot SESSION: what the stored partial reply cost beyond the budget, in tokens
stored_overshoot() {
	local msg
	msg=$(nth_msg "$(ls -d "$MLB_HOME/sessions/$1/panes/"*/ | head -n 1 | sed 's|/$||')" 2)
	grep -qx 'Partial: true' "$msg" || fail "$msg is not partial"
	grep -qx 'Cancelled: true' "$msg" || fail "$msg is not cancelled"
	[ "$(sed '1,/^$/d' "$msg" | wc -c)" -gt 0 ] || fail "$msg holds no text"
	awk -v b="$BUDGET" -v p="$PRICE" -F': ' '$1 == "Completion-Tokens" { printf "%d\n", $2 - b / p }' "$msg"
}

# within_a_read N: N tokens past the limit is at most one read's worth (a few paced tokens;
# a loaded machine may gather a few more into one read), and never short of the limit
within_a_read() {
	[ "$1" -ge 0 ] && [ "$1" -le 12 ] || fail "stopped $1 tokens past the budget"
}

@test "mlb-broadcast --budget stops a long stream as it streams: partial stored, exit 4" {
	start=$(date +%s%N)
	run -4 --separate-stderr mlb-broadcast -s bb --budget "$BUDGET" -m "$LONG" "write at length"
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 4000 ]
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "budget"
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "true"
	over=$(stored_overshoot bb)
	echo "mlb-broadcast: $over tokens past the budget" >&3
	within_a_read "$over"
	run git -C "$MLB_HOME/sessions/bb" fsck --strict
	assert_success
}

@test "mlb-pipeline run --budget stops a long stream as it streams: partial stored, exit 4" {
	printf '{"steps": [{"id": "a", "models": ["%s"], "prompt": "write at length"},
		{"id": "b", "needs": ["a"], "models": ["openai:echo"], "prompt": "{{a}}"}]}\n' "$LONG" >long.json
	run -4 --separate-stderr mlb-pipeline run long.json -s pb --budget "$BUDGET" --json
	assert_equal "$(jq -r 'select(.type=="error" and .code=="budget").step' <<<"$output")" "a"
	assert_equal "$(jq -r 'select(.stage=="step_skipped").reason' <<<"$output")" "not started: the budget was reached"
	over=$(stored_overshoot pb)
	echo "mlb-pipeline: $over tokens past the budget" >&3
	within_a_read "$over"
}

@test "| mlb-meter --budget: the meter stops on the tokens, the producer loses its reader, stores and exits" {
	start=$(date +%s%N)
	bash -c 'mlb-broadcast -s mb -m "$1" "write at length" 2>err | mlb-meter --budget "$2" >out 2>meter.err
		echo "${PIPESTATUS[*]}" >codes' _ "$LONG" "$BUDGET"
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 4000 ]
	assert_equal "$(cut -d' ' -f2 codes)" "4"
	# the meter stopped before any meter event: on the tokens' estimate
	assert_equal "$(jq -r 'select(.type=="meter" and .scope=="pane")' out)" ""
	assert_equal "$(jq -r 'select(.type=="error").code' out)" "budget"
	over=$(stored_overshoot mb)
	echo "mlb-meter: $over tokens past the budget" >&3
	within_a_read "$over"
	run git -C "$MLB_HOME/sessions/mb" fsck --strict
	assert_success
}

@test "a producer whose reader goes away while nothing streams stops at once and stores the question" {
	start=$(date +%s%N)
	# the first token would come after 30 s; the reader leaves a while after the request went out,
	# when nothing more is being written
	bash -c 'mlb-send -s gone -m openai:alpha+ttft=30000 hi 2>err |
		while read -r l; do case $l in *\"request\"*) sleep 0.3; exit ;; esac; done'
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "took $(( ($(date +%s%N) - start) / 1000000 )) ms"
	grep -qx 'Role: user' "$(nth_msg "$(ls -d "$MLB_HOME"/sessions/gone/panes/*/ | head -n 1 | sed 's|/$||')" 1)"
	run git -C "$MLB_HOME/sessions/gone" fsck --strict
	assert_success
}

@test "--interval: aggregates show the replies in flight, their tokens and cost so far" {
	M='openai:paced+tokens=60+delay=40'
	printf '[price "%s"]\n\tinput = 0\n\toutput = 0.001\n' "$M" >"$XDG_CONFIG_HOME/mlb/config"
	run -0 bash -c 'mlb-send --no-store -m "$1" hi 2>/dev/null | mlb-meter --interval 0.5' _ "$M"
	# an interim total while the reply streamed: one in flight, with tokens and a cost
	mid=$(jq -c 'select(.scope=="run" and .in_flight==1)' <<<"$output" | head -n 1)
	[ -n "$mid" ] || fail "no aggregate saw the reply in flight: $output"
	assert_equal "$(jq -r '.replies' <<<"$mid")" "0"
	jq -e '.in_flight_completion_tokens > 0 and .in_flight_cost_usd == .in_flight_completion_tokens * 0.001' <<<"$mid" >/dev/null ||
		fail "in flight: $mid"
	assert_equal "$(jq -c 'select(.scope=="model" and .in_flight==1) | .model' <<<"$output" | head -n 1)" "\"$M\""
	# at the end it landed: nothing in flight, the reply counted
	assert_equal "$(tail -n 1 <<<"$output" | jq -c '[.replies, .in_flight, .in_flight_completion_tokens]')" '[1,0,0]'
}
