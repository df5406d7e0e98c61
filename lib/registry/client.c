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
 * which belongs to a resolve or check job (resolve.c).
 *
 * Credentials are attached only here: attach_auth() just before a request
 * starts (so a token that expired in the queue is replaced), and
 * follow_redirect() drops them when the origin changes.
 */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "registry/transport.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

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
#define CREDS_TTL_MS 60000
#define SYSTEM_CA_PATH "/etc/ssl/certs"

const double iw_registry_latency_bounds[IW_REGISTRY_LATENCY_BUCKETS]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 };

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

host *
iw_registry__host_get (iw_registry *reg, const char *name, const char *domain)
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
  /* Looked up again after a while: a long-running daemon sees rotated
   * password files, and a credential helper that failed once is asked
   * again; within a batch, one lookup serves every request. */
  if (h->creds_state != 0 && iw_clock_mono_ms () >= h->creds_until_ms)
    {
      iw_creds_clear (&h->creds);
      free (h->creds_error);
      h->creds_error = NULL;
      h->creds_state = 0;
    }
  if (h->creds_state == 0)
    {
      iw_error *e = NULL;
      const iw_registry_settings *s = settings_for (reg, h->domain);
      int r = 0;

      /* The config's own username wins; then pull secrets; then docker's
       * config.json (inside iw_creds_lookup). */
      if (s == NULL || s->username == NULL)
        r = iw_registry__pull_creds (&h->creds, reg, h->domain);
      if (r == 0)
        r = iw_creds_lookup (&h->creds, &reg->cfg, h->domain, reg->docker_config_dir,
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
      h->creds_until_ms = iw_clock_mono_ms () + CREDS_TTL_MS;
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
  if (r->post)
    explicit_bzero (r->post, strlen (r->post));
  free (r->post);
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

req *
iw_registry__req_new (iw_registry *reg, host *h, const char *path, bool head, const char *repo)
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
  r->due_ms = iw_clock_mono_ms () + ms;
  r->next = r->reg->delayed;
  r->reg->delayed = r;
  r->reg->n_delayed++;
}

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
  if (t->value && t->expires_ms > iw_clock_mono_ms ())
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
  t->pending = true;

  have = host_creds (reg, h, &e);
  if (have < 0)
    {
      curl_free (s_scope);
      curl_free (s_service);
      curl_easy_cleanup (esc);
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

      if (!https && !iw_auth_host_is_loopback (rh))
        iw_log_warn ("not sending credentials for %s to plain-HTTP token realm %s", h->name, realm_origin);
      else if (h->creds.identity_token)
        {
          /* OAuth2 refresh grant: POST the identity token in a form. */
          char *s_tok = curl_easy_escape (esc, h->creds.identity_token, 0);

          tr->post
              = iw_xasprintf ("grant_type=refresh_token&client_id=imgwatch&scope=%s%s%s&refresh_token=%s",
                              s_scope, s_service ? "&service=" : "", s_service ? s_service : "", s_tok);
          explicit_bzero (s_tok, strlen (s_tok));
          curl_free (s_tok);
          free (tr->url);
          tr->url = iw_xstrdup (h->realm);
          free (tr->what);
          tr->what = iw_xasprintf ("POST token for %s to %s", h->name, h->realm);
        }
      else if (h->creds.username)
        set_auth (tr, basic_value (&h->creds), false);
    }
  curl_free (s_scope);
  curl_free (s_service);
  curl_easy_cleanup (esc);
  METRIC_INC (reg, token_fetches);
  enqueue_front (tr);
  return true;
}

/* Registry error bodies: {"errors":[{"code":"...","message":"..."}]}. */
char *
iw_registry__error_detail (const req *r)
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
          char *d = iw_registry__error_detail (tr);

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
      t->expires_ms = iw_clock_mono_ms () + (expires - margin) * 1000LL;
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

void
iw_registry__submit (req *r)
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
          || (t->value && t->expires_ms > iw_clock_mono_ms () && strcmp (r->auth + 7, t->value) == 0))
        return false;
      r->token_waits++;
      return with_token (r, t->scope, false);
    }
  if (r->auth == NULL && h->realm && r->scope)
    {
      r->token_waits++;
      return with_token (r, r->scope, false);
    }
  if (r->auth == NULL && h->basic && h->creds_state == 1 && h->creds.username)
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
  r->started_ms = iw_clock_mono_ms ();
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
  else if (r->post)
    {
      curl_easy_setopt (e, CURLOPT_POSTFIELDS, r->post);
      curl_easy_setopt (e, CURLOPT_POSTFIELDSIZE, (long)strlen (r->post));
    }
  else
    curl_easy_setopt (e, CURLOPT_HTTPGET, 1L);
  curl_slist_free_all (r->hdrs);
  r->hdrs = NULL;
  if (r->post)
    r->hdrs = curl_slist_append (r->hdrs, "Content-Type: application/x-www-form-urlencoded");
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
  if (h->failures >= reg->o.breaker_threshold && h->open_until_ms <= iw_clock_mono_ms ())
    {
      h->open_until_ms = iw_clock_mono_ms () + reg->o.breaker_cooldown_ms;
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
      if (have == 0 || h->creds.username == NULL)
        {
          req_fail (r, IW_EAUTH, "%s: HTTP 401: authentication required and no %scredentials for %s", r->what,
                    have ? "username/password " : "", h->domain);
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
  long long now = iw_clock_mono_ms ();
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
void
iw_registry__run (iw_registry *reg)
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
          long long w = d->due_ms - iw_clock_mono_ms ();

          if (w < timeout)
            timeout = w < 0 ? 0 : (long)w;
        }
      if (timeout > 0)
        curl_multi_poll (reg->multi, NULL, 0, (int)timeout, NULL);
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
  iw_registry__pull_free (reg);
  free (reg->user_agent);
  free (reg->docker_config_dir);
  pthread_mutex_destroy (&reg->lock);
  free (reg);
}
