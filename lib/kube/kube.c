/*
 * kube.c - listing what runs from the Kubernetes API: owners first
 * (ReplicaSets and Jobs, listed once), then pods page by page, every page
 * streamed through the object parser straight to the caller's callback.
 *
 * A 410 Expired on a continue token restarts the pod list from the first
 * page; pods already handed over are not handed over again.  Read-only:
 * only list (and, with use_pull_secrets, get secrets) requests are made.
 */
#include "kube/kube.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#define SECRET_MAX (1024 * 1024)

static int
feed_parser (const char *data, size_t len, void *userdata, iw_error **err)
{
  return iw_kube_parser_feed (userdata, data, len, err);
}

typedef struct lister
{
  iw_kube_client *client;
  iw_kube_parser *parser;
  const iw_kube_options *opts;
  const char *ns; /* NULL = all namespaces */
  iw_kube_stats *stats;
} lister;

static char *
list_path (const lister *l, const char *group_version, const char *resource, const char *cont)
{
  CURL *esc = curl_easy_init ();
  char *sel = NULL, *c = NULL, *path;

  if (l->opts->label_selector && *l->opts->label_selector && strcmp (resource, "pods") == 0)
    sel = curl_easy_escape (esc, l->opts->label_selector, 0);
  if (cont)
    c = curl_easy_escape (esc, cont, 0);
  path = iw_xasprintf ("/%s/%s%s%s/%s?limit=%u%s%s%s%s", strchr (group_version, '/') ? "apis" : "api",
                       group_version, l->ns ? "/namespaces/" : "", l->ns ? l->ns : "", resource,
                       l->opts->page_limit ? l->opts->page_limit : 500, sel ? "&labelSelector=" : "",
                       sel ? sel : "", c ? "&continue=" : "", c ? c : "");
  curl_free (sel);
  curl_free (c);
  curl_easy_cleanup (esc);
  return path;
}

/* List one resource to the end, page by page, through the parser.  A 410
 * on a continue restarts from the first page (at most max_restarts). */
static int
list_all (lister *l, const char *group_version, const char *resource, bool count_pages, long *status_out,
          iw_error **err)
{
  char *cont = NULL, *what;
  unsigned restarts = 0;
  int rc = -1;

  what = l->ns ? iw_xasprintf ("list %s in namespace \"%s\"", resource, l->ns)
               : iw_xasprintf ("list %s in all namespaces", resource);
  for (;;)
    {
      char *path = list_path (l, group_version, resource, cont);
      long status = 0;
      int r;

      iw_kube_parser_reset (l->parser, err);
      r = iw_kube_client_get (l->client, path, what, feed_parser, l->parser, &status, err);
      if (r == 0)
        r = iw_kube_parser_finish (l->parser, err);
      free (path);
      if (r < 0 && status == 410 && cont && restarts < l->opts->max_restarts)
        {
          iw_log_warn ("%s: the continue token expired (410); listing again from the first page", resource);
          iw_error_clear (err);
          restarts++;
          if (l->stats)
            l->stats->restarts++;
          free (cont);
          cont = NULL;
          continue;
        }
      if (status_out)
        *status_out = status;
      if (r < 0)
        {
          if (status == 200)
            iw_error_wrap (err, "%s", what);
          goto done;
        }
      if (count_pages && l->stats)
        {
          const iw_kube_stats *ps = iw_kube_parser_stats (l->parser);

          l->stats->pages++;
          l->stats->pods = ps->pods;
          l->stats->records = ps->records;
          if (l->opts->progress)
            l->opts->progress (l->stats, l->opts->progress_userdata);
        }
      free (cont);
      cont = iw_xstrdup0 (iw_kube_parser_continue (l->parser));
      if (cont == NULL)
        break;
    }
  rc = 0;
done:
  free (cont);
  free (what);
  return rc;
}

static int
collect_body (const char *data, size_t len, void *userdata, iw_error **err)
{
  return iw_buf_append (userdata, data, len, err);
}

