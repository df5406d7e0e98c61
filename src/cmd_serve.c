/*
 * cmd_serve.c - `imgwatch serve`: the real-time daemon.
 *
 * Glue only: the sources (a pods/manifest file re-read when it changes,
 * or the Kubernetes API listed then watched) hand records to the daemon
 * (lib/server/daemon.h); the daemon's assess callback below runs the same
 * assessment as `imgwatch assess` (inventory -> registry -> checks) and
 * prints it with the same JSON writer; the HTTP server, the store and the
 * alerts are lib/server and lib/store.  The main thread waits for signals
 * and drives the timers (file polling, resync, retention).
 */
#include "assess/assess.h"
#include "assess_output.h"
#include "cli.h"
#include "commands.h"
#include "config/config.h"
#include "inventory/inventory.h"
#include "kube/kube.h"
#include "kube/watch.h"
#include "registry/registry.h"
#include "runtime/containerd.h"
#include "server/admission.h"
#include "server/alerts.h"
#include "server/daemon.h"
#include "server/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[]
    = "Usage: imgwatch serve [OPTIONS]\n"
      "\n"
      "Watch what runs, listen to registry webhooks, re-resolve tags periodically, keep the history, and\n"
      "serve the Live Assessment, its API and Prometheus metrics.\n"
      "\n"
      "Sources (one of):\n"
      "      --from-file FILE       pods or manifests (kubectl get pods -A -o json); re-read when it "
      "changes\n"
      "      --kubeconfig FILE      the Kubernetes API, listed then watched (default: $KUBECONFIG, "
      "~/.kube/config,\n"
      "                             in-cluster)\n"
      "      --context NAME         kubeconfig context\n"
      "  -n, --namespace NS         one namespace (default: all)\n"
      "\n"
      "Options:\n"
      "      --config FILE          policy and registry settings (YAML)\n"
      "      --listen ADDR          HOST:PORT to serve on (default 127.0.0.1:8080)\n"
      "      --db URL               sqlite:PATH (default sqlite:imgwatch.db) or "
      "postgres://USER@HOST:PORT/DB\n"
      "      --resync DUR           full relist of the source (default 10m)\n"
      "      --poll DUR             containerd polling period (default 5s)\n"
      "      --reresolve DUR        re-resolve every running tag (default 5m)\n"
      "      --retention DUR        keep resolved history this long (default 90d)\n"
      "      --webhook-secret-file FILE  shared secret registries must send (or $IMGWATCH_WEBHOOK_SECRET);\n"
      "                             without one, webhooks are refused\n"
      "      --token-file FILE      bearer token for the UI and API (or $IMGWATCH_TOKEN)\n"
      "      --tls-cert FILE        serve HTTPS with this certificate ...\n"
      "      --tls-key FILE         ... and key; with TLS, also answer Kubernetes admission reviews at\n"
      "                             /admission/validate and /admission/mutate (docs/admission.md)\n"
      "      --alert-url URL        POST high/critical findings (generic JSON); repeatable\n"
      "      --alert-slack-url URL  the same, Slack-compatible {\"text\"}; repeatable\n"
      "      --log-format FORMAT    text or json\n"
      "  -h, --help                 this help\n"
      "\n"
      "Durations: 30s, 5m, 1h, 90d.  SIGTERM or SIGINT stop it gracefully.\n";

#define MAX_ALERTS 16

typedef struct serve_opts
{
  const char *config;
  const char *listen;
  const char *db;
  const char *from_file;
  const char *containerd;
  long poll_s;
  const char *kubeconfig;
  const char *context;
  const char *namespace_;
  long resync_s;
  long reresolve_s;
  long retention_s;
  const char *secret_file;
  const char *token_file;
  const char *tls_cert;
  const char *tls_key;
  iw_alert_target alerts[MAX_ALERTS];
  size_t n_alerts;
} serve_opts;

/* Lineage labels last read for a reference, so periodic re-resolution
 * can stay at HEAD requests (manifest GETs count as pulls on Docker Hub). */
