#!/usr/bin/env bats
# Signals and inputs.  SIGHUP (a closed terminal, an ssh drop), SIGTERM (a
# CI runner) and SIGINT (Ctrl-C) mid-stream store the question and what was
# received, and the tool exits 128+N; the session's repository stays sound.
# Inputs that used to slip through: NaN, Infinity and repeated keys in
# templates, a byte-order mark, U+0000 in a moved text, session ids that
# look like options, an unreachable --quorum, an export over a file, an
# unbounded mlb-diff --all, a summary over a pane that failed.

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

@test "templates: NaN, Infinity and a repeated key are refused with file and line; nothing is sent" {
	start_server
	printf '%s\n' '{"name": "bad", "steps": [' \
		'  {"id": "a", "models": ["openai:echo"], "prompt": "p",' \
		'   "options": {"temperature": NaN, "top_p": -Infinity}},' \
		'  {"id": "b", "models": ["openai:echo"], "prompt": "first",' \
		'   "prompt": "second"}]}' >bad.json
	run -2 mlb-pipeline validate bad.json
	assert_line "mlb-pipeline: bad.json:3:31: NaN is not a JSON number; write a number or null"
	assert_line "mlb-pipeline: bad.json:3:46: Infinity is not a JSON number; write a number or null"
	assert_line "mlb-pipeline: bad.json:5:4: key \"prompt\" appears twice in one object (first on line 4); keep one"
	# the same key written with an escape is the same key
	printf '%s\n' '{"steps": [{"id": "a", "models": ["openai:echo"], "prompt": "p", "pr\u006fmpt": "q"}]}' >esc.json
	run -2 mlb-pipeline validate esc.json
	assert_output --partial 'esc.json:1:66: key "prompt" appears twice'
	# a string that reads NaN is text, not a number
	printf '%s\n' '{"steps": [{"id": "a", "models": ["openai:echo"], "prompt": "NaN Infinity"}]}' >ok.json
	run -0 mlb-pipeline validate ok.json
	run -2 mlb-pipeline run bad.json --json
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
}

@test "templates: a UTF-8 byte-order mark is skipped, not called invalid UTF-8" {
	start_server
	printf '\xef\xbb\xbf{"name": "bom", "steps": [{"id": "a", "models": ["openai:echo"], "prompt": "with a mark"}]}\n' >bom.json
	run -0 mlb-pipeline validate bom.json
	refute_output --partial "utf-8"
	run -0 mlb-pipeline run bom.json --json
	assert_equal "$(jq -r '.body.messages[-1].content' "$MLB_SERVER_LOG")" "with a mark"
	# a mark anywhere else is still an error, with its place
	printf '{"steps": \xef\xbb\xbf[]}\n' >mid.json
	run -2 mlb-pipeline validate mid.json
	assert_output --partial "mid.json:1:"
}

@test "U+0000 in a text moved with --from - is refused with a clear message, never cut" {
	start_server
	printf '%s\n' '{"type":"final","pane":"a","model":"openai:echo","content":"before\u0000after"}' >nul.ndjson
	run -1 mlb-send --no-store -m openai:echo --from - <nul.ndjson
	assert_output --partial "--from -: line 1: the content holds U+0000 (a NUL character) at byte 6"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
	# mlb-summarize reports such a final as a bad line and summarizes the others
	printf '%s\n' '{"type":"final","pane":"b","model":"openai:echo","content":"clean text"}' >>nul.ndjson
	run -1 --separate-stderr mlb-summarize --no-store -m openai:echo <nul.ndjson
	[[ $stderr == *"line 1: the final's content holds U+0000"* ]]
	jq -se 'any(.[]; .type == "error" and .code == "parse" and .line == 1)' <<<"$output"
	jq -r '.body.messages[-1].content' "$MLB_SERVER_LOG" | grep -q "clean text"
	! jq -r '.body.messages[-1].content' "$MLB_SERVER_LOG" | grep -q "before"
}

