#!/usr/bin/env bats
# mlb-meter: pass-through, pricing, aggregates, budget, intervals, stored
# sessions and the report for a person.

load helpers/common

bats_require_minimum_version 1.5.0

setup() {
	clean_world
	cd "$BATS_TEST_TMPDIR"
}

PRICES="$BATS_TEST_DIRNAME/../share/mlb/prices.tsv"
MINI=openai:gpt-4o-mini
HAIKU=anthropic:claude-haiku-4-5

# price MODEL input|output: the price per token from the shipped table.
price() {
	awk -F'\t' -v m="$1" -v c="$2" '$1 == m { print (c == "input" ? $2 : $3) }' "$PRICES"
}

# cost MODEL PROMPT COMPLETION: what the table says the reply costs.
cost() {
	awk -v i="$(price "$1" input)" -v o="$(price "$1" output)" -v p="$2" -v c="$3" \
		'BEGIN { printf "%.17g\n", p * i + c * o }'
}

# meter MODEL PANE PROMPT COMPLETION LATENCY [TTFT]: a reply's meter event without a cost.
meter() {
	printf '{"type":"meter","ts":"2026-11-22T02:30:00.000Z","session":"s1","pane":"%s","model":"%s","run":"r1","prompt_tokens":%s,"completion_tokens":%s,"latency_ms":%s%s,"scope":"pane"}\n' \
		"$2" "$1" "$3" "$4" "$5" "${6:+,\"ttft_ms\":$6}"
}

# near JSON EXPR WANT: EXPR (a jq filter on the one object in JSON) is within 1e-9 (relative) of WANT.
near() {
	jq -e --argjson w "$3" "($2) as \$g | (\$g - \$w) | (if . < 0 then -. else . end) <= 1e-9 * (if \$w < 0 then -\$w else \$w end) + 1e-15" <<<"$1" >/dev/null ||
		fail "$2 is $(jq -c "$2" <<<"$1"), want $3"
}

