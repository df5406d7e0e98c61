/*
 * test_assess.c - the Live Assessment: order by risk, counts, the
 * trust-policy info finding, --fail-on thresholds, and the remediation
 * text for each finding (the kubectl commands themselves are run by the
 * end-to-end tests against a manifest).
 */
#include "assess/assess.h"
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Give image `key` registry facts: expected digest, and every running
 * digest present (or absent). */
static void
set_facts (iw_assessment *a, const char *key, const char *expected, iw_code error,
           iw_digest_presence presence)
{
  char *k = fx_expand (key);

  for (size_t i = 0; i < a->n_images; i++)
    {
      iw_assess_image *ai = &a->images[i];

      if (strcmp (ai->inv->key, k) != 0)
        continue;
      ai->facts.asked = true;
      ai->facts.registry = ai->inv->ref ? iw_xstrdup (ai->inv->ref->domain) : NULL;
      ai->facts.expected = fx_expand (expected);
      ai->facts.error = error;
      ai->facts.running = iw_xcalloc (ai->inv->n_running + 1, sizeof *ai->facts.running);
      for (size_t r = 0; r < ai->inv->n_running; r++)
        ai->facts.running[r].presence = presence;
    }
  free (k);
}

static iw_assessment *
build (const fx_pod *pods, size_t n)
{
  iw_inventory *inv = iw_inventory_new ();

  for (size_t i = 0; i < n; i++)
    fx_add (inv, &pods[i], (int)i);
  iw_inventory_finish (inv);
  return iw_assessment_new (inv, "file:test.json");
}

static const iw_finding *
finding (const iw_assess_image *ai, iw_check_id c)
{
  for (size_t i = 0; ai && i < ai->findings.len; i++)
    if (ai->findings.items[i].check == c)
      return &ai->findings.items[i];
  return NULL;
}

static void
test_assess__orders_by_risk_then_workloads_then_name (void **state)
{
  static const fx_pod pods[] = {
    /* low only (pinned would be clean; Always + version tag = moving-tag low + pull-policy low) */
    { .name = "z-low", .image = "r.io/zz:1.0", .policy = "Always", .image_id = "r.io/zz@%1" },
    /* stale: high */
    { .name = "gb",
      .image = "r.io/green-burrito:latest",
      .policy = "IfNotPresent",
      .image_id = "r.io/green-burrito@%a" },
    { .name = "gb",
      .image = "r.io/green-burrito:latest",
      .policy = "IfNotPresent",
      .image_id = "r.io/green-burrito@%a" },
    /* never held: critical */
    { .name = "evil", .image = "r.io/evil:1.0", .policy = "Always", .image_id = "r.io/evil@%e" },
    /* high with two workloads sorts before high with one */
    { .name = "w1", .image = "r.io/b-two:1.0", .policy = "Always", .image_id = "r.io/b-two@%2" },
    { .name = "w2", .image = "r.io/b-two:1.0", .policy = "Always", .image_id = "r.io/b-two@%2" },
    /* clean: pinned and running the pin */
    { .name = "clean", .image = "r.io/clean@%c", .image_id = "r.io/clean@%c" },
  };
  iw_assessment *a = build (pods, sizeof pods / sizeof pods[0]);
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };

  (void)state;
  fx_set_trusted (cfg, (const char *const[]){ "r.io", NULL });
  set_facts (a, "r.io/zz:1.0", "%1", IW_OK, IW_DIGEST_PRESENT);
  set_facts (a, "r.io/green-burrito:latest", "%b", IW_OK, IW_DIGEST_PRESENT);
  set_facts (a, "r.io/evil:1.0", "%f", IW_OK, IW_DIGEST_ABSENT);
  set_facts (a, "r.io/b-two:1.0", "%3", IW_OK, IW_DIGEST_PRESENT);
  set_facts (a, "r.io/clean@%c", "%c", IW_OK, IW_DIGEST_PRESENT);
  iw_assess_evaluate (a, &ctx);
  assert_int_equal (a->n_images, 5);
  assert_int_equal (a->n_flagged, 4);
  assert_string_equal (a->images[0].inv->key, "r.io/evil:1.0");
  assert_int_equal (a->images[0].severity, IW_SEV_CRITICAL);
  assert_string_equal (a->images[1].inv->key, "r.io/b-two:1.0");
  assert_int_equal (a->images[1].n_workloads, 2);
  assert_string_equal (a->images[2].inv->key, "r.io/green-burrito:latest");
  assert_int_equal (a->images[2].severity, IW_SEV_HIGH);
  assert_string_equal (a->images[3].inv->key, "r.io/zz:1.0");
  assert_int_equal (a->images[3].severity, IW_SEV_LOW);
  assert_int_equal (a->images[4].findings.len, 0);
  /* Findings within an image: worst first. */
  assert_int_equal (a->images[2].findings.items[0].check, IW_CHECK_INTEGRITY_STALE);
  assert_int_equal (a->global.len, 0);
  assert_int_equal (a->counts[IW_SEV_CRITICAL], 1);
  assert_int_equal (a->counts[IW_SEV_HIGH], 2);
  assert_int_equal (a->counts[IW_SEV_INFO], 0);
  assert_int_equal (iw_assessment_worst (a), IW_SEV_CRITICAL);
  assert_true (iw_assessment_fails (a, IW_SEV_CRITICAL));
  iw_assessment_free (a);
  iw_config_free (cfg);
}

