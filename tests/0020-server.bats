#!/usr/bin/env bats
# Tests of scripts/mlb-testserver, the loopback server that the other tests,
# the benchmarks and the offline demo run mlb against.  Loopback only.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

SERVER="$BATS_TEST_DIRNAME/../scripts/mlb-testserver"
KEY='sk-test-0123456789abcdef'

setup() {
    export LC_ALL=C TZ=UTC
    SERVER_PIDS=()
    cat >"$BATS_TEST_TMPDIR/script.json" <<'EOF'
{"scripted": {"text": "Hello,  world!\nBye"},
 "flaky": {"fault": "503", "fail_times": 1, "retry_after": 2}}
EOF
}

teardown() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}

# start_server [extra options...]: start a server, set PORT and BASE.
start_server() {
    local pf="$BATS_TEST_TMPDIR/port.$RANDOM"
    "$SERVER" --port-file "$pf" --log "$BATS_TEST_TMPDIR/log.jsonl" \
        --script "$BATS_TEST_TMPDIR/script.json" --lifetime 60 --idle 30 "$@" \
        </dev/null >"$BATS_TEST_TMPDIR/server.out" 2>"$BATS_TEST_TMPDIR/server.err" 3>&- &
    SERVER_PIDS+=("$!")
    local i
    for i in $(seq 1 50); do
        [[ -s "$pf" ]] && break
        sleep 0.1
    done
    [[ -s "$pf" ]] || { cat "$BATS_TEST_TMPDIR/server.err" >&2; return 1; }
    PORT=$(cat "$pf")
    BASE="http://127.0.0.1:$PORT"
}

# openai MODEL [extra JSON members] : body of an OpenAI chat request
openai_body() {
    printf '{"model":"%s","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"say something nice"}]%s}' "$1" "${2:-}"
}

# sse_data: the data of each SSE event on stdin, one line each
sse_data() {
    tr -d '\r' | sed -n 's/^data: //p'
}

@test "openai stream: role chunk, tokens, finish, usage chunk, [DONE]" {
    start_server
    run curl -sfN "$BASE/openai/v1/chat/completions" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' \
        -d "$(openai_body alpha ',"stream":true,"stream_options":{"include_usage":true}')"
    assert_success
    data="$output"
    # every event is "data: ...", separated by blank lines
    run bash -c 'grep -v "^$" <<<"$1" | grep -vc "^data: "' _ "$data"
    assert_output 0
    run bash -c 'sed -n "s/^data: //p" <<<"$1" | tail -n 1' _ "$data"
    assert_output '[DONE]'
    json=$(sed -n 's/^data: //p' <<<"$data" | grep -v '^\[DONE\]$')
    run jq -sc 'map(.object) | unique' <<<"$json"
    assert_output '["chat.completion.chunk"]'
    run jq -sc '.[0].choices[0].delta' <<<"$json"
    assert_output '{"role":"assistant","content":"","refusal":null}'
    # as OpenAI under include_usage: "usage":null and a padding string on every chunk but the last
    run jq -sc '[.[:-1][] | [.usage, (.obfuscation | type), .service_tier]] | unique' <<<"$json"
    assert_output '[[null,"string","default"]]'
    run jq -sc '[.[] | select(.choices|length>0) | .choices[0].delta.content // empty] | .[1:] | length' <<<"$json"
    assert_output 5
    run jq -sr '[.[] | .choices[0].delta.content // empty] | join("")' <<<"$json"
    assert_output --regexp '^[A-Z][a-z]+( [a-z]+){4}$'
    run jq -sc '.[-2].choices[0] | [.delta, .finish_reason]' <<<"$json"
    assert_output '[{},"stop"]'
    run jq -sc '.[-1] | [.choices, .usage.prompt_tokens, .usage.completion_tokens, .usage.total_tokens]' <<<"$json"
    assert_output '[[],5,5,10]'
    run jq -sc 'map(.id) | unique | length' <<<"$json"
    assert_output 1
}

