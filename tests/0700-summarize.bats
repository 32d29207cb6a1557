#!/usr/bin/env bats
# mlb-summarize: several answers condensed by one model, with provenance.

load helpers/common

setup() {
	clean_world
	start_server
	mlb-broadcast -s sum -m openai:alpha -m gemini:beta -m anthropic:gamma --panes a,b,c "what are tides" >/dev/null 2>&1
}

answer_of() {
	sed '1,/^$/d' "$(nth_msg "$MLB_HOME/sessions/sum/panes/$1" 2)"
}

@test "the request holds every source, labelled with its model, and the format instruction" {
	run --separate-stderr mlb-summarize -s sum -m openai:echo --format bullet
	assert_success
	prompt=$(tail -n 1 "$MLB_SERVER_LOG" | jq -r '.body.messages[-1].content')
	for p in a b c; do
		[[ "$prompt" == *"$(answer_of $p)"* ]] || fail "answer of pane $p missing"
	done
	[[ "$prompt" == *"pane a (openai:alpha)"* ]]
	[[ "$prompt" == *"pane b (gemini:beta)"* ]]
	[[ "$prompt" == *"pane c (anthropic:gamma)"* ]]
	[[ "$prompt" == *"$(head -n 1 "$MLB_SRC/share/mlb/prompts/bullet.txt")"* ]]
	[[ "$prompt" == *"The question was:"*"what are tides"* ]]
	for f in executive technical; do
		mlb-summarize -s sum -m openai:echo --format $f >/dev/null 2>&1
		prompt=$(tail -n 1 "$MLB_SERVER_LOG" | jq -r '.body.messages[-1].content')
		[[ "$prompt" == *"$(head -n 1 "$MLB_SRC/share/mlb/prompts/$f.txt")"* ]]
	done
}

@test "the summary is stored in summary-<n> with provenance for every source" {
	mlb-summarize -s sum -m openai:echo a b >out 2>/dev/null
	mlb-summarize -s sum -m openai:echo >out2 2>/dev/null
	dir="$MLB_HOME/sessions/sum/panes"
	[ -f "$(nth_msg "$dir/summary-1" 2)" ]
	[ -f "$(nth_msg "$dir/summary-2" 2)" ]
	grep -qx "Summary-Sources: 2" "$(nth_msg "$dir/summary-1" 1)"
	for p in a b; do
		hash=$(answer_of $p | sha256sum | cut -d' ' -f1)
		grep -q "^Source-[12]: sum/$p [a-z]*:[a-z]* sha256:$hash$" "$(nth_msg "$dir/summary-1" 1)"
	done
	# the second summary covers all three, not the first summary
	grep -qx "Summary-Sources: 3" "$(nth_msg "$dir/summary-2" 1)"
	assert_equal "$(jq -c 'select(.type=="message") | [.provenance.sources[].source_pane]' out)" '["a","b"]'
	assert_equal "$(jq -r 'select(.type=="final").pane' out)" "summary-1"
}

@test "final events on stdin are summarized and every input event passes through" {
	mlb-broadcast --no-store -m openai:alpha -m gemini:beta "q" >in 2>/dev/null
	mlb-summarize --no-store -m anthropic:echo <in >out 2>/dev/null
	n=$(wc -l <in)
	head -n "$n" out | cmp - in
	assert_equal "$(jq -s '[.[] | select(.type=="message") | .provenance.sources | length] | .[0]' out)" "2"
	assert_equal "$(jq -r 'select(.type=="final" and .pane=="summary-1").content' out | grep -c 'Answer')" "2"
}

@test "long answers are shortened and the prompt says so" {
	big=$(head -c 40000 /dev/zero | tr '\0' 'w')
	printf '{"type":"final","pane":"x","model":"openai:x","content":"%s"}\n{"type":"final","pane":"y","model":"openai:y","content":"short"}\n' "$big" >in
	mlb-summarize --no-store -m openai:echo <in >/dev/null 2>&1
	prompt=$(tail -n 1 "$MLB_SERVER_LOG" | jq -r '.body.messages[-1].content')
	[[ "$prompt" == *"[shortened: the first 16000 of 40000 bytes are shown]"* ]]
	[[ "$prompt" == *"1 answer was shortened"* ]]
}

@test "a user's prompt template overrides the shipped one" {
	mkdir -p "$XDG_CONFIG_HOME/mlb/prompts"
	echo "HOUSE STYLE: summarize in one haiku." >"$XDG_CONFIG_HOME/mlb/prompts/executive.txt"
	mlb-summarize -s sum -m openai:echo >/dev/null 2>&1
	tail -n 1 "$MLB_SERVER_LOG" | jq -r '.body.messages[-1].content' | grep -q "HOUSE STYLE"
}

@test "usage errors" {
	run -2 mlb-summarize -s sum -m openai:echo --format poem
	assert_output --partial "unknown format 'poem'"
	run -2 mlb-summarize -s ../etc -m openai:echo
	run -1 mlb-summarize -s nosuch -m openai:echo
	run -1 mlb-summarize -m openai:echo </dev/null
	assert_output --partial "no answers"
}

@test "-s S with a pane that failed: the others are summarized, the failed one is named; show says why" {
	mlb-broadcast -s partly --retries 0 -m openai:alpha -m groq:beta+fault=500 -m gemini:gamma \
		"what are tides" >/dev/null 2>&1 || true
	run --separate-stderr mlb-summarize -s partly -m openai:echo
	assert_success
	[[ $stderr == *"pane 'groq-beta-fault-500' of session 'partly' has no answer; it is left out"* ]]
	prompt=$(tail -n 1 "$MLB_SERVER_LOG" | jq -r '.body.messages[-1].content')
	[[ "$prompt" == *"(openai:alpha)"* ]]
	[[ "$prompt" == *"(gemini:gamma)"* ]]
	[[ "$prompt" != *"groq:beta"* ]]
	# named explicitly, a pane without an answer is still an error
	run -1 --separate-stderr mlb-summarize -s partly -m openai:echo groq-beta-fault-500 openai-alpha
	[[ $stderr == *"has no answer"* ]]
	# and mlb-session show says why
	run mlb-session show partly
	assert_line --partial "Error: "
}
