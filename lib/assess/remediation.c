/*
 * remediation.c - a concrete, runnable fix for every finding.
 *
 * Commands name the workload the way kubectl does:
 *   kubectl -n NS set image KIND/NAME CONTAINER=REPO@sha256:...   pin (roll forward or freeze)
 *   kubectl -n NS patch KIND NAME -p '{...imagePullPolicy...}'      make nodes pull
 *   kubectl -n NS rollout restart KIND/NAME                         re-create the pods
 *   skopeo copy --all docker://SRC docker://TRUSTED/REPO:TAG        move into a trusted registry
 * Lines are separated by "\n"; sentences end with ":" when a command follows.
 * Long workload lists are cut after MAX_WORKLOADS with a count of the rest.
 */
#include "assess/assess.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WORKLOADS 10

static const struct
{
  const char *kind;
  const char *resource;
  bool restartable;      /* kubectl rollout restart works */
  bool template;         /* has a pod template kubectl patch can reach */
  const char *spec_path; /* JSON path prefix to the pod spec, as an opening */
  const char *spec_close;
} kinds[] = {
  { "Deployment", "deployment", true, true, "{\"spec\":{\"template\":{\"spec\":", "}}}" },
  { "StatefulSet", "statefulset", true, true, "{\"spec\":{\"template\":{\"spec\":", "}}}" },
  { "DaemonSet", "daemonset", true, true, "{\"spec\":{\"template\":{\"spec\":", "}}}" },
  { "ReplicaSet", "replicaset", false, true, "{\"spec\":{\"template\":{\"spec\":", "}}}" },
  { "CronJob", "cronjob", false, true,
    "{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":", "}}}}}" },
  { "Job", "job", false, false, NULL, NULL },
  { "Pod", "pod", false, false, NULL, NULL },
};

static int
kind_index (const char *kind)
{
  for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp (kinds[i].kind, kind) == 0)
      return (int)i;
  return -1;
}

const char *
iw_assess_kubectl_kind (const char *kind)
{
  int k = kind_index (kind);

  return k < 0 ? NULL : kinds[k].resource;
}

/* Shell-quote a word when it needs it (single quotes). */
static void
append_word (iw_buf *b, const char *w)
{
  bool plain = *w != '\0';

  for (const char *p = w; *p && plain; p++)
    plain = strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=,+", *p) != NULL;
  if (plain)
    {
      iw_buf_appends (b, w, NULL);
      return;
    }
  iw_buf_appendc (b, '\'', NULL);
  for (const char *p = w; *p; p++)
    if (*p == '\'')
      iw_buf_appends (b, "'\\''", NULL);
    else
      iw_buf_appendc (b, *p, NULL);
  iw_buf_appendc (b, '\'', NULL);
}

static void
kubectl_prefix (iw_buf *b, const iw_inv_workload *w)
{
  iw_buf_appends (b, "kubectl ", NULL);
  if (w->namespace_)
    {
      iw_buf_appends (b, "-n ", NULL);
      append_word (b, w->namespace_);
      iw_buf_appendc (b, ' ', NULL);
    }
}

/* "kubectl -n NS set image KIND/NAME CONTAINER=IMAGE", or false when
 * kubectl cannot address the workload. */
static bool
set_image (iw_buf *b, const iw_inv_workload *w, const char *image)
{
  const char *res = iw_assess_kubectl_kind (w->kind);
  char *target;

  if (res == NULL || w->name == NULL || w->container == NULL)
    return false;
  kubectl_prefix (b, w);
  iw_buf_appends (b, "set image ", NULL);
  target = iw_xasprintf ("%s/%s", res, w->name);
  append_word (b, target);
  free (target);
  iw_buf_appendc (b, ' ', NULL);
  target = iw_xasprintf ("%s=%s", w->container, image);
  append_word (b, target);
  free (target);
  iw_buf_appendc (b, '\n', NULL);
  return true;
}

