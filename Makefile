# kessai build.  `make` builds optimised binaries into build/release/;
# `make MODE=asan` builds the same with AddressSanitizer + UBSan into build/asan/.
# `make check` and `make demo` first install what is missing (scripts/deps.sh).

MODE ?= release
PKGS := libmicrohttpd jansson libsodium sqlite3 inih liboath pwquality libqrencode libcurl
TEST_PKGS := cmocka libcrypto zbar

WARN := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
ifeq ($(MODE),asan)
  OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(MODE),fuzz)
  CC := clang
  OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
  OPT := -O2 -g
endif
BUILD := build/$(MODE)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
CFLAGS := $(WARN) $(OPT) -Isrc -MMD -MP
LDFLAGS := $(OPT)
# libzint (Code 128 barcodes) ships no pkg-config file on Debian.
LDLIBS = $(PKG_LIBS) -lzint -lpthread -lm

LIB_SRC := $(shell find src -name '*.c' -not -path 'src/cmd/*' | sort)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_HELPERS := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all tests bench fuzz check demo deps clean
all: $(BUILD)/kessaid $(BUILD)/kessai

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libkessai.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/kessaid $(BUILD)/kessai: $(BUILD)/%: $(BUILD)/src/cmd/%.o $(BUILD)/libkessai.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

tests: $(TEST_BIN) all
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_HELPERS:%.c=$(BUILD)/%.o) $(BUILD)/libkessai.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(TEST_LIBS)

bench: $(BENCH_BIN)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libkessai.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# libFuzzer targets: build with MODE=fuzz (clang).
fuzz: $(FUZZ_BIN)
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/libkessai.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS)

deps:
	scripts/deps.sh

# Sub-makes so that pkg-config runs after deps.sh has installed it.
check: deps
	$(MAKE) MODE=asan tests
	$(MAKE) MODE=fuzz fuzz
	scripts/check.sh build/asan

demo: deps
	$(MAKE) MODE=release all
	scripts/demo.sh build/release

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
