/*
 * fuzz_podlist.c - libFuzzer target for the streaming pod-list parser.
 *
 * Feeds the input to the object parser in two ways, whole and split at a
 * point chosen by the first byte, which must give the same records and
 * the same verdict: chunk boundaries must never change a result.  Every
 * record handed over must have a workload kind.
 */
#include "kube/kube.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
count (iw_record *r, void *userdata, iw_error **err)
{
  size_t *n = userdata;

  (void)err;
  if (r->workload_kind == NULL)
    abort ();
  (*n)++;
  iw_record_free (r);
  return 0;
}

static int
run (const uint8_t *data, size_t size, size_t split, size_t *n)
{
  iw_kube_parser *p = iw_kube_parser_new ("fuzz", "fuzz", count, n);
  iw_error *err = NULL;
  int rc;

  rc = iw_kube_parser_feed (p, (const char *)data, split, &err);
  if (rc == 0)
    rc = iw_kube_parser_feed (p, (const char *)data + split, size - split, &err);
  if (rc == 0)
    rc = iw_kube_parser_finish (p, &err);
  if ((rc < 0) != (err != NULL))
    abort ();
  iw_error_free (err);
  iw_kube_parser_free (p);
  return rc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t a = 0, b = 0;
  int ra, rb;

  ra = run (data, size, 0, &a);
  rb = run (data, size, size ? data[0] % size : 0, &b);
  if (ra != rb || (ra == 0 && a != b))
    abort ();
  return 0;
}
