/*
 * resolve.c - the registry client's jobs: tag -> digest (HEAD, or GET and
 * hash), manifests and indexes by digest, platform children, config
 * labels, and three-state existence checks, in batches.
 *
 * Every fetch by digest goes through fetch_digest(): mirrors first, then
 * the authoritative registry, and the body is hashed before anything
 * reads it.  Batches deduplicate their items and feed the transport a few
 * jobs at a time (see reg->feed), so memory stays flat.
 */
#include "registry/manifest.h"
#include "registry/registry.h"
#include "registry/transport.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- fetch by digest, verified ------------------------------------------ */

static void fetch_done (req *r);

static req *
fetch_req (iw_registry *reg, host *h, const char *repo, const char *digest, bool blob)
{
  char *path = iw_xasprintf ("/v2/%s/%s/%s", repo, blob ? "blobs" : "manifests", digest);
  req *r = iw_registry__req_new (reg, h, path, false, repo);

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
              cands[n++] = iw_registry__host_get (reg, bare, bare);
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
  iw_registry__submit (r);
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
      char *d = iw_registry__error_detail (r);

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
      iw_registry__submit (n);
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
  char *d = iw_registry__error_detail (r);
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
      req *g = iw_registry__req_new (j->reg, j->host, path, false, j->ref->path);

      if (r->h_digest)
        iw_log_warn ("%s: ignoring malformed Docker-Content-Digest", r->what);
      free (path);
      g->cb = on_get_tag;
      g->ctx = j;
      j->pending++;
      iw_registry__submit (g);
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
  req *r = iw_registry__req_new (j->reg, j->host, path, true, j->ref->path);

  free (path);
  r->cb = on_head;
  r->ctx = j;
  j->pending = 1;
  iw_registry__submit (r);
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
  return iw_registry__host_get (reg, iw_ref_api_host (ref), ref->domain);
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
  iw_registry__run (reg);
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
      req *r = iw_registry__req_new (f->reg, host_for_ref (f->reg, ref), path, true, ref->path);

      free (path);
      f->cjobs[i].check = &f->checks[i];
      f->cjobs[i].out = &f->pres[i];
      r->cb = on_check;
      r->ctx = &f->cjobs[i];
      iw_registry__submit (r);
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
  iw_registry__run (reg);
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
