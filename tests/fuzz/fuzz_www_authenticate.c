/*
 * fuzz_www_authenticate.c - WWW-Authenticate challenges and token replies.
 *
 * The input is split at the first NUL: before it a header value, after it
 * a token endpoint's JSON body.
 */
#include "registry/internal.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, 0, size);
  size_t hlen = nul ? (size_t)(nul - data) : size;
  char *header = iw_xstrndup ((const char *)data, hlen);
  iw_auth_challenges c;
  iw_error *err = NULL;

  if (iw_auth_challenges_parse (&c, header, &err) == 0)
    {
      const iw_auth_challenge *b = iw_auth_challenges_find (&c, "bearer");

      if (b)
        (void)iw_auth_challenge_param (b, "realm");
      iw_auth_challenges_clear (&c);
    }
  iw_error_clear (&err);
  (void)iw_auth_host_is_loopback (header);
  if (nul)
    {
      char *tok = NULL;
      long exp = 0;

      if (iw_auth_token_parse (&tok, &exp, (const char *)nul + 1, size - hlen - 1, &err) == 0)
        free (tok);
      iw_error_clear (&err);
    }
  free (header);
  return 0;
}
