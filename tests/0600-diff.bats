#!/usr/bin/env bats
# mlb-diff: diff events from final events on stdin and from sessions, the
# pass-through, the text forms, --follow, and every way input can be wrong.

bats_require_minimum_version 1.5.0
load helpers/common

# final PANE MODEL CONTENT: one final event (PANE or MODEL may be "" to leave it out).
final() {
	jq -cn --arg p "$1" --arg m "$2" --arg c "$3" \
		'{type: "final"} + (if $p == "" then {} else {pane: $p} end)
		 + (if $m == "" then {} else {model: $m} end) + {content: $c, finish_reason: "stop"}'
}

# diffs: the diff events of $output.
diffs() {
	grep '^{"type":"diff",' <<<"$output" || true
}

# rebuilds A B: every diff event in $output gives A back from equal+delete and B from equal+insert.
rebuilds() {
	local d
	d=$(diffs)
	[ -n "$d" ] || fail "no diff event"
	assert_equal "$(jq -j '[.ops[] | select(.op != "insert").text] | join("")' <<<"$d"; printf x)" "$1x"
	assert_equal "$(jq -j '[.ops[] | select(.op != "delete").text] | join("")' <<<"$d"; printf x)" "$2x"
}

# words N: N words of English-like text, the same for the same N.
words() {
	awk -v n="$1" 'BEGIN { srand(1); k = split("the of and a to in is you that it he was for on are as with his they at be this have from", w, " ");
		for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? " " : ""), w[int(rand() * k) + 1] }'
}

# have_broadcast: a real mlb-broadcast (not a stub) is built.
have_broadcast() {
	[ -x "$MLB_SRC/bin/mlb-broadcast" ] && "$MLB_SRC/bin/mlb-broadcast" --help 2>/dev/null | grep -q -- --panes
}

populate() {
	"$MLB_SRC/build/tests/test-compare" populate "$@"
}

TRICKY_A=$'Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F600 ok  \n\n\nsecond paragraph, trailing   \n\tindented line\nno newline at end'
TRICKY_B=$'Cafe na\u00efve \u65e5\u672c \U0001F600 ok\n\nsecond paragraph, trailing \n\n\tindented  line\nno newline at end\n'

@test "ops rebuild both texts exactly, by words, lines and chars" {
	final a openai:alpha "$TRICKY_A" >"$BATS_TEST_TMPDIR/in"
	final b gemini:beta "$TRICKY_B" >>"$BATS_TEST_TMPDIR/in"
	for unit in words lines chars; do
		run mlb-diff "--$unit" <"$BATS_TEST_TMPDIR/in"
		assert_success
		assert_equal "$(diffs | jq -r .unit)" "$unit"
		rebuilds "$TRICKY_A" "$TRICKY_B"
		assert_equal "$(diffs | jq -r '.similarity > 0 and .similarity < 1')" "true"
		# neighbours never share a kind, so the ops are as few as they can be
		assert_equal "$(diffs | jq '[.ops | range(1; length) as $i | select(.[$i].op == .[$i - 1].op)] | length')" "0"
	done
}

