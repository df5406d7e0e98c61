/*
 * record.h - the container record: what one source (Kubernetes API, a
 * pods file, a manifest, containerd, Docker Engine) says about one
 * container.  Every source produces these; the inventory groups them by
 * normalized reference, and the checks read them.
 *
 * Ownership: a record owns all its strings; iw_record_free() releases them
 * (NULL is fine).  Absent values are NULL, never "".
 */
#ifndef IW_INVENTORY_RECORD_H
#define IW_INVENTORY_RECORD_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum iw_container_type
{
  IW_CONTAINER_APP = 0,
  IW_CONTAINER_INIT,
  IW_CONTAINER_EPHEMERAL,
} iw_container_type;

/* What kind of identifier the runtime reported for the running image. */
typedef enum iw_image_id_kind
{
  IW_IMAGE_ID_NONE = 0,    /* empty: container being created, or spec-only */
  IW_IMAGE_ID_REPO_DIGEST, /* a manifest (or index) digest: docker-pullable://repo@sha256:..., repo@sha256:...
                            */
  IW_IMAGE_ID_CONFIG,      /* a config digest: docker://sha256:... */
  IW_IMAGE_ID_UNKNOWN,     /* bare sha256:... (manifest or config: runtime-specific), or unparseable */
} iw_image_id_kind;

typedef enum iw_pull_policy
{
  IW_PULL_UNSET = 0,
  IW_PULL_ALWAYS,
  IW_PULL_IF_NOT_PRESENT,
  IW_PULL_NEVER,
} iw_pull_policy;

typedef struct iw_image_id
{
  iw_image_id_kind kind;
  char *repository; /* "docker.io/library/nginx" when the ID names one, else NULL */
  char *digest;     /* "sha256:<hex>", else NULL */
  char *raw;        /* the ID exactly as reported */
} iw_image_id;

typedef struct iw_record
{
  char *source;        /* "kube:https://10.0.0.1:6443", "file:pods.json", "containerd:/run/..." */
  char *cluster;       /* context or cluster name; NULL when unknown */
  char *namespace_;    /* Kubernetes namespace, or containerd namespace */
  char *pod;           /* NULL for spec-only records (manifests) */
  char *workload_kind; /* "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod", "Container" */
  char *workload_name;
  char *container;
  iw_container_type container_type;
  char *node;
  char *image;                /* the spec image, exactly as written */
  char *status_image;         /* status.image as the runtime reported it */
  iw_pull_policy pull_policy; /* effective, with Kubernetes' defaulting */
  bool pull_policy_defaulted; /* true when the spec did not set it */
  iw_image_id image_id;       /* what runs; kind NONE when nothing runs yet */
  char *phase;                /* pod phase: "Running", "Pending", ... */
  char *state;                /* container state: "running", "waiting", "terminated" */
  char *started_at;           /* RFC 3339, NULL when unknown */
  char **pull_secrets;        /* NULL-terminated imagePullSecrets names, or NULL */
} iw_record;

/* Sources hand records over one at a time: the callback takes ownership of
 * rec (it must free it or keep it).  Returning < 0 (with *err set) stops
 * the source, which then returns < 0 too. */
typedef int (*iw_record_fn) (iw_record *rec, void *userdata, iw_error **err);

void iw_record_free (iw_record *r);
/* Free the strings inside r but not r itself. */
void iw_record_clear (iw_record *r);

/* Parse a runtime imageID in every format (see iw_image_id_kind).  Never
 * fails: what cannot be understood becomes IW_IMAGE_ID_UNKNOWN with raw set. */
void iw_image_id_parse (iw_image_id *out, const char *raw);
void iw_image_id_clear (iw_image_id *id);

/* "Always", "IfNotPresent", "Never", or NULL for UNSET. */
const char *iw_pull_policy_name (iw_pull_policy p);
/* Parse the Kubernetes spelling; IW_PULL_UNSET when s is NULL or unknown. */
iw_pull_policy iw_pull_policy_parse (const char *s);
/* Kubernetes' defaulting: Always when the image's tag is "latest" or there
 * is no tag and no digest; IfNotPresent otherwise (and for digests). */
iw_pull_policy iw_pull_policy_default (const char *image);

#endif