# agg OUTPUT SCOPE [KEY VALUE]: the aggregate of that scope (and key).
agg() {
	if [ $# -gt 2 ]; then
		jq -c --arg s "$2" --arg k "$3" --arg v "$4" 'select(.type == "meter" and .scope == $s and .replies != null and .[$k] == $v)' <<<"$1"
	else
		jq -c --arg s "$2" 'select(.type == "meter" and .scope == $s and .replies != null)' <<<"$1"
	fi
}

@test "usage: help, bad numbers and keys exit 2 with a message that names the fix" {
	run -0 mlb-meter -h
	assert_line --index 0 --partial "usage: mlb-meter [--budget <usd>] [--warn <fraction>] [--by <key>]"
	run -2 --separate-stderr mlb-meter --budget x </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --budget takes an amount in USD, such as 0.05, not 'x'"
	run -2 --separate-stderr mlb-meter --budget -1 </dev/null
	run -2 --separate-stderr mlb-meter --budget 1 --warn 1.5 </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --warn takes a share of the budget above 0 and up to 1, such as 0.8, not '1.5'"
	run -2 --separate-stderr mlb-meter --warn 0.5 </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --warn needs --budget"
	run -2 --separate-stderr mlb-meter --by provider </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --since, --until and --by day|week|month|provider|project are for stored replies: add -s <session>, --project <name> or --all"
	run -2 --separate-stderr mlb-meter --by vendor </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --by takes pane, model, session, day, week, month, provider or project, not 'vendor'"
	run -2 --separate-stderr mlb-meter --interval 0 </dev/null
	assert_equal "${stderr_lines[0]}" "mlb-meter: --interval takes a number of seconds, such as 5 or 0.5, not '0'"
	run -2 --separate-stderr mlb-meter extra </dev/null
	run -2 --separate-stderr mlb-meter --bogus </dev/null
	run -2 --separate-stderr mlb-meter -s 'bad/id'
}

@test "prices: pane meters get the table's cost; model and run aggregates add up" {
	{
		printf '{"type":"token","ts":"2026-11-22T02:30:00.000Z","model":"%s","text":"hi"}\n' "$MINI"
		meter "$MINI" p1 1200 345 800 100
		meter "$HAIKU" p2 2000 1000 3000 250
		meter "$MINI" p3 10 7 1200 120
	} >in.ndjson
	run -0 --separate-stderr mlb-meter <in.ndjson
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 7	# 4 passed, 2 models, 1 run
	assert_equal "${lines[0]}" "$(sed -n 1p in.ndjson)"
	near "${lines[1]}" .cost_usd "$(cost "$MINI" 1200 345)"
	near "${lines[2]}" .cost_usd "$(cost "$HAIKU" 2000 1000)"
	near "${lines[3]}" .cost_usd "$(cost "$MINI" 10 7)"
	# a priced event keeps its bytes and only gains the cost at the end
	assert_equal "$(jq -c 'del(.cost_usd)' <<<"${lines[1]}")" "$(sed -n 2p in.ndjson)"
	assert_equal "$(jq -r 'has("unpriced")' <<<"${lines[1]}")" false

	mini=$(agg "$output" model model "$MINI")
	assert_equal "$(jq -c '[.replies, .prompt_tokens, .completion_tokens, .unpriced, .errors, .estimated]' <<<"$mini")" '[2,1210,352,0,0,0]'
	near "$mini" .cost_usd "$(awk -v a="$(cost "$MINI" 1200 345)" -v b="$(cost "$MINI" 10 7)" 'BEGIN { printf "%.17g", a + b }')"
	# nearest rank over two values: p50 is the first, p95 the second
	assert_equal "$(jq -c '[.latency_ms_p50, .latency_ms_p95, .ttft_ms_p50, .ttft_ms_p95]' <<<"$mini")" '[800,1200,100,120]'
	haiku=$(agg "$output" model model "$HAIKU")
	assert_equal "$(jq -c '[.replies, .prompt_tokens, .completion_tokens]' <<<"$haiku")" '[1,2000,1000]'
	near "$haiku" .cost_usd "$(cost "$HAIKU" 2000 1000)"
	run_agg=$(agg "$output" run)
	assert_equal "$(jq -c '[.replies, .prompt_tokens, .completion_tokens, .unpriced]' <<<"$run_agg")" '[3,3210,1352,0]'
	near "$run_agg" .cost_usd "$(awk -v a="$(cost "$MINI" 1200 345)" -v b="$(cost "$MINI" 10 7)" -v c="$(cost "$HAIKU" 2000 1000)" 'BEGIN { printf "%.17g", a + b + c }')"
	# the order: groups sorted by key, then the run
	assert_equal "$(tail -n 3 <<<"$output" | jq -r '.scope + " " + (.model // "")' | tr '\n' '|')" "model $HAIKU|model $MINI|run |"
}

@test "percentiles are nearest rank over sorted values; tokens_per_s is the mean" {
	for i in 7 3 20 1 15 2 19 4 18 5 17 6 16 8 14 9 13 10 12 11; do
		printf '{"type":"meter","model":"x:y","prompt_tokens":1,"completion_tokens":1,"latency_ms":%d,"ttft_ms":%d,"tokens_per_s":%s}\n' \
			"$i" "$((i * 10))" "$([ "$i" -le 2 ] && echo 1.25 || echo null)"
	done >in.ndjson
	run -0 mlb-meter <in.ndjson
	assert_equal "$(agg "$output" run | jq -c '[.latency_ms_p50, .latency_ms_p95, .ttft_ms_p50, .ttft_ms_p95, .tokens_per_s]')" '[10,19,100,190,1.3]'
}

@test "unpriced: cost null and unpriced true, never 0; counted in the aggregates" {
	{
		meter openai:no-such-model p1 10 20 100
		meter "$MINI" p2 10 20 100
		printf '{"type":"meter","model":"openai:no-such-model","prompt_tokens":1,"completion_tokens":1,"cost_usd":null,"unpriced":true}\n'
	} >in.ndjson
	run -0 mlb-meter <in.ndjson
	assert_equal "$(jq -c '[.cost_usd, .unpriced]' <<<"${lines[0]}")" '[null,true]'
	assert_equal "$(jq -c 'del(.cost_usd, .unpriced)' <<<"${lines[0]}")" "$(sed -n 1p in.ndjson)"
	assert_equal "${lines[2]}" "$(sed -n 3p in.ndjson)"
	assert_equal "$(agg "$output" model model openai:no-such-model | jq -c '[.replies, .cost_usd, .unpriced]')" '[2,null,2]'
	run_agg=$(agg "$output" run)
	assert_equal "$(jq -c '[.replies, .unpriced]' <<<"$run_agg")" '[3,2]'
	near "$run_agg" .cost_usd "$(cost "$MINI" 10 20)"
}

@test "pass-through is byte for byte: only the aggregates are added" {
	cat >in.ndjson <<'EOF'
{"type":"status","ts":"2026-11-22T02:30:00.000Z","stage":"queued","attempt":1}
{"ts":"2026-11-22T02:30:00.001Z","text":"a\/b \u00e9 日本 😀 \"q\" \\ \t","type":"token","pane":"p"}
{"type":"frobnicate","ts":"x","nested":{"z":[1,2.50,{"y":null}],"a":true},"n":1e3,"m":-0,"big":12345678901234567890}
  {"type" : "token" , "text" : "spaced"}  
{"type":"final","content":"caf\u00e9\n","finish_reason":"stop","partial":false,"message":"panes\/p\/000002.msg"}
{"type":"meter","model":"openai:gpt-4o-mini","prompt_tokens":1,"completion_tokens":2,"cost_usd":1.50e-7,"scope":"pane"}
{"type":"meter","scope":"model","model":"openai:gpt-4o-mini","replies":9,"prompt_tokens":9,"cost_usd":9}
{"type":"meter","scope":"run","replies":9,"cost_usd":9}
{"type":"diff","a":"p","b":"q","similarity":0.5,"ops":[{"op":"equal","text":"x"}]}
EOF
	n=$(wc -l <in.ndjson)
	mlb-meter <in.ndjson >out.ndjson
	head -n "$n" out.ndjson | cmp - in.ndjson
	run jq -c '[.type, .scope, .replies, .cost_usd]' < <(tail -n +"$((n + 1))" out.ndjson)
	assert_output - <<'EOF'
["meter","model",1,1.5e-07]
["meter","run",1,1.5e-07]
EOF
}

@test "malformed lines: reported with their number on stderr and as parse events; the rest counts; exit 1" {
	{
		meter "$MINI" p1 10 20 100
		echo 'not json'
		echo '{"no":"type"}'
		echo '[1,2]'
		echo '{"type":"token","text":"cut'
		meter "$MINI" p2 10 20 100
	} >in.ndjson
	run -1 --separate-stderr mlb-meter <in.ndjson
	assert_equal "${#stderr_lines[@]}" 4
	assert_regex "${stderr_lines[0]}" '^mlb-meter: line 2: invalid JSON: ' 
	assert_equal "${stderr_lines[1]}" 'mlb-meter: line 3: event has no "type" string'
	assert_equal "${stderr_lines[2]}" "mlb-meter: line 4: not a JSON object; events are objects with a \"type\""
	assert_regex "${stderr_lines[3]}" '^mlb-meter: line 5: '
	assert_equal "$(jq -c 'select(.type == "error") | [.code, .line]' <<<"$output" | tr '\n' ' ')" '["parse",2] ["parse",3] ["parse",4] ["parse",5] '
	assert_equal "$(agg "$output" run | jq -c '[.replies, .errors]')" '[2,4]'
}

@test "error events count for their model and in the run" {
	{
		meter "$MINI" p1 10 20 100
		printf '{"type":"error","model":"%s","code":"rate_limit","message":"slow down"}\n' "$MINI"
		printf '{"type":"error","model":"openai:broken","code":"server","message":"500"}\n'
		printf '{"type":"error","code":"config","message":"no model at all"}\n'
	} >in.ndjson
	run -0 mlb-meter <in.ndjson
	assert_equal "$(agg "$output" model model "$MINI" | jq -c '[.replies, .errors]')" '[1,1]'
	assert_equal "$(agg "$output" model model openai:broken | jq -c '[.replies, .errors, .cost_usd, .unpriced]')" '[0,1,0,0]'
	assert_equal "$(agg "$output" run | jq -c '[.replies, .errors]')" '[1,3]'
}

@test "budget: warns once at the share, stops at the limit with an error event, exit 4, reads no further" {
	# each reply costs 1000 * input + 1000 * output of gpt-4o-mini
	each=$(cost "$MINI" 1000 1000)
	budget=$(awk -v e="$each" 'BEGIN { printf "%.17g", e * 3.5 }')
	{
		meter "$MINI" p1 1000 1000 100
		meter "$MINI" p2 1000 1000 100
		echo '{"type":"token","text":"before"}'
		meter "$MINI" p3 1000 1000 100
		meter "$MINI" p4 1000 1000 100
		echo '{"type":"token","text":"after"}'
		meter "$MINI" p5 1000 1000 100
	} >in.ndjson
	run -4 --separate-stderr mlb-meter --budget "$budget" --warn 0.5 <in.ndjson
	assert_equal "$(jq -r '.type + ":" + (.pane // .stage // .code // .scope // .text)' <<<"$output" | tr '\n' ' ')" \
		"meter:p1 meter:p2 status:budget_warning token:before meter:p3 meter:p4 error:budget meter:model meter:run "
	assert_equal "$(grep -c budget_warning <<<"$output")" 1
	status_ev=$(jq -c 'select(.type == "status")' <<<"$output")
	near "$status_ev" .spent "$(awk -v e="$each" 'BEGIN { printf "%.17g", 2 * e }')"
	near "$status_ev" .budget "$budget"
	error_ev=$(jq -c 'select(.type == "error")' <<<"$output")
	assert_equal "$(jq -r .message <<<"$error_ev" | grep -c -- '--budget')" 1
	refute_output --partial after
	assert_equal "$(agg "$output" run | jq .replies)" 4
	assert_line --partial '"code":"budget"'
	assert_regex "${stderr_lines[0]}" '^mlb-meter: warning: spent \$0\.[0-9]+, [0-9]+% of the budget of \$0\.[0-9]+$'
	assert_regex "${stderr_lines[1]}" '^mlb-meter: spent \$0\.[0-9]+, at or over the budget of \$0\.[0-9]+; raise --budget to allow more$'
}

@test "budget: an endless writer upstream stops when the meter stops" {
	line=$(meter "$MINI" p1 1000 1000 100)
	run -0 timeout 20 bash -c 'while :; do printf "%s\n" "$1"; done | mlb-meter --budget 0.01 >/dev/null 2>&1; echo "${PIPESTATUS[@]}"' _ "$line"
	# the writer died of the closed pipe (141 = SIGPIPE) or stopped on EPIPE; the meter said 4
	assert_regex "$output" '^[0-9]+ 4$'
}

@test "the reader going away is not a failure" {
	for i in $(seq 1 20000); do echo '{"type":"token","text":"x"}'; done >in.ndjson
	run -0 bash -c 'mlb-meter <in.ndjson | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 0
}

@test "--prices and [price] config: config over the table, --prices over both" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	cat >"$XDG_CONFIG_HOME/mlb/config" <<'EOF'
[price "openai:alpha"]
	input = 0.001
	output = 0.002
[price "openai:gpt-4o-mini"]
	output = 0.5
EOF
	{
		meter openai:alpha p1 10 20 100
		meter "$MINI" p2 10 20 100
		meter openai:beta p3 10 20 100
	} >in.ndjson
	run -0 --separate-stderr mlb-meter <in.ndjson
	near "${lines[0]}" .cost_usd 0.05
	near "${lines[1]}" .cost_usd "$(awk -v i="$(price "$MINI" input)" 'BEGIN { printf "%.17g", 10 * i + 20 * 0.5 }')"
	assert_equal "$(jq -c '[.cost_usd, .unpriced]' <<<"${lines[2]}")" '[null,true]'
	assert_equal "$stderr" ""
	printf 'openai:alpha\t1\t2\nopenai:beta\t0.5\t0\n' >extra.tsv
	run -0 --separate-stderr mlb-meter --prices extra.tsv <in.ndjson
	near "${lines[0]}" .cost_usd 50
	near "${lines[2]}" .cost_usd 5
	run -1 --separate-stderr mlb-meter --prices missing.tsv <in.ndjson
	assert_regex "$stderr" "cannot read the price table 'missing.tsv'"
}