@test "ops rebuild empty, identical and control-character texts" {
	for pair in "|" "|x" "x|" "same text|same text" $'a\r\nb|a\nb' \
		$'say "hi" \\ now\x01\x1f\b\f\x7f </b>|say \'hi\' \\\\ now\x02\e[31m </i>'; do
		a=${pair%%|*} b=${pair#*|}
		run mlb-diff --chars < <(final a "" "$a"; final b "" "$b")
		assert_success
		rebuilds "$a" "$b"
	done
	run mlb-diff < <(final a "" "same"; final b "" "same")
	assert_equal "$(diffs | jq -c '[.similarity, [.ops[].op]]')" '[1,["equal"]]'
	run mlb-diff < <(final a "" ""; final b "" "")
	assert_equal "$(diffs | jq -c '[.similarity, .ops]')" '[1,[]]'
}

@test "one word changed in 200 words gives 4 ops, or 3 at an edge" {
	text=$(words 200)
	mid=$(awk '{ $100 = "CHANGED"; print }' <<<"$text")
	first=$(awk '{ $1 = "CHANGED"; print }' <<<"$text")
	last=$(awk '{ $NF = "CHANGED"; print }' <<<"$text")
	run mlb-diff < <(final a "" "$text"; final b "" "$mid")
	assert_equal "$(diffs | jq -c '[.ops[].op]')" '["equal","delete","insert","equal"]'
	assert_equal "$(diffs | jq -c '[.ops[1].text, .ops[2].text]')" "[\"$(awk '{ print $100 }' <<<"$text")\",\"CHANGED\"]"
	run mlb-diff < <(final a "" "$text"; final b "" "$first")
	assert_equal "$(diffs | jq -c '[.ops[].op]')" '["delete","insert","equal"]'
	run mlb-diff < <(final a "" "$text"; final b "" "$last")
	assert_equal "$(diffs | jq -c '[.ops[].op]')" '["equal","delete","insert"]'
}

@test "stdin: the first two finals are compared, named by pane, else model, else number" {
	run mlb-diff < <(final a openai:alpha "one two"; final b gemini:beta "one three"; final c x:y "four")
	assert_success
	assert_equal "$(diffs | wc -l)" "1"
	assert_equal "$(diffs | jq -c '[.type, .a, .b, .model_a, .model_b, .unit]')" \
		'["diff","a","b","openai:alpha","gemini:beta","words"]'
	assert_equal "$(diffs | jq -r '.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")')" "true"
	assert_equal "$(diffs | jq -r '.similarity')" "0.5"
	run mlb-diff < <(final "" openai:alpha "x"; final "" gemini:beta "y")
	assert_equal "$(diffs | jq -c '[.a, .b]')" '["openai:alpha","gemini:beta"]'
	run mlb-diff < <(final "" "" "x"; final "" "" "y")
	assert_equal "$(diffs | jq -c '[.a, .b, .model_a, .model_b]')" '["1","2",null,null]'
}

@test "stdin: session and run are carried when the answers share them" {
	run mlb-diff < <(printf '%s\n' '{"type":"final","session":"s1","run":"r1","pane":"a","content":"x"}' \
		'{"type":"final","session":"s1","run":"r1","pane":"b","content":"y"}')
	assert_equal "$(diffs | jq -c '[.session, .run]')" '["s1","r1"]'
	run mlb-diff < <(printf '%s\n' '{"type":"final","session":"s1","pane":"a","content":"x"}' \
		'{"type":"final","session":"s2","pane":"b","content":"y"}')
	assert_equal "$(diffs | jq -c '[.session, .session_a, .session_b]')" '[null,"s1","s2"]'
}

@test "session: the last assistant messages of two panes" {
	populate s1 a openai:alpha "first answer of a" b gemini:beta "@none"
	populate s1 a openai:alpha "The quick brown fox jumps." b gemini:beta "The quick red fox leaps."
	run mlb-diff -s s1 a b
	assert_success
	assert_equal "$(jq -c '[.type, .session, .a, .b, .model_a, .model_b]' <<<"$output")" \
		'["diff","s1","a","b","openai:alpha","gemini:beta"]'
	rebuilds "The quick brown fox jumps." "The quick red fox leaps."
	# MLB_SESSION names the session when -s does not
	MLB_SESSION=s1 run mlb-diff --lines b a
	assert_success
	assert_equal "$(jq -c '[.a, .b, .unit]' <<<"$output")" '["b","a","lines"]'
	run mlb-diff -s s1 --text a b
	assert_success
	assert_line --index 0 "diff a b (similarity 0.60)"
	assert_line --index 1 "The quick [-brown-]{+red+} fox [-jumps.-]{+leaps.+}"
}