static bool
patch_pull_always (iw_buf *b, const iw_inv_workload *w)
{
  int k = kind_index (w->kind);
  char *patch;

  if (k < 0 || !kinds[k].template || w->name == NULL || w->container == NULL
      || w->container_type == IW_CONTAINER_EPHEMERAL)
    return false;
  kubectl_prefix (b, w);
  iw_buf_appends (b, "patch ", NULL);
  iw_buf_appends (b, kinds[k].resource, NULL);
  iw_buf_appendc (b, ' ', NULL);
  append_word (b, w->name);
  iw_buf_appends (b, " -p ", NULL);
  {
    char *name = iw_json_quote (w->container);

    patch = iw_xasprintf ("%s{\"%s\":[{\"name\":%s,\"imagePullPolicy\":\"Always\"}]}%s", kinds[k].spec_path,
                          w->container_type == IW_CONTAINER_INIT ? "initContainers" : "containers", name,
                          kinds[k].spec_close);
    free (name);
  }
  append_word (b, patch);
  free (patch);
  iw_buf_appendc (b, '\n', NULL);
  return true;
}

static bool
rollout_restart (iw_buf *b, const iw_inv_workload *w)
{
  int k = kind_index (w->kind);
  char *target;

  if (k < 0 || !kinds[k].restartable || w->name == NULL)
    return false;
  kubectl_prefix (b, w);
  iw_buf_appends (b, "rollout restart ", NULL);
  target = iw_xasprintf ("%s/%s", kinds[k].resource, w->name);
  append_word (b, target);
  free (target);
  iw_buf_appendc (b, '\n', NULL);
  return true;
}

/* Workload indices of f, one per namespace/kind/name/container. */
typedef void (*per_workload_fn) (iw_buf *b, const iw_inv_workload *w, const void *data);

static void
each_workload (iw_buf *b, const iw_assess_image *ai, const iw_finding *f, per_workload_fn fn,
               const void *data)
{
  size_t shown = 0;

  for (size_t i = 0; i < f->n_workloads; i++)
    {
      if (shown == MAX_WORKLOADS)
        {
          iw_buf_printf (b, NULL, "(and %zu more workloads: the same command for each)\n",
                         f->n_workloads - i);
          return;
        }
      fn (b, &ai->inv->workloads[f->workloads[i]], data);
      shown++;
    }
}

static void
fn_set_image (iw_buf *b, const iw_inv_workload *w, const void *data)
{
  if (!set_image (b, w, data))
    iw_buf_printf (b, NULL, "Point %s/%s (container %s) at %s\n", w->kind, w->name ? w->name : "",
                   w->container ? w->container : "", (const char *)data);
}

static void
fn_patch (iw_buf *b, const iw_inv_workload *w, const void *data)
{
  (void)data;
  if (!patch_pull_always (b, w))
    iw_buf_printf (b, NULL, "Set imagePullPolicy: Always on container %s of %s/%s (re-create it)\n",
                   w->container ? w->container : "", w->kind, w->name ? w->name : "");
}

static void
fn_restart (iw_buf *b, const iw_inv_workload *w, const void *data)
{
  (void)data;
  if (!rollout_restart (b, w))
    {
      const char *res = iw_assess_kubectl_kind (w->kind);

      if (res && strcmp (w->kind, "Pod") == 0 && w->name)
        {
          kubectl_prefix (b, w);
          iw_buf_printf (b, NULL, "delete pod %s\n", w->name);
        }
      else
        iw_buf_printf (b, NULL, "Re-create the pods of %s/%s\n", w->kind, w->name ? w->name : "");
    }
}

/* REPO@digest for pinning. */
static char *
pinned (const iw_inv_image *img, const char *digest)
{
  char *name = iw_ref_name (img->ref);
  char *out = iw_xasprintf ("%s@%s", name, digest);

  free (name);
  return out;
}

static const char *
running_digest (const iw_assess_image *ai, const iw_finding *f)
{
  if (f->running < 0 || (size_t)f->running >= ai->inv->n_running)
    return NULL;
  return ai->inv->running[f->running].digest;
}

static bool
running_is_manifest (const iw_assess_image *ai, const iw_finding *f)
{
  return running_digest (ai, f) && ai->inv->running[f->running].kind == IW_IMAGE_ID_REPO_DIGEST;
}

