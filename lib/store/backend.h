/*
 * backend.h - what each store backend implements (internal to lib/store).
 *
 * store.c parses the URL and dispatches every iw_store_* call to the
 * backend's function of the same name; both backends keep the same
 * schema, the same semantics and the same JSON shapes (see store.h).
 */
#ifndef IW_STORE_BACKEND_H
#define IW_STORE_BACKEND_H

#include "store/store.h"

typedef struct iw_sqlite iw_sqlite;
typedef struct iw_pg iw_pg;

/* SQLite (sqlite.c) */
int iw_sqlite_open (iw_sqlite **out, const char *path, const iw_store_options *opts, iw_error **err);
void iw_sqlite_free (iw_sqlite *s);
int iw_sqlite_schema_version (iw_sqlite *s);
int iw_sqlite_observe_tag (iw_sqlite *s, iw_tag_change *out, const char *repository, const char *tag,
                           const char *digest, int64_t now_ms, iw_error **err);
int iw_sqlite_rollbacks (iw_sqlite *s, json_t **out, iw_error **err);
int iw_sqlite_sync_runs (iw_sqlite *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err);
int iw_sqlite_sync_findings (iw_sqlite *s, iw_finding_change **out, size_t *n_out,
                             const iw_store_current_finding *f, size_t n, const char *cause, int64_t now_ms,
                             iw_error **err);
int iw_sqlite_mttr (iw_sqlite *s, iw_mttr **out, size_t *n_out, iw_error **err);
int iw_sqlite_inbox_add (iw_sqlite *s, bool *out_new, const char *event_id, const char *provider,
                         const char *payload, int64_t now_ms, iw_error **err);
int iw_sqlite_inbox_pending (iw_sqlite *s, json_t **out, size_t limit, iw_error **err);
int iw_sqlite_inbox_done (iw_sqlite *s, const char *event_id, int64_t now_ms, iw_error **err);
int iw_sqlite_inbox_done_before (iw_sqlite *s, int64_t received_ms, int64_t now_ms, iw_error **err);
int iw_sqlite_inbox_count (iw_sqlite *s, long *out_total, long *out_pending, iw_error **err);
int iw_sqlite_history (iw_sqlite *s, json_t **out, const char *reference, size_t limit, iw_error **err);
int iw_sqlite_prune (iw_sqlite *s, int64_t cutoff_ms, iw_error **err);

/* PostgreSQL (postgres.c) */
int iw_pg_open (iw_pg **out, const char *conninfo, const iw_store_options *opts, iw_error **err);
void iw_pg_free (iw_pg *s);
int iw_pg_schema_version (iw_pg *s);
int iw_pg_observe_tag (iw_pg *s, iw_tag_change *out, const char *repository, const char *tag,
                       const char *digest, int64_t now_ms, iw_error **err);
int iw_pg_rollbacks (iw_pg *s, json_t **out, iw_error **err);
int iw_pg_sync_runs (iw_pg *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err);
int iw_pg_sync_findings (iw_pg *s, iw_finding_change **out, size_t *n_out, const iw_store_current_finding *f,
                         size_t n, const char *cause, int64_t now_ms, iw_error **err);
int iw_pg_mttr (iw_pg *s, iw_mttr **out, size_t *n_out, iw_error **err);
int iw_pg_inbox_add (iw_pg *s, bool *out_new, const char *event_id, const char *provider, const char *payload,
                     int64_t now_ms, iw_error **err);
int iw_pg_inbox_pending (iw_pg *s, json_t **out, size_t limit, iw_error **err);
int iw_pg_inbox_done (iw_pg *s, const char *event_id, int64_t now_ms, iw_error **err);
int iw_pg_inbox_done_before (iw_pg *s, int64_t received_ms, int64_t now_ms, iw_error **err);
int iw_pg_inbox_count (iw_pg *s, long *out_total, long *out_pending, iw_error **err);
int iw_pg_history (iw_pg *s, json_t **out, const char *reference, size_t limit, iw_error **err);
int iw_pg_prune (iw_pg *s, int64_t cutoff_ms, iw_error **err);

/* Split "host/path:tag" into repository and tag (NULL when none); both
 * owned by the caller. */
void iw_store_split_reference (const char *ref, char **repo, char **tag);

#endif
