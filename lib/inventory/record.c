/*
 * record.c - container records: release, runtime image IDs, pull policies.
 *
 * The runtime reports what runs as an imageID in one of several formats,
 * depending on the runtime and its version:
 *
 *   docker-pullable://nginx@sha256:...   dockershim: a manifest digest
 *   docker://sha256:...                  dockershim: the image (config) ID
 *   docker.io/library/nginx@sha256:...   containerd, CRI-O: a repo digest,
 *                                        which may be an index digest
 *   sha256:...                           a bare digest (locally built or
 *                                        loaded images): manifest or config
 *   ""                                   the container is being created
 *
 * iw_image_id_parse() turns all of them into {kind, repository, digest}.
 */
#include "inventory/record.h"
#include "ref/ref.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

void
iw_image_id_clear (iw_image_id *id)
{
  if (id == NULL)
    return;
  free (id->repository);
  free (id->digest);
  free (id->raw);
  memset (id, 0, sizeof *id);
}

void
iw_record_clear (iw_record *r)
{
  if (r == NULL)
    return;
  free (r->source);
  free (r->cluster);
  free (r->namespace_);
  free (r->pod);
  free (r->workload_kind);
  free (r->workload_name);
  free (r->container);
  free (r->node);
  free (r->image);
  free (r->status_image);
  iw_image_id_clear (&r->image_id);
  free (r->phase);
  free (r->state);
  free (r->started_at);
  if (r->pull_secrets)
    for (char **s = r->pull_secrets; *s; s++)
      free (*s);
  free (r->pull_secrets);
  memset (r, 0, sizeof *r);
}

void
iw_record_free (iw_record *r)
{
  if (r == NULL)
    return;
  iw_record_clear (r);
  free (r);
}

static bool
has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

static bool
is_hex64 (const char *s)
{
  size_t n = 0;

  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == 64;
}

/* A valid digest string ("sha256:<hex>", "sha512:<hex>"), or NULL. */
static char *
digest_or_null (const char *s)
{
  if (iw_digest_validate (s, NULL) < 0)
    return NULL;
  return iw_xstrdup (s);
}

/* "repo@sha256:..." into out's repository (normalized) and digest; false
 * when it is not one. */
static bool
parse_repo_digest (iw_image_id *out, const char *text)
{
  const char *at = strrchr (text, '@');
  iw_ref *ref = NULL;

  if (at == NULL || at == text)
    return false;
  if (iw_digest_validate (at + 1, NULL) < 0)
    return false;
  if (iw_ref_parse (&ref, text, NULL) < 0)
    {
      /* Not a reference Docker would accept (an unusual mirror spelling):
       * keep the repository as written, the digest is what matters. */
      out->repository = iw_xstrndup (text, (size_t)(at - text));
      out->digest = iw_xstrdup (at + 1);
      return true;
    }
  out->repository = iw_ref_name (ref);
  out->digest = iw_xstrdup (ref->digest ? ref->digest : at + 1);
  iw_ref_free (ref);
  return true;
}

void
iw_image_id_parse (iw_image_id *out, const char *raw)
{
  const char *rest;

  memset (out, 0, sizeof *out);
  if (raw == NULL || *raw == '\0')
    return;
  out->raw = iw_xstrdup (raw);
  out->kind = IW_IMAGE_ID_UNKNOWN;
  if (has_prefix (raw, "docker-pullable://"))
    {
      rest = raw + strlen ("docker-pullable://");
      if (parse_repo_digest (out, rest))
        out->kind = IW_IMAGE_ID_REPO_DIGEST;
      else if ((out->digest = digest_or_null (rest)) != NULL)
        out->kind = IW_IMAGE_ID_REPO_DIGEST;
      return;
    }
  if (has_prefix (raw, "docker://"))
    {
      rest = raw + strlen ("docker://");
      if ((out->digest = digest_or_null (rest)) != NULL)
        out->kind = IW_IMAGE_ID_CONFIG;
      else if (parse_repo_digest (out, rest))
        out->kind = IW_IMAGE_ID_REPO_DIGEST;
      return;
    }
  if (strstr (raw, "://") != NULL)
    return; /* an unknown scheme: raw only */
  if ((out->digest = digest_or_null (raw)) != NULL)
    return; /* bare digest: manifest or config, runtime-specific */
  if (is_hex64 (raw))
    {
      out->digest = iw_xasprintf ("sha256:%s", raw);
      return;
    }
  if (parse_repo_digest (out, raw))
    out->kind = IW_IMAGE_ID_REPO_DIGEST;
}

const char *
iw_pull_policy_name (iw_pull_policy p)
{
  switch (p)
    {
    case IW_PULL_ALWAYS:
      return "Always";
    case IW_PULL_IF_NOT_PRESENT:
      return "IfNotPresent";
    case IW_PULL_NEVER:
      return "Never";
    case IW_PULL_UNSET:
    default:
      return NULL;
    }
}

iw_pull_policy
iw_pull_policy_parse (const char *s)
{
  if (s == NULL)
    return IW_PULL_UNSET;
  if (strcmp (s, "Always") == 0)
    return IW_PULL_ALWAYS;
  if (strcmp (s, "IfNotPresent") == 0)
    return IW_PULL_IF_NOT_PRESENT;
  if (strcmp (s, "Never") == 0)
    return IW_PULL_NEVER;
  return IW_PULL_UNSET;
}

/* Kubernetes (SetDefaults_Container) reads the tag with its image name
 * parser, which reports "latest" when there is neither tag nor digest,
 * and ignores parse errors (validation rejects such pods elsewhere). */
iw_pull_policy
iw_pull_policy_default (const char *image)
{
  iw_ref *ref = NULL;
  iw_pull_policy p = IW_PULL_IF_NOT_PRESENT;

  if (image == NULL || iw_ref_parse (&ref, image, NULL) < 0)
    return p;
  if (ref->tag ? strcmp (ref->tag, "latest") == 0 : ref->digest == NULL)
    p = IW_PULL_ALWAYS;
  iw_ref_free (ref);
  return p;
}
