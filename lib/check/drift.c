/*
 * drift.c - digest-drift: the pods of one workload run different digests
 * for one reference (some nodes cached an old image).  Needs no registry.
 *
 * Only IDs of the same kind are compared: one node reporting a repo digest
 * and another a config ID (docker and containerd nodes side by side) is not
 * drift by itself; whether both name the same content is the integrity
 * check's business.
 */
#include "check/check.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdlib.h>

static const iw_image_id_kind kinds[] = { IW_IMAGE_ID_REPO_DIGEST, IW_IMAGE_ID_CONFIG, IW_IMAGE_ID_UNKNOWN };

void
iw_check_drift (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img)
{
  for (size_t wi = 0; wi < img->n_workloads; wi++)
    {
      const iw_inv_workload *w = &img->workloads[wi];
      iw_buf msg = IW_BUF_INIT ((size_t)-1);
      size_t distinct = 0;
      char *id;

      for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        {
          size_t n = 0;

          for (size_t j = 0; j < w->n_running; j++)
            if (img->running[w->running[j]].kind == kinds[k] && img->running[w->running[j]].digest)
              n++;
          if (n > distinct)
            distinct = n;
        }
      if (distinct < 2)
        continue;
      id = iw_inv_workload_id (w);
      iw_buf_printf (&msg, NULL,
                     "containers %s of %s run %zu different digests:", w->container ? w->container : "", id,
                     distinct);
      for (size_t j = 0; j < w->n_running; j++)
        {
          const iw_inv_running *r = &img->running[w->running[j]];

          if (r->digest)
            iw_buf_printf (&msg, NULL, "%s %s (%zu)", j ? "," : "", r->digest, w->running_count[j]);
        }
      iw_findings_add (fs, ctx, img, IW_CHECK_DIGEST_DRIFT, IW_SEV_HIGH, &wi, 1, -1, iw_buf_take (&msg));
      iw_buf_free (&msg);
      free (id);
    }
}
