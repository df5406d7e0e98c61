/*
 * test_runtime_store.c - verification of a content directory: clean
 * images, flipped bytes, missing, truncated and oversize blobs, indexes
 * with absent platforms, shared blobs, malformed documents, discovery.
 *
 * Each test builds a containerd-shaped content directory in a temp dir
 * (root/io.containerd.content.v1.content/blobs/sha256/<hex>).
 */
#include "runtime/store.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

typedef struct fixture
{
  char root[64];
  char *blobs;
} fixture;

static int
setup (void **state)
{
  fixture *f = iw_xcalloc (1, sizeof *f);
  char *p;

  strcpy (f->root, "/tmp/iw-store-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  p = iw_xasprintf ("%s/io.containerd.content.v1.content", f->root);
  assert_int_equal (mkdir (p, 0700), 0);
  free (p);
  p = iw_xasprintf ("%s/io.containerd.content.v1.content/blobs", f->root);
  assert_int_equal (mkdir (p, 0700), 0);
  free (p);
  f->blobs = iw_xasprintf ("%s/io.containerd.content.v1.content/blobs/sha256", f->root);
  assert_int_equal (mkdir (f->blobs, 0700), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  fixture *f = *state;
  char *cmd = iw_xasprintf ("rm -rf '%s'", f->root);

  assert_int_equal (system (cmd), 0);
  free (cmd);
  free (f->blobs);
  free (f);
  return 0;
}

static char *
blob_file (const fixture *f, const char *digest)
{
  return iw_xasprintf ("%s/%s", f->blobs, digest + 7);
}

/* Store data as a blob; digest_out receives its digest. */
static void
put (const fixture *f, const void *data, size_t len, char digest_out[IW_SHA256_DIGEST_STRLEN])
{
  char *path;
  FILE *fp;

  iw_sha256_buf (data, len, digest_out);
  path = blob_file (f, digest_out);
  fp = fopen (path, "wb");
  assert_non_null (fp);
  assert_int_equal (fwrite (data, 1, len, fp), len);
  fclose (fp);
  free (path);
}

static void
put_str (const fixture *f, const char *s, char digest_out[IW_SHA256_DIGEST_STRLEN])
{
  put (f, s, strlen (s), digest_out);
}

/* A manifest over a config and n layers of the given sizes; returns its
 * JSON, and the digests of config and layers. */
typedef struct image
{
  char manifest[IW_SHA256_DIGEST_STRLEN];
  long long manifest_size;
  char config[IW_SHA256_DIGEST_STRLEN];
  char layers[4][IW_SHA256_DIGEST_STRLEN];
  long long layer_sizes[4];
  int n_layers;
} image;

static void
make_image (const fixture *f, image *img, int n_layers, size_t layer_size, int seed)
{
  char *cfg = iw_xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":%d}", seed);
  char *json, *layers = iw_xstrdup ("");

  memset (img, 0, sizeof *img);
  put_str (f, cfg, img->config);
  img->n_layers = n_layers;
  for (int i = 0; i < n_layers; i++)
    {
      unsigned char *data = iw_xmalloc (layer_size);
      char *next;

      for (size_t k = 0; k < layer_size; k++)
        data[k] = (unsigned char)(k * 31 + (size_t)i * 7 + (size_t)seed);
      put (f, data, layer_size, img->layers[i]);
      img->layer_sizes[i] = (long long)layer_size;
      free (data);
      next = iw_xasprintf (
          "%s%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\","
          "\"size\":%zu}",
          layers, i ? "," : "", img->layers[i], layer_size);
      free (layers);
      layers = next;
    }
  json = iw_xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"mediaType\":"
                       "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
                       "\"layers\":[%s]}",
                       img->config, strlen (cfg), layers);
  put_str (f, json, img->manifest);
  img->manifest_size = (long long)strlen (json);
  free (json);
  free (layers);
  free (cfg);
}

static iw_store_report *
verify (const fixture *f, iw_store_images *imgs, int jobs, bool all)
{
  iw_content_store *cs = NULL;
  iw_store_report *r = NULL;
  iw_store_verify_options o = IW_STORE_VERIFY_OPTIONS_INIT;
  iw_error *err = NULL;

  o.jobs = jobs;
  o.all_blobs = all;
  assert_int_equal (iw_content_dir_open (&cs, f->root, &err), 0);
  if (iw_store_verify (&r, cs, imgs, &o, &err) < 0)
    fail_msg ("verify: %s", iw_error_msg (err));
  iw_content_store_free (cs);
  return r;
}

