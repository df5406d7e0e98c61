/*
 * daemon.h - the event loop of `imgwatch serve`: what runs (records from
 * the sources), what changed (webhook events, pod changes, timers), and
 * one worker thread that re-assesses, keeps the history and publishes.
 *
 * Sources hand records in (a full set per source after a list or a file
 * read, or one pod's records after a watch event); webhooks hand events
 * in.  Both only mark the state dirty and wake the worker, so callers
 * never wait for the registry.  The worker coalesces everything that
 * arrived since its last cycle into one cycle:
 *
 *   1. the assess callback turns the current records into the imgwatch/v1
 *      assessment JSON (the same document `assess -o json` prints; the
 *      callback asks the registry, never trusting an event's digest);
 *   2. each image's tag -> registry digest is recorded; a tag that moved
 *      back to an older digest becomes a `tag-rollback` finding [high];
 *   3. container runs and findings are synced to the store (opened,
 *      resolved with the cause, MTTR), new high/critical findings and
 *      their resolutions go to the alerts;
 *   4. the document is published to the HTTP server, and the webhook
 *      events it covered are marked done in the store's inbox.
 *
 * Webhook events are coalesced per reference, so memory is bounded by the
 * number of distinct references, not events; the inbox in the store keeps
 * every event id (dedupe) and what was not processed before a crash is
 * picked up again at start.
 *
 * Ownership: iw_daemon_new() hands *out to the caller; iw_daemon_free()
 * stops the worker and frees (NULL is fine).  Records handed in are taken.
 * The store, server, metrics and alerts are borrowed.
 */
#ifndef IW_SERVER_DAEMON_H
#define IW_SERVER_DAEMON_H

#include "inventory/record.h"
#include "server/alerts.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/webhook.h"
#include "store/store.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct iw_daemon iw_daemon;

/* One tag's current digest, as the registry answered it in a cycle. */
typedef struct iw_daemon_tag
{
  char *repository; /* "host/path" */
  char *tag;
  char *digest;
} iw_daemon_tag;

/* What the assess callback hands back; the daemon frees it. */
typedef struct iw_daemon_result
{
  char *json;          /* the imgwatch/v1 assessment text */
  iw_daemon_tag *tags; /* every resolved tag (also of clean images), or NULL: then
                          the JSON's images give them */
  size_t n_tags;
} iw_daemon_result;

void iw_daemon_result_clear (iw_daemon_result *r);

/* Turn records (borrowed, n of them) into an assessment (*out).  refresh
 * lists references ("host/path:tag") named by registry events since the
 * last cycle (NULL-terminated; NULL means none), all_refresh asks to
 * re-resolve everything; a callback that caches registry answers must
 * drop those.  Returns < 0 when no assessment could be made at all. */
typedef int (*iw_daemon_assess_fn) (iw_daemon_result *out, const iw_record *const *records, size_t n,
                                    const char *const *refresh, bool all_refresh, void *userdata,
                                    iw_error **err);

typedef struct iw_daemon_options
{
  iw_daemon_assess_fn assess;
  void *userdata;
  long reresolve_ms; /* periodic re-resolution of every tag: 300000 (5 min); 0 = off */
  long settle_ms;    /* wait this long after a change for more to arrive: 20 */
} iw_daemon_options;

#define IW_DAEMON_OPTIONS_INIT                                                                               \
  {                                                                                                          \
    NULL, NULL, 300000, 20                                                                                   \
  }

int iw_daemon_new (iw_daemon **out, const iw_daemon_options *opts, iw_store *store, iw_server *server,
                   iw_metrics *metrics, iw_alerts *alerts, iw_error **err);
void iw_daemon_free (iw_daemon *d);

/* Start the worker (after the sources handed in their first records).
 * Webhook events stored but not processed before a restart are queued. */
int iw_daemon_start (iw_daemon *d, iw_error **err);

/* Replace every record of source (a relist or a re-read file); takes the
 * records and the array.  cause says why, for the history. */
void iw_daemon_set_records (iw_daemon *d, const char *source, iw_record **recs, size_t n, const char *cause);

/* Replace the records of one pod ("namespace/name") of source; n = 0
 * means the pod is gone.  Takes the records and the array. */
void iw_daemon_set_pod (iw_daemon *d, const char *source, const char *pod, iw_record **recs, size_t n,
                        const char *cause);

/* A webhook event (an iw_server_event_fn: pass the daemon as userdata). */
void iw_daemon_on_event (const iw_webhook_event *ev, int64_t received_ms, void *userdata);

/* Ask for a cycle now (e.g. after a resync); all_refresh re-resolves
 * every reference. */
void iw_daemon_poke (iw_daemon *d, bool all_refresh, const char *cause);

/* Cycles completed, for tests and /metrics. */
unsigned long iw_daemon_cycles (iw_daemon *d);

/* The rules for tag-rollback and the risk order, exposed for tests:
 * add tag-rollback findings from rollbacks (iw_store_rollbacks) to the
 * assessment document, recount and re-sort it.  A rollback of a running
 * tag (one of tags) whose image the document does not list (it was
 * clean) adds that image. */
void iw_daemon_apply_rollbacks (json_t *doc, json_t *rollbacks, const iw_daemon_tag *tags, size_t n_tags);

/* A partial cycle's result merged into the last full state: base's images
 * that refs ("domain/path:tag", NULL-terminated) do not name, plus part's
 * images that they do; part's header, base's image and container counts
 * and assessment-wide findings, severities recounted, sorted by risk.
 * Returns a new document (caller decrefs). */
json_t *iw_daemon_merge_partial (json_t *base, json_t *part, const char *const *refs);

#endif