static void
nodes_of (iw_buf *b, const iw_assess_image *ai, const iw_finding *f)
{
  size_t n = 0;

  for (size_t i = 0; i < f->n_workloads && n < MAX_WORKLOADS; i++)
    {
      const iw_inv_workload *w = &ai->inv->workloads[f->workloads[i]];

      for (size_t j = 0; j < w->n_nodes && n < MAX_WORKLOADS; j++, n++)
        iw_buf_printf (b, NULL, "%s%s", n ? " " : "", w->nodes[j]);
    }
  if (n == 0)
    iw_buf_appends (b, "the nodes", NULL);
}

/* A host to copy into: the first trustedRegistries pattern without a
 * wildcard; NULL when there is none. */
static const char *
trusted_target (const iw_check_ctx *ctx)
{
  for (size_t i = 0; ctx->config && ctx->config->trusted && ctx->config->trusted[i]; i++)
    if (strchr (ctx->config->trusted[i], '*') == NULL)
      return ctx->config->trusted[i];
  return NULL;
}

static void
unverified_fix (iw_buf *b, const iw_assess_image *ai, const iw_finding *f, const iw_check_ctx *ctx)
{
  const iw_reg_facts *facts = &ai->facts;
  const char *reg = ai->inv->ref ? ai->inv->ref->domain : NULL;
  iw_code code = facts->error;
  char *ref = ai->inv->ref ? iw_ref_string (ai->inv->ref) : NULL;

  if (ai->inv->ref == NULL)
    {
      iw_buf_appends (b, "Fix the image reference in the workload spec, e.g.:\n", NULL);
      each_workload (b, ai, f, fn_set_image, "REGISTRY/REPOSITORY@sha256:DIGEST");
      goto done;
    }
  if (f->running >= 0 && facts->running && facts->detail_error == IW_OK)
    code = facts->running[f->running].error;
  if (code == IW_OK)
    code = facts->detail_error;
  switch (code)
    {
    case IW_EAUTH:
      iw_buf_printf (b, NULL,
                     "Give imgwatch read access to %s: docker login %s (read from ~/.docker/config.json), or "
                     "set registries.\"%s\".username and passwordFile in the config\n",
                     reg, reg, reg);
      break;
    case IW_ETLS:
      iw_buf_printf (b, NULL,
                     "Trust %s's certificate: set registries.\"%s\".ca to its CA bundle in the config\n", reg,
                     reg);
      break;
    case IW_ERATELIMIT:
      iw_buf_printf (b, NULL, "%s rate-limited imgwatch: authenticate (docker login %s) or re-run later\n",
                     reg, reg);
      break;
    case IW_ENET:
    case IW_ETIMEOUT:
      {
        const iw_registry_settings *rs = iw_config_registry (ctx->config, reg);

        iw_buf_printf (b, NULL, "Check that %s is reachable from here: curl -sI %s://%s/v2/\n", reg,
                       rs && rs->insecure ? "http" : "https", reg);
      }
      break;
    default:
      if (f->running >= 0 && ai->inv->running[f->running].digest == NULL)
        iw_buf_printf (b, NULL, "Inspect what the runtime reports on %s: kubectl get pod -o yaml\n",
                       ai->inv->workloads[f->workloads ? f->workloads[0] : 0].namespace_
                           ? ai->inv->workloads[f->workloads ? f->workloads[0] : 0].namespace_
                           : "the pod");
      else
        iw_buf_printf (b, NULL, "Check %s by hand: imgwatch resolve %s\n", reg, ref);
      break;
    }
  iw_buf_printf (b, NULL, "Then re-run: imgwatch assess\n");
done:
  free (ref);
}

/* Is img's registry outside trustedRegistries (so pinning it there is no fix)? */
static bool
untrusted (const iw_inv_image *img, const iw_check_ctx *ctx)
{
  char *name;
  bool trusted;

  if (img->ref == NULL || iw_check_trust_unconfigured (ctx))
    return false;
  name = iw_ref_name (img->ref);
  trusted = iw_config_is_trusted (ctx->config, name);
  free (name);
  return !trusted;
}

