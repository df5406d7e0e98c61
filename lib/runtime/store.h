/*
 * store.h - verification of a node's local image store.
 *
 * A container runtime keeps images as content-addressed blobs: an index or
 * manifest names a config and layers by digest and size.  A blob whose
 * bytes no longer hash to its name, that is shorter or longer than its
 * descriptor says, or that is gone, means the node would run (or fail to
 * run) something other than what the registry published: a corrupted or
 * poisoned cache.  iw_store_verify() walks every image given, index ->
 * manifest -> config -> layers, checks each blob's size first and then its
 * sha256 by streaming it (constant memory per worker), with one worker
 * thread per core.  A blob shared by several images is read once.
 *
 * Blobs come from an iw_content_store: a containerd content directory
 * (iw_content_dir_open), or containerd's content API (containerd.h).
 *
 * Ownership: *out of every function belongs to the caller, released with
 * the matching _free (which accepts NULL).
 *
 * Errors: iw_store_verify() fails only when the verification as a whole
 * cannot run (bad arguments, a thread that cannot start).  Everything found
 * about blobs, including blobs that could not be read, becomes a finding in
 * the report: nothing is silently passed.
 */
#ifndef IW_RUNTIME_STORE_H
#define IW_RUNTIME_STORE_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Receives the bytes of a blob as they are read; < 0 stops the read. */
typedef int (*iw_content_sink) (const void *p, size_t n, void *userdata, iw_error **err);

/* Where blobs are read from.  Both calls must be safe to make from several
 * threads at once.  digest is always a validated "sha256:<64 hex>". */
typedef struct iw_content_ops
{
  /* The stored size of a blob; IW_ENOTFOUND when there is no such blob. */
  int (*stat) (void *ctx, const char *digest, long long *size_out, iw_error **err);
  /* Stream the blob from its start into sink, at most limit bytes (limit
   * < 0: all of it).  IW_ENOTFOUND when there is no such blob. */
  int (*read) (void *ctx, const char *digest, long long limit, iw_content_sink sink, void *userdata,
               iw_error **err);
  /* Call fn for the digest of every blob in the store ("sha256:<hex>"); may
   * be NULL when the store cannot list its blobs. */
  int (*list) (void *ctx, int (*fn) (const char *digest, void *userdata, iw_error **err), void *userdata,
               iw_error **err);
  void (*free) (void *ctx);
} iw_content_ops;

typedef struct iw_content_store
{
  const iw_content_ops *ops;
  void *ctx;
  char *description; /* "dir:/var/lib/containerd", "containerd:/run/containerd/containerd.sock" */
} iw_content_store;

/* Open a containerd content directory.  root is containerd's root (with
 * io.containerd.content.v1.content/blobs/sha256 below it) or a directory
 * holding blobs/sha256 itself.  IW_ENOTFOUND when neither layout is there. */
int iw_content_dir_open (iw_content_store **out, const char *root, iw_error **err);

/* Release the store and its backend.  NULL is fine. */
void iw_content_store_free (iw_content_store *cs);

/* An image to verify: a name and the descriptor it points to. */
typedef struct iw_store_image
{
  char *name;       /* "127.0.0.1:5000/app:latest", or the digest for unnamed manifests */
  char *namespace_; /* containerd namespace, or NULL */
  char *digest;     /* the target: "sha256:<hex>" */
  char *media_type; /* the target's media type, or NULL when unknown */
  long long size;   /* the target's size, or -1 when unknown */
} iw_store_image;

void iw_store_image_clear (iw_store_image *img);

/* A list of images, grown by iw_store_images_add. */
typedef struct iw_store_images
{
  iw_store_image *v;
  size_t n;
  size_t cap;
} iw_store_images;

#define IW_STORE_IMAGES_INIT                                                                                 \
  {                                                                                                          \
    NULL, 0, 0                                                                                               \
  }

/* Copy the strings in; namespace_ and media_type may be NULL. */
void iw_store_images_add (iw_store_images *l, const char *name, const char *namespace_, const char *digest,
                          const char *media_type, long long size);
void iw_store_images_clear (iw_store_images *l);

