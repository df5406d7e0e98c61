/*
 * cmd_ref.c - `imgwatch ref`: parse image references and show their parts.
 *
 * A window onto lib/ref: for each reference, its canonical and familiar
 * forms, registry, API host, repository, tag and digest, as an aligned
 * text block or as JSON.  Invalid references get one error line each on
 * stderr and make the exit status 2; the valid ones are still printed.
 */
#include "cli.h"
#include "ref/ref.h"
#include "util/buf.h"
#include "util/error.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A line of standard input longer than this is an error, not a reference. */
#define LINE_MAX_BYTES (64 * IW_KIB)

static const char usage[]
    = "Usage: imgwatch ref [-o text|json] REF...\n"
      "       imgwatch ref [-o text|json] -\n"
      "\n"
      "Parse container image references as Docker does and print the parts of\n"
      "each: the canonical (fully qualified) form, the familiar (short) form, the\n"
      "registry and the host that serves its API, the repository path, the tag\n"
      "and the digest.  Nothing is fetched; this shows what imgwatch, Docker,\n"
      "containerd and Kubernetes make of an image name.\n"
      "\n"
      "Arguments:\n"
      "  REF                  [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]\n"
      "  -                    read references from standard input, one per line;\n"
      "                       surrounding blanks are ignored, and so are empty\n"
      "                       lines and lines starting with '#'\n"
      "\n"
      "Options:\n"
      "  -o, --output FORMAT  text (default) or json\n"
      "  -h, --help           show this help\n"
      "\n"
      "Rules:\n"
      "  The first component is a registry only when it contains '.' or ':' or is\n"
      "  'localhost' (an IPv6 host is written in brackets: [::1]:5000/app).\n"
      "  Anything else is on Docker Hub: 'docker.io', served by\n"
      "  registry-1.docker.io, where a one-component name gains 'library/'; so\n"
      "  nginx, library/nginx, docker.io/nginx and index.docker.io/library/nginx\n"
      "  are all docker.io/library/nginx.  Without tag or digest the tag is an\n"
      "  implicit 'latest'.  With both a tag and a digest both are kept, and the\n"
      "  digest is what identifies the image.  Repository names are lowercase, at\n"
      "  most 255 characters; tags match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};\n"
      "  digests are sha256:<64 hex> or sha512:<128 hex>, lowercase.  A bare\n"
      "  64-hex string (or sha256:<64 hex>) is an image ID, not a reference.\n"
      "\n"
      "Output:\n"
      "  text  one block per reference, one 'field value' pair per line, blocks\n"
      "        separated by an empty line; the fields are input, canonical,\n"
      "        familiar, registry, api-host, repository, tag (followed by\n"
      "        '(implicit)' when implied) and digest; '-' marks an absent value.\n"
      "  json  one JSON array with an object per valid reference, one object per\n"
      "        line: input, canonical, familiar, registry, apiHost, repository,\n"
      "        tag, digest (null when absent) and implicitTag (true or false).\n"
      "\n"
      "Exit status:\n"
      "  0  every reference is valid\n"
      "  2  a reference is invalid (one line on stderr for each, the valid ones\n"
      "     are still printed), standard input could not be read, or bad usage\n"
      "\n"
      "Errors name the part that is wrong, for example:\n"
      "  imgwatch ref: invalid reference \"Docker/app\": repository name must be lowercase\n"
      "\n"
      "Examples:\n"
      "  imgwatch ref nginx\n"
      "  imgwatch ref localhost:5000/team/app:1.2 | awk '$1 == \"registry\" {print $2}'\n"
      "  imgwatch ref -o json 'ghcr.io/o/app:v1@sha256:<64 hex>' | jq -r '.[].digest'\n"
      "  kubectl get pods -A -o jsonpath='{..image}' | tr ' ' '\\n' | imgwatch ref -o json -\n"
      "\n"
      "See docs/reference.md for the whole grammar.\n";

typedef enum
{
  OUT_TEXT,
  OUT_JSON,
} out_format;

typedef struct ref_run
{
  out_format format;
  size_t printed; /* references printed so far */
  bool invalid;   /* some reference was invalid */
} ref_run;

static void
print_text (ref_run *run, const char *input, const iw_ref *r)
{
  char *canonical = iw_ref_string (r);
  char *familiar = iw_ref_familiar (r);
  const char *tag = iw_ref_effective_tag (r);

  if (run->printed > 0)
    putchar ('\n');
  printf ("%-11s %s\n", "input", input);
  printf ("%-11s %s\n", "canonical", canonical);
  printf ("%-11s %s\n", "familiar", familiar);
  printf ("%-11s %s\n", "registry", r->domain);
  printf ("%-11s %s\n", "api-host", iw_ref_api_host (r));
  printf ("%-11s %s\n", "repository", r->path);
  printf ("%-11s %s%s\n", "tag", tag ? tag : "-", iw_ref_is_implicit_latest (r) ? " (implicit)" : "");
  printf ("%-11s %s\n", "digest", r->digest ? r->digest : "-");
  free (canonical);
  free (familiar);
}

