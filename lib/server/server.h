/*
 * server.h - the HTTP side of `imgwatch serve` (libmicrohttpd).
 *
 *   GET  /                      the Live Assessment page (embedded assets)
 *   GET  /images/<reference>    the image page
 *   GET  /assets/<file>         the page's CSS and JavaScript
 *   GET  /api/v1/assessment     the current assessment, exactly the JSON of
 *                               `imgwatch assess -o json` (ETag, 304)
 *   GET  /api/v1/images/<ref>   one image: {"image":{...},"history":{...}}
 *   GET  /api/v1/history        {"tags","runs","findings","mttr","rollbacks"}
 *   GET  /metrics               Prometheus text
 *   GET  /healthz, /readyz      liveness; readiness (an assessment exists)
 *   POST /webhooks/<provider>   distribution, harbor, artifactory, dockerhub
 *   POST /admission/<endpoint>  validate, mutate (admission.h); only with
 *                               an iw_admission, which serve makes with TLS
 *
 * Security: the UI and API are read-only (GET/HEAD only).  With a token,
 * every route but /healthz, /readyz and the webhooks needs
 * `Authorization: Bearer <token>` (or the cookie the page sets after
 * `/?token=<token>`).  Webhooks need the shared secret in
 * `Authorization: Bearer <secret>`, `X-Imgwatch-Secret`, Artifactory's
 * `X-JFrog-Event-Auth`, or (Docker Hub cannot send headers) `?secret=`;
 * without a configured secret they are refused.  Secrets are compared in
 * constant time and never logged.  Bodies over IW_WEBHOOK_BODY_MAX get 413
 * before they are read.
 *
 * A webhook is acknowledged with 202 once its events are in the store's
 * inbox (durable, deduplicated by event id); new events are then handed to
 * the event callback, which must only queue them.
 *
 * Ownership: iw_server_start() hands *out to the caller; iw_server_stop()
 * stops the threads and frees it (NULL is fine).  The store and metrics
 * are borrowed and must outlive the server.
 */
#ifndef IW_SERVER_SERVER_H
#define IW_SERVER_SERVER_H

#include "server/admission.h"
#include "server/metrics.h"
#include "server/webhook.h"
#include "store/store.h"
#include "util/error.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct iw_server iw_server;

/* A new (never seen) webhook event, called from an HTTP thread. */
typedef void (*iw_server_event_fn) (const iw_webhook_event *ev, int64_t received_ms, void *userdata);

typedef struct iw_server_options
{
  const char *listen;         /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080", "8080"; port 0 = any */
  const char *tls_cert;       /* PEM file; with tls_key, serve HTTPS */
  const char *tls_key;        /* PEM file */
  const char *token;          /* bearer token for UI and API, or NULL */
  const char *webhook_secret; /* shared secret for webhooks, or NULL (webhooks refused) */
  unsigned threads;           /* worker threads; 0 = 4 */
  iw_server_event_fn on_event;
  void *userdata;
  iw_admission *admission; /* answers /admission/..., borrowed; NULL = those routes are off */
} iw_server_options;

#define IW_SERVER_OPTIONS_INIT                                                                               \
  {                                                                                                          \
    "127.0.0.1:8080", NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL                                            \
  }

/* Start listening.  Errors: IW_EINVAL (bad listen address, TLS without
 * key), IW_EIO (files, bind). */
int iw_server_start (iw_server **out, const iw_server_options *opts, iw_store *store, iw_metrics *metrics,
                     iw_error **err);
void iw_server_stop (iw_server *srv);

/* The port actually bound. */
int iw_server_port (const iw_server *srv);

/* Publish a new assessment: the imgwatch/v1 JSON text (copied).  Fails
 * with IW_EPARSE when it is not a JSON object. */
int iw_server_publish (iw_server *srv, const char *assessment_json, iw_error **err);

/* Set the event callback after start (the daemon needs the server to
 * exist first).  Events that arrive before it is set stay pending in the
 * store's inbox, where iw_daemon_start() finds them. */
void iw_server_set_event_fn (iw_server *srv, iw_server_event_fn fn, void *userdata);

/* Readiness as /readyz reports it; reason (copied) says why not. */
void iw_server_set_ready (iw_server *srv, bool ready, const char *reason);

/* The metric families the server fills; declared by iw_server_start(),
 * exposed so the daemon can declare them earlier. */
void iw_server_declare_metrics (iw_metrics *m);

#endif
