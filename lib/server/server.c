/*
 * server.c - routes, authentication and the published assessment of
 * `imgwatch serve` (see server.h), on libmicrohttpd's thread pool.
 */
#include "server/server.h"
#include "server/assets.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct iw_server
{
  struct MHD_Daemon *d;
  iw_store *store;
  iw_metrics *metrics;
  char *token;
  char *secret;
  char *cert_pem;
  char *key_pem;
  iw_server_event_fn on_event;
  void *userdata;
  iw_admission *admission;
  int port;

  pthread_mutex_t lock; /* guards what follows */
  char *json;           /* the published assessment text */
  json_t *doc;          /* the same, parsed */
  unsigned long generation;
  bool ready;
  char *not_ready;
};

/* Per-request state, for bodies. */
typedef struct request
{
  iw_buf body;
  bool too_big;
  bool rejected; /* a response was already queued */
} request;

static const double latency_bounds[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5 };

void
iw_server_declare_metrics (iw_metrics *m)
{
  iw_metrics_declare (m, "imgwatch_webhook_events_total", IW_METRIC_COUNTER,
                      "Webhook events received, by provider and result (accepted, duplicate, ignored).", NULL,
                      0);
  iw_metrics_declare (m, "imgwatch_webhook_requests_total", IW_METRIC_COUNTER,
                      "Webhook requests, by provider and HTTP status.", NULL, 0);
  iw_metrics_declare (m, "imgwatch_http_requests_total", IW_METRIC_COUNTER, "HTTP requests served, by route.",
                      NULL, 0);
  iw_metrics_declare (m, "imgwatch_http_request_duration_seconds", IW_METRIC_HISTOGRAM,
                      "Time to answer an HTTP request.", latency_bounds,
                      sizeof latency_bounds / sizeof latency_bounds[0]);
}

/* ---- helpers ---- */

static bool
secure_equal (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  unsigned char d = la != lb;

  for (size_t i = 0; i < la; i++)
    d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
  return d == 0;
}

