/*
 * sqlite.c - the SQLite backend of the serve history (see store.h).
 *
 * One connection, guarded by the store's mutex, so a multi-statement
 * transaction never interleaves with another thread's.  Every public
 * write runs in one IMMEDIATE transaction: it either commits entirely
 * before the call returns or leaves nothing behind.
 */
#include "store/backend.h"
#include "util/mem.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct iw_sqlite
{
  sqlite3 *db;
  pthread_mutex_t lock;
  int version;
};

/* Each entry migrates from version i to i + 1; never edit a released one,
 * append a new one. */
static const char *const migrations[] = {
  /* 1: tag observations, runs, findings, inbox. */
  "CREATE TABLE tag_observations ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,"
  "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
  "  rollback INTEGER NOT NULL DEFAULT 0, previous_digest TEXT);"
  "CREATE INDEX tag_observations_by_tag ON tag_observations (repository, tag, id);"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  workload TEXT NOT NULL, container TEXT NOT NULL, reference TEXT NOT NULL, digest TEXT NOT NULL,"
  "  started_at INTEGER NOT NULL, ended_at INTEGER);"
  "CREATE INDEX runs_open ON runs (ended_at);"
  "CREATE INDEX runs_by_reference ON runs (reference, id);"
  "CREATE TABLE findings ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  reference TEXT NOT NULL, check_name TEXT NOT NULL, severity TEXT NOT NULL,"
  "  message TEXT, workloads TEXT,"
  "  opened_at INTEGER NOT NULL, resolved_at INTEGER, resolution TEXT);"
  "CREATE UNIQUE INDEX findings_open ON findings (reference, check_name) WHERE resolved_at IS NULL;"
  "CREATE INDEX findings_by_reference ON findings (reference, id);"
  "CREATE TABLE inbox ("
  "  event_id TEXT PRIMARY KEY, provider TEXT NOT NULL, payload TEXT NOT NULL,"
  "  received_at INTEGER NOT NULL, done_at INTEGER);"
  "CREATE INDEX inbox_pending ON inbox (done_at, received_at);",
  /* 2: MTTR per check reads resolved findings by check. */
  "CREATE INDEX findings_by_check ON findings (check_name, resolved_at);",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

static int
db_error (iw_sqlite *s, iw_error **err, const char *what)
{
  return iw_error_set (err, IW_EIO, "%s: %s", what, sqlite3_errmsg (s->db));
}

static int
exec (iw_sqlite *s, const char *sql, iw_error **err)
{
  char *msg = NULL;

  if (sqlite3_exec (s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      iw_error_set (err, IW_EIO, "%s", msg ? msg : sqlite3_errmsg (s->db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

static int
prepare (iw_sqlite *s, sqlite3_stmt **out, const char *sql, iw_error **err)
{
  if (sqlite3_prepare_v2 (s->db, sql, -1, out, NULL) != SQLITE_OK)
    return db_error (s, err, "prepare");
  return 0;
}

static void
bind_text (sqlite3_stmt *st, int i, const char *v)
{
  if (v)
    sqlite3_bind_text (st, i, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

static int
begin (iw_sqlite *s, iw_error **err)
{
  pthread_mutex_lock (&s->lock);
  if (exec (s, "BEGIN IMMEDIATE", err) < 0)
    {
      pthread_mutex_unlock (&s->lock);
      return -1;
    }
  return 0;
}

/* Commit when ok, else roll back; always releases the lock. */
static int
end (iw_sqlite *s, int ok, iw_error **err)
{
  int r = 0;

  if (ok)
    r = exec (s, "COMMIT", err);
  if (!ok || r < 0)
    {
      sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
      r = -1;
    }
  pthread_mutex_unlock (&s->lock);
  return r;
}

static int
migrate (iw_sqlite *s, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int v = 0;

  if (prepare (s, &st, "PRAGMA user_version", err) < 0)
    return -1;
  if (sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  if (v > (int)N_MIGRATIONS)
    return iw_error_set (err, IW_EUNSUPPORTED, "database schema version %d is newer than this build's (%d)",
                         v, (int)N_MIGRATIONS);
  for (; v < (int)N_MIGRATIONS; v++)
    {
      char *bump = iw_xasprintf ("PRAGMA user_version = %d", v + 1);
      int ok;

      if (begin (s, err) < 0)
        {
          free (bump);
          return iw_error_wrap (err, "migrate to version %d", v + 1);
        }
      ok = exec (s, migrations[v], err) == 0 && exec (s, bump, err) == 0;
      free (bump);
      if (end (s, ok, err) < 0)
        return iw_error_wrap (err, "migrate to version %d", v + 1);
    }
  s->version = v;
  return 0;
}

int
iw_sqlite_open (iw_sqlite **out, const char *path, const iw_store_options *opts, iw_error **err)
{
  iw_sqlite *s = NULL;
  char *pragmas = NULL;
  int r = -1;

  *out = NULL;
  s = iw_xcalloc (1, sizeof *s);
  pthread_mutex_init (&s->lock, NULL);
  if (sqlite3_open_v2 (path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL)
      != SQLITE_OK)
    {
      iw_error_set (err, IW_EIO, "open %s: %s", path, s->db ? sqlite3_errmsg (s->db) : "out of memory");
      goto done;
    }
  sqlite3_busy_timeout (s->db, opts->busy_timeout_ms);
  sqlite3_extended_result_codes (s->db, 1);
  pragmas = iw_xasprintf ("PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;",
                          opts->sync == IW_STORE_SYNC_FULL ? "FULL" : "NORMAL");
  if (exec (s, pragmas, err) < 0)
    {
      iw_error_wrap (err, "open %s", path);
      goto done;
    }
  if (migrate (s, err) < 0)
    {
      iw_error_wrap (err, "open %s", path);
      goto done;
    }
  *out = iw_steal (&s);
  r = 0;
done:
  free (pragmas);
  iw_sqlite_free (s);
  return r;
}

void
iw_sqlite_free (iw_sqlite *s)
{
  if (s == NULL)
    return;
  sqlite3_close (s->db);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

int
iw_sqlite_schema_version (iw_sqlite *s)
{
  return s->version;
}

/* ---- tags ---- */

int
iw_sqlite_observe_tag (iw_sqlite *s, iw_tag_change *out, const char *repository, const char *tag,
                       const char *digest, int64_t now_ms, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  iw_tag_change change = IW_TAG_NEW;
  char *current = NULL;
  long long current_id = 0;
  int ok = 0;

  if (out)
    *out = IW_TAG_SAME;
  if (!repository || !tag || !digest || !*repository || !*tag || !*digest)
    return iw_error_set (err, IW_EINVAL, "observe tag: repository, tag and digest are required");
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "observe %s:%s", repository, tag);
  if (prepare (s, &st,
               "SELECT id, digest FROM tag_observations WHERE repository = ?1 AND tag = ?2 "
               "ORDER BY id DESC LIMIT 1",
               err)
      < 0)
    goto done;
  bind_text (st, 1, repository);
  bind_text (st, 2, tag);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      current_id = sqlite3_column_int64 (st, 0);
      current = iw_xstrdup ((const char *)sqlite3_column_text (st, 1));
    }
  sqlite3_finalize (st);
  st = NULL;

  if (current && strcmp (current, digest) == 0)
    {
      change = IW_TAG_SAME;
      if (prepare (s, &st, "UPDATE tag_observations SET last_seen = MAX(last_seen, ?1) WHERE id = ?2", err)
          < 0)
        goto done;
      sqlite3_bind_int64 (st, 1, now_ms);
      sqlite3_bind_int64 (st, 2, current_id);
    }
  else
    {
      if (current)
        {
          change = IW_TAG_MOVED;
          if (prepare (
                  s, &st,
                  "SELECT 1 FROM tag_observations WHERE repository = ?1 AND tag = ?2 AND digest = ?3 LIMIT 1",
                  err)
              < 0)
            goto done;
          bind_text (st, 1, repository);
          bind_text (st, 2, tag);
          bind_text (st, 3, digest);
          if (sqlite3_step (st) == SQLITE_ROW)
            change = IW_TAG_ROLLBACK;
          sqlite3_finalize (st);
          st = NULL;
        }
      if (prepare (s, &st,
                   "INSERT INTO tag_observations (repository, tag, digest, first_seen, last_seen, rollback, "
                   "previous_digest) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                   err)
          < 0)
        goto done;
      bind_text (st, 1, repository);
      bind_text (st, 2, tag);
      bind_text (st, 3, digest);
      sqlite3_bind_int64 (st, 4, now_ms);
      sqlite3_bind_int (st, 5, change == IW_TAG_ROLLBACK);
      bind_text (st, 6, current);
    }
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "write observation");
      goto done;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  free (current);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "observe %s:%s", repository, tag);
  if (out)
    *out = change;
  return 0;
}

int
iw_sqlite_rollbacks (iw_sqlite *s, json_t **out, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  json_t *a = json_array ();
  int r = -1;

  *out = NULL;
  pthread_mutex_lock (&s->lock);
  if (prepare (
          s, &st,
          "SELECT o.repository, o.tag, o.digest, o.previous_digest, o.first_seen FROM tag_observations o "
          "WHERE o.rollback = 1 AND o.id = (SELECT MAX(id) FROM tag_observations x "
          "WHERE x.repository = o.repository AND x.tag = o.tag) ORDER BY o.id",
          err)
      < 0)
    goto done;
  while (sqlite3_step (st) == SQLITE_ROW)
    json_array_append_new (
        a, json_pack ("{s:s, s:s, s:s, s:s?, s:I}", "repository", sqlite3_column_text (st, 0), "tag",
                      sqlite3_column_text (st, 1), "digest", sqlite3_column_text (st, 2), "previousDigest",
                      sqlite3_column_text (st, 3), "at", (json_int_t)sqlite3_column_int64 (st, 4)));
  *out = iw_steal (&a);
  r = 0;
done:
  sqlite3_finalize (st);
  pthread_mutex_unlock (&s->lock);
  json_decref (a);
  return r < 0 ? iw_error_wrap (err, "list rollbacks") : 0;
}

/* ---- runs ---- */

int
iw_sqlite_sync_runs (iw_sqlite *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int ok = 0;

  if (begin (s, err) < 0)
    return iw_error_wrap (err, "sync runs");
  /* Mark the open runs, unmark those still reported, close the rest. */
  if (exec (s, "CREATE TEMP TABLE IF NOT EXISTS seen_runs (id INTEGER PRIMARY KEY); DELETE FROM seen_runs;",
            err)
      < 0)
    goto done;
  for (size_t i = 0; i < n; i++)
    {
      const iw_store_run *r = &runs[i];
      long long id = 0;

      if (!r->workload || !r->container || !r->reference || !r->digest)
        {
          iw_error_set (err, IW_EINVAL, "run %zu: workload, container, reference and digest are required", i);
          goto done;
        }
      if (prepare (s, &st,
                   "SELECT id FROM runs WHERE ended_at IS NULL AND workload = ?1 AND container = ?2 "
                   "AND reference = ?3 AND digest = ?4",
                   err)
          < 0)
        goto done;
      bind_text (st, 1, r->workload);
      bind_text (st, 2, r->container);
      bind_text (st, 3, r->reference);
      bind_text (st, 4, r->digest);
      if (sqlite3_step (st) == SQLITE_ROW)
        id = sqlite3_column_int64 (st, 0);
      sqlite3_finalize (st);
      st = NULL;
      if (id == 0)
        {
          if (prepare (s, &st,
                       "INSERT INTO runs (workload, container, reference, digest, started_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
                       err)
              < 0)
            goto done;
          bind_text (st, 1, r->workload);
          bind_text (st, 2, r->container);
          bind_text (st, 3, r->reference);
          bind_text (st, 4, r->digest);
          sqlite3_bind_int64 (st, 5, now_ms);
          if (sqlite3_step (st) != SQLITE_DONE)
            {
              db_error (s, err, "insert run");
              goto done;
            }
          id = sqlite3_last_insert_rowid (s->db);
          sqlite3_finalize (st);
          st = NULL;
        }
      if (prepare (s, &st, "INSERT OR IGNORE INTO seen_runs (id) VALUES (?1)", err) < 0)
        goto done;
      sqlite3_bind_int64 (st, 1, id);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          db_error (s, err, "mark run");
          goto done;
        }
      sqlite3_finalize (st);
      st = NULL;
    }
  if (prepare (
          s, &st,
          "UPDATE runs SET ended_at = ?1 WHERE ended_at IS NULL AND id NOT IN (SELECT id FROM seen_runs)",
          err)
      < 0)
    goto done;
  sqlite3_bind_int64 (st, 1, now_ms);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "close runs");
      goto done;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "sync runs");
  return 0;
}

/* ---- findings ---- */

static char *
col_dup (sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text (st, i);

  return t ? iw_xstrdup ((const char *)t) : NULL;
}

static void
push_change (iw_finding_change **v, size_t *n, size_t *cap, iw_finding_change c)
{
  if (*n == *cap)
    {
      *cap = *cap ? *cap * 2 : 8;
      *v = iw_xreallocarray (*v, *cap, sizeof **v);
    }
  (*v)[(*n)++] = c;
}

int
iw_sqlite_sync_findings (iw_sqlite *s, iw_finding_change **out, size_t *n_out,
                         const iw_store_current_finding *f, size_t n, const char *cause, int64_t now_ms,
                         iw_error **err)
{
  sqlite3_stmt *st = NULL;
  iw_finding_change *changes = NULL;
  size_t nc = 0, cap = 0;
  int ok = 0;

  if (out)
    *out = NULL;
  if (n_out)
    *n_out = 0;
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "sync findings");
  if (exec (s,
            "CREATE TEMP TABLE IF NOT EXISTS seen_findings (id INTEGER PRIMARY KEY); DELETE FROM "
            "seen_findings;",
            err)
      < 0)
    goto done;
  for (size_t i = 0; i < n; i++)
    {
      long long id = 0;

      if (!f[i].reference || !f[i].check || !f[i].severity)
        {
          iw_error_set (err, IW_EINVAL, "finding %zu: reference, check and severity are required", i);
          goto done;
        }
      if (prepare (s, &st,
                   "SELECT id FROM findings WHERE resolved_at IS NULL AND reference = ?1 AND check_name = ?2",
                   err)
          < 0)
        goto done;
      bind_text (st, 1, f[i].reference);
      bind_text (st, 2, f[i].check);
      if (sqlite3_step (st) == SQLITE_ROW)
        id = sqlite3_column_int64 (st, 0);
      sqlite3_finalize (st);
      st = NULL;
      if (id)
        {
          /* Still open: keep its latest wording and severity. */
          if (prepare (s, &st,
                       "UPDATE findings SET severity = ?1, message = ?2, workloads = ?3 WHERE id = ?4", err)
              < 0)
            goto done;
          bind_text (st, 1, f[i].severity);
          bind_text (st, 2, f[i].message);
          bind_text (st, 3, f[i].workloads);
          sqlite3_bind_int64 (st, 4, id);
        }
      else
        {
          if (prepare (
                  s, &st,
                  "INSERT INTO findings (reference, check_name, severity, message, workloads, opened_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                  err)
              < 0)
            goto done;
          bind_text (st, 1, f[i].reference);
          bind_text (st, 2, f[i].check);
          bind_text (st, 3, f[i].severity);
          bind_text (st, 4, f[i].message);
          bind_text (st, 5, f[i].workloads);
          sqlite3_bind_int64 (st, 6, now_ms);
        }
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          db_error (s, err, "write finding");
          goto done;
        }
      sqlite3_finalize (st);
      st = NULL;
      if (!id)
        {
          id = sqlite3_last_insert_rowid (s->db);
          push_change (&changes, &nc, &cap,
                       (iw_finding_change){ true, iw_xstrdup (f[i].reference), iw_xstrdup (f[i].check),
                                            iw_xstrdup (f[i].severity), iw_xstrdup0 (f[i].message),
                                            iw_xstrdup0 (f[i].workloads), NULL, now_ms, 0 });
        }
      if (prepare (s, &st, "INSERT OR IGNORE INTO seen_findings (id) VALUES (?1)", err) < 0)
        goto done;
      sqlite3_bind_int64 (st, 1, id);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          db_error (s, err, "mark finding");
          goto done;
        }
      sqlite3_finalize (st);
      st = NULL;
    }
  /* What is open and was not reported any more is resolved now. */
  if (prepare (s, &st,
               "SELECT id, reference, check_name, severity, message, workloads, opened_at FROM findings "
               "WHERE resolved_at IS NULL AND id NOT IN (SELECT id FROM seen_findings)",
               err)
      < 0)
    goto done;
  while (sqlite3_step (st) == SQLITE_ROW)
    push_change (&changes, &nc, &cap,
                 (iw_finding_change){ false, col_dup (st, 1), col_dup (st, 2), col_dup (st, 3),
                                      col_dup (st, 4), col_dup (st, 5), iw_xstrdup0 (cause),
                                      sqlite3_column_int64 (st, 6), now_ms });
  sqlite3_finalize (st);
  st = NULL;
  if (prepare (s, &st,
               "UPDATE findings SET resolved_at = ?1, resolution = ?2 "
               "WHERE resolved_at IS NULL AND id NOT IN (SELECT id FROM seen_findings)",
               err)
      < 0)
    goto done;
  sqlite3_bind_int64 (st, 1, now_ms);
  bind_text (st, 2, cause);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "resolve findings");
      goto done;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    {
      iw_finding_changes_free (changes, nc);
      return iw_error_wrap (err, "sync findings");
    }
  if (out)
    {
      *out = changes;
      *n_out = nc;
    }
  else
    iw_finding_changes_free (changes, nc);
  return 0;
}

int
iw_sqlite_mttr (iw_sqlite *s, iw_mttr **out, size_t *n_out, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  iw_mttr *v = NULL;
  size_t n = 0, cap = 0;
  int r = -1;

  *out = NULL;
  *n_out = 0;
  pthread_mutex_lock (&s->lock);
  if (prepare (s, &st,
               "SELECT check_name, SUM(resolved_at IS NOT NULL), SUM(resolved_at IS NULL), "
               "TOTAL(resolved_at - opened_at) FILTER (WHERE resolved_at IS NOT NULL), "
               "MAX(resolved_at - opened_at) FILTER (WHERE resolved_at IS NOT NULL) "
               "FROM findings GROUP BY check_name ORDER BY check_name",
               err)
      < 0)
    goto done;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      iw_mttr m = { 0 };

      m.check = col_dup (st, 0);
      m.resolved = sqlite3_column_int64 (st, 1);
      m.open = sqlite3_column_int64 (st, 2);
      m.sum_s = sqlite3_column_double (st, 3) / 1000.0;
      m.max_s = sqlite3_column_double (st, 4) / 1000.0;
      m.mean_s = m.resolved ? m.sum_s / (double)m.resolved : 0.0;
      if (n == cap)
        {
          cap = cap ? cap * 2 : 8;
          v = iw_xreallocarray (v, cap, sizeof *v);
        }
      v[n++] = m;
    }
  *out = iw_steal (&v);
  *n_out = n;
  r = 0;
done:
  sqlite3_finalize (st);
  pthread_mutex_unlock (&s->lock);
  iw_mttr_free (v, n);
  return r < 0 ? iw_error_wrap (err, "compute MTTR") : 0;
}

