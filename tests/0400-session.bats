#!/usr/bin/env bats
# Sessions: the store (lib/store.c, driven by build/tests/test-store) and
# every mlb-session subcommand, plus a kill -9 drill on a writer.

load helpers/common

TS="$BATS_TEST_DIRNAME/../build/tests/test-store"

setup() {
	clean_world
	[ -x "$TS" ] || fail "build/tests/test-store is missing: run 'make unit' first"
	cd "$BATS_TEST_TMPDIR"
}

# populate ID: a session with panes a and b, three turns and a transferred message.
populate() {
	"$TS" populate "$1" >/dev/null
}

sdir() {
	echo "$MLB_HOME/sessions/$1"
}

# refute_fsck_complaint: no line of $output is a complaint of git fsck
# (dangling objects are not: a writer killed before moving main leaves them).
refute_fsck_complaint() {
	if grep -qE '^(error|warning|missing|broken|bad|fatal)' <<<"$output"; then
		fail "git fsck complained: $output"
	fi
}

# assert_git_clean ID: git fsck --strict passes without complaint, git status is clean.
assert_git_clean() {
	run git -C "$(sdir "$1")" fsck --strict --no-progress
	assert_success
	refute_fsck_complaint
	run git -C "$(sdir "$1")" status --porcelain
	assert_success
	assert_output ""
}

@test "store: unit tests (numbering, bytes, fsck, 8 concurrent writers, repair)" {
	run "$TS"
	assert_success
	assert_line --regexp '^[0-9]+ checks, 0 failed$'
}

@test "store: a session is a git repository on main with session.json and panes" {
	populate s1
	dir=$(sdir s1)
	assert_equal "$(git -C "$dir" symbolic-ref HEAD)" "refs/heads/main"
	assert_equal "$(jq -r .id "$dir/session.json")" "s1"
	assert_equal "$(jq -r .status "$dir/session.json")" "active"
	assert_equal "$(jq -r .model "$dir/panes/b/pane.json")" "fake:beta"
	assert_equal "$(git -C "$dir" rev-list --count main)" 5
	assert_equal "$(git -C "$dir" log --reverse --format=%s | head -n 1)" "mlb: new session s1"
	run git -C "$dir" ls-files
	assert_equal "$(grep -c '^panes/a/.*\.msg$' <<<"$output")" 6
	assert_equal "$(grep -c '^panes/b/.*\.msg$' <<<"$output")" 5
	# message files are named by the time, to the millisecond, and a random part
	assert_equal "$(grep '\.msg$' <<<"$output" | grep -cvE '^panes/[ab]/[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[a-z0-9]{6}\.msg$')" 0
	# one commit for a turn on two panes
	run git -C "$dir" show --name-only --format= main~2
	assert_output "$(cd "$dir" && for n in 3 4; do nth_msg panes/a $n; done; for n in 3 4; do nth_msg panes/b $n; done)"
	assert_git_clean s1
}

@test "store: a work-tree file the person removed stays removed, and is still read from main" {
	populate s1
	dir=$(sdir s1)
	f=$(nth_msg "$dir/panes/a" 2)
	rm "$f"
	run mlb-session show --text s1
	assert_success
	assert_output --partial "A tree is a plant with a trunk."
	[ ! -e "$f" ]
	assert_equal "$(git -C "$dir" status --porcelain)" " D ${f#"$dir/"}"
}

@test "ls: one line per session, and JSON records with --json" {
	populate s1
	populate s2
	mlb-session name s2 "second one"
	run mlb-session ls
	assert_success
	assert_equal "${#lines[@]}" 2
	# id, title (the name, else the first prompt), created, panes, turns, last activity, cost; newest last
	assert_line --index 0 --regexp $'^s1\t[^\t]+\t[0-9]{4}-[0-9-]+T[0-9:.]+Z\t2\t4\t[0-9-]+T[0-9:.]+Z\t[^\t]+$'
	assert_line --index 1 --regexp $'^s2\tsecond one\t[^\t]+Z\t2\t5\t[^\t]+Z\t[^\t]+$'
	mlb-session ls --json >out
	assert_equal "$(wc -l <out)" 2
	assert_equal "$(jq -c 'select(.id=="s1") | [.type, .session, .panes, .turns]' out)" '["session","s1",["a","b"],4]'
	assert_equal "$(jq -r 'select(.id=="s2") | .name' out)" "second one"
	jq -e 'all(.; (.ts|test("Z$")) and (.created|test("Z$")) and (.last_activity|test("Z$")))' out >/dev/null
}

@test "ls: no sessions, no output" {
	run mlb-session ls
	assert_success
	assert_output ""
	run mlb-session ls --json
	assert_success
	assert_output ""
}

