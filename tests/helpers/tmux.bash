# tmux.bash - drive the real tools in a real terminal: tmux on a private
# socket, keys typed in, screens read back with capture-pane.  Waits poll
# for the expected screen with a bound, never a fixed sleep.

# tmux_start COLS ROWS: a terminal of that size running a plain shell with this test's environment.
tmux_start() {
	command -v tmux >/dev/null || skip "tmux is not installed (scripts/install-deps installs it)"
	TMUX_SOCK="mlbt-$$-$BATS_TEST_NUMBER"
	export TMUX_SOCK
	unset TMUX
	tmux -u -L "$TMUX_SOCK" -f /dev/null new-session -d -x "$1" -y "$2" -s t \
		"env PS1='$ ' bash --norc --noprofile"
	tmux -L "$TMUX_SOCK" set-option -g history-limit 20000 >/dev/null
	tmux -L "$TMUX_SOCK" set-window-option -g aggressive-resize off >/dev/null 2>&1 || true
	TMUX_TITLE=$(tmux -L "$TMUX_SOCK" display-message -p -t t '#{pane_title}')
}

tmux_stop() {
	[ -n "${TMUX_SOCK-}" ] && tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	TMUX_SOCK=
}

# tmux_run CMD: type a command line and Enter; it ends by printing "END <status>".
tmux_run() {
	tmux -L "$TMUX_SOCK" send-keys -t t -l "$1; echo END \$?"
	tmux -L "$TMUX_SOCK" send-keys -t t Enter
}

# screen: the visible screen; history: the whole scrollback and the screen.
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t t; }
history() { tmux -L "$TMUX_SOCK" capture-pane -p -S - -t t; }

# wait_screen REGEX [SECONDS]: poll the visible screen until it matches (default 30 s).
wait_screen() {
	local limit=$(( ${2:-30} * 10 )) i
	for ((i = 0; i < limit; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "--- screen did not show /$1/:" >&2
	screen >&2
	return 1
}

# wait_end [SECONDS]: the command ended; its status in END_STATUS.
wait_end() {
	local limit=$(( ${1:-60} * 10 )) i line
	for ((i = 0; i < limit; i++)); do
		line=$(history | grep -E '^END [0-9]+$' | tail -1)
		if [ -n "$line" ]; then
			END_STATUS=${line#END }
			return 0
		fi
		sleep 0.1
	done
	echo "--- the command did not end; screen:" >&2
	screen >&2
	return 1
}

# assert_title_kept: no output changed the window or pane title.
assert_title_kept() {
	local now
	now=$(tmux -L "$TMUX_SOCK" display-message -p -t t '#{pane_title}')
	[ "$now" = "$TMUX_TITLE" ] || fail "the pane title changed from '$TMUX_TITLE' to '$now'"
}

# check_columns FILE: every line of the live view that has column separators has them at
# the same display columns, and no line is wider than the terminal (COLS).
check_columns() {
	python3 - "$1" "$COLS" <<'PY'
import sys, unicodedata
def width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
cols = int(sys.argv[2])
seps = None
n = 0
for line in lines:
    w, pos = 0, []
    for ch in line:
        if ch == "\u2502":
            pos.append(w)
        w += width(ch)
    if w > cols:
        sys.exit("line wider than %d columns (%d): %r" % (cols, w, line))
    if not pos:
        continue
    n += 1
    if seps is None:
        seps = pos
    elif pos != seps:
        sys.exit("separators at %r, expected %r: %r" % (pos, seps, line))
if n < 3:
    sys.exit("no side-by-side panes on the screen")
PY
}

# check_width FILE COLS: no line of FILE takes more than COLS display columns.
check_width() {
	python3 - "$1" "$2" <<'PY'
import sys, unicodedata
cols = int(sys.argv[2])
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    w = sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
    if w > cols:
        sys.exit("line wider than %d columns (%d): %r" % (cols, w, line))
PY
}

# check_answers HISTORY EVENTS: each final answer in EVENTS shows in HISTORY in full under its
# model's header, every word whole and in order (the rows joined by spaces give the text back).
check_answers() {
	python3 - "$1" "$2" <<'PY'
import json, sys
hist = open(sys.argv[1], encoding="utf-8").read().split("\n")
finals = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if '"final"' in l]
finals = [e for e in finals if e.get("type") == "final"]
if not finals:
    sys.exit("no answers to look for")
for e in finals:
    def is_head(l):
        if not l.startswith("\u2500\u2500 "):
            return False
        rest = l[3:].rstrip()
        # a header too long for the terminal is cut with an ellipsis
        return rest.startswith(e["model"] + " ") or (rest.endswith("\u2026") and e["model"].startswith(rest[:-1]))
    starts = [i for i, l in enumerate(hist) if is_head(l)]
    if not starts:
        sys.exit("no section for %s" % e["model"])
    i = starts[-1] + 1
    rows = []
    while i < len(hist) and hist[i].strip() != "" and not hist[i].startswith("\u2500\u2500 "):
        rows.append(hist[i].rstrip(" "))
        i += 1
    shown = " ".join(rows).split()
    want = e["content"].split()
    if shown[:len(want)] != want:
        for k, (a, b) in enumerate(zip(shown, want)):
            if a != b:
                sys.exit("%s: word %d shows %r, the answer has %r" % (e["model"], k, a, b))
        sys.exit("%s: %d words shown, the answer has %d" % (e["model"], len(shown), len(want)))
PY
}
