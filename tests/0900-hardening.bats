#!/usr/bin/env bats
# Hardening: the fuzz regressions replayed, bad input on every stdin, fault
# drills (kill -9, a closed pipe, an unwritable MLB_HOME), secrets, limits.
#
# The fuzz harnesses (tests/fuzz/) are built here by `make fuzz-replay` with
# the normal compiler and a plain main(), so their regression inputs run in
# `make check` without clang; `make fuzz` runs them under libFuzzer.

load helpers/common

setup() {
	clean_world
}

# implemented TOOL ARGS...: the tool exists and does not say it is unfinished.
implemented() {
	local out
	[ -x "$MLB_SRC/bin/$1" ] || return 1
	out=$("$@" </dev/null 2>&1) || true
	! grep -q 'not implemented' <<<"$out"
}

# The good events that follow every bad line: a filter must still pass the
# token through, compare the two finals, or take the last one.
good_tail() {
	printf '%s\n' '{"type":"token","text":"GOOD-MARK"}' \
		'{"type":"final","pane":"a","model":"openai:echo","content":"one two three"}' \
		'{"type":"final","pane":"b","model":"gemini:echo","content":"GOOD-MARK one two four"}'
}

# bad_input KIND FILE: one kind of bad input, then the good events.
bad_input() {
	case $1 in
	random) head -c 100000 /dev/urandom; printf '\n' ;;
	truncated) printf '%s\n' '{"type":"final","content":"cut he' '{"type":"token","text":' '{' ;;
	utf8) printf '{"type":"token","text":"caf\xc3 \xff\xfe \xed\xa0\x80"}\n{"type":"fi\xc0\xafnal"}\n\xf0\x9f\x98\n' ;;
	long) head -c $((64 << 20)) /dev/zero | tr '\0' 'a'; printf '\n' ;;
	deep) head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; printf '\n'
	      printf '{"type":"x","a":'; head -c 100000 /dev/zero | sed 's/\x0/{"a":/g'
	      printf '1'; head -c 100000 /dev/zero | tr '\0' '}'; printf '}\n' ;;
	scalar) printf '%s\n' 42 '[1,2]' '"a string"' null true -0.5e3 '[]' '{"type":7}' '{"type":null}' ;;
	esac >"$2"
	good_tail >>"$2"
}

# timed RSSFILE CMD...: run CMD, and write its peak memory in kB to RSSFILE (0 when
# /usr/bin/time is missing, or under AddressSanitizer, whose shadow memory says nothing).
timed() {
	local rss=$1
	shift
	echo 0 >"$rss"
	if [ -x /usr/bin/time ] && ! nm "$MLB_SRC/bin/mlb-send" 2>/dev/null | grep -q __asan; then
		/usr/bin/time -f %M -o "$rss" "$@"
	else
		"$@"
	fi
}

# The tools that read events on stdin, with the arguments that make them do so.
stdin_tools() {
	implemented mlb-meter && echo "mlb-meter"
	implemented mlb-diff && echo "mlb-diff"
	implemented mlb-summarize --no-store -m openai:echo && echo "mlb-summarize --no-store -m openai:echo"
	echo "mlb-send --no-store -m openai:echo --from -"
}

# check_reader KIND: every stdin tool on that bad input: a line-numbered error, no crash,
# no hang, bounded memory, and the good events after it still processed.
check_reader() {
	local kind=$1 in="$BATS_TEST_TMPDIR/bad-$1" tool name st rss
	bad_input "$kind" "$in"
	while read -r tool; do
		name=${tool%% *}
		# shellcheck disable=SC2086
		timed "$BATS_TEST_TMPDIR/rss" timeout 20 $tool <"$in" \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && st=0 || st=$?
		[ "$st" -ne 124 ] || fail "$name hung on $kind input"
		[ "$st" -lt 124 ] || fail "$name died with status $st on $kind input: $(tail -5 "$BATS_TEST_TMPDIR/err")"
		grep -qE "^$name: line [0-9]+: " "$BATS_TEST_TMPDIR/err" ||
			fail "$name gave no line-numbered error for $kind input: $(head -c 500 "$BATS_TEST_TMPDIR/err")"
		grep -q '"code":"parse"' "$BATS_TEST_TMPDIR/out" || fail "$name wrote no parse error event for $kind input"
		rss=$(tail -1 "$BATS_TEST_TMPDIR/rss")
		[ "$rss" -lt 204800 ] || fail "$name used $rss kB on $kind input"
		case $name in
		mlb-meter) grep -qF '{"type":"token","text":"GOOD-MARK"}' "$BATS_TEST_TMPDIR/out" ;;
		mlb-diff) grep -q '"type":"diff"' "$BATS_TEST_TMPDIR/out" ;;
		mlb-summarize) jq -r 'select(.type=="final").pane' "$BATS_TEST_TMPDIR/out" | grep -q '^summary-' ;;
		mlb-send) [ "$(jq -r 'select(.type=="final").content' "$BATS_TEST_TMPDIR/out")" = "GOOD-MARK one two four" ] ;;
		esac || fail "$name did not process the good events after $kind input"
	done < <(stdin_tools)
}

