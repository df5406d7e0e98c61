/*
 * watch.h - keep an inventory of pods current from the Kubernetes API:
 * list, then watch from the list's resourceVersion with bookmarks.
 *
 *   - a stream that ends (server timeout, dropped connection) is resumed
 *     from the last resourceVersion seen (an event's or a bookmark's),
 *     after a backoff with jitter when it failed;
 *   - HTTP 410 Gone, or an ERROR event with code 410 inside the stream,
 *     means that resourceVersion is too old: list again;
 *   - a full relist also runs every resync_ms (missed events cannot
 *     survive it).
 *
 * Records go to the callbacks: the full set after each list (set_fn) and
 * one pod's records after each event (pod_fn, n = 0 for a deletion).  The
 * callbacks take the records and the array.  Read-only: only list and
 * watch requests are made.
 *
 * Ownership: iw_kube_watch_start() hands *out to the caller;
 * iw_kube_watch_stop() stops the thread (within one watch request's
 * timeout) and frees (NULL is fine).
 *
 * Errors: those of iw_kube_list_pods() for the first list, which runs
 * before iw_kube_watch_start() returns; later failures are logged and
 * retried.
 */
#ifndef IW_KUBE_WATCH_H
#define IW_KUBE_WATCH_H

#include "kube/kube.h"

#include <stdint.h>

typedef void (*iw_kube_watch_set_fn) (void *userdata, const char *source, iw_record **recs, size_t n,
                                      const char *cause);
typedef void (*iw_kube_watch_pod_fn) (void *userdata, const char *source, const char *pod, iw_record **recs,
                                      size_t n, const char *cause);

typedef struct iw_kube_watch_options
{
  iw_kube_options kube;     /* kubeconfig, context, namespace */
  long resync_ms;           /* full relist period: 600000; 0 = never */
  unsigned watch_timeout_s; /* timeoutSeconds of one watch request: 5 (also bounds stop) */
  long backoff_max_ms;      /* reconnect backoff cap: 30000 */
} iw_kube_watch_options;

#define IW_KUBE_WATCH_OPTIONS_INIT                                                                           \
  {                                                                                                          \
    IW_KUBE_OPTIONS_INIT, 600000, 5, 30000                                                                   \
  }

typedef struct iw_kube_watch iw_kube_watch;

typedef struct iw_kube_watch_stats
{
  uint64_t lists;      /* full lists made (the first one included) */
  uint64_t relists410; /* lists forced by 410 Gone (HTTP or ERROR event) */
  uint64_t watches;    /* watch requests made */
  uint64_t reconnects; /* watch requests that failed and were retried */
  uint64_t events;     /* ADDED/MODIFIED/DELETED events applied */
  uint64_t bookmarks;
} iw_kube_watch_stats;

int iw_kube_watch_start (iw_kube_watch **out, const iw_kube_watch_options *opts, iw_kube_watch_set_fn set_fn,
                         iw_kube_watch_pod_fn pod_fn, void *userdata, iw_error **err);
void iw_kube_watch_stop (iw_kube_watch *w);

/* "kube:https://...", the records' source.  Borrowed. */
const char *iw_kube_watch_source (const iw_kube_watch *w);
void iw_kube_watch_get_stats (iw_kube_watch *w, iw_kube_watch_stats *out);

#endif
