/*
 * driver.c — run a harness without libFuzzer, built with the normal compiler: every file
 * named on the command line (a directory: every file in it), or with no arguments the
 * harness's committed corpus and regression inputs, tests/fuzz/corpus/NAME/ and
 * tests/fuzz/regress/NAME/.  Each input that returns counts as a passed check; a crash
 * fails the whole binary, which tests/run reports.  Prints "N passed, 0 failed".
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME: the harness's name (corpus/NAME)"
#endif

static int n_run, n_bad;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "driver: %s: cannot open\n", path);
		n_bad++;
		return;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(n ? buf : NULL, n); /* as libFuzzer gives an empty input */
	free(buf);
	n_run++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, int optional)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (!optional) {
			fprintf(stderr, "driver: %s: not found\n", path);
			n_bad++;
		}
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		n_bad++;
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		snprintf(names[n++], len, "%s/%s", path, e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_path(argv[i], 0);
	} else {
		char p[512];
		snprintf(p, sizeof p, "%s", fuzz_src("tests/fuzz/corpus/" FUZZ_NAME));
		run_path(p, 0);
		snprintf(p, sizeof p, "%s", fuzz_src("tests/fuzz/regress/" FUZZ_NAME));
		run_path(p, 1);
	}
	printf("%d passed, %d failed\n", n_run, n_bad);
	return n_bad != 0;
}
