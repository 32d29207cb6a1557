#!/usr/bin/env bats
# Projects and the status of a session: --project on the tools that make
# sessions, mlb-session project/archive/complete/reopen, ls --project,
# --archived and --all, and mlb-meter --project.  What is stored is read from
# the commits on main (git show main:session.json), what is printed as events.

load helpers/common

M=openai:gpt-4o-mini

# info ID: session.json as committed on main.
info() {
	git -C "$MLB_HOME/sessions/$1" show main:session.json
}

# commits ID: the number of commits on main.
commits() {
	git -C "$MLB_HOME/sessions/$1" rev-list --count main
}

# listed [ARGS...]: the ids mlb-session ls --json prints, sorted, on one line.
listed() {
	mlb-session ls --json "$@" | jq -r .id | sort | tr '\n' ' '
}

@test "--project on send, broadcast, summarize and pipeline run stores the session in the project" {
	start_server
	run -0 --separate-stderr mlb-send -m $M -s s1 --project alpha --json hello
	assert_equal "$(info s1 | jq -r .project)" alpha
	assert_equal "$(git -C "$MLB_HOME/sessions/s1" log --format=%s main | grep -c "project 'alpha'")" 1
	# joining the project it is in already commits nothing more than the turn
	n=$(commits s1)
	run -0 --separate-stderr mlb-send -m $M -s s1 --project alpha --json again
	assert_equal "$(commits s1)" $((n + 1))
	run -0 --separate-stderr mlb-broadcast -m $M -m openai:echo -s b1 --project alpha --json hi
	assert_equal "$(info b1 | jq -r .project)" alpha
	run -0 --separate-stderr mlb-summarize -s b1 -m openai:echo --project beta --json
	assert_equal "$(info b1 | jq -r .project)" beta
	printf '%s\n' '{"name":"p","steps":[{"id":"a","models":["openai:echo"],"prompt":"hi"}]}' >p.json
	run -0 --separate-stderr mlb-pipeline run p.json -s p1 --project alpha --json
	assert_equal "$(info p1 | jq -r .project)" alpha
	# a session made without --project is in none: no member at all
	run -0 --separate-stderr mlb-send -m $M -s s2 --json plain
	assert_equal "$(info s2 | jq -c 'has("project")')" false
	assert_equal "$(listed --project alpha)" "p1 s1 "
	assert_equal "$(listed --project beta)" "b1 "
	assert_equal "$(listed --project none)" "s2 "
	assert_equal "$(mlb-session ls --json --project alpha | jq -r '.project' | sort -u)" alpha
}

@test "bad --project values are usage errors that store nothing" {
	run -2 --separate-stderr mlb-send -m $M --project 'a/b' hi
	assert_regex "$stderr" "invalid project name 'a/b'"
	run -2 --separate-stderr mlb-send -m $M --no-store --project a hi
	assert_regex "$stderr" "--no-store"
	run -2 --separate-stderr mlb-meter --project ''
	assert_regex "$stderr" "needs a project"
	run -2 --separate-stderr mlb-session show x --project a
	assert_regex "$stderr" "for ls only"
	run -2 --separate-stderr mlb-session ls --archived --all
	assert [ ! -d "$MLB_HOME/sessions" -o -z "$(ls -A "$MLB_HOME/sessions" 2>/dev/null)" ]
}

@test "mlb-session project moves a session between projects, one commit each, none takes it out" {
	start_server
	mlb-send -m $M -s m1 --json hi >/dev/null 2>&1
	n=$(commits m1)
	run -0 mlb-session project m1 alpha
	assert_equal "$(info m1 | jq -r .project)" alpha
	assert_equal "$(commits m1)" $((n + 1))
	assert_equal "$(git -C "$MLB_HOME/sessions/m1" log -1 --format=%s main)" "mlb: move the session to project 'alpha'"
	run -0 mlb-session project m1 beta
	assert_equal "$(info m1 | jq -r .project)" beta
	assert_equal "$(commits m1)" $((n + 2))
	# the same project again: no commit
	run -0 mlb-session project m1 beta
	assert_equal "$(commits m1)" $((n + 2))
	run -0 mlb-session project m1 none
	assert_equal "$(info m1 | jq -c 'has("project")')" false
	assert_equal "$(git -C "$MLB_HOME/sessions/m1" log -1 --format=%s main)" "mlb: take the session out of its project"
	assert_equal "$(commits m1)" $((n + 3))
	run -0 mlb-session project m1 gamma
	run -0 mlb-session project m1 ''
	assert_equal "$(info m1 | jq -c 'has("project")')" false
	# the panes are untouched by all this
	assert_equal "$(git -C "$MLB_HOME/sessions/m1" diff --stat main~5 main -- panes)" ""
	run -1 --separate-stderr mlb-session project nosuch alpha
	assert_regex "$stderr" "nosuch"
	run -2 --separate-stderr mlb-session project m1 'a b'
	assert_regex "$stderr" "invalid project name"
}

