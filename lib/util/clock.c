/*
 * clock.c - monotonic and CPU clocks.
 */
#include "util/clock.h"

#include <sys/resource.h>
#include <time.h>

int64_t
iw_clock_mono_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
iw_clock_mono (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
iw_clock_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
         + (double)ru.ru_stime.tv_usec / 1e6;
}
