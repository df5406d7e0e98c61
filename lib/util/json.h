/*
 * json.h - small JSON helpers shared by the output writers.
 *
 * Big documents are streamed with yajl and small ones parsed with jansson
 * (JSON_REJECT_DUPLICATES); this file holds only what both sides need.
 */
#ifndef IW_UTIL_JSON_H
#define IW_UTIL_JSON_H

#include "util/buf.h"

/* A JSON string literal for s (with the quotes), escaping control
 * characters and invalid UTF-8 bytes as \uFFFD; caller frees. */
char *iw_json_quote (const char *s);

/* Append the quoted literal to b. */
int iw_json_append_quoted (iw_buf *b, const char *s, iw_error **err);

#endif
