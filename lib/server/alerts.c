/*
 * alerts.c - deliver finding alerts to webhook URLs (see alerts.h) from
 * one thread with libcurl.
 */
#include "server/alerts.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef IW_VERSION
#define IW_VERSION "0.0.0-dev"
#endif

typedef struct item
{
  struct item *next;
  size_t target;
  char *body;
  int attempts;
  int64_t due_ms; /* monotonic */
} item;

typedef struct bucket
{
  double tokens;
  int64_t last_ms;
} bucket;

struct iw_alerts
{
  iw_alerts_options o;
  iw_alert_target *targets; /* copies */
  char **hosts;             /* what logs may name */
  bucket *buckets;
  iw_metrics *metrics;
  pthread_t thread;
  bool started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  item *head;
  size_t queued;
  bool stopping;
  int64_t stop_deadline;
};

static char *
time_text (int64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[32];

  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return iw_xstrdup (buf);
}

char *
iw_alerts_format (const iw_finding_change *c, bool slack)
{
  json_t *doc;
  char *text, *opened = time_text (c->opened_at),
              *resolved = c->resolved_at ? time_text (c->resolved_at) : NULL;

  if (slack)
    {
      char *line;

      if (c->opened && c->workloads)
        line = iw_xasprintf ("[%s] %s on %s: %s (workloads: %s)", c->severity, c->check, c->reference,
                             c->message ? c->message : "new finding", c->workloads);
      else if (c->opened)
        line = iw_xasprintf ("[%s] %s on %s: %s", c->severity, c->check, c->reference,
                             c->message ? c->message : "new finding");
      else
        line = iw_xasprintf ("[resolved] %s on %s after %.0f s%s%s", c->check, c->reference,
                             (double)(c->resolved_at - c->opened_at) / 1000.0, c->resolution ? ": " : "",
                             c->resolution ? c->resolution : "");
      doc = json_pack ("{s:s}", "text", line);
      free (line);
    }
  else
    doc = json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s?}", "kind",
                     c->opened ? "FindingOpened" : "FindingResolved", "reference", c->reference, "check",
                     c->check, "severity", c->severity, "message", c->message, "workloads", c->workloads,
                     "openedAt", opened, "resolvedAt", resolved, "resolution", c->resolution);
  text = json_dumps (doc, JSON_COMPACT);
  json_decref (doc);
  free (opened);
  free (resolved);
  return text;
}

static char *
host_of (const char *url)
{
  const char *p = strstr (url, "://");
  size_t n;

  p = p ? p + 3 : url;
  n = strcspn (p, "/?#");
  if (memchr (p, '@', n))
    {
      const char *at = memchr (p, '@', n);

      n -= (size_t)(at + 1 - p);
      p = at + 1;
    }
  return iw_xstrndup (p, n);
}

static void
count (iw_alerts *a, const char *result)
{
  char *l = iw_metrics_label ("result", result);

  iw_metrics_add (a->metrics, "imgwatch_alerts_total", l, 1);
  free (l);
}

static size_t
discard (char *p, size_t size, size_t n, void *data)
{
  (void)p;
  (void)data;
  return size * n;
}

/* POST one body; 0 on 2xx, 1 when worth retrying, -1 when not. */
static int
post (iw_alerts *a, size_t t, const char *body)
{
  CURL *c = curl_easy_init ();
  struct curl_slist *h = curl_slist_append (NULL, "Content-Type: application/json");
  long status = 0;
  CURLcode rc;

  curl_easy_setopt (c, CURLOPT_URL, a->targets[t].url);
  curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, a->o.timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_USERAGENT, "imgwatch/" IW_VERSION);
  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all (h);
  curl_easy_cleanup (c);
  if (rc != CURLE_OK)
    {
      iw_log_warn ("alert to %s: %s", a->hosts[t], curl_easy_strerror (rc));
      return 1;
    }
  if (status >= 200 && status < 300)
    return 0;
  iw_log_warn ("alert to %s: HTTP %ld", a->hosts[t], status);
  return status == 429 || status >= 500 || status == 408 ? 1 : -1;
}

/* Take a token from target t's bucket; false when empty. */
static bool
take_token (iw_alerts *a, size_t t, int64_t now)
{
  bucket *b = &a->buckets[t];

  b->tokens += (double)(now - b->last_ms) * a->o.rate_per_min / 60000.0;
  if (b->tokens > a->o.burst)
    b->tokens = a->o.burst;
  b->last_ms = now;
  if (b->tokens < 1)
    return false;
  b->tokens -= 1;
  return true;
}

