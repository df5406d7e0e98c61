/*
 * test_runtime_docker.c - Docker Engine answers to records: RepoDigests
 * chosen by repository, config IDs as a fallback, Kubernetes labels,
 * sandboxes skipped, states, malformed answers.
 */
#include "runtime/docker.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CFG_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CFG_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MAN_1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define MAN_2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

typedef struct got
{
  iw_record *r[8];
  size_t n;
} got;

static int
keep (iw_record *rec, void *ud, iw_error **err)
{
  got *g = ud;

  (void)err;
  assert_true (g->n < 8);
  g->r[g->n++] = rec;
  return 0;
}

static void
release (got *g)
{
  for (size_t i = 0; i < g->n; i++)
    iw_record_free (g->r[i]);
}

static const char IMAGES[] = "[{\"Id\":\"" CFG_A "\",\"RepoDigests\":[\"mirror.example.com/app@" MAN_2
                             "\",\"registry.example.com/app@" MAN_1 "\"]},"
                             "{\"Id\":\"" CFG_B "\",\"RepoDigests\":[]}]";

static void
test_runtime_docker__records_from_answers (void **state)
{
  static const char containers[]
      = "[{\"Id\":\"c1\",\"Names\":[\"/web\"],\"Image\":\"registry.example.com/app:1\",\"ImageID\":\"" CFG_A
        "\",\"State\":\"running\",\"Created\":1700000000,\"Labels\":{}},"
        "{\"Id\":\"c2\",\"Names\":[\"/k8s_app_p\"],\"Image\":\"local/built:dev\",\"ImageID\":\"" CFG_B
        "\",\"State\":\"exited\",\"Labels\":{\"io.kubernetes.pod.name\":\"p\",\"io.kubernetes.pod."
        "namespace\":"
        "\"shop\",\"io.kubernetes.container.name\":\"app\"}},"
        "{\"Id\":\"c3\",\"Names\":[\"/k8s_POD_p\"],\"Image\":\"pause:3\",\"ImageID\":\"" CFG_B
        "\",\"State\":\"running\",\"Labels\":{\"io.kubernetes.docker.type\":\"podsandbox\"}},"
        "{\"Id\":\"c4\",\"Image\":\"x:1\",\"State\":\"created\",\"Labels\":null}]";
  got g = { 0 };
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_docker_records_from_json (containers, strlen (containers), IMAGES, strlen (IMAGES),
                                                 "docker:/s", keep, &g, &err),
                    0);
  assert_int_equal (g.n, 3);
  /* The RepoDigest of the container's own repository, not the mirror's. */
  assert_string_equal (g.r[0]->image_id.raw, "docker-pullable://registry.example.com/app@" MAN_1);
  assert_int_equal (g.r[0]->image_id.kind, IW_IMAGE_ID_REPO_DIGEST);
  assert_string_equal (g.r[0]->container, "web");
  assert_string_equal (g.r[0]->namespace_, "docker");
  assert_string_equal (g.r[0]->workload_kind, "Container");
  assert_string_equal (g.r[0]->state, "running");
  assert_string_equal (g.r[0]->started_at, "2023-11-14T22:13:20Z");
  /* No RepoDigests: the config digest, as docker:// IDs are. */
  assert_string_equal (g.r[1]->image_id.raw, "docker://" CFG_B);
  assert_int_equal (g.r[1]->image_id.kind, IW_IMAGE_ID_CONFIG);
  assert_string_equal (g.r[1]->pod, "p");
  assert_string_equal (g.r[1]->namespace_, "shop");
  assert_string_equal (g.r[1]->container, "app");
  assert_string_equal (g.r[1]->state, "terminated");
  /* No name, no image ID: named by ID, nothing running yet. */
  assert_string_equal (g.r[2]->container, "c4");
  assert_int_equal (g.r[2]->image_id.kind, IW_IMAGE_ID_NONE);
  assert_string_equal (g.r[2]->state, "waiting");
  release (&g);
}

static void
test_runtime_docker__malformed_answers (void **state)
{
  static const struct
  {
    const char *containers;
    const char *images;
    const char *msg;
  } cases[] = {
    { "{}", "[]", "not a JSON array" },
    { "[", "[]", "containers" },
    { "[]", "{\"a\":1,\"a\":2}", "images" },
    { "[{\"Names\":[\"/x\"]}]", "[]", "no Id" },
    { "[7]", "[]", "no Id" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      got g = { 0 };
      iw_error *err = NULL;

      assert_int_equal (iw_docker_records_from_json (cases[i].containers, strlen (cases[i].containers),
                                                     cases[i].images, strlen (cases[i].images), "docker:/s",
                                                     keep, &g, &err),
                        -1);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      if (strstr (iw_error_msg (err), cases[i].msg) == NULL)
        fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, iw_error_msg (err), cases[i].msg);
      iw_error_free (err);
      release (&g);
    }
}

static void
test_runtime_docker__unreachable_engine (void **state)
{
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_docker_list_containers ("/nonexistent/docker.sock", keep, NULL, &err), -1);
  assert_int_equal (iw_error_code (err), IW_ENET);
  assert_non_null (strstr (iw_error_msg (err), "/nonexistent/docker.sock"));
  iw_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_runtime_docker__records_from_answers),
    cmocka_unit_test (test_runtime_docker__malformed_answers),
    cmocka_unit_test (test_runtime_docker__unreachable_engine),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
