/*
 * trust.c - untrusted-registry: the image's registry and repository must
 * match a trustedRegistries pattern.  Patterns match on domain and path
 * boundaries (iw_config_pattern_match), so docker.io.evil.com is not
 * docker.io.  With no trustedRegistries configured the check cannot apply;
 * the assessment says so once, as an info finding.
 */
#include "check/check.h"
#include "util/mem.h"

#include <stdlib.h>

static const char unconfigured[]
    = "no trustedRegistries configured: untrusted-registry cannot apply, so any registry is accepted";

bool
iw_check_trust_unconfigured (const iw_check_ctx *ctx)
{
  return ctx->config == NULL || !ctx->config->has_trusted;
}

const char *
iw_check_trust_unconfigured_message (void)
{
  return unconfigured;
}

void
iw_check_trust (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img)
{
  char *name;
  size_t *ws;

  if (img->ref == NULL || iw_check_trust_unconfigured (ctx))
    return;
  name = iw_ref_name (img->ref);
  if (iw_config_is_trusted (ctx->config, name))
    {
      free (name);
      return;
    }
  ws = iw_xcalloc (img->n_workloads ? img->n_workloads : 1, sizeof *ws);
  for (size_t i = 0; i < img->n_workloads; i++)
    ws[i] = i;
  iw_findings_add (fs, ctx, img, IW_CHECK_UNTRUSTED_REGISTRY, IW_SEV_HIGH, ws, img->n_workloads, -1,
                   iw_xasprintf ("%s is not in trustedRegistries", name));
  free (ws);
  free (name);
}
