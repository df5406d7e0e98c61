/*
 * check.c - what the check families share: check and severity names,
 * severity overrides and exemptions from the config, the findings list,
 * and digest matching against what the registry said.
 */
#include "check/check.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static const char *const severity_names[IW_SEV_COUNT] = { "info", "low", "medium", "high", "critical" };

static const struct
{
  const char *name;
  iw_severity severity;
  const char *description;
} checks[IW_CHECK_COUNT] = {
  [IW_CHECK_INTEGRITY_UNKNOWN]
  = { "integrity-unknown", IW_SEV_CRITICAL,
      "The running digest does not exist in the trusted registry, or the runtime "
      "runs other content than the spec pins." },
  [IW_CHECK_INTEGRITY_STALE] = { "integrity-stale", IW_SEV_HIGH,
                                 "The running digest differs from the tag's current digest in the registry "
                                 "(it still exists there): the tag moved and the node kept the old image." },
  [IW_CHECK_DIGEST_DRIFT]
  = { "digest-drift", IW_SEV_HIGH, "Pods of one workload run different digests for one reference." },
  [IW_CHECK_UNTRUSTED_REGISTRY]
  = { "untrusted-registry", IW_SEV_HIGH,
      "The image comes from a registry or repository outside trustedRegistries." },
  [IW_CHECK_TAG_MISSING]
  = { "tag-missing", IW_SEV_HIGH, "The tag no longer exists in the registry while the image still runs." },
  [IW_CHECK_UNVERIFIED] = { "unverified", IW_SEV_MEDIUM,
                            "The registry could not be asked (auth, TLS, network, rate limit): the image is "
                            "not verified." },
  [IW_CHECK_PULL_POLICY] = { "pull-policy", IW_SEV_MEDIUM,
                             "A mutable tag with imagePullPolicy IfNotPresent or Never (nodes keep stale "
                             "images) or Always (unapproved updates)." },
  [IW_CHECK_MOVING_TAG]
  = { "moving-tag", IW_SEV_LOW, "The reference has a tag and no digest, so what it names can change." },
  [IW_CHECK_IMAGE_ID_REFERENCE] = { "image-id-reference", IW_SEV_HIGH,
                                    "The spec names a bare image ID (sha256:...), which says nothing about "
                                    "where the image comes from." },
};

const char *
iw_severity_name (iw_severity s)
{
  return (unsigned)s < IW_SEV_COUNT ? severity_names[s] : "unknown";
}

int
iw_severity_parse (const char *s)
{
  for (int i = 0; s && i < IW_SEV_COUNT; i++)
    if (strcmp (s, severity_names[i]) == 0)
      return i;
  return -1;
}

const char *
iw_check_name (iw_check_id c)
{
  return (unsigned)c < IW_CHECK_COUNT ? checks[c].name : "unknown";
}

iw_severity
iw_check_default_severity (iw_check_id c)
{
  return (unsigned)c < IW_CHECK_COUNT ? checks[c].severity : IW_SEV_INFO;
}

const char *
iw_check_description (iw_check_id c)
{
  return (unsigned)c < IW_CHECK_COUNT ? checks[c].description : "";
}

int
iw_check_parse (const char *name)
{
  for (int i = 0; name && i < IW_CHECK_COUNT; i++)
    if (strcmp (name, checks[i].name) == 0)
      return i;
  return -1;
}

void
iw_reg_facts_clear (iw_reg_facts *f)
{
  if (f == NULL)
    return;
  free (f->registry);
  free (f->expected);
  free (f->error_msg);
  free (f->detail_error_msg);
  for (size_t i = 0; f->children && f->children[i]; i++)
    free (f->children[i]);
  free (f->children);
  for (size_t i = 0; f->configs && f->configs[i]; i++)
    free (f->configs[i]);
  free (f->configs);
  free (f->label_source);
  free (f->label_revision);
  free (f->label_authors);
  free (f->label_created);
  /* running[] has no terminator: its owner knows the length. */
  memset (f, 0, sizeof *f);
}

