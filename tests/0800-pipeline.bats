#!/usr/bin/env bats
# mlb-pipeline: templates of steps that run unattended, in the order their
# needs give, independent steps at once, one commit per step.

load helpers/common

setup() {
	clean_world
	start_server
	cd "$BATS_TEST_TMPDIR"
}

# tpl NAME JSON: write a template file NAME.json in the test's directory.
tpl() {
	printf '%s\n' "$2" >"$1.json"
}

# The last user message of each request in the server's log, whatever the wire kind.
LAST_USER='(.body.messages[-1].content // .body.contents[-1].parts[0].text)'

# prompt_of MODEL: the last user message of the last request to MODEL.
prompt_of() {
	jq -rs --arg m "$1" "[.[] | select(.model == \$m)] | last | $LAST_USER" "$MLB_SERVER_LOG"
}

# stage STEP: the stage of the last step_* status event of STEP in $output.
stage() {
	jq -r --arg s "$1" 'select(.type=="status" and .step==$s and (.stage | startswith("step_"))) | .stage' <<<"$output" | tail -n 1
}

# The example of the issue, with models of the local server.
review='{"name": "review", "description": "draft twice, check facts, critique, brief",
 "vars": {"topic": "tides"},
 "steps": [
  {"id": "draft", "models": ["groq:alpha", "gemini:beta"], "prompt": "Write about {{topic}}."},
  {"id": "facts", "models": ["openai:gamma"], "prompt": "List facts about {{topic}}."},
  {"id": "critique", "needs": ["draft", "facts"], "models": ["anthropic:echo"], "prompt": "Critique:\n{{draft}}\nFacts:\n{{facts}}"},
  {"id": "brief", "needs": ["critique"], "summarize": "executive", "models": ["openai:echo"]}
 ]}'

@test "the unit tests of the template parser pass" {
	[ -x "$MLB_SRC/build/tests/test-template" ] || fail "build/tests/test-template is not built; run 'make unit'"
	run "$MLB_SRC/build/tests/test-template"
	assert_success
	assert_output --regexp '[1-9][0-9]* checks, 0 failed'
}

@test "steps run in the order of their needs, each stored as one commit, every event tagged" {
	tpl review "$review"
	run --separate-stderr mlb-pipeline run review.json -s rev --json
	assert_success
	# each step starts only after what it needs is done
	order=$(jq -r 'select(.type=="status" and (.stage=="step_start" or .stage=="step_done")) | "\(.stage) \(.step)"' <<<"$output")
	line() { grep -nx "$1" <<<"$order" | cut -d: -f1; }
	[ "$(line 'step_start critique')" -gt "$(line 'step_done draft')" ]
	[ "$(line 'step_start critique')" -gt "$(line 'step_done facts')" ]
	[ "$(line 'step_start brief')" -gt "$(line 'step_done critique')" ]
	[ "$(line 'step_start facts')" -lt "$(line 'step_done draft')" ]
	for s in draft facts critique brief; do assert_equal "$(stage $s)" step_done; done
	# pane names: <step> for one model, <step>-<n> for several
	assert_equal "$(jq -r 'select(.type=="final") | "\(.step)/\(.pane)=\(.model)"' <<<"$output" | sort | tr '\n' ' ')" \
		"brief/brief=openai:echo critique/critique=anthropic:echo draft/draft-1=groq:alpha draft/draft-2=gemini:beta facts/facts=openai:gamma "
	assert_equal "$(jq -c 'select(.stage=="step_start" and .step=="draft") | .panes' <<<"$output")" '["draft-1","draft-2"]'
	# one run id on every event; each event of a model names its pane and step
	assert_equal "$(jq -r '.run' <<<"$output" | sort -u | wc -l)" "1"
	assert_equal "$(jq -r 'select(.run == null)' <<<"$output")" ""
	assert_equal "$(jq -r 'select(.type=="token" or .type=="final" or .type=="meter") | select(.scope != "run") | select(.pane == null or .step == null)' <<<"$output")" ""
	# the session: its first commit and one commit per step
	assert_equal "$(git -C "$MLB_HOME/sessions/rev" rev-list --count HEAD)" "5"
	assert_equal "$(jq -r 'select(.type=="final") | "\(.step) \(.commit)"' <<<"$output" | sort -u | wc -l)" "4"
	assert_equal "$(jq -r 'select(.type=="final" and .step=="draft").commit' <<<"$output" | sort -u | wc -l)" "1"
	git -C "$MLB_HOME/sessions/rev" log --format=%s | grep -q '^mlb-pipeline: 2 panes: Write about tides.$'
	git -C "$MLB_HOME/sessions/rev" fsck --strict
	# the summarize step summarized the answers of what it needs, with provenance
	brief=$(prompt_of echo)
	[[ $brief == *"$(head -n 1 "$MLB_SRC/share/mlb/prompts/executive.txt")"* ]]
	[[ $brief == *"pane critique (anthropic:echo)"* ]]
	grep -q '^Source-1: rev/critique anthropic:echo sha256:' "$(nth_msg "$MLB_HOME/sessions/rev/panes/brief" 1)"
	# the run's totals and end
	assert_equal "$(jq -r 'select(.type=="meter" and .scope=="run") | .completion_tokens > 0' <<<"$output")" "true"
	assert_equal "$(jq -c 'select(.stage=="run_done") | [.steps, .done, .failed, .skipped, .exit]' <<<"$output")" "[4,4,0,0,0]"
	assert_no_key "$MLB_HOME" <(printf '%s' "$output")
}

