/*
 * fuzz.h — what the harnesses share.  Each harness is one LLVMFuzzerTestOneInput over one
 * parser of lib/; it is linked either with libFuzzer (make fuzz: clang -fsanitize=fuzzer) or
 * with driver.c (make check: every file of its corpus and regression inputs, no fuzzer).
 *
 * Parsers that take a path get the input written to a file in a private temporary directory
 * (/dev/shm when there is one, so it stays in memory), removed at exit.
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional (a weak symbol for driver.c): set-up before the first input, untimed. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The harness's directory (created on first use) and "dir/name" in it (static buffer). */
const char *fuzz_dir(void);
const char *fuzz_path(const char *name);
/* Write n bytes to dir/name; returns the path, or NULL (then the harness skips the input). */
const char *fuzz_write(const char *name, const void *data, size_t n);
/* Link (or copy) a file of the source tree into the directory as name; 0 or -1. */
int fuzz_link(const char *src, const char *name);
/* A file of the source tree: $SL_ROOT/rel if SL_ROOT is set, else rel (the tree's root is
 * the working directory for make fuzz and make check). */
const char *fuzz_src(const char *rel);
#endif
