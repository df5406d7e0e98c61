/*
 * inventory.h - container records grouped by normalized image reference.
 *
 * Sources hand over one record per container; the inventory folds them
 * into images (one per distinct normalized reference, so 10,000 pods of
 * one image cost one registry request), each with its workloads (one per
 * namespace/kind/name/container, with the number of pods and the nodes
 * they run on) and the distinct runtime image IDs seen.  Records are not
 * kept: memory grows with distinct images, workloads and nodes, not pods.
 *
 * Ownership: iw_inventory_new() returns an inventory the caller releases
 * with iw_inventory_free() (NULL is fine).  Everything reachable from it
 * is owned by it; pointers into it stay valid until it is freed (adding
 * records may move the arrays, so hold indices, not pointers, while
 * adding).
 */
#ifndef IW_INVENTORY_INVENTORY_H
#define IW_INVENTORY_INVENTORY_H

#include "inventory/record.h"
#include "ref/ref.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

/* One distinct runtime image ID seen for an image. */
typedef struct iw_inv_running
{
  iw_image_id_kind kind;
  char *digest;     /* "sha256:...", NULL when the ID could not be understood */
  char *raw;        /* the first raw form seen */
  char *repository; /* the repository the runtime named, or NULL */
  size_t containers;
} iw_inv_running;

/* One workload's container using an image. */
typedef struct iw_inv_workload
{
  char *namespace_; /* may be NULL (plain containers) */
  char *kind;       /* "Deployment", ...; "Pod" for bare pods */
  char *name;
  char *container;
  iw_container_type container_type;
  iw_pull_policy pull_policy;
  bool pull_policy_defaulted;
  size_t pods;       /* records with a pod */
  size_t containers; /* all records */
  char **nodes;      /* distinct nodes, sorted after iw_inventory_finish() */
  size_t n_nodes;
  size_t *running; /* indices into the image's running[], distinct */
  size_t n_running;
  size_t not_running; /* records whose image ID was empty (pending, spec-only) */
  /* Per index in running[]: how many containers of this workload run it. */
  size_t *running_count;
} iw_inv_workload;

typedef struct iw_inv_image
{
  char *key;         /* the canonical reference ("docker.io/library/nginx:1.25"), or the spec text */
  char *image;       /* the spec image as first written */
  iw_ref *ref;       /* parsed; NULL for image-ID references or unparseable text */
  bool is_image_id;  /* the spec image is a bare "sha256:..." or 64 hex */
  char *parse_error; /* why ref is NULL when not an image ID */
  iw_inv_workload *workloads;
  size_t n_workloads;
  iw_inv_running *running;
  size_t n_running;
  size_t containers;
} iw_inv_image;

typedef struct iw_inventory iw_inventory;

struct iw_inventory
{
  iw_inv_image *images;
  size_t n_images;
  size_t containers;
  char *source;               /* the first record's source */
  struct iw_inv_index *index; /* private */
};

iw_inventory *iw_inventory_new (void);
void iw_inventory_free (iw_inventory *inv);

/* Fold one record in.  Borrows rec.  Never fails on odd input: a spec image
 * that does not parse becomes its own image with parse_error set. */
void iw_inventory_add (iw_inventory *inv, const iw_record *rec);

/* An iw_record_fn that adds the record and frees it; userdata is the
 * inventory. */
int iw_inventory_add_fn (iw_record *rec, void *userdata, iw_error **err);

/* Sort nodes; call once after the last record. */
void iw_inventory_finish (iw_inventory *inv);

/* The image for a reference key, or NULL. */
const iw_inv_image *iw_inventory_find (const iw_inventory *inv, const char *key);

/* "default/Deployment/green-burrito" (namespace omitted when NULL); caller frees. */
char *iw_inv_workload_id (const iw_inv_workload *w);

#endif
