/*
 * fuzz_pin.c - feed arbitrary bytes to the image-field locator, then pin
 * every site it finds and check the invariants: sites lie inside the text,
 * in order, without overlap; the rewrite parses back with the same sites
 * and the new values (iw_pin_apply() checks that itself, so any
 * IW_EINTEGRITY here is a bug); the bytes around the changes never
 * change; the diff is empty exactly when the text does not change.
 */
#include "kube/pin.h"
#include "util/mem.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  iw_pin_site *sites = NULL;
  iw_error *err = NULL;
  char **values = NULL;
  char *out = NULL, *diff = NULL;
  size_t n = 0, out_len = 0;

  if (iw_pin_locate (&sites, &n, text, size, "fuzz.yaml", &err) < 0)
    {
      /* Every failure explains itself. */
      if (iw_error_msg (err)[0] == '\0')
        __builtin_trap ();
      iw_error_free (err);
      return 0;
    }
  values = iw_xcalloc (n ? n : 1, sizeof *values);
  for (size_t i = 0; i < n; i++)
    {
      if (sites[i].start >= sites[i].end || sites[i].end > size
          || (i > 0 && sites[i].start < sites[i - 1].end))
        __builtin_trap ();
      if (sites[i].value[0] == '\0' || sites[i].line == 0 || sites[i].col == 0)
        __builtin_trap ();
      /* Pin every other site; the rest stay as they are. */
      if (i % 2 == 0)
        values[i] = iw_xasprintf ("%s" DIGEST, sites[i].value);
    }
  if (iw_pin_apply (&out, &out_len, text, size, "fuzz.yaml", sites, (const char *const *)values, n, &err) < 0)
    {
      if (iw_error_code (err) == IW_EINTEGRITY)
        __builtin_trap ();
      iw_error_free (err);
      err = NULL;
    }
  else
    {
      /* The bytes before the first change and after the last one are
       * copied unchanged. */
      size_t first = SIZE_MAX, last = 0;

      for (size_t i = 0; i < n; i++)
        if (values[i] != NULL && strcmp (values[i], sites[i].value) != 0)
          {
            if (first == SIZE_MAX)
              first = sites[i].start;
            last = sites[i].end;
          }
      if (first != SIZE_MAX)
        {
          if (out_len < first + (size - last) || memcmp (out, text, first) != 0
              || memcmp (out + out_len - (size - last), text + last, size - last) != 0)
            __builtin_trap ();
        }
      else if (out_len != size || memcmp (out, text, size) != 0)
        __builtin_trap ();
      if (iw_pin_diff (&diff, text, size, "fuzz.yaml", sites, (const char *const *)values, n, &err) < 0)
        __builtin_trap ();
      if ((diff[0] == '\0') != (out_len == size && memcmp (out, text, size) == 0))
        __builtin_trap ();
    }
  for (size_t i = 0; i < n; i++)
    free (values[i]);
  free (values);
  free (out);
  free (diff);
  iw_pin_sites_free (sites, n);
  return 0;
}