@test "--by pane and --by session; a second meter does not count aggregates again" {
	{
		meter "$MINI" p1 10 20 100
		meter "$HAIKU" p2 10 20 300
		meter "$MINI" p1 1 2 200
	} >in.ndjson
	run -0 mlb-meter --by pane <in.ndjson
	assert_equal "$(agg "$output" pane pane p1 | jq -c '[.replies, .prompt_tokens, .completion_tokens, .latency_ms_p50]')" '[2,11,22,100]'
	assert_equal "$(agg "$output" pane pane p2 | jq -c '[.replies, .latency_ms_p95]')" '[1,300]'
	run -0 mlb-meter --by session <in.ndjson
	assert_equal "$(agg "$output" session session s1 | jq -c '[.replies, .prompt_tokens]')" '[3,21]'
	run -0 bash -c 'mlb-meter --by pane <in.ndjson | mlb-meter'
	assert_equal "$(jq -c 'select(.scope == "run")' <<<"$output" | tail -n 1 | jq .replies)" 3
	assert_equal "$(jq -c 'select(.scope == "run")' <<<"$output" | wc -l)" 2
}

@test "--interval: aggregates appear while the input trickles, also when nothing arrives" {
	run -0 bash -c '
		{
			printf "%s\n" "$1"; sleep 1.2
			printf "%s\n" "$2"; sleep 1.2
			printf "{\"type\":\"token\",\"text\":\"last\"}\n"
		} | mlb-meter --interval 0.5' _ "$(meter "$MINI" p1 10 20 100)" "$(meter "$MINI" p2 10 20 100)"
	last=$(grep -n '"text":"last"' <<<"$output" | cut -d: -f1)
	first_run=$(grep -n '"scope":"run"' <<<"$output" | head -n 1 | cut -d: -f1)
	[ "$first_run" -lt "$last" ] || fail "no aggregate before the end: $output"
	# at least two interim totals before the last line, and the first saw one reply
	[ "$(head -n "$last" <<<"$output" | grep -c '"scope":"run"')" -ge 3 ] || fail "too few interim aggregates: $output"
	assert_equal "$(sed -n "${first_run}p" <<<"$output" | jq .replies)" 1
	assert_equal "$(tail -n 1 <<<"$output" | jq -c '[.scope, .replies]')" '["run",2]'
}

