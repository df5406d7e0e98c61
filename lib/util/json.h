/*
 * json.h - small JSON helpers shared by the output writers.
 *
 * Big documents are streamed with yajl and small ones parsed with jansson
 * (JSON_REJECT_DUPLICATES); this file holds only what both sides need.
 */
#ifndef IW_UTIL_JSON_H
#define IW_UTIL_JSON_H

#include "util/buf.h"

#include <stdio.h>
#include <yajl/yajl_gen.h>

/* A JSON string literal for s (with the quotes), escaping control
 * characters and invalid UTF-8 bytes as \uFFFD; caller frees. */
char *iw_json_quote (const char *s);

/* Append the quoted literal to b. */
int iw_json_append_quoted (iw_buf *b, const char *s, iw_error **err);

/* Length of the valid UTF-8 sequence starting at s (1 to 4), or 0 when
 * the bytes there are not one (overlong forms and surrogates included). */
size_t iw_utf8_len (const unsigned char *s);

/* yajl_gen helpers for the output writers.  iw_json_gen_str writes null
 * for NULL and replaces bytes that are not valid UTF-8 with '?' (a
 * registry's error text can hold anything), so a generator with UTF-8
 * validation never fails half-way through a document. */
void iw_json_gen_str (yajl_gen g, const char *s);
void iw_json_gen_key (yajl_gen g, const char *key);
void iw_json_gen_kv (yajl_gen g, const char *key, const char *value);

/* A yajl_print_t writing to the FILE * given as ctx. */
void iw_json_print_file (void *file, const char *s, size_t len);

#endif
