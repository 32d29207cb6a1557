# common.bash - loaded by every suite: a clean world for each test, the
# built tools on PATH, and the local server on demand.
#
# Each test runs with HOME, MLB_HOME and XDG dirs inside its own temp dir,
# LC_ALL=C, TZ=UTC and stdin from /dev/null (see tests/README.md).

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

MLB_SRC="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export MLB_SRC
export PATH="$MLB_SRC/bin:$PATH"
export MLB_SHARE_DIR="$MLB_SRC/share/mlb"

# A fake key for every provider: it must never show up anywhere but a header.
export MLB_TEST_KEY="sk-test-DO-NOT-LEAK-4f1c2a9e"

clean_world() {
	export HOME="$BATS_TEST_TMPDIR/home"
	export MLB_HOME="$BATS_TEST_TMPDIR/mlb"
	export XDG_CONFIG_HOME="$HOME/.config"
	export XDG_DATA_HOME="$HOME/.local/share"
	export LC_ALL=C TZ=UTC
	export TMPDIR="$BATS_TEST_TMPDIR"
	mkdir -p "$HOME"
	# files a test writes land in its own directory, never in the checkout
	cd "$BATS_TEST_TMPDIR"
	unset MLB_CONFIG MLB_MODEL MLB_MODELS MLB_SESSION NO_COLOR
	# Point every provider at nothing real: the server helper sets the URLs.
	local v
	for v in OPENAI GROQ OPENROUTER LITELLM GOOGLE ANTHROPIC OLLAMA BRAVE; do
		unset "${v}_BASE_URL"
	done
	unset OPENAI_API_KEY GROQ_API_KEY OPENROUTER_API_KEY LITELLM_MASTER_KEY GOOGLE_API_KEY ANTHROPIC_API_KEY BRAVE_API_KEY
	git config --global user.name "Test User"
	git config --global user.email "test@example.invalid"
}

# start_server [server options...]: start scripts/mlb-testserver on a free
# port, wait for it, and point every provider at it with the fake key.
start_server() {
	local portfile="$BATS_TEST_TMPDIR/server.port" i
	export MLB_SERVER_LOG="$BATS_TEST_TMPDIR/requests.jsonl"
	: > "$MLB_SERVER_LOG"
	"$MLB_SRC/scripts/mlb-testserver" --port-file "$portfile" --log "$MLB_SERVER_LOG" \
		--lifetime 120 --idle 60 "$@" 3>&- </dev/null >"$BATS_TEST_TMPDIR/server.out" 2>&1 &
	MLB_SERVER_PID=$!
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	[ -s "$portfile" ] || { cat "$BATS_TEST_TMPDIR/server.out" >&2; return 1; }
	MLB_SERVER_PORT=$(cat "$portfile")
	local base="http://127.0.0.1:$MLB_SERVER_PORT"
	export MLB_SERVER_PORT MLB_SERVER_PID
	export OPENAI_BASE_URL="$base/openai/v1" GROQ_BASE_URL="$base/openai/v1"
	export OPENROUTER_BASE_URL="$base/openai/v1" LITELLM_BASE_URL="$base/openai/v1"
	export OLLAMA_BASE_URL="$base/openai/v1"
	export GOOGLE_BASE_URL="$base/gemini/v1beta" ANTHROPIC_BASE_URL="$base/anthropic"
	export OPENAI_API_KEY="$MLB_TEST_KEY" GROQ_API_KEY="$MLB_TEST_KEY"
	export OPENROUTER_API_KEY="$MLB_TEST_KEY" LITELLM_MASTER_KEY="$MLB_TEST_KEY"
	export GOOGLE_API_KEY="$MLB_TEST_KEY" ANTHROPIC_API_KEY="$MLB_TEST_KEY"
	export BRAVE_BASE_URL="$base/brave" BRAVE_API_KEY="$MLB_TEST_KEY"
}

stop_server() {
	if [ -n "${MLB_SERVER_PID-}" ]; then
		kill "$MLB_SERVER_PID" 2>/dev/null || true
		wait "$MLB_SERVER_PID" 2>/dev/null || true
		MLB_SERVER_PID=
	fi
}

# requests: the recorded requests, one JSON object per line.
requests() {
	cat "$MLB_SERVER_LOG"
}

# assert_no_key FILE...: the fake key appears in none of them.
assert_no_key() {
	local f
	for f in "$@"; do
		if grep -rqF -- "$MLB_TEST_KEY" "$f"; then
			fail "the API key leaked into $f"
		fi
	done
}

setup() {
	clean_world
}

teardown() {
	stop_server
}

# nth_msg DIR N: the Nth message file (in name order, which is time order) of the pane directory
# DIR; DIR/no-message-N when it has fewer.
nth_msg() {
	local f
	f=$(LC_ALL=C ls -1 "$1" 2>/dev/null | grep '\.msg$' | sed -n "${2}p")
	echo "$1/${f:-no-message-$2}"
}