# msgfile PATH ROLE MODEL [HEADER: VALUE]...: write a message file.
msgfile() {
	local path=$1 role=$2 model=$3 h
	shift 3
	mkdir -p "$(dirname "$path")"
	{
		echo "Role: $role"
		echo "Model: $model"
		echo "Date: 2026-11-22T02:30:00.000Z"
		for h in "$@"; do echo "$h"; done
		echo
		printf 'content of %s' "$path"
	} >"$path"
}

@test "-s: the cost of a stored session across panes and commits, restored-away replies included" {
	dir="$MLB_HOME/sessions/conv1"
	mkdir -p "$dir"
	git -C "$dir" init -q -b main
	echo '{"id":"conv1","name":"","created":"2026-11-22T02:30:00.000Z","status":"open"}' >"$dir/session.json"
	msgfile "$dir/panes/a/000001.msg" user "$MINI"
	msgfile "$dir/panes/a/000002.msg" assistant "$MINI" "Prompt-Tokens: 100" "Completion-Tokens: 200" "Latency-Ms: 1000" "Ttft-Ms: 100"
	msgfile "$dir/panes/b/000001.msg" user "$HAIKU"
	msgfile "$dir/panes/b/000002.msg" assistant "$HAIKU" "Prompt-Tokens: 1000" "Completion-Tokens: 2000" "Cost-Usd: 0.5" "Latency-Ms: 3000" "Ttft-Ms: 300"
	git -C "$dir" add -A && git -C "$dir" commit -q -m "mlb-broadcast: a, b"
	msgfile "$dir/panes/a/000003.msg" user "$MINI"
	msgfile "$dir/panes/a/000004.msg" assistant "$MINI" "Prompt-Tokens: 50" "Completion-Tokens: 10" "Estimated: true" "Latency-Ms: 500"
	git -C "$dir" add -A && git -C "$dir" commit -q -m "mlb-send: a"
	# a restore takes the last turn out of the tree; it was paid for all the same
	git -C "$dir" rm -q panes/a/000003.msg panes/a/000004.msg && git -C "$dir" commit -q -m "mlb-session: restore"
	msgfile "$dir/panes/a/000003.msg" user openai:unknown-x
	msgfile "$dir/panes/a/000004.msg" assistant openai:unknown-x "Prompt-Tokens: 5" "Completion-Tokens: 5" "Error: cut"
	git -C "$dir" add -A && git -C "$dir" commit -q -m "mlb-send: a"

	run -0 --separate-stderr mlb-meter -s conv1 </dev/null
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 4
	mini=$(agg "$output" model model "$MINI")
	assert_equal "$(jq -c '[.replies, .prompt_tokens, .completion_tokens, .estimated, .latency_ms_p50, .latency_ms_p95, .ttft_ms_p50, .tokens_per_s]' <<<"$mini")" \
		'[2,150,210,1,500,1000,100,200]'
	mini_cost=$(awk -v a="$(cost "$MINI" 100 200)" -v b="$(cost "$MINI" 50 10)" 'BEGIN { printf "%.17g", a + b }')
	near "$mini" .cost_usd "$mini_cost"
	assert_equal "$(agg "$output" model model "$HAIKU" | jq -c '[.replies, .cost_usd]')" '[1,0.5]'
	assert_equal "$(agg "$output" model model openai:unknown-x | jq -c '[.replies, .cost_usd, .unpriced, .errors]')" '[1,null,1,1]'
	total=$(tail -n 1 <<<"$output")
	assert_equal "$(jq -c '[.scope, .session, .replies, .prompt_tokens, .completion_tokens, .unpriced, .errors]' <<<"$total")" \
		'["session","conv1",4,1155,2215,1,1]'
	near "$total" .cost_usd "$(awk -v a="$mini_cost" 'BEGIN { printf "%.17g", a + 0.5 }')"

	run -0 mlb-meter -s conv1 --by pane </dev/null
	assert_equal "$(agg "$output" pane pane a | jq .replies)" 3
	assert_equal "$(agg "$output" pane pane b | jq .replies)" 1

	run -4 --separate-stderr mlb-meter -s conv1 --budget 0.4 </dev/null
	assert_line --partial '"code":"budget"'
	run -1 --separate-stderr mlb-meter -s nosuch </dev/null
	assert_regex "$stderr" "no session 'nosuch'"
}