@test "openai stream without include_usage has no usage; replies are deterministic" {
    start_server
    a=$(curl -sfN "$BASE/openai/v1/chat/completions" -d "$(openai_body beta ',"stream":true')")
    b=$(curl -sfN "$BASE/openai/chat/completions" -d "$(openai_body beta ',"stream":true')")
    c=$(curl -sfN "$BASE/openai/v1/chat/completions" -d "$(openai_body gamma ',"stream":true')")
    run grep -c usage <<<"$a"
    assert_output 0
    text() { sed -n 's/^data: //p' <<<"$1" | grep -v DONE | jq -rj '.choices[0].delta.content // empty'; }
    assert_equal "$(text "$a")" "$(text "$b")"
    [[ "$(text "$a")" != "$(text "$c")" ]]
}

@test "openai max_tokens stops with finish_reason length; tokens= sets the length" {
    start_server
    run bash -c "curl -sfN '$BASE/openai/v1/chat/completions' -d '$(openai_body 'alpha+tokens=12' ',"stream":true,"max_tokens":4,"stream_options":{"include_usage":true}')' | sed -n 's/^data: //p' | grep -v DONE"
    assert_success
    run jq -sc '[.[-2].choices[0].finish_reason, .[-1].usage.completion_tokens]' <<<"$output"
    assert_output '["length",4]'
}

@test "echo model streams the last user message back exactly" {
    start_server
    msg='Grüße,  wörld!  日本 😀 end'
    body=$(jq -nc --arg m "$msg" '{model:"echo",stream:true,messages:[{role:"user",content:"first"},{role:"assistant",content:"x"},{role:"user",content:$m}]}')
    run bash -c "curl -sfN '$BASE/openai/v1/chat/completions' -d '$body' | sed -n 's/^data: //p' | grep -v DONE | jq -j '.choices[0].delta.content // empty'"
    assert_success
    assert_output "$msg"
}

@test "gemini stream: CRLF framing, growing usageMetadata, STOP, no [DONE]" {
    start_server
    run curl -sfN "$BASE/gemini/v1beta/models/delta:streamGenerateContent?alt=sse" \
        -H "x-goog-api-key: $KEY" -H 'Content-Type: application/json' \
        -d '{"systemInstruction":{"parts":[{"text":"be brief"}]},"contents":[{"role":"user","parts":[{"text":"say something nice"}]}]}'
    assert_success
    raw="$output"
    # every line ends in CR LF
    run bash -c 'printf "%s\n" "$1" | grep -vc $'"'"'\r$'"'"'' _ "$raw"
    assert_output 0
    run grep -c 'DONE' <<<"$raw"
    assert_output 0
    json=$(sse_data <<<"$raw")
    # as Gemini: the first chunk counts the prompt only
    run jq -sc 'map(.usageMetadata.candidatesTokenCount)' <<<"$json"
    assert_output '[null,2,3,4,5]'
    run jq -sc 'map(.usageMetadata.promptTokenCount) | unique' <<<"$json"
    assert_output '[5]'
    run jq -sc 'map(.candidates[0].finishReason)' <<<"$json"
    assert_output '[null,null,null,null,"STOP"]'
    run jq -sc '.[-1].usageMetadata.totalTokenCount' <<<"$json"
    assert_output 10
    run jq -sc 'map(.candidates[0].content.role) | unique' <<<"$json"
    assert_output '["model"]'
}

@test "gemini model path segment is URL-decoded and options apply" {
    start_server
    run bash -c "curl -sfN '$BASE/gemini/v1beta/models/delta%2Btokens%3D3:streamGenerateContent?alt=sse' -d '{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"maxOutputTokens\":2}}' | tr -d '\r' | sed -n 's/^data: //p'"
    assert_success
    run jq -sc '[length, .[-1].candidates[0].finishReason, .[0].modelVersion]' <<<"$output"
    assert_output '[2,"MAX_TOKENS","delta+tokens=3"]'
}

