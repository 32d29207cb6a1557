# mlb - a Unix toolchain for working with many language models at once.
#
#   make            build every tool into bin/
#   make check      install what is missing, build, run every test
#   make demo       install what is missing, run the offline demo
#   make install    PREFIX=/usr/local DESTDIR=...
#   make SANITIZE=1 build with AddressSanitizer and UndefinedBehaviorSanitizer
#   make CC=clang   the same with clang

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR    = $(PREFIX)/bin
SHAREDIR  = $(PREFIX)/share
MANDIR    = $(SHAREDIR)/man
DESTDIR  ?=

CC       ?= cc
PKG_CONFIG ?= pkg-config
PKGS      = libcurl json-c libgit2
OPTFLAGS ?= -O2 -g
CFLAGS   ?= $(OPTFLAGS)
MLB_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DMLB_VERSION='"$(VERSION)"' -DMLB_SHARE_DEFAULT='"$(SHAREDIR)/mlb"' \
	-Ilib $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS      = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm

# Tests that run make themselves (make install) must build the same way.
export SANITIZE

ifeq ($(SANITIZE),1)
MLB_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS    += -fsanitize=address,undefined
endif

TOOLS = mlb mlb-send mlb-broadcast mlb-diff mlb-summarize mlb-meter \
	mlb-pipeline mlb-session mlb-models
