/*
 * test_check_integrity.c - integrity-unknown, integrity-stale, tag-missing
 * and unverified, from a table: spec image, runtime image IDs, what the
 * registry said, and the findings expected (false positives included:
 * an empty "want" means no integrity finding at all).
 */
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct icase
{
  const char *name;
  const char *image;
  const char *ids[4]; /* one pod each; "" = not running */
  bool not_asked;
  const char *expected; /* NULL: resolving failed with error */
  iw_code error;
  const char *children[4];
  const char *configs[4];
  const char *present[4];
  const char *absent[4];
  iw_code unknown; /* presence of the other digests: unknown for this reason */
  iw_code detail_error;
  const char *want;
} icase;

static const icase cases[] = {
  { .name = "green-burrito: tag moved, old digest still held",
    .image = "r.io/green-burrito:latest",
    .ids = { "docker-pullable://r.io/green-burrito@%a", "docker-pullable://r.io/green-burrito@%a" },
    .expected = "%b",
    .present = { "%a" },
    .want = "integrity-stale:high" },
  { .name = "running the tag's digest is clean",
    .image = "r.io/app:1.0",
    .ids = { "docker-pullable://r.io/app@%b", "r.io/app@%b" },
    .expected = "%b",
    .want = "" },
  { .name = "a digest the registry never held",
    .image = "r.io/app:1.0",
    .ids = { "docker-pullable://r.io/app@%a" },
    .expected = "%b",
    .absent = { "%a" },
    .want = "integrity-unknown:critical" },
  { .name = "existence unknown (auth) is unverified, not a pass",
    .image = "r.io/app:1.0",
    .ids = { "docker-pullable://r.io/app@%a" },
    .expected = "%b",
    .unknown = IW_EAUTH,
    .want = "unverified:medium" },
  { .name = "spec pins X, runtime reports Y",
    .image = "r.io/app@%c",
    .ids = { "docker-pullable://r.io/app@%d" },
    .expected = "%c",
    .present = { "%d" },
    .want = "integrity-unknown:critical" },
  { .name = "spec pins X, runtime reports X",
    .image = "r.io/app@%c",
    .ids = { "docker-pullable://r.io/app@%c" },
    .expected = "%c",
    .want = "" },
  { .name = "name:tag@digest is judged by the digest only",
    .image = "r.io/app:v1@%c",
    .ids = { "docker-pullable://r.io/app@%c" },
    .expected = "%c",
    .want = "" },
  { .name = "name:tag@digest running another digest",
    .image = "r.io/app:v1@%c",
    .ids = { "docker-pullable://r.io/app@%e" },
    .expected = "%c",
    .want = "integrity-unknown:critical" },
  { .name = "multi-arch: a platform child of the tag's index is clean",
    .image = "r.io/multi:1",
    .ids = { "docker-pullable://r.io/multi@%1" },
    .expected = "%0",
    .children = { "%1", "%2" },
    .configs = { "%3", "%4" },
    .want = "" },
  { .name = "multi-arch: a child of an older index is stale",
    .image = "r.io/multi:1",
    .ids = { "docker-pullable://r.io/multi@%5" },
    .expected = "%0",
    .children = { "%1", "%2" },
    .configs = { "%3", "%4" },
    .present = { "%5" },
    .want = "integrity-stale:high" },
  { .name = "docker:// config ID that matches a child's config",
    .image = "r.io/multi:1",
    .ids = { "docker://%4" },
    .expected = "%0",
    .children = { "%1", "%2" },
    .configs = { "%3", "%4" },
    .want = "" },
  { .name = "docker:// config ID equal to the manifest digest does not match",
    .image = "r.io/app:1",
    .ids = { "docker://%b" },
    .expected = "%b",
    .configs = { "%f" },
    .absent = { "%b" },
    .want = "integrity-unknown:critical" },
  { .name = "docker:// config ID of an old image still held",
    .image = "r.io/app:1",
    .ids = { "docker://%6" },
    .expected = "%b",
    .configs = { "%f" },
    .present = { "%6" },
    .want = "integrity-stale:high" },
  { .name = "docker:// config ID the registry never held",
    .image = "r.io/app:1",
    .ids = { "docker://%6" },
    .expected = "%b",
    .configs = { "%f" },
    .absent = { "%6" },
    .want = "integrity-unknown:critical" },
  { .name = "bare sha256 matching the config",
    .image = "r.io/app:1",
    .ids = { "%f" },
    .expected = "%b",
    .configs = { "%f" },
    .want = "" },
  { .name = "bare sha256 matching the manifest",
    .image = "r.io/app:1",
    .ids = { "%b" },
    .expected = "%b",
    .configs = { "%f" },
    .want = "" },
  { .name = "the runtime names a mirror: judged by digest",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://mirror.local/app@%b" },
    .expected = "%b",
    .want = "" },
  { .name = "tag deleted while running",
    .image = "r.io/app:gone",
    .ids = { "docker-pullable://r.io/app@%a" },
    .error = IW_ENOTFOUND,
    .present = { "%a" },
    .want = "tag-missing:high" },
  { .name = "tag deleted and the running digest gone too",
    .image = "r.io/app:gone",
    .ids = { "docker-pullable://r.io/app@%a" },
    .error = IW_ENOTFOUND,
    .absent = { "%a" },
    .want = "tag-missing:high;integrity-unknown:critical" },
  { .name = "registry down",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://r.io/app@%a" },
    .error = IW_ENET,
    .want = "unverified:medium" },
  { .name = "auth refused",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://r.io/app@%a" },
    .error = IW_EAUTH,
    .want = "unverified:medium" },
  { .name = "rate limited",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://r.io/app@%a" },
    .error = IW_ERATELIMIT,
    .want = "unverified:medium" },
  { .name = "the index could not be read: a child is unverified, not stale",
    .image = "r.io/multi:1",
    .ids = { "docker-pullable://r.io/multi@%1" },
    .expected = "%0",
    .detail_error = IW_ENET,
    .present = { "%1" },
    .want = "unverified:medium" },
  { .name = "pinned digest the registry does not hold",
    .image = "r.io/app@%c",
    .ids = { "docker-pullable://r.io/app@%c" },
    .error = IW_ENOTFOUND,
    .want = "integrity-unknown:critical" },
  { .name = "not running yet: nothing to compare",
    .image = "r.io/app:1",
    .ids = { "" },
    .expected = "%b",
    .want = "" },
  { .name = "an imageID nobody can read is unverified",
    .image = "r.io/app:1",
    .ids = { "containerd://what" },
    .expected = "%b",
    .want = "unverified:medium" },
  { .name = "registry not asked (untrusted): no integrity verdict",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://r.io/app@%a" },
    .not_asked = true,
    .want = "" },
  { .name = "two digests, one clean and one stale",
    .image = "r.io/app:1",
    .ids = { "docker-pullable://r.io/app@%b", "docker-pullable://r.io/app@%a" },
    .expected = "%b",
    .present = { "%a" },
    .want = "integrity-stale:high" },
};

