/*
 * fuzz_podlist.c - libFuzzer target for the streaming pod-list parser.
 *
 * Feeds the input to the object parser in two ways, whole and split at a
 * point chosen by the first byte, which must give the same records and
 * the same verdict: chunk boundaries must never change a result.  Every
 * record handed over must have a workload kind.
 *
 * The parser squeezes indentation out before yajl reads it, so the input
 * is also parsed by yajl alone, as it is: invalid JSON must be rejected
 * at the same line, and valid JSON may only fail for nesting too deep.
 */
#include "kube/kube.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

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

/* yajl's own verdict on the raw input, with the line it fails at (0 when
 * valid). */
static unsigned long
yajl_error_line (const uint8_t *data, size_t size)
{
  yajl_handle h = yajl_alloc (NULL, NULL, NULL);
  unsigned long line = 0;
  size_t used = size;

  yajl_config (h, yajl_allow_multiple_values, 1);
  if (yajl_parse (h, data, size) != yajl_status_ok)
    {
      used = yajl_get_bytes_consumed (h);
      line = 1;
    }
  else if (yajl_complete_parse (h) != yajl_status_ok)
    line = 1;
  yajl_free (h);
  if (line)
    for (size_t i = 0; i < used && i < size; i++)
      line += data[i] == '\n';
  return line;
}

static int
run (const uint8_t *data, size_t size, size_t split, size_t *n, char *msg, size_t msg_len)
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
  if (err)
    snprintf (msg, msg_len, "%s", iw_error_msg (err));
  iw_error_free (err);
  iw_kube_parser_free (p);
  return rc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t a = 0, b = 0;
  char ma[512] = "", mb[512] = "", want[64];
  unsigned long line;
  int ra, rb;

  ra = run (data, size, 0, &a, ma, sizeof ma);
  rb = run (data, size, size ? data[0] % size : 0, &b, mb, sizeof mb);
  if (ra != rb || (ra == 0 && a != b))
    abort ();
  line = yajl_error_line (data, size);
  if (line && ra == 0)
    abort (); /* accepted what yajl rejects */
  if (!line && ra < 0 && strstr (ma, "invalid JSON"))
    abort (); /* rejected what yajl accepts */
  snprintf (want, sizeof want, "fuzz:%lu: invalid JSON", line);
  if (line && strstr (ma, "invalid JSON") && strncmp (ma, want, strlen (want)) != 0)
    abort (); /* not the line yajl stops at */
  return 0;
}
