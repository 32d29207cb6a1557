#!/usr/bin/env bats
# make install / uninstall into a staging directory.

load helpers/common

@test "make install puts tools, man pages, shared files and completions under DESTDIR" {
	dest="$BATS_TEST_TMPDIR/stage"
	make -C "$MLB_SRC" --no-print-directory install DESTDIR="$dest" PREFIX=/usr >/dev/null
	for t in mlb mlb-send mlb-broadcast mlb-diff mlb-summarize mlb-meter mlb-pipeline mlb-session mlb-models; do
		[ -x "$dest/usr/bin/$t" ] || fail "$t not installed"
		[ -f "$dest/usr/share/man/man1/$t.1" ] || fail "$t.1 not installed"
	done
	[ -f "$dest/usr/share/mlb/providers" ]
	[ -f "$dest/usr/share/mlb/prices.tsv" ]
	[ -f "$dest/usr/share/mlb/prompts/executive.txt" ]
	[ -f "$dest/usr/share/bash-completion/completions/mlb" ]
	[ -f "$dest/usr/share/zsh/site-functions/_mlb" ]
	[ -f "$dest/usr/share/fish/vendor_completions.d/mlb.fish" ]
	# an installed tool finds its shared files beside itself, without MLB_SHARE_DIR
	unset MLB_SHARE_DIR
	start_server
	run --separate-stderr "$dest/usr/bin/mlb-send" --no-store -m openai:echo "installed"
	assert_success
	assert_equal "$(jq -r 'select(.type=="final").content' <<<"$output")" "installed"
	run "$dest/usr/bin/mlb" send --help
	assert_success
	make -C "$MLB_SRC" --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
	[ ! -e "$dest/usr/bin/mlb-send" ]
	[ ! -e "$dest/usr/share/mlb" ]
	[ ! -e "$dest/usr/share/man/man1/mlb-send.1" ]
}
