/*
 * daemon.c - the serve event loop (see daemon.h): record sets from the
 * sources, coalesced change events, and the worker's assess -> history ->
 * publish cycle.
 */
#include "server/daemon.h"
#include "ref/ref.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Distinct references remembered between cycles; beyond, a cycle
 * re-resolves everything (memory stays bounded under a flood). */
#define MAX_PENDING_REFS 4096
/* How long after an event its reference is asked once more. */
#define RECHECK_MS 1000

typedef struct srec
{
  iw_record *rec;
  int refs;
} srec;

typedef struct group
{
  char *source;
  char *pod;
  srec **recs;
  size_t n;
} group;

typedef struct pending
{
  char *ref;
  int64_t received_ms;
  bool second; /* the second look at a reference, not an event */
} pending;

struct iw_daemon
{
  iw_daemon_options o;
  iw_store *store;
  iw_server *server;
  iw_metrics *metrics;
  iw_alerts *alerts;
  pthread_t thread;
  bool started;

  pthread_mutex_t lock; /* guards what follows */
  pthread_cond_t cond;
  bool stop;
  bool dirty;
  bool records_changed; /* not only webhook events since the last cycle */
  bool full_change;     /* a whole source was replaced (or a start, a poke) */
  pending *changed;     /* image keys of the pods changed since the last cycle */
  size_t n_changed;
  bool all_refresh;
  group *groups;
  size_t n_groups, cap_groups;
  pending *pend;
  size_t n_pend;
  /* References named by events, asked again once after RECHECK_MS: a
   * registry may notify before the tag itself points to the new manifest
   * (docker-registry links the tag after the manifest put it announced). */
  pending *recheck;
  size_t n_recheck;
  int64_t recheck_due;  /* monotonic ms; 0 when nothing waits */
  int64_t max_received; /* latest event time covered by the next cycle */
  char *causes;         /* "; "-separated, capped */
  json_t *base;         /* the last full-state assessment (worker only), before rollbacks */
  unsigned long cycles;
};

static const double cycle_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const double ttd_bounds[] = { 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300 };

static void
srec_release (srec *s)
{
  if (s && --s->refs == 0)
    {
      iw_record_free (s->rec);
      free (s);
    }
}

static void
group_clear (group *g)
{
  for (size_t i = 0; i < g->n; i++)
    srec_release (g->recs[i]);
  free (g->recs);
  free (g->source);
  free (g->pod);
}

/* Called with the lock held. */
static void
add_cause (iw_daemon *d, const char *cause)
{
  if (cause == NULL)
    return;
  if (d->causes == NULL)
    d->causes = iw_xstrdup (cause);
  else if (strlen (d->causes) < 512 && strstr (d->causes, cause) == NULL)
    {
      char *c = iw_xasprintf ("%s; %s", d->causes, cause);

      free (d->causes);
      d->causes = c;
    }
}

/* Called with the lock held: drop groups of source (and pod, if given). */
static void
drop_groups (iw_daemon *d, const char *source, const char *pod)
{
  size_t j = 0;

  for (size_t i = 0; i < d->n_groups; i++)
    {
      group *g = &d->groups[i];

      if (strcmp (g->source, source) == 0 && (pod == NULL || (g->pod && strcmp (g->pod, pod) == 0)))
        group_clear (g);
      else
        d->groups[j++] = *g;
    }
  d->n_groups = j;
}

static group *
new_group (iw_daemon *d, const char *source, const char *pod)
{
  group *g;

  if (d->n_groups == d->cap_groups)
    {
      d->cap_groups = d->cap_groups ? d->cap_groups * 2 : 64;
      d->groups = iw_xreallocarray (d->groups, d->cap_groups, sizeof *d->groups);
    }
  g = &d->groups[d->n_groups++];
  memset (g, 0, sizeof *g);
  g->source = iw_xstrdup (source);
  g->pod = iw_xstrdup0 (pod);
  return g;
}

static void
group_add (group *g, iw_record *rec)
{
  srec *s = iw_xcalloc (1, sizeof *s);

  s->rec = rec;
  s->refs = 1;
  g->recs = iw_xreallocarray (g->recs, g->n + 1, sizeof *g->recs);
  g->recs[g->n++] = s;
}

void
iw_daemon_set_records (iw_daemon *d, const char *source, iw_record **recs, size_t n, const char *cause)
{
  group *g;

  pthread_mutex_lock (&d->lock);
  drop_groups (d, source, NULL);
  g = new_group (d, source, NULL);
  for (size_t i = 0; i < n; i++)
    group_add (g, recs[i]);
  d->dirty = true;
  d->records_changed = true;
  d->full_change = true;
  add_cause (d, cause);
  pthread_cond_signal (&d->cond);
  pthread_mutex_unlock (&d->lock);
  free (recs);
}

static char *record_key (const iw_record *r);

/* Called with the lock held: remember that the image of r changed. */
static void
note_changed (iw_daemon *d, const iw_record *r)
{
  char *key = record_key (r);

  if (key == NULL)
    {
      d->full_change = true;
      return;
    }
  for (size_t i = 0; i < d->n_changed; i++)
    if (strcmp (d->changed[i].ref, key) == 0)
      {
        free (key);
        return;
      }
  if (d->n_changed >= MAX_PENDING_REFS)
    {
      d->full_change = true;
      free (key);
      return;
    }
  d->changed = iw_xreallocarray (d->changed, d->n_changed + 1, sizeof *d->changed);
  d->changed[d->n_changed].ref = key;
  d->changed[d->n_changed].received_ms = 0;
  d->changed[d->n_changed].second = true;
  d->n_changed++;
}

