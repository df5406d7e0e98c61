/*
 * watch.c - list + watch of pods (see watch.h), on one thread.
 *
 * The list is iw_kube_list_pods(); its resourceVersion is read first with
 * a one-item list, so the watch starts no later than the snapshot (events
 * in between are replayed, and applying a pod's state twice is harmless).
 * Watch events are JSON lines; each pod object goes through the same
 * object parser as lists (owners inferred from labels when a ReplicaSet
 * is newer than the last list).
 */
#include "kube/watch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The largest watch event line (one pod) accepted. */
#define EVENT_MAX (8 * IW_MIB)

struct iw_kube_watch
{
  iw_kube_watch_options o;
  iw_kube_watch_set_fn set_fn;
  iw_kube_watch_pod_fn pod_fn;
  void *userdata;
  iw_kubeconfig *kc;
  iw_kube_client *client; /* for watch requests */
  char *source;
  char *rv; /* last resourceVersion seen */
  pthread_t thread;
  bool started;
  atomic_bool stop;
  pthread_mutex_t lock; /* guards stats */
  iw_kube_watch_stats stats;
};

typedef struct stream
{
  iw_kube_watch *w;
  iw_buf line;
  iw_kube_parser *parser;
  iw_record **recs;
  size_t n;
  bool gone; /* an ERROR event with code 410 */
} stream;

static void
bump (iw_kube_watch *w, uint64_t *field)
{
  pthread_mutex_lock (&w->lock);
  (*field)++;
  pthread_mutex_unlock (&w->lock);
}

static char *
pods_path (iw_kube_watch *w, const char *query)
{
  const char *ns = w->o.kube.all_namespaces ? NULL
                   : w->o.kube.namespace_   ? w->o.kube.namespace_
                   : w->kc->namespace_      ? w->kc->namespace_
                                            : "default";

  return iw_xasprintf ("/api/v1%s%s/pods?%s", ns ? "/namespaces/" : "", ns ? ns : "", query);
}

static int
collect_body (const char *data, size_t len, void *userdata, iw_error **err)
{
  return iw_buf_append (userdata, data, len, err);
}

/* The current resourceVersion of the pod collection (a one-item list). */
static int
current_rv (iw_kube_watch *w, char **out, iw_error **err)
{
  char *path = pods_path (w, "limit=1");
  iw_buf body = IW_BUF_INIT (IW_MANIFEST_MAX);
  json_t *doc = NULL;
  const char *rv = NULL;
  int r = -1;

  *out = NULL;
  if (iw_kube_client_get (w->client, path, "list pods", collect_body, &body, NULL, err) < 0)
    goto done;
  doc = json_loadb (iw_buf_cstr (&body), body.len, 0, NULL);
  if (json_unpack (doc, "{s:{s:s}}", "metadata", "resourceVersion", &rv) < 0)
    {
      iw_error_set (err, IW_EPARSE, "list pods: no metadata.resourceVersion in the answer");
      goto done;
    }
  *out = iw_xstrdup (rv);
  r = 0;
done:
  json_decref (doc);
  iw_buf_free (&body);
  free (path);
  return r;
}

static int
collect_record (iw_record *rec, void *userdata, iw_error **err)
{
  stream *s = userdata;

  (void)err;
  s->recs = iw_xreallocarray (s->recs, s->n + 1, sizeof *s->recs);
  s->recs[s->n++] = rec;
  return 0;
}

static int
list_record (iw_record *rec, void *userdata, iw_error **err)
{
  return collect_record (rec, userdata, err);
}

/* Full list: resourceVersion first, then every pod. */
static int
relist (iw_kube_watch *w, const char *cause, iw_error **err)
{
  stream s = { 0 };
  char *rv = NULL;

  if (current_rv (w, &rv, err) < 0)
    return -1;
  if (iw_kube_list_pods (&w->o.kube, list_record, &s, NULL, err) < 0)
    {
      for (size_t i = 0; i < s.n; i++)
        iw_record_free (s.recs[i]);
      free (s.recs);
      free (rv);
      return -1;
    }
  free (w->rv);
  w->rv = rv;
  bump (w, &w->stats.lists);
  w->set_fn (w->userdata, w->source, s.recs, s.n, cause);
  return 0;
}

