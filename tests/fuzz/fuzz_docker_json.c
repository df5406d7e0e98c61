/*
 * fuzz_docker_json.c - the Docker Engine answers (containers, then images,
 * separated by the first NUL byte) turned into records.
 */
#include "runtime/docker.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
drop (iw_record *rec, void *ud, iw_error **err)
{
  (void)ud;
  (void)err;
  iw_record_free (rec);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, 0, size);
  size_t n1 = nul ? (size_t)(nul - data) : size;
  iw_error *err = NULL;

  iw_docker_records_from_json ((const char *)data, n1, nul ? (const char *)nul + 1 : "[]",
                               nul ? size - n1 - 1 : 2, "docker:/fuzz", drop, NULL, &err);
  iw_error_free (err);
  return 0;
}
