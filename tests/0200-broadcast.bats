#!/usr/bin/env bats
# mlb-broadcast: many models at once, one pane each, one commit.

load helpers/common

setup() {
	clean_world
	start_server
}

finals() {
	jq -s '[.[] | select(.type=="final")] | length' <<<"$1"
}

@test "answers interleave and the wall time follows the slowest model, not the sum" {
	start=$(date +%s%N)
	run --separate-stderr mlb-broadcast --no-store -m openai:alpha+tokens=10+delay=150 \
		-m gemini:beta+tokens=10+delay=150 -m anthropic:gamma+tokens=10+delay=150 "go"
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_success
	assert_equal "$(finals "$output")" "3"
	# one after another would take over 4.5 s; together about 1.5 s
	[ "$elapsed" -lt 3500 ] || fail "took ${elapsed} ms"
	switches=$(jq -r 'select(.type=="token").pane' <<<"$output" | uniq | wc -l)
	[ "$switches" -gt 6 ] || fail "tokens did not interleave ($switches runs)"
	# every event of a reply carries pane, model and one run id
	assert_equal "$(jq -r 'select(.type=="token" or .type=="final") | .run' <<<"$output" | sort -u | wc -l)" "1"
	assert_equal "$(jq -r 'select(.type=="token") | select(.pane == null or .model == null)' <<<"$output")" ""
}

@test "one model failing never stops the others: exit 3, the rest stored in one commit" {
	run -3 --separate-stderr mlb-broadcast -s deg --retries 0 -m openai:alpha -m gemini:beta+fault=500 \
		-m anthropic:gamma+fault=cut+tokens=6+cut_after=2 "go"
	assert_equal "$(jq -r 'select(.type=="error") | .pane' <<<"$output" | sort | tr '\n' ' ')" "anthropic-gamma-fault-cut-tokens-6-cut_after-2 gemini-beta-fault-500 "
	assert_equal "$(jq -r 'select(.type=="final") | "\(.pane) \(.partial)"' <<<"$output" | sort | tr '\n' ' ')" "anthropic-gamma-fault-cut-tokens-6-cut_after-2 true openai-alpha false "
	# new session commit + one commit for the whole broadcast
	assert_equal "$(git -C "$MLB_HOME/sessions/deg" rev-list --count HEAD)" "2"
	assert_equal "$(jq -r 'select(.type=="final").commit' <<<"$output" | sort -u | wc -l)" "1"
	[ -f "$(nth_msg "$MLB_HOME/sessions/deg/panes/openai-alpha" 2)" ]
	grep -qx "Partial: true" "$(nth_msg "$MLB_HOME/sessions/deg/panes/anthropic-gamma-fault-cut-tokens-6-cut_after-2" 2)"
	# the failed pane keeps the question, marked unanswered, and no answer
	f="$(nth_msg "$MLB_HOME/sessions/deg/panes/gemini-beta-fault-500" 1)"
	grep -qx "Unanswered: true" "$f"
	grep -q "^Error: HTTP 500" "$f"
	[ ! -e "$(nth_msg "$MLB_HOME/sessions/deg/panes/gemini-beta-fault-500" 2)" ]
	# and it is not sent as history next time
	: >"$MLB_SERVER_LOG"
	mlb-broadcast -s deg -m gemini:beta+fault=500 --retries 0 "again" >/dev/null 2>&1 || true
	assert_equal "$(jq -c '[.body.contents[].parts[0].text]' "$MLB_SERVER_LOG")" '["again"]'
	run -1 --separate-stderr mlb-broadcast --no-store --retries 0 -m openai:a+fault=500 -m gemini:b+fault=401 "go"
}

@test "a 100-model fan-out in one process" {
	args=()
	for i in $(seq 1 100); do args+=(-m "openai:m$i+tokens=5+delay=10"); done
	run --separate-stderr mlb-broadcast -s fan "${args[@]}" "fan out"
	assert_success
	assert_equal "$(finals "$output")" "100"
	assert_equal "$(ls "$MLB_HOME/sessions/fan/panes" | wc -l)" "100"
	assert_equal "$(git -C "$MLB_HOME/sessions/fan" rev-list --count HEAD)" "2"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "100"
	run git -C "$MLB_HOME/sessions/fan" fsck --strict
	assert_success
}