typedef struct lineage
{
  char *key;
  char *digest;
  char *source, *revision, *authors, *created;
} lineage;

/* What the assess callback needs between cycles. */
typedef struct engine
{
  iw_config *cfg;
  iw_check_ctx ctx;
  iw_registry *reg;
  char *source;
  iw_metrics *metrics;
  lineage *lin;
  size_t n_lin;
} engine;

static void
lineage_clear (lineage *l)
{
  free (l->key);
  free (l->digest);
  free (l->source);
  free (l->revision);
  free (l->authors);
  free (l->created);
}

/* Remember the labels read in this cycle; fill in those not read. */
static void
carry_lineage (engine *e, iw_assessment *a)
{
  for (size_t i = 0; i < a->n_images; i++)
    {
      iw_reg_facts *f = &a->images[i].facts;
      const char *key = a->images[i].inv->key;
      lineage *l = NULL;

      if (f->expected == NULL || key == NULL)
        continue;
      for (size_t k = 0; k < e->n_lin && l == NULL; k++)
        if (strcmp (e->lin[k].key, key) == 0)
          l = &e->lin[k];
      if (f->label_source || f->label_revision || f->label_authors || f->label_created)
        {
          if (l == NULL)
            {
              e->lin = iw_xreallocarray (e->lin, e->n_lin + 1, sizeof *e->lin);
              l = &e->lin[e->n_lin++];
              memset (l, 0, sizeof *l);
              l->key = iw_xstrdup (key);
            }
          else
            {
              char *k = iw_steal (&l->key);

              lineage_clear (l);
              l->key = k;
            }
          l->digest = iw_xstrdup (f->expected);
          l->source = iw_xstrdup0 (f->label_source);
          l->revision = iw_xstrdup0 (f->label_revision);
          l->authors = iw_xstrdup0 (f->label_authors);
          l->created = iw_xstrdup0 (f->label_created);
        }
      else if (l && strcmp (l->digest, f->expected) == 0)
        {
          f->label_source = iw_xstrdup0 (l->source);
          f->label_revision = iw_xstrdup0 (l->revision);
          f->label_authors = iw_xstrdup0 (l->authors);
          f->label_created = iw_xstrdup0 (l->created);
        }
    }
}

/* "30s", "5m", "1h", "2d", or plain seconds; -1 when malformed. */
/* A secret from a file (trailing newlines dropped) or the environment. */
static int
read_secret (char **out, const char *path, const char *env, iw_error **err)
{
  FILE *f;
  char buf[4096];
  size_t n;

  *out = NULL;
  if (path == NULL)
    {
      const char *v = getenv (env);

      *out = v && *v ? iw_xstrdup (v) : NULL;
      return 0;
    }
  f = fopen (path, "r");
  if (f == NULL)
    return iw_error_set (err, IW_EIO, "open %s: %s", path, strerror (errno));
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = '\0';
  if (n == 0)
    return iw_error_set (err, IW_EINVAL, "%s is empty", path);
  *out = iw_xstrdup (buf);
  return 0;
}

/* ---- the assess callback ---- */

static const double *
registry_bounds (void)
{
  return iw_registry_latency_bounds;
}

static void
export_registry_metrics (engine *e)
{
  iw_registry_metrics m;
  unsigned long long buckets[IW_REGISTRY_LATENCY_BUCKETS];

  iw_registry_metrics_get (&m, e->reg);
  for (size_t i = 0; i < IW_REGISTRY_LATENCY_BUCKETS; i++)
    buckets[i] = m.latency_buckets[i];
  iw_metrics_set (e->metrics, "imgwatch_registry_requests_total", NULL, (double)m.requests);
  iw_metrics_set (e->metrics, "imgwatch_registry_errors_total", NULL, (double)m.errors);
  iw_metrics_set (e->metrics, "imgwatch_registry_retries_total", NULL, (double)m.retries);
  iw_metrics_set_histogram (e->metrics, "imgwatch_registry_request_duration_seconds", NULL, buckets,
                            m.requests, m.latency_sum);
}

