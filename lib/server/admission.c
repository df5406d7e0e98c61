/*
 * admission.c - AdmissionReview v1 in, a decision (and for mutate a
 * JSONPatch pinning tags to registry digests) out; see admission.h.
 */
#include "server/admission.h"
#include "util/log.h"
#include "util/mem.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_VERSION "admission.k8s.io/v1"
#define DEFAULT_TIMEOUT_MS 3000L

struct iw_admission
{
  const iw_config *cfg;
  iw_config *own_cfg; /* when none was given */
  iw_metrics *metrics;
  iw_admission_resolve_fn resolve;
  void *userdata;
  iw_registry *reg;
  pthread_mutex_t lock; /* one registry request batch at a time */
};

/* What a review came to, for the metric. */
typedef enum outcome
{
  OUT_ALLOWED = 0,
  OUT_DENIED,
  OUT_PATCHED,
} outcome;

static const char *const outcome_names[] = { "allowed", "denied", "patched" };

/* Where the pod spec is in each kind of object. */
typedef struct kind_spec
{
  const char *group;
  const char *kind;
  const char *path[5]; /* keys from the object to the pod spec, NULL-terminated */
} kind_spec;

static const kind_spec kinds[] = {
  { "", "Pod", { "spec", NULL } },
  { "apps", "Deployment", { "spec", "template", "spec", NULL } },
  { "apps", "StatefulSet", { "spec", "template", "spec", NULL } },
  { "apps", "DaemonSet", { "spec", "template", "spec", NULL } },
  { "apps", "ReplicaSet", { "spec", "template", "spec", NULL } },
  { "batch", "Job", { "spec", "template", "spec", NULL } },
  { "batch", "CronJob", { "spec", "jobTemplate", "spec", "template", "spec" } },
};

static const struct
{
  const char *key;
  const char *what;
} lists[] = {
  { "initContainers", "init container" },
  { "containers", "container" },
  { "ephemeralContainers", "ephemeral container" },
};

/* One container image still to resolve (mutate). */
typedef struct pending
{
  const char *what;  /* "container" */
  const char *name;  /* borrowed from the request */
  const char *image; /* borrowed from the request */
  char *pointer;     /* JSON pointer of the image field */
  iw_ref *ref;
} pending;

typedef struct review
{
  iw_admission *a;
  iw_admission_endpoint ep;
  const char *ns; /* borrowed, may be NULL */
  json_t *denials;
  json_t *warnings;
  json_t *patch;
  pending *todo;
  size_t n_todo;
} review;

/* ---- setup ---- */

static int
registry_resolve (iw_resolution **out, const iw_ref *const *refs, size_t n, void *userdata, iw_error **err)
{
  iw_admission *a = userdata;
  int r;

  pthread_mutex_lock (&a->lock);
  r = iw_registry_resolve_many (out, a->reg, refs, n, 0, err);
  pthread_mutex_unlock (&a->lock);
  return r;
}

int
iw_admission_new (iw_admission **out, const iw_admission_options *opts, iw_error **err)
{
  iw_admission *a = iw_xcalloc (1, sizeof *a);
  int r = -1;

  *out = NULL;
  pthread_mutex_init (&a->lock, NULL);
  a->cfg = opts->config;
  if (a->cfg == NULL)
    a->cfg = a->own_cfg = iw_config_new_default ();
  a->metrics = opts->metrics;
  a->resolve = opts->resolve;
  a->userdata = opts->userdata;
  if (a->resolve == NULL)
    {
      iw_registry_options ro = IW_REGISTRY_OPTIONS_INIT;

      ro.request_timeout_ms = opts->registry_timeout_ms > 0 ? opts->registry_timeout_ms : DEFAULT_TIMEOUT_MS;
      ro.connect_timeout_ms = ro.request_timeout_ms;
      ro.max_retries = 1;
      ro.retry_base_ms = 100;
      ro.retry_after_max_ms = 1000;
      if (iw_registry_new (&a->reg, a->cfg, &ro, err) < 0)
        {
          iw_error_wrap (err, "admission");
          goto done;
        }
      a->resolve = registry_resolve;
      a->userdata = a;
    }
  if (a->metrics)
    iw_metrics_declare (a->metrics, "imgwatch_admission_requests_total", IW_METRIC_COUNTER,
                        "Admission reviews, by endpoint (validate, mutate) and result (allowed, denied, "
                        "patched, malformed, too_big, not_found, bad_method).",
                        NULL, 0);
  *out = iw_steal (&a);
  r = 0;
done:
  iw_admission_free (a);
  return r;
}

