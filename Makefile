# sl — SmolLM as Unix tools.  One Makefile for the library, the tools, the tests and the bench.
#
#   make            build build/libsl.a, build/libslcli.a, bin/sl-*, and the embedded default model (models/stories260K.gguf)
#   make deps       install the Debian packages the build and the tests need (apt-get)
#   make check      unit tests (native and wasm) + bats tests + browser tests; ends with "N passed, N failed"
#   make wasm       web/dist/: the page and sl in WebAssembly (web/README.md); make serve: on 127.0.0.1:8000
#   make check-asan the same over an ASan + UBSan build (build-asan/, bin-asan/)
#   make check-valgrind  valgrind memcheck over a short run of every tool
#   make fuzz       FUZZ_SECONDS=N: every libFuzzer harness of tests/fuzz/ N seconds (clang)
#   make portable-check   the unit tests of a build with reference kernels only, no mmap, no threads
#   make bench      speed and memory (slow; generates large random models under bench/out/)
#   make install    PREFIX=/usr/local, DESTDIR honoured
#   make model      HF=path/to/hf-model TYPE=q4_k_m: quantize, chunk and verify into models/NAME/

.DEFAULT_GOAL := all

VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/sl

CC      ?= cc
CFLAGS  ?= -std=c11 -O2 -Wall -Wextra
AVX2_FLAGS = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512bf16 -mavx2 -mfma -mf16c
# The SIMD kernel files at -O3: their tile loops over rows and tokens must unroll completely
# for the accumulators to stay in registers (at -O2 GCC keeps them in memory;
# bench/NOTES.md).
KERNEL_OPT = -O3
PYTHON  ?= /usr/bin/python3

PKGS     = libzstd libxxhash libcjson
DEB_PKGS = libzstd-dev zstd libxxhash-dev libcjson-dev pkg-config bats python3-numpy unicode-data man-db groff-base bsdextrautils \
           clang libclang-rt-14-dev valgrind emscripten chromium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# B is the build directory (objects, libraries, unit tests, their .d dependency files).
# `make portable-check` builds into build-portable/ with SL_PORTABLE=1: only the scalar
# reference kernels, no mmap, no threads, as on a system with none of them (the browser).
B ?= build
BIN ?= bin
SL_CPPFLAGS = -Ilib -Icli -D_GNU_SOURCE -DSL_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
DEPFLAGS    = -MMD -MP
THREAD_LIBS = -lpthread
ifeq ($(SL_PORTABLE),1)
SL_CPPFLAGS += -DSL_NO_SIMD -DSL_NO_MMAP -DSL_NO_THREADS
THREAD_LIBS =
endif
LDLIBS_ALL  = $(PKG_LIBS) -lm $(THREAD_LIBS)

