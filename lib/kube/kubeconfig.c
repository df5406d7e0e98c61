/*
 * kubeconfig.c - where the cluster is and how to authenticate, read the
 * way kubectl reads it.
 *
 * Files come from --kubeconfig, else $KUBECONFIG (colon-separated and
 * merged: for clusters, contexts and users the first file that defines a
 * name wins, and so for current-context), else ~/.kube/config, else the
 * in-cluster service account.  One context is resolved into an
 * iw_kubeconfig; relative paths are taken relative to the file that
 * holds them.  YAML is read with libyaml's document loader, so errors can
 * name file, line and key.
 */
#include "kube/kube.h"
#include "util/base64.h"
#include "util/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#define KUBECONFIG_MAX (4 * 1024 * 1024)
#define MAX_FILES 32

typedef struct kfile
{
  char *name; /* as given, for messages */
  char *dir;  /* for relative paths */
  yaml_document_t doc;
  bool loaded;
} kfile;

typedef struct kset
{
  kfile files[MAX_FILES];
  size_t n;
} kset;

/* --- YAML navigation ------------------------------------------------ */

static yaml_node_t *
root (kfile *f)
{
  return f->loaded ? yaml_document_get_root_node (&f->doc) : NULL;
}

static yaml_node_t *
map_get (kfile *f, yaml_node_t *map, const char *key)
{
  if (map == NULL || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
    {
      yaml_node_t *k = yaml_document_get_node (&f->doc, p->key);

      if (k && k->type == YAML_SCALAR_NODE && strlen (key) == k->data.scalar.length
          && memcmp (k->data.scalar.value, key, k->data.scalar.length) == 0)
        return yaml_document_get_node (&f->doc, p->value);
    }
  return NULL;
}

static bool
is_null (const yaml_node_t *n)
{
  if (n == NULL)
    return true;
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  return n->data.scalar.length == 0 || strcmp ((const char *)n->data.scalar.value, "null") == 0
         || strcmp ((const char *)n->data.scalar.value, "~") == 0;
}

/* A string value at map.key: *out borrowed, NULL when absent or null. */
static int
get_str (const char **out, kfile *f, yaml_node_t *map, const char *key, const char *where, iw_error **err)
{
  yaml_node_t *n = map_get (f, map, key);

  *out = NULL;
  if (is_null (n))
    return 0;
  if (n->type != YAML_SCALAR_NODE)
    return iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.%s: expected a string", f->name, n->start_mark.line + 1,
                         where, key);
  *out = (const char *)n->data.scalar.value;
  return 0;
}

static int
get_bool (bool *out, kfile *f, yaml_node_t *map, const char *key, const char *where, iw_error **err)
{
  const char *s;

  if (get_str (&s, f, map, key, where, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (strcmp (s, "true") == 0 || strcmp (s, "True") == 0)
    *out = true;
  else if (strcmp (s, "false") == 0 || strcmp (s, "False") == 0)
    *out = false;
  else
    return iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.%s: expected true or false, not \"%s\"", f->name,
                         map_get (f, map, key)->start_mark.line + 1, where, key, s);
  return 0;
}

static char *
resolve_path (const kfile *f, const char *p)
{
  if (p == NULL)
    return NULL;
  if (p[0] == '/' || f->dir == NULL)
    return iw_xstrdup (p);
  if (p[0] == '~' && p[1] == '/' && getenv ("HOME"))
    return iw_xasprintf ("%s/%s", getenv ("HOME"), p + 2);
  return iw_xasprintf ("%s/%s", f->dir, p);
}

/* A named entry of clusters/contexts/users, in the first file holding it. */
static yaml_node_t *
find_named (kset *s, const char *list, const char *name, const char *field, kfile **file_out)
{
  for (size_t i = 0; i < s->n; i++)
    {
      kfile *f = &s->files[i];
      yaml_node_t *seq = map_get (f, root (f), list);

      if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
        continue;
      for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
        {
          yaml_node_t *e = yaml_document_get_node (&f->doc, *it);
          yaml_node_t *nm = map_get (f, e, "name");

          if (nm && nm->type == YAML_SCALAR_NODE && strcmp ((const char *)nm->data.scalar.value, name) == 0)
            {
              *file_out = f;
              return map_get (f, e, field);
            }
        }
    }
  return NULL;
}

/* --- loading ---------------------------------------------------------- */

static int
load_doc (kfile *f, const char *text, size_t len, iw_error **err)
{
  yaml_parser_t parser;
  int rc = 0;

  if (!yaml_parser_initialize (&parser))
    abort ();
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load (&parser, &f->doc))
    rc = iw_error_set (err, IW_EPARSE, "%s:%zu: invalid YAML: %s", f->name, parser.problem_mark.line + 1,
                       parser.problem ? parser.problem : "unreadable");
  else
    {
      yaml_node_t *r;

      f->loaded = true;
      r = yaml_document_get_root_node (&f->doc);
      if (r && r->type != YAML_MAPPING_NODE)
        rc = iw_error_set (err, IW_EPOLICY, "%s:%zu: a kubeconfig must be a mapping", f->name,
                           r->start_mark.line + 1);
    }
  yaml_parser_delete (&parser);
  return rc;
}