@test "independent steps run at once: two slow steps take about the time of one" {
	tpl two '{"steps": [
		{"id": "a", "models": ["openai:slowa+tokens=15+delay=100"], "prompt": "a"},
		{"id": "b", "models": ["gemini:slowb+tokens=15+delay=100"], "prompt": "b"},
		{"id": "c", "needs": ["a", "b"], "models": ["openai:echo"], "prompt": "{{a}} / {{b}}"}]}'
	start=$(date +%s%N)
	run --separate-stderr mlb-pipeline run two.json --json
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_success
	sum=$(jq -s '[.[] | select(.type=="meter" and (.step=="a" or .step=="b")) | .latency_ms] | add' <<<"$output")
	[ "$sum" -ge 2800 ] || fail "the slow models took only $sum ms together"
	# one after the other would take the sum and more; together, about one of them
	[ $(( elapsed * 4 )) -lt $(( sum * 3 )) ] || fail "took $elapsed ms for steps of $sum ms together"
	# b started before a finished
	n_b=$(jq -s 'map(select(.type=="status" and .stage=="step_start" and .step=="b")) | length' <<<"$output")
	assert_equal "$n_b" "1"
	first_done=$(jq -r 'select(.type=="status" and .stage=="step_done") | .step' <<<"$output" | head -n 1)
	starts_before=$(awk -v d="$first_done" '/"stage":"step_start"/ { s++ } /"stage":"step_done"/ { print s; exit }' <<<"$output")
	assert_equal "$starts_before" "2"
}

@test "variables: the template's, then MLB_VAR_<name>, then --var, in rising priority, also in models" {
	tpl vars '{"vars": {"a": "T-a", "b": "T-b", "c": "T-c", "m": "alpha"},
		"steps": [{"id": "s", "models": ["openai:{{m}}"], "system": "sys {{a}}", "prompt": "{{a}} {{b}} {{c}} {{d}}"}]}'
	MLB_VAR_b=E-b MLB_VAR_c=E-c MLB_VAR_d=E-d MLB_VAR_m=echo run --separate-stderr mlb-pipeline run vars.json --var c=O-c --json
	assert_success
	assert_equal "$(prompt_of echo)" "T-a E-b O-c E-d"
	assert_equal "$(jq -r 'select(.model=="echo") | .body.messages[0].content' "$MLB_SERVER_LOG")" "sys T-a"
	assert_equal "$(jq -r 'select(.type=="final").model' <<<"$output")" "openai:echo"
	# --var wins over everything, in a model too
	: >"$MLB_SERVER_LOG"
	MLB_VAR_d=E-d run --separate-stderr mlb-pipeline run vars.json --var m=beta --var a=O-a --json
	assert_success
	assert_equal "$(jq -r '.model' "$MLB_SERVER_LOG")" "beta"
	assert_equal "$(jq -r '.body.messages[-1].content' "$MLB_SERVER_LOG")" "O-a T-b T-c E-d"
	run -2 mlb-pipeline run vars.json --var novalue
	run -2 mlb-pipeline run vars.json --var 'bad name=x'
}

@test "{{step}} is every answer headed by its model; {{step.N}} is the Nth model's answer" {
	tpl out '{"steps": [
		{"id": "src", "models": ["openai:alpha", "gemini:beta"], "prompt": "x"},
		{"id": "use", "needs": ["src"], "models": ["anthropic:echo"], "prompt": "ALL:\n{{src}}\nONE: {{ src.1 }}\nTWO: {{src.2}}\nLITERAL: {{{{src}} {{nothing here"}]}'
	run --separate-stderr mlb-pipeline run out.json --json
	assert_success
	a=$(jq -r 'select(.type=="final" and .pane=="src-1").content' <<<"$output")
	b=$(jq -r 'select(.type=="final" and .pane=="src-2").content' <<<"$output")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]
	expected=$(printf 'ALL:\n### openai:alpha (src-1)\n%s\n\n### gemini:beta (src-2)\n%s\nONE: %s\nTWO: %s\nLITERAL: {{src}} {{nothing here' "$a" "$b" "$a" "$b")
	assert_equal "$(prompt_of echo)" "$expected"
	# echo answers with the prompt: the stored answer shows the expansion too
	assert_equal "$(jq -r 'select(.type=="final" and .step=="use").content' <<<"$output")" "$expected"
}

