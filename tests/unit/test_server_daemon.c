/*
 * test_server_daemon.c - the serve event loop with a stand-in assess
 * callback: a push event opens integrity-stale with its time to detect, a
 * pod restart resolves it with the cause and MTTR, a tag moving back is
 * flagged tag-rollback, and events stored before a crash are processed
 * after a restart.
 */
#include "server/daemon.h"
#include "util/mem.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define REF "127.0.0.1:5000/green-burrito:latest"

typedef struct fake
{
  pthread_mutex_t lock;
  const char *registry_digest; /* what the "registry" says the tag is */
  const char *next_digest;     /* ... after `lag` more calls */
  int lag;
  int calls;
  size_t last_n;    /* records the last call was given */
  bool saw_refresh; /* the last call was asked to re-resolve REF */
} fake;

/* A tiny assessment: one image, stale when a running digest differs. */
static int
fake_assess (iw_daemon_result *out, const iw_record *const *recs, size_t n, const char *const *refresh,
             bool all_refresh, void *userdata, iw_error **err)
{
  fake *f = userdata;
  json_t *running = json_array (), *wl = json_array (), *findings = json_array (), *doc;
  bool stale = false;

  (void)err;
  pthread_mutex_lock (&f->lock);
  f->calls++;
  f->last_n = n;
  if (f->next_digest && f->lag-- <= 0)
    {
      f->registry_digest = f->next_digest;
      f->next_digest = NULL;
    }
  f->saw_refresh = all_refresh;
  for (size_t i = 0; refresh && refresh[i]; i++)
    f->saw_refresh = f->saw_refresh || strcmp (refresh[i], REF) == 0;
  for (size_t i = 0; i < n; i++)
    {
      const char *d = recs[i]->image_id.digest;
      bool seen = false;
      json_t *x;
      size_t k;

      json_array_foreach (running, k, x) seen = seen || strcmp (json_string_value (x), d) == 0;
      if (!seen)
        json_array_append_new (running, json_string (d));
      stale = stale || strcmp (d, f->registry_digest) != 0;
    }
  if (n)
    json_array_append_new (wl, json_pack ("{s:s, s:s, s:s, s:s, s:i}", "namespace", "default", "kind",
                                          "Deployment", "name", "green-burrito", "container", "app", "pods",
                                          (int)n));
  if (stale)
    json_array_append_new (findings, json_pack ("{s:s, s:s, s:s, s:[s]}", "check", "integrity-stale",
                                                "severity", "high", "message", "stale", "workloads",
                                                "default/Deployment/green-burrito"));
  doc = json_pack ("{s:s, s:s, s:{s:i, s:i, s:i}, s:[{s:s, s:s, s:s, s:s, s:o, s:s, s:s?, s:o, s:o}]}",
                   "apiVersion", "imgwatch/v1", "kind", "Assessment", "summary", "images", 1, "containers",
                   (int)n, "high", stale ? 1 : 0, "images", "reference", REF, "registry", "127.0.0.1:5000",
                   "repository", "green-burrito", "tag", "latest", "runningDigests", running,
                   "registryDigest", f->registry_digest, "severity", stale ? "high" : NULL, "findings",
                   findings, "workloads", wl);
  pthread_mutex_unlock (&f->lock);
  out->json = json_dumps (doc, JSON_COMPACT);
  json_decref (doc);
  return 0;
}

typedef struct fixture
{
  char dir[64];
  char url[128];
  fake f;
  iw_store *store;
  iw_metrics *metrics;
  iw_server *srv;
  iw_daemon *d;
} fixture;

static void
start_daemon (fixture *x)
{
  iw_daemon_options o = IW_DAEMON_OPTIONS_INIT;
  iw_server_options so = IW_SERVER_OPTIONS_INIT;
  iw_error *err = NULL;

  assert_int_equal (iw_store_open (&x->store, x->url, NULL, &err), 0);
  x->metrics = iw_metrics_new ();
  so.listen = "127.0.0.1:0";
  so.threads = 1;
  assert_int_equal (iw_server_start (&x->srv, &so, x->store, x->metrics, &err), 0);
  o.assess = fake_assess;
  o.userdata = &x->f;
  o.settle_ms = 0;
  assert_int_equal (iw_daemon_new (&x->d, &o, x->store, x->srv, x->metrics, NULL, &err), 0);
}

