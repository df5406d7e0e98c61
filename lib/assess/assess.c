/*
 * assess.c - building the Live Assessment: run the checks on every image,
 * attach remediations, count findings by severity, and order images by
 * risk (worst severity, then number of workloads, then reference).
 */
#include "assess/assess.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *
now_rfc3339 (void)
{
  time_t t = time (NULL);
  struct tm tm;
  char buf[32];

  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return iw_xstrdup (buf);
}

iw_assessment *
iw_assessment_new (iw_inventory *inv, const char *source)
{
  iw_assessment *a = iw_xcalloc (1, sizeof *a);

  a->inv = inv;
  a->source = iw_xstrdup (source ? source : inv->source ? inv->source : "");
  a->generated_at = now_rfc3339 ();
  a->n_images = inv->n_images;
  a->images = iw_xcalloc (inv->n_images ? inv->n_images : 1, sizeof *a->images);
  for (size_t i = 0; i < inv->n_images; i++)
    a->images[i].inv = &inv->images[i];
  return a;
}

void
iw_assessment_free (iw_assessment *a)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->n_images; i++)
    {
      iw_assess_image *ai = &a->images[i];

      if (ai->facts.running)
        for (size_t j = 0; j < ai->inv->n_running; j++)
          free (ai->facts.running[j].error_msg);
      free (ai->facts.running);
      iw_reg_facts_clear (&ai->facts);
      iw_findings_clear (&ai->findings);
    }
  free (a->images);
  iw_findings_clear (&a->global);
  iw_inventory_free (a->inv);
  free (a->source);
  free (a->generated_at);
  free (a);
}

static int
cmp_workload_ptr (const void *pa, const void *pb)
{
  const iw_inv_workload *a = *(const iw_inv_workload *const *)pa, *b = *(const iw_inv_workload *const *)pb;
  int c = strcmp (a->namespace_ ? a->namespace_ : "", b->namespace_ ? b->namespace_ : "");

  if (c == 0)
    c = strcmp (a->kind, b->kind);
  if (c == 0)
    c = strcmp (a->name ? a->name : "", b->name ? b->name : "");
  return c;
}

/* Distinct namespace/kind/name among an image's workloads (its containers
 * are separate workloads in the inventory); O(n log n). */
static size_t
count_workloads (const iw_inv_image *img)
{
  const iw_inv_workload **ws;
  size_t n = 0;

  if (img->n_workloads < 2)
    return img->n_workloads;
  ws = iw_xcalloc (img->n_workloads, sizeof *ws);
  for (size_t i = 0; i < img->n_workloads; i++)
    ws[i] = &img->workloads[i];
  qsort (ws, img->n_workloads, sizeof *ws, cmp_workload_ptr);
  for (size_t i = 0; i < img->n_workloads; i++)
    n += i == 0 || cmp_workload_ptr (&ws[i - 1], &ws[i]) != 0;
  free (ws);
  return n;
}

static int
cmp_image (const void *pa, const void *pb)
{
  const iw_assess_image *a = pa, *b = pb;
  bool fa = a->findings.len > 0, fb = b->findings.len > 0;

  if (fa != fb)
    return fa ? -1 : 1;
  if (fa && a->severity != b->severity)
    return a->severity > b->severity ? -1 : 1;
  if (fa && a->n_workloads != b->n_workloads)
    return a->n_workloads > b->n_workloads ? -1 : 1;
  return strcmp (a->inv->key, b->inv->key);
}

/* Within an image: worst first, then by check, keeping the checks' order. */
static int
cmp_finding (const void *pa, const void *pb)
{
  const iw_finding *a = pa, *b = pb;

  if (a->severity != b->severity)
    return a->severity > b->severity ? -1 : 1;
  if (a->check != b->check)
    return (int)a->check - (int)b->check;
  return (a->running > b->running) - (a->running < b->running);
}