/* ---- inbox ---- */

int
iw_sqlite_inbox_add (iw_sqlite *s, bool *out_new, const char *event_id, const char *provider,
                     const char *payload, int64_t now_ms, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int ok = 0;

  *out_new = false;
  if (!event_id || !provider || !payload)
    return iw_error_set (err, IW_EINVAL, "inbox: event id, provider and payload are required");
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "store event %s", event_id);
  if (prepare (
          s, &st,
          "INSERT OR IGNORE INTO inbox (event_id, provider, payload, received_at) VALUES (?1, ?2, ?3, ?4)",
          err)
      < 0)
    goto done;
  bind_text (st, 1, event_id);
  bind_text (st, 2, provider);
  bind_text (st, 3, payload);
  sqlite3_bind_int64 (st, 4, now_ms);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "insert event");
      goto done;
    }
  *out_new = sqlite3_changes (s->db) > 0;
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    {
      *out_new = false;
      return iw_error_wrap (err, "store event %s", event_id);
    }
  return 0;
}

int
iw_sqlite_inbox_pending (iw_sqlite *s, json_t **out, size_t limit, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  json_t *a = json_array ();
  int r = -1;

  *out = NULL;
  pthread_mutex_lock (&s->lock);
  if (prepare (s, &st,
               "SELECT event_id, provider, payload, received_at FROM inbox WHERE done_at IS NULL "
               "ORDER BY received_at, rowid LIMIT ?1",
               err)
      < 0)
    goto done;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64)limit);
  while (sqlite3_step (st) == SQLITE_ROW)
    json_array_append_new (a,
                           json_pack ("{s:s, s:s, s:s, s:I}", "id", sqlite3_column_text (st, 0), "provider",
                                      sqlite3_column_text (st, 1), "payload", sqlite3_column_text (st, 2),
                                      "receivedAt", (json_int_t)sqlite3_column_int64 (st, 3)));
  *out = iw_steal (&a);
  r = 0;
