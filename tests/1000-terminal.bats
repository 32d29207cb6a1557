#!/usr/bin/env bats
# The tools in a real terminal (tmux): the live view side by side and
# stacked, at 160, 90 and 70 columns, with 3 and 6 models, CJK text, a 429
# that is retried and a 500 that fails, a resize while streaming and a
# hostile reply.  Asserted: columns stay aligned, no word is split or
# dropped, the failure's reason shows, the title is never changed, and the
# scrollback holds every answer in full after the run.

load helpers/common
load helpers/tmux

setup() {
	clean_world
	start_server
}

teardown() {
	tmux_stop
	stop_server
}

# Models for a run of n panes: slow enough to be seen streaming, one with CJK and emoji,
# one that meets a 429 once, one that keeps failing with 500.
models() {
	local n=$1
	M=(-m "openai:alpha+tokens=120+delay=25" -m "groq:beta+tokens=90+delay=30+utf8=1"
	   -m "anthropic:gamma+fault=429+retry_after=2+fail_times=1+tokens=40+delay=20")
	if [ "$n" -ge 6 ]; then
		M+=(-m "gemini:delta+tokens=60+delay=30" -m "openai:echo+delay=20"
		    -m "litellm:omega+fault=500+fail_times=99")
	else
		M=(-m "openai:alpha+tokens=120+delay=25+utf8=1"
		   -m "anthropic:gamma+fault=429+retry_after=2+fail_times=1+tokens=40+delay=20"
		   -m "litellm:omega+fault=500+fail_times=99")
	fi
}

# live_run COLS N: the view of N models in a COLS-wide terminal, checked mid-stream and at the end.
live_run() {
	COLS=$1
	models "$2"
	# a server of its own: the 429 comes on the first request it sees
	stop_server
	rm -f "$BATS_TEST_TMPDIR/server.port"
	start_server
	tmux_start "$COLS" 40
	local cmd="mlb-broadcast"
	for m in "${M[@]}"; do cmd+=" '$m'"; done
	cmd+=" 'Explain tides, the moon and the sun'"
	tmux_run "$cmd"
	wait_screen 'streaming' 60
	wait_screen 'retry 1 in [0-9]+ s .* (HTTP )?429' 60
	screen > "$BATS_TEST_TMPDIR/mid.txt"
	wait_end 120
	history > "$BATS_TEST_TMPDIR/end.txt"
	# the answers, asked again for their events
	mlb-broadcast --json --no-store "${M[@]}" 'Explain tides, the moon and the sun' \
		> "$BATS_TEST_TMPDIR/events.jsonl" 2>/dev/null || true
}

@test "terminal: 3 models side by side at 160 columns: aligned, reasons shown, answers whole in scrollback" {
	live_run 160 3
	[ "$END_STATUS" -eq 3 ] || fail "exit $END_STATUS, want 3 (one pane failed)"
	check_columns "$BATS_TEST_TMPDIR/mid.txt"
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	grep -q 'failed .* 500' "$BATS_TEST_TMPDIR/end.txt" || fail "the 500 pane's reason is not shown"
	grep -q '3 ok\|3 models\|4 models: 3 ok, 1 failed' "$BATS_TEST_TMPDIR/end.txt"
	grep -q '日本\|😀\|café\|naïve' "$BATS_TEST_TMPDIR/end.txt" || fail "no non-ASCII words shown"
	assert_title_kept
}

@test "terminal: 3 models at 90 columns side by side, at 70 stacked; no line wider than the terminal" {
	live_run 90 3
	check_columns "$BATS_TEST_TMPDIR/mid.txt"
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	tmux_stop
	live_run 70 3
	! grep -q '│' "$BATS_TEST_TMPDIR/mid.txt" || fail "70 columns should stack the panes"
	grep -q 'retry 1 in [0-9]* s · HTTP 429\|retry 1 in [0-9]* s · 429' "$BATS_TEST_TMPDIR/mid.txt"
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	sed -n '/^── /,$p' "$BATS_TEST_TMPDIR/end.txt" > "$BATS_TEST_TMPDIR/answers.txt"
	check_width "$BATS_TEST_TMPDIR/answers.txt" 70
	assert_title_kept
}

