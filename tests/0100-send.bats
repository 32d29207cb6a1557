#!/usr/bin/env bats
# mlb-send against the local server: every wire kind, every fault.

load helpers/common

setup() {
	clean_world
	start_server
}

# last_request: the last recorded request as one JSON object.
last_request() {
	tail -n 1 "$MLB_SERVER_LOG"
}

@test "openai: tokens stream, final holds them all, meter has usage" {
	run mlb-send --no-store -m openai:echo "hello streaming world"
	assert_success
	assert_equal "$(jq -r 'select(.type=="token").text' <<<"$output" | tr -d '\n')" "hello streaming world"
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "hello streaming world"
	assert_equal "$(jq -r 'select(.type=="final").finish_reason' <<<"$output")" "stop"
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "false"
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens, .estimated, .scope]' <<<"$output")" '[3,3,false,"pane"]'
	assert_equal "$(jq -r 'select(.type=="meter") | (.latency_ms >= 0 and .ttft_ms >= 0)' <<<"$output")" "true"
	# every event has a type and an RFC 3339 UTC timestamp with milliseconds
	run jq -r 'select((.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) | not)' <<<"$output"
	assert_output ""
	req=$(last_request)
	assert_equal "$(jq -r .path <<<"$req")" "/openai/v1/chat/completions"
	assert_equal "$(jq -c '[.body.stream, .body.stream_options.include_usage, .body.model, .body.messages[0].role]' <<<"$req")" '[true,true,"echo","user"]'
	key_hash=$(printf %s "$MLB_TEST_KEY" | sha256sum | cut -c1-16)
	assert_equal "$(jq -r .headers.authorization <<<"$req")" "<redacted sha256:$key_hash>"
}

@test "gemini: parts text, finishReason, the last usageMetadata, key in x-goog-api-key" {
	run mlb-send --no-store -m gemini:echo "one two three four"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "one two three four"
	assert_equal "$(jq -r 'select(.type=="final").finish_reason' <<<"$output")" "STOP"
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens, .estimated]' <<<"$output")" '[4,4,false]'
	req=$(last_request)
	assert_equal "$(jq -r .path <<<"$req")" "/gemini/v1beta/models/echo:streamGenerateContent"
	assert_equal "$(jq -r .query <<<"$req")" "alt=sse"
	assert_equal "$(jq -r '.headers["x-goog-api-key"] | startswith("<redacted")' <<<"$req")" "true"
	assert_equal "$(jq -r '.body.contents[0].parts[0].text' <<<"$req")" "one two three four"
}

@test "anthropic: message_start and message_delta usage, stop reason, version header" {
	run mlb-send --no-store -m anthropic:echo -S "be brief" "tell me"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "tell me"
	assert_equal "$(jq -r 'select(.type=="final").finish_reason' <<<"$output")" "end_turn"
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens]' <<<"$output")" '[4,2]'
	req=$(last_request)
	assert_equal "$(jq -r '.headers["anthropic-version"]' <<<"$req")" "2023-06-01"
	assert_equal "$(jq -r '.headers["x-api-key"] | startswith("<redacted")' <<<"$req")" "true"
	assert_equal "$(jq -r '.body.system' <<<"$req")" "be brief"
	assert_equal "$(jq -r '.body.max_tokens' <<<"$req")" "4096"
}

@test "--text prints the reply alone on stdout and a footer on stderr" {
	mlb-send --no-store --text -m openai:echo "plain words here" >out 2>err
	printf 'plain words here\n' >want
	diff -u want out
	grep -q '^\[openai:echo\] 3+3 tokens, unpriced, ' err
}

@test "the prompt comes from stdin when there are no operands" {
	run bash -c 'printf "from the pipe" | mlb-send --no-store -m openai:echo'
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "from the pipe"
}

@test "operands and piped stdin: the instruction first, a blank line, then the data" {
	printf 'line one\nline two\n' > notes.txt
	run bash -c 'cat notes.txt | mlb-send --no-store -m openai:echo "Summarize:"'
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" $'Summarize:\n\nline one\nline two'
	# a file on stdin too; an empty one adds nothing
	run bash -c 'mlb-send --no-store -m openai:echo "Summarize:" < notes.txt'
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" $'Summarize:\n\nline one\nline two'
	run bash -c 'mlb-send --no-store -m openai:echo "just this" < /dev/null'
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "just this"
}