static int
assess (iw_daemon_result *out, const iw_record *const *records, size_t n, const char *const *refresh,
        bool all_refresh, void *userdata, iw_error **err)
{
  engine *e = userdata;
  iw_inventory *inv = iw_inventory_new ();
  iw_assessment *a;
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  int r = -1;

  /* The registry client keeps no answers between batches: every cycle
   * asks again (a HEAD per distinct tag), so events need no cache
   * invalidation.  A periodic re-resolution (everything, no event) reads
   * no labels: HEAD only, as Docker Hub's pull limits want. */
  bool periodic = all_refresh && (refresh == NULL || refresh[0] == NULL);

  for (size_t i = 0; i < n; i++)
    iw_inventory_add (inv, records[i]);
  iw_inventory_finish (inv);
  a = iw_assessment_new (inv, e->source);
  if (iw_assess_resolve (a, &e->ctx, e->reg, !periodic, err) < 0)
    {
      iw_error_wrap (err, "ask the registry");
      goto done;
    }
  carry_lineage (e, a);
  iw_assess_evaluate (a, &e->ctx);
  export_registry_metrics (e);

  /* Every resolved tag, clean images included, for the timeline. */
  out->tags = iw_xcalloc (a->n_images + 1, sizeof *out->tags);
  for (size_t i = 0; i < a->n_images; i++)
    {
      const iw_assess_image *ai = &a->images[i];
      const iw_ref *ref = ai->inv->ref;

      if (ref == NULL || ref->digest != NULL || ai->facts.expected == NULL)
        continue;
      out->tags[out->n_tags].repository = iw_xasprintf ("%s/%s", ref->domain, ref->path);
      out->tags[out->n_tags].tag = iw_xstrdup (iw_ref_effective_tag (ref));
      out->tags[out->n_tags].digest = iw_xstrdup (ai->facts.expected);
      out->n_tags++;
    }
  f = open_memstream (&buf, &len);
  if (f == NULL || iw_output_json (f, a) < 0)
    {
      if (f)
        fclose (f);
      free (buf);
      iw_error_set (err, IW_EIO, "write the assessment: %s", strerror (errno));
      goto done;
    }
  fclose (f);
  out->json = buf;
  r = 0;
done:
  iw_assessment_free (a);
  return r;
}

/* ---- sources ---- */

typedef struct file_source
{
  const char *path;
  struct stat st;
  bool have;
} file_source;

static int
collect (iw_record *rec, void *userdata, iw_error **err)
{
  iw_record ***v = userdata;
  size_t n = 0;

  (void)err;
  while (*v && (*v)[n])
    n++;
  *v = iw_xreallocarray (*v, n + 2, sizeof **v);
  (*v)[n] = rec;
  (*v)[n + 1] = NULL;
  return 0;
}

/* Read the file when it changed (or force); hand the records over. */
static int
poll_file (iw_daemon *d, file_source *fs, bool force, iw_error **err)
{
  struct stat st;
  iw_record **recs = NULL;
  size_t n = 0;
  char *cause;

  if (stat (fs->path, &st) < 0)
    return iw_error_set (err, IW_EIO, "stat %s: %s", fs->path, strerror (errno));
  if (!force && fs->have && st.st_mtim.tv_sec == fs->st.st_mtim.tv_sec
      && st.st_mtim.tv_nsec == fs->st.st_mtim.tv_nsec && st.st_size == fs->st.st_size
      && st.st_ino == fs->st.st_ino)
    return 0;
  if (iw_source_read_file (fs->path, collect, &recs, err) < 0)
    {
      /* A half-read file is not an inventory: keep the last good one. */
      for (size_t i = 0; recs && recs[i]; i++)
        iw_record_free (recs[i]);
      free (recs);
      fs->st = st;
      fs->have = true;
      return -1;
    }
  while (recs && recs[n])
    n++;
  fs->st = st;
  fs->have = true;
  cause = iw_xasprintf ("%s changed", fs->path);
  iw_daemon_set_records (d, "file", recs, n, fs->have ? cause : "start");
  free (cause);
  return 0;
}

