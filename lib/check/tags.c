/*
 * tags.c - how the spec names its image:
 *
 *   moving-tag          a tag without a digest [low]; implicit latest or a
 *                       tag in movingTags [medium]
 *   pull-policy         a mutable tag with IfNotPresent/Never (nodes keep
 *                       stale images) [medium]; with Always (unapproved
 *                       updates reach the cluster) [low]
 *   image-id-reference  a bare sha256: image ID as the spec image [high]
 *
 * A spec image that is no reference at all cannot be verified: that is an
 * unverified finding naming the parse error.
 */
#include "check/check.h"
#include "util/mem.h"

#include <stdlib.h>

static size_t *
all_workloads (size_t *n, const iw_inv_image *img)
{
  size_t *out = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *out);

  for (size_t i = 0; i < img->n_workloads; i++)
    out[i] = i;
  *n = img->n_workloads;
  return out;
}

static void
pull_policy (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, const char *tag)
{
  size_t *stale = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *stale);
  size_t *always = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *always);
  size_t n_stale = 0, n_always = 0;
  bool never = false;

  for (size_t i = 0; i < img->n_workloads; i++)
    {
      iw_pull_policy p = img->workloads[i].pull_policy;

      if (p == IW_PULL_UNSET)
        p = iw_pull_policy_default (img->image);
      if (p == IW_PULL_ALWAYS)
        always[n_always++] = i;
      else
        {
          never |= p == IW_PULL_NEVER;
          stale[n_stale++] = i;
        }
    }
  if (n_stale)
    {
      size_t before = fs->len;

      iw_findings_add (
          fs, ctx, img, IW_CHECK_PULL_POLICY, IW_SEV_MEDIUM, stale, n_stale, -1,
          iw_xasprintf ("imagePullPolicy %s with mutable tag %s: nodes keep whatever they pulled "
                        "first, so a moved tag goes unnoticed",
                        never ? "Never/IfNotPresent" : "IfNotPresent", tag));
      if (fs->len > before)
        fs->items[fs->len - 1].variant = 0;
    }
  if (n_always)
    {
      size_t before = fs->len;

      iw_findings_add (fs, ctx, img, IW_CHECK_PULL_POLICY, IW_SEV_LOW, always, n_always, -1,
                       iw_xasprintf ("imagePullPolicy Always with mutable tag %s: every restart may pull an "
                                     "image nobody approved",
                                     tag));
      if (fs->len > before)
        fs->items[fs->len - 1].variant = 1;
    }
  free (stale);
  free (always);
}

void
iw_check_tags (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img)
{
  size_t n, *ws = all_workloads (&n, img);
  const char *tag;

  if (img->is_image_id)
    {
      iw_findings_add (
          fs, ctx, img, IW_CHECK_IMAGE_ID_REFERENCE, IW_SEV_HIGH, ws, n, -1,
          iw_xasprintf ("the spec image is the bare image ID %s: it names no registry, so nothing "
                        "says where it came from",
                        img->image));
      goto done;
    }
  if (img->ref == NULL)
    {
      iw_findings_add (fs, ctx, img, IW_CHECK_UNVERIFIED, IW_SEV_MEDIUM, ws, n, -1,
                       iw_xasprintf ("the spec image \"%s\" is not a valid reference: %s", img->image,
                                     img->parse_error ? img->parse_error : "unparseable"));
      goto done;
    }
  if (img->ref->digest)
    goto done;
  tag = iw_ref_effective_tag (img->ref);
  if (iw_ref_is_implicit_latest (img->ref))
    iw_findings_add (fs, ctx, img, IW_CHECK_MOVING_TAG, IW_SEV_MEDIUM, ws, n, -1,
                     iw_xstrdup ("no tag and no digest: implicit latest, which moves with every push"));
  else if (iw_config_is_moving_tag (ctx->config, tag))
    iw_findings_add (fs, ctx, img, IW_CHECK_MOVING_TAG, IW_SEV_MEDIUM, ws, n, -1,
                     iw_xasprintf ("tag %s is a moving tag and there is no digest", tag));
  else
    iw_findings_add (fs, ctx, img, IW_CHECK_MOVING_TAG, IW_SEV_LOW, ws, n, -1,
                     iw_xasprintf ("tag %s without a digest: a tag can be pushed again", tag));
  pull_policy (fs, ctx, img, tag);
done:
  free (ws);
}
