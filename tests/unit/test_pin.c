/*
 * test_pin.c - locating image fields in manifests and rewriting them to
 * tag@digest, with a fake resolution map instead of a registry.
 *
 * The rewrite table states input and exact expected output for each
 * shape pin must handle (quoting styles, JSON, flow collections, comments,
 * anchors, merge keys, Lists, every pod-carrying kind, non-ASCII text,
 * BOM, CRLF); the error table states the code and the message fragment
 * each bad input must produce.
 */
#include "kube/pin.h"
#include "util/error.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* The fake registry: image text -> digest. */
static const char *const fake_map[][2] = {
  { "nginx:1.25", DA },   { "nginx", DB }, { "reg.example.com/team/app:v1", DA },
  { "busybox:1.36", DB }, { "x/a:1", DA }, { "x/b:2", DB },
};

static const char *
fake_digest (const char *image)
{
  for (size_t i = 0; i < sizeof fake_map / sizeof fake_map[0]; i++)
    if (strcmp (fake_map[i][0], image) == 0)
      return fake_map[i][1];
  return NULL;
}

/* Locate, pin every site the map knows (and that has no digest), apply. */
static char *
pin_text (const char *in, size_t len, size_t *n_sites, size_t *out_len)
{
  iw_pin_site *sites = NULL;
  iw_error *err = NULL;
  char **values;
  char *out = NULL;
  size_t n = 0;

  if (iw_pin_locate (&sites, &n, in, len, "t.yaml", &err) < 0)
    fail_msg ("locate: %s", iw_error_msg (err));
  values = iw_xcalloc (n ? n : 1, sizeof *values);
  for (size_t i = 0; i < n; i++)
    {
      const char *d = fake_digest (sites[i].value);

      if (d && !strchr (sites[i].value, '@'))
        values[i] = iw_pin_pinned (sites[i].value, d);
    }
  if (iw_pin_apply (&out, out_len, in, len, "t.yaml", sites, (const char *const *)values, n, &err) < 0)
    fail_msg ("apply: %s", iw_error_msg (err));
  for (size_t i = 0; i < n; i++)
    free (values[i]);
  free (values);
  iw_pin_sites_free (sites, n);
  *n_sites = n;
  return out;
}

typedef struct rewrite_case
{
  const char *name;
  const char *in;
  const char *out;
  size_t sites;
} rewrite_case;