@test "session: a missing session, pane or answer is a runtime failure" {
	populate s1 a openai:alpha "answer" b gemini:beta "@none"
	run mlb-diff -s s1 a b
	assert_failure 1
	assert_output --partial "mlb-diff: pane 'b' of session 's1' has no answer yet"
	run mlb-diff -s s1 a zz
	assert_failure 1
	assert_output --partial "mlb-diff: session 's1' has no pane 'zz'"
	run mlb-diff -s nosuch a b
	assert_failure 1
	assert_output --partial "mlb-diff: no session 'nosuch'"
}

@test "session made by mlb-broadcast against the local server" {
	if have_broadcast; then
		start_server
		run mlb-broadcast -s bc -m openai:alpha -m gemini:beta --panes a,b hi
		assert_success
		want_a=$(jq -r 'select(.type == "final" and .pane == "a").content' <<<"$output")
		want_b=$(jq -r 'select(.type == "final" and .pane == "b").content' <<<"$output")
		broadcast=$output
	else
		# mlb-broadcast is not there yet: store the same turn through the store API
		want_a="Travel brown garden mountain careful" want_b="Corner letter autumn cherry orange"
		populate bc a openai:alpha "$want_a" b gemini:beta "$want_b"
		broadcast="$(final a openai:alpha "$want_a")"$'\n'"$(final b gemini:beta "$want_b")"
	fi
	[ -n "$want_a" ] && [ -n "$want_b" ]
	run mlb-diff -s bc a b
	assert_success
	assert_equal "$(jq -c '[.session, .a, .b, .model_a, .model_b]' <<<"$output")" '["bc","a","b","openai:alpha","gemini:beta"]'
	rebuilds "$want_a" "$want_b"
	from_session=$(jq -c '[.similarity, .ops]' <<<"$output")
	# the same answers compared from the stream give the same diff (whichever ends first)
	run mlb-diff --against a <<<"$broadcast"
	assert_success
	assert_equal "$(diffs | jq -c '[.similarity, .ops]')" "$from_session"
}

@test "--all compares every pair in order of arrival; --against each with one pane" {
	for p in p1 p2 p3 p4; do final "$p" "m:$p" "answer of $p"; done >"$BATS_TEST_TMPDIR/in"
	run mlb-diff --all <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(diffs | jq -r '"\(.a)-\(.b)"' | tr '\n' ' ')" "p1-p2 p1-p3 p2-p3 p1-p4 p2-p4 p3-p4 "
	# each diff comes right after the final that completes it
	assert_equal "$(jq -r '.type' <<<"$output" | tr '\n' ' ')" "final final diff final diff diff final diff diff diff "
	# the reference arrives third: the first two wait for it
	run mlb-diff --against p3 <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(diffs | jq -r '"\(.a)-\(.b)"' | tr '\n' ' ')" "p3-p1 p3-p2 p3-p4 "
	assert_equal "$(jq -r '.type' <<<"$output" | tr '\n' ' ')" "final final final diff diff final diff "
	# a model names the reference too
	run mlb-diff --against m:p1 <"$BATS_TEST_TMPDIR/in"
	assert_equal "$(diffs | wc -l)" "3"
	run mlb-diff --against nobody <"$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_output --partial "mlb-diff: no final event from 'nobody' to compare against"
	assert_equal "$(diffs | wc -l)" "0"
}

@test "every other event passes through byte for byte, in order" {
	{
		printf '%s\n' '{"type":"status","stage":"queued","pane":"a"}'
		printf '%s\n' '{ "type" : "token",   "pane":"a", "text":"caf\u00e9 \/ ok" }'
		printf '%s\n' '{"type":"mystery","nested":{"x":[1,2.50,"\u00e9"]},"z":null}'
		final a openai:alpha "left text"
		printf '%s\n' '{"type": "diff", "a": "x", "b": "y", "ops": []}'
		printf '%s\n' '{"type":"meter","pane":"a","cost_usd":1e-7}'
		final b gemini:beta "right text"
		printf '%s\n' '{"type":"error","code":"timeout","message":"slow"}'
		final c x:c "third text"
		printf '%s\n' '{"type":"status","stage":"done"}'
	} >"$BATS_TEST_TMPDIR/in"
	mlb-diff --json <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	grep -v '^{"type":"diff","ts":' "$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/rest"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/rest"
	assert_equal "$(grep -c '^{"type":"diff","ts":' "$BATS_TEST_TMPDIR/out")" "1"
	# the diff comes right after the second final
	assert_equal "$(grep -n '^{"type":"diff","ts":' "$BATS_TEST_TMPDIR/out" | cut -d: -f1)" "8"
}