void
iw_daemon_set_pod (iw_daemon *d, const char *source, const char *pod, iw_record **recs, size_t n,
                   const char *cause)
{
  pthread_mutex_lock (&d->lock);
  /* A pod may sit in the source's full set (from a list) or in its own
   * group (from an earlier watch event): take it out of both. */
  for (size_t i = 0; i < d->n_groups; i++)
    {
      group *g = &d->groups[i];
      size_t k = 0;

      if (strcmp (g->source, source) != 0 || g->pod != NULL)
        continue;
      for (size_t j = 0; j < g->n; j++)
        {
          const iw_record *r = g->recs[j]->rec;
          char *key = iw_xasprintf ("%s/%s", r->namespace_ ? r->namespace_ : "", r->pod ? r->pod : "");

          if (r->pod && strcmp (key, pod) == 0)
            {
              note_changed (d, r);
              srec_release (g->recs[j]);
            }
          else
            g->recs[k++] = g->recs[j];
          free (key);
        }
      g->n = k;
    }
  for (size_t i = 0; i < d->n_groups; i++)
    if (strcmp (d->groups[i].source, source) == 0 && d->groups[i].pod && strcmp (d->groups[i].pod, pod) == 0)
      for (size_t j = 0; j < d->groups[i].n; j++)
        note_changed (d, d->groups[i].recs[j]->rec);
  drop_groups (d, source, pod);
  if (n)
    {
      group *g = new_group (d, source, pod);

      for (size_t i = 0; i < n; i++)
        {
          note_changed (d, recs[i]);
          group_add (g, recs[i]);
        }
    }
  d->dirty = true;
  d->records_changed = true;
  add_cause (d, cause);
  pthread_cond_signal (&d->cond);
  pthread_mutex_unlock (&d->lock);
  free (recs);
}

void
iw_daemon_on_event (const iw_webhook_event *ev, int64_t received_ms, void *userdata)
{
  iw_daemon *d = userdata;
  char *ref = iw_webhook_event_reference (ev);
  bool found = false;

  pthread_mutex_lock (&d->lock);
  if (ref == NULL)
    d->all_refresh = true; /* no tag or registry named: re-resolve everything */
  else
    {
      for (size_t i = 0; i < d->n_pend; i++)
        if (strcmp (d->pend[i].ref, ref) == 0)
          {
            found = true;
            d->pend[i].second = false; /* a new event: it gets its own second look */
            break;
          }
      if (!found && d->n_pend < MAX_PENDING_REFS)
        {
          d->pend = iw_xreallocarray (d->pend, d->n_pend + 1, sizeof *d->pend);
          d->pend[d->n_pend].ref = iw_steal (&ref);
          d->pend[d->n_pend].received_ms = received_ms;
          d->pend[d->n_pend].second = false;
          d->n_pend++;
        }
      else if (!found)
        d->all_refresh = true;
    }
  if (received_ms > d->max_received)
    d->max_received = received_ms;
  d->dirty = true;
  pthread_cond_signal (&d->cond);
  pthread_mutex_unlock (&d->lock);
  free (ref);
}

void
iw_daemon_poke (iw_daemon *d, bool all_refresh, const char *cause)
{
  pthread_mutex_lock (&d->lock);
  d->dirty = true;
  d->records_changed = true;
  d->full_change = true;
  d->all_refresh = d->all_refresh || all_refresh;
  add_cause (d, cause);
  pthread_cond_signal (&d->cond);
  pthread_mutex_unlock (&d->lock);
}

unsigned long
iw_daemon_cycles (iw_daemon *d)
{
  unsigned long n;

  pthread_mutex_lock (&d->lock);
  n = d->cycles;
  pthread_mutex_unlock (&d->lock);
  return n;
}

/* ---- tag-rollback and the risk order ---- */

static int
sev_rank (const char *s)
{
  static const char *const order[] = { "critical", "high", "medium", "low", "info" };

  for (int i = 0; s && i < 5; i++)
    if (strcmp (s, order[i]) == 0)
      return i;
  return 9;
}

static int
by_risk (const void *a, const void *b)
{
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  bool fx = json_array_size (json_object_get (x, "findings")) > 0;
  bool fy = json_array_size (json_object_get (y, "findings")) > 0;
  const char *rx = json_string_value (json_object_get (x, "reference"));
  const char *ry = json_string_value (json_object_get (y, "reference"));

  if (fx != fy)
    return fx ? -1 : 1;
  if (fx)
    {
      int sx = sev_rank (json_string_value (json_object_get (x, "severity")));
      int sy = sev_rank (json_string_value (json_object_get (y, "severity")));
      size_t wx = json_array_size (json_object_get (x, "workloads"));
      size_t wy = json_array_size (json_object_get (y, "workloads"));

      if (sx != sy)
        return sx - sy;
      if (wx != wy)
        return wx > wy ? -1 : 1;
    }
  return strcmp (rx ? rx : "", ry ? ry : "");
}

void
iw_daemon_result_clear (iw_daemon_result *r)
{
  for (size_t i = 0; i < r->n_tags; i++)
    {
      free (r->tags[i].repository);
      free (r->tags[i].tag);
      free (r->tags[i].digest);
    }
  free (r->tags);
  free (r->json);
  memset (r, 0, sizeof *r);
}

