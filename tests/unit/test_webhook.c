/*
 * test_webhook.c - registry webhook payloads of every provider, as their
 * documentation gives them, and the malformed ones they must refuse.
 */
#include "server/webhook.h"
#include "util/buf.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A payload from the seed corpus (the first byte there selects the provider). */
static char *
load (const char *name, size_t *len)
{
  char *path = iw_xasprintf ("tests/fuzz/corpus/fuzz_webhook/%s", name);
  FILE *f = fopen (path, "rb");
  char *buf = iw_xmalloc (65536);
  size_t n;

  assert_non_null (f);
  n = fread (buf, 1, 65535, f);
  fclose (f);
  free (path);
  buf[n] = '\0';
  memmove (buf, buf + 1, n); /* drop the provider byte */
  *len = n - 1;
  return buf;
}

static void
test_webhook__parses_every_provider (void **state)
{
  static const struct
  {
    const char *file;
    iw_webhook_provider p;
    iw_webhook_action action;
    const char *ref;
    const char *digest;
    int64_t time_ms;
  } cases[] = {
    { "distribution_push", IW_WEBHOOK_DISTRIBUTION, IW_WEBHOOK_PUSH,
      "192.168.100.227:5000/hello-world:latest",
      "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf", 1457563466402 },
    { "harbor_push", IW_WEBHOOK_HARBOR, IW_WEBHOOK_PUSH, "harbor.example.com/library/nginx:latest",
      "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8", 1586922308000 },
    { "artifactory_push", IW_WEBHOOK_ARTIFACTORY, IW_WEBHOOK_PUSH,
      "example.jfrog.io/docker-local/alpine:latest",
      "sha256:1c6c7c6b4bfb7c2ff6fc8d0d6e5d87d2ad1a70d4bde1e87ad1d2a6fc1b8d9a2a", 0 },
    { "dockerhub_push", IW_WEBHOOK_DOCKERHUB, IW_WEBHOOK_PUSH, "docker.io/svendowideit/testhook:latest", NULL,
      1417566161000 },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      size_t len, n = 0;
      char *body = load (cases[i].file, &len);
      iw_webhook_event *ev = NULL;
      iw_error *err = NULL;
      char *ref;

      assert_int_equal (iw_webhook_parse (&ev, &n, cases[i].p, body, len, &err), 0);
      assert_int_equal (n, 1);
      assert_int_equal (ev[0].action, cases[i].action);
      ref = iw_webhook_event_reference (&ev[0]);
      assert_string_equal (ref, cases[i].ref);
      if (cases[i].digest)
        assert_string_equal (ev[0].digest, cases[i].digest);
      assert_int_equal (ev[0].time_ms, cases[i].time_ms);
      assert_non_null (strchr (ev[0].id, ':'));
      free (ref);
      /* A redelivery of the same body gets the same id. */
      {
        iw_webhook_event *again = NULL;
        size_t n2 = 0;

        assert_int_equal (iw_webhook_parse (&again, &n2, cases[i].p, body, len, &err), 0);
        assert_string_equal (again[0].id, ev[0].id);
        iw_webhook_events_free (again, n2);
      }
      iw_webhook_events_free (ev, n);
      free (body);
    }
}

static void
test_webhook__distribution_classifies_actions (void **state)
{
  size_t len, n = 0;
  char *body = load ("distribution_blob", &len);
  iw_webhook_event *ev = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_webhook_parse (&ev, &n, IW_WEBHOOK_DISTRIBUTION, body, len, &err), 0);
  assert_int_equal (n, 3);
  /* A layer push and a pull need no re-resolution; a delete does. */
  assert_int_equal (ev[0].action, IW_WEBHOOK_OTHER);
  assert_null (ev[0].tag);
  assert_int_equal (ev[0].time_ms, 1796316581000);
  assert_int_equal (ev[1].action, IW_WEBHOOK_OTHER);
  assert_int_equal (ev[2].action, IW_WEBHOOK_DELETE);
  assert_null (ev[2].registry);
  assert_null (iw_webhook_event_reference (&ev[2]));
  assert_string_equal (ev[0].id, "distribution:a1");
  iw_webhook_events_free (ev, n);
  free (body);
}