@test "--text without a terminal: plain word diff; --unified: hunks" {
	a=$'line one\nthe quick brown fox\nline three\n4\n5\n6\n7\n8\n9\n10\nlast line\n'
	b=$'line one\nthe quick red fox\nline three\n4\n5\n6\n7\n8\n9\n10\nlast line changed\n'
	final a "" "$a" >"$BATS_TEST_TMPDIR/in"
	final b "" "$b" >>"$BATS_TEST_TMPDIR/in"
	run mlb-diff --text <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 --regexp '^diff a b \(similarity 0\.[0-9][0-9]\)$'
	assert_line --index 2 "the quick [-brown-]{+red+} fox"
	assert_line --index 11 "last line{+ changed+}"
	refute_output --partial $'\033'
	refute_output --partial '"type"'
	NO_COLOR=1 run mlb-diff --text --unified <"$BATS_TEST_TMPDIR/in"
	assert_success
	cat >"$BATS_TEST_TMPDIR/want" <<-'EOF'
	--- a
	+++ b
	@@ -1,5 +1,5 @@
	 line one
	-the quick brown fox
	+the quick red fox
	 line three
	 4
	 5
	@@ -8,4 +8,4 @@
	 8
	 9
	 10
	-last line
	+last line changed
	EOF
	tail -n +2 <<<"$output" | diff -u "$BATS_TEST_TMPDIR/want" -
	# the hunks apply: patch turns a into b
	printf %s "$a" >"$BATS_TEST_TMPDIR/a"
	tail -n +2 <<<"$output" | patch -s -o "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/a"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/b"; printf x)" "${b}x"
}

@test "on a terminal: colour escapes, none with NO_COLOR" {
	command -v script >/dev/null || skip "script(1) is not installed"
	final a "" "the quick brown fox" >"$BATS_TEST_TMPDIR/in"
	final b "" "the quick red fox" >>"$BATS_TEST_TMPDIR/in"
	run script -qec "mlb-diff <'$BATS_TEST_TMPDIR/in'" /dev/null
	assert_success
	assert_output --partial $'\033[31mbrown\033[m\033[32mred\033[m'
	assert_output --partial 'diff a b (similarity 0.78)'
	refute_output --partial '"type"'
	run script -qec "NO_COLOR=1 mlb-diff <'$BATS_TEST_TMPDIR/in'" /dev/null
	assert_success
	assert_output --partial 'the quick [-brown-]{+red+} fox'
	refute_output --partial $'\033['
	run script -qec "mlb-diff --unified <'$BATS_TEST_TMPDIR/in'" /dev/null
	assert_output --partial $'\033[31m-the quick brown fox\033[m'
	assert_output --partial $'\033[32m+the quick red fox\033[m'
	assert_output --partial $'\033[36m@@ -1 +1 @@\033[m'
	# --json forces events on a terminal
	run script -qec "mlb-diff --json <'$BATS_TEST_TMPDIR/in'" /dev/null
	assert_output --partial '{"type":"diff",'
}

# feed_tokens: two panes streaming eight tokens each, 0.2 s apart, then their finals.
feed_tokens() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		printf '{"type":"token","pane":"a","model":"m:a","text":"w%d "}\n' "$i"
		printf '{"type":"token","pane":"b","model":"m:b","text":"%s "}\n' "$([ "$i" = 4 ] && echo X || echo "w$i")"
		sleep 0.2
	done
	final a m:a "w1 w2 w3 w4 w5 w6 w7 w8 "
	final b m:b "w1 w2 w3 X w5 w6 w7 w8 "
}

