/*
 * webhook.c - parse registry notification payloads (see webhook.h) with
 * jansson, rejecting duplicate keys: the bodies are small and capped.
 */
#include "server/webhook.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const provider_names[] = { "distribution", "harbor", "artifactory", "dockerhub" };

int
iw_webhook_provider_parse (const char *name)
{
  for (size_t i = 0; i < sizeof provider_names / sizeof provider_names[0]; i++)
    if (strcmp (name, provider_names[i]) == 0)
      return (int)i;
  return -1;
}

const char *
iw_webhook_provider_name (iw_webhook_provider p)
{
  if ((size_t)p < sizeof provider_names / sizeof provider_names[0])
    return provider_names[p];
  return "?";
}

const char *
iw_webhook_action_name (iw_webhook_action a)
{
  switch (a)
    {
    case IW_WEBHOOK_PUSH:
      return "push";
    case IW_WEBHOOK_DELETE:
      return "delete";
    case IW_WEBHOOK_OTHER:
      break;
    }
  return "other";
}

static void
event_clear (iw_webhook_event *ev)
{
  free (ev->id);
  free (ev->registry);
  free (ev->repository);
  free (ev->tag);
  free (ev->digest);
}

void
iw_webhook_events_free (iw_webhook_event *ev, size_t n)
{
  if (ev == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    event_clear (&ev[i]);
  free (ev);
}

char *
iw_webhook_event_reference (const iw_webhook_event *ev)
{
  if (!ev->registry || !ev->repository || !ev->tag)
    return NULL;
  return iw_xasprintf ("%s/%s:%s", ev->registry, ev->repository, ev->tag);
}

int
iw_webhook_parse_time (int64_t *out, const char *s)
{
  struct tm tm = { 0 };
  int y, mo, d, h, mi, sec, n = 0;
  int64_t ms = 0, off = 0;
  const char *p;
  time_t t;

  *out = 0;
  if (s == NULL || sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
    return -1;
  p = s + n;
  if (*p == '.')
    {
      int digits = 0;

      for (p++; isdigit ((unsigned char)*p); p++, digits++)
        if (digits < 3)
          ms = ms * 10 + (*p - '0');
      if (digits == 0)
        return -1;
      for (; digits < 3; digits++)
        ms *= 10;
    }
  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-')
    {
      int oh, om, m = 0;

      if (sscanf (p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
        return -1;
      off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
      p += 6;
    }
  else
    return -1;
  if (*p != '\0')
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  t = timegm (&tm);
  *out = ((int64_t)t - off) * 1000 + ms;
  return 0;
}

typedef struct events
{
  iw_webhook_event *v;
  size_t n, cap;
} events;

static int
push (events *e, iw_webhook_event ev, iw_error **err)
{
  if (e->n >= IW_WEBHOOK_EVENTS_MAX)
    {
      event_clear (&ev);
      return iw_error_set (err, IW_ETOOBIG, "more than %d events in one body", IW_WEBHOOK_EVENTS_MAX);
    }
  if (e->n == e->cap)
    {
      e->cap = e->cap ? e->cap * 2 : 4;
      e->v = iw_xreallocarray (e->v, e->cap, sizeof *e->v);
    }
  e->v[e->n++] = ev;
  return 0;
}

/* A string member, or NULL when absent or null; IW_EPARSE when it has
 * another type or is too long to be sane. */
static int
get_str (const char **out, json_t *obj, const char *key, const char *where, iw_error **err)
{
  json_t *v = json_is_object (obj) ? json_object_get (obj, key) : NULL;

  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return iw_error_set (err, IW_EPARSE, "%s.%s: expected a string", where, key);
  if (json_string_length (v) > 4096 || strlen (json_string_value (v)) != json_string_length (v))
    return iw_error_set (err, IW_EPARSE, "%s.%s: invalid string", where, key);
  *out = json_string_value (v);
  return 0;
}

/* A stable id from the identifying fields of an event without one. */
static char *
derived_id (iw_webhook_provider p, const char *a, const char *b, const char *c, const char *d, const char *e)
{
  char *text
      = iw_xasprintf ("%s\n%s\n%s\n%s\n%s", a ? a : "", b ? b : "", c ? c : "", d ? d : "", e ? e : "");
  char digest[IW_SHA256_DIGEST_STRLEN];
  char *id;

  iw_sha256_buf (text, strlen (text), digest);
  free (text);
  id = iw_xasprintf ("%s:%.32s", iw_webhook_provider_name (p), digest + 7);
  return id;
}

/* The host of a URL ("https://x.jfrog.io/..." -> "x.jfrog.io"); NULL when
 * none. */
static char *
url_host (const char *url)
{
  const char *p = url ? strstr (url, "://") : NULL;
  size_t n;

  if (p == NULL)
    return NULL;
  p += 3;
  n = strcspn (p, "/?#");
  if (memchr (p, '@', n))
    {
      const char *at = memchr (p, '@', n);

      n -= (size_t)(at + 1 - p);
      p = at + 1;
    }
  return n ? iw_xstrndup (p, n) : NULL;
}

static bool
is_manifest_type (const char *mt)
{
  return mt == NULL || strstr (mt, "manifest") != NULL || strstr (mt, "index") != NULL;
}

static int
parse_distribution (events *e, json_t *root, iw_error **err)
{
  json_t *arr = json_object_get (root, "events"), *ev;
  size_t i;

  if (!json_is_array (arr))
    return iw_error_set (err, IW_EPARSE, "events: expected an array");
  json_array_foreach (arr, i, ev)
  {
    const char *id, *ts, *action, *repo, *tag, *digest, *mt, *host, *url;
    json_t *target = json_object_get (ev, "target"), *request = json_object_get (ev, "request");
    iw_webhook_event out = { 0 };
    char where[32];

    snprintf (where, sizeof where, "events[%zu]", i);
    if (!json_is_object (ev))
      return iw_error_set (err, IW_EPARSE, "%s: expected an object", where);
    if (get_str (&id, ev, "id", where, err) < 0 || get_str (&ts, ev, "timestamp", where, err) < 0
        || get_str (&action, ev, "action", where, err) < 0
        || get_str (&repo, target, "repository", where, err) < 0
        || get_str (&tag, target, "tag", where, err) < 0
        || get_str (&digest, target, "digest", where, err) < 0
        || get_str (&mt, target, "mediaType", where, err) < 0 || get_str (&url, target, "url", where, err) < 0
        || get_str (&host, request, "host", where, err) < 0)
      return -1;
    if (id == NULL || *id == '\0')
      return iw_error_set (err, IW_EPARSE, "%s.id: missing", where);
    if (action == NULL)
      return iw_error_set (err, IW_EPARSE, "%s.action: missing", where);
    out.id = iw_xasprintf ("distribution:%s", id);
    if (strcmp (action, "push") == 0 && is_manifest_type (mt))
      out.action = IW_WEBHOOK_PUSH;
    else if (strcmp (action, "delete") == 0)
      out.action = IW_WEBHOOK_DELETE;
    out.registry = host && *host ? iw_xstrdup (host) : url_host (url);
    out.repository = iw_xstrdup0 (repo);
    out.tag = tag && *tag ? iw_xstrdup (tag) : NULL;
    out.digest = iw_xstrdup0 (digest);
    if (ts)
      iw_webhook_parse_time (&out.time_ms, ts);
    if (push (e, out, err) < 0)
      return -1;
  }
  return 0;
}

static int
parse_harbor (events *e, json_t *root, iw_error **err)
{
  const char *type, *full;
  json_t *data = json_object_get (root, "event_data"), *res, *r;
  json_t *occur = json_object_get (root, "occur_at");
  int64_t when = json_is_integer (occur) ? (int64_t)json_integer_value (occur) : 0;
  char occur_text[32];
  size_t i;

  if (get_str (&type, root, "type", "", err) < 0
      || get_str (&full, json_object_get (data, "repository"), "repo_full_name", "event_data.repository", err)
             < 0)
    return -1;
  if (type == NULL)
    return iw_error_set (err, IW_EPARSE, "type: missing");
  res = json_object_get (data, "resources");
  if (!json_is_array (res))
    return iw_error_set (err, IW_EPARSE, "event_data.resources: expected an array");
  snprintf (occur_text, sizeof occur_text, "%lld", (long long)when);
  json_array_foreach (res, i, r)
  {
    const char *digest, *tag, *url;
    iw_webhook_event out = { 0 };
    char where[48];

    snprintf (where, sizeof where, "event_data.resources[%zu]", i);
    if (get_str (&digest, r, "digest", where, err) < 0 || get_str (&tag, r, "tag", where, err) < 0
        || get_str (&url, r, "resource_url", where, err) < 0)
      return -1;
    out.id = derived_id (IW_WEBHOOK_HARBOR, type, occur_text, url, digest, tag);
    if (strcmp (type, "PUSH_ARTIFACT") == 0)
      out.action = IW_WEBHOOK_PUSH;
    else if (strcmp (type, "DELETE_ARTIFACT") == 0)
      out.action = IW_WEBHOOK_DELETE;
    /* resource_url is "host/namespace/name:tag" (or @digest). */
    if (url && full)
      {
        const char *p = strstr (url, full);

        if (p && p > url && p[-1] == '/')
          out.registry = iw_xstrndup (url, (size_t)(p - 1 - url));
      }
    out.repository = iw_xstrdup0 (full);
    out.tag = tag && *tag ? iw_xstrdup (tag) : NULL;
    out.digest = iw_xstrdup0 (digest);
    out.time_ms = when * 1000;
    if (push (e, out, err) < 0)
      return -1;
  }
  return 0;
}

static int
parse_artifactory (events *e, json_t *root, iw_error **err)
{
  const char *domain, *type, *origin, *repo_key, *image, *tag, *sha;
  json_t *data = json_object_get (root, "data");
  iw_webhook_event out = { 0 };

  if (get_str (&domain, root, "domain", "", err) < 0 || get_str (&type, root, "event_type", "", err) < 0
      || get_str (&origin, root, "jpd_origin", "", err) < 0
      || get_str (&repo_key, data, "repo_key", "data", err) < 0
      || get_str (&image, data, "image_name", "data", err) < 0 || get_str (&tag, data, "tag", "data", err) < 0
      || get_str (&sha, data, "sha256", "data", err) < 0)
    return -1;
  if (type == NULL)
    return iw_error_set (err, IW_EPARSE, "event_type: missing");
  if (!json_is_object (data))
    return iw_error_set (err, IW_EPARSE, "data: expected an object");
  out.id = derived_id (IW_WEBHOOK_ARTIFACTORY, type, origin, repo_key, image, sha);
  if (domain && strcmp (domain, "docker") == 0)
    {
      if (strcmp (type, "pushed") == 0 || strcmp (type, "promoted") == 0)
        out.action = IW_WEBHOOK_PUSH;
      else if (strcmp (type, "deleted") == 0)
        out.action = IW_WEBHOOK_DELETE;
    }
  out.registry = url_host (origin);
  if (repo_key && image)
    out.repository = iw_xasprintf ("%s/%s", repo_key, image);
  out.tag = tag && *tag ? iw_xstrdup (tag) : NULL;
  if (sha && *sha)
    out.digest = strncmp (sha, "sha256:", 7) == 0 ? iw_xstrdup (sha) : iw_xasprintf ("sha256:%s", sha);
  return push (e, out, err);
}

static int
parse_dockerhub (events *e, json_t *root, iw_error **err)
{
  const char *cb, *tag, *name;
  json_t *pd = json_object_get (root, "push_data");
  json_t *at = json_object_get (pd, "pushed_at");
  int64_t when = json_is_integer (at) ? (int64_t)json_integer_value (at) : 0;
  iw_webhook_event out = { 0 };
  char when_text[32];

  if (get_str (&cb, root, "callback_url", "", err) < 0 || get_str (&tag, pd, "tag", "push_data", err) < 0
      || get_str (&name, json_object_get (root, "repository"), "repo_name", "repository", err) < 0)
    return -1;
  if (!json_is_object (pd))
    return iw_error_set (err, IW_EPARSE, "push_data: expected an object");
  if (name == NULL || *name == '\0')
    return iw_error_set (err, IW_EPARSE, "repository.repo_name: missing");
  snprintf (when_text, sizeof when_text, "%lld", (long long)when);
  out.id = derived_id (IW_WEBHOOK_DOCKERHUB, cb, name, tag, when_text, NULL);
  out.action = IW_WEBHOOK_PUSH;
  out.registry = iw_xstrdup ("docker.io");
  out.repository = strchr (name, '/') ? iw_xstrdup (name) : iw_xasprintf ("library/%s", name);
  out.tag = tag && *tag ? iw_xstrdup (tag) : NULL;
  out.time_ms = when * 1000;
  return push (e, out, err);
}

int
iw_webhook_parse (iw_webhook_event **out, size_t *n_out, iw_webhook_provider p, const char *body, size_t len,
                  iw_error **err)
{
  json_error_t jerr;
  json_t *root = NULL;
  events e = { 0 };
  int r = -1;

  *out = NULL;
  *n_out = 0;
  if (len > IW_WEBHOOK_BODY_MAX)
    return iw_error_set (err, IW_ETOOBIG, "body of %zu bytes exceeds %zu", len, (size_t)IW_WEBHOOK_BODY_MAX);
  root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    {
      iw_error_set (err, IW_EPARSE, "%s payload: line %d column %d: %s", iw_webhook_provider_name (p),
                    jerr.line, jerr.column, jerr.text);
      goto done;
    }
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "%s payload: expected an object", iw_webhook_provider_name (p));
      goto done;
    }
  switch (p)
    {
    case IW_WEBHOOK_DISTRIBUTION:
      r = parse_distribution (&e, root, err);
      break;
    case IW_WEBHOOK_HARBOR:
      r = parse_harbor (&e, root, err);
      break;
    case IW_WEBHOOK_ARTIFACTORY:
      r = parse_artifactory (&e, root, err);
      break;
    case IW_WEBHOOK_DOCKERHUB:
      r = parse_dockerhub (&e, root, err);
      break;
    default:
      r = iw_error_set (err, IW_EINVAL, "unknown webhook provider %d", (int)p);
    }
  if (r < 0)
    {
      iw_error_wrap (err, "%s payload", iw_webhook_provider_name (p));
      goto done;
    }
  *out = iw_steal (&e.v);
  *n_out = e.n;
  e.n = 0;
  r = 0;
done:
  iw_webhook_events_free (e.v, e.n);
  json_decref (root);
  return r;
}
