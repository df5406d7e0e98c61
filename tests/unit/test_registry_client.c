/*
 * test_registry_client.c - the client's contract without a server: option
 * checks, per-item outcomes, three-state presence (a dead registry is
 * "unknown", never "absent"), deduplication and metrics.
 */
#include "config/config.h"
#include "ref/ref.h"
#include "registry/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* A 127.0.0.1 port where nothing listens. */
static int
dead_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM, 0), port;

  assert_true (fd >= 0);
  assert_int_equal (bind (fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal (getsockname (fd, (struct sockaddr *)&a, &len), 0);
  port = ntohs (a.sin_port);
  close (fd);
  return port;
}

static iw_config *
insecure_config (int port)
{
  char yaml[128];
  iw_config *cfg = NULL;
  iw_error *err = NULL;

  snprintf (yaml, sizeof yaml, "registries:\n  \"127.0.0.1:%d\": {insecure: true}\n", port);
  if (iw_config_parse (&cfg, yaml, strlen (yaml), "t.yaml", &err) < 0)
    fail_msg ("%s", iw_error_msg (err));
  return cfg;
}

static void
test_registry_client__rejects_bad_options (void **state)
{
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  iw_registry_options o = IW_REGISTRY_OPTIONS_INIT;

  (void)state;
  o.max_per_host = -1;
  assert_int_equal (iw_registry_new (&reg, NULL, &o, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  iw_error_free (err);
  iw_registry_free (NULL);
}

static void
test_registry_client__dead_registry_fails_each_item (void **state)
{
  int port = dead_port ();
  iw_config *cfg = insecure_config (port);
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  iw_resolution *res = NULL;
  iw_registry_metrics m;
  iw_ref *refs[3] = { NULL };
  char text[128];

  (void)state;
  assert_int_equal (iw_registry_new (&reg, cfg, NULL, &err), 0);
  iw_config_free (cfg); /* the client keeps its own copy */
  snprintf (text, sizeof text, "127.0.0.1:%d/app:v1", port);
  assert_int_equal (iw_ref_parse (&refs[0], text, &err), 0);
  assert_int_equal (iw_ref_parse (&refs[1], text, &err), 0);
  snprintf (text, sizeof text, "127.0.0.1:%d/app:v2", port);
  assert_int_equal (iw_ref_parse (&refs[2], text, &err), 0);
  assert_int_equal (iw_registry_resolve_many (&res, reg, (const iw_ref *const *)refs, 3, 0, &err), 0);
  for (int i = 0; i < 3; i++)
    {
      assert_int_equal (res[i].code, IW_ENET);
      assert_non_null (res[i].message);
      assert_null (res[i].digest);
    }
  iw_registry_metrics_get (&m, reg);
  /* Identical references share one request: two, not three. */
  assert_int_equal (m.requests, 2);
  assert_int_equal (m.errors, 2);
  assert_int_equal (m.ratelimit_remaining, -1);
  iw_resolutions_free (res, 3);
  for (int i = 0; i < 3; i++)
    iw_ref_free (refs[i]);
  iw_registry_free (reg);
}

static void
test_registry_client__presence_unknown_not_absent (void **state)
{
  int port = dead_port ();
  iw_config *cfg = insecure_config (port);
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  iw_presence *p = NULL;
  iw_ref *ref = NULL;
  iw_check checks[2];
  char text[128];

  (void)state;
  assert_int_equal (iw_registry_new (&reg, cfg, NULL, &err), 0);
  snprintf (text, sizeof text, "127.0.0.1:%d/app", port);
  assert_int_equal (iw_ref_parse (&ref, text, &err), 0);
  checks[0] = (iw_check){ ref, "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                          IW_CHECK_MANIFEST };
  checks[1] = (iw_check){ ref, "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                          IW_CHECK_BLOB };
  assert_int_equal (iw_registry_check_many (&p, reg, checks, 2, &err), 0);
  for (int i = 0; i < 2; i++)
    {
      assert_int_equal (p[i].state, IW_PRESENCE_UNKNOWN);
      assert_int_equal (p[i].code, IW_ENET);
      assert_non_null (p[i].message);
    }
  assert_string_equal (iw_presence_name (p[0].state), "unknown");
  iw_presences_free (p, 2);

  /* A malformed digest is the caller's error. */
  checks[0].digest = "sha256:nothex";
  assert_int_equal (iw_registry_check_many (&p, reg, checks, 1, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  iw_error_free (err);
  iw_ref_free (ref);
  iw_registry_free (reg);
  iw_config_free (cfg);
}

static void
test_registry_client__tls_is_the_default (void **state)
{
  int port = dead_port ();
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  iw_resolution r;
  iw_ref *ref = NULL;
  char text[128];

  (void)state;
  /* No config: the single-reference call reports the item's code. */
  assert_int_equal (iw_registry_new (&reg, NULL, NULL, &err), 0);
  snprintf (text, sizeof text, "127.0.0.1:%d/app:v1", port);
  assert_int_equal (iw_ref_parse (&ref, text, &err), 0);
  assert_int_equal (iw_registry_resolve (&r, reg, ref, IW_RESOLVE_LABELS, &err), -1);
  assert_int_equal (iw_error_code (err), r.code);
  iw_error_free (err);
  iw_resolution_clear (&r);
  iw_ref_free (ref);
  iw_registry_free (reg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_client__rejects_bad_options),
    cmocka_unit_test (test_registry_client__dead_registry_fails_each_item),
    cmocka_unit_test (test_registry_client__presence_unknown_not_absent),
    cmocka_unit_test (test_registry_client__tls_is_the_default),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
