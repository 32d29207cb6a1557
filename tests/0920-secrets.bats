#!/usr/bin/env bats
# Secrets: a key a provider echoes back is redacted from every text mlb
# prints, emits or stores; a key with control characters never leaves; a
# keyCmd cannot hang; no core dump holds a key; a base URL's user:password
# is never printed.

load helpers/common

setup() {
	clean_world
}

# no_key_in_sessions: the key is in no file under $MLB_HOME, nor in any git object there.
no_key_in_sessions() {
	local s
	assert_no_key "$MLB_HOME"
	for s in "$MLB_HOME"/sessions/*; do
		[ -d "$s/.git" ] || continue
		if git -C "$s" cat-file --batch-all-objects --batch | grep -aqF -- "$MLB_TEST_KEY"; then
			fail "the key is in a git object of $s"
		fi
	done
}

@test "a provider that echoes the key in a 401: redacted from events, stderr, Error headers and git" {
	start_server --echo-key
	local out="$BATS_TEST_TMPDIR/capture"
	mkdir -p "$out"
	run -1 mlb-send -s echoed -m openai:alpha+fault=401+echo_key "one"
	printf '%s\n' "$output" >"$out/send"
	# the server did quote it: the redaction shows where the key was
	assert_output --partial "Incorrect API key provided: [redacted]."
	run -3 mlb-broadcast -s echoed -m openai:echo -m gemini:alpha+fault=401+echo_key \
		-m anthropic:alpha+fault=403+echo_key "two"
	printf '%s\n' "$output" >"$out/broadcast"
	grep -c '"code":"auth"' "$out/broadcast"
	# text output on stderr and the committed Error: header
	mlb-send -s echoed -m openai:alpha+fault=401+echo_key --text "three" >"$out/text.out" 2>"$out/text.err" || true
	grep -q '\[redacted\]' "$out/text.err"
	grep -rl '^Error: .*Incorrect API key provided: \[redacted\]' "$MLB_HOME"/sessions/echoed/panes/ >/dev/null
	# a pipeline step and mlb-models --require-key: the same
	printf '{"name":"p","steps":[{"id":"a","models":["openai:alpha+fault=401+echo_key"],"prompt":"hi"}]}\n' \
		>"$BATS_TEST_TMPDIR/p.json"
	mlb-pipeline run "$BATS_TEST_TMPDIR/p.json" -s echoed --json >"$out/pipe.out" 2>"$out/pipe.err" || true
	grep -q 'Incorrect API key provided: \[redacted\]' "$out/pipe.out"
	mlb-session show --json echoed >"$out/show" 2>&1
	mlb-session log --json echoed >"$out/log" 2>&1
	mlb-session export echoed >"$out/export" 2>&1
	assert_no_key "$out"
	no_key_in_sessions
}

@test "mlb-models against a server that quotes the key: the error event and stderr are redacted" {
	start_server --require-key other-key-value --echo-key
	run -1 mlb-models --json openai gemini anthropic
	assert_output --partial '"code":"auth"'
	assert_output --partial "Incorrect API key provided: [redacted]"
	refute_output --partial "$MLB_TEST_KEY"
	run -1 mlb-models --text openai
	assert_output --partial "[redacted]"
	refute_output --partial "$MLB_TEST_KEY"
}

@test "a key from keyCmd that a provider echoes is redacted too" {
	start_server
	unset OPENAI_API_KEY
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[provider "openai"]\n\tkeyCmd = printf %%s %s\n' "$MLB_TEST_KEY" >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send -s cmdkey -m openai:alpha+fault=401+echo_key "hi"
	assert_output --partial "Incorrect API key provided: [redacted]"
	refute_output --partial "$MLB_TEST_KEY"
	no_key_in_sessions
}

@test "a key holding CR LF is refused before any request, naming the variable" {
	start_server
	export OPENAI_API_KEY=$'abc123456\r\nX-Injected: evil'
	run -1 mlb-send --no-store -m openai:echo "hi"
	assert_output --partial "OPENAI_API_KEY holds a control character (byte 0x0d at offset 9)"
	run -1 mlb-broadcast --no-store -m openai:echo -m openai:alpha "hi"
	assert_output --partial "OPENAI_API_KEY holds a control character"
	run -1 mlb-models --json openai
	assert_output --partial "OPENAI_API_KEY holds a control character"
	# nothing reached the server, so no injected header either
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
	! grep -qi 'x-injected' "$MLB_SERVER_LOG"
	# other providers are not held back by one bad key
	run -0 mlb-send --no-store -m gemini:echo "fine"
	! grep -qi 'x-injected' "$MLB_SERVER_LOG"
	# a tab or an escape in a key printed by keyCmd: the same, naming the setting
	unset OPENAI_API_KEY
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[provider "openai"]\n\tkeyCmd = printf \\"sk-abcdef\\\\033[31m\\"\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m openai:echo "hi"
	assert_output --partial "the key printed by provider.openai.keyCmd holds a control character (byte 0x1b"
	assert_equal "$(jq -s 'map(select(.kind=="openai")) | length' "$MLB_SERVER_LOG")" 0
}

@test "keyCmd has a time limit: its process group is killed and the error names the command" {
	start_server
	unset OPENAI_API_KEY
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	# the shell notes its group; a child of it sleeps, so the whole group must go
	printf '[timeout]\n\tkeyCmd = 0.5\n[provider "openai"]\n\tkeyCmd = "echo $$ >%s/group; sleep 600"\n' \
		"$BATS_TEST_TMPDIR" >"$XDG_CONFIG_HOME/mlb/config"
	SECONDS=0
	run -1 timeout 20 mlb-send --no-store -m openai:echo "hi"
	[ "$SECONDS" -le 4 ] || fail "keyCmd was not stopped in time ($SECONDS s)"
	assert_output --partial "provider.openai.keyCmd 'echo \$\$ >$BATS_TEST_TMPDIR/group; sleep 600' did not finish within 0.5 s and was killed"
	group=$(cat "$BATS_TEST_TMPDIR/group")
	# live members of the group (a killed one may linger a moment as a zombie)
	for i in $(seq 1 20); do
		live=$(ps -eo pgid=,stat=,args= | awk -v g="$group" '$1 == g && $2 !~ /^Z/')
		[ -z "$live" ] && break
		sleep 0.1
	done
	[ -z "$live" ] || fail "the keyCmd's process group $group still runs: $live"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" 0
	# a provider's own keyCmdTimeout wins over timeout.keyCmd
	printf '[timeout]\n\tkeyCmd = 30\n[provider "openai"]\n\tkeyCmd = sleep 600\n\tkeyCmdTimeout = 0.3\n' \
		>"$XDG_CONFIG_HOME/mlb/config"
	SECONDS=0
	run -1 timeout 20 mlb-send --no-store -m openai:echo "hi"
	[ "$SECONDS" -le 4 ]
	assert_output --partial "provider.openai.keyCmd 'sleep 600' did not finish within 0.3 s"
	# a bad value is a configuration error that names the setting
	printf '[timeout]\n\tkeyCmd = -1\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m gemini:echo "hi"
	assert_output --partial "'timeout.keyCmd' must be a number of seconds above 0"
	# a keyCmd that fails says how
	printf '[provider "openai"]\n\tkeyCmd = exit 3\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m openai:echo "hi"
	assert_output --partial "provider.openai.keyCmd 'exit 3' failed with status 3"
}

@test "a signal while keyCmd runs ends the command's process group too" {
	start_server
	unset OPENAI_API_KEY
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[timeout]\n\tkeyCmd = 60\n[provider "openai"]\n\tkeyCmd = "echo $$ >%s/group; sleep 600"\n' \
		"$BATS_TEST_TMPDIR" >"$XDG_CONFIG_HOME/mlb/config"
	mlb-send --no-store -m openai:echo "hi" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 100); do
		[ -s "$BATS_TEST_TMPDIR/group" ] && break
		sleep 0.05
	done
	group=$(cat "$BATS_TEST_TMPDIR/group")
	SECONDS=0
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$SECONDS" -le 3 ] || fail "mlb-send took $SECONDS s to stop"
	assert_equal "$status" 143
	for i in $(seq 1 20); do
		live=$(ps -eo pgid=,stat=,args= | awk -v g="$group" '$1 == g && $2 !~ /^Z/')
		[ -z "$live" ] && break
		sleep 0.1
	done
	[ -z "$live" ] || fail "the keyCmd's process group $group outlived mlb-send: $live"
}

@test "no core dumps while keys are in memory" {
	ulimit -S -c unlimited 2>/dev/null || skip "cannot raise the core size limit here"
	[ "$(ulimit -c)" = unlimited ]
	start_server
	mlb-send --no-store -m openai:alpha+ttft=3000 "slow" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 50); do
		grep -q '^Max core file size' "/proc/$pid/limits" 2>/dev/null &&
			[ "$(wc -l <"$MLB_SERVER_LOG")" -ge 1 ] && break
		sleep 0.05
	done
	limits=$(cat "/proc/$pid/limits")
	kill "$pid"
	wait "$pid" || true
	grep -E '^Max core file size +0 +0 ' <<<"$limits" || fail "core dumps are on: $limits"
}

@test "user:password in a base URL is redacted from every message and event" {
	export OPENAI_API_KEY="$MLB_TEST_KEY"
	export OPENAI_BASE_URL="http://alice:hunter2-secret@127.0.0.1:1/v1"
	run -1 mlb-models --json openai
	assert_output --partial '"code":"network"'
	assert_output --partial 'http://[redacted]@127.0.0.1:1/v1'
	refute_output --partial "hunter2"
	refute_output --partial "alice"
	run -1 mlb-models --text openai
	assert_output --partial 'http://[redacted]@127.0.0.1:1/v1'
	refute_output --partial "hunter2"
	run -1 mlb-send -s url -m openai:echo --retries 0 "hi"
	refute_output --partial "hunter2"
	! grep -rq hunter2 "$MLB_HOME"
	no_key_in_sessions
}
