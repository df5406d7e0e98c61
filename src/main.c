/*
 * main.c - the imgwatch command: global options and subcommand dispatch.
 */
#include "cli.h"
#include "commands.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef IW_VERSION
#define IW_VERSION "0.0.0-dev"
#endif

static const iw_command *const commands[] = { IW_COMMAND_LIST };

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
usage (FILE *f)
{
  fprintf (f, "imgwatch - prove every running container is the image the trusted registry holds\n"
              "\n"
              "Usage: imgwatch [--log-level LEVEL] [--log-format text|json] COMMAND [ARGS...]\n"
              "\n"
              "Commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf (f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
  fprintf (f, "  %-14s %s\n", "help", "show help for a command");
  fprintf (f, "  %-14s %s\n", "version", "print the version");
  fprintf (f, "\n"
              "Global options:\n"
              "  --log-level LEVEL    error, warn (default), info, debug, trace\n"
              "  --log-format FORMAT  text (default) or json lines on stderr\n"
              "  -h, --help           show this help\n"
              "  --version            print the version\n"
              "\n"
              "Run 'imgwatch help COMMAND' for a command's options.\n");
}

static const iw_command *
find_command (const char *name)
{
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp (commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

/* Optimal string alignment distance, for "did you mean". */
static size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  size_t d[32][32];

  if (la >= 32 || lb >= 32)
    return 99;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++)
      {
        size_t cost = a[i - 1] != b[j - 1];
        size_t v = d[i - 1][j] + 1;

        if (d[i][j - 1] + 1 < v)
          v = d[i][j - 1] + 1;
        if (d[i - 1][j - 1] + cost < v)
          v = d[i - 1][j - 1] + cost;
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
          v = d[i - 2][j - 2] + 1;
        d[i][j] = v;
      }
  return d[la][lb];
}

static const char *
suggest (const char *name)
{
  const char *best = NULL;
  size_t best_d = 3;

  for (size_t i = 0; i < N_COMMANDS; i++)
    {
      size_t d = edit_distance (name, commands[i]->name);

      if (d < best_d
          || (strncmp (name, commands[i]->name, strlen (name)) == 0 && strlen (name) >= 2 && d < 99))
        {
          best_d = d < best_d ? d : best_d;
          best = commands[i]->name;
        }
    }
  return best;
}

static int
unknown_command (const char *name)
{
  const char *s = suggest (name);

  iw_cli_error (NULL, "unknown command \"%s\"", name);
  if (s)
    fprintf (stderr, "\nDid you mean this?\n\t%s\n", s);
  fprintf (stderr, "Run 'imgwatch --help' for usage.\n");
  return IW_EXIT_USAGE;
}

static int
help_command (int argc, char **argv)
{
  const iw_command *cmd;

  if (argc < 2)
    {
      usage (stdout);
      return IW_EXIT_OK;
    }
  if (strcmp (argv[1], "help") == 0 || strcmp (argv[1], "version") == 0)
    {
      usage (stdout);
      return IW_EXIT_OK;
    }
  cmd = find_command (argv[1]);
  if (cmd == NULL)
    return unknown_command (argv[1]);
  iw_cli_usage (cmd, stdout);
  return IW_EXIT_OK;
}

int
main (int argc, char **argv)
{
  int i = 1;
  iw_log_level level = IW_LOG_WARN;
  iw_log_format format = IW_LOG_TEXT;
  const char *env_level = getenv ("IMGWATCH_LOG_LEVEL");
  const iw_command *cmd;

  if (env_level && iw_log_level_parse (env_level) >= 0)
    level = (iw_log_level)iw_log_level_parse (env_level);
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];

      if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          usage (stdout);
          return IW_EXIT_OK;
        }
      if (strcmp (a, "--version") == 0)
        {
          printf ("imgwatch %s\n", IW_VERSION);
          return IW_EXIT_OK;
        }
      if (strcmp (a, "--log-level") == 0 || strcmp (a, "--log-format") == 0)
        {
          const char *v = i + 1 < argc ? argv[i + 1] : NULL;

          if (v == NULL)
            {
              iw_cli_error (NULL, "%s needs a value", a);
              return IW_EXIT_USAGE;
            }
          if (a[6] == 'l')
            {
              int l = iw_log_level_parse (v);

              if (l < 0)
                {
                  iw_cli_error (NULL, "unknown log level \"%s\" (error, warn, info, debug, trace)", v);
                  return IW_EXIT_USAGE;
                }
              level = (iw_log_level)l;
            }
          else if (strcmp (v, "json") == 0)
            format = IW_LOG_JSON;
          else if (strcmp (v, "text") == 0)
            format = IW_LOG_TEXT;
          else
            {
              iw_cli_error (NULL, "unknown log format \"%s\" (text, json)", v);
              return IW_EXIT_USAGE;
            }
          i++;
          continue;
        }
      iw_cli_error (NULL, "unknown option \"%s\"", a);
      fprintf (stderr, "Run 'imgwatch --help' for usage.\n");
      return IW_EXIT_USAGE;
    }
  iw_log_setup (level, format);
  if (i >= argc)
    {
      usage (stderr);
      return IW_EXIT_USAGE;
    }
  if (strcmp (argv[i], "help") == 0)
    return help_command (argc - i, argv + i);
  if (strcmp (argv[i], "version") == 0)
    {
      printf ("imgwatch %s\n", IW_VERSION);
      return IW_EXIT_OK;
    }
  cmd = find_command (argv[i]);
  if (cmd == NULL)
    return unknown_command (argv[i]);
  for (int j = i + 1; j < argc; j++)
    {
      if (strcmp (argv[j], "--") == 0)
        break;
      if (strcmp (argv[j], "-h") == 0 || strcmp (argv[j], "--help") == 0)
        {
          iw_cli_usage (cmd, stdout);
          return IW_EXIT_OK;
        }
    }
  return cmd->run (argc - i, argv + i);
}
