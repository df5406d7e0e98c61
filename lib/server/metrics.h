/*
 * metrics.h - a small Prometheus metrics registry: counters, gauges and
 * histograms with labels, rendered in the text exposition format 0.0.4.
 *
 *   iw_metrics_declare (m, "imgwatch_webhook_events_total", IW_METRIC_COUNTER, "Webhook events.", NULL, 0);
 *   iw_metrics_add (m, "imgwatch_webhook_events_total", "provider=\"harbor\",result=\"accepted\"", 1);
 *
 * Labels are given preformatted (`name="value",...`); use
 * iw_metrics_label() to escape a value.  Every call is thread-safe.
 *
 * Ownership: iw_metrics_new() returns a registry the caller releases with
 * iw_metrics_free() (NULL is fine).
 */
#ifndef IW_SERVER_METRICS_H
#define IW_SERVER_METRICS_H

#include "util/buf.h"

#include <stddef.h>

typedef enum iw_metric_type
{
  IW_METRIC_COUNTER = 0,
  IW_METRIC_GAUGE,
  IW_METRIC_HISTOGRAM,
} iw_metric_type;

typedef struct iw_metrics iw_metrics;

iw_metrics *iw_metrics_new (void);
void iw_metrics_free (iw_metrics *m);

/* Declare a family once (later declarations of the same name are
 * ignored).  bounds (ascending, "le" values, without +Inf) only for
 * histograms; copied. */
void iw_metrics_declare (iw_metrics *m, const char *name, iw_metric_type type, const char *help,
                         const double *bounds, size_t n_bounds);

/* Counter or gauge: add v to the series (created at 0). */
void iw_metrics_add (iw_metrics *m, const char *name, const char *labels, double v);
/* Gauge: set the series to v. */
void iw_metrics_set (iw_metrics *m, const char *name, const char *labels, double v);
/* Gauge: drop every series of the family (before setting a fresh set). */
void iw_metrics_clear (iw_metrics *m, const char *name);
/* Histogram: record one observation. */
void iw_metrics_observe (iw_metrics *m, const char *name, const char *labels, double v);
/* Histogram: replace a series with cumulative bucket counts computed
 * elsewhere (n_bounds counts, then the total count and sum). */
void iw_metrics_set_histogram (iw_metrics *m, const char *name, const char *labels,
                               const unsigned long long *buckets, unsigned long long count, double sum);
/* The current value of a counter or gauge series, or the count of a
 * histogram series; 0 when absent. */
double iw_metrics_get (iw_metrics *m, const char *name, const char *labels);

/* Append the exposition text of every family to out. */
int iw_metrics_render (iw_metrics *m, iw_buf *out, iw_error **err);

/* `key="value"` with the value escaped as the format wants; caller frees. */
char *iw_metrics_label (const char *key, const char *value);

#endif
