/* fuzz_util.c — the temporary directory of fuzz.h. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static char path[512];
static char src[512];

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(fuzz_path(e->d_name));
	closedir(d);
	rmdir(dir);
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s/sl-fuzz.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(cleanup);
	}
	return dir;
}

const char *fuzz_path(const char *name)
{
	snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
	return path;
}

const char *fuzz_write(const char *name, const void *data, size_t n)
{
	const char *p = fuzz_path(name);
	FILE *f = fopen(p, "wb");

	if (!f)
		return NULL;
	if ((n && fwrite(data, 1, n, f) != n) | fclose(f))
		return NULL;
	return p;
}

const char *fuzz_src(const char *rel)
{
	const char *root = getenv("SL_ROOT");

	if (!root)
		return rel;
	snprintf(src, sizeof src, "%s/%s", root, rel);
	return src;
}

int fuzz_link(const char *from, const char *name)
{
	char abs[4096];

	if (!realpath(fuzz_src(from), abs))
		return -1;
	unlink(fuzz_path(name));
	return symlink(abs, fuzz_path(name));
}
