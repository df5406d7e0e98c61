/*
 * pullsecret.c - credentials from Kubernetes image pull secrets.
 *
 * A pod's imagePullSecrets name Secrets of type
 * kubernetes.io/dockerconfigjson ({"auths": {KEY: ENTRY}}) or the legacy
 * kubernetes.io/dockercfg ({KEY: ENTRY}).  This file parses their decoded
 * content, normalizes the keys the way kubelet does (a URL or host/path,
 * docker.io's aliases), and hands the credentials to the registry client,
 * which keeps them per registry host next to the ones it looks up itself.
 *
 * Precedence, for one registry host: imgwatch's config
 * (registries.<host>.username) first, then pull secrets, then docker's
 * config.json.  Among pull secrets, the first one given for a host wins;
 * an entry for the whole host wins over one scoped to a repository path.
 *
 * Credentials are never logged: messages name secrets and hosts only.
 */
#include "registry/transport.h"
#include "util/log.h"
#include "util/mem.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A pull secret is small; kubelet's own cap on a Secret is 1 MiB. */
#define PULL_SECRET_MAX (1024 * 1024)
#define MAX_ENTRIES 4096

static bool
hub_alias (const char *h)
{
  return strcmp (h, "docker.io") == 0 || strcmp (h, "index.docker.io") == 0
         || strcmp (h, "registry-1.docker.io") == 0 || strcmp (h, "registry.hub.docker.com") == 0;
}

int
iw_pull_key_normalize (char **out_host, char **out_path, const char *key, iw_error **err)
{
  const char *p = key, *slash;
  char *hostname = NULL, *path = NULL;
  size_t hn;

  *out_host = NULL;
  *out_path = NULL;
  if (strncasecmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncasecmp (p, "http://", 7) == 0)
    p += 7;
  slash = strchr (p, '/');
  hn = slash ? (size_t)(slash - p) : strlen (p);
  if (hn == 0)
    return iw_error_set (err, IW_EPARSE, "registry key has no host");
  hostname = iw_xstrndup (p, hn);
  for (char *c = hostname; *c; c++)
    {
      if (*c == '*' || *c == '?')
        {
          free (hostname);
          return iw_error_set (err, IW_EPARSE, "wildcard registry keys are not supported");
        }
      if (isspace ((unsigned char)*c) || *c == '@' || !isprint ((unsigned char)*c))
        {
          free (hostname);
          return iw_error_set (err, IW_EPARSE, "registry key has an invalid host");
        }
      *c = (char)tolower ((unsigned char)*c);
    }
  if (hub_alias (hostname))
    {
      free (hostname);
      hostname = iw_xstrdup ("docker.io");
    }
  if (slash)
    {
      const char *q = slash;
      size_t n;

      /* docker treats /v1/ and /v2/ as the host itself. */
      if (strncmp (q, "/v1/", 4) == 0 || strncmp (q, "/v2/", 4) == 0 || strcmp (q, "/v1") == 0
          || strcmp (q, "/v2") == 0)
        q += 3;
      while (*q == '/')
        q++;
      n = strlen (q);
      while (n > 0 && q[n - 1] == '/')
        n--;
      if (n > 0)
        path = iw_xstrndup (q, n);
    }
  *out_host = hostname;
  *out_path = path;
  return 0;
}

static const char *
str_member (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);

  return json_is_string (v) && strlen (json_string_value (v)) == json_string_length (v)
             ? json_string_value (v)
             : NULL;
}

void
iw_pull_auths_free (iw_pull_auth *a, size_t n)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    {
      free (a[i].host);
      free (a[i].path);
      iw_creds_clear (&a[i].creds);
    }
  free (a);
}

