#!/usr/bin/env bats
# What a reply costs and how it is metered: a request never accepted costs
# nothing, a retried success carries no error, limit.replyBytes counts text,
# tokens_per_s stays sane.

load helpers/common

setup() {
	clean_world
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
}

# price MODEL...: each at $0.001 a token, in and out
price() {
	local m
	for m in "$@"; do
		printf '[price "%s"]\n\tinput = 0.001\n\toutput = 0.001\n' "$m"
	done >>"$XDG_CONFIG_HOME/mlb/config"
}

@test "a request the provider never accepted costs nothing (4xx, 5xx, 429, connection refused)" {
	local f m
	for f in 401 403 404 429 500 503; do
		m="openai:beta+fault=$f+retry_after=0"
		price "$m"
		run -1 mlb-send --retries 0 -s "f$f" -m "$m" "a prompt of several words to price"
		assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens, .cost_usd, .estimated]' <<<"$output")" '[0,0,0,false]'
	done
	# nothing listens there: the connection is refused
	price "openai:alpha"
	OPENAI_BASE_URL="http://127.0.0.1:1/v1" run -1 mlb-send --retries 0 -s refused -m openai:alpha "hello there"
	assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .cost_usd]' <<<"$output")" '[0,0]'
	# and a budget downstream counts none of it
	run -0 bash -c 'mlb-send --retries 0 --no-store -m "openai:beta+fault=500+retry_after=0" "x y z" 2>/dev/null | mlb-meter --budget 0.0001 >out'
	assert_equal "$(jq -r 'select(.scope=="run").cost_usd' out)" "0"
	# a reply that was accepted still costs its estimate when the stream breaks
	price "openai:alpha+fault=cut+usage=none"
	run -1 mlb-send --retries 0 -s cut -m "openai:alpha+fault=cut+usage=none" "hello"
	[ "$(jq -r 'select(.type=="meter").cost_usd' <<<"$output" | awk '{ print ($1 > 0) }')" = 1 ]
}

@test "a reply that succeeds after a retry is stored without the failed attempt's Error:" {
	run -0 --separate-stderr mlb-send -s retried -m "openai:beta+fault=503+fail_times=1+retry_after=0" "hello"
	assert_equal "$(jq -r 'select(.type=="status" and .stage=="retry").code' <<<"$output")" "server"
	pane=$(ls -d "$MLB_HOME"/sessions/retried/panes/*/ | head -n 1)
	msg=$(nth_msg "${pane%/}" 2)
	grep -qx 'Role: assistant' "$msg"
	run ! grep -q '^Error:' "$msg" "$(nth_msg "${pane%/}" 1)"
	run ! grep -q '^Partial:' "$msg"
}

@test "limit.replyBytes limits the reply's text, not the bytes of its SSE framing" {
	printf '[limit]\n\treplyBytes = 60000\n' >"$XDG_CONFIG_HOME/mlb/config"
	# ~50 KB of text is ~1.5 MB on the wire: all of it arrives
	run -0 mlb-send --no-store -m openai:alpha+tokens=7000 hi
	len=$(jq -r 'select(.type=="final").content | utf8bytelength' <<<"$output")
	[ "$len" -gt 40000 ] && [ "$len" -le 60000 ]
	assert_equal "$(jq -r 'select(.type=="final").partial' <<<"$output")" "false"
	# past the limit: the text is cut at it, on a whole character, and says why
	run -1 mlb-send -s cut -m openai:alpha+tokens=20000+utf8=1 hi
	assert_equal "$(jq -r 'select(.type=="error").message' <<<"$output" | grep -c 'limit.replyBytes')" 1
	len=$(jq -r 'select(.type=="final").content | utf8bytelength' <<<"$output")
	[ "$len" -le 60000 ] && [ "$len" -gt 59990 ]
	assert_equal "$(jq -rs '[.[] | select(.type=="token").text] | add | utf8bytelength' <<<"$output")" "$len"
	pane=$(ls -d "$MLB_HOME"/sessions/cut/panes/*/ | head -n 1)
	msg=$(nth_msg "${pane%/}" 2)
	grep -qx 'Partial: true' "$msg"
	sed '1,/^$/d' "$msg" | iconv -f UTF-8 -t UTF-8 >/dev/null
}