/* Is there an image in the document for repository:tag? */
static bool
listed (json_t *images, const char *repository, const char *tag)
{
  json_t *img;
  size_t i;

  json_array_foreach (images, i, img)
  {
    const char *reg = json_string_value (json_object_get (img, "registry"));
    const char *repo = json_string_value (json_object_get (img, "repository"));
    const char *t = json_string_value (json_object_get (img, "tag"));
    size_t lr = reg ? strlen (reg) : 0;

    if (reg && repo && t && strncmp (repository, reg, lr) == 0 && repository[lr] == '/'
        && strcmp (repository + lr + 1, repo) == 0 && strcmp (t, tag) == 0)
      return true;
  }
  return false;
}

void
iw_daemon_apply_rollbacks (json_t *doc, json_t *rollbacks, const iw_daemon_tag *tags, size_t n_tags)
{
  json_t *images = json_object_get (doc, "images"), *img, *rb;
  size_t i, j;
  bool changed = false;

  if (!json_is_array (images))
    {
      images = json_array ();
      json_object_set_new (doc, "images", images);
    }
  /* A rolled-back running tag whose image was clean gets an entry. */
  json_array_foreach (rollbacks, j, rb)
  {
    const char *rrepo = json_string_value (json_object_get (rb, "repository"));
    const char *rtag = json_string_value (json_object_get (rb, "tag"));
    const char *slash = rrepo ? strchr (rrepo, '/') : NULL;

    if (!rtag || !slash || listed (images, rrepo, rtag))
      continue;
    for (size_t k = 0; k < n_tags; k++)
      if (strcmp (tags[k].repository, rrepo) == 0 && strcmp (tags[k].tag, rtag) == 0)
        {
          char *ref = iw_xasprintf ("%s:%s", rrepo, rtag);
          char *reg = iw_xstrndup (rrepo, (size_t)(slash - rrepo));

          json_array_append_new (
              images, json_pack ("{s:s, s:s, s:s, s:s, s:[], s:s?, s:[], s:[]}", "reference", ref, "registry",
                                 reg, "repository", slash + 1, "tag", rtag, "runningDigests",
                                 "registryDigest", tags[k].digest, "findings", "workloads"));
          free (ref);
          free (reg);
          break;
        }
  }

  json_array_foreach (images, i, img)
  {
    const char *reg = json_string_value (json_object_get (img, "registry"));
    const char *repo = json_string_value (json_object_get (img, "repository"));
    const char *tag = json_string_value (json_object_get (img, "tag"));
    char *name;

    if (!reg || !repo || !tag)
      continue;
    name = iw_xasprintf ("%s/%s", reg, repo);
    json_array_foreach (rollbacks, j, rb)
    {
      const char *rrepo = json_string_value (json_object_get (rb, "repository"));
      const char *rtag = json_string_value (json_object_get (rb, "tag"));
      const char *digest = json_string_value (json_object_get (rb, "digest"));
      const char *prev = json_string_value (json_object_get (rb, "previousDigest"));
      json_t *findings = json_object_get (img, "findings"), *wl, *w, *summary;
      char *msg, *fix;
      size_t k;

      if (!rrepo || !rtag || strcmp (rrepo, name) != 0 || strcmp (rtag, tag) != 0)
        continue;
      wl = json_array ();
      json_array_foreach (json_object_get (img, "workloads"), k, w)
      {
        char *id = iw_xasprintf ("%s/%s/%s", json_string_value (json_object_get (w, "namespace")),
                                 json_string_value (json_object_get (w, "kind")),
                                 json_string_value (json_object_get (w, "name")));
        bool seen = false;
        json_t *x;
        size_t m;

        json_array_foreach (wl, m, x) seen = seen || strcmp (json_string_value (x), id) == 0;
        if (!seen)
          json_array_append_new (wl, json_string (id));
        free (id);
      }
      msg = iw_xasprintf (
          "tag %s moved back to %s, a digest it pointed to before (it was at %s): an older image "
          "may have been replayed",
          tag, digest ? digest : "?", prev ? prev : "?");
      fix = iw_xasprintf (
          "Confirm with the image's owner that %s:%s was meant to go back to %s; if not, push the "
          "intended build again and pin workloads to its digest:\n"
          "  skopeo inspect --format '{{.Digest}}' docker://%s:%s\n"
          "  kubectl -n NAMESPACE set image KIND/NAME CONTAINER=%s@<intended digest>",
          name, tag, digest ? digest : "?", name, tag, name);
      if (!json_is_array (findings))
        {
          findings = json_array ();
          json_object_set_new (img, "findings", findings);
        }
      json_array_append_new (findings,
                             json_pack ("{s:s, s:s, s:s, s:s, s:o}", "check", "tag-rollback", "severity",
                                        "high", "message", msg, "remediation", fix, "workloads", wl));
      free (msg);
      free (fix);
      if (sev_rank (json_string_value (json_object_get (img, "severity"))) > sev_rank ("high"))
        json_object_set_new (img, "severity", json_string ("high"));
      summary = json_object_get (doc, "summary");
      if (json_is_object (summary))
        json_object_set_new (summary, "high",
                             json_integer (json_integer_value (json_object_get (summary, "high")) + 1));
      changed = true;
    }
    free (name);
  }
  if (changed)
    {
      size_t n = json_array_size (images);
      json_t **v = iw_xcalloc (n + 1, sizeof *v);

      for (i = 0; i < n; i++)
        v[i] = json_incref (json_array_get (images, i));
      qsort (v, n, sizeof *v, by_risk);
      json_array_clear (images);
      for (i = 0; i < n; i++)
        json_array_append_new (images, v[i]);
      free (v);
    }
}

/* ---- the cycle ---- */

