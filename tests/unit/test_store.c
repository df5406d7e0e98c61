/*
 * test_store.c - the serve history store: migrations, tag timeline and
 * rollback detection, runs, findings and MTTR, the webhook inbox,
 * retention, and durability across a reopen.
 */
#include "store/store.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

typedef struct fixture
{
  char dir[64];
  char url[128];
  iw_store *s;
} fixture;

static int
setup (void **state)
{
  fixture *f = iw_xcalloc (1, sizeof *f);
  iw_error *err = NULL;

  strcpy (f->dir, "/tmp/iw-store-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->url, sizeof f->url, "sqlite:%s/history.db", f->dir);
  assert_int_equal (iw_store_open (&f->s, f->url, NULL, &err), 0);
  assert_null (err);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  fixture *f = *state;
  char *cmd = iw_xasprintf ("rm -rf '%s'", f->dir);

  iw_store_free (f->s);
  assert_int_equal (system (cmd), 0);
  free (cmd);
  free (f);
  return 0;
}

static void
test_store__migrates_to_the_current_version_once (void **state)
{
  fixture *f = *state;
  iw_store *again = NULL;
  iw_error *err = NULL;

  assert_int_equal (iw_store_schema_version (f->s), IW_STORE_SCHEMA_VERSION);
  assert_int_equal (iw_store_open (&again, f->url, NULL, &err), 0);
  assert_int_equal (iw_store_schema_version (again), IW_STORE_SCHEMA_VERSION);
  iw_store_free (again);
  iw_store_free (NULL);
}

static void
test_store__rejects_bad_urls (void **state)
{
  static const struct
  {
    const char *url;
    iw_code code;
  } cases[] = {
    { "", IW_EINVAL },
    { "sqlite:", IW_EINVAL },
    { "mysql://x/y", IW_EUNSUPPORTED },
    { "postgres://127.0.0.1:1/imgwatch?connect_timeout=2", IW_EIO },
    { "sqlite:/nonexistent-dir-iw/x/y.db", IW_EIO },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      iw_store *s = (iw_store *)1;
      iw_error *err = NULL;

      assert_int_equal (iw_store_open (&s, cases[i].url, NULL, &err), -1);
      assert_null (s);
      assert_int_equal (iw_error_code (err), cases[i].code);
      iw_error_free (err);
    }
}

static void
test_store__tag_timeline_detects_moves_and_rollbacks (void **state)
{
  static const struct
  {
    const char *digest;
    iw_tag_change want;
  } steps[] = {
    { D1, IW_TAG_NEW },      { D1, IW_TAG_SAME }, { D2, IW_TAG_MOVED },
    { D1, IW_TAG_ROLLBACK }, { D1, IW_TAG_SAME }, { D3, IW_TAG_MOVED },
  };
  fixture *f = *state;
  iw_error *err = NULL;
  json_t *rb = NULL, *h = NULL;

  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    {
      iw_tag_change c;

      assert_int_equal (iw_store_observe_tag (f->s, &c, "127.0.0.1:5000/green-burrito", "latest",
                                              steps[i].digest, 1000 * (int64_t)(i + 1), &err),
                        0);
      assert_int_equal (c, steps[i].want);
      if (steps[i].want == IW_TAG_ROLLBACK)
        {
          assert_int_equal (iw_store_rollbacks (f->s, &rb, &err), 0);
          assert_int_equal (json_array_size (rb), 1);
          assert_string_equal (json_string_value (json_object_get (json_array_get (rb, 0), "digest")), D1);
          assert_string_equal (json_string_value (json_object_get (json_array_get (rb, 0), "previousDigest")),
                               D2);
          json_decref (rb);
        }
    }
  /* Another tag of the same repository has its own timeline. */
  {
    iw_tag_change c;

    assert_int_equal (iw_store_observe_tag (f->s, &c, "127.0.0.1:5000/green-burrito", "v1", D2, 9000, &err),
                      0);
    assert_int_equal (c, IW_TAG_NEW);
  }
  /* Moving on to a fresh digest clears the rollback. */
  assert_int_equal (iw_store_rollbacks (f->s, &rb, &err), 0);
  assert_int_equal (json_array_size (rb), 0);
  json_decref (rb);

  assert_int_equal (iw_store_history (f->s, &h, "127.0.0.1:5000/green-burrito:latest", 100, &err), 0);
  assert_int_equal (json_array_size (json_object_get (h, "tags")), 4);
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (json_object_get (h, "tags"), 0), "digest")), D3);
  assert_int_equal (
      json_integer_value (json_object_get (json_array_get (json_object_get (h, "tags"), 1), "lastSeen")),
      5000);
  assert_true (json_is_true (json_object_get (json_array_get (json_object_get (h, "tags"), 1), "rollback")));
  json_decref (h);
}