@test "--report: the table on stderr with the events on stdout; --text: the table only; no colour in pipes" {
	{
		meter "$MINI" p1 1200 345 800 100
		meter "$HAIKU" p2 2000 1000 3000 250
		meter openai:no-such-model p3 1 1 10
	} >in.ndjson
	run -0 --separate-stderr mlb-meter --report <in.ndjson
	assert_equal "${#lines[@]}" 7
	assert_regex "$stderr" "$MINI"
	assert_regex "$stderr" "$HAIKU"
	assert_regex "$stderr" "█"
	assert_regex "$stderr" "unpriced"
	[[ "$stderr" != *$'\033'* ]] || fail "escape codes on a pipe"
	run -0 --separate-stderr mlb-meter --text <in.ndjson
	assert_equal "$stderr" ""
	refute_output --partial '"type"'
	assert_line --regexp "^model +replies +tokens in +tokens out +cost +p50 ms +p95 ms +errors$"
	assert_line --regexp "^$HAIKU +1 +2000 +1000 +\\\$0\\.[0-9]{6} +(█){16} +3000 +3000 +(█){16} +0$"
	assert_line --regexp "^total +3 +3201 +1346 +\\\$0\\.[0-9]{6}\\* +800 +3000 +0$"
	[[ "$output" != *$'\033'* ]] || fail "escape codes on a pipe"
}

