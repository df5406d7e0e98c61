/*
 * cmd_verify_store.c - `imgwatch verify-store`: verify a node's local image
 * store, blob by blob, and (with a containerd socket) compare its names
 * with the registry.  Read-only.
 */
#include "cli.h"
#include "config/config.h"
#include "ref/ref.h"
#include "registry/registry.h"
#include "runtime/containerd.h"
#include "runtime/mismatch.h"
#include "runtime/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[]
    = "Usage: imgwatch verify-store [--containerd SOCK | --root DIR] [--namespace NS] [-o table|json]\n"
      "                             [--jobs N] [--all-blobs] [--fail-on SEV] [--config F]\n"
      "                             [--offline] [REF...]\n"
      "\n"
      "Verify the local image store of a node: for each image, walk index -> manifest\n"
      "-> config -> layers, check each blob's size, then its sha256, in parallel.\n"
      "Read-only.\n"
      "\n"
      "Options:\n"
      "  --root DIR          read blobs straight from containerd's root directory\n"
      "                      (DIR/io.containerd.content.v1.content/blobs/sha256)\n"
      "  --containerd SOCK   containerd's socket: image names and blobs come from its\n"
      "                      API (with --root too: names from the API, bytes from DIR)\n"
      "  --namespace NS      only this containerd namespace (default: all)\n"
      "  -o, --output FMT    table (default) or json\n"
      "  -j, --jobs N        hashing threads (default: one per core)\n"
      "  --all-blobs         also verify blobs that no image refers to\n"
      "  --fail-on SEV       exit 1 when a finding is at or above SEV (default: high)\n"
      "  --config F          registry settings (insecure, ca, credentials) for the\n"
      "                      comparison with the registry\n"
      "  --offline           do not ask registries: verify the blobs only\n"
      "\n"
      "REF selects images: with --containerd an image name (as `ctr images ls` shows\n"
      "it); with --root alone NAME=sha256:DIGEST or sha256:DIGEST.  With --root alone\n"
      "and no REF every manifest and index in the store is verified, named by digest,\n"
      "and every other blob is checked against its name.\n"
      "\n"
      "Findings: store-corrupt [critical] (a blob is missing, truncated, oversize,\n"
      "or hashes to another digest), store-mismatch [critical] (an image name points\n"
      "to another digest than the registry's tag, or to a digest the registry does\n"
      "not hold), unverified [medium] (a blob could not be read, or the registry\n"
      "could not be asked).\n"
      "\n"
      "Exit status: 0 no finding at or above --fail-on, 1 findings, 2 usage or input\n"
      "error, 3 the store or containerd could not be reached.\n";

typedef struct options
{
  const char *root;
  const char *containerd;
  const char *namespace_;
  const char *output;
  const char *fail_on;
  const char *config;
  int jobs;
  bool all_blobs;
  bool offline;
} options;

static int
severity_rank (const char *s)
{
  static const char *const names[] = { "info", "low", "medium", "high", "critical" };

  for (int i = 0; i < 5; i++)
    if (strcmp (s, names[i]) == 0)
      return i;
  return -1;
}

