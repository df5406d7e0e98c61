/*
 * test_inventory.c - grouping records by normalized reference: one image
 * per reference however many pods, workloads with pod counts and nodes,
 * distinct running IDs.
 */
#include "assess_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

static void
test_inventory__ten_thousand_pods_are_one_image (void **state)
{
  iw_inventory *inv = iw_inventory_new ();
  const iw_inv_image *img;

  (void)state;
  for (int i = 0; i < 10000; i++)
    {
      char node[32];
      fx_pod p = {
        .name = "web", .image = "r.io/app:1", .image_id = "docker-pullable://r.io/app@%a", .node = node
      };

      snprintf (node, sizeof node, "node-%03d", (i * 7) % 50);
      fx_add (inv, &p, i);
    }
  iw_inventory_finish (inv);
  assert_int_equal (inv->n_images, 1);
  assert_int_equal (inv->containers, 10000);
  img = &inv->images[0];
  assert_string_equal (img->key, "r.io/app:1");
  assert_int_equal (img->n_workloads, 1);
  assert_int_equal (img->workloads[0].pods, 10000);
  assert_int_equal (img->workloads[0].n_nodes, 50);
  assert_string_equal (img->workloads[0].nodes[0], "node-000");
  assert_string_equal (img->workloads[0].nodes[49], "node-049");
  assert_int_equal (img->n_running, 1);
  assert_int_equal (img->running[0].containers, 10000);
  assert_int_equal (img->running[0].kind, IW_IMAGE_ID_REPO_DIGEST);
  iw_inventory_free (inv);
}

static void
test_inventory__normalizes_docker_hub_names (void **state)
{
  static const char *const spellings[]
      = { "nginx:1.25", "library/nginx:1.25", "docker.io/nginx:1.25", "docker.io/library/nginx:1.25",
          "index.docker.io/library/nginx:1.25" };
  iw_inventory *inv = iw_inventory_new ();

  (void)state;
  for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
    {
      fx_pod p = { .name = "web", .image = spellings[i] };

      fx_add (inv, &p, (int)i);
    }
  assert_int_equal (inv->n_images, 1);
  assert_string_equal (inv->images[0].key, "docker.io/library/nginx:1.25");
  assert_string_equal (inv->images[0].image, "nginx:1.25");
  assert_non_null (iw_inventory_find (inv, "docker.io/library/nginx:1.25"));
  assert_null (iw_inventory_find (inv, "nginx:1.25"));
  iw_inventory_free (inv);
}

static void
test_inventory__workloads_and_running_ids (void **state)
{
  static const fx_pod pods[] = {
    { .ns = "a", .name = "web", .image = "r.io/app:1", .image_id = "r.io/app@%a", .node = "n1" },
    { .ns = "a",
      .name = "web",
      .image = "r.io/app:1",
      .image_id = "docker-pullable://r.io/app@%a",
      .node = "n1" },
    { .ns = "a", .name = "web", .image = "r.io/app:1", .image_id = "docker://%b", .node = "n2" },
    { .ns = "a",
      .name = "web",
      .container = "init",
      .init = 1,
      .image = "r.io/app:1",
      .image_id = "r.io/app@%a" },
    { .ns = "b", .name = "web", .image = "r.io/app:1", .image_id = NULL, .node = "n3" },
    { .ns = "b", .name = "web", .image = "r.io/other@%c", .image_id = "r.io/other@%c" },
    { .ns = "b", .name = "id", .image = "%d", .image_id = "%d" },
    { .ns = "b", .name = "bad", .image = "Bad:Ref:Here" },
  };
  iw_inventory *inv = iw_inventory_new ();
  const iw_inv_image *img;
  char *id;

  (void)state;
  for (size_t i = 0; i < sizeof pods / sizeof pods[0]; i++)
    fx_add (inv, &pods[i], (int)i);
  iw_inventory_finish (inv);
  assert_int_equal (inv->n_images, 4);
  img = &inv->images[0];
  assert_int_equal (img->containers, 5);
  /* a/web/app, a/web/init, b/web/app */
  assert_int_equal (img->n_workloads, 3);
  assert_int_equal (img->workloads[0].pods, 3);
  assert_int_equal (img->workloads[0].n_nodes, 2);
  assert_int_equal (img->workloads[0].n_running, 2);
  assert_int_equal (img->workloads[1].container_type, IW_CONTAINER_INIT);
  assert_int_equal (img->workloads[2].not_running, 1);
  assert_int_equal (img->workloads[2].n_running, 0);
  /* The two spellings of digest %a are one running ID; the config ID another. */
  assert_int_equal (img->n_running, 2);
  assert_int_equal (img->running[0].containers, 3);
  assert_int_equal (img->running[1].kind, IW_IMAGE_ID_CONFIG);
  id = iw_inv_workload_id (&img->workloads[2]);
  assert_string_equal (id, "b/Deployment/web");
  free (id);
  assert_non_null (inv->images[1].ref);
  assert_non_null (inv->images[1].ref->digest);
  assert_true (inv->images[2].is_image_id);
  assert_null (inv->images[2].ref);
  assert_false (inv->images[3].is_image_id);
  assert_null (inv->images[3].ref);
  assert_non_null (inv->images[3].parse_error);
  assert_string_equal (inv->source, "file:test.json");
  iw_inventory_free (inv);
  iw_inventory_free (NULL);
}

static void
test_inventory__record_callback_takes_ownership (void **state)
{
  iw_inventory *inv = iw_inventory_new ();
  iw_record *r = iw_xcalloc (1, sizeof *r);
  iw_error *err = NULL;

  (void)state;
  r->image = iw_xstrdup ("r.io/app:1");
  r->pod = iw_xstrdup ("p");
  r->container = iw_xstrdup ("c");
  assert_int_equal (iw_inventory_add_fn (r, inv, &err), 0);
  assert_int_equal (inv->n_images, 1);
  assert_string_equal (inv->images[0].workloads[0].kind, "Pod");
  assert_string_equal (inv->images[0].workloads[0].name, "p");
  iw_inventory_free (inv);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_inventory__ten_thousand_pods_are_one_image),
    cmocka_unit_test (test_inventory__normalizes_docker_hub_names),
    cmocka_unit_test (test_inventory__workloads_and_running_ids),
    cmocka_unit_test (test_inventory__record_callback_takes_ownership),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