static const rewrite_case rewrites[] = {
  { "deployment, plain, comments kept",
    "# top\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}  # c\nspec:\n  template:\n"
    "    spec:\n      containers:\n      - name: app\n        image: nginx:1.25   # pinned soon\n",
    "# top\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}  # c\nspec:\n  template:\n"
    "    spec:\n      containers:\n      - name: app\n        image: nginx:1.25@" DA "   # pinned soon\n",
    1 },
  { "single and double quotes kept",
    "kind: Pod\nspec:\n  containers:\n  - image: 'nginx:1.25'\n  - image: \"busybox:1.36\"\n",
    "kind: Pod\nspec:\n  containers:\n  - image: 'nginx:1.25@" DA "'\n  - image: \"busybox:1.36@" DB "\"\n",
    2 },
  { "JSON string stays a JSON string",
    "{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx\"}]}}",
    "{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx@" DB "\"}]}}", 1 },
  { "JSON with tabs and escapes",
    "{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"containers\": [{\"image\": \"x\\/a:1\"}]}\n}\n",
    "{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"containers\": [{\"image\": \"x/a:1@" DA "\"}]}\n}\n", 1 },
  { "flow plain without ':' gets quoted, with ':' stays plain",
    "kind: Pod\nspec: {containers: [{image: nginx}, {image: nginx:1.25}]}\n",
    "kind: Pod\nspec: {containers: [{image: \"nginx@" DB "\"}, {image: nginx:1.25@" DA "}]}\n", 2 },
  { "block plain without ':' stays plain", "kind: Pod\nspec:\n  containers:\n  - image: nginx\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx@" DB "\n", 1 },
  { "already pinned left alone, byte for byte",
    "kind: Pod\nspec:\n  containers:\n  - image:   nginx:1.25@" DB "\n  - image: x/b:2\n",
    "kind: Pod\nspec:\n  containers:\n  - image:   nginx:1.25@" DB "\n  - image: x/b:2@" DB "\n", 2 },
  { "init and ephemeral containers",
    "kind: Pod\nspec:\n  initContainers: [{image: 'x/a:1'}]\n  ephemeralContainers:\n  - image: x/b:2\n"
    "  containers: []\n",
    "kind: Pod\nspec:\n  initContainers: [{image: 'x/a:1@" DA
    "'}]\n  ephemeralContainers:\n  - image: x/b:2@" DB "\n  containers: []\n",
    2 },
  { "kind after spec", "spec:\n  containers:\n  - image: x/a:1\nkind: Pod\n",
    "spec:\n  containers:\n  - image: x/a:1@" DA "\nkind: Pod\n", 1 },
  { "every workload kind",
    "kind: StatefulSet\nspec: {template: {spec: {containers: [{image: x/a:1}]}}}\n---\n"
    "kind: DaemonSet\nspec: {template: {spec: {containers: [{image: x/a:1}]}}}\n---\n"
    "kind: ReplicaSet\nspec: {template: {spec: {containers: [{image: x/a:1}]}}}\n---\n"
    "kind: ReplicationController\nspec: {template: {spec: {containers: [{image: x/a:1}]}}}\n---\n"
    "kind: Job\nspec: {template: {spec: {containers: [{image: x/a:1}]}}}\n---\n"
    "kind: PodTemplate\ntemplate: {spec: {containers: [{image: x/a:1}]}}\n---\n"
    "kind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{image: x/a:1}]}}}}}\n",
    "kind: StatefulSet\nspec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}\n---\n"
    "kind: DaemonSet\nspec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}\n---\n"
    "kind: ReplicaSet\nspec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}\n---\n"
    "kind: ReplicationController\nspec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}\n---\n"
    "kind: Job\nspec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}\n---\n"
    "kind: PodTemplate\ntemplate: {spec: {containers: [{image: x/a:1@" DA "}]}}\n---\n"
    "kind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{image: x/a:1@" DA "}]}}}}}\n",
    7 },
  { "other kinds and other places untouched",
    "kind: ConfigMap\ndata: {image: x/a:1}\n---\nkind: Service\nspec: {containers: [{image: x/a:1}]}\n---\n"
    "kind: Pod\nmetadata: {annotations: {image: x/a:1}}\nspec: {containers: [{env: [{name: image, value: "
    "x/a:1}]}]}\n",
    "kind: ConfigMap\ndata: {image: x/a:1}\n---\nkind: Service\nspec: {containers: [{image: x/a:1}]}\n---\n"
    "kind: Pod\nmetadata: {annotations: {image: x/a:1}}\nspec: {containers: [{env: [{name: image, value: "
    "x/a:1}]}]}\n",
    0 },
  { "nested Lists and PodList",
    "kind: List\nitems:\n- kind: PodList\n  items:\n  - kind: Pod\n    spec: {containers: [{image: x/a:1}]}\n"
    "- kind: Deployment\n  spec: {template: {spec: {containers: [{image: x/b:2}]}}}\n",
    "kind: List\nitems:\n- kind: PodList\n  items:\n  - kind: Pod\n    spec: {containers: [{image: x/a:1@" DA
    "}]}\n"
    "- kind: Deployment\n  spec: {template: {spec: {containers: [{image: x/b:2@" DB "}]}}}\n",
    2 },
  { "anchor and alias: the anchored scalar is rewritten once",
    "kind: Pod\nspec:\n  containers:\n  - {name: a, image: &img x/a:1}\n  initContainers:\n  - {name: b, "
    "image: *img}\n",
    "kind: Pod\nspec:\n  containers:\n  - {name: a, image: &img x/a:1@" DA "}\n  initContainers:\n"
    "  - {name: b, image: *img}\n",
    1 },
  { "tag and anchor before a quoted scalar on the next line",
    "kind: Pod\nspec:\n  containers:\n  - image: &i !!str\n      # why\n      \"x/a:1\"\n",
    "kind: Pod\nspec:\n  containers:\n  - image: &i !!str\n      # why\n      \"x/a:1@" DA "\"\n", 1 },
  { "merge keys",
    "kind: Pod\nx: &base {name: a, image: x/b:2}\nspec:\n  containers:\n  - <<: *base\n    name: b\n"
    "  - <<: [*base]\n    image: x/a:1\n",
    "kind: Pod\nx: &base {name: a, image: x/b:2@" DB "}\nspec:\n  containers:\n  - <<: *base\n    name: b\n"
    "  - <<: [*base]\n    image: x/a:1@" DA "\n",
    2 },
  { "non-ASCII text before the image, BOM",
    "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x98\x95\nkind: Pod\nmetadata: {annotations: {a: \"\xc3\xa9\xc3\xa9\"}}\n"
    "spec: {containers: [{image: x/a:1}]}\n",
    "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x98\x95\nkind: Pod\nmetadata: {annotations: {a: \"\xc3\xa9\xc3\xa9\"}}\n"
    "spec: {containers: [{image: x/a:1@" DA "}]}\n",
    1 },
  { "CRLF line ends and no final newline",
    "kind: Pod\r\nspec:\r\n  containers:\r\n  - image: x/a:1\r\n  - image: 'x/b:2'",
    "kind: Pod\r\nspec:\r\n  containers:\r\n  - image: x/a:1@" DA "\r\n  - image: 'x/b:2@" DB "'", 2 },
  { "double-quoted with escapes is re-encoded", "kind: Pod\nspec: {containers: [{image: \"x\\x2fa:1\"}]}\n",
    "kind: Pod\nspec: {containers: [{image: \"x/a:1@" DA "\"}]}\n", 1 },
  { "unknown image left alone", "kind: Pod\nspec: {containers: [{image: other/thing:3}]}\n",
    "kind: Pod\nspec: {containers: [{image: other/thing:3}]}\n", 1 },
  { "empty documents and comments only", "---\n# nothing\n---\n...\n", "---\n# nothing\n---\n...\n", 0 },
};

