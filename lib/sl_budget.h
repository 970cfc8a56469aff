/*
 * sl_budget — memory budgets: sizes as people write them, the memory this process may use
 * (its cgroup's limit, else MemAvailable), and the device profiles of the plan.
 */
#ifndef SL_BUDGET_H
#define SL_BUDGET_H

#include <stdint.h>

/*
 * "800M", "1.2G", "600MB", "123456": K, M, G are powers of 1024 (KiB, MiB, GiB) and KB, MB,
 * GB powers of 1000, as dd(1) reads them; a plain number is bytes.  0, or -1 if s is not a
 * size (nothing is written to *out then).
 */
int sl_parse_size(const char *s, uint64_t *out);

/*
 * What this process may use: its memory cgroup's limit (v2 memory.max, v1
 * memory.limit_in_bytes, if one is set) less what other processes in the cgroup use, else
 * the system's MemAvailable.  0 if neither can be read.  *source (if not NULL) names which.
 */
uint64_t sl_mem_available(const char **source);

/* This process's resident set now (bytes; 0 if unknown). */
uint64_t sl_rss_now(void);

/* Online cores. */
int sl_cores(void);

typedef struct {
	const char *name;        /* "low", "mid", "high" */
	uint64_t budget;         /* bytes: the plan's 600 MB, 800 MB, 1200 MB */
	int threads;             /* at most this many (the cores if fewer) */
	uint32_t kv_type;        /* SL_Q8_0 or SL_F16 */
	int ring;                /* layer buffers of the streaming provider: read-ahead depth */
} sl_profile;

/* The profile of that name, or NULL. */
const sl_profile *sl_profile_get(const char *name);

/*
 * The profile for a machine that gives this process `avail` bytes (sl_mem_available): the
 * largest whose budget fits, else "low".
 */
const sl_profile *sl_profile_for(uint64_t avail);

#endif