@test "show --text: each pane's messages with Role, Model and Date" {
	populate s1
	run mlb-session show --text s1
	assert_success
	assert_line --index 0 "== a (fake:alpha) =="
	assert_line "== b (fake:beta) =="
	assert_line "Role: assistant"
	assert_line "Model: fake:alpha"
	assert_line --regexp '^Date: [0-9-]+T[0-9:.]+Z$'
	assert_line "A tree is a plant with a trunk."
	assert_line "It has leaves."
	assert_line "From: s1/a (fake:alpha)"
	refute_line --partial "Content-Hash"
}

@test "show --json: message events for every message, final events for answers" {
	populate s1
	mlb-session show --json s1 >out
	# every line is a JSON object
	jq -e . out >/dev/null
	assert_equal "$(jq -s 'map(select(.type=="message")) | length' out)" 11
	assert_equal "$(jq -s 'map(select(.type=="final")) | length' out)" 5
	assert_equal "$(jq -s -c '[.[] | select(.type=="final" and .pane=="b") | .partial] | unique' out)" '[true]'
	first=$(jq -c 'select(.type=="final")' out | head -n 1)
	assert_equal "$(jq -r .content <<<"$first")" "A tree is a plant with a trunk.

It has leaves."
	assert_equal "$(jq -r '[.session,.pane,.model,.finish_reason,.message] | join(" ")' <<<"$first")" \
		"s1 a fake:alpha stop $(cd "$(sdir s1)" && nth_msg panes/a 2)"
	# the commit that added the message, and ts is the message's Date
	commit=$(jq -r .commit <<<"$first")
	assert_equal "$commit" "$(git -C "$(sdir s1)" rev-parse main~3)"
	assert_equal "$(jq -r .ts <<<"$first")" "$(sed -n 's/^Date: //p' "$(nth_msg "$(sdir s1)/panes/a" 2)")"
	# the transferred message keeps its provenance
	prov=$(jq -c --arg m "$(cd "$(sdir s1)" && nth_msg panes/b 5)" 'select(.message==$m) | .provenance' out)
	assert_equal "$(jq -r '[.source_session,.source_pane,.source_model] | join(" ")' <<<"$prov")" "s1 a fake:alpha"
	[[ "$(jq -r .content_hash <<<"$prov")" =~ ^sha256:[0-9a-f]{64}$ ]]
	# text is the default, in a pipe too (as git show); events with --json
	run mlb-session show s1
	assert_line --index 0 "== a (fake:alpha) =="
}

@test "ls: the seeds' words, a title, the cost, newest activity last, a header on a terminal" {
	start_server
	mlb-send -s older -m openai:alpha "How do tides work?" >/dev/null 2>&1
	mlb-send -s newer -m openai:beta "$(printf 'What is a neap tide?\nAnd more')" >/dev/null 2>&1
	mlb-send -s older -m openai:alpha "And at sunset?" >/dev/null 2>&1
	run mlb-session list
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp $'^newer\tWhat is a neap tide[?]\t'
	assert_line --index 1 --regexp $'^older\tHow do tides work[?]\t.*\t1\t2\t'
	run mlb-session list --json
	assert_equal "$(jq -r .title <<<"${lines[1]}")" "How do tides work?"
	run mlb-session search -i NEAP
	assert_output --partial "newer/"
	command -v script >/dev/null || skip "script(1) is needed for a pseudo-terminal"
	run script -qec "stty cols 60; mlb-session ls" /dev/null
	assert_line --index 0 --regexp '^SESSION +LAST ACTIVITY +TURNS +COST +TITLE'
	assert_line --index 2 --regexp '^older +[0-9-]+ [0-9:]+ +2 +[-$0-9.]+ +How do tid'
	run mlb-session remove -f newer
	assert_success
	[ ! -e "$(sdir newer)" ]
}

@test "log: the history, newest first, like git log" {
	populate s1
	run mlb-session log s1
	assert_success
	assert_line --index 0 "commit $(git -C "$(sdir s1)" rev-parse main)"
	assert_line --index 1 --regexp '^Date: [0-9-]+T[0-9:.]+Z$'
	assert_line --index 2 "    mlb-test: send a to b"
	assert_equal "$(grep -c '^commit ' <<<"$output")" 5
	assert_equal "$(tail -n 1 <<<"$output")" "    mlb: new session s1"
	mlb-session log --json s1 >out
	assert_equal "$(jq -r .commit out | head -n 1)" "$(git -C "$(sdir s1)" rev-parse main)"
}

@test "grep: matches like git grep, exit 1 when nothing matches" {
	populate s1
	populate s2
	run mlb-session grep 'forest\?$'
	assert_success
	m() { (cd "$MLB_HOME/sessions/$1/panes" && nth_msg "$2" "$3"); }
	assert_output "s1/$(m s1 a 3):6:And a forest?
s1/$(m s1 b 3):6:And a forest?
s2/$(m s2 a 3):6:And a forest?
s2/$(m s2 b 3):6:And a forest?"
	run mlb-session grep -i 'ROBIN' s2
	assert_success
	assert_output "s2/$(m s2 a 6):8:Sherwood Forest, home of Robin Hood."
	run mlb-session grep 'no such words anywhere'
	assert_failure 1
	assert_output ""
	run mlb-session grep '('
	assert_failure 2
}

