/*
 * test_registry_manifest.c - strict manifest, index and config parsing.
 */
#include "registry/manifest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define CFG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":10}"
#define LAYER                                                                                                \
  "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":20}"
#define OCI_M "application/vnd.oci.image.manifest.v1+json"
#define OCI_I "application/vnd.oci.image.index.v1+json"
#define DOCKER_M "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_L "application/vnd.docker.distribution.manifest.list.v2+json"

static const struct
{
  const char *body;
  const char *ctype;
  const char *error; /* NULL when valid */
} cases[] = {
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CFG ",\"layers\":[" LAYER "]}", OCI_M,
    NULL },
  { "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_M "\",\"config\":" CFG ",\"layers\":[]}",
    DOCKER_M "; charset=utf-8", NULL },
  /* No mediaType: accepted only when Content-Type says what it is and the shape agrees. */
  { "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", OCI_M, NULL },
  { "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", "application/json", "ambiguous" },
  { "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", NULL, "ambiguous" },
  { "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", OCI_I, "not the" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":[]}", OCI_I, NULL },
  { "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_L "\",\"manifests\":[]}", NULL, NULL },
  /* Ambiguous and contradictory documents. */
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":[],\"layers\":[]}", OCI_I, "ambiguous" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"manifests\":[],\"config\":" CFG "}", OCI_M,
    "ambiguous" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"manifests\":[]}", OCI_M, "with manifests" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":[]}", OCI_M,
    "disagrees with Content-Type" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\"}", OCI_I, "without manifests" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"layers\":[]}", OCI_M, "no config" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CFG ",\"config\":" CFG "}", OCI_M,
    "duplicate" },
  { "{\"schemaVersion\":1,\"mediaType\":\"" OCI_M "\",\"config\":" CFG "}", OCI_M, "schemaVersion" },
  { "{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"config\":" CFG "}", NULL, "unsupported mediaType" },
  { "{\"schemaVersion\":2,\"mediaType\":7,\"config\":" CFG "}", NULL, "not a string" },
  /* Descriptors. */
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M
    "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:12\","
    "\"size\":1}}",
    OCI_M, "config" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
    "\",\"size\":-1}}",
    OCI_M, "size" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", OCI_M,
    "no mediaType" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":[{\"mediaType\":\"" OCI_M
    "\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
    OCI_I, "platform without" },
  /* Not JSON, or not an object. */
  { "", NULL, "invalid JSON" },
  { "[]", NULL, "not a JSON object" },
  { "{\"schemaVersion\":2,", NULL, "invalid JSON" },
};

static void
test_registry_manifest__table (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      iw_manifest *m = NULL;
      iw_error *err = NULL;
      int r = iw_manifest_parse (&m, cases[i].body, strlen (cases[i].body), cases[i].ctype, &err);

      if (cases[i].error == NULL && r < 0)
        fail_msg ("case %zu rejected: %s", i, iw_error_msg (err));
      if (cases[i].error != NULL)
        {
          if (r == 0)
            fail_msg ("case %zu accepted, want \"%s\"", i, cases[i].error);
          assert_int_equal (iw_error_code (err), IW_EPARSE);
          if (strstr (iw_error_msg (err), cases[i].error) == NULL)
            fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, iw_error_msg (err), cases[i].error);
        }
      iw_manifest_free (m);
      iw_error_free (err);
    }
}

static void
test_registry_manifest__index_children_and_attestations (void **state)
{
  static const char body[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":["
                             "{\"mediaType\":\"" OCI_M "\",\"digest\":\"" D1 "\",\"size\":1,"
                             "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                             "{\"mediaType\":\"" OCI_M "\",\"digest\":\"" D2 "\",\"size\":1,"
                             "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},"
                             "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}}]}";
  iw_manifest *m = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_manifest_parse (&m, body, strlen (body), OCI_I, &err), 0);
  assert_true (m->is_index);
  assert_int_equal (m->n_manifests, 2);
  assert_string_equal (m->manifests[0].platform, "linux/arm64/v8");
  assert_false (m->manifests[0].attestation);
  assert_string_equal (m->manifests[0].digest, D1);
  assert_true (m->manifests[1].attestation);
  iw_manifest_free (m);
  iw_manifest_free (NULL);
}

static void
test_registry_manifest__config_labels (void **state)
{
  static const char body[] = "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\","
                             "\"created\":\"2024-01-02T03:04:05Z\",\"config\":{\"Labels\":{"
                             "\"org.opencontainers.image.source\":\"https://example.com/x\","
                             "\"org.opencontainers.image.revision\":\"abc\"}}}";
  iw_image_config *c = NULL;
  iw_error *err = NULL;
  char *p;

  (void)state;
  assert_int_equal (iw_image_config_parse (&c, body, strlen (body), &err), 0);
  assert_string_equal (iw_image_config_label (c, "org.opencontainers.image.source"), "https://example.com/x");
  assert_string_equal (iw_image_config_label (c, "org.opencontainers.image.revision"), "abc");
  assert_null (iw_image_config_label (c, "org.opencontainers.image.title"));
  assert_string_equal (c->created, "2024-01-02T03:04:05Z");
  p = iw_image_config_platform (c);
  assert_string_equal (p, "linux/arm/v7");
  free (p);
  iw_image_config_free (c);
}

static void
test_registry_manifest__config_rejects_bad_labels (void **state)
{
  static const char *const bad[] = {
    "{\"config\":{\"Labels\":{\"a\":1}}}",
    "{\"config\":{\"Labels\":{\"a\":\"x\",\"a\":\"y\"}}}",
    "{\"config\":[]}",
    "{\"os\":3}",
    "nope",
  };
  static const char *const good[] = { "{}", "{\"config\":null}", "{\"config\":{\"Labels\":null}}" };

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      iw_image_config *c = NULL;
      iw_error *err = NULL;

      if (iw_image_config_parse (&c, bad[i], strlen (bad[i]), &err) == 0)
        fail_msg ("accepted %s", bad[i]);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      iw_error_free (err);
    }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      iw_image_config *c = NULL;
      iw_error *err = NULL;

      if (iw_image_config_parse (&c, good[i], strlen (good[i]), &err) < 0)
        fail_msg ("rejected %s: %s", good[i], iw_error_msg (err));
      assert_null (iw_image_config_platform (c));
      iw_image_config_free (c);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_manifest__table),
    cmocka_unit_test (test_registry_manifest__index_children_and_attestations),
    cmocka_unit_test (test_registry_manifest__config_labels),
    cmocka_unit_test (test_registry_manifest__config_rejects_bad_labels),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
