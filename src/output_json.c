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
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

static void
print_cb (void *ctx, const char *s, size_t len)
{
  fwrite (s, 1, len, ctx);
}

/* Bytes of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len (const unsigned char *s)
{
  size_t n;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4;
  else
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) || (s[0] == 0xf0 && s[1] < 0x90)
      || (s[0] == 0xf4 && s[1] > 0x8f))
    return 0;
  return n;
}

void
iw_json_gen_str (yajl_gen g, const char *s)
{
  size_t len;
  char *clean;

  if (s == NULL)
    {
      yajl_gen_null (g);
      return;
    }
  len = strlen (s);
  clean = iw_xmalloc (len + 1);
  for (size_t i = 0; i < len;)
    {
      size_t n = utf8_len ((const unsigned char *)s + i);

      if (n == 0)
        {
          clean[i++] = '?';
          continue;
        }
      memcpy (clean + i, s + i, n);
      i += n;
    }
  clean[len] = '\0';
  yajl_gen_string (g, (const unsigned char *)clean, len);
  free (clean);
}

static void
key (yajl_gen g, const char *k)
{
  yajl_gen_string (g, (const unsigned char *)k, strlen (k));
}

static void
kv (yajl_gen g, const char *k, const char *v)
{
  key (g, k);
  iw_json_gen_str (g, v);
}

static void
kv_int (yajl_gen g, const char *k, long long v)
{
  key (g, k);
  yajl_gen_integer (g, v);
}

static void
finding (yajl_gen g, const iw_assess_image *ai, const iw_finding *f)
{
  yajl_gen_map_open (g);
  kv (g, "check", iw_check_name (f->check));
  kv (g, "severity", iw_severity_name (f->severity));
  kv (g, "message", f->message);
  kv (g, "remediation", f->remediation);
  key (g, "workloads");
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
  kv (g, "reference", img->key);
  kv (g, "registry", img->ref ? img->ref->domain : NULL);
  kv (g, "repository", img->ref ? img->ref->path : NULL);
  kv (g, "tag", img->ref ? img->ref->tag : NULL);
  kv (g, "digest", img->ref ? img->ref->digest : NULL);
  key (g, "runningDigests");
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
  kv (g, "registryDigest", facts->asked ? facts->expected : NULL);
  kv (g, "severity", iw_severity_name (ai->severity));
  key (g, "findings");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < ai->findings.len; i++)
    finding (g, ai, &ai->findings.items[i]);
  yajl_gen_array_close (g);
  key (g, "workloads");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < img->n_workloads; i++)
    {
      const iw_inv_workload *w = &img->workloads[i];

      yajl_gen_map_open (g);
      kv (g, "namespace", w->namespace_);
      kv (g, "kind", w->kind);
      kv (g, "name", w->name);
      kv (g, "container", w->container);
      kv (g, "containerType",
          w->container_type == IW_CONTAINER_INIT        ? "init"
          : w->container_type == IW_CONTAINER_EPHEMERAL ? "ephemeral"
                                                        : "app");
      kv_int (g, "pods", (long long)w->pods);
      key (g, "nodes");
      yajl_gen_array_open (g);
      for (size_t j = 0; j < w->n_nodes; j++)
        iw_json_gen_str (g, w->nodes[j]);
      yajl_gen_array_close (g);
      kv (g, "imagePullPolicy", iw_pull_policy_name (w->pull_policy));
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  key (g, "source");
  yajl_gen_map_open (g);
  kv (g, "url", facts->label_source);
  kv (g, "revision", facts->label_revision);
  kv (g, "authors", facts->label_authors);
  kv (g, "created", facts->label_created);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
}

int
iw_output_json (FILE *f, const iw_assessment *a)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  static const char *const sev_keys[IW_SEV_COUNT] = { "info", "low", "medium", "high", "critical" };

  yajl_gen_config (g, yajl_gen_print_callback, print_cb, f);
  yajl_gen_map_open (g);
  kv (g, "apiVersion", "imgwatch/v1");
  kv (g, "kind", "Assessment");
  kv (g, "generatedAt", a->generated_at);
  kv (g, "source", a->source);
  key (g, "summary");
  yajl_gen_map_open (g);
  kv_int (g, "images", (long long)a->n_images);
  kv_int (g, "containers", (long long)a->inv->containers);
  for (int s = IW_SEV_CRITICAL; s >= IW_SEV_INFO; s--)
    kv_int (g, sev_keys[s], (long long)a->counts[s]);
  yajl_gen_map_close (g);
  key (g, "findings");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < a->global.len; i++)
    finding (g, NULL, &a->global.items[i]);
  yajl_gen_array_close (g);
  key (g, "images");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < a->n_flagged; i++)
    image (g, &a->images[i]);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_free (g);
  fputc ('\n', f);
  return ferror (f) ? -1 : 0;
}