@test "-c continues the latest session's last pane with its model" {
	mlb-send -s first -m openai:alpha "old question" >/dev/null
	mlb-send -s tides -m gemini:echo "How do tides work?" >/dev/null
	mlb-send -s tides -m openai:echo "the other pane" >/dev/null
	mlb-send -s tides -p gemini-echo "And the moon?" >/dev/null
	run --separate-stderr mlb-send -c "And at sunset?"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final") | [.session, .pane, .model] | join(" ")' <<<"$output")" \
		"tides gemini-echo gemini:echo"
	# the pane's history went with it
	assert_equal "$(requests | tail -n 1 | jq '.body.contents | length')" 5
}

@test "no prompt, no model and a bad option are usage errors" {
	run -2 mlb-send --no-store -m openai:echo
	assert_output --partial "no prompt"
	run -2 mlb-send --no-store "hi"
	assert_output --partial "no model"
	run -2 mlb-send --no-store -m openai:echo -o novalue hi
	assert_output --partial "not key=value"
	run -2 mlb-send --no-store -m grok:llama hi
	assert_output --partial "unknown provider 'grok' (did you mean 'groq'?)"
	run -2 mlb-send --no-store -m gpt-4o hi
	assert_output --partial "provider:model"
}

@test "MLB_MODEL and core.model give the default model" {
	MLB_MODEL=openai:echo run mlb-send --no-store "via env"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").model' <<<"$output")" "openai:echo"
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[core]\n\tmodel = anthropic:echo\n' >"$XDG_CONFIG_HOME/mlb/config"
	run mlb-send --no-store "via config"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").model' <<<"$output")" "anthropic:echo"
}

@test "-o options reach each wire kind under its own names" {
	mlb-send --no-store -m openai:echo -o temperature=0.5 -o max_tokens=7 -o stop=END hi >/dev/null
	assert_equal "$(last_request | jq -c '[.body.temperature, .body.max_tokens, .body.stop]')" '[0.5,7,"END"]'
	mlb-send --no-store -m gemini:echo -o temperature=0.5 -o max_tokens=7 -o top_p=0.9 -o stop=END hi >/dev/null
	assert_equal "$(last_request | jq -c '.body.generationConfig | [.temperature, .maxOutputTokens, .topP, .stopSequences]')" '[0.5,7,0.9,["END"]]'
	mlb-send --no-store -m anthropic:echo -o max_tokens=7 -o stop=END hi >/dev/null
	assert_equal "$(last_request | jq -c '[.body.max_tokens, .body.stop_sequences]')" '[7,["END"]]'
}

@test "max_tokens cuts the reply and the finish reason says so" {
	run mlb-send --no-store -m openai:alpha+tokens=20 -o max_tokens=4 hi
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").finish_reason' <<<"$output")" "length"
	assert_equal "$(jq -r 'select(.type=="meter").completion_tokens' <<<"$output")" "4"
}

@test "stream=false asks for one whole reply, for every kind" {
	for k in openai gemini anthropic; do
		run mlb-send --no-store -m "$k:echo" -o stream=false "whole reply"
		assert_success
		assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "whole reply"
		assert_equal "$(last_request | jq -r .stream)" "false"
	done
}

@test "SSE framing: CRLF, CR, data: without space, comments, multi-line data, tiny reads, UTF-8" {
	want=$(mlb-send --no-store -m openai:alpha+tokens=30+utf8=1 -o stream=false hi | jq -r 'select(.type=="final").content')
	[ -n "$want" ]
	for f in crlf=1 cr=1 nospace=1 keepalive=1 multiline=1 tiny=1; do
		for k in openai gemini anthropic; do
			got=$(mlb-send --no-store -m "$k:alpha+tokens=30+utf8=1+$f" hi | jq -r 'select(.type=="final").content')
			wantk=$(mlb-send --no-store -m "$k:alpha+tokens=30+utf8=1" -o stream=false hi | jq -r 'select(.type=="final").content')
			assert_equal "$got" "$wantk"
		done
	done
}

@test "openai usage: on the finish chunk, under x_groq, and OpenRouter's cost" {
	run mlb-send --no-store -m openai:alpha+usage=finish+tokens=6 hi
	assert_equal "$(jq -c 'select(.type=="meter") | [.completion_tokens, .estimated]' <<<"$output")" '[6,false]'
	run mlb-send --no-store -m groq:alpha+usage=groq+tokens=6 hi
	assert_equal "$(jq -c 'select(.type=="meter") | [.completion_tokens, .estimated]' <<<"$output")" '[6,false]'
	run mlb-send --no-store -m openrouter:alpha+usage=openrouter+tokens=6 "a b c d"
	# cost = prompt*1e-6 + completion*2e-6 as the provider reports it
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens, .cost_usd]' <<<"$output")" '[4,6,1.6e-05]'
}

