#!/usr/bin/env bats
# Sessions are git's guest: a person uses git on a session, and git judges
# what mlb did.  After each case: the person's files and staged state are
# byte for byte what they were, the turn is in `git log main`,
# `git fsck --full --strict` is clean, and `git status` shows exactly the
# person's own changes (once the one catch-up line mlb printed is followed,
# when it had to leave the work tree alone).

load helpers/common

setup() {
	clean_world
	start_server
	mlb-send -s g -m openai:echo "first" >/dev/null 2>&1
	D="$MLB_HOME/sessions/g"
	N=0
	PANE="$D/panes/openai-echo"
}

# turn: one more stored turn on the pane; stderr in $BATS_TEST_TMPDIR/err.
turn() {
	N=$((N + 1))
	mlb-send -s g -p openai-echo "turn $N" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	cat "$BATS_TEST_TMPDIR/err" >>"$BATS_TEST_TMPDIR/errs"
}

# snap: what the person has: status, staged entries, and the bytes of every file outside .git and panes.
snap() {
	(
		cd "$D"
		git status --porcelain=v1 -uall
		echo --
		git ls-files -s -- . ':(exclude)panes'
		echo --
		find . -path ./.git -prune -o -path ./panes -prune -o -type f -print0 | sort -z | xargs -0r sha256sum
	)
}

# assert_turn_stored: the last turn is on main and its reply is what mlb reads.
assert_turn_stored() {
	run git -C "$D" log main --format=%s
	assert_line --index 0 "mlb-send: openai-echo (openai:echo): turn $N"
	run mlb-session show g
	assert_success
	assert_output --partial "turn $N"
}

assert_fsck() {
	run git -C "$D" fsck --full --strict --no-progress
	assert_success
	if grep -qE '^(error|warning|missing|broken|bad|fatal)' <<<"$output"; then
		fail "git fsck complained: $output"
	fi
}

# assert_one_line_with TEXT: stderr is the one line saying what was left alone.
assert_one_line_with() {
	run cat "$BATS_TEST_TMPDIR/err"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "left alone"
	assert_output --partial "$1"
}

# catch_up: run the commands the lines gave, in order.
catch_up() {
	local cmd
	sed -n 's/.*(when that is over, \(git .*\) catches up)$/\1/p' "$BATS_TEST_TMPDIR/errs" >"$BATS_TEST_TMPDIR/cmds"
	[ -s "$BATS_TEST_TMPDIR/cmds" ] || fail "no catch-up command in: $(cat "$BATS_TEST_TMPDIR/errs")"
	while read -r cmd; do
		(cd "$D" && eval "$cmd")
	done <"$BATS_TEST_TMPDIR/cmds"
	: >"$BATS_TEST_TMPDIR/errs"
}

@test "git-guest: an uncommitted edit survives main moving, reading and a turn" {
	cd "$D"
	echo v1 >notes.txt
	git add notes.txt
	git commit -qm v1
	echo v2 >>notes.txt
	before=$(snap)
	mlb-session ls >/dev/null
	mlb-session show g >/dev/null
	assert_equal "$(snap)" "$before"
	turn
	assert_equal "$(cat notes.txt)" "v1
v2"
	assert_equal "$(snap)" "$before"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	assert_turn_stored
	assert_fsck
}

@test "git-guest: read-only commands change not one byte under the session" {
	cd "$D"
	echo mine >notes.txt
	before=$(find . -print0 | sort -z | xargs -0 stat -c '%n %s %Y %i' ; find . -type f -print0 | sort -z | xargs -0 sha256sum)
	mlb-session ls >/dev/null
	mlb-session show g >/dev/null
	mlb-session log g >/dev/null
	mlb-session grep turn >/dev/null || true
	mlb-meter -s g >/dev/null
	after=$(find . -print0 | sort -z | xargs -0 stat -c '%n %s %Y %i' ; find . -type f -print0 | sort -z | xargs -0 sha256sum)
	assert_equal "$after" "$before"
}

