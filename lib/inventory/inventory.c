/*
 * inventory.c - grouping container records by normalized reference.
 *
 * Three hash indexes keep adding a record O(1) however big the cluster:
 * reference -> image, (image, workload, container) -> workload, and
 * (workload, node) / (image, running ID) -> seen.  Keys are strings with
 * NUL-separated parts, owned by the index.
 */
#include "inventory/inventory.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot
{
  char *key;
  size_t keylen;
  size_t value;
} slot;

typedef struct map
{
  slot *slots;
  size_t cap; /* a power of two, or 0 */
  size_t len;
} map;

struct iw_inv_index
{
  map images;
  map workloads;
  map nodes;
  map running;
};

static uint64_t
hash (const char *k, size_t n)
{
  uint64_t h = 1469598103934665603ULL;

  for (size_t i = 0; i < n; i++)
    {
      h ^= (unsigned char)k[i];
      h *= 1099511628211ULL;
    }
  return h;
}

static void
map_free (map *m)
{
  for (size_t i = 0; i < m->cap; i++)
    free (m->slots[i].key);
  free (m->slots);
  memset (m, 0, sizeof *m);
}

static slot *
map_slot (const map *m, const char *k, size_t n)
{
  size_t i;

  if (m->cap == 0)
    return NULL;
  i = (size_t)hash (k, n) & (m->cap - 1);
  for (;;)
    {
      slot *s = &m->slots[i];

      if (s->key == NULL || (s->keylen == n && memcmp (s->key, k, n) == 0))
        return s;
      i = (i + 1) & (m->cap - 1);
    }
}

static void
map_grow (map *m)
{
  map bigger = { NULL, m->cap ? m->cap * 2 : 64, 0 };

  bigger.slots = iw_xcalloc (bigger.cap, sizeof (slot));
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key)
      {
        slot *s = map_slot (&bigger, m->slots[i].key, m->slots[i].keylen);

        *s = m->slots[i];
        bigger.len++;
      }
  free (m->slots);
  *m = bigger;
}

/* Look k up; when absent insert it with value v.  Returns the value and
 * sets *added. */
static size_t
map_get_or_add (map *m, const char *k, size_t n, size_t v, bool *added)
{
  slot *s;

  if ((m->len + 1) * 4 > m->cap * 3)
    map_grow (m);
  s = map_slot (m, k, n);
  if (s->key)
    {
      *added = false;
      return s->value;
    }
  s->key = iw_xmalloc (n + 1);
  memcpy (s->key, k, n);
  s->key[n] = '\0';
  s->keylen = n;
  s->value = v;
  m->len++;
  *added = true;
  return v;
}

/* Build a key from parts separated by NUL; NULL parts are empty. */
static char *
make_key (size_t *len, const char *const *parts, size_t n)
{
  size_t total = 0, off = 0;
  char *k;

  for (size_t i = 0; i < n; i++)
    total += (parts[i] ? strlen (parts[i]) : 0) + 1;
  k = iw_xmalloc (total + 1);
  for (size_t i = 0; i < n; i++)
    {
      size_t l = parts[i] ? strlen (parts[i]) : 0;

      memcpy (k + off, parts[i] ? parts[i] : "", l);
      off += l;
      k[off++] = '\0';
    }
  *len = off;
  return k;
}

iw_inventory *
iw_inventory_new (void)
{
  iw_inventory *inv = iw_xcalloc (1, sizeof *inv);

  inv->index = iw_xcalloc (1, sizeof *inv->index);
  return inv;
}

static void
workload_clear (iw_inv_workload *w)
{
  free (w->namespace_);
  free (w->kind);
  free (w->name);
  free (w->container);
  for (size_t i = 0; i < w->n_nodes; i++)
    free (w->nodes[i]);
  free (w->nodes);
  free (w->running);
  free (w->running_count);
}