int
iw_pull_auths_parse (iw_pull_auth **out, size_t *out_n, size_t *out_skipped, const char *text, size_t len,
                     iw_error **err)
{
  json_error_t jerr;
  json_t *root, *auths, *entry;
  const char *key;
  iw_pull_auth *v = NULL;
  size_t n = 0, skipped = 0;
  int ret = -1;

  *out = NULL;
  *out_n = 0;
  if (out_skipped)
    *out_skipped = 0;
  if (len > PULL_SECRET_MAX)
    return iw_error_set (err, IW_ETOOBIG, "pull secret larger than %d bytes", PULL_SECRET_MAX);
  root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return iw_error_set (err, IW_EPARSE, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "not a JSON object");
      goto done;
    }
  /* .dockerconfigjson wraps the entries in "auths"; .dockercfg does not. */
  auths = json_object_get (root, "auths");
  if (auths != NULL && !json_is_object (auths))
    {
      iw_error_set (err, IW_EPARSE, "\"auths\" is not an object");
      goto done;
    }
  if (auths == NULL)
    auths = root;
  if (json_object_size (auths) > MAX_ENTRIES)
    {
      iw_error_set (err, IW_ETOOBIG, "more than %d registries", MAX_ENTRIES);
      goto done;
    }
  json_object_foreach (auths, key, entry)
  {
    const char *a, *u, *p;
    iw_pull_auth pa = { 0 };
    iw_error *e = NULL;

    if (!json_is_object (entry) || iw_pull_key_normalize (&pa.host, &pa.path, key, &e) < 0)
      {
        if (e)
          iw_log_debug ("pull secret key \"%s\" skipped: %s", key, iw_error_msg (e));
        iw_error_free (e);
        skipped++;
        continue;
      }
    a = str_member (entry, "auth");
    u = str_member (entry, "username");
    p = str_member (entry, "password");
    if (a && *a)
      {
        if (iw_creds_decode_auth (&pa.creds, a, err) < 0)
          {
            iw_error_wrap (err, "auths[\"%s\"]", key);
            free (pa.host);
            free (pa.path);
            goto done;
          }
      }
    else if (u && *u && p)
      {
        pa.creds.username = iw_xstrdup (u);
        pa.creds.password = iw_xstrdup (p);
      }
    else
      {
        free (pa.host);
        free (pa.path);
        skipped++;
        continue;
      }
    v = iw_xreallocarray (v, n + 1, sizeof *v);
    v[n++] = pa;
  }
  *out = iw_steal (&v);
  *out_n = n;
  if (out_skipped)
    *out_skipped = skipped;
  ret = 0;
done:
  iw_pull_auths_free (v, n);
  json_decref (root);
  return ret;
}

/* ---- the registry client's side --------------------------------------- */

static bool
same_host (const char *a, const char *b)
{
  return strcasecmp (a, b) == 0 || (hub_alias (a) && hub_alias (b));
}

/* Forget what hosts looked up, so that new credentials are seen. */
static void
reset_hosts (iw_registry *reg, const char *hostname)
{
  for (size_t i = 0; i < reg->n_hosts; i++)
    {
      host *h = reg->hosts[i];

      if (!same_host (h->domain, hostname) || h->creds_state == 0)
        continue;
      iw_creds_clear (&h->creds);
      free (h->creds_error);
      h->creds_error = NULL;
      h->creds_state = 0;
    }
}

/* Add one entry; scoped says it came from a host/path key.  Returns 1
 * when added, 0 when the host already had pull-secret credentials. */