static void
test_assess__clean_cluster_has_only_the_info_finding (void **state)
{
  static const fx_pod pods[] = {
    { .name = "clean", .image = "r.io/clean@%c", .image_id = "docker-pullable://r.io/clean@%c" },
  };
  iw_assessment *a = build (pods, 1);
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };

  (void)state;
  set_facts (a, "r.io/clean@%c", "%c", IW_OK, IW_DIGEST_PRESENT);
  iw_assess_evaluate (a, &ctx);
  assert_int_equal (a->n_flagged, 0);
  assert_int_equal (a->global.len, 1);
  assert_int_equal (a->global.items[0].severity, IW_SEV_INFO);
  assert_int_equal (a->global.items[0].check, IW_CHECK_UNTRUSTED_REGISTRY);
  assert_non_null (a->global.items[0].remediation);
  assert_int_equal (a->counts[IW_SEV_INFO], 1);
  assert_int_equal (iw_assessment_worst (a), IW_SEV_INFO);
  assert_false (iw_assessment_fails (a, IW_SEV_LOW));
  assert_true (iw_assessment_fails (a, IW_SEV_INFO));
  /* Evaluating twice gives the same answer. */
  iw_assess_evaluate (a, &ctx);
  assert_int_equal (a->global.len, 1);
  assert_int_equal (a->counts[IW_SEV_INFO], 1);
  iw_assessment_free (a);
  iw_config_free (cfg);
}

typedef struct rcase
{
  const char *name;
  fx_pod pod;
  const char *expected;
  iw_code error;
  iw_digest_presence presence;
  iw_check_id check;
  const char *lines[4]; /* each must appear in the remediation */
} rcase;

