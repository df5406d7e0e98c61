# imgwatch - build, test, lint, fuzz, bench, install.
#
#   make            build/imgwatch (optimized)
#   make test       install missing Debian packages, then unit tests under
#                   ASan+UBSan, fuzz corpus replay and end-to-end tests
#   make lint       clang-format check + cppcheck
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench      benchmarks (see bench/)
#   make demo       the green-burrito story on a local registry
#   make install    PREFIX=/usr/local DESTDIR=
#
# Sources are found by wildcard: lib/<domain>/*.c make libimgwatch,
# src/*.c the tool, tests/unit/test_*.c one cmocka binary each,
# tests/fuzz/fuzz_*.c one libFuzzer target each.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CLANG ?= clang
PYTHON ?= /usr/bin/python3
FUZZ_SECONDS ?= 60

PKGS := libcurl libcrypto yajl jansson yaml-0.1 sqlite3 libmicrohttpd libprotobuf-c libpq

# Evaluated lazily, so `make test` can install the packages first.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lpthread

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wno-format-nonliteral -Wvla -Wpointer-arith
COMMON_CFLAGS = -std=c11 $(WARN) -Ilib -Isrc -Ibuild/gen -D_GNU_SOURCE \
                -DIW_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
CFLAGS ?= -O2 -g
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined

LIB_SRCS := $(sort $(wildcard lib/*/*.c))
GEN_SRCS := $(patsubst proto/%.proto,build/gen/%.pb-c.c,$(wildcard proto/*.proto))
# The dashboard's files are embedded into the library (lib/server/assets.h).
ASSET_FILES := $(sort $(wildcard lib/server/assets/*.html lib/server/assets/*.css lib/server/assets/*.js))
GEN_SRCS += $(if $(ASSET_FILES),build/gen/server_assets.c)
CLI_SRCS := $(sort $(wildcard src/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

OBJ := build/obj
SOBJ := build/asan/obj
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS) $(GEN_SRCS))
CLI_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(CLI_SRCS))
SLIB_OBJS := $(patsubst %.c,$(SOBJ)/%.o,$(LIB_SRCS) $(GEN_SRCS))
SCLI_OBJS := $(patsubst %.c,$(SOBJ)/%.o,$(CLI_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))
REPLAY_BINS := $(patsubst tests/fuzz/%.c,build/asan/replay/%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))

# Quiet by default; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all test check unit e2e fuzz-replay fuzz lint bench demo install clean deps
.DELETE_ON_ERROR:
.SECONDARY:

all: build/imgwatch

deps:
	@scripts/deps.sh

# Protobuf messages (containerd API subset) are generated at build time.
build/gen/%.pb-c.c build/gen/%.pb-c.h: proto/%.proto
	@mkdir -p build/gen
	$(call msg,PROTOC,$<)
	$(Q)protoc-c --proto_path=proto --c_out=build/gen $<

build/gen/server_assets.c: $(ASSET_FILES) scripts/embed-assets.sh
	@mkdir -p build/gen
	sh scripts/embed-assets.sh $@ $(ASSET_FILES)

$(OBJ)/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(COMMON_CFLAGS) $(CFLAGS) -c $< -o $@

$(SOBJ)/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(dir $@)
	$(call msg,CC-SAN,$<)
	$(Q)$(CC) $(COMMON_CFLAGS) $(SAN_FLAGS) -c $< -o $@

build/libimgwatch.a: $(LIB_OBJS)
	@rm -f $@
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

build/asan/libimgwatch.a: $(SLIB_OBJS)
	@rm -f $@
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

build/imgwatch: $(CLI_OBJS) build/libimgwatch.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) build/libimgwatch.a $(PKG_LIBS)

build/asan/imgwatch: $(SCLI_OBJS) build/asan/libimgwatch.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(SCLI_OBJS) build/asan/libimgwatch.a $(PKG_LIBS)

build/asan/tests/%: $(SOBJ)/tests/unit/%.o build/asan/libimgwatch.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $< build/asan/libimgwatch.a $(PKG_LIBS) -lcmocka

# Corpus replay: each fuzz target linked with a plain main() under ASan.
build/asan/replay/%: $(SOBJ)/tests/fuzz/%.o $(SOBJ)/tests/fuzz/replay/main.o build/asan/libimgwatch.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

# libFuzzer targets: the library built once with clang's fuzzer coverage.
FOBJ := build/fuzz/obj
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FLIB_OBJS := $(patsubst %.c,$(FOBJ)/%.o,$(LIB_SRCS) $(GEN_SRCS))

$(FOBJ)/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(dir $@)
	$(call msg,CC-FUZZ,$<)
	$(Q)$(CLANG) $(COMMON_CFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/libimgwatch.a: $(FLIB_OBJS)
	@rm -f $@
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

build/fuzz/%: $(FOBJ)/tests/fuzz/%.o build/fuzz/libimgwatch.a
	$(call msg,LD,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# The test command: installs what it needs, then runs every suite.
test: deps
	@$(MAKE) --no-print-directory -j2 build/imgwatch build/asan/imgwatch $(UNIT_BINS) $(REPLAY_BINS)
	@$(MAKE) --no-print-directory check

check: unit fuzz-replay e2e

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

fuzz-replay: $(REPLAY_BINS)
	@scripts/run-replay.sh $(REPLAY_BINS)

e2e: build/imgwatch build/asan/imgwatch
	IMGWATCH=$(CURDIR)/build/asan/imgwatch $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

LINT_FILES = $(shell git ls-files 'lib/*.c' 'lib/*.h' 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'tests/unit/*.h' 'tests/fuzz/*.c' 'tests/fuzz/*/*.c')
lint:
	clang-format --dry-run --Werror $(LINT_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --std=c11 -D__GNUC__ \
	  -Ilib -Isrc lib src

bench: build/imgwatch
	@bench/run.sh

demo: deps build/imgwatch
	@scripts/demo.sh

install: build/imgwatch
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 build/imgwatch $(DESTDIR)$(PREFIX)/bin/imgwatch
	install -m 0644 docs/imgwatch.1 $(DESTDIR)$(PREFIX)/share/man/man1/imgwatch.1

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
