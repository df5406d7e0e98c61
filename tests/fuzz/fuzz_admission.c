/*
 * fuzz_admission.c - AdmissionReview parsing and the decision.  The first
 * byte picks the endpoint (bit 0: mutate) and the policy (bit 1:
 * onRegistryError allow, bit 2: requireDigest); the rest is the body.  The
 * registry is a stand-in: domains starting with "down" fail, everything
 * else resolves to one digest.  A review that is answered must echo the
 * request's uid, deny with 403 and a message, and patch only with
 * "replace" operations whose value is pinned to a digest.
 */
#include "config/config.h"
#include "server/admission.h"
#include "util/base64.h"
#include "util/mem.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
stand_in (iw_resolution **out, const iw_ref *const *refs, size_t n, void *userdata, iw_error **err)
{
  iw_resolution *r = iw_xcalloc (n ? n : 1, sizeof *r);

  (void)userdata;
  (void)err;
  for (size_t i = 0; i < n; i++)
    if (strncmp (refs[i]->domain, "down", 4) == 0)
      {
        r[i].code = IW_ENET;
        r[i].message = iw_xstrdup ("connection refused");
      }
    else
      r[i].digest = iw_xstrdup (DIGEST);
  *out = r;
  return 0;
}

static iw_admission *
admission (unsigned variant)
{
  static iw_admission *a[4];
  static iw_config *cfg[4];

  if (a[variant] == NULL)
    {
      char *yaml = iw_xasprintf ("trustedRegistries: [reg.example, down.example, docker.io]\n"
                                 "exemptions: [{namespace: kube-system, checks: [moving-tag]}]\n"
                                 "admission: {onRegistryError: %s, requireDigest: %s}\n",
                                 variant & 1 ? "allow" : "deny", variant & 2 ? "true" : "false");
      iw_admission_options o = IW_ADMISSION_OPTIONS_INIT;

      if (iw_config_parse (&cfg[variant], yaml, strlen (yaml), "fuzz", NULL) < 0)
        abort ();
      free (yaml);
      o.config = cfg[variant];
      o.resolve = stand_in;
      if (iw_admission_new (&a[variant], &o, NULL) < 0)
        abort ();
    }
  return a[variant];
}

static void
check_patch (const char *b64)
{
  char *text = NULL;
  size_t len = 0;
  json_t *patch, *op;
  size_t i;

  if (iw_base64_decode (&text, &len, b64, strlen (b64)) < 0)
    abort ();
  patch = json_loadb (text, len, 0, NULL);
  if (!json_is_array (patch) || json_array_size (patch) == 0)
    abort ();
  json_array_foreach (patch, i, op)
  {
    const char *v = json_string_value (json_object_get (op, "value"));
    const char *at = v ? strrchr (v, '@') : NULL;

    if (strcmp (json_string_value (json_object_get (op, "op")), "replace") != 0 || at == NULL
        || strcmp (at + 1, DIGEST) != 0)
      abort ();
  }
  json_decref (patch);
  free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  iw_error *err = NULL;
  char *out = NULL;
  json_t *in, *doc, *resp;

  if (size == 0)
    return 0;
  if (iw_admission_review (&out, admission ((data[0] >> 1) & 3),
                           data[0] & 1 ? IW_ADMISSION_MUTATE : IW_ADMISSION_VALIDATE, (const char *)data + 1,
                           size - 1, &err)
      < 0)
    {
      if (err == NULL || out != NULL || iw_error_code (err) != IW_EPARSE)
        abort ();
      iw_error_free (err);
      return 0;
    }
  in = json_loadb ((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
  doc = json_loads (out, JSON_REJECT_DUPLICATES, NULL);
  resp = json_object_get (doc, "response");
  if (in == NULL || resp == NULL
      || strcmp (json_string_value (json_object_get (resp, "uid")),
                 json_string_value (json_object_get (json_object_get (in, "request"), "uid")))
             != 0)
    abort ();
  if (!json_is_true (json_object_get (resp, "allowed")))
    {
      json_t *status = json_object_get (resp, "status");
      const char *msg = json_string_value (json_object_get (status, "message"));

      if (json_integer_value (json_object_get (status, "code")) != 403 || msg == NULL || *msg == '\0'
          || json_object_get (resp, "patch") != NULL)
        abort ();
    }
  else if (json_object_get (resp, "patch"))
    check_patch (json_string_value (json_object_get (resp, "patch")));
  json_decref (in);
  json_decref (doc);
  free (out);
  return 0;
}