void
iw_admission_free (iw_admission *a)
{
  if (a == NULL)
    return;
  iw_registry_free (a->reg);
  iw_config_free (a->own_cfg);
  pthread_mutex_destroy (&a->lock);
  free (a);
}

/* ---- the policy ---- */

static void deny (review *rv, const char *what, const char *name, const char *image, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

/* One line of the denial: 'container "app" image "x:1": <reason>'. */
static void
deny (review *rv, const char *what, const char *name, const char *image, const char *fmt, ...)
{
  va_list ap;
  char *reason, *line;

  va_start (ap, fmt);
  reason = iw_xvasprintf (fmt, ap);
  va_end (ap);
  if (image)
    line = iw_xasprintf ("%s \"%s\" image \"%s\": %s", what, name, image, reason);
  else
    line = iw_xasprintf ("%s \"%s\": %s", what, name, reason);
  json_array_append_new (rv->denials, json_string (line));
  free (reason);
  free (line);
}

static bool
exempt (const review *rv, const char *name, const char *check)
{
  return iw_config_is_exempt (rv->a->cfg, rv->ns, name, check);
}

/* "a, b, c" of the trusted patterns. */
static char *
trusted_list (const iw_config *c)
{
  iw_buf b = IW_BUF_INIT (16 * IW_KIB);

  for (size_t i = 0; c->trusted && c->trusted[i]; i++)
    if (iw_buf_printf (&b, NULL, "%s%s", i ? ", " : "", c->trusted[i]) < 0)
      {
        iw_buf_appends (&b, ", ...", NULL);
        break;
      }
  return iw_buf_take (&b);
}

/* Judge one container image; queue it for resolution when mutate pins it. */
static void
judge (review *rv, const char *what, const char *name, const char *image, const char *pointer)
{
  const iw_admission_policy *pol = &rv->a->cfg->admission;
  iw_ref *ref = NULL;
  iw_error *err = NULL;
  char *rname = NULL;
  const char *tag;

  if (image == NULL || *image == '\0')
    {
      deny (rv, what, name, NULL, "no image");
      return;
    }
  if (iw_ref_is_image_id (image))
    {
      if (!exempt (rv, NULL, "image-id-reference"))
        deny (rv, what, name, image,
              "a bare image ID names no registry or repository; use repository@digest (image-id-reference)");
      return;
    }
  if (iw_ref_parse (&ref, image, &err) < 0)
    {
      deny (rv, what, name, image, "not a valid image reference: %s", iw_error_msg (err));
      iw_error_free (err);
      return;
    }
  rname = iw_ref_name (ref);
  if (!iw_config_is_trusted (rv->a->cfg, rname))
    {
      /* Never ask an untrusted registry, whatever the policy says. */
      if (pol->deny_untrusted && !exempt (rv, rname, "untrusted-registry"))
        {
          char *list = trusted_list (rv->a->cfg);

          deny (rv, what, name, image, "registry not trusted (denyUntrusted; trustedRegistries: %s)", list);
          free (list);
        }
      goto done;
    }
  if (ref->digest)
    goto done; /* pinned */
  tag = iw_ref_effective_tag (ref);
  if (rv->ep == IW_ADMISSION_VALIDATE)
    {
      if (pol->require_digest && !exempt (rv, rname, "moving-tag"))
        deny (rv, what, name, image, "not pinned to a digest (requireDigest)");
      else if (pol->deny_moving_tags && iw_config_is_moving_tag (rv->a->cfg, tag)
               && !exempt (rv, rname, "moving-tag"))
        deny (rv, what, name, image, "moving tag \"%s\"%s without a digest (denyMovingTags)", tag,
              iw_ref_is_implicit_latest (ref) ? " (implicit)" : "");
      goto done;
    }
  if (pol->mutate)
    {
      pending *p;

      rv->todo = iw_xreallocarray (rv->todo, rv->n_todo + 1, sizeof *rv->todo);
      p = &rv->todo[rv->n_todo++];
      p->what = what;
      p->name = name;
      p->image = image;
      p->pointer = iw_xstrdup (pointer);
      p->ref = iw_steal (&ref);
    }
done:
  free (rname);
  iw_ref_free (ref);
}

/* Ask the registry for every queued tag and patch or deny. */
static void
pin (review *rv)
{
  const iw_admission_policy *pol = &rv->a->cfg->admission;
  const iw_ref **refs;
  iw_resolution *res = NULL;
  iw_error *err = NULL;

  if (rv->n_todo == 0)
    return;
  refs = iw_xcalloc (rv->n_todo, sizeof *refs);
  for (size_t i = 0; i < rv->n_todo; i++)
    refs[i] = rv->todo[i].ref;
  if (rv->a->resolve (&res, refs, rv->n_todo, rv->a->userdata, &err) < 0)
    {
      res = NULL;
      if (err == NULL)
        iw_error_set (&err, IW_EIO, "the registry client failed");
    }
  for (size_t i = 0; i < rv->n_todo; i++)
    {
      const pending *p = &rv->todo[i];
      iw_code code = res ? res[i].code : iw_error_code (err);
      const char *msg = res ? res[i].message : iw_error_msg (err);
      char *rname;

      if (code == IW_OK && (res[i].digest == NULL || iw_digest_validate (res[i].digest, NULL) < 0))
        {
          code = IW_EPARSE;
          msg = "the registry gave no valid digest";
        }
      if (code == IW_OK)
        {
          char *pinned = iw_xasprintf ("%s%s@%s", p->image, p->ref->tag ? "" : ":latest", res[i].digest);

          json_array_append_new (
              rv->patch, json_pack ("{s:s, s:s, s:s}", "op", "replace", "path", p->pointer, "value", pinned));
          iw_log_debug ("admission mutate: %s \"%s\": %s -> %s", p->what, p->name, p->image, pinned);
          free (pinned);
          continue;
        }
      rname = iw_ref_name (p->ref);
      if (code == IW_ENOTFOUND)
        {
          if (!exempt (rv, rname, "tag-missing"))
            deny (rv, p->what, p->name, p->image, "tag \"%s\" not found in %s (tag-missing)",
                  iw_ref_effective_tag (p->ref), rname);
        }
      else if (!pol->allow_on_registry_error && !exempt (rv, rname, "moving-tag"))
        deny (rv, p->what, p->name, p->image, "the registry could not be asked: %s (onRegistryError: deny)",
              msg ? msg : iw_code_name (code));
      else
        {
          char *w
              = iw_xasprintf ("%s \"%s\" image \"%s\": admitted unpinned: the registry could not be asked: "
                              "%s (onRegistryError: allow)",
                              p->what, p->name, p->image, msg ? msg : iw_code_name (code));

          json_array_append_new (rv->warnings, json_string (w));
          free (w);
        }
      free (rname);
    }
  iw_resolutions_free (res, rv->n_todo);
  iw_error_free (err);
  free (refs);
}

/* ---- parsing the review ---- */

static int
get_string (const char **out, json_t *obj, const char *key, const char *path, bool required, iw_error **err)
{
  json_t *v = json_object_get (obj, key);

  *out = NULL;
  if (v == NULL || json_is_null (v))
    {
      if (required)
        return iw_error_set (err, IW_EPARSE, "%s.%s: missing", path, key);
      return 0;
    }
  if (!json_is_string (v))
    return iw_error_set (err, IW_EPARSE, "%s.%s: expected a string", path, key);
  *out = json_string_value (v);
  if (required && **out == '\0')
    return iw_error_set (err, IW_EPARSE, "%s.%s: expected a non-empty string", path, key);
  return 0;
}

/* The containers of a pod spec (at pointer, named path in messages). */
static int
walk_spec (review *rv, json_t *spec, const char *pointer, const char *path, iw_error **err)
{
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
    {
      json_t *arr = json_object_get (spec, lists[l].key), *c;
      size_t i;

      if (arr == NULL || json_is_null (arr))
        continue;
      if (!json_is_array (arr))
        return iw_error_set (err, IW_EPARSE, "%s.%s: expected a list", path, lists[l].key);
      json_array_foreach (arr, i, c)
      {
        char *cpath = iw_xasprintf ("%s.%s[%zu]", path, lists[l].key, i);
        char *ptr = iw_xasprintf ("%s/%s/%zu/image", pointer, lists[l].key, i);
        char idx[32];
        const char *name = NULL, *image = NULL;
        int r = 0;

        if (!json_is_object (c))
          r = iw_error_set (err, IW_EPARSE, "%s: expected an object", cpath);
        else if (get_string (&name, c, "name", cpath, false, err) < 0
                 || get_string (&image, c, "image", cpath, false, err) < 0)
          r = -1;
        if (r == 0)
          {
            snprintf (idx, sizeof idx, "#%zu", i);
            judge (rv, lists[l].what, name && *name ? name : idx, image, ptr);
          }
        free (cpath);
        free (ptr);
        if (r < 0)
          return -1;
      }
    }
  return 0;
}

static json_t *
respond (const char *uid, const review *rv, outcome *oc)
{
  json_t *resp = json_pack ("{s:s}", "uid", uid), *doc;

  if (json_array_size (rv->denials))
    {
      iw_buf b = IW_BUF_INIT (IW_ADMISSION_BODY_MAX);
      json_t *line;
      size_t i;

      json_array_foreach (rv->denials, i, line)
      {
        if (i)
          iw_buf_appendc (&b, '\n', NULL);
        iw_buf_appends (&b, json_string_value (line), NULL);
      }
      json_object_set_new (resp, "allowed", json_false ());
      json_object_set_new (resp, "status",
                           json_pack ("{s:I, s:s, s:s}", "code", (json_int_t)403, "reason", "Forbidden",
                                      "message", iw_buf_cstr (&b)));
      iw_buf_free (&b);
      *oc = OUT_DENIED;
    }
  else
    {
      json_object_set_new (resp, "allowed", json_true ());
      *oc = OUT_ALLOWED;
      if (json_array_size (rv->patch))
        {
          char *text = json_dumps (rv->patch, JSON_COMPACT);
          size_t n = strlen (text);
          char *b64 = iw_xmalloc (4 * ((n + 2) / 3) + 1);

          EVP_EncodeBlock ((unsigned char *)b64, (const unsigned char *)text, (int)n);
          json_object_set_new (resp, "patchType", json_string ("JSONPatch"));
          json_object_set_new (resp, "patch", json_string (b64));
          free (b64);
          free (text);
          *oc = OUT_PATCHED;
        }
    }
  if (json_array_size (rv->warnings))
    json_object_set (resp, "warnings", rv->warnings);
  doc = json_pack ("{s:s, s:s, s:o}", "apiVersion", API_VERSION, "kind", "AdmissionReview", "response", resp);
  return doc;
}

static int
review_body (char **out, outcome *oc, iw_admission *a, iw_admission_endpoint ep, const char *body, size_t len,
             iw_error **err)
{
  json_error_t jerr;
  json_t *doc = NULL, *req, *kind, *obj, *spec, *dry, *resp = NULL;
  const char *s, *uid, *op, *group = NULL, *kname = NULL;
  const kind_spec *ks = NULL;
  review rv = { a, ep, NULL, json_array (), json_array (), json_array (), NULL, 0 };
  char pointer[128] = "", path[160] = "request.object";
  int r = -1;

  *out = NULL;
  doc = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    {
      iw_error_set (err, IW_EPARSE, "body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                    jerr.column);
      goto done;
    }
  if (!json_is_object (doc))
    {
      iw_error_set (err, IW_EPARSE, "expected an AdmissionReview object");
      goto done;
    }
  if (get_string (&s, doc, "apiVersion", "AdmissionReview", true, err) < 0)
    goto done;
  if (strcmp (s, API_VERSION) != 0)
    {
      iw_error_set (err, IW_EPARSE,
                    "apiVersion: expected \"%s\", got \"%.64s\" (list only v1 in "
                    "admissionReviewVersions)",
                    API_VERSION, s);
      goto done;
    }
  if (get_string (&s, doc, "kind", "AdmissionReview", true, err) < 0)
    goto done;
  if (strcmp (s, "AdmissionReview") != 0)
    {
      iw_error_set (err, IW_EPARSE, "kind: expected \"AdmissionReview\", got \"%.64s\"", s);
      goto done;
    }
  req = json_object_get (doc, "request");
  if (!json_is_object (req))
    {
      iw_error_set (err, IW_EPARSE, "request: %s", req ? "expected an object" : "missing");
      goto done;
    }
  if (get_string (&uid, req, "uid", "request", true, err) < 0
      || get_string (&op, req, "operation", "request", true, err) < 0
      || get_string (&rv.ns, req, "namespace", "request", false, err) < 0)
    goto done;
  if (strcmp (op, "CREATE") != 0 && strcmp (op, "UPDATE") != 0 && strcmp (op, "DELETE") != 0
      && strcmp (op, "CONNECT") != 0)
    {
      iw_error_set (err, IW_EPARSE,
                    "request.operation: expected CREATE, UPDATE, DELETE or CONNECT, got \"%.64s\"", op);
      goto done;
    }
  kind = json_object_get (req, "kind");
  if (!json_is_object (kind))
    {
      iw_error_set (err, IW_EPARSE, "request.kind: %s", kind ? "expected an object" : "missing");
      goto done;
    }
  if (get_string (&group, kind, "group", "request.kind", false, err) < 0
      || get_string (&kname, kind, "kind", "request.kind", true, err) < 0)
    goto done;
  dry = json_object_get (req, "dryRun");
  if (dry && !json_is_boolean (dry) && !json_is_null (dry))
    {
      iw_error_set (err, IW_EPARSE, "request.dryRun: expected true or false");
      goto done;
    }
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp (kinds[i].kind, kname) == 0 && strcmp (kinds[i].group, group ? group : "") == 0)
      ks = &kinds[i];
  obj = json_object_get (req, "object");
  if (ks && (strcmp (op, "CREATE") == 0 || strcmp (op, "UPDATE") == 0))
    {
      if (!json_is_object (obj))
        {
          iw_error_set (err, IW_EPARSE, "request.object: %s", obj ? "expected an object" : "missing");
          goto done;
        }
      if (rv.ns == NULL)
        get_string (&rv.ns, json_object_get (obj, "metadata"), "namespace", "request.object.metadata", false,
                    NULL);
      spec = obj;
      for (size_t k = 0; k < 5 && ks->path[k]; k++)
        {
          size_t pl = strlen (path), ql = strlen (pointer);

          snprintf (path + pl, sizeof path - pl, ".%s", ks->path[k]);
          snprintf (pointer + ql, sizeof pointer - ql, "/%s", ks->path[k]);
          spec = json_object_get (spec, ks->path[k]);
          if (!json_is_object (spec))
            {
              iw_error_set (err, IW_EPARSE, "%s: %s", path, spec ? "expected an object" : "missing");
              goto done;
            }
        }
      if (walk_spec (&rv, spec, pointer, path, err) < 0)
        goto done;
      if (json_array_size (rv.denials) == 0)
        pin (&rv);
    }
  resp = respond (uid, &rv, oc);
  *out = json_dumps (resp, JSON_COMPACT);
  if (*oc == OUT_DENIED)
    {
      const char *name = json_string_value (json_object_get (req, "name"));

      iw_log_info ("admission %s: denied %s %s/%s: %s", ep == IW_ADMISSION_MUTATE ? "mutate" : "validate",
                   kname, rv.ns ? rv.ns : "-", name ? name : "-",
                   json_string_value (json_array_get (rv.denials, 0)));
    }
  r = 0;
done:
  for (size_t i = 0; i < rv.n_todo; i++)
    {
      free (rv.todo[i].pointer);
      iw_ref_free (rv.todo[i].ref);
    }
  free (rv.todo);
  json_decref (rv.denials);
  json_decref (rv.warnings);
  json_decref (rv.patch);
  json_decref (resp);
  json_decref (doc);
  return r;
}

int
iw_admission_review (char **out, iw_admission *a, iw_admission_endpoint ep, const char *body, size_t len,
                     iw_error **err)
{
  outcome oc;

  return review_body (out, &oc, a, ep, body, len, err);
}

/* ---- HTTP ---- */

static char *
error_json (const char *msg)
{
  json_t *doc = json_pack ("{s:s}", "error", msg);
  char *text = json_dumps (doc, JSON_COMPACT);

  json_decref (doc);
  return text;
}

static void
count (iw_admission *a, const char *endpoint, const char *result)
{
  char *e, *r, *labels;

  if (a->metrics == NULL)
    return;
  e = iw_metrics_label ("endpoint", endpoint);
  r = iw_metrics_label ("result", result);
  labels = iw_xasprintf ("%s,%s", e, r);
  iw_metrics_add (a->metrics, "imgwatch_admission_requests_total", labels, 1);
  free (e);
  free (r);
  free (labels);
}

void
iw_admission_http (char **out, unsigned *status, iw_admission *a, const char *endpoint, const char *method,
                   const char *body, size_t len, bool too_big)
{
  iw_admission_endpoint ep;
  iw_error *err = NULL;
  outcome oc = OUT_ALLOWED;

  if (strcmp (endpoint, "validate") == 0)
    ep = IW_ADMISSION_VALIDATE;
  else if (strcmp (endpoint, "mutate") == 0)
    ep = IW_ADMISSION_MUTATE;
  else
    {
      count (a, "other", "not_found");
      *status = 404;
      *out = error_json ("no such admission endpoint: use /admission/validate or /admission/mutate");
      return;
    }
  if (strcmp (method, "POST") != 0)
    {
      count (a, endpoint, "bad_method");
      *status = 405;
      *out = error_json ("use POST with an AdmissionReview");
      return;
    }
  if (too_big)
    {
      count (a, endpoint, "too_big");
      *status = 413;
      *out = error_json ("AdmissionReview larger than 3 MiB");
      return;
    }
  if (review_body (out, &oc, a, ep, body, len, &err) < 0)
    {
      iw_log_warn ("admission %s: %s", endpoint, iw_error_msg (err));
      count (a, endpoint, "malformed");
      *status = 400;
      *out = error_json (iw_error_msg (err));
      iw_error_free (err);
      return;
    }
  count (a, endpoint, outcome_names[oc]);
  *status = 200;
}