# Every lib/*.c is part of libsl.a; files named *_avx2.c / *_avx512.c get the AVX2 / AVX-512
# flags (their kernels are chosen at run time by what the CPU has).  cli/*.c, what only the
# programs need (messages, exit, signals), is libslcli.a.
LIB_SRC  = $(wildcard lib/*.c)
ifeq ($(SL_PORTABLE),1)
LIB_SRC := $(filter-out %_avx2.c %_avx512.c,$(LIB_SRC))
endif
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
CLI_SRC  = $(wildcard cli/*.c)
CLI_OBJ  = $(CLI_SRC:cli/%.c=$(B)/cli/%.o)
LIBS     = $(B)/libslcli.a $(B)/libsl.a
TOOL_NAMES = $(foreach t,tok detok quant chunk infer,$(if $(wildcard $(t)/sl-$(t).c),sl-$(t)))
TOOLS    = $(TOOL_NAMES:%=$(BIN)/%)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNITS    = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# the WebAssembly build (and web/test_web, a unit test of the page's C API, native too)
include web/web.mk
DEFAULT_MODEL = $(if $(wildcard quant/sl-quant.c),models/stories260K.gguf)

.PHONY: quality all deps check-deps check unit bats bench test-long install uninstall clean portable-check portable-units
.DELETE_ON_ERROR:
.SECONDARY: # keep the programs' objects, which make would otherwise delete as intermediate

all: check-deps $(TOOLS) $(DEFAULT_MODEL)

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y gcc make $(DEB_PKGS)
	@# playwright-core drives /usr/bin/chromium in the browser tests; it never downloads one.
	@command -v npm >/dev/null || { echo "sl: npm is missing (Node.js 18 or later), needed for the browser tests" >&2; exit 1; }
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund

check-deps:
	@for p in libzstd:libzstd-dev libxxhash:libxxhash-dev libcjson:libcjson-dev; do \
	  pc=$${p%%:*}; deb=$${p#*:}; \
	  command -v pkg-config >/dev/null || { echo "sl: pkg-config is missing: apt-get install pkg-config (or: make deps)" >&2; exit 1; }; \
	  pkg-config --exists $$pc || { echo "sl: $$pc not found: apt-get install $$deb (or: make deps)" >&2; exit 1; }; \
	done

$(B)/lib/%_avx2.o: lib/%_avx2.c
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(KERNEL_OPT) $(AVX2_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/lib/%_avx512.o: lib/%_avx512.c
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(KERNEL_OPT) $(AVX512_FLAGS) $(AVX512_SAN) $(DEPFLAGS) -c -o $@ $<

# Objects of lib/, cli/ and the programs' directories, each with its .d file beside it.
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/libsl.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libslcli.a: $(CLI_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# A program is X/sl-X.c (its main) and any other X/*.c beside it.  The stem is only known
# when the rule is tried, hence the second expansion
# (A % written in the rule itself would be taken for the stem, so the list is a function.)
prog_objs = $(patsubst %.c,$(B)/%.o,$(wildcard $(1)/*.c))
.SECONDEXPANSION:
$(BIN)/sl-%: $$(call prog_objs,$$*) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS_ALL)

$(B)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) -Itests/unit $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS_ALL)

# What each object, program and test includes, as the compiler found it (-MMD -MP).
-include $(wildcard $(B)/*/*.d)

# The embedded default model: stories260K (MIT), committed in HF form, built into an F32 GGUF.
models/stories260K.gguf: models/stories260K-hf/model.safetensors models/stories260K-hf/config.json \
                         models/stories260K-hf/tokenizer.json bin/sl-quant
	bin/sl-quant -q -t f32 -o $@ models/stories260K-hf

# ==== the model pipeline ====
# make model HF=path/to/SmolLM-1.7B TYPE=q4_k_m: HF directory -> sl-quant -> MODELS/NAME.gguf
# -> sl-chunk -> MODELS/NAME/ (chunks + manifest.json), verified.  Each step runs only when
# its inputs changed; a failed step leaves nothing that looks done (.DELETE_ON_ERROR above,
# and both tools write atomically).  CHUNK_OPTS go to sl-chunk (e.g. --zstd, --layers 4).
TYPE       ?= q8_0
MODELS     ?= models
NAME       ?= $(notdir $(patsubst %/,%,$(HF)))-$(TYPE)
CHUNK_OPTS ?=

.PHONY: model
ifeq ($(strip $(HF)),)
model:
	@echo "make model: give the Hugging Face model directory: make model HF=path/to/model [TYPE=q4_k_m]" >&2; exit 2
else
model: $(MODELS)/$(NAME)/manifest.json

