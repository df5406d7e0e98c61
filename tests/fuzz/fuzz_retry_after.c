/*
 * fuzz_retry_after.c - Retry-After values (delta-seconds, HTTP-dates, unix
 * timestamps, and anything else a server may send).
 */
#include "registry/internal.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *v = iw_xstrndup ((const char *)data, size);
  long ms = -1;
  iw_error *err = NULL;

  if (iw_retry_after_parse (&ms, v, (time_t)1700000000, 60000, &err) == 0 && (ms < 0 || ms > 60000))
    abort ();
  iw_error_free (err);
  free (v);
  return 0;
}
