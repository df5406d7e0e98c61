/*
 * base64.h - decoding standard base64 (RFC 4648 section 4), as Kubernetes
 * and Docker store credentials and certificates.
 */
#ifndef IW_UTIL_BASE64_H
#define IW_UTIL_BASE64_H

#include <stddef.h>

/* Decode len bytes of in, ignoring ASCII white space.  On success *out is
 * a NUL-terminated buffer the caller frees (the NUL is not counted in
 * *len_out) and 0 is returned; -1 when in is not valid base64 (a length
 * that is not a multiple of 4, a bad character, misplaced padding).
 * Callers set their own error, since what the text was for makes the
 * message.  Decoded secrets should be wiped with explicit_bzero. */
int iw_base64_decode (char **out, size_t *len_out, const char *in, size_t len);

#endif
