/*
 * metrics.c - the Prometheus registry (see metrics.h).  Families and
 * series are kept in small arrays searched linearly: a daemon has a few
 * dozen series, and rendering walks them all anyway.
 */
#include "server/metrics.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series
{
  char *labels;
  double value; /* counter/gauge; histogram sum */
  unsigned long long count;
  unsigned long long *buckets; /* cumulative, n_bounds */
} series;

typedef struct family
{
  char *name;
  char *help;
  iw_metric_type type;
  double *bounds;
  size_t n_bounds;
  series *s;
  size_t n, cap;
} family;

struct iw_metrics
{
  pthread_mutex_t lock;
  family *f;
  size_t n, cap;
};

iw_metrics *
iw_metrics_new (void)
{
  iw_metrics *m = iw_xcalloc (1, sizeof *m);

  pthread_mutex_init (&m->lock, NULL);
  return m;
}

static void
series_clear (series *s)
{
  free (s->labels);
  free (s->buckets);
}

void
iw_metrics_free (iw_metrics *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n; i++)
    {
      for (size_t j = 0; j < m->f[i].n; j++)
        series_clear (&m->f[i].s[j]);
      free (m->f[i].s);
      free (m->f[i].name);
      free (m->f[i].help);
      free (m->f[i].bounds);
    }
  free (m->f);
  pthread_mutex_destroy (&m->lock);
  free (m);
}

static family *
find_family (iw_metrics *m, const char *name)
{
  for (size_t i = 0; i < m->n; i++)
    if (strcmp (m->f[i].name, name) == 0)
      return &m->f[i];
  return NULL;
}

void
iw_metrics_declare (iw_metrics *m, const char *name, iw_metric_type type, const char *help,
                    const double *bounds, size_t n_bounds)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  if (find_family (m, name) == NULL)
    {
      if (m->n == m->cap)
        {
          m->cap = m->cap ? m->cap * 2 : 16;
          m->f = iw_xreallocarray (m->f, m->cap, sizeof *m->f);
        }
      f = &m->f[m->n++];
      memset (f, 0, sizeof *f);
      f->name = iw_xstrdup (name);
      f->help = iw_xstrdup (help);
      f->type = type;
      if (type == IW_METRIC_HISTOGRAM && n_bounds)
        {
          f->bounds = iw_xreallocarray (NULL, n_bounds, sizeof *f->bounds);
          memcpy (f->bounds, bounds, n_bounds * sizeof *bounds);
          f->n_bounds = n_bounds;
        }
    }
  pthread_mutex_unlock (&m->lock);
}

/* The series of family f with these labels, created when missing. */
static series *
get_series (family *f, const char *labels)
{
  series *s;

  if (labels == NULL)
    labels = "";
  for (size_t i = 0; i < f->n; i++)
    if (strcmp (f->s[i].labels, labels) == 0)
      return &f->s[i];
  if (f->n == f->cap)
    {
      f->cap = f->cap ? f->cap * 2 : 8;
      f->s = iw_xreallocarray (f->s, f->cap, sizeof *f->s);
    }
  s = &f->s[f->n++];
  memset (s, 0, sizeof *s);
  s->labels = iw_xstrdup (labels);
  if (f->type == IW_METRIC_HISTOGRAM)
    s->buckets = iw_xcalloc (f->n_bounds ? f->n_bounds : 1, sizeof *s->buckets);
  return s;
}

void
iw_metrics_add (iw_metrics *m, const char *name, const char *labels, double v)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f && f->type != IW_METRIC_HISTOGRAM)
    get_series (f, labels)->value += v;
  pthread_mutex_unlock (&m->lock);
}

void
iw_metrics_set (iw_metrics *m, const char *name, const char *labels, double v)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f && f->type != IW_METRIC_HISTOGRAM)
    get_series (f, labels)->value = v;
  pthread_mutex_unlock (&m->lock);
}

void
iw_metrics_clear (iw_metrics *m, const char *name)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f)
    {
      for (size_t j = 0; j < f->n; j++)
        series_clear (&f->s[j]);
      f->n = 0;
    }
  pthread_mutex_unlock (&m->lock);
}