/* A node's containerd, polled: records are handed over only when what
 * runs changed (a fingerprint of every record's identity and image). */
typedef struct containerd_source
{
  const char *socket;
  const char *ns;
  unsigned char last[IW_SHA256_DIGEST_STRLEN];
} containerd_source;

static int
poll_containerd (iw_daemon *d, containerd_source *cs, bool force, iw_error **err)
{
  iw_record **recs = NULL;
  size_t n = 0;
  char fp[IW_SHA256_DIGEST_STRLEN];
  iw_sha256 *h;

  if (iw_containerd_list_containers (cs->socket, cs->ns, collect, &recs, err) < 0)
    {
      for (size_t i = 0; recs && recs[i]; i++)
        iw_record_free (recs[i]);
      free (recs);
      return -1;
    }
  h = iw_sha256_new ();
  while (recs && recs[n])
    {
      const iw_record *r = recs[n++];
      const char *parts[] = { r->namespace_, r->pod, r->container, r->image, r->image_id.raw, r->state };

      for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        iw_sha256_update (h, parts[k] ? parts[k] : "", parts[k] ? strlen (parts[k]) + 1 : 1);
    }
  iw_sha256_final (h, fp);
  iw_sha256_free (h);
  if (!force && memcmp (fp, cs->last, sizeof fp) == 0)
    {
      for (size_t i = 0; i < n; i++)
        iw_record_free (recs[i]);
      free (recs);
      return 0;
    }
  memcpy (cs->last, fp, sizeof fp);
  iw_daemon_set_records (d, "containerd", recs, n, "containers changed");
  return 0;
}

/* ---- the command ---- */

static void
on_list (void *userdata, const char *source, iw_record **recs, size_t n, const char *cause)
{
  iw_daemon_set_records (userdata, source, recs, n, cause);
}

static void
on_pod (void *userdata, const char *source, const char *pod, iw_record **recs, size_t n, const char *cause)
{
  iw_daemon_set_pod (userdata, source, pod, recs, n, cause);
}

