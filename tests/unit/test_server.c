/*
 * test_server.c - the serve HTTP side on a loopback port: health and
 * readiness, the published assessment with ETags, the image and history
 * API, metrics, the webhook gate (secret, size cap, parse errors,
 * dedupe), the bearer token, and the read-only rule.
 */
#include "server/server.h"
#include "util/buf.h"
#include "util/mem.h"

#include <curl/curl.h>
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

static const char assessment[]
    = "{\"apiVersion\":\"imgwatch/v1\",\"kind\":\"Assessment\",\"generatedAt\":\"2026-12-03T17:00:00Z\","
      "\"source\":\"file:pods.json\",\"summary\":{\"images\":1,\"containers\":2,\"critical\":0,\"high\":1,"
      "\"medium\":0,\"low\":0,\"info\":0},\"images\":[{\"reference\":\"127.0.0.1:5000/green-burrito:latest\","
      "\"registry\":\"127.0.0.1:5000\",\"repository\":\"green-burrito\",\"tag\":\"latest\","
      "\"runningDigests\":[\"" D1 "\"],\"registryDigest\":\"" D2
      "\",\"severity\":\"high\",\"findings\":[{\"check\":\"integrity-stale\","
      "\"severity\":\"high\",\"message\":\"stale\",\"remediation\":\"kubectl rollout restart\","
      "\"workloads\":[\"default/Deployment/green-burrito\"]}],\"workloads\":[]}]}";

typedef struct fixture
{
  char dir[64];
  iw_store *store;
  iw_metrics *metrics;
  iw_server *srv;
  char base[64];
  int events;
  char last_ref[256];
} fixture;

static void
on_event (const iw_webhook_event *ev, int64_t received_ms, void *userdata)
{
  fixture *f = userdata;
  char *ref = iw_webhook_event_reference (ev);

  (void)received_ms;
  f->events++;
  snprintf (f->last_ref, sizeof f->last_ref, "%s", ref ? ref : "");
  free (ref);
}

static int
start (void **state, const char *token)
{
  fixture *f = iw_xcalloc (1, sizeof *f);
  iw_server_options o = IW_SERVER_OPTIONS_INIT;
  iw_error *err = NULL;
  char *url;

  strcpy (f->dir, "/tmp/iw-server-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  url = iw_xasprintf ("sqlite:%s/h.db", f->dir);
  assert_int_equal (iw_store_open (&f->store, url, NULL, &err), 0);
  free (url);
  f->metrics = iw_metrics_new ();
  o.listen = "127.0.0.1:0";
  o.token = token;
  o.webhook_secret = "s3cret";
  o.on_event = on_event;
  o.userdata = f;
  o.threads = 2;
  assert_int_equal (iw_server_start (&f->srv, &o, f->store, f->metrics, &err), 0);
  assert_true (iw_server_port (f->srv) > 0);
  snprintf (f->base, sizeof f->base, "http://127.0.0.1:%d", iw_server_port (f->srv));
  *state = f;
  return 0;
}

static int
setup (void **state)
{
  return start (state, NULL);
}

static int
setup_token (void **state)
{
  return start (state, "t0ken");
}

static int
teardown (void **state)
{
  fixture *f = *state;
  char *cmd = iw_xasprintf ("rm -rf '%s'", f->dir);

  iw_server_stop (f->srv);
  iw_store_free (f->store);
  iw_metrics_free (f->metrics);
  assert_int_equal (system (cmd), 0);
  free (cmd);
  free (f);
  return 0;
}

static size_t
collect (char *p, size_t size, size_t n, void *data)
{
  iw_buf_append (data, p, size * n, NULL);
  return size * n;
}

/* One request; returns the status, the body in *body (caller frees). */
static long
http (fixture *f, const char *method, const char *path, const char *header, const char *body, char **out)
{
  CURL *c = curl_easy_init ();
  struct curl_slist *h = NULL;
  iw_buf b = IW_BUF_INIT (4 * IW_MIB);
  char *url = iw_xasprintf ("%s%s", f->base, path);
  long status = 0;

  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  if (header)
    h = curl_slist_append (h, header);
  h = curl_slist_append (h, "Expect:");
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
  if (body)
    {
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long)strlen (body));
    }
  assert_int_equal (curl_easy_perform (c), CURLE_OK);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all (h);
  curl_easy_cleanup (c);
  free (url);
  if (out)
    *out = iw_buf_take (&b);
  iw_buf_free (&b);
  return status;
}

