/*
 * cmd_resolve.c - `imgwatch resolve REF...`: what the registry holds for
 * each reference, printed like `crane digest` (REF<TAB>DIGEST), or as
 * JSON with media type, index children, config digests and labels.
 *
 * All references go to the registry client in one batch, so a thousand
 * tags cost a thousand concurrent HEADs over a few reused connections.
 */
#include "cli.h"
#include "commands.h"
#include "config/config.h"
#include "ref/ref.h"
#include "registry/registry.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#define PROGRESS_MIN 50
#define BAR_WIDTH 30

typedef struct resolve_opts
{
  const char *config;
  bool json;
  const char *platform;
  int concurrency;
  long timeout_s;
  int exists; /* 0, or 1 + iw_check_kind */
} resolve_opts;

static void
progress (void *data, size_t done, size_t total)
{
  int filled = total ? (int)(done * BAR_WIDTH / total) : BAR_WIDTH;

  (void)data;
  fprintf (stderr, "\rresolving [%.*s%*s] %zu/%zu", filled, "##############################",
           BAR_WIDTH - filled, "", done, total);
  if (done == total)
    fputs ("\r\033[K", stderr);
  fflush (stderr);
}

static int
read_stdin_refs (char ***texts, size_t *n)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;

  while ((len = getline (&line, &cap, stdin)) >= 0)
    {
      char *s = line, *e = line + len;

      while (s < e && (*s == ' ' || *s == '\t'))
        s++;
      while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
      if (s == e || *s == '#')
        continue;
      *texts = iw_xreallocarray (*texts, *n + 1, sizeof **texts);
      (*texts)[(*n)++] = iw_xstrndup (s, (size_t)(e - s));
    }
  free (line);
  if (ferror (stdin))
    return -1;
  return 0;
}

/* The child for a platform: exact, or os/arch when no variant was asked
 * and exactly one child has that os/arch. */
static const iw_platform_child *
pick_child (const iw_resolution *r, const char *platform)
{
  const iw_platform_child *found = NULL;
  size_t plen = strlen (platform), matches = 0;

  for (size_t i = 0; i < r->n_children; i++)
    if (strcmp (r->children[i].platform, platform) == 0)
      return &r->children[i];
  if (strchr (strchr (platform, '/') ? strchr (platform, '/') + 1 : platform, '/') != NULL)
    return NULL;
  for (size_t i = 0; i < r->n_children; i++)
    if (strncmp (r->children[i].platform, platform, plen) == 0 && r->children[i].platform[plen] == '/')
      {
        found = &r->children[i];
        matches++;
      }
  return matches == 1 ? found : NULL;
}

static void
gen_labels (yajl_gen g, const iw_image_labels *l)
{
  const char *keys[] = { "org.opencontainers.image.source",
                         "org.opencontainers.image.revision",
                         "org.opencontainers.image.authors",
                         "org.opencontainers.image.created",
                         "org.opencontainers.image.version",
                         "org.opencontainers.image.title",
                         "created" };
  const char *vals[]
      = { l->source, l->revision, l->authors, l->created, l->version, l->title, l->config_created };

  iw_json_gen_str (g, "labels");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (vals[i])
      iw_json_gen_kv (g, keys[i], vals[i]);
  yajl_gen_map_close (g);
}

static void
gen_item (yajl_gen g, const char *text, const iw_ref *ref, const iw_resolution *r,
          const char *platform_digest)
{
  char *canon = iw_ref_string (ref);

  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "reference", text);
  iw_json_gen_kv (g, "canonical", canon);
  free (canon);
  if (r->code != IW_OK)
    {
      iw_json_gen_str (g, "error");
      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "code", iw_code_name (r->code));
      iw_json_gen_kv (g, "reason", iw_cli_reason (r->code));
      iw_json_gen_kv (g, "message", r->message);
      yajl_gen_map_close (g);
      yajl_gen_map_close (g);
      return;
    }
  iw_json_gen_kv (g, "digest", r->digest);
  iw_json_gen_kv (g, "mediaType", r->media_type);
  if (platform_digest)
    iw_json_gen_kv (g, "platformDigest", platform_digest);
  if (!r->is_index)
    {
      iw_json_gen_kv (g, "configDigest", r->config_digest);
      iw_json_gen_kv (g, "platform", r->platform);
    }
  else
    {
      iw_json_gen_str (g, "children");
      yajl_gen_map_open (g);
      for (size_t i = 0; i < r->n_children; i++)
        {
          const iw_platform_child *c = &r->children[i];

          iw_json_gen_str (g, c->platform);
          yajl_gen_map_open (g);
          iw_json_gen_kv (g, "digest", c->digest);
          iw_json_gen_kv (g, "mediaType", c->media_type);
          iw_json_gen_kv (g, "configDigest", c->config_digest);
          gen_labels (g, &c->labels);
          yajl_gen_map_close (g);
        }
      yajl_gen_map_close (g);
    }
  gen_labels (g, &r->labels);
  yajl_gen_map_close (g);
}

