/*
 * assess_output.h - the three ways `imgwatch assess` prints an assessment:
 * a table for people (output_table.c), the versioned imgwatch/v1 JSON
 * (output_json.c, schema in docs/schema/assessment-v1.schema.json) and
 * SARIF 2.1.0 for code-scanning tools (output_sarif.c).
 *
 * Each writes to f and returns 0, or -1 when writing failed (errno set).
 */
#ifndef IW_SRC_ASSESS_OUTPUT_H
#define IW_SRC_ASSESS_OUTPUT_H

#include "assess/assess.h"
#include "util/json.h"

#include <stdbool.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>

typedef struct iw_table_options
{
  bool color; /* ANSI colours (NO_COLOR unset and a terminal) */
  bool wide;  /* full digests, every workload */
} iw_table_options;

int iw_output_table (FILE *f, const iw_assessment *a, const iw_table_options *o);
int iw_output_json (FILE *f, const iw_assessment *a);
/* input_uri: the --from-file path, used as the SARIF artifact; NULL otherwise. */
int iw_output_sarif (FILE *f, const iw_assessment *a, const char *input_uri);

/* A digest shortened for the table: the 12 first hex characters ("sha256:" dropped). */
char *iw_output_short_digest (const char *digest);

#endif
