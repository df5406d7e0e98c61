/*
 * fuzz_store_document.c - the index/manifest parser that verify-store
 * trusts after a document hashes to its name.  The first byte picks the
 * media type the referring descriptor claims.
 */
#include "runtime/store.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const types[] = {
    NULL,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
  };
  iw_store_document *d = NULL;
  iw_error *err = NULL;

  if (size < 1)
    return 0;
  if (iw_store_document_parse (&d, (const char *)data + 1, size - 1, types[data[0] % 5], &err) == 0)
    {
      for (size_t i = 0; i < d->n_children; i++)
        if (!iw_store_digest_valid (d->children[i].digest) || d->children[i].size < 0)
          __builtin_trap ();
    }
  iw_store_document_free (d);
  iw_error_free (err);
  return 0;
}