void
iw_metrics_observe (iw_metrics *m, const char *name, const char *labels, double v)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f && f->type == IW_METRIC_HISTOGRAM)
    {
      series *s = get_series (f, labels);

      for (size_t i = 0; i < f->n_bounds; i++)
        if (v <= f->bounds[i])
          s->buckets[i]++;
      s->count++;
      s->value += v;
    }
  pthread_mutex_unlock (&m->lock);
}

void
iw_metrics_set_histogram (iw_metrics *m, const char *name, const char *labels,
                          const unsigned long long *buckets, unsigned long long count, double sum)
{
  family *f;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f && f->type == IW_METRIC_HISTOGRAM)
    {
      series *s = get_series (f, labels);

      memcpy (s->buckets, buckets, f->n_bounds * sizeof *buckets);
      s->count = count;
      s->value = sum;
    }
  pthread_mutex_unlock (&m->lock);
}

double
iw_metrics_get (iw_metrics *m, const char *name, const char *labels)
{
  family *f;
  double v = 0;

  pthread_mutex_lock (&m->lock);
  f = find_family (m, name);
  if (f)
    for (size_t i = 0; i < f->n; i++)
      if (strcmp (f->s[i].labels, labels ? labels : "") == 0)
        v = f->type == IW_METRIC_HISTOGRAM ? (double)f->s[i].count : f->s[i].value;
  pthread_mutex_unlock (&m->lock);
  return v;
}

static const char *
type_name (iw_metric_type t)
{
  return t == IW_METRIC_COUNTER ? "counter" : t == IW_METRIC_GAUGE ? "gauge" : "histogram";
}

/* A sample line: name{labels[,extra]} value. */
static int
sample (iw_buf *out, const char *name, const char *suffix, const char *labels, const char *extra, double v,
        iw_error **err)
{
  bool has = labels && *labels;
  bool braces = has || extra;

  if (iw_buf_printf (out, err, "%s%s%s%s%s%s%s ", name, suffix, braces ? "{" : "", has ? labels : "",
                     has && extra ? "," : "", extra ? extra : "", braces ? "}" : "")
      < 0)
    return -1;
  if (v > 1e300 || v < -1e300)
    return iw_buf_appends (out, v > 0 ? "+Inf\n" : "-Inf\n", err);
  if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
    return iw_buf_printf (out, err, "%lld\n", (long long)v);
  return iw_buf_printf (out, err, "%.9g\n", v);
}

int
iw_metrics_render (iw_metrics *m, iw_buf *out, iw_error **err)
{
  int r = -1;

  pthread_mutex_lock (&m->lock);
  for (size_t i = 0; i < m->n; i++)
    {
      family *f = &m->f[i];

      if (iw_buf_printf (out, err, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                         type_name (f->type))
          < 0)
        goto done;
      for (size_t j = 0; j < f->n; j++)
        {
          series *s = &f->s[j];

          if (f->type != IW_METRIC_HISTOGRAM)
            {
              if (sample (out, f->name, "", s->labels, NULL, s->value, err) < 0)
                goto done;
              continue;
            }
          for (size_t b = 0; b < f->n_bounds; b++)
            {
              char le[48];

              snprintf (le, sizeof le, "le=\"%g\"", f->bounds[b]);
              if (sample (out, f->name, "_bucket", s->labels, le, (double)s->buckets[b], err) < 0)
                goto done;
            }
          if (sample (out, f->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count, err) < 0
              || sample (out, f->name, "_sum", s->labels, NULL, s->value, err) < 0
              || sample (out, f->name, "_count", s->labels, NULL, (double)s->count, err) < 0)
            goto done;
        }
    }
  r = 0;
done:
  pthread_mutex_unlock (&m->lock);
  return r;
}

char *
iw_metrics_label (const char *key, const char *value)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);

  iw_buf_printf (&b, NULL, "%s=\"", key);
  for (const char *p = value ? value : ""; *p; p++)
    {
      if (*p == '\\' || *p == '"')
        iw_buf_appendc (&b, '\\', NULL);
      if (*p == '\n')
        iw_buf_appends (&b, "\\n", NULL);
      else
        iw_buf_appendc (&b, *p, NULL);
    }
  iw_buf_appendc (&b, '"', NULL);
  return iw_buf_take (&b);
}
