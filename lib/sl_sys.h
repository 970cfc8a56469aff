/*
 * sl_sys — small facts about the running process that tools report: a monotonic clock
 * and the peak resident set size.  sl-infer --stats prints them; the bench reads them too.
 */
#ifndef SL_SYS_H
#define SL_SYS_H

#include <stdint.h>

/* Seconds from an arbitrary fixed point (CLOCK_MONOTONIC). */
double sl_time_now(void);

/* Peak resident set size of this process in bytes (getrusage ru_maxrss), 0 if unknown. */
uint64_t sl_peak_rss(void);

#endif