/* Parse a command-line image argument "NAME=sha256:<hex>" or "sha256:<hex>"
 * into l (size and media type unknown).  IW_EINVAL naming the argument. */
int iw_store_images_add_arg (iw_store_images *l, const char *arg, iw_error **err);

/* Add every manifest and index in the store that no index in the store
 * refers to (the top-level images), named by digest.  Needs ops->list. */
int iw_store_images_discover (iw_store_images *l, const iw_content_store *cs, iw_error **err);

/* An index or manifest, parsed.  Children are index entries (for an index)
 * or the config followed by the layers (for a manifest). */
typedef struct iw_store_descriptor
{
  char *media_type; /* or NULL */
  char *digest;     /* validated "sha256:<hex>" */
  long long size;   /* >= 0 */
  char *platform;   /* "linux/amd64" for index entries that say, else NULL */
} iw_store_descriptor;

typedef struct iw_store_document
{
  bool is_index;
  char *media_type; /* the document's mediaType, or NULL */
  iw_store_descriptor *children;
  size_t n_children;
} iw_store_document;

/* Parse an OCI / Docker v2 index or manifest.  media_type (may be NULL) is
 * what the referring descriptor said; when both it and the body say, they
 * must agree.  A document with both "manifests" and "config"/"layers",
 * duplicate keys, or a descriptor whose digest is not "sha256:<64 hex>" or
 * whose size is negative is rejected with IW_EPARSE; Docker schema 1 with
 * IW_EUNSUPPORTED. */
int iw_store_document_parse (iw_store_document **out, const char *data, size_t len, const char *media_type,
                             iw_error **err);
void iw_store_document_free (iw_store_document *d);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool iw_store_digest_valid (const char *digest);

/* What is wrong with a blob. */
typedef enum iw_blob_problem
{
  IW_BLOB_OK = 0,
  IW_BLOB_MISSING,    /* no such blob in the store */
  IW_BLOB_TRUNCATED,  /* shorter than its descriptor */
  IW_BLOB_OVERSIZE,   /* longer than its descriptor */
  IW_BLOB_HASH,       /* its bytes hash to another digest */
  IW_BLOB_MALFORMED,  /* an index or manifest that hashes right but cannot be parsed */
  IW_BLOB_UNREADABLE, /* an I/O error: the blob could not be verified */
} iw_blob_problem;

/* "missing", "truncated", ... */
const char *iw_blob_problem_name (iw_blob_problem p);

typedef struct iw_store_finding
{
  char *check;       /* "store-corrupt", "store-mismatch" or "unverified" */
  char *severity;    /* "critical" for store-*, "medium" for unverified */
  char *image;       /* the image name */
  char *namespace_;  /* or NULL */
  char *blob;        /* the blob digest, or NULL (store-mismatch) */
  char *role;        /* "index", "manifest", "config", "layer", "blob", or NULL */
  char *reason;      /* iw_blob_problem_name(), or "tag-moved", "digest-absent", ... */
  char *message;     /* one sentence naming the blob and the image */
  char *remediation; /* a command that repairs it */
} iw_store_finding;

typedef struct iw_store_report
{
  iw_store_finding *findings;
  size_t n_findings;
  size_t images;            /* images walked */
  size_t blobs;             /* distinct blobs checked */
  unsigned long long bytes; /* bytes hashed */
  size_t skipped;           /* index children not present locally (other platforms) */
} iw_store_report;

typedef struct iw_store_verify_options
{
  int jobs;       /* worker threads; 0 = one per online core */
  bool all_blobs; /* also verify every blob of the store that no image refers to */
} iw_store_verify_options;

#define IW_STORE_VERIFY_OPTIONS_INIT                                                                         \
  {                                                                                                          \
    0, false                                                                                                 \
  }

int iw_store_verify (iw_store_report **out, const iw_content_store *cs, const iw_store_images *images,
                     const iw_store_verify_options *opts, iw_error **err);

/* Append a finding (strings copied; blob, role, namespace_, remediation may be NULL). */
void iw_store_report_add (iw_store_report *r, const char *check, const char *severity, const char *image,
                          const char *namespace_, const char *blob, const char *role, const char *reason,
                          const char *message, const char *remediation);

void iw_store_report_free (iw_store_report *r);

#endif