@test "a failed step skips what needs it; the rest go on; exit 3 with an account" {
	tpl fail '{"name": "flaky", "steps": [
		{"id": "ok1", "models": ["openai:alpha"], "prompt": "fine"},
		{"id": "bad", "models": ["openai:x+fault=500", "gemini:y+fault=401"], "prompt": "boom"},
		{"id": "dep", "needs": ["bad"], "models": ["openai:echo"], "prompt": "{{bad}}"},
		{"id": "dep2", "needs": ["dep", "ok1"], "models": ["openai:echo"], "prompt": "{{dep}}"},
		{"id": "other", "needs": ["ok1"], "models": ["openai:echo", "anthropic:z+fault=500"], "prompt": "{{ok1.1}}"}]}'
	run -3 --separate-stderr mlb-pipeline run fail.json -s fl --retries 0 --json
	assert_equal "$(stage ok1)" step_done
	assert_equal "$(stage bad)" step_failed
	assert_equal "$(stage dep)" step_skipped
	assert_equal "$(stage dep2)" step_skipped
	assert_equal "$(stage other)" step_done
	assert_equal "$(jq -r 'select(.stage=="step_skipped") | "\(.step): \(.reason)"' <<<"$output")" \
		"dep: needs 'bad', which failed"$'\n'"dep2: needs 'dep', which was skipped"
	assert_equal "$(jq -c 'select(.stage=="step_failed") | [.errors[] | [.pane, .code]]' <<<"$output")" '[["bad-1","server"],["bad-2","auth"]]'
	assert_equal "$(jq -c 'select(.stage=="step_done" and .step=="other") | [.ok, .failed]' <<<"$output")" "[1,1]"
	# nothing was sent for the skipped steps
	assert_equal "$(jq -r 'select(.model=="echo") | .body.messages[-1].content' "$MLB_SERVER_LOG")" \
		"$(jq -r 'select(.type=="final" and .pane=="ok1").content' <<<"$output")"
	# the account on stderr: what ran, what failed, what was skipped
	[[ $stderr == *"flaky: 2 of 5 steps done, 1 failed, 0 cancelled, 2 skipped; cost "*"; session fl, run "* ]]
	[[ $stderr == *"  done      ok1: 1 of 1 model answered"* ]]
	[[ $stderr == *"  failed    bad: 0 of 2 models answered"* ]]
	[[ $stderr == *"bad-1 (openai:x+fault=500) failed: HTTP 500"* ]]
	[[ $stderr == *"bad-2 (gemini:y+fault=401) failed: HTTP 401"*"(check GOOGLE_API_KEY)"* ]]
	[[ $stderr == *"  skipped   dep: needs 'bad', which failed"* ]]
	[[ $stderr == *"  skipped   dep2: needs 'dep', which was skipped"* ]]
	[[ $stderr == *"  done      other: 1 of 2 models answered"* ]]
	# stored: the session's first commit, ok1, other, and the failed step's questions, unanswered
	assert_equal "$(git -C "$MLB_HOME/sessions/fl" rev-list --count HEAD)" "4"
	grep -qx "Unanswered: true" "$(nth_msg "$MLB_HOME/sessions/fl/panes/bad-1" 1)"
	[ ! -e "$(nth_msg "$MLB_HOME/sessions/fl/panes/bad-1" 2)" ]
	[ ! -e "$MLB_HOME/sessions/fl/panes/dep" ]
	# nothing succeeded at all: exit 1
	tpl none '{"steps": [{"id": "a", "models": ["openai:x+fault=500"], "prompt": "p"},
		{"id": "b", "needs": ["a"], "models": ["openai:echo"], "prompt": "q"}]}'
	run -1 --separate-stderr mlb-pipeline run none.json --retries 0 --json
	[[ $stderr == *"none: 0 of 2 steps done, 1 failed, 0 cancelled, 1 skipped"* ]]
	# a model failing in a step that still answered makes the run partial
	tpl part '{"steps": [{"id": "a", "models": ["openai:alpha", "openai:x+fault=500"], "prompt": "p"}]}'
	run -3 --separate-stderr mlb-pipeline run part.json --retries 0 --json
	assert_equal "$(stage a)" step_done
}

