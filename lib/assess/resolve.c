/*
 * resolve.c - asking the registry, as little as possible, and turning its
 * answers into facts for the checks.
 *
 *   1. One batch: each distinct reference that wants the registry (a HEAD
 *      per tag, or per pinned digest).  Most clusters stop here: the
 *      running digest is the expected one.
 *   2. One batch, only for images whose running IDs do not all equal the
 *      expected digest (a platform child, a config ID, an old digest), and
 *      for lineage when asked: the expected manifest or index by digest
 *      (never the tag again, which may have moved in between), its
 *      children and configs (with labels).
 *   3. One batch of existence checks for running digests that still do
 *      not match: a manifest HEAD for repo digests, a blob HEAD for config
 *      IDs, both for bare IDs.
 */
#include "assess/assess.h"
#include "registry/registry.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static char **
strv_add (char **v, const char *s)
{
  size_t n = 0;

  while (v && v[n])
    n++;
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return v;
  v = iw_xreallocarray (v, n + 2, sizeof *v);
  v[n] = iw_xstrdup (s);
  v[n + 1] = NULL;
  return v;
}

static void
take_labels (iw_reg_facts *f, const iw_image_labels *l)
{
  if (l->source && !f->label_source)
    f->label_source = iw_xstrdup (l->source);
  if (l->revision && !f->label_revision)
    f->label_revision = iw_xstrdup (l->revision);
  if (l->authors && !f->label_authors)
    f->label_authors = iw_xstrdup (l->authors);
  if (!f->label_created && (l->created || l->config_created))
    f->label_created = iw_xstrdup (l->created ? l->created : l->config_created);
}

/* Must expected's manifest be read to judge ai's running IDs?  Not when
 * every one equals expected itself, nor for a repo digest that differs
 * from a single manifest (it cannot be a child: an existence check
 * decides).  An index, a config ID or a bare ID needs it. */
static bool
needs_detail (const iw_assess_image *ai, bool maybe_index)
{
  for (size_t i = 0; i < ai->inv->n_running; i++)
    {
      const iw_inv_running *r = &ai->inv->running[i];

      if (r->digest == NULL)
        continue;
      if (r->kind == IW_IMAGE_ID_CONFIG)
        return true;
      if (strcmp (r->digest, ai->facts.expected) == 0)
        continue;
      if (r->kind == IW_IMAGE_ID_UNKNOWN || maybe_index)
        return true;
    }
  return false;
}

/* Could the media type be an index or manifest list?  Unknown counts as yes. */
static bool
maybe_index (const iw_resolution *r)
{
  if (r->is_index)
    return true;
  if (r->media_type == NULL)
    return true;
  return strstr (r->media_type, "index") != NULL || strstr (r->media_type, "manifest.list") != NULL;
}

typedef struct pending_check
{
  size_t image;
  size_t running;
  int slot; /* 0: the only/manifest check, 1: the blob check of a bare ID */
} pending_check;