static void
flip_byte (const fixture *f, const char *digest, long off)
{
  char *path = blob_file (f, digest);
  int fd = open (path, O_RDWR);
  unsigned char c;

  assert_true (fd >= 0);
  assert_int_equal (pread (fd, &c, 1, off), 1);
  c ^= 0x01;
  assert_int_equal (pwrite (fd, &c, 1, off), 1);
  close (fd);
  free (path);
}

static void
test_runtime_store__clean_image_has_no_finding (void **state)
{
  fixture *f = *state;
  image img;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;

  make_image (f, &img, 3, 100000, 1);
  iw_store_images_add (&l, "127.0.0.1:5000/app:1", "default", img.manifest, OCI_MANIFEST, img.manifest_size);
  r = verify (f, &l, 2, false);
  assert_int_equal (r->n_findings, 0);
  assert_int_equal (r->images, 1);
  assert_int_equal (r->blobs, 5);
  assert_true (r->bytes >= 300000);
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static void
test_runtime_store__flipped_layer_byte_is_corrupt_naming_blob_and_image (void **state)
{
  fixture *f = *state;
  image img;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;

  make_image (f, &img, 2, 70000, 2);
  flip_byte (f, img.layers[1], 12345);
  iw_store_images_add (&l, "127.0.0.1:5000/app:1", "k8s.io", img.manifest, OCI_MANIFEST, img.manifest_size);
  r = verify (f, &l, 0, false);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].check, "store-corrupt");
  assert_string_equal (r->findings[0].severity, "critical");
  assert_string_equal (r->findings[0].reason, "hash");
  assert_string_equal (r->findings[0].role, "layer");
  assert_string_equal (r->findings[0].blob, img.layers[1]);
  assert_string_equal (r->findings[0].image, "127.0.0.1:5000/app:1");
  assert_non_null (strstr (r->findings[0].message, img.layers[1]));
  assert_non_null (strstr (r->findings[0].message, "127.0.0.1:5000/app:1"));
  assert_non_null (strstr (r->findings[0].remediation, "ctr -n k8s.io content rm"));
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

typedef enum damage
{
  DELETE,
  TRUNCATE,
  APPEND,
} damage;

static void
test_runtime_store__size_and_presence_problems (void **state)
{
  static const struct
  {
    damage what;
    int target; /* -1 config, else layer index */
    const char *reason;
  } cases[] = {
    { DELETE, 0, "missing" },
    { DELETE, -1, "missing" },
    { TRUNCATE, 1, "truncated" },
    { APPEND, 0, "oversize" },
  };
  fixture *f = *state;

  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
      image img;
      iw_store_images l = IW_STORE_IMAGES_INIT;
      iw_store_report *r;
      const char *victim;
      char *path;

      make_image (f, &img, 2, 5000, 10 + (int)c);
      victim = cases[c].target < 0 ? img.config : img.layers[cases[c].target];
      path = blob_file (f, victim);
      if (cases[c].what == DELETE)
        assert_int_equal (unlink (path), 0);
      else if (cases[c].what == TRUNCATE)
        assert_int_equal (truncate (path, 100), 0);
      else
        {
          FILE *fp = fopen (path, "ab");

          assert_non_null (fp);
          fputs ("extra", fp);
          fclose (fp);
        }
      free (path);
      iw_store_images_add (&l, "app:1", NULL, img.manifest, NULL, -1);
      r = verify (f, &l, 2, false);
      assert_int_equal (r->n_findings, 1);
      assert_string_equal (r->findings[0].reason, cases[c].reason);
      assert_string_equal (r->findings[0].blob, victim);
      assert_string_equal (r->findings[0].role, cases[c].target < 0 ? "config" : "layer");
      assert_non_null (strstr (r->findings[0].message, "app:1"));
      iw_store_report_free (r);
      iw_store_images_clear (&l);
    }
}

static void
test_runtime_store__corrupt_manifest_is_not_trusted (void **state)
{
  fixture *f = *state;
  image img;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;

  make_image (f, &img, 1, 1000, 3);
  /* Damage a layer too: it must not be reported, since the manifest that
   * names it cannot be trusted. */
  flip_byte (f, img.layers[0], 1);
  flip_byte (f, img.manifest, 3);
  iw_store_images_add (&l, "app:1", NULL, img.manifest, OCI_MANIFEST, img.manifest_size);
  r = verify (f, &l, 1, false);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].role, "manifest");
  assert_string_equal (r->findings[0].reason, "hash");
  assert_int_equal (r->blobs, 1);
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static void
test_runtime_store__missing_target_is_reported (void **state)
{
  fixture *f = *state;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;
  const char *d = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

  iw_store_images_add (&l, "gone:1", NULL, d, OCI_MANIFEST, 10);
  r = verify (f, &l, 1, false);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].reason, "missing");
  assert_string_equal (r->findings[0].blob, d);
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static char *
index_json (const image *a, const char *absent)
{
  return iw_xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"" OCI_INDEX "\",\"manifests\":["
                       "{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld,"
                       "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                       "{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":77,"
                       "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}",
                       a->manifest, a->manifest_size, absent);
}