static void *
run (void *arg)
{
  iw_alerts *a = arg;

  pthread_mutex_lock (&a->lock);
  for (;;)
    {
      int64_t now = iw_clock_mono_ms (), next = now + 60000;
      item **pp, *it = NULL;

      if (a->stopping && (a->head == NULL || now >= a->stop_deadline))
        break;
      for (pp = &a->head; *pp; pp = &(*pp)->next)
        if ((*pp)->due_ms <= now)
          {
            it = *pp;
            *pp = it->next;
            a->queued--;
            break;
          }
        else if ((*pp)->due_ms < next)
          next = (*pp)->due_ms;
      if (it == NULL)
        {
          struct timespec ts;
          int64_t wait = a->stopping && a->stop_deadline < next ? a->stop_deadline : next;

          clock_gettime (CLOCK_MONOTONIC, &ts);
          wait -= now;
          ts.tv_sec += wait / 1000;
          ts.tv_nsec += (wait % 1000) * 1000000;
          if (ts.tv_nsec >= 1000000000)
            {
              ts.tv_sec++;
              ts.tv_nsec -= 1000000000;
            }
          pthread_cond_timedwait (&a->cond, &a->lock, &ts);
          continue;
        }
      if (!take_token (a, it->target, now))
        {
          /* Over the rate: wait for the next token rather than drop. */
          it->due_ms = now + (int64_t)(60000.0 / a->o.rate_per_min);
          it->next = a->head;
          a->head = it;
          a->queued++;
          count (a, "ratelimited");
          continue;
        }
      pthread_mutex_unlock (&a->lock);
      int r = post (a, it->target, it->body);
      pthread_mutex_lock (&a->lock);
      it->attempts++;
      if (r == 0)
        count (a, "sent");
      if (r > 0 && it->attempts < a->o.max_attempts && !a->stopping)
        {
          it->due_ms = iw_clock_mono_ms () + (a->o.backoff_ms << (it->attempts - 1));
          it->next = a->head;
          a->head = it;
          a->queued++;
          count (a, "retried");
          continue;
        }
      if (r != 0)
        count (a, "failed");
      free (it->body);
      free (it);
    }
  pthread_mutex_unlock (&a->lock);
  return NULL;
}

int
iw_alerts_new (iw_alerts **out, const iw_alerts_options *opts, iw_metrics *metrics, iw_error **err)
{
  iw_alerts *a;

  *out = NULL;
  for (size_t i = 0; i < opts->n_targets; i++)
    if (strncmp (opts->targets[i].url, "http://", 7) != 0
        && strncmp (opts->targets[i].url, "https://", 8) != 0)
      return iw_error_set (err, IW_EINVAL, "alert URL #%zu is not http(s)", i + 1);
  a = iw_xcalloc (1, sizeof *a);
  a->o = *opts;
  if (a->o.rate_per_min <= 0)
    a->o.rate_per_min = 30;
  if (a->o.burst < 1)
    a->o.burst = 1;
  if (a->o.max_attempts < 1)
    a->o.max_attempts = 1;
  a->metrics = metrics;
  a->targets = iw_xcalloc (opts->n_targets + 1, sizeof *a->targets);
  a->hosts = iw_xcalloc (opts->n_targets + 1, sizeof *a->hosts);
  a->buckets = iw_xcalloc (opts->n_targets + 1, sizeof *a->buckets);
  for (size_t i = 0; i < opts->n_targets; i++)
    {
      a->targets[i].url = iw_xstrdup (opts->targets[i].url);
      a->targets[i].slack = opts->targets[i].slack;
      a->hosts[i] = host_of (opts->targets[i].url);
      a->buckets[i].tokens = a->o.burst;
      a->buckets[i].last_ms = iw_clock_mono_ms ();
    }
  iw_metrics_declare (metrics, "imgwatch_alerts_total", IW_METRIC_COUNTER,
                      "Alert deliveries, by result (sent, retried, failed, ratelimited, dropped).", NULL, 0);
  pthread_mutex_init (&a->lock, NULL);
  {
    pthread_condattr_t ca;

    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&a->cond, &ca);
    pthread_condattr_destroy (&ca);
  }
  if (pthread_create (&a->thread, NULL, run, a) == 0)
    a->started = true;
  else
    {
      int e = errno;

      iw_alerts_free (a);
      return iw_error_set (err, IW_EIO, "start the alert thread: %s", strerror (e));
    }
  *out = a;
  return 0;
}

bool
iw_alerts_notify (iw_alerts *a, const iw_finding_change *c)
{
  bool any = false;

  if (a == NULL || a->o.n_targets == 0)
    return false;
  if (strcmp (c->severity, "critical") != 0 && strcmp (c->severity, "high") != 0)
    return false;
  pthread_mutex_lock (&a->lock);
  for (size_t t = 0; t < a->o.n_targets; t++)
    {
      item *it;

      if (a->queued >= a->o.queue_max)
        {
          count (a, "dropped");
          continue;
        }
      it = iw_xcalloc (1, sizeof *it);
      it->target = t;
      it->body = iw_alerts_format (c, a->targets[t].slack);
      it->due_ms = iw_clock_mono_ms ();
      /* Keep arrival order: append. */
      {
        item **pp = &a->head;

        while (*pp)
          pp = &(*pp)->next;
        *pp = it;
      }
      a->queued++;
      any = true;
    }
  pthread_cond_signal (&a->cond);
  pthread_mutex_unlock (&a->lock);
  return any;
}

void
iw_alerts_free (iw_alerts *a)
{
  if (a == NULL)
    return;
  if (a->started)
    {
      pthread_mutex_lock (&a->lock);
      a->stopping = true;
      a->stop_deadline = iw_clock_mono_ms () + a->o.drain_ms;
      pthread_cond_signal (&a->cond);
      pthread_mutex_unlock (&a->lock);
      pthread_join (a->thread, NULL);
    }
  while (a->head)
    {
      item *it = a->head;

      a->head = it->next;
      count (a, "dropped");
      free (it->body);
      free (it);
    }
  for (size_t i = 0; i < a->o.n_targets; i++)
    {
      free ((char *)a->targets[i].url);
      free (a->hosts[i]);
    }
  free (a->targets);
  free (a->hosts);
  free (a->buckets);
  pthread_mutex_destroy (&a->lock);
  pthread_cond_destroy (&a->cond);
  free (a);
}
