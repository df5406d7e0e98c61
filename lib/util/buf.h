/*
 * buf.h - bounded growable byte buffers.
 *
 * Every buffer filled from outside the process (network bodies, headers,
 * files, child processes) carries a cap, like curl's dynbuf: an append that
 * would grow it past `max` fails with IW_ETOOBIG and leaves the buffer as
 * it was.  The content is always NUL-terminated (the NUL is not counted in
 * len), so text can be read with iw_buf_cstr().
 *
 *   iw_buf b = IW_BUF_INIT (IW_MANIFEST_MAX);
 *   if (iw_buf_append (&b, p, n, err) < 0) ...
 *   char *owned = iw_buf_take (&b);   caller frees
 */
#ifndef IW_UTIL_BUF_H
#define IW_UTIL_BUF_H

#include "util/error.h"

#include <stddef.h>

#define IW_KIB ((size_t)1024)
#define IW_MIB (1024 * IW_KIB)

/* Caps for things read from outside. */
#define IW_MANIFEST_MAX (4 * IW_MIB)
#define IW_SMALL_BODY_MAX (64 * IW_KIB) /* error and token bodies */
#define IW_HEADER_MAX (64 * IW_KIB)

typedef struct iw_buf
{
  char *data;
  size_t len;
  size_t cap;
  size_t max; /* hard cap on len */
} iw_buf;

#define IW_BUF_INIT(max_)                                                                                    \
  {                                                                                                          \
    NULL, 0, 0, (max_)                                                                                       \
  }

void iw_buf_init (iw_buf *b, size_t max);
int iw_buf_append (iw_buf *b, const void *p, size_t n, iw_error **err);
int iw_buf_appends (iw_buf *b, const char *s, iw_error **err);
int iw_buf_appendc (iw_buf *b, char c, iw_error **err);
int iw_buf_printf (iw_buf *b, iw_error **err, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Never NULL: "" for an empty buffer.  Borrowed. */
const char *iw_buf_cstr (const iw_buf *b);

/* Empty the buffer, keeping its memory and cap. */
void iw_buf_reset (iw_buf *b);

/* Hand the NUL-terminated content to the caller (never NULL) and reset. */
char *iw_buf_take (iw_buf *b);

void iw_buf_free (iw_buf *b);

#endif
