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
 *
 * A pod list repeats a few hundred images tens of thousands of times, so
 * what is learned from an image name (its normalized repository, its
 * default pull policy) is memoized per thread in a small fixed table.
 */
#include "inventory/record.h"
#include "ref/ref.h"
#include "util/mem.h"

#include <stdint.h>
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

/* --- the memo ------------------------------------------------------- */

enum
{
  MEMO_SLOTS = 64,
  MEMO_KEY = 160,
  MEMO_VALUE = 192,
};

/* What a name (an image, or the part of a repo digest before its '@')
 * gave.  Names and values too long for a slot are never memoized. */
typedef struct memo_slot
{
  size_t key_len; /* 0: empty */
  char key[MEMO_KEY];
  int num;                /* a pull policy, or whether the name parsed */
  char value[MEMO_VALUE]; /* a repository, NUL-terminated */
} memo_slot;

static _Thread_local memo_slot repo_memo[MEMO_SLOTS];
static _Thread_local memo_slot policy_memo[MEMO_SLOTS];

static memo_slot *
memo_slot_for (memo_slot *memo, const char *key, size_t n)
{
  uint64_t h = 1469598103934665603ULL;

  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
  return &memo[(h ^ (h >> 32)) % MEMO_SLOTS];
}

static bool
memo_hit (const memo_slot *slot, const char *key, size_t n)
{
  return slot->key_len == n && memcmp (slot->key, key, n) == 0;
}

static void
memo_store (memo_slot *slot, const char *key, size_t n, int num, const char *value)
{
  size_t vlen = value ? strlen (value) : 0;

  if (n == 0 || n >= MEMO_KEY || vlen >= MEMO_VALUE)
    return;
  memcpy (slot->key, key, n);
  slot->key_len = n;
  slot->num = num;
  memcpy (slot->value, value ? value : "", vlen + 1);
}

/* A cheap test that rules out what iw_digest_validate() rejects anyway:
 * only sha256 and sha512 digests are valid.  It spares building the
 * rejection message for every imageID that is not a bare digest. */
static bool
may_be_digest (const char *s)
{
  return strncmp (s, "sha256:", 7) == 0 || strncmp (s, "sha512:", 7) == 0;
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
  if (!may_be_digest (s) || iw_digest_validate (s, NULL) < 0)
    return NULL;
  return iw_xstrdup (s);
}

/* "repo@sha256:..." into out's repository (normalized) and digest; false
 * when it is not one.  Once the digest after the last '@' is valid, the
 * repository depends only on the text before it (a second '@' there makes
 * the reference invalid whatever the digest), which is what is memoized. */
static bool
parse_repo_digest (iw_image_id *out, const char *text)
{
  const char *at = strrchr (text, '@');
  size_t n;
  memo_slot *slot;
  iw_ref *ref = NULL;

  if (at == NULL || at == text)
    return false;
  if (!may_be_digest (at + 1) || iw_digest_validate (at + 1, NULL) < 0)
    return false;
  n = (size_t)(at - text);
  slot = memo_slot_for (repo_memo, text, n);
  if (memo_hit (slot, text, n))
    {
      out->repository = slot->num ? iw_xstrdup (slot->value) : iw_xstrndup (text, n);
      out->digest = iw_xstrdup (at + 1);
      return true;
    }
  if (iw_ref_parse (&ref, text, NULL) < 0)
    {
      /* Not a reference Docker would accept (an unusual mirror spelling):
       * keep the repository as written, the digest is what matters. */
      out->repository = iw_xstrndup (text, n);
      out->digest = iw_xstrdup (at + 1);
      memo_store (slot, text, n, 0, NULL);
      return true;
    }
  out->repository = iw_ref_name (ref);
  out->digest = iw_xstrdup (ref->digest ? ref->digest : at + 1);
  memo_store (slot, text, n, 1, out->repository);
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
  memo_slot *slot;
  size_t n;

  if (image == NULL)
    return p;
  n = strlen (image);
  slot = memo_slot_for (policy_memo, image, n);
  if (memo_hit (slot, image, n))
    return (iw_pull_policy)slot->num;
  if (iw_ref_parse (&ref, image, NULL) == 0)
    {
      if (ref->tag ? strcmp (ref->tag, "latest") == 0 : ref->digest == NULL)
        p = IW_PULL_ALWAYS;
      iw_ref_free (ref);
    }
  memo_store (slot, image, n, (int)p, NULL);
  return p;
}