@test "on a terminal: only the table, coloured unless NO_COLOR" {
	meter "$MINI" p1 1200 345 800 100 >in.ndjson
	run -0 script -qec "stty cols 160; mlb-meter <in.ndjson" /dev/null
	assert_output --partial "$MINI"
	assert_output --partial "█"
	refute_output --partial '"type"'
	[[ "$output" == *$'\033['* ]] || fail "no colour on a terminal: $output"
	NO_COLOR=1 run -0 script -qec "mlb-meter <in.ndjson" /dev/null
	assert_output --partial "$MINI"
	[[ "$output" != *$'\033'* ]] || fail "colour despite NO_COLOR: $output"
	run -0 script -qec "mlb-meter --json <in.ndjson" /dev/null
	assert_output --partial '"scope":"run"'
	# 80 columns: no bars, narrower columns, every line fits
	run -0 script -qec "stty cols 80; NO_COLOR=1 mlb-meter <in.ndjson" /dev/null
	assert_line --regexp '^model +replies +tok in +tok out +cost +p50 ms +p95 ms +errors'
	assert_line --regexp "^$MINI +1 +1200 +345 "
	refute_output --partial "█"
	while IFS= read -r l; do
		[ "${#l}" -le 80 ] || fail "wider than 80 columns: '$l'"
	done < <(tr -d '\r' <<<"$output")
}

