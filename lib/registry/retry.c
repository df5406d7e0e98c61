/*
 * retry.c - Retry-After (RFC 9110 10.2.3) as registries send it:
 * delta-seconds, an HTTP-date, or (some proxies) a unix timestamp.
 */
#include "registry/internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <string.h>

/* Integers at or above this are absolute unix times (2001-09-09), not
 * delays: nobody asks a client to wait 31 years. */
#define EPOCH_THRESHOLD 1000000000LL

static long
clamp_ms (long long seconds, long max_ms)
{
  if (seconds <= 0)
    return 0;
  if (seconds > max_ms / 1000)
    return max_ms;
  return (long)(seconds * 1000);
}

int
iw_retry_after_parse (long *out_ms, const char *value, time_t now, long max_ms, iw_error **err)
{
  const char *p = value, *end;
  char tmp[64];
  size_t n;
  time_t when;

  if (value == NULL)
    return iw_error_set (err, IW_EPARSE, "Retry-After: empty");
  while (*p == ' ' || *p == '\t')
    p++;
  end = p + strlen (p);
  while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
    end--;
  n = (size_t)(end - p);
  if (n == 0)
    return iw_error_set (err, IW_EPARSE, "Retry-After: empty");
  if (n >= sizeof tmp)
    return iw_error_set (err, IW_EPARSE, "Retry-After: too long");
  memcpy (tmp, p, n);
  tmp[n] = '\0';

  if (isdigit ((unsigned char)tmp[0]))
    {
      long long v = 0;
      size_t i;

      for (i = 0; i < n && isdigit ((unsigned char)tmp[i]); i++)
        if (v < EPOCH_THRESHOLD * 100)
          v = v * 10 + (tmp[i] - '0');
      if (i == n)
        {
          if (v >= EPOCH_THRESHOLD)
            v -= (long long)now;
          *out_ms = clamp_ms (v, max_ms);
          return 0;
        }
    }
  /* An HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime
   * forms; curl_getdate() reads all three.  A date needs letters. */
  for (size_t i = 0; i < n; i++)
    if (!isprint ((unsigned char)tmp[i]))
      return iw_error_set (err, IW_EPARSE, "Retry-After: not a delay or a date");
  if (!isalpha ((unsigned char)tmp[0]))
    return iw_error_set (err, IW_EPARSE, "Retry-After: not a delay or a date");
  when = curl_getdate (tmp, NULL);
  if (when == (time_t)-1)
    return iw_error_set (err, IW_EPARSE, "Retry-After: not a delay or a date");
  *out_ms = clamp_ms ((long long)when - (long long)now, max_ms);
  return 0;
}