# invalid NAME JSON LINE: the template is refused with exit 2, the line on stderr, nothing sent.
invalid() {
	tpl "$1" "$2"
	run -2 --separate-stderr mlb-pipeline run "$1.json" --json
	[ -z "$output" ] || fail "$1: wrote to stdout: $output"
	[[ $stderr == *"$3"* ]] || fail "$1: stderr lacks '$3': $stderr"
	run -2 --separate-stderr mlb-pipeline validate "$1.json"
	[[ $stderr == *"$3"* ]] || fail "validate $1: stderr lacks '$3'"
	[ ! -s "$MLB_SERVER_LOG" ] || fail "$1: a request was sent"
	[ ! -d "$MLB_HOME/sessions" ] || fail "$1: a session was made"
}

@test "every validation problem exits 2 before any request, one line each naming file, step and fix" {
	invalid json '{"steps": [
  {"id": "a",, "models": ["openai:echo"]}]}' "mlb-pipeline: json.json:2:14: malformed JSON: "
	invalid needs "${review/\"needs\": \[\"draft\", \"facts\"\]/\"needs\": [\"drafts\", \"facts\"]}" \
		"mlb-pipeline: needs.json: step 'critique': needs unknown step 'drafts' (known: draft, facts, brief); did you mean 'draft'?"
	invalid dup '{"steps": [{"id": "a", "models": ["openai:echo"], "prompt": "p"}, {"id": "a", "models": ["openai:echo"], "prompt": "q"}]}' \
		"mlb-pipeline: dup.json: step 'a': the id is already used by step 1; give each step its own id"
	invalid cycle '{"steps": [{"id": "a", "needs": ["b"], "models": ["openai:echo"], "prompt": "p"}, {"id": "b", "needs": ["a"], "models": ["openai:echo"], "prompt": "q"}]}' \
		"mlb-pipeline: cycle.json: step 'a': is in a cycle (a needs b, b needs a); remove one of these needs"
	invalid undef '{"vars": {"topic": "x"}, "steps": [{"id": "a", "models": ["openai:echo"], "prompt": "{{topc}}"}]}' \
		"mlb-pipeline: undef.json: step 'a': {{topc}} is neither a variable nor a step it needs (variables: topic); set it in \"vars\", with --var topc=<value> or in MLB_VAR_topc, or did you mean {{topic}}?"
	invalid notneeded '{"steps": [{"id": "a", "models": ["openai:echo"], "prompt": "p"}, {"id": "b", "models": ["openai:echo"], "prompt": "{{a}}"}]}' \
		"mlb-pipeline: notneeded.json: step 'b': {{a}} is the output of step 'a', which it does not need; add \"a\" to its needs"
	invalid provider '{"steps": [{"id": "a", "models": ["grok:x"], "prompt": "p"}]}' \
		"mlb-pipeline: provider.json: step 'a': model 'grok:x': unknown provider 'grok' (known: litellm, openai, groq, openrouter, ollama, gemini, anthropic, brave); did you mean 'groq'?"
	invalid form '{"steps": [{"id": "a", "models": ["gpt-4o"], "prompt": "p"}]}' \
		"mlb-pipeline: form.json: step 'a': model 'gpt-4o' is not provider:model; write it as e.g. openai:gpt-4o"
	unset ANTHROPIC_API_KEY
	invalid key '{"steps": [{"id": "a", "models": ["anthropic:x"], "prompt": "p"}]}' \
		"mlb-pipeline: key.json: step 'a': model 'anthropic:x': no key: set ANTHROPIC_API_KEY to the anthropic API key"
	# every problem is reported, not only the first
	tpl many '{"steps": [
		{"id": "a", "needs": ["zz"], "models": ["grok:x", "anthropic:y"], "prompt": "{{nope}}"},
		{"id": "a", "models": ["openai:echo"], "prompt": "p", "sytem": "s"}]}'
	run -2 --separate-stderr mlb-pipeline run many.json
	assert_equal "$stderr" "mlb-pipeline: many.json: step 'a': unknown key 'sytem' (known: id, needs, models, prompt, system, options, summarize, expect, search, count); did you mean 'system'?
mlb-pipeline: many.json: step 'a': the id is already used by step 1; give each step its own id
mlb-pipeline: many.json: step 'a': needs unknown step 'zz' (known: a); fix the id or add the step
mlb-pipeline: many.json: step 'a': {{nope}} is neither a variable nor a step it needs (variables: none); set it in \"vars\", with --var nope=<value> or in MLB_VAR_nope
mlb-pipeline: many.json: step 'a': model 'grok:x': unknown provider 'grok' (known: litellm, openai, groq, openrouter, ollama, gemini, anthropic, brave); did you mean 'groq'?
mlb-pipeline: many.json: step 'a': model 'anthropic:y': no key: set ANTHROPIC_API_KEY to the anthropic API key"
	[ ! -s "$MLB_SERVER_LOG" ]
	# a placeholder that only --var defines passes once it is given
	tpl later '{"steps": [{"id": "a", "models": ["openai:echo"], "prompt": "{{who}}"}]}'
	run -2 mlb-pipeline validate later.json
	run mlb-pipeline validate later.json --var who=me
	assert_success
	assert_output "later.json: ok: 1 step in 1 wave"
	# a template that cannot be found
	run -2 --separate-stderr mlb-pipeline run nosuch
	[[ $stderr == *"no template called 'nosuch'"* ]]
	run -2 --separate-stderr mlb-pipeline run ./missing.json
	[[ $stderr == *"cannot read the template file './missing.json'"* ]]
	[ ! -s "$MLB_SERVER_LOG" ]
}