static void
stop_daemon (fixture *x)
{
  iw_daemon_free (x->d);
  iw_server_stop (x->srv);
  iw_store_free (x->store);
  iw_metrics_free (x->metrics);
  x->d = NULL;
  x->srv = NULL;
  x->store = NULL;
  x->metrics = NULL;
}

static int
setup (void **state)
{
  fixture *x = iw_xcalloc (1, sizeof *x);

  strcpy (x->dir, "/tmp/iw-daemon-XXXXXX");
  assert_non_null (mkdtemp (x->dir));
  snprintf (x->url, sizeof x->url, "sqlite:%s/h.db", x->dir);
  pthread_mutex_init (&x->f.lock, NULL);
  x->f.registry_digest = D1;
  start_daemon (x);
  *state = x;
  return 0;
}

static int
teardown (void **state)
{
  fixture *x = *state;
  char *cmd = iw_xasprintf ("rm -rf '%s'", x->dir);

  stop_daemon (x);
  pthread_mutex_destroy (&x->f.lock);
  assert_int_equal (system (cmd), 0);
  free (cmd);
  free (x);
  return 0;
}

/* iw_image_id_parse copies raw; free what rec() allocated for it. */
static iw_record *
rec2 (const char *pod, const char *digest)
{
  iw_record *r = iw_xcalloc (1, sizeof *r);
  char *raw = iw_xasprintf ("127.0.0.1:5000/green-burrito@%s", digest);

  r->source = iw_xstrdup ("test");
  r->namespace_ = iw_xstrdup ("default");
  r->pod = iw_xstrdup (pod);
  r->workload_kind = iw_xstrdup ("Deployment");
  r->workload_name = iw_xstrdup ("green-burrito");
  r->container = iw_xstrdup ("app");
  r->image = iw_xstrdup (REF);
  iw_image_id_parse (&r->image_id, raw);
  free (raw);
  return r;
}

static void
wait_cycle (iw_daemon *d, unsigned long after)
{
  for (int i = 0; i < 500 && iw_daemon_cycles (d) <= after; i++)
    usleep (5000);
  assert_true (iw_daemon_cycles (d) > after);
}

static json_t *
open_findings (iw_store *s)
{
  json_t *h = NULL, *open = json_array (), *f;
  iw_error *err = NULL;
  size_t i;

  assert_int_equal (iw_store_history (s, &h, REF, 100, &err), 0);
  json_array_foreach (json_object_get (h, "findings"), i, f)
  {
    if (json_is_null (json_object_get (f, "resolvedAt")))
      json_array_append (open, f);
  }
  json_decref (h);
  return open;
}

static void
push (fixture *x, const char *digest, const char *id)
{
  iw_webhook_event ev = { (char *)id,
                          IW_WEBHOOK_PUSH,
                          (char *)"127.0.0.1:5000",
                          (char *)"green-burrito",
                          (char *)"latest",
                          (char *)D1 /* what the event claims: ignored */,
                          0 };
  bool fresh;
  iw_error *err = NULL;

  pthread_mutex_lock (&x->f.lock);
  x->f.registry_digest = digest;
  pthread_mutex_unlock (&x->f.lock);
  assert_int_equal (iw_store_inbox_add (x->store, &fresh, id, "distribution", "{}", iw_store_now_ms (), &err),
                    0);
  iw_daemon_on_event (&ev, iw_store_now_ms (), x->d);
}

