#!/usr/bin/env bats
# Responses recorded from the real providers (../shared/data/real-streams,
# SOURCES.md there), replayed by the local server with their bodies cut at
# random byte boundaries: every stored text, usage figure, cost and exit
# status must be what the provider meant.

load helpers/common

REAL="$MLB_SRC/../shared/data/real-streams"

setup() {
	clean_world
	# never skip: a missing folder is a broken checkout, and says so
	[ -f "$REAL/index.json" ] || fail "the recordings are missing: $REAL/index.json (they live beside the project, in ../shared)"
}

# price every recorded model at 1e-6 a prompt token and 2e-6 a completion token
price_all() {
	local name prov
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	jq -r '.[] | "\(.provider):\(.name)"' "$REAL/index.json" | while read -r name; do
		printf '[price "%s"]\n\tinput = 0.000001\n\toutput = 0.000002\n' "$name"
	done >"$XDG_CONFIG_HOME/mlb/config"
}

# replay_all SEED PIECE: replay every recording once, its body cut by SEED into pieces of
# 1 to PIECE bytes; fail naming each recording that comes out wrong and how
replay_all() {
	local seed=$1 piece=$2 name prov out msg rc want_rc want_code got_code want got
	local wrong="$BATS_TEST_TMPDIR/wrong"
	: >"$wrong"
	start_server --replay "$REAL" --replay-seed "$seed" --replay-piece "$piece"
	jq -r '.[] | "\(.name) \(.provider)"' "$REAL/index.json" >list
	[ "$(wc -l <list)" -ge 38 ] || fail "index.json lists $(wc -l <list) recordings, not 38"
	while read -r name prov; do
		out="$BATS_TEST_TMPDIR/$name.$seed.out"
		rc=0
		mlb-send --retries 1 -s "$name-$seed" -m "$prov:$name" \
			"hello" >"$out" 2>"$out.err" </dev/null || rc=$?
		msg=$(ls "$MLB_HOME/sessions/$name-$seed/panes/"*/*.msg 2>/dev/null | tail -n 1)
		if [ -f "$REAL/$name.error" ]; then
			read -r want_rc want_code <"$REAL/$name.error"
			got_code=$(jq -r 'select(.type=="error").code' "$out" | head -n 1)
			[ "$rc" = "$want_rc" ] || echo "$name (seed $seed): exit $rc, want $want_rc" >>"$wrong"
			[ "$want_code" = "*" ] || [ "$got_code" = "$want_code" ] ||
				echo "$name (seed $seed): error code '$got_code', want '$want_code'" >>"$wrong"
		elif [ "$rc" != 0 ]; then
			echo "$name (seed $seed): exit $rc, want 0: $(head -c 300 "$out.err")" >>"$wrong"
		fi
		if [ -f "$REAL/$name.expect" ]; then
			if [ -z "$msg" ] || ! grep -qx 'Role: assistant' "$msg"; then
				echo "$name (seed $seed): no reply stored" >>"$wrong"
			else
				sed '1,/^$/d' "$msg" >"$out.text"
				cmp -s "$out.text" "$REAL/$name.expect" ||
					echo "$name (seed $seed): stored text differs from $name.expect: $(diff "$REAL/$name.expect" "$out.text" | head -n 4 | tr '\n' '|')" >>"$wrong"
				want=$(jq -r 'select(.type=="final").content' "$out")
				[ "$want" = "$(cat "$REAL/$name.expect")" ] ||
					echo "$name (seed $seed): final event content differs from $name.expect" >>"$wrong"
			fi
		fi
		if [ -f "$REAL/$name.usage" ]; then
			want=$(cat "$REAL/$name.usage")
			got=$(jq -r 'select(.type=="meter") | "\(.prompt_tokens) \(.completion_tokens) \(.estimated)"' "$out")
			[ "$got" = "$want false" ] || echo "$name (seed $seed): meter '$got', want '$want false'" >>"$wrong"
			got="$(sed -n 's/^Prompt-Tokens: //p' "$msg") $(sed -n 's/^Completion-Tokens: //p' "$msg")"
			[ "$got" = "$want" ] || echo "$name (seed $seed): stored usage '$got', want '$want'" >>"$wrong"
			! grep -q '^Estimated:' "$msg" || echo "$name (seed $seed): stored usage marked Estimated" >>"$wrong"
			! grep -q '^Error:' "$msg" || [ -f "$REAL/$name.error" ] || echo "$name (seed $seed): an Error: header" >>"$wrong"
			# the cost: the provider's own (OpenRouter), else the price table's
			if [ -f "$REAL/$name.cost" ]; then
				want=$(cat "$REAL/$name.cost")
			else
				want=$(awk '{ printf "%.10g", $1 * 0.000001 + $2 * 0.000002 }' "$REAL/$name.usage")
			fi
			got=$(jq -r 'select(.type=="meter").cost_usd' "$out")
			awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(a != "null" && d < 1e-12 && d > -1e-12) }' ||
				echo "$name (seed $seed): cost $got, want $want" >>"$wrong"
		fi
	done <list
	if [ -s "$wrong" ]; then
		cat "$wrong" >&2
		fail "$(wc -l <"$wrong") wrong in the replay of the recordings (seed $seed, pieces up to $piece bytes)"
	fi
}

@test "every recording: text, usage, cost and exit status as the provider meant (pieces up to 64 bytes)" {
	price_all
	replay_all 20261208 64
}

@test "every recording, cut finer (pieces up to 7 bytes, another seed)" {
	price_all
	replay_all 7 7
}

@test "the cuts of a replayed body are the same for the same seed, and differ for another" {
	start_server --replay "$REAL"
	local url="http://127.0.0.1:$MLB_SERVER_PORT/openai/v1/chat/completions"
	for s in 1 1 2; do
		curl -sS --raw -H 'Content-Type: application/json' \
			-d "{\"model\":\"real-openai-usage+replay_seed=$s\",\"stream\":true}" "$url" >"raw.$s.$RANDOM"
	done
	a=(raw.1.*)
	cmp -s "${a[0]}" "${a[1]}"
	! cmp -s "${a[0]}" raw.2.*
	# the body itself is the recording's, byte for byte
	curl -sS -H 'Content-Type: application/json' -D head \
		-d '{"model":"real-openai-usage","stream":true}' "$url" >body
	sed '1,/^$/d' "$REAL/real-openai-usage.http" | cmp - body
	grep -qi '^content-type: text/event-stream' head
	# an unknown name is not a recording: the scripted model answers
	run curl -sS -H 'Content-Type: application/json' -d '{"model":"alpha","stream":false}' "$url"
	assert_output --partial '"chat.completion"'
}

@test "gemini-2.5-pro thinking: metered at its bill (thoughts and tool-use prompt counted)" {
	price=$(awk -F'\t' '$1 == "gemini:gemini-2.5-pro" { print $2, $3 }' "$MLB_SRC/share/mlb/prices.tsv")
	[ -n "$price" ]
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	printf '[price "gemini:real-gemini-thinking"]\n\tinput = %s\n\toutput = %s\n' $price >"$XDG_CONFIG_HOME/mlb/config"
	start_server --replay "$REAL"
	run -0 mlb-send -s think -m gemini:real-gemini-thinking "How do I cross the street?"
	# the bill: 34 prompt tokens, 469 candidate + 787 thought tokens
	bill=$(awk -v p="$price" 'BEGIN { split(p, a, " "); printf "%.10g", 34 * a[1] + (469 + 787) * a[2] }')
	assert_equal "$(jq -r 'select(.type=="meter") | "\(.prompt_tokens) \(.completion_tokens)"' <<<"$output")" "34 1256"
	assert_equal "$(jq -r 'select(.type=="meter").cost_usd' <<<"$output" | awk '{ printf "%.10g", $1 }')" "$bill"
	grep -qx "Cost-Usd: $bill" "$(nth_msg "$MLB_HOME/sessions/think/panes/gemini-real-gemini-thinking" 2)"
}