@test "--lock: a second run of the same template exits 1 while the first runs, and after it the lock is free" {
	tpl slow '{"name": "slow", "steps": [{"id": "a", "models": ["openai:slow+tokens=40+delay=100"], "prompt": "p"}]}'
	mlb-pipeline run slow.json --lock --json >first.out 2>first.err &
	pid=$!
	for _ in $(seq 1 100); do grep -q '"step_start"' first.out 2>/dev/null && break; sleep 0.05; done
	run -1 --separate-stderr mlb-pipeline run slow.json --lock --json
	[ -z "$output" ]
	[[ $stderr == *"template 'slow' is still running ($MLB_HOME/locks/slow.lock is locked); try again when it has finished"* ]]
	# without --lock nothing stops a second run; a dry run needs no lock
	run mlb-pipeline run slow.json --lock --dry-run --text
	assert_success
	wait "$pid"
	run --separate-stderr mlb-pipeline run slow.json --lock --json --var unused=1
	assert_success
	# a run killed outright leaves no stale lock behind
	mlb-pipeline run slow.json --lock --json >third.out 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do grep -q '"step_start"' third.out 2>/dev/null && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" || true
	tpl quick '{"name": "slow", "steps": [{"id": "a", "models": ["openai:echo"], "prompt": "p"}]}'
	run --separate-stderr mlb-pipeline run quick.json --lock --json
	assert_success
}

@test "--dry-run prints the waves and the expanded prompts and sends nothing" {
	tpl review "$review"
	run --separate-stderr mlb-pipeline run review.json --dry-run --text --var topic=moons
	assert_success
	assert_line "pipeline review: draft twice, check facts, critique, brief"
	assert_line "4 steps in 3 waves; --dry-run: nothing is sent"
	assert_line "  wave 1: draft, facts"
	assert_line "  wave 2: critique"
	assert_line "  wave 3: brief"
	assert_line "== step critique (wave 2; needs draft, facts) =="
	assert_line "models: groq:alpha (pane draft-1), gemini:beta (pane draft-2)"
	assert_line "Write about moons."
	assert_line "«output of draft»"
	assert_line "«output of critique»"
	assert_line "### Answer 1: pane critique (anthropic:echo)"
	run --separate-stderr mlb-pipeline run review.json --dry-run --json
	assert_success
	assert_equal "$(jq -r '"\(.wave) \(.step)"' <<<"$output" | tr '\n' ' ')" "1 draft 1 facts 2 critique 3 brief "
	assert_equal "$(jq -r 'select(.step=="critique").prompt' <<<"$output")" $'Critique:\n«output of draft»\nFacts:\n«output of facts»'
	[ ! -s "$MLB_SERVER_LOG" ]
	[ ! -d "$MLB_HOME/sessions" ]
	[ ! -f "$MLB_HOME/pipeline-usage.json" ]
}

@test "--log appends every event to a file as well as to stdout" {
	tpl review "$review"
	run --separate-stderr mlb-pipeline run review.json --log run.log --json
	assert_success
	assert_equal "$(cat run.log)" "$output"
	n=$(wc -l <run.log)
	# a second run appends; text on stdout, events still in the log
	run --separate-stderr mlb-pipeline run review.json --log run.log --text
	assert_success
	assert_line "== facts (openai:gamma) =="
	[ "$(wc -l <run.log)" -gt $(( n + 10 )) ]
	assert_equal "$(jq -r 'select(.stage=="run_done").exit' run.log | tr '\n' ' ')" "0 0 "
	assert_equal "$(jq -r '.run' run.log | sort -u | wc -l)" "2"
	run -1 --separate-stderr mlb-pipeline run review.json --log /nonexistent/dir/run.log
	[[ $stderr == *"cannot open the log file '/nonexistent/dir/run.log'"* ]]
}