static void
test_server__health_and_readiness (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  char *body = NULL;

  assert_int_equal (http (f, "GET", "/healthz", NULL, NULL, NULL), 200);
  assert_int_equal (http (f, "GET", "/readyz", NULL, NULL, &body), 503);
  assert_non_null (strstr (body, "no assessment yet"));
  free (body);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", NULL, NULL, NULL), 503);
  iw_server_set_ready (f->srv, true, NULL);
  assert_int_equal (iw_server_publish (f->srv, assessment, &err), 0);
  assert_int_equal (http (f, "GET", "/readyz", NULL, NULL, NULL), 200);
  iw_server_set_ready (f->srv, false, "kube watch reconnecting");
  assert_int_equal (http (f, "GET", "/readyz", NULL, NULL, &body), 503);
  assert_non_null (strstr (body, "kube watch reconnecting"));
  free (body);
  /* A publish of something that is not an assessment is refused. */
  assert_int_equal (iw_server_publish (f->srv, "[1]", &err), -1);
  assert_int_equal (iw_error_code (err), IW_EPARSE);
  iw_error_free (err);
}

static void
test_server__serves_the_published_assessment_with_etag (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  char *body = NULL;

  assert_int_equal (iw_server_publish (f->srv, assessment, &err), 0);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", NULL, NULL, &body), 200);
  assert_string_equal (body, assessment);
  free (body);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", "If-None-Match: \"g1\"", NULL, NULL), 304);
  assert_int_equal (iw_server_publish (f->srv, assessment, &err), 0);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", "If-None-Match: \"g1\"", NULL, NULL), 200);
  /* The pages are the embedded dashboard. */
  assert_int_equal (http (f, "GET", "/", NULL, NULL, &body), 200);
  assert_non_null (strstr (body, "/assets/app.js"));
  free (body);
  assert_int_equal (http (f, "GET", "/images/127.0.0.1%3A5000%2Fgreen-burrito%3Alatest", NULL, NULL, &body),
                    200);
  assert_non_null (strstr (body, "Live Assessment"));
  free (body);
  assert_int_equal (http (f, "GET", "/assets/app.js", NULL, NULL, &body), 200);
  assert_non_null (strstr (body, "byRisk"));
  free (body);
  assert_int_equal (http (f, "GET", "/assets/nope.js", NULL, NULL, NULL), 404);
  assert_int_equal (http (f, "GET", "/nope", NULL, NULL, NULL), 404);
}