@test "--follow in a pipe: live diffs while tokens stream, then the final one" {
	export -f feed_tokens final
	feed_tokens >"$BATS_TEST_TMPDIR/in.want"
	run bash -c 'set -o pipefail; feed_tokens | tee "$1" | timeout 10 mlb-diff --follow' _ "$BATS_TEST_TMPDIR/in"
	assert_success
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/in.want"
	grep -v '^{"type":"diff","ts":' <<<"$output" | cmp - "$BATS_TEST_TMPDIR/in"
	live=$(diffs | jq -c 'select(.live)')
	[ "$(wc -l <<<"$live")" -ge 2 ] || fail "expected live diffs: $(diffs)"
	# every live diff rebuilds a prefix of the stream; the last event is the final diff
	run jq -r 'select(.type == "diff") | [(.live // false), ([.ops[] | select(.op != "insert").text] | join(""))] | @tsv' <<<"$output"
	assert_line --index 0 --regexp $'^true\tw1 '
	assert_equal "$(tail -n 1 <<<"$output")" $'false\tw1 w2 w3 w4 w5 w6 w7 w8 '
	# live diffs are at least 0.5 s apart
	run bash -c 'feed_tokens | mlb-diff --follow | jq -r "select(.type == \"diff\" and .live) | .ts[17:23]"'
	prev=
	while read -r t; do
		[ -z "$prev" ] || [ "$(awk -v a="$prev" -v b="$t" 'BEGIN { d = b - a; if (d < 0) d += 60; print (d >= 0.49) }')" = 1 ] ||
			fail "live diffs at $prev and $t"
		prev=$t
	done <<<"$output"
}

@test "--follow on a terminal redraws in place" {
	command -v script >/dev/null || skip "script(1) is not installed"
	# script(1) runs its command with $SHELL, which may not pass exported
	# functions on (dash drops them), so the feeder goes in a file
	{ declare -f feed_tokens final; echo feed_tokens; } >"$BATS_TEST_TMPDIR/feed"
	run script -qec "bash '$BATS_TEST_TMPDIR/feed' | mlb-diff --follow" /dev/null
	assert_success
	assert_output --partial 'streaming)'
	# the live view is moved over and cleared
	[[ "$output" =~ $'\033['[0-9]+A$'\033[J' ]] || fail "no cursor movement in: $output"
	# it ends with the final diff, not a live one
	assert_equal "$(tail -n 2 <<<"$output" | head -n 1 | tr -d '\r' | sed 's/\x1b\[[0-9;]*[A-Za-z]//g')" "diff a b (similarity 0.94)"
}