static void
test_runtime_store__index_with_absent_platform_is_clean (void **state)
{
  fixture *f = *state;
  image img;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;
  char idx[IW_SHA256_DIGEST_STRLEN];
  char *json;

  make_image (f, &img, 2, 3000, 4);
  json = index_json (&img, "sha256:1111111111111111111111111111111111111111111111111111111111111111");
  put_str (f, json, idx);
  iw_store_images_add (&l, "multi:1", NULL, idx, OCI_INDEX, (long long)strlen (json));
  r = verify (f, &l, 2, false);
  assert_int_equal (r->n_findings, 0);
  assert_int_equal (r->skipped, 1);
  assert_int_equal (r->blobs, 5);
  iw_store_report_free (r);

  /* With the present platform's manifest gone, nothing of the image is
   * left: that is damage. */
  {
    char *path = blob_file (f, img.manifest);

    assert_int_equal (unlink (path), 0);
    free (path);
  }
  r = verify (f, &l, 2, false);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].reason, "missing");
  assert_string_equal (r->findings[0].role, "index");
  assert_non_null (strstr (r->findings[0].message, "none of the 2 platform manifests"));
  iw_store_report_free (r);
  iw_store_images_clear (&l);
  free (json);
}

static void
test_runtime_store__shared_blob_is_read_once_and_reported_per_image (void **state)
{
  fixture *f = *state;
  image a, b;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;

  make_image (f, &a, 2, 4096, 5);
  /* b shares a's first layer. */
  make_image (f, &b, 1, 4096, 5);
  assert_string_equal (a.layers[0], b.layers[0]);
  flip_byte (f, a.layers[0], 0);
  iw_store_images_add (&l, "a:1", NULL, a.manifest, OCI_MANIFEST, a.manifest_size);
  iw_store_images_add (&l, "b:1", NULL, b.manifest, OCI_MANIFEST, b.manifest_size);
  r = verify (f, &l, 4, false);
  /* manifests a and b, one config (same seed), two distinct layers */
  assert_int_equal (r->blobs, 5);
  assert_int_equal (r->n_findings, 2);
  assert_string_equal (r->findings[0].image, "a:1");
  assert_string_equal (r->findings[1].image, "b:1");
  assert_string_equal (r->findings[0].blob, a.layers[0]);
  assert_string_equal (r->findings[1].blob, a.layers[0]);
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static void
test_runtime_store__names_of_one_image_are_reported_once (void **state)
{
  fixture *f = *state;
  image a;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;
  char *by_digest;

  make_image (f, &a, 1, 4096, 12);
  flip_byte (f, a.layers[0], 9);
  by_digest = iw_xasprintf ("registry.example.com/app@%s", a.manifest);
  /* As CRI names an image: by config ID, by digest, by tag. */
  iw_store_images_add (&l, a.config, "k8s.io", a.manifest, OCI_MANIFEST, a.manifest_size);
  iw_store_images_add (&l, by_digest, "k8s.io", a.manifest, OCI_MANIFEST, a.manifest_size);
  iw_store_images_add (&l, "registry.example.com/app:1", "k8s.io", a.manifest, OCI_MANIFEST, a.manifest_size);
  /* The same target in another namespace is another image. */
  iw_store_images_add (&l, "registry.example.com/app:1", "default", a.manifest, OCI_MANIFEST,
                       a.manifest_size);
  r = verify (f, &l, 2, false);
  assert_int_equal (r->images, 2);
  assert_int_equal (r->n_findings, 2);
  assert_string_equal (r->findings[0].image, "registry.example.com/app:1");
  assert_string_equal (r->findings[0].namespace_, "k8s.io");
  assert_non_null (strstr (r->findings[0].message, by_digest));
  assert_non_null (strstr (r->findings[0].message, a.config));
  assert_non_null (strstr (r->findings[0].remediation, "images pull registry.example.com/app:1"));
  assert_string_equal (r->findings[1].namespace_, "default");
  assert_null (strstr (r->findings[1].message, "also named"));
  iw_store_report_free (r);
  iw_store_images_clear (&l);
  free (by_digest);
}

static void
test_runtime_store__malformed_manifest_that_hashes_right (void **state)
{
  fixture *f = *state;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;
  char d[IW_SHA256_DIGEST_STRLEN];

  put_str (f, "{\"schemaVersion\":2,\"config\":{}}", d);
  iw_store_images_add (&l, "bad:1", NULL, d, NULL, -1);
  r = verify (f, &l, 1, false);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].reason, "malformed");
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static void
test_runtime_store__results_do_not_depend_on_jobs (void **state)
{
  fixture *f = *state;
  image a, b;
  iw_store_images l = IW_STORE_IMAGES_INIT;

  make_image (f, &a, 4, 20000, 6);
  make_image (f, &b, 4, 20000, 7);
  flip_byte (f, a.layers[2], 5);
  flip_byte (f, b.layers[0], 5);
  iw_store_images_add (&l, "a:1", NULL, a.manifest, NULL, -1);
  iw_store_images_add (&l, "b:1", NULL, b.manifest, NULL, -1);
  for (int jobs = 1; jobs <= 8; jobs *= 2)
    {
      iw_store_report *r = verify (f, &l, jobs, false);

      assert_int_equal (r->n_findings, 2);
      assert_string_equal (r->findings[0].blob, a.layers[2]);
      assert_string_equal (r->findings[1].blob, b.layers[0]);
      iw_store_report_free (r);
    }
  iw_store_images_clear (&l);
}

