# hvtrace build. `make` builds, `make test` runs every test, `make demo` runs the main job,
# `make bench` measures, `make asan` runs the tests under ASan+UBSan, `make install PREFIX=..`.
# Missing Debian packages are installed first (scripts/deps.sh).

CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local
PYTHON  := /usr/bin/python3
SAN     ?=
OPT     ?= -O2

PKGS    := sqlite3 libtraceevent libtracecmd libzstd
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_DEFAULT_SOURCE \
           -Itracepoints -I$(BUILD)/gen -Idb -Ikernel -Ikernel/sim -Ireplay -Icli $(SAN)
LDFLAGS += $(SAN)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

GEN_H   := $(BUILD)/gen/hv_events.h
GEN_C   := $(BUILD)/gen/hv_events.c
LIB_SRC := $(sort $(wildcard tracepoints/*.c db/*.c kernel/*.c kernel/sim/*.c replay/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/hv_events.o
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/c/test_*.c))
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
TEST_HELP := $(sort $(wildcard tests/c/helper_*.c))
TEST_HELP_BIN := $(TEST_HELP:tests/c/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
DEPS_OK := $(BUILD)/.deps-ok
DEPS_TEST := $(BUILD)/.deps-test-tried

.PHONY: all deps test demo bench asan install clean
all: $(BUILD)/hvtrace

deps: $(DEPS_OK)
$(DEPS_OK): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh
	@touch $@

# Test-only packages (chromium for the report's browser test): tried once, never fatal.
$(DEPS_TEST): scripts/deps-test.sh
	@mkdir -p $(BUILD)
	-@sh scripts/deps-test.sh
	@touch $@

# One run of the generator makes all its outputs (grouped target: parallel makes run it once).
$(GEN_H) $(GEN_C) $(BUILD)/formats/.stamp &: tracepoints/gen.py tracepoints/events.def $(wildcard tracepoints/symbols/*.tsv) | $(DEPS_OK)
	@mkdir -p $(BUILD)/gen $(BUILD)/formats
	$(PYTHON) tracepoints/gen.py tracepoints/events.def tracepoints/symbols $(BUILD)/gen $(BUILD)/formats \
	  tracepoints/EVENTS.md tracepoints/linux/trace_hv_sched.h
	@touch $(GEN_H) $(GEN_C) $(BUILD)/formats/.stamp

$(BUILD)/obj/%.o: %.c $(GEN_H) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/hv_events.o: $(GEN_C) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libhvtrace.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hvtrace: $(CLI_OBJ) $(BUILD)/libhvtrace.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libhvtrace.a $(LDLIBS)

$(BUILD)/tests/%: tests/c/%.c tests/c/tap.h $(BUILD)/libhvtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/c -o $@ $< $(BUILD)/libhvtrace.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libhvtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libhvtrace.a $(LDFLAGS) $(LDLIBS)

test: $(BUILD)/hvtrace $(TEST_BIN) $(TEST_HELP_BIN) $(BUILD)/formats/.stamp $(DEPS_TEST)
	@BUILD=$(BUILD) sh tests/run.sh

demo: $(BUILD)/hvtrace
	@BUILD=$(BUILD) sh scripts/demo.sh

bench: $(BUILD)/hvtrace $(BENCH_BIN)
	@BUILD=$(BUILD) sh bench/run.sh

# ASan+UBSan build in its own directory; the same tests, stopping at the first report.
asan: | $(DEPS_OK)
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

install: $(BUILD)/hvtrace
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hvtrace
	install -m 755 $(BUILD)/hvtrace $(DESTDIR)$(PREFIX)/bin/hvtrace
	cp -r $(BUILD)/formats $(DESTDIR)$(PREFIX)/share/hvtrace/
	-[ -d analyze ] && cp -r analyze $(DESTDIR)$(PREFIX)/share/hvtrace/
	install -d $(DESTDIR)$(PREFIX)/share/hvtrace/tracepoints
	cp -r tracepoints/symbols $(DESTDIR)$(PREFIX)/share/hvtrace/tracepoints/

clean:
	rm -rf build build-asan build-clang

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
