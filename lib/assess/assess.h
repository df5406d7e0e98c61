/*
 * assess.h - the Live Assessment: every image of an inventory with what
 * the registry said about it, its findings (with a concrete, runnable
 * remediation each), its worst severity and its lineage, sorted by risk.
 *
 *   iw_assessment *a = iw_assessment_new (inv, source);    takes inv
 *   iw_assess_resolve (a, &ctx, reg, true, &err);           asks the registry
 *   iw_assess_evaluate (a, &ctx);                           checks, remediation, order
 *
 * The two halves are separate so tests can hand facts in directly
 * (iw_assessment.images[i].facts) and evaluate without a registry.
 *
 * Order: images with findings first, by worst severity, then number of
 * workloads (more first), then reference; clean images follow by
 * reference.
 *
 * Ownership: iw_assessment_new() takes the inventory; iw_assessment_free()
 * releases everything (NULL is fine).
 */
#ifndef IW_ASSESS_ASSESS_H
#define IW_ASSESS_ASSESS_H

#include "check/check.h"
#include "inventory/inventory.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iw_registry iw_registry;

typedef struct iw_assess_image
{
  const iw_inv_image *inv; /* borrowed from the assessment's inventory */
  iw_reg_facts facts;      /* running[] has inv->n_running entries when asked */
  iw_findings findings;
  iw_severity severity; /* worst finding; meaningless when findings.len == 0 */
  size_t n_workloads;   /* distinct namespace/kind/name (containers merged) */
} iw_assess_image;

typedef struct iw_assessment
{
  iw_inventory *inv;
  char *source;       /* "file:pods.json", "kube:https://..." */
  char *generated_at; /* RFC 3339 UTC */
  iw_assess_image *images;
  size_t n_images;
  size_t n_flagged;            /* images with findings: the first n_flagged after evaluate */
  iw_findings global;          /* assessment-wide findings (no image): the trust-policy info */
  size_t counts[IW_SEV_COUNT]; /* findings per severity, global ones included */
  /* What asking the registry cost (from the client's metrics). */
  uint64_t registry_requests;
  size_t distinct_references; /* references asked about */
  bool offline;               /* no registry was asked on purpose: said once as an info finding */
} iw_assessment;

/* Take inv (finished) and make one assessment image per inventory image. */
iw_assessment *iw_assessment_new (iw_inventory *inv, const char *source);
void iw_assessment_free (iw_assessment *a);

typedef void (*iw_assess_progress_fn) (void *data, size_t done, size_t total);

/* Ask the registry about every image that wants it (iw_check_wants_registry):
 * one batch resolve of the distinct references (expected digest, index
 * children, config digests, labels), then one batch of existence checks
 * for the running digests that do not match (manifest HEAD for repo
 * digests, blob HEAD for config IDs, both for bare IDs).  Per-reference
 * failures become facts (unverified, tag-missing), not errors.  With
 * lineage, every resolved image's config labels are read too (more
 * requests); without, only images whose running IDs need them.  Returns
 * < 0 only when the client refuses the batch. */
int iw_assess_resolve (iw_assessment *a, const iw_check_ctx *ctx, iw_registry *reg, bool lineage,
                       iw_error **err);

/* Run the checks, write remediations, count, and sort. */
void iw_assess_evaluate (iw_assessment *a, const iw_check_ctx *ctx);

/* The remediation text for finding f of image ai (several lines, each a
 * command or a sentence); caller frees. */
char *iw_assess_remediation (const iw_assess_image *ai, const iw_finding *f, const iw_check_ctx *ctx);

/* The worst severity over all findings; -1 when there is none. */
int iw_assessment_worst (const iw_assessment *a);

/* Does any finding reach at least sev? */
bool iw_assessment_fails (const iw_assessment *a, iw_severity sev);

/* "deployment" for "Deployment": the resource name kubectl takes, or NULL
 * for kinds kubectl cannot address (plain containers).  Borrowed. */
const char *iw_assess_kubectl_kind (const char *kind);

/* The workload ids ("ns/Kind/name") a finding names, deduplicated (two
 * containers of one workload are one workload); NULL-terminated, caller
 * frees each and the array. */
char **iw_assess_finding_workloads (const iw_assess_image *ai, const iw_finding *f);

#endif