static char *
join_workloads (json_t *arr)
{
  iw_buf b = IW_BUF_INIT (64 * IW_KIB);
  json_t *w;
  size_t i;

  if (json_array_size (arr) == 0)
    return NULL;
  json_array_foreach (arr, i, w)
  {
    if (json_is_string (w))
      iw_buf_printf (&b, NULL, "%s%s", i ? ", " : "", json_string_value (w));
  }
  return iw_buf_take (&b);
}

static void
count_change (iw_daemon *d, const iw_finding_change *c)
{
  char *a = iw_metrics_label ("check", c->check);
  char *b = iw_metrics_label ("severity", c->severity);
  char *l = iw_xasprintf ("%s,%s", a, b);

  iw_metrics_add (d->metrics, c->opened ? "imgwatch_findings_opened_total" : "imgwatch_findings_closed_total",
                  l, 1);
  free (a);
  free (b);
  free (l);
}

/* Runs from the records: workload ran digest. */
static void
sync_runs (iw_daemon *d, srec **recs, size_t n, int64_t now)
{
  iw_store_run *runs = iw_xcalloc (n + 1, sizeof *runs);
  char **owned = iw_xcalloc (2 * n + 1, sizeof *owned);
  size_t nr = 0, no = 0;
  iw_error *err = NULL;

  for (size_t i = 0; i < n; i++)
    {
      const iw_record *r = recs[i]->rec;
      iw_ref *ref = NULL;
      char *refs;

      if (r->pod == NULL || r->image_id.digest == NULL || r->image == NULL || r->container == NULL)
        continue;
      if (iw_ref_parse (&ref, r->image, NULL) == 0)
        refs = iw_ref_string (ref);
      else
        refs = iw_xstrdup (r->image);
      iw_ref_free (ref);
      owned[no++] = refs;
      owned[no] = iw_xasprintf ("%s%s%s/%s", r->namespace_ ? r->namespace_ : "", r->namespace_ ? "/" : "",
                                r->workload_kind ? r->workload_kind : "Pod",
                                r->workload_name ? r->workload_name : r->pod);
      runs[nr].workload = owned[no++];
      runs[nr].container = r->container;
      runs[nr].reference = refs;
      runs[nr].digest = r->image_id.digest;
      nr++;
    }
  if (iw_store_sync_runs (d->store, runs, nr, now, &err) < 0)
    {
      iw_log_error ("history: %s", iw_error_msg (err));
      iw_error_free (err);
    }
  for (size_t i = 0; i < no; i++)
    free (owned[i]);
  free (owned);
  free (runs);
}

static void
observe_one (iw_daemon *d, const char *name, const char *tag, const char *digest, int64_t now)
{
  iw_tag_change c;
  iw_error *err = NULL;

  if (iw_store_observe_tag (d->store, &c, name, tag, digest, now, &err) < 0)
    {
      iw_log_error ("history: %s", iw_error_msg (err));
      iw_error_free (err);
    }
  else if (c == IW_TAG_ROLLBACK)
    iw_log_warn ("%s:%s moved back to %s, a digest it pointed to before", name, tag, digest);
  else if (c == IW_TAG_MOVED)
    iw_log_info ("%s:%s now points to %s", name, tag, digest);
}

static void
observe_tags (iw_daemon *d, const iw_daemon_result *res, json_t *doc, int64_t now)
{
  json_t *img;
  size_t i;

  if (res->tags)
    {
      for (i = 0; i < res->n_tags; i++)
        if (res->tags[i].repository && res->tags[i].tag && res->tags[i].digest)
          observe_one (d, res->tags[i].repository, res->tags[i].tag, res->tags[i].digest, now);
      return;
    }
  json_array_foreach (json_object_get (doc, "images"), i, img)
  {
    const char *reg = json_string_value (json_object_get (img, "registry"));
    const char *repo = json_string_value (json_object_get (img, "repository"));
    const char *tag = json_string_value (json_object_get (img, "tag"));
    const char *digest = json_string_value (json_object_get (img, "registryDigest"));
    char *name;

    if (!reg || !repo || !tag || !digest)
      continue;
    name = iw_xasprintf ("%s/%s", reg, repo);
    observe_one (d, name, tag, digest, now);
    free (name);
  }
}

