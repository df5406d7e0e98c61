/*
 * test_check_trust.c - untrusted-registry against trustedRegistries,
 * lookalike domains included, and the unconfigured case.
 */
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct rcase
{
  const char *image;
  bool untrusted;
} rcase;

static const char *const trusted[]
    = { "registry.example.com", "docker.io", "gcr.io/distroless", "*.jfrog.io", "127.0.0.1:5000", NULL };

static const rcase cases[] = {
  { "registry.example.com/team/app:1", false },
  { "nginx:1.25", false }, /* docker.io/library/nginx */
  { "docker.io.evil.com/library/nginx:1.25", true },
  { "gcr.io.evil.com/distroless/static:latest", true },
  { "gcr.io/distroless/static:latest", false },
  { "gcr.io/distrolessx/static:latest", true },
  { "gcr.io/other/static:latest", true },
  { "acme.jfrog.io/app:1", false },
  { "jfrog.io.evil.com/app:1", true },
  { "evilregistry.example.com/app:1", true },
  { "registry.example.com.evil/app:1", true },
  { "127.0.0.1:5000/app:1", false },
  { "127.0.0.1:5001/app:1", true },
  { "quay.io/app/x@%a", true },
};

static void
test_check_trust__lookalike_domains (void **state)
{
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };

  (void)state;
  fx_set_trusted (cfg, trusted);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
      iw_inventory *inv = iw_inventory_new ();
      iw_findings fs = IW_FINDINGS_INIT;
      fx_pod p = { .image = cases[c].image };

      fx_add (inv, &p, 0);
      assert_non_null (inv->images[0].ref);
      iw_check_trust (&fs, &ctx, &inv->images[0]);
      if ((fs.len == 1) != cases[c].untrusted)
        fail_msg ("%s: got %zu findings, want %s", cases[c].image, fs.len, cases[c].untrusted ? "1" : "none");
      if (fs.len)
        {
          assert_int_equal (fs.items[0].check, IW_CHECK_UNTRUSTED_REGISTRY);
          assert_int_equal (fs.items[0].severity, IW_SEV_HIGH);
        }
      /* The registry is asked only about trusted images. */
      assert_int_equal (iw_check_wants_registry (&ctx, &inv->images[0]), !cases[c].untrusted);
      iw_findings_clear (&fs);
      iw_inventory_free (inv);
    }
  assert_false (iw_check_trust_unconfigured (&ctx));
  iw_config_free (cfg);
}

static void
test_check_trust__unconfigured_says_so_once (void **state)
{
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  iw_inventory *inv = iw_inventory_new ();
  iw_findings fs = IW_FINDINGS_INIT;
  fx_pod p = { .image = "docker.io.evil.com/x:1" };

  (void)state;
  fx_add (inv, &p, 0);
  assert_true (iw_check_trust_unconfigured (&ctx));
  iw_check_trust (&fs, &ctx, &inv->images[0]);
  assert_int_equal (fs.len, 0);
  assert_true (iw_check_wants_registry (&ctx, &inv->images[0]));
  assert_non_null (strstr (iw_check_trust_unconfigured_message (), "trustedRegistries"));
  iw_inventory_free (inv);
  iw_config_free (cfg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_check_trust__lookalike_domains),
    cmocka_unit_test (test_check_trust__unconfigured_says_so_once),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
