/*
 * log.h - levelled logging to stderr, as text or JSON lines.
 *
 * The library logs only through these calls and never to stdout.  Text
 * lines look like "imgwatch: warn: message"; JSON lines are
 * {"time":"...","level":"warn","msg":"..."}.  Never pass a credential to
 * a log call: use iw_log_redact_url() for URLs that may carry userinfo.
 */
#ifndef IW_UTIL_LOG_H
#define IW_UTIL_LOG_H

typedef enum iw_log_level
{
  IW_LOG_ERROR = 0,
  IW_LOG_WARN,
  IW_LOG_INFO,
  IW_LOG_DEBUG,
  IW_LOG_TRACE,
} iw_log_level;

typedef enum iw_log_format
{
  IW_LOG_TEXT = 0,
  IW_LOG_JSON,
} iw_log_format;

void iw_log_setup (iw_log_level level, iw_log_format format);
iw_log_level iw_log_get_level (void);
int iw_log_enabled (iw_log_level level);

/* Parse "error", "warn", "info", "debug", "trace"; -1 when unknown. */
int iw_log_level_parse (const char *s);

void iw_log (iw_log_level level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define iw_log_error(...) iw_log (IW_LOG_ERROR, __VA_ARGS__)
#define iw_log_warn(...) iw_log (IW_LOG_WARN, __VA_ARGS__)
#define iw_log_info(...) iw_log (IW_LOG_INFO, __VA_ARGS__)
#define iw_log_debug(...) iw_log (IW_LOG_DEBUG, __VA_ARGS__)

/* A copy of url with any "user:password@" replaced by "***@"; caller frees. */
char *iw_log_redact_url (const char *url);

#endif
