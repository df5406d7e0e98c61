/*
 * alerts.h - alerts out: POST a JSON document to configured URLs when a
 * high or critical finding opens, and when it resolves.
 *
 * Two formats: "generic" ({"kind":"FindingOpened"|"FindingResolved",
 * "reference","check","severity","message","workloads","openedAt",
 * "resolvedAt","resolution"}) and "slack" ({"text": "..."}, which Slack
 * incoming webhooks and compatible chat tools accept).
 *
 * Delivery runs on its own thread: a bounded queue (overflow is dropped
 * and counted), retries with exponential backoff on transport errors, 429
 * and 5xx, and a rate limit (a token bucket per target).  URLs are never
 * logged whole: a Slack webhook URL is a credential, so logs name the
 * host only.
 *
 * Ownership: iw_alerts_new() hands *out to the caller; iw_alerts_free()
 * gives queued alerts a last chance (bounded by drain_ms) and frees
 * (NULL is fine).  The metrics registry is borrowed.
 */
#ifndef IW_SERVER_ALERTS_H
#define IW_SERVER_ALERTS_H

#include "server/metrics.h"
#include "store/store.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct iw_alert_target
{
  const char *url;
  bool slack; /* the Slack-compatible {"text"} format */
} iw_alert_target;

typedef struct iw_alerts_options
{
  const iw_alert_target *targets;
  size_t n_targets;
  int max_attempts;    /* per alert and target: 5 */
  long backoff_ms;     /* first retry delay, doubled each time: 500 */
  double rate_per_min; /* sustained alerts per minute per target: 30 */
  double burst;        /* bucket size: 10 */
  size_t queue_max;    /* 1000 */
  long timeout_ms;     /* per request: 5000 */
  long drain_ms;       /* at free: 2000 */
} iw_alerts_options;

#define IW_ALERTS_OPTIONS_INIT                                                                               \
  {                                                                                                          \
    NULL, 0, 5, 500, 30, 10, 1000, 5000, 2000                                                                \
  }

typedef struct iw_alerts iw_alerts;

/* Errors: IW_EINVAL for a target URL that is not http(s). */
int iw_alerts_new (iw_alerts **out, const iw_alerts_options *opts, iw_metrics *metrics, iw_error **err);
void iw_alerts_free (iw_alerts *a);

/* Queue the alert for a finding change, if it is high or critical.
 * Returns true when it was queued for at least one target. */
bool iw_alerts_notify (iw_alerts *a, const iw_finding_change *c);

/* The document a change becomes, in either format; caller frees. */
char *iw_alerts_format (const iw_finding_change *c, bool slack);

#endif
