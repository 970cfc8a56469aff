# ==== WebAssembly: the same lib built with Debian's emscripten (included by the Makefile) ====
#
#   make wasm          web/dist/: sl.wasm + sl.js (one thread) and sl-mt.wasm + sl-mt.js
#                      (pthreads over SharedArrayBuffer), the Worker, the page
#   make wasm-check    the unit tests compiled to wasm, run under node (part of make check)
#
# Two builds of lib/: build-wasm/ (-DSL_NO_THREADS) and build-wasm-mt/ (-pthread).  Both use
# SIMD128.  Neither has mmap or zstd (the page reads chunks of codec "none").  cJSON comes from
# third_party/cjson (Debian's 1.7.15 source, patches applied: Debian ships no wasm build of it);
# xxHash is header-only (XXH_INLINE_ALL) from Debian's libxxhash-dev.

EMCC     ?= emcc
EMAR     ?= emar
# Debian's emscripten 3.1.6 finds acorn only there; its node output needs fetch disabled.
EM_ENV    = NODE_PATH=/usr/share/nodejs
NODE_RUN  = node --no-experimental-fetch

WASM_CFLAGS   = -std=c11 -O3 -msimd128 -Wall -Wextra -Wno-unused-command-line-argument
WASM_CPPFLAGS = -Ilib -Ithird_party/cjson -isystem build-wasm/include -D_GNU_SOURCE \
		-DSL_VERSION='"$(VERSION)"' -DSL_NO_MMAP -DSL_NO_ZSTD -DXXH_INLINE_ALL
WASM_LDFLAGS  = -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=1MB
# Threads: a pool made at start (a Worker cannot start one while the caller blocks on it).
WASM_MT_FLAGS = -pthread
WASM_MT_LDFLAGS = -sPTHREAD_POOL_SIZE=4 -Wno-pthreads-mem-growth