@test "no usage from the provider: tokens are estimated at four bytes each" {
	run mlb-send --no-store -m openai:echo+usage=none "abcdefghij"
	assert_success
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens, .estimated]' <<<"$output")" '[3,3,true]'
}

@test "429 with Retry-After: a retry status, then the reply" {
	run mlb-send --no-store -m openai:alpha+fault=429+retry_after=1+fail_times=1 hi
	assert_success
	assert_equal "$(jq -c 'select(.type=="status" and .stage=="retry") | [.retry_in_ms, .code, .http_status, .attempt]' <<<"$output")" '[1000,"rate_limit",429,1]'
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="done").attempt' <<<"$output")" "2"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "2"
}

@test "retry-after-ms, an HTTP-date Retry-After and Gemini's RetryInfo are honoured" {
	run mlb-send --no-store -m openai:alpha+fault=429+retry_after_ms=300+fail_times=1 hi
	assert_success
	assert_equal "$(jq -r 'select(.stage=="retry").retry_in_ms' <<<"$output")" "300"
	run mlb-send --no-store -m openai:alpha+fault=503+retry_after=2+retry_after_date=1+fail_times=1 hi
	assert_success
	ms=$(jq -r 'select(.stage=="retry").retry_in_ms' <<<"$output")
	# the date has whole seconds: the wait is what is left of two of them
	[ "$ms" -ge 0 ] && [ "$ms" -le 2000 ] || { echo "retry_in_ms: $ms"; echo "$output"; false; }
	run mlb-send --no-store -m gemini:alpha+fault=429+retry_after=0.6+fail_times=1 hi
	assert_success
	assert_equal "$(jq -r 'select(.stage=="retry").retry_in_ms' <<<"$output")" "600"
}

@test "5xx is retried with backoff until the attempts run out" {
	run -1 mlb-send --no-store --retries 2 -m anthropic:alpha+fault=500 hi
	assert_equal "$(jq -c 'select(.type=="error") | [.code, .http_status, .attempt, .retryable]' <<<"$output")" '["server",500,3,true]'
	assert_equal "$(jq -s '[.[] | select(.stage=="retry")] | length' <<<"$output")" "2"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "3"
	run mlb-send --no-store -m gemini:alpha+fault=503+retry_after=none+fail_times=2 hi
	assert_success
}

@test "400, 401, 403 and 404 are never retried; auth errors name the key variable" {
	for code in 400 401 403 404; do
		: >"$MLB_SERVER_LOG"
		run -1 mlb-send --no-store -m openai:alpha+fault=$code hi
		# one request for the reply (a 404 also lists the models, to suggest close names)
		assert_equal "$(jq -r 'select(.method=="POST") | .path' "$MLB_SERVER_LOG" | wc -l)" "1"
		assert_equal "$(jq -r 'select(.type=="error").http_status' <<<"$output")" "$code"
	done
	run -1 mlb-send --no-store -m gemini:alpha+fault=401 hi
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "auth"
	assert_output --partial "GOOGLE_API_KEY"
	run -1 mlb-send --no-store -m anthropic:alpha+fault=403 hi
	assert_output --partial "ANTHROPIC_API_KEY"
}

@test "with --json a failure is also one line on stderr naming the model and the reason (not when 2>&1)" {
	mlb-send --no-store --json --retries 0 -m openai:alpha+fault=500 hi >out 2>err || true
	jq -s -e 'map(select(.type=="error"))[0].http_status == 500' out >/dev/null
	grep -q '^mlb-send: openai:alpha+fault=500: .*500' err
	[ "$(wc -l <err)" -eq 1 ]
	# 2>&1 into one file: the event says it already
	mlb-send --no-store --json --retries 0 -m openai:alpha+fault=500 hi >both 2>&1 || true
	jq -e . both >/dev/null
	mlb-broadcast --no-store --json --retries 0 -m openai:alpha+fault=429+fail_times=9 -m openai:echo hi >out 2>err || true
	grep -q '^mlb-broadcast: openai:alpha+fault=429+fail_times=9: .*429' err
}

@test "a missing key is an auth error before anything is sent" {
	unset GROQ_API_KEY
	run -1 mlb-send --no-store -m groq:alpha hi
	assert_output --partial "set GROQ_API_KEY"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "0"
}

