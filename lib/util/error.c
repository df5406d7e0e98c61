/*
 * error.c - the error type: a code plus a message with context.
 */
#include "util/error.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iw_error
{
  iw_code code;
  char *msg;
};

int
iw_error_setv (iw_error **err, iw_code code, const char *fmt, va_list ap)
{
  iw_error *e;

  if (err == NULL)
    return -1;
  e = iw_xmalloc (sizeof *e);
  e->code = code;
  e->msg = iw_xvasprintf (fmt, ap);
  iw_error_free (*err);
  *err = e;
  return -1;
}

int
iw_error_set (iw_error **err, iw_code code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  iw_error_setv (err, code, fmt, ap);
  va_end (ap);
  return -1;
}

int
iw_error_wrap (iw_error **err, const char *fmt, ...)
{
  va_list ap;
  char *ctx, *msg;

  if (err == NULL)
    return -1;
  va_start (ap, fmt);
  ctx = iw_xvasprintf (fmt, ap);
  va_end (ap);
  if (*err == NULL)
    {
      iw_error_set (err, IW_EIO, "%s", ctx);
      free (ctx);
      return -1;
    }
  msg = iw_xasprintf ("%s: %s", ctx, (*err)->msg);
  free (ctx);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

iw_code
iw_error_code (const iw_error *e)
{
  return e ? e->code : IW_OK;
}

const char *
iw_error_msg (const iw_error *e)
{
  return e ? e->msg : "";
}

const char *
iw_code_name (iw_code code)
{
  static const char *const names[] = {
    [IW_OK] = "ok",
    [IW_EINVAL] = "invalid",
    [IW_EPARSE] = "parse",
    [IW_ENOTFOUND] = "not-found",
    [IW_EAUTH] = "auth",
    [IW_ENET] = "network",
    [IW_ETLS] = "tls",
    [IW_ETIMEOUT] = "timeout",
    [IW_ERATELIMIT] = "rate-limit",
    [IW_EINTEGRITY] = "integrity",
    [IW_ETOOBIG] = "too-big",
    [IW_EPOLICY] = "policy",
    [IW_EUNSUPPORTED] = "unsupported",
    [IW_EIO] = "io",
    [IW_ESERVER] = "server",
    [IW_ENOMEM] = "no-memory",
  };

  if ((unsigned)code < sizeof names / sizeof names[0] && names[code])
    return names[code];
  return "unknown";
}

void
iw_error_free (iw_error *e)
{
  if (e == NULL)
    return;
  free (e->msg);
  free (e);
}

void
iw_error_clear (iw_error **err)
{
  if (err == NULL)
    return;
  iw_error_free (*err);
  *err = NULL;
}