static void
test_daemon__push_opens_restart_resolves_and_rollback_flags (void **state)
{
  fixture *x = *state;
  iw_error *err = NULL;
  iw_record **recs = iw_xcalloc (2, sizeof *recs);
  unsigned long c;
  json_t *open, *h = NULL;
  iw_mttr *m = NULL;
  size_t nm = 0;

  recs[0] = rec2 ("gb-1", D1);
  recs[1] = rec2 ("gb-2", D1);
  iw_daemon_set_records (x->d, "test", recs, 2, "initial list");
  assert_int_equal (iw_daemon_start (x->d, &err), 0);
  wait_cycle (x->d, 0);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 0);
  json_decref (open);

  /* v2 is pushed under the running tag: stale, detected from the event. */
  c = iw_daemon_cycles (x->d);
  push (x, D2, "distribution:e1");
  wait_cycle (x->d, c);
  assert_true (x->f.saw_refresh);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 1);
  assert_string_equal (json_string_value (json_object_get (json_array_get (open, 0), "check")),
                       "integrity-stale");
  json_decref (open);
  assert_int_equal (iw_metrics_get (x->metrics, "imgwatch_time_to_detect_seconds", NULL), 1);
  {
    long total, pending;

    assert_int_equal (iw_store_inbox_count (x->store, &total, &pending, &err), 0);
    assert_int_equal (pending, 0);
  }

  /* The pods restart on v2, one at a time: resolved once both run it. */
  c = iw_daemon_cycles (x->d);
  recs = iw_xcalloc (1, sizeof *recs);
  recs[0] = rec2 ("gb-1", D2);
  iw_daemon_set_pod (x->d, "test", "default/gb-1", recs, 1, "pod default/gb-1 updated");
  wait_cycle (x->d, c);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 1);
  json_decref (open);
  c = iw_daemon_cycles (x->d);
  recs = iw_xcalloc (1, sizeof *recs);
  recs[0] = rec2 ("gb-2", D2);
  iw_daemon_set_pod (x->d, "test", "default/gb-2", recs, 1, "pod default/gb-2 updated");
  wait_cycle (x->d, c);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 0);
  json_decref (open);
  assert_int_equal (iw_store_history (x->store, &h, REF, 100, &err), 0);
  assert_non_null (strstr (
      json_string_value (json_object_get (json_array_get (json_object_get (h, "findings"), 0), "resolution")),
      "pod default/gb-2 updated"));
  /* Runs are per workload: it ran D1 until its last pod left it, then D2. */
  assert_int_equal (json_array_size (json_object_get (h, "runs")), 2);
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (json_object_get (h, "runs"), 0), "digest")), D2);
  assert_false (json_is_null (json_object_get (json_array_get (json_object_get (h, "runs"), 1), "endedAt")));
  json_decref (h);
  assert_int_equal (iw_store_mttr (x->store, &m, &nm, &err), 0);
  assert_int_equal (nm, 1);
  assert_int_equal (m[0].resolved, 1);
  iw_mttr_free (m, nm);

  /* The tag goes back to v1: a rollback, flagged high, and stale again. */
  c = iw_daemon_cycles (x->d);
  push (x, D1, "distribution:e2");
  wait_cycle (x->d, c);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 2);
  {
    bool rollback = false;
    json_t *f;
    size_t i;

    json_array_foreach (open, i, f)
    {
      if (strcmp (json_string_value (json_object_get (f, "check")), "tag-rollback") == 0)
        {
          rollback = true;
          assert_string_equal (json_string_value (json_object_get (f, "severity")), "high");
        }
    }
    assert_true (rollback);
  }
  json_decref (open);
}

static void
test_daemon__events_for_images_nothing_runs_need_no_assessment (void **state)
{
  fixture *x = *state;
  iw_error *err = NULL;
  iw_record **recs = iw_xcalloc (1, sizeof *recs);
  iw_webhook_event ev = { (char *)"distribution:other",
                          IW_WEBHOOK_PUSH,
                          (char *)"127.0.0.1:5000",
                          (char *)"someone-else",
                          (char *)"latest",
                          NULL,
                          0 };
  bool fresh;
  long total, pending;
  int calls;
  unsigned long c;

  recs[0] = rec2 ("gb-1", D1);
  iw_daemon_set_records (x->d, "test", recs, 1, "initial list");
  assert_int_equal (iw_daemon_start (x->d, &err), 0);
  wait_cycle (x->d, 0);
  calls = x->f.calls;
  c = iw_daemon_cycles (x->d);
  assert_int_equal (
      iw_store_inbox_add (x->store, &fresh, ev.id, "distribution", "{}", iw_store_now_ms (), &err), 0);
  iw_daemon_on_event (&ev, iw_store_now_ms (), x->d);
  wait_cycle (x->d, c);
  assert_int_equal (x->f.calls, calls);
  assert_int_equal (iw_store_inbox_count (x->store, &total, &pending, &err), 0);
  assert_int_equal (pending, 0);
  /* An event about the running tag (implicit or explicit tag) does assess. */
  c = iw_daemon_cycles (x->d);
  push (x, D1, "distribution:mine");
  wait_cycle (x->d, c);
  assert_int_equal (x->f.calls, calls + 1);
}