@test "session ids starting with '-' are refused everywhere an id is taken" {
	start_server
	local rule="use letters, digits, '.', '_' and '-', at most 64, not starting with '.' or '-'"
	run -2 mlb-send -s -rf -m openai:echo hi
	assert_output --partial "invalid session id '-rf': $rule"
	run -2 mlb-send --session=-rf -m openai:echo hi
	assert_output --partial "invalid session id '-rf'"
	MLB_SESSION=-rf run -2 mlb-send -m openai:echo hi
	assert_output --partial "invalid session id '-rf'"
	run -2 mlb-broadcast -s -x -m openai:echo hi
	assert_output --partial "invalid session id '-x'"
	run -2 mlb-pipeline run compare-and-summarize -s -x --dry-run
	assert_output --partial "invalid session id '-x'"
	run -2 mlb-summarize -s -x -m openai:echo
	assert_output --partial "invalid session id '-x'"
	run -2 mlb-diff -s -x a b
	assert_output --partial "invalid session id '-x'"
	mlb-send -s good -m openai:echo hi >/dev/null
	for sub in show log export rm; do
		run -2 mlb-session "$sub" -- -rf
		assert_output --partial "invalid session id '-rf'"
	done
	run -2 mlb-session fork good -- -rf
	assert_output --partial "invalid session id '-rf'"
	run -2 mlb-session import -- "$BATS_TEST_TMPDIR/none" -rf
	run -2 mlb-send -s good -p -pane -m openai:echo hi
	assert_output --partial "invalid pane name '-pane'"
	printf '%s\n' '{"steps": [{"id": "-a", "models": ["openai:echo"], "prompt": "p"}]}' >dash.json
	run -2 mlb-pipeline validate dash.json
	assert_output --partial "id '-a' is not a valid id"
	[ "$(ls "$MLB_HOME/sessions")" = good ]
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 1
}

@test "mlb-broadcast --quorum more than the models is a usage error" {
	start_server
	run -2 mlb-broadcast --no-store --quorum 5 -m openai:echo "hi"
	assert_line --index 0 "mlb-broadcast: --quorum 5 is more than the 1 model given; give at most 1"
	run -2 mlb-broadcast --no-store --quorum 3 -m openai:echo -m gemini:echo "hi"
	assert_output --partial "more than the 2 models given"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
	run -0 mlb-broadcast --no-store --quorum 2 -m openai:echo -m gemini:echo "hi"
}

@test "mlb-session export refuses to overwrite a file without -f" {
	start_server
	mlb-send -s ex -m openai:echo "hello" >/dev/null
	echo "precious" >ex.bundle
	run -1 mlb-session export ex
	assert_output "mlb-session: export: 'ex.bundle' exists; give -f to overwrite it"
	assert_equal "$(cat ex.bundle)" "precious"
	echo "precious" >mine
	run -1 mlb-session export ex mine
	assert_equal "$(cat mine)" "precious"
	ls -a | grep -q 'tmp-' && fail "a temporary file was left behind: $(ls -a)"
	run -0 mlb-session export -f ex mine
	assert_equal "$(head -n 1 mine)" "# v2 git bundle"
	run -0 mlb-session export ex new.bundle
	git clone -q new.bundle clone
	run -2 mlb-session show -f ex
	assert_output --partial "option '-f' is for rm and export only"
}

@test "mlb-diff --all compares at most 32 answers and says how many it left out" {
	for i in $(seq 1 40); do
		printf '{"type":"final","pane":"p%d","model":"openai:x","content":"answer %d with some words"}\n' "$i" "$i"
	done >finals.ndjson
	run -0 --separate-stderr mlb-diff --all --json <finals.ndjson
	assert_equal "$(jq -s 'map(select(.type == "diff")) | length' <<<"$output")" 496
	# every final still passes through
	assert_equal "$(jq -s 'map(select(.type == "final")) | length' <<<"$output")" 40
	assert_equal "$stderr" "mlb-diff: warning: --all compares the first 32 answers (496 pairs); 8 more passed through uncompared: compare them with --against <pane>, or in groups of at most 32"
	head -n 32 finals.ndjson >some.ndjson
	run -0 --separate-stderr mlb-diff --all --json <some.ndjson
	assert_equal "$stderr" ""
}

@test "mlb-summarize over a session with a failed pane summarizes the rest, and names the pane" {
	start_server
	run -3 mlb-broadcast -s sf -m openai:echo -m gemini:alpha+fault=500 --retries 0 "what is up"
	run -0 --separate-stderr mlb-summarize -s sf -m openai:echo
	[[ $stderr == *"pane 'gemini-alpha-fault-500' of session 'sf' has no answer; it is left out"* ]]
	jq -se 'any(.[]; .type == "final" and .pane == "summary-1")' <<<"$output"
	# named, it is an error
	run -1 mlb-summarize -s sf -m openai:echo gemini-alpha-fault-500
	assert_output --partial "pane 'gemini-alpha-fault-500' of session 'sf' has no answer to summarize"
	git -C "$MLB_HOME/sessions/sf" fsck --full --strict
}
