/*
 * test_admission.c - AdmissionReview v1 in, the decision out: a table of
 * objects (Pods and every workload kind) under policies, with the exact
 * denial messages and JSONPatches; malformed reviews and their 400 errors;
 * the HTTP wrapper and its metric.  The registry is a table here (the e2e
 * test asks a real one).
 */
#include "config/config.h"
#include "server/admission.h"
#include "util/base64.h"
#include "util/mem.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define ID "sha256:3333333333333333333333333333333333333333333333333333333333333333"

#define TRUSTED "trustedRegistries: [reg.example, down.example, broken.example]\n"

/* The fake registry: reg.example/app:1 and :latest are D1, reg.example/
 * other:2 is D2, tag "missing" is absent, down.example does not answer. */
static size_t resolve_calls;

static int
fake_resolve (iw_resolution **out, const iw_ref *const *refs, size_t n, void *userdata, iw_error **err)
{
  iw_resolution *r = iw_xcalloc (n, sizeof *r);

  (void)userdata;
  resolve_calls++;
  for (size_t i = 0; i < n; i++)
    if (strcmp (refs[i]->domain, "broken.example") == 0)
      {
        free (r);
        return iw_error_set (err, IW_EINVAL, "the batch failed");
      }
  for (size_t i = 0; i < n; i++)
    {
      const char *tag = iw_ref_effective_tag (refs[i]);

      if (strcmp (refs[i]->domain, "down.example") == 0)
        {
          r[i].code = IW_ENET;
          r[i].message = iw_xstrdup ("connect to down.example: Connection refused");
        }
      else if (strcmp (tag, "missing") == 0)
        {
          r[i].code = IW_ENOTFOUND;
          r[i].message = iw_xstrdup ("manifest unknown");
        }
      else if (strcmp (refs[i]->path, "other") == 0)
        r[i].digest = iw_xstrdup (D2);
      else
        r[i].digest = iw_xstrdup (D1);
    }
  *out = r;
  return 0;
}

/* A review as the API server sends it; object is the object's JSON. */
static char *
review_text (const char *op, const char *group, const char *kind, const char *ns, const char *object,
             bool dry)
{
  return iw_xasprintf ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
                       "\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\","
                       "\"kind\":{\"group\":\"%s\",\"version\":\"v1\",\"kind\":\"%s\"},"
                       "\"resource\":{\"group\":\"%s\",\"version\":\"v1\",\"resource\":\"x\"},"
                       "\"namespace\":\"%s\",\"operation\":\"%s\",\"userInfo\":{\"username\":\"admin\"},"
                       "\"object\":%s,\"oldObject\":null,\"dryRun\":%s,\"options\":{}}}",
                       group, kind, group, ns, op, object, dry ? "true" : "false");
}

#define POD(spec) "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":" spec "}"
#define C1(image) "{\"containers\":[{\"name\":\"app\",\"image\":\"" image "\"}]}"
#define TEMPLATE(spec) "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":" spec "}}}"
#define REPLACE(path, value) "{\"op\":\"replace\",\"path\":\"" path "\",\"value\":\"" value "\"}"

typedef struct decision_case
{
  const char *what;
  const char *config;
  iw_admission_endpoint ep;
  const char *op;
  const char *group;
  const char *kind;
  const char *ns;
  const char *object;
  bool allowed;
  const char *message; /* the denial, exactly; NULL when allowed */
  const char *patch;   /* the JSONPatch; NULL for none */
  const char *warning; /* the only warning; NULL for none */
  bool asks_registry;
} decision_case;