static char *
dir_of (const char *path)
{
  const char *slash = strrchr (path, '/');

  if (slash == NULL)
    return iw_xstrdup (".");
  if (slash == path)
    return iw_xstrdup ("/");
  return iw_xstrndup (path, (size_t)(slash - path));
}

static int
read_file (char **out, size_t *len_out, const char *path, iw_error **err)
{
  FILE *f = fopen (path, "rb");
  char *buf = NULL;
  size_t len = 0, n;

  if (f == NULL)
    return iw_error_set (err, errno == ENOENT ? IW_ENOTFOUND : IW_EIO, "open %s: %s", path, strerror (errno));
  buf = iw_xmalloc (KUBECONFIG_MAX + 1);
  while ((n = fread (buf + len, 1, KUBECONFIG_MAX + 1 - len, f)) > 0)
    {
      len += n;
      if (len > KUBECONFIG_MAX)
        {
          fclose (f);
          free (buf);
          return iw_error_set (err, IW_ETOOBIG, "%s: larger than %d bytes", path, KUBECONFIG_MAX);
        }
    }
  if (ferror (f))
    {
      fclose (f);
      free (buf);
      return iw_error_set (err, IW_EIO, "read %s: %s", path, strerror (errno));
    }
  fclose (f);
  buf[len] = '\0';
  *out = buf;
  *len_out = len;
  return 0;
}

static int
add_file (kset *s, const char *path, bool must_exist, iw_error **err)
{
  char *text = NULL;
  size_t len;
  kfile *f;
  int rc;

  if (s->n == MAX_FILES)
    return iw_error_set (err, IW_EPOLICY, "more than %d kubeconfig files", MAX_FILES);
  if (read_file (&text, &len, path, err) < 0)
    {
      if (!must_exist && iw_error_code (*err) == IW_ENOTFOUND)
        {
          iw_error_clear (err);
          return 0;
        }
      return -1;
    }
  f = &s->files[s->n++];
  f->name = iw_xstrdup (path);
  f->dir = dir_of (path);
  rc = load_doc (f, text, len, err);
  free (text);
  return rc;
}

static void
kset_free (kset *s)
{
  for (size_t i = 0; i < s->n; i++)
    {
      if (s->files[i].loaded)
        yaml_document_delete (&s->files[i].doc);
      free (s->files[i].name);
      free (s->files[i].dir);
    }
  s->n = 0;
}

/* --- resolution ------------------------------------------------------- */

static int
dup_str (char **dst, kfile *f, yaml_node_t *map, const char *key, const char *where, iw_error **err)
{
  const char *s;

  if (get_str (&s, f, map, key, where, err) < 0)
    return -1;
  free (*dst);
  *dst = iw_xstrdup0 (s);
  return 0;
}

