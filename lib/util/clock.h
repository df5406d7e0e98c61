/*
 * clock.h - the clocks imgwatch measures with: monotonic time for
 * deadlines and latencies, process CPU time for benchmarks and stats.
 */
#ifndef IW_UTIL_CLOCK_H
#define IW_UTIL_CLOCK_H

#include <stdint.h>

/* Monotonic time in milliseconds (CLOCK_MONOTONIC); only differences mean anything. */
int64_t iw_clock_mono_ms (void);

/* Monotonic time in seconds, with nanosecond resolution. */
double iw_clock_mono (void);

/* User plus system CPU time of this process, in seconds. */
double iw_clock_cpu (void);

#endif