static void
test_pin__rewrites (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof rewrites / sizeof rewrites[0]; i++)
    {
      const rewrite_case *c = &rewrites[i];
      size_t n = 0, len = 0;
      char *out = pin_text (c->in, strlen (c->in), &n, &len);

      if (n != c->sites || len != strlen (c->out) || memcmp (out, c->out, len) != 0)
        fail_msg ("case \"%s\": %zu sites (want %zu), got:\n%s\nwant:\n%s", c->name, n, c->sites, out,
                  c->out);
      free (out);
    }
}

typedef struct error_case
{
  const char *name;
  const char *in;
  iw_code code;
  const char *message; /* a fragment */
} error_case;

static const error_case errors[] = {
  { "invalid YAML names file:line:col", "kind: Pod\nspec:\n  containers:\n  - image: [x\n", IW_EPARSE,
    "t.yaml:5:1: invalid YAML" },
  { "bad indentation", "kind: Pod\nspec:\n  a: b\n c: d\n", IW_EPARSE, "t.yaml:4:" },
  { "undefined alias", "kind: Pod\nspec: {containers: [{image: *nope}]}\n", IW_EPARSE,
    "undefined alias *nope" },
  { "image not a string", "kind: Pod\nspec: {containers: [{name: a, image: {x: 1}}]}\n", IW_EPARSE,
    "t.yaml:2:38: Pod/(unnamed) container a: image is not a string" },
  { "empty image", "kind: Pod\nspec: {containers: [{image: ''}]}\n", IW_EPARSE, "image is empty" },
  { "block scalar image", "kind: Pod\nspec:\n  containers:\n  - image: >-\n      x/a:1\n", IW_EUNSUPPORTED,
    "t.yaml:4:12: Pod/(unnamed) container (unnamed): image is a block scalar" },
  { "anchor shared with another field",
    "kind: Pod\nmetadata: {labels: {v: *i}}\nspec: {containers: [{image: &i x/a:1}]}\n", IW_EPARSE,
    "undefined alias" },
  { "image anchor used elsewhere",
    "kind: Pod\nspec: {containers: [{image: &i x/a:1, env: [{name: I, value: *i}]}]}\n", IW_EPARSE,
    "the image anchor &i is also used outside image fields" },
  { "anchor defined outside, used as image",
    "kind: Pod\nmetadata: {annotations: {img: &i x/a:1}}\nspec: {containers: [{image: *i}]}\n", IW_EPARSE,
    "the image anchor &i is also used outside image fields" },
  { "UTF-16", "\xff\xfek\0i\0n\0d\0", IW_EUNSUPPORTED, "UTF-16" },
  { "merge bomb",
    "a: &a {x: 1}\nb: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a]}\nc: &c {<<: [*b, *b, *b, *b, *b, *b, *b, "
    "*b]}\n"
    "d: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c]}\ne: &e {<<: [*d, *d, *d, *d, *d, *d, *d, *d]}\n"
    "kind: Pod\nspec: {<<: [*e, *e, *e, *e, *e, *e, *e, *e]}\n",
    IW_EUNSUPPORTED, "merge keys nest too deeply" },
};

