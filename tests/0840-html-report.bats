#!/usr/bin/env bats
# --html: one page a person reads, for a pipeline run (mlb-pipeline run --html,
# mlb-pipeline report --html) and for any session (mlb-session export --html):
# self-contained (nothing to fetch), model text escaped, parsed by xmllint and
# drawn by a real headless chromium, on a phone's width as well.

load helpers/common

setup() {
	clean_world
	cd "$BATS_TEST_TMPDIR"
	# two models that answer differently, one with markup in its answer
	cat >script.json <<'JSON'
{"paris": {"text": "The capital of France is Paris. <script>alert(1)</script>"},
 "lyon": {"text": "The capital of France is Lyon, I think."}}
JSON
	start_server --script "$BATS_TEST_TMPDIR/script.json"
	cat >qa.json <<'JSON'
{"name": "capitals", "steps": [{"id": "ask", "models": ["openai:paris", "anthropic:lyon", "openai:x+fault=400"],
  "prompt": "What is the capital of {{country}}?", "expect": [{"contains": "Paris"}, {"not_contains": "alert(2)"}]}]}
JSON
	printf '{"country": "France"}\n{"country": "France again"}\n' >rows.jsonl
}

# self_contained FILE: nothing in it that a browser would fetch.
self_contained() {
	! grep -Eiq '(src|href|action|srcset|poster|data)[[:space:]]*=[[:space:]]*["'\'']?[[:space:]]*(https?:)?//' "$1" ||
		fail "$1 refers to something remote: $(grep -Eio '(src|href)=[^ >]*' "$1" | head -3)"
	! grep -Eiq '<(script|link|iframe|img|object|embed)[[:space:]>]' "$1" || fail "$1 has an element that loads something"
	! grep -Eiq '@import|url\(' "$1" || fail "$1 has CSS that loads something"
}

# chromium_run ARGS...: headless Debian chromium, bounded, its profile in the test's directory.
chromium_run() {
	command -v chromium >/dev/null || fail "chromium is not installed: scripts/install-deps installs it"
	HOME="$BATS_TEST_TMPDIR" timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$BATS_TEST_TMPDIR/chromium" "$@" 2>"$BATS_TEST_TMPDIR/chromium.err"
}

@test "run --html writes one page: the matrix of rows and models with verdicts, escaped answers, word diffs, SVG charts" {
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s h --html report.html --json --retries 0
	[ "$status" -eq 5 ]
	[ -s report.html ]
	self_contained report.html
	grep -q '<meta name="viewport" content="width=device-width, initial-scale=1">' report.html
	grep -q '@media (max-width:600px)' report.html
	# the model's markup is text, never markup
	grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' report.html
	! grep -q '<script' report.html
	# the matrix: a row per dataset row, a column per model, a verdict in each cell
	grep -q '<th>row 1, ask</th><td class="pass">pass (2 checks)</td><td class="fail">fail (1 of 2 checks)</td><td class="error">error: ' report.html
	grep -q '<th>row 2, ask</th>' report.html
	grep -q '<p id="summary">6 answers of 3 models in 2 rows: 2 passed, 2 failed, 2 errors.</p>' report.html
	# the second answer marked against the first, word by word
	grep -q '<ins>Lyon,</ins>' report.html
	grep -q '<del>Paris.</del>' report.html
	# cost and latency charts, one bar a model
	[ "$(grep -c '<svg ' report.html)" -eq 2 ]
	[ "$(grep -c '<rect ' report.html)" -eq 6 ]
	command -v xmllint >/dev/null || fail "xmllint is not installed: scripts/install-deps installs libxml2-utils"
	xmllint --html --noout report.html
	# the same page from the run's log
	mlb-pipeline run qa.json --rows rows.jsonl -s h2 --log run.ndjson --json --retries 0 >/dev/null || [ $? -eq 5 ]
	run --separate-stderr mlb-pipeline report --html fromlog.html run.ndjson
	assert_success
	grep -q '<th>row 1, ask</th><td class="pass">pass (2 checks)</td><td class="fail">fail (1 of 2 checks)</td>' fromlog.html
	grep -q '&lt;script&gt;alert(1)' fromlog.html
	# a page that cannot be written is a one-line error
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s h3 --html nodir/report.html --json --retries 0
	[ "$status" -eq 5 ] || [ "$status" -eq 1 ]
	grep -q "cannot write the HTML report 'nodir/report.html'" <<<"$stderr"
}

@test "headless chromium reads the page: the DOM has the rows, models and verdicts, and a phone-sized screenshot is a PNG" {
	mlb-pipeline run qa.json --rows rows.jsonl -s c --html report.html --json --retries 0 >/dev/null || [ $? -eq 5 ]
	chromium_run --dump-dom "file://$BATS_TEST_TMPDIR/report.html" >dom.html ||
		fail "chromium --dump-dom failed: $(tail -3 chromium.err)"
	grep -q '<th>row 2, ask</th>' dom.html
	for m in openai:paris anthropic:lyon openai:x; do grep -q "<th>$m" dom.html || fail "no column for $m"; done
	grep -q '<td class="pass">pass (2 checks)</td>' dom.html
	grep -q '<td class="fail">fail (1 of 2 checks)</td>' dom.html
	# the escaped markup stayed text: no script element in the live DOM
	! grep -q '<script' dom.html
	grep -q '&lt;script&gt;alert(1)' dom.html
	chromium_run --screenshot="$BATS_TEST_TMPDIR/phone.png" --window-size=390,844 --hide-scrollbars \
		"file://$BATS_TEST_TMPDIR/report.html" >/dev/null || fail "chromium --screenshot failed: $(tail -3 chromium.err)"
	[ -s phone.png ]
	[ "$(head -c 8 phone.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	# 390 pixels wide, as asked (the IHDR width, big-endian at byte 16)
	[ "$(od -An -tu1 -j16 -N4 phone.png | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')" -eq 390 ]
}

@test "mlb-session export --html: a page of any session's answers, its models side by side" {
	mlb-broadcast -s talk -m openai:paris -m anthropic:lyon "Where?" >/dev/null
	mlb-broadcast -s talk -m openai:paris -m anthropic:lyon "And again?" >/dev/null
	run --separate-stderr mlb-session export --html talk.html talk
	assert_success
	self_contained talk.html
	grep -q '<th>turn 1</th>' talk.html
	grep -q "<th>turn 2</th>" talk.html
	grep -q '<th>openai:paris</th>' talk.html
	grep -q '<th>anthropic:lyon</th>' talk.html
	grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' talk.html
	! grep -q '<script' talk.html
	grep -Eq '<ins>Lyon,</ins>|<ins>Paris\.</ins>' talk.html
	xmllint --html --noout talk.html
	# an existing file is kept without -f
	run --separate-stderr mlb-session export --html talk.html talk
	[ "$status" -eq 1 ]
	grep -q "export: 'talk.html' exists; give -f to overwrite it" <<<"$stderr"
	run --separate-stderr mlb-session export -f --html talk.html talk
	assert_success
	# usage errors
	run --separate-stderr mlb-session export --html talk.html
	[ "$status" -eq 2 ]
	run --separate-stderr mlb-session ls --html x.html
	[ "$status" -eq 2 ]
	grep -q "option '--html' is for export only" <<<"$stderr"
	run --separate-stderr mlb-session export --html x.html nosuch
	[ "$status" -eq 1 ]
	[ ! -e x.html ]
}