static void
sync_findings (iw_daemon *d, json_t *doc, const char *cause, pending *pend, size_t n_pend, int64_t now)
{
  size_t nf = 0, cap = 16, nc = 0;
  iw_store_current_finding *f = iw_xcalloc (cap, sizeof *f);
  char **owned = NULL;
  iw_finding_change *ch = NULL;
  iw_error *err = NULL;
  json_t *img, *fi;
  size_t i, j;

  json_array_foreach (json_object_get (doc, "images"), i, img)
  {
    const char *ref = json_string_value (json_object_get (img, "reference"));

    json_array_foreach (json_object_get (img, "findings"), j, fi)
    {
      if (ref == NULL || !json_is_string (json_object_get (fi, "check")))
        continue;
      if (nf == cap)
        {
          cap *= 2;
          f = iw_xreallocarray (f, cap, sizeof *f);
        }
      owned = iw_xreallocarray (owned, nf + 1, sizeof *owned);
      owned[nf] = join_workloads (json_object_get (fi, "workloads"));
      f[nf].reference = ref;
      f[nf].check = json_string_value (json_object_get (fi, "check"));
      f[nf].severity = json_string_value (json_object_get (fi, "severity"));
      if (f[nf].severity == NULL)
        f[nf].severity = "info";
      f[nf].message = json_string_value (json_object_get (fi, "message"));
      f[nf].workloads = owned[nf];
      nf++;
    }
  }
  if (iw_store_sync_findings (d->store, &ch, &nc, f, nf, cause, now, &err) < 0)
    {
      iw_log_error ("history: %s", iw_error_msg (err));
      iw_error_free (err);
    }
  for (i = 0; i < nc; i++)
    {
      count_change (d, &ch[i]);
      if (ch[i].opened)
        iw_log_info ("finding opened: %s %s [%s]", ch[i].reference, ch[i].check, ch[i].severity);
      else
        iw_log_info ("finding resolved: %s %s after %.1f s (%s)", ch[i].reference, ch[i].check,
                     (double)(ch[i].resolved_at - ch[i].opened_at) / 1000.0, cause ? cause : "");
      iw_alerts_notify (d->alerts, &ch[i]);
      /* Time to detect: from the event that named the reference to the
       * finding being recorded. */
      if (ch[i].opened)
        for (j = 0; j < n_pend; j++)
          {
            const char *r = pend[j].ref;
            size_t lr = strlen (r);

            if (strcmp (r, ch[i].reference) == 0
                || (strncmp (r, ch[i].reference, lr) == 0 && ch[i].reference[lr] == '@'))
              iw_metrics_observe (d->metrics, "imgwatch_time_to_detect_seconds", NULL,
                                  (double)(now - pend[j].received_ms) / 1000.0);
          }
    }
  iw_finding_changes_free (ch, nc);
  for (i = 0; i < nf; i++)
    free (owned[i]);
  free (owned);
  free (f);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Distinct images among the records, keyed as the inventory keys them
 * (the canonical reference, or the spec text when it does not parse). */
static size_t
distinct_images (srec **recs, size_t n)
{
  char **keys = iw_xcalloc (n + 1, sizeof *keys);
  size_t k = 0, distinct = 0;

  for (size_t i = 0; i < n; i++)
    {
      iw_ref *ref = NULL;
      const char *img = recs[i]->rec->image;

      if (img == NULL)
        continue;
      keys[k++] = iw_ref_parse (&ref, img, NULL) == 0 ? iw_ref_string (ref) : iw_xstrdup (img);
      iw_ref_free (ref);
    }
  qsort (keys, k, sizeof *keys, cmp_str);
  for (size_t i = 0; i < k; i++)
    distinct += i == 0 || strcmp (keys[i], keys[i - 1]) != 0;
  for (size_t i = 0; i < k; i++)
    free (keys[i]);
  free (keys);
  return distinct;
}

/* One cycle.  A partial one assesses only sub (the records of the images
 * events named) and merges the result into the last full state. */
static void
cycle (iw_daemon *d, srec **recs, size_t n, srec **sub, size_t n_sub, bool partial, const pending *mref,
       size_t n_mref, pending *pend, size_t n_pend, bool all_refresh, const char *cause, int64_t covered)
{
  srec **arecs = partial ? sub : recs;
  size_t an = partial ? n_sub : n;
  const iw_record **rv = iw_xcalloc (an + 1, sizeof *rv);
  const char **refresh = iw_xcalloc (n_pend + 1, sizeof *refresh);
  iw_daemon_result res = { 0 };
  char *text = NULL;
  json_t *doc = NULL, *rb = NULL;
  iw_error *err = NULL;
  int64_t t0 = iw_clock_mono_ms (), now;
  json_error_t jerr;

  for (size_t i = 0; i < an; i++)
    rv[i] = arecs[i]->rec;
  for (size_t i = 0; i < n_pend; i++)
    refresh[i] = pend[i].ref;
  if (d->o.assess (&res, rv, an, refresh, all_refresh, d->o.userdata, &err) < 0)
    {
      iw_log_error ("assess: %s", iw_error_msg (err));
      iw_metrics_add (d->metrics, "imgwatch_cycles_total", "result=\"error\"", 1);
      goto done;
    }
  doc = res.json ? json_loads (res.json, JSON_REJECT_DUPLICATES, &jerr) : NULL;
  if (!json_is_object (doc))
    {
      iw_log_error ("assess: the assessment is not a JSON object: %s", res.json ? jerr.text : "none");
      goto done;
    }
  if (partial)
    {
      const char **mr = iw_xcalloc (n_mref + 1, sizeof *mr);
      json_t *merged, *summary;

      for (size_t i = 0; i < n_mref; i++)
        mr[i] = mref[i].ref;
      merged = iw_daemon_merge_partial (d->base, doc, mr);
      free (mr);
      json_decref (doc);
      doc = merged;
      /* Pods came or went: count what runs again. */
      summary = json_object_get (doc, "summary");
      if (json_is_object (summary))
        {
          json_object_set_new (summary, "containers", json_integer ((json_int_t)n));
          json_object_set_new (summary, "images", json_integer ((json_int_t)distinct_images (recs, n)));
        }
      iw_metrics_add (d->metrics, "imgwatch_cycles_total", "result=\"partial\"", 1);
    }
  json_decref (d->base);
  d->base = json_deep_copy (doc);
  now = iw_store_now_ms ();
  observe_tags (d, &res, doc, now);
  if (iw_store_rollbacks (d->store, &rb, &err) < 0)
    {
      iw_log_error ("history: %s", iw_error_msg (err));
      iw_error_clear (&err);
    }
  if (json_array_size (rb))
    iw_daemon_apply_rollbacks (doc, rb, res.tags, res.n_tags);
  sync_runs (d, recs, n, now);
  sync_findings (d, doc, cause, pend, n_pend, now);
  /* Publish the document as assess printed it, unless merged or changed. */
  if (partial || json_array_size (rb))
    text = json_dumps (doc, JSON_COMPACT);
  if (iw_server_publish (d->server, text ? text : res.json, &err) < 0)
    {
      iw_log_error ("publish: %s", iw_error_msg (err));
      goto done;
    }
  iw_server_set_ready (d->server, true, NULL);
  /* From each registry event to the assessment that reflects it. */
  for (size_t i = 0; i < n_pend; i++)
    if (!pend[i].second)
      iw_metrics_observe (d->metrics, "imgwatch_event_to_assessment_seconds", NULL,
                          (double)(iw_store_now_ms () - pend[i].received_ms) / 1000.0);
  if (covered && iw_store_inbox_done_before (d->store, covered, now, &err) < 0)
    {
      iw_log_error ("history: %s", iw_error_msg (err));
      iw_error_clear (&err);
    }
  iw_metrics_add (d->metrics, "imgwatch_cycles_total", "result=\"ok\"", 1);
done:
  iw_metrics_observe (d->metrics, "imgwatch_cycle_duration_seconds", NULL,
                      (double)(iw_clock_mono_ms () - t0) / 1000.0);
  iw_error_free (err);
  json_decref (doc);
  json_decref (rb);
  iw_daemon_result_clear (&res);
  free (text);
  free (rv);
  free (refresh);
}

/* "domain/path:tag" of a record's image ("latest" when it names none),
 * the form registry events name references in; NULL when unparseable. */
static char *
record_key (const iw_record *r)
{
  iw_ref *ref = NULL;
  char *key;

  if (r->image == NULL || iw_ref_parse (&ref, r->image, NULL) < 0)
    return NULL;
  key = iw_xasprintf ("%s/%s:%s", ref->domain, ref->path, ref->tag ? ref->tag : "latest");
  iw_ref_free (ref);
  return key;
}

static bool
named (const char *key, const pending *pend, size_t n_pend)
{
  for (size_t j = 0; key && j < n_pend; j++)
    if (strcmp (key, pend[j].ref) == 0)
      return true;
  return false;
}

/* The records whose image a pending event names (borrowed pointers into
 * recs); events about images nothing runs select none. */
static srec **
select_named (size_t *n_out, srec **recs, size_t n, const pending *pend, size_t n_pend)
{
  srec **sub = iw_xcalloc (n + 1, sizeof *sub);
  size_t k = 0;

  for (size_t i = 0; i < n; i++)
    {
      char *key = record_key (recs[i]->rec);

      if (named (key, pend, n_pend))
        sub[k++] = recs[i];
      free (key);
    }
  *n_out = k;
  return sub;
}

static char *
image_key (json_t *img)
{
  const char *reg = json_string_value (json_object_get (img, "registry"));
  const char *repo = json_string_value (json_object_get (img, "repository"));
  const char *tag = json_string_value (json_object_get (img, "tag"));

  if (!reg || !repo)
    return NULL;
  return iw_xasprintf ("%s/%s:%s", reg, repo, tag ? tag : "latest");
}

json_t *
iw_daemon_merge_partial (json_t *base, json_t *part, const char *const *refs)
{
  json_t *out = json_deep_copy (part), *images = json_array (), *img, *summary, *f;
  size_t i, j, nrefs = 0;
  pending *p;
  static const char *const sev[] = { "critical", "high", "medium", "low", "info" };
  json_int_t counts[5] = { 0 };

  while (refs && refs[nrefs])
    nrefs++;
  p = iw_xcalloc (nrefs + 1, sizeof *p);
  for (i = 0; i < nrefs; i++)
    p[i].ref = (char *)refs[i];
  /* Unchanged images from the base, then the re-assessed ones. */
  json_array_foreach (json_object_get (base, "images"), i, img)
  {
    char *key = image_key (img);

    if (!named (key, p, nrefs))
      json_array_append (images, img);
    free (key);
  }
  json_array_foreach (json_object_get (part, "images"), i, img)
  {
    char *key = image_key (img);

    if (named (key, p, nrefs))
      json_array_append (images, img);
    free (key);
  }
  free (p);
  json_object_set_new (out, "images", images);
  /* What did not change: the counts of images and containers, and the
   * assessment-wide findings. */
  summary = json_deep_copy (json_object_get (base, "summary"));
  if (!json_is_object (summary))
    {
      json_decref (summary);
      summary = json_object ();
    }
  if (json_object_get (base, "findings"))
    json_object_set (out, "findings", json_object_get (base, "findings"));
  json_array_foreach (images, i, img)
  {
    json_array_foreach (json_object_get (img, "findings"), j, f)
    {
      int r = sev_rank (json_string_value (json_object_get (f, "severity")));

      if (r < 5)
        counts[r]++;
    }
  }
  json_array_foreach (json_object_get (out, "findings"), j, f)
  {
    int r = sev_rank (json_string_value (json_object_get (f, "severity")));

    if (r < 5)
      counts[r]++;
  }
  for (i = 0; i < 5; i++)
    json_object_set_new (summary, sev[i], json_integer (counts[i]));
  json_object_set_new (out, "summary", summary);
  {
    size_t n = json_array_size (images);
    json_t **v = iw_xcalloc (n + 1, sizeof *v);

    for (i = 0; i < n; i++)
      v[i] = json_incref (json_array_get (images, i));
    qsort (v, n, sizeof *v, by_risk);
    json_array_clear (images);
    for (i = 0; i < n; i++)
      json_array_append_new (images, v[i]);
    free (v);
  }
  return out;
}

static void *
worker (void *arg)
{
  iw_daemon *d = arg;
  int64_t next_reresolve = d->o.reresolve_ms > 0 ? iw_clock_mono_ms () + d->o.reresolve_ms : INT64_MAX;

  pthread_mutex_lock (&d->lock);
  while (!d->stop)
    {
      srec **recs;
      size_t n = 0;
      pending *pend;
      size_t n_pend;
      bool all;
      char *cause;
      int64_t covered;
      bool skip, partial, events_only;
      srec **sub = NULL;
      size_t n_sub = 0, n_chg, n_mref = 0;
      pending *chg, *mref = NULL;

      bool rechecking = false;

      if (d->recheck_due && iw_clock_mono_ms () >= d->recheck_due)
        {
          /* The second look at references events named: pending again. */
          for (size_t i = 0; i < d->n_recheck; i++)
            {
              bool dup = false;

              for (size_t j = 0; j < d->n_pend && !dup; j++)
                dup = strcmp (d->pend[j].ref, d->recheck[i].ref) == 0;
              if (dup || d->n_pend >= MAX_PENDING_REFS)
                {
                  free (d->recheck[i].ref);
                  continue;
                }
              d->pend = iw_xreallocarray (d->pend, d->n_pend + 1, sizeof *d->pend);
              d->pend[d->n_pend] = d->recheck[i];
              d->pend[d->n_pend].second = true;
              d->n_pend++;
            }
          free (d->recheck);
          d->recheck = NULL;
          d->n_recheck = 0;
          d->recheck_due = 0;
          rechecking = true;
          d->dirty = true;
        }
      if (!d->dirty && iw_clock_mono_ms () < next_reresolve)
        {
          struct timespec ts;
          int64_t until = d->recheck_due && d->recheck_due < next_reresolve ? d->recheck_due : next_reresolve;
          int64_t wait = until == INT64_MAX ? 3600000 : until - iw_clock_mono_ms ();

          clock_gettime (CLOCK_MONOTONIC, &ts);
          ts.tv_sec += wait / 1000;
          ts.tv_nsec += (wait % 1000) * 1000000;
          if (ts.tv_nsec >= 1000000000)
            {
              ts.tv_sec++;
              ts.tv_nsec -= 1000000000;
            }
          pthread_cond_timedwait (&d->cond, &d->lock, &ts);
          continue;
        }
      if (!d->dirty)
        {
          d->all_refresh = true;
          add_cause (d, "periodic re-resolution");
        }
      if (rechecking)
        add_cause (d, "second look after registry events");
      if (d->o.settle_ms > 0)
        {
          /* Let a burst (a push of several tags, a rollout) arrive. */
          struct timespec ts = { d->o.settle_ms / 1000, (d->o.settle_ms % 1000) * 1000000 };

          pthread_mutex_unlock (&d->lock);
          nanosleep (&ts, NULL);
          pthread_mutex_lock (&d->lock);
        }
      if (d->o.reresolve_ms > 0 && (d->all_refresh || iw_clock_mono_ms () >= next_reresolve))
        next_reresolve = iw_clock_mono_ms () + d->o.reresolve_ms;
      for (size_t i = 0; i < d->n_groups; i++)
        n += d->groups[i].n;
      recs = iw_xcalloc (n + 1, sizeof *recs);
      n = 0;
      for (size_t i = 0; i < d->n_groups; i++)
        for (size_t j = 0; j < d->groups[i].n; j++)
          {
            d->groups[i].recs[j]->refs++;
            recs[n++] = d->groups[i].recs[j];
          }
      pend = d->pend;
      n_pend = d->n_pend;
      d->pend = NULL;
      d->n_pend = 0;
      all = d->all_refresh;
      d->all_refresh = false;
      cause = d->causes;
      d->causes = NULL;
      covered = d->max_received;
      /* Only registry events, or only some pods: assess just the images
       * they name (the pods' old and new images). */
      events_only = !d->records_changed && !all && n_pend > 0;
      partial = events_only || (d->records_changed && !d->full_change && !all);
      chg = d->changed;
      n_chg = d->n_changed;
      d->changed = NULL;
      d->n_changed = 0;
      d->full_change = false;
      d->records_changed = false;
      d->dirty = false;
      pthread_mutex_unlock (&d->lock);
      if (partial)
        {
          /* What the merge replaces: the events' references and the
           * changed pods' images. */
          mref = iw_xcalloc (n_pend + n_chg + 1, sizeof *mref);
          for (size_t i = 0; i < n_pend; i++)
            mref[n_mref++] = pend[i];
          for (size_t i = 0; i < n_chg; i++)
            if (!named (chg[i].ref, pend, n_pend))
              mref[n_mref++] = chg[i];
          sub = select_named (&n_sub, recs, n, mref, n_mref);
        }
      skip = events_only && n_sub == 0;
      partial = partial && d->base != NULL;

      if (cause == NULL && n_pend)
        cause = iw_xasprintf ("registry event for %s%s", pend[0].ref, n_pend > 1 ? " and others" : "");
      else if (n_pend)
        {
          char *c = iw_xasprintf ("%s; registry event for %s%s", cause, pend[0].ref,
                                  n_pend > 1 ? " and others" : "");

          free (cause);
          cause = c;
        }
      if (skip)
        {
          iw_error *err = NULL;

          /* Only events about images nothing runs: record them as done. */
          iw_metrics_add (d->metrics, "imgwatch_cycles_total", "result=\"skipped\"", 1);
          if (covered && iw_store_inbox_done_before (d->store, covered, iw_store_now_ms (), &err) < 0)
            {
              iw_log_error ("history: %s", iw_error_msg (err));
              iw_error_free (err);
            }
        }
      else
        cycle (d, recs, n, sub, n_sub, partial, mref, n_mref, pend, n_pend, all, cause, covered);
      free (sub);
      free (mref);
      for (size_t i = 0; i < n_chg; i++)
        free (chg[i].ref);
      free (chg);

      pthread_mutex_lock (&d->lock);
      for (size_t i = 0; i < n; i++)
        srec_release (recs[i]);
      free (recs);
      /* Events of a real cycle get their second look later (bounded like
       * the pending list). */
      if (!skip && n_pend)
        {
          for (size_t i = 0; i < n_pend && d->n_recheck < MAX_PENDING_REFS; i++)
            if (!pend[i].second)
              {
                d->recheck = iw_xreallocarray (d->recheck, d->n_recheck + 1, sizeof *d->recheck);
                d->recheck[d->n_recheck++] = pend[i];
                pend[i].ref = NULL;
              }
          if (d->n_recheck && d->recheck_due == 0)
            d->recheck_due = iw_clock_mono_ms () + RECHECK_MS;
        }
      for (size_t i = 0; i < n_pend; i++)
        free (pend[i].ref);
      free (pend);
      free (cause);
      d->cycles++;
      pthread_cond_broadcast (&d->cond);
    }
  pthread_mutex_unlock (&d->lock);
  return NULL;
}

int
iw_daemon_new (iw_daemon **out, const iw_daemon_options *opts, iw_store *store, iw_server *server,
               iw_metrics *metrics, iw_alerts *alerts, iw_error **err)
{
  iw_daemon *d;
  pthread_condattr_t ca;

  *out = NULL;
  if (opts->assess == NULL)
    return iw_error_set (err, IW_EINVAL, "daemon: no assess callback");
  d = iw_xcalloc (1, sizeof *d);
  d->o = *opts;
  d->store = store;
  d->server = server;
  d->metrics = metrics;
  d->alerts = alerts;
  pthread_mutex_init (&d->lock, NULL);
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&d->cond, &ca);
  pthread_condattr_destroy (&ca);
  iw_metrics_declare (metrics, "imgwatch_cycles_total", IW_METRIC_COUNTER, "Assessment cycles, by result.",
                      NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_cycle_duration_seconds", IW_METRIC_HISTOGRAM,
                      "Time of one assess-record-publish cycle.", cycle_bounds,
                      sizeof cycle_bounds / sizeof cycle_bounds[0]);
  iw_metrics_declare (metrics, "imgwatch_time_to_detect_seconds", IW_METRIC_HISTOGRAM,
                      "From a registry event naming a reference to the finding it caused being recorded.",
                      ttd_bounds, sizeof ttd_bounds / sizeof ttd_bounds[0]);
  iw_metrics_declare (metrics, "imgwatch_event_to_assessment_seconds", IW_METRIC_HISTOGRAM,
                      "From a registry event about a running reference to the published assessment that "
                      "reflects it.",
                      ttd_bounds, sizeof ttd_bounds / sizeof ttd_bounds[0]);
  iw_metrics_declare (metrics, "imgwatch_findings_opened_total", IW_METRIC_COUNTER,
                      "Findings opened, by check and severity.", NULL, 0);
  iw_metrics_declare (metrics, "imgwatch_findings_closed_total", IW_METRIC_COUNTER,
                      "Findings resolved, by check and severity.", NULL, 0);
  *out = d;
  return 0;
}