static int
add_one (iw_registry *reg, const char *hostname, const char *username, const char *password, bool scoped,
         const char *origin)
{
  for (size_t i = 0; i < reg->n_pull; i++)
    if (same_host (reg->pull[i].host, hostname))
      {
        if (!reg->pull[i].scoped || scoped)
          {
            if (strcmp (reg->pull[i].creds.username, username) != 0
                || strcmp (reg->pull[i].creds.password, password) != 0)
              iw_log_debug ("pull credentials for %s from %s ignored: %s gave some first", hostname,
                            origin ? origin : "the caller",
                            reg->pull[i].origin ? reg->pull[i].origin : "the caller");
            return 0;
          }
        /* A whole-host entry replaces one scoped to a path. */
        iw_creds_clear (&reg->pull[i].creds);
        free (reg->pull[i].origin);
        reg->pull[i].creds.username = iw_xstrdup (username);
        reg->pull[i].creds.password = iw_xstrdup (password);
        reg->pull[i].origin = iw_xstrdup0 (origin);
        reg->pull[i].scoped = false;
        reset_hosts (reg, hostname);
        return 1;
      }
  reg->pull = iw_xreallocarray (reg->pull, reg->n_pull + 1, sizeof *reg->pull);
  reg->pull[reg->n_pull].host = iw_xstrdup (hub_alias (hostname) ? "docker.io" : hostname);
  reg->pull[reg->n_pull].creds.username = iw_xstrdup (username);
  reg->pull[reg->n_pull].creds.password = iw_xstrdup (password);
  reg->pull[reg->n_pull].creds.identity_token = NULL;
  reg->pull[reg->n_pull].origin = iw_xstrdup0 (origin);
  reg->pull[reg->n_pull].scoped = scoped;
  reg->n_pull++;
  reset_hosts (reg, hostname);
  return 1;
}

int
iw_registry_add_credentials (iw_registry *reg, const char *hostname, const char *username,
                             const char *password, iw_error **err)
{
  char *h = NULL, *path = NULL;
  int r;

  if (reg == NULL || hostname == NULL || username == NULL || password == NULL || *username == '\0'
      || strchr (username, ':') != NULL)
    return iw_error_set (err, IW_EINVAL, "credentials need a host, a username without ':' and a password");
  if (iw_pull_key_normalize (&h, &path, hostname, err) < 0)
    return iw_error_wrap (err, "credentials for \"%s\"", hostname);
  r = add_one (reg, h, username, password, path != NULL, NULL);
  free (h);
  free (path);
  return r;
}

int
iw_registry_add_pull_secret (iw_registry *reg, const char *name, const char *json, size_t len, iw_error **err)
{
  iw_pull_auth *a = NULL;
  size_t n = 0, skipped = 0;
  int added = 0;

  if (reg == NULL || json == NULL)
    return iw_error_set (err, IW_EINVAL, "no pull secret");
  if (iw_pull_auths_parse (&a, &n, &skipped, json, len, err) < 0)
    return iw_error_wrap (err, "pull secret %s", name ? name : "");
  for (size_t i = 0; i < n; i++)
    {
      if (strchr (a[i].creds.username, ':') != NULL)
        {
          skipped++;
          continue;
        }
      added += add_one (reg, a[i].host, a[i].creds.username, a[i].creds.password, a[i].path != NULL, name);
    }
  if (skipped)
    iw_log_info ("pull secret %s: %zu entr%s without usable credentials skipped", name ? name : "", skipped,
                 skipped == 1 ? "y" : "ies");
  for (size_t i = 0; i < n; i++)
    iw_log_debug ("pull secret %s: credentials for %s%s%s", name ? name : "", a[i].host, a[i].path ? "/" : "",
                  a[i].path ? a[i].path : "");
  iw_pull_auths_free (a, n);
  return added;
}

int
iw_registry__pull_creds (iw_creds *out, const iw_registry *reg, const char *domain)
{
  out->username = out->password = out->identity_token = NULL;
  for (size_t i = 0; i < reg->n_pull; i++)
    if (same_host (reg->pull[i].host, domain))
      {
        out->username = iw_xstrdup (reg->pull[i].creds.username);
        out->password = iw_xstrdup (reg->pull[i].creds.password);
        return 1;
      }
  return 0;
}

void
iw_registry__pull_free (iw_registry *reg)
{
  for (size_t i = 0; i < reg->n_pull; i++)
    {
      free (reg->pull[i].host);
      free (reg->pull[i].origin);
      iw_creds_clear (&reg->pull[i].creds);
    }
  free (reg->pull);
  reg->pull = NULL;
  reg->n_pull = 0;
}