static void
apply_event (stream *s, const char *text, size_t len)
{
  iw_kube_watch *w = s->w;
  json_t *ev = json_loadb (text, len, 0, NULL), *obj;
  const char *type = NULL, *ns = NULL, *name = NULL, *rv = NULL;
  iw_error *err = NULL;

  if (ev == NULL)
    {
      iw_log_warn ("watch: an event that is not JSON was skipped");
      return;
    }
  obj = json_object_get (ev, "object");
  json_unpack (ev, "{s:s}", "type", &type);
  json_unpack (obj, "{s:{s?s, s?s, s?s}}", "metadata", "namespace", &ns, "name", &name, "resourceVersion",
               &rv);
  if (type == NULL)
    goto done;
  if (strcmp (type, "ERROR") == 0)
    {
      json_int_t code = json_integer_value (json_object_get (obj, "code"));

      iw_log_info ("watch: ERROR event %lld: %s", (long long)code,
                   json_string_value (json_object_get (obj, "message"))
                       ? json_string_value (json_object_get (obj, "message"))
                       : "");
      if (code == 410)
        s->gone = true;
      goto done;
    }
  if (rv && *rv)
    {
      free (w->rv);
      w->rv = iw_xstrdup (rv);
    }
  if (strcmp (type, "BOOKMARK") == 0)
    {
      bump (w, &w->stats.bookmarks);
      goto done;
    }
  if (name == NULL)
    goto done;
  {
    char *pod = iw_xasprintf ("%s/%s", ns ? ns : "", name);
    char *cause = iw_xasprintf ("pod %s %s", pod,
                                strcmp (type, "ADDED") == 0     ? "added"
                                : strcmp (type, "DELETED") == 0 ? "deleted"
                                                                : "updated");

    if (strcmp (type, "DELETED") == 0)
      w->pod_fn (w->userdata, w->source, pod, NULL, 0, cause);
    else if (strcmp (type, "ADDED") == 0 || strcmp (type, "MODIFIED") == 0)
      {
        char *objtext = json_dumps (obj, JSON_COMPACT);

        s->recs = NULL;
        s->n = 0;
        if (iw_kube_parser_reset (s->parser, &err) < 0
            || iw_kube_parser_feed (s->parser, objtext, strlen (objtext), &err) < 0
            || iw_kube_parser_finish (s->parser, &err) < 0)
          {
            iw_log_warn ("watch: pod %s: %s", pod, iw_error_msg (err));
            iw_error_clear (&err);
            for (size_t i = 0; i < s->n; i++)
              iw_record_free (s->recs[i]);
            free (s->recs);
          }
        else
          w->pod_fn (w->userdata, w->source, pod, s->recs, s->n, cause);
        s->recs = NULL;
        s->n = 0;
        free (objtext);
      }
    bump (w, &w->stats.events);
    free (pod);
    free (cause);
  }
done:
  json_decref (ev);
}

static int
on_chunk (const char *data, size_t len, void *userdata, iw_error **err)
{
  stream *s = userdata;

  if (atomic_load (&s->w->stop))
    return iw_error_set (err, IW_EIO, "stopping");
  for (size_t i = 0; i < len; i++)
    {
      if (data[i] != '\n')
        {
          if (iw_buf_appendc (&s->line, data[i], err) < 0)
            return iw_error_wrap (err, "watch event");
          continue;
        }
      if (s->line.len)
        apply_event (s, iw_buf_cstr (&s->line), s->line.len);
      iw_buf_reset (&s->line);
      if (s->gone)
        return iw_error_set (err, IW_ENOTFOUND, "watch: resourceVersion expired (ERROR 410)");
    }
  return 0;
}

/* One watch request from w->rv.  Returns 0 when the stream ended normally
 * (server timeout), 1 when a relist is needed (410), -1 on failure. */
static int
watch_once (iw_kube_watch *w, iw_error **err)
{
  stream s = { .w = w };
  CURL *esc = curl_easy_init ();
  char *rv = curl_easy_escape (esc, w->rv ? w->rv : "", 0);
  char *q = iw_xasprintf ("watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u", rv,
                          w->o.watch_timeout_s);
  char *path = pods_path (w, q);
  long status = 0;
  int r;

  curl_free (rv);
  curl_easy_cleanup (esc);
  iw_buf_init (&s.line, EVENT_MAX);
  s.parser = iw_kube_parser_new (w->source, w->kc->server, collect_record, &s);
  iw_kube_parser_set_cluster (s.parser, w->kc->context ? w->kc->context : w->kc->cluster);
  bump (w, &w->stats.watches);
  r = iw_kube_client_get (w->client, path, "watch pods", on_chunk, &s, &status, err);
  if (s.gone || status == 410)
    r = 1;
  else if (r < 0 && iw_error_code (*err) == IW_ETIMEOUT)
    r = 0; /* our own deadline on an idle stream: resume */
  iw_kube_parser_free (s.parser);
  iw_buf_free (&s.line);
  free (path);
  free (q);
  return r;
}

