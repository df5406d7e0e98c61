/*
 * output_sarif.c - `imgwatch assess -o sarif`: SARIF 2.1.0 for code
 * scanning.  One run; the driver lists one rule per check (id = the check
 * name); each finding is one result whose locations are its workloads
 * (logical locations "namespace/Kind/name", and the input file as the
 * physical artifact when the assessment came from --from-file).
 *
 * Levels: critical and high are "error", medium "warning", low and info
 * "note"; the imgwatch severity itself is in properties.severity and, as
 * GitHub reads it, properties."security-severity" on the rules.
 */
#include "assess_output.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static void
text (yajl_gen g, const char *k, const char *v)
{
  iw_json_gen_key (g, k);
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "text", v);
  yajl_gen_map_close (g);
}

static const char *
level (iw_severity s)
{
  switch (s)
    {
    case IW_SEV_CRITICAL:
    case IW_SEV_HIGH:
      return "error";
    case IW_SEV_MEDIUM:
      return "warning";
    default:
      return "note";
    }
}

/* GitHub's numeric "security-severity" for a rule's default severity. */
static const char *
security_severity (iw_severity s)
{
  static const char *const v[IW_SEV_COUNT] = { "0.0", "3.0", "5.0", "8.0", "9.5" };

  return v[s];
}

static void
rules (yajl_gen g)
{
  iw_json_gen_key (g, "rules");
  yajl_gen_array_open (g);
  for (int c = 0; c < IW_CHECK_COUNT; c++)
    {
      iw_severity s = iw_check_default_severity ((iw_check_id)c);

      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "id", iw_check_name ((iw_check_id)c));
      iw_json_gen_kv (g, "name", iw_check_name ((iw_check_id)c));
      text (g, "shortDescription", iw_check_name ((iw_check_id)c));
      text (g, "fullDescription", iw_check_description ((iw_check_id)c));
      iw_json_gen_key (g, "defaultConfiguration");
      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "level", level (s));
      yajl_gen_map_close (g);
      iw_json_gen_key (g, "properties");
      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "security-severity", security_severity (s));
      iw_json_gen_key (g, "tags");
      yajl_gen_array_open (g);
      iw_json_gen_str (g, "security");
      iw_json_gen_str (g, "supply-chain");
      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void
result (yajl_gen g, const iw_assess_image *ai, const iw_finding *f, const char *input_uri)
{
  char *msg = ai ? iw_xasprintf ("%s: %s", ai->inv->key, f->message) : iw_xstrdup (f->message);

  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "ruleId", iw_check_name (f->check));
  iw_json_gen_key (g, "ruleIndex");
  yajl_gen_integer (g, (long long)f->check);
  iw_json_gen_kv (g, "level", level (f->severity));
  text (g, "message", msg);
  free (msg);
  iw_json_gen_key (g, "locations");
  yajl_gen_array_open (g);
  if (ai)
    {
      char **ws = iw_assess_finding_workloads (ai, f);

      for (size_t i = 0; ws[i]; i++)
        {
          yajl_gen_map_open (g);
          if (input_uri)
            {
              iw_json_gen_key (g, "physicalLocation");
              yajl_gen_map_open (g);
              iw_json_gen_key (g, "artifactLocation");
              yajl_gen_map_open (g);
              iw_json_gen_kv (g, "uri", input_uri);
              yajl_gen_map_close (g);
              yajl_gen_map_close (g);
            }
          iw_json_gen_key (g, "logicalLocations");
          yajl_gen_array_open (g);
          yajl_gen_map_open (g);
          iw_json_gen_kv (g, "name", strrchr (ws[i], '/') ? strrchr (ws[i], '/') + 1 : ws[i]);
          iw_json_gen_kv (g, "fullyQualifiedName", ws[i]);
          iw_json_gen_kv (g, "kind", "resource");
          yajl_gen_map_close (g);
          yajl_gen_array_close (g);
          yajl_gen_map_close (g);
          free (ws[i]);
        }
      free (ws);
    }
  yajl_gen_array_close (g);
  iw_json_gen_key (g, "properties");
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "severity", iw_severity_name (f->severity));
  iw_json_gen_kv (g, "image", ai ? ai->inv->key : NULL);
  iw_json_gen_kv (g, "remediation", f->remediation);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
}

int
iw_output_sarif (FILE *f, const iw_assessment *a, const char *input_uri)
{
  yajl_gen g = yajl_gen_alloc (NULL);

  yajl_gen_config (g, yajl_gen_print_callback, iw_json_print_file, f);
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
  iw_json_gen_kv (g, "version", "2.1.0");
  iw_json_gen_key (g, "runs");
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  iw_json_gen_key (g, "tool");
  yajl_gen_map_open (g);
  iw_json_gen_key (g, "driver");
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "name", "imgwatch");
  iw_json_gen_kv (g, "version", IW_VERSION);
  rules (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  iw_json_gen_key (g, "invocations");
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  iw_json_gen_key (g, "executionSuccessful");
  yajl_gen_bool (g, 1);
  iw_json_gen_kv (g, "endTimeUtc", a->generated_at);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  iw_json_gen_key (g, "results");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < a->global.len; i++)
    result (g, NULL, &a->global.items[i], NULL);
  for (size_t i = 0; i < a->n_flagged; i++)
    for (size_t j = 0; j < a->images[i].findings.len; j++)
      result (g, &a->images[i], &a->images[i].findings.items[j], input_uri);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_free (g);
  fputc ('\n', f);
  return ferror (f) ? -1 : 0;
}