static const rcase rcases[] = {
  { "stale: roll forward and freeze",
    { .ns = "shop",
      .name = "green-burrito",
      .image = "r.io/green-burrito:latest",
      .policy = "IfNotPresent",
      .image_id = "docker-pullable://r.io/green-burrito@%a" },
    "%b",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_INTEGRITY_STALE,
    { "kubectl -n shop set image deployment/green-burrito app=r.io/green-burrito@%b",
      "kubectl -n shop set image deployment/green-burrito app=r.io/green-burrito@%a" } },
  { "pull policy: patch to Always",
    { .ns = "shop",
      .name = "green-burrito",
      .image = "r.io/green-burrito:latest",
      .policy = "IfNotPresent",
      .image_id = "docker-pullable://r.io/green-burrito@%b" },
    "%b",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_PULL_POLICY,
    { "kubectl -n shop set image deployment/green-burrito app=r.io/green-burrito@%b",
      "kubectl -n shop patch deployment green-burrito -p "
      "'{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"imagePullPolicy\":\"Always\"}]"
      "}}}}'" } },
  { "pull policy of a CronJob's init container",
    { .ns = "ops",
      .kind = "CronJob",
      .name = "backup",
      .container = "fetch",
      .init = 1,
      .image = "r.io/tool:1.0",
      .policy = "IfNotPresent",
      .image_id = NULL },
    "%b",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_PULL_POLICY,
    { "kubectl -n ops patch cronjob backup -p "
      "'{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"initContainers\":[{\"name\":"
      "\"fetch\","
      "\"imagePullPolicy\":\"Always\"}]}}}}}}'" } },
  { "pinned mismatch: inspect the node and restart",
    { .ns = "shop",
      .name = "pay",
      .image = "r.io/pay@%c",
      .image_id = "docker-pullable://r.io/pay@%d",
      .node = "node-7" },
    "%c",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_INTEGRITY_UNKNOWN,
    { "node-7", "imgwatch verify-store", "kubectl -n shop rollout restart deployment/pay" } },
  { "tag missing: pin what runs or push the tag back",
    { .ns = "shop", .name = "cart", .image = "r.io/cart:v3", .image_id = "docker-pullable://r.io/cart@%a" },
    NULL,
    IW_ENOTFOUND,
    IW_DIGEST_PRESENT,
    IW_CHECK_TAG_MISSING,
    { "kubectl -n shop set image deployment/cart app=r.io/cart@%a",
      "skopeo copy docker://r.io/cart@%a docker://r.io/cart:v3" } },
  { "unverified (auth): how to log in",
    { .ns = "shop", .name = "cart", .image = "r.io/cart:v3", .image_id = "docker-pullable://r.io/cart@%a" },
    NULL,
    IW_EAUTH,
    IW_DIGEST_UNKNOWN,
    IW_CHECK_UNVERIFIED,
    { "docker login r.io", "registries.\"r.io\".username" } },
  { "unverified (TLS): the CA",
    { .ns = "shop", .name = "cart", .image = "r.io/cart:v3", .image_id = "docker-pullable://r.io/cart@%a" },
    NULL,
    IW_ETLS,
    IW_DIGEST_UNKNOWN,
    IW_CHECK_UNVERIFIED,
    { "registries.\"r.io\".ca" } },
  { "a bare pod: set image on the pod",
    { .ns = "dev",
      .kind = "Pod",
      .name = "debug",
      .container = "sh",
      .image = "r.io/sh:latest",
      .image_id = "docker-pullable://r.io/sh@%a" },
    "%b",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_INTEGRITY_STALE,
    { "kubectl -n dev set image pod/debug sh=r.io/sh@%b" } },
  { "image-id reference: named by the repository the runtime reports",
    { .ns = "dev", .name = "odd", .image = "%d", .image_id = "docker-pullable://r.io/odd@%d" },
    NULL,
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_IMAGE_ID_REFERENCE,
    { "kubectl -n dev set image deployment/odd app=r.io/odd@%d" } },
  { "unverified (rate limit)",
    { .ns = "shop", .name = "cart", .image = "r.io/cart:v3", .image_id = "docker-pullable://r.io/cart@%a" },
    NULL,
    IW_ERATELIMIT,
    IW_DIGEST_UNKNOWN,
    IW_CHECK_UNVERIFIED,
    { "rate-limited", "docker login r.io" } },
  { "a DaemonSet: restart after fixing the node",
    { .ns = "kube-system",
      .kind = "DaemonSet",
      .name = "agent",
      .container = "agent",
      .image = "r.io/agent@%c",
      .image_id = "docker-pullable://r.io/agent@%d" },
    "%c",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_INTEGRITY_UNKNOWN,
    { "kubectl -n kube-system rollout restart daemonset/agent" } },
  { "a StatefulSet: the moving tag pinned",
    { .ns = "db",
      .kind = "StatefulSet",
      .name = "pg",
      .container = "postgres",
      .image = "r.io/postgres:16",
      .image_id = "docker-pullable://r.io/postgres@%b" },
    "%b",
    IW_OK,
    IW_DIGEST_PRESENT,
    IW_CHECK_MOVING_TAG,
    { "kubectl -n db set image statefulset/pg postgres=r.io/postgres@%b" } },
};