void
iw_findings_clear (iw_findings *fs)
{
  for (size_t i = 0; i < fs->len; i++)
    {
      free (fs->items[i].message);
      free (fs->items[i].remediation);
      free (fs->items[i].workloads);
    }
  free (fs->items);
  memset (fs, 0, sizeof *fs);
}

iw_severity
iw_check_severity (const iw_check_ctx *ctx, iw_check_id c, iw_severity computed)
{
  int s = iw_severity_parse (iw_config_severity (ctx->config, iw_check_name (c)));

  return s >= 0 ? (iw_severity)s : computed;
}

bool
iw_check_is_exempt (const iw_check_ctx *ctx, const iw_inv_image *img, const iw_inv_workload *w, iw_check_id c)
{
  char *name;
  bool exempt;

  if (ctx->config == NULL || ctx->config->n_exemptions == 0)
    return false;
  name = img->ref ? iw_ref_name (img->ref) : iw_xstrdup (img->key);
  exempt = iw_config_is_exempt (ctx->config, w ? w->namespace_ : NULL, name, iw_check_name (c));
  free (name);
  return exempt;
}

void
iw_findings_add (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, iw_check_id c,
                 iw_severity computed, const size_t *workloads, size_t n_workloads, long running,
                 char *message)
{
  size_t *kept = NULL, n_kept = 0;
  iw_finding *f;

  for (size_t i = 0; i < n_workloads; i++)
    {
      if (iw_check_is_exempt (ctx, img, &img->workloads[workloads[i]], c))
        continue;
      kept = iw_xreallocarray (kept, n_kept + 1, sizeof *kept);
      kept[n_kept++] = workloads[i];
    }
  if (n_kept == 0 && n_workloads > 0)
    {
      free (message);
      return;
    }
  if (fs->len == fs->cap)
    {
      fs->cap = fs->cap ? fs->cap * 2 : 8;
      fs->items = iw_xreallocarray (fs->items, fs->cap, sizeof *fs->items);
    }
  f = &fs->items[fs->len++];
  memset (f, 0, sizeof *f);
  f->check = c;
  f->severity = iw_check_severity (ctx, c, computed);
  f->message = message;
  f->workloads = kept;
  f->n_workloads = n_kept;
  f->running = running;
}

static bool
in_list (char *const *list, const char *digest)
{
  for (size_t i = 0; list && list[i]; i++)
    if (strcmp (list[i], digest) == 0)
      return true;
  return false;
}

bool
iw_check_digest_matches (const iw_reg_facts *facts, iw_image_id_kind kind, const char *digest)
{
  bool manifest, config;

  if (facts == NULL || facts->expected == NULL || digest == NULL)
    return false;
  manifest = strcmp (digest, facts->expected) == 0 || in_list (facts->children, digest);
  config = in_list (facts->configs, digest);
  switch (kind)
    {
    case IW_IMAGE_ID_REPO_DIGEST:
      return manifest;
    case IW_IMAGE_ID_CONFIG:
      return config;
    case IW_IMAGE_ID_UNKNOWN:
      return manifest || config;
    case IW_IMAGE_ID_NONE:
    default:
      return false;
    }
}

bool
iw_check_wants_registry (const iw_check_ctx *ctx, const iw_inv_image *img)
{
  char *name;
  bool trusted;

  if (img->ref == NULL)
    return false;
  if (iw_check_trust_unconfigured (ctx))
    return true;
  name = iw_ref_name (img->ref);
  trusted = iw_config_is_trusted (ctx->config, name);
  free (name);
  return trusted;
}

void
iw_check_all (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, const iw_reg_facts *facts)
{
  iw_check_integrity (fs, ctx, img, facts);
  iw_check_drift (fs, ctx, img, facts);
  iw_check_trust (fs, ctx, img);
  iw_check_tags (fs, ctx, img);
}