@test "--budget: refuse when the first wave's prompts cost too much; stop when the replies reach it" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "openai:echo"]\n\tinput = 0.01\n\toutput = 0.01\n' >"$XDG_CONFIG_HOME/mlb/config"
	tpl big "{\"steps\": [{\"id\": \"a\", \"models\": [\"openai:echo\"], \"prompt\": \"$(printf 'word %.0s' $(seq 1 100))\"}]}"
	run -4 --separate-stderr mlb-pipeline run big.json --budget 0.05 --json
	[[ $stderr == *"over the budget of \$0.050000"* ]]
	[ ! -s "$MLB_SERVER_LOG" ]
	tpl stop '{"steps": [
		{"id": "a", "models": ["openai:echo"], "prompt": "hi there"},
		{"id": "b", "needs": ["a"], "models": ["openai:echo"], "prompt": "more {{a}}"},
		{"id": "slow", "models": ["gemini:slow+tokens=100+delay=50"], "prompt": "long"}]}'
	run -4 --separate-stderr mlb-pipeline run stop.json --budget 0.03 --json
	assert_equal "$(jq -r 'select(.type=="error" and .code=="budget") | .step' <<<"$output")" "a"
	# a reaches the budget as it streams: it is cancelled there, its first words kept
	assert_equal "$(stage a)" step_cancelled
	assert_equal "$(jq -r 'select(.type=="final" and .step=="a").partial' <<<"$output")" "true"
	assert_equal "$(stage slow)" step_cancelled
	assert_equal "$(stage b)" step_skipped
	assert_equal "$(jq -r 'select(.stage=="step_skipped").reason' <<<"$output")" "not started: the budget was reached"
	assert_equal "$(jq -r "$LAST_USER" "$MLB_SERVER_LOG" | sort | tr '\n' ' ')" "hi there long "
	run -2 mlb-pipeline run stop.json --budget lots
}

@test "save --from-session makes a template of a conversation's turns that runs again" {
	mlb-broadcast -s conv -m openai:echo -m gemini:echo "first {{question}}" >/dev/null 2>&1
	mlb-broadcast -s conv -m openai:echo -m gemini:echo -S "be brief" "second" >/dev/null 2>&1
	run --separate-stderr mlb-pipeline save --from-session conv --name again
	assert_success
	file="$XDG_CONFIG_HOME/mlb/pipelines/again.json"
	[[ $stderr == *"template 'again' saved in $file"* ]]
	assert_equal "$(jq -c '[.name, (.steps[] | [.id, .needs, .models, .system, .prompt])]' "$file")" \
		'["again",["turn-1",null,["gemini:echo","openai:echo"],null,"first {{{{question}}"],["turn-2",["turn-1"],["gemini:echo","openai:echo"],"be brief","second"]]'
	run mlb-pipeline validate again
	assert_success
	: >"$MLB_SERVER_LOG"
	run --separate-stderr mlb-pipeline run again -s replay --json
	assert_success
	assert_equal "$(jq -r "$LAST_USER" "$MLB_SERVER_LOG" | sort | uniq -c | sed 's/^ *//' | tr '\n' '|')" \
		"2 first {{question}}|2 second|"
	# an existing template is kept unless --force
	run -1 --separate-stderr mlb-pipeline save --from-session replay --name again
	[[ $stderr == *"there is already a template 'again'"*"--force"* ]]
	run --separate-stderr mlb-pipeline save --from-session replay --name again --force
	assert_success
	run -1 --separate-stderr mlb-pipeline save --from-session nosuch --name x
	run -2 mlb-pipeline save --from-session conv
	run -2 mlb-pipeline save --from-session conv --name 'bad name'
}

