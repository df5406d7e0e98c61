/*
 * check.h - the checks: pure functions of (inventory image, registry
 * facts, policy) -> findings.  No I/O happens here: the registry has
 * already been asked (lib/assess/) and its answers are handed over as
 * "facts", so every verdict can be unit-tested from a table.
 *
 * One file per family:
 *   integrity.c  integrity-unknown, integrity-stale, tag-missing, unverified
 *                (spec pinned @X while the runtime reports Y is integrity-unknown)
 *   drift.c      digest-drift (needs no registry)
 *   trust.c      untrusted-registry (and the one info finding when no
 *                trustedRegistries is configured)
 *   tags.c       moving-tag, pull-policy, image-id-reference
 *
 * Ownership: an iw_findings list owns its findings and their strings;
 * iw_findings_clear() releases them.  Inputs are borrowed.
 */
#ifndef IW_CHECK_CHECK_H
#define IW_CHECK_CHECK_H

#include "config/config.h"
#include "inventory/inventory.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum iw_severity
{
  IW_SEV_INFO = 0,
  IW_SEV_LOW,
  IW_SEV_MEDIUM,
  IW_SEV_HIGH,
  IW_SEV_CRITICAL,
} iw_severity;

#define IW_SEV_COUNT 5

/* "critical", "high", "medium", "low", "info". */
const char *iw_severity_name (iw_severity s);
/* Parse a severity name; -1 when unknown. */
int iw_severity_parse (const char *s);

typedef enum iw_check_id
{
  IW_CHECK_INTEGRITY_UNKNOWN = 0,
  IW_CHECK_INTEGRITY_STALE,
  IW_CHECK_DIGEST_DRIFT,
  IW_CHECK_UNTRUSTED_REGISTRY,
  IW_CHECK_TAG_MISSING,
  IW_CHECK_UNVERIFIED,
  IW_CHECK_PULL_POLICY,
  IW_CHECK_MOVING_TAG,
  IW_CHECK_IMAGE_ID_REFERENCE,
} iw_check_id;

#define IW_CHECK_COUNT 9

/* The check's stable name ("integrity-stale"), its default severity and a
 * one-line description (used as SARIF rule text). */
const char *iw_check_name (iw_check_id c);
iw_severity iw_check_default_severity (iw_check_id c);
const char *iw_check_description (iw_check_id c);
/* Parse a check name; -1 when unknown. */
int iw_check_parse (const char *name);

/* What the registry said about one digest, when asked "does it exist?". */
typedef enum iw_digest_presence
{
  IW_DIGEST_UNKNOWN = 0, /* could not be asked: error says why */
  IW_DIGEST_PRESENT,
  IW_DIGEST_ABSENT,
} iw_digest_presence;

typedef struct iw_digest_fact
{
  iw_digest_presence presence;
  iw_code error;   /* why UNKNOWN; IW_OK otherwise */
  char *error_msg; /* or NULL */
} iw_digest_fact;

/* Everything the registry said about one inventory image.  `expected` is
 * the digest the reference stands for: the tag's current digest, or the
 * spec's own digest when it pins one (then the tag is never asked).
 * `children` are the platform manifests when expected is an index;
 * `configs` the config digests of expected's manifest or of each child. */
typedef struct iw_reg_facts
{
  bool asked;              /* false: the registry was not consulted (untrusted, offline) */
  char *registry;          /* "127.0.0.1:5000" */
  char *expected;          /* NULL when resolving failed */
  iw_code error;           /* why expected is NULL: IW_ENOTFOUND = the tag is gone */
  char *error_msg;         /* or NULL */
  iw_code detail_error;    /* reading expected's manifest/index/configs failed: running IDs */
  char *detail_error_msg;  /* that do not equal expected cannot be compared (unverified) */
  char **children;         /* NULL-terminated, or NULL */
  char **configs;          /* NULL-terminated, or NULL */
  iw_digest_fact *running; /* one per inventory image's running[], same order; NULL if not asked */
  /* Lineage: OCI labels of expected's config (or its first child's). */
  char *label_source;
  char *label_revision;
  char *label_authors;
  char *label_created;
} iw_reg_facts;

void iw_reg_facts_clear (iw_reg_facts *f);

typedef struct iw_finding
{
  iw_check_id check;
  iw_severity severity; /* after config overrides */
  char *message;
  char *remediation; /* filled by the assessment, NULL from the checks */
  size_t *workloads; /* indices into the image's workloads */
  size_t n_workloads;
  long running; /* index into the image's running[] this is about, or -1 */
  int variant;  /* check-specific: pull-policy 0 = stale risk, 1 = unapproved updates */
} iw_finding;

typedef struct iw_findings
{
  iw_finding *items;
  size_t len;
  size_t cap;
} iw_findings;

#define IW_FINDINGS_INIT                                                                                     \
  {                                                                                                          \
    NULL, 0, 0                                                                                               \
  }

void iw_findings_clear (iw_findings *fs);

/* What every check reads besides the image itself. */
typedef struct iw_check_ctx
{
  const iw_config *config; /* never NULL: iw_config_new_default() when none was given */
} iw_check_ctx;

/* The effective severity of check c under the config's overrides. */
iw_severity iw_check_severity (const iw_check_ctx *ctx, iw_check_id c, iw_severity computed);

/* Is workload w of image img exempt from check c (config exemptions)? */
bool iw_check_is_exempt (const iw_check_ctx *ctx, const iw_inv_image *img, const iw_inv_workload *w,
                         iw_check_id c);

/* Add a finding about the listed workloads (indices into img->workloads);
 * exempt workloads are dropped and when none is left no finding is added.
 * The severity is computed (the check's default or a variant's) and then
 * overridden by the config.  Takes ownership of message. */
void iw_findings_add (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img, iw_check_id c,
                      iw_severity computed, const size_t *workloads, size_t n_workloads, long running,
                      char *message);

/* The check families.  Each appends its findings for img to fs.  facts is
 * NULL or not asked when the registry was not consulted. */
void iw_check_integrity (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img,
                         const iw_reg_facts *facts);
void iw_check_drift (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img,
                     const iw_reg_facts *facts);
void iw_check_trust (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img);
void iw_check_tags (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img);

/* All families in order. */
void iw_check_all (iw_findings *fs, const iw_check_ctx *ctx, const iw_inv_image *img,
                   const iw_reg_facts *facts);

/* Should the registry be asked about img?  Not for untrusted registries
 * (their answer proves nothing, and no request or credential goes to a
 * lookalike domain), nor for image-ID references. */
bool iw_check_wants_registry (const iw_check_ctx *ctx, const iw_inv_image *img);

/* True when the config has no trustedRegistries: untrusted-registry
 * cannot apply, and the assessment says so once as an info finding. */
bool iw_check_trust_unconfigured (const iw_check_ctx *ctx);
/* The text of that info finding. */
const char *iw_check_trust_unconfigured_message (void);

/* Does running ID r (kind, digest) stand for the content facts->expected
 * names?  Repo digests match expected or a child; config IDs match a
 * config digest; unknown-kind IDs match either. */
bool iw_check_digest_matches (const iw_reg_facts *facts, iw_image_id_kind kind, const char *digest);

#endif
