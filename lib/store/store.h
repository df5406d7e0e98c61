/*
 * store.h - the history of `imgwatch serve`: what each tag pointed to and
 * when, which workload ran which digest from when to when, which findings
 * were open from when to when and what resolved them, and the webhook
 * events received (a durable inbox, deduplicated by event id).
 *
 * The backend is SQLite in WAL mode (the default, "sqlite:PATH" or a bare
 * path), or PostgreSQL ("postgres://user@host:port/db?..." as libpq takes
 * it) for fleets of clusters sharing one history.  Every write is one transaction committed before the call
 * returns, with synchronous=NORMAL: in WAL mode a commit is written to the
 * WAL file with write(2) before it returns, so a `kill -9` of the process
 * loses nothing that was acknowledged; only an OS crash or power loss can
 * lose the last transactions (use IW_STORE_SYNC_FULL for that, at the cost
 * of one fsync per write).  The schema is versioned (PRAGMA user_version)
 * and migrated forward on open, each migration in its own transaction.
 *
 * Times are milliseconds since the Unix epoch.  A store is safe to use from
 * several threads: each call holds the store's lock.
 *
 * Ownership: iw_store_open() hands *out to the caller, released with
 * iw_store_free() (NULL is fine).  Query results (json_t *) belong to the
 * caller (json_decref).  Input strings are borrowed for the call.
 *
 * Errors: IW_EIO for database failures (the message carries SQLite's),
 * IW_EINVAL for bad arguments, IW_EUNSUPPORTED for a URL scheme this
 * build does not handle.
 */
#ifndef IW_STORE_STORE_H
#define IW_STORE_STORE_H

#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iw_store iw_store;

/* The schema version this build migrates to. */
#define IW_STORE_SCHEMA_VERSION 2

typedef enum iw_store_sync
{
  IW_STORE_SYNC_NORMAL = 0, /* survives kill -9 (default) */
  IW_STORE_SYNC_FULL,       /* also survives power loss: fsync per commit */
} iw_store_sync;

typedef struct iw_store_options
{
  iw_store_sync sync;
  int busy_timeout_ms; /* wait this long for another process's lock */
} iw_store_options;

#define IW_STORE_OPTIONS_INIT                                                                                \
  {                                                                                                          \
    IW_STORE_SYNC_NORMAL, 5000                                                                               \
  }

/* Open (creating if needed) and migrate the store at url: "sqlite:PATH",
 * "sqlite::memory:", a plain path, or "postgres://..." (the database must
 * exist; the tables are created).  opts may be NULL for the defaults
 * (sync applies to SQLite; PostgreSQL commits are durable by its own
 * settings).  Errors: IW_EIO (cannot open or connect; for PostgreSQL the
 * message carries the server's, never the password). */
int iw_store_open (iw_store **out, const char *url, const iw_store_options *opts, iw_error **err);
void iw_store_free (iw_store *s);

/* The schema version of the open database. */
int iw_store_schema_version (iw_store *s);

/* What an observation of a tag's digest means. */
typedef enum iw_tag_change
{
  IW_TAG_SAME = 0, /* the tag still points where it did */
  IW_TAG_NEW,      /* first observation of this tag */
  IW_TAG_MOVED,    /* it points to a digest it never pointed to before */
  IW_TAG_ROLLBACK, /* it moved back to a digest it pointed to before */
} iw_tag_change;

const char *iw_tag_change_name (iw_tag_change c);

/* Record that repository ("host/path") tag points to digest at now_ms.
 * *out (may be NULL) says what changed.  A rollback stays flagged (see
 * iw_store_rollbacks) until the tag moves again. */
int iw_store_observe_tag (iw_store *s, iw_tag_change *out, const char *repository, const char *tag,
                          const char *digest, int64_t now_ms, iw_error **err);

/* The tags whose current digest came from a rollback, as a JSON array of
 * {"repository","tag","digest","previousDigest","at"} (at in ms). */
int iw_store_rollbacks (iw_store *s, json_t **out, iw_error **err);

