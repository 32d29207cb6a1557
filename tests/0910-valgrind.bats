#!/usr/bin/env bats
# The tools under valgrind against the local server: no memory errors and
# no definite leaks, through successes and failures.  A few bounded runs;
# skipped without valgrind, and for a build with sanitizers (which valgrind
# cannot run).

load helpers/common

# Why the whole file is skipped, if it is (bats cannot skip from setup_file).
vg_skip_reason() {
	if ! command -v valgrind >/dev/null; then
		echo "valgrind is not installed"
	elif [ -n "${SANITIZE-}" ] && [ "$SANITIZE" != 0 ]; then
		echo "built with SANITIZE=$SANITIZE"
	elif nm "$MLB_SRC/bin/mlb-send" 2>/dev/null | grep -q __asan; then
		echo "built with AddressSanitizer"
	fi
}

setup() {
	local why
	why=$(vg_skip_reason)
	[ -z "$why" ] || skip "$why"
	clean_world
	start_server
}

# vg NAME TOOL ARGS...: run the tool under valgrind with stdin as given; the
# tool's stdout and stderr go to $BATS_TEST_TMPDIR/NAME.{out,err}, valgrind's
# report to NAME.vg.  Memory errors and definite leaks fail the test.
vg() {
	local name=$1 st
	shift
	valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no \
		--log-file="$BATS_TEST_TMPDIR/$name.vg" "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" && st=0 || st=$?
	if [ "$st" -eq 99 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$BATS_TEST_TMPDIR/$name.vg"; then
		cat "$BATS_TEST_TMPDIR/$name.vg" >&2
		fail "valgrind found errors in $name (status $st)"
	fi
	if grep -E "definitely lost: [1-9]" "$BATS_TEST_TMPDIR/$name.vg"; then
		fail "definite leak in $name"
	fi
	[ "$st" -lt 128 ] || fail "$name died with status $st"
	echo "$st" >"$BATS_TEST_TMPDIR/$name.status"
}

status_of() {
	cat "$BATS_TEST_TMPDIR/$1.status"
}

# implemented TOOL ARGS...: the tool exists and does not say it is unfinished.
implemented() {
	local out
	[ -x "$MLB_SRC/bin/$1" ] || return 1
	out=$("$@" </dev/null 2>&1) || true
	! grep -q 'not implemented' <<<"$out"
}

@test "valgrind: mlb-send, a reply stored, then a cut stream, a 401 and --from" {
	vg send mlb-send -s vg -m openai:alpha+tokens=20 "hello there"
	assert_equal "$(status_of send)" 0
	vg send-cut mlb-send -s vg -m anthropic:beta+fault=cut+tokens=10 "and again"
	assert_equal "$(status_of send-cut)" 1
	grep -q '"partial":true' "$BATS_TEST_TMPDIR/send-cut.out"
	vg send-401 mlb-send -s vg -m gemini:gamma+fault=401 "denied"
	assert_equal "$(status_of send-401)" 1
	vg send-from mlb-send -s vg -m gemini:echo --from openai-alpha-tokens-20 "check:"
	assert_equal "$(status_of send-from)" 0
}

@test "valgrind: mlb-broadcast to three models, one of them failing" {
	vg broadcast mlb-broadcast -s vgb -m openai:alpha+tokens=30+delay=2 -m gemini:beta+utf8=1 \
		-m anthropic:gamma+fault=500 --retries 1 "one prompt for all"
	assert_equal "$(status_of broadcast)" 3
	assert_equal "$(jq -r 'select(.type=="final" and .partial==false).pane' "$BATS_TEST_TMPDIR/broadcast.out" | wc -l)" 2
	grep -q '"code":"server"' "$BATS_TEST_TMPDIR/broadcast.out"
}

@test "valgrind: mlb-diff from a session and from events on stdin" {
	implemented mlb-diff --help || skip "mlb-diff is not implemented yet"
	mlb-broadcast -s vgd -m openai:alpha -m gemini:beta "compare us" >"$BATS_TEST_TMPDIR/answers" 2>/dev/null
	vg diff-session mlb-diff -s vgd openai-alpha gemini-beta
	assert_equal "$(status_of diff-session)" 0
	grep -q '"type":"diff"' "$BATS_TEST_TMPDIR/diff-session.out"
	{ echo 'not json'; cat "$BATS_TEST_TMPDIR/answers"; } >"$BATS_TEST_TMPDIR/answers-bad"
	vg diff-stdin mlb-diff <"$BATS_TEST_TMPDIR/answers-bad"
	grep -q '"type":"diff"' "$BATS_TEST_TMPDIR/diff-stdin.out"
}

@test "valgrind: mlb-meter over a broadcast, with a malformed line and a budget" {
	implemented mlb-meter || skip "mlb-meter is not implemented yet"
	mlb-broadcast -s vgm -m openai:alpha -m gemini:beta -m anthropic:x+fault=401 "meter us" \
		>"$BATS_TEST_TMPDIR/events" 2>/dev/null || true
	{ cat "$BATS_TEST_TMPDIR/events"; echo '{"type":'; } >"$BATS_TEST_TMPDIR/events-bad"
	vg meter mlb-meter --report --budget 100 <"$BATS_TEST_TMPDIR/events-bad"
	grep -q '"scope":"run"' "$BATS_TEST_TMPDIR/meter.out"
	vg meter-session mlb-meter -s vgm
}