static void
test_server__image_and_history_api (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  char *body = NULL;
  json_t *doc;
  iw_store_current_finding fi
      = { "127.0.0.1:5000/green-burrito:latest", "integrity-stale", "high", "stale", NULL };

  assert_int_equal (iw_server_publish (f->srv, assessment, &err), 0);
  assert_int_equal (
      iw_store_observe_tag (f->store, NULL, "127.0.0.1:5000/green-burrito", "latest", D1, 1000, &err), 0);
  assert_int_equal (
      iw_store_observe_tag (f->store, NULL, "127.0.0.1:5000/green-burrito", "latest", D2, 2000, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->store, NULL, NULL, &fi, 1, "x", 2000, &err), 0);
  assert_int_equal (iw_store_sync_findings (f->store, NULL, NULL, NULL, 0, "restart", 5000, &err), 0);

  assert_int_equal (
      http (f, "GET", "/api/v1/images/127.0.0.1%3A5000%2Fgreen-burrito%3Alatest", NULL, NULL, &body), 200);
  doc = json_loads (body, 0, NULL);
  assert_non_null (doc);
  assert_string_equal (json_string_value (json_object_get (json_object_get (doc, "image"), "severity")),
                       "high");
  assert_int_equal (json_array_size (json_object_get (json_object_get (doc, "history"), "tags")), 2);
  json_decref (doc);
  free (body);
  assert_int_equal (http (f, "GET", "/api/v1/images/nope%3A1", NULL, NULL, NULL), 404);

  assert_int_equal (http (f, "GET", "/api/v1/history", NULL, NULL, &body), 200);
  doc = json_loads (body, 0, NULL);
  assert_non_null (doc);
  assert_int_equal (json_array_size (json_object_get (doc, "mttr")), 1);
  assert_true (
      json_real_value (json_object_get (json_array_get (json_object_get (doc, "mttr"), 0), "meanSeconds"))
      > 2.9);
  json_decref (doc);
  free (body);
  assert_int_equal (http (f, "GET", "/api/v1/history?limit=0", NULL, NULL, NULL), 400);

  assert_int_equal (http (f, "GET", "/metrics", NULL, NULL, &body), 200);
  assert_non_null (strstr (body, "imgwatch_findings{check=\"integrity-stale\",severity=\"high\"} 1\n"));
  assert_non_null (strstr (body, "imgwatch_mttr_seconds{check=\"integrity-stale\"} 3\n"));
  assert_non_null (strstr (body, "imgwatch_containers 2\n"));
  assert_non_null (strstr (body, "# TYPE imgwatch_http_request_duration_seconds histogram"));
  free (body);
}

static const char push[]
    = "{\"events\":[{\"id\":\"e1\",\"timestamp\":\"2026-12-03T17:00:00Z\",\"action\":\"push\","
      "\"target\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2
      "\",\"repository\":\"green-burrito\",\"tag\":\"latest\"},\"request\":{\"host\":"
      "\"127.0.0.1:5000\"}},{\"id\":\"e2\",\"action\":\"pull\",\"target\":{\"repository\":"
      "\"green-burrito\",\"tag\":\"latest\"}}]}";

static void
test_server__webhooks_need_the_secret_and_dedupe (void **state)
{
  fixture *f = *state;
  char *body = NULL;

  assert_int_equal (http (f, "POST", "/webhooks/distribution", NULL, push, NULL), 401);
  assert_int_equal (http (f, "POST", "/webhooks/distribution", "Authorization: Bearer wrong", push, NULL),
                    401);
  assert_int_equal (http (f, "POST", "/webhooks/distribution", "X-Imgwatch-Secret: s3cre", push, NULL), 401);
  assert_int_equal (f->events, 0);
  assert_int_equal (http (f, "POST", "/webhooks/gitlab", "X-Imgwatch-Secret: s3cret", push, NULL), 404);
  assert_int_equal (http (f, "GET", "/webhooks/distribution", "X-Imgwatch-Secret: s3cret", NULL, NULL), 405);
  assert_int_equal (
      http (f, "POST", "/webhooks/distribution", "X-Imgwatch-Secret: s3cret", "{\"events\":", &body), 400);
  assert_non_null (strstr (body, "distribution payload"));
  free (body);

  assert_int_equal (http (f, "POST", "/webhooks/distribution", "Authorization: Bearer s3cret", push, &body),
                    202);
  assert_string_equal (body, "{\"accepted\":1,\"duplicates\":0,\"ignored\":1}");
  free (body);
  assert_int_equal (f->events, 1);
  assert_string_equal (f->last_ref, "127.0.0.1:5000/green-burrito:latest");
  /* A redelivery is acknowledged but not handed on again. */
  assert_int_equal (http (f, "POST", "/webhooks/distribution", "X-Imgwatch-Secret: s3cret", push, &body),
                    202);
  assert_string_equal (body, "{\"accepted\":0,\"duplicates\":2,\"ignored\":0}");
  free (body);
  assert_int_equal (f->events, 1);
  /* Docker Hub cannot send headers: its secret comes in the query. */
  assert_int_equal (http (f, "POST", "/webhooks/dockerhub?secret=s3cret", NULL,
                          "{\"callback_url\":\"https://x/\",\"push_data\":{\"tag\":\"1\",\"pushed_at\":5},"
                          "\"repository\":{\"repo_name\":\"nginx\"}}",
                          NULL),
                    202);
  assert_string_equal (f->last_ref, "docker.io/library/nginx:1");
  assert_int_equal (http (f, "POST", "/webhooks/distribution?secret=s3cret", NULL, push, NULL), 401);
  assert_int_equal (iw_metrics_get (f->metrics, "imgwatch_webhook_events_total",
                                    "provider=\"distribution\",result=\"duplicate\""),
                    2);
}