@test "live: mlb-send into mlb-meter, unpriced and priced by the config" {
	[ -x "$MLB_SRC/bin/mlb-send" ] || skip "mlb-send not built"
	start_server
	run -0 --separate-stderr bash -c 'mlb-send --no-store -m openai:alpha+tokens=5 hi | mlb-meter'
	pane=$(jq -c 'select(.type == "meter" and .scope == "pane")' <<<"$output")
	assert_equal "$(jq -c '[.completion_tokens, .cost_usd, .unpriced]' <<<"$pane")" '[5,null,true]'
	assert_equal "$(agg "$output" run | jq -c '[.replies, .completion_tokens, .cost_usd, .unpriced]')" '[1,5,null,1]'

	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "openai:alpha"]\n\tinput = 0.001\n\toutput = 0.002\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -0 --separate-stderr bash -c 'mlb-send --no-store -m openai:alpha hi | mlb-meter'
	pane=$(jq -c 'select(.type == "meter" and .scope == "pane")' <<<"$output")
	p=$(jq .prompt_tokens <<<"$pane") c=$(jq .completion_tokens <<<"$pane")
	near "$(agg "$output" run)" .cost_usd "$(awk -v p="$p" -v c="$c" 'BEGIN { printf "%.17g", p * 0.001 + c * 0.002 }')"
	near "$(agg "$output" model model openai:alpha)" .cost_usd "$(awk -v p="$p" -v c="$c" 'BEGIN { printf "%.17g", p * 0.001 + c * 0.002 }')"
}

@test "live: a session written by mlb-send is metered with -s" {
	[ -x "$MLB_SRC/bin/mlb-send" ] || skip "mlb-send not built"
	start_server
	mlb-send -s live1 -m openai:alpha+tokens=4 hi >/dev/null
	mlb-send -s live1 -m openai:alpha+tokens=4 again >/dev/null
	run -0 mlb-meter -s live1 </dev/null
	assert_equal "$(tail -n 1 <<<"$output" | jq -c '[.scope, .session, .replies, .completion_tokens]')" '["session","live1",2,8]'
}

@test "-s: a pane that never answered counts as its model's error, and the text says why" {
	start_server
	run -3 --separate-stderr mlb-broadcast -s failed1 -m openai:alpha+tokens=3 \
		-m openai:beta+fault=500 --retries 0 --json hi
	# the stored question names the model asked
	run -0 grep -l '^Model: openai:beta+fault=500$' "$MLB_HOME"/sessions/failed1/panes/openai-beta-fault-500/*.msg
	run -0 mlb-meter -s failed1 --json </dev/null
	assert_equal "$(jq -c 'select(.scope=="model") | [.model, .replies, .errors]' <<<"$output")" \
		"$(printf '%s\n%s' '["openai:alpha+tokens=3",1,0]' '["openai:beta+fault=500",0,1]')"
	assert_equal "$(jq -c 'select(.scope=="session") | .errors' <<<"$output")" 1
	run -0 mlb-meter -s failed1 --text </dev/null
	assert_line --partial 'openai:beta+fault=500 failed: HTTP 500: The server had an error'
	# on a terminal of 60 columns the reason wraps at words, under its text
	script -qec "stty cols 60 rows 24; NO_COLOR=1 mlb-meter -s failed1" /dev/null | tr -d '\r' >"$BATS_TEST_TMPDIR/report"
	run cat "$BATS_TEST_TMPDIR/report"
	assert_line "$(printf '\xe2\x9c\x97') openai:beta+fault=500 failed: HTTP 500: The server had an"
	assert_line "  error while processing your request. Sorry about that!"
}

@test "unit: lib/meter.c" {
	[ -x "$MLB_SRC/build/tests/test-meter" ] || skip "run 'make unit' first"
	run -0 "$MLB_SRC/build/tests/test-meter"
	assert_output --regexp "[0-9]+ checks, 0 failed"
}
