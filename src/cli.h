/*
 * cli.h - what the subcommands of the imgwatch tool share.
 *
 * Each subcommand lives in its own file (src/cmd_<name>.c) and exports one
 * `const iw_command iw_cmd_<name>`.  Only this layer prints to stdout and
 * chooses exit codes; the library reports errors through iw_error.
 */
#ifndef IW_SRC_CLI_H
#define IW_SRC_CLI_H

#include "util/error.h"

#include <stdio.h>

/* Exit codes shared by all subcommands (see docs/imgwatch.1). */
enum
{
  IW_EXIT_OK = 0,
  IW_EXIT_FINDINGS = 1,    /* assess: findings at/above --fail-on; resolve: some failed */
  IW_EXIT_USAGE = 2,       /* usage, config or input error */
  IW_EXIT_UNAVAILABLE = 3, /* could not run: cluster/runtime unreachable */
};

typedef struct iw_command
{
  const char *name;
  const char *summary;                /* one line for `imgwatch --help` */
  const char *usage;                  /* full help text for `imgwatch help NAME` */
  int (*run) (int argc, char **argv); /* argv[0] is the subcommand name */
} iw_command;

/* Print an error line "imgwatch NAME: message" to stderr. */
void iw_cli_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Print the usage of cmd to f. */
void iw_cli_usage (const iw_command *cmd, FILE *f);

/* True when f is a terminal and NO_COLOR is unset. */
int iw_cli_color (FILE *f);

/* The words a person reads first for a registry failure code:
 * "not found", "authentication failed", "TLS error", ... */
const char *iw_cli_reason (iw_code code);

/* Parse a duration: a whole number of seconds, or with a unit s, m, h or d
 * ("30", "30s", "5m", "1h", "90d").  Returns seconds, or -1 when s is not
 * one; callers check their own bounds. */
long iw_cli_parse_duration (const char *s);

/* The exit code for a source that could not be read: IW_EXIT_UNAVAILABLE
 * when it could not be reached (network, TLS, timeout, auth, server
 * error), IW_EXIT_USAGE for bad input or configuration. */
int iw_cli_exit_for_source_error (const iw_error *e);

#endif