static void
test_daemon__notified_before_the_tag_moved_is_caught_by_the_second_look (void **state)
{
  fixture *x = *state;
  iw_error *err = NULL;
  iw_record **recs = iw_xcalloc (1, sizeof *recs);
  iw_webhook_event ev = { (char *)"distribution:early",
                          IW_WEBHOOK_PUSH,
                          (char *)"127.0.0.1:5000",
                          (char *)"green-burrito",
                          (char *)"latest",
                          NULL,
                          0 };
  json_t *open;
  unsigned long c;

  recs[0] = rec2 ("gb-1", D1);
  iw_daemon_set_records (x->d, "test", recs, 1, "initial list");
  assert_int_equal (iw_daemon_start (x->d, &err), 0);
  wait_cycle (x->d, 0);
  /* The registry notifies, but its tag still answers D1 for one more ask. */
  pthread_mutex_lock (&x->f.lock);
  x->f.next_digest = D2;
  x->f.lag = 1;
  pthread_mutex_unlock (&x->f.lock);
  c = iw_daemon_cycles (x->d);
  iw_daemon_on_event (&ev, iw_store_now_ms (), x->d);
  wait_cycle (x->d, c);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 0);
  json_decref (open);
  /* About a second later, the second look sees the move. */
  wait_cycle (x->d, c + 1);
  open = open_findings (x->store);
  assert_int_equal (json_array_size (open), 1);
  json_decref (open);
}

static void
test_daemon__a_pod_change_reassesses_only_its_images (void **state)
{
  fixture *x = *state;
  iw_error *err = NULL;
  iw_record **recs = iw_xcalloc (3, sizeof *recs);
  unsigned long c;

  recs[0] = rec2 ("gb-1", D1);
  recs[1] = rec2 ("gb-2", D1);
  recs[2] = rec2 ("other-1", D1);
  free (recs[2]->image);
  recs[2]->image = iw_xstrdup ("127.0.0.1:5000/other:1");
  iw_daemon_set_records (x->d, "test", recs, 3, "initial list");
  assert_int_equal (iw_daemon_start (x->d, &err), 0);
  wait_cycle (x->d, 0);
  assert_int_equal (x->f.last_n, 3);
  /* gb-1 restarts: the green-burrito image (both its pods) is re-assessed, not other:1. */
  c = iw_daemon_cycles (x->d);
  recs = iw_xcalloc (1, sizeof *recs);
  recs[0] = rec2 ("gb-1", D2);
  iw_daemon_set_pod (x->d, "test", "default/gb-1", recs, 1, "pod default/gb-1 updated");
  wait_cycle (x->d, c);
  assert_int_equal (x->f.last_n, 2);
  assert_int_equal (iw_metrics_get (x->metrics, "imgwatch_cycles_total", "result=\"partial\""), 1);
  /* A whole source replaced: everything again. */
  c = iw_daemon_cycles (x->d);
  recs = iw_xcalloc (1, sizeof *recs);
  recs[0] = rec2 ("gb-1", D2);
  iw_daemon_set_records (x->d, "test", recs, 1, "relist");
  wait_cycle (x->d, c);
  assert_int_equal (x->f.last_n, 1);
}