static int
parse_opts (resolve_opts *o, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },   { "output", required_argument, NULL, 'o' },
    { "platform", required_argument, NULL, 'p' }, { "concurrency", required_argument, NULL, 'j' },
    { "timeout", required_argument, NULL, 't' },  { "exists", no_argument, NULL, 'e' },
    { "blob", no_argument, NULL, 'b' },           { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+c:o:p:j:t:eb", longopts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        o->config = optarg;
        break;
      case 'e':
        if (o->exists == 0)
          o->exists = 1 + IW_CHECK_MANIFEST;
        break;
      case 'b':
        o->exists = 1 + IW_CHECK_BLOB;
        break;
      case 'o':
        if (strcmp (optarg, "json") == 0)
          o->json = true;
        else if (strcmp (optarg, "text") == 0)
          o->json = false;
        else
          {
            iw_cli_error ("resolve", "unknown output format \"%s\" (text, json)", optarg);
            return -1;
          }
        break;
      case 'p':
        {
          const char *s = strchr (optarg, '/');

          if (s == NULL || s == optarg || s[1] == '\0' || s[1] == '/')
            {
              iw_cli_error ("resolve", "--platform \"%s\": expected OS/ARCH[/VARIANT]", optarg);
              return -1;
            }
          o->platform = optarg;
          break;
        }
      case 'j':
        {
          char *end;
          long v = strtol (optarg, &end, 10);

          if (*end || v < 1 || v > 256)
            {
              iw_cli_error ("resolve", "--concurrency \"%s\": expected 1 to 256", optarg);
              return -1;
            }
          o->concurrency = (int)v;
          break;
        }
      case 't':
        {
          char *end;
          long v = strtol (optarg, &end, 10);

          if (*end || v < 1 || v > 3600)
            {
              iw_cli_error ("resolve", "--timeout \"%s\": expected 1 to 3600 seconds", optarg);
              return -1;
            }
          o->timeout_s = v;
          break;
        }
      default:
        fprintf (stderr, "Run 'imgwatch help resolve' for usage.\n");
        return -1;
      }
  return 0;
}

/* What the batch cost, at --log-level info or more. */
static void
log_metrics (const iw_registry *reg)
{
  iw_registry_metrics m;

  if (!iw_log_enabled (IW_LOG_INFO))
    return;
  iw_registry_metrics_get (&m, reg);
  iw_log_info (
      "registry: %llu requests, %llu errors, %llu retries, %llu bytes, %llu token fetches, "
      "%llu integrity failures, %llu circuit openings, %.3f s total latency, ratelimit-remaining %ld",
      (unsigned long long)m.requests, (unsigned long long)m.errors, (unsigned long long)m.retries,
      (unsigned long long)m.bytes, (unsigned long long)m.token_fetches,
      (unsigned long long)m.integrity_failures, (unsigned long long)m.breaker_opens, m.latency_sum,
      m.ratelimit_remaining);
}

/* --exists: a three-state answer per REF@DIGEST; exit 0 only when every
 * one is present. */
