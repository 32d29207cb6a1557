#!/usr/bin/env bats
# Conversations: history as context, -c, MLB_SESSION, send-to with provenance,
# storage that survives kill -9.

load helpers/common

setup() {
	clean_world
	start_server
}

session_of() {
	jq -r 'select(.type=="final").session' <<<"$1" | head -n 1
}

@test "a new session is made, its id on stderr and in every event" {
	mlb-send -m openai:echo "hello" >out 2>err
	id=$(sed -n 's/^mlb-send: session //p' err)
	[[ "$id" =~ ^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{6}$ ]]
	assert_equal "$(jq -r .session out | sort -u)" "$id"
	[ -d "$MLB_HOME/sessions/$id/.git" ]
	run git -C "$MLB_HOME/sessions/$id" log --format=%s
	assert_line --index 0 "mlb-send: openai-echo (openai:echo): hello"
	run git -C "$MLB_HOME/sessions/$id" fsck --strict
	assert_success
	run git -C "$MLB_HOME/sessions/$id" status --porcelain
	assert_output ""
}

@test "the stored messages are mail-like files with the content exactly" {
	mlb-send -m openai:echo "two lines
and a blank

end" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	dir="$MLB_HOME/sessions/$id/panes/openai-echo"
	assert_equal "$(jq -r 'select(.type=="final").message' out)" "$(cd "$MLB_HOME/sessions/$id" && nth_msg panes/openai-echo 2)"
	run sed -n '1,/^$/p' "$(nth_msg "$dir" 1)"
	assert_line "Role: user"
	assert_line --regexp '^Date: [0-9-]+T[0-9:.]+Z$'
	assert_line --regexp '^Content-Hash: sha256:[0-9a-f]{64}$'
	run sed -n '1,/^$/p' "$(nth_msg "$dir" 2)"
	assert_line "Role: assistant"
	assert_line "Model: openai:echo"
	assert_line --regexp '^Completion-Tokens: [0-9]+$'
	assert_line "Finish-Reason: stop"
	# the body is the reply byte for byte, with no newline added
	sed '1,/^$/d' "$(nth_msg "$dir" 2)" >body
	printf 'two lines\nand a blank\n\nend' >want
	cmp body want
	hash=$(sha256sum want | cut -d' ' -f1)
	grep -qx "Content-Hash: sha256:$hash" "$(nth_msg "$dir" 2)"
	assert_equal "$(jq -r .model "$dir/pane.json")" "openai:echo"
}

@test "-s sends the pane's whole history, system prompt included" {
	mlb-send -m anthropic:echo -S "you are terse" "first" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	mlb-send -s "$id" -p anthropic-echo "second" >/dev/null
	req=$(tail -n 1 "$MLB_SERVER_LOG")
	assert_equal "$(jq -r .body.system <<<"$req")" "you are terse"
	assert_equal "$(jq -c '[.body.messages[] | [.role, .content]]' <<<"$req")" '[["user","first"],["assistant","first"],["user","second"]]'
	# the pane remembers its model
	assert_equal "$(jq -r .body.model <<<"$req")" "echo"
}

@test "history reaches openai and gemini in their own shapes" {
	mlb-send -m openai:echo -S sys "q1" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	mlb-send -s "$id" -m openai:echo "q2" >/dev/null
	assert_equal "$(tail -n 1 "$MLB_SERVER_LOG" | jq -c '[.body.messages[] | .role]')" '["system","user","assistant","user"]'
	mlb-send -s "$id" -m gemini:echo -p g -S sys "g1" >/dev/null
	mlb-send -s "$id" -p g "g2" >/dev/null
	req=$(tail -n 1 "$MLB_SERVER_LOG")
	assert_equal "$(jq -c '[.body.contents[] | .role]' <<<"$req")" '["user","model","user"]'
	assert_equal "$(jq -r '.body.systemInstruction.parts[0].text' <<<"$req")" "sys"
}

@test "-c continues the most recent session; MLB_SESSION names one" {
	run -1 mlb-send -c -m openai:echo "nothing yet"
	assert_output --partial "no session to continue"
	mlb-send -m openai:echo "a" >out1 2>/dev/null
	sleep 1.1
	mlb-send -m openai:echo "b" >out2 2>/dev/null
	id1=$(session_of "$(cat out1)")
	id2=$(session_of "$(cat out2)")
	[ "$id1" != "$id2" ]
	run mlb-send -c -m openai:echo "c"
	assert_equal "$(session_of "$output")" "$id2"
	MLB_SESSION="$id1" run mlb-send -m openai:echo "d"
	assert_equal "$(session_of "$output")" "$id1"
	assert_equal "$(ls "$MLB_HOME/sessions/$id1/panes/openai-echo" | grep -c msg)" "4"
}

@test "session ids that could escape MLB_HOME are refused before any path is built" {
	for bad in ../x /etc/passwd .hidden a/b "" "$(printf 'x%.0s' $(seq 1 65))" 'semi;colon'; do
		run -2 mlb-send -s "$bad" -m openai:echo hi
		assert_output --partial "invalid session id"
	done
	run -2 mlb-send -p ../up -m openai:echo hi
	assert_output --partial "invalid pane name"
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "0"
}