static enum MHD_Result
respond (struct MHD_Connection *c, unsigned status, const char *type, const void *data, size_t len,
         const char *etag)
{
  struct MHD_Response *r = MHD_create_response_from_buffer (len, (void *)data, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result ret;

  MHD_add_response_header (r, "Content-Type", type);
  MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header (r, "X-Frame-Options", "DENY");
  MHD_add_response_header (r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header (r, "Cache-Control", "no-cache");
  if (strncmp (type, "text/html", 9) == 0)
    MHD_add_response_header (
        r, "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  if (etag)
    MHD_add_response_header (r, "ETag", etag);
  ret = MHD_queue_response (c, status, r);
  MHD_destroy_response (r);
  return ret;
}

static enum MHD_Result
respond_text (struct MHD_Connection *c, unsigned status, const char *text)
{
  return respond (c, status, "text/plain; charset=utf-8", text, strlen (text), NULL);
}

static enum MHD_Result
respond_json (struct MHD_Connection *c, unsigned status, json_t *doc)
{
  char *text = json_dumps (doc, JSON_COMPACT);
  enum MHD_Result r;

  if (text == NULL)
    return respond_text (c, 500, "could not encode JSON\n");
  r = respond (c, status, "application/json", text, strlen (text), NULL);
  free (text);
  return r;
}

static enum MHD_Result
respond_error (struct MHD_Connection *c, unsigned status, const char *msg)
{
  json_t *doc = json_pack ("{s:s}", "error", msg);
  enum MHD_Result r = respond_json (c, status, doc);

  json_decref (doc);
  return r;
}

static bool
token_ok (iw_server *srv, struct MHD_Connection *c)
{
  const char *h, *cookie;

  if (srv->token == NULL)
    return true;
  h = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
  if (h && strncmp (h, "Bearer ", 7) == 0 && secure_equal (h + 7, srv->token))
    return true;
  cookie = MHD_lookup_connection_value (c, MHD_COOKIE_KIND, "imgwatch_token");
  return cookie && secure_equal (cookie, srv->token);
}

static bool
secret_ok (iw_server *srv, struct MHD_Connection *c, iw_webhook_provider p)
{
  const char *h;

  if (srv->secret == NULL)
    return false;
  h = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
  if (h && strncmp (h, "Bearer ", 7) == 0 && secure_equal (h + 7, srv->secret))
    return true;
  h = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-Imgwatch-Secret");
  if (h && secure_equal (h, srv->secret))
    return true;
  h = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-JFrog-Event-Auth");
  if (p == IW_WEBHOOK_ARTIFACTORY && h && secure_equal (h, srv->secret))
    return true;
  h = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "secret");
  return p == IW_WEBHOOK_DOCKERHUB && h && secure_equal (h, srv->secret);
}

static void
count (iw_server *srv, const char *family, const char *k1, const char *v1, const char *k2, const char *v2)
{
  char *a = iw_metrics_label (k1, v1);
  char *b = k2 ? iw_metrics_label (k2, v2) : NULL;
  char *labels = b ? iw_xasprintf ("%s,%s", a, b) : iw_xstrdup (a);

  iw_metrics_add (srv->metrics, family, labels, 1);
  free (a);
  free (b);
  free (labels);
}

/* ---- the published assessment ---- */

int
iw_server_publish (iw_server *srv, const char *assessment_json, iw_error **err)
{
  json_error_t jerr;
  json_t *doc = json_loads (assessment_json, JSON_REJECT_DUPLICATES, &jerr);

  if (doc == NULL || !json_is_object (doc))
    {
      json_decref (doc);
      return iw_error_set (err, IW_EPARSE, "publish assessment: %s", doc ? "not an object" : jerr.text);
    }
  pthread_mutex_lock (&srv->lock);
  free (srv->json);
  json_decref (srv->doc);
  srv->json = iw_xstrdup (assessment_json);
  srv->doc = doc;
  srv->generation++;
  pthread_mutex_unlock (&srv->lock);
  return 0;
}

void
iw_server_set_event_fn (iw_server *srv, iw_server_event_fn fn, void *userdata)
{
  pthread_mutex_lock (&srv->lock);
  srv->on_event = fn;
  srv->userdata = userdata;
  pthread_mutex_unlock (&srv->lock);
}

void
iw_server_set_ready (iw_server *srv, bool ready, const char *reason)
{
  pthread_mutex_lock (&srv->lock);
  srv->ready = ready;
  free (srv->not_ready);
  srv->not_ready = iw_xstrdup0 (reason);
  pthread_mutex_unlock (&srv->lock);
}

/* ---- routes ---- */

static enum MHD_Result
serve_assessment (iw_server *srv, struct MHD_Connection *c)
{
  const char *inm = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "If-None-Match");
  char etag[48];
  char *text = NULL;
  enum MHD_Result r;

  pthread_mutex_lock (&srv->lock);
  snprintf (etag, sizeof etag, "\"g%lu\"", srv->generation);
  if (srv->json)
    text = iw_xstrdup (srv->json);
  pthread_mutex_unlock (&srv->lock);
  if (text == NULL)
    return respond_error (c, 503, "no assessment yet");
  if (inm && strcmp (inm, etag) == 0)
    r = respond (c, 304, "application/json", "", 0, etag);
  else
    r = respond (c, 200, "application/json", text, strlen (text), etag);
  free (text);
  return r;
}

/* The image of the current assessment whose reference is ref (a new
 * reference), or NULL. */
static json_t *
find_image (iw_server *srv, const char *ref)
{
  json_t *images, *img, *found = NULL;
  size_t i;

  pthread_mutex_lock (&srv->lock);
  images = json_object_get (srv->doc, "images");
  json_array_foreach (images, i, img)
  {
    const char *r = json_string_value (json_object_get (img, "reference"));

    if (r && strcmp (r, ref) == 0)
      {
        found = json_incref (img);
        break;
      }
  }
  pthread_mutex_unlock (&srv->lock);
  return found;
}

static enum MHD_Result
serve_image (iw_server *srv, struct MHD_Connection *c, const char *ref)
{
  json_t *img = find_image (srv, ref), *hist = NULL, *doc;
  iw_error *err = NULL;
  enum MHD_Result r;

  if (iw_store_history (srv->store, &hist, ref, 200, &err) < 0)
    {
      iw_log_error ("api: %s", iw_error_msg (err));
      iw_error_free (err);
      json_decref (img);
      return respond_error (c, 500, "could not read history");
    }
  if (img == NULL && json_array_size (json_object_get (hist, "tags")) == 0
      && json_array_size (json_object_get (hist, "runs")) == 0
      && json_array_size (json_object_get (hist, "findings")) == 0)
    {
      json_decref (hist);
      return respond_error (c, 404, "no such image");
    }
  doc = json_pack ("{s:s, s:o, s:o}", "reference", ref, "image", img ? img : json_null (), "history", hist);
  r = respond_json (c, 200, doc);
  json_decref (doc);
  return r;
}

static json_t *
mttr_json (iw_server *srv, iw_error **err)
{
  iw_mttr *m = NULL;
  size_t n = 0;
  json_t *a;

  if (iw_store_mttr (srv->store, &m, &n, err) < 0)
    return NULL;
  a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_pack ("{s:s, s:I, s:I, s:f, s:f}", "check", m[i].check, "resolved",
                                         (json_int_t)m[i].resolved, "open", (json_int_t)m[i].open,
                                         "meanSeconds", m[i].mean_s, "maxSeconds", m[i].max_s));
  iw_mttr_free (m, n);
  return a;
}

