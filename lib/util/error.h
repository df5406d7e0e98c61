/*
 * error.h - the one error type of libimgwatch.
 *
 * Every fallible call takes an `iw_error **err` as its last argument and
 * returns a negative value on failure, with *err set to an error that
 * carries a code callers can branch on and a message.  Each layer adds
 * context on the way up with iw_error_wrap(), so the final message reads
 * like "resolve app:1: HEAD manifest: HTTP 401".
 *
 * Ownership: *err belongs to the caller, who releases it with
 * iw_error_free() (which accepts NULL).  Setting an error when *err is
 * already set replaces the old one.
 */
#ifndef IW_UTIL_ERROR_H
#define IW_UTIL_ERROR_H

#include <stdarg.h>

typedef enum iw_code
{
  IW_OK = 0,
  IW_EINVAL,       /* invalid argument or usage */
  IW_EPARSE,       /* malformed input: reference, JSON, YAML, header */
  IW_ENOTFOUND,    /* the thing asked for does not exist (HTTP 404) */
  IW_EAUTH,        /* authentication or authorization refused */
  IW_ENET,         /* network: connect, DNS, reset */
  IW_ETLS,         /* TLS handshake or certificate verification */
  IW_ETIMEOUT,     /* deadline or low-speed limit hit */
  IW_ERATELIMIT,   /* HTTP 429 */
  IW_EINTEGRITY,   /* a body does not hash to the digest it should */
  IW_ETOOBIG,      /* a size cap was hit */
  IW_EPOLICY,      /* a policy or configuration error */
  IW_EUNSUPPORTED, /* a setting or format this build does not handle */
  IW_EIO,          /* local I/O: files, sockets, processes */
  IW_ESERVER,      /* the peer answered with an error (HTTP 5xx, ...) */
  IW_ENOMEM,       /* allocation failed */
} iw_code;

typedef struct iw_error iw_error;

/* Set *err (if err is not NULL) to a new error; always returns -1. */
int iw_error_set (iw_error **err, iw_code code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
int iw_error_setv (iw_error **err, iw_code code, const char *fmt, va_list ap);

/* Prefix the message of *err with "context: "; returns -1.  When *err is
 * NULL (a callee forgot to set it) an IW_EIO error with the context alone
 * is made, so no failure goes unexplained. */
int iw_error_wrap (iw_error **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The code of an error; IW_OK for NULL. */
iw_code iw_error_code (const iw_error *e);

/* The message of an error; "" for NULL.  Borrowed. */
const char *iw_error_msg (const iw_error *e);

/* A short stable name for a code ("auth", "tls", ...). */
const char *iw_code_name (iw_code code);

void iw_error_free (iw_error *e);

/* Free *err and set it to NULL. */
void iw_error_clear (iw_error **err);

#endif
