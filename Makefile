# firedrill - build, run, test, install.
#
#   make            build build/bin/firedrill, firedrill-emulate and the
#                   stand-in
#   make emulator   build only what the test Mac needs: firedrill-emulate
#                   and the stand-in (libyaml and the C library alone)
#   make run        run the scenario pack on the embedded backend
#   make test       a warning check (gcc and clang, -Werror), unit tests
#                   (cmocka) and CLI tests (bats), then the same tests again
#                   under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      speed and memory figures
#   make install    PREFIX=/usr/local (DESTDIR honoured)
#   make install-emulator   firedrill-emulate and the stand-in only
#   make fuzz       libFuzzer targets (clang)
#
# Missing Debian packages are installed by ci/install-deps.sh (make deps).
# Variants: SAN=1 builds with ASan+UBSan into build-san/.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
             -Wno-missing-field-initializers
CPPFLAGS  += -D_GNU_SOURCE -DFD_VERSION='"$(VERSION)"' \
             -Icore -Iengine -Iemulator -Ivalidator -Icli -I$(BUILD)/gen
ALL_CFLAGS = -std=c11 $(WARNINGS) $(CFLAGS)

ifeq ($(SAN),1)
BUILD     ?= build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
else
BUILD     ?= build
endif

# The emulator and the stand-in need libyaml and libc only (they run on
# the test Mac); the engine and the validator also use cJSON and libcurl.
EMU_LIBS  := -lyaml
FULL_LIBS := -lyaml -lcjson -lcurl -lm

# Homebrew keeps libyaml out of the compiler's default paths on macOS.
ifeq ($(shell uname -s),Darwin)
BREW_YAML := $(shell brew --prefix libyaml 2>/dev/null)
ifneq ($(BREW_YAML),)
CPPFLAGS  += -I$(BREW_YAML)/include
LDFLAGS   += -L$(BREW_YAML)/lib
endif
endif

STANDIN_SRCS  := emulator/standin.c core/sha256.c
CORE_SRCS     := $(wildcard core/*.c)
ENGINE_SRCS   := $(wildcard engine/*.c)
EMU_SRCS      := $(filter-out emulator/standin.c,$(wildcard emulator/*.c))
VAL_SRCS      := $(wildcard validator/*.c)
CLI_SRCS      := $(filter-out cli/emulate_main.c,$(wildcard cli/*.c))
# `firedrill emulate` as a program of its own: these cli files need
# neither the engine nor the validator (ci/check-portable.sh checks).
EMU_CLI_SRCS  := cli/emulate_main.c cli/cmd_emulate.c cli/emulate_step.c \
                 cli/common.c cli/opts.c
UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
TESTSRV_SRCS  := $(wildcard tests/server/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJS  := $(call obj,$(CORE_SRCS) $(ENGINE_SRCS) $(EMU_SRCS) $(VAL_SRCS))
CLI_OBJS  := $(call obj,$(CLI_SRCS))
EMULATE_OBJS := $(call obj,$(EMU_CLI_SRCS) $(CORE_SRCS) $(EMU_SRCS))
FIREDRILL := $(BUILD)/bin/firedrill
EMULATE   := $(BUILD)/bin/firedrill-emulate
STANDIN   := $(BUILD)/libexec/firedrill/firedrill-standin
LIBFD     := $(BUILD)/lib/libfiredrill.a
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all emulator deps run test unit bats test-normal test-san bench \
        install install-emulator uninstall fuzz clean check-warnings
all: $(FIREDRILL) $(STANDIN) $(EMULATE)
emulator: $(EMULATE) $(STANDIN)

deps:
	@sh ci/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBFD): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FIREDRILL): $(CLI_OBJS) $(LIBFD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIBFD) $(FULL_LIBS)

# Objects, not libfiredrill.a: the archive holds the engine, which a Mac
# without cJSON cannot compile.
$(EMULATE): $(EMULATE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(EMULATE_OBJS) $(EMU_LIBS)

$(STANDIN): $(call obj,$(STANDIN_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

# The emulator runs only the stand-in it was built with: its sha256 is
# pinned into the emulator at build time.
STANDIN_PIN := $(BUILD)/gen/standin_sha256.h
$(STANDIN_PIN): $(STANDIN)
	@mkdir -p $(dir $@)
	@sum=$$( (sha256sum $< 2>/dev/null || shasum -a 256 $<) | cut -d' ' -f1) && \
	printf '#define FD_STANDIN_SHA256 "%s"\n' "$$sum" >$@
$(BUILD)/obj/emulator/emulator.o: $(STANDIN_PIN)

$(BUILD)/tests/%: tests/unit/%.c $(LIBFD) $(STANDIN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBFD) \
		$(FULL_LIBS) -lcmocka

# The main job: every scenario on the embedded backend.
run: deps
	@$(MAKE) --no-print-directory all
	$(FIREDRILL) run scenarios

unit: all $(UNIT_BINS)
bats: all

# One command for every test; the runner prints "N passed, N failed".
test: deps
	@sh ci/check-warnings.sh
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@$(MAKE) --no-print-directory SAN=1 all \
		$(patsubst tests/unit/%.c,build-san/tests/%,$(UNIT_SRCS))
	@sh tests/run-tests.sh build build-san

# The same, one build at a time (quicker while working).
test-normal: all $(UNIT_BINS)
	@sh tests/run-tests.sh $(BUILD)

test-san:
	@$(MAKE) --no-print-directory SAN=1 all \
		$(patsubst tests/unit/%.c,build-san/tests/%,$(UNIT_SRCS))
	@sh tests/run-tests.sh build-san

check-warnings:
	@sh ci/check-warnings.sh

bench: all
	@bash tests/bench/bench.sh $(BUILD)

# Each program finds the stand-in at ../libexec/firedrill/ from its own
# folder, so the two always go in together.
install-emulator: emulator
	install -d $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/libexec/firedrill
	install -m 0755 $(EMULATE) $(DESTDIR)$(PREFIX)/bin/firedrill-emulate
	install -m 0755 $(STANDIN) \
		$(DESTDIR)$(PREFIX)/libexec/firedrill/firedrill-standin

install: all install-emulator
	install -d $(DESTDIR)$(PREFIX)/share/firedrill/rules \
		$(DESTDIR)$(PREFIX)/share/firedrill/scenarios
	install -m 0755 $(FIREDRILL) $(DESTDIR)$(PREFIX)/bin/firedrill
	cp -R rules/. $(DESTDIR)$(PREFIX)/share/firedrill/rules/
	cp -R scenarios/. $(DESTDIR)$(PREFIX)/share/firedrill/scenarios/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/firedrill \
		$(DESTDIR)$(PREFIX)/bin/firedrill-emulate \
		$(DESTDIR)$(PREFIX)/libexec/firedrill \
		$(DESTDIR)$(PREFIX)/share/firedrill

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); \
		echo "clang $$f -> build-fuzz/$$n"; \
		clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
			-o build-fuzz/$$n $$f $(filter-out $(CLI_SRCS),$(CORE_SRCS) \
			$(ENGINE_SRCS) $(EMU_SRCS) $(VAL_SRCS)) $(FULL_LIBS) \
			|| exit 1; \
	done

clean:
	rm -rf build build-san build-fuzz build-warn-gcc build-warn-clang

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