static void
test_store__observe_rejects_missing_fields (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;

  assert_int_equal (iw_store_observe_tag (f->s, NULL, "r", "", D1, 1, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  iw_error_free (err);
}

static void
test_store__runs_open_and_close (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  json_t *h = NULL, *runs;
  iw_store_run v1[] = {
    { "default/Deployment/green-burrito", "app", "r/green-burrito:latest", D1 },
    { "default/Deployment/other", "app", "r/other:1", D3 },
  };
  iw_store_run v2[] = {
    { "default/Deployment/green-burrito", "app", "r/green-burrito:latest", D2 },
    { "default/Deployment/other", "app", "r/other:1", D3 },
  };

  assert_int_equal (iw_store_sync_runs (f->s, v1, 2, 100, &err), 0);
  assert_int_equal (iw_store_sync_runs (f->s, v1, 2, 150, &err), 0);
  assert_int_equal (iw_store_sync_runs (f->s, v2, 2, 200, &err), 0);
  assert_int_equal (iw_store_history (f->s, &h, "r/green-burrito:latest", 10, &err), 0);
  runs = json_object_get (h, "runs");
  assert_int_equal (json_array_size (runs), 2);
  /* Newest first: D2 open since 200, D1 ran 100..200. */
  assert_string_equal (json_string_value (json_object_get (json_array_get (runs, 0), "digest")), D2);
  assert_true (json_is_null (json_object_get (json_array_get (runs, 0), "endedAt")));
  assert_int_equal (json_integer_value (json_object_get (json_array_get (runs, 1), "startedAt")), 100);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (runs, 1), "endedAt")), 200);
  json_decref (h);
  assert_int_equal (iw_store_history (f->s, &h, NULL, 10, &err), 0);
  assert_int_equal (json_array_size (json_object_get (h, "runs")), 3);
  json_decref (h);
}

static void
test_store__findings_open_resolve_and_mttr (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  iw_finding_change *c = NULL;
  size_t n = 0;
  iw_mttr *m = NULL;
  size_t nm = 0;
  json_t *h = NULL;
  iw_store_current_finding stale
      = { "r/gb:latest", "integrity-stale", "high", "stale", "default/Deployment/gb" };
  iw_store_current_finding moving = { "r/gb:latest", "moving-tag", "medium", NULL, NULL };
  iw_store_current_finding both[] = { stale, moving };

  assert_int_equal (iw_store_sync_findings (f->s, &c, &n, both, 2, "start", 1000, &err), 0);
  assert_int_equal (n, 2);
  assert_true (c[0].opened);
  assert_string_equal (c[0].check, "integrity-stale");
  assert_int_equal (c[0].opened_at, 1000);
  iw_finding_changes_free (c, n);

  /* Still reported: nothing changes. */
  assert_int_equal (iw_store_sync_findings (f->s, &c, &n, both, 2, "resync", 2000, &err), 0);
  assert_int_equal (n, 0);
  iw_finding_changes_free (c, n);

  /* The stale one goes away: resolved with the cause and its duration. */
  assert_int_equal (iw_store_sync_findings (f->s, &c, &n, &moving, 1, "pod restarted on " D2, 4000, &err), 0);
  assert_int_equal (n, 1);
  assert_false (c[0].opened);
  assert_string_equal (c[0].check, "integrity-stale");
  assert_string_equal (c[0].resolution, "pod restarted on " D2);
  assert_int_equal (c[0].opened_at, 1000);
  assert_int_equal (c[0].resolved_at, 4000);
  iw_finding_changes_free (c, n);

  /* It comes back: a new finding, then resolved again after 1 s. */
  assert_int_equal (iw_store_sync_findings (f->s, NULL, NULL, both, 2, "push", 5000, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->s, NULL, NULL, &moving, 1, "restart", 6000, &err), 0);

  assert_int_equal (iw_store_mttr (f->s, &m, &nm, &err), 0);
  assert_int_equal (nm, 2);
  assert_string_equal (m[0].check, "integrity-stale");
  assert_int_equal (m[0].resolved, 2);
  assert_int_equal (m[0].open, 0);
  assert_true (m[0].mean_s > 1.99 && m[0].mean_s < 2.01); /* (3 s + 1 s) / 2 */
  assert_true (m[0].max_s > 2.99 && m[0].max_s < 3.01);
  assert_string_equal (m[1].check, "moving-tag");
  assert_int_equal (m[1].resolved, 0);
  assert_int_equal (m[1].open, 1);
  iw_mttr_free (m, nm);

  assert_int_equal (iw_store_history (f->s, &h, "r/gb:latest", 10, &err), 0);
  assert_int_equal (json_array_size (json_object_get (h, "findings")), 3);
  json_decref (h);
}