/* Hand the pull secrets the pods named to opts->secret_fn. */
static int
read_pull_secrets (lister *l, iw_error **err)
{
  for (const char *const *s = iw_kube_parser_pull_secrets (l->parser); *s; s++)
    {
      const char *slash = strchr (*s, '/');
      char *ns = iw_xstrndup (*s, (size_t)(slash - *s)), *path, *what;
      iw_buf body = IW_BUF_INIT (SECRET_MAX);
      long status = 0;
      json_t *doc = NULL;
      const char *b64 = NULL;
      char *decoded = NULL;
      size_t dlen = 0;
      int r;

      path = iw_xasprintf ("/api/v1/namespaces/%s/secrets/%s", ns, slash + 1);
      what = iw_xasprintf ("get secrets in namespace \"%s\" (--use-pull-secrets)", ns);
      r = iw_kube_client_get (l->client, path, what, collect_body, &body, &status, err);
      if (r < 0 && status == 404)
        {
          iw_log_warn ("pull secret %s does not exist", *s);
          iw_error_clear (err);
        }
      else if (r < 0 && status == 403 && l->opts->secrets_best_effort)
        {
          iw_log_warn ("%s; images that need pull secret %s are checked without it", iw_error_msg (*err), *s);
          iw_error_clear (err);
          r = 0;
        }
      else if (r == 0)
        {
          doc = json_loadb (iw_buf_cstr (&body), body.len, JSON_REJECT_DUPLICATES, NULL);
          if (doc == NULL
              || (json_unpack (doc, "{s:{s:s}}", "data", ".dockerconfigjson", &b64) < 0
                  && json_unpack (doc, "{s:{s:s}}", "data", ".dockercfg", &b64) < 0))
            iw_log_warn ("secret %s holds no .dockerconfigjson; ignored", *s);
          else if (iw_base64_decode (&decoded, &dlen, b64, strlen (b64)) < 0)
            {
              if (l->opts->secrets_best_effort)
                iw_log_warn ("secret %s: invalid base64 in .dockerconfigjson; ignored", *s);
              else
                r = iw_error_set (err, IW_EPARSE, "secret %s: invalid base64 in .dockerconfigjson", *s);
            }
          else
            r = l->opts->secret_fn (ns, slash + 1, decoded, dlen, l->opts->secret_userdata, err);
        }
      if (decoded)
        explicit_bzero (decoded, dlen);
      if (body.data)
        explicit_bzero (body.data, body.len);
      free (decoded);
      json_decref (doc);
      iw_buf_free (&body);
      free (ns);
      free (path);
      free (what);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
iw_kube_list_pods (const iw_kube_options *opts, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                   iw_error **err)
{
  iw_kube_options defaults = IW_KUBE_OPTIONS_INIT;
  iw_kubeconfig *kc = NULL;
  iw_kube_stats stats = { 0 };
  lister l = { 0 };
  char *source = NULL;
  double t0 = iw_clock_mono (), c0 = iw_clock_cpu ();
  int rc = -1;

  if (opts == NULL)
    opts = &defaults;
  l.opts = opts;
  l.stats = &stats;
  if (iw_kubeconfig_load (&kc, opts->kubeconfig, opts->context, err) < 0)
    goto done;
  if (iw_kube_client_new (&l.client, kc, opts, err) < 0)
    goto done;
  l.ns = opts->all_namespaces ? NULL
         : opts->namespace_   ? opts->namespace_
         : kc->namespace_     ? kc->namespace_
                              : "default";
  source = iw_xasprintf ("kube:%s", kc->server);
  l.parser = iw_kube_parser_new (source, kc->server, fn, userdata);
  iw_kube_parser_set_cluster (l.parser, kc->context ? kc->context : kc->cluster);
  iw_kube_parser_dedup_pods (l.parser);

  /* Owners first: without them pods still list, with guessed owners. */
  iw_kube_parser_set_mode (l.parser, IW_KUBE_PARSE_OWNERS_ONLY);
  for (size_t i = 0; i < 2; i++)
    {
      static const char *const gv[] = { "apps/v1", "batch/v1" }, *const res[] = { "replicasets", "jobs" };
      long status = 0;

      if (list_all (&l, gv[i], res[i], false, &status, err) == 0)
        continue;
      /* Forbidden or absent: pods still list, with inferred owners.  Bad
       * credentials or an unreachable server stop here. */
      if (status != 403 && status != 404)
        goto done;
      iw_log_warn ("%s; owners are inferred from pod labels and names", iw_error_msg (*err));
      iw_error_clear (err);
    }
  iw_kube_parser_set_mode (l.parser, IW_KUBE_PARSE_RECORDS);
  if (list_all (&l, "v1", "pods", true, NULL, err) < 0)
    goto done;
  if (opts->use_pull_secrets && opts->secret_fn && read_pull_secrets (&l, err) < 0)
    goto done;
  rc = 0;
done:
  if (l.parser)
    {
      const iw_kube_stats *ps = iw_kube_parser_stats (l.parser);

      stats.pods = ps->pods;
      stats.records = ps->records;
      stats.objects = ps->objects;
      stats.skipped = ps->skipped;
      stats.bytes = ps->bytes;
    }
  stats.wall_seconds = iw_clock_mono () - t0;
  stats.cpu_seconds = iw_clock_cpu () - c0;
  if (stats_out)
    *stats_out = stats;
  iw_kube_parser_free (l.parser);
  iw_kube_client_free (l.client);
  iw_kubeconfig_free (kc);
  free (source);
  return rc;
}
