/*
 * test_check_tags.c - moving-tag, pull-policy and image-id-reference, plus
 * severity overrides and exemptions, from a table.
 */
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

typedef struct tcase
{
  const char *name;
  const char *image;
  const char *policies[3]; /* one workload each ("" = defaulted) */
  const char *override;    /* "check=severity" or NULL */
  const char *exempt_ns;   /* exemption for namespace "default" and this check, or NULL */
  const char *want;
} tcase;

static const tcase cases[] = {
  { "implicit latest, defaulted to Always",
    "r.io/app",
    { "" },
    NULL,
    NULL,
    "moving-tag:medium;pull-policy:low" },
  { "explicit latest with IfNotPresent",
    "r.io/app:latest",
    { "IfNotPresent" },
    NULL,
    NULL,
    "moving-tag:medium;pull-policy:medium" },
  { "a movingTags tag", "r.io/app:stable", { "Always" }, NULL, NULL, "moving-tag:medium;pull-policy:low" },
  { "a version tag with IfNotPresent",
    "r.io/app:1.25.3",
    { "IfNotPresent" },
    NULL,
    NULL,
    "moving-tag:low;pull-policy:medium" },
  { "Never counts as stale risk",
    "r.io/app:1.0",
    { "Never" },
    NULL,
    NULL,
    "moving-tag:low;pull-policy:medium" },
  { "two workloads, two policies",
    "r.io/app:1.0",
    { "IfNotPresent", "Always" },
    NULL,
    NULL,
    "moving-tag:low;pull-policy:medium;pull-policy:low" },
  { "pinned by digest: nothing", "r.io/app@%a", { "IfNotPresent" }, NULL, NULL, "" },
  { "tag and digest: nothing", "r.io/app:1.0@%a", { "IfNotPresent" }, NULL, NULL, "" },
  { "bare image ID", "%a", { "IfNotPresent" }, NULL, NULL, "image-id-reference:high" },
  { "64 hex without algorithm",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    { "IfNotPresent" },
    NULL,
    NULL,
    "image-id-reference:high" },
  { "not a reference at all", "Not/A:Valid:Ref", { "IfNotPresent" }, NULL, NULL, "unverified:medium" },
  { "override moving-tag to low",
    "r.io/app:latest",
    { "IfNotPresent" },
    "moving-tag=low",
    NULL,
    "moving-tag:low;pull-policy:medium" },
  { "override pull-policy to high",
    "r.io/app:1.0",
    { "Always" },
    "pull-policy=high",
    NULL,
    "moving-tag:low;pull-policy:high" },
  { "exempt from moving-tag",
    "r.io/app:latest",
    { "IfNotPresent" },
    NULL,
    "moving-tag",
    "pull-policy:medium" },
};

static void
test_check_tags__table (void **state)
{
  (void)state;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
      const tcase *tc = &cases[c];
      iw_inventory *inv = iw_inventory_new ();
      iw_config *cfg = iw_config_new_default ();
      iw_check_ctx ctx = { cfg };
      iw_findings fs = IW_FINDINGS_INIT;
      char *got;

      for (int i = 0; i < 3 && tc->policies[i]; i++)
        {
          char name[16];
          fx_pod p
              = { .image = tc->image, .policy = *tc->policies[i] ? tc->policies[i] : NULL, .name = name };

          snprintf (name, sizeof name, "w%d", i);
          fx_add (inv, &p, i);
        }
      if (tc->override)
        {
          const char *eq = strchr (tc->override, '=');

          cfg->severity = iw_xcalloc (1, sizeof *cfg->severity);
          cfg->severity[0].check = iw_xstrndup (tc->override, (size_t)(eq - tc->override));
          cfg->severity[0].severity = iw_xstrdup (eq + 1);
          cfg->n_severity = 1;
        }
      if (tc->exempt_ns)
        {
          cfg->exemptions = iw_xcalloc (1, sizeof *cfg->exemptions);
          cfg->exemptions[0].namespace_ = iw_xstrdup ("default");
          cfg->exemptions[0].checks = iw_xcalloc (2, sizeof (char *));
          cfg->exemptions[0].checks[0] = iw_xstrdup (tc->exempt_ns);
          cfg->n_exemptions = 1;
        }
      iw_check_tags (&fs, &ctx, &inv->images[0]);
      got = fx_summary (&fs);
      if (strcmp (got, tc->want) != 0)
        fail_msg ("case \"%s\": got \"%s\", want \"%s\"", tc->name, got, tc->want);
      free (got);
      iw_findings_clear (&fs);
      iw_config_free (cfg);
      iw_inventory_free (inv);
    }
}

/* An exemption for another namespace changes nothing; for this one and
 * all checks (checks NULL) it drops everything. */
static void
test_check_tags__exemption_scope (void **state)
{
  iw_inventory *inv = iw_inventory_new ();
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  iw_findings fs = IW_FINDINGS_INIT;
  fx_pod a = { .ns = "kube-system", .image = "r.io/app:latest", .name = "a" };
  fx_pod b = { .ns = "team", .image = "r.io/app:latest", .name = "b" };

  (void)state;
  fx_add (inv, &a, 0);
  fx_add (inv, &b, 1);
  cfg->exemptions = iw_xcalloc (1, sizeof *cfg->exemptions);
  cfg->exemptions[0].namespace_ = iw_xstrdup ("kube-system");
  cfg->n_exemptions = 1;
  iw_check_tags (&fs, &ctx, &inv->images[0]);
  assert_int_equal (fs.len, 2);
  for (size_t i = 0; i < fs.len; i++)
    {
      assert_int_equal (fs.items[i].n_workloads, 1);
      assert_string_equal (inv->images[0].workloads[fs.items[i].workloads[0]].namespace_, "team");
    }
  iw_findings_clear (&fs);
  free (cfg->exemptions[0].namespace_);
  cfg->exemptions[0].namespace_ = NULL;
  iw_check_tags (&fs, &ctx, &inv->images[0]);
  assert_int_equal (fs.len, 0);
  iw_findings_clear (&fs);
  iw_config_free (cfg);
  iw_inventory_free (inv);
}

static void
test_check_tags__names_round_trip (void **state)
{
  (void)state;
  for (int c = 0; c < IW_CHECK_COUNT; c++)
    {
      assert_int_equal (iw_check_parse (iw_check_name ((iw_check_id)c)), c);
      assert_true (strlen (iw_check_description ((iw_check_id)c)) > 10);
    }
  assert_int_equal (iw_check_parse ("no-such-check"), -1);
  for (int s = 0; s < IW_SEV_COUNT; s++)
    assert_int_equal (iw_severity_parse (iw_severity_name ((iw_severity)s)), s);
  assert_int_equal (iw_severity_parse ("severe"), -1);
  assert_int_equal (iw_check_default_severity (IW_CHECK_INTEGRITY_UNKNOWN), IW_SEV_CRITICAL);
  assert_int_equal (iw_check_default_severity (IW_CHECK_UNVERIFIED), IW_SEV_MEDIUM);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_check_tags__table),
    cmocka_unit_test (test_check_tags__exemption_scope),
    cmocka_unit_test (test_check_tags__names_round_trip),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