static void
test_server__webhook_body_is_capped (void **state)
{
  fixture *f = *state;
  char *big = iw_xmalloc (IW_WEBHOOK_BODY_MAX + 100);

  memset (big, ' ', IW_WEBHOOK_BODY_MAX + 99);
  big[IW_WEBHOOK_BODY_MAX + 99] = '\0';
  assert_int_equal (http (f, "POST", "/webhooks/harbor", "X-Imgwatch-Secret: s3cret", big, NULL), 413);
  free (big);
}

static void
test_server__is_read_only (void **state)
{
  fixture *f = *state;

  assert_int_equal (http (f, "POST", "/api/v1/assessment", NULL, "{}", NULL), 405);
  assert_int_equal (http (f, "DELETE", "/api/v1/history", NULL, NULL, NULL), 405);
  assert_int_equal (http (f, "PUT", "/", NULL, "x", NULL), 405);
}

static void
test_server__token_guards_ui_and_api (void **state)
{
  fixture *f = *state;
  iw_error *err = NULL;
  char *body = NULL;

  assert_int_equal (iw_server_publish (f->srv, assessment, &err), 0);
  assert_int_equal (http (f, "GET", "/healthz", NULL, NULL, NULL), 200);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", NULL, NULL, NULL), 401);
  assert_int_equal (http (f, "GET", "/metrics", NULL, NULL, NULL), 401);
  assert_int_equal (http (f, "GET", "/", NULL, NULL, NULL), 401);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", "Authorization: Bearer t0kem", NULL, NULL), 401);
  assert_int_equal (http (f, "GET", "/api/v1/assessment", "Authorization: Bearer t0ken", NULL, NULL), 200);
  assert_int_equal (http (f, "GET", "/", "Cookie: imgwatch_token=t0ken", NULL, &body), 200);
  free (body);
  assert_int_equal (http (f, "GET", "/?token=t0ken", NULL, NULL, NULL), 303);
  assert_int_equal (http (f, "GET", "/?token=bad", NULL, NULL, NULL), 401);
}

static void
test_server__rejects_bad_listen_addresses (void **state)
{
  static const char *const bad[]
      = { "", "127.0.0.1:", "127.0.0.1:99999", "host.example:80", "[::1", "[::1]80", ":x" };
  iw_metrics *m = iw_metrics_new ();

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      iw_server_options o = IW_SERVER_OPTIONS_INIT;
      iw_server *srv = (iw_server *)1;
      iw_error *err = NULL;

      o.listen = bad[i];
      assert_int_equal (iw_server_start (&srv, &o, NULL, m, &err), -1);
      assert_null (srv);
      assert_int_equal (iw_error_code (err), IW_EINVAL);
      iw_error_free (err);
    }
  iw_metrics_free (m);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_server__health_and_readiness, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__serves_the_published_assessment_with_etag, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__image_and_history_api, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__webhooks_need_the_secret_and_dedupe, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__webhook_body_is_capped, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__is_read_only, setup, teardown),
    cmocka_unit_test_setup_teardown (test_server__token_guards_ui_and_api, setup_token, teardown),
    cmocka_unit_test (test_server__rejects_bad_listen_addresses),
  };
  int r;

  curl_global_init (CURL_GLOBAL_ALL);
  r = cmocka_run_group_tests (tests, NULL, NULL);
  curl_global_cleanup ();
  return r;
}