@test "tokens_per_s: over the whole reply, sane when every token arrives in one read" {
	# bulk=1 writes all 2000 token events at once
	run -0 mlb-send --no-store -m openai:alpha+tokens=2000+bulk=1 hi
	m=$(jq -c 'select(.type=="meter")' <<<"$output")
	lat=$(jq -r .latency_ms <<<"$m")
	[ "$lat" -gt 0 ]
	assert_equal "$(jq -r .tokens_per_s <<<"$m")" "$(jq -r '(.completion_tokens * 1000 / .latency_ms * 10 | round) / 10' <<<"$m")"
	# a paced stream: 20 tokens 50 ms apart, after 200 ms: about 20 / 1.15 s
	run -0 mlb-send --no-store -m openai:alpha+tokens=20+delay=50+ttft=200 hi
	tps=$(jq -r 'select(.type=="meter").tokens_per_s' <<<"$output")
	awk -v t="$tps" 'BEGIN { exit !(t > 5 && t < 20) }'
}

# recording NAME STATUS BODY: a recorded response for mlb-testserver --replay, in ./rec
recording() {
	mkdir -p rec
	printf 'HTTP/1.1 200 OK\ncontent-type: text/event-stream\n\n%s' "$2" >"rec/$1.http"
}

@test "cached prompt tokens: counted in the prompt, priced at the table's cached price where it has one" {
	stop_server
	recording cachy 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,"prompt_tokens_details":{"cached_tokens":800}}}

data: [DONE]

'
	recording cachy-claude 'event: message_start
data: {"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"x","content":[],"usage":{"input_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":800,"output_tokens":1}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":10}}

event: message_stop
data: {"type":"message_stop"}

'
	rm -f "$BATS_TEST_TMPDIR/server.port"	# the first server's
	start_server --replay rec
	cp -r "$MLB_SRC/share/mlb" share
	printf 'openai:cachy\t0.000001\t0.000002\t0.0000001\nanthropic:cachy-claude\t0.000001\t0.000002\t0.0000001\n' >>share/prices.tsv
	export MLB_SHARE_DIR="$PWD/share"
	want=$(awk 'BEGIN { printf "%.10g", 200 * 0.000001 + 800 * 0.0000001 + 10 * 0.000002 }')
	for m in openai:cachy anthropic:cachy-claude; do
		run mlb-send -s "s-${m#*:}" -m "$m" hello
		[ "$status" = 0 ] || fail "$m: $output"
		assert_equal "$(jq -c 'select(.type=="meter") | [.prompt_tokens, .cached_tokens, .completion_tokens]' <<<"$output")" '[1000,800,10]'
		assert_equal "$(jq -r 'select(.type=="meter").cost_usd' <<<"$output" | awk '{ printf "%.10g", $1 }')" "$want"
		msg=$(nth_msg "$(ls -d "$MLB_HOME/sessions/s-${m#*:}/panes/"*/ | head -n 1 | sed 's|/$||')" 2)
		grep -qx 'Cached-Tokens: 800' "$msg"
		grep -qx "Cost-Usd: $want" "$msg"
	done
	# mlb-meter prices a meter event without a cost the same way
	run -0 bash -c 'echo "{\"type\":\"meter\",\"model\":\"openai:cachy\",\"prompt_tokens\":1000,\"cached_tokens\":800,\"completion_tokens\":10}" | mlb-meter'
	assert_equal "$(head -n 1 <<<"$output" | jq -r .cost_usd | awk '{ printf "%.10g", $1 }')" "$want"
	# and the shipped table knows the cache prices LiteLLM lists
	awk -F'\t' '$1 == "openai:gpt-4o-mini" && NF == 4 { found = 1 } END { exit !found }' "$MLB_SRC/share/mlb/prices.tsv"
}