static void
image_clear (iw_inv_image *img)
{
  free (img->key);
  free (img->image);
  iw_ref_free (img->ref);
  free (img->parse_error);
  for (size_t i = 0; i < img->n_workloads; i++)
    workload_clear (&img->workloads[i]);
  free (img->workloads);
  for (size_t i = 0; i < img->n_running; i++)
    {
      free (img->running[i].digest);
      free (img->running[i].raw);
      free (img->running[i].repository);
    }
  free (img->running);
}

void
iw_inventory_free (iw_inventory *inv)
{
  if (inv == NULL)
    return;
  for (size_t i = 0; i < inv->n_images; i++)
    image_clear (&inv->images[i]);
  free (inv->images);
  free (inv->source);
  if (inv->index)
    {
      map_free (&inv->index->images);
      map_free (&inv->index->workloads);
      map_free (&inv->index->nodes);
      map_free (&inv->index->running);
      free (inv->index);
    }
  free (inv);
}

/* Find or create the image for spec text; returns its index. */
static size_t
image_for (iw_inventory *inv, const char *text)
{
  iw_ref *ref = NULL;
  iw_error *err = NULL;
  char *key;
  size_t idx;
  bool added;
  iw_inv_image *img;
  bool is_id = iw_ref_is_image_id (text);

  if (!is_id && iw_ref_parse (&ref, text, &err) == 0)
    key = iw_ref_string (ref);
  else
    key = iw_xstrdup (text);
  idx = map_get_or_add (&inv->index->images, key, strlen (key), inv->n_images, &added);
  if (!added)
    {
      free (key);
      iw_ref_free (ref);
      iw_error_free (err);
      return idx;
    }
  inv->images = iw_xreallocarray (inv->images, inv->n_images + 1, sizeof *inv->images);
  img = &inv->images[inv->n_images++];
  memset (img, 0, sizeof *img);
  img->key = key;
  img->image = iw_xstrdup (text);
  img->ref = iw_steal (&ref);
  img->is_image_id = is_id;
  if (err)
    img->parse_error = iw_xstrdup (iw_error_msg (err));
  iw_error_free (err);
  return idx;
}

static size_t
workload_for (iw_inventory *inv, size_t img_idx, const iw_record *rec)
{
  iw_inv_image *img = &inv->images[img_idx];
  const char *kind = rec->workload_kind ? rec->workload_kind : rec->pod ? "Pod" : "Container";
  const char *name = rec->workload_name ? rec->workload_name : rec->pod ? rec->pod : rec->container;
  char idx_text[32];
  const char *parts[5];
  size_t klen, idx;
  char *key;
  bool added;
  iw_inv_workload *w;

  snprintf (idx_text, sizeof idx_text, "%zu", img_idx);
  parts[0] = idx_text;
  parts[1] = rec->namespace_;
  parts[2] = kind;
  parts[3] = name;
  parts[4] = rec->container;
  key = make_key (&klen, parts, 5);
  idx = map_get_or_add (&inv->index->workloads, key, klen, img->n_workloads, &added);
  free (key);
  if (!added)
    return idx;
  img->workloads = iw_xreallocarray (img->workloads, img->n_workloads + 1, sizeof *img->workloads);
  w = &img->workloads[img->n_workloads++];
  memset (w, 0, sizeof *w);
  w->namespace_ = iw_xstrdup0 (rec->namespace_);
  w->kind = iw_xstrdup (kind);
  w->name = iw_xstrdup0 (name);
  w->container = iw_xstrdup0 (rec->container);
  w->container_type = rec->container_type;
  w->pull_policy = rec->pull_policy;
  w->pull_policy_defaulted = rec->pull_policy_defaulted;
  return idx;
}

static size_t
running_for (iw_inventory *inv, size_t img_idx, const iw_image_id *id)
{
  iw_inv_image *img = &inv->images[img_idx];
  char idx_text[32], kind_text[8];
  const char *parts[3];
  size_t klen, idx;
  char *key;
  bool added;
  iw_inv_running *r;

  snprintf (idx_text, sizeof idx_text, "%zu", img_idx);
  snprintf (kind_text, sizeof kind_text, "%d", (int)id->kind);
  parts[0] = idx_text;
  parts[1] = kind_text;
  parts[2] = id->digest ? id->digest : id->raw;
  key = make_key (&klen, parts, 3);
  idx = map_get_or_add (&inv->index->running, key, klen, img->n_running, &added);
  free (key);
  if (!added)
    return idx;
  img->running = iw_xreallocarray (img->running, img->n_running + 1, sizeof *img->running);
  r = &img->running[img->n_running++];
  memset (r, 0, sizeof *r);
  r->kind = id->kind;
  r->digest = iw_xstrdup0 (id->digest);
  r->raw = iw_xstrdup0 (id->raw);
  r->repository = iw_xstrdup0 (id->repository);
  return idx;
}