@test "--from <pane> moves the last answer in, with provenance headers and a message event" {
	mlb-send -m openai:echo -p src "the source answer" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	run mlb-send -s "$id" -p dst -m anthropic:echo --from src
	assert_success
	msg=$(jq -c 'select(.type=="message")' <<<"$output")
	assert_equal "$(jq -r .content <<<"$msg")" "the source answer"
	assert_equal "$(jq -c '.provenance | [.source_session, .source_pane, .source_model]' <<<"$msg")" "[\"$id\",\"src\",\"openai:echo\"]"
	hash=$(printf 'the source answer' | sha256sum | cut -d' ' -f1)
	assert_equal "$(jq -r .provenance.content_hash <<<"$msg")" "sha256:$hash"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "the source answer"
	f="$(nth_msg "$MLB_HOME/sessions/$id/panes/dst" 1)"
	grep -qx "Source-Session: $id" "$f"
	grep -qx "Source-Pane: src" "$f"
	grep -qx "Source-Model: openai:echo" "$f"
	grep -qx "Source-Hash: sha256:$hash" "$f"
	grep -q "^Transfer-Ts: " "$f"
}

@test "--from <pane>:<n>, --from <session>/<pane>, and a prompt put before the moved text" {
	mlb-send -m openai:echo -p src "one" >out 2>/dev/null
	id=$(session_of "$(cat out)")
	mlb-send -s "$id" -p src "two" >/dev/null
	run mlb-send -s "$id" -p d1 -m openai:echo --from src:1
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "one"
	run --separate-stderr mlb-send -p d2 -m openai:echo --from "$id/src" "Critique this:"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "Critique this:

two"
	run -1 mlb-send -s "$id" -p d3 -m openai:echo --from src:9
	assert_output --partial "has no message 9"
	run -2 mlb-send -p d3 -m openai:echo --from src
	assert_output --partial "no session"
	run -2 mlb-send -s "$id" -m openai:echo --from src:zero
}

@test "--from - takes the last final event on stdin" {
	run bash -c 'mlb-send --no-store -m gemini:echo "piped answer" | mlb-send --no-store -m openai:echo --from -'
	assert_success
	assert_equal "$(jq -r 'select(.type=="message").provenance.source_model' <<<"$output")" "gemini:echo"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "piped answer"
	run -1 bash -c 'echo "{\"type\":\"token\",\"text\":\"x\"}" | mlb-send --no-store -m openai:echo --from -'
	assert_output --partial "no final or message event"
	# a malformed line is reported; the answer is still made; the exit status remembers it
	run -1 --separate-stderr bash -c '{ echo "not json"; mlb-send --no-store -m gemini:echo "still here"; } |
		mlb-send --no-store -m openai:echo --from -'
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "still here"
	[[ "$stderr" == *"mlb-send: line 1: invalid JSON"* ]]
}

@test "a partial reply is committed with Partial: true" {
	run -1 --separate-stderr mlb-send -m openai:alpha+fault=cut+tokens=8+cut_after=3 hi
	id=$(session_of "$output")
	f="$(nth_msg "$MLB_HOME/sessions/$id/panes/openai-alpha-fault-cut-tokens-8-cut_after-3" 2)"
	grep -qx "Partial: true" "$f"
	run git -C "$MLB_HOME/sessions/$id" fsck --strict
	assert_success
}

@test "kill -9 in mid-stream leaves git fsck --strict clean and no half message" {
	for i in 1 2 3 4 5; do
		mlb-send -s killed -m openai:alpha+tokens=400+delay=2 "go $i" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 9 + 1))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if [ -d "$MLB_HOME/sessions/killed/.git" ]; then
			run git -C "$MLB_HOME/sessions/killed" fsck --strict
			assert_success
		fi
	done
	mlb-send -s killed -m openai:echo "after the kills" >/dev/null
	run git -C "$MLB_HOME/sessions/killed" fsck --strict
	assert_success
	run git -C "$MLB_HOME/sessions/killed" status --porcelain
	assert_output ""
	for f in "$MLB_HOME"/sessions/killed/panes/*/*.msg; do
		grep -q '^Content-Hash: sha256:' "$f"
	done
}

@test "eight concurrent writers to one session lose nothing" {
	mlb-send -s shared -m openai:echo "start" >/dev/null 2>&1
	for i in $(seq 1 8); do
		mlb-send -s shared -p same -m openai:echo+tokens=3 "writer $i" >/dev/null 2>&1 &
	done
	wait
	dir="$MLB_HOME/sessions/shared/panes/same"
	assert_equal "$(ls "$dir" | grep -c '\.msg$')" "16"
	for i in $(seq 1 8); do
		grep -lx "writer $i" "$dir"/*.msg >/dev/null || grep -l "writer $i" "$dir"/*.msg >/dev/null
	done
	assert_equal "$(git -C "$MLB_HOME/sessions/shared" rev-list --count HEAD)" "10"
	run git -C "$MLB_HOME/sessions/shared" fsck --strict
	assert_success
}

@test "MLB_HOME unwritable: a clear error, the reply still printed" {
	# a file where the directory should be fails even for root
	: >"$BATS_TEST_TMPDIR/notadir"
	MLB_HOME="$BATS_TEST_TMPDIR/notadir" run -1 --separate-stderr mlb-send -m openai:echo "still answered"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "still answered"
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "storage"
	[ -n "$stderr" ]
}