@test "list, show, validate, export and import" {
	run --separate-stderr mlb-pipeline list --text
	assert_success
	assert_line --regexp '^NAME +USES +WHERE +DESCRIPTION$'
	assert_line --regexp '^compare-and-summarize +0 +shipped +ask several models'
	assert_line --regexp '^draft-critique-revise +0 +shipped '
	assert_line --regexp '^translate-and-back-translate +0 +shipped '
	assert_line --regexp '^nightly-review +0 +shipped +for cron'
	# text is the default in a pipe too
	run --separate-stderr mlb-pipeline list
	assert_line --index 0 --regexp '^NAME +USES +WHERE +DESCRIPTION$'
	tpl review "$review"
	run --separate-stderr mlb-pipeline import review.json
	assert_success
	cmp review.json "$XDG_CONFIG_HOME/mlb/pipelines/review.json"
	run --separate-stderr mlb-pipeline import review.json
	assert_success
	# a different template of the same name is not overwritten without --force
	tpl other '{"name": "review", "steps": [{"id": "a", "models": ["openai:echo"], "prompt": "p"}]}'
	run -1 --separate-stderr mlb-pipeline import other.json
	[[ $stderr == *"there is already a template 'review'"* ]]
	cmp review.json "$XDG_CONFIG_HOME/mlb/pipelines/review.json"
	run --separate-stderr mlb-pipeline import other.json --name other-review
	assert_success
	assert_equal "$(jq -r .name "$XDG_CONFIG_HOME/mlb/pipelines/other-review.json")" "other-review"
	run -2 --separate-stderr mlb-pipeline import many-problems.json
	tpl broken '{"steps": [{"id": "a", "models": ["grok:x"], "prompt": "p"}]}'
	run -2 --separate-stderr mlb-pipeline import broken.json
	[ ! -f "$XDG_CONFIG_HOME/mlb/pipelines/broken.json" ]
	# usage counts: runs count, dry runs do not
	mlb-pipeline run review --json >/dev/null 2>&1
	mlb-pipeline run review --json >/dev/null 2>&1
	mlb-pipeline run review --dry-run --json >/dev/null 2>&1
	run --separate-stderr mlb-pipeline list --json
	assert_equal "$(jq -r 'select(.name=="review") | "\(.where) \(.uses) \(.description)"' <<<"$output")" \
		"user 2 draft twice, check facts, critique, brief"
	assert_equal "$(jq -r '.name' <<<"$output" | tr '\n' ' ')" \
		"compare-and-summarize draft-critique-revise nightly-review other-review review search-and-synthesize translate-and-back-translate "
	assert_equal "$(jq -r '.review.uses' "$MLB_HOME/pipeline-usage.json")" "2"
	run mlb-pipeline list --text
	assert_line --regexp '^review +2 +user +draft twice, check facts, critique, brief$'
	# a user's template hides a shipped one of the same name
	sed 's/"name": "review"/"name": "compare-and-summarize"/' review.json >"$XDG_CONFIG_HOME/mlb/pipelines/compare-and-summarize.json"
	run mlb-pipeline list --text
	assert_line --regexp '^compare-and-summarize +0 +user +draft twice'
	rm "$XDG_CONFIG_HOME/mlb/pipelines/compare-and-summarize.json"
	# export prints the file as it is
	run --separate-stderr mlb-pipeline export review
	assert_success
	assert_equal "$output" "$(cat review.json)"
	run -2 --separate-stderr mlb-pipeline export nosuch
	# show: the template, pretty, and its order
	run --separate-stderr mlb-pipeline show review --json
	assert_success
	assert_equal "$(jq -c '.waves' <<<"$output")" '[["draft","facts"],["critique"],["brief"]]'
	assert_equal "$(jq -c '.template' <<<"$output")" "$(jq -c . review.json)"
	run --separate-stderr mlb-pipeline show review.json --text
	assert_success
	assert_line '  "name": "review",'
	assert_line "order (4 steps in 3 waves):"
	assert_line "  wave 1: draft, facts"
	assert_line "  wave 3: brief"
	run -2 --separate-stderr mlb-pipeline show broken.json.nope
	# validate
	run mlb-pipeline validate review
	assert_success
	assert_output "$XDG_CONFIG_HOME/mlb/pipelines/review.json: ok: 4 steps in 3 waves"
}

@test "the shipped templates validate, and run against the local server" {
	for t in compare-and-summarize draft-critique-revise nightly-review translate-and-back-translate; do
		[ -f "$MLB_SRC/share/mlb/pipelines/$t.json" ] || fail "$t is not shipped"
		run --separate-stderr mlb-pipeline validate "$t"
		assert_success
		assert_equal "$(jq -r .name "$MLB_SRC/share/mlb/pipelines/$t.json")" "$t"
		run --separate-stderr mlb-pipeline run "$t" --dry-run --json
		assert_success
	done
	run --separate-stderr mlb-pipeline run translate-and-back-translate --var text="Bonjour" \
		--var translator=openai:echo --var back_translator=gemini:echo --var checker=anthropic:alpha --json
	assert_success
	assert_equal "$(jq -r 'select(.type=="final" and .step=="back").content' <<<"$output")" \
		"$(printf 'Translate this French text into English. Give only the translation.\n\nTranslate this English text into French. Give only the translation.\n\nBonjour')"
	assert_equal "$(jq -r 'select(.kind=="openai").body.temperature' "$MLB_SERVER_LOG")" "0"
	run --separate-stderr mlb-pipeline run compare-and-summarize --json
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").pane' <<<"$output" | sort | tr '\n' ' ')" "ask-1 ask-2 ask-3 summary "
}

@test "text on a terminal-less --text run: the answers under their panes, the account on stderr" {
	tpl review "$review"
	run --separate-stderr mlb-pipeline run review.json --text
	assert_success
	assert_line "== draft-1 (groq:alpha) =="
	assert_line "== brief (openai:echo) =="
	refute_output --partial '"type"'
	[[ $stderr == *"review: 4 of 4 steps done, 0 failed, 0 cancelled, 0 skipped"* ]]
}

