/*
 * fuzz_ref.c - libFuzzer target for the image reference parser.
 *
 * Parses the input as a reference (up to its first NUL byte).  When it is
 * valid, checks the invariants every caller relies on: the canonical form
 * is fully qualified and parses back to the same reference, the familiar
 * form names the same reference, the parts obey the grammar's limits, and
 * a digest in it passes iw_digest_validate().  When it is invalid, the
 * error must be an IW_EPARSE with a message in the documented form.  And
 * the parser must accept exactly what an independent model of Docker's
 * grammar (ref_oracle.h: Docker's normalization plus its regular
 * expressions) accepts.
 */
#include "ref/ref.h"
#include "util/error.h"

#include "ref_oracle.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_valid (const iw_ref *r)
{
  iw_ref *again = NULL, *fam = NULL;
  iw_error *err = NULL;
  char *s = iw_ref_string (r);
  char *f = iw_ref_familiar (r);
  char *name = iw_ref_name (r);

  if (r->domain == NULL || r->path == NULL || r->domain[0] == '\0' || strlen (r->path) > IW_REF_NAME_MAX)
    abort ();
  if (r->tag && (r->tag[0] == '\0' || strlen (r->tag) > 128))
    abort ();
  if (r->digest && iw_digest_validate (r->digest, NULL) < 0)
    abort ();
  if (iw_ref_parse_canonical (&again, s, &err) < 0 || !iw_ref_equal (r, again))
    abort ();
  if (iw_ref_parse (&fam, f, &err) < 0 || !iw_ref_equal (r, fam))
    abort ();
  if (strncmp (s, name, strlen (name)) != 0)
    abort ();
  if (iw_ref_is_implicit_latest (r) != (iw_ref_effective_tag (r) != NULL && r->tag == NULL))
    abort ();
  if (iw_ref_api_host (r) == NULL)
    abort ();
  iw_ref_free (again);
  iw_ref_free (fam);
  free (s);
  free (f);
  free (name);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  iw_ref *r = NULL;
  iw_error *err = NULL;

  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  if ((iw_ref_parse (&r, text, &err) == 0) != ref_oracle_accepts (text))
    abort ();
  if (r != NULL)
    {
      if (err != NULL)
        abort ();
      check_valid (r);
    }
  else if (iw_error_code (err) != IW_EPARSE || strncmp (iw_error_msg (err), "invalid reference \"", 19) != 0)
    abort ();
  iw_ref_free (r);
  iw_error_clear (&err);
  /* The digest validator and the image ID helpers take any string too. */
  if (iw_digest_validate (text, &err) == 0 && err != NULL)
    abort ();
  iw_error_clear (&err);
  free (iw_ref_image_id (text));
  free (text);
  return 0;
}