static int
parse (serve_opts *o, int argc, char **argv)
{
  enum
  {
    O_CONFIG = 256,
    O_LISTEN,
    O_DB,
    O_FROM_FILE,
    O_KUBECONFIG,
    O_CONTEXT,
    O_RESYNC,
    O_RERESOLVE,
    O_RETENTION,
    O_SECRET,
    O_TOKEN,
    O_CERT,
    O_KEY,
    O_ALERT,
    O_SLACK,
    O_LOGFMT,
    O_CONTAINERD,
    O_POLL,
  };
  static const struct option longs[] = {
    { "config", required_argument, NULL, O_CONFIG },
    { "listen", required_argument, NULL, O_LISTEN },
    { "db", required_argument, NULL, O_DB },
    { "from-file", required_argument, NULL, O_FROM_FILE },
    { "kubeconfig", required_argument, NULL, O_KUBECONFIG },
    { "context", required_argument, NULL, O_CONTEXT },
    { "namespace", required_argument, NULL, 'n' },
    { "resync", required_argument, NULL, O_RESYNC },
    { "reresolve", required_argument, NULL, O_RERESOLVE },
    { "retention", required_argument, NULL, O_RETENTION },
    { "webhook-secret-file", required_argument, NULL, O_SECRET },
    { "token-file", required_argument, NULL, O_TOKEN },
    { "tls-cert", required_argument, NULL, O_CERT },
    { "tls-key", required_argument, NULL, O_KEY },
    { "alert-url", required_argument, NULL, O_ALERT },
    { "alert-slack-url", required_argument, NULL, O_SLACK },
    { "log-format", required_argument, NULL, O_LOGFMT },
    { "containerd", required_argument, NULL, O_CONTAINERD },
    { "poll", required_argument, NULL, O_POLL },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":n:h", longs, NULL)) != -1)
    {
      long *dur = NULL;

      switch (c)
        {
        case O_CONFIG:
          o->config = optarg;
          break;
        case O_LISTEN:
          o->listen = optarg;
          break;
        case O_DB:
          o->db = optarg;
          break;
        case O_FROM_FILE:
          o->from_file = optarg;
          break;
        case O_KUBECONFIG:
          o->kubeconfig = optarg;
          break;
        case O_CONTAINERD:
          o->containerd = optarg;
          break;
        case O_POLL:
          dur = &o->poll_s;
          break;
        case O_CONTEXT:
          o->context = optarg;
          break;
        case 'n':
          o->namespace_ = optarg;
          break;
        case O_RESYNC:
          dur = &o->resync_s;
          break;
        case O_RERESOLVE:
          dur = &o->reresolve_s;
          break;
        case O_RETENTION:
          dur = &o->retention_s;
          break;
        case O_SECRET:
          o->secret_file = optarg;
          break;
        case O_TOKEN:
          o->token_file = optarg;
          break;
        case O_CERT:
          o->tls_cert = optarg;
          break;
        case O_KEY:
          o->tls_key = optarg;
          break;
        case O_ALERT:
        case O_SLACK:
          if (o->n_alerts == MAX_ALERTS)
            {
              iw_cli_error ("serve", "at most %d alert URLs", MAX_ALERTS);
              return -1;
            }
          o->alerts[o->n_alerts].url = optarg;
          o->alerts[o->n_alerts].slack = c == O_SLACK;
          o->n_alerts++;
          break;
        case O_LOGFMT:
          if (strcmp (optarg, "json") == 0)
            iw_log_setup (iw_log_get_level (), IW_LOG_JSON);
          else if (strcmp (optarg, "text") == 0)
            iw_log_setup (iw_log_get_level (), IW_LOG_TEXT);
          else
            {
              iw_cli_error ("serve", "unknown log format \"%s\" (text, json)", optarg);
              return -1;
            }
          break;
        case 'h':
          fputs (usage, stdout);
          return 1;
        case ':':
          iw_cli_error ("serve", "%s needs a value", argv[optind - 1]);
          return -1;
        default:
          iw_cli_error ("serve", "unknown option \"%s\"", argv[optind - 1]);
          fprintf (stderr, "Run 'imgwatch serve --help' for usage.\n");
          return -1;
        }
      if (dur)
        {
          *dur = iw_cli_parse_duration (optarg);
          if (*dur < 0)
            {
              iw_cli_error ("serve", "bad duration \"%s\" (like 30s, 5m, 1h, 90d)", optarg);
              return -1;
            }
        }
    }
  if (optind < argc)
    {
      iw_cli_error ("serve", "unexpected argument \"%s\"", argv[optind]);
      return -1;
    }
  if (o->from_file && (o->kubeconfig || o->context || o->namespace_ || o->containerd))
    {
      iw_cli_error ("serve", "--from-file and the Kubernetes or containerd options are mutually exclusive");
      return -1;
    }
  if (o->containerd && (o->kubeconfig || o->context))
    {
      iw_cli_error ("serve", "--containerd and the Kubernetes options are mutually exclusive");
      return -1;
    }
  if (o->containerd && o->poll_s <= 0)
    {
      iw_cli_error ("serve", "--poll must be at least 1s");
      return -1;
    }
  if (!o->tls_cert != !o->tls_key)
    {
      iw_cli_error ("serve", "--tls-cert and --tls-key go together");
      return -1;
    }
  return 0;
}

static void
declare_metrics (iw_metrics *m)
{
  iw_metrics_declare (m, "imgwatch_registry_requests_total", IW_METRIC_COUNTER,
                      "Registry HTTP requests made.", NULL, 0);
  iw_metrics_declare (m, "imgwatch_registry_errors_total", IW_METRIC_COUNTER,
                      "Registry requests that failed (transport error or HTTP >= 400).", NULL, 0);
  iw_metrics_declare (m, "imgwatch_registry_retries_total", IW_METRIC_COUNTER, "Registry requests retried.",
                      NULL, 0);
  iw_metrics_declare (m, "imgwatch_registry_request_duration_seconds", IW_METRIC_HISTOGRAM,
                      "Registry request latency.", registry_bounds (), IW_REGISTRY_LATENCY_BUCKETS);
}

