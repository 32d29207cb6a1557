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