$(MODELS)/$(NAME).gguf: $(wildcard $(HF)/*.json $(HF)/*.safetensors) bin/sl-quant
	@mkdir -p $(@D)
	bin/sl-quant -q -t $(TYPE) -o $@ $(HF)

$(MODELS)/$(NAME)/manifest.json: $(MODELS)/$(NAME).gguf bin/sl-chunk
	bin/sl-chunk -q $(CHUNK_OPTS) -o $(@D) $<
	bin/sl-chunk -q --verify $(@D) || { rm -rf '$(@D)'; exit 1; }
endif

# ==== hardening: fuzz harnesses, sanitizers, valgrind (tests/fuzz/README.md) ====
# Each harness tests/fuzz/fuzz_NAME.c is linked twice: with driver.c by the normal compiler
# ($(B)/fuzz/run-NAME: its corpus and regression inputs, in make check), and with libFuzzer
# (build-fuzz/fuzz/fuzz-NAME, make fuzz).
FUZZ_NAMES   = tokio tok safetensors gguf hf manifest
FUZZ_DRIVERS = $(FUZZ_NAMES:%=$(B)/fuzz/run-%)
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
SAN_FLAGS    = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
FUZZ_CFLAGS  = -std=c11 -Wall -Wextra $(SAN_FLAGS) -fsanitize=fuzzer-no-link
ASAN_CFLAGS  = -std=c11 -Wall -Wextra $(SAN_FLAGS)
FUZZ_SRC     = tests/fuzz/fuzz_util.c tests/fuzz/fuzz.h
comma       := ,

$(B)/fuzz/run-%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(FUZZ_SRC) $(B)/libsl.a lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
		tests/fuzz/fuzz_$*.c tests/fuzz/driver.c tests/fuzz/fuzz_util.c $(B)/libsl.a $(LDLIBS_ALL)

$(B)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(B)/libsl.a lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) -Itests/fuzz $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ \
		tests/fuzz/fuzz_$*.c tests/fuzz/fuzz_util.c $(B)/libsl.a $(LDLIBS_ALL)

# What the instrumented builds make (no default model: they use the normal build's).
.PHONY: programs fuzz fuzz-build check-asan check-valgrind
programs: $(TOOLS) $(UNITS) $(FUZZ_DRIVERS)

# make fuzz FUZZ_SECONDS=N [FUZZ=gguf,tok]: every harness (or those named) N seconds each.
fuzz-build: all
	$(MAKE) B=build-fuzz CC=$(FUZZ_CC) CFLAGS='$(FUZZ_CFLAGS)' $(FUZZ_NAMES:%=build-fuzz/fuzz/fuzz-%)

fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_SECONDS) $(if $(FUZZ),$(subst $(comma), ,$(FUZZ)),$(FUZZ_NAMES))

# make check-asan: the unit tests, the fuzz drivers and the bats tests over an ASan + UBSan
# build in build-asan/ and bin-asan/ (the bats helpers take the programs from $$SL_BIN).
# GCC 12 aligns an AVX-512 file's local arrays to 64 bytes, and ASan's fake stack frames
# (detect_stack_use_after_return) only to 32: an aligned 64-byte access to one faults.  The
# AVX-512 kernels (no pointer to a local outlives its call) are built without them.
check-asan: all
	$(MAKE) B=build-asan BIN=bin-asan CFLAGS='$(ASAN_CFLAGS)' AVX512_SAN='--param asan-use-after-return=0' programs
	@PYTHON=$(PYTHON) SL_BIN=$(CURDIR)/bin-asan \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run $(UNITS:$(B)/%=build-asan/%) $(FUZZ_NAMES:%=build-asan/fuzz/run-%)

# make check-valgrind: memcheck over a short run of every tool (tests/valgrind.sh).
check-valgrind: all
	@tests/valgrind.sh

# (web/web.mk adds the wasm unit tests and the browser tests: WEB_CHECKS)
check: all $(UNITS) $(FUZZ_DRIVERS)
	@PYTHON=$(PYTHON) tests/run $(UNITS) $(FUZZ_DRIVERS) $(WEB_CHECKS)

# What each quantization costs: make quality MODEL=hf-dir-or-gguf TEXT=file [BASE=f16] [TYPES=...]
quality: all
	@test -n "$(MODEL)" -a -n "$(TEXT)" || { echo "usage: make quality MODEL=path TEXT=file" >&2; exit 2; }
	@scripts/quality.sh "$(MODEL)" "$(TEXT)"

bench: all
	@PYTHON=$(PYTHON) bench/run

# The unit tests of the portable build (build-portable/): the default build is untouched.
portable-check:
	@$(MAKE) --no-print-directory B=build-portable BIN=build-portable/bin SL_PORTABLE=1 portable-units

portable-units: check-deps $(TOOLS) $(UNITS)
	@if nm $(B)/libsl.a | grep -E ' U (pthread_|mmap|munmap|madvise|mprotect|__cpu_)'; then \
	  echo "portable-check: $(B)/libsl.a still uses the symbols above" >&2; exit 1; fi
	@tests/run --units $(UNITS)

test-long: all $(UNITS)
	@PYTHON=$(PYTHON) SL_TEST_LONG=1 tests/run $(UNITS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5
	$(if $(DEFAULT_MODEL),install -m 644 $(DEFAULT_MODEL) $(DESTDIR)$(DATADIR))

uninstall:
	rm -f $(TOOL_NAMES:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(DATADIR)/stories260K.gguf
	cd man && for f in *.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$f; done; for f in *.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$$f; done

clean:
	rm -rf build build-portable bin build-asan bin-asan build-fuzz build-wasm build-wasm-mt web/dist models/stories260K.gguf models/stories260K