done:
  sqlite3_finalize (st);
  pthread_mutex_unlock (&s->lock);
  json_decref (a);
  return r < 0 ? iw_error_wrap (err, "list pending events") : 0;
}

int
iw_sqlite_inbox_done (iw_sqlite *s, const char *event_id, int64_t now_ms, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int ok = 0;

  if (begin (s, err) < 0)
    return iw_error_wrap (err, "finish event %s", event_id);
  if (prepare (s, &st, "UPDATE inbox SET done_at = ?1 WHERE event_id = ?2 AND done_at IS NULL", err) < 0)
    goto done;
  sqlite3_bind_int64 (st, 1, now_ms);
  bind_text (st, 2, event_id);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "update event");
      goto done;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "finish event %s", event_id);
  return 0;
}

int
iw_sqlite_inbox_done_before (iw_sqlite *s, int64_t received_ms, int64_t now_ms, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int ok = 0;

  if (begin (s, err) < 0)
    return iw_error_wrap (err, "finish events");
  if (prepare (s, &st, "UPDATE inbox SET done_at = ?1 WHERE done_at IS NULL AND received_at <= ?2", err) < 0)
    goto done;
  sqlite3_bind_int64 (st, 1, now_ms);
  sqlite3_bind_int64 (st, 2, received_ms);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (s, err, "update events");
      goto done;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "finish events");
  return 0;
}