@test "fuzz: every regression input and seed replays cleanly through its harness" {
	run make -C "$MLB_SRC" --no-print-directory fuzz-replay
	[ "$status" -eq 0 ] || fail "make fuzz-replay failed: $output"
	for dir in "$MLB_SRC"/tests/fuzz/regressions/* "$MLB_SRC"/tests/fuzz/corpus/*; do
		[ -d "$dir" ] || continue
		t=$(basename "$dir")
		[ -f "$MLB_SRC/tests/fuzz/fuzz-$t.c" ] || fail "$dir has no harness tests/fuzz/fuzz-$t.c"
		run "$MLB_SRC/build/fuzz-replay/fuzz-$t" "$dir"
		[ "$status" -eq 0 ] || fail "fuzz-$t failed on $dir: $(tail -20 <<<"$output")"
		assert_output --partial ", ok"
	done
}

@test "bad input on stdin: random bytes" {
	start_server
	check_reader random
}

@test "bad input on stdin: truncated JSON" {
	start_server
	check_reader truncated
}

@test "bad input on stdin: invalid UTF-8" {
	start_server
	check_reader utf8
}

@test "bad input on stdin: a 64 MiB line is skipped with its number, in bounded memory" {
	start_server
	check_reader long
	grep -q "line 1: line longer than 16777216 bytes" "$BATS_TEST_TMPDIR/err"
}

@test "bad input on stdin: JSON nested 100,000 deep" {
	start_server
	check_reader deep
	grep -q "line 1: invalid JSON: nesting too deep" "$BATS_TEST_TMPDIR/err"
}

@test "bad input on stdin: values that are not objects, and types that are not strings" {
	start_server
	check_reader scalar
	for n in 1 2 3 4 5 6 7; do
		grep -q "line $n: not a JSON object" "$BATS_TEST_TMPDIR/err" || fail "line $n: $(cat "$BATS_TEST_TMPDIR/err")"
	done
	grep -q 'line 8: event has no "type" string' "$BATS_TEST_TMPDIR/err"
}

@test "limit.lineBytes and limit.jsonDepth set the readers' limits; bad values are refused" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[limit]\n\tlineBytes = 100\n\tjsonDepth = 3\n' >"$XDG_CONFIG_HOME/mlb/config"
	{
		printf '{"type":"token","text":"%s"}\n' "$(head -c 200 /dev/zero | tr '\0' x)"
		printf '%s\n' '{"type":"x","a":{"b":{"c":{}}}}' '{"type":"token","text":"GOOD-MARK"}'
	} >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr mlb-meter <"$BATS_TEST_TMPDIR/in"
	assert_equal "$(grep -c 'line 1: line longer than 100 bytes' <<<"$stderr")" 1
	assert_equal "$(grep -c 'line 2: invalid JSON: nesting too deep' <<<"$stderr")" 1
	assert_output --partial '{"type":"token","text":"GOOD-MARK"}'
	printf '[limit]\n\tlineBytes = 0\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-meter <"$BATS_TEST_TMPDIR/in"
	assert_output --partial "limit.lineBytes"
	printf '[limit]\n\tjsonDepth = lots\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-meter <"$BATS_TEST_TMPDIR/in"
	assert_output --partial "limit.jsonDepth"
}

# check_prompt KIND TOOL...: raw text on stdin as a prompt: no crash, no hang; the status in $st.
check_prompt() {
	local kind=$1
	shift
	timeout 30 "$@" <"$BATS_TEST_TMPDIR/prompt" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && st=0 || st=$?
	[ "$st" -lt 124 ] || fail "$1 died or hung (status $st) on a $kind prompt: $(tail -5 "$BATS_TEST_TMPDIR/err")"
}

@test "bad input as a prompt: mlb-send and mlb-broadcast give clear errors or answers" {
	start_server
	for tool in "mlb-send --no-store -m openai:echo" "mlb-broadcast --no-store -m openai:echo -m gemini:echo"; do
		name=${tool%% *}
		# NUL bytes: refused before anything is sent.
		{ printf 'x\0'; head -c 100000 /dev/urandom; } >"$BATS_TEST_TMPDIR/prompt"
		# shellcheck disable=SC2086
		check_prompt random $tool
		assert_equal "$st" 2
		grep -q "^$name: the prompt on stdin contains a NUL byte" "$BATS_TEST_TMPDIR/err"
		# JSON-looking text is text: echoed back exactly.
		for kind in truncated deep scalar; do
			bad_input "$kind" "$BATS_TEST_TMPDIR/prompt"
			# shellcheck disable=SC2086
			check_prompt "$kind" $tool
			assert_equal "$st" 0
			jq -sj 'map(select(.type=="final"))[0].content' "$BATS_TEST_TMPDIR/out" | head -c 300 >"$BATS_TEST_TMPDIR/got"
			head -c 300 "$BATS_TEST_TMPDIR/prompt" >"$BATS_TEST_TMPDIR/want"
			cmp -s "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want" || fail "$name did not echo the $kind prompt"
		done
		# Invalid UTF-8: refused before anything is sent, naming the byte.
		printf 'caf\xc3 \xff\xfe bad\n' >"$BATS_TEST_TMPDIR/prompt"
		# shellcheck disable=SC2086
		check_prompt utf8 $tool
		assert_equal "$st" 2
		assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" \
			"$name: the prompt on stdin is not valid UTF-8 (byte 4 is 0xc3); convert it first, e.g. with iconv -f latin1 -t utf-8"
	done
}

@test "invalid UTF-8 in an operand, a system prompt or a pipeline variable: exit 2 before any request" {
	start_server
	run -2 mlb-send --no-store -m openai:echo $'caf\xe9 au lait'
	assert_output "mlb-send: the prompt is not valid UTF-8 (byte 4 is 0xe9); convert it first, e.g. with iconv -f latin1 -t utf-8"
	run -2 mlb-broadcast --no-store -m openai:echo -S $'be \xed\xa0\x80 brief' hi
	assert_output --partial "mlb-broadcast: the system prompt (-S) is not valid UTF-8 (byte 4 is 0xed)"
	printf '{"name":"u","steps":[{"id":"a","models":["openai:echo"],"prompt":"about {{topic}}"}]}' >u.json
	MLB_VAR_topic=$'\xff' run -2 mlb-pipeline run u.json
	assert_output --partial "MLB_VAR_topic is not valid UTF-8 (byte 1 is 0xff)"
	run -2 mlb-pipeline run u.json --var $'topic=ok\xc0\xaf'
	assert_output --partial "--var topic is not valid UTF-8 (byte 3 is 0xc0)"
	printf '{"name":"u","steps":[{"id":"a","models":["openai:echo"],"prompt":"caf\xe9"}]}' >bad.json
	run -2 mlb-pipeline run bad.json
	assert_output --partial "bad.json"
	[ "$(requests | grep -c .)" = 0 ] || fail "a request was sent: $(requests)"
	# valid multi-byte text goes through untouched
	run -0 mlb-send --no-store --text -m openai:echo 'café ✓ 😀'
	assert_line --index 0 'café ✓ 😀'
}

@test "a 64 MiB prompt is refused by limit.requestBytes, nothing sent" {
	start_server
	head -c $((64 << 20)) /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/prompt"
	for tool in "mlb-send --no-store -m openai:echo" "mlb-broadcast --no-store -m openai:echo -m gemini:echo"; do
		# shellcheck disable=SC2086
		timed "$BATS_TEST_TMPDIR/rss" timeout 60 $tool <"$BATS_TEST_TMPDIR/prompt" \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && st=0 || st=$?
		assert_equal "$st" 1
		grep -q 'limit.requestBytes' "$BATS_TEST_TMPDIR/out"
		# Only a little past the limit is read: memory stays bounded.
		rss=$(tail -1 "$BATS_TEST_TMPDIR/rss")
		[ "$rss" -lt 204800 ] || fail "${tool%% *}: a 64 MiB prompt cost $rss kB before limit.requestBytes refused it"
	done
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
}

# kill_drill SESSION CMD...: start CMD five times and kill -9 it at a random moment;
# git fsck --strict must pass after every kill.
kill_drill() {
	local s=$1 i pid
	shift
	for i in 1 2 3 4 5; do
		"$@" "run $i" >/dev/null 2>&1 &
		pid=$!
		sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.05 + (r % 76) / 100 }')"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if [ -d "$MLB_HOME/sessions/$s/.git" ]; then
			run git -C "$MLB_HOME/sessions/$s" fsck --strict
			[ "$status" -eq 0 ] || fail "git fsck after kill $i: $output"
		fi
	done
}

# after_kills SESSION: the next write brings the work tree up to date: every committed
# file is there, nothing else changed, every message has its hash.
after_kills() {
	local dir="$MLB_HOME/sessions/$1" f
	run mlb-send -s "$1" -p after -m openai:echo "after the kills"
	assert_success
	run git -C "$dir" fsck --strict
	assert_success
	run git -C "$dir" status --porcelain
	assert_output ""
	while read -r f; do
		[ -f "$dir/$f" ] || fail "committed $f is missing from the work tree"
		cmp -s "$dir/$f" <(git -C "$dir" show "HEAD:$f") || fail "$f differs from the commit"
	done < <(git -C "$dir" ls-tree -r --name-only HEAD)
	for f in "$dir"/panes/*/*.msg; do
		grep -q '^Content-Hash: sha256:' "$f" || fail "$f has no Content-Hash"
	done
}