@test "anthropic stream: event order and shapes" {
    start_server
    run curl -sfN "$BASE/anthropic/v1/messages" -H "x-api-key: $KEY" \
        -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
        -d '{"model":"alpha+tokens=3","max_tokens":100,"stream":true,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"say something nice"}]}]}'
    assert_success
    raw="$output"
    run bash -c 'sed -n "s/^event: //p" <<<"$1" | tr "\n" " "' _ "$raw"
    assert_output 'message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop '
    json=$(sse_data <<<"$raw")
    # the type in each data matches its event name
    run bash -c 'diff <(sed -n "s/^event: //p" <<<"$1") <(sed -n "s/^data: //p" <<<"$1" | jq -r .type)' _ "$raw"
    assert_success
    run jq -sc '.[0].message | [.role, .model, .usage.input_tokens, .stop_reason]' <<<"$json"
    assert_output '["assistant","alpha+tokens=3",5,null]'
    run jq -sc 'map(select(.type=="content_block_delta") | .delta.type) | unique' <<<"$json"
    assert_output '["text_delta"]'
    run jq -sc 'map(select(.type=="message_delta"))[0] | [.delta.stop_reason, .usage.output_tokens]' <<<"$json"
    assert_output '["end_turn",3]'
}

@test "429 with Retry-After, fail_times=1 then success" {
    start_server
    model='beta+fault=429+retry_after=3+fail_times=1'
    run curl -sN -D "$BATS_TEST_TMPDIR/h1" -o "$BATS_TEST_TMPDIR/b1" -w '%{http_code}' \
        "$BASE/openai/v1/chat/completions" -d "$(openai_body "$model" ',"stream":true')"
    assert_output 429
    run grep -i '^retry-after: 3' "$BATS_TEST_TMPDIR/h1"
    assert_success
    run jq -c '.error | [.type, .code]' "$BATS_TEST_TMPDIR/b1"
    assert_output '["requests","rate_limit_exceeded"]'
    run bash -c "curl -sfN '$BASE/openai/v1/chat/completions' -d '$(openai_body "$model" ',"stream":true')' | tail -n 2"
    assert_success
    assert_output --partial 'data: [DONE]'
}

@test "faults in each provider's error shape; script file and retry_after_ms" {
    start_server
    run curl -s -D "$BATS_TEST_TMPDIR/h" "$BASE/gemini/v1beta/models/x+fault=429+retry_after=7:streamGenerateContent?alt=sse" -d '{"contents":[]}'
    run jq -c '.error | [.code, .status, .details[0]["@type"], .details[0].retryDelay]' <<<"$output"
    assert_output '[429,"RESOURCE_EXHAUSTED","type.googleapis.com/google.rpc.RetryInfo","7s"]'
    run curl -s -D "$BATS_TEST_TMPDIR/h" "$BASE/anthropic/v1/messages" -d '{"model":"x+fault=503+retry_after_ms=250","max_tokens":5,"messages":[]}'
    run jq -c '[.type, .error.type]' <<<"$output"
    assert_output '["error","overloaded_error"]'
    run grep -ic '^retry-after-ms: 250' "$BATS_TEST_TMPDIR/h"
    assert_output 1
    run grep -ic '^retry-after:' "$BATS_TEST_TMPDIR/h"
    assert_output 0
    # the script file's "flaky" fails once with 503, then answers
    run curl -s -o /dev/null -w '%{http_code}' "$BASE/openai/v1/chat/completions" -d "$(openai_body flaky)"
    assert_output 503
    run curl -s -o /dev/null -w '%{http_code}' "$BASE/openai/v1/chat/completions" -d "$(openai_body flaky)"
    assert_output 200
}

@test "cut: curl sees a broken chunked transfer (exit 18) after some tokens" {
    start_server
    run curl -sN "$BASE/openai/v1/chat/completions" -d "$(openai_body 'alpha+tokens=6+fault=cut' ',"stream":true')"
    assert_equal "$status" 18
    run bash -c 'grep -c "\"delta\":{\"content\"" <<<"$1"' _ "$output"
    assert_output 3
    run curl -sN "$BASE/anthropic/v1/messages" -d '{"model":"alpha+fault=cut+cut_after=1","stream":true,"max_tokens":9,"messages":[]}'
    assert_equal "$status" 18
}

