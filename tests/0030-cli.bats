#!/usr/bin/env bats
# 0030-cli: what every tool does the same way (--help, -h, --version, a bad
# flag), mlb's dispatch to its commands, and the shell completions, which
# must offer every long flag that a tool's --help lists.  The tools are
# found in bin/, so a new tool is covered as soon as it is built.

load helpers/common

bats_require_minimum_version 1.5.0

# The built tools, one a line: mlb, then every mlb-*.
tools() {
	local t
	for t in "$MLB_SRC"/bin/mlb "$MLB_SRC"/bin/mlb-*; do
		[ -x "$t" ] && basename "$t"
	done
}

# long_flags TOOL: the long flags that TOOL --help lists, one a line.
long_flags() {
	"$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# subcommands TOOL: the commands in TOOL's usage lines: the word after the
# tool's name ("ls", "validate|show") and any word after a lone "|".
subcommands() {
	"$1" --help | awk -v tool="$1" '
		/^(usage:)? *[a-z-]+ / {
			sub(/^usage:/, "")
			if ($1 != tool) next
			for (i = 2; i <= NF; i++)
				if (i == 2 || $(i - 1) == "|") {
					n = split($i, w, "|")
					for (j = 1; j <= n; j++)
						if (w[j] ~ /^[a-z]+$/) print w[j]
				}
		}' | sort -u
}

# bash_complete TOOL WORD...: what the bash completion registered for TOOL
# offers for the command line "TOOL WORD...", whose last word is the one
# being completed; one candidate a line.
bash_complete() {
	bash -c '
		source "$1" || exit 3
		shift
		spec=$(complete -p "$1" 2>/dev/null) || { echo "no completion registered for $1" >&2; exit 4; }
		fn=$(printf "%s\n" "$spec" | awk "{ for (i = 1; i < NF; i++) if (\$i == \"-F\") print \$(i + 1) }")
		[ -n "$fn" ] || { echo "no completion function for $1" >&2; exit 5; }
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$MLB_SRC/completions/mlb.bash" "$@"
}

# zsh_block TOOL: the zsh completion function of TOOL (_mlb_main for mlb).
zsh_block() {
	local fn=_mlb_main
	[ "$1" = mlb ] || fn=_mlb_$(printf '%s' "${1#mlb-}" | tr - _)
	awk -v fn="$fn" '$0 ~ "^" fn "\\(\\) *\\{" { on = 1 } on { print } on && /^}/ { exit }' \
		"$MLB_SRC/completions/_mlb"
}

# fish_lines TOOL: the fish completion lines of TOOL.
fish_lines() {
	if [ "$1" = mlb ]; then
		grep -E '^complete -c mlb ' "$MLB_SRC/completions/mlb.fish"
	else
		grep -E "^__mlb_opt ${1#mlb-} |^complete -c $1 " "$MLB_SRC/completions/mlb.fish"
	fi
}

@test "there are tools to test" {
	run tools
	assert_line mlb
	assert_line mlb-models
}

@test "every tool: --help prints the usage on stdout, nothing on stderr, and exits 0" {
	local t bad=
	for t in $(tools); do
		run --separate-stderr "$t" --help
		if [ "$status" -ne 0 ] || [[ $output != usage:* ]] || [ -n "$stderr" ]; then
			bad+="$t: status $status, stdout '${output:0:40}...', stderr '$stderr'"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every tool: -h is --help" {
	local t bad= help
	for t in $(tools); do
		help=$("$t" --help)
		run --separate-stderr "$t" -h
		if [ "$status" -ne 0 ] || [ "$output" != "$help" ] || [ -n "$stderr" ]; then
			bad+="$t: -h gave status $status and other output than --help"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every tool: --version prints '<tool> <version>' and exits 0" {
	local t bad= version
	version=$(sed -n 's/^VERSION *= *//p' "$MLB_SRC/Makefile")
	[ -n "$version" ]
	for t in $(tools); do
		run --separate-stderr "$t" --version
		if [ "$status" -ne 0 ] || [ "$output" != "$t $version" ] || [ -n "$stderr" ]; then
			bad+="$t: status $status, stdout '$output', expected '$t $version'"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "every tool: a bad flag exits 2 with one line and 'try --help' on stderr" {
	local t bad=
	for t in $(tools); do
		run --separate-stderr "$t" --bogus
		if [ "$status" -ne 2 ]; then
			bad+="$t --bogus: status $status, expected 2"$'\n'
		elif [ -n "$output" ]; then
			bad+="$t --bogus: wrote to stdout: '$output'"$'\n'
		elif [[ $stderr != *"$t: unknown option '--bogus'"* ]]; then
			bad+="$t --bogus: stderr lacks \"$t: unknown option '--bogus'\": '$stderr'"$'\n'
		elif [ "$stderr" != "$t: unknown option '--bogus'"$'\n'"try '$t --help'" ]; then
			bad+="$t --bogus: stderr is not the one line and 'try': '$stderr'"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "mlb help lists every command and exits 0" {
	run --separate-stderr mlb help
	assert_success
	[ -z "$stderr" ]
	local c
	for c in send broadcast diff summarize meter pipeline session models; do
		assert_line --regexp "^  $c +[a-z]"
	done
	[ "$output" = "$(mlb --help)" ]
}

@test "mlb help <command> shows the command's usage" {
	run --separate-stderr mlb help models
	assert_success
	assert_line --index 0 --partial 'usage: mlb-models'
}

@test "mlb help send shows mlb-send's usage" {
	[ -x "$MLB_SRC/bin/mlb-send" ] || skip "bin/mlb-send is not built"
	run --separate-stderr mlb help send
	assert_success
	assert_line --index 0 --partial 'usage: mlb-send'
}

@test "mlb help with an unknown command exits 2" {
	run -2 --separate-stderr mlb help nosuch
	[[ $stderr == *"'nosuch' is not an mlb command"* ]]
}

@test "mlb with an unknown command exits 2 and says so" {
	run -2 --separate-stderr mlb nosuch
	[ -z "$output" ]
	[[ $stderr == *"'nosuch' is not an mlb command"* ]]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "${stderr_lines[1]}" = "try 'mlb --help'" ]
	run -2 --separate-stderr mlb sesion ls
	[ "${stderr_lines[0]}" = "mlb: 'sesion' is not an mlb command (did you mean 'session'?)" ]
}

@test "a usage error is one line and 'try --help'; unknown options get the nearest one" {
	run -2 --separate-stderr mlb-send --modle openai:x hi
	[ "${stderr_lines[0]}" = "mlb-send: unknown option '--modle' (did you mean '--model'?)" ]
	[ "${stderr_lines[1]}" = "try 'mlb-send --help'" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	run -2 --separate-stderr mlb-broadcast --json=x --modle=openai:x hi
	[ "${#stderr_lines[@]}" -eq 2 ]
	run -2 --separate-stderr mlb-meter --budgett 1
	[ "${stderr_lines[0]}" = "mlb-meter: unknown option '--budgett' (did you mean '--budget'?)" ]
	run -2 --separate-stderr mlb-session --forse rm x
	[ "${stderr_lines[0]}" = "mlb-session: unknown option '--forse' (did you mean '--force'?)" ]
	run -2 --separate-stderr mlb-send --zzzzzz hi
	[ "${stderr_lines[0]}" = "mlb-send: unknown option '--zzzzzz'" ]
}

@test "mlb without a command exits 2 with the usage on stderr" {
	run -2 --separate-stderr mlb
	[ -z "$output" ]
	[[ $stderr == *"usage: mlb <command>"* ]]
}

@test "mlb models --help runs mlb-models" {
	run --separate-stderr mlb models --help
	assert_success
	assert_line --index 0 --partial 'usage: mlb-models'
	[ "$output" = "$(mlb-models --help)" ]
}

@test "mlb passes the arguments on and returns the command's exit status" {
	run -2 --separate-stderr mlb models --bogus
	[[ $stderr == *"mlb-models: unknown option '--bogus'"* ]]
	run --separate-stderr mlb models --version
	assert_success
	assert_output --regexp '^mlb-models [0-9]'
}

@test "mlb finds a command on PATH when it is not beside mlb" {
	mkdir -p "$BATS_TEST_TMPDIR/alone" "$BATS_TEST_TMPDIR/path"
	cp "$MLB_SRC/bin/mlb" "$BATS_TEST_TMPDIR/alone/mlb"
	printf '#!/bin/sh\necho "mlb-models from PATH: $*"\n' >"$BATS_TEST_TMPDIR/path/mlb-models"
	chmod +x "$BATS_TEST_TMPDIR/path/mlb-models"
	PATH="$BATS_TEST_TMPDIR/path:$PATH" run "$BATS_TEST_TMPDIR/alone/mlb" models a b
	assert_success
	assert_output 'mlb-models from PATH: a b'
}

@test "mlb prefers the command beside it to one on PATH" {
	mkdir -p "$BATS_TEST_TMPDIR/path"
	printf '#!/bin/sh\necho wrong one\n' >"$BATS_TEST_TMPDIR/path/mlb-models"
	chmod +x "$BATS_TEST_TMPDIR/path/mlb-models"
	PATH="$BATS_TEST_TMPDIR/path:$PATH" run mlb models --version
	assert_success
	assert_output --regexp '^mlb-models [0-9]'
}

@test "bash completion: every long flag in a tool's --help is offered" {
	local t f missing= offered
	for t in $(tools); do
		offered=$(bash_complete "$t" --) || fail "$t: the bash completion failed"
		for f in $(long_flags "$t"); do
			grep -qxF -- "$f" <<<"$offered" || missing+="$t $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "completions/mlb.bash does not offer:"$'\n'"$missing"
}

@test "bash completion: 'mlb <command> --' offers the command's long flags" {
	local t c f missing= offered
	for t in $(tools); do
		[ "$t" = mlb ] && continue
		c=${t#mlb-}
		offered=$(bash_complete mlb "$c" --) || fail "mlb $c: the bash completion failed"
		for f in $(long_flags "$t"); do
			grep -qxF -- "$f" <<<"$offered" || missing+="mlb $c $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "completions/mlb.bash does not offer:"$'\n'"$missing"
}

@test "bash completion: mlb's commands and the tools' subcommands are offered" {
	local t c missing= offered
	offered=$(bash_complete mlb '')
	for c in $(mlb --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p') help; do
		grep -qxF -- "$c" <<<"$offered" || missing+="mlb $c"$'\n'
	done
	for t in $(tools); do
		offered=$(bash_complete "$t" '')
		for c in $(subcommands "$t"); do
			grep -qxF -- "$c" <<<"$offered" || missing+="$t $c"$'\n'
		done
	done
	[ -z "$missing" ] || fail "completions/mlb.bash does not offer:"$'\n'"$missing"
	# The subcommands are really found: mlb-session and mlb-pipeline have some.
	if [ -x "$MLB_SRC/bin/mlb-session" ]; then
		run subcommands mlb-session
		assert_line ls
		assert_line rm
	fi
}

@test "bash completion: a -s value completes from the session ids" {
	mkdir -p "$MLB_HOME/sessions/demo-1/panes/left" "$MLB_HOME/sessions/demo-1/panes/right" \
		"$MLB_HOME/sessions/other"
	run bash_complete mlb-diff -s de
	assert_success
	assert_output demo-1
	run bash_complete mlb-diff -s demo-1 ''
	assert_success
	assert_line left
	assert_line right
	run bash_complete mlb-meter --by ''
	assert_output $'pane\nmodel\nsession\nday\nweek\nmonth\nprovider\nproject'
}

@test "zsh completion: every long flag in a tool's --help is in its function" {
	local t f block missing=
	for t in $(tools); do
		block=$(zsh_block "$t")
		[ -n "$block" ] || { missing+="$t: no completion function"$'\n'; continue; }
		for f in $(long_flags "$t"); do
			grep -qE -- "${f}(\[|=|\+|\}|:)" <<<"$block" || missing+="$t $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "completions/_mlb lacks:"$'\n'"$missing"
	run head -1 "$MLB_SRC/completions/_mlb"
	for t in $(tools); do
		assert_output --regexp "^#compdef( .*)? $t( |$)"
	done
}

@test "fish completion: every long flag in a tool's --help is declared for it" {
	local t f lines missing=
	for t in $(tools); do
		lines=$(fish_lines "$t")
		for f in $(long_flags "$t"); do
			grep -qE -- " -l ${f#--}( |$)" <<<"$lines" || missing+="$t $f"$'\n'
		done
	done
	[ -z "$missing" ] || fail "completions/mlb.fish lacks:"$'\n'"$missing"
}

@test "the completion files parse in their shells" {
	bash -n "$MLB_SRC/completions/mlb.bash"
	if command -v zsh >/dev/null; then
		zsh -n "$MLB_SRC/completions/_mlb"
	fi
	if command -v fish >/dev/null; then
		fish -n "$MLB_SRC/completions/mlb.fish"
	fi
}

@test "config: git-config syntax; a mistake stops every tool with the file and line, exit 1" {
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb"
	cfg=$XDG_CONFIG_HOME/mlb/config
	# quoting, escapes, comments, a continued value, CRLF and old-style names
	printf '%s\r\n' '# local proxy' '[Provider "Mine"]' '	KIND = openai ; the wire' \
		"	base_url = \"http://127.0.0.1:$MLB_SERVER_PORT/openai\\" '/v1"  # continued' \
		'	key_env = MINE_KEY' '[core.model]' >"$cfg"
	MINE_KEY=k run -0 mlb-send --no-store --text -m Mine:echo 'via my provider'
	assert_line --index 0 'via my provider'
	assert_equal "$(jq -r .path "$MLB_SERVER_LOG")" /openai/v1/chat/completions
	# the subsection keeps its case: "mine" is another provider
	MINE_KEY=k run -2 mlb-send --no-store -m mine:echo hi
	assert_output --partial "unknown provider 'mine' (did you mean 'Mine'?)"
	printf '[core]\n\tmodel = openai:echo\n\tbad = "open quote\n' >"$cfg"
	: >"$MLB_SERVER_LOG"
	for tool in "mlb-send --no-store hi" "mlb-broadcast --no-store -m openai:echo hi" "mlb-models" \
		"mlb-meter" "mlb-summarize" "mlb-pipeline validate x.json"; do
		# shellcheck disable=SC2086
		run -1 $tool </dev/null
		assert_output --partial "cannot parse '$cfg': line 3: a quote is not closed before the end of the line"
	done
	[ ! -s "$MLB_SERVER_LOG" ] || fail "a request was sent: $(cat "$MLB_SERVER_LOG")"
}

@test "config: include.path reads another file in place, relative or ~/; loops and includeIf are refused" {
	start_server
	mkdir -p "$XDG_CONFIG_HOME/mlb/conf.d"
	cfg=$XDG_CONFIG_HOME/mlb/config
	printf '[provider "mine"]\n\tkind = openai\n\tkeyEnv = MINE_KEY\n\tbaseUrl = http://127.0.0.1:1/none\n' >"$HOME/providers.inc"
	printf '[include]\n\tpath = ~/providers.inc\n\tpath = conf.d/local\n' >"$cfg"
	# later settings win: the relative include, read after the first, sets the working URL
	printf '[provider "mine"]\n\tbaseUrl = http://127.0.0.1:%s/openai/v1\n' "$MLB_SERVER_PORT" \
		>"$XDG_CONFIG_HOME/mlb/conf.d/local"
	MINE_KEY=k run -0 mlb-send --no-store --text -m mine:echo included
	assert_line --index 0 included
	# a missing include is no error, as in git
	printf '[include]\n\tpath = nowhere\n[core]\n\tmodel = openai:echo\n' >"$cfg"
	run -0 mlb-send --no-store --text hi
	printf '[include]\n\tpath = config\n' >"$cfg"
	run -1 mlb-send --no-store -m openai:echo hi
	assert_output --partial "includes nested more than 10 deep; is 'config' including itself?"
	printf '[include]\n\tpath = /dev/zero\n' >"$cfg"
	run -1 timeout 10 mlb-send --no-store -m openai:echo hi
	assert_output --partial "'/dev/zero' is over 4 MiB; is it a configuration file?"
	printf '[core]\n\tmodel = openai:echo\n[includeIf "gitdir:~/x/"]\n\tpath = other\n' >"$cfg"
	run -1 mlb-send --no-store hi
	assert_output --partial "$cfg:4: includeIf is for git's conditions"
}