@test "kill -9 of mlb-send at random moments: fsck clean, every message in the work tree" {
	start_server
	kill_drill ks mlb-send -s ks -m openai:alpha+tokens=300+delay=3
	after_kills ks
}

@test "kill -9 of mlb-broadcast at random moments: fsck clean, every message in the work tree" {
	start_server
	kill_drill kb mlb-broadcast -s kb -m openai:alpha+tokens=300+delay=3 -m gemini:beta+tokens=300+delay=3 \
		-m anthropic:gamma+tokens=300+delay=3
	after_kills kb
}

@test "kill -9 of mlb-summarize at random moments: fsck clean, every message in the work tree" {
	start_server
	implemented mlb-summarize --help || skip "mlb-summarize is not implemented yet"
	mlb-broadcast -s kz -m openai:echo -m gemini:echo "two answers to summarize" >/dev/null 2>&1
	# The "prompt" kill_drill appends becomes a pane name that does not exist: use panes explicitly.
	kill_drill kz bash -c 'exec mlb-summarize -s kz -m openai:alpha+tokens=300+delay=3 openai-echo gemini-echo'
	after_kills kz
}

@test "stdout closed early (EPIPE): mlb-send exits cleanly and stores the partial reply" {
	start_server
	# Closed at once: a clean exit and a sound session, whether or not text had come.
	run bash -c 'mlb-send -s ep -m openai:alpha+tokens=2000+delay=1 hi 2>"$BATS_TEST_TMPDIR/err" | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" -eq 0 ] || [ "$output" -eq 1 ] || fail "mlb-send exited $output on a closed pipe: $(cat "$BATS_TEST_TMPDIR/err")"
	for d in "$MLB_HOME"/sessions/ep/panes/*/; do
		f=$(nth_msg "${d%/}" 2)
		[ -e "$f" ] || continue
		grep -qxE "(Partial|Cancelled): true" "$f" || fail "$f is not marked partial"
	done
	run git -C "$MLB_HOME/sessions/ep" fsck --strict
	assert_success
	# Closed after some tokens: the text so far is stored, marked.
	run bash -c 'mlb-send -s ep2 -m openai:alpha+tokens=2000+delay=1 hi 2>"$BATS_TEST_TMPDIR/err" | head -c 3000 >/dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" -eq 0 ] || [ "$output" -eq 1 ] || fail "mlb-send exited $output on a closed pipe: $(cat "$BATS_TEST_TMPDIR/err")"
	f=$(nth_msg "$(ls -d "$MLB_HOME"/sessions/ep2/panes/*/ | head -n 1 | sed 's|/$||')" 2)
	grep -qxE "(Partial|Cancelled): true" "$f"
	[ "$(sed '1,/^$/d' "$f" | wc -c)" -gt 0 ]
	run git -C "$MLB_HOME/sessions/ep2" fsck --strict
	assert_success
}