@test "fork: the history up to a commit, the original untouched" {
	populate s1
	before=$(git -C "$(sdir s1)" rev-parse main)
	at=$(git -C "$(sdir s1)" rev-parse main~1)
	run mlb-session fork s1 f1 --at "$at"
	assert_success
	assert_equal "$(git -C "$(sdir s1)" rev-parse main)" "$before"
	assert_equal "$(git -C "$(sdir s1)" rev-list --count main)" 5
	f=$(sdir f1)
	assert_equal "$(git -C "$f" rev-parse main~1)" "$at"
	assert_equal "$(git -C "$f" rev-list --count main)" 5
	assert_equal "$(jq -r .id "$f/session.json")" "f1"
	assert_equal "$(jq -r '.forked_from.session + " " + .forked_from.commit' "$f/session.json")" "s1 $at"
	[ -e "$(nth_msg "$f/panes/b" 4)" ]
	[ ! -e "$(nth_msg "$f/panes/b" 5)" ]
	cmp "$(nth_msg "$f/panes/a" 6)" "$(nth_msg "$(sdir s1)/panes/a" 6)"
	assert_git_clean f1
	assert_git_clean s1
	run mlb-session fork s1 f1
	assert_failure 1
	assert_output --partial "session 'f1' already exists"
	run mlb-session fork s1 f2 --at 0123456789abcdef0123456789abcdef01234567
	assert_failure 1
	[ ! -e "$(sdir f2)" ]
}

@test "restore: a new commit with the old panes, nothing lost from history" {
	populate s1
	dir=$(sdir s1)
	old=$(git -C "$dir" rev-parse main~2)
	run mlb-session restore s1 "$old"
	assert_success
	[[ "$output" =~ ^[0-9a-f]{40}$ ]]
	assert_equal "$output" "$(git -C "$dir" rev-parse main)"
	assert_equal "$(git -C "$dir" rev-list --count main)" 6
	assert_equal "$(ls "$dir/panes/a" | grep -c '\.msg$')" 4
	[ ! -e "$(nth_msg "$dir/panes/a" 5)" ]
	f=$(cd "$dir" && nth_msg panes/a 4)
	git -C "$dir" show "$old:$f" >want
	cmp want "$dir/$f"
	# the newer messages are still in the history
	assert_equal "$(git -C "$dir" ls-tree --name-only main~1 panes/a/ | grep -c '\.msg$')" 6
	assert_equal "$(git -C "$dir" diff --stat "$old" main -- panes)" ""
	assert_git_clean s1
	run mlb-session restore s1 no-such-commit
	assert_failure 1
}

@test "export and import: a bundle that git clone reads, and a round trip" {
	populate s1
	run mlb-session export s1
	assert_success
	assert_equal "$(head -n 1 s1.bundle)" "# v2 git bundle"
	git clone -q s1.bundle clone
	assert_equal "$(git -C clone rev-parse HEAD)" "$(git -C "$(sdir s1)" rev-parse main)"
	cmp "$(nth_msg clone/panes/a 2)" "$(nth_msg "$(sdir s1)/panes/a" 2)"
	run mlb-session import s1.bundle s1copy
	assert_success
	assert_output "s1copy"
	diff -r -x .git -x session.json "$(sdir s1)" "$(sdir s1copy)"
	assert_equal "$(jq -r .id "$(sdir s1copy)/session.json")" "s1copy"
	assert_equal "$(git -C "$(sdir s1copy)" rev-parse main~1)" "$(git -C "$(sdir s1)" rev-parse main)"
	assert_git_clean s1copy
	mlb-session export s1 - | mlb-session import - s1pipe
	diff -r -x .git -x session.json "$(sdir s1)" "$(sdir s1pipe)"
	# under its own id when there is no such session yet
	mlb-session rm -f s1
	run mlb-session import s1.bundle
	assert_success
	assert_output "s1"
	assert_equal "$(git -C "$(sdir s1)" rev-list --count main)" 5
	assert_git_clean s1
	run mlb-session import s1.bundle
	assert_failure 1
	assert_output --partial "session 's1' already exists"
	echo "not a bundle" >junk
	run mlb-session import junk other
	assert_failure 1
	assert_output --partial "not a git bundle"
	[ ! -e "$(sdir other)" ]
}

