/*
 * sl_budget — sizes, the memory available to this process, device profiles (sl_budget.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_budget.h"
#include "sl_types.h"

int sl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v, mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (*end) {
		const char *units = "KMGT";
		const char *u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -1;
		int k = (int)(u - units) + 1;
		if (end[1] == '\0')
			mul = pow(1024, k);
		else if ((end[1] == 'B' || end[1] == 'b') && end[2] == '\0')
			mul = pow(1000, k);
		else if ((end[1] == 'i' || end[1] == 'I') && (end[2] == 'B' || end[2] == 'b') && end[3] == '\0')
			mul = pow(1024, k);
		else
			return -1;
	}
	v *= mul;
	if (!(v >= 1) || v > 9.0e18)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* The first number in a file, or 0 ("max", missing). */
static uint64_t read_u64(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* This process's cgroup path for a controller ("memory" for v1, "" for the v2 line "0::"). */
static int cgroup_path(const char *controller, char *buf, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = '\0';
		if (*controller ? strstr(a + 1, controller) != NULL : a[1] == '\0') {
			b[strcspn(b + 1, "\n") + 1] = '\0';
			snprintf(buf, n, "%s", b + 1);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

uint64_t sl_rss_now(void)
{
	uint64_t rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		unsigned long long size, res;
		if (fscanf(f, "%llu %llu", &size, &res) == 2)
			rss = res * (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	return rss;
}

/* Limit less usage by others: what is ours to use under a limit of `limit` with `usage` charged. */
static uint64_t under_limit(uint64_t limit, uint64_t usage)
{
	uint64_t rss = sl_rss_now(), mine;

	mine = rss < usage ? rss : usage;
	return limit > usage - mine ? limit - (usage - mine) : 0;
}

uint64_t sl_mem_available(const char **source)
{
	char path[1200], cg[1024];
	uint64_t limit;

	if (cgroup_path("", cg, sizeof cg)) {
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", cg);
		limit = read_u64(path);
		if (limit) {
			snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", cg);
			if (source)
				*source = "cgroup v2 memory.max";
			return under_limit(limit, read_u64(path));
		}
	}
	if (cgroup_path("memory", cg, sizeof cg)) {
		snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", cg);
		limit = read_u64(path);
		if (limit && limit < ((uint64_t)1 << 62)) { /* no limit reads as 2^63 rounded to pages */
			snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", cg);
			if (source)
				*source = "cgroup v1 memory.limit_in_bytes";
			return under_limit(limit, read_u64(path));
		}
	}
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (source)
		*source = kb ? "MemAvailable" : "nothing (no cgroup limit, no /proc/meminfo)";
	return (uint64_t)kb * 1024;
}

int sl_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static const sl_profile profiles[] = {
	{ "low", 600000000, 2, SL_Q8_0, 2 },
	{ "mid", 800000000, 4, SL_Q8_0, 2 },
	{ "high", 1200000000, 64, SL_F16, 3 },
};

const sl_profile *sl_profile_get(const char *name)
{
	for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const sl_profile *sl_profile_for(uint64_t avail)
{
	const sl_profile *best = &profiles[0];

	for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
		if (profiles[i].budget <= avail)
			best = &profiles[i];
	return best;
}