static void
test_store__inbox_dedupes_by_event_id (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  bool fresh;
  long total, pending;
  json_t *p = NULL;

  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "ev-1", "distribution", "{}", 10, &err), 0);
  assert_true (fresh);
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "ev-1", "distribution", "{}", 11, &err), 0);
  assert_false (fresh);
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "ev-2", "harbor", "{\"a\":1}", 12, &err), 0);
  assert_true (fresh);
  assert_int_equal (iw_store_inbox_pending (f->s, &p, 10, &err), 0);
  assert_int_equal (json_array_size (p), 2);
  assert_string_equal (json_string_value (json_object_get (json_array_get (p, 0), "id")), "ev-1");
  json_decref (p);
  assert_int_equal (iw_store_inbox_done (f->s, "ev-1", 20, &err), 0);
  assert_int_equal (iw_store_inbox_count (f->s, &total, &pending, &err), 0);
  assert_int_equal (total, 2);
  assert_int_equal (pending, 1);
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "ev-3", "harbor", "{}", 25, &err), 0);
  assert_int_equal (iw_store_inbox_done_before (f->s, 12, 26, &err), 0);
  assert_int_equal (iw_store_inbox_count (f->s, &total, &pending, &err), 0);
  assert_int_equal (total, 3);
  assert_int_equal (pending, 1); /* ev-3 came after */
  /* A processed event is still remembered: a redelivery is a duplicate. */
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "ev-1", "distribution", "{}", 30, &err), 0);
  assert_false (fresh);
}

static void
test_store__prune_keeps_the_current_state (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  json_t *h = NULL;
  iw_store_current_finding a = { "r/x:1", "moving-tag", "low", NULL, NULL };
  iw_store_run run = { "ns/Pod/x", "c", "r/x:1", D1 };
  bool fresh;

  assert_int_equal (iw_store_observe_tag (f->s, NULL, "r/x", "1", D1, 100, &err), 0);
  assert_int_equal (iw_store_observe_tag (f->s, NULL, "r/x", "1", D2, 200, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->s, NULL, NULL, &a, 1, "c", 100, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->s, NULL, NULL, NULL, 0, "c", 200, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->s, NULL, NULL, &a, 1, "c", 300, &err), 0);
  assert_int_equal (iw_store_sync_runs (f->s, &run, 1, 100, &err), 0);
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "e", "distribution", "{}", 100, &err), 0);
  assert_int_equal (iw_store_inbox_done (f->s, "e", 150, &err), 0);

  assert_int_equal (iw_store_prune (f->s, 1000, &err), 0);
  assert_int_equal (iw_store_history (f->s, &h, NULL, 100, &err), 0);
  assert_int_equal (json_array_size (json_object_get (h, "tags")), 1);
  assert_int_equal (json_array_size (json_object_get (h, "findings")), 1);
  assert_true (
      json_is_null (json_object_get (json_array_get (json_object_get (h, "findings"), 0), "resolvedAt")));
  assert_int_equal (json_array_size (json_object_get (h, "runs")), 1);
  json_decref (h);
  /* Retention forgets processed events too. */
  assert_int_equal (iw_store_inbox_add (f->s, &fresh, "e", "distribution", "{}", 2000, &err), 0);
  assert_true (fresh);
}

static void
test_store__acknowledged_writes_survive_kill_9 (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  json_t *h = NULL;
  iw_store *s = NULL;
  int fds[2];
  pid_t pid;
  char buf[8];

  assert_int_equal (pipe (fds), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      /* The child writes, acknowledges each write through the pipe and is
       * killed by SIGKILL without closing anything. */
      iw_store *c = NULL;

      close (fds[0]);
      if (iw_store_open (&c, f->url, NULL, NULL) < 0)
        _exit (1);
      for (int i = 0; i < 50; i++)
        {
          char id[16];
          bool fresh;

          snprintf (id, sizeof id, "k%d", i);
          if (iw_store_inbox_add (c, &fresh, id, "distribution", "{}", i, NULL) < 0)
            _exit (1);
          if (write (fds[1], "a", 1) != 1)
            _exit (1);
        }
      for (;;)
        pause ();
    }
  close (fds[1]);
  for (int i = 0; i < 50; i++)
    assert_int_equal (read (fds[0], buf, 1), 1);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  close (fds[0]);

  assert_int_equal (iw_store_open (&s, f->url, NULL, &err), 0);
  {
    long total, pending;

    assert_int_equal (iw_store_inbox_count (s, &total, &pending, &err), 0);
    assert_int_equal (total, 50);
  }
  assert_int_equal (iw_store_history (s, &h, NULL, 1, &err), 0);
  json_decref (h);
  iw_store_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_store__migrates_to_the_current_version_once, setup, teardown),
    cmocka_unit_test (test_store__rejects_bad_urls),
    cmocka_unit_test_setup_teardown (test_store__tag_timeline_detects_moves_and_rollbacks, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__observe_rejects_missing_fields, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__runs_open_and_close, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__findings_open_resolve_and_mttr, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__inbox_dedupes_by_event_id, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__prune_keeps_the_current_state, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store__acknowledged_writes_survive_kill_9, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