static void
test_runtime_store__discover_finds_top_level_documents (void **state)
{
  fixture *f = *state;
  image a, b;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_content_store *cs = NULL;
  iw_error *err = NULL;
  char idx[IW_SHA256_DIGEST_STRLEN];
  char *json;

  make_image (f, &a, 1, 100, 8);
  make_image (f, &b, 1, 100, 9);
  json = index_json (&a, "sha256:2222222222222222222222222222222222222222222222222222222222222222");
  put_str (f, json, idx);
  assert_int_equal (iw_content_dir_open (&cs, f->root, &err), 0);
  assert_int_equal (iw_store_images_discover (&l, cs, &err), 0);
  /* The index and the stand-alone manifest b; not a, which the index holds. */
  assert_int_equal (l.n, 2);
  assert_true ((strcmp (l.v[0].digest, idx) == 0 && strcmp (l.v[1].digest, b.manifest) == 0)
               || (strcmp (l.v[1].digest, idx) == 0 && strcmp (l.v[0].digest, b.manifest) == 0));
  iw_store_images_clear (&l);
  iw_content_store_free (cs);
  free (json);
}

static void
test_runtime_store__all_blobs_checks_unreferenced_ones (void **state)
{
  fixture *f = *state;
  image a;
  iw_store_images l = IW_STORE_IMAGES_INIT;
  iw_store_report *r;
  char stray[IW_SHA256_DIGEST_STRLEN];

  make_image (f, &a, 1, 100, 11);
  put_str (f, "stray bytes", stray);
  flip_byte (f, stray, 0);
  iw_store_images_add (&l, "a:1", NULL, a.manifest, NULL, -1);
  r = verify (f, &l, 2, false);
  assert_int_equal (r->n_findings, 0);
  iw_store_report_free (r);
  r = verify (f, &l, 2, true);
  assert_int_equal (r->n_findings, 1);
  assert_string_equal (r->findings[0].blob, stray);
  assert_string_equal (r->findings[0].reason, "hash");
  assert_string_equal (r->findings[0].image, "(no image)");
  iw_store_report_free (r);
  iw_store_images_clear (&l);
}

