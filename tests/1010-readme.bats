#!/usr/bin/env bats
# Every example of README.md runs as written against the bundled server.
# tests/helpers/readme-examples.py pulls the mlb commands out of the
# README's indented blocks; the configuration blocks become the config
# file, and the files the examples read (a git diff, ci/review.json,
# NOTES.md, capitals.*) are made here, as a reader would have them.

load helpers/common

setup() {
	clean_world
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb" "$HOME/mlb" ci
	# the README's configuration blocks, as written
	awk '/^    \[/ { on = 1 } on && /^    / { sub(/^    /, ""); print; next } { on = 0 }' "$MLB_SRC/README.md" \
		| sed 's/ *# .*$//' > "$XDG_CONFIG_HOME/mlb/config"
	# what the examples read
	git init -q . && printf 'one\n' > notes.txt && git add notes.txt && git commit -qm one && printf 'two\n' >> notes.txt
	printf 'Version 2 adds tides.\n' > NOTES.md
	printf '{"name": "review", "vars": {"notes": ""}, "steps": [{"id": "read", "models": ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest"], "prompt": "Review these release notes:\\n{{notes}}"}]}\n' > ci/review.json
	sed -n '/^    \$ cat capitals.jsonl$/,/^    \$ cat capitals.json$/p' "$MLB_SRC/README.md" | sed '1d;$d; s/^    //' > capitals.jsonl
	sed -n '/^    \$ cat capitals.json$/,/^    \$ mlb-pipeline/p' "$MLB_SRC/README.md" | sed '1d;$d; s/^    //' > capitals.json
	export GITHUB_RUN_ID=1
}

@test "README: every example runs as written against the local server" {
	local n=0 cmd status want
	[ -s capitals.json ] && jq -e . capitals.json >/dev/null
	[ "$(wc -l < capitals.jsonl)" -eq 2 ]
	while IFS= read -r -d '' cmd; do
		[ -n "$cmd" ] || continue
		n=$((n + 1))
		status=0
		bash -c "$cmd" </dev/null >"out.$n" 2>"err.$n" || status=$?
		want=0
		# the capitals example checks answers the local server cannot know: exit 5, a failed check
		[[ $cmd == *"--rows capitals.jsonl"* ]] && want=5
		[ "$status" -eq "$want" ] || fail "example $n exited $status (want $want): $cmd"$'\n'"$(cat "err.$n")"
	done < <(python3 "$MLB_SRC/tests/helpers/readme-examples.py" "$MLB_SRC/README.md"; printf '\0')
	[ "$n" -ge 15 ] || fail "only $n examples found"
	# the headline showed the answers' cost table; -c went on in the latest pane
	[ -s "$HOME/mlb/nightly.ndjson" ]
	[ -s report.xml ]
}
