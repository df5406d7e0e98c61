/*
 * client.c - the registry client's transport and request logic.
 *
 * Every HTTP exchange is a `req` driven by one libcurl multi handle.
 * Requests wait in a per-registry queue until the registry is below its
 * concurrency bound (default 16) and the whole client below its own
 * (default 64); connections are reused from the multi handle's cache and
 * HTTP/2 is negotiated over TLS where the server offers it.
 *
 * A finished transfer goes through finish(), which owns the rules that
 * apply to every request: redirects (followed by hand, so credentials can
 * be dropped when the origin changes), 401 challenges (Bearer token flow
 * with a per-scope cache, or Basic), 429 with Retry-After, 5xx with
 * exponential backoff and jitter, and the per-registry circuit breaker.
 * What is left (a 2xx or a final error) reaches the request's callback,
 * which belongs to a resolve or check job.
 *
 * Bodies fetched by digest are hashed in fetch_done() and refused when
 * they do not match; mirrors are tried first for such fetches, then the
 * authoritative registry.
 */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef IW_VERSION
#define IW_VERSION "0.0.0-dev"
#endif

#define MAX_REDIRECTS 5
#define SYSTEM_CA_PATH "/etc/ssl/certs"

const double iw_registry_latency_bounds[IW_REGISTRY_LATENCY_BUCKETS]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 };

typedef struct req req;
typedef struct host host;
typedef void (*req_cb) (req *r);

/* A cached bearer token for one scope of one registry. */
typedef struct token
{
  struct token *next;
  char *scope;
  char *value;
  long long expires_ms;
  bool pending;
  req *waiters; /* requests waiting for this token, linked by wait_next */
} token;

struct host
{
  char *name;   /* the authority we connect to: "127.0.0.1:5000", "registry-1.docker.io" */
  char *domain; /* the name settings and credentials are looked up by: "docker.io" */
  bool insecure;
  char *ca;
  int max_active;
  int active;
  req *queue_head, *queue_tail;
  /* Circuit breaker. */
  int failures;
  long long open_until_ms;
  char *last_failure;
  /* Authentication learned from challenges. */
  char *realm, *service;
  bool basic;
  int creds_state; /* 0 not looked up, 1 have, -1 none, -2 lookup failed */
  iw_creds creds;
  iw_code creds_code;
  char *creds_error;
  token *tokens;
};

struct req
{
  req *next;      /* in a host queue or the delayed list */
  req *wait_next; /* waiting for a token */
  iw_registry *reg;
  host *host;
  char *url;
  char *origin; /* scheme://host:port credentials may go to */
  char *what;   /* "HEAD 127.0.0.1:5000/app:1" for messages */
  char *repo;   /* repository path, for scopes */
  char *scope;  /* "repository:app:pull"; NULL for token requests */
  bool head;
  const char *accept;
  size_t body_max;
  bool is_token;
  token *token_for;
  const char *ca; /* borrowed from a host */
  char *auth;     /* Authorization value, or NULL */
  bool auth_bearer, auth_basic, no_auth;
  token *tok; /* the cache entry whose token auth carries */
  int token_refetches;
  int token_waits;
  int attempts;
  int redirects;
  long long due_ms;
  CURL *easy;
  struct curl_slist *hdrs;
  long long started_ms;
  /* The response. */
  long status;
  CURLcode cc;
  char errbuf[CURL_ERROR_SIZE];
  iw_buf body;
  size_t header_bytes;
  bool too_big, headers_too_big;
  char *h_digest, *h_ctype, *h_retry_after, *h_location;
  iw_buf h_www;
  /* The outcome for the callback. */
  iw_code code;
  char *msg;
  req_cb cb;
  void *ctx;
  size_t idx;
  /* Fetch by digest: verify, and try candidates (mirrors, then the registry). */
  char *expect;
  host *cands[8];
  size_t n_cands, cand;
  bool blob;
  req_cb final_cb;
};

struct iw_registry
{
  CURLM *multi;
  iw_registry_options o;
  char *user_agent;
  char *docker_config_dir;
  iw_config cfg; /* a copy of the registries and mirrors only */
  host **hosts;
  size_t n_hosts;
  size_t rr; /* round-robin start for pump() */
  int active;
  size_t queued;
  req *delayed;
  size_t n_delayed;
  CURL **pool;
  size_t n_pool;
  /* Batch calls hand out their jobs a few at a time, so that memory
   * stays flat for tens of thousands of references. */
  bool (*feed) (void *ctx);
  void *feed_ctx;
  pthread_mutex_t lock; /* guards m */
  iw_registry_metrics m;
  unsigned seed;
};

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration copy ---------------------------------------------- */

