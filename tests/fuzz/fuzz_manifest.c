/*
 * fuzz_manifest.c - manifests, indexes and image configs.
 *
 * The first byte picks the Content-Type the body is checked against; the
 * rest is the body, parsed both as a manifest and as an image config.
 */
#include "registry/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const ctypes[] = {
    NULL, IW_MT_OCI_MANIFEST, IW_MT_OCI_INDEX, IW_MT_DOCKER_MANIFEST, IW_MT_DOCKER_LIST, "application/json"
  };
  iw_manifest *m = NULL;
  iw_image_config *c = NULL;
  iw_error *err = NULL;
  const char *ct;

  if (size == 0)
    return 0;
  ct = ctypes[data[0] % (sizeof ctypes / sizeof ctypes[0])];
  if (iw_manifest_parse (&m, (const char *)data + 1, size - 1, ct, &err) == 0)
    {
      /* What the parser promises: a known type, and the shape it names. */
      if (!iw_manifest_media_type_known (m->media_type))
        abort ();
      if (m->is_index != iw_manifest_media_type_is_index (m->media_type))
        abort ();
      if (!m->is_index && (m->config.digest == NULL || m->n_manifests != 0))
        abort ();
      if (m->is_index && (m->config.digest != NULL || m->n_layers != 0))
        abort ();
      iw_manifest_free (m);
    }
  iw_error_clear (&err);
  if (iw_image_config_parse (&c, (const char *)data + 1, size - 1, &err) == 0)
    {
      char *p = iw_image_config_platform (c);

      (void)iw_image_config_label (c, "org.opencontainers.image.source");
      free (p);
      iw_image_config_free (c);
    }
  iw_error_free (err);
  return 0;
}
