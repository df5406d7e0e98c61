/*
 * manifest.h - OCI / Docker v2 manifests, indexes and image configs:
 * parsed strictly, so that two readers can never see two different images
 * in one document.
 *
 * Rejected (IW_EPARSE, the message says which rule):
 *   - invalid JSON, duplicate keys at any depth (jansson with
 *     JSON_REJECT_DUPLICATES), nesting deeper than jansson's limit;
 *   - an unknown `mediaType`, or one that disagrees with the Content-Type
 *     the server sent (when that is a manifest type);
 *   - a missing `mediaType`, unless the Content-Type is a manifest type
 *     and the document has that type's shape (older OCI writers, umoci
 *     among them, omit the field); with a generic or no Content-Type
 *     nothing says what the document is, and it is refused;
 *   - `manifests` together with `layers` or `config`; an index without
 *     `manifests`, a manifest without `config`;
 *   - descriptors without a valid digest, or with a negative size.
 *
 * Ownership: the parse functions hand *out to the caller; the _free
 * functions release them (NULL is fine).
 */
#ifndef IW_REGISTRY_MANIFEST_H
#define IW_REGISTRY_MANIFEST_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IW_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IW_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IW_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IW_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* The Accept header of manifest requests. */
#define IW_MANIFEST_ACCEPT                                                                                   \
  IW_MT_OCI_MANIFEST ", " IW_MT_OCI_INDEX ", " IW_MT_DOCKER_MANIFEST ", " IW_MT_DOCKER_LIST

typedef struct iw_descriptor
{
  char *media_type;
  char *digest;
  int64_t size;
  char *platform;   /* "os/arch[/variant]" for index entries that have one, else NULL */
  bool attestation; /* unknown/unknown or vnd.docker.reference.type=attestation-manifest */
  size_t n_urls;    /* foreign-layer URLs present (never fetched) */
} iw_descriptor;

typedef struct iw_manifest
{
  char *media_type;
  bool is_index;
  iw_descriptor config;  /* manifests only */
  iw_descriptor *layers; /* manifests only */
  size_t n_layers;
  iw_descriptor *manifests; /* indexes only */
  size_t n_manifests;
} iw_manifest;

/* True for the four media types above. */
bool iw_manifest_media_type_known (const char *media_type);
bool iw_manifest_media_type_is_index (const char *media_type);

/* Parse a manifest or index.  content_type is the response's
 * Content-Type (parameters ignored) or NULL when unknown. */
int iw_manifest_parse (iw_manifest **out, const char *body, size_t len, const char *content_type,
                       iw_error **err);
void iw_manifest_free (iw_manifest *m);

/* The interesting parts of an image config. */
typedef struct iw_image_config
{
  char *os, *architecture, *variant;
  char *created;
  char **label_keys; /* config.Labels, in document order */
  char **label_values;
  size_t n_labels;
} iw_image_config;

int iw_image_config_parse (iw_image_config **out, const char *body, size_t len, iw_error **err);
void iw_image_config_free (iw_image_config *c);

/* The value of a label, or NULL.  Borrowed. */
const char *iw_image_config_label (const iw_image_config *c, const char *key);

/* "os/arch[/variant]"; caller frees.  NULL when os or arch is missing. */
char *iw_image_config_platform (const iw_image_config *c);

#endif
