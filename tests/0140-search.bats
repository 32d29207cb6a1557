#!/usr/bin/env bats
# Web search in pipelines: a "search" step asks the Brave Search API on the
# local server; later steps read {{web}}; search errors behave like model errors.

load helpers/common

setup() {
	clean_world
	start_server
}

# tpl FILE: write a template to FILE from stdin.
tpl() {
	cat >"$BATS_TEST_TMPDIR/$1"
}

@test "a search step: one GET with the query and count, the key in X-Subscription-Token, results as events and as {{web}}" {
	tpl s.json <<-'EOF2'
	{"name": "s", "steps": [
	  {"id": "web", "search": "{{topic}}", "count": 3},
	  {"id": "use", "needs": ["web"], "models": ["openai:echo"], "prompt": "Sources:\n{{web}}"}]}
	EOF2
	run --separate-stderr mlb-pipeline run "$BATS_TEST_TMPDIR/s.json" -s s1 --var topic="neap tides & springs" --json
	assert_success
	req=$(jq -c 'select(.path | test("brave"))' "$MLB_SERVER_LOG")
	assert_equal "$(jq -r '[.method, .path, .query] | join(" ")' <<<"$req")" "GET /brave/res/v1/web/search q=neap%20tides%20%26%20springs&count=3"
	key_hash=$(printf %s "$MLB_TEST_KEY" | sha256sum | cut -c1-16)
	assert_equal "$(jq -r '.headers["x-subscription-token"]' <<<"$req")" "<redacted sha256:$key_hash>"
	run jq -c 'select(.type=="search_result") | [.step, .index, .title, .url]' <<<"$output"
	assert_output '["web",1,"neap tides & springs, part 1","https://example.org/neap-tides-springs/1"]
["web",2,"neap tides & springs, part 2","https://example.org/neap-tides-springs/2"]
["web",3,"neap tides & springs, part 3","https://example.org/neap-tides-springs/3"]'
	# the next step was sent the numbered results
	sent=$(jq -r 'select(.path | test("chat")) | .body.messages[-1].content' "$MLB_SERVER_LOG")
	[[ "$sent" == *"[1] neap tides & springs, part 1"$'\n'"https://example.org/neap-tides-springs/1"$'\n'"What source 1 says about neap tides & springs."* ]]
	[[ "$sent" == *"[3] neap tides & springs, part 3"* ]]
	# stored: the query and the results, in the step's pane
	run cat "$(nth_msg "$MLB_HOME/sessions/s1/panes/web" 2)"
	assert_line 'Model: brave:web'
	assert_line '[2] neap tides & springs, part 2'
	grep -qx 'neap tides & springs' <(sed '1,/^$/d' "$(nth_msg "$MLB_HOME/sessions/s1/panes/web" 1)")
	assert_no_key "$MLB_HOME" "$MLB_SERVER_LOG"
}

@test "search errors behave like model errors: 429 is retried, 401 says which key, a partial run keeps what it has" {
	tpl e.json <<-'EOF2'
	{"name": "e", "steps": [
	  {"id": "web", "search": "{{q}}"},
	  {"id": "other", "models": ["openai:echo"], "prompt": "independent"},
	  {"id": "use", "needs": ["web"], "models": ["openai:echo"], "prompt": "{{web}}"}]}
	EOF2
	run --separate-stderr mlb-pipeline run "$BATS_TEST_TMPDIR/e.json" --var q='tides+fault=429+fail_times=1+retry_after=0' --json
	assert_success
	assert_equal "$(jq -r 'select(.path | test("brave")) | .path' "$MLB_SERVER_LOG" | wc -l)" 2
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="retry") | .code' <<<"$output")" "rate_limit"
	: >"$MLB_SERVER_LOG"
	run --separate-stderr mlb-pipeline run "$BATS_TEST_TMPDIR/e.json" -s e2 --var q='tides+fault=401' --json
	assert_failure 3
	assert_equal "$(jq -r 'select(.path | test("brave")) | .path' "$MLB_SERVER_LOG" | wc -l)" 1
	assert_equal "$(jq -c 'select(.type=="error") | [.code, .http_status, .retryable]' <<<"$output")" '["auth",401,false]'
	msg=$(jq -r 'select(.type=="error") | .message' <<<"$output")
	[[ "$msg" == *"subscription token is invalid."*"BRAVE_API_KEY"* ]] || fail "message: $msg"
	assert_equal "$(jq -r 'select(.stage=="step_skipped") | .step' <<<"$output")" "use"
	[ -f "$(nth_msg "$MLB_HOME/sessions/e2/panes/other" 2)" ]
	# no key at all: validate says which variable to set
	unset BRAVE_API_KEY
	run --separate-stderr mlb-pipeline validate "$BATS_TEST_TMPDIR/e.json"
	assert_failure 2
	[[ "$stderr" == *"step 'web': model 'brave:web': no key: set BRAVE_API_KEY"* ]]
}

@test "an empty result list is said plainly, with no search_result events" {
	tpl m.json <<-'EOF2'
	{"name": "m", "steps": [{"id": "web", "search": "nothing+empty", "count": 2}]}
	EOF2
	run --separate-stderr mlb-pipeline run "$BATS_TEST_TMPDIR/m.json" --json
	assert_success
	assert_equal "$(jq -r 'select(.type=="final") | .content' <<<"$output")" "(no results)"
	assert_equal "$(jq -c 'select(.type=="search_result")' <<<"$output" | wc -l)" 0
}

@test "a search step is checked: count in range, no prompt beside search" {
	tpl b.json <<-'EOF2'
	{"name": "b", "steps": [{"id": "web", "search": "x", "count": 50, "prompt": "y"}]}
	EOF2
	run --separate-stderr mlb-pipeline validate "$BATS_TEST_TMPDIR/b.json"
	assert_failure 2
	[[ "$stderr" == *"step 'web': \"count\" is 50; give the number of results, 1 to 20"* ]]
	[[ "$stderr" == *"step 'web': a \"search\" step asks a search engine, not a model"* ]]
}

@test "the shipped search-and-synthesize: search, three analyses at once, one synthesis with the results and the analyses" {
	run --separate-stderr mlb-pipeline run search-and-synthesize -s ss --json --var topic="spring tides" \
		--var analyst_a=openai:alpha --var analyst_b=gemini:beta --var analyst_c=anthropic:gamma --var synthesizer=openai:echo
	assert_success
	assert_equal "$(jq -c 'select(.type=="search_result")' <<<"$output" | wc -l)" 5
	assert_equal "$(jq -r 'select(.stage=="step_done") | .step' <<<"$output" | tr '\n' ' ')" "web analysis synthesis "
	# the three analyses ran in one wave, each sent the results
	assert_equal "$(jq -r 'select(.stage=="step_start" and .step=="analysis") | .models | length' <<<"$output")" 3
	for m in alpha gemini anthropic; do
		grep -a "$m" "$MLB_SERVER_LOG" | grep -q 'spring tides, part 5'
	done
	synth=$(jq -r 'select(.type=="final" and .step=="synthesis") | .content' <<<"$output")
	[[ "$synth" == *"[5] spring tides, part 5"* ]]
	[[ "$synth" == *"### openai:alpha (analysis-1)"* ]]
	[ -f "$(nth_msg "$MLB_HOME/sessions/ss/panes/synthesis" 2)" ]
}