static void
test_runtime_store__document_parser_rejects_what_it_must (void **state)
{
  static const struct
  {
    const char *json;
    const char *media_type;
    iw_code code;
    const char *msg;
  } cases[] = {
    { "{\"manifests\":[],\"layers\":[]}", NULL, IW_EPARSE, "ambiguous" },
    { "{\"config\":{\"digest\":\"sha256:"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1},"
      "\"config\":{\"digest\":\"sha256:"
      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"size\":1},\"layers\":[]}",
      NULL, IW_EPARSE, "duplicate" },
    { "{\"config\":{\"digest\":\"sha256:../../../etc/passwd\",\"size\":1},\"layers\":[]}", NULL, IW_EPARSE,
      "sha256:<64 lowercase hex>" },
    { "{\"config\":{\"digest\":\"sha256:"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"size\":1},\"layers\":[]}",
      NULL, IW_EPARSE, "lowercase" },
    { "{\"config\":{\"digest\":\"sha256:"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":-1},\"layers\":[]}",
      NULL, IW_EPARSE, "size" },
    { "{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, IW_EUNSUPPORTED, "schema 1" },
    { "{\"mediaType\":\"" OCI_INDEX "\",\"manifests\":[]}", OCI_MANIFEST, IW_EPARSE, "disagrees" },
    { "{\"mediaType\":\"text/plain\",\"config\":{},\"layers\":[]}", NULL, IW_EPARSE, "unknown mediaType" },
    { "[1,2]", NULL, IW_EPARSE, "not a JSON object" },
    { "{\"config\":", NULL, IW_EPARSE, "invalid JSON" },
    { "{\"mediaType\":\"" OCI_INDEX "\"}", NULL, IW_EPARSE, "manifests is missing" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      iw_store_document *d = NULL;
      iw_error *err = NULL;

      if (iw_store_document_parse (&d, cases[i].json, strlen (cases[i].json), cases[i].media_type, &err) == 0)
        fail_msg ("case %zu parsed", i);
      assert_int_equal (iw_error_code (err), cases[i].code);
      if (strstr (iw_error_msg (err), cases[i].msg) == NULL)
        fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, iw_error_msg (err), cases[i].msg);
      assert_null (d);
      iw_error_free (err);
    }
}

static void
test_runtime_store__document_parser_reads_index_platforms (void **state)
{
  const char *json
      = "{\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":["
        "{\"digest\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":5,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";
  iw_store_document *d = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_store_document_parse (&d, json, strlen (json), NULL, &err), 0);
  assert_true (d->is_index);
  assert_int_equal (d->n_children, 1);
  assert_string_equal (d->children[0].platform, "linux/arm/v7");
  assert_int_equal (d->children[0].size, 5);
  iw_store_document_free (d);
  iw_store_document_free (NULL);
}

static void
test_runtime_store__image_arguments (void **state)
{
  static const struct
  {
    const char *arg;
    int ok;
    const char *name;
  } cases[] = {
    { "app:1=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, "app:1" },
    { "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
      "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
    { "app:1", 0, NULL },
    { "=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, NULL },
    { "app=sha256:../x", 0, NULL },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      iw_store_images l = IW_STORE_IMAGES_INIT;
      iw_error *err = NULL;
      int rc = iw_store_images_add_arg (&l, cases[i].arg, &err);

      if (cases[i].ok)
        {
          assert_int_equal (rc, 0);
          assert_string_equal (l.v[0].name, cases[i].name);
          assert_int_equal (l.v[0].size, -1);
        }
      else
        {
          assert_int_equal (rc, -1);
          assert_int_equal (iw_error_code (err), IW_EINVAL);
        }
      iw_error_free (err);
      iw_store_images_clear (&l);
    }
}

static void
test_runtime_store__open_rejects_what_is_not_a_store (void **state)
{
  fixture *f = *state;
  iw_content_store *cs = NULL;
  iw_error *err = NULL;
  char *blobs = iw_xasprintf ("%s/io.containerd.content.v1.content", f->root);

  assert_int_equal (iw_content_dir_open (&cs, "/nonexistent/iw", &err), -1);
  assert_int_equal (iw_error_code (err), IW_ENOTFOUND);
  iw_error_clear (&err);
  assert_int_equal (iw_content_dir_open (&cs, "/tmp", &err), -1);
  assert_int_equal (iw_error_code (err), IW_ENOTFOUND);
  iw_error_clear (&err);
  /* The content directory itself is accepted too. */
  assert_int_equal (iw_content_dir_open (&cs, blobs, &err), 0);
  assert_non_null (strstr (cs->description, "dir:"));
  iw_content_store_free (cs);
  iw_content_store_free (NULL);
  free (blobs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_runtime_store__clean_image_has_no_finding, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__flipped_layer_byte_is_corrupt_naming_blob_and_image,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__size_and_presence_problems, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__corrupt_manifest_is_not_trusted, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__missing_target_is_reported, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__index_with_absent_platform_is_clean, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__shared_blob_is_read_once_and_reported_per_image,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__names_of_one_image_are_reported_once, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__malformed_manifest_that_hashes_right, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__results_do_not_depend_on_jobs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__discover_finds_top_level_documents, setup, teardown),
    cmocka_unit_test_setup_teardown (test_runtime_store__all_blobs_checks_unreferenced_ones, setup, teardown),
    cmocka_unit_test (test_runtime_store__document_parser_rejects_what_it_must),
    cmocka_unit_test (test_runtime_store__document_parser_reads_index_platforms),
    cmocka_unit_test (test_runtime_store__image_arguments),
    cmocka_unit_test_setup_teardown (test_runtime_store__open_rejects_what_is_not_a_store, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
