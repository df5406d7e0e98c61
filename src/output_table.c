/*
 * output_table.c - the Live Assessment for people: one row per image with
 * findings, riskiest first (SEVERITY, IMAGE, RUNNING, EXPECTED,
 * WORKLOADS, FINDINGS), then each image's findings with their workloads
 * and fixes, then a summary line.  Severities are coloured unless colour
 * is off (NO_COLOR, or not a terminal).  --wide shows whole digests and
 * workload names instead of counts.
 */
#include "assess_output.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#define NCOLS 6
#define IMAGE_MAX 60 /* narrow mode: longer references are cut with "..." */

static const char *const headers[NCOLS]
    = { "SEVERITY", "IMAGE", "RUNNING", "EXPECTED", "WORKLOADS", "FINDINGS" };

static const char *
color_of (iw_severity s)
{
  switch (s)
    {
    case IW_SEV_CRITICAL:
      return "\033[1;31m";
    case IW_SEV_HIGH:
      return "\033[31m";
    case IW_SEV_MEDIUM:
      return "\033[33m";
    case IW_SEV_LOW:
      return "\033[36m";
    default:
      return "\033[2m";
    }
}

char *
iw_output_short_digest (const char *digest)
{
  const char *hex = strchr (digest, ':');

  hex = hex ? hex + 1 : digest;
  return iw_xstrndup (hex, 12);
}

static char *
digest_cell (const char *digest, bool wide)
{
  return wide ? iw_xstrdup (digest) : iw_output_short_digest (digest);
}

static char *
running_cell (const iw_inv_image *img, bool wide)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);
  size_t shown = 0;

  for (size_t i = 0; i < img->n_running; i++)
    {
      const iw_inv_running *r = &img->running[i];
      char *d;

      if (!wide && shown == 2)
        {
          iw_buf_printf (&b, NULL, ",+%zu", img->n_running - i);
          break;
        }
      d = r->digest ? digest_cell (r->digest, wide) : iw_xstrdup ("?");
      iw_buf_printf (&b, NULL, "%s%s%s", shown ? "," : "", r->kind == IW_IMAGE_ID_CONFIG ? "config:" : "", d);
      free (d);
      shown++;
    }
  if (shown == 0)
    iw_buf_appends (&b, "-", NULL);
  return iw_buf_take (&b);
}

static char *
expected_cell (const iw_assess_image *ai, bool wide)
{
  const iw_reg_facts *f = &ai->facts;

  if (!f->asked)
    return iw_xstrdup (ai->inv->ref ? "(not asked)" : "-");
  if (f->expected)
    return digest_cell (f->expected, wide);
  if (f->error == IW_ENOTFOUND)
    return iw_xstrdup ("(not found)");
  return iw_xasprintf ("(%s)", iw_code_name (f->error));
}

static char *
workloads_cell (const iw_assess_image *ai, bool wide)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);
  iw_finding all = { 0 };
  char **ids;

  if (!wide)
    return iw_xasprintf ("%zu", ai->n_workloads);
  all.workloads = iw_xcalloc (ai->inv->n_workloads + 1, sizeof *all.workloads);
  all.n_workloads = ai->inv->n_workloads;
  for (size_t i = 0; i < all.n_workloads; i++)
    all.workloads[i] = i;
  ids = iw_assess_finding_workloads (ai, &all);
  for (size_t i = 0; ids[i]; i++)
    {
      iw_buf_printf (&b, NULL, "%s%s", i ? "," : "", ids[i]);
      free (ids[i]);
    }
  free (ids);
  free (all.workloads);
  return iw_buf_take (&b);
}

static char *
findings_cell (const iw_assess_image *ai)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);

  for (size_t i = 0; i < ai->findings.len; i++)
    {
      const char *name = iw_check_name (ai->findings.items[i].check);
      bool dup = false;

      for (size_t j = 0; j < i && !dup; j++)
        dup = ai->findings.items[j].check == ai->findings.items[i].check;
      if (!dup)
        iw_buf_printf (&b, NULL, "%s%s", b.len ? ", " : "", name);
    }
  return iw_buf_take (&b);
}

static char *
image_cell (const iw_inv_image *img, bool wide)
{
  size_t n = strlen (img->key);

  if (wide || n <= IMAGE_MAX)
    return iw_xstrdup (img->key);
  return iw_xasprintf ("%.*s...", IMAGE_MAX - 3, img->key);
}

static void
put_cell (FILE *f, const char *s, size_t width, const char *color, bool last)
{
  if (color)
    fputs (color, f);
  fputs (s, f);
  if (color)
    fputs ("\033[0m", f);
  if (!last)
    fprintf (f, "%*s", (int)(width - strlen (s) + 2), "");
}

