/*
 * integrity.c - is what runs what the registry holds for the reference?
 *
 *   integrity-stale    the running digest is not the tag's current one, but
 *                      still exists in the registry (the tag moved, the
 *                      node kept the old image: the green-burrito case)
 *   integrity-unknown  the running digest does not exist in the registry,
 *                      or the spec pins @X and the runtime reports Y
 *   tag-missing        the tag is gone from the registry
 *   unverified         the registry could not be asked; never a silent pass
 *
 * Running IDs are compared by kind (see iw_check_digest_matches): a repo
 * digest against the expected digest and the index's children, a config
 * ID against the config digests.  A `name:tag@digest` reference is judged
 * by its digest only.
 */
#include "check/check.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* The workloads (indices) that run image ID ri. */
static size_t *
workloads_running (size_t *n, const iw_inv_image *img, size_t ri)
{
  size_t *out = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *out);

  *n = 0;
  for (size_t i = 0; i < img->n_workloads; i++)
    for (size_t j = 0; j < img->workloads[i].n_running; j++)
      if (img->workloads[i].running[j] == ri)
        {
          out[(*n)++] = i;
          break;
        }
  return out;
}

static size_t *
all_workloads (size_t *n, const iw_inv_image *img)
{
  size_t *out = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *out);

  for (size_t i = 0; i < img->n_workloads; i++)
    out[i] = i;
  *n = img->n_workloads;
  return out;
}

static const char *
reason (iw_code code)
{
  switch (code)
    {
    case IW_EAUTH:
      return "authentication refused";
    case IW_ETLS:
      return "TLS failed";
    case IW_ENET:
      return "network error";
    case IW_ETIMEOUT:
      return "timed out";
    case IW_ERATELIMIT:
      return "rate limited";
    case IW_EINTEGRITY:
      return "the registry's answer failed verification";
    case IW_ESERVER:
      return "the registry answered with an error";
    case IW_ETOOBIG:
      return "the registry's answer was too big";
    case IW_EPARSE:
      return "the registry's answer was malformed";
    case IW_EPOLICY:
      return "refused by configuration";
    case IW_EUNSUPPORTED:
      return "unsupported by this build";
    default:
      return "failed";
    }
}

static char *
why (iw_code code, const char *msg)
{
  if (msg && *msg)
    return iw_xasprintf ("%s (%s: %s)", reason (code), iw_code_name (code), msg);
  return iw_xasprintf ("%s (%s)", reason (code), iw_code_name (code));
}

static void
tag_failed (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, const iw_reg_facts *facts)
{
  size_t n, *ws;
  const char *reg = facts->registry ? facts->registry : img->ref->domain;
  bool pinned = img->ref->digest != NULL;

  if (facts->error == IW_ENOTFOUND && !pinned)
    {
      size_t running = 0;

      for (size_t i = 0; i < img->n_running; i++)
        running += img->running[i].containers;
      ws = all_workloads (&n, img);
      iw_findings_add (
          fs, ctx, img, IW_CHECK_TAG_MISSING, IW_SEV_HIGH, ws, n, -1,
          running ? iw_xasprintf ("tag %s no longer exists in %s, but %zu container%s still run%s it",
                                  iw_ref_effective_tag (img->ref), reg, running, running == 1 ? "" : "s",
                                  running == 1 ? "s" : "")
                  : iw_xasprintf ("tag %s does not exist in %s", iw_ref_effective_tag (img->ref), reg));
      free (ws);
      /* A running digest that is gone too is content nobody can vouch for. */
      for (size_t ri = 0; facts->running && ri < img->n_running; ri++)
        if (facts->running[ri].presence == IW_DIGEST_ABSENT && img->running[ri].digest)
          {
            ws = workloads_running (&n, img, ri);
            iw_findings_add (fs, ctx, img, IW_CHECK_INTEGRITY_UNKNOWN, IW_SEV_CRITICAL, ws, n, (long)ri,
                             iw_xasprintf ("runs %s, which %s does not hold", img->running[ri].digest, reg));
            free (ws);
          }
      return;
    }
  if (facts->error == IW_ENOTFOUND && pinned)
    {
      /* The pinned digest is not in the registry: whatever runs it, the
         registry cannot vouch for it. */
      for (size_t ri = 0; ri < img->n_running; ri++)
        {
          ws = workloads_running (&n, img, ri);
          iw_findings_add (
              fs, ctx, img, IW_CHECK_INTEGRITY_UNKNOWN, IW_SEV_CRITICAL, ws, n, (long)ri,
              iw_xasprintf ("the spec pins %s, which %s does not hold; the runtime reports %s",
                            img->ref->digest, reg,
                            img->running[ri].digest ? img->running[ri].digest : img->running[ri].raw));
          free (ws);
        }
      return;
    }
  {
    char *w = why (facts->error, facts->error_msg);

    ws = all_workloads (&n, img);
    iw_findings_add (fs, ctx, img, IW_CHECK_UNVERIFIED, IW_SEV_MEDIUM, ws, n, -1,
                     iw_xasprintf ("%s could not be asked about %s: %s", reg,
                                   pinned ? img->ref->digest : iw_ref_effective_tag (img->ref), w));
    free (w);
    free (ws);
  }
}

