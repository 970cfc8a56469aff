/*
 * sl_cli — what the programs share and the library must not have (build/libslcli.a):
 * diagnostics with the program name, exit codes, option errors, atomic output files and
 * their signal cleanup, where the default model lives, and a progress line.
 *
 * lib/ (libsl.a) never prints, exits, installs signal handlers or asks where the program
 * is, so that it builds anywhere (the browser too); these functions do, for the tools.
 * Exit codes, as documented in every man page: 0 success, 1 runtime failure (bad input,
 * corrupt file, I/O), 2 usage error.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sl_err.h"

#ifndef SL_VERSION
#define SL_VERSION "0.0.0"
#endif

enum { SL_EXIT_OK = 0, SL_EXIT_FAIL = 1, SL_EXIT_USAGE = 2 };

/*
 * Set the program name used as the prefix of every message ("sl-tok"), and check at exit
 * that stdout was written (an exit(0) whose output was lost becomes exit 1 with a message).
 * SIGPIPE is set to its default, so a closed pipe ends the program silently (status 141).
 */
void sl_cli_init(const char *progname);
const char *sl_progname(void);

/* "prog: message\n" on stderr, then exit(1).  sl_die_lib prints sl_error(). */
_Noreturn void sl_die(const char *fmt, ...) SL_PRINTF(1, 2);
_Noreturn void sl_die_lib(void);
void sl_warn(const char *fmt, ...) SL_PRINTF(1, 2);

/* Bad usage: "prog: message\nusage: ...\nTry 'prog --help' for more information.\n", exit 2. */
_Noreturn void sl_usage_error(const char *usage, const char *fmt, ...) SL_PRINTF(2, 3);

/*
 * The usage error for what getopt_long() returned in c, called from the default case of the
 * option switch.  Needs opterr = 0 and an optstring starting with ':' (so a missing argument
 * returns ':').  Prints "unrecognized option '--x'", "invalid option -- 'x'", "option
 * requires an argument -- 'x'" or "option '--x' requires an argument", then the usage; exit 2.
 */
_Noreturn void sl_bad_option(const char *usage, int c, char *const argv[]);

/* Print "prog VERSION" on stdout and exit 0. */
_Noreturn void sl_version(void);

/* Flush and close stdout; die with "stdout: <strerror>" if that fails.  Call before exit(0). */
void sl_close_stdout(void);

/* Parse a whole decimal/float option value or die with a usage error naming the option. */
long long sl_opt_int(const char *usage, const char *opt, const char *arg, long long min, long long max);
double sl_opt_double(const char *usage, const char *opt, const char *arg, double min, double max);

/*
 * Atomic output.  sl_out_open() creates "<path>.tmp.XXXXXX" beside path (so rename() stays on one
 * file system) and arranges for it to be unlinked on exit, SIGINT, SIGTERM or SIGHUP unless it is
 * committed.  sl_out_commit() flushes, fsyncs, closes and renames it over path.  Only one output
 * file may be open at a time.  Both die on failure.
 */
FILE *sl_out_open(const char *path);
void sl_out_commit(void);
void sl_out_abort(void);

/*
 * Atomic output directory, the same way (sl-chunk).  sl_outdir_open() creates
 * "<dir>.tmp.XXXXXX" beside dir and returns its path; sl_outdir_file() creates a file in it
 * (mode 0644) and sl_outdir_close() flushes, fsyncs and closes that file.  Until
 * sl_outdir_commit(), exit or SIGINT/SIGTERM/SIGHUP removes the files and the directory.
 * sl_outdir_commit() syncs the directory and renames it to dir; a dir that already exists is
 * swapped out atomically (renameat2 RENAME_EXCHANGE), then the files of it named in old_names
 * (NULL-terminated; the caller's own earlier output) are removed, and the directory if that
 * empties it (else a warning says where the rest is).  Only one at a time.  All die on failure.
 */
const char *sl_outdir_open(const char *dir);
FILE *sl_outdir_file(const char *name);
void sl_outdir_close(FILE *f, const char *name);
void sl_outdir_commit(const char *const *old_names);

/*
 * An output written in place, not through sl_out_open (sl-infer --logits, --probs, --kld-base:
 * a fifo or /dev/stdout must work too): if path is a regular file (not a symlink), it is
 * removed when the program fails (sl_die) or is ended by SIGINT, SIGTERM, SIGHUP or SIGBUS,
 * so that nothing half-written is left.  Up to 4 paths.
 */
void sl_out_remove_on_failure(const char *path);

/*
 * path is mapped: if it shrinks while in use (SIGBUS on a page past its new end), print
 * "prog: path: the file changed or was truncated while in use", remove any output in progress
 * and exit 1 instead of dumping core.  One path at a time (the last call wins).
 */
void sl_cli_on_sigbus(const char *path);

/*
 * The model a tool uses when none is named: $SL_MODEL if set, else the embedded default model,
 * stories260K, found beside the program (../models/ in the build tree, ../share/sl/ installed).
 * Prefers the GGUF (built by make) and falls back to the HF directory.  Returns a static string
 * or dies saying where it looked.
 */
const char *sl_default_model(void);

/*
 * A progress line on stderr for long work ("sl-quant: tensor 12 of 273, 512.0 of 3400.0 MiB,
 * 85.3 MB/s"), shown only when stderr is a terminal and redrawn in place at most ten times a
 * second.  sl_progress_update() takes the number of items finished or begun (1-based) and
 * the bytes done so far; sl_progress_end() erases the line.  Messages printed by sl_die and
 * sl_warn erase it first; other output on stderr should call sl_progress_clear() (the next
 * update draws it again).  When stderr is not a terminal all of these do nothing.
 */
void sl_progress_start(const char *item, uint64_t total_items, uint64_t total_bytes);
void sl_progress_update(uint64_t item, uint64_t bytes);
void sl_progress_clear(void);
void sl_progress_end(void);

#endif
