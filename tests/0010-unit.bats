#!/usr/bin/env bats
# The C unit tests of lib/ modules: each tests/unit/test-*.c is built by
# `make unit` into build/tests/ and must exit 0.

load helpers/common

run_unit() {
	local t="$MLB_SRC/build/tests/$1"
	[ -x "$t" ] || fail "$t is not built; run 'make unit'"
	cd "$MLB_SRC"
	run "$t"
	[ "$status" -eq 0 ] || { echo "$output"; fail "$1 failed"; }
	assert_output --regexp '[1-9][0-9]* checks, 0 failed'
}

@test "unit: every unit test source has a built program" {
	for src in "$MLB_SRC"/tests/unit/test-*.c; do
		name=$(basename "$src" .c)
		[ -x "$MLB_SRC/build/tests/$name" ] || fail "$name not built"
	done
}

@test "unit: SSE parser (whole, byte by byte, random splits)" { run_unit test-sse; }
@test "unit: wire decoders on realistic transcripts" { run_unit test-wire; }
@test "unit: event reader and writer" { run_unit test-event; }
@test "unit: Myers diff" { run_unit test-diff; }
@test "unit: price table" { run_unit test-price; }
@test "unit: message files" { run_unit test-msgfile; }
@test "unit: sha256" { run_unit test-sha256; }
@test "unit: terminal text (safe filter, widths, word wrap)" { run_unit test-term; }
@test "unit: markdown drawn for a terminal" { run_unit test-markdown; }
@test "unit: session store (commits, numbering, concurrency, recovery)" { run_unit test-store; }
@test "unit: meter aggregation and percentiles" { run_unit test-meter; }
@test "unit: answer comparison (staged word diff)" { run_unit test-compare; }
@test "unit: pipeline templates" { run_unit test-template; }
@test "unit: git-config reader, entry by entry against libgit2" { run_unit test-gitconfig; }