@test "a stream cut midway: error event, partial final with the text so far" {
	for k in openai gemini anthropic; do
		run -1 mlb-send --no-store -m "$k:alpha+fault=cut+tokens=8+cut_after=3" hi
		assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "network"
		assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "true"
		assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "$(jq -r 'select(.type=="token").text' <<<"$output" | tr -d '\n')"
		assert_equal "$(jq -s '[.[] | select(.type=="token")] | length' <<<"$output")" "3"
		# text already went out, so it is not retried
		assert_equal "$(jq -s '[.[] | select(.stage=="retry")] | length' <<<"$output")" "0"
	done
}

@test "an error event inside the stream: error plus partial final" {
	for k in openai gemini anthropic; do
		run -1 mlb-send --no-store -m "$k:alpha+fault=error-event+tokens=6+cut_after=2" hi
		assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "server"
		assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "true"
		assert_equal "$(jq -s '[.[] | select(.type=="token")] | length' <<<"$output")" "2"
	done
	run -1 mlb-send --no-store -m anthropic:alpha+fault=error-event hi
	assert_output --partial "Overloaded"
}

@test "a malformed chunk is skipped with a parse error; the reply goes on" {
	run mlb-send --no-store -m openai:alpha+fault=malformed+tokens=5 hi
	assert_success
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "parse"
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "false"
}

@test "first-token and idle timeouts end a silent stream" {
	run -1 mlb-send --no-store --retries 0 --first-token-timeout 1 -m openai:alpha+fault=hang hi
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "timeout"
	assert_output --partial "timeout.firstToken"
	run -1 mlb-send --no-store --retries 0 --idle-timeout 1 -m anthropic:alpha+fault=stall+tokens=6+cut_after=2 hi
	assert_equal "$(jq -r 'select(.type=="error").code' <<<"$output")" "timeout"
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "true"
	run -2 mlb-send --no-store --timeout soon -m openai:echo hi
	assert_output --partial "number of seconds"
}

@test "a prompt over limit.requestBytes is refused before sending" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[limit]\n\trequestBytes = 2000\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m openai:echo "$(head -c 3000 /dev/zero | tr '\0' a)"
	assert_output --partial "limit.requestBytes"
	assert_equal "$(wc -l <"$MLB_SERVER_LOG")" "0"
}

@test "the key appears nowhere: output, errors, stored files, request log" {
	run mlb-send -m openai:echo "keep it secret"
	assert_success
	run mlb-send -m openai:alpha+fault=401 "and here"
	run mlb-send -m gemini:alpha+fault=cut hi
	mlb-send -m anthropic:echo --text hi >out 2>err || true
	echo "$output" >all-output
	assert_no_key all-output out err "$MLB_HOME" "$MLB_SERVER_LOG"
	! grep -q 'key=' <(jq -r .query "$MLB_SERVER_LOG")
}

@test "a user config can add a provider (DESIGN.md spelling base_url accepted)" {
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	cat >"$XDG_CONFIG_HOME/mlb/config" <<-EOF
	[provider "local"]
		kind = anthropic
		base_url = http://127.0.0.1:$MLB_SERVER_PORT/anthropic
		key_env = LOCAL_KEY
	EOF
	LOCAL_KEY=xyz run mlb-send --no-store -m local:echo "via local"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "via local"
	assert_equal "$(last_request | jq -r .path)" "/anthropic/v1/messages"
	printf '[provider "bad"]\n\tkind = smoke\n\tbaseUrl = http://127.0.0.1:1\n' >"$XDG_CONFIG_HOME/mlb/config"
	run -1 mlb-send --no-store -m openai:echo hi
	assert_output --partial "unknown kind 'smoke'"
}

@test "mlb-models lists every kind, filters, and reports an unreachable provider" {
	run mlb-models --text openai gemini anthropic
	assert_success
	assert_line "openai:alpha"
	assert_line "gemini:echo"
	assert_line "anthropic:gamma"
	run mlb-models --json gemini
	assert_success
	assert_equal "$(jq -r 'select(.model=="gemini:beta").id' <<<"$output")" "beta"
	export OLLAMA_BASE_URL="http://127.0.0.1:9/v1"
	run -3 mlb-models --json openai ollama
	assert_equal "$(jq -r 'select(.type=="error").provider' <<<"$output")" "ollama"
	assert_equal "$(jq -s '[.[] | select(.type=="model")] | length' <<<"$output")" "5"
	run -2 mlb-models grok
	assert_output --partial "did you mean 'groq'"
}
