/*
 * buf.c - bounded growable byte buffers.
 */
#include "util/buf.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
iw_buf_init (iw_buf *b, size_t max)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

static int
grow (iw_buf *b, size_t extra, iw_error **err)
{
  size_t need, cap;

  if (extra > b->max || b->len > b->max - extra)
    return iw_error_set (err, IW_ETOOBIG, "more than %zu bytes", b->max);
  need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
  b->data = iw_xrealloc (b->data, cap);
  b->cap = cap;
  return 0;
}

int
iw_buf_append (iw_buf *b, const void *p, size_t n, iw_error **err)
{
  if (grow (b, n, err) < 0)
    return -1;
  if (n)
    memcpy (b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int
iw_buf_appends (iw_buf *b, const char *s, iw_error **err)
{
  return iw_buf_append (b, s, strlen (s), err);
}

int
iw_buf_appendc (iw_buf *b, char c, iw_error **err)
{
  return iw_buf_append (b, &c, 1, err);
}

int
iw_buf_printf (iw_buf *b, iw_error **err, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0)
    return iw_error_set (err, IW_EINVAL, "unformattable text");
  if (grow (b, (size_t)n, err) < 0)
    return -1;
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t)n;
  return 0;
}

const char *
iw_buf_cstr (const iw_buf *b)
{
  return b->data ? b->data : "";
}

void
iw_buf_reset (iw_buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

char *
iw_buf_take (iw_buf *b)
{
  char *p = b->data ? b->data : iw_xstrdup ("");

  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}

void
iw_buf_free (iw_buf *b)
{
  if (b == NULL)
    return;
  free (b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}