@test "archive, complete and reopen set the status; archived sessions leave ls unless asked for" {
	start_server
	for s in a1 a2 a3; do mlb-send -m $M -s $s --project p --json hi >/dev/null 2>&1; done
	n=$(commits a1)
	run -0 mlb-session archive a1
	assert_equal "$(info a1 | jq -r .status)" archived
	assert_equal "$(commits a1)" $((n + 1))
	assert_equal "$(git -C "$MLB_HOME/sessions/a1" log -1 --format=%s main)" "mlb: mark the session archived"
	run -0 mlb-session archive a1
	assert_equal "$(commits a1)" $((n + 1))
	run -0 mlb-session complete a2
	assert_equal "$(info a2 | jq -r .status)" completed
	assert_equal "$(listed)" "a2 a3 "
	assert_equal "$(listed --archived)" "a1 "
	assert_equal "$(listed --all)" "a1 a2 a3 "
	assert_equal "$(listed --all --project p)" "a1 a2 a3 "
	assert_equal "$(mlb-session ls --json --all | jq -r 'select(.id=="a1") | .status')" archived
	# the text listing leaves it out as well
	run -0 mlb-session ls --text
	refute_line --regexp '^a1	'
	assert_line --regexp '^a3	'
	run -0 mlb-session reopen a1
	assert_equal "$(info a1 | jq -r .status)" active
	assert_equal "$(listed)" "a1 a2 a3 "
	run -2 --separate-stderr mlb-session archive
	run -1 --separate-stderr mlb-session complete nosuch
}

@test "mlb-meter --project meters the sessions of a project together, archived ones too" {
	start_server
	mlb-send -m $M -s x1 --project alpha --json one >/dev/null 2>&1
	mlb-send -m $M -s x1 --json two >/dev/null 2>&1
	mlb-broadcast -m $M -m openai:echo -s x2 --project alpha --json three >/dev/null 2>&1
	mlb-send -m $M -s y1 --project beta --json other >/dev/null 2>&1
	mlb-session archive x2
	sum() {
		local r=0 p=0 s
		for s in "$@"; do
			t=$(mlb-meter -s "$s" --json </dev/null | tail -n 1)
			r=$((r + $(jq .replies <<<"$t")))
			p=$((p + $(jq .prompt_tokens <<<"$t")))
		done
		echo "[$r,$p]"
	}
	run -0 --separate-stderr mlb-meter --project alpha --json </dev/null
	assert_equal "$stderr" ""
	total=$(tail -n 1 <<<"$output")
	assert_equal "$(jq -c '[.scope, .project]' <<<"$total")" '["project","alpha"]'
	assert_equal "$(jq -c '[.replies, .prompt_tokens]' <<<"$total")" "$(sum x1 x2)"
	assert_equal "$(jq .replies <<<"$total")" 4
	[ "$(jq .prompt_tokens <<<"$total")" -gt 0 ]
	run -0 mlb-meter --project alpha --by session --json </dev/null
	assert_equal "$(jq -r 'select(.scope=="session") | "\(.session) \(.replies)"' <<<"$output" | sort | tr '\n' ' ')" "x1 2 x2 2 "
	run -0 mlb-meter --project alpha --text </dev/null
	assert_line "project alpha"
	# a project with no sessions meters nothing
	run -0 mlb-meter --project empty --json </dev/null
	assert_equal "$(jq -c '[.scope, .replies]' <<<"$output")" '["project",0]'
	run -2 --separate-stderr mlb-meter --project alpha -s x1 </dev/null
}
