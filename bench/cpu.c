/*
 * cpu — which processor a bench ran on, and how fast its core runs right now.
 *
 * A VM can be moved to another kind of host between runs: this project's machines were
 * AMD EPYC (Zen 5) and were later found to be Intel Xeon, with the same core count and the
 * flags the kernel sets look at, so sl-infer chose the same kernels, ran at half the speed,
 * and the notes took it for a slowed host (bench/NOTES.md, stop 30).  The kernels' costs
 * differ between the two (a Zen 5 core has four 512-bit pipes, a Xeon core two), so each
 * figure needs its processor beside it.
 *
 * Prints one line:
 *   cpu <vendor> family <f> model <m> "<model name>" L2 <KiB> L3 <KiB> <GHz> GHz [flags]
 * GHz is a chain of 80 M dependent 64-bit multiplies (3 cycles each on both vendors'
 * cores, 0.1 s at 2.4 GHz), the best of 5: the clock the core gives this program, steal
 * included.
 * The flags are the ones that choose or would choose a kernel set: avx2 fma f16c
 * avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx_vnni amx_int8, as /proc/cpuinfo
 * spells them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* The value of "key\t: value" in the first processor's block of /proc/cpuinfo, or "?" */
static void cpuinfo(const char *key, char *out, size_t n)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	snprintf(out, n, "?");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '\n')
			break;
		size_t k = strlen(key);
		if (strncmp(line, key, k))
			continue;
		const char *v = line + k + strspn(line + k, " \t"); /* "model" is not "model name" */
		if (*v != ':')
			continue;
		v += 1 + (v[1] == ' ');
		snprintf(out, n, "%.*s", (int)strcspn(v, "\n"), v);
		break;
	}
	fclose(f);
}

/* Size in KiB of the cache of `level` (2 or 3) that cpu0 sees, from sysfs, or 0 */
static long cache_kib(int level)
{
	for (int i = 0; i < 8; i++) {
		char path[128], buf[64];
		snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
		FILE *f = fopen(path, "r");
		if (!f)
			break;
		int lv = fgets(buf, sizeof buf, f) ? atoi(buf) : 0;
		fclose(f);
		if (lv != level)
			continue;
		snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		if (!(f = fopen(path, "r")))
			return 0;
		long kib = fgets(buf, sizeof buf, f) ? atol(buf) : 0; /* "2048K" */
		fclose(f);
		return kib;
	}
	return 0;
}

/* The core's clock in GHz from a chain of dependent multiplies, or 0 off x86-64 */
static double clock_ghz(void)
{
#if defined(__x86_64__)
	double best = 1e30;
	const long n = 20000000; /* four multiplies each */
	for (int r = 0; r < 5; r++) {
		unsigned long x = 3;
		double t0 = now();
		for (long i = 0; i < n; i++)
			__asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0" : "+r"(x));
		double dt = now() - t0;
		if (dt < best)
			best = dt;
	}
	return (double)n * 4 * 3 / best * 1e-9;
#else
	return 0;
#endif
}

int main(void)
{
	static const char *const want[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
					   "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8"};
	char vendor[64], family[16], model[16], name[256], flags[4096];
	cpuinfo("vendor_id", vendor, sizeof vendor);
	cpuinfo("cpu family", family, sizeof family);
	cpuinfo("model", model, sizeof model);
	cpuinfo("model name", name, sizeof name);
	cpuinfo("flags", flags, sizeof flags);
	printf("cpu %s family %s model %s \"%s\" L2 %ld L3 %ld %.2f GHz", vendor, family, model, name,
	       cache_kib(2), cache_kib(3), clock_ghz());
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		/* whole words of the space-separated list */
		size_t k = strlen(want[i]);
		for (const char *p = flags; (p = strstr(p, want[i])); p += k)
			if ((p == flags || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0')) {
				printf(" %s", want[i]);
				break;
			}
	}
	printf("\n");
	return 0;
}
