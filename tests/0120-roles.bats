#!/usr/bin/env bats
# Aliases, per-model defaults, options written after a model, and roles
# (saved system prompts): what reaches the server and what is stored.

load helpers/common

setup() {
	clean_world
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb/prompts"
}

config() {
	cat >"$XDG_CONFIG_HOME/mlb/config"
}

# body N: the body of the N-th request (1-based) as compact JSON.
body() {
	sed -n "${1}p" "$MLB_SERVER_LOG" | jq -c .body
}

# stored SESSION PANE N: the N-th message file of a pane.
stored() {
	cat "$(nth_msg "$MLB_HOME/sessions/$1/panes/$2" "$3")"
}

@test "an alias stands for the model on -m, MLB_MODEL and in a broadcast; the pane is named after the model" {
	config <<-'EOF2'
	[alias]
		fast = openai:echo
	EOF2
	run --separate-stderr mlb-send -s s1 -m fast "one two"
	assert_success
	assert_equal "$(jq -c 'select(.type=="final") | [.pane, .model, .content]' <<<"$output")" '["openai-echo","openai:echo","one two"]'
	assert_equal "$(body 1 | jq -r .model)" "echo"
	grep -qx 'Model: openai:echo' <(stored s1 openai-echo 2)
	assert_equal "$(jq -r .model "$MLB_HOME/sessions/s1/panes/openai-echo/pane.json")" "openai:echo"
	MLB_MODEL=fast run --separate-stderr mlb-send --no-store "three"
	assert_success
	assert_equal "$(body 2 | jq -r .model)" "echo"
	run --separate-stderr mlb-broadcast --no-store -m fast -m anthropic:echo "four"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final") | .pane' <<<"$output" | sort | tr '\n' ' ')" "anthropic-echo openai-echo "
}

@test "an unknown name that is no alias is a usage error naming the fix" {
	run --separate-stderr mlb-send --no-store -m fastest "x"
	assert_failure 2
	assert_equal "$stderr" "mlb-send: model 'fastest' is neither provider:model nor an alias; write it as e.g. openai:fastest, or add [alias] fastest = provider:model to the configuration"
	[ ! -s "$MLB_SERVER_LOG" ]
}

@test "[model] options, -o and options after the model: each overrides the one before, per model" {
	config <<-'EOF2'
	[alias]
		cold = openai:echo,temperature=0
	[model "openai:echo"]
		option = temperature=0.7
		option = max_tokens=100
		option = top_p=0.9
	EOF2
	run --separate-stderr mlb-broadcast -s b1 -o top_p=0.5 -o seed=7 \
		-m 'openai:echo,temperature=0.2,max_tokens=5' -m cold -m 'anthropic:echo,stop=[",",";"]' "a b"
	assert_success
	run jq -c 'select(.path | test("chat/completions")) | .body | [.temperature, .max_tokens, .top_p, .seed]' "$MLB_SERVER_LOG"
	assert_equal "$(sort <<<"$output")" '[0,100,0.5,7]
[0.2,5,0.5,7]'
	run jq -c 'select(.path | test("messages")) | .body | [.stop_sequences, .top_p, .seed]' "$MLB_SERVER_LOG"
	assert_output '[[",",";"],0.5,7]'
	# the options stored with the pane are the ones sent
	assert_equal "$(jq -c '.options | [.temperature, .max_tokens]' "$MLB_HOME/sessions/b1/panes/openai-echo/pane.json")" '[0.2,5]'
}

@test "a bad option after a model is a usage error, before anything is sent" {
	run --separate-stderr mlb-send --no-store -m 'openai:echo,model=gpt-4' "x"
	assert_failure 2
	[[ "$stderr" == *"option 'model' is set by mlb itself"* ]]
	[ ! -s "$MLB_SERVER_LOG" ]
}

@test "-S @role sends the saved prompt with its header defaults; the command line overrides them" {
	cat >"$XDG_CONFIG_HOME/mlb/prompts/terse.md" <<-'EOF2'
	Description: answers in one line
	Model: anthropic:echo
	Temperature: 0.3
	Max-Tokens: 40
	Option: top_k=5

	Answer in one line.
	EOF2
	run --separate-stderr mlb-send -s r1 -S @terse -o max_tokens=10 "why"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final") | .model' <<<"$output")" "anthropic:echo"
	assert_equal "$(body 1 | jq -c '[.system, .temperature, .max_tokens, .top_k]')" '["Answer in one line.",0.3,10,5]'
	# stored: the system message names the role it came from
	run stored r1 anthropic-echo 1
	assert_line 'Role: system'
	assert_line 'Prompt-Name: terse'
	assert_line 'Answer in one line.'
	# -m overrides the role's model
	run --separate-stderr mlb-send --no-store -S @terse -m openai:echo "why"
	assert_success
	assert_equal "$(body 2 | jq -c '[.model, .messages[0].content, .temperature]')" '["echo","Answer in one line.",0.3]'
}