BINS  = $(patsubst cmd/%.c,bin/%,$(wildcard cmd/*.c))

LIB_SRCS  = $(sort $(wildcard lib/*.c))
LIB_OBJS  = $(patsubst lib/%.c,build/lib/%.o,$(LIB_SRCS))
UNIT_SRCS = $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS = $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRCS))

# A build with other flags must not reuse objects: keep a stamp of them.
FLAGS_STAMP = build/flags.$(shell echo '$(CC) $(CFLAGS) $(MLB_CFLAGS) $(LDFLAGS)' | cksum | cut -d' ' -f1)

all: $(BINS)

$(FLAGS_STAMP):
	@mkdir -p build
	@rm -f build/flags.*
	@touch $@

build/lib/%.o: lib/%.c lib/*.h $(FLAGS_STAMP)
	@mkdir -p build/lib
	$(CC) $(CFLAGS) $(MLB_CFLAGS) -c -o $@ $<

build/libmlb.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

bin/%: cmd/%.c build/libmlb.a $(FLAGS_STAMP)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(MLB_CFLAGS) $(LDFLAGS) -o $@ $< build/libmlb.a $(LIBS)

build/tests/%: tests/unit/%.c build/libmlb.a tests/unit/unit.h $(FLAGS_STAMP)
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(MLB_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< build/libmlb.a $(LIBS)

unit: $(UNIT_BINS)

deps:
	@scripts/install-deps

check: deps
	@$(MAKE) --no-print-directory all unit
	@scripts/run-tests

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: all
	@scripts/bench

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SHAREDIR)/mlb \
		$(DESTDIR)$(SHAREDIR)/bash-completion/completions \
		$(DESTDIR)$(SHAREDIR)/zsh/site-functions \
		$(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 share/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 share/man/man5/*.5 $(DESTDIR)$(MANDIR)/man5
	cp -R share/mlb/. $(DESTDIR)$(SHAREDIR)/mlb
	install -m 644 completions/mlb.bash $(DESTDIR)$(SHAREDIR)/bash-completion/completions/mlb
	install -m 644 completions/_mlb $(DESTDIR)$(SHAREDIR)/zsh/site-functions/_mlb
	install -m 644 completions/mlb.fish $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/mlb.fish
	@# bash and fish load completions by command name: one link per tool
	@for t in $(filter-out mlb,$(TOOLS)); do \
		ln -sf mlb $(DESTDIR)$(SHAREDIR)/bash-completion/completions/$$t; \
		ln -sf mlb.fish $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/$$t.fish; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(addsuffix .1,$(TOOLS)))
	rm -f $(DESTDIR)$(MANDIR)/man5/mlb-config.5 $(DESTDIR)$(MANDIR)/man5/mlb-pipeline.5
	rm -rf $(DESTDIR)$(SHAREDIR)/mlb
	rm -f $(DESTDIR)$(SHAREDIR)/bash-completion/completions/mlb* \
		$(DESTDIR)$(SHAREDIR)/zsh/site-functions/_mlb \
		$(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/mlb*.fish

clean:
	rm -rf bin build

.PHONY: all unit deps check demo bench install uninstall clean
.SECONDARY: $(LIB_OBJS)

# Fuzzing (tests/fuzz/README.md).  make fuzz [FUZZ_SECONDS=10]: build each
# harness tests/fuzz/fuzz-<target>.c with clang's libFuzzer, ASan and UBSan
# (the library too) into build/fuzz/, and run it for FUZZ_SECONDS on its
# seeds and regression inputs; new corpus entries go to build/fuzz/corpus/,
# crashes to build/fuzz/crashes/.  make fuzz-replay: the same harnesses with
# a plain main() (tests/fuzz/replay.c) and $(CC), in build/fuzz-replay/ with
# objects of their own, so tests/0900-hardening.bats can build them under any
# flags without touching the tools' build.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_RSS_MB  ?= 2048
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_DEFS     = -Itests/fuzz -DFUZZ_SHARE_DIR='"$(CURDIR)/share/mlb"'
FUZZ_CFLAGS   = -g -O1 $(filter-out -fsanitize=% -fno-sanitize-recover=% -fno-omit-frame-pointer,$(MLB_CFLAGS)) $(FUZZ_DEFS)
FUZZ_TARGETS  = $(sort $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c)))
FUZZ_HDRS     = $(wildcard tests/fuzz/*.h)
FUZZ_LIB_OBJS = $(patsubst lib/%.c,build/fuzz/lib/%.o,$(LIB_SRCS))
# The longest input per target: streams and NDJSON need room for several long lines.
FUZZ_MAXLEN         = 16384
FUZZ_MAXLEN_sse     = 65536
FUZZ_MAXLEN_event   = 200000
FUZZ_MAXLEN_config  = 8192
# Dictionaries: tests/fuzz/<target>.dict, or the one named here.
FUZZ_DICT_wire-openai    = tests/fuzz/json.dict
FUZZ_DICT_wire-gemini    = tests/fuzz/json.dict
FUZZ_DICT_wire-anthropic = tests/fuzz/json.dict
FUZZ_DICT_event          = tests/fuzz/json.dict
FUZZ_DICT_template       = tests/fuzz/json.dict
FUZZ_REPLAY_OBJS  = $(patsubst lib/%.c,build/fuzz-replay/lib/%.o,$(LIB_SRCS))
FUZZ_REPLAY_STAMP = build/fuzz-replay/flags.$(shell echo '$(CC) $(CFLAGS) $(MLB_CFLAGS) $(LDFLAGS)' | cksum | cut -d' ' -f1)

build/fuzz/lib/%.o: lib/%.c lib/*.h
	@mkdir -p build/fuzz/lib
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_HDRS) $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(LIBS)

# One target: run it, then one line of its final stats (or its log on failure).
fuzz_run = printf 'fuzz-%-16s ' '$(1)'; \
	if build/fuzz/fuzz-$(1) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) \
		-max_len=$(or $(FUZZ_MAXLEN_$(1)),$(FUZZ_MAXLEN)) -timeout=20 -print_final_stats=1 -close_fd_mask=3 \
		$(addprefix -dict=,$(or $(FUZZ_DICT_$(1)),$(wildcard tests/fuzz/$(1).dict))) \
		-artifact_prefix=build/fuzz/crashes/$(1)/ build/fuzz/corpus/$(1) \
		$(wildcard tests/fuzz/corpus/$(1) tests/fuzz/regressions/$(1)) >build/fuzz/$(1).log 2>&1; then \
		awk '/ cov: /{c=$$0} /number_of_executed_units/{r=$$2} /average_exec_per_sec/{e=$$2} \
			/peak_rss_mb/{m=$$2} END{sub(/.*cov: /,"",c); split(c,f," "); \
			printf "%s runs, %s exec/s, cov %s, ft %s, corpus %s, rss %s MB\n", r, e, f[1], f[3], f[5], m}' \
			build/fuzz/$(1).log; \
	else echo "FAILED (build/fuzz/$(1).log, input in build/fuzz/crashes/$(1)/)"; \
		grep -A25 -m1 -E '^==[0-9]+==|runtime error|fuzz check failed|ERROR: libFuzzer' build/fuzz/$(1).log; fail=1; fi;

fuzz: $(addprefix build/fuzz/fuzz-,$(FUZZ_TARGETS))
	@mkdir -p $(foreach t,$(FUZZ_TARGETS),build/fuzz/corpus/$(t) build/fuzz/crashes/$(t))
	@fail=0; $(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t))) exit $$fail

$(FUZZ_REPLAY_STAMP):
	@mkdir -p build/fuzz-replay
	@rm -f build/fuzz-replay/flags.*
	@touch $@

build/fuzz-replay/lib/%.o: lib/%.c lib/*.h $(FUZZ_REPLAY_STAMP)
	@mkdir -p build/fuzz-replay/lib
	$(CC) $(CFLAGS) $(MLB_CFLAGS) -c -o $@ $<

build/fuzz-replay/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(FUZZ_HDRS) $(FUZZ_REPLAY_OBJS)
	$(CC) $(CFLAGS) $(MLB_CFLAGS) $(FUZZ_DEFS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_REPLAY_OBJS) $(LIBS)

fuzz-replay: $(addprefix build/fuzz-replay/fuzz-,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-replay
.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_REPLAY_OBJS)