@test "error-event and malformed faults" {
    start_server
    run curl -sfN "$BASE/openai/v1/chat/completions" -d "$(openai_body 'alpha+tokens=4+fault=error-event' ',"stream":true')"
    assert_success
    assert_line 'data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}'
    refute_line 'data: [DONE]'
    run curl -sfN "$BASE/openai/v1/chat/completions" -d "$(openai_body 'alpha+tokens=3+fault=malformed' ',"stream":true')"
    assert_success
    assert_line 'data: {"choices":[{"delta":{"content":"x"'
    assert_line 'data: [DONE]'
    run bash -c 'sed -n "s/^data: //p" <<<"$1" | grep -v DONE | while read -r l; do jq -e . >/dev/null 2>&1 <<<"$l" || echo bad; done' _ "$output"
    assert_output 'bad'
}

@test "the log records requests and redacts keys" {
    start_server
    curl -sf -o /dev/null "$BASE/openai/v1/chat/completions" -H "Authorization: Bearer $KEY" -d "$(openai_body alpha)"
    curl -sf -o /dev/null "$BASE/gemini/v1beta/models/beta:generateContent" -H "x-goog-api-key: $KEY" -d '{"contents":[{"parts":[{"text":"hi"}]}]}'
    curl -sf -o /dev/null "$BASE/anthropic/v1/messages" -H "x-api-key: $KEY" -d '{"model":"gamma","max_tokens":9,"messages":[]}'
    log="$BATS_TEST_TMPDIR/log.jsonl"
    run grep -c "$KEY" "$log"
    assert_output 0
    prefix=$(printf '%s' "$KEY" | sha256sum | cut -c1-16)
    run jq -rc '[.n, .kind, .model, .path, .stream, (.headers.authorization // .headers["x-goog-api-key"] // .headers["x-api-key"])] | @tsv' "$log"
    assert_line --index 0 "$(printf '1\topenai\talpha\t/openai/v1/chat/completions\tfalse\t<redacted sha256:%s>' "$prefix")"
    assert_line --index 1 "$(printf '2\tgemini\tbeta\t/gemini/v1beta/models/beta:generateContent\tfalse\t<redacted sha256:%s>' "$prefix")"
    assert_line --index 2 "$(printf '3\tanthropic\tgamma\t/anthropic/v1/messages\tfalse\t<redacted sha256:%s>' "$prefix")"
    run jq -c 'select(.n==1) | .body.messages[1].content' "$log"
    assert_output '"say something nice"'
}

@test "--require-key answers 401 in the provider's shape" {
    start_server --require-key "$KEY"
    run curl -s -w ' %{http_code}' "$BASE/openai/v1/models" -H 'Authorization: Bearer wrong'
    assert_output --partial '"code":"invalid_api_key"'
    assert_output --regexp ' 401$'
    run curl -s -o /dev/null -w '%{http_code}' "$BASE/openai/v1/models" -H "Authorization: Bearer $KEY"
    assert_output 200
    run curl -s -w ' %{http_code}' "$BASE/gemini/v1beta/models?key=$KEY"
    assert_output --partial '"UNAUTHENTICATED"'
    run curl -s -o /dev/null -w '%{http_code}' "$BASE/gemini/v1beta/models" -H "x-goog-api-key: $KEY"
    assert_output 200
    run curl -s "$BASE/anthropic/v1/messages" -H 'x-api-key: nope' -d '{"model":"a","max_tokens":5,"messages":[]}'
    assert_output '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
}

@test "model lists for each kind" {
    start_server
    run bash -c "curl -sf '$BASE/openai/v1/models' | jq -c '[.object, [.data[].id], (.data[0] | [.object, .owned_by])]'"
    assert_output '["list",["alpha","beta","gamma","delta","echo","scripted","flaky"],["model","mlb-testserver"]]'
    run bash -c "curl -sf '$BASE/openai/models' | jq -c '.data | length'"
    assert_output 7
    run bash -c "curl -sf '$BASE/gemini/v1beta/models' | jq -c '[.models[].name][:2], .models[0].supportedGenerationMethods'"
    assert_line --index 0 '["models/alpha","models/beta"]'
    assert_line --index 1 '["generateContent","streamGenerateContent"]'
    run bash -c "curl -sf '$BASE/anthropic/v1/models' | jq -c '[.data[0].type, .has_more, .first_id, .last_id, (.data | length)]'"
    assert_output '["model",false,"alpha","flaky",7]'
}