int
iw_daemon_start (iw_daemon *d, iw_error **err)
{
  json_t *p = NULL, *e;
  size_t i;

  /* What arrived before a crash and was never processed. */
  if (iw_store_inbox_pending (d->store, &p, 100000, err) < 0)
    return iw_error_wrap (err, "recover pending events");
  json_array_foreach (p, i, e)
  {
    json_t *payload = json_loads (json_string_value (json_object_get (e, "payload")), 0, NULL);
    iw_webhook_event ev = { 0 };

    ev.id = (char *)json_string_value (json_object_get (e, "id"));
    ev.registry = (char *)json_string_value (json_object_get (payload, "registry"));
    ev.repository = (char *)json_string_value (json_object_get (payload, "repository"));
    ev.tag = (char *)json_string_value (json_object_get (payload, "tag"));
    iw_daemon_on_event (&ev, (int64_t)json_integer_value (json_object_get (e, "receivedAt")), d);
    json_decref (payload);
  }
  if (json_array_size (p))
    iw_log_info ("recovered %zu webhook events not processed before the last stop", json_array_size (p));
  json_decref (p);
  pthread_mutex_lock (&d->lock);
  d->dirty = true;
  d->records_changed = true;
  d->full_change = true;
  add_cause (d, "start");
  pthread_mutex_unlock (&d->lock);
  if (pthread_create (&d->thread, NULL, worker, d) != 0)
    return iw_error_set (err, IW_EIO, "start the worker: %s", strerror (errno));
  d->started = true;
  return 0;
}

void
iw_daemon_free (iw_daemon *d)
{
  if (d == NULL)
    return;
  if (d->started)
    {
      pthread_mutex_lock (&d->lock);
      d->stop = true;
      pthread_cond_broadcast (&d->cond);
      pthread_mutex_unlock (&d->lock);
      pthread_join (d->thread, NULL);
    }
  for (size_t i = 0; i < d->n_groups; i++)
    group_clear (&d->groups[i]);
  free (d->groups);
  for (size_t i = 0; i < d->n_pend; i++)
    free (d->pend[i].ref);
  free (d->pend);
  for (size_t i = 0; i < d->n_recheck; i++)
    free (d->recheck[i].ref);
  free (d->recheck);
  free (d->causes);
  for (size_t i = 0; i < d->n_changed; i++)
    free (d->changed[i].ref);
  free (d->changed);
  json_decref (d->base);
  pthread_mutex_destroy (&d->lock);
  pthread_cond_destroy (&d->cond);
  free (d);
}
