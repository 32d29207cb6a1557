#!/usr/bin/env bats
# Send-to of several messages at once (--from <pane>:<a>-<b>, :all), each with
# its own provenance, and usage over time (mlb-meter --all).

load helpers/common

setup() {
	clean_world
	start_server
}

session_of() {
	jq -r 'select(.type=="final").session' <<<"$1" | head -n 1
}

# a pane "src" of four messages: one, its echo, two, its echo; prints the session id
four_messages() {
	mlb-send -m openai:echo -p src "one" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	mlb-send -s "$id" -p src "two" >/dev/null 2>&1
	echo "$id"
}

@test "--from <pane>:<a>-<b> sends each moved message as its own user message, in order, each with its provenance" {
	id=$(four_messages)
	: >"$MLB_SERVER_LOG"
	run --separate-stderr mlb-send -s "$id" -p dst -m openai:echo --from src:2-4 "Compare these:"
	assert_success
	# the request: the prompt before the first moved message, then one user message each
	assert_equal "$(requests | tail -n 1 | jq -c '[.body.messages[] | [.role, .content]]')" \
		'[["user","Compare these:\n\none"],["user","two"],["user","two"]]'
	# one message event each, its own hash
	assert_equal "$(jq -s -c '[.[] | select(.type=="message") | .content]' <<<"$output")" '["Compare these:\n\none","two","two"]'
	assert_equal "$(jq -s -c '[.[] | select(.type=="message") | .provenance.source_pane] | unique' <<<"$output")" '["src"]'
	h1=$(printf 'one' | sha256sum | cut -d' ' -f1)
	h2=$(printf 'two' | sha256sum | cut -d' ' -f1)
	assert_equal "$(jq -s -c '[.[] | select(.type=="message") | .provenance.content_hash]' <<<"$output")" \
		"[\"sha256:$h1\",\"sha256:$h2\",\"sha256:$h2\"]"
	# stored: three user messages with their headers, then the reply
	d="$MLB_HOME/sessions/$id/panes/dst"
	assert_equal "$(ls "$d" | grep -c '\.msg$')" 4
	for k in 1 2 3; do
		grep -qx "Role: user" "$(nth_msg "$d" $k)"
		grep -qx "Source-Session: $id" "$(nth_msg "$d" $k)"
		grep -qx "Source-Pane: src" "$(nth_msg "$d" $k)"
		grep -q "^Transfer-Ts: " "$(nth_msg "$d" $k)"
	done
	grep -qx "Source-Hash: sha256:$h1" "$(nth_msg "$d" 1)"
	grep -qx "Source-Model: openai:echo" "$(nth_msg "$d" 1)"
	grep -qx "Source-Hash: sha256:$h2" "$(nth_msg "$d" 3)"
	grep -qx "Role: assistant" "$(nth_msg "$d" 4)"
	# the next turn of dst sends them all as history
	: >"$MLB_SERVER_LOG"
	mlb-send -s "$id" -p dst "and now?" >/dev/null 2>&1
	assert_equal "$(requests | tail -n 1 | jq -c '[.body.messages[] | .role]')" '["user","user","user","assistant","user"]'
}

@test "--from <pane>:all takes every message of the pane but its system prompt, from another session too" {
	mlb-send -m openai:echo -p src -S "be brief" "one" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	mlb-send -s "$id" -p src "two" >/dev/null 2>&1
	: >"$MLB_SERVER_LOG"
	run --separate-stderr mlb-send --no-store -m anthropic:echo --from "$id/src:all"
	assert_success
	assert_equal "$(requests | tail -n 1 | jq -c '[.body.messages[] | .content | if type=="array" then .[0].text else . end]')" \
		'["one","one","two","two"]'
	assert_equal "$(jq -s '[.[] | select(.type=="message")] | length' <<<"$output")" 4
	assert_equal "$(requests | tail -n 1 | jq -r '.body.system // "none"')" none
}

@test "--from ranges: a bad range is a usage error, one past the end a runtime one, nothing sent" {
	id=$(four_messages)
	: >"$MLB_SERVER_LOG"
	run -2 mlb-send -s "$id" -p d -m openai:echo --from src:3-2
	assert_output --partial "a range <a>-<b> with a <= b"
	run -2 mlb-send -s "$id" -p d -m openai:echo --from src:2-
	run -2 mlb-send -s "$id" -p d -m openai:echo --from src:0-2
	run -2 mlb-send -s "$id" -p d -m openai:echo --from src:al
	run -1 mlb-send -s "$id" -p d -m openai:echo --from src:2-9
	assert_output --partial "has no message 9 (it has 4)"
	[ ! -s "$MLB_SERVER_LOG" ]
}

# redate SESSION DAY: every stored message of the session says it was written on DAY
# (history rewritten as a session written that day would be)
redate() {
	FILTER_BRANCH_SQUELCH_WARNING=1 git -C "$MLB_HOME/sessions/$1" filter-branch -f --tree-filter \
		"find . -name '*.msg' -exec sed -i 's/^Date: [0-9-]*T/Date: ${2}T/' {} +" -- --all >"$BATS_TEST_TMPDIR/fb.log" 2>&1 || { cat "$BATS_TEST_TMPDIR/fb.log"; return 1; }
	rm -rf "$MLB_HOME/sessions/$1/.git/refs/original"
}

