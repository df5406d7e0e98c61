/*
 * test_server_alerts.c - alerts out: only high and critical findings, both
 * formats, retries after a 503 with backoff, and the rate limit, against
 * a receiver on a loopback port.
 */
#include "server/alerts.h"
#include "util/buf.h"
#include "util/mem.h"

#include <jansson.h>
#include <microhttpd.h>
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

typedef struct receiver
{
  struct MHD_Daemon *d;
  int port;
  pthread_mutex_t lock;
  int fail_first; /* answer 503 to this many requests */
  int requests;
  char *bodies[64];
  int n;
} receiver;

typedef struct body
{
  iw_buf b;
} body;

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
            const char *data, size_t *size, void **con_cls)
{
  receiver *r = cls;
  body *b = *con_cls;
  struct MHD_Response *resp;
  enum MHD_Result ret;
  unsigned status = 200;

  (void)url;
  (void)method;
  (void)version;
  if (b == NULL)
    {
      b = iw_xcalloc (1, sizeof *b);
      iw_buf_init (&b->b, IW_MIB);
      *con_cls = b;
      return MHD_YES;
    }
  if (*size)
    {
      iw_buf_append (&b->b, data, *size, NULL);
      *size = 0;
      return MHD_YES;
    }
  pthread_mutex_lock (&r->lock);
  r->requests++;
  if (r->fail_first > 0)
    {
      r->fail_first--;
      status = 503;
    }
  else if (r->n < 64)
    r->bodies[r->n++] = iw_buf_take (&b->b);
  pthread_mutex_unlock (&r->lock);
  resp = MHD_create_response_from_buffer (0, (void *)"", MHD_RESPMEM_PERSISTENT);
  ret = MHD_queue_response (c, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

static void
on_done (void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  body *b = *con_cls;

  (void)cls;
  (void)c;
  (void)toe;
  if (b)
    {
      iw_buf_free (&b->b);
      free (b);
    }
}

static int
setup (void **state)
{
  receiver *r = iw_xcalloc (1, sizeof *r);

  pthread_mutex_init (&r->lock, NULL);
  r->d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, r,
                           MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
  assert_non_null (r->d);
  r->port = MHD_get_daemon_info (r->d, MHD_DAEMON_INFO_BIND_PORT)->port;
  *state = r;
  return 0;
}

static int
teardown (void **state)
{
  receiver *r = *state;

  MHD_stop_daemon (r->d);
  for (int i = 0; i < r->n; i++)
    free (r->bodies[i]);
  pthread_mutex_destroy (&r->lock);
  free (r);
  return 0;
}

static int
received (receiver *r)
{
  int n;

  pthread_mutex_lock (&r->lock);
  n = r->n;
  pthread_mutex_unlock (&r->lock);
  return n;
}

static void
wait_for (receiver *r, int n)
{
  for (int i = 0; i < 500 && received (r) < n; i++)
    usleep (10000);
}

static iw_finding_change
change (bool opened, const char *severity)
{
  iw_finding_change c = { opened,
                          (char *)"127.0.0.1:5000/green-burrito:latest",
                          (char *)"integrity-stale",
                          (char *)severity,
                          (char *)"runs sha256:aaa, the tag is at sha256:bbb",
                          (char *)"default/Deployment/green-burrito",
                          opened ? NULL : (char *)"pod restarted",
                          1000,
                          opened ? 0 : 61000 };
  return c;
}

static void
test_alerts__posts_high_findings_in_both_formats (void **state)
{
  receiver *r = *state;
  char *generic = iw_xasprintf ("http://127.0.0.1:%d/generic", r->port);
  char *slack = iw_xasprintf ("http://127.0.0.1:%d/services/T000/B000/XXXX", r->port);
  iw_alert_target t[] = { { generic, false }, { slack, true } };
  iw_alerts_options o = IW_ALERTS_OPTIONS_INIT;
  iw_metrics *m = iw_metrics_new ();
  iw_alerts *a = NULL;
  iw_error *err = NULL;
  iw_finding_change low = change (true, "medium"), high = change (true, "high");
  json_t *doc;
  int saw_generic = 0, saw_slack = 0;

  o.targets = t;
  o.n_targets = 2;
  assert_int_equal (iw_alerts_new (&a, &o, m, &err), 0);
  assert_false (iw_alerts_notify (a, &low));
  assert_true (iw_alerts_notify (a, &high));
  wait_for (r, 2);
  assert_int_equal (received (r), 2);
  for (int i = 0; i < 2; i++)
    {
      doc = json_loads (r->bodies[i], 0, NULL);
      assert_non_null (doc);
      if (json_object_get (doc, "text"))
        {
          saw_slack++;
          assert_non_null (strstr (json_string_value (json_object_get (doc, "text")),
                                   "[high] integrity-stale on 127.0.0.1:5000/green-burrito:latest"));
        }
      else
        {
          saw_generic++;
          assert_string_equal (json_string_value (json_object_get (doc, "kind")), "FindingOpened");
          assert_string_equal (json_string_value (json_object_get (doc, "check")), "integrity-stale");
          assert_string_equal (json_string_value (json_object_get (doc, "openedAt")), "1970-01-01T00:00:01Z");
        }
      json_decref (doc);
    }
  assert_int_equal (saw_generic, 1);
  assert_int_equal (saw_slack, 1);
  iw_alerts_free (a);
  assert_int_equal (iw_metrics_get (m, "imgwatch_alerts_total", "result=\"sent\""), 2);
  iw_metrics_free (m);
  free (generic);
  free (slack);
}

static void
test_alerts__retries_with_backoff_until_delivered (void **state)
{
  receiver *r = *state;
  char *url = iw_xasprintf ("http://127.0.0.1:%d/hook", r->port);
  iw_alert_target t[] = { { url, false } };
  iw_alerts_options o = IW_ALERTS_OPTIONS_INIT;
  iw_metrics *m = iw_metrics_new ();
  iw_alerts *a = NULL;
  iw_error *err = NULL;
  iw_finding_change res = change (false, "critical");

  r->fail_first = 2;
  o.targets = t;
  o.n_targets = 1;
  o.backoff_ms = 20;
  assert_int_equal (iw_alerts_new (&a, &o, m, &err), 0);
  assert_true (iw_alerts_notify (a, &res));
  wait_for (r, 1);
  assert_int_equal (received (r), 1);
  assert_int_equal (r->requests, 3);
  assert_non_null (strstr (r->bodies[0], "\"kind\":\"FindingResolved\""));
  assert_non_null (strstr (r->bodies[0], "\"resolution\":\"pod restarted\""));
  iw_alerts_free (a);
  assert_int_equal (iw_metrics_get (m, "imgwatch_alerts_total", "result=\"retried\""), 2);
  iw_metrics_free (m);
  free (url);
}

static void
test_alerts__rate_limit_delays_beyond_the_burst (void **state)
{
  receiver *r = *state;
  char *url = iw_xasprintf ("http://127.0.0.1:%d/hook", r->port);
  iw_alert_target t[] = { { url, true } };
  iw_alerts_options o = IW_ALERTS_OPTIONS_INIT;
  iw_metrics *m = iw_metrics_new ();
  iw_alerts *a = NULL;
  iw_error *err = NULL;
  iw_finding_change high = change (true, "high");

  o.targets = t;
  o.n_targets = 1;
  o.burst = 2;
  o.rate_per_min = 1; /* one more per minute: the third waits */
  o.drain_ms = 100;
  assert_int_equal (iw_alerts_new (&a, &o, m, &err), 0);
  for (int i = 0; i < 3; i++)
    assert_true (iw_alerts_notify (a, &high));
  wait_for (r, 2);
  usleep (200000);
  assert_int_equal (received (r), 2);
  iw_alerts_free (a);
  assert_true (iw_metrics_get (m, "imgwatch_alerts_total", "result=\"ratelimited\"") >= 1);
  assert_int_equal (iw_metrics_get (m, "imgwatch_alerts_total", "result=\"dropped\""), 1);
  iw_metrics_free (m);
  free (url);
}

static void
test_alerts__rejects_non_http_urls (void **state)
{
  iw_alert_target t[] = { { "file:///etc/passwd", false } };
  iw_alerts_options o = IW_ALERTS_OPTIONS_INIT;
  iw_metrics *m = iw_metrics_new ();
  iw_alerts *a = NULL;
  iw_error *err = NULL;

  (void)state;
  o.targets = t;
  o.n_targets = 1;
  assert_int_equal (iw_alerts_new (&a, &o, m, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  /* The message must not echo the URL: it may be a credential. */
  assert_null (strstr (iw_error_msg (err), "passwd"));
  iw_error_free (err);
  iw_metrics_free (m);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_alerts__posts_high_findings_in_both_formats, setup, teardown),
    cmocka_unit_test_setup_teardown (test_alerts__retries_with_backoff_until_delivered, setup, teardown),
    cmocka_unit_test_setup_teardown (test_alerts__rate_limit_delays_beyond_the_burst, setup, teardown),
    cmocka_unit_test (test_alerts__rejects_non_http_urls),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