int
iw_assess_resolve (iw_assessment *a, const iw_check_ctx *ctx, iw_registry *reg, bool lineage, iw_error **err)
{
  const iw_ref **refs = iw_xcalloc (a->n_images + 1, sizeof *refs);
  bool *is_idx = iw_xcalloc (a->n_images + 1, sizeof *is_idx);
  size_t *which = iw_xcalloc (a->n_images + 1, sizeof *which);
  iw_ref **detail_refs = NULL;
  iw_resolution *res = NULL;
  iw_check *checks = NULL;
  pending_check *pend = NULL;
  iw_presence *pres = NULL;
  size_t n = 0, n_detail = 0, n_checks = 0;
  int rc = -1;

  /* 1. The distinct references. */
  for (size_t i = 0; i < a->n_images; i++)
    if (iw_check_wants_registry (ctx, a->images[i].inv))
      {
        refs[n] = a->images[i].inv->ref;
        which[n++] = i;
      }
  a->distinct_references = n;
  if (n == 0)
    {
      rc = 0;
      goto done;
    }
  if (iw_registry_resolve_many (&res, reg, refs, n, 0, err) < 0)
    {
      iw_error_wrap (err, "resolve %zu references", n);
      goto done;
    }
  for (size_t k = 0; k < n; k++)
    {
      iw_assess_image *ai = &a->images[which[k]];
      iw_reg_facts *f = &ai->facts;

      f->asked = true;
      f->registry = iw_xstrdup (ai->inv->ref->domain);
      f->running = iw_xcalloc (ai->inv->n_running ? ai->inv->n_running : 1, sizeof *f->running);
      if (res[k].code != IW_OK || res[k].digest == NULL)
        {
          f->error = res[k].code != IW_OK ? res[k].code : IW_EPARSE;
          f->error_msg = iw_xstrdup (res[k].message ? res[k].message : "no digest in the answer");
        }
      else
        f->expected = iw_xstrdup (res[k].digest);
      is_idx[k] = maybe_index (&res[k]);
    }
  iw_resolutions_free (res, n);
  res = NULL;

  /* 2. Details for the images that need them. */
  detail_refs = iw_xcalloc (n, sizeof *detail_refs);
  for (size_t k = 0; k < n; k++)
    {
      iw_assess_image *ai = &a->images[which[k]];

      if (ai->facts.expected == NULL || (!lineage && !needs_detail (ai, is_idx[k])))
        continue;
      detail_refs[n_detail] = iw_ref_dup (ai->inv->ref);
      free (detail_refs[n_detail]->digest);
      detail_refs[n_detail]->digest = iw_xstrdup (ai->facts.expected);
      which[n_detail++] = which[k];
    }
  if (n_detail)
    {
      /* Config blobs (labels) only when lineage is wanted: the children's
         manifests already name their config digests. */
      unsigned flags = lineage ? IW_RESOLVE_LABELS : IW_RESOLVE_MANIFEST | IW_RESOLVE_CHILDREN;

      if (iw_registry_resolve_many (&res, reg, (const iw_ref *const *)detail_refs, n_detail, flags, err) < 0)
        {
          iw_error_wrap (err, "read %zu manifests", n_detail);
          goto done;
        }
      for (size_t k = 0; k < n_detail; k++)
        {
          iw_reg_facts *f = &a->images[which[k]].facts;
          const iw_resolution *r = &res[k];

          if (r->code != IW_OK)
            {
              f->detail_error = r->code;
              f->detail_error_msg = iw_xstrdup (r->message ? r->message : "failed");
            }
          if (r->config_digest)
            f->configs = strv_add (f->configs, r->config_digest);
          for (size_t c = 0; c < r->n_children; c++)
            {
              if (r->children[c].digest)
                f->children = strv_add (f->children, r->children[c].digest);
              if (r->children[c].config_digest)
                f->configs = strv_add (f->configs, r->children[c].config_digest);
            }
          if (r->code == IW_OK && r->is_index && r->n_children > 0)
            for (size_t c = 0; c < r->n_children; c++)
              if (r->children[c].config_digest == NULL && f->detail_error == IW_OK)
                {
                  f->detail_error = IW_EPARSE;
                  f->detail_error_msg = iw_xasprintf ("no config digest for child %s", r->children[c].digest);
                }
          take_labels (f, &r->labels);
        }
      iw_resolutions_free (res, n_detail);
      res = NULL;
    }

  /* 3. Existence of the running digests that still do not match. */
  for (size_t i = 0; i < a->n_images; i++)
    {
      iw_assess_image *ai = &a->images[i];

      if (!ai->facts.asked || ai->inv->ref->digest)
        continue;
      if (ai->facts.expected == NULL && ai->facts.error != IW_ENOTFOUND)
        continue;
      if (ai->facts.expected && ai->facts.detail_error != IW_OK)
        continue;
      for (size_t ri = 0; ri < ai->inv->n_running; ri++)
        {
          const iw_inv_running *r = &ai->inv->running[ri];

          if (r->digest == NULL || iw_check_digest_matches (&ai->facts, r->kind, r->digest))
            continue;
          for (int slot = 0; slot < 2; slot++)
            {
              iw_check_kind kind;

              if (slot == 0)
                kind = r->kind == IW_IMAGE_ID_CONFIG ? IW_CHECK_BLOB : IW_CHECK_MANIFEST;
              else if (r->kind == IW_IMAGE_ID_UNKNOWN)
                kind = IW_CHECK_BLOB;
              else
                break;
              checks = iw_xreallocarray (checks, n_checks + 1, sizeof *checks);
              pend = iw_xreallocarray (pend, n_checks + 1, sizeof *pend);
              checks[n_checks] = (iw_check){ .repo = ai->inv->ref, .digest = r->digest, .kind = kind };
              pend[n_checks] = (pending_check){ i, ri, slot };
              n_checks++;
            }
        }
    }
  if (n_checks)
    {
      if (iw_registry_check_many (&pres, reg, checks, n_checks, err) < 0)
        {
          iw_error_wrap (err, "check %zu digests", n_checks);
          goto done;
        }
      for (size_t k = 0; k < n_checks; k++)
        {
          iw_digest_fact *df = &a->images[pend[k].image].facts.running[pend[k].running];
          const iw_presence *p = &pres[k];

          if (pend[k].slot == 1 && df->presence == IW_DIGEST_PRESENT)
            continue;
          if (pend[k].slot == 1 && df->presence == IW_DIGEST_UNKNOWN && p->state != IW_PRESENCE_PRESENT)
            continue; /* unknown stays unknown unless the blob is there */
          free (df->error_msg);
          df->error_msg = NULL;
          df->error = IW_OK;
          switch (p->state)
            {
            case IW_PRESENCE_PRESENT:
              df->presence = IW_DIGEST_PRESENT;
              break;
            case IW_PRESENCE_ABSENT:
              df->presence = IW_DIGEST_ABSENT;
              break;
            case IW_PRESENCE_UNKNOWN:
            default:
              df->presence = IW_DIGEST_UNKNOWN;
              df->error = p->code != IW_OK ? p->code : IW_EIO;
              df->error_msg = iw_xstrdup0 (p->message);
              break;
            }
        }
    }
  rc = 0;
done:
  if (res)
    iw_resolutions_free (res, n_detail ? n_detail : n);
  iw_presences_free (pres, n_checks);
  for (size_t k = 0; k < n_detail; k++)
    iw_ref_free (detail_refs[k]);
  free (detail_refs);
  free (checks);
  free (pend);
  free (refs);
  free (is_idx);
  free (which);
  return rc;
}