static void
test_daemon__events_stored_before_a_crash_are_processed_at_start (void **state)
{
  fixture *x = *state;
  iw_error *err = NULL;
  bool fresh;
  iw_record **recs = iw_xcalloc (1, sizeof *recs);
  long total, pending;

  /* An event acknowledged by the HTTP side, then the process died. */
  assert_int_equal (iw_store_inbox_add (x->store, &fresh, "distribution:lost", "distribution",
                                        "{\"action\":\"push\",\"registry\":\"127.0.0.1:5000\",\"repository\":"
                                        "\"green-burrito\",\"tag\":\"latest\"}",
                                        iw_store_now_ms (), &err),
                    0);
  stop_daemon (x);
  start_daemon (x);
  recs[0] = rec2 ("gb-1", D1);
  iw_daemon_set_records (x->d, "test", recs, 1, "initial list");
  assert_int_equal (iw_daemon_start (x->d, &err), 0);
  wait_cycle (x->d, 0);
  assert_true (x->f.saw_refresh);
  assert_int_equal (iw_store_inbox_count (x->store, &total, &pending, &err), 0);
  assert_int_equal (total, 1);
  assert_int_equal (pending, 0);
}

static void
test_daemon__rollback_finding_reorders_by_risk (void **state)
{
  json_t *doc = json_loads (
      "{\"summary\":{\"high\":0},\"images\":["
      "{\"reference\":\"r/a:1\",\"registry\":\"r\",\"repository\":\"a\",\"tag\":\"1\",\"severity\":\"low\","
      "\"findings\":[{\"check\":\"moving-tag\",\"severity\":\"low\"}],\"workloads\":[]},"
      "{\"reference\":\"r/b:1\",\"registry\":\"r\",\"repository\":\"b\",\"tag\":\"1\",\"findings\":[],"
      "\"workloads\":[{\"namespace\":\"ns\",\"kind\":\"Deployment\",\"name\":\"b\"}]}]}",
      0, NULL);
  json_t *rb = json_loads ("[{\"repository\":\"r/b\",\"tag\":\"1\",\"digest\":\"" D1
                           "\",\"previousDigest\":\"" D2 "\",\"at\":1}]",
                           0, NULL);
  json_t *first;

  (void)state;
  iw_daemon_apply_rollbacks (doc, rb, NULL, 0);
  first = json_array_get (json_object_get (doc, "images"), 0);
  assert_string_equal (json_string_value (json_object_get (first, "reference")), "r/b:1");
  assert_string_equal (json_string_value (json_object_get (first, "severity")), "high");
  assert_string_equal (
      json_string_value (json_array_get (
          json_object_get (json_array_get (json_object_get (first, "findings"), 0), "workloads"), 0)),
      "ns/Deployment/b");
  assert_int_equal (json_integer_value (json_object_get (json_object_get (doc, "summary"), "high")), 1);
  json_decref (doc);
  json_decref (rb);
}

static void
test_daemon__rollback_of_a_clean_running_tag_adds_its_image (void **state)
{
  json_t *doc = json_loads ("{\"summary\":{\"high\":0},\"images\":[]}", 0, NULL);
  json_t *rb = json_loads ("[{\"repository\":\"r:5000/c\",\"tag\":\"1\",\"digest\":\"" D1 "\"},"
                           "{\"repository\":\"r:5000/not-running\",\"tag\":\"1\",\"digest\":\"" D1 "\"}]",
                           0, NULL);
  iw_daemon_tag tags[] = { { (char *)"r:5000/c", (char *)"1", (char *)D1 } };
  json_t *img;

  (void)state;
  iw_daemon_apply_rollbacks (doc, rb, tags, 1);
  assert_int_equal (json_array_size (json_object_get (doc, "images")), 1);
  img = json_array_get (json_object_get (doc, "images"), 0);
  assert_string_equal (json_string_value (json_object_get (img, "reference")), "r:5000/c:1");
  assert_string_equal (json_string_value (json_object_get (img, "registry")), "r:5000");
  assert_string_equal (json_string_value (json_object_get (img, "severity")), "high");
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (json_object_get (img, "findings"), 0), "check")),
      "tag-rollback");
  json_decref (doc);
  json_decref (rb);
}