int
iw_sqlite_inbox_count (iw_sqlite *s, long *out_total, long *out_pending, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  int r = -1;

  *out_total = *out_pending = 0;
  pthread_mutex_lock (&s->lock);
  if (prepare (s, &st, "SELECT COUNT(*), COUNT(*) - COUNT(done_at) FROM inbox", err) < 0)
    goto done;
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      *out_total = (long)sqlite3_column_int64 (st, 0);
      *out_pending = (long)sqlite3_column_int64 (st, 1);
    }
  r = 0;
done:
  sqlite3_finalize (st);
  pthread_mutex_unlock (&s->lock);
  return r < 0 ? iw_error_wrap (err, "count events") : 0;
}

/* ---- history ---- */

static void
put_time (json_t *o, const char *key, sqlite3_stmt *st, int i)
{
  if (sqlite3_column_type (st, i) == SQLITE_NULL)
    json_object_set_new (o, key, json_null ());
  else
    json_object_set_new (o, key, json_integer ((json_int_t)sqlite3_column_int64 (st, i)));
}

static void
put_text (json_t *o, const char *key, sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text (st, i);

  json_object_set_new (o, key, t ? json_string ((const char *)t) : json_null ());
}

int
iw_sqlite_history (iw_sqlite *s, json_t **out, const char *reference, size_t limit, iw_error **err)
{
  sqlite3_stmt *st = NULL;
  json_t *doc = json_object (), *tags = json_array (), *runs = json_array (), *findings = json_array ();
  char *repo = NULL, *tag = NULL;
  int r = -1;

  *out = NULL;
  json_object_set (doc, "tags", tags);
  json_object_set (doc, "runs", runs);
  json_object_set (doc, "findings", findings);
  if (reference)
    iw_store_split_reference (reference, &repo, &tag);
  pthread_mutex_lock (&s->lock);
  if (prepare (s, &st,
               "SELECT repository, tag, digest, first_seen, last_seen, rollback, previous_digest "
               "FROM tag_observations WHERE (?1 IS NULL OR (repository = ?1 AND tag = ?2)) "
               "ORDER BY id DESC LIMIT ?3",
               err)
      < 0)
    goto done;
  bind_text (st, 1, repo);
  bind_text (st, 2, tag ? tag : "latest");
  sqlite3_bind_int64 (st, 3, (sqlite3_int64)limit);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      json_t *o = json_object ();

      put_text (o, "repository", st, 0);
      put_text (o, "tag", st, 1);
      put_text (o, "digest", st, 2);
      put_time (o, "firstSeen", st, 3);
      put_time (o, "lastSeen", st, 4);
      json_object_set_new (o, "rollback", json_boolean (sqlite3_column_int (st, 5)));
      put_text (o, "previousDigest", st, 6);
      json_array_append_new (tags, o);
    }
  sqlite3_finalize (st);
  st = NULL;
  if (prepare (s, &st,
               "SELECT workload, container, reference, digest, started_at, ended_at FROM runs "
               "WHERE ?1 IS NULL OR reference = ?1 ORDER BY id DESC LIMIT ?2",
               err)
      < 0)
    goto done;
  bind_text (st, 1, reference);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64)limit);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      json_t *o = json_object ();

      put_text (o, "workload", st, 0);
      put_text (o, "container", st, 1);
      put_text (o, "reference", st, 2);
      put_text (o, "digest", st, 3);
      put_time (o, "startedAt", st, 4);
      put_time (o, "endedAt", st, 5);
      json_array_append_new (runs, o);
    }
  sqlite3_finalize (st);
  st = NULL;
  if (prepare (
          s, &st,
          "SELECT reference, check_name, severity, message, workloads, opened_at, resolved_at, resolution "
          "FROM findings WHERE ?1 IS NULL OR reference = ?1 ORDER BY id DESC LIMIT ?2",
          err)
      < 0)
    goto done;
  bind_text (st, 1, reference);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64)limit);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      json_t *o = json_object ();

      put_text (o, "reference", st, 0);
      put_text (o, "check", st, 1);
      put_text (o, "severity", st, 2);
      put_text (o, "message", st, 3);
      put_text (o, "workloads", st, 4);
      put_time (o, "openedAt", st, 5);
      put_time (o, "resolvedAt", st, 6);
      put_text (o, "resolution", st, 7);
      json_array_append_new (findings, o);
    }
  *out = iw_steal (&doc);
  r = 0;
