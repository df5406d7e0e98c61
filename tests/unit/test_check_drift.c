/*
 * test_check_drift.c - digest-drift: replicas of one workload running
 * different digests, and what is not drift.
 */
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct dcase
{
  const char *name;
  fx_pod pods[5];
  const char *want;
} dcase;

#define R(ns_, name_, id_, node_)                                                                            \
  {                                                                                                          \
    .ns = ns_, .name = name_, .image = "r.io/app:1", .image_id = id_, .node = node_                          \
  }

static const dcase cases[] = {
  { "replicas on two digests",
    { R ("default", "web", "docker-pullable://r.io/app@%a", "n1"),
      R ("default", "web", "docker-pullable://r.io/app@%b", "n2"),
      R ("default", "web", "docker-pullable://r.io/app@%b", "n3") },
    "digest-drift:high" },
  { "all replicas agree",
    { R ("default", "web", "docker-pullable://r.io/app@%a", "n1"),
      R ("default", "web", "r.io/app@%a", "n2") },
    "" },
  { "two workloads, one digest each, is not drift",
    { R ("default", "web", "docker-pullable://r.io/app@%a", "n1"),
      R ("default", "api", "docker-pullable://r.io/app@%b", "n2") },
    "" },
  { "same name in two namespaces is two workloads",
    { R ("a", "web", "docker-pullable://r.io/app@%a", "n1"),
      R ("b", "web", "docker-pullable://r.io/app@%b", "n2") },
    "" },
  { "a repo digest and a config ID are not compared",
    { R ("default", "web", "docker-pullable://r.io/app@%a", "n1"),
      R ("default", "web", "docker://%b", "n2") },
    "" },
  { "two config IDs differ",
    { R ("default", "web", "docker://%a", "n1"), R ("default", "web", "docker://%b", "n2") },
    "digest-drift:high" },
  { "a pending pod is not drift",
    { R ("default", "web", "docker-pullable://r.io/app@%a", "n1"), R ("default", "web", NULL, "n2") },
    "" },
};

static void
test_check_drift__table (void **state)
{
  (void)state;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
      iw_inventory *inv = iw_inventory_new ();
      iw_config *cfg = iw_config_new_default ();
      iw_check_ctx ctx = { cfg };
      iw_findings fs = IW_FINDINGS_INIT;
      char *got;

      for (int i = 0; i < 5 && cases[c].pods[i].image; i++)
        fx_add (inv, &cases[c].pods[i], i);
      iw_check_drift (&fs, &ctx, &inv->images[0], NULL);
      got = fx_summary (&fs);
      if (strcmp (got, cases[c].want) != 0)
        fail_msg ("case \"%s\": got \"%s\", want \"%s\"", cases[c].name, got, cases[c].want);
      free (got);
      iw_findings_clear (&fs);
      iw_config_free (cfg);
      iw_inventory_free (inv);
    }
}

static void
test_check_drift__message_counts_pods_per_digest (void **state)
{
  iw_inventory *inv = iw_inventory_new ();
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  iw_findings fs = IW_FINDINGS_INIT;
  char *a = fx_expand ("%a (1)"), *b = fx_expand ("%b (2)");

  (void)state;
  for (int i = 0; i < 3; i++)
    {
      fx_pod p = { .name = "web", .image = "r.io/app:1", .image_id = i ? "r.io/app@%b" : "r.io/app@%a" };

      fx_add (inv, &p, i);
    }
  iw_check_drift (&fs, &ctx, &inv->images[0], NULL);
  assert_int_equal (fs.len, 1);
  assert_non_null (strstr (fs.items[0].message, "default/Deployment/web"));
  assert_non_null (strstr (fs.items[0].message, a));
  assert_non_null (strstr (fs.items[0].message, b));
  free (a);
  free (b);
  iw_findings_clear (&fs);
  iw_config_free (cfg);
  iw_inventory_free (inv);
}

/* With the registry's answer: platform children of the expected index are
 * one image (a Deployment over amd64 and arm64 nodes), and a config ID of
 * it too; an old digest beside them is drift. */
static void
test_check_drift__children_of_the_expected_index_are_one_image (void **state)
{
  static const char *const children[] = { "%1", "%2", NULL };
  static const char *const configs[] = { "%3", "%4", NULL };
  static const struct
  {
    const char *ids[3];
    const char *want;
  } arch_cases[] = {
    { { "r.io/app@%1", "r.io/app@%2", NULL }, "" },
    { { "r.io/app@%1", "docker://%4", NULL }, "" },
    { { "r.io/app@%0", "r.io/app@%2", "docker://%3" }, "" },
    { { "r.io/app@%1", "r.io/app@%9", NULL }, "digest-drift:high" },
    { { "docker://%3", "docker://%8", NULL }, "digest-drift:high" },
  };

  (void)state;
  for (size_t c = 0; c < sizeof arch_cases / sizeof arch_cases[0]; c++)
    {
      iw_inventory *inv = iw_inventory_new ();
      iw_config *cfg = iw_config_new_default ();
      iw_check_ctx ctx = { cfg };
      iw_findings fs = IW_FINDINGS_INIT;
      iw_reg_facts facts = { 0 };
      char *got;

      for (int i = 0; i < 3 && arch_cases[c].ids[i]; i++)
        {
          fx_pod p = { .name = "web", .image = "r.io/app:1", .image_id = arch_cases[c].ids[i] };

          fx_add (inv, &p, i);
        }
      facts.asked = true;
      facts.expected = fx_expand ("%0");
      facts.children = fx_strv (children);
      facts.configs = fx_strv (configs);
      iw_check_drift (&fs, &ctx, &inv->images[0], &facts);
      got = fx_summary (&fs);
      if (strcmp (got, arch_cases[c].want) != 0)
        fail_msg ("case %zu: got \"%s\", want \"%s\"", c, got, arch_cases[c].want);
      free (got);
      iw_reg_facts_clear (&facts);
      iw_findings_clear (&fs);
      iw_config_free (cfg);
      iw_inventory_free (inv);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_check_drift__table),
    cmocka_unit_test (test_check_drift__message_counts_pods_per_digest),
    cmocka_unit_test (test_check_drift__children_of_the_expected_index_are_one_image),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
