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

/* Distinct namespace/kind/name among an image's workloads. */
static size_t
count_workloads (const iw_inv_image *img)
{
  size_t n = 0;

  for (size_t i = 0; i < img->n_workloads; i++)
    {
      const iw_inv_workload *w = &img->workloads[i];
      bool seen = false;

      for (size_t j = 0; j < i && !seen; j++)
        {
          const iw_inv_workload *v = &img->workloads[j];

          seen = strcmp (w->kind, v->kind) == 0
                 && strcmp (w->name ? w->name : "", v->name ? v->name : "") == 0
                 && strcmp (w->namespace_ ? w->namespace_ : "", v->namespace_ ? v->namespace_ : "") == 0;
        }
      n += !seen;
    }
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

char **
iw_assess_finding_workloads (const iw_assess_image *ai, const iw_finding *f)
{
  char **out = iw_xcalloc (f->n_workloads + 1, sizeof *out);
  size_t n = 0;

  for (size_t i = 0; i < f->n_workloads; i++)
    {
      char *id = iw_inv_workload_id (&ai->inv->workloads[f->workloads[i]]);
      bool dup = false;

      for (size_t j = 0; j < n && !dup; j++)
        dup = strcmp (out[j], id) == 0;
      if (dup)
        free (id);
      else
        out[n++] = id;
    }
  return out;
}