static void
test_webhook__rejects_malformed_payloads (void **state)
{
  static const struct
  {
    iw_webhook_provider p;
    const char *body;
    iw_code code;
    const char *needle;
  } cases[] = {
    { IW_WEBHOOK_DISTRIBUTION, "", IW_EPARSE, "line" },
    { IW_WEBHOOK_DISTRIBUTION, "[]", IW_EPARSE, "expected an object" },
    { IW_WEBHOOK_DISTRIBUTION, "{\"events\":{}}", IW_EPARSE, "events: expected an array" },
    { IW_WEBHOOK_DISTRIBUTION, "{\"events\":[{\"action\":\"push\"}]}", IW_EPARSE, "events[0].id: missing" },
    { IW_WEBHOOK_DISTRIBUTION, "{\"events\":[{\"id\":\"a\",\"id\":\"b\"}]}", IW_EPARSE, "duplicate" },
    { IW_WEBHOOK_DISTRIBUTION, "{\"events\":[{\"id\":7,\"action\":\"push\"}]}", IW_EPARSE,
      "expected a string" },
    { IW_WEBHOOK_DISTRIBUTION, "{\"events\":[{\"id\":\"a\\u0000b\",\"action\":\"push\"}]}", IW_EPARSE,
      "not allowed" },
    { IW_WEBHOOK_HARBOR, "{\"type\":\"PUSH_ARTIFACT\"}", IW_EPARSE, "resources" },
    { IW_WEBHOOK_HARBOR, "{\"event_data\":{}}", IW_EPARSE, "type: missing" },
    { IW_WEBHOOK_ARTIFACTORY, "{\"event_type\":\"pushed\"}", IW_EPARSE, "data: expected an object" },
    { IW_WEBHOOK_DOCKERHUB, "{\"push_data\":{}}", IW_EPARSE, "repo_name: missing" },
    { IW_WEBHOOK_DOCKERHUB, "{\"repository\":{\"repo_name\":\"x\"}}", IW_EPARSE, "push_data" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      iw_webhook_event *ev = (iw_webhook_event *)1;
      size_t n = 9;
      iw_error *err = NULL;

      assert_int_equal (iw_webhook_parse (&ev, &n, cases[i].p, cases[i].body, strlen (cases[i].body), &err),
                        -1);
      assert_null (ev);
      assert_int_equal (n, 0);
      assert_int_equal (iw_error_code (err), cases[i].code);
      if (strstr (iw_error_msg (err), cases[i].needle) == NULL)
        fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, iw_error_msg (err), cases[i].needle);
      iw_error_free (err);
    }
}

static void
test_webhook__caps_body_and_event_count (void **state)
{
  iw_webhook_event *ev = NULL;
  size_t n = 0;
  iw_error *err = NULL;
  char *big = iw_xcalloc (1, IW_WEBHOOK_BODY_MAX + 2);
  iw_buf b = IW_BUF_INIT (IW_WEBHOOK_BODY_MAX);

  (void)state;
  memset (big, ' ', IW_WEBHOOK_BODY_MAX + 1);
  assert_int_equal (iw_webhook_parse (&ev, &n, IW_WEBHOOK_DISTRIBUTION, big, IW_WEBHOOK_BODY_MAX + 1, &err),
                    -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  iw_error_clear (&err);
  free (big);

  iw_buf_appends (&b, "{\"events\":[", NULL);
  for (int i = 0; i <= IW_WEBHOOK_EVENTS_MAX; i++)
    iw_buf_printf (&b, NULL, "%s{\"id\":\"%d\",\"action\":\"pull\"}", i ? "," : "", i);
  iw_buf_appends (&b, "]}", NULL);
  assert_int_equal (iw_webhook_parse (&ev, &n, IW_WEBHOOK_DISTRIBUTION, b.data, b.len, &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  iw_error_free (err);
  iw_buf_free (&b);
}

static void
test_webhook__parses_rfc3339_times (void **state)
{
  static const struct
  {
    const char *in;
    int rc;
    int64_t ms;
  } cases[] = {
    { "1970-01-01T00:00:00Z", 0, 0 },
    { "2016-03-09T14:44:26.402973972-08:00", 0, 1457563466402 },
    { "2026-12-03T16:49:41.5Z", 0, 1796316581500 },
    { "2026-12-03T18:49:41+02:00", 0, 1796316581000 },
    { "2026-12-03 16:49:41Z", -1, 0 },
    { "2026-13-03T16:49:41Z", -1, 0 },
    { "2026-12-03T16:49:41", -1, 0 },
    { "2026-12-03T16:49:41.Z", -1, 0 },
    { "2026-12-03T16:49:41Zjunk", -1, 0 },
    { "", -1, 0 },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      int64_t t = 42;

      assert_int_equal (iw_webhook_parse_time (&t, cases[i].in), cases[i].rc);
      assert_int_equal (t, cases[i].ms);
    }
  assert_int_equal (iw_webhook_provider_parse ("harbor"), IW_WEBHOOK_HARBOR);
  assert_int_equal (iw_webhook_provider_parse ("gitlab"), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_webhook__parses_every_provider),
    cmocka_unit_test (test_webhook__distribution_classifies_actions),
    cmocka_unit_test (test_webhook__rejects_malformed_payloads),
    cmocka_unit_test (test_webhook__caps_body_and_event_count),
    cmocka_unit_test (test_webhook__parses_rfc3339_times),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