@test "terminal: 6 models at 160 and 90 columns, stacked, every answer in full" {
	live_run 160 6
	[ "$END_STATUS" -eq 3 ]
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	[ "$(grep -c '^── ' "$BATS_TEST_TMPDIR/end.txt")" -eq 6 ]
	tmux_stop
	live_run 90 6
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	grep -q '── litellm:omega.*failed' "$BATS_TEST_TMPDIR/end.txt"
}

@test "terminal: a resize while streaming redraws at the new width" {
	COLS=160
	tmux_start 160 40
	tmux_run "mlb-broadcast -m 'openai:alpha+tokens=150+delay=30' -m 'groq:beta+tokens=150+delay=30+utf8=1' -m 'gemini:delta+tokens=150+delay=30' 'Explain tides'"
	wait_screen 'streaming .* [1-9][0-9] tok' 60
	tmux -L "$TMUX_SOCK" resize-window -t t -x 90 -y 30
	COLS=90
	# the next frames are drawn for 90 columns: the separators move in
	wait_screen '^.{20,30}│' 30
	sleep 0.3
	screen > "$BATS_TEST_TMPDIR/mid.txt"
	check_columns "$BATS_TEST_TMPDIR/mid.txt"
	wait_end 120
	history > "$BATS_TEST_TMPDIR/end.txt"
	[ "$END_STATUS" -eq 0 ]
	mlb-broadcast --json --no-store -m 'openai:alpha+tokens=150+delay=30' -m 'groq:beta+tokens=150+delay=30+utf8=1' \
		-m 'gemini:delta+tokens=150+delay=30' 'Explain tides' > "$BATS_TEST_TMPDIR/events.jsonl"
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	# the answers were printed for 90 columns
	sed -n '/^── openai:alpha/,$p' "$BATS_TEST_TMPDIR/end.txt" > "$BATS_TEST_TMPDIR/answers.txt"
	check_width "$BATS_TEST_TMPDIR/answers.txt" 90
}

@test "terminal: the headline, broadcast into mlb-meter --report, shows the streams and then the table" {
	COLS=80
	tmux_start 80 30
	tmux_run "mlb-broadcast -m 'openai:alpha+tokens=80+delay=30' -m 'groq:beta+tokens=60+delay=30' -m 'anthropic:gamma+fault=500+fail_times=99' 'Explain tides' | mlb-meter --report"
	wait_screen 'streaming' 60
	screen > "$BATS_TEST_TMPDIR/mid.txt"
	check_columns "$BATS_TEST_TMPDIR/mid.txt"
	wait_end 120
	history > "$BATS_TEST_TMPDIR/end.txt"
	grep -q '^── openai:alpha.* done' "$BATS_TEST_TMPDIR/end.txt"
	grep -q '^── anthropic:gamma.*failed.*500' "$BATS_TEST_TMPDIR/end.txt"
	grep -q '^total' "$BATS_TEST_TMPDIR/end.txt"
	mlb-broadcast --json --no-store -m 'openai:alpha+tokens=80+delay=30' -m 'groq:beta+tokens=60+delay=30' \
		'Explain tides' > "$BATS_TEST_TMPDIR/events.jsonl" || true
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
	assert_title_kept
}

@test "terminal: a hostile reply (ESC ] title, clipboard, CSI) reaches no terminal as a control sequence" {
	COLS=120
	tmux_start 120 40
	local evil="x\\033]0;pwned\\007 y\\033]52;c;aGk=\\007 z\\033[2J\\033[31mred"
	tmux_run "mlb-send -m openai:echo \"\$(printf '$evil')\"; mlb-broadcast -m openai:echo -m groq:echo \"\$(printf '$evil')\"; mlb-broadcast --json -m openai:echo \"\$(printf '$evil')\" | mlb-meter; mlb-session show \$(mlb-session ls --json | jq -r .id | head -1) | cat"
	wait_end 60
	history > "$BATS_TEST_TMPDIR/end.txt"
	assert_title_kept
	grep -q '␛]0;pwned␇' "$BATS_TEST_TMPDIR/end.txt" || fail "the escape is not shown as a symbol"
	grep -q '␛\[2J' "$BATS_TEST_TMPDIR/end.txt"
}

