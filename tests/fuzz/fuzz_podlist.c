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
 *
 * Where a prefix ending in '}' leaves the parser at an item boundary (the
 * point a second thread may take a big file over from), a fresh parser
 * resumed at the next '{' must give the rest of the records and the same
 * verdict and message as the whole parse.
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

/* The split of manifest.c after each '}' (the first 16): the first part
 * up to k, the second from the '{' after a comma (skipped when what
 * follows is not that). */
static void
check_resume (const uint8_t *data, size_t size, int ra, size_t a, const char *ma)
{
  int tried = 0;

  for (size_t k = 1; k < size && tried < 16; k++)
    {
      size_t n1 = 0, n2 = 0, s = k;
      unsigned long long lines = 0;
      iw_kube_parser *p1, *p2;
      iw_error *err = NULL;
      int rc;

      if (data[k - 1] != '}')
        continue;
      tried++;
      p1 = iw_kube_parser_new ("fuzz", "fuzz", count, &n1);
      rc = iw_kube_parser_feed (p1, (const char *)data, k, &err);
      iw_error_free (err);
      err = NULL;
      if (rc < 0 || !iw_kube_parser_at_item_boundary (p1))
        {
          iw_kube_parser_free (p1);
          continue;
        }
      /* What may lie between: blanks, one comma, blanks, then '{'. */
      while (s < size && data[s] && strchr (" \t\r\n", data[s]))
        s++;
      if (s < size && data[s] == ',')
        s++;
      else
        s = size;
      while (s < size && data[s] && strchr (" \t\r\n", data[s]))
        s++;
      if (s >= size || data[s] != '{')
        {
          iw_kube_parser_free (p1);
          continue;
        }
      for (size_t i = 0; i < s; i++)
        lines += data[i] == '\n';
      p2 = iw_kube_parser_new ("fuzz", "fuzz", count, &n2);
      rc = iw_kube_parser_resume_items (p2, lines, s, &err);
      if (rc == 0)
        rc = iw_kube_parser_feed (p2, (const char *)data + s, size - s, &err);
      if (rc == 0)
        rc = iw_kube_parser_finish (p2, &err);
      if ((rc < 0) != (ra < 0))
        abort (); /* a different verdict */
      if (rc < 0 && strncmp (iw_error_msg (err), ma, 511) != 0)
        abort (); /* a different error, or line */
      if (rc == 0 && n1 + n2 != a)
        abort (); /* records lost or doubled */
      iw_error_free (err);
      iw_kube_parser_free (p1);
      iw_kube_parser_free (p2);
    }
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
  check_resume (data, size, ra, a, ma);
  return 0;
}
