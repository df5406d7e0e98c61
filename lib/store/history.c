/*
 * history.c - the store's front: the URL picks the backend (SQLite or
 * PostgreSQL), every call is handed to it; plus what both share.
 */
#include "store/backend.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct iw_store
{
  iw_sqlite *sq;
  iw_pg *pg;
};

int
iw_store_open (iw_store **out, const char *url, const iw_store_options *opts, iw_error **err)
{
  iw_store_options defaults = IW_STORE_OPTIONS_INIT;
  iw_store *s;
  const char *path = url;
  int r;

  *out = NULL;
  if (opts == NULL)
    opts = &defaults;
  if (url == NULL || *url == '\0')
    return iw_error_set (err, IW_EINVAL, "empty database URL");
  s = iw_xcalloc (1, sizeof *s);
  if (strncmp (url, "postgres://", 11) == 0 || strncmp (url, "postgresql://", 13) == 0)
    r = iw_pg_open (&s->pg, url, opts, err);
  else
    {
      if (strncmp (url, "sqlite:", 7) == 0)
        path = url + 7;
      else if (strstr (url, "://") != NULL)
        {
          free (s);
          return iw_error_set (err, IW_EUNSUPPORTED,
                               "unknown database URL scheme (use sqlite:PATH or postgres://...)");
        }
      if (*path == '\0')
        {
          free (s);
          return iw_error_set (err, IW_EINVAL, "database URL \"%s\" has no path", url);
        }
      r = iw_sqlite_open (&s->sq, path, opts, err);
    }
  if (r < 0)
    {
      free (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
iw_store_free (iw_store *s)
{
  if (s == NULL)
    return;
  iw_sqlite_free (s->sq);
  iw_pg_free (s->pg);
  free (s);
}

int
iw_store_schema_version (iw_store *s)
{
  return s->pg ? iw_pg_schema_version (s->pg) : iw_sqlite_schema_version (s->sq);
}

int
iw_store_observe_tag (iw_store *s, iw_tag_change *out, const char *repository, const char *tag,
                      const char *digest, int64_t now_ms, iw_error **err)
{
  return s->pg ? iw_pg_observe_tag (s->pg, out, repository, tag, digest, now_ms, err)
               : iw_sqlite_observe_tag (s->sq, out, repository, tag, digest, now_ms, err);
}

int
iw_store_rollbacks (iw_store *s, json_t **out, iw_error **err)
{
  return s->pg ? iw_pg_rollbacks (s->pg, out, err) : iw_sqlite_rollbacks (s->sq, out, err);
}

int
iw_store_sync_runs (iw_store *s, const iw_store_run *runs, size_t n, int64_t now_ms, iw_error **err)
{
  return s->pg ? iw_pg_sync_runs (s->pg, runs, n, now_ms, err)
               : iw_sqlite_sync_runs (s->sq, runs, n, now_ms, err);
}

int
iw_store_sync_findings (iw_store *s, iw_finding_change **out, size_t *n_out,
                        const iw_store_current_finding *f, size_t n, const char *cause, int64_t now_ms,
                        iw_error **err)
{
  return s->pg ? iw_pg_sync_findings (s->pg, out, n_out, f, n, cause, now_ms, err)
               : iw_sqlite_sync_findings (s->sq, out, n_out, f, n, cause, now_ms, err);
}

int
iw_store_mttr (iw_store *s, iw_mttr **out, size_t *n_out, iw_error **err)
{
  return s->pg ? iw_pg_mttr (s->pg, out, n_out, err) : iw_sqlite_mttr (s->sq, out, n_out, err);
}

int
iw_store_inbox_add (iw_store *s, bool *out_new, const char *event_id, const char *provider,
                    const char *payload, int64_t now_ms, iw_error **err)
{
  return s->pg ? iw_pg_inbox_add (s->pg, out_new, event_id, provider, payload, now_ms, err)
               : iw_sqlite_inbox_add (s->sq, out_new, event_id, provider, payload, now_ms, err);
}

int
iw_store_inbox_pending (iw_store *s, json_t **out, size_t limit, iw_error **err)
{
  return s->pg ? iw_pg_inbox_pending (s->pg, out, limit, err)
               : iw_sqlite_inbox_pending (s->sq, out, limit, err);
}

int
iw_store_inbox_done (iw_store *s, const char *event_id, int64_t now_ms, iw_error **err)
{
  return s->pg ? iw_pg_inbox_done (s->pg, event_id, now_ms, err)
               : iw_sqlite_inbox_done (s->sq, event_id, now_ms, err);
}

int
iw_store_inbox_done_before (iw_store *s, int64_t received_ms, int64_t now_ms, iw_error **err)
{
  return s->pg ? iw_pg_inbox_done_before (s->pg, received_ms, now_ms, err)
               : iw_sqlite_inbox_done_before (s->sq, received_ms, now_ms, err);
}

int
iw_store_inbox_count (iw_store *s, long *out_total, long *out_pending, iw_error **err)
{
  return s->pg ? iw_pg_inbox_count (s->pg, out_total, out_pending, err)
               : iw_sqlite_inbox_count (s->sq, out_total, out_pending, err);
}

int
iw_store_history (iw_store *s, json_t **out, const char *reference, size_t limit, iw_error **err)
{
  return s->pg ? iw_pg_history (s->pg, out, reference, limit, err)
               : iw_sqlite_history (s->sq, out, reference, limit, err);
}

int
iw_store_prune (iw_store *s, int64_t cutoff_ms, iw_error **err)
{
  return s->pg ? iw_pg_prune (s->pg, cutoff_ms, err) : iw_sqlite_prune (s->sq, cutoff_ms, err);
}

int64_t
iw_store_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
iw_tag_change_name (iw_tag_change c)
{
  switch (c)
    {
    case IW_TAG_SAME:
      return "same";
    case IW_TAG_NEW:
      return "new";
    case IW_TAG_MOVED:
      return "moved";
    case IW_TAG_ROLLBACK:
      return "rollback";
    }
  return "?";
}

void
iw_finding_changes_free (iw_finding_change *c, size_t n)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    {
      free (c[i].reference);
      free (c[i].check);
      free (c[i].severity);
      free (c[i].message);
      free (c[i].workloads);
      free (c[i].resolution);
    }
  free (c);
}

void
iw_mttr_free (iw_mttr *m, size_t n)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free (m[i].check);
  free (m);
}

/* Split "host/path:tag" into repository and tag; the tag is the part
 * after the last ':' that follows the last '/'. */
void
iw_store_split_reference (const char *ref, char **repo, char **tag)
{
  const char *at = strchr (ref, '@');
  size_t len = at ? (size_t)(at - ref) : strlen (ref);
  const char *slash = memrchr (ref, '/', len);
  const char *colon = memrchr (slash ? slash : ref, ':', len - (size_t)((slash ? slash : ref) - ref));

  if (colon)
    {
      *repo = iw_xstrndup (ref, (size_t)(colon - ref));
      *tag = iw_xstrndup (colon + 1, len - (size_t)(colon - ref) - 1);
    }
  else
    {
      *repo = iw_xstrndup (ref, len);
      *tag = NULL;
    }
}