@test "git-guest: a merge conflict is left to the person; the turn is still on main" {
	cd "$D"
	echo base >notes.txt
	git add notes.txt && git commit -qm base
	git checkout -qb side
	echo side >notes.txt && git commit -qam side
	git checkout -q main
	echo ours >notes.txt && git commit -qam ours
	run git merge side
	assert_failure
	before=$(snap)
	stages=$(git ls-files -s notes.txt)
	mlb-session ls >/dev/null
	assert_equal "$(snap)" "$before"
	turn
	assert_one_line_with "a merge is in progress"
	assert_equal "$(git ls-files -s notes.txt)" "$stages"
	grep -q '^<<<<<<<' notes.txt
	assert_turn_stored
	assert_fsck
	catch_up
	assert_equal "$(snap)" "$before"
	# the person finishes the merge; the turn stays in it
	echo resolved >notes.txt
	git add notes.txt
	git commit -qm merged
	run mlb-session show g
	assert_output --partial "turn $N"
	assert_equal "$(git status --porcelain)" ""
	assert_fsck
}

@test "git-guest: git reset --soft keeps the staged turn staged" {
	cd "$D"
	turn
	git reset -q --soft HEAD~1
	before=$(snap)
	staged=$(git diff --cached --name-only)
	[ -n "$staged" ]
	mlb-session ls >/dev/null
	assert_equal "$(snap)" "$before"
	assert_equal "$(git diff --cached --name-only)" "$staged"
	for f in $staged; do [ -f "$f" ]; done
	assert_fsck
}

@test "git-guest: a split index (core.splitIndex) is left alone, and every turn is stored" {
	cd "$D"
	git config core.splitIndex true
	git update-index --split-index
	git status >/dev/null
	before=$(snap)
	turn
	turn
	assert_turn_stored
	assert_one_line_with "split"
	assert_fsck
	catch_up
	assert_equal "$(snap)" "$before"
	git status >/dev/null
	assert_fsck
}

@test "git-guest: an executable pane.json stays executable and clean" {
	cd "$D"
	chmod +x panes/openai-echo/pane.json
	git commit -qam x
	before=$(snap)
	turn
	assert_equal "$(git status --porcelain)" ""
	[ -x panes/openai-echo/pane.json ]
	assert_equal "$(git ls-files -s panes/openai-echo/pane.json | cut -c1-6)" "100755"
	assert_equal "$(snap)" "$before"
	assert_turn_stored
	assert_fsck
}

# clone_colleague: a colleague's clone of the session, as an mlb session of their own.
clone_colleague() {
	export MLB_HOME2="$BATS_TEST_TMPDIR/colleague"
	mkdir -p "$MLB_HOME2/sessions"
	git clone -q "$D" "$MLB_HOME2/sessions/g"
}

colleague_turn() {
	MLB_HOME="$MLB_HOME2" mlb-send -s g -p openai-echo "colleague $1" >/dev/null 2>&1
}

@test "git-guest: git pull of a colleague's turns fast-forwards" {
	clone_colleague
	colleague_turn 1
	colleague_turn 2
	cd "$D"
	echo mine >notes.txt
	before=$(snap)
	git pull -q "$MLB_HOME2/sessions/g" main
	assert_equal "$(snap)" "$before"
	run mlb-session show g
	assert_output --partial "colleague 2"
	turn
	assert_turn_stored
	assert_equal "$(snap)" "$before"
	assert_fsck
}

@test "git-guest: two clones that both added turns merge without a conflict, in time order" {
	clone_colleague
	colleague_turn 1
	turn
	colleague_turn 2
	turn
	cd "$D"
	run git pull -q --no-rebase --no-edit "$MLB_HOME2/sessions/g" main
	assert_success
	assert_equal "$(git status --porcelain)" ""
	assert_fsck
	# the pane shows every message, ordered by the time in its name
	run mlb-session show g
	assert_output --partial "colleague 1"
	assert_output --partial "colleague 2"
	assert_output --partial "turn 2"
	names=$(git ls-tree --name-only main panes/openai-echo/ | grep '\.msg$')
	assert_equal "$names" "$(sort <<<"$names")"
	assert_equal "$(wc -l <<<"$names")" 10
	# and the next turn sends the merged history
	turn
	assert_turn_stored
	assert_equal "$(git status --porcelain)" ""
	[ "$(tail -n 1 "$MLB_SERVER_LOG" | jq '.body.messages | length')" -eq 11 ]
}