/* One container run: workload ("ns/Kind/name") container ran reference at
 * digest.  Strings are borrowed. */
typedef struct iw_store_run
{
  const char *workload;
  const char *container;
  const char *reference;
  const char *digest;
} iw_store_run;

/* Make the open runs equal the given set: runs not open yet start at
 * now_ms, open runs not in the set end at now_ms. */
int iw_store_sync_runs (iw_store *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err);

/* One finding as the assessment reports it, keyed by (reference, check).
 * Strings are borrowed; message and workloads may be NULL. */
typedef struct iw_store_current_finding
{
  const char *reference;
  const char *check;
  const char *severity;
  const char *message;
  const char *workloads; /* comma-separated */
} iw_store_current_finding;

/* A finding opened or resolved by iw_store_sync_findings(). */
typedef struct iw_finding_change
{
  bool opened; /* false: resolved */
  char *reference;
  char *check;
  char *severity;
  char *message;
  char *workloads;
  char *resolution; /* the cause given when it was resolved, else NULL */
  int64_t opened_at;
  int64_t resolved_at; /* 0 while open */
} iw_finding_change;

/* Make the open findings equal the given set: new ones open at now_ms,
 * open ones no longer reported resolve at now_ms with cause (what changed:
 * "webhook distribution ...", "pod restarted", ...).  The changes are
 * handed back in *out (n in *n_out; may be NULL when not wanted), caller
 * frees with iw_finding_changes_free(). */
int iw_store_sync_findings (iw_store *s, iw_finding_change **out, size_t *n_out,
                            const iw_store_current_finding *f, size_t n, const char *cause, int64_t now_ms,
                            iw_error **err);
void iw_finding_changes_free (iw_finding_change *c, size_t n);

/* Mean time to resolve, per check. */
typedef struct iw_mttr
{
  char *check;
  long resolved; /* findings resolved */
  long open;     /* findings still open */
  double mean_s; /* mean open duration of the resolved ones, seconds */
  double max_s;  /* longest resolved duration, seconds */
  double sum_s;  /* total resolved duration, seconds */
} iw_mttr;

int iw_store_mttr (iw_store *s, iw_mttr **out, size_t *n_out, iw_error **err);
void iw_mttr_free (iw_mttr *m, size_t n);

/* The webhook inbox: add an event (payload is a small JSON text) unless
 * its id was seen before; *out_new says whether it was.  Events stay
 * pending until iw_store_inbox_done(). */
int iw_store_inbox_add (iw_store *s, bool *out_new, const char *event_id, const char *provider,
                        const char *payload, int64_t now_ms, iw_error **err);
/* Pending events, oldest first, at most limit, as a JSON array of
 * {"id","provider","payload","receivedAt"}. */
int iw_store_inbox_pending (iw_store *s, json_t **out, size_t limit, iw_error **err);
int iw_store_inbox_done (iw_store *s, const char *event_id, int64_t now_ms, iw_error **err);
/* Mark done every pending event received at or before received_ms (one
 * statement for a burst of events that one cycle covered). */
int iw_store_inbox_done_before (iw_store *s, int64_t received_ms, int64_t now_ms, iw_error **err);
/* Counts of events received (pending and done). */
int iw_store_inbox_count (iw_store *s, long *out_total, long *out_pending, iw_error **err);

/* History as JSON: {"tags":[...],"runs":[...],"findings":[...]} for one
 * reference ("host/path:tag"; tags of its repository and tag) or for all
 * (reference NULL), newest first, at most limit rows of each. */
int iw_store_history (iw_store *s, json_t **out, const char *reference, size_t limit, iw_error **err);

/* Retention: delete what ended before cutoff_ms (resolved findings, ended
 * runs, superseded tag observations, processed events).  The current
 * state (open findings and runs, each tag's current digest) is kept. */
int iw_store_prune (iw_store *s, int64_t cutoff_ms, iw_error **err);

/* Milliseconds since the epoch, from the realtime clock. */
int64_t iw_store_now_ms (void);

#endif