@test "rm: -f removes, without -f and without a terminal it refuses" {
	populate s1
	run mlb-session rm s1
	assert_failure 2
	assert_output --partial "use -f"
	[ -d "$(sdir s1)" ]
	run mlb-session rm -f s1
	assert_success
	[ ! -e "$(sdir s1)" ]
	run mlb-session ls
	assert_output ""
	run mlb-session rm -f s1
	assert_failure 1
}

@test "rm: on a terminal it asks, and only yes removes" {
	command -v script >/dev/null || skip "script(1) is needed for a pseudo-terminal"
	populate s1
	run script -qec "mlb-session rm s1" /dev/null <<<"n"
	assert_failure 1
	assert_output --partial "remove session 's1' and all its history? [y/N]"
	[ -d "$(sdir s1)" ]
	run script -qec "mlb-session rm s1" /dev/null <<<"y"
	assert_success
	[ ! -e "$(sdir s1)" ]
}

@test "name: sets session.json's name in a commit" {
	populate s1
	run mlb-session name s1 "trees and forests"
	assert_success
	assert_equal "$(jq -r .name "$(sdir s1)/session.json")" "trees and forests"
	assert_equal "$(git -C "$(sdir s1)" rev-list --count main)" 6
	assert_git_clean s1
}

@test "ids: refused before any path is built, exit 2" {
	long=$(printf 'a%.0s' $(seq 65))
	for id in ../x /abs .hidden a/b "$long" "" . ..; do
		run mlb-session show "$id"
		assert_failure 2
		assert_output --partial "invalid session id"
		run mlb-session rm -f "$id"
		assert_failure 2
	done
	run mlb-session show ../x
	assert_line --index 0 "mlb-session: invalid session id '../x': use letters, digits, '.', '_' and '-', at most 64, not starting with '.' or '-'"
	populate s1
	run mlb-session fork s1 ../x
	assert_failure 2
	run mlb-session import whatever .hidden
	assert_failure 2
	[ ! -e "$MLB_HOME/x" ]
	[ ! -e "$MLB_HOME/sessions/.hidden" ]
}

@test "errors: a missing session exits 1, usage errors 2, --help 0" {
	run mlb-session show nope
	assert_failure 1
	assert_output "mlb-session: no session 'nope'; 'mlb-session ls' lists them"
	run mlb-session log nope
	assert_failure 1
	run mlb-session --help
	assert_success
	assert_line --index 0 "usage: mlb-session ls|list [--project <name>] [--archived | --all] [--json]"
	run mlb-session --bogus
	assert_failure 2
	assert_line --index 0 "mlb-session: unknown option '--bogus'"
	run mlb-session
	assert_failure 2
	run mlb-session frobnicate
	assert_failure 2
	run mlb-session show -f s1
	assert_failure 2
	run mlb-session show
	assert_failure 2
}

@test "man page: groff and mandoc find nothing to complain about" {
	page="$MLB_SRC/share/man/man1/mlb-session.1"
	run groff -man -ww -z "$page"
	assert_success
	assert_output ""
	if command -v mandoc >/dev/null; then
		run mandoc -Tlint -W warning "$page"
		assert_output ""
	fi
}

@test "kill -9: a writer killed at any moment leaves fsck clean; the next one leaves whole files" {
	for i in 1 2 3 4 5; do
		"$TS" append-loop k 2000 10 >loop.out 2>loop.err &
		pid=$!
		# a random moment, once the first append is through
		for t in $(seq 100); do
			[ -s loop.out ] && break
			sleep 0.02
		done
		sleep "0.$((RANDOM % 30))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run git -C "$(sdir k)" fsck --strict --no-progress
		assert_success
		refute_fsck_complaint
		# the next writer finishes what the killed one left of the work tree and index
		"$TS" append-loop k 1 10 >/dev/null
		run "$TS" verify k
		assert_success
		assert_output --regexp '^[0-9]+ messages$'
		assert_git_clean k
	done
	# and the session still takes turns
	"$TS" append-loop k 3 10 >/dev/null
	run "$TS" verify k
	assert_success
	assert_git_clean k
}

@test "show on a terminal draws the markdown lightly; --raw and a pipe show it as sent" {
	command -v script >/dev/null || skip "script(1) is needed for a pseudo-terminal"
	start_server
	mlb-send -s md -m openai:echo "$(printf '# Tides\n- **high** water\n```\ncode here\n```')" >/dev/null 2>&1
	run script -qec "mlb-session show md" /dev/null
	assert_output --partial $'\033[1;4mTides\033[0m'
	assert_output --partial $'• \033[1mhigh\033[0m water'
	assert_output --partial $'    \033[36mcode here\033[0m'
	refute_output --partial '```'
	run script -qec "mlb-session show --raw md" /dev/null
	assert_output --partial '# Tides'
	assert_output --partial '- **high** water'
	run mlb-session show md
	assert_line '# Tides'
	assert_line '```'
	run -2 mlb-session ls --raw
}