static int
dup_b64 (char **dst, kfile *f, yaml_node_t *map, const char *key, const char *where, iw_error **err)
{
  const char *s;
  size_t len;

  if (get_str (&s, f, map, key, where, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (iw_base64_decode (dst, &len, s, strlen (s)) < 0)
    return iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.%s: invalid base64", f->name,
                         map_get (f, map, key)->start_mark.line + 1, where, key);
  return 0;
}

static int
dup_path (char **dst, kfile *f, yaml_node_t *map, const char *key, const char *where, iw_error **err)
{
  const char *s;

  if (get_str (&s, f, map, key, where, err) < 0)
    return -1;
  *dst = resolve_path (f, s);
  return 0;
}

static int
reject (kfile *f, yaml_node_t *map, const char *const *keys, const char *where, iw_error **err)
{
  for (; *keys; keys++)
    {
      yaml_node_t *n = map_get (f, map, *keys);

      if (n && !is_null (n))
        return iw_error_set (err, IW_EUNSUPPORTED, "%s:%zu: %s.%s is not supported by imgwatch", f->name,
                             n->start_mark.line + 1, where, *keys);
    }
  return 0;
}

static int
load_exec (iw_kubeconfig *kc, kfile *f, yaml_node_t *ex, const char *where, iw_error **err)
{
  iw_kube_exec *e = iw_xcalloc (1, sizeof *e);
  char *w = iw_xasprintf ("%s.exec", where);
  yaml_node_t *args = map_get (f, ex, "args"), *env = map_get (f, ex, "env");
  const char *cmd;
  int rc = -1;

  kc->exec = e;
  if (ex->type != YAML_MAPPING_NODE)
    {
      iw_error_set (err, IW_EPOLICY, "%s:%zu: %s: expected a mapping", f->name, ex->start_mark.line + 1, w);
      goto done;
    }
  if (get_str (&cmd, f, ex, "command", w, err) < 0)
    goto done;
  if (cmd == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.command is missing", f->name, ex->start_mark.line + 1, w);
      goto done;
    }
  /* kubectl resolves a command with a slash relative to the file. */
  e->command = strchr (cmd, '/') ? resolve_path (f, cmd) : iw_xstrdup (cmd);
  if (dup_str (&e->api_version, f, ex, "apiVersion", w, err) < 0
      || get_bool (&e->provide_cluster_info, f, ex, "provideClusterInfo", w, err) < 0)
    goto done;
  if (e->api_version == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.apiVersion is missing", f->name, ex->start_mark.line + 1, w);
      goto done;
    }
  if (strcmp (e->api_version, "client.authentication.k8s.io/v1") != 0
      && strcmp (e->api_version, "client.authentication.k8s.io/v1beta1") != 0)
    {
      iw_error_set (err, IW_EUNSUPPORTED, "%s: %s.apiVersion \"%s\" is not supported (v1 or v1beta1)",
                    f->name, w, e->api_version);
      goto done;
    }
  if (!is_null (args))
    {
      size_t n = 0;

      if (args->type != YAML_SEQUENCE_NODE)
        {
          iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.args: expected a list", f->name,
                        args->start_mark.line + 1, w);
          goto done;
        }
      e->args = iw_xcalloc ((size_t)(args->data.sequence.items.top - args->data.sequence.items.start) + 1,
                            sizeof (char *));
      for (yaml_node_item_t *it = args->data.sequence.items.start; it < args->data.sequence.items.top; it++)
        {
          yaml_node_t *a = yaml_document_get_node (&f->doc, *it);

          if (a == NULL || a->type != YAML_SCALAR_NODE)
            {
              iw_error_set (err, IW_EPOLICY, "%s: %s.args[%zu]: expected a string", f->name, w, n);
              goto done;
            }
          e->args[n++] = iw_xstrdup ((const char *)a->data.scalar.value);
        }
    }
  if (!is_null (env))
    {
      size_t n = 0;

      if (env->type != YAML_SEQUENCE_NODE)
        {
          iw_error_set (err, IW_EPOLICY, "%s:%zu: %s.env: expected a list", f->name, env->start_mark.line + 1,
                        w);
          goto done;
        }
      e->env = iw_xcalloc ((size_t)(env->data.sequence.items.top - env->data.sequence.items.start) + 1,
                           sizeof (char *));
      for (yaml_node_item_t *it = env->data.sequence.items.start; it < env->data.sequence.items.top; it++)
        {
          yaml_node_t *a = yaml_document_get_node (&f->doc, *it);
          const char *name, *value;

          if (get_str (&name, f, a, "name", w, err) < 0 || get_str (&value, f, a, "value", w, err) < 0)
            goto done;
          if (name == NULL)
            {
              iw_error_set (err, IW_EPOLICY, "%s: %s.env[%zu].name is missing", f->name, w, n);
              goto done;
            }
          e->env[n++] = iw_xasprintf ("%s=%s", name, value ? value : "");
        }
    }
  rc = 0;
done:
  free (w);
  return rc;
}