static void
print_size (FILE *f, unsigned long long n)
{
  if (n >= 1024ULL * 1024 * 1024)
    fprintf (f, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
  else if (n >= 1024 * 1024)
    fprintf (f, "%.1f MiB", (double)n / (1024.0 * 1024));
  else if (n >= 1024)
    fprintf (f, "%.1f KiB", (double)n / 1024.0);
  else
    fprintf (f, "%llu B", n);
}

static void
print_table (const iw_store_report *r, double seconds)
{
  size_t crit = 0;

  for (size_t i = 0; i < r->n_findings; i++)
    {
      const iw_store_finding *f = &r->findings[i];

      if (strcmp (f->severity, "critical") == 0)
        crit++;
      printf ("%-9s %-14s %s%s%s%s\n", f->severity, f->check, f->image, f->namespace_ ? " (namespace " : "",
              f->namespace_ ? f->namespace_ : "", f->namespace_ ? ")" : "");
      printf ("  %s\n", f->message);
      if (f->remediation)
        printf ("  fix: %s\n", f->remediation);
    }
  printf ("verified %zu image%s, %zu blob%s, ", r->images, r->images == 1 ? "" : "s", r->blobs,
          r->blobs == 1 ? "" : "s");
  print_size (stdout, r->bytes);
  printf (" in %.2f s", seconds);
  if (r->skipped)
    printf (" (%zu manifest%s of other platforms not present)", r->skipped, r->skipped == 1 ? "" : "s");
  if (r->n_findings == 0)
    printf (": no findings\n");
  else
    printf (": %zu finding%s (%zu critical)\n", r->n_findings, r->n_findings == 1 ? "" : "s", crit);
}

static int
kv (iw_buf *b, const char *key, const char *val, bool comma, iw_error **err)
{
  if (comma && iw_buf_appendc (b, ',', err) < 0)
    return -1;
  if (iw_json_append_quoted (b, key, err) < 0 || iw_buf_appendc (b, ':', err) < 0)
    return -1;
  if (val == NULL)
    return iw_buf_appends (b, "null", err);
  return iw_json_append_quoted (b, val, err);
}

static int
print_json (const iw_store_report *r, const char *source, double seconds, iw_error **err)
{
  iw_buf b = IW_BUF_INIT ((size_t)1 << 30);
  size_t crit = 0, medium = 0;
  int ret = -1;

  for (size_t i = 0; i < r->n_findings; i++)
    {
      crit += strcmp (r->findings[i].severity, "critical") == 0;
      medium += strcmp (r->findings[i].severity, "medium") == 0;
    }
  if (iw_buf_appends (&b, "{\"apiVersion\":\"imgwatch/v1\",\"kind\":\"StoreVerification\",", err) < 0
      || kv (&b, "source", source, false, err) < 0
      || iw_buf_printf (&b, err,
                        ",\"summary\":{\"images\":%zu,\"blobs\":%zu,\"bytes\":%llu,\"seconds\":%.3f,"
                        "\"skippedPlatformManifests\":%zu,\"findings\":%zu,\"critical\":%zu,\"medium\":%zu},"
                        "\"findings\":[",
                        r->images, r->blobs, r->bytes, seconds, r->skipped, r->n_findings, crit, medium)
             < 0)
    goto done;
  for (size_t i = 0; i < r->n_findings; i++)
    {
      const iw_store_finding *f = &r->findings[i];

      if ((i && iw_buf_appendc (&b, ',', err) < 0) || iw_buf_appendc (&b, '{', err) < 0
          || kv (&b, "check", f->check, false, err) < 0 || kv (&b, "severity", f->severity, true, err) < 0
          || kv (&b, "image", f->image, true, err) < 0 || kv (&b, "namespace", f->namespace_, true, err) < 0
          || kv (&b, "blob", f->blob, true, err) < 0 || kv (&b, "role", f->role, true, err) < 0
          || kv (&b, "reason", f->reason, true, err) < 0 || kv (&b, "message", f->message, true, err) < 0
          || kv (&b, "remediation", f->remediation, true, err) < 0 || iw_buf_appendc (&b, '}', err) < 0)
        goto done;
    }
  if (iw_buf_appends (&b, "]}\n", err) < 0)
    goto done;
  fputs (iw_buf_cstr (&b), stdout);
  ret = 0;
done:
  iw_buf_free (&b);
  return ret;
}

static void
merge (iw_store_report *into, const iw_store_report *from)
{
  for (size_t i = 0; i < from->n_findings; i++)
    {
      const iw_store_finding *f = &from->findings[i];

      iw_store_report_add (into, f->check, f->severity, f->image, f->namespace_, f->blob, f->role, f->reason,
                           f->message, f->remediation);
    }
  into->images += from->images;
  into->blobs += from->blobs;
  into->bytes += from->bytes;
  into->skipped += from->skipped;
}

/* Does the image name match a REF argument, exactly or once both are
 * normalized ("nginx" and "docker.io/library/nginx:latest")? */
static bool
ref_matches (const char *name, const char *arg)
{
  iw_ref *a = NULL, *b = NULL;
  iw_error *e = NULL;
  bool same = false;

  if (strcmp (name, arg) == 0)
    return true;
  if (iw_ref_parse (&a, name, &e) == 0 && iw_ref_parse (&b, arg, &e) == 0)
    {
      char *sa = iw_ref_string (a), *sb = iw_ref_string (b);
      const char *ta = iw_ref_effective_tag (a), *tb = iw_ref_effective_tag (b);
      char *na = iw_ref_name (a), *nb = iw_ref_name (b);

      same = strcmp (sa, sb) == 0
             || (strcmp (na, nb) == 0 && ta && tb && strcmp (ta, tb) == 0 && !a->digest && !b->digest);
      free (sa);
      free (sb);
      free (na);
      free (nb);
    }
  iw_error_free (e);
  iw_ref_free (a);
  iw_ref_free (b);
  return same;
}

/* Images named by containerd, per namespace; blobs through its content
 * API, or from dir when --root is given too. */
static int
verify_containerd (iw_store_report **out, const options *o, const iw_content_store *dir, iw_registry *reg,
                   char **refs, int n_refs, const iw_store_verify_options *vo)
{
  iw_containerd *c = NULL;
  iw_store_report *total = iw_xcalloc (1, sizeof *total);
  char **namespaces = NULL;
  bool *matched = n_refs ? iw_xcalloc ((size_t)n_refs, sizeof *matched) : NULL;
  iw_error *err = NULL;
  int ret = IW_EXIT_UNAVAILABLE;

  if (iw_containerd_open (&c, o->containerd, &err) < 0)
    {
      iw_cli_error ("verify-store", "cannot reach containerd: %s", iw_error_msg (err));
      goto done;
    }
  if (o->namespace_)
    {
      namespaces = iw_xcalloc (2, sizeof *namespaces);
      namespaces[0] = iw_xstrdup (o->namespace_);
    }
  else if (iw_containerd_namespaces (&namespaces, c, &err) < 0)
    {
      iw_cli_error ("verify-store", "%s", iw_error_msg (err));
      goto done;
    }
  for (char **ns = namespaces; *ns; ns++)
    {
      iw_store_images all = IW_STORE_IMAGES_INIT, chosen = IW_STORE_IMAGES_INIT;
      iw_content_store *api = NULL;
      iw_store_report *r = NULL;
      int rc = 0;

      if (iw_containerd_images (&all, c, *ns, &err) < 0)
        {
          iw_cli_error ("verify-store", "%s", iw_error_msg (err));
          iw_store_images_clear (&all);
          goto done;
        }
      for (size_t i = 0; i < all.n; i++)
        {
          bool keep = n_refs == 0;

          for (int k = 0; k < n_refs; k++)
            if (ref_matches (all.v[i].name, refs[k]))
              keep = matched[k] = true;
          if (keep)
            iw_store_images_add (&chosen, all.v[i].name, all.v[i].namespace_, all.v[i].digest,
                                 all.v[i].media_type, all.v[i].size);
        }
      iw_store_images_clear (&all);
      if (chosen.n)
        {
          if (dir == NULL)
            rc = iw_containerd_content (&api, c, *ns, &err);
          if (rc == 0)
            rc = iw_store_verify (&r, dir ? dir : api, &chosen, vo, &err);
          if (rc == 0)
            merge (total, r);
          if (rc == 0 && reg)
            rc = iw_store_compare_registry (total, reg, &chosen, &err);
        }
      iw_store_report_free (r);
      iw_content_store_free (api);
      iw_store_images_clear (&chosen);
      if (rc < 0)
        {
          iw_cli_error ("verify-store", "namespace %s: %s", *ns, iw_error_msg (err));
          goto done;
        }
    }
  for (int k = 0; k < n_refs; k++)
    if (!matched[k])
      {
        iw_cli_error ("verify-store", "no image named \"%s\" in containerd%s%s", refs[k],
                      o->namespace_ ? " namespace " : "", o->namespace_ ? o->namespace_ : "");
        ret = IW_EXIT_USAGE;
        goto done;
      }
  /* Blobs that could not be read may mean containerd went away meanwhile:
   * then the run as a whole failed, it did not find unreadable blobs. */
  for (size_t i = 0; i < total->n_findings; i++)
    if (strcmp (total->findings[i].reason, "unreadable") == 0)
      {
        char **again = NULL;

        if (iw_containerd_namespaces (&again, c, &err) < 0)
          {
            iw_cli_error ("verify-store", "containerd went away during the verification: %s",
                          iw_error_msg (err));
            goto done;
          }
        iw_strv_free (again);
        break;
      }
  *out = iw_steal (&total);
  ret = IW_EXIT_OK;
done:
  iw_store_report_free (total);
  iw_strv_free (namespaces);
  free (matched);
  iw_containerd_free (c);
  iw_error_free (err);
  return ret;
}

static int
run (int argc, char **argv)
{
  enum
  {
    OPT_ROOT = 256,
    OPT_CONTAINERD,
    OPT_NAMESPACE,
    OPT_ALL_BLOBS,
    OPT_FAIL_ON,
    OPT_CONFIG,
    OPT_OFFLINE,
  };
  static const struct option longopts[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { "containerd", required_argument, NULL, OPT_CONTAINERD },
    { "namespace", required_argument, NULL, OPT_NAMESPACE },
    { "output", required_argument, NULL, 'o' },
    { "jobs", required_argument, NULL, 'j' },
    { "all-blobs", no_argument, NULL, OPT_ALL_BLOBS },
    { "fail-on", required_argument, NULL, OPT_FAIL_ON },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "offline", no_argument, NULL, OPT_OFFLINE },
    { NULL, 0, NULL, 0 },
  };
  options o = { NULL, NULL, NULL, "table", "high", NULL, 0, false, false };
  iw_content_store *cs = NULL;
  iw_store_images images = IW_STORE_IMAGES_INIT;
  iw_store_verify_options vo = IW_STORE_VERIFY_OPTIONS_INIT;
  iw_store_report *report = NULL;
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  int c, ret = IW_EXIT_USAGE, fail_rank;
  double t0;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "o:j:", longopts, NULL)) != -1)
    switch (c)
      {
      case OPT_ROOT:
        o.root = optarg;
        break;
      case OPT_CONTAINERD:
        o.containerd = optarg;
        break;
      case OPT_NAMESPACE:
        o.namespace_ = optarg;
        break;
      case 'o':
        o.output = optarg;
        break;
      case 'j':
        {
          char *end;
          long n = strtol (optarg, &end, 10);

          if (*optarg == '\0' || *end || n < 1 || n > 1024)
            {
              iw_cli_error ("verify-store", "--jobs: expected a number from 1 to 1024, got \"%s\"", optarg);
              return IW_EXIT_USAGE;
            }
          o.jobs = (int)n;
          break;
        }
      case OPT_ALL_BLOBS:
        o.all_blobs = true;
        break;
      case OPT_FAIL_ON:
        o.fail_on = optarg;
        break;
      case OPT_CONFIG:
        o.config = optarg;
        break;
      case OPT_OFFLINE:
        o.offline = true;
        break;
      default:
        iw_cli_error ("verify-store", "unknown option or missing value: \"%s\"", argv[optind - 1]);
        fprintf (stderr, "Run 'imgwatch help verify-store' for usage.\n");
        return IW_EXIT_USAGE;
      }
  if (strcmp (o.output, "table") != 0 && strcmp (o.output, "json") != 0)
    {
      iw_cli_error ("verify-store", "-o: unknown format \"%s\" (table, json)", o.output);
      return IW_EXIT_USAGE;
    }
  fail_rank = severity_rank (o.fail_on);
  if (fail_rank < 0)
    {
      iw_cli_error ("verify-store", "--fail-on: unknown severity \"%s\" (critical, high, medium, low, info)",
                    o.fail_on);
      return IW_EXIT_USAGE;
    }
  if (o.root == NULL && o.containerd == NULL)
    {
      iw_cli_error ("verify-store", "give --containerd SOCK or --root DIR");
      return IW_EXIT_USAGE;
    }
  vo.jobs = o.jobs;
  vo.all_blobs = o.all_blobs;
  if (o.root && iw_content_dir_open (&cs, o.root, &err) < 0)
    {
      iw_cli_error ("verify-store", "--root: %s", iw_error_msg (err));
      ret = IW_EXIT_USAGE;
      goto done;
    }
  if (!o.offline)
    {
      iw_config *cfg = NULL;
      int rc;

      if (o.config && iw_config_load (&cfg, o.config, &err) < 0)
        {
          iw_cli_error ("verify-store", "%s", iw_error_msg (err));
          ret = IW_EXIT_USAGE;
          goto done;
        }
      rc = iw_registry_new (&reg, cfg, NULL, &err);
      iw_config_free (cfg);
      if (rc < 0)
        {
          iw_cli_error ("verify-store", "%s", iw_error_msg (err));
          ret = IW_EXIT_USAGE;
          goto done;
        }
    }
  t0 = iw_clock_mono ();
  if (o.containerd)
    {
      ret = verify_containerd (&report, &o, cs, reg, argv + optind, argc - optind, &vo);
      if (ret != IW_EXIT_OK)
        goto done;
    }
  else
    {
      for (int i = optind; i < argc; i++)
        if (iw_store_images_add_arg (&images, argv[i], &err) < 0)
          {
            iw_cli_error ("verify-store", "%s", iw_error_msg (err));
            ret = IW_EXIT_USAGE;
            goto done;
          }
      if (optind >= argc)
        {
          if (iw_store_images_discover (&images, cs, &err) < 0)
            {
              iw_cli_error ("verify-store", "%s", iw_error_msg (err));
              ret = IW_EXIT_UNAVAILABLE;
              goto done;
            }
          vo.all_blobs = true;
        }
      if (iw_store_verify (&report, cs, &images, &vo, &err) < 0
          || (reg && iw_store_compare_registry (report, reg, &images, &err) < 0))
        {
          iw_cli_error ("verify-store", "%s", iw_error_msg (err));
          ret = IW_EXIT_UNAVAILABLE;
          goto done;
        }
    }
  if (strcmp (o.output, "json") == 0)
    {
      char *source
          = o.containerd ? iw_xasprintf ("containerd:%s", o.containerd) : iw_xasprintf ("dir:%s", o.root);
      int rc = print_json (report, source, iw_clock_mono () - t0, &err);

      free (source);
      if (rc < 0)
        {
          iw_cli_error ("verify-store", "%s", iw_error_msg (err));
          ret = IW_EXIT_UNAVAILABLE;
          goto done;
        }
    }
  else
    print_table (report, iw_clock_mono () - t0);
  ret = IW_EXIT_OK;
  for (size_t i = 0; i < report->n_findings; i++)
    if (severity_rank (report->findings[i].severity) >= fail_rank)
      ret = IW_EXIT_FINDINGS;
done:
  iw_registry_free (reg);
  iw_store_report_free (report);
  iw_store_images_clear (&images);
  iw_content_store_free (cs);
  iw_error_free (err);
  return ret;
}

const iw_command iw_cmd_verify_store = {
  "verify-store",
  "verify the blobs of a node's image store (containerd)",
  usage_text,
  run,
};