void
iw_check_integrity (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img,
                    const iw_reg_facts *facts)
{
  const char *reg;
  bool pinned;

  if (img->ref == NULL || facts == NULL || !facts->asked)
    return;
  reg = facts->registry ? facts->registry : img->ref->domain;
  pinned = img->ref->digest != NULL;
  if (facts->expected == NULL)
    {
      tag_failed (fs, ctx, img, facts);
      return;
    }
  for (size_t ri = 0; ri < img->n_running; ri++)
    {
      const iw_inv_running *r = &img->running[ri];
      const iw_digest_fact *df = facts->running ? &facts->running[ri] : NULL;
      size_t n, *ws;

      if (r->digest && iw_check_digest_matches (facts, r->kind, r->digest))
        continue;
      ws = workloads_running (&n, img, ri);
      if (r->digest == NULL)
        iw_findings_add (
            fs, ctx, img, IW_CHECK_UNVERIFIED, IW_SEV_MEDIUM, ws, n, (long)ri,
            iw_xasprintf ("the runtime image ID \"%s\" is not understood, so what runs cannot be "
                          "compared with %s",
                          r->raw ? r->raw : "", facts->expected));
      else if (facts->detail_error != IW_OK)
        {
          char *w = why (facts->detail_error, facts->detail_error_msg);

          iw_findings_add (fs, ctx, img, IW_CHECK_UNVERIFIED, IW_SEV_MEDIUM, ws, n, (long)ri,
                           iw_xasprintf ("runs %s, which is not %s itself; reading %s from %s to compare "
                                         "failed: %s",
                                         r->digest, facts->expected, facts->expected, reg, w));
          free (w);
        }
      else if (pinned)
        iw_findings_add (fs, ctx, img, IW_CHECK_INTEGRITY_UNKNOWN, IW_SEV_CRITICAL, ws, n, (long)ri,
                         iw_xasprintf ("the spec pins %s but the runtime reports %s%s", img->ref->digest,
                                       r->kind == IW_IMAGE_ID_CONFIG ? "config " : "", r->digest));
      else if (df && df->presence == IW_DIGEST_PRESENT)
        iw_findings_add (
            fs, ctx, img, IW_CHECK_INTEGRITY_STALE, IW_SEV_HIGH, ws, n, (long)ri,
            iw_xasprintf ("runs %s%s, but tag %s in %s is now %s (the old digest still exists: the "
                          "tag moved and the node kept the old image)",
                          r->kind == IW_IMAGE_ID_CONFIG ? "config " : "", r->digest,
                          iw_ref_effective_tag (img->ref), reg, facts->expected));
      else if (df && df->presence == IW_DIGEST_ABSENT)
        iw_findings_add (fs, ctx, img, IW_CHECK_INTEGRITY_UNKNOWN, IW_SEV_CRITICAL, ws, n, (long)ri,
                         iw_xasprintf ("runs %s%s, which %s does not hold (tag %s is %s)",
                                       r->kind == IW_IMAGE_ID_CONFIG ? "config " : "", r->digest, reg,
                                       iw_ref_effective_tag (img->ref), facts->expected));
      else
        {
          char *w = df ? why (df->error, df->error_msg) : iw_xstrdup ("it was not asked");

          iw_findings_add (
              fs, ctx, img, IW_CHECK_UNVERIFIED, IW_SEV_MEDIUM, ws, n, (long)ri,
              iw_xasprintf ("runs %s, which is not tag %s's %s; whether %s holds it is unknown: %s",
                            r->digest, iw_ref_effective_tag (img->ref), facts->expected, reg, w));
          free (w);
        }
      free (ws);
    }
}
