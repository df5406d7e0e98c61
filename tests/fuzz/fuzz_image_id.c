/*
 * fuzz_image_id.c - libFuzzer target for the runtime imageID parser.
 *
 * iw_image_id_parse() never fails; the invariants every caller relies on:
 * raw is the input (NULL only for ""), a digest when set is a valid digest
 * string, a repo digest always carries a digest, a config ID has no
 * repository, and clearing releases everything.
 */
#include "inventory/record.h"
#include "ref/ref.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  iw_image_id id;

  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  iw_image_id_parse (&id, text);
  if (text[0] == '\0' ? (id.raw != NULL || id.kind != IW_IMAGE_ID_NONE)
                      : (id.raw == NULL || strcmp (id.raw, text) != 0))
    abort ();
  if (id.digest && iw_digest_validate (id.digest, NULL) < 0)
    abort ();
  if (id.kind == IW_IMAGE_ID_REPO_DIGEST && id.digest == NULL)
    abort ();
  if (id.kind == IW_IMAGE_ID_CONFIG && (id.repository != NULL || id.digest == NULL))
    abort ();
  iw_image_id_clear (&id);
  /* The pull-policy default reads the same kind of text. */
  (void)iw_pull_policy_default (text);
  free (text);
  return 0;
}