@test "stream:false replies in each provider's shape with usage" {
    start_server
    run bash -c "curl -sf '$BASE/openai/v1/chat/completions' -d '$(openai_body scripted ',"stream":false')' | jq -c '[.object, .choices[0].message.role, .choices[0].message.content, .choices[0].finish_reason, .usage.total_tokens]'"
    assert_output '["chat.completion","assistant","Hello,  world!\nBye","stop",8]'
    run bash -c "curl -sf '$BASE/gemini/v1beta/models/alpha+tokens=3:generateContent' -d '{\"contents\":[{\"parts\":[{\"text\":\"two words\"}]}]}' | jq -c '[.candidates[0].finishReason, .usageMetadata.promptTokenCount, .usageMetadata.candidatesTokenCount, (.candidates[0].content.parts[0].text | split(\" \") | length)]'"
    assert_output '["STOP",2,3,3]'
    run bash -c "curl -sf '$BASE/anthropic/v1/messages' -d '{\"model\":\"alpha+tokens=9\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' | jq -c '[.type, .role, .content[0].type, .stop_reason, .usage]'"
    assert_output '["message","assistant","text","max_tokens",{"input_tokens":1,"output_tokens":4}]'
}

@test "health, unknown routes, and a hung stream does not block others" {
    start_server
    run curl -sf "$BASE/health"
    assert_output ok
    run curl -s -o /dev/null -w '%{http_code}' "$BASE/nowhere"
    assert_output 404
    curl -sN --max-time 3 "$BASE/openai/v1/chat/completions" -d "$(openai_body 'a+fault=hang' ',"stream":true')" >/dev/null 3>&- &
    hung=$!
    sleep 0.3
    run curl -sf --max-time 2 "$BASE/openai/v1/chat/completions" -d "$(openai_body alpha)"
    assert_success
    kill "$hung" 2>/dev/null || true
}

@test "refuses to bind anything but loopback" {
    run "$SERVER" --host 0.0.0.0 --port 0
    assert_failure 2
    assert_output --partial 'refusing to bind'
}

@test "bulk=1: the plain stream's events but for id and time, the same bytes every time, and mlb reads them alike" {
    start_server
    local body plain bulk1 bulk2 i
    for kind in plain bulk1 bulk2; do
        model="alpha+tokens=3000"
        [[ $kind == plain ]] || model="$model+bulk=1"
        curl -sfN "$BASE/openai/v1/chat/completions" -H 'Content-Type: application/json' \
            -d "$(openai_body "$model" ',"stream":true,"stream_options":{"include_usage":true}')" \
            >"$BATS_TEST_TMPDIR/$kind.sse"
    done
    # asked twice, a bulk stream is the same bytes (they were kept)
    cmp "$BATS_TEST_TMPDIR/bulk1.sse" "$BATS_TEST_TMPDIR/bulk2.sse"
    grep -q '"id":"chatcmpl-bulk"' "$BATS_TEST_TMPDIR/bulk1.sse"
    # with id, created and the model's name aside, the events are the plain stream's
    norm() { sse_data <"$1" | sed -e 's/"id":"chatcmpl-[a-z0-9]*"/"id":"X"/' -e 's/"created":[0-9]*/"created":0/' \
        -e 's/alpha+tokens=3000+bulk=1/alpha+tokens=3000/g'; }
    diff <(norm "$BATS_TEST_TMPDIR/plain.sse") <(norm "$BATS_TEST_TMPDIR/bulk1.sse")
    [ "$(sse_data <"$BATS_TEST_TMPDIR/plain.sse" | wc -l)" -eq 3004 ]
    # mlb takes the bulk stream (its fast lane) and the plain one (chunk by chunk) to the same text
    export OPENAI_BASE_URL="$BASE/openai/v1" OPENAI_API_KEY="$KEY" MLB_HOME="$BATS_TEST_TMPDIR/home" \
        MLB_CONFIG=/dev/null MLB_SHARE_DIR="$BATS_TEST_DIRNAME/../share/mlb"
    MLB="$BATS_TEST_DIRNAME/../bin"
    for kind in plain bulk; do
        model="alpha+tokens=3000"
        [[ $kind == plain ]] || model="$model+bulk=1"
        "$MLB/mlb-send" --no-store -m "openai:$model" hi >"$BATS_TEST_TMPDIR/$kind.ndjson"
        jq -j 'select(.type == "token") | .text' <"$BATS_TEST_TMPDIR/$kind.ndjson" >"$BATS_TEST_TMPDIR/$kind.tokens"
        jq -j 'select(.type == "final") | .content' <"$BATS_TEST_TMPDIR/$kind.ndjson" >"$BATS_TEST_TMPDIR/$kind.final"
        [ "$(jq -c 'select(.type == "token")' <"$BATS_TEST_TMPDIR/$kind.ndjson" | wc -l)" -eq 3000 ]
    done
    cmp "$BATS_TEST_TMPDIR/plain.tokens" "$BATS_TEST_TMPDIR/bulk.tokens"
    cmp "$BATS_TEST_TMPDIR/plain.final" "$BATS_TEST_TMPDIR/bulk.final"
    cmp "$BATS_TEST_TMPDIR/plain.tokens" "$BATS_TEST_TMPDIR/plain.final"
    # the server's own words, joined, are the reply
    sse_data <"$BATS_TEST_TMPDIR/plain.sse" | grep -v '^\[DONE\]' | jq -j '.choices[0].delta.content // empty' |
        cmp - "$BATS_TEST_TMPDIR/plain.final"
}

