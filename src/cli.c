/*
 * cli.c - what the subcommands share: error lines, usage, colour, the
 * words for registry failures, durations, and exit codes for errors.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
iw_cli_error (const char *cmd, const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "imgwatch%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

void
iw_cli_usage (const iw_command *cmd, FILE *f)
{
  fputs (cmd->usage, f);
}

int
iw_cli_color (FILE *f)
{
  const char *nc = getenv ("NO_COLOR");

  if (nc && *nc)
    return 0;
  return isatty (fileno (f));
}

const char *
iw_cli_reason (iw_code code)
{
  switch (code)
    {
    case IW_ENOTFOUND:
      return "not found";
    case IW_EAUTH:
      return "authentication failed";
    case IW_ETLS:
      return "TLS error";
    case IW_ERATELIMIT:
      return "rate-limited";
    case IW_EINTEGRITY:
      return "integrity check failed";
    case IW_ETIMEOUT:
      return "timed out";
    case IW_ENET:
      return "network error";
    case IW_ESERVER:
      return "registry error";
    case IW_ETOOBIG:
      return "response too large";
    case IW_EPARSE:
      return "invalid response";
    default:
      return iw_code_name (code);
    }
}

long
iw_cli_parse_duration (const char *s)
{
  static const struct
  {
    char unit;
    long seconds;
  } units[] = { { '\0', 1 }, { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || v < 0 || (*end && end[1]))
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (*end == units[i].unit)
      return v > LONG_MAX / units[i].seconds ? -1 : v * units[i].seconds;
  return -1;
}

int
iw_cli_exit_for_source_error (const iw_error *e)
{
  switch (iw_error_code (e))
    {
    case IW_ENET:
    case IW_ETLS:
    case IW_ETIMEOUT:
    case IW_EAUTH:
    case IW_ESERVER:
      return IW_EXIT_UNAVAILABLE;
    default:
      return IW_EXIT_USAGE;
    }
}