static enum MHD_Result
serve_history (iw_server *srv, struct MHD_Connection *c)
{
  const char *lim = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "limit");
  long limit = lim ? strtol (lim, NULL, 10) : 500;
  json_t *hist = NULL, *mttr = NULL, *rb = NULL;
  iw_error *err = NULL;
  enum MHD_Result r;

  if (limit <= 0 || limit > 100000)
    return respond_error (c, 400, "limit must be between 1 and 100000");
  if (iw_store_history (srv->store, &hist, NULL, (size_t)limit, &err) < 0
      || (mttr = mttr_json (srv, &err)) == NULL || iw_store_rollbacks (srv->store, &rb, &err) < 0)
    {
      iw_log_error ("api: %s", iw_error_msg (err));
      iw_error_free (err);
      json_decref (hist);
      json_decref (mttr);
      return respond_error (c, 500, "could not read history");
    }
  json_object_set_new (hist, "mttr", mttr);
  json_object_set_new (hist, "rollbacks", rb);
  r = respond_json (c, 200, hist);
  json_decref (hist);
  return r;
}

/* Findings by check and severity, images and containers, from the
 * published assessment; MTTR and the inbox from the store. */
static void
refresh_gauges (iw_server *srv)
{
  json_t *images, *img, *f;
  size_t i, j;
  iw_mttr *m = NULL;
  size_t n = 0;
  iw_error *err = NULL;
  long total = 0, pending = 0;

  iw_metrics_clear (srv->metrics, "imgwatch_findings");
  pthread_mutex_lock (&srv->lock);
  images = json_object_get (srv->doc, "images");
  iw_metrics_set (
      srv->metrics, "imgwatch_images", NULL,
      (double)json_integer_value (json_object_get (json_object_get (srv->doc, "summary"), "images")));
  iw_metrics_set (
      srv->metrics, "imgwatch_containers", NULL,
      (double)json_integer_value (json_object_get (json_object_get (srv->doc, "summary"), "containers")));
  json_array_foreach (images, i, img)
  {
    json_array_foreach (json_object_get (img, "findings"), j, f)
    {
      char *a = iw_metrics_label ("check", json_string_value (json_object_get (f, "check")));
      char *b = iw_metrics_label ("severity", json_string_value (json_object_get (f, "severity")));
      char *labels = iw_xasprintf ("%s,%s", a, b);

      iw_metrics_add (srv->metrics, "imgwatch_findings", labels, 1);
      free (a);
      free (b);
      free (labels);
    }
  }
  pthread_mutex_unlock (&srv->lock);

  if (iw_store_mttr (srv->store, &m, &n, &err) == 0)
    {
      iw_metrics_clear (srv->metrics, "imgwatch_mttr_seconds");
      iw_metrics_clear (srv->metrics, "imgwatch_findings_resolved_total");
      for (size_t k = 0; k < n; k++)
        {
          char *l = iw_metrics_label ("check", m[k].check);

          iw_metrics_set (srv->metrics, "imgwatch_mttr_seconds", l, m[k].mean_s);
          iw_metrics_set (srv->metrics, "imgwatch_findings_resolved_total", l, (double)m[k].resolved);
          free (l);
        }
      iw_mttr_free (m, n);
    }
  iw_error_clear (&err);
  if (iw_store_inbox_count (srv->store, &total, &pending, &err) == 0)
    iw_metrics_set (srv->metrics, "imgwatch_webhook_inbox_pending", NULL, (double)pending);
  iw_error_free (err);
}

