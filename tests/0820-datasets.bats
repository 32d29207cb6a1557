#!/usr/bin/env bats
# mlb-pipeline run --rows: a template over the rows of a dataset, rows at
# once, every answer found by its row; expectations checked on every answer
# (assert events, exit 5); a JUnit report; shards of a dataset.

load helpers/common

setup() {
	clean_world
	start_server
	cd "$BATS_TEST_TMPDIR"
}


# scripted_server: the server again, with the replies of script.json.
scripted_server() {
	stop_server
	rm -f "$BATS_TEST_TMPDIR/server.port"
	start_server --script "$BATS_TEST_TMPDIR/script.json"
}

# tpl NAME JSON: write a template file NAME.json in the test's directory.
tpl() {
	printf '%s\n' "$2" >"$1.json"
}

qa='{"name": "qa", "steps": [
 {"id": "ask", "models": ["openai:echo", "anthropic:echo"], "prompt": "The answer is {{answer}}.",
  "expect": [{"contains": "{{answer}}"}, {"regex": "^The answer"}, {"not_contains": "blue"},
             {"max_tokens": 50}, {"similar_to": "The answer is {{answer}}.", "min": 0.9}]}]}'

@test "every row of a JSONL file runs, its answers stored under its own panes, every event tagged with its row" {
	tpl qa "$qa"
	printf '{"answer": "42"}\n\n{"answer": 7}\n{"answer": "x", "extra": [1, 2]}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl --jobs 2 -s ds --json
	assert_success
	# three rows (the blank line is no row), two models each
	[ "$(requests | wc -l)" -eq 6 ]
	for v in 42 7 x; do
		[ "$(requests | jq -r '(.body.messages[-1].content)' | grep -cx "The answer is $v.")" -eq 2 ]
	done
	# every event of a row carries it, and its panes are r<row>.<pane>
	run jq -r 'select(.step) | select(.row == null) | .type' <<<"$output"
	[ -z "$output" ] || fail "events without row: $output"
	cd "$MLB_HOME/sessions/ds"
	ls panes | sort >"$BATS_TEST_TMPDIR/panes"
	printf '%s\n' r1.ask-1 r1.ask-2 r2.ask-1 r2.ask-2 r3.ask-1 r3.ask-2 | diff -u - "$BATS_TEST_TMPDIR/panes"
	tail -n 1 panes/r2.ask-1/*.msg | grep -qx 'The answer is 7.'
	# git log names each row's pane
	git log --format=%s | grep -q '^mlb-pipeline: 2 panes: The answer is 7\.' ||
		git log --format=%B | grep -q '^r2.ask-1: openai:echo (ok)'
	git log --format=%B | grep -q '^r3.ask-2: anthropic:echo (ok)'
}

@test "a CSV file with a header, quoted fields and stdin" {
	tpl one '{"name": "one", "steps": [{"id": "ask", "models": ["openai:echo"], "prompt": "{{a}} | {{b}}"}]}'
	printf 'a,b\r\n"x, y","line1\nline2"\r\nplain,"say ""hi"""\r\n' >rows.csv
	run --separate-stderr mlb-pipeline run one.json --rows rows.csv -s csv --json
	assert_success
	requests | jq -r '.body.messages[-1].content' | sort >got
	printf '%s\n' 'plain | say "hi"' 'x, y | line1' 'line2' | sort >want
	diff -u want got
	# the same rows from stdin
	run --separate-stderr mlb-pipeline run one.json --rows - -s csv2 --json <rows.csv
	assert_success
	[ "$(jq -r 'select(.type=="status" and .stage=="run_done") | .rows' <<<"$output")" = 2 ]
}

@test "bad rows are reported with their lines; the other rows run" {
	tpl qa "$qa"
	{
		printf '{"answer": "1"}\n'
		printf '[1, 2]\n'
		printf '{"other": "no answer"}\n'
		printf '{"answer": "caf\xe9"}\n'
		printf '{"answer": \n'
		printf '{"answer": "5"}\n'
	} >rows.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s bad --json
	[ "$status" -eq 3 ]
	grep -q "rows.jsonl: line 2: row 2: is a JSON array, not an object" <<<"$stderr"
	grep -q "rows.jsonl: line 3: row 3: step 'ask': {{answer}} is neither a variable" <<<"$stderr"
	grep -q "rows.jsonl: line 4: row 4: not UTF-8" <<<"$stderr"
	grep -q "rows.jsonl: line 5: row 5: not JSON" <<<"$stderr"
	# as error events too, with row and line
	[ "$(jq -c 'select(.type=="error" and .code=="parse") | [.row, .line]' <<<"$output" | tr -d '\n')" = '[2,2][3,3][4,4][5,5]' ]
	ls "$MLB_HOME/sessions/bad/panes" | sort | tr '\n' ' ' | grep -qx 'r1.ask-1 r1.ask-2 r6.ask-1 r6.ask-2 '
	jq -e 'select(.type=="status" and .stage=="run_done") | .rows == 6 and .rows_bad == 4 and .exit == 3' <<<"$output"
	# a CSV record with a field too many
	printf 'answer\n1\n"2",3\n' >rows.csv
	run --separate-stderr mlb-pipeline run qa.json --rows rows.csv -s badcsv --json
	[ "$status" -eq 3 ]
	grep -q "rows.csv: line 3: row 2: has 2 fields where the header has 1" <<<"$stderr"
	# a header that cannot name variables is the whole file's problem
	printf 'an swer\n1\n' >rows.csv
	run --separate-stderr mlb-pipeline run qa.json --rows rows.csv
	[ "$status" -eq 2 ]
	grep -q "rows.csv: line 1: column 1, 'an swer', cannot be a variable name" <<<"$stderr"
	[ "$(requests | wc -l)" -eq 6 ]
}

@test "each check of each answer is an assert event; a failed one exits 5 and says why" {
	tpl qa "$qa"
	printf '{"answer": "42"}\n{"answer": "blue"}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s checks --json
	[ "$status" -eq 5 ]
	# 2 rows x 2 models x 5 checks
	[ "$(jq -c 'select(.type=="assert")' <<<"$output" | wc -l)" -eq 20 ]
	jq -c 'select(.type=="assert" and .pass==false) | [.row, .pane, .model, .step, .check, .index, .why]' <<<"$output" >failed
	cat >want <<-'EOF'
	[2,"r2.ask-1","openai:echo","ask","not_contains",3,"the answer contains 'blue'"]
	[2,"r2.ask-2","anthropic:echo","ask","not_contains",3,"the answer contains 'blue'"]
	EOF
	diff -u want failed
	[ "$(jq -r 'select(.type=="assert" and .check=="similar_to") | .why' <<<"$output" | sort -u)" = "similarity 1.000, the least allowed is 0.900" ]
	jq -e 'select(.type=="status" and .stage=="run_done") | .checks == 20 and .checks_failed == 2 and .exit == 5' <<<"$output"
	# for a person: each failed check on stderr
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s checks --text
	[ "$status" -eq 5 ]
	grep -q "step 'ask': r2.ask-1 (openai:echo): not_contains failed: the answer contains 'blue'" <<<"$stderr"
}

@test "json, json_schema, max_cost and max_latency_ms checks" {
	cat >script.json <<-'EOF'
	{"good": {"text": "```json\n{\"name\": \"tide\", \"tags\": [\"a\", \"b\"], \"n\": 2}\n```"},
	 "bad": {"text": "{\"name\": 3, \"tags\": [\"c\"]}"},
	 "prose": {"text": "Not JSON at all."}}
	EOF
	scripted_server
	tpl js '{"name": "js", "steps": [{"id": "ask", "models": ["openai:good", "openai:bad", "openai:prose"],
	  "prompt": "Give JSON.", "expect": [{"json": true},
	  {"json_schema": {"type": "object", "required": ["name", "tags"],
	    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}, "n": {"type": "integer"}}}},
	  {"max_latency_ms": 60000}, {"max_cost": 1}]}]}'
	run --separate-stderr mlb-pipeline run js.json -s js --json
	[ "$status" -eq 5 ]
	jq -c 'select(.type=="assert") | [.pane, .check, .pass, .why]' <<<"$output" >got
	grep -qF '["ask-1","json",true,"the answer is JSON (object)"]' got
	grep -qF '["ask-1","json_schema",true,"the answer fits the schema"]' got
	grep -qF '["ask-2","json",true,' got
	grep -qF '["ask-2","json_schema",false,"$.name is int, not \"string\""]' got
	grep -qF '["ask-3","json",false,"the answer is not JSON' got
	grep -qF '["ask-1","max_latency_ms",true,' got
	# the local models have no price: an unknown cost never passes for cheap
	grep -qF '["ask-1","max_cost",false,"the answer'"'"'s cost is unknown (no price for the model)"]' got
}

@test "a judge's verdict and reason are checks, its question and answer stored with provenance" {
	cat >script.json <<-'EOF'
	{"judgeok": {"text": "PASS\nIt gives the number."}, "judgebad": {"text": "FAIL: no number given"},
	 "judgevague": {"text": "Well, maybe."}}
	EOF
	scripted_server
	tpl judged '{"name": "judged", "steps": [{"id": "ask", "models": ["openai:echo"], "prompt": "Say {{answer}}.",
	  "expect": [{"judge": "openai:judgeok", "rubric": "It says a number."},
	             {"judge": "anthropic:judgebad", "rubric": "It says {{answer}}."},
	             {"judge": "openai:judgevague", "rubric": "Anything."}]}]}'
	printf '{"answer": "42"}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline run judged.json --rows rows.jsonl -s jd --json
	[ "$status" -eq 5 ]
	jq -c 'select(.type=="assert") | [.row, .pane, .check, .index, .pass, .why]' <<<"$output" | sort >got
	cat >want <<-'EOF'
	[1,"r1.ask","judge",1,true,"It gives the number."]
	[1,"r1.ask","judge",2,false,"no number given"]
	[1,"r1.ask","judge",3,false,"the judge gave no verdict: its reply does not start with PASS or FAIL (Well, maybe.)"]
	EOF
	diff -u want got
	# the rubric had the row's value; the judge saw the answer
	requests | jq -r 'select(.model=="judgebad") | .body.messages[-1].content' | grep -qx 'It says 42.'
	requests | jq -r 'select(.model=="judgeok") | .body.messages[-1].content' | grep -qx 'Say 42.'
	cd "$MLB_HOME/sessions/jd"
	[ -d panes/r1.ask.judge2 ]
	q=$(ls panes/r1.ask.judge2/*.msg | head -n 1)
	grep -qx 'Source-Pane: r1.ask' $(ls panes/r1.ask.judge2/*.msg)
	grep -qx 'Source-Model: openai:echo' $(ls panes/r1.ask.judge2/*.msg)
	h=$(grep -h '^Content-Hash:' panes/r1.ask/*.msg | tail -n 1 | cut -d' ' -f2)
	grep -qx "Source-Hash: $h" $(ls panes/r1.ask.judge2/*.msg)
	tail -n 1 $(ls panes/r1.ask.judge2/*.msg | tail -n 1) | grep -q 'no number given'
}

@test "validate checks expectations strictly, and every row with --rows" {
	tpl bad '{"name": "bad", "steps": [{"id": "ask", "models": ["openai:echo"], "prompt": "Hi {{who}}",
	  "expect": [{"contians": "x"}, {"regex": "(unclosed"}, {"json_schema": {"type": "object", "minimum": 3}},
	             {"judge": "openai:echo"}, {"max_tokens": -1}, {"contains": "a", "not_contains": "b"},
	             {"similar_to": "x", "min": 2}, {"contains": "{{nope}}"}, "text"]}]}'
	run --separate-stderr mlb-pipeline validate bad.json --var who=me
	[ "$status" -eq 2 ]
	grep -q "step 'ask': \"expect\" item 1 names no check; use one of contains," <<<"$stderr"
	grep -q "item 2: regex '(unclosed' does not compile" <<<"$stderr"
	grep -q "item 3: json_schema: \$: \"minimum\" is not in the subset mlb checks" <<<"$stderr"
	grep -q "item 4: a judge needs a \"rubric\"" <<<"$stderr"
	grep -q "item 5: \"max_tokens\" takes a whole number >= 0, not -1" <<<"$stderr"
	grep -q "item 6 has two checks, 'contains' and 'not_contains'" <<<"$stderr"
	grep -q "item 7: \"min\" is a similarity from 0 to 1" <<<"$stderr"
	grep -q "expect '{{nope}}': {{nope}} is neither a variable" <<<"$stderr"
	grep -q "\"expect\" item 9 is string" <<<"$stderr"
	# rows: each checked with its own variables
	tpl qa "$qa"
	printf '{"answer": "1"}\n{"nothing": 1}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline validate qa.json --rows rows.jsonl
	[ "$status" -eq 2 ]
	grep -q "rows.jsonl: line 2: row 2: step 'ask': {{answer}} is neither a variable" <<<"$stderr"
	printf '{"answer": "1"}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline validate qa.json --rows rows.jsonl
	assert_success
	assert_output 'qa.json: ok: 1 step in 1 wave, 1 row'
	[ ! -s "$MLB_SERVER_LOG" ]
}

@test "--junit writes a report that xmllint reads: a test case an answer, failures and errors" {
	command -v xmllint >/dev/null || fail "xmllint is not installed: scripts/install-deps installs libxml2-utils"
	tpl qa '{"name": "qa", "steps": [{"id": "ask", "models": ["openai:echo", "openai:x+fault=400"],
	  "prompt": "<{{answer}}> & \"q\"", "expect": [{"contains": "{{answer}}"}, {"not_contains": "&"}]}]}'
	printf '{"answer": "42"}\n{"answer": "7"}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s ju --junit report.xml --json --retries 0
	[ "$status" -eq 5 ]
	xmllint --noout report.xml
	[ "$(xmllint --xpath 'count(//testcase)' report.xml)" = 4 ]
	[ "$(xmllint --xpath 'string(/testsuites/@tests)' report.xml)" = 4 ]
	[ "$(xmllint --xpath 'count(//testcase/failure)' report.xml)" = 2 ]
	[ "$(xmllint --xpath 'count(//testcase/error)' report.xml)" = 2 ]
	[ "$(xmllint --xpath 'string(/testsuites/@failures)' report.xml)" = 2 ]
	xmllint --xpath 'string(//testcase[@name="row 2, ask, openai:echo (r2.ask-1)"]/failure/@message)' report.xml |
		grep -qF "1 of 2 checks failed: not_contains: the answer contains '&'"
	xmllint --xpath 'string(//testcase[@name="row 1, ask, openai:x+fault=400 (r1.ask-2)"]/error/@type)' report.xml |
		grep -qx bad_request
}

@test "--shard I/N runs the rows whose number - 1 modulo N is I; the shards together run every row once" {
	tpl qa "$qa"
	for i in $(seq 1 10); do printf '{"answer": "%d"}\n' "$i"; done >rows.jsonl
	for i in 0 1 2; do
		run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl --shard "$i/3" -s "s$i" --json
		assert_success
		jq -r 'select(.type=="final") | .pane' <<<"$output" | cut -d. -f1 | sort -u >>shards
	done
	ls "$MLB_HOME/sessions/s1/panes" | sort | tr '\n' ' ' | grep -qx 'r2.ask-1 r2.ask-2 r5.ask-1 r5.ask-2 r8.ask-1 r8.ask-2 '
	sort shards >got
	for i in $(seq 1 10); do echo "r$i"; done | sort | diff -u - got
	run mlb-pipeline run qa.json --rows rows.jsonl --shard 3/3
	[ "$status" -eq 2 ]
	assert_output --partial "--shard takes <i>/<n> with 0 <= i < n, such as 0/4, not '3/3'"
	run mlb-pipeline run qa.json --shard 0/2
	[ "$status" -eq 2 ]
	assert_output --partial "--jobs and --shard choose among rows; give --rows <file>"
}

@test "--record keeps every exchange without a key; --replay answers from it with no network, and fails clearly on a request it has not seen" {
	tpl qa "$qa"
	printf '{"answer": "42"}\n{"answer": "7"}\n' >rows.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl --record rec -s live --json
	assert_success
	[ "$(ls rec | wc -l)" -eq 4 ]
	assert_no_key rec
	jq -e -s 'all(.[]; .status == 200 and .stream == true and (.response | length > 0) and (.request.messages | length) == 1)' rec/*.json
	jq -r 'select(.type=="final") | [.pane, .content] | @tsv' <<<"$output" | sort >live.tsv
	# no server, no keys, nowhere to connect: every answer comes from the recording
	stop_server
	export OPENAI_BASE_URL=http://127.0.0.1:9/nowhere ANTHROPIC_BASE_URL=http://127.0.0.1:9/nowhere
	unset OPENAI_API_KEY ANTHROPIC_API_KEY
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl --replay rec -s replayed --json
	assert_success
	jq -r 'select(.type=="final") | [.pane, .content] | @tsv' <<<"$output" | sort | diff -u live.tsv -
	[ "$(jq -c 'select(.type=="assert")' <<<"$output" | wc -l)" -eq 20 ]
	# a request not recorded fails that answer, saying so; the others still replay
	printf '{"answer": "42"}\n{"answer": "unseen"}\n' >rows2.jsonl
	run --separate-stderr mlb-pipeline run qa.json --rows rows2.jsonl --replay rec -s replayed2 --json
	[ "$status" -eq 3 ]
	grep -q "r2.ask-1 (openai:echo) failed: --replay: rec has no recorded exchange for this request to openai:echo" <<<"$stderr"
	[ "$(jq -c 'select(.type=="final" and .partial == false) | .pane' <<<"$output" | wc -l)" -eq 2 ]
	run mlb-pipeline run qa.json --rows rows.jsonl --replay missing-dir
	[ "$status" -eq 2 ]
	assert_output --partial "--replay 'missing-dir': No such file or directory; record one with --record"
	run mlb-pipeline run qa.json --record a --replay b
	[ "$status" -eq 2 ]
}

@test "drift: a live run compared with its recording answer by answer, failing below the similarity asked" {
	echo '{"tides": {"text": "The tide rises twice a day because of the moon."}}' >script.json
	scripted_server
	tpl t '{"name": "t", "steps": [{"id": "ask", "models": ["openai:tides", "openai:echo"], "prompt": "Why {{q}}?"}]}'
	printf '{"q": "tides"}\n{"q": "waves"}\n' >rows.jsonl
	mlb-pipeline run t.json --rows rows.jsonl --record rec -s first --json >/dev/null
	# the recording, replayed into a session of its own
	mlb-pipeline run t.json --rows rows.jsonl --replay rec -s recorded --json >/dev/null
	# the model changed its answer since
	echo '{"tides": {"text": "Tides come from the pull of the sun."}}' >script.json
	scripted_server
	mlb-pipeline run t.json --rows rows.jsonl -s today --json >/dev/null
	run --separate-stderr mlb-pipeline drift recorded today --json
	[ "$status" -eq 5 ]
	jq -r '[.pane, .pass] | @tsv' <<<"$output" >got
	printf 'r1.ask-1\tfalse\nr1.ask-2\ttrue\nr2.ask-1\tfalse\nr2.ask-2\ttrue\n' | diff -u - got
	jq -e -s 'all(.[]; .type == "assert" and .check == "drift" and .session == "today")' <<<"$output"
	grep -q "drift: 4 answers compared, 2 below 0.800, 0 missing from 'today'" <<<"$stderr"
	run --separate-stderr mlb-pipeline drift recorded today --min-similarity 0.1 --json
	assert_success
	run --separate-stderr mlb-pipeline drift recorded first --text
	assert_success
	grep -qx "ok   r1.ask-1 (openai:tides): similarity 1.000 to the recording, the least allowed is 0.800" <<<"$output"
	run mlb-pipeline drift recorded
	[ "$status" -eq 2 ]
	run mlb-pipeline drift recorded today --min-similarity 2
	[ "$status" -eq 2 ]
}

@test "4 shards at once, each with its own MLB_HOME, merge into one session and one report equal to one unsharded run" {
	tpl qa "$qa"
	for i in $(seq 1 12); do
		if [ $((i % 5)) -eq 0 ]; then printf '{"answer": "blue %d"}\n' "$i"; else printf '{"answer": "%d"}\n' "$i"; fi
	done >rows.jsonl
	home=$MLB_HOME
	# one unsharded run
	run --separate-stderr mlb-pipeline run qa.json --rows rows.jsonl -s whole --log whole.ndjson --junit whole.xml
	[ "$status" -eq 5 ]
	# four shards at once, as four machines would run them
	for i in 0 1 2 3; do
		MLB_HOME="$BATS_TEST_TMPDIR/shard$i" mlb-pipeline run qa.json --rows rows.jsonl --shard "$i/4" \
			-s part --log "shard$i.ndjson" >/dev/null 2>"shard$i.err" &
	done
	for i in 0 1 2 3; do wait %$((i + 1)) || [ $? -eq 5 ]; done
	for i in 0 1 2 3; do
		[ "$(jq -s '[.[] | select(.type=="status" and .stage=="run_done")][0].rows' "shard$i.ndjson")" = 3 ]
	done
	run --separate-stderr mlb-pipeline merge merged "$BATS_TEST_TMPDIR"/shard{0,1,2,3}/sessions/part
	assert_success
	[ "$(grep -c '^mlb-pipeline: merged ' <<<"$stderr")" -eq 4 ]
	# rows: the same panes, each with the same answer
	diff -u <(ls "$home/sessions/whole/panes") <(ls "$home/sessions/merged/panes")
	run --separate-stderr mlb-pipeline drift whole merged --min-similarity 1 --json
	assert_success
	[ "$(jq -s 'map(select(.pass)) | length' <<<"$output")" -eq 24 ]
	git -C "$home/sessions/merged" fsck --no-progress
	[ -z "$(git -C "$home/sessions/merged" status --porcelain)" ]
	# verdicts: the same checks with the same results
	verdicts() { jq -c 'select(.type=="assert") | [.row, .pane, .check, .index, .pass, .why]' "$@" | sort; }
	diff -u <(verdicts whole.ndjson) <(verdicts shard{0,1,2,3}.ndjson)
	# totals: the same tokens, from the stored sessions
	totals() { mlb-meter -s "$1" --json | jq -c 'select(.type=="meter") | [.prompt_tokens, .completion_tokens]' | tail -n 1; }
	[ "$(totals whole)" = "$(totals merged)" ]
	# one JUnit report from the shards' logs, the same as the unsharded run's but for times
	cat shard{0,1,2,3}.ndjson | mlb-pipeline report --junit merged.xml
	xmllint --noout merged.xml
	diff -u <(sed 's/ time="[^"]*"//' whole.xml) <(sed 's/ time="[^"]*"//' merged.xml)
	[ "$(xmllint --xpath 'string(/testsuites/@tests)' merged.xml)" = 24 ]
	[ "$(xmllint --xpath 'string(/testsuites/@failures)' merged.xml)" = 4 ]
}

@test "save --from-session turns a send-to into a need and a placeholder, not the old answer frozen in the prompt" {
	echo '{"first": {"text": "Tides rise twice a day."}}' >script.json
	scripted_server
	mlb-send -s sv -m openai:first "Why tides?" >/dev/null
	mlb-send -s sv -m anthropic:echo --from openai-first "Check this:" >/dev/null
	mlb-send -s sv -m openai:echo "Unrelated {{braces}}" >/dev/null
	run --separate-stderr mlb-pipeline save --from-session sv --name sv
	assert_success
	mlb-pipeline export sv >sv.json
	[ "$(jq -r '.steps[1].prompt' sv.json)" = "$(printf 'Check this:\n\n{{turn-1.1}}')" ]
	[ "$(jq -c '.steps[1].needs' sv.json)" = '["turn-1"]' ]
	[ "$(jq -r '.steps[2].prompt' sv.json)" = 'Unrelated {{{{braces}}' ]
	! grep -q 'Tides rise twice a day' sv.json
	# run again, the second step gets what the first answers now
	echo '{"first": {"text": "The moon pulls the sea."}}' >script.json
	scripted_server
	run --separate-stderr mlb-pipeline run sv -s again --json
	assert_success
	requests | jq -r 'select(.model=="echo" and (.body.messages[-1].content | startswith("Check"))) | .body.messages[-1].content' >got
	printf 'Check this:\n\nThe moon pulls the sea.\n' | diff -u - got
}