static void
test_assess__remediation_commands (void **state)
{
  (void)state;
  for (size_t c = 0; c < sizeof rcases / sizeof rcases[0]; c++)
    {
      const rcase *tc = &rcases[c];
      iw_assessment *a = build (&tc->pod, 1);
      iw_config *cfg = iw_config_new_default ();
      iw_check_ctx ctx = { cfg };
      const iw_finding *f;

      a->images[0].facts.running = NULL;
      set_facts (a, a->images[0].inv->key, tc->expected, tc->error, tc->presence);
      if (tc->error != IW_OK)
        a->images[0].facts.error_msg = iw_xstrdup ("test");
      iw_assess_evaluate (a, &ctx);
      f = finding (&a->images[0], tc->check);
      if (f == NULL)
        fail_msg ("case \"%s\": no %s finding", tc->name, iw_check_name (tc->check));
      for (int i = 0; i < 4 && tc->lines[i]; i++)
        {
          char *want = fx_expand (tc->lines[i]);

          if (strstr (f->remediation, want) == NULL)
            fail_msg ("case \"%s\": remediation\n%s\nlacks\n%s", tc->name, f->remediation, want);
          free (want);
        }
      iw_assessment_free (a);
      iw_config_free (cfg);
    }
}

static void
test_assess__untrusted_copies_into_a_trusted_registry (void **state)
{
  static const fx_pod pods[] = {
    { .ns = "web",
      .name = "front",
      .container = "nginx",
      .image = "docker.io.evil.com/library/nginx:1.25",
      .image_id = "docker-pullable://docker.io.evil.com/library/nginx@%a" },
  };
  iw_assessment *a = build (pods, 1);
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  const iw_finding *f;

  (void)state;
  fx_set_trusted (cfg, (const char *const[]){ "*.jfrog.io", "registry.example.com", NULL });
  iw_assess_evaluate (a, &ctx);
  f = finding (&a->images[0], IW_CHECK_UNTRUSTED_REGISTRY);
  assert_non_null (f);
  assert_non_null (strstr (f->remediation, "skopeo copy --all docker://docker.io.evil.com/library/nginx:1.25 "
                                           "docker://registry.example.com/library/nginx:1.25"));
  assert_non_null (
      strstr (f->remediation,
              "kubectl -n web set image deployment/front nginx=registry.example.com/library/nginx:1.25"));
  /* Pinning the untrusted image where it is would fix nothing. */
  f = finding (&a->images[0], IW_CHECK_MOVING_TAG);
  assert_non_null (f);
  assert_null (strstr (f->remediation, "set image"));
  assert_non_null (strstr (f->remediation, "not trusted"));
  /* Not asked: no integrity verdict on an untrusted registry's word. */
  assert_null (finding (&a->images[0], IW_CHECK_INTEGRITY_STALE));
  assert_null (finding (&a->images[0], IW_CHECK_UNVERIFIED));
  iw_assessment_free (a);
  iw_config_free (cfg);
}

static void
test_assess__finding_workloads_are_deduplicated (void **state)
{
  static const fx_pod pods[] = {
    { .name = "web", .container = "a", .image = "r.io/x:latest" },
    { .name = "web", .container = "b", .image = "r.io/x:latest" },
    { .name = "api", .container = "a", .image = "r.io/x:latest" },
  };
  iw_assessment *a = build (pods, 3);
  iw_config *cfg = iw_config_new_default ();
  iw_check_ctx ctx = { cfg };
  const iw_finding *f;
  char **ws;

  (void)state;
  iw_assess_evaluate (a, &ctx);
  f = finding (&a->images[0], IW_CHECK_MOVING_TAG);
  assert_non_null (f);
  assert_int_equal (f->n_workloads, 3);
  ws = iw_assess_finding_workloads (&a->images[0], f);
  assert_string_equal (ws[0], "default/Deployment/web");
  assert_string_equal (ws[1], "default/Deployment/api");
  assert_null (ws[2]);
  for (size_t i = 0; ws[i]; i++)
    free (ws[i]);
  free (ws);
  assert_int_equal (a->images[0].n_workloads, 2);
  iw_assessment_free (a);
  iw_config_free (cfg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_assess__orders_by_risk_then_workloads_then_name),
    cmocka_unit_test (test_assess__clean_cluster_has_only_the_info_finding),
    cmocka_unit_test (test_assess__remediation_commands),
    cmocka_unit_test (test_assess__untrusted_copies_into_a_trusted_registry),
    cmocka_unit_test (test_assess__finding_workloads_are_deduplicated),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