@test "bulk=1 for anthropic and gemini: the same bytes when asked again, and mlb reads them as the plain stream" {
    start_server
    export ANTHROPIC_BASE_URL="$BASE/anthropic" ANTHROPIC_API_KEY="$KEY" GOOGLE_BASE_URL="$BASE/gemini/v1beta" \
        GOOGLE_API_KEY="$KEY" MLB_HOME="$BATS_TEST_TMPDIR/home" MLB_CONFIG=/dev/null \
        MLB_SHARE_DIR="$BATS_TEST_DIRNAME/../share/mlb"
    MLB="$BATS_TEST_DIRNAME/../bin"
    for kind in anthropic gemini; do
        for n in 1 2; do
            if [[ $kind == anthropic ]]; then
                curl -sfN "$BASE/anthropic/v1/messages" -d '{"model":"alpha+tokens=5000+bulk=1","max_tokens":6000,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
            else
                curl -sfN "$BASE/gemini/v1beta/models/alpha+tokens=5000+bulk=1:streamGenerateContent?alt=sse" -d '{"contents":[{"parts":[{"text":"hi"}]}]}'
            fi >"$BATS_TEST_TMPDIR/$kind-$n.sse"
        done
        cmp "$BATS_TEST_TMPDIR/$kind-1.sse" "$BATS_TEST_TMPDIR/$kind-2.sse"
        for model in alpha+tokens=5000 alpha+tokens=5000+bulk=1; do
            "$MLB/mlb-send" --no-store -o max_tokens=6000 -m "$kind:$model" hi >"$BATS_TEST_TMPDIR/out.ndjson"
            [ "$(jq -c 'select(.type == "token")' <"$BATS_TEST_TMPDIR/out.ndjson" | wc -l)" -eq 5000 ]
            jq -j 'select(.type == "final") | .content' <"$BATS_TEST_TMPDIR/out.ndjson" >"$BATS_TEST_TMPDIR/$kind-$model.final"
            jq -c 'select(.type == "meter") | [.prompt_tokens, .completion_tokens]' <"$BATS_TEST_TMPDIR/out.ndjson" \
                >"$BATS_TEST_TMPDIR/$kind-$model.usage"
        done
        cmp "$BATS_TEST_TMPDIR/$kind-alpha+tokens=5000.final" "$BATS_TEST_TMPDIR/$kind-alpha+tokens=5000+bulk=1.final"
        cmp "$BATS_TEST_TMPDIR/$kind-alpha+tokens=5000.usage" "$BATS_TEST_TMPDIR/$kind-alpha+tokens=5000+bulk=1.usage"
        run cat "$BATS_TEST_TMPDIR/$kind-alpha+tokens=5000.usage"
        assert_output '[1,5000]'
    done
}
