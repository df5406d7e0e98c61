/*
 * store.c - verify a local image store: walk index -> manifest -> config ->
 * layers, check each blob's size, then its sha256, in parallel.
 *
 * The walk reads indexes and manifests (small, capped at 4 MiB) in the
 * calling thread, verifying each before trusting what it says, and builds
 * two tables: the distinct blobs, and the edges (image, blob, role,
 * expected size).  Then one worker per core takes blobs from a shared
 * counter and streams them through sha256 with a fixed buffer.  Findings
 * are made last from the edges, so each image names each of its bad blobs,
 * in a stable order whatever the thread timing.
 */
#include "runtime/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEPTH 4

/* ---- digests, documents ---------------------------------------------- */

bool
iw_store_digest_valid (const char *digest)
{
  if (digest == NULL || strncmp (digest, "sha256:", 7) != 0)
    return false;
  for (int i = 0; i < IW_SHA256_HEX_LEN; i++)
    {
      char c = digest[7 + i];

      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return false;
    }
  return digest[7 + IW_SHA256_HEX_LEN] == '\0';
}

static bool
is_index_type (const char *mt)
{
  return mt
         && (strcmp (mt, "application/vnd.oci.image.index.v1+json") == 0
             || strcmp (mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static bool
is_manifest_type (const char *mt)
{
  return mt
         && (strcmp (mt, "application/vnd.oci.image.manifest.v1+json") == 0
             || strcmp (mt, "application/vnd.docker.distribution.manifest.v2+json") == 0);
}

static bool
is_schema1_type (const char *mt)
{
  return mt && strncmp (mt, "application/vnd.docker.distribution.manifest.v1", 47) == 0;
}

void
iw_store_document_free (iw_store_document *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_children; i++)
    {
      free (d->children[i].media_type);
      free (d->children[i].digest);
      free (d->children[i].platform);
    }
  free (d->children);
  free (d->media_type);
  free (d);
}

static int
parse_descriptor (iw_store_descriptor *out, json_t *j, const char *where, iw_error **err)
{
  json_t *mt, *dg, *sz, *pl;

  memset (out, 0, sizeof *out);
  if (!json_is_object (j))
    return iw_error_set (err, IW_EPARSE, "%s: not an object", where);
  mt = json_object_get (j, "mediaType");
  dg = json_object_get (j, "digest");
  sz = json_object_get (j, "size");
  pl = json_object_get (j, "platform");
  if (mt && !json_is_string (mt))
    return iw_error_set (err, IW_EPARSE, "%s: mediaType is not a string", where);
  if (!json_is_string (dg))
    return iw_error_set (err, IW_EPARSE, "%s: digest is missing or not a string", where);
  if (!iw_store_digest_valid (json_string_value (dg)))
    return iw_error_set (err, IW_EPARSE, "%s: digest \"%.80s\" is not sha256:<64 lowercase hex>", where,
                         json_string_value (dg));
  if (!json_is_integer (sz) || json_integer_value (sz) < 0)
    return iw_error_set (err, IW_EPARSE, "%s: size is missing or not a non-negative integer", where);
  out->media_type = mt ? iw_xstrdup (json_string_value (mt)) : NULL;
  out->digest = iw_xstrdup (json_string_value (dg));
  out->size = (long long)json_integer_value (sz);
  if (json_is_object (pl))
    {
      json_t *os = json_object_get (pl, "os"), *arch = json_object_get (pl, "architecture");
      json_t *var = json_object_get (pl, "variant");

      if (json_is_string (os) && json_is_string (arch))
        out->platform = json_is_string (var)
                            ? iw_xasprintf ("%s/%s/%s", json_string_value (os), json_string_value (arch),
                                            json_string_value (var))
                            : iw_xasprintf ("%s/%s", json_string_value (os), json_string_value (arch));
    }
  return 0;
}

int
iw_store_document_parse (iw_store_document **out, const char *data, size_t len, const char *media_type,
                         iw_error **err)
{
  json_error_t jerr;
  json_t *root = NULL, *mt, *manifests, *config, *layers;
  iw_store_document *d = NULL;
  const char *body_mt = NULL;
  int ret = -1;

  if (is_schema1_type (media_type))
    return iw_error_set (err, IW_EUNSUPPORTED, "Docker schema 1 manifests are not supported");
  root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    {
      iw_error_set (err, IW_EPARSE, "invalid JSON at line %d: %s", jerr.line, jerr.text);
      goto done;
    }
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "not a JSON object");
      goto done;
    }
  mt = json_object_get (root, "mediaType");
  if (mt && !json_is_string (mt))
    {
      iw_error_set (err, IW_EPARSE, "mediaType is not a string");
      goto done;
    }
  body_mt = mt ? json_string_value (mt) : NULL;
  if (is_schema1_type (body_mt) || json_object_get (root, "fsLayers"))
    {
      iw_error_set (err, IW_EUNSUPPORTED, "Docker schema 1 manifests are not supported");
      goto done;
    }
  if (body_mt && media_type && strcmp (body_mt, media_type) != 0)
    {
      iw_error_set (err, IW_EPARSE, "mediaType \"%.100s\" disagrees with the descriptor's \"%.100s\"",
                    body_mt, media_type);
      goto done;
    }
  manifests = json_object_get (root, "manifests");
  config = json_object_get (root, "config");
  layers = json_object_get (root, "layers");
  if (manifests && (config || layers))
    {
      iw_error_set (err, IW_EPARSE, "ambiguous document: both manifests and config/layers");
      goto done;
    }
  if (!body_mt)
    body_mt = media_type;
  d = iw_xcalloc (1, sizeof *d);
  d->media_type = iw_xstrdup0 (body_mt);
  if (manifests || is_index_type (body_mt))
    {
      size_t i;
      json_t *e;

      if (body_mt && !is_index_type (body_mt))
        {
          iw_error_set (err, IW_EPARSE, "mediaType \"%.100s\" is not an index but has manifests", body_mt);
          goto done;
        }
      if (!json_is_array (manifests))
        {
          iw_error_set (err, IW_EPARSE, "index: manifests is missing or not an array");
          goto done;
        }
      d->is_index = true;
      d->children = iw_xcalloc (json_array_size (manifests) + 1, sizeof *d->children);
      json_array_foreach (manifests, i, e)
      {
        char where[48];

        snprintf (where, sizeof where, "manifests[%zu]", i);
        if (parse_descriptor (&d->children[i], e, where, err) < 0)
          goto done;
        d->n_children++;
      }
    }
  else
    {
      size_t i;
      json_t *e;

      if (body_mt && !is_manifest_type (body_mt))
        {
          iw_error_set (err, IW_EPARSE, "unknown mediaType \"%.100s\"", body_mt);
          goto done;
        }
      if (!config || !json_is_array (layers))
        {
          iw_error_set (err, IW_EPARSE, "manifest: config or layers is missing");
          goto done;
        }
      d->children = iw_xcalloc (json_array_size (layers) + 1, sizeof *d->children);
      if (parse_descriptor (&d->children[0], config, "config", err) < 0)
        goto done;
      d->n_children = 1;
      json_array_foreach (layers, i, e)
      {
        char where[48];

        snprintf (where, sizeof where, "layers[%zu]", i);
        if (parse_descriptor (&d->children[i + 1], e, where, err) < 0)
          goto done;
        d->n_children++;
      }
    }
  *out = iw_steal (&d);
  ret = 0;
done:
  iw_store_document_free (d);
  json_decref (root);
  return ret;
}