static const decision_case cases[] = {
  { "pinned trusted image", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app:1@" D1)), true, NULL, NULL, NULL, false },
  { "fixed tag passes validate", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app:1.2")), true, NULL, NULL, NULL, false },
  { "moving tag", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app:latest")), false,
    "container \"app\" image \"reg.example/app:latest\": moving tag \"latest\" without a digest "
    "(denyMovingTags)",
    NULL, NULL, false },
  { "implicit latest", TRUSTED, IW_ADMISSION_VALIDATE, "UPDATE", "", "Pod", "default",
    POD (C1 ("reg.example/app")), false,
    "container \"app\" image \"reg.example/app\": moving tag \"latest\" (implicit) without a digest "
    "(denyMovingTags)",
    NULL, NULL, false },
  { "moving tags allowed by policy", TRUSTED "admission: {denyMovingTags: false}\n", IW_ADMISSION_VALIDATE,
    "CREATE", "", "Pod", "default", POD (C1 ("reg.example/app:latest")), true, NULL, NULL, NULL, false },
  { "untrusted registry", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("evil.example/app:1")), false,
    "container \"app\" image \"evil.example/app:1\": registry not trusted (denyUntrusted; trustedRegistries: "
    "reg.example, down.example, broken.example)",
    NULL, NULL, false },
  { "untrusted allowed by policy", TRUSTED "admission: {denyUntrusted: false}\n", IW_ADMISSION_VALIDATE,
    "CREATE", "", "Pod", "default", POD (C1 ("evil.example/app:1")), true, NULL, NULL, NULL, false },
  { "no trusted list: everything trusted", "", IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("evil.example/app:1")), true, NULL, NULL, NULL, false },
  { "bare image ID in an init container", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD ("{\"initContainers\":[{\"name\":\"init\",\"image\":\"" ID "\"}],\"containers\":[{\"name\":\"app\","
         "\"image\":\"reg.example/app:1\"}]}"),
    false,
    "init container \"init\" image \"" ID "\": a bare image ID names no registry or repository; use "
    "repository@digest (image-id-reference)",
    NULL, NULL, false },
  { "requireDigest", TRUSTED "admission: {requireDigest: true}\n", IW_ADMISSION_VALIDATE, "CREATE", "", "Pod",
    "default", POD (C1 ("reg.example/app:1.2")), false,
    "container \"app\" image \"reg.example/app:1.2\": not pinned to a digest (requireDigest)", NULL, NULL,
    false },
  { "exempt namespace", TRUSTED "exemptions: [{namespace: kube-system, checks: [moving-tag]}]\n",
    IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "kube-system", POD (C1 ("reg.example/app:latest")), true,
    NULL, NULL, NULL, false },
  { "exemption is for its namespace only",
    TRUSTED "exemptions: [{namespace: kube-system, checks: [moving-tag]}]\n", IW_ADMISSION_VALIDATE, "CREATE",
    "", "Pod", "default", POD (C1 ("reg.example/app:latest")), false,
    "container \"app\" image \"reg.example/app:latest\": moving tag \"latest\" without a digest "
    "(denyMovingTags)",
    NULL, NULL, false },
  { "every container is named, one line each", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "apps", "Deployment",
    "default",
    TEMPLATE ("{\"containers\":[{\"name\":\"a\",\"image\":\"evil.example/x:1\"},{\"name\":\"b\","
              "\"image\":\"reg.example/app:1\"},{\"name\":\"c\",\"image\":\"reg.example/app:edge\"}]}"),
    false,
    "container \"a\" image \"evil.example/x:1\": registry not trusted (denyUntrusted; trustedRegistries: "
    "reg.example, down.example, broken.example)\n"
    "container \"c\" image \"reg.example/app:edge\": moving tag \"edge\" without a digest (denyMovingTags)",
    NULL, NULL, false },
  { "a container without an image", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD ("{\"containers\":[{\"name\":\"app\"}]}"), false, "container \"app\": no image", NULL, NULL, false },
  { "an invalid reference", TRUSTED, IW_ADMISSION_VALIDATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/App:1")), false, NULL /* checked by prefix below */, NULL, NULL, false },
  { "mutate pins a Pod's tags", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default",
    POD ("{\"initContainers\":[{\"name\":\"init\",\"image\":\"reg.example/app\"}],\"containers\":[{\"name\":"
         "\"app\",\"image\":\"reg.example/app:1\"},{\"name\":\"side\",\"image\":\"reg.example/other:2\"},"
         "{\"name\":\"pinned\",\"image\":\"reg.example/app@" D2 "\"}]}"),
    true, NULL,
    "[" REPLACE ("/spec/initContainers/0/image", "reg.example/app:latest@" D1) "," REPLACE (
        "/spec/containers/0/image", "reg.example/app:1@" D1) "," REPLACE ("/spec/containers/1/image",
                                                                          "reg.example/other:2@" D2) "]",
    NULL, true },
  { "mutate a Deployment", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "apps", "Deployment", "default",
    TEMPLATE (C1 ("reg.example/app:1")), true, NULL,
    "[" REPLACE ("/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]", NULL, true },
  { "mutate a StatefulSet", TRUSTED, IW_ADMISSION_MUTATE, "UPDATE", "apps", "StatefulSet", "default",
    TEMPLATE (C1 ("reg.example/app:1")), true, NULL,
    "[" REPLACE ("/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]", NULL, true },
  { "mutate a DaemonSet", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "apps", "DaemonSet", "default",
    TEMPLATE (C1 ("reg.example/app:1")), true, NULL,
    "[" REPLACE ("/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]", NULL, true },
  { "mutate a ReplicaSet", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "apps", "ReplicaSet", "default",
    TEMPLATE (C1 ("reg.example/app:1")), true, NULL,
    "[" REPLACE ("/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]", NULL, true },
  { "mutate a Job", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "batch", "Job", "default",
    TEMPLATE (C1 ("reg.example/app:1")), true, NULL,
    "[" REPLACE ("/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]", NULL, true },
  { "mutate a CronJob", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "batch", "CronJob", "default",
    "{\"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":" C1 (
        "reg.example/app:1") "}}}}}",
    true, NULL,
    "[" REPLACE ("/spec/jobTemplate/spec/template/spec/containers/0/image", "reg.example/app:1@" D1) "]",
    NULL, true },
  { "mutate ephemeral containers", TRUSTED, IW_ADMISSION_MUTATE, "UPDATE", "", "Pod", "default",
    POD ("{\"containers\":[{\"name\":\"app\",\"image\":\"reg.example/app@" D1
         "\"}],\"ephemeralContainers\":[{"
         "\"name\":\"debug\",\"image\":\"reg.example/other:2\"}]}"),
    true, NULL, "[" REPLACE ("/spec/ephemeralContainers/0/image", "reg.example/other:2@" D2) "]", NULL,
    true },
  { "mutate: nothing to pin", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app@" D1)), true, NULL, NULL, NULL, false },
  { "mutate: moving tags are pinned, not denied", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod",
    "default", POD (C1 ("reg.example/app:latest")), true, NULL,
    "[" REPLACE ("/spec/containers/0/image", "reg.example/app:latest@" D1) "]", NULL, true },
  { "mutate: an untrusted registry is denied and never asked", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "",
    "Pod", "default",
    POD ("{\"containers\":[{\"name\":\"app\",\"image\":\"reg.example/app:1\"},{\"name\":\"x\",\"image\":"
         "\"evil.example/app:1\"}]}"),
    false,
    "container \"x\" image \"evil.example/app:1\": registry not trusted (denyUntrusted; trustedRegistries: "
    "reg.example, down.example, broken.example)",
    NULL, NULL, false },
  { "mutate: untrusted but allowed is left unpinned", TRUSTED "admission: {denyUntrusted: false}\n",
    IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default", POD (C1 ("evil.example/app:1")), true, NULL, NULL,
    NULL, false },
  { "mutate: a missing tag", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app:missing")), false,
    "container \"app\" image \"reg.example/app:missing\": tag \"missing\" not found in reg.example/app "
    "(tag-missing)",
    NULL, NULL, true },
  { "mutate: registry down, default deny", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default",
    POD (C1 ("down.example/app:1")), false,
    "container \"app\" image \"down.example/app:1\": the registry could not be asked: connect to "
    "down.example: "
    "Connection refused (onRegistryError: deny)",
    NULL, NULL, true },
  { "mutate: registry down, allow", TRUSTED "admission: {onRegistryError: allow}\n", IW_ADMISSION_MUTATE,
    "CREATE", "", "Pod", "default",
    POD ("{\"containers\":[{\"name\":\"app\",\"image\":\"down.example/app:1\"},{\"name\":\"b\",\"image\":"
         "\"reg.example/app:1\"}]}"),
    true, NULL, "[" REPLACE ("/spec/containers/1/image", "reg.example/app:1@" D1) "]",
    "container \"app\" image \"down.example/app:1\": admitted unpinned: the registry could not be asked: "
    "connect "
    "to down.example: Connection refused (onRegistryError: allow)",
    true },
  { "mutate: the registry client fails as a whole", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Pod",
    "default", POD (C1 ("broken.example/app:1")), false,
    "container \"app\" image \"broken.example/app:1\": the registry could not be asked: the batch failed "
    "(onRegistryError: deny)",
    NULL, NULL, true },
  { "mutate off", TRUSTED "admission: {mutate: false}\n", IW_ADMISSION_MUTATE, "CREATE", "", "Pod", "default",
    POD (C1 ("reg.example/app:1")), true, NULL, NULL, NULL, false },
  { "DELETE is allowed", TRUSTED, IW_ADMISSION_VALIDATE, "DELETE", "", "Pod", "default", "null", true, NULL,
    NULL, NULL, false },
  { "other kinds are allowed", TRUSTED, IW_ADMISSION_MUTATE, "CREATE", "", "Service", "default",
    "{\"spec\":{\"containers\":[{\"name\":\"x\",\"image\":\"evil.example/x\"}]}}", true, NULL, NULL, NULL,
    false },
  { "a Deployment kind in another group is not a Deployment", TRUSTED, IW_ADMISSION_MUTATE, "CREATE",
    "example.com", "Deployment", "default", TEMPLATE (C1 ("evil.example/x:1")), true, NULL, NULL, NULL,
    false },
};

static iw_admission *
make (const char *yaml, iw_config **cfg, iw_metrics *m)
{
  iw_admission_options o = IW_ADMISSION_OPTIONS_INIT;
  iw_admission *a = NULL;
  iw_error *err = NULL;

  assert_int_equal (iw_config_parse (cfg, yaml, strlen (yaml), "config.yaml", &err), 0);
  o.config = *cfg;
  o.metrics = m;
  o.resolve = fake_resolve;
  assert_int_equal (iw_admission_new (&a, &o, &err), 0);
  return a;
}

static char *
decode_patch (const char *b64)
{
  char *out = NULL;
  size_t len = 0;

  assert_int_equal (iw_base64_decode (&out, &len, b64, strlen (b64)), 0);
  assert_int_equal (strlen (out), len);
  return out;
}

/* Review body with the case's admission; check the response review. */
static json_t *
run_case (const decision_case *c, const char *body)
{
  iw_config *cfg = NULL;
  iw_admission *a = make (c->config, &cfg, NULL);
  iw_error *err = NULL;
  char *out = NULL;
  json_t *doc, *resp;
  json_error_t jerr;

  resolve_calls = 0;
  if (iw_admission_review (&out, a, c->ep, body, strlen (body), &err) < 0)
    fail_msg ("%s: %s", c->what, iw_error_msg (err));
  doc = json_loads (out, JSON_REJECT_DUPLICATES, &jerr);
  assert_non_null (doc);
  assert_string_equal (json_string_value (json_object_get (doc, "apiVersion")), "admission.k8s.io/v1");
  assert_string_equal (json_string_value (json_object_get (doc, "kind")), "AdmissionReview");
  resp = json_object_get (doc, "response");
  assert_string_equal (json_string_value (json_object_get (resp, "uid")),
                       "705ab4f5-6393-11e8-b7cc-42010a800002");
  if (json_is_true (json_object_get (resp, "allowed")) != c->allowed)
    fail_msg ("%s: allowed should be %d: %s", c->what, c->allowed, out);
  if (c->asks_registry != (resolve_calls == 1))
    fail_msg ("%s: the registry was asked %zu times", c->what, resolve_calls);
  free (out);
  iw_admission_free (a);
  iw_config_free (cfg);
  return doc;
}

static void
test_admission__decisions (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      const decision_case *c = &cases[i];
      char *body = review_text (c->op, c->group, c->kind, c->ns, c->object, false);
      json_t *doc = run_case (c, body), *resp = json_object_get (doc, "response");
      json_t *status = json_object_get (resp, "status"), *patch = json_object_get (resp, "patch");
      json_t *warnings = json_object_get (resp, "warnings");

      if (!c->allowed)
        {
          const char *msg = json_string_value (json_object_get (status, "message"));

          assert_int_equal (json_integer_value (json_object_get (status, "code")), 403);
          assert_non_null (msg);
          if (c->message
                  ? strcmp (msg, c->message) != 0
                  : strncmp (
                        msg,
                        "container \"app\" image \"reg.example/App:1\": not a valid image reference: ", 72)
                        != 0)
            fail_msg ("%s:\nexpected: %s\n     got: %s", c->what, c->message, msg);
          assert_null (patch);
        }
      else
        assert_null (status);
      if (c->patch)
        {
          char *text;
          json_t *got, *want;

          assert_string_equal (json_string_value (json_object_get (resp, "patchType")), "JSONPatch");
          text = decode_patch (json_string_value (patch));
          got = json_loads (text, JSON_REJECT_DUPLICATES, NULL);
          want = json_loads (c->patch, JSON_REJECT_DUPLICATES, NULL);
          assert_non_null (want);
          if (!json_equal (got, want))
            fail_msg ("%s:\nexpected patch: %s\n     got patch: %s", c->what, c->patch, text);
          json_decref (got);
          json_decref (want);
          free (text);
        }
      else
        {
          assert_null (patch);
          assert_null (json_object_get (resp, "patchType"));
        }
      if (c->warning)
        {
          assert_int_equal (json_array_size (warnings), 1);
          assert_string_equal (json_string_value (json_array_get (warnings, 0)), c->warning);
        }
      else
        assert_null (warnings);
      json_decref (doc);
      free (body);
    }
}

static const decision_case *
find_case (const char *what)
{
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (strcmp (cases[i].what, what) == 0)
      return &cases[i];
  fail_msg ("no case %s", what);
  return NULL;
}

/* A dry run gets exactly the answer a real request gets. */
static void
test_admission__dry_run_answers_the_same (void **state)
{
  const decision_case *pick[] = { find_case ("moving tag"), find_case ("mutate pins a Pod's tags"),
                                  find_case ("mutate: registry down, default deny") };

  (void)state;
  for (size_t i = 0; i < sizeof pick / sizeof pick[0]; i++)
    {
      char *wet
          = review_text (pick[i]->op, pick[i]->group, pick[i]->kind, pick[i]->ns, pick[i]->object, false);
      char *dry
          = review_text (pick[i]->op, pick[i]->group, pick[i]->kind, pick[i]->ns, pick[i]->object, true);
      json_t *a = run_case (pick[i], wet), *b = run_case (pick[i], dry);

      assert_true (json_equal (a, b));
      json_decref (a);
      json_decref (b);
      free (wet);
      free (dry);
    }
}

typedef struct bad_case
{
  const char *body;
  const char *msg;
} bad_case;

#define HEAD "\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\""
#define REQ(rest) "{" HEAD ",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"," rest "}}"
#define PODKIND "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}"

static const bad_case bad[] = {
  { "", "body is not JSON: '[' or '{' expected near end of file (line 1, column 0)" },
  { "{\"apiVersion\":", "body is not JSON: unexpected token near end of file (line 1, column 14)" },
  { "[]", "expected an AdmissionReview object" },
  { "{\"kind\":\"AdmissionReview\"}", "AdmissionReview.apiVersion: missing" },
  { "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}",
    "apiVersion: expected \"admission.k8s.io/v1\", got \"admission.k8s.io/v1beta1\" (list only v1 in "
    "admissionReviewVersions)" },
  { "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}",
    "kind: expected \"AdmissionReview\", got \"Pod\"" },
  { "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":7}", "AdmissionReview.kind: expected a string" },
  { "{" HEAD "}", "request: missing" },
  { "{" HEAD ",\"request\":[]}", "request: expected an object" },
  { "{" HEAD ",\"request\":{\"operation\":\"CREATE\"}}", "request.uid: missing" },
  { "{" HEAD ",\"request\":{\"uid\":\"\",\"operation\":\"CREATE\"}}",
    "request.uid: expected a non-empty string" },
  { "{" HEAD ",\"request\":{\"uid\":\"u\",\"operation\":\"PATCH\"}}",
    "request.operation: expected CREATE, UPDATE, DELETE or CONNECT, got \"PATCH\"" },
  { REQ ("\"object\":{}"), "request.kind: missing" },
  { REQ ("\"kind\":{\"group\":\"\"}"), "request.kind.kind: missing" },
  { REQ (PODKIND ",\"dryRun\":\"yes\""), "request.dryRun: expected true or false" },
  { REQ (PODKIND), "request.object: missing" },
  { REQ (PODKIND ",\"object\":[]"), "request.object: expected an object" },
  { REQ (PODKIND ",\"object\":{}"), "request.object.spec: missing" },
  { REQ (PODKIND ",\"object\":{\"spec\":{\"containers\":{}}}"),
    "request.object.spec.containers: expected a list" },
  { REQ (PODKIND ",\"object\":{\"spec\":{\"containers\":[7]}}"),
    "request.object.spec.containers[0]: expected an object" },
  { REQ (PODKIND ",\"object\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":1}]}}"),
    "request.object.spec.containers[0].image: expected a string" },
  { REQ ("\"kind\":{\"group\":\"apps\",\"kind\":\"Deployment\"},\"object\":{\"spec\":{}}"),
    "request.object.spec.template: missing" },
  { REQ ("\"kind\":{\"group\":\"batch\",\"kind\":\"CronJob\"},\"object\":{\"spec\":{\"jobTemplate\":{"
         "\"spec\":{"
         "\"template\":7}}}}"),
    "request.object.spec.jobTemplate.spec.template: expected an object" },
  { "{" HEAD ",\"request\":{\"uid\":\"u\",\"uid\":\"v\"}}",
    "body is not JSON: duplicate object key near '\"uid\"' (line 1, column 87)" },
};

static void
test_admission__malformed_reviews (void **state)
{
  iw_config *cfg = NULL;
  iw_admission *a = make (TRUSTED, &cfg, NULL);

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      iw_error *err = NULL;
      char *out = (char *)0x1;

      if (iw_admission_review (&out, a, IW_ADMISSION_MUTATE, bad[i].body, strlen (bad[i].body), &err) == 0)
        fail_msg ("accepted: %s", bad[i].body);
      assert_null (out);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      if (strcmp (iw_error_msg (err), bad[i].msg) != 0)
        fail_msg ("for %s\nexpected: %s\n     got: %s", bad[i].body, bad[i].msg, iw_error_msg (err));
      iw_error_free (err);
    }
  iw_admission_free (a);
  iw_config_free (cfg);
}

typedef struct http_case
{
  const char *endpoint;
  const char *method;
  const char *body;
  bool too_big;
  unsigned status;
  const char *labels;
} http_case;

static void
test_admission__http_and_metrics (void **state)
{
  static const char pod[] = "{" HEAD ",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"," PODKIND
                            ",\"namespace\":\"d\",\"object\":" POD (C1 ("reg.example/app:1")) "}}";
  static const char latest[] = "{" HEAD ",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"," PODKIND
                               ",\"namespace\":\"d\",\"object\":" POD (C1 ("reg.example/app")) "}}";
  const http_case hc[] = {
    { "validate", "POST", pod, false, 200, "endpoint=\"validate\",result=\"allowed\"" },
    { "validate", "POST", latest, false, 200, "endpoint=\"validate\",result=\"denied\"" },
    { "mutate", "POST", pod, false, 200, "endpoint=\"mutate\",result=\"patched\"" },
    { "mutate", "POST", "{", false, 400, "endpoint=\"mutate\",result=\"malformed\"" },
    { "mutate", "POST", "", true, 413, "endpoint=\"mutate\",result=\"too_big\"" },
    { "validate", "GET", "", false, 405, "endpoint=\"validate\",result=\"bad_method\"" },
    { "nope", "POST", pod, false, 404, "endpoint=\"other\",result=\"not_found\"" },
  };
  iw_metrics *m = iw_metrics_new ();
  iw_config *cfg = NULL;
  iw_admission *a = make (TRUSTED, &cfg, m);

  (void)state;
  for (size_t i = 0; i < sizeof hc / sizeof hc[0]; i++)
    {
      char *out = NULL;
      unsigned status = 0;
      json_t *doc;

      iw_admission_http (&out, &status, a, hc[i].endpoint, hc[i].method, hc[i].body, strlen (hc[i].body),
                         hc[i].too_big);
      assert_int_equal (status, hc[i].status);
      doc = json_loads (out, 0, NULL);
      assert_non_null (doc);
      if (status == 200)
        assert_non_null (json_object_get (doc, "response"));
      else
        assert_non_null (json_string_value (json_object_get (doc, "error")));
      assert_true (iw_metrics_get (m, "imgwatch_admission_requests_total", hc[i].labels) == 1.0);
      json_decref (doc);
      free (out);
    }
  iw_admission_free (a);
  iw_config_free (cfg);
  iw_metrics_free (m);
}

/* Without a resolver the admission makes its own registry client. */
static void
test_admission__own_registry_client (void **state)
{
  iw_admission_options o = IW_ADMISSION_OPTIONS_INIT;
  iw_admission *a = NULL;
  iw_error *err = NULL;
  char *out = NULL;
  const char body[]
      = "{" HEAD ",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"," PODKIND
        ",\"object\":" POD (C1 ("sha256:"
                                "3333333333333333333333333333333333333333333333333333333333333333")) "}}";

  (void)state;
  assert_int_equal (iw_admission_new (&a, &o, &err), 0);
  assert_int_equal (iw_admission_review (&out, a, IW_ADMISSION_VALIDATE, body, strlen (body), &err), 0);
  assert_non_null (strstr (out, "\"allowed\":false"));
  free (out);
  iw_admission_free (a);
  iw_admission_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_admission__decisions),
    cmocka_unit_test (test_admission__dry_run_answers_the_same),
    cmocka_unit_test (test_admission__malformed_reviews),
    cmocka_unit_test (test_admission__http_and_metrics),
    cmocka_unit_test (test_admission__own_registry_client),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
