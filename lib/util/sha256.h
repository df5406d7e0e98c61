/*
 * sha256.h - streaming SHA-256 through OpenSSL EVP (SHA-NI where the CPU
 * has it), and digest strings ("sha256:<64 lowercase hex>").
 */
#ifndef IW_UTIL_SHA256_H
#define IW_UTIL_SHA256_H

#include "util/error.h"

#include <stddef.h>

#define IW_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define IW_SHA256_DIGEST_STRLEN (7 + IW_SHA256_HEX_LEN + 1)

typedef struct iw_sha256 iw_sha256;

iw_sha256 *iw_sha256_new (void);
void iw_sha256_update (iw_sha256 *h, const void *p, size_t n);
/* Writes "sha256:<hex>" into out (IW_SHA256_DIGEST_STRLEN bytes) and
 * resets the context so it can be reused. */
void iw_sha256_final (iw_sha256 *h, char out[IW_SHA256_DIGEST_STRLEN]);
void iw_sha256_free (iw_sha256 *h);

/* One-shot digest of a buffer. */
void iw_sha256_buf (const void *p, size_t n, char out[IW_SHA256_DIGEST_STRLEN]);

/* Digest of everything readable from fd, with a 1 MiB buffer; *size_out
 * (if not NULL) receives the byte count. */
int iw_sha256_fd (int fd, char out[IW_SHA256_DIGEST_STRLEN], unsigned long long *size_out, iw_error **err);

#endif