static json_t *
string_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static void
print_json (ref_run *run, const char *input, const iw_ref *r)
{
  char *canonical = iw_ref_string (r);
  char *familiar = iw_ref_familiar (r);
  json_t *o = json_object ();
  char *line;

  json_object_set_new (o, "input", json_string (input));
  json_object_set_new (o, "canonical", json_string (canonical));
  json_object_set_new (o, "familiar", json_string (familiar));
  json_object_set_new (o, "registry", json_string (r->domain));
  json_object_set_new (o, "apiHost", json_string (iw_ref_api_host (r)));
  json_object_set_new (o, "repository", json_string (r->path));
  json_object_set_new (o, "tag", string_or_null (iw_ref_effective_tag (r)));
  json_object_set_new (o, "digest", string_or_null (r->digest));
  json_object_set_new (o, "implicitTag", json_boolean (iw_ref_is_implicit_latest (r)));
  line = json_dumps (o, 0);
  if (line == NULL)
    abort (); /* only on allocation failure: every value is ASCII */
  printf ("%s  %s", run->printed > 0 ? ",\n" : "", line);
  free (line);
  json_decref (o);
  free (canonical);
  free (familiar);
}

/* Parse one reference and print it, or report why it is invalid. */
static void
handle (ref_run *run, const char *input)
{
  iw_ref *r = NULL;
  iw_error *err = NULL;

  if (iw_ref_parse (&r, input, &err) < 0)
    {
      iw_cli_error ("ref", "%s", iw_error_msg (err));
      iw_error_free (err);
      run->invalid = true;
      return;
    }
  if (run->format == OUT_JSON)
    print_json (run, input, r);
  else
    print_text (run, input, r);
  run->printed++;
  iw_ref_free (r);
}

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* One line of standard input: trim it, skip empty and comment lines. */
static void
handle_line (ref_run *run, unsigned long lineno, char *line, size_t len)
{
  char *start = line, *end = line + len;

  while (start < end && is_blank (*start))
    start++;
  while (end > start && is_blank (end[-1]))
    end--;
  if (start == end || *start == '#')
    return;
  if (memchr (start, '\0', (size_t)(end - start)))
    {
      iw_cli_error ("ref", "standard input: line %lu contains a NUL byte", lineno);
      run->invalid = true;
      return;
    }
  *end = '\0';
  handle (run, start);
}

/* Read references one per line from f, each line at most LINE_MAX_BYTES. */
static int
read_stream (ref_run *run, FILE *f)
{
  iw_buf line = IW_BUF_INIT (LINE_MAX_BYTES);
  bool too_long = false;
  unsigned long lineno = 1;
  int c, rc = 0;

  do
    {
      c = getc (f);
      if (c != '\n' && c != EOF)
        {
          iw_error *err = NULL;

          if (!too_long && iw_buf_appendc (&line, (char)c, &err) < 0)
            {
              iw_error_free (err);
              too_long = true;
            }
          continue;
        }
      if (c == EOF && line.len == 0 && !too_long)
        break;
      if (too_long)
        {
          iw_cli_error ("ref", "standard input: line %lu is longer than %zu bytes", lineno, LINE_MAX_BYTES);
          run->invalid = true;
        }
      else
        handle_line (run, lineno, line.data, line.len);
      iw_buf_reset (&line);
      too_long = false;
      lineno++;
    }
  while (c != EOF);
  if (ferror (f))
    {
      iw_cli_error ("ref", "standard input: read error");
      rc = -1;
    }
  iw_buf_free (&line);
  return rc;
}

static int
run_ref (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  ref_run run = { OUT_TEXT, 0, false };
  bool read_stdin = false;
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":o:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'o':
        if (strcmp (optarg, "text") == 0)
          run.format = OUT_TEXT;
        else if (strcmp (optarg, "json") == 0)
          run.format = OUT_JSON;
        else
          {
            iw_cli_error ("ref", "unknown output format \"%s\" (text, json)", optarg);
            return IW_EXIT_USAGE;
          }
        break;
      case 'h':
        fputs (usage, stdout);
        return IW_EXIT_OK;
      case ':':
        iw_cli_error ("ref", "%s needs a value (text or json)", argv[optind - 1]);
        return IW_EXIT_USAGE;
      default:
        if (optopt)
          iw_cli_error ("ref", "unknown option \"-%c\"", optopt);
        else
          iw_cli_error ("ref", "unknown option \"%s\"", argv[optind - 1]);
        fputs ("Run 'imgwatch help ref' for usage.\n", stderr);
        return IW_EXIT_USAGE;
      }
  if (optind >= argc)
    {
      iw_cli_error ("ref", "no reference given");
      fputs ("Usage: imgwatch ref [-o text|json] REF...\n"
             "Run 'imgwatch help ref' for more.\n",
             stderr);
      return IW_EXIT_USAGE;
    }
  for (int i = optind; i < argc; i++)
    if (strcmp (argv[i], "-") == 0)
      {
        if (read_stdin)
          {
            iw_cli_error ("ref", "'-' (standard input) given more than once");
            return IW_EXIT_USAGE;
          }
        read_stdin = true;
      }

  if (run.format == OUT_JSON)
    fputs ("[\n", stdout);
  for (int i = optind; i < argc; i++)
    {
      if (strcmp (argv[i], "-") != 0)
        handle (&run, argv[i]);
      else if (read_stream (&run, stdin) < 0)
        run.invalid = true;
    }
  if (run.format == OUT_JSON)
    fputs (run.printed > 0 ? "\n]\n" : "]\n", stdout);
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      iw_cli_error ("ref", "write error on standard output");
      return IW_EXIT_USAGE;
    }
  return run.invalid ? IW_EXIT_USAGE : IW_EXIT_OK;
}

const iw_command iw_cmd_ref = {
  .name = "ref",
  .summary = "parse image references and show their parts",
  .usage = usage,
  .run = run_ref,
};