@test "malformed lines are reported, the rest is compared, exit 1" {
	{
		final a "" "one"
		printf '%s\n' '{"type":"final","content":' 'not json' '[1,2]' '{"no_type":1}'
		printf '%s\n' '{"type":"final","pane":"x","content":42}'
		final b "" "two"
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr mlb-diff <"$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(diffs | jq -c '[.a, .b]')" '["a","b"]'
	assert_equal "$(jq -c 'select(.type == "error") | [.code, .line]' <<<"$output" | tr '\n' ' ')" \
		'["parse",2] ["parse",3] ["parse",4] ["parse",5] ["parse",6] '
	run bash -c 'mlb-diff <"$1" 2>&1 >/dev/null' _ "$BATS_TEST_TMPDIR/in"
	assert_line --index 0 --regexp '^mlb-diff: line 2: '
	assert_line --index 4 'mlb-diff: line 6: final event has no "content" string'
	# in text mode the error events stay out of the text
	run bash -c 'mlb-diff --text <"$1" 2>/dev/null' _ "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	refute_output --partial '"type"'
	assert_line --index 1 "[-one-]{+two+}"
}

@test "fewer than two finals: no diff, exit 1" {
	run mlb-diff </dev/null
	assert_failure 1
	assert_output "mlb-diff: need two final events to compare, got 0"
	run mlb-diff < <(printf '%s\n' '{"type":"token","text":"x"}'; final a "" "only")
	assert_failure 1
	assert_line --index 0 '{"type":"token","text":"x"}'
	assert_line "mlb-diff: need two final events to compare, got 1"
	[ -z "$(diffs)" ]
}

@test "usage errors exit 2" {
	final a "" x >"$BATS_TEST_TMPDIR/in"
	final b "" y >>"$BATS_TEST_TMPDIR/in"
	run -2 mlb-diff --all --against a <"$BATS_TEST_TMPDIR/in"
	assert_line --index 0 "mlb-diff: --all and --against cannot be used together"
	run -2 mlb-diff -s s1 a b --all
	assert_line --index 0 "mlb-diff: --all compares final events from stdin, not two panes"
	run -2 mlb-diff -s s1 a b --against a
	run -2 mlb-diff -s s1 a b --follow
	run -2 mlb-diff a b
	assert_line --index 0 "mlb-diff: name the session with -s"
	run -2 mlb-diff -s s1 a
	run -2 mlb-diff -s s1 a b c
	run -2 mlb-diff -s s1 <"$BATS_TEST_TMPDIR/in"
	run -2 mlb-diff -s ../etc a b
	assert_line --index 0 --partial "invalid session id '../etc'"
	run -2 mlb-diff -s s1 a ../b
	assert_line --index 0 --partial "invalid pane name '../b'"
	MLB_SESSION='bad/id' run -2 mlb-diff a b
	run -2 mlb-diff --bogus <"$BATS_TEST_TMPDIR/in"
	assert_line --index 0 "mlb-diff: unknown option '--bogus'"
	run -2 mlb-diff --against <"$BATS_TEST_TMPDIR/in"
	run -2 mlb-diff --against '' <"$BATS_TEST_TMPDIR/in"
	run -0 mlb-diff -h
	assert_line --index 0 --partial "usage: mlb-diff"
}

@test "no input on a terminal is a usage error" {
	command -v script >/dev/null || skip "script(1) is not installed"
	run script -qec "mlb-diff; echo rc=\$?" /dev/null
	assert_output --partial "mlb-diff: no input: name two panes, or pipe final events in"
	assert_output --partial "rc=2"
}

@test "-s S --all and --against on a stored session; a pane that never answered is named and left out" {
	start_server
	mlb-broadcast -s tri --retries 0 -m openai:alpha -m gemini:beta -m anthropic:gamma -m groq:delta+fault=500 \
		"what are tides" >/dev/null 2>&1 || true
	run --separate-stderr mlb-diff -s tri --all --json
	assert_success
	# three answers: three pairs
	assert_equal "$(jq -r 'select(.type=="diff") | "\(.a) \(.b)"' <<<"$output" | sort | tr '\n' ,)" \
		"anthropic-gamma gemini-beta,anthropic-gamma openai-alpha,gemini-beta openai-alpha,"
	[[ $stderr == *"pane 'groq-delta-fault-500' of session 'tri' has no answer yet"* ]]
	run --separate-stderr mlb-diff -s tri --against gemini-beta --json
	assert_success
	assert_equal "$(jq -r 'select(.type=="diff") | "\(.a) \(.b)"' <<<"$output" | sort | tr '\n' ,)" \
		"gemini-beta anthropic-gamma,gemini-beta openai-alpha,"
	run --separate-stderr mlb-diff -s tri --against gemini-beta --text
	assert_success
	assert_line --regexp '^diff gemini-beta openai-alpha \(similarity [0-9.]+\)$'
	run -1 --separate-stderr mlb-diff -s tri --against nosuch
	[[ $stderr == *"session 'tri' has no pane 'nosuch'"* ]]
	run -2 --separate-stderr mlb-diff -s tri
	[[ $stderr == *"-s needs two panes to compare, or --all or --against <pane>"* ]]
}
