#!/usr/bin/env bats
# 0040-docs: the manual pages and doc/events.md stay honest: every tool has
# a page, every page is free of groff (and mandoc) warnings, every long
# flag a tool's --help lists is documented in its page, and every page says
# what its exit statuses mean.

load helpers/common

bats_require_minimum_version 1.5.0

MAN="$BATS_TEST_DIRNAME/../share/man"

# The built tools, one a line: mlb, then every mlb-*.
tools() {
	local t
	for t in "$MLB_SRC"/bin/mlb "$MLB_SRC"/bin/mlb-*; do
		[ -x "$t" ] && basename "$t"
	done
}

# Every manual page in the tree.
pages() {
	ls "$MAN"/man[1-9]/*.[1-9] 2>/dev/null
}

# plain FILE: the page's source with the escapes that hide text removed:
# \- becomes -, and \f fonts, \& and \% go.
plain() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' -e 's/\\%//g' "$1"
}

# section FILE NAME: the plain text of one section (.SH NAME) of a page.
section() {
	plain "$1" | awk -v name="$2" '
		/^\.SH / { s = $0; sub(/^\.SH +/, "", s); gsub(/"/, "", s); on = (s == name); next }
		on { print }'
}

@test "there are pages to check" {
	run pages
	assert_success
	assert_line --partial man1/mlb.1
	assert_line --partial man5/mlb-config.5
}

@test "every tool in bin/ has a manual page" {
	local t missing=
	for t in $(tools); do
		[ -f "$MAN/man1/$t.1" ] || missing+=" $t"
	done
	[ -z "$missing" ] || fail "no share/man/man1/<tool>.1 for:$missing"
}

@test "every manual page passes groff -man -ww -z without a word" {
	local p out bad=
	for p in $(pages); do
		out=$(groff -man -ww -z "$p" 2>&1)
		[ -z "$out" ] || bad+="$p:"$'\n'"$out"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every manual page passes mandoc -Tlint -W warning" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	local p out bad=
	for p in $(pages); do
		out=$(mandoc -Tlint -W warning "$p" 2>&1)
		[ -z "$out" ] || bad+="$out"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every page has the sections of a manual" {
	local p s bad=
	for p in $(pages); do
		for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
			grep -Eq "^\.SH \"?$s\"?\$" "$p" || bad+="$p: no $s section"$'\n'
		done
	done
	for p in "$MAN"/man1/*.1; do
		for s in OPTIONS "EXIT STATUS" EXAMPLES; do
			grep -Eq "^\.SH \"?$s\"?\$" "$p" || bad+="$p: no $s section"$'\n'
		done
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every long flag in a tool's --help is documented in its manual page" {
	local t f page missing=
	for t in $(tools); do
		page="$MAN/man1/$t.1"
		[ -f "$page" ] || continue	# reported by the test above
		for f in $("$t" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			plain "$page" | grep -qE -- "${f}([^a-z-]|\$)" || missing+="$t.1: $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "undocumented flags:"$'\n'"$missing"
}

@test "every short flag in a tool's --help is documented in its manual page" {
	local t f page missing=
	for t in $(tools); do
		page="$MAN/man1/$t.1"
		[ -f "$page" ] || continue
		for f in $("$t" --help | grep -oE -- '^  -[A-Za-z],' | tr -d ' ,' | sort -u); do
			plain "$page" | grep -qE -- "(^|[^A-Za-z-])${f}([^A-Za-z-]|\$)" || missing+="$t.1: $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "undocumented flags:"$'\n'"$missing"
}

@test "every page says what its exit statuses mean" {
	# DESIGN: 0 ok, 1 runtime failure, 2 usage, 3 partial failure, 4 budget;
	# 130 after an interrupt, for the tools that send requests.
	local t page codes c text bad=
	for t in $(tools); do
		page="$MAN/man1/$t.1"
		[ -f "$page" ] || continue
		codes="0 1 2"
		case $t in
		mlb) codes+=" 3 4 130" ;;
		mlb-broadcast|mlb-pipeline) codes+=" 3 4 130" ;;
		mlb-send|mlb-summarize) codes+=" 130" ;;
		mlb-models) codes+=" 3" ;;
		mlb-meter) codes+=" 4" ;;
		esac
		text=$(section "$page" "EXIT STATUS")
		[ -n "$text" ] || { bad+="$t.1: no EXIT STATUS section"$'\n'; continue; }
		for c in $codes; do
			grep -qw -- "$c" <<<"$text" || bad+="$t.1: exit status $c is not described"$'\n'
		done
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "the pages of the tools that send requests document the shared policy flags" {
	local t f missing=
	for t in mlb-send mlb-broadcast mlb-summarize mlb-pipeline; do
		[ -f "$MAN/man1/$t.1" ] || continue
		for f in --retries --connect-timeout --first-token-timeout --idle-timeout --timeout --insecure; do
			plain "$MAN/man1/$t.1" | grep -qE -- "${f}([^a-z-]|\$)" || missing+="$t.1: $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "undocumented:"$'\n'"$missing"
}

@test "every page's SYNOPSIS matches its tool's usage" {
	# Each option in the usage lines appears in the SYNOPSIS, and the reverse.
	local t page syn use bad= f
	for t in $(tools); do
		page="$MAN/man1/$t.1"
		[ -f "$page" ] || continue
		use=$("$t" --help | awk '/^$/ { exit } { print }' | grep -oE -- '(^|[[ |])--?[A-Za-z][a-z-]*' |
			sed 's/^[[ |]//' | sort -u)
		syn=$(section "$page" SYNOPSIS | sed 's/\\~/ /g' | grep -oE -- '(^|[[ |])--?[A-Za-z][a-z-]*' |
			sed 's/^[[ |]//' | sort -u)
		[ "$use" = "$syn" ] || bad+="$t.1: usage has [$(echo $use)], SYNOPSIS has [$(echo $syn)]"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "the ENVIRONMENT sections name the variables the tools read" {
	local p bad=
	for p in "$MAN"/man1/mlb.1 "$MAN"/man1/mlb-send.1 "$MAN"/man1/mlb-broadcast.1; do
		[ -f "$p" ] || continue
		for v in MLB_HOME MLB_CONFIG XDG_CONFIG_HOME XDG_DATA_HOME MLB_SHARE_DIR MLB_SESSION \
			OPENAI_API_KEY OPENAI_BASE_URL GOOGLE_API_KEY ANTHROPIC_API_KEY OLLAMA_BASE_URL; do
			section "$p" ENVIRONMENT | grep -qw -- "$v" || bad+="$p: $v"$'\n'
		done
	done
	section "$MAN/man1/mlb-send.1" ENVIRONMENT | grep -qw MLB_MODEL || bad+="mlb-send.1: MLB_MODEL"$'\n'
	section "$MAN/man1/mlb-broadcast.1" ENVIRONMENT | grep -qw MLB_MODELS || bad+="mlb-broadcast.1: MLB_MODELS"$'\n'
	[ -z "$bad" ] || fail "not in ENVIRONMENT:"$'\n'"$bad"
}

@test "mlb-config(5) documents every provider of the shipped table and every setting" {
	local page="$MAN/man5/mlb-config.5" p k bad=
	for p in $(sed -n 's/^\[provider "\([^"]*\)"\]/\1/p' "$MLB_SRC/share/mlb/providers"); do
		plain "$page" | grep -qw -- "$p" || bad+="provider $p"$'\n'
	done
	for k in kind baseUrl baseUrlEnv keyEnv keyCmd base_url key_env key_cmd core.model \
		retry.count retry.maxWait timeout.connect timeout.firstToken timeout.idle timeout.total \
		limit.requestBytes limit.replyBytes limit.transfers; do
		plain "$page" | grep -qF -- "$k" || bad+="setting $k"$'\n'
	done
	for k in $(sed -n 's/^[[:space:]]*\(baseUrlEnv\|keyEnv\) = //p' "$MLB_SRC/share/mlb/providers"); do
		plain "$page" | grep -qw -- "$k" || bad+="variable $k"$'\n'
	done
	[ -z "$bad" ] || fail "mlb-config.5 lacks:"$'\n'"$bad"
}

@test "the example configuration of mlb-config(5) is read by the tools" {
	# The llama.cpp example, as the page shows it, in both spellings.
	plain "$MAN/man5/mlb-config.5" | awk '/^\.EX/ { n++; on = 1; next } /^\.EE/ { on = 0 } on && n == 1' \
		>"$BATS_TEST_TMPDIR/config"
	grep -q '^\[provider "local"\]' "$BATS_TEST_TMPDIR/config"
	export MLB_CONFIG="$BATS_TEST_TMPDIR/config"
	run --separate-stderr mlb-models --json local
	# Nothing listens there; the point is that the file parses and names the provider.
	[ "$status" -eq 1 ]
	assert_output --partial '"provider":"local"'
	assert_output --partial '127.0.0.1:8080'
	plain "$MAN/man5/mlb-config.5" | awk '/^\.EX/ { n++; on = 1; next } /^\.EE/ { on = 0 } on && n == 3' \
		>"$BATS_TEST_TMPDIR/config"
	grep -q 'base_url' "$BATS_TEST_TMPDIR/config"
	run --separate-stderr mlb-models --json local
	[ "$status" -eq 1 ]
	assert_output --partial 'LOCAL_API_KEY'
}

@test "doc/events.md describes every event type and field" {
	local doc="$MLB_SRC/doc/events.md" w bad=
	[ -f "$doc" ]
	for w in status token final meter error message diff model \
		type ts session pane model run \
		stage attempt queued request first_token retry done cancelled retry_in_ms \
		text content finish_reason partial message commit \
		prompt_tokens completion_tokens cost_usd unpriced latency_ms ttft_ms tokens_per_s estimated scope \
		code http_status retryable line auth rate_limit timeout server network bad_request budget parse config storage \
		role provenance source_session source_pane source_model transfer_ts content_hash \
		a b similarity ops op equal insert delete; do
		grep -q -- "\`$w\`" "$doc" || bad+=" $w"
	done
	[ -z "$bad" ] || fail "doc/events.md does not describe:$bad"
	# The rules every reader keeps.
	grep -qi 'unchanged' "$doc"
	grep -q '<tool>: line N: ' "$doc"
}

@test "the JSON examples of doc/events.md are valid events" {
	local doc="$MLB_SRC/doc/events.md"
	awk '/^```json/ { on = 1; next } /^```/ { on = 0 } on' "$doc" >"$BATS_TEST_TMPDIR/events"
	[ -s "$BATS_TEST_TMPDIR/events" ]
	run jq -e -c 'select((type != "object") or (.type | type) != "string")' "$BATS_TEST_TMPDIR/events"
	[ "$status" -ne 0 ] || fail "examples without a type: $output"
	run jq -r '.type' "$BATS_TEST_TMPDIR/events"
	assert_success
	local t
	for t in status token final meter error message diff model; do
		assert_line "$t"
	done
}