static enum MHD_Result
serve_metrics (iw_server *srv, struct MHD_Connection *c)
{
  iw_buf b = IW_BUF_INIT (16 * IW_MIB);
  iw_error *err = NULL;
  enum MHD_Result r;

  refresh_gauges (srv);
  if (iw_metrics_render (srv->metrics, &b, &err) < 0)
    {
      iw_error_free (err);
      iw_buf_free (&b);
      return respond_text (c, 500, "metrics too large\n");
    }
  r = respond (c, 200, "text/plain; version=0.0.4; charset=utf-8", iw_buf_cstr (&b), b.len, NULL);
  iw_buf_free (&b);
  return r;
}

static enum MHD_Result
serve_asset (struct MHD_Connection *c, const char *name)
{
  const iw_asset *a = iw_server_asset (name);

  if (a == NULL)
    return respond_error (c, 404, "no such asset");
  return respond (c, 200, a->content_type, a->data, a->len, NULL);
}

/* "/?token=..." sets the cookie the page then uses, and drops the token
 * from the address bar. */
static enum MHD_Result
login (iw_server *srv, struct MHD_Connection *c, const char *token)
{
  struct MHD_Response *r;
  enum MHD_Result ret;
  char *cookie;

  if (!secure_equal (token, srv->token))
    return respond_error (c, 401, "bad token");
  cookie = iw_xasprintf ("imgwatch_token=%s; Path=/; HttpOnly; SameSite=Strict%s", srv->token,
                         srv->cert_pem ? "; Secure" : "");
  r = MHD_create_response_from_buffer (0, (void *)"", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (r, "Set-Cookie", cookie);
  MHD_add_response_header (r, "Location", "/");
  ret = MHD_queue_response (c, 303, r);
  MHD_destroy_response (r);
  free (cookie);
  return ret;
}

static enum MHD_Result
handle_webhook (iw_server *srv, struct MHD_Connection *c, iw_webhook_provider p, request *rq)
{
  const char *pname = iw_webhook_provider_name (p);
  iw_webhook_event *ev = NULL;
  size_t n = 0, accepted = 0, dup = 0, ignored = 0;
  iw_error *err = NULL;
  int64_t now = iw_store_now_ms ();
  json_t *doc;
  enum MHD_Result r;

  if (rq->too_big)
    {
      count (srv, "imgwatch_webhook_requests_total", "provider", pname, "code", "413");
      return respond_error (c, 413, "body too large");
    }
  if (iw_webhook_parse (&ev, &n, p, iw_buf_cstr (&rq->body), rq->body.len, &err) < 0)
    {
      char *msg = iw_xstrdup (iw_error_msg (err));

      iw_log_warn ("webhook %s: %s", pname, msg);
      count (srv, "imgwatch_webhook_requests_total", "provider", pname, "code", "400");
      r = respond_error (c, 400, msg);
      free (msg);
      iw_error_free (err);
      return r;
    }
  for (size_t i = 0; i < n; i++)
    {
      bool fresh = false;
      char *payload;
      json_t *o
          = json_pack ("{s:s, s:s?, s:s?, s:s?, s:s?, s:I}", "action", iw_webhook_action_name (ev[i].action),
                       "registry", ev[i].registry, "repository", ev[i].repository, "tag", ev[i].tag, "digest",
                       ev[i].digest, "time", (json_int_t)ev[i].time_ms);

      payload = json_dumps (o, JSON_COMPACT);
      json_decref (o);
      if (iw_store_inbox_add (srv->store, &fresh, ev[i].id, pname, payload, now, &err) < 0)
        {
          free (payload);
          iw_log_error ("webhook %s: %s", pname, iw_error_msg (err));
          iw_error_free (err);
          iw_webhook_events_free (ev, n);
          count (srv, "imgwatch_webhook_requests_total", "provider", pname, "code", "503");
          return respond_error (c, 503, "could not store the event; retry");
        }
      free (payload);
      if (!fresh)
        {
          dup++;
          count (srv, "imgwatch_webhook_events_total", "provider", pname, "result", "duplicate");
          continue;
        }
      if (ev[i].action == IW_WEBHOOK_OTHER || ev[i].tag == NULL)
        {
          ignored++;
          count (srv, "imgwatch_webhook_events_total", "provider", pname, "result", "ignored");
          iw_store_inbox_done (srv->store, ev[i].id, now, NULL);
          continue;
        }
      accepted++;
      count (srv, "imgwatch_webhook_events_total", "provider", pname, "result", "accepted");
      {
        iw_server_event_fn fn;
        void *ud;

        pthread_mutex_lock (&srv->lock);
        fn = srv->on_event;
        ud = srv->userdata;
        pthread_mutex_unlock (&srv->lock);
        if (fn)
          fn (&ev[i], now, ud);
      }
    }
  iw_webhook_events_free (ev, n);
  count (srv, "imgwatch_webhook_requests_total", "provider", pname, "code", "202");
  doc = json_pack ("{s:I, s:I, s:I}", "accepted", (json_int_t)accepted, "duplicates", (json_int_t)dup,
                   "ignored", (json_int_t)ignored);
  r = respond_json (c, 202, doc);
  json_decref (doc);
  return r;
}

static enum MHD_Result
route_get (iw_server *srv, struct MHD_Connection *c, const char *url)
{
  if (strcmp (url, "/healthz") == 0)
    return respond_text (c, 200, "ok\n");
  if (strcmp (url, "/readyz") == 0)
    {
      bool ready;
      char *why;
      enum MHD_Result r;

      pthread_mutex_lock (&srv->lock);
      ready = srv->ready && srv->json != NULL;
      why = iw_xstrdup (srv->not_ready ? srv->not_ready : "no assessment yet");
      pthread_mutex_unlock (&srv->lock);
      if (ready)
        r = respond_text (c, 200, "ready\n");
      else
        {
          char *text = iw_xasprintf ("not ready: %s\n", why);

          r = respond_text (c, 503, text);
          free (text);
        }
      free (why);
      return r;
    }
  if (srv->token && strcmp (url, "/") == 0)
    {
      const char *t = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "token");

      if (t)
        return login (srv, c, t);
    }
  if (!token_ok (srv, c))
    {
      if (strncmp (url, "/api/", 5) == 0 || strcmp (url, "/metrics") == 0)
        return respond_error (c, 401, "a bearer token is required");
      return respond_text (c, 401, "This dashboard needs a token: open /?token=<token>.\n");
    }
  if (strcmp (url, "/") == 0 || strncmp (url, "/images/", 8) == 0)
    return serve_asset (c, "index.html");
  if (strncmp (url, "/assets/", 8) == 0)
    return serve_asset (c, url + 8);
  if (strcmp (url, "/api/v1/assessment") == 0)
    return serve_assessment (srv, c);
  if (strncmp (url, "/api/v1/images/", 15) == 0 && url[15])
    return serve_image (srv, c, url + 15);
  if (strcmp (url, "/api/v1/history") == 0)
    return serve_history (srv, c);
  if (strcmp (url, "/metrics") == 0)
    return serve_metrics (srv, c);
  return respond_error (c, 404, "not found");
}

