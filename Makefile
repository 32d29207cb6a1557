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
