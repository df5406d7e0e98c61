/*
 * admission.h - Kubernetes admission webhooks for `imgwatch serve`:
 * AdmissionReview v1 (admission.k8s.io/v1) in, AdmissionReview out.
 *
 *   POST /admission/validate  allow or deny by policy (config `admission:`)
 *   POST /admission/mutate    the same denials, and a JSONPatch that pins
 *                             every tag to the digest the registry answers
 *                             ("app:1" becomes "app:1@sha256:...")
 *
 * Objects: Pod (and its ephemeralcontainers subresource), Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, Job (spec.template) and CronJob
 * (spec.jobTemplate.spec.template); containers, initContainers and
 * ephemeralContainers.  Other kinds, DELETE and CONNECT are allowed
 * untouched.
 *
 * Policy, per container image, in this order:
 *   - a bare image ID ("sha256:<hex>", 64 hex) is denied (check
 *     image-id-reference);
 *   - an image outside trustedRegistries (when configured) is denied with
 *     denyUntrusted (check untrusted-registry); its registry is never
 *     asked, so it is never pinned either;
 *   - an image with a digest is pinned: nothing more to do;
 *   - validate: requireDigest denies any image without a digest,
 *     denyMovingTags one whose tag (or implicit latest) is in movingTags
 *     (check moving-tag for both);
 *   - mutate (with `mutate: true`): the tag is resolved from the registry
 *     (HEAD; the request's content never supplies a digest); a missing tag
 *     is denied (check tag-missing); a registry that cannot be asked denies
 *     or allows unpinned as onRegistryError says, the response naming the
 *     error.
 * Config exemptions for the request's namespace lift the denial of the
 * check they name.  Nothing is written anywhere (no store, no alerts), so
 * dryRun requests are answered like any other.
 *
 * A denial is HTTP 200 with allowed=false, status.code 403 and one line
 * per container in status.message:
 *   container "app" image "nginx": moving tag "latest" (implicit) without a digest (denyMovingTags)
 * A body that is not a well-formed AdmissionReview v1 is HTTP 400 with
 * {"error": "..."} naming the field; a body over IW_ADMISSION_BODY_MAX 413.
 *
 * Threads: iw_admission_http() and iw_admission_review() may be called
 * from any thread; registry lookups are serialized on one client.
 *
 * Ownership: iw_admission_new() hands *out to the caller, released with
 * iw_admission_free() (NULL is fine).  The config and metrics are borrowed
 * and must outlive it.  Strings returned through out are the caller's.
 */
#ifndef IW_SERVER_ADMISSION_H
#define IW_SERVER_ADMISSION_H

#include "config/config.h"
#include "ref/ref.h"
#include "registry/registry.h"
#include "server/metrics.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

/* The biggest AdmissionReview accepted: Kubernetes' own request limit. */
#define IW_ADMISSION_BODY_MAX (3 * IW_MIB)

typedef struct iw_admission iw_admission;

typedef enum iw_admission_endpoint
{
  IW_ADMISSION_VALIDATE = 0,
  IW_ADMISSION_MUTATE,
} iw_admission_endpoint;

/* Resolve n references to digests, as iw_registry_resolve_many() does
 * (same contract); replaceable for tests. */
typedef int (*iw_admission_resolve_fn) (iw_resolution **out, const iw_ref *const *refs, size_t n,
                                        void *userdata, iw_error **err);

typedef struct iw_admission_options
{
  const iw_config *config;         /* policy and registries; NULL = defaults */
  iw_metrics *metrics;             /* imgwatch_admission_requests_total, or NULL */
  iw_admission_resolve_fn resolve; /* NULL: a registry client of its own */
  void *userdata;                  /* for resolve */
  long registry_timeout_ms; /* one registry request: 0 = 3000, retried once (webhooks time out at 10 s) */
} iw_admission_options;

#define IW_ADMISSION_OPTIONS_INIT                                                                            \
  {                                                                                                          \
    NULL, NULL, NULL, NULL, 0                                                                                \
  }

/* Errors: those of iw_registry_new(). */
int iw_admission_new (iw_admission **out, const iw_admission_options *opts, iw_error **err);
void iw_admission_free (iw_admission *a);

/* Review one AdmissionReview body: *out receives the response review
 * (JSON text).  Errors: IW_EPARSE for a body that is not an
 * AdmissionReview v1, the message naming the field ("request.uid: expected
 * a non-empty string"). */
int iw_admission_review (char **out, iw_admission *a, iw_admission_endpoint ep, const char *body, size_t len,
                         iw_error **err);

/* One HTTP request to /admission/<endpoint> ("validate", "mutate"):
 * *status and the JSON body *out for every outcome (200, 400, 404, 405,
 * 413).  too_big says the body was cut at IW_ADMISSION_BODY_MAX.  Counts
 * imgwatch_admission_requests_total{endpoint,result}. */
void iw_admission_http (char **out, unsigned *status, iw_admission *a, const char *endpoint,
                        const char *method, const char *body, size_t len, bool too_big);

#endif