static int
run_exists (iw_registry *reg, const resolve_opts *o, iw_ref **refs, char **texts, size_t n)
{
  iw_check *checks = iw_xcalloc (n, sizeof *checks);
  iw_presence *p = NULL;
  iw_error *err = NULL;
  int ret = IW_EXIT_USAGE, missing = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (refs[i]->digest == NULL)
        {
          iw_cli_error ("resolve", "--exists needs REF@DIGEST, not \"%s\"", texts[i]);
          goto done;
        }
      checks[i].repo = refs[i];
      checks[i].digest = refs[i]->digest;
      checks[i].kind = (iw_check_kind)(o->exists - 1);
    }
  if (iw_registry_check_many (&p, reg, checks, n, &err) < 0)
    {
      iw_cli_error ("resolve", "%s", iw_error_msg (err));
      goto done;
    }
  for (size_t i = 0; i < n; i++)
    {
      printf ("%s\t%s\n", texts[i], iw_presence_name (p[i].state));
      if (p[i].state != IW_PRESENCE_PRESENT)
        missing++;
      if (p[i].state == IW_PRESENCE_UNKNOWN)
        iw_cli_error ("resolve", "%s: unknown: %s: %s", texts[i], iw_cli_reason (p[i].code),
                      p[i].message ? p[i].message : "");
    }
  log_metrics (reg);
  ret = missing ? IW_EXIT_FINDINGS : IW_EXIT_OK;
done:
  iw_presences_free (p, n);
  free (checks);
  iw_error_free (err);
  return ret;
}

static int
run (int argc, char **argv)
{
  resolve_opts o = { 0 };
  iw_registry_options ropts = IW_REGISTRY_OPTIONS_INIT;
  iw_config *cfg = NULL;
  iw_registry *reg = NULL;
  iw_resolution *res = NULL;
  iw_ref **refs = NULL;
  char **texts = NULL;
  size_t n = 0;
  iw_error *err = NULL;
  int ret = IW_EXIT_USAGE, failed = 0;
  unsigned flags = 0;
  bool bad = false;
  yajl_gen g = NULL;

  if (parse_opts (&o, argc, argv) < 0)
    return IW_EXIT_USAGE;
  for (int i = optind; i < argc; i++)
    {
      if (strcmp (argv[i], "-") == 0)
        {
          if (read_stdin_refs (&texts, &n) < 0)
            {
              iw_cli_error ("resolve", "reading references from stdin failed");
              goto done;
            }
          continue;
        }
      texts = iw_xreallocarray (texts, n + 1, sizeof *texts);
      texts[n++] = iw_xstrdup (argv[i]);
    }
  if (o.exists && (o.json || o.platform))
    {
      iw_cli_error ("resolve",
                    "--exists prints present, absent or unknown: it takes no -o json or --platform");
      goto done;
    }
  if (n == 0)
    {
      iw_cli_error ("resolve", "no references given (use - to read them from stdin)");
      fprintf (stderr, "Run 'imgwatch help resolve' for usage.\n");
      goto done;
    }
  refs = iw_xcalloc (n, sizeof *refs);
  for (size_t i = 0; i < n; i++)
    if (iw_ref_parse (&refs[i], texts[i], &err) < 0)
      {
        iw_cli_error ("resolve", "%s", iw_error_msg (err));
        iw_error_clear (&err);
        bad = true;
      }
  if (bad)
    goto done;
  if (o.config && iw_config_load (&cfg, o.config, &err) < 0)
    {
      iw_cli_error ("resolve", "%s", iw_error_msg (err));
      goto done;
    }
  if (o.concurrency)
    ropts.max_per_host = o.concurrency;
  if (o.timeout_s)
    ropts.request_timeout_ms = o.timeout_s * 1000;
  if (isatty (STDERR_FILENO) && n > PROGRESS_MIN)
    ropts.progress = progress;
  if (iw_registry_new (&reg, cfg, &ropts, &err) < 0)
    {
      iw_cli_error ("resolve", "%s", iw_error_msg (err));
      goto done;
    }
  if (o.exists)
    {
      fflush (stdout);
      ret = run_exists (reg, &o, refs, texts, n);
      goto done;
    }
  if (o.json || o.platform)
    flags = IW_RESOLVE_LABELS;
  if (iw_registry_resolve_many (&res, reg, (const iw_ref *const *)refs, n, flags, &err) < 0)
    {
      iw_cli_error ("resolve", "%s", iw_error_msg (err));
      goto done;
    }
  if (o.json)
    {
      g = yajl_gen_alloc (NULL);
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_validate_utf8, 0);
      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "apiVersion", "imgwatch/v1");
      iw_json_gen_kv (g, "kind", "ResolveResult");
      iw_json_gen_str (g, "items");
      yajl_gen_array_open (g);
    }
  for (size_t i = 0; i < n; i++)
    {
      iw_resolution *r = &res[i];
      const char *digest = r->digest;

      if (r->code == IW_OK && o.platform)
        {
          if (r->is_index)
            {
              const iw_platform_child *c = pick_child (r, o.platform);

              if (c == NULL)
                {
                  r->code = IW_ENOTFOUND;
                  r->message
                      = iw_xasprintf ("the index %s has no manifest for platform %s", r->digest, o.platform);
                }
              else
                digest = c->digest;
            }
          else if (r->platform && strcmp (r->platform, o.platform) != 0
                   && !(strncmp (r->platform, o.platform, strlen (o.platform)) == 0
                        && r->platform[strlen (o.platform)] == '/'))
            {
              r->code = IW_ENOTFOUND;
              r->message
                  = iw_xasprintf ("the image %s is for %s, not %s", r->digest, r->platform, o.platform);
            }
        }
      if (r->code != IW_OK)
        {
          failed++;
          iw_cli_error ("resolve", "%s: %s: %s", texts[i], iw_cli_reason (r->code),
                        r->message ? r->message : "");
        }
      if (o.json)
        gen_item (g, texts[i], refs[i], r, o.platform && r->code == IW_OK ? digest : NULL);
      else if (r->code == IW_OK)
        printf ("%s\t%s\n", texts[i], digest);
    }
  if (o.json)
    {
      const unsigned char *buf;
      size_t len;

      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
      yajl_gen_get_buf (g, &buf, &len);
      fwrite (buf, 1, len, stdout);
    }
  log_metrics (reg);
  if (fflush (stdout) != 0)
    {
      iw_cli_error ("resolve", "writing to stdout failed");
      ret = IW_EXIT_FINDINGS;
      goto done;
    }
  ret = failed ? IW_EXIT_FINDINGS : IW_EXIT_OK;
