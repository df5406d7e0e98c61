/*
 * output_json.c - `imgwatch assess -o json`: the imgwatch/v1 Assessment,
 * streamed with yajl_gen (see DESIGN.md and
 * docs/schema/assessment-v1.schema.json).
 *
 *   {"apiVersion":"imgwatch/v1","kind":"Assessment","generatedAt","source",
 *    "summary":{images,containers,critical,high,medium,low,info},
 *    "findings":[assessment-wide findings, e.g. no trust policy],
 *    "images":[{reference,registry,repository,tag,runningDigests,
 *               registryDigest,severity,findings,workloads,source}]}
 *
 * "images" lists the images with findings, riskiest first; "summary.images"
 * counts every image assessed.  Strings that are not valid UTF-8 (they can
 * come from a registry's error text) have the bad bytes replaced by "?".
 */
#include "assess_output.h"
#include "util/json.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

static void
kv_int (yajl_gen g, const char *k, long long v)
{
  iw_json_gen_key (g, k);
  yajl_gen_integer (g, v);
}

static void
finding (yajl_gen g, const iw_assess_image *ai, const iw_finding *f)
{
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "check", iw_check_name (f->check));
  iw_json_gen_kv (g, "severity", iw_severity_name (f->severity));
  iw_json_gen_kv (g, "message", f->message);
  iw_json_gen_kv (g, "remediation", f->remediation);
  iw_json_gen_key (g, "workloads");
  yajl_gen_array_open (g);
  if (ai)
    {
      char **ws = iw_assess_finding_workloads (ai, f);

      for (size_t i = 0; ws[i]; i++)
        {
          iw_json_gen_str (g, ws[i]);
          free (ws[i]);
        }
      free (ws);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
}

static void
image (yajl_gen g, const iw_assess_image *ai)
{
  const iw_inv_image *img = ai->inv;
  const iw_reg_facts *facts = &ai->facts;

  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "reference", img->key);
  iw_json_gen_kv (g, "registry", img->ref ? img->ref->domain : NULL);
  iw_json_gen_kv (g, "repository", img->ref ? img->ref->path : NULL);
  iw_json_gen_kv (g, "tag", img->ref ? img->ref->tag : NULL);
  iw_json_gen_kv (g, "digest", img->ref ? img->ref->digest : NULL);
  iw_json_gen_key (g, "runningDigests");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < img->n_running; i++)
    {
      bool seen = img->running[i].digest == NULL;

      for (size_t j = 0; j < i && !seen; j++)
        seen = img->running[j].digest && strcmp (img->running[j].digest, img->running[i].digest) == 0;
      if (!seen)
        iw_json_gen_str (g, img->running[i].digest);
    }
  yajl_gen_array_close (g);
  iw_json_gen_kv (g, "registryDigest", facts->asked ? facts->expected : NULL);
  iw_json_gen_kv (g, "severity", iw_severity_name (ai->severity));
  iw_json_gen_key (g, "findings");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < ai->findings.len; i++)
    finding (g, ai, &ai->findings.items[i]);
  yajl_gen_array_close (g);
  iw_json_gen_key (g, "workloads");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < img->n_workloads; i++)
    {
      const iw_inv_workload *w = &img->workloads[i];

      yajl_gen_map_open (g);
      iw_json_gen_kv (g, "namespace", w->namespace_);
      iw_json_gen_kv (g, "kind", w->kind);
      iw_json_gen_kv (g, "name", w->name);
      iw_json_gen_kv (g, "container", w->container);
      iw_json_gen_kv (g, "containerType",
                      w->container_type == IW_CONTAINER_INIT        ? "init"
                      : w->container_type == IW_CONTAINER_EPHEMERAL ? "ephemeral"
                                                                    : "app");
      kv_int (g, "pods", (long long)w->pods);
      iw_json_gen_key (g, "nodes");
      yajl_gen_array_open (g);
      for (size_t j = 0; j < w->n_nodes; j++)
        iw_json_gen_str (g, w->nodes[j]);
      yajl_gen_array_close (g);
      iw_json_gen_kv (g, "imagePullPolicy", iw_pull_policy_name (w->pull_policy));
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  iw_json_gen_key (g, "source");
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "url", facts->label_source);
  iw_json_gen_kv (g, "revision", facts->label_revision);
  iw_json_gen_kv (g, "authors", facts->label_authors);
  iw_json_gen_kv (g, "created", facts->label_created);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
}

int
iw_output_json (FILE *f, const iw_assessment *a)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  static const char *const sev_keys[IW_SEV_COUNT] = { "info", "low", "medium", "high", "critical" };

  yajl_gen_config (g, yajl_gen_print_callback, iw_json_print_file, f);
  yajl_gen_map_open (g);
  iw_json_gen_kv (g, "apiVersion", "imgwatch/v1");
  iw_json_gen_kv (g, "kind", "Assessment");
  iw_json_gen_kv (g, "generatedAt", a->generated_at);
  iw_json_gen_kv (g, "source", a->source);
  iw_json_gen_key (g, "summary");
  yajl_gen_map_open (g);
  kv_int (g, "images", (long long)a->n_images);
  kv_int (g, "containers", (long long)a->inv->containers);
  for (int s = IW_SEV_CRITICAL; s >= IW_SEV_INFO; s--)
    kv_int (g, sev_keys[s], (long long)a->counts[s]);
  yajl_gen_map_close (g);
  iw_json_gen_key (g, "findings");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < a->global.len; i++)
    finding (g, NULL, &a->global.items[i]);
  yajl_gen_array_close (g);
  iw_json_gen_key (g, "images");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < a->n_flagged; i++)
    image (g, &a->images[i]);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_free (g);
  fputc ('\n', f);
  return ferror (f) ? -1 : 0;
}