done:
  sqlite3_finalize (st);
  pthread_mutex_unlock (&s->lock);
  free (repo);
  free (tag);
  json_decref (tags);
  json_decref (runs);
  json_decref (findings);
  json_decref (doc);
  return r < 0 ? iw_error_wrap (err, "read history") : 0;
}

int
iw_sqlite_prune (iw_sqlite *s, int64_t cutoff_ms, iw_error **err)
{
  static const char *const sql[] = {
    "DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < ?1",
    "DELETE FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?1",
    /* A superseded observation ended when the next one began. */
    ("DELETE FROM tag_observations WHERE last_seen < ?1 AND id < (SELECT MAX(id) FROM tag_observations x "
     "WHERE x.repository = tag_observations.repository AND x.tag = tag_observations.tag)"),
    "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ?1",
  };
  sqlite3_stmt *st = NULL;
  int ok = 0;

  if (begin (s, err) < 0)
    return iw_error_wrap (err, "prune");
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
    {
      if (prepare (s, &st, sql[i], err) < 0)
        goto done;
      sqlite3_bind_int64 (st, 1, cutoff_ms);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          db_error (s, err, "delete");
          goto done;
        }
      sqlite3_finalize (st);
      st = NULL;
    }
  ok = 1;
done:
  sqlite3_finalize (st);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "prune");
  return 0;
}