char *
iw_assess_remediation (const iw_assess_image *ai, const iw_finding *f, const iw_check_ctx *ctx)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);
  const iw_inv_image *img = ai->inv;
  const char *expected = ai->facts.asked ? ai->facts.expected : NULL;
  const char *run = running_digest (ai, f);
  char *pin = NULL;

  if ((f->check == IW_CHECK_MOVING_TAG || f->check == IW_CHECK_PULL_POLICY
       || f->check == IW_CHECK_DIGEST_DRIFT)
      && untrusted (img, ctx))
    {
      char *name = iw_ref_name (img->ref);

      iw_buf_printf (
          &b, NULL,
          "%s is not trusted: copy the image into a trusted registry first (see untrusted-registry), "
          "then pin its digest there",
          name);
      free (name);
      return iw_buf_take (&b);
    }
  switch (f->check)
    {
    case IW_CHECK_INTEGRITY_STALE:
      pin = pinned (img, expected);
      iw_buf_appends (&b, "Roll forward to what the registry holds now (pinned by digest):\n", NULL);
      each_workload (&b, ai, f, fn_set_image, pin);
      if (running_is_manifest (ai, f))
        {
          free (pin);
          pin = pinned (img, run);
          iw_buf_appends (&b, "Or freeze what runs now:\n", NULL);
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      break;
    case IW_CHECK_INTEGRITY_UNKNOWN:
      if (img->ref && img->ref->digest && expected)
        {
          iw_buf_appends (&b, "The node runs other content than the spec pins. Inspect the image store on ",
                          NULL);
          nodes_of (&b, ai, f);
          iw_buf_appends (&b, " (imgwatch verify-store), remove the image there, then re-create the pods:\n",
                          NULL);
          each_workload (&b, ai, f, fn_restart, NULL);
        }
      else if (expected)
        {
          pin = pinned (img, expected);
          iw_buf_appends (&b, "Treat what runs as untrusted: inspect the image store on ", NULL);
          nodes_of (&b, ai, f);
          iw_buf_appends (&b, " (imgwatch verify-store), then deploy what the registry holds, pinned:\n",
                          NULL);
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      else
        {
          char *name = iw_ref_name (img->ref);

          iw_buf_printf (&b, NULL,
                         "The registry does not hold what runs. Push a known-good build to %s and pin its "
                         "digest (imgwatch resolve %s:TAG prints it):\n",
                         name, name);
          free (name);
          pin = pinned (img, "sha256:DIGEST");
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      break;
    case IW_CHECK_DIGEST_DRIFT:
      if (expected)
        {
          pin = pinned (img, expected);
          iw_buf_appends (&b, "Pin every pod to one digest, the registry's:\n", NULL);
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      else
        {
          iw_buf_appends (&b, "Make the nodes pull, then re-create the pods:\n", NULL);
          each_workload (&b, ai, f, fn_patch, NULL);
          each_workload (&b, ai, f, fn_restart, NULL);
        }
      break;
    case IW_CHECK_UNTRUSTED_REGISTRY:
      {
        const char *target = trusted_target (ctx);
        char *src = iw_ref_string (img->ref);
        char *dst = iw_xasprintf ("%s/%s:%s", target ? target : "TRUSTED-REGISTRY", img->ref->path,
                                  img->ref->tag      ? img->ref->tag
                                  : img->ref->digest ? "pinned"
                                                     : "latest");

        iw_buf_appends (&b, "Copy the image into a trusted registry and point the workload there:\n", NULL);
        iw_buf_appends (&b, "skopeo copy --all ", NULL);
        pin = iw_xasprintf ("docker://%s", src);
        append_word (&b, pin);
        free (pin);
        iw_buf_appendc (&b, ' ', NULL);
        pin = iw_xasprintf ("docker://%s", dst);
        append_word (&b, pin);
        free (pin);
        iw_buf_appendc (&b, '\n', NULL);
        pin = NULL;
        if (img->ref->digest)
          {
            pin = iw_xasprintf ("%s/%s@%s", target ? target : "TRUSTED-REGISTRY", img->ref->path,
                                img->ref->digest);
            each_workload (&b, ai, f, fn_set_image, pin);
          }
        else
          each_workload (&b, ai, f, fn_set_image, dst);
        free (src);
        free (dst);
      }
      break;
    case IW_CHECK_TAG_MISSING:
      {
        char *name = iw_ref_name (img->ref);
        const char *tag = iw_ref_effective_tag (img->ref);
        bool kept = false;

        for (size_t ri = 0; ri < img->n_running && !kept; ri++)
          if (img->running[ri].kind == IW_IMAGE_ID_REPO_DIGEST && ai->facts.running
              && ai->facts.running[ri].presence == IW_DIGEST_PRESENT)
            {
              const iw_finding one
                  = { .check = f->check, .workloads = f->workloads, .n_workloads = f->n_workloads };

              pin = pinned (img, img->running[ri].digest);
              iw_buf_appends (&b, "Pin what runs (the registry still holds it):\n", NULL);
              each_workload (&b, ai, &one, fn_set_image, pin);
              iw_buf_printf (&b, NULL, "Or push the tag back: skopeo copy docker://%s docker://%s:%s\n", pin,
                             name, tag);
              kept = true;
            }
        if (!kept)
          {
            iw_buf_printf (&b, NULL, "Push a known-good build as %s:%s, then pin its digest:\n", name, tag);
            pin = pinned (img, "sha256:DIGEST");
            each_workload (&b, ai, f, fn_set_image, pin);
          }
        free (name);
      }
      break;
    case IW_CHECK_UNVERIFIED:
      unverified_fix (&b, ai, f, ctx);
      break;
    case IW_CHECK_PULL_POLICY:
      if (expected)
        {
          pin = pinned (img, expected);
          iw_buf_appends (&b, "Pin the digest, so the pull policy no longer matters:\n", NULL);
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      if (f->variant == 0)
        {
          iw_buf_appends (&b,
                          expected ? "Or make the nodes pull on every start:\n"
                                   : "Make the nodes pull on every start:\n",
                          NULL);
          each_workload (&b, ai, f, fn_patch, NULL);
        }
      else if (!expected)
        {
          char *name = iw_ref_string (img->ref);

          iw_buf_printf (&b, NULL, "Pin the digest (imgwatch resolve %s prints it):\n", name);
          free (name);
          pin = pinned (img, "sha256:DIGEST");
          each_workload (&b, ai, f, fn_set_image, pin);
        }
      break;
    case IW_CHECK_MOVING_TAG:
      if (expected)
        {
          pin = pinned (img, expected);
          iw_buf_appends (&b, "Pin the digest the tag names now:\n", NULL);
        }
      else
        {
          char *name = iw_ref_string (img->ref);

          iw_buf_printf (&b, NULL, "Pin the digest the tag names now (imgwatch resolve %s prints it):\n",
                         name);
          free (name);
          pin = pinned (img, "sha256:DIGEST");
        }
      each_workload (&b, ai, f, fn_set_image, pin);
      break;
    case IW_CHECK_IMAGE_ID_REFERENCE:
      {
        const char *repo = NULL, *digest = NULL;

        for (size_t ri = 0; ri < img->n_running; ri++)
          if (img->running[ri].kind == IW_IMAGE_ID_REPO_DIGEST && img->running[ri].repository)
            {
              repo = img->running[ri].repository;
              digest = img->running[ri].digest;
              break;
            }
        if (repo)
          {
            pin = iw_xasprintf ("%s@%s", repo, digest);
            iw_buf_appends (
                &b, "Name the image by repository and digest (the runtime says it came from here):\n", NULL);
          }
        else
          {
            pin = iw_xstrdup ("REGISTRY/REPOSITORY@sha256:DIGEST");
            iw_buf_appends (&b, "Name the image by registry, repository and digest:\n", NULL);
          }
        each_workload (&b, ai, f, fn_set_image, pin);
      }
      break;
    }
  free (pin);
  /* Drop the final newline. */
  if (b.len && b.data[b.len - 1] == '\n')
    b.data[--b.len] = '\0';
  return iw_buf_take (&b);
}
