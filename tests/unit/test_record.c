/*
 * test_record.c - container records: runtime image IDs in every format,
 * pull policy names and Kubernetes' defaulting, and release.
 */
#include "inventory/record.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define D1 "sha256:4f9a3b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e"
#define D2 "sha256:0000000000000000000000000000000000000000000000000000000000000002"
#define H1 "4f9a3b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e"

/* Fill the memo with other names, so entries get replaced. */
static void
churn_memo (void)
{
  for (int j = 0; j < 500; j++)
    {
      char *other = iw_xasprintf ("registry.example.com/app-%d@" D1, j);
      char *image = iw_xasprintf ("registry.example.com/app-%d:v%d", j, j);
      iw_image_id id;

      iw_image_id_parse (&id, other);
      assert_string_equal (id.digest, D1);
      iw_image_id_clear (&id);
      assert_int_equal (iw_pull_policy_default (image), IW_PULL_IF_NOT_PRESENT);
      free (other);
      free (image);
    }
}

static void
test_record__image_id_formats (void **state)
{
  static const struct
  {
    const char *raw;
    iw_image_id_kind kind;
    const char *repository;
    const char *digest;
  } cases[] = {
    /* dockershim: a manifest digest, familiar repository. */
    { "docker-pullable://nginx@" D1, IW_IMAGE_ID_REPO_DIGEST, "docker.io/library/nginx", D1 },
    { "docker-pullable://registry.example.com:5000/team/app@" D1, IW_IMAGE_ID_REPO_DIGEST,
      "registry.example.com:5000/team/app", D1 },
    /* dockershim: the config (image) ID. */
    { "docker://" D1, IW_IMAGE_ID_CONFIG, NULL, D1 },
    /* containerd / CRI-O: repo digest, possibly of an index. */
    { "docker.io/library/busybox@" D1, IW_IMAGE_ID_REPO_DIGEST, "docker.io/library/busybox", D1 },
    { "quay.io/prometheus/node-exporter@" D1, IW_IMAGE_ID_REPO_DIGEST, "quay.io/prometheus/node-exporter",
      D1 },
    /* A mirror: the repository differs from the spec's; it is reported as is. */
    { "mirror.gcr.io/library/nginx@" D1, IW_IMAGE_ID_REPO_DIGEST, "mirror.gcr.io/library/nginx", D1 },
    /* Bare digests: manifest or config, runtime-specific. */
    { D1, IW_IMAGE_ID_UNKNOWN, NULL, D1 },
    { H1, IW_IMAGE_ID_UNKNOWN, NULL, D1 },
    /* Nothing runs yet. */
    { "", IW_IMAGE_ID_NONE, NULL, NULL },
    { NULL, IW_IMAGE_ID_NONE, NULL, NULL },
    /* Garbage keeps raw and nothing else. */
    { "docker-pullable://nginx@sha256:abc", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "docker://sha256:zz", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "cri-o://whatever", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "nginx:1.25", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "@" D1, IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "sha256:", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    /* What is learned from the repository part is kept per repository
     * (memoized): the digest after it still comes from each ID. */
    { "docker.io/library/busybox@" D2, IW_IMAGE_ID_REPO_DIGEST, "docker.io/library/busybox", D2 },
    { "busybox@" D2, IW_IMAGE_ID_REPO_DIGEST, "docker.io/library/busybox", D2 },
    { "Mirror.Example/App@" D1, IW_IMAGE_ID_REPO_DIGEST, "Mirror.Example/App", D1 },
    { "Mirror.Example/App@" D2, IW_IMAGE_ID_REPO_DIGEST, "Mirror.Example/App", D2 },
    { "a@b@" D1, IW_IMAGE_ID_REPO_DIGEST, "a@b", D1 },
    { "a@b@sha256:abc", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
    { "docker.io/library/busybox@sha256:abc", IW_IMAGE_ID_UNKNOWN, NULL, NULL },
  };

  (void)state;
  /* Three passes: the memo cold, warm, then churned by other names. */
  for (int pass = 0; pass < 3; pass++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      {
        iw_image_id id;

        if (pass == 2 && i == 0)
          churn_memo ();
        iw_image_id_parse (&id, cases[i].raw);
        if (id.kind != cases[i].kind)
          fail_msg ("case %zu (%s): kind %d, want %d", i, cases[i].raw ? cases[i].raw : "NULL", id.kind,
                    cases[i].kind);
        if (cases[i].repository)
          assert_string_equal (id.repository, cases[i].repository);
        else
          assert_null (id.repository);
        if (cases[i].digest)
          assert_string_equal (id.digest, cases[i].digest);
        else
          assert_null (id.digest);
        if (cases[i].raw && *cases[i].raw)
          assert_string_equal (id.raw, cases[i].raw);
        else
          assert_null (id.raw);
        iw_image_id_clear (&id);
        assert_null (id.raw);
      }
}

static void
test_record__pull_policy_names_round_trip (void **state)
{
  static const iw_pull_policy all[] = { IW_PULL_ALWAYS, IW_PULL_IF_NOT_PRESENT, IW_PULL_NEVER };

  (void)state;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    assert_int_equal (iw_pull_policy_parse (iw_pull_policy_name (all[i])), all[i]);
  assert_null (iw_pull_policy_name (IW_PULL_UNSET));
  assert_int_equal (iw_pull_policy_parse (NULL), IW_PULL_UNSET);
  assert_int_equal (iw_pull_policy_parse ("always"), IW_PULL_UNSET);
  assert_int_equal (iw_pull_policy_parse (""), IW_PULL_UNSET);
}

static void
test_record__pull_policy_defaults_like_kubernetes (void **state)
{
  static const struct
  {
    const char *image;
    iw_pull_policy want;
  } cases[] = {
    { "nginx", IW_PULL_ALWAYS },
    { "nginx:latest", IW_PULL_ALWAYS },
    { "registry.example.com/green-burrito:latest", IW_PULL_ALWAYS },
    { "localhost:5000/app", IW_PULL_ALWAYS },
    { "nginx:1.25", IW_PULL_IF_NOT_PRESENT },
    { "localhost:5000/app:v2", IW_PULL_IF_NOT_PRESENT },
    { "nginx@" D1, IW_PULL_IF_NOT_PRESENT },
    { "nginx:1.25@" D1, IW_PULL_IF_NOT_PRESENT },
    { "nginx:latest@" D1, IW_PULL_ALWAYS },
    { "Not A Reference", IW_PULL_IF_NOT_PRESENT },
    { NULL, IW_PULL_IF_NOT_PRESENT },
  };

  (void)state;
  /* Three passes: the memo cold, warm, then churned by other names. */
  for (int pass = 0; pass < 3; pass++)
    {
      if (pass == 2)
        churn_memo ();
      for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (iw_pull_policy_default (cases[i].image) != cases[i].want)
          fail_msg ("pass %d, %s: got %d, want %d", pass, cases[i].image ? cases[i].image : "NULL",
                    iw_pull_policy_default (cases[i].image), cases[i].want);
    }
}

static void
test_record__free_releases_everything (void **state)
{
  iw_record *r = iw_xcalloc (1, sizeof *r);

  (void)state;
  r->source = iw_xstrdup ("file:pods.json");
  r->namespace_ = iw_xstrdup ("default");
  r->pod = iw_xstrdup ("web-1");
  r->workload_kind = iw_xstrdup ("Deployment");
  r->workload_name = iw_xstrdup ("web");
  r->container = iw_xstrdup ("app");
  r->image = iw_xstrdup ("nginx");
  iw_image_id_parse (&r->image_id, "docker-pullable://nginx@" D1);
  r->pull_secrets = iw_xcalloc (3, sizeof (char *));
  r->pull_secrets[0] = iw_xstrdup ("regcred");
  r->pull_secrets[1] = iw_xstrdup ("other");
  iw_record_clear (r);
  assert_null (r->pod);
  assert_null (r->pull_secrets);
  assert_int_equal (r->image_id.kind, IW_IMAGE_ID_NONE);
  r->node = iw_xstrdup ("node-1");
  iw_record_free (r);
  iw_record_free (NULL);
  iw_record_clear (NULL);
  iw_image_id_clear (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_record__image_id_formats),
    cmocka_unit_test (test_record__pull_policy_names_round_trip),
    cmocka_unit_test (test_record__pull_policy_defaults_like_kubernetes),
    cmocka_unit_test (test_record__free_releases_everything),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