static int
resolve (iw_kubeconfig **out, kset *s, const char *origin, const char *context, iw_error **err)
{
  static const char *const user_unsupported[]
      = { "auth-provider", "as", "as-uid", "as-groups", "as-user-extra", NULL };
  iw_kubeconfig *kc = iw_xcalloc (1, sizeof *kc);
  kfile *cf = NULL, *clf = NULL, *uf = NULL;
  yaml_node_t *ctx, *cl, *user;
  const char *cur = context, *cname = NULL, *uname = NULL;
  char *w = NULL;
  int rc = -1;

  kc->origin = iw_xstrdup (origin);
  for (size_t i = 0; i < s->n && cur == NULL; i++)
    {
      if (get_str (&cur, &s->files[i], root (&s->files[i]), "current-context", "kubeconfig", err) < 0)
        goto done;
      if (cur && *cur == '\0')
        cur = NULL;
    }
  if (cur == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s: current-context is not set (use --context)", origin);
      goto done;
    }
  kc->context = iw_xstrdup (cur);
  ctx = find_named (s, "contexts", cur, "context", &cf);
  if (ctx == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s: context \"%s\" not found in contexts", origin, cur);
      goto done;
    }
  w = iw_xasprintf ("contexts[%s].context", cur);
  if (get_str (&cname, cf, ctx, "cluster", w, err) < 0 || get_str (&uname, cf, ctx, "user", w, err) < 0
      || dup_str (&kc->namespace_, cf, ctx, "namespace", w, err) < 0)
    goto done;
  if (cname == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s: %s.cluster is missing", cf->name, w);
      goto done;
    }
  kc->cluster = iw_xstrdup (cname);
  cl = find_named (s, "clusters", cname, "cluster", &clf);
  if (cl == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s: cluster \"%s\" (from context \"%s\") not found in clusters", origin,
                    cname, cur);
      goto done;
    }
  free (w);
  w = iw_xasprintf ("clusters[%s].cluster", cname);
  if (dup_str (&kc->server, clf, cl, "server", w, err) < 0
      || dup_path (&kc->ca_file, clf, cl, "certificate-authority", w, err) < 0
      || dup_b64 (&kc->ca_data, clf, cl, "certificate-authority-data", w, err) < 0
      || get_bool (&kc->insecure_skip_tls_verify, clf, cl, "insecure-skip-tls-verify", w, err) < 0
      || dup_str (&kc->tls_server_name, clf, cl, "tls-server-name", w, err) < 0
      || reject (clf, cl, (const char *const[]){ "proxy-url", NULL }, w, err) < 0)
    goto done;
  if (kc->insecure_skip_tls_verify && (kc->ca_file || kc->ca_data))
    {
      /* As kubectl: a CA and "trust anything" contradict each other. */
      iw_error_set (err, IW_EPOLICY,
                    "%s: %s: certificate-authority and insecure-skip-tls-verify are exclusive", clf->name, w);
      goto done;
    }
  if (kc->server == NULL || *kc->server == '\0')
    {
      iw_error_set (err, IW_EPOLICY, "%s: %s.server is missing", clf->name, w);
      goto done;
    }
  if (strncmp (kc->server, "https://", 8) != 0 && strncmp (kc->server, "http://", 7) != 0)
    {
      iw_error_set (err, IW_EPOLICY, "%s: %s.server \"%s\": expected an https:// URL", clf->name, w,
                    kc->server);
      goto done;
    }
  if (uname == NULL)
    goto ok; /* anonymous */
  kc->user = iw_xstrdup (uname);
  user = find_named (s, "users", uname, "user", &uf);
  if (user == NULL)
    {
      iw_error_set (err, IW_EPOLICY, "%s: user \"%s\" (from context \"%s\") not found in users", origin,
                    uname, cur);
      goto done;
    }
  free (w);
  w = iw_xasprintf ("users[%s].user", uname);
  if (reject (uf, user, user_unsupported, w, err) < 0 || dup_str (&kc->token, uf, user, "token", w, err) < 0
      || dup_path (&kc->token_file, uf, user, "tokenFile", w, err) < 0
      || dup_path (&kc->client_cert_file, uf, user, "client-certificate", w, err) < 0
      || dup_b64 (&kc->client_cert_data, uf, user, "client-certificate-data", w, err) < 0
      || dup_path (&kc->client_key_file, uf, user, "client-key", w, err) < 0
      || dup_b64 (&kc->client_key_data, uf, user, "client-key-data", w, err) < 0
      || dup_str (&kc->username, uf, user, "username", w, err) < 0
      || dup_str (&kc->password, uf, user, "password", w, err) < 0)
    goto done;
  {
    yaml_node_t *ex = map_get (uf, user, "exec");

    if (!is_null (ex) && load_exec (kc, uf, ex, w, err) < 0)
      goto done;
  }
  if ((kc->client_cert_file || kc->client_cert_data) != (kc->client_key_file || kc->client_key_data))
    {
      iw_error_set (err, IW_EPOLICY, "%s: %s: client-certificate and client-key must be given together",
                    uf->name, w);
      goto done;
    }
ok:
  *out = iw_steal (&kc);
  rc = 0;
done:
  free (w);
  iw_kubeconfig_free (kc);
  return rc;
}

int
iw_kubeconfig_parse (iw_kubeconfig **out, const char *text, size_t len, const char *name, const char *context,
                     iw_error **err)
{
  kset s = { 0 };
  kfile *f = &s.files[s.n++];
  int rc;

  f->name = iw_xstrdup (name);
  f->dir = dir_of (name);
  rc = load_doc (f, text, len, err);
  if (rc == 0)
    rc = resolve (out, &s, name, context, err);
  kset_free (&s);
  return rc;
}