@test "stdout closed early (EPIPE): mlb-broadcast exits cleanly and stores the partial replies" {
	start_server
	run bash -c 'mlb-broadcast -s ep -m openai:alpha+tokens=2000+delay=1 -m gemini:beta+tokens=2000+delay=1 hi \
		2>"$BATS_TEST_TMPDIR/err" | head -c 3000 >/dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" -eq 0 ] || [ "$output" -eq 1 ] || [ "$output" -eq 3 ] ||
		fail "mlb-broadcast exited $output on a closed pipe: $(cat "$BATS_TEST_TMPDIR/err")"
	for d in "$MLB_HOME"/sessions/ep/panes/*/; do
		f=$(nth_msg "${d%/}" 2)
		grep -qxE "(Partial|Cancelled): true" "$f" || fail "$f is not marked partial"
	done
	[ "$(ls "$MLB_HOME"/sessions/ep/panes | wc -l)" -eq 2 ]
	run git -C "$MLB_HOME/sessions/ep" fsck --strict
	assert_success
}

@test "MLB_HOME unwritable: mlb-broadcast gives a clear error and still prints every reply" {
	start_server
	: >"$BATS_TEST_TMPDIR/notadir"
	MLB_HOME="$BATS_TEST_TMPDIR/notadir" run -1 --separate-stderr mlb-broadcast -m openai:echo -m gemini:echo "still answered"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "$(printf 'still answered\nstill answered')"
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "storage"
	grep -q "^mlb-broadcast: .*Not a directory" <<<"$stderr"
}

@test "the key appears nowhere: every tool, successes and failures, sessions, request log, ps" {
	start_server
	local out="$BATS_TEST_TMPDIR/capture"
	mkdir -p "$out"
	{
		mlb-send -s sec -m openai:echo "keep it secret"
		mlb-send -s sec -m openai:alpha+fault=401 "and here"
		mlb-send -s sec -m gemini:alpha+fault=500 --retries 0 "and here"
		mlb-send -s sec -m anthropic:alpha+fault=cut "and here"
		mlb-send -s sec -m anthropic:echo --from openai-echo "check:"
		mlb-send -s sec -m openai:echo --text "as text"
		mlb-broadcast -s sec -m openai:echo -m gemini:echo -m anthropic:x+fault=401 "all of you"
		mlb-send --no-store -m gemini:echo "piped" | mlb-send --no-store -m openai:echo --from -
		if implemented mlb-summarize --help; then mlb-summarize -s sec -m openai:echo openai-echo gemini-echo; fi
		if implemented mlb-meter; then mlb-send --no-store -m openai:echo hi | mlb-meter --report; fi
		if implemented mlb-diff --help; then mlb-diff -s sec openai-echo gemini-echo; fi
		mlb-session ls
		mlb-session show sec
		mlb-session log sec
		mlb-session export sec
		mlb-models
		mlb-models --json openai gemini anthropic
		if implemented mlb-pipeline run compare-and-summarize --dry-run; then
			mlb-pipeline run compare-and-summarize -s sec --var model_a=openai:echo --var model_b=gemini:echo \
				--var model_c=anthropic:echo --var summarizer=openai:echo
		fi
	} >"$out/stdout" 2>"$out/stderr" || true
	# While a slow request runs, the key is in no process's arguments.
	mlb-send --no-store -m openai:alpha+ttft=1500 "slow" >"$out/slow" 2>&1 &
	pid=$!
	for i in 1 2 3 4 5; do
		ps -eo args >>"$out/ps"
		sleep 0.2
	done
	wait "$pid"
	grep -q "mlb-send --no-store -m openai:alpha+ttft=1500" "$out/ps"
	assert_no_key "$out" "$MLB_HOME" "$MLB_SERVER_LOG"
	# git objects are compressed: look at every object's contents too.
	for s in "$MLB_HOME"/sessions/*; do
		if git -C "$s" cat-file --batch-all-objects --batch | grep -aqF -- "$MLB_TEST_KEY"; then
			fail "the key is in a git object of $s"
		fi
	done
	# The server saw the key only as a hash prefix, and never in a URL.
	prefix=$(printf %s "$MLB_TEST_KEY" | sha256sum | cut -c1-16)
	grep -q "<redacted sha256:$prefix>" "$MLB_SERVER_LOG"
	! jq -r .query "$MLB_SERVER_LOG" | grep -qi 'key='
}

@test "keyCmd gives the key when the variable is unset" {
	start_server
	unset OPENAI_API_KEY
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[provider "openai"]\n\tkeyCmd = printf %%s sk-from-cmd\n' >"$XDG_CONFIG_HOME/mlb/config"
	run mlb-send --no-store -m openai:echo "via keyCmd"
	assert_success
	prefix=$(printf %s sk-from-cmd | sha256sum | cut -c1-16)
	assert_equal "$(jq -r '.headers.authorization' "$MLB_SERVER_LOG")" "<redacted sha256:$prefix>"
	! grep -qF sk-from-cmd "$MLB_SERVER_LOG"
	# A command that fails is an auth error that names the setting, and nothing is sent.
	printf '[provider "openai"]\n\tkeyCmd = false\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m openai:echo "no key"
	assert_output --partial "keyCmd"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 1
}

@test "config: '_' is dropped from keys only, not from continued or very long values" {
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	{
		printf '[provider "cont"]\n\tkind = openai\n\tkey_env = CONT_KEY\n'
		printf '\tbase_url = http://127.0.0.1:%s/openai/my\\\n_proxy/v1\n' "$MLB_SERVER_PORT"
		printf '[provider "long"]\n\tkind = openai\n\tkey_env = CONT_KEY\n'
		printf '\tbase_url = http://127.0.0.1:%s/openai/%s_x/v1\n' "$MLB_SERVER_PORT" "$long"
	} >"$XDG_CONFIG_HOME/mlb/config"
	CONT_KEY=k run mlb-send --no-store -m cont:echo hi
	assert_success
	CONT_KEY=k run mlb-send --no-store -m long:echo hi
	assert_success
	assert_equal "$(jq -r .path "$MLB_SERVER_LOG" | head -1)" "/openai/my_proxy/v1/chat/completions"
	assert_equal "$(jq -r .path "$MLB_SERVER_LOG" | tail -1)" "/openai/${long}_x/v1/chat/completions"
	# A valueless key in a multi-valued setting is no model, not a crash.
	printf '[group "fast"]\n\tmodel\n\tmodel = openai:echo\n' >"$XDG_CONFIG_HOME/mlb/config"
	run mlb-broadcast --no-store -g fast hi
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "hi"
}

@test "--insecure warns on stderr; verification is on otherwise" {
	start_server
	run --separate-stderr mlb-send --no-store --insecure -m openai:echo hi
	assert_success
	grep -q "^mlb-send: warning: TLS certificates are not verified" <<<"$stderr"
	run --separate-stderr mlb-send --no-store -m openai:echo hi
	assert_success
	! grep -q "TLS" <<<"$stderr"
}

@test "limit.replyBytes: a bigger reply ends with an error, not unbounded memory" {
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[limit]\n\treplyBytes = 20000\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 --separate-stderr timed "$BATS_TEST_TMPDIR/rss" timeout 60 \
		mlb-send --no-store -m openai:alpha+tokens=200000 hi
	assert_equal "$(jq -r 'select(.type=="error").message' <<<"$output" | grep -c 'limit.replyBytes')" 1
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "true"
	[ "$(jq -r 'select(.type=="final").content | length' <<<"$output")" -le 20000 ]
	[ "$(tail -1 "$BATS_TEST_TMPDIR/rss")" -lt 102400 ]
	# The same for a body that is not streamed.
	run -1 mlb-send --no-store -m openai:alpha+tokens=200000 -o stream=false hi
	assert_output --partial "limit.replyBytes"
}

@test "limit.transfers: with 2, at most two of six requests are in flight" {
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[limit]\n\ttransfers = 2\n' >"$XDG_CONFIG_HOME/mlb/config"
	models=()
	for m in a b c d e f; do models+=(-m "openai:$m+ttft=600+tokens=1"); done
	start=$(date +%s%N)
	run mlb-broadcast --no-store "${models[@]}" hi
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_success
	# Three waves of 600 ms; six at once would take one.
	[ "$elapsed" -ge 1700 ] || fail "six requests took $elapsed ms: more than two ran at once"
	# The tool's own status events: requests started minus jobs done never exceeds 2.
	jq -r 'select(.type=="status").stage' <<<"$output" |
		awk '/^request$/ { n++ } /^done$/ { n-- } n > max { max = n } END { print max }' >"$BATS_TEST_TMPDIR/max"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/max")" 2
	printf '[limit]\n\ttransfers = 6\n' >"$XDG_CONFIG_HOME/mlb/config"
	start=$(date +%s%N)
	run mlb-broadcast --no-store "${models[@]}" hi
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_success
	[ "$elapsed" -lt 1700 ] || fail "six requests at once took $elapsed ms"
}