static void
test_pin__errors (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    {
      const error_case *c = &errors[i];
      iw_pin_site *sites = NULL;
      size_t n = 0, len = strlen (c->in);
      iw_error *err = NULL;

      if (c->in[0] == '\xff')
        len = 10;
      if (iw_pin_locate (&sites, &n, c->in, len, "t.yaml", &err) == 0)
        fail_msg ("case \"%s\": no error", c->name);
      if (iw_error_code (err) != c->code || strstr (iw_error_msg (err), c->message) == NULL)
        fail_msg ("case \"%s\": got %s \"%s\", want %s \"%s\"", c->name, iw_code_name (iw_error_code (err)),
                  iw_error_msg (err), iw_code_name (c->code), c->message);
      assert_null (sites);
      iw_error_free (err);
    }
}

static void
test_pin__sites_describe_where (void **state)
{
  const char *in
      = "kind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        image: 'x/a:1'\n";
  iw_pin_site *s = NULL;
  size_t n = 0;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_pin_locate (&s, &n, in, strlen (in), "d.yaml", &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (s[0].value, "x/a:1");
  assert_string_equal (s[0].where, "Deployment/web container app");
  assert_int_equal (s[0].line, 9);
  assert_int_equal (s[0].col, 16);
  assert_int_equal (s[0].style, IW_PIN_SINGLE_QUOTED);
  assert_false (s[0].flow);
  assert_memory_equal (in + s[0].start, "'x/a:1'", 7);
  assert_int_equal (s[0].end - s[0].start, 7);
  iw_pin_sites_free (s, n);

  /* With an anchor and a tag, the position is the scalar's own. */
  in = "kind: Pod\nspec:\n  containers:\n  - image: &i !!str\n      # why\n      x/a:1\n";
  assert_int_equal (iw_pin_locate (&s, &n, in, strlen (in), "d.yaml", &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (s[0].line, 6);
  assert_int_equal (s[0].col, 7);
  assert_memory_equal (in + s[0].start, "x/a:1\n", 6);
  iw_pin_sites_free (s, n);
}

static void
test_pin__pinned_keeps_the_reference_as_written (void **state)
{
  char *p = iw_pin_pinned ("nginx", DA);

  (void)state;
  assert_string_equal (p, "nginx@" DA);
  free (p);
  p = iw_pin_pinned ("docker.io/library/nginx:1.25", DA);
  assert_string_equal (p, "docker.io/library/nginx:1.25@" DA);
  free (p);
}

static void
test_pin__apply_verifies_round_trip (void **state)
{
  const char *in = "kind: Pod\nspec:\n  containers:\n  - image: x/a:1\n";
  const char *bad[] = { "x/a:1 # now a comment" };
  const char *odd[] = { "it's \"odd\"\n" };
  iw_pin_site *s = NULL;
  size_t n = 0, len = 0;
  iw_error *err = NULL;
  char *out = NULL;

  (void)state;
  assert_int_equal (iw_pin_locate (&s, &n, in, strlen (in), "t.yaml", &err), 0);
  /* Values that are not safe plain are quoted, and read back intact. */
  assert_int_equal (iw_pin_apply (&out, &len, in, strlen (in), "t.yaml", s, bad, n, &err), 0);
  assert_string_equal (out, "kind: Pod\nspec:\n  containers:\n  - image: \"x/a:1 # now a comment\"\n");
  free (out);
  assert_int_equal (iw_pin_apply (&out, &len, in, strlen (in), "t.yaml", s, odd, n, &err), 0);
  assert_string_equal (out, "kind: Pod\nspec:\n  containers:\n  - image: \"it's \\\"odd\\\"\\u000a\"\n");
  free (out);
  /* A plain scalar right after an anchor gets a blank before its quote. */
  {
    const char *tight = "kind: Pod\nspec:\n  containers:\n  - image: &a:x\n";
    const char *v[] = { ":x y" };
    iw_pin_site *t = NULL;
    size_t tn = 0;

    assert_int_equal (iw_pin_locate (&t, &tn, tight, strlen (tight), "t.yaml", &err), 0);
    assert_int_equal (tn, 1);
    assert_string_equal (t[0].value, ":x");
    assert_int_equal (iw_pin_apply (&out, &len, tight, strlen (tight), "t.yaml", t, v, tn, &err), 0);
    assert_string_equal (out, "kind: Pod\nspec:\n  containers:\n  - image: &a \":x y\"\n");
    free (out);
    iw_pin_sites_free (t, tn);
  }
  /* C1 controls and U+FFFF are escaped; other UTF-8 stays as is. */
  {
    const char *v[] = { "a\xc2\x9e\xef\xbf\xbf\xc3\xa9'" };

    assert_int_equal (iw_pin_apply (&out, &len, in, strlen (in), "t.yaml", s, v, n, &err), 0);
    assert_string_equal (out, "kind: Pod\nspec:\n  containers:\n  - image: \"a\\u009e\\uffff\xc3\xa9'\"\n");
    free (out);
  }
  /* Sites of another text are refused. */
  s[0].end = 1000;
  assert_int_equal (iw_pin_apply (&out, &len, in, strlen (in), "t.yaml", s, bad, n, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  assert_null (out);
  iw_error_free (err);
  iw_pin_sites_free (s, n);
}

static char *
diff_of (const char *in)
{
  iw_pin_site *s = NULL;
  size_t n = 0;
  iw_error *err = NULL;
  char **values;
  char *out = NULL;

  assert_int_equal (iw_pin_locate (&s, &n, in, strlen (in), "m.yaml", &err), 0);
  values = iw_xcalloc (n ? n : 1, sizeof *values);
  for (size_t i = 0; i < n; i++)
    if (fake_digest (s[i].value))
      values[i] = iw_pin_pinned (s[i].value, fake_digest (s[i].value));
  assert_int_equal (iw_pin_diff (&out, in, strlen (in), "m.yaml", s, (const char *const *)values, n, &err),
                    0);
  for (size_t i = 0; i < n; i++)
    free (values[i]);
  free (values);
  iw_pin_sites_free (s, n);
  return out;
}

static void
test_pin__diff (void **state)
{
  /* Two changes far apart make two hunks; two close ones share one. */
  const char *in = "kind: Pod\n"              /* 1 */
                   "spec:\n"                  /* 2 */
                   "  containers:\n"          /* 3 */
                   "  - image: x/a:1\n"       /* 4 */
                   "  - image: x/b:2\n"       /* 5 */
                   "  - name: c\n"            /* 6 */
                   "  - name: d\n"            /* 7 */
                   "  - name: e\n"            /* 8 */
                   "  - name: f\n"            /* 9 */
                   "  - name: g\n"            /* 10 */
                   "  - name: h\n"            /* 11 */
                   "  - name: i\n"            /* 12 */
                   "  - image: nginx\n"       /* 13 */
                   "  - image: other:1\n"     /* 14 */
                   "  - image: busybox:1.36"; /* 15, no newline */
  const char *want = "--- a/m.yaml\n+++ b/m.yaml\n"
                     "@@ -1,8 +1,8 @@\n"
                     " kind: Pod\n spec:\n   containers:\n"
                     "-  - image: x/a:1\n-  - image: x/b:2\n"
                     "+  - image: x/a:1@" DA "\n+  - image: x/b:2@" DB "\n"
                     "   - name: c\n   - name: d\n   - name: e\n"
                     "@@ -10,6 +10,6 @@\n"
                     "   - name: g\n   - name: h\n   - name: i\n"
                     "-  - image: nginx\n+  - image: nginx@" DB "\n"
                     "   - image: other:1\n"
                     "-  - image: busybox:1.36\n\\ No newline at end of file\n"
                     "+  - image: busybox:1.36@" DB "\n\\ No newline at end of file\n";
  char *d = diff_of (in);

  (void)state;
  assert_string_equal (d, want);
  free (d);
  d = diff_of ("kind: Pod\nspec: {containers: [{image: other:1}]}\n");
  assert_string_equal (d, "");
  free (d);
}

static void
test_pin__diff_multiline_scalar (void **state)
{
  /* A double-quoted scalar folded over two lines becomes one line. */
  const char *in = "kind: Pod\nspec:\n  containers:\n  - image: \"x/a:\\\n      1\"\n  - name: z\n";
  const char *want = "--- a/m.yaml\n+++ b/m.yaml\n"
                     "@@ -1,6 +1,5 @@\n"
                     " kind: Pod\n spec:\n   containers:\n"
                     "-  - image: \"x/a:\\\n-      1\"\n"
                     "+  - image: \"x/a:1@" DA "\"\n"
                     "   - name: z\n";
  char *d = diff_of (in);

  (void)state;
  assert_string_equal (d, want);
  free (d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pin__rewrites),
    cmocka_unit_test (test_pin__errors),
    cmocka_unit_test (test_pin__sites_describe_where),
    cmocka_unit_test (test_pin__pinned_keeps_the_reference_as_written),
    cmocka_unit_test (test_pin__apply_verifies_round_trip),
    cmocka_unit_test (test_pin__diff),
    cmocka_unit_test (test_pin__diff_multiline_scalar),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