@test "--first stops at the first answer; the rest are stored as cancelled partials" {
	run --separate-stderr mlb-broadcast -s first --first -m openai:fast+tokens=3+ttft=500 \
		-m gemini:slow+tokens=100+delay=50 -m anthropic:slow+tokens=100+delay=50 \
		--panes fast,gemini-slow,anthropic-slow "go"
	assert_success
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="cancelled").pane' <<<"$output" | sort | tr '\n' ' ')" "anthropic-slow gemini-slow "
	assert_equal "$(jq -r 'select(.type=="final" and .cancelled).partial' <<<"$output" | sort -u)" "true"
	for p in gemini-slow anthropic-slow; do
		grep -qx "Cancelled: true" "$(nth_msg "$MLB_HOME/sessions/first/panes/$p" 2)"
	done
}

@test "--quorum n stops after n answers" {
	run --separate-stderr mlb-broadcast --no-store --quorum 2 -m openai:a+tokens=3 -m gemini:b+tokens=3 \
		-m anthropic:c+tokens=100+delay=50 "go"
	assert_success
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="cancelled").pane' <<<"$output")" "anthropic-c-tokens-100-delay-50"
	run -2 mlb-broadcast --no-store --first --quorum 2 -m openai:a "go"
}

@test "--deadline cancels whatever still runs" {
	start=$(date +%s)
	run -3 --separate-stderr mlb-broadcast --no-store --deadline 1 -m openai:a+tokens=3 \
		-m gemini:b+tokens=200+delay=50 "go"
	[ $(( $(date +%s) - start )) -lt 5 ]
	assert_equal "$(jq -r 'select(.type=="final" and .cancelled) | .pane' <<<"$output")" "gemini-b-tokens-200-delay-50"
	run -2 mlb-broadcast --no-store --deadline never -m openai:a "go"
}

@test "a follow-up broadcast sends each pane its own history" {
	mlb-broadcast -s follow -m openai:echo -m anthropic:echo --panes one,two "first round" >/dev/null 2>&1
	mlb-send -s follow -p one "only one" >/dev/null 2>&1
	: >"$MLB_SERVER_LOG"
	mlb-broadcast -s follow -m openai:echo -m anthropic:echo --panes one,two "second round" >/dev/null 2>&1
	one=$(jq -c 'select(.kind=="openai") | [.body.messages[].content]' "$MLB_SERVER_LOG")
	two=$(jq -c 'select(.kind=="anthropic") | [.body.messages[].content]' "$MLB_SERVER_LOG")
	assert_equal "$one" '["first round","first round","only one","only one","second round"]'
	assert_equal "$two" '["first round","first round","second round"]'
}

@test "models from MLB_MODELS and from a config group; pane names from --panes" {
	MLB_MODELS="openai:echo,gemini:echo" run --separate-stderr mlb-broadcast --no-store "hi"
	assert_equal "$(jq -r 'select(.type=="final").model' <<<"$output" | sort | tr '\n' ' ')" "gemini:echo openai:echo "
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[group "fast"]\n\tmodel = openai:echo\n\tmodel = anthropic:echo\n\tmodel = gemini:echo\n' >"$XDG_CONFIG_HOME/mlb/config"
	run --separate-stderr mlb-broadcast --no-store -g fast --panes a,b,c "hi"
	assert_equal "$(jq -r 'select(.type=="final") | "\(.pane)=\(.model)"' <<<"$output" | sort | tr '\n' ' ')" "a=openai:echo b=anthropic:echo c=gemini:echo "
	run -2 mlb-broadcast --no-store -g nosuch "hi"
	assert_output --partial "no group 'nosuch'"
	run -2 mlb-broadcast --no-store -m openai:echo --panes a,b "hi"
	run -2 mlb-broadcast --no-store "hi"
	assert_output --partial "no models"
	# the same model twice gets two panes
	run --separate-stderr mlb-broadcast --no-store -m openai:echo -m openai:echo "hi"
	assert_equal "$(jq -r 'select(.type=="final").pane' <<<"$output" | sort | tr '\n' ' ')" "openai-echo openai-echo-2 "
}

@test "--text in a pipe prints the panes one after another under their models" {
	run mlb-broadcast --no-store --text -m openai:echo -m gemini:echo "same words"
	assert_success
	assert_line "== openai:echo (done) =="
	assert_line "== gemini:echo (done) =="
	assert_line "same words"
	assert_line --partial "2 models: 2 ok, 0 failed, 0 cancelled"
	refute_output --partial $'\033'
}

