/*
 * sha256.c - streaming SHA-256 with OpenSSL EVP.
 */
#include "util/sha256.h"
#include "util/mem.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iw_sha256
{
  EVP_MD_CTX *ctx;
};

iw_sha256 *
iw_sha256_new (void)
{
  iw_sha256 *h = iw_xmalloc (sizeof *h);

  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    abort ();
  return h;
}

void
iw_sha256_update (iw_sha256 *h, const void *p, size_t n)
{
  if (n && EVP_DigestUpdate (h->ctx, p, n) != 1)
    abort ();
}

void
iw_sha256_final (iw_sha256 *h, char out[IW_SHA256_DIGEST_STRLEN])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[32];
  unsigned int len = 0;

  if (EVP_DigestFinal_ex (h->ctx, md, &len) != 1 || len != 32)
    abort ();
  memcpy (out, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
  out[7 + 64] = '\0';
  if (EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    abort ();
}

void
iw_sha256_free (iw_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

void
iw_sha256_buf (const void *p, size_t n, char out[IW_SHA256_DIGEST_STRLEN])
{
  iw_sha256 *h = iw_sha256_new ();

  iw_sha256_update (h, p, n);
  iw_sha256_final (h, out);
  iw_sha256_free (h);
}

int
iw_sha256_fd (int fd, char out[IW_SHA256_DIGEST_STRLEN], unsigned long long *size_out, iw_error **err)
{
  enum
  {
    CHUNK = 1 << 20
  };
  unsigned char *chunk = iw_xmalloc (CHUNK);
  iw_sha256 *h = iw_sha256_new ();
  unsigned long long total = 0;
  int ret = -1;

  for (;;)
    {
      ssize_t n = read (fd, chunk, CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          iw_error_set (err, IW_EIO, "read: %s", strerror (errno));
          goto done;
        }
      if (n == 0)
        break;
      iw_sha256_update (h, chunk, (size_t)n);
      total += (unsigned long long)n;
    }
  iw_sha256_final (h, out);
  if (size_out)
    *size_out = total;
  ret = 0;
done:
  iw_sha256_free (h);
  free (chunk);
  return ret;
}