/* ---- image lists ----------------------------------------------------- */

void
iw_store_image_clear (iw_store_image *img)
{
  free (img->name);
  free (img->namespace_);
  free (img->digest);
  free (img->media_type);
  memset (img, 0, sizeof *img);
}

void
iw_store_images_add (iw_store_images *l, const char *name, const char *namespace_, const char *digest,
                     const char *media_type, long long size)
{
  iw_store_image *img;

  if (l->n == l->cap)
    {
      l->cap = l->cap ? 2 * l->cap : 8;
      l->v = iw_xreallocarray (l->v, l->cap, sizeof *l->v);
    }
  img = &l->v[l->n++];
  img->name = iw_xstrdup (name);
  img->namespace_ = iw_xstrdup0 (namespace_);
  img->digest = iw_xstrdup (digest);
  img->media_type = iw_xstrdup0 (media_type);
  img->size = size;
}

void
iw_store_images_clear (iw_store_images *l)
{
  for (size_t i = 0; i < l->n; i++)
    iw_store_image_clear (&l->v[i]);
  free (l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

int
iw_store_images_add_arg (iw_store_images *l, const char *arg, iw_error **err)
{
  const char *eq = strrchr (arg, '=');
  const char *digest = eq ? eq + 1 : arg;

  if (!iw_store_digest_valid (digest))
    return iw_error_set (err, IW_EINVAL, "\"%s\": expected NAME=sha256:<64 hex> or sha256:<64 hex>", arg);
  if (eq == arg)
    return iw_error_set (err, IW_EINVAL, "\"%s\": empty image name", arg);
  if (eq)
    {
      char *name = iw_xstrndup (arg, (size_t)(eq - arg));

      iw_store_images_add (l, name, NULL, digest, NULL, -1);
      free (name);
    }
  else
    iw_store_images_add (l, digest, NULL, digest, NULL, -1);
  return 0;
}

/* ---- reading small documents ----------------------------------------- */

typedef struct small_sink
{
  iw_buf *buf;
  iw_sha256 *h;
} small_sink;

static int
small_sink_fn (const void *p, size_t n, void *ud, iw_error **err)
{
  small_sink *s = ud;

  iw_sha256_update (s->h, p, n);
  return iw_buf_append (s->buf, p, n, err);
}

/* Read a blob of at most IW_MANIFEST_MAX bytes into buf and hash it. */
static int
read_small (const iw_content_store *cs, const char *digest, iw_buf *buf, char got[IW_SHA256_DIGEST_STRLEN],
            iw_error **err)
{
  small_sink s = { buf, iw_sha256_new () };
  int ret;

  iw_buf_reset (buf);
  ret = cs->ops->read (cs->ctx, digest, (long long)IW_MANIFEST_MAX + 1, small_sink_fn, &s, err);
  if (ret == 0)
    iw_sha256_final (s.h, got);
  iw_sha256_free (s.h);
  return ret;
}

typedef struct discover_state
{
  const iw_content_store *cs;
  iw_store_images *found; /* every manifest and index */
  char **children;        /* digests referred to by an index */
  size_t n_children, cap_children;
  iw_buf buf;
} discover_state;

static int
discover_one (const char *digest, void *ud, iw_error **err)
{
  discover_state *st = ud;
  long long size = 0;
  char got[IW_SHA256_DIGEST_STRLEN];
  iw_store_document *doc = NULL;
  iw_error *e = NULL;
  const char *p;

  (void)err;
  if (st->cs->ops->stat (st->cs->ctx, digest, &size, &e) < 0 || size > (long long)IW_MANIFEST_MAX || size < 2)
    goto done;
  if (read_small (st->cs, digest, &st->buf, got, &e) < 0)
    goto done;
  for (p = iw_buf_cstr (&st->buf); *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'; p++)
    ;
  /* Only JSON objects can be documents; a tampered one is found by the
   * verification of every blob that follows discovery. */
  if (*p != '{' || iw_store_document_parse (&doc, st->buf.data, st->buf.len, NULL, &e) < 0)
    goto done;
  iw_store_images_add (st->found, digest, NULL, digest, doc->media_type, size);
  if (doc->is_index)
    for (size_t i = 0; i < doc->n_children; i++)
      {
        if (st->n_children == st->cap_children)
          {
            st->cap_children = st->cap_children ? 2 * st->cap_children : 16;
            st->children = iw_xreallocarray (st->children, st->cap_children, sizeof *st->children);
          }
        st->children[st->n_children++] = iw_xstrdup (doc->children[i].digest);
      }
done:
  iw_error_free (e);
  iw_store_document_free (doc);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
iw_store_images_discover (iw_store_images *l, const iw_content_store *cs, iw_error **err)
{
  iw_store_images found = IW_STORE_IMAGES_INIT;
  discover_state st = { cs, &found, NULL, 0, 0, IW_BUF_INIT (IW_MANIFEST_MAX) };
  int ret = -1;

  if (cs->ops->list == NULL)
    return iw_error_set (err, IW_EUNSUPPORTED, "%s cannot list its blobs", cs->description);
  if (cs->ops->list (cs->ctx, discover_one, &st, err) < 0)
    {
      iw_error_wrap (err, "list blobs of %s", cs->description);
      goto done;
    }
  if (st.n_children)
    qsort (st.children, st.n_children, sizeof *st.children, cmp_str);
  for (size_t i = 0; i < found.n; i++)
    {
      const char *key = found.v[i].digest;

      if (st.n_children == 0
          || bsearch (&key, st.children, st.n_children, sizeof *st.children, cmp_str) == NULL)
        iw_store_images_add (l, found.v[i].name, NULL, found.v[i].digest, found.v[i].media_type,
                             found.v[i].size);
    }
  ret = 0;
done:
  for (size_t i = 0; i < st.n_children; i++)
    free (st.children[i]);
  free (st.children);
  iw_buf_free (&st.buf);
  iw_store_images_clear (&found);
  return ret;
}

/* ---- the verification ------------------------------------------------ */

typedef struct blob
{
  char *digest;
  char *role;         /* the first role seen, for unreferenced blobs */
  bool done;          /* verified during the walk (documents) */
  bool expected_set;  /* expected holds what the edges say */
  long long expected; /* the size every edge expects; -1 when unknown or they differ */
  bool missing;
  bool malformed;      /* hashes right, does not parse */
  long long stat_size; /* stored size, -1 until known */
  long long read_size; /* bytes actually read */
  char got[IW_SHA256_DIGEST_STRLEN];
  char *error; /* unreadable: why */
} blob;

typedef struct edge
{
  size_t image; /* index into images, or (size_t)-1 for unreferenced blobs */
  size_t blob;
  const char *role;
  long long expected; /* -1: unknown */
  char *note;         /* for malformed documents: the parse error */
} edge;

typedef struct verifier
{
  const iw_content_store *cs;
  const iw_store_images *images; /* distinct (namespace, target) pairs */
  char **aliases;                /* per image: its other names, ", "-separated, or NULL */
  iw_store_report *report;
  blob *blobs;
  size_t n_blobs, cap_blobs;
  size_t *table; /* open addressing: blob index + 1, 0 = empty */
  size_t table_cap;
  edge *edges;
  size_t n_edges, cap_edges;
  iw_buf buf;
  atomic_size_t next;
  atomic_ullong bytes;
} verifier;

static size_t
digest_hash (const char *digest)
{
  size_t h = 0;

  /* The hex of a sha256 is already uniformly spread. */
  for (int i = 7; i < 7 + 16 && digest[i]; i++)
    h = h * 16 + (size_t)(digest[i] <= '9' ? digest[i] - '0' : digest[i] - 'a' + 10);
  return h;
}

static void
table_grow (verifier *v)
{
  size_t cap = v->table_cap ? v->table_cap * 2 : 64;

  free (v->table);
  v->table = iw_xcalloc (cap, sizeof *v->table);
  v->table_cap = cap;
  for (size_t i = 0; i < v->n_blobs; i++)
    {
      size_t k = digest_hash (v->blobs[i].digest) & (cap - 1);

      while (v->table[k])
        k = (k + 1) & (cap - 1);
      v->table[k] = i + 1;
    }
}

static size_t
blob_find (verifier *v, const char *digest)
{
  size_t k;

  if (v->table_cap == 0)
    return (size_t)-1;
  for (k = digest_hash (digest) & (v->table_cap - 1); v->table[k]; k = (k + 1) & (v->table_cap - 1))
    if (strcmp (v->blobs[v->table[k] - 1].digest, digest) == 0)
      return v->table[k] - 1;
  return (size_t)-1;
}

static size_t
blob_get (verifier *v, const char *digest, const char *role)
{
  size_t i = blob_find (v, digest), k;
  blob *b;

  if (i != (size_t)-1)
    return i;
  if (v->n_blobs == v->cap_blobs)
    {
      v->cap_blobs = v->cap_blobs ? 2 * v->cap_blobs : 32;
      v->blobs = iw_xreallocarray (v->blobs, v->cap_blobs, sizeof *v->blobs);
    }
  b = &v->blobs[v->n_blobs];
  memset (b, 0, sizeof *b);
  b->digest = iw_xstrdup (digest);
  b->role = iw_xstrdup (role);
  b->stat_size = -1;
  b->read_size = -1;
  i = v->n_blobs++;
  if (2 * v->n_blobs > v->table_cap)
    table_grow (v);
  else
    {
      for (k = digest_hash (digest) & (v->table_cap - 1); v->table[k]; k = (k + 1) & (v->table_cap - 1))
        ;
      v->table[k] = i + 1;
    }
  return i;
}

static edge *
edge_add (verifier *v, size_t image, size_t b, const char *role, long long expected)
{
  edge *e;

  if (v->n_edges == v->cap_edges)
    {
      v->cap_edges = v->cap_edges ? 2 * v->cap_edges : 64;
      v->edges = iw_xreallocarray (v->edges, v->cap_edges, sizeof *v->edges);
    }
  e = &v->edges[v->n_edges++];
  e->image = image;
  e->blob = b;
  e->role = role;
  e->expected = expected;
  e->note = NULL;
  if (!v->blobs[b].expected_set)
    {
      v->blobs[b].expected_set = true;
      v->blobs[b].expected = expected;
    }
  else if (v->blobs[b].expected != expected)
    v->blobs[b].expected = -1;
  return e;
}

static const char *
role_of (const char *media_type, const char *fallback)
{
  if (is_index_type (media_type))
    return "index";
  if (is_manifest_type (media_type) || is_schema1_type (media_type))
    return "manifest";
  return fallback;
}

static void image_finding (verifier *v, size_t image, const char *check, const char *severity,
                           const char *blob_digest, const char *role, const char *reason,
                           const char *message);

/* Read, verify and walk one index or manifest. */
static int
walk (verifier *v, size_t image, const char *digest, const char *media_type, long long expected, int depth,
      iw_error **err)
{
  size_t bi = blob_get (v, digest, role_of (media_type, "manifest"));
  edge *e = edge_add (v, image, bi, role_of (media_type, "manifest"), expected);
  blob *b = &v->blobs[bi];
  iw_store_document *doc = NULL;
  iw_error *re = NULL;
  size_t present = 0;
  bool already = false;
  int ret = 0;

  if (depth > MAX_DEPTH)
    {
      e->note = iw_xstrdup ("indexes nested too deep");
      b->malformed = true;
      goto done;
    }
  if (b->done)
    already = true;
  if (read_small (v->cs, digest, &v->buf, b->got, &re) < 0)
    {
      if (iw_error_code (re) == IW_ENOTFOUND)
        b->missing = true;
      else if (iw_error_code (re) == IW_ETOOBIG)
        {
          e->note = iw_xstrdup ("larger than 4 MiB, the cap for a manifest");
          b->malformed = true;
        }
      else if (b->error == NULL)
        b->error = iw_xstrdup (iw_error_msg (re));
      b->done = true;
      goto done;
    }
  b->done = true;
  b->stat_size = b->read_size = (long long)v->buf.len;
  if (!already)
    atomic_fetch_add (&v->bytes, (unsigned long long)v->buf.len);
  /* Trust nothing a document says until it hashes to its name. */
  if (strcmp (b->got, digest) != 0 || (expected >= 0 && expected != (long long)v->buf.len))
    goto done;
  if (iw_store_document_parse (&doc, v->buf.data, v->buf.len, media_type, &re) < 0)
    {
      e->note = iw_xstrdup (iw_error_msg (re));
      b->malformed = true;
      goto done;
    }
  if (doc->is_index)
    {
      for (size_t i = 0; i < doc->n_children; i++)
        {
          iw_store_descriptor *c = &doc->children[i];
          long long sz;

          iw_error_clear (&re);
          /* containerd fetches only the platforms it needs: a child that is
           * not in the store is another platform, not damage. */
          if (v->cs->ops->stat (v->cs->ctx, c->digest, &sz, &re) < 0 && iw_error_code (re) == IW_ENOTFOUND)
            {
              v->report->skipped++;
              continue;
            }
          present++;
          if (walk (v, image, c->digest, c->media_type, c->size, depth + 1, err) < 0)
            {
              ret = -1;
              goto done;
            }
        }
      if (present == 0 && doc->n_children > 0)
        {
          char *msg = iw_xasprintf ("none of the %zu platform manifests of index %s of image %s is in the "
                                    "content store",
                                    doc->n_children, digest, v->images->v[image].name);

          image_finding (v, image, "store-corrupt", "critical", digest, "index", "missing", msg);
          free (msg);
        }
    }
  else
    for (size_t i = 0; i < doc->n_children; i++)
      {
        const char *role = i == 0 ? "config" : "layer";

        edge_add (v, image, blob_get (v, doc->children[i].digest, role), role, doc->children[i].size);
      }
done:
  iw_error_free (re);
  iw_store_document_free (doc);
  return ret;
}

typedef struct hash_sink
{
  iw_sha256 *h;
  unsigned long long n;
} hash_sink;

static int
hash_sink_fn (const void *p, size_t n, void *ud, iw_error **err)
{
  hash_sink *s = ud;

  (void)err;
  iw_sha256_update (s->h, p, n);
  s->n += n;
  return 0;
}

static void
verify_blob (verifier *v, blob *b, iw_sha256 *h)
{
  iw_error *e = NULL;
  hash_sink s = { h, 0 };
  long long size = -1;

  if (v->cs->ops->stat (v->cs->ctx, b->digest, &size, &e) < 0)
    {
      if (iw_error_code (e) == IW_ENOTFOUND)
        b->missing = true;
      else
        b->error = iw_xstrdup (iw_error_msg (e));
      goto done;
    }
  b->stat_size = size;
  /* Size first: a blob of the wrong size is damaged whatever it hashes to. */
  if (b->expected >= 0 && b->expected != size)
    goto done;
  /* Read one byte past the stored size, to see a blob that grows. */
  if (v->cs->ops->read (v->cs->ctx, b->digest, size + 1, hash_sink_fn, &s, &e) < 0)
    {
      if (iw_error_code (e) == IW_ENOTFOUND)
        b->missing = true;
      else
        b->error = iw_xstrdup (iw_error_msg (e));
      goto done;
    }
  iw_sha256_final (h, b->got);
  b->read_size = (long long)s.n;
  atomic_fetch_add (&v->bytes, s.n);
done:
  iw_error_free (e);
}

static void *
worker (void *arg)
{
  verifier *v = arg;
  iw_sha256 *h = iw_sha256_new ();

  for (;;)
    {
      size_t i = atomic_fetch_add (&v->next, 1);

      if (i >= v->n_blobs)
        break;
      if (!v->blobs[i].done)
        verify_blob (v, &v->blobs[i], h);
    }
  iw_sha256_free (h);
  return NULL;
}

static int
run_workers (verifier *v, int jobs, iw_error **err)
{
  pthread_t *t;
  int started = 0, ret = 0;

  if (jobs <= 0)
    {
      long n = sysconf (_SC_NPROCESSORS_ONLN);

      jobs = n > 0 ? (int)n : 1;
    }
  if ((size_t)jobs > v->n_blobs)
    jobs = v->n_blobs ? (int)v->n_blobs : 1;
  t = iw_xcalloc ((size_t)jobs, sizeof *t);
  for (; started < jobs; started++)
    {
      int rc = pthread_create (&t[started], NULL, worker, v);

      if (rc != 0)
        {
          if (started == 0)
            ret = iw_error_set (err, IW_EIO, "start worker thread: %s", strerror (rc));
          break;
        }
    }
  for (int i = 0; i < started; i++)
    pthread_join (t[i], NULL);
  free (t);
  return ret;
}

/* A command that repairs the image.  containerd keeps a blob's record
 * after its file is damaged or gone, and a pull trusts that record: the
 * record goes first, then the image with a synchronous garbage collection
 * (which deletes the damaged file), then a pull fetches it all again. */
static char *
remediation_for (const iw_store_image *img, const char *blob_digest)
{
  const char *ns = img->namespace_ ? img->namespace_ : "default";

  if (strncmp (img->name, "sha256:", 7) == 0)
    return iw_xasprintf ("ctr -n %s content rm %s, then pull the image that uses it again", ns,
                         blob_digest ? blob_digest : img->digest);
  if (blob_digest)
    return iw_xasprintf ("ctr -n %s content rm %s; ctr -n %s images rm --sync %s && ctr -n %s images pull %s",
                         ns, blob_digest, ns, img->name, ns, img->name);
  return iw_xasprintf ("ctr -n %s images rm --sync %s && ctr -n %s images pull %s", ns, img->name, ns,
                       img->name);
}

static void
image_finding (verifier *v, size_t image, const char *check, const char *severity, const char *blob_digest,
               const char *role, const char *reason, const char *message)
{
  const iw_store_image *img = &v->images->v[image];
  char *rem = remediation_for (img, blob_digest);
  char *msg = v->aliases[image] ? iw_xasprintf ("%s (the image is also named %s)", message, v->aliases[image])
                                : NULL;

  iw_store_report_add (v->report, check, severity, img->name, img->namespace_, blob_digest, role, reason,
                       msg ? msg : message, rem);
  free (msg);
  free (rem);
}

static void
judge_edge (verifier *v, const edge *e)
{
  const blob *b = &v->blobs[e->blob];
  const char *image = e->image == (size_t)-1 ? "(no image)" : v->images->v[e->image].name;
  iw_blob_problem p = IW_BLOB_OK;
  char *msg = NULL;

  if (b->missing)
    {
      p = IW_BLOB_MISSING;
      msg = iw_xasprintf ("%s %s of image %s is missing from the content store", e->role, b->digest, image);
    }
  else if (b->error)
    {
      p = IW_BLOB_UNREADABLE;
      msg = iw_xasprintf ("%s %s of image %s could not be read: %s", e->role, b->digest, image, b->error);
    }
  else if (e->expected >= 0 && b->stat_size >= 0 && b->stat_size < e->expected)
    {
      p = IW_BLOB_TRUNCATED;
      msg = iw_xasprintf ("%s %s of image %s is truncated: %lld of %lld bytes", e->role, b->digest, image,
                          b->stat_size, e->expected);
    }
  else if (e->expected >= 0 && b->stat_size > e->expected)
    {
      p = IW_BLOB_OVERSIZE;
      msg = iw_xasprintf ("%s %s of image %s has %lld bytes where its descriptor says %lld", e->role,
                          b->digest, image, b->stat_size, e->expected);
    }
  else if (b->read_size >= 0 && b->stat_size >= 0 && b->read_size < b->stat_size)
    {
      p = IW_BLOB_TRUNCATED;
      msg = iw_xasprintf ("%s %s of image %s is truncated: read %lld of %lld bytes", e->role, b->digest,
                          image, b->read_size, b->stat_size);
    }
  else if (b->got[0] && strcmp (b->got, b->digest) != 0)
    {
      p = IW_BLOB_HASH;
      msg = iw_xasprintf ("%s %s of image %s is corrupt: its content hashes to %s", e->role, b->digest, image,
                          b->got);
    }
  else if (b->malformed && e->note)
    {
      p = IW_BLOB_MALFORMED;
      msg = iw_xasprintf ("%s %s of image %s cannot be used: %s", e->role, b->digest, image, e->note);
    }
  if (p == IW_BLOB_OK)
    return;
  if (e->image == (size_t)-1)
    iw_store_report_add (v->report, p == IW_BLOB_UNREADABLE ? "unverified" : "store-corrupt",
                         p == IW_BLOB_UNREADABLE ? "medium" : "critical", image, NULL, b->digest, e->role,
                         iw_blob_problem_name (p), msg, "remove the blob; no image refers to it");
  else
    image_finding (v, e->image, p == IW_BLOB_UNREADABLE ? "unverified" : "store-corrupt",
                   p == IW_BLOB_UNREADABLE ? "medium" : "critical", b->digest, e->role,
                   iw_blob_problem_name (p), msg);
  free (msg);
}

static int
add_unreferenced (const char *digest, void *ud, iw_error **err)
{
  verifier *v = ud;

  (void)err;
  if (blob_find (v, digest) == (size_t)-1)
    edge_add (v, (size_t)-1, blob_get (v, digest, "blob"), "blob", -1);
  return 0;
}

/* How good a name is for messages and commands: a tag beats a digest
 * reference, which beats a bare ID (CRI names an image all three ways). */
static int
name_rank (const char *name)
{
  if (strncmp (name, "sha256:", 7) == 0)
    return 0;
  return strchr (name, '@') ? 1 : 2;
}

static bool
same0 (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static void
alias_add (char **list, const char *name)
{
  char *next = *list ? iw_xasprintf ("%s, %s", *list, name) : iw_xstrdup (name);

  free (*list);
  *list = next;
}

/* Names pointing to the same target in the same namespace are one image:
 * it is walked once, reported under its best name, the others listed. */
static void
dedupe_images (iw_store_images *uniq, char ***aliases, const iw_store_images *in)
{
  *aliases = iw_xcalloc (in->n + 1, sizeof **aliases);
  for (size_t i = 0; i < in->n; i++)
    {
      const iw_store_image *img = &in->v[i];
      size_t j;

      for (j = 0; j < uniq->n; j++)
        if (img->digest && uniq->v[j].digest && strcmp (img->digest, uniq->v[j].digest) == 0
            && same0 (img->namespace_, uniq->v[j].namespace_))
          break;
      if (j == uniq->n)
        {
          iw_store_images_add (uniq, img->name, img->namespace_, img->digest ? img->digest : "",
                               img->media_type, img->size);
          continue;
        }
      if (name_rank (img->name) > name_rank (uniq->v[j].name))
        {
          alias_add (&(*aliases)[j], uniq->v[j].name);
          free (uniq->v[j].name);
          uniq->v[j].name = iw_xstrdup (img->name);
        }
      else
        alias_add (&(*aliases)[j], img->name);
    }
}

int
iw_store_verify (iw_store_report **out, const iw_content_store *cs, const iw_store_images *images,
                 const iw_store_verify_options *opts, iw_error **err)
{
  iw_store_verify_options defaults = IW_STORE_VERIFY_OPTIONS_INIT;
  iw_store_images uniq = IW_STORE_IMAGES_INIT;
  verifier v;
  int ret = -1;

  if (opts == NULL)
    opts = &defaults;
  memset (&v, 0, sizeof v);
  v.cs = cs;
  dedupe_images (&uniq, &v.aliases, images);
  v.images = &uniq;
  images = &uniq;
  v.report = iw_xcalloc (1, sizeof *v.report);
  iw_buf_init (&v.buf, IW_MANIFEST_MAX);
  atomic_init (&v.next, 0);
  atomic_init (&v.bytes, 0);
  for (size_t i = 0; i < images->n; i++)
    {
      const iw_store_image *img = &images->v[i];

      if (!iw_store_digest_valid (img->digest))
        {
          iw_error_set (err, IW_EINVAL, "image %s: target \"%s\" is not a sha256 digest", img->name,
                        img->digest ? img->digest : "");
          goto done;
        }
      if (walk (&v, i, img->digest, img->media_type, img->size, 0, err) < 0)
        goto done;
      v.report->images++;
    }
  if (opts->all_blobs)
    {
      if (cs->ops->list == NULL)
        {
          iw_error_set (err, IW_EUNSUPPORTED, "%s cannot list its blobs", cs->description);
          goto done;
        }
      if (cs->ops->list (cs->ctx, add_unreferenced, &v, err) < 0)
        {
          iw_error_wrap (err, "list blobs of %s", cs->description);
          goto done;
        }
    }
  if (run_workers (&v, opts->jobs, err) < 0)
    goto done;
  for (size_t i = 0; i < v.n_edges; i++)
    judge_edge (&v, &v.edges[i]);
  v.report->blobs = v.n_blobs;
  v.report->bytes = atomic_load (&v.bytes);
  *out = iw_steal (&v.report);
  ret = 0;
done:
  iw_store_report_free (v.report);
  for (size_t i = 0; i < v.n_blobs; i++)
    {
      free (v.blobs[i].digest);
      free (v.blobs[i].role);
      free (v.blobs[i].error);
    }
  for (size_t i = 0; i < v.n_edges; i++)
    free (v.edges[i].note);
  free (v.blobs);
  free (v.edges);
  free (v.table);
  for (size_t i = 0; v.aliases && i < uniq.n; i++)
    free (v.aliases[i]);
  free (v.aliases);
  iw_store_images_clear (&uniq);
  iw_buf_free (&v.buf);
  return ret;
}

/* ---- reports --------------------------------------------------------- */

const char *
iw_blob_problem_name (iw_blob_problem p)
{
  switch (p)
    {
    case IW_BLOB_OK:
      return "ok";
    case IW_BLOB_MISSING:
      return "missing";
    case IW_BLOB_TRUNCATED:
      return "truncated";
    case IW_BLOB_OVERSIZE:
      return "oversize";
    case IW_BLOB_HASH:
      return "hash";
    case IW_BLOB_MALFORMED:
      return "malformed";
    case IW_BLOB_UNREADABLE:
      return "unreadable";
    }
  return "unknown";
}

void
iw_store_report_add (iw_store_report *r, const char *check, const char *severity, const char *image,
                     const char *namespace_, const char *blob_digest, const char *role, const char *reason,
                     const char *message, const char *remediation)
{
  iw_store_finding *f;

  r->findings = iw_xreallocarray (r->findings, r->n_findings + 1, sizeof *r->findings);
  f = &r->findings[r->n_findings++];
  f->check = iw_xstrdup (check);
  f->severity = iw_xstrdup (severity);
  f->image = iw_xstrdup (image);
  f->namespace_ = iw_xstrdup0 (namespace_);
  f->blob = iw_xstrdup0 (blob_digest);
  f->role = iw_xstrdup0 (role);
  f->reason = iw_xstrdup (reason);
  f->message = iw_xstrdup (message);
  f->remediation = iw_xstrdup0 (remediation);
}

void
iw_store_report_free (iw_store_report *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_findings; i++)
    {
      iw_store_finding *f = &r->findings[i];

      free (f->check);
      free (f->severity);
      free (f->image);
      free (f->namespace_);
      free (f->blob);
      free (f->role);
      free (f->reason);
      free (f->message);
      free (f->remediation);
    }
  free (r->findings);
  free (r);
}

void
iw_content_store_free (iw_content_store *cs)
{
  if (cs == NULL)
    return;
  if (cs->ops && cs->ops->free)
    cs->ops->free (cs->ctx);
  free (cs->description);
  free (cs);
}