done:
  if (g)
    yajl_gen_free (g);
  iw_resolutions_free (res, n);
  iw_registry_free (reg);
  iw_config_free (cfg);
  for (size_t i = 0; i < n; i++)
    {
      if (refs)
        iw_ref_free (refs[i]);
      free (texts[i]);
    }
  free (refs);
  free (texts);
  iw_error_free (err);
  return ret;
}

const iw_command iw_cmd_resolve = {
  .name = "resolve",
  .summary = "print the registry digest of each image reference",
  .usage = "Usage: imgwatch resolve [--config F] [-o text|json] [--platform OS/ARCH[/VARIANT]]\n"
           "                        [--concurrency N] [--timeout SECONDS] REF... | -\n"
           "\n"
           "Ask each reference's registry what it holds for the tag (or digest), with one\n"
           "request per distinct reference, concurrently.  '-' reads references from stdin,\n"
           "one per line.  Prints REF<TAB>DIGEST per line, like `crane digest`.\n"
           "\n"
           "Options:\n"
           "  -c, --config F          imgwatch config (registries: insecure, ca, username,\n"
           "                          passwordFile; mirrors)\n"
           "  -o, --output FORMAT     text (default) or json: digest, mediaType, index\n"
           "                          children, config digests and labels\n"
           "  -p, --platform P        print the digest of P's manifest in an index\n"
           "  -j, --concurrency N     requests in flight per registry (default 16)\n"
           "  -t, --timeout SECONDS   deadline of each request (default 30)\n"
           "  -e, --exists            for REF@DIGEST: print present, absent or unknown\n"
           "                          (unknown: auth, TLS, network, 5xx, rate limit)\n"
           "  -b, --blob              with --exists: the digest is a blob (a config ID)\n"
           "\n"
           "Exit status: 0 all resolved (--exists: all present), 1 some failed (one line each on stderr "
           "saying why:\n"
           "not found, authentication failed, TLS error, rate-limited, integrity check\n"
           "failed, ...), 2 usage, config or reference errors.\n"
           "See docs/registry.md.\n",
  .run = run,
};