static bool
listed (const char *const *list, const char *digest)
{
  for (size_t i = 0; list[i]; i++)
    {
      char *d = fx_expand (list[i]);
      bool eq = strcmp (d, digest) == 0;

      free (d);
      if (eq)
        return true;
    }
  return false;
}

static void
test_check_integrity__table (void **state)
{
  (void)state;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
      const icase *tc = &cases[c];
      iw_inventory *inv = iw_inventory_new ();
      iw_config *cfg = iw_config_new_default ();
      iw_check_ctx ctx = { cfg };
      iw_findings fs = IW_FINDINGS_INIT;
      iw_reg_facts facts;
      const iw_inv_image *img;
      char *got;

      for (int i = 0; i < 4 && tc->ids[i]; i++)
        {
          fx_pod p = { .image = tc->image, .image_id = *tc->ids[i] ? tc->ids[i] : NULL };

          fx_add (inv, &p, i);
        }
      iw_inventory_finish (inv);
      assert_int_equal (inv->n_images, 1);
      img = &inv->images[0];
      memset (&facts, 0, sizeof facts);
      facts.asked = !tc->not_asked;
      facts.registry = iw_xstrdup ("r.io");
      facts.expected = fx_expand (tc->expected);
      facts.error = tc->expected ? IW_OK : tc->error;
      facts.error_msg = tc->expected ? NULL : iw_xstrdup ("test says so");
      facts.children = fx_strv (tc->children);
      facts.configs = fx_strv (tc->configs);
      facts.detail_error = tc->detail_error;
      facts.running = iw_xcalloc (img->n_running + 1, sizeof *facts.running);
      for (size_t r = 0; r < img->n_running; r++)
        {
          const char *d = img->running[r].digest;

          if (d && listed (tc->present, d))
            facts.running[r].presence = IW_DIGEST_PRESENT;
          else if (d && listed (tc->absent, d))
            facts.running[r].presence = IW_DIGEST_ABSENT;
          else
            facts.running[r].error = tc->unknown ? tc->unknown : IW_ENET;
        }
      iw_check_integrity (&fs, &ctx, img, &facts);
      got = fx_summary (&fs);
      if (strcmp (got, tc->want) != 0)
        fail_msg ("case \"%s\": got \"%s\", want \"%s\"", tc->name, got, tc->want);
      for (size_t i = 0; i < fs.len; i++)
        {
          assert_non_null (fs.items[i].message);
          assert_true (fs.items[i].n_workloads > 0);
        }
      free (got);
      free (facts.running);
      iw_reg_facts_clear (&facts);
      iw_findings_clear (&fs);
      iw_config_free (cfg);
      iw_inventory_free (inv);
    }
}