# sum_header SESSION HEADER: the sum of a header over the stored replies of a session
sum_header() {
	cat "$MLB_HOME/sessions/$1"/panes/*/*.msg | sed -n "s/^$2: //p" | awk '{ s += $1 } END { print s + 0 }'
}

# three sessions on three days, one in a project, two providers
three_days() {
	mlb-send -m openai:echo "one two three" >out 2>/dev/null
	s1=$(session_of "$(cat out)")
	mlb-send -s "$s1" -m anthropic:echo "four five" >/dev/null 2>&1
	mlb-send -m openai:echo "six seven eight nine" >out 2>/dev/null
	s2=$(session_of "$(cat out)")
	mlb-send --project acme -m gemini:echo "ten" >out 2>/dev/null
	s3=$(session_of "$(cat out)")
	redate "$s1" 2026-11-30
	redate "$s2" 2026-12-01
	redate "$s3" 2026-12-07
}

@test "mlb-meter --all --by day|week|month adds up every session's replies per day, week and month" {
	three_days
	run --separate-stderr mlb-meter --all --by day --json
	assert_success
	assert_equal "$(jq -s -c '[.[] | select(.scope=="day") | [.day, .replies, .completion_tokens]]' <<<"$output")" \
		"[[\"2026-11-30\",2,$(sum_header "$s1" Completion-Tokens)],[\"2026-12-01\",1,$(sum_header "$s2" Completion-Tokens)],[\"2026-12-07\",1,$(sum_header "$s3" Completion-Tokens)]]"
	total=$(jq -s -c '.[] | select(.scope=="all") | [.replies, .prompt_tokens]' <<<"$output")
	p=$(( $(sum_header "$s1" Prompt-Tokens) + $(sum_header "$s2" Prompt-Tokens) + $(sum_header "$s3" Prompt-Tokens) ))
	assert_equal "$total" "[4,$p]"
	run --separate-stderr mlb-meter --all --by week --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="week") | [.week, .replies]]' <<<"$output")" '[["2026-W49",3],["2026-W50",1]]'
	run --separate-stderr mlb-meter --all --by month --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="month") | [.month, .replies]]' <<<"$output")" '[["2026-11",2],["2026-12",2]]'
}

@test "mlb-meter --all --by model|provider|project, and --since/--until keep the days asked for" {
	three_days
	run --separate-stderr mlb-meter --all --by provider --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="provider") | [.provider, .replies]]' <<<"$output")" \
		'[["anthropic",1],["gemini",1],["openai",2]]'
	run --separate-stderr mlb-meter --all --by model --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="model") | [.model, .completion_tokens]]' <<<"$output" | jq -c '.[0]')" \
		"[\"anthropic:echo\",$(sed -n 's/^Completion-Tokens: //p' "$MLB_HOME/sessions/$s1"/panes/anthropic-echo/*.msg)]"
	run --separate-stderr mlb-meter --all --by project --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="project") | [.project, .replies]]' <<<"$output")" '[["-",3],["acme",1]]'
	run --separate-stderr mlb-meter --all --since 2026-12-01 --by day --json
	assert_equal "$(jq -s -c '[.[] | select(.scope=="day") | .day]' <<<"$output")" '["2026-12-01","2026-12-07"]'
	run --separate-stderr mlb-meter --all --since 2026-11-30 --until 2026-12-01 --json
	assert_equal "$(jq -s -c '.[] | select(.scope=="all") | .replies' <<<"$output")" 3
	run --separate-stderr mlb-meter --all --until 2026-11-29 --json
	assert_equal "$(jq -s -c '.[] | select(.scope=="all") | .replies' <<<"$output")" 0
	# on a terminal of 80 columns: a table that fits, one row a day
	script -qec "stty cols 80 rows 24; mlb-meter --all --by day" /dev/null | tr -d '\r' >"$BATS_TEST_TMPDIR/table"
	run cat "$BATS_TEST_TMPDIR/table"
	assert_line --index 0 --partial "all sessions"
	assert_line --partial "2026-12-07"
	python3 -c "import sys, re; w = max(len(re.sub('\x1b\\[[0-9;]*m', '', l)) for l in open(sys.argv[1], encoding='utf-8').read().splitlines()); sys.exit(w > 80)" "$BATS_TEST_TMPDIR/table"
}

@test "mlb-meter --all: bad dates and lone --since are usage errors" {
	run -2 mlb-meter --all --since 2026-02-30
	assert_output --partial "YYYY-MM-DD"
	run -2 mlb-meter --all --until 26-01-01
	run -2 mlb-meter --all --since 2026-12-02 --until 2026-12-01
	assert_output --partial "after --until"
	run -2 mlb-meter --all --by year
	run -2 mlb-meter --since 2026-01-01 </dev/null
	assert_output --partial "--all"
	run -2 mlb-meter --all -s 20260101T000000Z-abcdef
}