@test "on a terminal: a live view with every pane, footers and a summary" {
	command -v script >/dev/null || skip "script(1) is not installed"
	script -qec "stty cols 120 rows 30; mlb-broadcast --no-store -m openai:alpha+tokens=20+delay=20 \
		-m gemini:beta+tokens=20+delay=20 -m anthropic:gamma+fault=500 --retries 0 hi" /dev/null >tty.out 2>&1 || true
	grep -q "streaming · [0-9]* tok" tty.out
	grep -q "── gemini:beta+tokens=20+delay=20 · done · 20 tok" tty.out
	grep -q "── anthropic:gamma+fault=500 · failed · HTTP 500" tty.out
	grep -q "3 models: 2 ok, 1 failed, 0 cancelled" tty.out
	# stacked when narrow
	script -qec "stty cols 50 rows 40; mlb-broadcast --no-store -m openai:alpha -m gemini:beta hi" /dev/null >narrow.out 2>&1
	grep -q "2 models: 2 ok" narrow.out
}

@test "Ctrl-C cancels cleanly and stores the partials" {
	mlb-broadcast -s intr -m openai:a+tokens=400+delay=20 -m gemini:b+tokens=400+delay=20 "go" >out 2>err &
	pid=$!
	for _ in $(seq 1 50); do grep -q '"token"' out 2>/dev/null && break; sleep 0.1; done
	sleep 0.3
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" "130"
	for p in openai-a-tokens-400-delay-20 gemini-b-tokens-400-delay-20; do
		grep -qx "Cancelled: true" "$(nth_msg "$MLB_HOME/sessions/intr/panes/$p" 2)"
	done
	run git -C "$MLB_HOME/sessions/intr" fsck --strict
	assert_success
}

@test "--budget refuses to start when the prompt alone costs more" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "openai:echo"]\n\tinput = 0.01\n\toutput = 0.01\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -4 mlb-broadcast --no-store --budget 0.05 -m openai:echo "$(printf 'word %.0s' $(seq 1 100))"
	assert_output --partial "over the budget"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "0"
	run mlb-broadcast --no-store --budget 5 -m openai:echo "cheap"
	assert_success
	run -2 mlb-broadcast --no-store --budget lots -m openai:echo "x"
}

@test "--budget stops what still streams once the replies so far cost that much (exit 4)" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "openai:fast+ttft=300"]\n\tinput = 0.001\n\toutput = 0.001\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -4 --separate-stderr mlb-broadcast -s budget --budget 0.005 -m openai:fast+ttft=300 \
		-m gemini:slow+tokens=200+delay=30 --panes fast,slow "go"
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "budget"
	# the priced reply reaches the budget as it streams: it stops there too, its text so far kept
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="cancelled").pane' <<<"$output" | sort | tr '\n' ' ')" "fast slow "
	grep -qx "Cancelled: true" "$(nth_msg "$MLB_HOME/sessions/budget/panes/slow" 2)"
	grep -qx "Partial: true" "$(nth_msg "$MLB_HOME/sessions/budget/panes/fast" 2)"
}

@test "mlb-broadcast | mlb-meter --budget: the meter stops, the broadcast stops too and keeps its partials" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "openai:fast+ttft=300"]\n\tinput = 0.001\n\toutput = 0.001\n' >"$XDG_CONFIG_HOME/mlb/config"
	start=$(date +%s)
	bash -c 'mlb-broadcast -s piped -m openai:fast+ttft=300 -m gemini:slow+tokens=400+delay=25 --panes fast,slow "go" 2>/dev/null |
		mlb-meter --budget 0.005 >out 2>err; echo "${PIPESTATUS[*]}" >codes' || true
	assert_equal "$(cut -d" " -f2 codes)" "4"
	# the slow one would take 10 s; the closed pipe stops it early
	[ $(( $(date +%s) - start )) -lt 8 ]
	grep -q '"code":"budget"' out
	grep -qx "Cancelled: true" "$(nth_msg "$MLB_HOME/sessions/piped/panes/slow" 2)"
	run git -C "$MLB_HOME/sessions/piped" fsck --strict
	assert_success
}