/* Print text with every line after the first indented by indent spaces. */
static void
put_indented (FILE *f, const char *text, int indent)
{
  for (const char *p = text; *p; p++)
    {
      fputc (*p, f);
      if (*p == '\n')
        fprintf (f, "%*s", indent, "");
    }
  fputc ('\n', f);
}

static void
details (FILE *f, const iw_assess_image *ai, const iw_table_options *o)
{
  fputc ('\n', f);
  if (o->color)
    fprintf (f, "%s%s\033[0m  %s\n", color_of (ai->severity), iw_severity_name (ai->severity), ai->inv->key);
  else
    fprintf (f, "%s  %s\n", iw_severity_name (ai->severity), ai->inv->key);
  if (ai->facts.label_source || ai->facts.label_revision || ai->facts.label_authors)
    fprintf (f, "  lineage: %s%s%s%s%s\n", ai->facts.label_source ? ai->facts.label_source : "",
             ai->facts.label_revision ? " @ " : "", ai->facts.label_revision ? ai->facts.label_revision : "",
             ai->facts.label_authors ? ", by " : "", ai->facts.label_authors ? ai->facts.label_authors : "");
  for (size_t i = 0; i < ai->findings.len; i++)
    {
      const iw_finding *fd = &ai->findings.items[i];
      char **ws = iw_assess_finding_workloads (ai, fd);

      fprintf (f, "  %s%s%s (%s): ", o->color ? color_of (fd->severity) : "", iw_check_name (fd->check),
               o->color ? "\033[0m" : "", iw_severity_name (fd->severity));
      put_indented (f, fd->message, 4);
      fputs ("    workloads:", f);
      for (size_t j = 0; ws[j]; j++)
        {
          if (o->wide || j < 5)
            fprintf (f, " %s", ws[j]);
          else if (j == 5)
            fputs (" ...", f);
          free (ws[j]);
        }
      free (ws);
      fputc ('\n', f);
      if (fd->remediation && *fd->remediation)
        {
          fputs ("    fix: ", f);
          put_indented (f, fd->remediation, 9);
        }
    }
}

int
iw_output_table (FILE *f, const iw_assessment *a, const iw_table_options *o)
{
  size_t width[NCOLS];
  char **cells = iw_xcalloc ((a->n_flagged + 1) * NCOLS, sizeof *cells);

  for (int c = 0; c < NCOLS; c++)
    width[c] = strlen (headers[c]);
  for (size_t i = 0; i < a->n_flagged; i++)
    {
      const iw_assess_image *ai = &a->images[i];
      char **row = cells + i * NCOLS;

      row[0] = iw_xstrdup (iw_severity_name (ai->severity));
      row[1] = image_cell (ai->inv, o->wide);
      row[2] = running_cell (ai->inv, o->wide);
      row[3] = expected_cell (ai, o->wide);
      row[4] = workloads_cell (ai, o->wide);
      row[5] = findings_cell (ai);
      for (int c = 0; c < NCOLS; c++)
        if (strlen (row[c]) > width[c])
          width[c] = strlen (row[c]);
    }
  if (a->n_flagged)
    {
      for (int c = 0; c < NCOLS; c++)
        put_cell (f, headers[c], width[c], NULL, c == NCOLS - 1);
      fputc ('\n', f);
      for (size_t i = 0; i < a->n_flagged; i++)
        {
          for (int c = 0; c < NCOLS; c++)
            put_cell (f, cells[i * NCOLS + c], width[c],
                      c == 0 && o->color ? color_of (a->images[i].severity) : NULL, c == NCOLS - 1);
          fputc ('\n', f);
        }
      for (size_t i = 0; i < a->n_flagged; i++)
        details (f, &a->images[i], o);
    }
  else
    fputs ("No image has a finding.\n", f);
  for (size_t i = 0; i < (a->n_flagged + 1) * NCOLS; i++)
    free (cells[i]);
  free (cells);
  for (size_t i = 0; i < a->global.len; i++)
    fprintf (f, "\n%s: %s\n", iw_severity_name (a->global.items[i].severity), a->global.items[i].message);
  fprintf (
      f,
      "\n%zu image%s (%zu with findings, %zu clean), %zu container%s: %zu critical, %zu high, %zu medium, "
      "%zu low, %zu info\n",
      a->n_images, a->n_images == 1 ? "" : "s", a->n_flagged, a->n_images - a->n_flagged, a->inv->containers,
      a->inv->containers == 1 ? "" : "s", a->counts[IW_SEV_CRITICAL], a->counts[IW_SEV_HIGH],
      a->counts[IW_SEV_MEDIUM], a->counts[IW_SEV_LOW], a->counts[IW_SEV_INFO]);
  return ferror (f) ? -1 : 0;
}
