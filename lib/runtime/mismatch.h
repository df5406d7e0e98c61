/*
 * mismatch.h - compare a node's image names with the registry: the
 * store-mismatch check of verify-store.
 *
 * For each named image (a name that parses as a reference; digests-only
 * names are skipped), the registry is asked what the tag points to now, and
 * whether it ever held the local digest.  A local name -> digest that is
 * not the registry's tag digest is store-mismatch [critical]: "tag-moved"
 * when the registry still holds the local digest (the node kept an old
 * image), "digest-absent" when it never held it (an image built or
 * imported elsewhere under a trusted name: a poisoned cache).  A registry
 * that cannot answer gives unverified [medium], never a silent pass.
 *
 * Ownership: findings are appended to report (caller-owned).
 * Errors: < 0 only when the batch could not run (IW_EINVAL).
 */
#ifndef IW_RUNTIME_MISMATCH_H
#define IW_RUNTIME_MISMATCH_H

#include "registry/registry.h"
#include "runtime/store.h"

int iw_store_compare_registry (iw_store_report *report, iw_registry *reg, const iw_store_images *images,
                               iw_error **err);

#endif