/* The stale message names both digests, and the unverified one says why. */
static void
test_check_integrity__messages_name_digests_and_reasons (void **state)
{
  iw_inventory *inv = iw_inventory_new ();
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  iw_findings fs = IW_FINDINGS_INIT;
  iw_reg_facts facts;
  fx_pod p = { .image = "r.io/app:latest", .image_id = "docker-pullable://r.io/app@%a" };
  char *a = fx_expand ("%a"), *b = fx_expand ("%b");

  (void)state;
  fx_add (inv, &p, 0);
  memset (&facts, 0, sizeof facts);
  facts.asked = true;
  facts.expected = iw_xstrdup (b);
  facts.running = iw_xcalloc (1, sizeof *facts.running);
  facts.running[0].presence = IW_DIGEST_PRESENT;
  iw_check_integrity (&fs, &ctx, &inv->images[0], &facts);
  assert_int_equal (fs.len, 1);
  assert_non_null (strstr (fs.items[0].message, a));
  assert_non_null (strstr (fs.items[0].message, b));
  assert_int_equal (fs.items[0].running, 0);
  iw_findings_clear (&fs);
  free (facts.expected);
  facts.expected = NULL;
  facts.error = IW_ETLS;
  facts.error_msg = iw_xstrdup ("certificate verify failed");
  iw_check_integrity (&fs, &ctx, &inv->images[0], &facts);
  assert_int_equal (fs.len, 1);
  assert_int_equal (fs.items[0].check, IW_CHECK_UNVERIFIED);
  assert_non_null (strstr (fs.items[0].message, "TLS"));
  assert_non_null (strstr (fs.items[0].message, "certificate verify failed"));
  free (facts.running);
  iw_reg_facts_clear (&facts);
  iw_findings_clear (&fs);
  iw_config_free (cfg);
  iw_inventory_free (inv);
  free (a);
  free (b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_check_integrity__table),
    cmocka_unit_test (test_check_integrity__messages_name_digests_and_reasons),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