static const char *
route_name (const char *url)
{
  static const char *const routes[]
      = { "/healthz",        "/readyz",  "/metrics", "/api/v1/assessment", "/api/v1/images/",
          "/api/v1/history", "/images/", "/assets/", "/webhooks/" };

  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strncmp (url, routes[i], strlen (routes[i])) == 0)
      return routes[i];
  return strcmp (url, "/") == 0 ? "/" : "other";
}

/* POST /admission/<endpoint>: no token (the API server calls it; it has
 * no side effects), the body capped at IW_ADMISSION_BODY_MAX. */
static enum MHD_Result
admission_request (iw_server *srv, struct MHD_Connection *c, const char *url, const char *method,
                   const char *upload_data, size_t *upload_data_size, request **rqp)
{
  request *rq = *rqp;
  char *out = NULL;
  unsigned status = 500;
  enum MHD_Result r;

  if (rq == NULL)
    {
      const char *cl = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Length");

      rq = *rqp = iw_xcalloc (1, sizeof *rq);
      iw_buf_init (&rq->body, IW_ADMISSION_BODY_MAX);
      count (srv, "imgwatch_http_requests_total", "route", "/admission/", NULL, NULL);
      if (srv->admission == NULL)
        {
          rq->rejected = true;
          return respond_error (c, 404,
                                "admission is off: it needs serve --tls-cert and --tls-key (Kubernetes calls "
                                "webhooks over HTTPS only)");
        }
      if (strcmp (method, "POST") == 0 && !(cl && strtoull (cl, NULL, 10) > IW_ADMISSION_BODY_MAX))
        return MHD_YES;
      rq->too_big = true; /* or a bad method: answered now, the body unread */
    }
  else if (*upload_data_size)
    {
      if (!rq->rejected && !rq->too_big
          && iw_buf_append (&rq->body, upload_data, *upload_data_size, NULL) < 0)
        rq->too_big = true;
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (rq->rejected)
    return MHD_YES;
  rq->rejected = true;
  iw_admission_http (&out, &status, srv->admission, url + 11, method, iw_buf_cstr (&rq->body), rq->body.len,
                     rq->too_big);
  r = respond (c, status, "application/json", out, strlen (out), NULL);
  free (out);
  return r;
}

static enum MHD_Result
handler (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
         const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  iw_server *srv = cls;
  request *rq = *con_cls;
  bool is_webhook = strncmp (url, "/webhooks/", 10) == 0;

  (void)version;
  if (strncmp (url, "/admission/", 11) == 0)
    return admission_request (srv, c, url, method, upload_data, upload_data_size, (request **)con_cls);
  if (!is_webhook)
    {
      if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return respond_error (c, 405, "read-only: use GET");
      if (*upload_data_size)
        {
          *upload_data_size = 0; /* a GET with a body: ignore it */
          return MHD_YES;
        }
      struct timespec t0, t1;
      enum MHD_Result r;

      count (srv, "imgwatch_http_requests_total", "route", route_name (url), NULL, NULL);
      clock_gettime (CLOCK_MONOTONIC, &t0);
      r = route_get (srv, c, url);
      clock_gettime (CLOCK_MONOTONIC, &t1);
      iw_metrics_observe (srv->metrics, "imgwatch_http_request_duration_seconds", NULL,
                          (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
      return r;
    }

  /* Webhooks: decide before reading the body. */
  int p = iw_webhook_provider_parse (url + 10);

  if (rq == NULL)
    {
      const char *cl = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Length");

      rq = iw_xcalloc (1, sizeof *rq);
      iw_buf_init (&rq->body, IW_WEBHOOK_BODY_MAX);
      *con_cls = rq;
      count (srv, "imgwatch_http_requests_total", "route", "/webhooks/", NULL, NULL);
      if (p < 0)
        {
          rq->rejected = true;
          return respond_error (c, 404, "unknown webhook provider");
        }
      if (strcmp (method, "POST") != 0)
        {
          rq->rejected = true;
          return respond_error (c, 405, "use POST");
        }
      if (!secret_ok (srv, c, (iw_webhook_provider)p))
        {
          rq->rejected = true;
          count (srv, "imgwatch_webhook_requests_total", "provider", url + 10, "code", "401");
          return respond_error (c, 401,
                                srv->secret ? "bad or missing webhook secret"
                                            : "webhooks are disabled: no secret configured");
        }
      if (cl && strtoull (cl, NULL, 10) > IW_WEBHOOK_BODY_MAX)
        {
          rq->rejected = true;
          count (srv, "imgwatch_webhook_requests_total", "provider", url + 10, "code", "413");
          return respond_error (c, 413, "body too large");
        }
      return MHD_YES;
    }
  if (*upload_data_size)
    {
      if (!rq->rejected && !rq->too_big
          && iw_buf_append (&rq->body, upload_data, *upload_data_size, NULL) < 0)
        rq->too_big = true;
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (rq->rejected)
    return MHD_YES;
  rq->rejected = true;
  return handle_webhook (srv, c, (iw_webhook_provider)p, rq);
}

static void
completed (void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  request *rq = *con_cls;

  (void)cls;
  (void)c;
  (void)toe;
  if (rq)
    {
      iw_buf_free (&rq->body);
      free (rq);
      *con_cls = NULL;
    }
}

/* Parse "HOST:PORT", "[V6]:PORT" or "PORT" into a socket address. */
static int
parse_listen (struct sockaddr_storage *out, const char *listen, iw_error **err)
{
  char host[256] = "127.0.0.1";
  const char *port_s;
  char *end;
  long port;

  memset (out, 0, sizeof *out);
  if (listen == NULL || *listen == '\0')
    return iw_error_set (err, IW_EINVAL, "empty listen address");
  if (listen[0] == '[')
    {
      const char *close = strchr (listen, ']');

      if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
        return iw_error_set (err, IW_EINVAL, "listen address \"%s\": expected [IPV6]:PORT", listen);
      memcpy (host, listen + 1, (size_t)(close - listen - 1));
      host[close - listen - 1] = '\0';
      port_s = close + 2;
    }
  else if (strchr (listen, ':'))
    {
      const char *colon = strrchr (listen, ':');

      if ((size_t)(colon - listen) >= sizeof host || colon == listen)
        return iw_error_set (err, IW_EINVAL, "listen address \"%s\": expected HOST:PORT", listen);
      memcpy (host, listen, (size_t)(colon - listen));
      host[colon - listen] = '\0';
      port_s = colon + 1;
    }
  else
    port_s = listen;
  errno = 0;
  port = strtol (port_s, &end, 10);
  if (*port_s == '\0' || *end != '\0' || errno || port < 0 || port > 65535)
    return iw_error_set (err, IW_EINVAL, "listen address \"%s\": bad port \"%s\"", listen, port_s);
  if (strchr (host, ':'))
    {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;

      a->sin6_family = AF_INET6;
      a->sin6_port = htons ((uint16_t)port);
      if (inet_pton (AF_INET6, host, &a->sin6_addr) != 1)
        return iw_error_set (err, IW_EINVAL, "listen address \"%s\": bad IPv6 address", listen);
    }
  else
    {
      struct sockaddr_in *a = (struct sockaddr_in *)out;

      if (strcmp (host, "localhost") == 0)
        strcpy (host, "127.0.0.1");
      a->sin_family = AF_INET;
      a->sin_port = htons ((uint16_t)port);
      if (inet_pton (AF_INET, host, &a->sin_addr) != 1)
        return iw_error_set (err, IW_EINVAL,
                             "listen address \"%s\": bad IPv4 address (use an IP, not a name)", listen);
    }
  return 0;
}

static int
read_file (char **out, const char *path, iw_error **err)
{
  FILE *f = fopen (path, "rb");
  iw_buf b = IW_BUF_INIT (IW_MIB);
  char chunk[4096];
  size_t n;

  *out = NULL;
  if (f == NULL)
    return iw_error_set (err, IW_EIO, "open %s: %s", path, strerror (errno));
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    if (iw_buf_append (&b, chunk, n, err) < 0)
      {
        fclose (f);
        iw_buf_free (&b);
        return iw_error_wrap (err, "read %s", path);
      }
  fclose (f);
  *out = iw_buf_take (&b);
  return 0;
}

static void
mhd_log (void *cls, const char *fmt, va_list ap)
{
  char *msg = iw_xvasprintf (fmt, ap);
  size_t n = strlen (msg);

  (void)cls;
  while (n && msg[n - 1] == '\n')
    msg[--n] = '\0';
  iw_log_debug ("http: %s", msg);
  free (msg);
}

int
iw_server_start (iw_server **out, const iw_server_options *opts, iw_store *store, iw_metrics *metrics,
                 iw_error **err)
{
  struct sockaddr_storage sa;
  iw_server *srv = NULL;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  const union MHD_DaemonInfo *info;
  int r = -1;

  *out = NULL;
  if (parse_listen (&sa, opts->listen, err) < 0)
    return -1;
  if (!opts->tls_cert != !opts->tls_key)
    return iw_error_set (err, IW_EINVAL, "TLS needs both a certificate and a key");
  if (sa.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  srv = iw_xcalloc (1, sizeof *srv);
  pthread_mutex_init (&srv->lock, NULL);
  srv->store = store;
  srv->metrics = metrics;
  srv->token = iw_xstrdup0 (opts->token);
  srv->secret = iw_xstrdup0 (opts->webhook_secret);
  srv->on_event = opts->on_event;
  srv->userdata = opts->userdata;
  srv->admission = opts->admission;
  iw_server_declare_metrics (metrics);
  iw_metrics_declare (metrics, "imgwatch_findings", IW_METRIC_GAUGE, "Open findings, by check and severity.",
                      NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_images", IW_METRIC_GAUGE, "Running images assessed.", NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_containers", IW_METRIC_GAUGE, "Containers assessed.", NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_mttr_seconds", IW_METRIC_GAUGE,
                      "Mean time to resolve a finding, by check, over the retained history.", NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_findings_resolved_total", IW_METRIC_GAUGE,
                      "Findings resolved, by check, over the retained history.", NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_webhook_inbox_pending", IW_METRIC_GAUGE,
                      "Webhook events stored but not yet processed.", NULL, 0);
  if (opts->tls_cert)
    {
      if (read_file (&srv->cert_pem, opts->tls_cert, err) < 0
          || read_file (&srv->key_pem, opts->tls_key, err) < 0)
        {
          iw_error_wrap (err, "TLS");
          goto done;
        }
      flags |= MHD_USE_TLS;
    }
  srv->d = MHD_start_daemon (flags, 0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_THREAD_POOL_SIZE, opts->threads ? opts->threads : 4U,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                             MHD_OPTION_CONNECTION_LIMIT, 1000U, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                             (size_t)(64 * 1024), MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                             srv->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->cert_pem,
                             MHD_OPTION_HTTPS_MEM_KEY, srv->key_pem, MHD_OPTION_END);
  if (srv->d == NULL)
    {
      iw_error_set (err, IW_EIO, "listen on %s: %s", opts->listen,
                    errno ? strerror (errno) : "libmicrohttpd could not start");
      goto done;
    }
  info = MHD_get_daemon_info (srv->d, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info ? info->port : 0;
  *out = iw_steal (&srv);
  r = 0;
done:
  iw_server_stop (srv);
  return r;
}

void
iw_server_stop (iw_server *srv)
{
  if (srv == NULL)
    return;
  if (srv->d)
    MHD_stop_daemon (srv->d);
  free (srv->token);
  free (srv->secret);
  free (srv->cert_pem);
  free (srv->key_pem);
  free (srv->json);
  free (srv->not_ready);
  json_decref (srv->doc);
  pthread_mutex_destroy (&srv->lock);
  free (srv);
}

int
iw_server_port (const iw_server *srv)
{
  return srv->port;
}