static int
run (int argc, char **argv)
{
  serve_opts o = { .listen = "127.0.0.1:8080",
                   .db = "sqlite:imgwatch.db",
                   .resync_s = 600,
                   .reresolve_s = 300,
                   .poll_s = 5,
                   .retention_s = 90 * 86400 };
  engine e = { 0 };
  iw_store *store = NULL;
  iw_metrics *metrics = NULL;
  iw_server *srv = NULL;
  iw_alerts *alerts = NULL;
  iw_admission *adm = NULL;
  iw_daemon *d = NULL;
  iw_kube_watch *watch = NULL;
  iw_error *err = NULL;
  char *secret = NULL, *token = NULL;
  file_source fs = { 0 };
  containerd_source cs = { 0 };
  sigset_t sigs;
  int rc = IW_EXIT_USAGE, p;
  time_t last_resync, last_poll, last_prune = 0;

  p = parse (&o, argc, argv);
  if (p != 0)
    return p > 0 ? IW_EXIT_OK : IW_EXIT_USAGE;
  if (read_secret (&secret, o.secret_file, "IMGWATCH_WEBHOOK_SECRET", &err) < 0
      || read_secret (&token, o.token_file, "IMGWATCH_TOKEN", &err) < 0)
    goto fail;
  if (o.config)
    {
      if (iw_config_load (&e.cfg, o.config, &err) < 0)
        goto fail;
    }
  else
    e.cfg = iw_config_new_default ();
  e.ctx.config = e.cfg;
  rc = IW_EXIT_UNAVAILABLE;
  if (iw_store_open (&store, o.db, NULL, &err) < 0)
    goto fail;

  /* Signals are taken by the main thread only: block them before any
   * thread starts. */
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &sigs, NULL);
  signal (SIGPIPE, SIG_IGN);

  rc = IW_EXIT_UNAVAILABLE;
  metrics = iw_metrics_new ();
  declare_metrics (metrics);
  {
    iw_registry_options ro = IW_REGISTRY_OPTIONS_INIT;

    if (iw_registry_new (&e.reg, e.cfg, &ro, &err) < 0)
      goto fail;
  }
  e.metrics = metrics;
  {
    iw_alerts_options ao = IW_ALERTS_OPTIONS_INIT;

    ao.targets = o.alerts;
    ao.n_targets = o.n_alerts;
    if (iw_alerts_new (&alerts, &ao, metrics, &err) < 0)
      {
        rc = IW_EXIT_USAGE;
        goto fail;
      }
  }
  {
    iw_server_options so = IW_SERVER_OPTIONS_INIT;

    so.listen = o.listen;
    so.tls_cert = o.tls_cert;
    so.tls_key = o.tls_key;
    so.token = token;
    so.webhook_secret = secret;
    if (o.tls_cert)
      {
        iw_admission_options ado = IW_ADMISSION_OPTIONS_INIT;

        ado.config = e.cfg;
        ado.metrics = metrics;
        if (iw_admission_new (&adm, &ado, &err) < 0)
          goto fail;
        so.admission = adm;
      }
    if (iw_server_start (&srv, &so, store, metrics, &err) < 0)
      goto fail;
  }
  {
    iw_daemon_options dopt = IW_DAEMON_OPTIONS_INIT;

    dopt.assess = assess;
    dopt.userdata = &e;
    dopt.reresolve_ms = o.reresolve_s * 1000;
    if (iw_daemon_new (&d, &dopt, store, srv, metrics, alerts, &err) < 0)
      goto fail;
  }
  iw_server_set_event_fn (srv, iw_daemon_on_event, d);
  if (secret == NULL)
    iw_log_warn (
        "no webhook secret (--webhook-secret-file or IMGWATCH_WEBHOOK_SECRET): webhooks are refused");

  /* The first inventory. */
  if (o.from_file)
    {
      e.source = iw_xasprintf ("file:%s", o.from_file);
      fs.path = o.from_file;
      if (poll_file (d, &fs, true, &err) < 0)
        {
          rc = IW_EXIT_USAGE;
          goto fail;
        }
    }
  else if (o.containerd)
    {
      e.source = iw_xasprintf ("containerd:%s", o.containerd);
      cs.socket = o.containerd;
      cs.ns = o.namespace_;
      if (poll_containerd (d, &cs, true, &err) < 0)
        goto fail;
    }
  else
    {
      iw_kube_watch_options wo = IW_KUBE_WATCH_OPTIONS_INIT;

      wo.kube.kubeconfig = o.kubeconfig;
      wo.kube.context = o.context;
      wo.kube.namespace_ = o.namespace_;
      wo.kube.all_namespaces = o.namespace_ == NULL;
      wo.resync_ms = o.resync_s * 1000;
      if (iw_kube_watch_start (&watch, &wo, on_list, on_pod, d, &err) < 0)
        goto fail;
      e.source = iw_xstrdup (iw_kube_watch_source (watch));
    }
  if (iw_daemon_start (d, &err) < 0)
    goto fail;
  iw_log_info ("serving on %s%s (port %d)", o.tls_cert ? "https://" : "http://", o.listen,
               iw_server_port (srv));
  fprintf (stderr, "imgwatch serve: listening on %s (port %d)\n", o.listen, iw_server_port (srv));

  last_resync = last_poll = time (NULL);
  for (;;)
    {
      struct timespec ts = { 0, 250 * 1000000 };
      int sig = sigtimedwait (&sigs, NULL, &ts);
      time_t now = time (NULL);

      if (sig == SIGTERM || sig == SIGINT)
        {
          iw_log_info ("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
          break;
        }
      if (fs.path)
        {
          bool force = sig == SIGHUP || (o.resync_s > 0 && now - last_resync >= o.resync_s);

          if (force)
            last_resync = now;
          if (poll_file (d, &fs, force, &err) < 0)
            {
              iw_log_warn ("%s (keeping the last good inventory)", iw_error_msg (err));
              iw_error_clear (&err);
            }
        }
      if (cs.socket && (sig == SIGHUP || now - last_poll >= o.poll_s))
        {
          bool force = sig == SIGHUP || (o.resync_s > 0 && now - last_resync >= o.resync_s);

          last_poll = now;
          if (force)
            last_resync = now;
          if (poll_containerd (d, &cs, force, &err) < 0)
            {
              iw_log_warn ("%s (keeping the last inventory)", iw_error_msg (err));
              iw_error_clear (&err);
            }
        }
      if (now - last_prune >= 3600)
        {
          last_prune = now;
          if (iw_store_prune (store, iw_store_now_ms () - (int64_t)o.retention_s * 1000, &err) < 0)
            {
              iw_log_warn ("%s", iw_error_msg (err));
              iw_error_clear (&err);
            }
        }
    }
  rc = IW_EXIT_OK;
  goto done;
fail:
  iw_cli_error ("serve", "%s", iw_error_msg (err));
  if (iw_error_code (err) == IW_EINVAL || iw_error_code (err) == IW_EPOLICY
      || iw_error_code (err) == IW_EPARSE || iw_error_code (err) == IW_EUNSUPPORTED)
    rc = IW_EXIT_USAGE;
done:
  /* Stop in dependency order: sources, the worker, HTTP, alerts, store. */
  iw_kube_watch_stop (watch);
  iw_daemon_free (d);
  iw_server_stop (srv);
  iw_admission_free (adm);
  iw_alerts_free (alerts);
  iw_registry_free (e.reg);
  iw_store_free (store);
  iw_metrics_free (metrics);
  iw_config_free (e.cfg);
  for (size_t i = 0; i < e.n_lin; i++)
    lineage_clear (&e.lin[i]);
  free (e.lin);
  free (e.source);
  free (secret);
  free (token);
  iw_error_free (err);
  return rc;
}

const iw_command iw_cmd_serve = {
  "serve",
  "the real-time daemon: watch, webhooks, history, dashboard, metrics",
  usage,
  run,
};