# Everything in lib/ but the x86 kernel sets and what needs zstd beyond chunks (sl-kld files).
WASM_LIB_SRC  = $(filter-out lib/%_avx2.c lib/%_avx512.c lib/sl_kld.c,$(wildcard lib/*.c)) third_party/cjson/cjson/cJSON.c
WASM_UNIT_SRC = $(filter-out tests/unit/test_chunk.c tests/unit/test_kld.c,$(UNIT_SRC))

# $(1): build dir, $(2): extra compile flags, $(3): extra link flags
define wasm_build
$(1)/lib/%.o: lib/%.c build-wasm/include/xxhash.h
	@mkdir -p $$(@D)
	$$(EM_ENV) $$(EMCC) $$(WASM_CPPFLAGS) $$(WASM_CFLAGS) $(2) -MMD -MP -c $$< -o $$@
$(1)/third_party/%.o: third_party/%.c
	@mkdir -p $$(@D)
	$$(EM_ENV) $$(EMCC) -std=c11 -O2 $(2) -c $$< -o $$@
$(1)/libsl.a: $$(patsubst %.c,$(1)/%.o,$$(patsubst lib/%,lib/%,$$(WASM_LIB_SRC)))
	@rm -f $$@
	$$(EM_ENV) $$(EMAR) rcs $$@ $$^
# A unit test: test_x.js + .wasm, and test_x, a script that runs it under node (tests/run).
# tests/unit/wasm_env.js passes node's SL_* environment variables to getenv.
$(1)/tests/%: tests/unit/%.c tests/unit/check.h tests/unit/wasm_env.js $(1)/libsl.a
	@mkdir -p $$(@D)
	$$(EM_ENV) $$(EMCC) $$(WASM_CPPFLAGS) $$(WASM_CFLAGS) $(2) -Itests/unit $$< $(1)/libsl.a \
		$$(WASM_LDFLAGS) $(3) -sNODERAWFS=1 -sEXIT_RUNTIME=1 --pre-js tests/unit/wasm_env.js -o $$@.js
	@printf '#!/bin/sh\nexec $(NODE_RUN) "$$$$0.js" "$$$$@"\n' > $$@ && chmod +x $$@
# bench/wasmk (make bench-wasm-kernels)
$(1)/bench/wasmk: bench/wasmk.c $(1)/libsl.a
	@mkdir -p $$(@D)
	$$(EM_ENV) $$(EMCC) $$(WASM_CPPFLAGS) $$(WASM_CFLAGS) $(2) $$< $(1)/libsl.a \
		$$(WASM_LDFLAGS) $(3) -sNODERAWFS=1 -sEXIT_RUNTIME=1 --pre-js tests/unit/wasm_env.js -o $$@.js
	@printf '#!/bin/sh\nexec $(NODE_RUN) "$$$$0.js" "$$$$@"\n' > $$@ && chmod +x $$@
$(1)/tests/test_web: web/test_web.c web/sl_web.c web/sl_web.h tests/unit/check.h $(1)/libsl.a
	@mkdir -p $$(@D)
	$$(EM_ENV) $$(EMCC) $$(WASM_CPPFLAGS) $$(WASM_CFLAGS) $(2) -Iweb -Itests/unit web/test_web.c web/sl_web.c \
		$(1)/libsl.a $$(WASM_LDFLAGS) $(3) -sNODERAWFS=1 -sEXIT_RUNTIME=1 --pre-js tests/unit/wasm_env.js -o $$@.js
	@printf '#!/bin/sh\nexec $(NODE_RUN) "$$$$0.js" "$$$$@"\n' > $$@ && chmod +x $$@
-include $$(wildcard $(1)/lib/*.d)
endef

$(eval $(call wasm_build,build-wasm,-DSL_NO_THREADS))
$(eval $(call wasm_build,build-wasm-mt,$(WASM_MT_FLAGS),$(WASM_MT_LDFLAGS)))

build-wasm/include/xxhash.h:
	@mkdir -p $(@D)
	@test -f /usr/include/xxhash.h || { echo "wasm: /usr/include/xxhash.h missing (make deps)" >&2; exit 1; }
	ln -sf /usr/include/xxhash.h $@

WASM_UNITS    = $(WASM_UNIT_SRC:tests/unit/%.c=build-wasm/tests/%) build-wasm/tests/test_web
WASM_MT_UNITS = $(WASM_UNIT_SRC:tests/unit/%.c=build-wasm-mt/tests/%) build-wasm-mt/tests/test_web

# The page's C API natively too: a unit test of make check like the others.
$(B)/tests/test_web: web/test_web.c web/sl_web.c web/sl_web.h tests/unit/check.h $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(SL_CPPFLAGS) -Iweb -Itests/unit $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ web/test_web.c web/sl_web.c \
		$(LIBS) $(LDLIBS_ALL)
UNITS += $(B)/tests/test_web

.PHONY: wasm wasm-check wasm-libs bench-wasm-kernels
wasm-libs: build-wasm/libsl.a build-wasm-mt/libsl.a

wasm-check: $(WASM_UNITS) $(WASM_MT_UNITS)
	@tests/run --units $^

# The wasm kernel sets under node, 1 and 2 threads (bench/wasm-kernels.sh; figures in bench/NOTES.md)
bench-wasm-kernels: build-wasm/bench/wasmk build-wasm-mt/bench/wasmk
	@bench/wasm-kernels.sh

# ==== make wasm: web/sl_web.c (the C API of web/sl_web.h) linked with each lib build ====
#
#   web/dist/sl.js + sl.wasm                          one thread (any page)
#   web/dist/sl-mt.js + sl-mt.wasm + sl-mt.worker.js  pthreads (a cross-origin isolated page)
#
# Each is a factory, SLModule(opts) -> Promise of the module (no bundler: the Worker loads it
# with importScripts).  The exports are every function sl_web.h declares, read from the header
# so that the list cannot drift from it.  The pthread pool is made when the module starts
# (a thread cannot start while its caller blocks on it), as large as the Worker asks
# (opts.slPoolSize: the threads the page chose), else one per core.
SLW_SRC     ?= web/sl_web.c
lparen      := (
SLW_FUNCS   := $(shell grep -E '^[a-z]' web/sl_web.h | sed -n 's/.*[ *]\(slw_[a-z_0-9]*\)$(lparen).*/_\1/p') _malloc _free
empty       :=
space       := $(empty) $(empty)
SLW_EXPORTS  = -sEXPORTED_FUNCTIONS=$(subst $(space),$(comma),$(strip $(SLW_FUNCS))) \
	       -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,UTF8ToString,stringToUTF8,lengthBytesUTF8
SLW_LDFLAGS  = $(WASM_LDFLAGS) $(SLW_EXPORTS) -sMODULARIZE=1 -sEXPORT_NAME=SLModule \
	       -sENVIRONMENT=worker,node -sFILESYSTEM=0 -sINITIAL_MEMORY=32MB
SLW_MT_POOL  = 'Math.max(1,(Module.slPoolSize|0)||(typeof navigator!=="undefined"&&navigator.hardwareConcurrency)||4)'
WEB_PAGE     = index.html style.css app.js worker.js fetch.js
WEB_DIST     = web/dist/sl.js web/dist/sl-mt.js $(WEB_PAGE:%=web/dist/%)

.PHONY: wasm
wasm: $(WEB_DIST)

web/dist/sl.js: $(SLW_SRC) web/sl_web.h web/web.mk build-wasm/libsl.a
	@mkdir -p $(@D)
	$(EM_ENV) $(EMCC) $(WASM_CPPFLAGS) $(WASM_CFLAGS) -DSL_NO_THREADS -Iweb $(SLW_SRC) build-wasm/libsl.a \
		$(SLW_LDFLAGS) -o $@

web/dist/sl-mt.js: $(SLW_SRC) web/sl_web.h web/web.mk build-wasm-mt/libsl.a
	@mkdir -p $(@D)
	$(EM_ENV) $(EMCC) $(WASM_CPPFLAGS) $(WASM_CFLAGS) $(WASM_MT_FLAGS) -Iweb $(SLW_SRC) build-wasm-mt/libsl.a \
		$(SLW_LDFLAGS) -Wno-pthreads-mem-growth -sPTHREAD_POOL_SIZE=$(SLW_MT_POOL) -o $@

web/dist/%: web/%
	@mkdir -p $(@D)
	cp $< $@

# ==== the page's tests, make serve ====
# models/stories260K/: the default model in chunks of one layer, for the page and its tests.
WEB_MODEL  = models/stories260K/manifest.json
# What make check runs beside the native tests: the unit tests in wasm (both builds) and the
# browser tests (tests/web/run: Debian's chromium through playwright-core).
WEB_CHECKS = $(WASM_UNITS) $(WASM_MT_UNITS) tests/web/run
SERVE_OPTS ?=

$(WEB_MODEL): models/stories260K.gguf bin/sl-chunk
	bin/sl-chunk -q --layers 1 -o $(@D) models/stories260K.gguf

.PHONY: check-web serve
check: $(WASM_UNITS) $(WASM_MT_UNITS) wasm $(WEB_MODEL)

check-web: all wasm $(WEB_MODEL)
	@tests/run --units tests/web/run

# make serve [SERVE_OPTS='--port 8080 --models DIR --no-isolation']: http://127.0.0.1:8000/
serve: all wasm $(WEB_MODEL)
	$(PYTHON) scripts/serve.py $(SERVE_OPTS)

# make bench-web [SL_WEB_MODEL=file.gguf] [THREADS="1 2"]: bench/web.sh -> bench/out/web.md
.PHONY: bench-web
bench-web: all wasm
	@PYTHON=$(PYTHON) bench/web.sh