@test "terminal: no tool writes a model's ESC to a person's output (text mode, every tool)" {
	local evil out="$BATS_TEST_TMPDIR/out"
	evil=$(printf 'x\033]0;pwned\007 and \033[2J \302\233 31m')
	mlb-send -s hostile -m openai:echo "$evil" --text > "$out.send" 2> "$out.send.err"
	mlb-broadcast -s hostile -m openai:echo -m groq:echo "$evil" --text > "$out.bc" 2> "$out.bc.err"
	mlb-broadcast --json --no-store -m openai:echo -m groq:alpha "$evil" > "$out.ev"
	mlb-meter --text < "$out.ev" > "$out.meter" 2>&1
	mlb-diff --text < "$out.ev" > "$out.diff" 2>&1 || true
	mlb-diff -u --text < "$out.ev" > "$out.diffu" 2>&1 || true
	mlb-session show hostile --text > "$out.show" 2>&1
	mlb-session grep pwned --text > "$out.grep" 2>&1 || true
	mlb-session log hostile --text > "$out.log" 2>&1 || true
	mlb-session ls --text > "$out.ls" 2>&1
	# a 500 whose body carries an escape reaches stderr safe too
	for f in "$out".*; do
		case $f in *.ev) continue ;; esac
		if LC_ALL=C grep -q $'\033\\]\|\033\\[2J\|\302\233' "$f"; then
			fail "$f carries a control sequence from the reply"
		fi
	done
	grep -q '␛]0;pwned␇' "$out.send"
	grep -q '␛]0;pwned␇' "$out.show"
	grep -q '␛' "$out.diff"
}

@test "terminal: mlb-pipeline run streams step after step in the live view and closes with the cost" {
	COLS=100
	cat > p.json <<'JSON'
{"name": "two-steps", "steps": [
 {"id": "ask", "models": ["openai:alpha+tokens=60+delay=30", "gemini:beta+tokens=50+delay=30+utf8=1"], "prompt": "Explain tides"},
 {"id": "check", "needs": ["ask"], "models": ["anthropic:gamma+tokens=40+delay=30"], "prompt": "Check: {{ask}}"}]}
JSON
	tmux_start 100 40
	tmux_run "mlb-pipeline run p.json -s piped"
	wait_screen 'ask-1 \(openai:alpha.*│' 60
	wait_screen 'streaming' 30
	screen > "$BATS_TEST_TMPDIR/mid.txt"
	check_columns "$BATS_TEST_TMPDIR/mid.txt"
	wait_screen 'check \(anthropic:gamma' 60
	wait_end 120
	history > "$BATS_TEST_TMPDIR/end.txt"
	[ "$END_STATUS" -eq 0 ]
	grep -q '^── ask-1 (openai:alpha+tokens=60+delay=30) · done' "$BATS_TEST_TMPDIR/end.txt"
	grep -q '^── check (anthropic:gamma+tokens=40+delay=30) · done' "$BATS_TEST_TMPDIR/end.txt"
	# the closing line (the terminal may have wrapped it)
	tr -d '\n' < "$BATS_TEST_TMPDIR/end.txt" |
		grep -q 'two-steps: 2 of 2 steps done, 0 failed, 0 cancelled, 0 skipped; cost [a-z ]*\$[0-9.]*; session piped' 
	# every answer in full, as stored
	mlb-session show --json piped | jq -c 'select(.type=="final") | .model = (.pane + " (" + .model + ")")' \
		> "$BATS_TEST_TMPDIR/events.jsonl"
	[ -s "$BATS_TEST_TMPDIR/events.jsonl" ]
	check_answers "$BATS_TEST_TMPDIR/end.txt" "$BATS_TEST_TMPDIR/events.jsonl"
}
