/*
 * log.c - levelled logging to stderr, as text or JSON lines.
 */
#include "util/log.h"
#include "util/json.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static iw_log_level log_level = IW_LOG_WARN;
static iw_log_format log_format = IW_LOG_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

void
iw_log_setup (iw_log_level level, iw_log_format format)
{
  log_level = level;
  log_format = format;
}

iw_log_level
iw_log_get_level (void)
{
  return log_level;
}

int
iw_log_enabled (iw_log_level level)
{
  return level <= log_level;
}

int
iw_log_level_parse (const char *s)
{
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcasecmp (s, level_names[i]) == 0)
      return (int)i;
  if (strcasecmp (s, "warning") == 0)
    return IW_LOG_WARN;
  return -1;
}

void
iw_log (iw_log_level level, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  if (!iw_log_enabled (level))
    return;
  va_start (ap, fmt);
  msg = iw_xvasprintf (fmt, ap);
  va_end (ap);
  if (log_format == IW_LOG_JSON)
    {
      char ts[32];
      time_t now = time (NULL);
      struct tm tm;
      char *q = iw_json_quote (msg);

      gmtime_r (&now, &tm);
      strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
      fprintf (stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":%s}\n", ts, level_names[level], q);
      free (q);
    }
  else
    fprintf (stderr, "imgwatch: %s: %s\n", level_names[level], msg);
  free (msg);
}

char *
iw_log_redact_url (const char *url)
{
  const char *scheme = strstr (url, "://");
  const char *start = scheme ? scheme + 3 : url;
  size_t hostlen = strcspn (start, "/?#");
  const char *at = memchr (start, '@', hostlen);

  if (at == NULL)
    return iw_xstrdup (url);
  return iw_xasprintf ("%.*s***%s", (int)(start - url), url, at);
}