@test "git-guest: an index.lock held by a live process is never taken; the turn is stored" {
	cd "$D"
	echo mine >notes.txt
	before=$(snap)
	echo held >.git/index.lock
	touch -d '-10 seconds' .git/index.lock
	turn
	assert_equal "$(cat .git/index.lock)" "held"
	assert_one_line_with "index.lock is held by another process"
	assert_turn_stored
	rm .git/index.lock
	catch_up
	assert_equal "$(snap)" "$before"
	assert_fsck
}

@test "git-guest: HEAD on another branch, or detached, stays where the person put it" {
	cd "$D"
	git checkout -qb notes
	echo mine >notes.txt
	git add notes.txt
	before=$(snap)
	head=$(git rev-parse HEAD)
	turn
	assert_one_line_with "HEAD is on 'notes', not main"
	assert_equal "$(git rev-parse HEAD)" "$head"
	assert_equal "$(snap)" "$before"
	assert_turn_stored
	git commit -qm notes
	git checkout -q --detach
	before=$(snap)
	turn
	assert_one_line_with "HEAD is detached"
	assert_equal "$(snap)" "$before"
	assert_turn_stored
	assert_fsck
	git checkout -q main
	assert_equal "$(git status --porcelain)" ""
}

@test "git-guest: a sparse checkout stays sparse" {
	cd "$D"
	git sparse-checkout set --no-cone /session.json
	[ ! -e panes/openai-echo/pane.json ]
	before=$(snap)
	turn
	assert_one_line_with "sparse"
	[ ! -e panes/openai-echo ]
	assert_turn_stored
	catch_up
	assert_equal "$(snap)" "$before"
	[ ! -e panes/openai-echo ]
	assert_fsck
}

@test "git-guest: git gc --aggressive and git repack -ad, then turns go on" {
	cd "$D"
	turn
	git gc -q --aggressive
	turn
	git repack -qad
	turn
	assert_turn_stored
	assert_equal "$(git status --porcelain)" ""
	assert_fsck
}

@test "git-guest: git stash with a dirty tree, a turn, then git stash pop" {
	cd "$D"
	echo v1 >notes.txt
	git add notes.txt && git commit -qm v1
	echo staged >>notes.txt && git add notes.txt
	echo unstaged >>notes.txt
	echo untracked >other.txt
	before=$(snap)
	git stash -q -u
	turn
	git stash pop -q --index
	assert_equal "$(snap)" "$before"
	assert_turn_stored
	assert_fsck
}

@test "git-guest: core.autocrlf=true, index version 4, untracked cache and an intent-to-add entry" {
	cd "$D"
	git config core.autocrlf true
	turn
	assert_equal "$(git status --porcelain)" ""
	git update-index --index-version 4
	git config core.untrackedCache true
	echo mine >notes.txt
	git add -N notes.txt
	git status >/dev/null
	before=$(snap)
	turn
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	assert_equal "$(snap)" "$before"
	assert_equal "$(head -c 8 .git/index | od -An -tx1 | tr -d ' ')" 4449524300000004
	turn
	assert_equal "$(snap)" "$before"
	assert_turn_stored
	assert_fsck
}

@test "git-guest: the person's commit between turns is kept; mlb builds on it" {
	cd "$D"
	echo note >notes.txt
	git add notes.txt && git commit -qm "my note"
	turn
	run git log main --format=%s
	assert_line --index 1 "my note"
	assert_equal "$(git show main:notes.txt)" "note"
	assert_equal "$(git status --porcelain)" ""
	assert_fsck
}

@test "git-guest: panes whose names extend one another (a, a.b) keep every file in the work tree" {
	cd "$D"
	mlb-send -s g -p r1.ask -m openai:echo "one" >/dev/null 2>&1
	mlb-send -s g -p r1.ask.judge -m openai:echo "two" >/dev/null 2>&1
	mlb-send -s g -p r1.ask "three" >/dev/null 2>&1
	mlb-send -s g -p r1 -m openai:echo "four" >/dev/null 2>&1
	assert_equal "$(git status --porcelain)" ""
	assert_equal "$(ls panes/r1.ask/*.msg | wc -l)" 4
	assert_equal "$(ls panes/r1.ask.judge/*.msg | wc -l)" 2
	assert_fsck
}
