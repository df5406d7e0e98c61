/*
 * webhook.h - registry notification payloads, parsed into one event type.
 *
 * Providers and the formats their documentation gives:
 *   distribution  the Docker distribution notification envelope
 *                 {"events":[{"id","timestamp","action","target":{...},
 *                 "request":{"host"}}]} that docker-registry posts
 *   harbor        {"type":"PUSH_ARTIFACT","occur_at":N,"event_data":
 *                 {"resources":[{"digest","tag","resource_url"}],
 *                 "repository":{"repo_full_name"}}}
 *   artifactory   {"domain":"docker","event_type":"pushed","jpd_origin",
 *                 "data":{"repo_key","image_name","tag","sha256"}}
 *   dockerhub     {"callback_url","push_data":{"tag","pushed_at"},
 *                 "repository":{"repo_name"}}
 *
 * The digest an event carries is kept for the record only: the daemon
 * never trusts it and re-resolves the tag from the registry.  Events that
 * carry no id (all but distribution) get one derived from their
 * identifying fields, so a redelivery dedupes.
 *
 * Ownership: *out is the caller's, released with iw_webhook_events_free().
 * Errors: IW_EPARSE with the field at fault; IW_EINVAL for an unknown
 * provider.
 */
#ifndef IW_SERVER_WEBHOOK_H
#define IW_SERVER_WEBHOOK_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* The biggest webhook body accepted. */
#define IW_WEBHOOK_BODY_MAX (256 * 1024)
/* The most events one body may carry. */
#define IW_WEBHOOK_EVENTS_MAX 1024

typedef enum iw_webhook_provider
{
  IW_WEBHOOK_DISTRIBUTION = 0,
  IW_WEBHOOK_HARBOR,
  IW_WEBHOOK_ARTIFACTORY,
  IW_WEBHOOK_DOCKERHUB,
} iw_webhook_provider;

typedef enum iw_webhook_action
{
  IW_WEBHOOK_OTHER = 0, /* pull, mount, scan, ...: nothing to re-resolve */
  IW_WEBHOOK_PUSH,
  IW_WEBHOOK_DELETE,
} iw_webhook_action;

typedef struct iw_webhook_event
{
  char *id; /* "<provider>:<id>", unique per event */
  iw_webhook_action action;
  char *registry;   /* "127.0.0.1:5000", "docker.io"; NULL when the event does not say */
  char *repository; /* path inside the registry: "library/nginx" */
  char *tag;        /* NULL for pushes by digest and blob events */
  char *digest;     /* what the event claims; NOT trusted */
  int64_t time_ms;  /* when the provider says it happened; 0 when unknown */
} iw_webhook_event;

/* "distribution", "harbor", "artifactory", "dockerhub" -> provider; < 0
 * when unknown. */
int iw_webhook_provider_parse (const char *name);
const char *iw_webhook_provider_name (iw_webhook_provider p);
const char *iw_webhook_action_name (iw_webhook_action a);

/* Parse a body of provider p into *out (n in *n_out; may be 0 events). */
int iw_webhook_parse (iw_webhook_event **out, size_t *n_out, iw_webhook_provider p, const char *body,
                      size_t len, iw_error **err);
void iw_webhook_events_free (iw_webhook_event *ev, size_t n);

/* The reference an event is about, "registry/repository:tag", or NULL
 * when it names no tag or no registry.  Caller frees. */
char *iw_webhook_event_reference (const iw_webhook_event *ev);

/* Parse RFC 3339 ("2026-12-03T16:49:41.123456789Z", "+02:00") into ms
 * since the epoch; < 0 when malformed. */
int iw_webhook_parse_time (int64_t *out, const char *s);

#endif