static char *
read_small (const char *path)
{
  char *text = NULL;
  size_t len;
  iw_error *e = NULL;

  if (read_file (&text, &len, path, &e) < 0)
    {
      iw_error_free (e);
      return NULL;
    }
  while (len > 0 && strchr (" \t\r\n", text[len - 1]))
    text[--len] = '\0';
  return text;
}

int
iw_kubeconfig_in_cluster (iw_kubeconfig **out, const char *sa_dir, iw_error **err)
{
  const char *host = getenv ("KUBERNETES_SERVICE_HOST"), *port = getenv ("KUBERNETES_SERVICE_PORT");
  iw_kubeconfig *kc;
  char *ns_file;

  if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
    return iw_error_set (err, IW_EPOLICY,
                         "no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a cluster "
                         "($KUBERNETES_SERVICE_HOST/PORT are not set)");
  kc = iw_xcalloc (1, sizeof *kc);
  kc->origin = iw_xstrdup ("in-cluster");
  kc->cluster = iw_xstrdup ("in-cluster");
  kc->server = strchr (host, ':') ? iw_xasprintf ("https://[%s]:%s", host, port)
                                  : iw_xasprintf ("https://%s:%s", host, port);
  kc->token_file = iw_xasprintf ("%s/token", sa_dir);
  kc->ca_file = iw_xasprintf ("%s/ca.crt", sa_dir);
  ns_file = iw_xasprintf ("%s/namespace", sa_dir);
  kc->namespace_ = read_small (ns_file);
  free (ns_file);
  if (access (kc->token_file, R_OK) < 0)
    {
      iw_error_set (err, IW_EAUTH, "in-cluster: cannot read the service account token %s: %s", kc->token_file,
                    strerror (errno));
      iw_kubeconfig_free (kc);
      return -1;
    }
  *out = kc;
  return 0;
}

int
iw_kubeconfig_load (iw_kubeconfig **out, const char *path, const char *context, iw_error **err)
{
  kset s = { 0 };
  const char *env = getenv ("KUBECONFIG");
  char *origin = NULL;
  int rc = -1;

  if (path)
    {
      if (add_file (&s, path, true, err) < 0)
        goto done;
      origin = iw_xstrdup (path);
    }
  else if (env && *env)
    {
      char *list = iw_xstrdup (env), *save = NULL;

      for (char *p = strtok_r (list, ":", &save); p; p = strtok_r (NULL, ":", &save))
        if (add_file (&s, p, false, err) < 0)
          {
            free (list);
            goto done;
          }
      free (list);
      if (s.n == 0)
        {
          iw_error_set (err, IW_EPOLICY, "$KUBECONFIG=%s: none of its files exists", env);
          goto done;
        }
      origin = iw_xstrdup (env);
    }
  else
    {
      const char *home = getenv ("HOME");
      char *def = home ? iw_xasprintf ("%s/.kube/config", home) : NULL;

      if (def && add_file (&s, def, false, err) < 0)
        {
          free (def);
          goto done;
        }
      if (s.n == 0)
        {
          const char *sa = getenv ("IMGWATCH_SA_DIR");

          free (def);
          rc = iw_kubeconfig_in_cluster (out, sa ? sa : "/var/run/secrets/kubernetes.io/serviceaccount", err);
          goto done;
        }
      origin = def;
    }
  rc = resolve (out, &s, origin, context, err);
done:
  free (origin);
  kset_free (&s);
  return rc;
}

void
iw_kubeconfig_free (iw_kubeconfig *kc)
{
  if (kc == NULL)
    return;
  free (kc->origin);
  free (kc->context);
  free (kc->cluster);
  free (kc->user);
  free (kc->namespace_);
  free (kc->server);
  free (kc->ca_file);
  free (kc->ca_data);
  free (kc->tls_server_name);
  free (kc->token);
  free (kc->token_file);
  free (kc->client_cert_file);
  free (kc->client_cert_data);
  free (kc->client_key_file);
  free (kc->client_key_data);
  free (kc->username);
  free (kc->password);
  if (kc->exec)
    {
      free (kc->exec->command);
      for (char **a = kc->exec->args; a && *a; a++)
        free (*a);
      free (kc->exec->args);
      for (char **a = kc->exec->env; a && *a; a++)
        free (*a);
      free (kc->exec->env);
      free (kc->exec->api_version);
      free (kc->exec);
    }
  free (kc);
}