@test "the crontab line and the CI step of the documentation run as written" {
	tpl nightly-review '{"name": "nightly-review", "steps": [
		{"id": "a", "models": ["openai:alpha", "anthropic:beta"], "prompt": "look"},
		{"id": "b", "needs": ["a"], "summarize": "bullet", "models": ["openai:echo"]}]}'
	mlb-pipeline import nightly-review.json 2>/dev/null
	mkdir -p "$HOME/mlb"
	# as cron runs it: sh, no terminal, nothing on stdin
	run sh -c '0<&- mlb-pipeline run nightly-review --lock --budget 1 --log "$HOME/mlb/nightly.ndjson" >/dev/null 2>>"$HOME/mlb/nightly.err"'
	assert_success
	assert_equal "$(jq -r 'select(.stage=="run_done").exit' "$HOME/mlb/nightly.ndjson")" "0"
	assert_equal "$(cat "$HOME/mlb/nightly.err")" "mlb-pipeline: session $(jq -r 'select(.stage=="run_done").session' "$HOME/mlb/nightly.ndjson")"
	mkdir ci
	tpl ci/review '{"vars": {"notes": "none"}, "steps": [{"id": "review", "models": ["openai:echo", "anthropic:echo"], "prompt": "Review:\n{{notes}}"}]}'
	printf 'v1.2: faster tides\n' >NOTES.md
	export GITHUB_RUN_ID=4242
	run bash -ec 'mlb-pipeline validate ci/review.json
		mlb-pipeline run ci/review.json --var notes="$(cat NOTES.md)" -s "ci-$GITHUB_RUN_ID" \
			--budget 0.50 --log review.ndjson --text'
	assert_success
	assert_line "== review-1 (openai:echo) =="
	assert_line "v1.2: faster tides"
	[ -d "$MLB_HOME/sessions/ci-4242/panes/review-2" ]
	assert_equal "$(jq -r 'select(.type=="final").content' review.ndjson | sort -u)" $'Review:\nv1.2: faster tides'
	# a failing step fails the job
	tpl ci/review '{"steps": [{"id": "review", "models": ["openai:x+fault=500"], "prompt": "p"}]}'
	run bash -ec 'mlb-pipeline run ci/review.json --retries 0 --text; echo unreachable'
	assert_failure 1
	refute_output --partial unreachable
}

@test "Ctrl-C cancels what runs, starts nothing more, stores the partials and exits 130" {
	tpl slow '{"steps": [
		{"id": "a", "models": ["openai:s+tokens=400+delay=20", "gemini:s+tokens=400+delay=20"], "prompt": "p"},
		{"id": "b", "needs": ["a"], "models": ["openai:echo"], "prompt": "{{a}}"}]}'
	mlb-pipeline run slow.json -s intr --json >out 2>err &
	pid=$!
	for _ in $(seq 1 100); do grep -q '"token"' out 2>/dev/null && break; sleep 0.05; done
	sleep 0.3
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" "130"
	output=$(cat out)
	assert_equal "$(stage a)" step_cancelled
	assert_equal "$(stage b)" step_skipped
	assert_equal "$(jq -r 'select(.stage=="run_done").exit' out)" "130"
	for p in a-1 a-2; do
		grep -qx "Cancelled: true" "$(nth_msg "$MLB_HOME/sessions/intr/panes/$p" 2)"
	done
	[ ! -d "$MLB_HOME/sessions/intr/panes/b" ]
	git -C "$MLB_HOME/sessions/intr" fsck --strict
}

@test "usage errors exit 2" {
	run -2 --separate-stderr mlb-pipeline
	[[ $stderr == *"no command"* ]]
	run -2 --separate-stderr mlb-pipeline frobnicate x
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	run -2 --separate-stderr mlb-pipeline run
	run -2 --separate-stderr mlb-pipeline run a b
	run -2 --separate-stderr mlb-pipeline list --dry-run
	run -2 --separate-stderr mlb-pipeline validate x --lock
	run -2 --separate-stderr mlb-pipeline run x.json -s '../escape'
	run -2 --separate-stderr mlb-pipeline run x.json --bogus
	[[ $stderr == *"unknown option '--bogus'"* ]]
	run --separate-stderr mlb-pipeline --help
	assert_success
	assert_line --index 0 --partial "usage: mlb-pipeline run <file|name>"
}

@test "the manual page of the template format is clean" {
	page="$MLB_SRC/share/man/man5/mlb-pipeline.5"
	[ -f "$page" ]
	run groff -man -ww -z "$page"
	assert_success
	assert_output ""
	if command -v mandoc >/dev/null; then
		run mandoc -Tlint -W warning "$page"
		assert_output ""
	fi
}
