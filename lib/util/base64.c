/*
 * base64.c - base64 decoding through OpenSSL's EVP_DecodeBlock.
 */
#include "util/base64.h"
#include "util/mem.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int
iw_base64_decode (char **out, size_t *len_out, const char *in, size_t len)
{
  char *clean = iw_xmalloc (len + 1);
  unsigned char *buf = NULL;
  size_t m = 0, pad = 0;
  int n, ret = -1;

  for (size_t i = 0; i < len; i++)
    if (!strchr (" \t\r\n\v\f", in[i]) || in[i] == '\0')
      clean[m++] = in[i];
  if (m % 4 != 0 || m > (size_t)3 * 1024 * 1024 * 1024 / 4)
    goto done;
  if (m && clean[m - 1] == '=')
    pad++;
  if (m > 1 && clean[m - 2] == '=')
    pad++;
  /* Padding only at the end: EVP_DecodeBlock would accept "ab=c". */
  if (memchr (clean, '=', m - pad) != NULL)
    goto done;
  buf = iw_xmalloc (m / 4 * 3 + 1);
  n = m ? EVP_DecodeBlock (buf, (const unsigned char *)clean, (int)m) : 0;
  if (n < 0 || (size_t)n < pad)
    goto done;
  n -= (int)pad;
  buf[n] = '\0';
  *out = (char *)iw_steal (&buf);
  *len_out = (size_t)n;
  ret = 0;
done:
  explicit_bzero (clean, m);
  free (clean);
  free (buf);
  return ret;
}
