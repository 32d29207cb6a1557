#!/usr/bin/env bats
# A 404 for an unknown model names close models from the provider's list,
# which is asked once and cached for a few minutes.

load helpers/common

setup() {
	clean_world
	printf '{"alhpa": {"fault": "404"}, "llama-3.1-8b": {"fault": "404"}, "llama-3.1-8b-instant": {}}\n' \
		>"$BATS_TEST_TMPDIR/script.json"
	start_server --script "$BATS_TEST_TMPDIR/script.json"
}

@test "a 404 suggests the close names the provider lists, in the message and as suggestions" {
	run --separate-stderr mlb-send --no-store -m openai:alhpa "x"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type=="error") | .message' <<<"$output")" \
		"HTTP 404: The model \`alhpa\` does not exist or you do not have access to it. (did you mean 'openai:alpha'?)"
	assert_equal "$(jq -c 'select(.type=="error") | .suggestions' <<<"$output")" '["openai:alpha"]'
	run --separate-stderr mlb-send --no-store --text -m openai:alhpa "x"
	assert_failure 1
	[[ "$stderr" == *"mlb-send: openai:alhpa: HTTP 404: "*"(did you mean 'openai:alpha'?)"* ]] || fail "$stderr"
	run --separate-stderr mlb-send --no-store -m anthropic:llama-3.1-8b "x"
	assert_failure 1
	assert_equal "$(jq -c 'select(.type=="error") | .suggestions' <<<"$output")" '["anthropic:llama-3.1-8b-instant"]'
}

@test "the list of models is cached: a second 404 asks the provider only for the model" {
	run --separate-stderr mlb-send --no-store -m openai:alhpa "x"
	run --separate-stderr mlb-send --no-store -m openai:alhpa "y"
	assert_failure 1
	assert_equal "$(jq -r 'select(.path | test("models$")) | .path' "$MLB_SERVER_LOG" | wc -l)" 1
	assert_equal "$(jq -r 'select(.type=="error") | .suggestions[0]' <<<"$output")" "openai:alpha"
	grep -qx alpha "$HOME/.cache/mlb/models/openai"
	assert_no_key "$HOME/.cache"
}

@test "no suggestion when nothing is close, and none for other errors" {
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:zzzzzzzz+fault=404' "x"
	assert_failure 1
	assert_equal "$(jq -c 'select(.type=="error") | has("suggestions")' <<<"$output")" "false"
	run --separate-stderr mlb-send --no-store --retries 0 -m 'openai:alpha+fault=500' "x"
	assert_failure 1
	assert_equal "$(jq -r 'select(.path | test("models$")) | .path' "$MLB_SERVER_LOG" | wc -l)" 1
}