static void
test_daemon__partial_result_merges_into_the_last_state (void **state)
{
  json_t *base = json_loads (
      "{\"apiVersion\":\"imgwatch/v1\",\"generatedAt\":\"t0\",\"summary\":{\"images\":5,\"containers\":9,"
      "\"critical\":0,\"high\":1,\"medium\":0,\"low\":1,\"info\":1},"
      "\"findings\":[{\"check\":\"untrusted-registry\",\"severity\":\"info\"}],\"images\":["
      "{\"reference\":\"r/a:1\",\"registry\":\"r\",\"repository\":\"a\",\"tag\":\"1\",\"severity\":\"high\","
      "\"findings\":[{\"check\":\"integrity-stale\",\"severity\":\"high\"}],\"workloads\":[]},"
      "{\"reference\":\"r/b\",\"registry\":\"r\",\"repository\":\"b\",\"tag\":null,\"severity\":\"low\","
      "\"findings\":[{\"check\":\"moving-tag\",\"severity\":\"low\"}],\"workloads\":[]}]}",
      0, NULL);
  /* a:1 was re-assessed and is clean now: the partial document lists nothing. */
  json_t *clean
      = json_loads ("{\"apiVersion\":\"imgwatch/v1\",\"generatedAt\":\"t1\",\"summary\":{\"images\":1},"
                    "\"images\":[]}",
                    0, NULL);
  /* b (implicit latest) re-assessed: now critical. */
  json_t *worse = json_loads (
      "{\"apiVersion\":\"imgwatch/v1\",\"generatedAt\":\"t2\",\"images\":[{\"reference\":\"r/"
      "b\",\"registry\":"
      "\"r\",\"repository\":\"b\",\"severity\":\"critical\",\"findings\":[{\"check\":\"integrity-unknown\","
      "\"severity\":\"critical\"}],\"workloads\":[]}]}",
      0, NULL);
  const char *a_ref[] = { "r/a:1", NULL }, *b_ref[] = { "r/b:latest", NULL };
  json_t *m1, *m2, *sum;

  (void)state;
  m1 = iw_daemon_merge_partial (base, clean, a_ref);
  assert_string_equal (json_string_value (json_object_get (m1, "generatedAt")), "t1");
  assert_int_equal (json_array_size (json_object_get (m1, "images")), 1);
  sum = json_object_get (m1, "summary");
  assert_int_equal (json_integer_value (json_object_get (sum, "images")), 5);
  assert_int_equal (json_integer_value (json_object_get (sum, "containers")), 9);
  assert_int_equal (json_integer_value (json_object_get (sum, "high")), 0);
  assert_int_equal (json_integer_value (json_object_get (sum, "low")), 1);
  assert_int_equal (json_integer_value (json_object_get (sum, "info")), 1);
  assert_int_equal (json_array_size (json_object_get (m1, "findings")), 1);

  m2 = iw_daemon_merge_partial (m1, worse, b_ref);
  assert_int_equal (json_array_size (json_object_get (m2, "images")), 1);
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (json_object_get (m2, "images"), 0), "severity")),
      "critical");
  assert_int_equal (json_integer_value (json_object_get (json_object_get (m2, "summary"), "critical")), 1);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (m2, "summary"), "low")), 0);
  json_decref (base);
  json_decref (clean);
  json_decref (worse);
  json_decref (m1);
  json_decref (m2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_daemon__push_opens_restart_resolves_and_rollback_flags, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_daemon__events_for_images_nothing_runs_need_no_assessment, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_daemon__notified_before_the_tag_moved_is_caught_by_the_second_look,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_daemon__a_pod_change_reassesses_only_its_images, setup, teardown),
    cmocka_unit_test_setup_teardown (test_daemon__events_stored_before_a_crash_are_processed_at_start, setup,
                                     teardown),
    cmocka_unit_test (test_daemon__rollback_finding_reorders_by_risk),
    cmocka_unit_test (test_daemon__partial_result_merges_into_the_last_state),
    cmocka_unit_test (test_daemon__rollback_of_a_clean_running_tag_adds_its_image),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