@test "the person's role hides the shipped one of the same name; roles work on broadcast and summarize" {
	printf 'Description: mine\n\nMy own reviewer.\n' >"$XDG_CONFIG_HOME/mlb/prompts/reviewer.md"
	run --separate-stderr mlb-broadcast -s r2 -S @reviewer -m openai:echo -m gemini:echo "look"
	assert_success
	assert_equal "$(body 1 | jq -r '.messages[0].content // .systemInstruction.parts[0].text')" "My own reviewer."
	assert_equal "$(body 2 | jq -r '.messages[0].content // .systemInstruction.parts[0].text')" "My own reviewer."
	run --separate-stderr mlb-summarize -s r2 -S @summarizer -m openai:echo
	assert_success
	body 3 | jq -e '.messages[0].role == "system" and (.messages[0].content | startswith("You summarize."))'
	assert_equal "$(body 3 | jq .temperature)" "0.2"
}

@test "a model's default role applies when no -S is given" {
	config <<-'EOF2'
	[model "openai:echo"]
		role = shell
	EOF2
	run --separate-stderr mlb-send --no-store -m openai:echo "ls -la"
	assert_success
	body 1 | jq -e '.messages[0].role == "system" and (.messages[0].content | startswith("You explain shell commands"))'
	assert_equal "$(body 1 | jq .temperature)" "0"
	run --separate-stderr mlb-send --no-store -m openai:echo -S "plain" "ls"
	assert_success
	assert_equal "$(body 2 | jq -c '[.messages[0].content, .temperature]')" '["plain",null]'
}

@test "an unknown role is a usage error listing the roles there are" {
	printf 'Mine.\n' >"$XDG_CONFIG_HOME/mlb/prompts/mine.md"
	for tool in mlb-send mlb-broadcast; do
		run --separate-stderr "$tool" --no-store -m openai:echo -S @nope "x"
		assert_failure 2
		assert_equal "$stderr" "$tool: unknown role '@nope'; the roles are: commit, mine, reviewer, shell, summarizer, translator (add your own in ~/.config/mlb/prompts/nope.md)"
	done
	run --separate-stderr mlb-send --no-store -m openai:echo -S @../etc/passwd "x"
	assert_failure 2
	assert_equal "${stderr%%;*}" "mlb-send: unknown role '@../etc/passwd'"
	[ ! -s "$MLB_SERVER_LOG" ]
}

@test "--list-roles and --show-role: text for a person, events with --json" {
	run --separate-stderr mlb-send --list-roles --json
	assert_success
	assert_equal "$(jq -r .name <<<"$output" | tr '\n' ' ')" "commit reviewer shell summarizer translator "
	assert_equal "$(jq -r 'select(.name=="shell") | .type' <<<"$output")" "role"
	run --separate-stderr mlb-send --list-roles --text
	assert_success
	assert_line --regexp '^translator +translates into English'
	run --separate-stderr mlb-send --show-role @reviewer --json
	assert_success
	assert_equal "$(jq -c '.options' <<<"$output")" '{"temperature":0.2}'
	jq -e '.text | startswith("You are a careful reviewer.")' <<<"$output"
	run --separate-stderr mlb-send --show-role nope
	assert_failure 2
}

@test "a template's \"system\": \"@name\" takes the role; validate reports an unknown one" {
	cat >"$BATS_TEST_TMPDIR/t.json" <<-'EOF2'
	{"name": "t", "steps": [{"id": "tr", "models": ["openai:echo,max_tokens=7"], "system": "@translator", "prompt": "bonjour"}]}
	EOF2
	run --separate-stderr mlb-pipeline run "$BATS_TEST_TMPDIR/t.json" --json
	assert_success
	body 1 | jq -e '(.messages[0].content | startswith("You are a translator.")) and .temperature == 0.3 and .max_tokens == 7'
	sed -i 's/@translator/@nope/' "$BATS_TEST_TMPDIR/t.json"
	run --separate-stderr mlb-pipeline validate "$BATS_TEST_TMPDIR/t.json"
	assert_failure
	[[ "$stderr" == *"step 'tr': its system prompt names the role '@nope'"* ]]
}
