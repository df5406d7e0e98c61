/*
 * postgres.c - the PostgreSQL backend of the serve history (see store.h),
 * through libpq, for fleets of clusters sharing one history.
 *
 * The same schema and semantics as sqlite.c: one connection guarded by a
 * mutex, every write in one transaction, versioned migrations (table
 * imgwatch_schema, taken under an advisory lock so two daemons starting
 * at once migrate once).  Parameters are always bound ($1...), never
 * spliced into SQL.  Error messages carry the server's text; libpq never
 * echoes the password.
 */
#include "store/backend.h"
#include "util/mem.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iw_pg
{
  PGconn *db;
  pthread_mutex_t lock;
  int version;
};

static const char *const migrations[] = {
  /* 1: tag observations, runs, findings, inbox. */
  "CREATE TABLE tag_observations ("
  "  id BIGSERIAL PRIMARY KEY,"
  "  repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,"
  "  first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
  "  rollback BOOLEAN NOT NULL DEFAULT false, previous_digest TEXT);"
  "CREATE INDEX tag_observations_by_tag ON tag_observations (repository, tag, id);"
  "CREATE TABLE runs ("
  "  id BIGSERIAL PRIMARY KEY,"
  "  workload TEXT NOT NULL, container TEXT NOT NULL, reference TEXT NOT NULL, digest TEXT NOT NULL,"
  "  started_at BIGINT NOT NULL, ended_at BIGINT);"
  "CREATE INDEX runs_open ON runs (ended_at);"
  "CREATE INDEX runs_by_reference ON runs (reference, id);"
  "CREATE TABLE findings ("
  "  id BIGSERIAL PRIMARY KEY,"
  "  reference TEXT NOT NULL, check_name TEXT NOT NULL, severity TEXT NOT NULL,"
  "  message TEXT, workloads TEXT,"
  "  opened_at BIGINT NOT NULL, resolved_at BIGINT, resolution TEXT);"
  "CREATE UNIQUE INDEX findings_open ON findings (reference, check_name) WHERE resolved_at IS NULL;"
  "CREATE INDEX findings_by_reference ON findings (reference, id);"
  "CREATE TABLE inbox ("
  "  event_id TEXT PRIMARY KEY, provider TEXT NOT NULL, payload TEXT NOT NULL,"
  "  received_at BIGINT NOT NULL, done_at BIGINT);"
  "CREATE INDEX inbox_pending ON inbox (done_at, received_at);",
  /* 2: MTTR per check reads resolved findings by check. */
  "CREATE INDEX findings_by_check ON findings (check_name, resolved_at);",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* Up to 8 parameters, as text. */
typedef struct params
{
  const char *v[8];
  char num[8][24];
  int n;
} params;

static void
p_text (params *p, const char *v)
{
  p->v[p->n++] = v;
}

static void
p_int (params *p, long long v)
{
  snprintf (p->num[p->n], sizeof p->num[p->n], "%lld", v);
  p->v[p->n] = p->num[p->n];
  p->n++;
}

static int
pg_error (iw_pg *s, iw_error **err, const char *what, PGresult *res)
{
  const char *msg = res ? PQresultErrorMessage (res) : "";
  char *m;
  size_t n;

  if (msg == NULL || *msg == '\0')
    msg = PQerrorMessage (s->db);
  m = iw_xstrdup (msg);
  n = strlen (m);
  while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
    m[--n] = '\0';
  iw_error_set (err, IW_EIO, "%s: %s", what, m);
  free (m);
  PQclear (res);
  return -1;
}

/* Run sql with p; *out (may be NULL) receives the result of a query. */
static int
run (iw_pg *s, PGresult **out, const char *sql, const params *p, iw_error **err)
{
  PGresult *res = PQexecParams (s->db, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus (res);

  if (out)
    *out = NULL;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return pg_error (s, err, "query", res);
  if (out)
    *out = res;
  else
    PQclear (res);
  return 0;
}

static int
begin (iw_pg *s, iw_error **err)
{
  pthread_mutex_lock (&s->lock);
  if (run (s, NULL, "BEGIN", NULL, err) < 0)
    {
      pthread_mutex_unlock (&s->lock);
      return -1;
    }
  return 0;
}

static int
end (iw_pg *s, int ok, iw_error **err)
{
  int r = 0;

  if (ok)
    r = run (s, NULL, "COMMIT", NULL, err);
  if (!ok || r < 0)
    {
      PQclear (PQexec (s->db, "ROLLBACK"));
      r = -1;
    }
  pthread_mutex_unlock (&s->lock);
  return r;
}

static long long
col_int (PGresult *res, int row, int col)
{
  return PQgetisnull (res, row, col) ? 0 : strtoll (PQgetvalue (res, row, col), NULL, 10);
}

static const char *
col_text (PGresult *res, int row, int col)
{
  return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

static json_t *
j_text (PGresult *res, int row, int col)
{
  const char *t = col_text (res, row, col);

  return t ? json_string (t) : json_null ();
}

static json_t *
j_int (PGresult *res, int row, int col)
{
  return PQgetisnull (res, row, col) ? json_null () : json_integer ((json_int_t)col_int (res, row, col));
}

static int
migrate (iw_pg *s, iw_error **err)
{
  PGresult *res = NULL;
  int v = 0, ok = 0;

  if (begin (s, err) < 0)
    return -1;
  /* One migrator at a time across daemons sharing the database. */
  if (run (s, NULL, "SELECT pg_advisory_xact_lock(7305926)", NULL, err) < 0
      || run (s, NULL, "CREATE TABLE IF NOT EXISTS imgwatch_schema (version INTEGER NOT NULL)", NULL, err) < 0
      || run (s, &res, "SELECT max(version) FROM imgwatch_schema", NULL, err) < 0)
    goto done;
  v = (int)col_int (res, 0, 0);
  PQclear (res);
  if (v > (int)N_MIGRATIONS)
    {
      iw_error_set (err, IW_EUNSUPPORTED, "database schema version %d is newer than this build's (%d)", v,
                    (int)N_MIGRATIONS);
      goto done;
    }
  for (; v < (int)N_MIGRATIONS; v++)
    {
      params p = { 0 };
      PGresult *r = PQexec (s->db, migrations[v]);

      if (PQresultStatus (r) != PGRES_COMMAND_OK)
        {
          pg_error (s, err, "migrate", r);
          goto done;
        }
      PQclear (r);
      p_int (&p, v + 1);
      if (run (s, NULL, "INSERT INTO imgwatch_schema (version) VALUES ($1)", &p, err) < 0)
        goto done;
    }
  s->version = v;
  ok = 1;
done:
  return end (s, ok, err) < 0 ? iw_error_wrap (err, "migrate to version %d", v + 1) : 0;
}

/* Notices ("relation already exists, skipping") are not for the log. */
static void
quiet (void *arg, const char *message)
{
  (void)arg;
  (void)message;
}

int
iw_pg_open (iw_pg **out, const char *conninfo, const iw_store_options *opts, iw_error **err)
{
  iw_pg *s = iw_xcalloc (1, sizeof *s);

  (void)opts;
  *out = NULL;
  pthread_mutex_init (&s->lock, NULL);
  s->db = PQconnectdb (conninfo);
  if (s->db == NULL || PQstatus (s->db) != CONNECTION_OK)
    {
      char *m = iw_xstrdup (s->db ? PQerrorMessage (s->db) : "out of memory");
      size_t n = strlen (m);

      while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
      iw_error_set (err, IW_EIO, "connect to PostgreSQL: %s", m);
      free (m);
      iw_pg_free (s);
      return -1;
    }
  PQsetNoticeProcessor (s->db, quiet, NULL);
  if (migrate (s, err) < 0)
    {
      iw_pg_free (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
iw_pg_free (iw_pg *s)
{
  if (s == NULL)
    return;
  PQfinish (s->db);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

int
iw_pg_schema_version (iw_pg *s)
{
  return s->version;
}

int
iw_pg_observe_tag (iw_pg *s, iw_tag_change *out, const char *repository, const char *tag, const char *digest,
                   int64_t now_ms, iw_error **err)
{
  iw_tag_change change = IW_TAG_NEW;
  PGresult *res = NULL;
  char *current = NULL;
  long long current_id = 0;
  params p = { 0 };
  int ok = 0;

  if (out)
    *out = IW_TAG_SAME;
  if (!repository || !tag || !digest || !*repository || !*tag || !*digest)
    return iw_error_set (err, IW_EINVAL, "observe tag: repository, tag and digest are required");
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "observe %s:%s", repository, tag);
  p_text (&p, repository);
  p_text (&p, tag);
  if (run (s, &res,
           "SELECT id, digest FROM tag_observations WHERE repository = $1 AND tag = $2 ORDER BY id DESC "
           "LIMIT 1",
           &p, err)
      < 0)
    goto done;
  if (PQntuples (res) == 1)
    {
      current_id = col_int (res, 0, 0);
      current = iw_xstrdup (col_text (res, 0, 1));
    }
  PQclear (res);
  if (current && strcmp (current, digest) == 0)
    {
      params q = { 0 };

      change = IW_TAG_SAME;
      p_int (&q, now_ms);
      p_int (&q, current_id);
      if (run (s, NULL, "UPDATE tag_observations SET last_seen = GREATEST(last_seen, $1) WHERE id = $2", &q,
               err)
          < 0)
        goto done;
    }
  else
    {
      params q = { 0 };

      if (current)
        {
          change = IW_TAG_MOVED;
          p_text (&p, digest);
          if (run (
                  s, &res,
                  "SELECT 1 FROM tag_observations WHERE repository = $1 AND tag = $2 AND digest = $3 LIMIT 1",
                  &p, err)
              < 0)
            goto done;
          if (PQntuples (res) == 1)
            change = IW_TAG_ROLLBACK;
          PQclear (res);
        }
      p_text (&q, repository);
      p_text (&q, tag);
      p_text (&q, digest);
      p_int (&q, now_ms);
      p_text (&q, change == IW_TAG_ROLLBACK ? "true" : "false");
      p_text (&q, current);
      if (run (s, NULL,
               "INSERT INTO tag_observations (repository, tag, digest, first_seen, last_seen, rollback, "
               "previous_digest) VALUES ($1, $2, $3, $4, $4, $5, $6)",
               &q, err)
          < 0)
        goto done;
    }
  ok = 1;
done:
  free (current);
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "observe %s:%s", repository, tag);
  if (out)
    *out = change;
  return 0;
}

int
iw_pg_rollbacks (iw_pg *s, json_t **out, iw_error **err)
{
  PGresult *res = NULL;
  json_t *a;
  int r;

  *out = NULL;
  pthread_mutex_lock (&s->lock);
  r = run (s, &res,
           "SELECT o.repository, o.tag, o.digest, o.previous_digest, o.first_seen FROM tag_observations o "
           "WHERE o.rollback AND o.id = (SELECT MAX(id) FROM tag_observations x "
           "WHERE x.repository = o.repository AND x.tag = o.tag) ORDER BY o.id",
           NULL, err);
  pthread_mutex_unlock (&s->lock);
  if (r < 0)
    return iw_error_wrap (err, "list rollbacks");
  a = json_array ();
  for (int i = 0; i < PQntuples (res); i++)
    json_array_append_new (a, json_pack ("{s:o, s:o, s:o, s:o, s:o}", "repository", j_text (res, i, 0), "tag",
                                         j_text (res, i, 1), "digest", j_text (res, i, 2), "previousDigest",
                                         j_text (res, i, 3), "at", j_int (res, i, 4)));
  PQclear (res);
  *out = a;
  return 0;
}

int
iw_pg_sync_runs (iw_pg *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err)
{
  params t = { 0 };
  int ok = 0;

  if (begin (s, err) < 0)
    return iw_error_wrap (err, "sync runs");
  if (run (s, NULL, "CREATE TEMP TABLE IF NOT EXISTS seen_runs (id BIGINT PRIMARY KEY) ON COMMIT DELETE ROWS",
           NULL, err)
      < 0)
    goto done;
  for (size_t i = 0; i < n; i++)
    {
      const iw_store_run *r = &runs[i];
      params p = { 0 };
      PGresult *res = NULL;

      if (!r->workload || !r->container || !r->reference || !r->digest)
        {
          iw_error_set (err, IW_EINVAL, "run %zu: workload, container, reference and digest are required", i);
          goto done;
        }
      p_text (&p, r->workload);
      p_text (&p, r->container);
      p_text (&p, r->reference);
      p_text (&p, r->digest);
      p_int (&p, now_ms);
      /* The open run, or a new one; either way its id is marked seen. */
      if (run (s, &res,
               "WITH cur AS (SELECT id FROM runs WHERE ended_at IS NULL AND workload = $1 AND container = $2 "
               "AND reference = $3 AND digest = $4 LIMIT 1), "
               "ins AS (INSERT INTO runs (workload, container, reference, digest, started_at) "
               "SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM cur) RETURNING id) "
               "INSERT INTO seen_runs (id) SELECT id FROM cur UNION ALL SELECT id FROM ins "
               "ON CONFLICT DO NOTHING",
               &p, err)
          < 0)
        goto done;
      PQclear (res);
    }
  p_int (&t, now_ms);
  if (run (s, NULL,
           "UPDATE runs SET ended_at = $1 WHERE ended_at IS NULL AND id NOT IN (SELECT id FROM seen_runs)",
           &t, err)
      < 0)
    goto done;
  ok = 1;
done:
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "sync runs");
  return 0;
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
iw_pg_sync_findings (iw_pg *s, iw_finding_change **out, size_t *n_out, const iw_store_current_finding *f,
                     size_t n, const char *cause, int64_t now_ms, iw_error **err)
{
  iw_finding_change *changes = NULL;
  size_t nc = 0, cap = 0;
  PGresult *res = NULL;
  params t = { 0 };
  int ok = 0;

  if (out)
    *out = NULL;
  if (n_out)
    *n_out = 0;
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "sync findings");
  if (run (s, NULL,
           "CREATE TEMP TABLE IF NOT EXISTS seen_findings (id BIGINT PRIMARY KEY) ON COMMIT DELETE ROWS",
           NULL, err)
      < 0)
    goto done;
  for (size_t i = 0; i < n; i++)
    {
      params p = { 0 };
      bool opened;

      if (!f[i].reference || !f[i].check || !f[i].severity)
        {
          iw_error_set (err, IW_EINVAL, "finding %zu: reference, check and severity are required", i);
          goto done;
        }
      p_text (&p, f[i].reference);
      p_text (&p, f[i].check);
      p_text (&p, f[i].severity);
      p_text (&p, f[i].message);
      p_text (&p, f[i].workloads);
      p_int (&p, now_ms);
      /* Still open: keep its latest wording; else open it.  Returns the
       * id and whether it was inserted. */
      if (run (
              s, &res,
              "WITH upd AS (UPDATE findings SET severity = $3, message = $4, workloads = $5 "
              "WHERE resolved_at IS NULL AND reference = $1 AND check_name = $2 RETURNING id), "
              "ins AS (INSERT INTO findings (reference, check_name, severity, message, workloads, opened_at) "
              "SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM upd) RETURNING id) "
              "SELECT id, false FROM upd UNION ALL SELECT id, true FROM ins",
              &p, err)
          < 0)
        goto done;
      if (PQntuples (res) != 1)
        {
          PQclear (res);
          iw_error_set (err, IW_EIO, "finding %zu: no row written", i);
          goto done;
        }
      opened = strcmp (PQgetvalue (res, 0, 1), "t") == 0;
      {
        params q = { 0 };

        p_text (&q, PQgetvalue (res, 0, 0));
        if (run (s, NULL, "INSERT INTO seen_findings (id) VALUES ($1) ON CONFLICT DO NOTHING", &q, err) < 0)
          {
            PQclear (res);
            goto done;
          }
      }
      PQclear (res);
      if (opened)
        push_change (&changes, &nc, &cap,
                     (iw_finding_change){ true, iw_xstrdup (f[i].reference), iw_xstrdup (f[i].check),
                                          iw_xstrdup (f[i].severity), iw_xstrdup0 (f[i].message),
                                          iw_xstrdup0 (f[i].workloads), NULL, now_ms, 0 });
    }
  p_int (&t, now_ms);
  p_text (&t, cause);
  if (run (s, &res,
           "UPDATE findings SET resolved_at = $1, resolution = $2 "
           "WHERE resolved_at IS NULL AND id NOT IN (SELECT id FROM seen_findings) "
           "RETURNING reference, check_name, severity, message, workloads, opened_at",
           &t, err)
      < 0)
    goto done;
  for (int i = 0; i < PQntuples (res); i++)
    push_change (&changes, &nc, &cap,
                 (iw_finding_change){ false, iw_xstrdup0 (col_text (res, i, 0)),
                                      iw_xstrdup0 (col_text (res, i, 1)), iw_xstrdup0 (col_text (res, i, 2)),
                                      iw_xstrdup0 (col_text (res, i, 3)), iw_xstrdup0 (col_text (res, i, 4)),
                                      iw_xstrdup0 (cause), (int64_t)col_int (res, i, 5), now_ms });
  PQclear (res);
  ok = 1;
done:
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
iw_pg_mttr (iw_pg *s, iw_mttr **out, size_t *n_out, iw_error **err)
{
  PGresult *res = NULL;
  iw_mttr *v;
  int r, n;

  *out = NULL;
  *n_out = 0;
  pthread_mutex_lock (&s->lock);
  r = run (s, &res,
           "SELECT check_name, COUNT(*) FILTER (WHERE resolved_at IS NOT NULL), "
           "COUNT(*) FILTER (WHERE resolved_at IS NULL), "
           "COALESCE(SUM(resolved_at - opened_at) FILTER (WHERE resolved_at IS NOT NULL), 0), "
           "COALESCE(MAX(resolved_at - opened_at) FILTER (WHERE resolved_at IS NOT NULL), 0) "
           "FROM findings GROUP BY check_name ORDER BY check_name",
           NULL, err);
  pthread_mutex_unlock (&s->lock);
  if (r < 0)
    return iw_error_wrap (err, "compute MTTR");
  n = PQntuples (res);
  v = iw_xcalloc ((size_t)n + 1, sizeof *v);
  for (int i = 0; i < n; i++)
    {
      v[i].check = iw_xstrdup (col_text (res, i, 0));
      v[i].resolved = (long)col_int (res, i, 1);
      v[i].open = (long)col_int (res, i, 2);
      v[i].sum_s = (double)col_int (res, i, 3) / 1000.0;
      v[i].max_s = (double)col_int (res, i, 4) / 1000.0;
      v[i].mean_s = v[i].resolved ? v[i].sum_s / (double)v[i].resolved : 0.0;
    }
  PQclear (res);
  *out = v;
  *n_out = (size_t)n;
  return 0;
}

int
iw_pg_inbox_add (iw_pg *s, bool *out_new, const char *event_id, const char *provider, const char *payload,
                 int64_t now_ms, iw_error **err)
{
  PGresult *res = NULL;
  params p = { 0 };
  int r;

  *out_new = false;
  if (!event_id || !provider || !payload)
    return iw_error_set (err, IW_EINVAL, "inbox: event id, provider and payload are required");
  p_text (&p, event_id);
  p_text (&p, provider);
  p_text (&p, payload);
  p_int (&p, now_ms);
  pthread_mutex_lock (&s->lock);
  /* One statement: its own transaction, committed before it returns. */
  r = run (s, &res,
           "INSERT INTO inbox (event_id, provider, payload, received_at) VALUES ($1, $2, $3, $4) "
           "ON CONFLICT (event_id) DO NOTHING",
           &p, err);
  pthread_mutex_unlock (&s->lock);
  if (r < 0)
    return iw_error_wrap (err, "store event %s", event_id);
  *out_new = strcmp (PQcmdTuples (res), "1") == 0;
  PQclear (res);
  return 0;
}

int
iw_pg_inbox_pending (iw_pg *s, json_t **out, size_t limit, iw_error **err)
{
  PGresult *res = NULL;
  params p = { 0 };
  json_t *a;
  int r;

  *out = NULL;
  p_int (&p, (long long)limit);
  pthread_mutex_lock (&s->lock);
  r = run (s, &res,
           "SELECT event_id, provider, payload, received_at FROM inbox WHERE done_at IS NULL "
           "ORDER BY received_at, event_id LIMIT $1",
           &p, err);
  pthread_mutex_unlock (&s->lock);
  if (r < 0)
    return iw_error_wrap (err, "list pending events");
  a = json_array ();
  for (int i = 0; i < PQntuples (res); i++)
    json_array_append_new (a, json_pack ("{s:o, s:o, s:o, s:o}", "id", j_text (res, i, 0), "provider",
                                         j_text (res, i, 1), "payload", j_text (res, i, 2), "receivedAt",
                                         j_int (res, i, 3)));
  PQclear (res);
  *out = a;
  return 0;
}

static int
write1 (iw_pg *s, const char *sql, const params *p, const char *what, iw_error **err)
{
  int r;

  pthread_mutex_lock (&s->lock);
  r = run (s, NULL, sql, p, err);
  pthread_mutex_unlock (&s->lock);
  return r < 0 ? iw_error_wrap (err, "%s", what) : 0;
}

int
iw_pg_inbox_done (iw_pg *s, const char *event_id, int64_t now_ms, iw_error **err)
{
  params p = { 0 };

  p_int (&p, now_ms);
  p_text (&p, event_id);
  return write1 (s, "UPDATE inbox SET done_at = $1 WHERE event_id = $2 AND done_at IS NULL", &p,
                 "finish event", err);
}

int
iw_pg_inbox_done_before (iw_pg *s, int64_t received_ms, int64_t now_ms, iw_error **err)
{
  params p = { 0 };

  p_int (&p, now_ms);
  p_int (&p, received_ms);
  return write1 (s, "UPDATE inbox SET done_at = $1 WHERE done_at IS NULL AND received_at <= $2", &p,
                 "finish events", err);
}

int
iw_pg_inbox_count (iw_pg *s, long *out_total, long *out_pending, iw_error **err)
{
  PGresult *res = NULL;
  int r;

  *out_total = *out_pending = 0;
  pthread_mutex_lock (&s->lock);
  r = run (s, &res, "SELECT COUNT(*), COUNT(*) - COUNT(done_at) FROM inbox", NULL, err);
  pthread_mutex_unlock (&s->lock);
  if (r < 0)
    return iw_error_wrap (err, "count events");
  *out_total = (long)col_int (res, 0, 0);
  *out_pending = (long)col_int (res, 0, 1);
  PQclear (res);
  return 0;
}

int
iw_pg_history (iw_pg *s, json_t **out, const char *reference, size_t limit, iw_error **err)
{
  PGresult *tags = NULL, *runs = NULL, *fnd = NULL;
  char *repo = NULL, *tag = NULL;
  params p = { 0 }, q = { 0 };
  json_t *doc, *a;
  int r = -1;

  *out = NULL;
  if (reference)
    iw_store_split_reference (reference, &repo, &tag);
  p_text (&p, repo);
  p_text (&p, tag ? tag : "latest");
  p_int (&p, (long long)limit);
  p_text (&q, reference);
  p_int (&q, (long long)limit);
  pthread_mutex_lock (&s->lock);
  if (run (s, &tags,
           "SELECT repository, tag, digest, first_seen, last_seen, rollback, previous_digest FROM "
           "tag_observations "
           "WHERE ($1::text IS NULL OR (repository = $1 AND tag = $2)) ORDER BY id DESC LIMIT $3",
           &p, err)
          == 0
      && run (s, &runs,
              "SELECT workload, container, reference, digest, started_at, ended_at FROM runs "
              "WHERE $1::text IS NULL OR reference = $1 ORDER BY id DESC LIMIT $2",
              &q, err)
             == 0
      && run (
             s, &fnd,
             "SELECT reference, check_name, severity, message, workloads, opened_at, resolved_at, resolution "
             "FROM findings WHERE $1::text IS NULL OR reference = $1 ORDER BY id DESC LIMIT $2",
             &q, err)
             == 0)
    r = 0;
  pthread_mutex_unlock (&s->lock);
  free (repo);
  free (tag);
  if (r < 0)
    {
      PQclear (tags);
      PQclear (runs);
      return iw_error_wrap (err, "read history");
    }
  doc = json_object ();
  a = json_array ();
  for (int i = 0; i < PQntuples (tags); i++)
    json_array_append_new (
        a, json_pack ("{s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "repository", j_text (tags, i, 0), "tag",
                      j_text (tags, i, 1), "digest", j_text (tags, i, 2), "firstSeen", j_int (tags, i, 3),
                      "lastSeen", j_int (tags, i, 4), "rollback", strcmp (PQgetvalue (tags, i, 5), "t") == 0,
                      "previousDigest", j_text (tags, i, 6)));
  json_object_set_new (doc, "tags", a);
  a = json_array ();
  for (int i = 0; i < PQntuples (runs); i++)
    json_array_append_new (a, json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o}", "workload", j_text (runs, i, 0),
                                         "container", j_text (runs, i, 1), "reference", j_text (runs, i, 2),
                                         "digest", j_text (runs, i, 3), "startedAt", j_int (runs, i, 4),
                                         "endedAt", j_int (runs, i, 5)));
  json_object_set_new (doc, "runs", a);
  a = json_array ();
  for (int i = 0; i < PQntuples (fnd); i++)
    json_array_append_new (a, json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "reference",
                                         j_text (fnd, i, 0), "check", j_text (fnd, i, 1), "severity",
                                         j_text (fnd, i, 2), "message", j_text (fnd, i, 3), "workloads",
                                         j_text (fnd, i, 4), "openedAt", j_int (fnd, i, 5), "resolvedAt",
                                         j_int (fnd, i, 6), "resolution", j_text (fnd, i, 7)));
  json_object_set_new (doc, "findings", a);
  PQclear (tags);
  PQclear (runs);
  PQclear (fnd);
  *out = doc;
  return 0;
}

int
iw_pg_prune (iw_pg *s, int64_t cutoff_ms, iw_error **err)
{
  static const char *const sql[] = {
    "DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < $1",
    "DELETE FROM runs WHERE ended_at IS NOT NULL AND ended_at < $1",
    ("DELETE FROM tag_observations t WHERE last_seen < $1 AND id < (SELECT MAX(id) FROM tag_observations x "
     "WHERE x.repository = t.repository AND x.tag = t.tag)"),
    "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < $1",
  };
  params p = { 0 };
  int ok = 0;

  p_int (&p, cutoff_ms);
  if (begin (s, err) < 0)
    return iw_error_wrap (err, "prune");
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
    if (run (s, NULL, sql[i], &p, err) < 0)
      goto done;
  ok = 1;
done:
  if (end (s, ok, err) < 0)
    return iw_error_wrap (err, "prune");
  return 0;
}