static void
add_node (iw_inventory *inv, size_t img_idx, size_t w_idx, const char *node)
{
  iw_inv_workload *w = &inv->images[img_idx].workloads[w_idx];
  char a[32], b[32];
  const char *parts[3] = { a, b, node };
  size_t klen;
  char *key;
  bool added;

  snprintf (a, sizeof a, "%zu", img_idx);
  snprintf (b, sizeof b, "%zu", w_idx);
  key = make_key (&klen, parts, 3);
  map_get_or_add (&inv->index->nodes, key, klen, 0, &added);
  free (key);
  if (!added)
    return;
  w->nodes = iw_xreallocarray (w->nodes, w->n_nodes + 1, sizeof *w->nodes);
  w->nodes[w->n_nodes++] = iw_xstrdup (node);
}

void
iw_inventory_add (iw_inventory *inv, const iw_record *rec)
{
  const char *text = rec->image ? rec->image : rec->status_image;
  size_t ii, wi;
  iw_inv_image *img;
  iw_inv_workload *w;

  if (text == NULL)
    text = "";
  if (inv->source == NULL && rec->source)
    inv->source = iw_xstrdup (rec->source);
  ii = image_for (inv, text);
  wi = workload_for (inv, ii, rec);
  img = &inv->images[ii];
  w = &img->workloads[wi];
  img->containers++;
  inv->containers++;
  w->containers++;
  if (rec->pod)
    w->pods++;
  if (rec->node)
    add_node (inv, ii, wi, rec->node);
  if (rec->image_id.kind == IW_IMAGE_ID_NONE)
    {
      w->not_running++;
      return;
    }
  {
    size_t ri = running_for (inv, ii, &rec->image_id);
    size_t j;

    img = &inv->images[ii];
    w = &img->workloads[wi];
    img->running[ri].containers++;
    for (j = 0; j < w->n_running; j++)
      if (w->running[j] == ri)
        break;
    if (j == w->n_running)
      {
        w->running = iw_xreallocarray (w->running, w->n_running + 1, sizeof *w->running);
        w->running_count = iw_xreallocarray (w->running_count, w->n_running + 1, sizeof *w->running_count);
        w->running[j] = ri;
        w->running_count[j] = 0;
        w->n_running++;
      }
    w->running_count[j]++;
  }
}

int
iw_inventory_add_fn (iw_record *rec, void *userdata, iw_error **err)
{
  (void)err;
  iw_inventory_add (userdata, rec);
  iw_record_free (rec);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

void
iw_inventory_finish (iw_inventory *inv)
{
  for (size_t i = 0; i < inv->n_images; i++)
    for (size_t j = 0; j < inv->images[i].n_workloads; j++)
      {
        iw_inv_workload *w = &inv->images[i].workloads[j];

        if (w->n_nodes > 1)
          qsort (w->nodes, w->n_nodes, sizeof *w->nodes, cmp_str);
      }
}

const iw_inv_image *
iw_inventory_find (const iw_inventory *inv, const char *key)
{
  slot *s = map_slot (&inv->index->images, key, strlen (key));

  if (s == NULL || s->key == NULL)
    return NULL;
  return &inv->images[s->value];
}

char *
iw_inv_workload_id (const iw_inv_workload *w)
{
  if (w->namespace_)
    return iw_xasprintf ("%s/%s/%s", w->namespace_, w->kind, w->name ? w->name : "");
  return iw_xasprintf ("%s/%s", w->kind, w->name ? w->name : "");
}