void
iw_assess_evaluate (iw_assessment *a, const iw_check_ctx *ctx)
{
  memset (a->counts, 0, sizeof a->counts);
  iw_findings_clear (&a->global);
  a->n_flagged = 0;
  if (iw_check_trust_unconfigured (ctx))
    {
      iw_findings_add (&a->global, ctx, NULL, IW_CHECK_UNTRUSTED_REGISTRY, IW_SEV_INFO, NULL, 0, -1,
                       iw_xstrdup (iw_check_trust_unconfigured_message ()));
      /* The info finding says the check is off: an override must not make
         it look like a violation. */
      for (size_t i = 0; i < a->global.len; i++)
        {
          a->global.items[i].severity = IW_SEV_INFO;
          a->global.items[i].remediation
              = iw_xstrdup ("List the registries you trust in the config, e.g.\n"
                            "trustedRegistries: [\"registry.example.com\", \"docker.io/library/*\"]\n"
                            "and run imgwatch assess --config FILE");
          a->counts[IW_SEV_INFO]++;
        }
    }
  if (a->offline)
    {
      iw_findings_add (&a->global, ctx, NULL, IW_CHECK_UNVERIFIED, IW_SEV_INFO, NULL, 0, -1,
                       iw_xstrdup ("offline: no registry was asked, so no running digest was verified"));
      a->global.items[a->global.len - 1].severity = IW_SEV_INFO;
      a->global.items[a->global.len - 1].remediation = iw_xstrdup ("Run imgwatch assess without --offline");
      a->counts[IW_SEV_INFO]++;
    }
  for (size_t i = 0; i < a->n_images; i++)
    {
      iw_assess_image *ai = &a->images[i];

      iw_findings_clear (&ai->findings);
      iw_check_all (&ai->findings, ctx, ai->inv, ai->facts.asked ? &ai->facts : NULL);
      ai->n_workloads = count_workloads (ai->inv);
      ai->severity = IW_SEV_INFO;
      if (ai->findings.len > 1)
        qsort (ai->findings.items, ai->findings.len, sizeof *ai->findings.items, cmp_finding);
      for (size_t j = 0; j < ai->findings.len; j++)
        {
          iw_finding *f = &ai->findings.items[j];

          f->remediation = iw_assess_remediation (ai, f, ctx);
          a->counts[f->severity]++;
          if (f->severity > ai->severity)
            ai->severity = f->severity;
        }
      if (ai->findings.len)
        a->n_flagged++;
    }
  if (a->n_images > 1)
    qsort (a->images, a->n_images, sizeof *a->images, cmp_image);
}

int
iw_assessment_worst (const iw_assessment *a)
{
  for (int s = IW_SEV_CRITICAL; s >= IW_SEV_INFO; s--)
    if (a->counts[s])
      return s;
  return -1;
}

bool
iw_assessment_fails (const iw_assessment *a, iw_severity sev)
{
  int w = iw_assessment_worst (a);

  return w >= 0 && w >= (int)sev;
}

typedef struct id_pos
{
  char *id;
  size_t pos;
} id_pos;

static int
cmp_id_pos (const void *pa, const void *pb)
{
  const id_pos *a = pa, *b = pb;
  int c = strcmp (a->id, b->id);

  return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static int
cmp_pos (const void *pa, const void *pb)
{
  const id_pos *a = pa, *b = pb;

  return (a->pos > b->pos) - (a->pos < b->pos);
}

char **
iw_assess_finding_workloads (const iw_assess_image *ai, const iw_finding *f)
{
  char **out = iw_xcalloc (f->n_workloads + 1, sizeof *out);
  id_pos *ids = iw_xcalloc (f->n_workloads + 1, sizeof *ids);
  size_t n = 0;

  /* Deduplicate in O(n log n), keeping the first occurrence's order. */
  for (size_t i = 0; i < f->n_workloads; i++)
    ids[i] = (id_pos){ iw_inv_workload_id (&ai->inv->workloads[f->workloads[i]]), i };
  qsort (ids, f->n_workloads, sizeof *ids, cmp_id_pos);
  for (size_t i = 0; i < f->n_workloads; i++)
    if (n > 0 && strcmp (ids[n - 1].id, ids[i].id) == 0)
      free (ids[i].id);
    else
      ids[n++] = ids[i];
  qsort (ids, n, sizeof *ids, cmp_pos);
  for (size_t i = 0; i < n; i++)
    out[i] = ids[i].id;
  free (ids);
  return out;
}