static char **
strv_dup (char **v)
{
  size_t n = 0;
  char **r;

  if (v == NULL)
    return NULL;
  while (v[n])
    n++;
  r = iw_xcalloc (n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = iw_xstrdup (v[i]);
  return r;
}

static void
cfg_copy (iw_config *dst, const iw_config *src)
{
  memset (dst, 0, sizeof *dst);
  if (src == NULL)
    return;
  dst->n_registries = src->n_registries;
  dst->registries = iw_xcalloc (src->n_registries + 1, sizeof *dst->registries);
  for (size_t i = 0; i < src->n_registries; i++)
    {
      const iw_registry_settings *s = &src->registries[i];
      iw_registry_settings *d = &dst->registries[i];

      d->host = iw_xstrdup0 (s->host);
      d->insecure = s->insecure;
      d->ca = iw_xstrdup0 (s->ca);
      d->username = iw_xstrdup0 (s->username);
      d->password_file = iw_xstrdup0 (s->password_file);
      d->max_concurrency = s->max_concurrency;
    }
  dst->n_mirrors = src->n_mirrors;
  dst->mirrors = iw_xcalloc (src->n_mirrors + 1, sizeof *dst->mirrors);
  for (size_t i = 0; i < src->n_mirrors; i++)
    {
      dst->mirrors[i].registry = iw_xstrdup0 (src->mirrors[i].registry);
      dst->mirrors[i].mirrors = strv_dup (src->mirrors[i].mirrors);
    }
}

static void
cfg_clear (iw_config *c)
{
  for (size_t i = 0; i < c->n_registries; i++)
    {
      free (c->registries[i].host);
      free (c->registries[i].ca);
      free (c->registries[i].username);
      free (c->registries[i].password_file);
    }
  free (c->registries);
  for (size_t i = 0; i < c->n_mirrors; i++)
    {
      free (c->mirrors[i].registry);
      for (size_t j = 0; c->mirrors[i].mirrors && c->mirrors[i].mirrors[j]; j++)
        free (c->mirrors[i].mirrors[j]);
      free (c->mirrors[i].mirrors);
    }
  free (c->mirrors);
}

/* Settings by exact host, or docker.io's aliases. */
static const iw_registry_settings *
settings_for (const iw_registry *reg, const char *name)
{
  if (reg->cfg.n_registries == 0)
    return NULL;
  return iw_config_registry (&reg->cfg, name);
}

/* ---- hosts -------------------------------------------------------------- */

static host *
host_get (iw_registry *reg, const char *name, const char *domain)
{
  const iw_registry_settings *s;
  host *h;

  for (size_t i = 0; i < reg->n_hosts; i++)
    if (strcmp (reg->hosts[i]->name, name) == 0)
      return reg->hosts[i];
  h = iw_xcalloc (1, sizeof *h);
  h->name = iw_xstrdup (name);
  h->domain = iw_xstrdup (domain ? domain : name);
  s = settings_for (reg, h->domain);
  if (s == NULL)
    s = settings_for (reg, h->name);
  h->max_active = reg->o.max_per_host;
  if (s)
    {
      h->insecure = s->insecure;
      h->ca = iw_xstrdup0 (s->ca);
      if (s->max_concurrency > 0)
        h->max_active = s->max_concurrency;
    }
  reg->hosts = iw_xreallocarray (reg->hosts, reg->n_hosts + 1, sizeof *reg->hosts);
  reg->hosts[reg->n_hosts++] = h;
  return h;
}

static void
host_free (host *h)
{
  token *t, *next;

  if (h == NULL)
    return;
  free (h->name);
  free (h->domain);
  free (h->ca);
  free (h->last_failure);
  free (h->realm);
  free (h->service);
  iw_creds_clear (&h->creds);
  free (h->creds_error);
  for (t = h->tokens; t; t = next)
    {
      next = t->next;
      free (t->scope);
      free (t->value);
      free (t);
    }
  free (h);
}

/* Credentials for a host, looked up once.  1 have, 0 none, -1 error. */
static int
host_creds (iw_registry *reg, host *h, iw_error **err)
{
  if (h->creds_state == 0)
    {
      iw_error *e = NULL;
      int r = iw_creds_lookup (&h->creds, &reg->cfg, h->domain, reg->docker_config_dir,
                               !reg->o.no_docker_config, &e);

      if (r < 0)
        {
          h->creds_state = -2;
          h->creds_code = iw_error_code (e) ? iw_error_code (e) : IW_EAUTH;
          h->creds_error = iw_xstrdup (iw_error_msg (e));
          iw_error_free (e);
        }
      else
        h->creds_state = r > 0 ? 1 : -1;
    }
  if (h->creds_state == -2)
    return iw_error_set (err, h->creds_code, "%s", h->creds_error);
  return h->creds_state == 1;
}

/* ---- metrics ------------------------------------------------------------ */

static void
metrics_request (iw_registry *reg, double seconds, uint64_t bytes, bool error)
{
  pthread_mutex_lock (&reg->lock);
  reg->m.requests++;
  if (error)
    reg->m.errors++;
  reg->m.bytes += bytes;
  reg->m.latency_sum += seconds;
  for (int i = 0; i < IW_REGISTRY_LATENCY_BUCKETS; i++)
    if (seconds <= iw_registry_latency_bounds[i])
      reg->m.latency_buckets[i]++;
  pthread_mutex_unlock (&reg->lock);
}

#define METRIC_INC(reg, field)                                                                               \
  do                                                                                                         \
    {                                                                                                        \
      pthread_mutex_lock (&(reg)->lock);                                                                     \
      (reg)->m.field++;                                                                                      \
      pthread_mutex_unlock (&(reg)->lock);                                                                   \
    }                                                                                                        \
  while (0)

void
iw_registry_metrics_get (iw_registry_metrics *out, const iw_registry *reg)
{
  pthread_mutex_lock ((pthread_mutex_t *)&reg->lock);
  *out = reg->m;
  pthread_mutex_unlock ((pthread_mutex_t *)&reg->lock);
}

/* ---- requests ----------------------------------------------------------- */

static void
req_reset_response (req *r)
{
  r->status = 0;
  r->cc = CURLE_OK;
  r->errbuf[0] = '\0';
  iw_buf_free (&r->body);
  iw_buf_init (&r->body, r->body_max);
  r->header_bytes = 0;
  r->too_big = r->headers_too_big = false;
  free (r->h_digest);
  free (r->h_ctype);
  free (r->h_retry_after);
  free (r->h_location);
  r->h_digest = r->h_ctype = r->h_retry_after = r->h_location = NULL;
  iw_buf_free (&r->h_www);
  iw_buf_init (&r->h_www, IW_HEADER_MAX);
}

static void
req_free (req *r)
{
  if (r == NULL)
    return;
  req_reset_response (r);
  iw_buf_free (&r->body);
  iw_buf_free (&r->h_www);
  free (r->url);
  free (r->origin);
  free (r->what);
  free (r->repo);
  free (r->scope);
  if (r->auth)
    explicit_bzero (r->auth, strlen (r->auth));
  free (r->auth);
  free (r->msg);
  free (r->expect);
  free (r);
}

/* "scheme://host[:port]" of a URL, lowercased scheme and host, default
 * ports made explicit; NULL when it is not an http(s) URL. */
static char *
url_origin (const char *url)
{
  CURLU *u = curl_url ();
  char *scheme = NULL, *hostname = NULL, *port = NULL, *res = NULL;

  if (curl_url_set (u, CURLUPART_URL, url, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_HOST, &hostname, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    goto done;
  for (char *p = scheme; *p; p++)
    *p = (char)tolower ((unsigned char)*p);
  for (char *p = hostname; *p; p++)
    *p = (char)tolower ((unsigned char)*p);
  if (strcmp (scheme, "http") == 0 || strcmp (scheme, "https") == 0)
    res = iw_xasprintf ("%s://%s:%s", scheme, hostname, port);
done:
  curl_free (scheme);
  curl_free (hostname);
  curl_free (port);
  curl_url_cleanup (u);
  return res;
}

static char *
base_url (const host *h)
{
  return iw_xasprintf ("%s://%s", h->insecure ? "http" : "https", h->name);
}

static req *
req_new (iw_registry *reg, host *h, const char *path, bool head, const char *repo)
{
  req *r = iw_xcalloc (1, sizeof *r);
  char *base = base_url (h);

  r->reg = reg;
  r->host = h;
  r->url = iw_xasprintf ("%s%s", base, path);
  r->origin = url_origin (r->url);
  r->head = head;
  r->accept = IW_MANIFEST_ACCEPT;
  r->body_max = IW_MANIFEST_MAX;
  r->ca = h->ca;
  if (repo)
    {
      r->repo = iw_xstrdup (repo);
      r->scope = iw_xasprintf ("repository:%s:pull", repo);
    }
  r->what = iw_xasprintf ("%s %s%s", head ? "HEAD" : "GET", h->name, path);
  iw_buf_init (&r->body, r->body_max);
  iw_buf_init (&r->h_www, IW_HEADER_MAX);
  free (base);
  return r;
}

/* Finish r with an error and hand it to its callback, which must not
 * keep it; r is freed afterwards. */
static void
req_complete (req *r)
{
  r->cb (r);
  req_free (r);
}

static void req_fail (req *r, iw_code code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static void
req_fail (req *r, iw_code code, const char *fmt, ...)
{
  va_list ap;

  r->code = code;
  free (r->msg);
  va_start (ap, fmt);
  r->msg = iw_xvasprintf (fmt, ap);
  va_end (ap);
  req_complete (r);
}

static void
enqueue (req *r)
{
  host *h = r->host;

  r->next = NULL;
  if (h->queue_tail)
    h->queue_tail->next = r;
  else
    h->queue_head = r;
  h->queue_tail = r;
  r->reg->queued++;
}

/* Token requests and the requests they release go first: a token must
 * not wait behind the queue it unblocks, nor expire while its requests
 * wait behind it. */
static void
enqueue_front (req *r)
{
  host *h = r->host;

  r->next = h->queue_head;
  h->queue_head = r;
  if (h->queue_tail == NULL)
    h->queue_tail = r;
  r->reg->queued++;
}

static void
delay (req *r, long ms)
{
  r->due_ms = now_ms () + ms;
  r->next = r->reg->delayed;
  r->reg->delayed = r;
  r->reg->n_delayed++;
}

static void submit (req *r);

/* ---- bearer tokens ------------------------------------------------------ */

static token *
token_find (host *h, const char *scope)
{
  token *t;

  for (t = h->tokens; t; t = t->next)
    if (strcmp (t->scope, scope) == 0)
      return t;
  t = iw_xcalloc (1, sizeof *t);
  t->scope = iw_xstrdup (scope);
  t->next = h->tokens;
  h->tokens = t;
  return t;
}

static void
set_auth (req *r, char *value, bool bearer)
{
  if (r->auth)
    explicit_bzero (r->auth, strlen (r->auth));
  free (r->auth);
  r->auth = value;
  r->auth_bearer = bearer;
  r->auth_basic = value != NULL && !bearer;
}

static char *
basic_value (const iw_creds *c)
{
  char *plain = iw_xasprintf ("%s:%s", c->username, c->password ? c->password : "");
  size_t n = strlen (plain);
  char *out = iw_xmalloc (4 * ((n + 2) / 3) + 7);

  memcpy (out, "Basic ", 6);
  EVP_EncodeBlock ((unsigned char *)out + 6, (const unsigned char *)plain, (int)n);
  explicit_bzero (plain, n);
  free (plain);
  return out;
}

static void token_done (req *tr);

/* Put a valid token for scope on r.  Returns false when r has one now
 * (the caller queues or starts it), true when r was parked until a token
 * arrives, or failed.  force drops the cached token first (after a 401
 * invalid_token). */
static bool
with_token (req *r, const char *scope, bool force)
{
  iw_registry *reg = r->reg;
  host *h = r->host;
  token *t = token_find (h, scope);
  req *tr;
  CURL *esc;
  char *s_scope, *s_service = NULL, *realm_origin;
  iw_error *e = NULL;
  int have;

  /* Drop the cached token only if it is the one just refused: another
   * request may already have fetched a newer one. */
  if (force && !t->pending && t->value && r->auth && strncmp (r->auth, "Bearer ", 7) == 0
      && strcmp (r->auth + 7, t->value) == 0)
    {
      free (t->value);
      t->value = NULL;
    }
  if (t->value && t->expires_ms > now_ms ())
    {
      set_auth (r, iw_xasprintf ("Bearer %s", t->value), true);
      r->tok = t;
      return false;
    }
  r->wait_next = t->waiters;
  t->waiters = r;
  if (t->pending)
    return true;

  /* Fetch one: GET realm?service=...&scope=... */
  realm_origin = url_origin (h->realm);
  if (realm_origin == NULL)
    {
      t->waiters = r->wait_next;
      req_fail (r, IW_EAUTH, "%s: token realm \"%s\" is not an http(s) URL", r->what, h->realm);
      return true;
    }
  esc = curl_easy_init ();
  s_scope = curl_easy_escape (esc, scope, 0);
  if (h->service)
    s_service = curl_easy_escape (esc, h->service, 0);
  tr = iw_xcalloc (1, sizeof *tr);
  tr->reg = reg;
  tr->host = h;
  tr->is_token = true;
  tr->token_for = t;
  tr->url = iw_xasprintf ("%s%sscope=%s%s%s", h->realm, strchr (h->realm, '?') ? "&" : "?", s_scope,
                          s_service ? "&service=" : "", s_service ? s_service : "");
  tr->origin = realm_origin;
  tr->what = iw_xasprintf ("GET token for %s from %s", h->name, h->realm);
  tr->accept = "application/json";
  tr->body_max = IW_SMALL_BODY_MAX;
  {
    const iw_registry_settings *rs;
    char *rhost = iw_xstrdup (strstr (realm_origin, "://") + 3);
    char *colon = strrchr (rhost, ':');

    /* Default ports were made explicit: look up "host" and "host:port". */
    rs = settings_for (reg, rhost);
    if (rs == NULL && colon)
      {
        *colon = '\0';
        rs = settings_for (reg, rhost);
      }
    tr->ca = rs && rs->ca ? rs->ca : h->ca;
    free (rhost);
  }
  iw_buf_init (&tr->body, tr->body_max);
  iw_buf_init (&tr->h_www, IW_HEADER_MAX);
  tr->cb = token_done;
  curl_free (s_scope);
  curl_free (s_service);
  curl_easy_cleanup (esc);
  t->pending = true;

  have = host_creds (reg, h, &e);
  if (have < 0)
    {
      t->pending = false;
      req_free (tr);
      /* Fail every waiter (only r so far). */
      t->waiters = r->wait_next;
      req_fail (r, iw_error_code (e), "%s: %s", r->what, iw_error_msg (e));
      iw_error_free (e);
      return true;
    }
  if (have > 0)
    {
      bool https = strncmp (realm_origin, "https://", 8) == 0;
      const char *rh = strstr (realm_origin, "://") + 3;

      if (https || iw_auth_host_is_loopback (rh))
        set_auth (tr, basic_value (&h->creds), false);
      else
        iw_log_warn ("not sending credentials for %s to plain-HTTP token realm %s", h->name, realm_origin);
    }
  METRIC_INC (reg, token_fetches);
  enqueue_front (tr);
  return true;
}

/* Registry error bodies: {"errors":[{"code":"...","message":"..."}]}. */
static char *
error_detail (const req *r)
{
  json_t *root, *errs, *e0;
  const char *code = NULL, *message = NULL;
  char *out = NULL;

  if (r->body.len == 0)
    return NULL;
  root = json_loadb (r->body.data, r->body.len, JSON_REJECT_DUPLICATES, NULL);
  errs = json_is_object (root) ? json_object_get (root, "errors") : NULL;
  e0 = json_is_array (errs) ? json_array_get (errs, 0) : NULL;
  if (json_is_object (e0))
    {
      code = json_string_value (json_object_get (e0, "code"));
      message = json_string_value (json_object_get (e0, "message"));
    }
  if (code || message)
    {
      char buf[160];
      size_t n;

      snprintf (buf, sizeof buf, "%s%s%s", code ? code : "", code && message ? ": " : "",
                message ? message : "");
      n = strlen (buf);
      for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
          buf[i] = '?';
      out = iw_xstrdup (buf);
    }
  json_decref (root);
  return out;
}

static void
token_done (req *tr)
{
  token *t = tr->token_for;
  req *w, *next;
  char *value = NULL;
  long expires = 60;
  iw_error *e = NULL;
  iw_code code = tr->code;
  char *msg = tr->msg ? iw_xstrdup (tr->msg) : NULL;

  t->pending = false;
  if (code == IW_OK)
    {
      if (tr->status != 200)
        {
          char *d = error_detail (tr);

          code = tr->status == 401 || tr->status == 403 ? IW_EAUTH
                 : tr->status == 429                    ? IW_ERATELIMIT
                                                        : IW_ESERVER;
          msg = iw_xasprintf ("token server %s answered HTTP %ld%s%s", tr->origin, tr->status, d ? ": " : "",
                              d ? d : "");
          free (d);
        }
      else if (iw_auth_token_parse (&value, &expires, tr->body.data ? tr->body.data : "", tr->body.len, &e)
               < 0)
        {
          code = IW_EAUTH;
          msg = iw_xasprintf ("token server %s: %s", tr->origin, iw_error_msg (e));
          iw_error_free (e);
        }
    }
  if (value)
    {
      /* Refresh a little early, never later than the server says. */
      long margin = expires > 20 ? 10 : expires / 2;

      free (t->value);
      t->value = value;
      t->expires_ms = now_ms () + (expires - margin) * 1000LL;
    }
  w = t->waiters;
  t->waiters = NULL;
  for (; w; w = next)
    {
      next = w->wait_next;
      w->wait_next = NULL;
      if (value)
        {
          set_auth (w, iw_xasprintf ("Bearer %s", value), true);
          w->tok = t;
          enqueue_front (w);
        }
      else
        req_fail (w, code, "%s: %s", w->what, msg ? msg : "token fetch failed");
    }
  free (msg);
}

static void
submit (req *r)
{
  enqueue (r);
}

/* Just before r starts: attach what we know of its registry's auth, so
 * that only the first request of a scope meets a 401, and so that a token
 * that expired while r was queued is replaced.  Returns true when r was
 * parked on a token fetch (or failed) instead. */
static bool
attach_auth (req *r)
{
  host *h = r->host;

  if (r->is_token || r->no_auth)
    return false;
  if (r->auth_bearer)
    {
      token *t = r->tok;

      if (t == NULL || r->token_waits >= 3
          || (t->value && t->expires_ms > now_ms () && strcmp (r->auth + 7, t->value) == 0))
        return false;
      r->token_waits++;
      return with_token (r, t->scope, false);
    }
  if (r->auth == NULL && h->realm && r->scope)
    {
      r->token_waits++;
      return with_token (r, r->scope, false);
    }
  if (r->auth == NULL && h->basic && h->creds_state == 1)
    set_auth (r, basic_value (&h->creds), false);
  return false;
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t
on_body (char *p, size_t size, size_t n, void *ud)
{
  req *r = ud;
  iw_error *e = NULL;

  if (iw_buf_append (&r->body, p, size * n, &e) < 0)
    {
      iw_error_free (e);
      r->too_big = true;
      return 0;
    }
  return size * n;
}

static char *
header_value (const char *p, size_t n)
{
  while (n > 0 && (*p == ' ' || *p == '\t'))
    p++, n--;
  while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  return iw_xstrndup (p, n);
}

static bool
header_is (const char *line, size_t n, const char *name, size_t *vstart)
{
  size_t l = strlen (name);

  if (n <= l || line[l] != ':' || strncasecmp (line, name, l) != 0)
    return false;
  *vstart = l + 1;
  return true;
}

static size_t
on_header (char *line, size_t size, size_t nitems, void *ud)
{
  req *r = ud;
  size_t n = size * nitems, v;
  iw_error *e = NULL;

  r->header_bytes += n;
  if (r->header_bytes > IW_HEADER_MAX)
    {
      r->headers_too_big = true;
      return 0;
    }
  if (n >= 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      /* A new response (after 1xx): forget the previous headers. */
      size_t keep = r->header_bytes;
      const char *sp = memchr (line, ' ', n);

      req_reset_response (r);
      r->header_bytes = keep;
      if (sp && (size_t)(sp - line) + 4 <= n)
        r->status = strtol (sp + 1, NULL, 10);
      /* Error bodies get the small cap. */
      if (r->status != 200 && r->body.max > IW_SMALL_BODY_MAX)
        r->body.max = IW_SMALL_BODY_MAX;
      return n;
    }
  if (header_is (line, n, "docker-content-digest", &v))
    {
      free (r->h_digest);
      r->h_digest = header_value (line + v, n - v);
    }
  else if (header_is (line, n, "content-type", &v))
    {
      free (r->h_ctype);
      r->h_ctype = header_value (line + v, n - v);
    }
  else if (header_is (line, n, "retry-after", &v))
    {
      free (r->h_retry_after);
      r->h_retry_after = header_value (line + v, n - v);
    }
  else if (header_is (line, n, "location", &v))
    {
      free (r->h_location);
      r->h_location = header_value (line + v, n - v);
    }
  else if (header_is (line, n, "www-authenticate", &v))
    {
      char *val = header_value (line + v, n - v);

      if ((r->h_www.len && iw_buf_appends (&r->h_www, ", ", &e) < 0)
          || iw_buf_appends (&r->h_www, val, &e) < 0)
        iw_error_free (e);
      free (val);
    }
  else if (header_is (line, n, "ratelimit-remaining", &v))
    {
      char *val = header_value (line + v, n - v);

      if (isdigit ((unsigned char)val[0]))
        {
          pthread_mutex_lock (&r->reg->lock);
          r->reg->m.ratelimit_remaining = strtol (val, NULL, 10);
          pthread_mutex_unlock (&r->reg->lock);
        }
      free (val);
    }
  return n;
}

/* ---- starting and finishing transfers ----------------------------------- */

static CURL *
easy_get (iw_registry *reg)
{
  if (reg->n_pool > 0)
    return reg->pool[--reg->n_pool];
  return curl_easy_init ();
}

static void
easy_put (iw_registry *reg, CURL *e)
{
  if (reg->n_pool < (size_t)reg->o.max_total)
    {
      curl_easy_reset (e);
      reg->pool[reg->n_pool++] = e;
    }
  else
    curl_easy_cleanup (e);
}

static void
start (req *r)
{
  iw_registry *reg = r->reg;
  CURL *e = easy_get (reg);
  char *hv;

  req_reset_response (r);
  r->easy = e;
  r->started_ms = now_ms ();
  curl_easy_setopt (e, CURLOPT_URL, r->url);
  curl_easy_setopt (e, CURLOPT_PRIVATE, r);
  curl_easy_setopt (e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt (e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt (e, CURLOPT_CONNECTTIMEOUT_MS, reg->o.connect_timeout_ms);
  curl_easy_setopt (e, CURLOPT_TIMEOUT_MS, reg->o.request_timeout_ms);
  curl_easy_setopt (e, CURLOPT_LOW_SPEED_LIMIT, reg->o.low_speed_limit);
  curl_easy_setopt (e, CURLOPT_LOW_SPEED_TIME, reg->o.low_speed_time);
  curl_easy_setopt (e, CURLOPT_USERAGENT, reg->user_agent);
  curl_easy_setopt (e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt (e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt (e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->body_max);
  curl_easy_setopt (e, CURLOPT_ACCEPT_ENCODING, NULL);
  if (r->ca)
    {
      curl_easy_setopt (e, CURLOPT_CAINFO, r->ca);
      curl_easy_setopt (e, CURLOPT_CAPATH, SYSTEM_CA_PATH);
    }
  curl_easy_setopt (e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (e, CURLOPT_WRITEDATA, r);
  if (r->head)
    curl_easy_setopt (e, CURLOPT_NOBODY, 1L);
  else
    curl_easy_setopt (e, CURLOPT_HTTPGET, 1L);
  curl_slist_free_all (r->hdrs);
  r->hdrs = NULL;
  hv = iw_xasprintf ("Accept: %s", r->accept);
  r->hdrs = curl_slist_append (r->hdrs, hv);
  free (hv);
  if (r->auth)
    {
      hv = iw_xasprintf ("Authorization: %s", r->auth);
      r->hdrs = curl_slist_append (r->hdrs, hv);
      explicit_bzero (hv, strlen (hv));
      free (hv);
    }
  curl_easy_setopt (e, CURLOPT_HTTPHEADER, r->hdrs);
  r->host->active++;
  reg->active++;
  curl_multi_add_handle (reg->multi, e);
}

static void
release (req *r)
{
  iw_registry *reg = r->reg;

  curl_multi_remove_handle (reg->multi, r->easy);
  easy_put (reg, r->easy);
  r->easy = NULL;
  if (r->hdrs)
    {
      /* The Authorization header lives in the list: wipe it. */
      for (struct curl_slist *s = r->hdrs; s; s = s->next)
        explicit_bzero (s->data, strlen (s->data));
      curl_slist_free_all (r->hdrs);
      r->hdrs = NULL;
    }
  r->host->active--;
  reg->active--;
}

static void
breaker_failure (iw_registry *reg, host *h, const char *why)
{
  h->failures++;
  free (h->last_failure);
  h->last_failure = iw_xstrdup (why);
  if (h->failures >= reg->o.breaker_threshold && h->open_until_ms <= now_ms ())
    {
      h->open_until_ms = now_ms () + reg->o.breaker_cooldown_ms;
      METRIC_INC (reg, breaker_opens);
      iw_log_warn ("registry %s: circuit open for %ld s after %d consecutive failures (last: %s)", h->name,
                   reg->o.breaker_cooldown_ms / 1000, h->failures, why);
    }
}

static long
backoff_ms (iw_registry *reg, int attempt)
{
  long base = reg->o.retry_base_ms << (attempt > 10 ? 10 : attempt);

  /* Full jitter on the upper half: [base/2, base). */
  return base / 2 + (long)(rand_r (&reg->seed) % (unsigned)(base / 2 + 1));
}

static iw_code
curl_code_map (CURLcode cc, const req *r)
{
  if (r->too_big || r->headers_too_big || cc == CURLE_FILESIZE_EXCEEDED)
    return IW_ETOOBIG;
  switch (cc)
    {
    case CURLE_OPERATION_TIMEDOUT:
      return IW_ETIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return IW_ETLS;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return IW_EINVAL;
    default:
      return IW_ENET;
    }
}

static bool
transient (CURLcode cc)
{
  return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING
         || cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static void
follow_redirect (req *r)
{
  CURLU *u = curl_url ();
  char *next = NULL, *origin;

  if (r->redirects >= MAX_REDIRECTS)
    {
      curl_url_cleanup (u);
      req_fail (r, IW_ESERVER, "%s: more than %d redirects", r->what, MAX_REDIRECTS);
      return;
    }
  if (curl_url_set (u, CURLUPART_URL, r->url, 0) != CURLUE_OK
      || curl_url_set (u, CURLUPART_URL, r->h_location, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_URL, &next, 0) != CURLUE_OK || (origin = url_origin (next)) == NULL)
    {
      curl_free (next);
      curl_url_cleanup (u);
      req_fail (r, IW_ESERVER, "%s: HTTP %ld with an unusable Location", r->what, r->status);
      return;
    }
  curl_url_cleanup (u);
  if (strncmp (r->origin, "https:", 6) == 0 && strncmp (origin, "http:", 5) == 0)
    {
      free (origin);
      curl_free (next);
      req_fail (r, IW_ETLS, "%s: refusing a redirect from HTTPS to plain HTTP", r->what);
      return;
    }
  if (strcmp (origin, r->origin) != 0)
    {
      /* Another scheme, host or port: no credentials follow. */
      set_auth (r, NULL, false);
      r->no_auth = true;
    }
  free (origin);
  free (r->url);
  r->url = iw_xstrdup (next);
  curl_free (next);
  r->redirects++;
  enqueue (r);
}

static void
handle_401 (req *r)
{
  iw_registry *reg = r->reg;
  host *h = r->host;
  iw_auth_challenges ch = { 0 };
  const iw_auth_challenge *bearer, *basic;
  iw_error *e = NULL;
  char *cur_origin = url_origin (r->url);
  bool foreign = cur_origin == NULL || strcmp (cur_origin, r->origin) != 0;
  int have;

  free (cur_origin);
  if (r->is_token || r->no_auth || foreign)
    {
      req_complete (r); /* the callback sees the 401 */
      return;
    }
  if (iw_auth_challenges_parse (&ch, iw_buf_cstr (&r->h_www), &e) < 0)
    {
      req_fail (r, IW_EAUTH, "%s: HTTP 401 with an unusable challenge: %s", r->what, iw_error_msg (e));
      iw_error_free (e);
      return;
    }
  bearer = iw_auth_challenges_find (&ch, "bearer");
  basic = iw_auth_challenges_find (&ch, "basic");
  if (bearer)
    {
      const char *realm = iw_auth_challenge_param (bearer, "realm");
      const char *service = iw_auth_challenge_param (bearer, "service");
      const char *scope = iw_auth_challenge_param (bearer, "scope");
      const char *error = iw_auth_challenge_param (bearer, "error");
      char *sc;

      if (realm == NULL || *realm == '\0')
        {
          req_fail (r, IW_EAUTH, "%s: HTTP 401: Bearer challenge without a realm", r->what);
          goto done;
        }
      if (r->auth_bearer && r->token_refetches >= 1)
        {
          req_fail (r, IW_EAUTH, "%s: HTTP 401: token refused%s%s", r->what, error ? ": " : "",
                    error ? error : "");
          goto done;
        }
      if (h->realm == NULL || strcmp (h->realm, realm) != 0)
        {
          free (h->realm);
          h->realm = iw_xstrdup (realm);
        }
      free (h->service);
      h->service = iw_xstrdup0 (service);
      sc = iw_xstrdup (scope && *scope ? scope : r->scope ? r->scope : "");
      if (r->auth_bearer)
        r->token_refetches++;
      if (!with_token (r, sc, r->auth_bearer))
        enqueue (r);
      free (sc);
      goto done;
    }
  if (basic)
    {
      if (r->auth_basic)
        {
          req_fail (r, IW_EAUTH, "%s: HTTP 401: credentials for %s refused", r->what, h->domain);
          goto done;
        }
      have = host_creds (reg, h, &e);
      if (have < 0)
        {
          req_fail (r, iw_error_code (e), "%s: %s", r->what, iw_error_msg (e));
          iw_error_free (e);
          goto done;
        }
      if (have == 0)
        {
          req_fail (r, IW_EAUTH, "%s: HTTP 401: authentication required and no credentials for %s", r->what,
                    h->domain);
          goto done;
        }
      h->basic = true;
      set_auth (r, basic_value (&h->creds), false);
      enqueue (r);
      goto done;
    }
  req_fail (r, IW_EAUTH, "%s: HTTP 401 with no Bearer or Basic challenge", r->what);
done:
  iw_auth_challenges_clear (&ch);
}

static void
finish (req *r)
{
  iw_registry *reg = r->reg;
  host *h = r->host;
  curl_off_t total_us = 0, dl = 0;

  curl_easy_getinfo (r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  curl_easy_getinfo (r->easy, CURLINFO_SIZE_DOWNLOAD_T, &dl);
  if (r->cc == CURLE_OK)
    curl_easy_getinfo (r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  release (r);
  metrics_request (reg, (double)total_us / 1e6, (uint64_t)dl, r->cc != CURLE_OK || r->status >= 400);

  if (r->cc != CURLE_OK)
    {
      iw_code code = curl_code_map (r->cc, r);
      const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror (r->cc);

      if (code == IW_ETOOBIG)
        {
          req_fail (r, IW_ETOOBIG, "%s: %s larger than %zu bytes", r->what,
                    r->headers_too_big ? "response headers" : "body",
                    r->headers_too_big ? IW_HEADER_MAX : r->body.max);
          return;
        }
      if (transient (r->cc) && r->attempts < reg->o.max_retries)
        {
          r->attempts++;
          METRIC_INC (reg, retries);
          delay (r, backoff_ms (reg, r->attempts - 1));
          return;
        }
      if (code == IW_ENET || code == IW_ETLS || code == IW_ETIMEOUT)
        breaker_failure (reg, h, why);
      req_fail (r, code, "%s: %s", r->what, why);
      return;
    }
  if (r->status >= 500 || r->status == 429)
    {
      long wait;

      if (r->attempts < reg->o.max_retries)
        {
          iw_error *e = NULL;

          r->attempts++;
          METRIC_INC (reg, retries);
          wait = backoff_ms (reg, r->attempts - 1);
          if (r->status == 429 && r->h_retry_after
              && iw_retry_after_parse (&wait, r->h_retry_after, time (NULL), reg->o.retry_after_max_ms, &e)
                     < 0)
            {
              iw_error_free (e);
              wait = backoff_ms (reg, r->attempts - 1);
            }
          iw_log_debug ("%s: HTTP %ld, retry %d in %ld ms", r->what, r->status, r->attempts, wait);
          delay (r, wait);
          return;
        }
      if (r->status >= 500)
        {
          char *why = iw_xasprintf ("HTTP %ld", r->status);

          breaker_failure (reg, h, why);
          free (why);
        }
    }
  else
    h->failures = 0; /* the registry answers */
  if (r->status >= 300 && r->status < 400 && r->status != 304 && r->h_location)
    {
      follow_redirect (r);
      return;
    }
  if (r->status == 401)
    {
      handle_401 (r);
      return;
    }
  req_complete (r);
}

/* Start what the bounds allow; fail fast what waits on an open circuit. */
static void
pump (iw_registry *reg)
{
  long long now = now_ms ();
  req **pp = &reg->delayed;

  while (*pp)
    {
      req *r = *pp;

      if (r->due_ms <= now)
        {
          *pp = r->next;
          reg->n_delayed--;
          enqueue (r);
        }
      else
        pp = &r->next;
    }
  for (size_t k = 0; k < reg->n_hosts && reg->active < reg->o.max_total; k++)
    {
      host *h = reg->hosts[(reg->rr + k) % reg->n_hosts];

      while (h->queue_head && h->active < h->max_active && reg->active < reg->o.max_total)
        {
          req *r = h->queue_head;

          h->queue_head = r->next;
          if (h->queue_head == NULL)
            h->queue_tail = NULL;
          reg->queued--;
          r->next = NULL;
          if (h->open_until_ms > now)
            {
              req_fail (r, IW_ENET,
                        "%s: registry %s is failing (circuit open after %d consecutive failures: %s)",
                        r->what, h->name, h->failures, h->last_failure ? h->last_failure : "?");
              continue;
            }
          if (attach_auth (r))
            continue;
          start (r);
        }
    }
  if (reg->n_hosts)
    reg->rr = (reg->rr + 1) % reg->n_hosts;
}

/* Run until every request (and whatever their callbacks submit) is done. */
static void
run (iw_registry *reg)
{
  bool more = reg->feed != NULL;

  while (more || reg->active > 0 || reg->queued > 0 || reg->n_delayed > 0)
    {
      int running = 0, left = 0, progressed = 0;
      CURLMsg *msg;
      long timeout = 1000;

      while (more && reg->queued + (size_t)reg->active < (size_t)reg->o.max_total * 2)
        more = reg->feed (reg->feed_ctx);
      pump (reg);
      curl_multi_perform (reg->multi, &running);
      while ((msg = curl_multi_info_read (reg->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
          {
            req *r = NULL;

            curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            r->cc = msg->data.result;
            finish (r);
            progressed = 1;
          }
      if (progressed)
        continue;
      if ((reg->active == 0 && reg->queued > 0) || (more && reg->active == 0))
        continue; /* pump will start them, or fail them on an open circuit */
      curl_multi_timeout (reg->multi, &timeout);
      if (timeout < 0 || timeout > 1000)
        timeout = 1000;
      for (req *d = reg->delayed; d; d = d->next)
        {
          long long w = d->due_ms - now_ms ();

          if (w < timeout)
            timeout = w < 0 ? 0 : (long)w;
        }
      if (timeout > 0)
        curl_multi_poll (reg->multi, NULL, 0, (int)timeout, NULL);
    }
}

/* ---- fetch by digest, verified ------------------------------------------ */

static void fetch_done (req *r);

static req *
fetch_req (iw_registry *reg, host *h, const char *repo, const char *digest, bool blob)
{
  char *path = iw_xasprintf ("/v2/%s/%s/%s", repo, blob ? "blobs" : "manifests", digest);
  req *r = req_new (reg, h, path, false, repo);

  if (blob)
    r->accept = "application/vnd.oci.image.config.v1+json, application/vnd.docker.container.image.v1+json, "
                "application/json, */*";
  free (path);
  r->expect = iw_xstrdup (digest);
  r->blob = blob;
  r->cb = fetch_done;
  return r;
}

/* GET digest from the mirrors of domain, then from h; cb gets a verified
 * body (code IW_OK) or the authoritative registry's error. */
static void
fetch_digest (iw_registry *reg, host *h, const char *domain, const char *repo, const char *digest, bool blob,
              req_cb cb, void *ctx, size_t idx)
{
  host *cands[8];
  size_t n = 0;
  req *r;

  for (size_t i = 0; i < reg->cfg.n_mirrors; i++)
    if (reg->cfg.mirrors[i].registry && strcmp (reg->cfg.mirrors[i].registry, domain) == 0)
      for (char **m = reg->cfg.mirrors[i].mirrors; m && *m && n < 7; m++)
        {
          const char *name = *m;

          if (strncasecmp (name, "https://", 8) == 0)
            name += 8;
          else if (strncasecmp (name, "http://", 7) == 0)
            name += 7;
          {
            char *bare = iw_xstrndup (name, strcspn (name, "/"));

            if (*bare)
              cands[n++] = host_get (reg, bare, bare);
            free (bare);
          }
        }
  cands[n++] = h;
  r = fetch_req (reg, cands[0], repo, digest, blob);
  memcpy (r->cands, cands, n * sizeof cands[0]);
  r->n_cands = n;
  r->cand = 0;
  r->final_cb = cb;
  r->ctx = ctx;
  r->idx = idx;
  submit (r);
}

static void
fetch_done (req *r)
{
  char got[IW_SHA256_DIGEST_STRLEN];

  if (r->code == IW_OK && r->status == 200)
    {
      if (strncmp (r->expect, "sha256:", 7) != 0)
        {
          r->code = IW_EUNSUPPORTED;
          r->msg = iw_xasprintf ("%s: cannot verify digest algorithm of %s", r->what, r->expect);
        }
      else
        {
          iw_sha256_buf (r->body.data ? r->body.data : "", r->body.len, got);
          if (strcmp (got, r->expect) != 0)
            {
              METRIC_INC (r->reg, integrity_failures);
              r->code = IW_EINTEGRITY;
              r->msg = iw_xasprintf ("%s: body hashes to %s, not the requested %s", r->what, got, r->expect);
            }
          else if (r->h_digest && strcmp (r->h_digest, r->expect) != 0)
            {
              METRIC_INC (r->reg, integrity_failures);
              r->code = IW_EINTEGRITY;
              r->msg = iw_xasprintf ("%s: Docker-Content-Digest %s differs from the requested %s", r->what,
                                     r->h_digest, r->expect);
            }
        }
    }
  else if (r->code == IW_OK)
    {
      char *d = error_detail (r);

      r->code = r->status == 404                       ? IW_ENOTFOUND
                : r->status == 401 || r->status == 403 ? IW_EAUTH
                : r->status == 429                     ? IW_ERATELIMIT
                                                       : IW_ESERVER;
      r->msg = iw_xasprintf ("%s: HTTP %ld%s%s", r->what, r->status, d ? " " : "", d ? d : "");
      free (d);
    }
  if (r->code != IW_OK && r->cand + 1 < r->n_cands)
    {
      /* A mirror failed: log it and ask the next candidate. */
      req *n = fetch_req (r->reg, r->cands[r->cand + 1], r->repo, r->expect, r->blob);

      iw_log_info ("mirror: %s", r->msg);
      memcpy (n->cands, r->cands, sizeof r->cands);
      n->n_cands = r->n_cands;
      n->cand = r->cand + 1;
      n->final_cb = r->final_cb;
      n->ctx = r->ctx;
      n->idx = r->idx;
      submit (n);
      return;
    }
  r->final_cb (r);
}

/* ---- resolve jobs ------------------------------------------------------- */

typedef struct rjob
{
  iw_registry *reg;
  const iw_ref *ref;
  host *host;
  char *name; /* "127.0.0.1:5000/app:1" for messages */
  unsigned flags;
  iw_resolution *res;
  int pending;
  size_t covers; /* references sharing this job */
  size_t *done_count;
  size_t total;
} rjob;

static void
job_error (rjob *j, iw_code code, const char *msg)
{
  if (j->res->code != IW_OK)
    return; /* keep the first */
  j->res->code = code;
  j->res->message = iw_xstrdup (msg);
}

static void
labels_from_config (iw_image_labels *l, const iw_image_config *c)
{
  static const char *const keys[] = { "org.opencontainers.image.source",  "org.opencontainers.image.revision",
                                      "org.opencontainers.image.authors", "org.opencontainers.image.created",
                                      "org.opencontainers.image.version", "org.opencontainers.image.title" };
  char **fields[] = { &l->source, &l->revision, &l->authors, &l->created, &l->version, &l->title };

  for (size_t i = 0; i < 6; i++)
    {
      free (*fields[i]);
      *fields[i] = iw_xstrdup0 (iw_image_config_label (c, keys[i]));
    }
  free (l->config_created);
  l->config_created = iw_xstrdup0 (c->created);
}

static void
labels_clear (iw_image_labels *l)
{
  free (l->source);
  free (l->revision);
  free (l->authors);
  free (l->created);
  free (l->version);
  free (l->title);
  free (l->config_created);
  memset (l, 0, sizeof *l);
}

static void
labels_copy (iw_image_labels *d, const iw_image_labels *s)
{
  d->source = iw_xstrdup0 (s->source);
  d->revision = iw_xstrdup0 (s->revision);
  d->authors = iw_xstrdup0 (s->authors);
  d->created = iw_xstrdup0 (s->created);
  d->version = iw_xstrdup0 (s->version);
  d->title = iw_xstrdup0 (s->title);
  d->config_created = iw_xstrdup0 (s->config_created);
}

static void
job_release (rjob *j)
{
  if (--j->pending > 0)
    return;
  if (j->res->is_index && j->res->n_children > 0 && (j->flags & IW_RESOLVE_LABELS))
    {
      size_t pick = 0;

      for (size_t i = 0; i < j->res->n_children; i++)
        if (strcmp (j->res->children[i].platform, "linux/amd64") == 0)
          {
            pick = i;
            break;
          }
      labels_clear (&j->res->labels);
      labels_copy (&j->res->labels, &j->res->children[pick].labels);
    }
  *j->done_count += j->covers;
  if (j->reg->o.progress)
    j->reg->o.progress (j->reg->o.progress_data, *j->done_count, j->total);
}

static void
http_error (rjob *j, req *r, const char *what)
{
  char *d = error_detail (r);
  char *msg;
  iw_code code;

  if (r->status == 404)
    {
      code = IW_ENOTFOUND;
      msg = iw_xasprintf ("%s not found in %s/%s (HTTP 404%s%s)", what, j->ref->domain, j->ref->path,
                          d ? " " : "", d ? d : "");
    }
  else
    {
      code = r->status == 401 || r->status == 403 ? IW_EAUTH : r->status == 429 ? IW_ERATELIMIT : IW_ESERVER;
      msg = iw_xasprintf ("%s: HTTP %ld%s%s", r->what, r->status, d ? " " : "", d ? d : "");
    }
  job_error (j, code, msg);
  free (msg);
  free (d);
}

static void on_config (req *r);

static void
on_child_manifest (req *r)
{
  rjob *j = r->ctx;
  iw_platform_child *c = &j->res->children[r->idx];
  iw_manifest *m = NULL;
  iw_error *e = NULL;

  if (r->code != IW_OK)
    job_error (j, r->code, r->msg);
  else if (iw_manifest_parse (&m, r->body.data ? r->body.data : "", r->body.len, r->h_ctype, &e) < 0)
    {
      char *msg = iw_xasprintf ("%s: %s", r->what, iw_error_msg (e));

      job_error (j, iw_error_code (e), msg);
      free (msg);
      iw_error_free (e);
    }
  else if (m->is_index)
    job_error (j, IW_EPARSE, "an index lists another index as a platform manifest");
  else
    {
      c->config_digest = iw_xstrdup (m->config.digest);
      if (j->flags & IW_RESOLVE_LABELS)
        {
          j->pending++;
          fetch_digest (j->reg, j->host, j->ref->domain, j->ref->path, m->config.digest, true, on_config, j,
                        r->idx);
        }
    }
  iw_manifest_free (m);
  job_release (j);
}

static void
on_config (req *r)
{
  rjob *j = r->ctx;
  iw_image_config *c = NULL;
  iw_error *e = NULL;

  if (r->code != IW_OK)
    job_error (j, r->code, r->msg);
  else if (iw_image_config_parse (&c, r->body.data ? r->body.data : "", r->body.len, &e) < 0)
    {
      char *msg = iw_xasprintf ("%s: %s", r->what, iw_error_msg (e));

      job_error (j, iw_error_code (e), msg);
      free (msg);
      iw_error_free (e);
    }
  else if (r->idx == SIZE_MAX)
    {
      labels_from_config (&j->res->labels, c);
      free (j->res->platform);
      j->res->platform = iw_image_config_platform (c);
    }
  else
    labels_from_config (&j->res->children[r->idx].labels, c);
  iw_image_config_free (c);
  job_release (j);
}

/* A verified manifest or index body for j->res->digest. */
static void
manifest_body (rjob *j, req *r)
{
  iw_manifest *m = NULL;
  iw_error *e = NULL;
  iw_resolution *res = j->res;

  if (iw_manifest_parse (&m, r->body.data ? r->body.data : "", r->body.len, r->h_ctype, &e) < 0)
    {
      char *msg = iw_xasprintf ("%s: %s", r->what, iw_error_msg (e));

      job_error (j, iw_error_code (e), msg);
      free (msg);
      iw_error_free (e);
      return;
    }
  free (res->media_type);
  res->media_type = iw_xstrdup (m->media_type);
  res->is_index = m->is_index;
  if (!(j->flags & (IW_RESOLVE_MANIFEST | IW_RESOLVE_CHILDREN | IW_RESOLVE_LABELS)))
    goto done;
  if (!m->is_index)
    {
      res->config_digest = iw_xstrdup (m->config.digest);
      if (j->flags & IW_RESOLVE_LABELS)
        {
          j->pending++;
          fetch_digest (j->reg, j->host, j->ref->domain, j->ref->path, m->config.digest, true, on_config, j,
                        SIZE_MAX);
        }
      goto done;
    }
  res->children = iw_xcalloc (m->n_manifests ? m->n_manifests : 1, sizeof *res->children);
  for (size_t i = 0; i < m->n_manifests; i++)
    {
      const iw_descriptor *d = &m->manifests[i];
      iw_platform_child *c;

      if (d->attestation || d->platform == NULL)
        continue;
      c = &res->children[res->n_children++];
      c->platform = iw_xstrdup (d->platform);
      c->digest = iw_xstrdup (d->digest);
      c->media_type = iw_xstrdup (d->media_type);
    }
  if (j->flags & (IW_RESOLVE_CHILDREN | IW_RESOLVE_LABELS))
    for (size_t i = 0; i < res->n_children; i++)
      {
        j->pending++;
        fetch_digest (j->reg, j->host, j->ref->domain, j->ref->path, res->children[i].digest, false,
                      on_child_manifest, j, i);
      }
done:
  iw_manifest_free (m);
}

static void
on_manifest (req *r)
{
  rjob *j = r->ctx;

  if (r->code != IW_OK)
    {
      if (r->code == IW_ENOTFOUND)
        {
          char *msg
              = iw_xasprintf ("manifest %s not found in %s/%s", r->expect, j->ref->domain, j->ref->path);

          job_error (j, IW_ENOTFOUND, msg);
          free (msg);
        }
      else
        job_error (j, r->code, r->msg);
    }
  else
    manifest_body (j, r);
  job_release (j);
}

static bool
valid_digest (const char *d)
{
  iw_error *e = NULL;
  bool ok = d && iw_digest_validate (d, &e) == 0;

  iw_error_free (e);
  return ok;
}

/* GET by tag when HEAD gave no digest: the body is hashed, and must agree
 * with the GET's own Docker-Content-Digest if it sends one. */
static void
on_get_tag (req *r)
{
  rjob *j = r->ctx;
  char got[IW_SHA256_DIGEST_STRLEN];

  if (r->code != IW_OK)
    job_error (j, r->code, r->msg);
  else if (r->status != 200)
    {
      char *what = iw_xasprintf ("tag \"%s\"", iw_ref_effective_tag (j->ref));

      http_error (j, r, what);
      free (what);
    }
  else
    {
      iw_sha256_buf (r->body.data ? r->body.data : "", r->body.len, got);
      if (r->h_digest && strcmp (r->h_digest, got) != 0)
        {
          char *msg = iw_xasprintf ("%s: body hashes to %s but Docker-Content-Digest says %s", r->what, got,
                                    r->h_digest);

          METRIC_INC (j->reg, integrity_failures);
          job_error (j, IW_EINTEGRITY, msg);
          free (msg);
        }
      else
        {
          j->res->digest = iw_xstrdup (got);
          manifest_body (j, r);
        }
    }
  job_release (j);
}

static void
on_head (req *r)
{
  rjob *j = r->ctx;
  iw_resolution *res = j->res;
  const char *tag = iw_ref_effective_tag (j->ref);

  if (r->code != IW_OK)
    {
      job_error (j, r->code, r->msg);
      goto done;
    }
  if (r->status != 200)
    {
      char *what
          = j->ref->digest ? iw_xasprintf ("manifest %s", j->ref->digest) : iw_xasprintf ("tag \"%s\"", tag);

      http_error (j, r, what);
      free (what);
      goto done;
    }
  if (j->ref->digest && r->h_digest && strcmp (r->h_digest, j->ref->digest) != 0)
    {
      char *msg = iw_xasprintf ("%s: Docker-Content-Digest %s differs from the requested %s", r->what,
                                r->h_digest, j->ref->digest);

      METRIC_INC (j->reg, integrity_failures);
      job_error (j, IW_EINTEGRITY, msg);
      free (msg);
      goto done;
    }
  if (j->ref->digest == NULL && !valid_digest (r->h_digest))
    {
      /* No usable digest in the header: fetch and hash. */
      char *path = iw_xasprintf ("/v2/%s/manifests/%s", j->ref->path, tag);
      req *g = req_new (j->reg, j->host, path, false, j->ref->path);

      if (r->h_digest)
        iw_log_warn ("%s: ignoring malformed Docker-Content-Digest", r->what);
      free (path);
      g->cb = on_get_tag;
      g->ctx = j;
      j->pending++;
      submit (g);
      goto done;
    }
  res->digest = iw_xstrdup (j->ref->digest ? j->ref->digest : r->h_digest);
  if (r->h_ctype)
    {
      res->media_type = iw_xstrndup (r->h_ctype, strcspn (r->h_ctype, "; \t"));
      res->is_index = iw_manifest_media_type_is_index (res->media_type);
    }
  if (j->flags & (IW_RESOLVE_MANIFEST | IW_RESOLVE_CHILDREN | IW_RESOLVE_LABELS))
    {
      j->pending++;
      fetch_digest (j->reg, j->host, j->ref->domain, j->ref->path, res->digest, false, on_manifest, j,
                    SIZE_MAX);
    }
done:
  job_release (j);
}

static void
job_start (rjob *j)
{
  const char *what = j->ref->digest ? j->ref->digest : iw_ref_effective_tag (j->ref);
  char *path = iw_xasprintf ("/v2/%s/manifests/%s", j->ref->path, what);
  req *r = req_new (j->reg, j->host, path, true, j->ref->path);

  free (path);
  r->cb = on_head;
  r->ctx = j;
  j->pending = 1;
  submit (r);
}

/* ---- public API --------------------------------------------------------- */

void
iw_resolution_clear (iw_resolution *r)
{
  if (r == NULL)
    return;
  free (r->message);
  free (r->digest);
  free (r->media_type);
  free (r->config_digest);
  free (r->platform);
  labels_clear (&r->labels);
  for (size_t i = 0; i < r->n_children; i++)
    {
      free (r->children[i].platform);
      free (r->children[i].digest);
      free (r->children[i].media_type);
      free (r->children[i].config_digest);
      labels_clear (&r->children[i].labels);
    }
  free (r->children);
  memset (r, 0, sizeof *r);
}

void
iw_resolutions_free (iw_resolution *r, size_t n)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    iw_resolution_clear (&r[i]);
  free (r);
}

static void
resolution_copy (iw_resolution *d, const iw_resolution *s)
{
  memset (d, 0, sizeof *d);
  d->code = s->code;
  d->message = iw_xstrdup0 (s->message);
  d->digest = iw_xstrdup0 (s->digest);
  d->media_type = iw_xstrdup0 (s->media_type);
  d->is_index = s->is_index;
  d->config_digest = iw_xstrdup0 (s->config_digest);
  d->platform = iw_xstrdup0 (s->platform);
  labels_copy (&d->labels, &s->labels);
  d->n_children = s->n_children;
  d->children = s->n_children ? iw_xcalloc (s->n_children, sizeof *d->children) : NULL;
  for (size_t i = 0; i < s->n_children; i++)
    {
      d->children[i].platform = iw_xstrdup0 (s->children[i].platform);
      d->children[i].digest = iw_xstrdup0 (s->children[i].digest);
      d->children[i].media_type = iw_xstrdup0 (s->children[i].media_type);
      d->children[i].config_digest = iw_xstrdup0 (s->children[i].config_digest);
      labels_copy (&d->children[i].labels, &s->children[i].labels);
    }
}

/* Group identical keys: leader[i] is the first index with keys[i]'s key. */
static const char *const *sort_keys;

static int
cmp_key (const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp (sort_keys[x], sort_keys[y]);

  return c ? c : (x > y) - (x < y);
}

static size_t *
group_keys (char *const *keys, size_t n)
{
  size_t *order = iw_xcalloc (n ? n : 1, sizeof *order);
  size_t *leader = iw_xcalloc (n ? n : 1, sizeof *leader);

  for (size_t i = 0; i < n; i++)
    order[i] = i;
  sort_keys = (const char *const *)keys;
  qsort (order, n, sizeof *order, cmp_key);
  sort_keys = NULL;
  for (size_t i = 0; i < n; i++)
    leader[order[i]]
        = (i > 0 && strcmp (keys[order[i]], keys[order[i - 1]]) == 0) ? leader[order[i - 1]] : order[i];
  free (order);
  return leader;
}

static host *
host_for_ref (iw_registry *reg, const iw_ref *ref)
{
  return host_get (reg, iw_ref_api_host (ref), ref->domain);
}

typedef struct cjob
{
  const iw_check *check;
  iw_presence *out;
} cjob;

typedef struct feeder
{
  iw_registry *reg;
  size_t next, n;
  size_t *leader;
  /* resolve */
  const iw_ref *const *refs;
  rjob *jobs;
  iw_resolution *res;
  unsigned flags;
  size_t done;
  /* check */
  const iw_check *checks;
  cjob *cjobs;
  iw_presence *pres;
} feeder;

static bool
feed_resolve (void *ctx)
{
  feeder *f = ctx;

  while (f->next < f->n && f->leader[f->next] != f->next)
    f->next++;
  if (f->next < f->n)
    {
      size_t i = f->next++;
      rjob *j = &f->jobs[i];

      j->reg = f->reg;
      j->ref = f->refs[i];
      j->host = host_for_ref (f->reg, f->refs[i]);
      j->flags = f->flags;
      j->res = &f->res[i];
      j->covers++;
      j->done_count = &f->done;
      j->total = f->n;
      job_start (j);
    }
  while (f->next < f->n && f->leader[f->next] != f->next)
    f->next++;
  return f->next < f->n;
}

int
iw_registry_resolve_many (iw_resolution **out, iw_registry *reg, const iw_ref *const *refs, size_t n,
                          unsigned flags, iw_error **err)
{
  feeder f = { 0 };
  char **keys;

  if (reg == NULL || (n > 0 && refs == NULL))
    return iw_error_set (err, IW_EINVAL, "resolve: no registry client or references");
  for (size_t i = 0; i < n; i++)
    if (refs[i] == NULL || refs[i]->domain == NULL || refs[i]->path == NULL)
      return iw_error_set (err, IW_EINVAL, "resolve: reference %zu is empty", i);
  if (flags & IW_RESOLVE_LABELS)
    flags |= IW_RESOLVE_MANIFEST | IW_RESOLVE_CHILDREN;
  if (flags & IW_RESOLVE_CHILDREN)
    flags |= IW_RESOLVE_MANIFEST;
  f.reg = reg;
  f.n = n;
  f.refs = refs;
  f.flags = flags;
  f.res = iw_xcalloc (n ? n : 1, sizeof *f.res);
  f.jobs = iw_xcalloc (n ? n : 1, sizeof *f.jobs);
  keys = iw_xcalloc (n ? n : 1, sizeof *keys);
  for (size_t i = 0; i < n; i++)
    keys[i]
        = iw_xasprintf ("%s/%s%s%s", iw_ref_api_host (refs[i]), refs[i]->path, refs[i]->digest ? "@" : ":",
                        refs[i]->digest ? refs[i]->digest : iw_ref_effective_tag (refs[i]));
  f.leader = group_keys (keys, n);
  for (size_t i = 0; i < n; i++)
    {
      free (keys[i]);
      if (f.leader[i] != i)
        f.jobs[f.leader[i]].covers++;
    }
  free (keys);
  reg->feed = feed_resolve;
  reg->feed_ctx = &f;
  run (reg);
  reg->feed = NULL;
  reg->feed_ctx = NULL;
  for (size_t i = 0; i < n; i++)
    if (f.leader[i] != i)
      resolution_copy (&f.res[i], &f.res[f.leader[i]]);
  free (f.leader);
  free (f.jobs);
  *out = f.res;
  return 0;
}

int
iw_registry_resolve (iw_resolution *out, iw_registry *reg, const iw_ref *ref, unsigned flags, iw_error **err)
{
  iw_resolution *r = NULL;

  memset (out, 0, sizeof *out);
  if (iw_registry_resolve_many (&r, reg, &ref, 1, flags, err) < 0)
    return -1;
  *out = r[0];
  free (r);
  if (out->code != IW_OK)
    return iw_error_set (err, out->code, "%s", out->message ? out->message : "resolve failed");
  return 0;
}

/* ---- presence checks ---------------------------------------------------- */

static void
on_check (req *r)
{
  cjob *c = r->ctx;
  iw_presence *p = c->out;

  if (r->code != IW_OK)
    {
      p->state = IW_PRESENCE_UNKNOWN;
      p->code = r->code;
      p->message = iw_xstrdup (r->msg);
      return;
    }
  if (r->status == 200)
    {
      if (r->h_digest && strcmp (r->h_digest, c->check->digest) != 0)
        {
          p->state = IW_PRESENCE_UNKNOWN;
          p->code = IW_EINTEGRITY;
          p->message = iw_xasprintf ("%s: Docker-Content-Digest %s differs from the requested %s", r->what,
                                     r->h_digest, c->check->digest);
          return;
        }
      p->state = IW_PRESENCE_PRESENT;
      return;
    }
  if (r->status == 404)
    {
      p->state = IW_PRESENCE_ABSENT;
      return;
    }
  p->state = IW_PRESENCE_UNKNOWN;
  p->code = r->status == 401 || r->status == 403 ? IW_EAUTH : r->status == 429 ? IW_ERATELIMIT : IW_ESERVER;
  p->message = iw_xasprintf ("%s: HTTP %ld", r->what, r->status);
}

static bool
feed_check (void *ctx)
{
  feeder *f = ctx;

  while (f->next < f->n && f->leader[f->next] != f->next)
    f->next++;
  if (f->next < f->n)
    {
      size_t i = f->next++;
      const iw_ref *ref = f->checks[i].repo;
      char *path
          = iw_xasprintf ("/v2/%s/%s/%s", ref->path,
                          f->checks[i].kind == IW_CHECK_BLOB ? "blobs" : "manifests", f->checks[i].digest);
      req *r = req_new (f->reg, host_for_ref (f->reg, ref), path, true, ref->path);

      free (path);
      f->cjobs[i].check = &f->checks[i];
      f->cjobs[i].out = &f->pres[i];
      r->cb = on_check;
      r->ctx = &f->cjobs[i];
      submit (r);
    }
  while (f->next < f->n && f->leader[f->next] != f->next)
    f->next++;
  return f->next < f->n;
}

int
iw_registry_check_many (iw_presence **out, iw_registry *reg, const iw_check *checks, size_t n, iw_error **err)
{
  feeder f = { 0 };
  char **keys;

  if (reg == NULL || (n > 0 && checks == NULL))
    return iw_error_set (err, IW_EINVAL, "check: no registry client or checks");
  for (size_t i = 0; i < n; i++)
    {
      iw_error *e = NULL;

      if (checks[i].repo == NULL || checks[i].digest == NULL || iw_digest_validate (checks[i].digest, &e) < 0)
        {
          iw_error_set (err, IW_EINVAL, "check %zu: %s", i, e ? iw_error_msg (e) : "no repository or digest");
          iw_error_free (e);
          return -1;
        }
    }
  f.reg = reg;
  f.n = n;
  f.checks = checks;
  f.pres = iw_xcalloc (n ? n : 1, sizeof *f.pres);
  f.cjobs = iw_xcalloc (n ? n : 1, sizeof *f.cjobs);
  keys = iw_xcalloc (n ? n : 1, sizeof *keys);
  for (size_t i = 0; i < n; i++)
    keys[i] = iw_xasprintf ("%s/%s %d %s", iw_ref_api_host (checks[i].repo), checks[i].repo->path,
                            (int)checks[i].kind, checks[i].digest);
  f.leader = group_keys (keys, n);
  for (size_t i = 0; i < n; i++)
    free (keys[i]);
  free (keys);
  reg->feed = feed_check;
  reg->feed_ctx = &f;
  run (reg);
  reg->feed = NULL;
  reg->feed_ctx = NULL;
  for (size_t i = 0; i < n; i++)
    if (f.leader[i] != i)
      {
        f.pres[i] = f.pres[f.leader[i]];
        f.pres[i].message = iw_xstrdup0 (f.pres[f.leader[i]].message);
      }
  free (f.leader);
  free (f.cjobs);
  *out = f.pres;
  return 0;
}

void
iw_presences_free (iw_presence *p, size_t n)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free (p[i].message);
  free (p);
}

const char *
iw_presence_name (iw_presence_state s)
{
  switch (s)
    {
    case IW_PRESENCE_PRESENT:
      return "present";
    case IW_PRESENCE_ABSENT:
      return "absent";
    default:
      return "unknown";
    }
}

/* ---- life cycle --------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

int
iw_registry_new (iw_registry **out, const iw_config *cfg, const iw_registry_options *opts, iw_error **err)
{
  iw_registry *reg;
  iw_registry_options o = IW_REGISTRY_OPTIONS_INIT;

  if (opts)
    o = *opts;
  if (o.max_per_host < 0 || o.max_total < 0 || o.max_retries < 0 || o.request_timeout_ms < 0
      || o.connect_timeout_ms < 0)
    return iw_error_set (err, IW_EINVAL, "registry options: negative limit");
#define DEFAULT(f, v)                                                                                        \
  if (o.f == 0)                                                                                              \
  o.f = (v)
  DEFAULT (connect_timeout_ms, 10000);
  DEFAULT (request_timeout_ms, 30000);
  DEFAULT (low_speed_limit, 1024);
  DEFAULT (low_speed_time, 10);
  DEFAULT (max_per_host, 16);
  DEFAULT (max_total, 64);
  DEFAULT (max_retries, 3);
  DEFAULT (retry_base_ms, 200);
  DEFAULT (retry_after_max_ms, 60000);
  DEFAULT (breaker_threshold, 5);
  DEFAULT (breaker_cooldown_ms, 30000);
#undef DEFAULT
  if (opts && opts->max_retries < 0)
    o.max_retries = 0;
  pthread_once (&curl_once, curl_init_once);
  reg = iw_xcalloc (1, sizeof *reg);
  reg->multi = curl_multi_init ();
  if (reg->multi == NULL)
    {
      free (reg);
      return iw_error_set (err, IW_EIO, "libcurl: cannot create a multi handle");
    }
  reg->o = o;
  reg->user_agent = iw_xstrdup (o.user_agent ? o.user_agent : "imgwatch/" IW_VERSION);
  reg->docker_config_dir = iw_xstrdup0 (o.docker_config_dir);
  reg->o.user_agent = NULL;
  reg->o.docker_config_dir = NULL;
  cfg_copy (&reg->cfg, cfg);
  reg->pool = iw_xcalloc ((size_t)o.max_total, sizeof *reg->pool);
  reg->m.ratelimit_remaining = -1;
  reg->seed = (unsigned)time (NULL) ^ (unsigned)(uintptr_t)reg;
  pthread_mutex_init (&reg->lock, NULL);
  curl_multi_setopt (reg->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt (reg->multi, CURLMOPT_MAXCONNECTS, (long)o.max_total + 8);
  *out = reg;
  return 0;
}

void
iw_registry_free (iw_registry *reg)
{
  if (reg == NULL)
    return;
  for (size_t i = 0; i < reg->n_pool; i++)
    curl_easy_cleanup (reg->pool[i]);
  free (reg->pool);
  curl_multi_cleanup (reg->multi);
  for (size_t i = 0; i < reg->n_hosts; i++)
    host_free (reg->hosts[i]);
  free (reg->hosts);
  cfg_clear (&reg->cfg);
  free (reg->user_agent);
  free (reg->docker_config_dir);
  pthread_mutex_destroy (&reg->lock);
  free (reg);
}
