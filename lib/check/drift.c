/*
 * drift.c - digest-drift: the pods of one workload run different digests
 * for one reference (some nodes cached an old image).  Needs no registry,
 * but uses its answer when there is one to avoid false alarms:
 *
 *   - every running ID that stands for the registry's expected content (the
 *     digest itself, a platform child of its index, a config digest of it)
 *     counts as one and the same image, so a Deployment spread over amd64
 *     and arm64 nodes is not drift;
 *   - the other IDs are compared by kind: one node reporting a repo digest
 *     and another a config ID (docker and containerd nodes side by side) is
 *     not drift by itself.
 */
#include "check/check.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdlib.h>

static const iw_image_id_kind kinds[] = { IW_IMAGE_ID_REPO_DIGEST, IW_IMAGE_ID_CONFIG, IW_IMAGE_ID_UNKNOWN };

/* How many different images the workload's running IDs stand for. */
static size_t
distinct_images (const iw_inv_image *img, const iw_inv_workload *w, const iw_reg_facts *facts)
{
  size_t expected = 0, most = 0;

  for (size_t j = 0; j < w->n_running; j++)
    {
      const iw_inv_running *r = &img->running[w->running[j]];

      if (r->digest && iw_check_digest_matches (facts, r->kind, r->digest))
        expected = 1;
    }
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    {
      size_t n = 0;

      for (size_t j = 0; j < w->n_running; j++)
        {
          const iw_inv_running *r = &img->running[w->running[j]];

          if (r->kind == kinds[k] && r->digest && !iw_check_digest_matches (facts, r->kind, r->digest))
            n++;
        }
      if (n > most)
        most = n;
    }
  return most + expected;
}

void
iw_check_drift (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, const iw_reg_facts *facts)
{
  if (facts && !facts->asked)
    facts = NULL;
  for (size_t wi = 0; wi < img->n_workloads; wi++)
    {
      const iw_inv_workload *w = &img->workloads[wi];
      iw_buf msg = IW_BUF_INIT ((size_t)-1);
      size_t distinct = distinct_images (img, w, facts);
      char *id;

      if (distinct < 2)
        continue;
      id = iw_inv_workload_id (w);
      iw_buf_printf (&msg, NULL,
                     "containers %s of %s run %zu different images:", w->container ? w->container : "", id,
                     distinct);
      for (size_t j = 0; j < w->n_running; j++)
        {
          const iw_inv_running *r = &img->running[w->running[j]];

          if (r->digest)
            iw_buf_printf (&msg, NULL, "%s %s%s (%zu)", j ? "," : "",
                           r->kind == IW_IMAGE_ID_CONFIG ? "config " : "", r->digest, w->running_count[j]);
        }
      iw_findings_add (fs, ctx, img, IW_CHECK_DIGEST_DRIFT, IW_SEV_HIGH, &wi, 1, -1, iw_buf_take (&msg));
      iw_buf_free (&msg);
      free (id);
    }
}