static void
sleep_ms (iw_kube_watch *w, long ms)
{
  int64_t until = iw_clock_mono_ms () + ms;

  while (!atomic_load (&w->stop) && iw_clock_mono_ms () < until)
    {
      struct timespec ts = { 0, 50 * 1000000 };

      nanosleep (&ts, NULL);
    }
}

static void *
run (void *arg)
{
  iw_kube_watch *w = arg;
  int64_t last_list = iw_clock_mono_ms ();
  long backoff = 0;
  unsigned seed = (unsigned)iw_clock_mono_ms ();

  while (!atomic_load (&w->stop))
    {
      iw_error *err = NULL;
      int r;

      if (w->o.resync_ms > 0 && iw_clock_mono_ms () - last_list >= w->o.resync_ms)
        {
          if (relist (w, "periodic resync", &err) < 0)
            {
              iw_log_warn ("resync: %s", iw_error_msg (err));
              iw_error_free (err);
              sleep_ms (w, 1000);
              continue;
            }
          last_list = iw_clock_mono_ms ();
        }
      r = watch_once (w, &err);
      if (atomic_load (&w->stop))
        {
          iw_error_free (err);
          break;
        }
      if (r == 1)
        {
          iw_log_info ("watch: resourceVersion %s expired (410); listing again", w->rv ? w->rv : "?");
          bump (w, &w->stats.relists410);
          iw_error_clear (&err);
          if (relist (w, "relist after 410", &err) < 0)
            {
              iw_log_warn ("relist: %s", iw_error_msg (err));
              iw_error_free (err);
              sleep_ms (w, 1000);
              continue;
            }
          last_list = iw_clock_mono_ms ();
          backoff = 0;
          continue;
        }
      if (r < 0)
        {
          long jitter;

          bump (w, &w->stats.reconnects);
          backoff = backoff ? backoff * 2 : 200;
          if (backoff > w->o.backoff_max_ms)
            backoff = w->o.backoff_max_ms;
          jitter = (long)(rand_r (&seed) % (unsigned)(backoff / 2 + 1));
          iw_log_warn ("watch: %s; reconnecting in %ld ms", iw_error_msg (err), backoff / 2 + jitter);
          iw_error_free (err);
          sleep_ms (w, backoff / 2 + jitter);
          continue;
        }
      backoff = 0;
    }
  return NULL;
}

int
iw_kube_watch_start (iw_kube_watch **out, const iw_kube_watch_options *opts, iw_kube_watch_set_fn set_fn,
                     iw_kube_watch_pod_fn pod_fn, void *userdata, iw_error **err)
{
  iw_kube_watch *w = iw_xcalloc (1, sizeof *w);
  iw_kube_options co;

  *out = NULL;
  w->o = *opts;
  if (w->o.watch_timeout_s == 0)
    w->o.watch_timeout_s = 5;
  if (w->o.backoff_max_ms <= 0)
    w->o.backoff_max_ms = 30000;
  w->set_fn = set_fn;
  w->pod_fn = pod_fn;
  w->userdata = userdata;
  pthread_mutex_init (&w->lock, NULL);
  if (iw_kubeconfig_load (&w->kc, opts->kube.kubeconfig, opts->kube.context, err) < 0)
    goto fail;
  /* Watch requests end by the server's timeoutSeconds; our own deadline
   * is a little later, for servers that ignore it. */
  co = opts->kube;
  co.request_timeout_ms = (long)w->o.watch_timeout_s * 1000 + 2000;
  if (iw_kube_client_new (&w->client, w->kc, &co, err) < 0)
    goto fail;
  w->source = iw_xasprintf ("kube:%s", w->kc->server);
  if (relist (w, "start", err) < 0)
    goto fail;
  if (pthread_create (&w->thread, NULL, run, w) != 0)
    {
      iw_error_set (err, IW_EIO, "start the watch thread");
      goto fail;
    }
  w->started = true;
  *out = w;
  return 0;
fail:
  iw_kube_watch_stop (w);
  return -1;
}

void
iw_kube_watch_stop (iw_kube_watch *w)
{
  if (w == NULL)
    return;
  atomic_store (&w->stop, true);
  if (w->started)
    pthread_join (w->thread, NULL);
  iw_kube_client_free (w->client);
  iw_kubeconfig_free (w->kc);
  free (w->source);
  free (w->rv);
  pthread_mutex_destroy (&w->lock);
  free (w);
}

const char *
iw_kube_watch_source (const iw_kube_watch *w)
{
  return w->source;
}

void
iw_kube_watch_get_stats (iw_kube_watch *w, iw_kube_watch_stats *out)
{
  pthread_mutex_lock (&w->lock);
  *out = w->stats;
  pthread_mutex_unlock (&w->lock);
}
