/*
 * pods.c - a streaming parser for Kubernetes objects: pod lists as the API
 * server pages them and kubectl prints them, mixed Lists, single objects
 * and workload manifests, turned into container records.
 *
 * yajl calls us back for every token; a small stack of frames says what
 * each open map or array is (an object, its metadata, a container, a
 * container status, ...).  Only the fields records need are copied, into
 * one object at a time, which is emitted and released when it closes: the
 * memory used is that of one object plus the owner maps (ReplicaSet ->
 * Deployment, Job -> CronJob), never that of the list.
 */
#include "kube/kube.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

/* What an open map or array is. */
typedef enum ctx
{
  C_SKIP = 0,   /* nothing we need below */
  C_TOP,        /* a top-level array: its maps are objects */
  C_OBJ,        /* a Kubernetes object (top-level or list item) */
  C_ITEMS,      /* a List's items */
  C_META,       /* metadata */
  C_LABELS,     /* metadata.labels */
  C_OWNERS,     /* metadata.ownerReferences */
  C_OWNER,      /* one owner reference */
  C_SPEC,       /* a pod spec, or a workload spec holding a template */
  C_TEMPLATE,   /* spec.template or spec.jobTemplate */
  C_CONTAINERS, /* containers, initContainers, ephemeralContainers */
  C_CONTAINER,
  C_SECRETS, /* imagePullSecrets */
  C_SECRET,
  C_STATUS,
  C_STATUSES, /* containerStatuses and friends */
  C_CSTATUS,
  C_CSTATE,   /* containerStatuses[].state */
  C_CSTATE_X, /* state.running / waiting / terminated */
} ctx;

/* The map keys the parser looks at; K_OTHER for every other key. */
typedef enum key
{
  K_OTHER = 0,
  K_CONTAINER_STATUSES,
  K_CONTAINERS,
  K_CONTINUE,
  K_CONTROLLER,
  K_EPHEMERAL_CONTAINER_STATUSES,
  K_EPHEMERAL_CONTAINERS,
  K_IMAGE,
  K_IMAGE_ID,
  K_IMAGE_PULL_POLICY,
  K_IMAGE_PULL_SECRETS,
  K_INIT_CONTAINER_STATUSES,
  K_INIT_CONTAINERS,
  K_ITEMS,
  K_JOB_TEMPLATE,
  K_KIND,
  K_LABELS,
  K_METADATA,
  K_NAME,
  K_NAMESPACE,
  K_NODE_NAME,
  K_OWNER_REFERENCES,
  K_PHASE,
  K_POD_TEMPLATE_HASH,
  K_RUNNING,
  K_SPEC,
  K_STARTED_AT,
  K_STATE,
  K_STATUS,
  K_TEMPLATE,
  K_TERMINATED,
  K_UID,
  K_WAITING,
} key_id;

/* Their spellings, indexed by key. */
static const char *const key_names[] = {
  [K_OTHER] = "",
  [K_CONTAINER_STATUSES] = "containerStatuses",
  [K_CONTAINERS] = "containers",
  [K_CONTINUE] = "continue",
  [K_CONTROLLER] = "controller",
  [K_EPHEMERAL_CONTAINER_STATUSES] = "ephemeralContainerStatuses",
  [K_EPHEMERAL_CONTAINERS] = "ephemeralContainers",
  [K_IMAGE] = "image",
  [K_IMAGE_ID] = "imageID",
  [K_IMAGE_PULL_POLICY] = "imagePullPolicy",
  [K_IMAGE_PULL_SECRETS] = "imagePullSecrets",
  [K_INIT_CONTAINER_STATUSES] = "initContainerStatuses",
  [K_INIT_CONTAINERS] = "initContainers",
  [K_ITEMS] = "items",
  [K_JOB_TEMPLATE] = "jobTemplate",
  [K_KIND] = "kind",
  [K_LABELS] = "labels",
  [K_METADATA] = "metadata",
  [K_NAME] = "name",
  [K_NAMESPACE] = "namespace",
  [K_NODE_NAME] = "nodeName",
  [K_OWNER_REFERENCES] = "ownerReferences",
  [K_PHASE] = "phase",
  [K_POD_TEMPLATE_HASH] = "pod-template-hash",
  [K_RUNNING] = "running",
  [K_SPEC] = "spec",
  [K_STARTED_AT] = "startedAt",
  [K_STATE] = "state",
  [K_STATUS] = "status",
  [K_TEMPLATE] = "template",
  [K_TERMINATED] = "terminated",
  [K_UID] = "uid",
  [K_WAITING] = "waiting",
};

typedef struct frame
{
  ctx c;
  int type;  /* container type for C_CONTAINERS/C_STATUSES and their maps */
  bool item; /* C_OBJ: a list item, not the top-level object */
} frame;

typedef struct spec_container
{
  int type;
  char *name, *image, *policy;
} spec_container;

typedef struct status_container
{
  int type;
  char *name, *image, *image_id, *state, *started_at;
} status_container;

/* The fields of one object that records need. */
typedef struct object
{
  char *kind, *name, *namespace_, *uid, *hash, *node, *phase;
  char *owner_kind, *owner_name;
  bool owner_is_controller;
  spec_container *containers;
  size_t n_containers, cap_containers;
  status_container *statuses;
  size_t n_statuses, cap_statuses;
  char **secrets;
  size_t n_secrets, cap_secrets;
} object;

/* An owner reference being read. */
typedef struct owner_ref
{
  char *kind, *name;
  bool controller;
} owner_ref;

/* A string -> string hash map with open addressing, for owners and sets. */
typedef struct strmap
{
  char **keys;
  char **values;
  size_t n, cap;
} strmap;

#define MAX_FRAMES 32

/* A set of 64-bit hashes: what a relist must not hand over twice costs 16
 * bytes per pod, not a copy of its name.  (Two names colliding in 64 bits
 * among a million pods: about one chance in 10^7.) */
typedef struct hashset
{
  uint64_t *slots; /* 0 = empty */
  size_t n, cap;
} hashset;

struct iw_kube_parser
{
  yajl_handle h;
  char *source;
  char *name;
  char *cluster;
  iw_record_fn fn;
  void *userdata;
  iw_kube_parse_mode mode;
  iw_error *cb_err; /* set by a callback that stopped the parse */

  frame frames[MAX_FRAMES];
  int depth;             /* frames in use */
  size_t skip;           /* open containers below a C_SKIP point */
  key_id key;            /* the current map key */
  const char *cur_state; /* C_CSTATE_X: "running", "waiting", "terminated" */

  object top;  /* the top-level object (a List, or a single object) */
  object item; /* the list item being read */
  bool top_has_items;
  char *list_continue;
  char *list_kind;
  spec_container cur_container;
  status_container cur_status;
  owner_ref cur_owner;
  char *cur_secret;

  strmap owners;      /* "ns/ReplicaSet/name" -> "Deployment/name" ("" = none) */
  strmap secret_set;  /* "ns/name" -> "" */
  char **secret_list; /* the same keys, in order, NULL-terminated */
  size_t n_secret_list;
  hashset *seen_pods; /* hashes of "ns/name" of pods already emitted, when dedup is on */

  iw_kube_stats stats;
  unsigned long long lines;  /* newlines before the current chunk */
  unsigned long long offset; /* bytes before the current chunk */
  bool after_newline;        /* the last byte fed was a newline (or its indent) */
  char *squeezed;            /* SQUEEZE_MAX + 8 bytes, allocated when first needed */

  /* Splitting a file between two threads (iw_kube_parser_at_item_boundary). */
  size_t feeding_len;      /* bytes of the yajl_parse call under way */
  bool item_closed_at_end; /* its last token closed a list item */
  bool defer_warnings;     /* keep warnings in `warnings` instead of logging */
  char *warnings;          /* deferred warnings, one per line */
};

/* Input is handed to yajl at most this many bytes at a time once the
 * indentation is squeezed out. */
#define SQUEEZE_MAX (64 * 1024)

/* --- small helpers -------------------------------------------------- */

static void warn (iw_kube_parser *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
warn (iw_kube_parser *p, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    return;
  if (p->defer_warnings)
    {
      char *all = iw_xasprintf ("%s%s\n", p->warnings ? p->warnings : "", msg);

      free (p->warnings);
      p->warnings = all;
    }
  else
    iw_log_warn ("%s", msg);
  free (msg);
}

static uint64_t hash_str (const char *s);

/* Add h; false when it was there already. */
static bool
hashset_add (hashset *set, uint64_t h)
{
  size_t i;

  if (h == 0)
    h = 1;
  if ((set->n + 1) * 2 > set->cap)
    {
      hashset old = *set;

      set->cap = set->cap ? set->cap * 2 : 1024;
      set->slots = iw_xcalloc (set->cap, sizeof *set->slots);
      set->n = 0;
      for (size_t j = 0; j < old.cap; j++)
        if (old.slots[j])
          hashset_add (set, old.slots[j]);
      free (old.slots);
    }
  for (i = (size_t)h & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
    if (set->slots[i] == h)
      return false;
  set->slots[i] = h;
  set->n++;
  return true;
}

/* FNV-1a of h's string followed by s. */
static uint64_t
hash_more (uint64_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static uint64_t
hash_str (const char *s)
{
  return hash_more (1469598103934665603ULL, s);
}

static size_t
strmap_slot (const strmap *m, const char *key)
{
  size_t i = (size_t)hash_str (key) & (m->cap - 1);

  while (m->keys[i] && strcmp (m->keys[i], key) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static const char *
strmap_get (const strmap *m, const char *key)
{
  size_t i;

  if (m->cap == 0)
    return NULL;
  i = strmap_slot (m, key);
  return m->keys[i] ? m->values[i] : NULL;
}

/* Insert or replace; takes ownership of key and value.  Returns true when
 * the key was new. */
static bool
strmap_put (strmap *m, char *key, char *value)
{
  size_t i;

  if ((m->n + 1) * 2 > m->cap)
    {
      strmap old = *m;

      m->cap = m->cap ? m->cap * 2 : 64;
      m->keys = iw_xcalloc (m->cap, sizeof *m->keys);
      m->values = iw_xcalloc (m->cap, sizeof *m->values);
      m->n = 0;
      for (size_t j = 0; j < old.cap; j++)
        if (old.keys[j])
          {
            size_t k = strmap_slot (m, old.keys[j]);

            m->keys[k] = old.keys[j];
            m->values[k] = old.values[j];
            m->n++;
          }
      free (old.keys);
      free (old.values);
    }
  i = strmap_slot (m, key);
  if (m->keys[i])
    {
      free (key);
      free (m->values[i]);
      m->values[i] = value;
      return false;
    }
  m->keys[i] = key;
  m->values[i] = value;
  m->n++;
  return true;
}

static void
strmap_free (strmap *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->cap; i++)
    {
      free (m->keys[i]);
      free (m->values[i]);
    }
  free (m->keys);
  free (m->values);
  memset (m, 0, sizeof *m);
}

static void
set_str (char **dst, const unsigned char *s, size_t n)
{
  free (*dst);
  *dst = iw_xstrndup ((const char *)s, n);
}

static void
object_clear (object *o)
{
  free (o->kind);
  free (o->name);
  free (o->namespace_);
  free (o->uid);
  free (o->hash);
  free (o->node);
  free (o->phase);
  free (o->owner_kind);
  free (o->owner_name);
  for (size_t i = 0; i < o->n_containers; i++)
    {
      free (o->containers[i].name);
      free (o->containers[i].image);
      free (o->containers[i].policy);
    }
  free (o->containers);
  for (size_t i = 0; i < o->n_statuses; i++)
    {
      free (o->statuses[i].name);
      free (o->statuses[i].image);
      free (o->statuses[i].image_id);
      free (o->statuses[i].state);
      free (o->statuses[i].started_at);
    }
  free (o->statuses);
  for (size_t i = 0; i < o->n_secrets; i++)
    free (o->secrets[i]);
  free (o->secrets);
  memset (o, 0, sizeof *o);
}

static void
container_clear (spec_container *c)
{
  free (c->name);
  free (c->image);
  free (c->policy);
  memset (c, 0, sizeof *c);
}

static void
status_clear (status_container *s)
{
  free (s->name);
  free (s->image);
  free (s->image_id);
  free (s->state);
  free (s->started_at);
  memset (s, 0, sizeof *s);
}

static void
owner_clear (owner_ref *o)
{
  free (o->kind);
  free (o->name);
  memset (o, 0, sizeof *o);
}

/* Which key k is: yajl calls on_key for every key of the input, so this
 * switches on the length and compares fixed-size spellings (which the
 * compiler turns into a word compare or two). */
static key_id
key_of (const unsigned char *k, size_t n)
{
#define IS(name) (memcmp (k, name, sizeof name - 1) == 0)
  switch (n)
    {
    case 3:
      if (IS ("uid"))
        return K_UID;
      break;
    case 4:
      if (IS ("kind"))
        return K_KIND;
      if (IS ("name"))
        return K_NAME;
      if (IS ("spec"))
        return K_SPEC;
      break;
    case 5:
      if (IS ("image"))
        return K_IMAGE;
      if (IS ("items"))
        return K_ITEMS;
      if (IS ("phase"))
        return K_PHASE;
      if (IS ("state"))
        return K_STATE;
      break;
    case 6:
      if (IS ("labels"))
        return K_LABELS;
      if (IS ("status"))
        return K_STATUS;
      break;
    case 7:
      if (IS ("imageID"))
        return K_IMAGE_ID;
      if (IS ("running"))
        return K_RUNNING;
      if (IS ("waiting"))
        return K_WAITING;
      break;
    case 8:
      if (IS ("continue"))
        return K_CONTINUE;
      if (IS ("metadata"))
        return K_METADATA;
      if (IS ("nodeName"))
        return K_NODE_NAME;
      if (IS ("template"))
        return K_TEMPLATE;
      break;
    case 9:
      if (IS ("namespace"))
        return K_NAMESPACE;
      if (IS ("startedAt"))
        return K_STARTED_AT;
      break;
    case 10:
      if (IS ("containers"))
        return K_CONTAINERS;
      if (IS ("controller"))
        return K_CONTROLLER;
      if (IS ("terminated"))
        return K_TERMINATED;
      break;
    case 11:
      if (IS ("jobTemplate"))
        return K_JOB_TEMPLATE;
      break;
    case 14:
      if (IS ("initContainers"))
        return K_INIT_CONTAINERS;
      break;
    case 15:
      if (IS ("imagePullPolicy"))
        return K_IMAGE_PULL_POLICY;
      if (IS ("ownerReferences"))
        return K_OWNER_REFERENCES;
      break;
    case 16:
      if (IS ("imagePullSecrets"))
        return K_IMAGE_PULL_SECRETS;
      break;
    case 17:
      if (IS ("containerStatuses"))
        return K_CONTAINER_STATUSES;
      if (IS ("pod-template-hash"))
        return K_POD_TEMPLATE_HASH;
      break;
    case 19:
      if (IS ("ephemeralContainers"))
        return K_EPHEMERAL_CONTAINERS;
      break;
    case 21:
      if (IS ("initContainerStatuses"))
        return K_INIT_CONTAINER_STATUSES;
      break;
    case 26:
      if (IS ("ephemeralContainerStatuses"))
        return K_EPHEMERAL_CONTAINER_STATUSES;
      break;
    default:
      break;
    }
#undef IS
  return K_OTHER;
}

static object *
cur_object (iw_kube_parser *p)
{
  for (int i = p->depth - 1; i >= 0; i--)
    if (p->frames[i].c == C_OBJ)
      return p->frames[i].item ? &p->item : &p->top;
  return &p->top;
}

static int
container_type_of_key (const iw_kube_parser *p)
{
  if ((p->key == K_INIT_CONTAINERS) || (p->key == K_INIT_CONTAINER_STATUSES))
    return IW_CONTAINER_INIT;
  if ((p->key == K_EPHEMERAL_CONTAINERS) || (p->key == K_EPHEMERAL_CONTAINER_STATUSES))
    return IW_CONTAINER_EPHEMERAL;
  return IW_CONTAINER_APP;
}

/* --- owners and records --------------------------------------------- */

static bool
is_workload_kind (const char *k)
{
  static const char *const kinds[]
      = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController" };

  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp (k, kinds[i]) == 0)
      return true;
  return false;
}

static char *
owner_key (const char *ns, const char *kind, const char *name)
{
  return iw_xasprintf ("%s/%s/%s", ns ? ns : "", kind, name);
}

/* Learn who owns a ReplicaSet or a Job. */
static void
learn_owner (iw_kube_parser *p, const object *o)
{
  char *value;

  if (o->name == NULL)
    return;
  if (o->owner_kind && o->owner_name)
    value = iw_xasprintf ("%s/%s", o->owner_kind, o->owner_name);
  else
    value = iw_xstrdup ("");
  strmap_put (&p->owners, owner_key (o->namespace_, o->kind, o->name), value);
}

static bool
all_digits (const char *s, size_t min)
{
  size_t n = 0;

  for (; s[n]; n++)
    if (s[n] < '0' || s[n] > '9')
      return false;
  return n >= min;
}

/* The workload a pod belongs to: its controller, with ReplicaSets and
 * Jobs followed to their own owners (learned, or else guessed the way
 * their controllers name them). */
static void
resolve_workload (iw_kube_parser *p, const object *o, char **kind_out, char **name_out)
{
  const char *kind = o->owner_kind, *name = o->owner_name;
  char *k = NULL;
  const char *known;

  if (kind == NULL || name == NULL || strcmp (kind, "Node") == 0)
    {
      /* A bare pod, or a static pod mirrored by its node. */
      *kind_out = iw_xstrdup ("Pod");
      *name_out = iw_xstrdup0 (o->name);
      return;
    }
  if (strcmp (kind, "ReplicaSet") == 0 || strcmp (kind, "Job") == 0)
    {
      known = NULL;
      if (p->owners.n > 0)
        {
          k = owner_key (o->namespace_, kind, name);
          known = strmap_get (&p->owners, k);
          free (k);
        }
      if (known && *known)
        {
          const char *slash = strchr (known, '/');

          *kind_out = iw_xstrndup (known, (size_t)(slash - known));
          *name_out = iw_xstrdup (slash + 1);
          return;
        }
      if (known == NULL && strcmp (kind, "ReplicaSet") == 0 && o->hash)
        {
          size_t nl = strlen (name), hl = strlen (o->hash);

          /* The Deployment controller names its ReplicaSets
           * <deployment>-<pod-template-hash>. */
          if (nl > hl + 1 && name[nl - hl - 1] == '-' && strcmp (name + nl - hl, o->hash) == 0)
            {
              *kind_out = iw_xstrdup ("Deployment");
              *name_out = iw_xstrndup (name, nl - hl - 1);
              return;
            }
        }
      if (known == NULL && strcmp (kind, "Job") == 0)
        {
          const char *dash = strrchr (name, '-');

          /* The CronJob controller names its Jobs <cronjob>-<minutes
           * since the epoch>. */
          if (dash && dash != name && all_digits (dash + 1, 8))
            {
              *kind_out = iw_xstrdup ("CronJob");
              *name_out = iw_xstrndup (name, (size_t)(dash - name));
              return;
            }
        }
    }
  *kind_out = iw_xstrdup (kind);
  *name_out = iw_xstrdup (name);
}

static const status_container *
find_status (const object *o, int type, const char *name)
{
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < o->n_statuses; i++)
    if (o->statuses[i].type == type && o->statuses[i].name && strcmp (o->statuses[i].name, name) == 0)
      return &o->statuses[i];
  return NULL;
}

static int
emit_records (iw_kube_parser *p, const object *o, bool is_pod, iw_error **err)
{
  char *wk = NULL, *wn = NULL;
  int rc = 0;

  if (is_pod)
    resolve_workload (p, o, &wk, &wn);
  else
    {
      wk = iw_xstrdup (o->kind);
      wn = iw_xstrdup0 (o->name);
    }
  /* Init containers first, then app, then ephemeral, as kubectl shows them. */
  static const int order[] = { IW_CONTAINER_INIT, IW_CONTAINER_APP, IW_CONTAINER_EPHEMERAL };

  for (size_t t = 0; t < sizeof order / sizeof order[0] && rc == 0; t++)
    {
      int want = order[t];

      for (size_t i = 0; i < o->n_containers && rc == 0; i++)
        {
          const spec_container *c = &o->containers[i];
          const status_container *s;
          iw_record *r;

          if (c->type != want)
            continue;
          s = is_pod ? find_status (o, c->type, c->name) : NULL;
          r = iw_xcalloc (1, sizeof *r);
          r->source = iw_xstrdup0 (p->source);
          r->cluster = iw_xstrdup0 (p->cluster);
          r->namespace_ = iw_xstrdup0 (o->namespace_);
          r->pod = is_pod ? iw_xstrdup0 (o->name) : NULL;
          r->workload_kind = iw_xstrdup (wk);
          r->workload_name = iw_xstrdup0 (wn);
          r->container = iw_xstrdup0 (c->name);
          r->container_type = (iw_container_type)c->type;
          r->node = iw_xstrdup0 (o->node);
          r->image = iw_xstrdup0 (c->image);
          r->pull_policy = iw_pull_policy_parse (c->policy);
          if (r->pull_policy == IW_PULL_UNSET)
            {
              r->pull_policy = iw_pull_policy_default (c->image);
              r->pull_policy_defaulted = true;
            }
          r->phase = iw_xstrdup0 (o->phase);
          if (s)
            {
              r->status_image = iw_xstrdup0 (s->image);
              iw_image_id_parse (&r->image_id, s->image_id);
              r->state = iw_xstrdup0 (s->state);
              r->started_at = iw_xstrdup0 (s->started_at);
            }
          if (o->n_secrets)
            {
              r->pull_secrets = iw_xcalloc (o->n_secrets + 1, sizeof (char *));
              for (size_t j = 0; j < o->n_secrets; j++)
                r->pull_secrets[j] = iw_xstrdup (o->secrets[j]);
            }
          p->stats.records++;
          rc = p->fn (r, p->userdata, err);
          if (rc < 0 && (err == NULL || *err == NULL))
            rc = iw_error_set (err, IW_EIO, "the record consumer stopped");
        }
    }
  free (wk);
  free (wn);
  return rc < 0 ? -1 : 0;
}

static void
note_secrets (iw_kube_parser *p, const object *o)
{
  for (size_t i = 0; i < o->n_secrets; i++)
    {
      char *k = iw_xasprintf ("%s/%s", o->namespace_ ? o->namespace_ : "", o->secrets[i]);

      if (strmap_get (&p->secret_set, k))
        {
          free (k);
          continue;
        }
      p->secret_list = iw_xreallocarray (p->secret_list, p->n_secret_list + 2, sizeof (char *));
      p->secret_list[p->n_secret_list++] = iw_xstrdup (k);
      p->secret_list[p->n_secret_list] = NULL;
      strmap_put (&p->secret_set, k, iw_xstrdup (""));
    }
}

/* An object closed: learn from it, emit its records, or skip it. */
static int
finish_object (iw_kube_parser *p, object *o, bool item, iw_error **err)
{
  const char *kind = o->kind;
  int rc = 0;

  if (kind == NULL && item && p->list_kind)
    {
      size_t n = strlen (p->list_kind);

      /* API lists leave kind out of their items: PodList -> Pod. */
      if (n > 4 && strcmp (p->list_kind + n - 4, "List") == 0 && strcmp (p->list_kind, "List") != 0)
        kind = o->kind = iw_xstrndup (p->list_kind, n - 4);
    }
  if (kind == NULL && o->n_containers > 0)
    kind = o->kind = iw_xstrdup ("Pod");
  if (kind == NULL)
    {
      p->stats.skipped++;
      warn (p, "%s: skipping an object without a kind", p->name);
      goto done;
    }
  if (strcmp (kind, "Pod") == 0)
    {
      p->stats.pods++;
      if (p->mode == IW_KUBE_PARSE_OWNERS_ONLY)
        goto done;
      if (p->seen_pods
          && !hashset_add (p->seen_pods,
                           hash_more (hash_more (hash_str (o->namespace_ ? o->namespace_ : ""), "/"),
                                      o->name ? o->name : "")))
        goto done; /* already handed over before a relist */
      note_secrets (p, o);
      rc = emit_records (p, o, true, err);
      goto done;
    }
  p->stats.objects++;
  if (strcmp (kind, "ReplicaSet") == 0 || strcmp (kind, "Job") == 0)
    {
      learn_owner (p, o);
      /* A live ReplicaSet or Job (one with a uid, read from a cluster)
       * is only owner information: its pods say what runs.  So is one run
       * by a Deployment or CronJob.  A standalone manifest is a workload. */
      if (o->uid || (o->owner_kind && o->owner_is_controller))
        goto done;
    }
  if (!is_workload_kind (kind))
    {
      if (strcmp (kind, "List") != 0
          && !(strlen (kind) > 4 && strcmp (kind + strlen (kind) - 4, "List") == 0))
        {
          p->stats.skipped++;
          p->stats.objects--;
          warn (p, "%s: skipping %s %s: not a workload", p->name, kind, o->name ? o->name : "(unnamed)");
        }
      goto done;
    }
  if (p->mode == IW_KUBE_PARSE_OWNERS_ONLY)
    goto done;
  note_secrets (p, o);
  rc = emit_records (p, o, false, err);
done:
  object_clear (o);
  return rc;
}

/* --- yajl callbacks ------------------------------------------------- */

static int
stop (iw_kube_parser *p, iw_error *e)
{
  iw_error_free (p->cb_err);
  p->cb_err = e;
  return 0;
}

static int
push (iw_kube_parser *p, ctx c, int type, bool item)
{
  if (c == C_SKIP)
    {
      p->skip++;
      return 1;
    }
  if (p->depth >= MAX_FRAMES)
    {
      iw_error *e = NULL;

      iw_error_set (&e, IW_EPARSE, "nesting too deep");
      return stop (p, e);
    }
  p->frames[p->depth].c = c;
  p->frames[p->depth].type = type;
  p->frames[p->depth].item = item;
  p->depth++;
  return 1;
}

/* What a map or array opened at the current position is. */
static ctx
child_ctx (iw_kube_parser *p, bool is_map, int *type, bool *item)
{
  frame *f;

  *type = 0;
  *item = false;
  if (p->depth == 0)
    return is_map ? C_OBJ : C_TOP;
  f = &p->frames[p->depth - 1];
  *type = f->type;
  switch (f->c)
    {
    case C_TOP:
      *item = true;
      return is_map ? C_OBJ : C_SKIP;
    case C_ITEMS:
      *item = true;
      return is_map ? C_OBJ : C_SKIP;
    case C_OBJ:
      if ((p->key == K_METADATA) && is_map)
        return C_META;
      if ((p->key == K_SPEC) && is_map)
        return C_SPEC;
      if ((p->key == K_STATUS) && is_map)
        return C_STATUS;
      if ((p->key == K_ITEMS) && !is_map && !f->item)
        {
          p->top_has_items = true;
          return C_ITEMS;
        }
      return C_SKIP;
    case C_META:
      if ((p->key == K_LABELS) && is_map)
        return C_LABELS;
      if ((p->key == K_OWNER_REFERENCES) && !is_map)
        return C_OWNERS;
      return C_SKIP;
    case C_OWNERS:
      return is_map ? C_OWNER : C_SKIP;
    case C_SPEC:
      if (!is_map
          && ((p->key == K_CONTAINERS) || (p->key == K_INIT_CONTAINERS)
              || (p->key == K_EPHEMERAL_CONTAINERS)))
        {
          *type = container_type_of_key (p);
          return C_CONTAINERS;
        }
      if ((p->key == K_IMAGE_PULL_SECRETS) && !is_map)
        return C_SECRETS;
      if (((p->key == K_TEMPLATE) || (p->key == K_JOB_TEMPLATE)) && is_map)
        return C_TEMPLATE;
      return C_SKIP;
    case C_TEMPLATE:
      return (p->key == K_SPEC) && is_map ? C_SPEC : C_SKIP;
    case C_CONTAINERS:
      return is_map ? C_CONTAINER : C_SKIP;
    case C_SECRETS:
      return is_map ? C_SECRET : C_SKIP;
    case C_STATUS:
      if (!is_map
          && ((p->key == K_CONTAINER_STATUSES) || (p->key == K_INIT_CONTAINER_STATUSES)
              || (p->key == K_EPHEMERAL_CONTAINER_STATUSES)))
        {
          *type = container_type_of_key (p);
          return C_STATUSES;
        }
      return C_SKIP;
    case C_STATUSES:
      return is_map ? C_CSTATUS : C_SKIP;
    case C_CSTATUS:
      return (p->key == K_STATE) && is_map ? C_CSTATE : C_SKIP;
    case C_CSTATE:
      if (is_map && ((p->key == K_RUNNING) || (p->key == K_WAITING) || (p->key == K_TERMINATED)))
        {
          free (p->cur_status.state);
          p->cur_status.state = iw_xstrdup (key_names[p->key]);
          return C_CSTATE_X;
        }
      return C_SKIP;
    default:
      return C_SKIP;
    }
}

static int
on_start (void *ctx_, bool is_map)
{
  iw_kube_parser *p = ctx_;
  int type;
  bool item;
  ctx c;

  if (p->skip)
    {
      p->skip++;
      return 1;
    }
  c = child_ctx (p, is_map, &type, &item);
  if (c == C_OBJ && p->depth == 0)
    {
      object_clear (&p->top);
      p->top_has_items = false;
      free (p->list_continue);
      p->list_continue = NULL;
      free (p->list_kind);
      p->list_kind = NULL;
    }
  else if (c == C_OBJ)
    object_clear (&p->item);
  return push (p, c, type, item);
}

static int
on_start_map (void *ctx_)
{
  return on_start (ctx_, true);
}

static int
on_start_array (void *ctx_)
{
  return on_start (ctx_, false);
}

static void
add_container (object *o, spec_container *c)
{
  if (o->n_containers == o->cap_containers)
    {
      o->cap_containers = o->cap_containers ? o->cap_containers * 2 : 4;
      o->containers = iw_xreallocarray (o->containers, o->cap_containers, sizeof *o->containers);
    }
  o->containers[o->n_containers++] = *c;
  memset (c, 0, sizeof *c);
}

static void
add_status (object *o, status_container *s)
{
  if (o->n_statuses == o->cap_statuses)
    {
      o->cap_statuses = o->cap_statuses ? o->cap_statuses * 2 : 4;
      o->statuses = iw_xreallocarray (o->statuses, o->cap_statuses, sizeof *o->statuses);
    }
  o->statuses[o->n_statuses++] = *s;
  memset (s, 0, sizeof *s);
}

static int
on_end (void *ctx_)
{
  iw_kube_parser *p = ctx_;
  frame f;
  object *o;

  if (p->skip)
    {
      p->skip--;
      return 1;
    }
  if (p->depth == 0)
    return 1;
  f = p->frames[--p->depth];
  switch (f.c)
    {
    case C_CONTAINER:
      o = cur_object (p);
      p->cur_container.type = f.type;
      if (p->cur_container.image == NULL && p->cur_container.name == NULL)
        container_clear (&p->cur_container);
      else
        add_container (o, &p->cur_container);
      break;
    case C_CSTATUS:
      o = cur_object (p);
      p->cur_status.type = f.type;
      add_status (o, &p->cur_status);
      break;
    case C_OWNER:
      o = cur_object (p);
      /* The controller owner wins; else the first one. */
      if (p->cur_owner.kind && p->cur_owner.name
          && (o->owner_kind == NULL || (p->cur_owner.controller && !o->owner_is_controller)))
        {
          free (o->owner_kind);
          free (o->owner_name);
          o->owner_kind = iw_steal (&p->cur_owner.kind);
          o->owner_name = iw_steal (&p->cur_owner.name);
          o->owner_is_controller = p->cur_owner.controller;
        }
      owner_clear (&p->cur_owner);
      break;
    case C_SECRET:
      o = cur_object (p);
      if (p->cur_secret)
        {
          o->secrets = iw_xreallocarray (o->secrets, o->n_secrets + 1, sizeof (char *));
          o->secrets[o->n_secrets++] = iw_steal (&p->cur_secret);
        }
      break;
    case C_OBJ:
      /* A list item closed by the last token fed: the place a second
       * thread may take over (see iw_kube_parser_at_item_boundary). */
      p->item_closed_at_end = f.item && p->depth == 2 && yajl_get_bytes_consumed (p->h) == p->feeding_len;
      if (f.item || !p->top_has_items)
        {
          iw_error *e = NULL;

          if (finish_object (p, f.item ? &p->item : &p->top, f.item, &e) < 0)
            return stop (p, e);
        }
      else
        object_clear (&p->top); /* a List: its items are done */
      break;
    default:
      break;
    }
  return 1;
}

static int
on_key (void *ctx_, const unsigned char *k, size_t n)
{
  iw_kube_parser *p = ctx_;

  if (p->skip)
    return 1;
  p->key = key_of (k, n);
  return 1;
}

static int
on_string (void *ctx_, const unsigned char *s, size_t n)
{
  iw_kube_parser *p = ctx_;
  object *o;

  if (p->skip || p->depth == 0 || p->key == K_OTHER)
    return 1;
  switch (p->frames[p->depth - 1].c)
    {
    case C_OBJ:
      o = cur_object (p);
      if (p->key == K_KIND)
        {
          set_str (&o->kind, s, n);
          if (!p->frames[p->depth - 1].item)
            set_str (&p->list_kind, s, n);
        }
      break;
    case C_META:
      o = cur_object (p);
      if (p->key == K_NAME)
        set_str (&o->name, s, n);
      else if (p->key == K_NAMESPACE)
        set_str (&o->namespace_, s, n);
      else if (p->key == K_UID)
        set_str (&o->uid, s, n);
      else if ((p->key == K_CONTINUE) && p->depth == 2)
        set_str (&p->list_continue, s, n);
      break;
    case C_LABELS:
      if (p->key == K_POD_TEMPLATE_HASH)
        set_str (&cur_object (p)->hash, s, n);
      break;
    case C_OWNER:
      if (p->key == K_KIND)
        set_str (&p->cur_owner.kind, s, n);
      else if (p->key == K_NAME)
        set_str (&p->cur_owner.name, s, n);
      break;
    case C_SPEC:
      if (p->key == K_NODE_NAME)
        set_str (&cur_object (p)->node, s, n);
      break;
    case C_CONTAINER:
      if (p->key == K_NAME)
        set_str (&p->cur_container.name, s, n);
      else if (p->key == K_IMAGE)
        set_str (&p->cur_container.image, s, n);
      else if (p->key == K_IMAGE_PULL_POLICY)
        set_str (&p->cur_container.policy, s, n);
      break;
    case C_SECRET:
      if (p->key == K_NAME)
        set_str (&p->cur_secret, s, n);
      break;
    case C_STATUS:
      if (p->key == K_PHASE)
        set_str (&cur_object (p)->phase, s, n);
      break;
    case C_CSTATUS:
      if (p->key == K_NAME)
        set_str (&p->cur_status.name, s, n);
      else if (p->key == K_IMAGE)
        set_str (&p->cur_status.image, s, n);
      else if (p->key == K_IMAGE_ID)
        set_str (&p->cur_status.image_id, s, n);
      break;
    case C_CSTATE_X:
      if (p->key == K_STARTED_AT)
        set_str (&p->cur_status.started_at, s, n);
      break;
    default:
      break;
    }
  return 1;
}

static int
on_boolean (void *ctx_, int b)
{
  iw_kube_parser *p = ctx_;

  if (p->skip || p->depth == 0)
    return 1;
  if (p->frames[p->depth - 1].c == C_OWNER && (p->key == K_CONTROLLER))
    p->cur_owner.controller = b != 0;
  return 1;
}

/* No callback for null and numbers: yajl still lexes and checks them, and
 * with neither yajl_number nor yajl_integer/yajl_double it converts none
 * (so no number is rejected for overflowing a long long or a double). */
static const yajl_callbacks callbacks = {
  .yajl_boolean = on_boolean,
  .yajl_string = on_string,
  .yajl_start_map = on_start_map,
  .yajl_map_key = on_key,
  .yajl_end_map = on_end,
  .yajl_start_array = on_start_array,
  .yajl_end_array = on_end,
};

/* --- public --------------------------------------------------------- */

static void
new_handle (iw_kube_parser *p)
{
  if (p->h)
    yajl_free (p->h);
  p->h = yajl_alloc (&callbacks, NULL, p);
  if (p->h == NULL)
    abort ();
  yajl_config (p->h, yajl_allow_multiple_values, 1);
  p->depth = 0;
  p->skip = 0;
  p->key = K_OTHER;
  p->lines = 0;
  p->offset = 0;
  p->after_newline = false;
  object_clear (&p->top);
  object_clear (&p->item);
  container_clear (&p->cur_container);
  status_clear (&p->cur_status);
  owner_clear (&p->cur_owner);
  free (p->cur_secret);
  p->cur_secret = NULL;
  p->top_has_items = false;
}

iw_kube_parser *
iw_kube_parser_new (const char *source, const char *name, iw_record_fn fn, void *userdata)
{
  iw_kube_parser *p = iw_xcalloc (1, sizeof *p);

  p->source = iw_xstrdup0 (source);
  p->name = iw_xstrdup (name ? name : "input");
  p->fn = fn;
  p->userdata = userdata;
  new_handle (p);
  return p;
}

void
iw_kube_parser_set_mode (iw_kube_parser *p, iw_kube_parse_mode mode)
{
  p->mode = mode;
  memset (&p->stats, 0, sizeof p->stats);
}

void
iw_kube_parser_set_cluster (iw_kube_parser *p, const char *cluster)
{
  free (p->cluster);
  p->cluster = iw_xstrdup0 (cluster);
}

void
iw_kube_parser_dedup_pods (iw_kube_parser *p)
{
  if (p->seen_pods == NULL)
    p->seen_pods = iw_xcalloc (1, sizeof *p->seen_pods);
}

int
iw_kube_parser_reset (iw_kube_parser *p, iw_error **err)
{
  (void)err;
  free (p->list_continue);
  p->list_continue = NULL;
  free (p->list_kind);
  p->list_kind = NULL;
  new_handle (p);
  return 0;
}

static unsigned long long
count_lines (const char *data, size_t len)
{
  unsigned long long n = 0;
  const char *end = data + len;

  while ((data = memchr (data, '\n', (size_t)(end - data))) != NULL)
    {
      n++;
      data++;
    }
  return n;
}

static int
parse_error (iw_kube_parser *p, yajl_status st, const char *data, size_t len, iw_error **err)
{
  size_t used;
  unsigned char *msg;
  char *nl;

  if (st == yajl_status_client_canceled)
    {
      iw_error *e = iw_steal (&p->cb_err);

      if (e == NULL)
        return iw_error_set (err, IW_EIO, "%s: stopped", p->name);
      if (err)
        {
          iw_error_free (*err);
          *err = e;
        }
      else
        iw_error_free (e);
      return -1;
    }
  used = data ? yajl_get_bytes_consumed (p->h) : 0;
  if (used > len)
    used = len;
  msg = yajl_get_error (p->h, 0, (const unsigned char *)data, len);
  nl = strchr ((char *)msg, '\n');
  if (nl)
    *nl = '\0';
  iw_error_set (err, IW_EPARSE, "%s:%llu: invalid JSON: %s", p->name,
                p->lines + (data ? count_lines (data, used) : 0) + 1, (char *)msg);
  yajl_free_error (p->h, msg);
  return -1;
}

/* Copy in[0..len) to out without the spaces and tabs that follow a
 * newline, and return the length written.  kubectl indents its JSON:
 * two thirds of a big list are indentation, which yajl's lexer reads a
 * byte at a time, while this skips it with memchr and memcpy.
 *
 * It changes neither what yajl parses nor where it fails.  A raw newline
 * is invalid inside a string, a number or a literal, so yajl rejects it
 * right there, at a byte no earlier byte of which was removed; anywhere
 * else the newline is whitespace between tokens, and the blanks after it
 * are more of the same.  Newlines are all kept, so the line numbers of
 * errors are those of the input (and counted into *newlines).
 * *after_newline carries the state from one chunk to the next: any
 * chunking squeezes the same way. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SQUEEZE_LE 1 /* the first byte of a word is its lowest */
#else
#define SQUEEZE_LE 0
#endif

static size_t
squeeze (char *out, const char *in, size_t len, bool *after_newline, unsigned long long *newlines)
{
  static const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  static const uint64_t spaces = 0x2020202020202020ULL, newlines8 = 0x0a0a0a0a0a0a0a0aULL;
  const char *end = in + len;
  char *o = out;

  while (in < end)
    {
      if (*after_newline)
        {
          for (uint64_t w; end - in >= 8 && (memcpy (&w, in, 8), w == spaces);)
            in += 8;
#if SQUEEZE_LE
          if (end - in >= 8)
            {
              uint64_t w;

              memcpy (&w, in, 8); /* not all spaces: skip those before the first other byte */
              in += __builtin_ctzll (w ^ spaces) / 8;
            }
#endif
          while (in < end && (*in == ' ' || *in == '\t'))
            in++;
          if (in == end)
            break;
          *after_newline = false;
        }
      /* Copy up to the next newline, eight bytes at a time: a word holds a
       * newline when x = w ^ newlines8 has a zero byte. */
      for (uint64_t w, x; end - in >= 8;)
        {
          memcpy (&w, in, 8);
          memcpy (o, &w, 8); /* out has 8 bytes of slack */
          x = w ^ newlines8;
          if (((x - ones) & ~x & highs) == 0)
            {
              in += 8;
              o += 8;
              continue;
            }
#if SQUEEZE_LE
          {
            /* The lowest flagged byte is the first newline (a borrow can
             * only flag bytes above a true match). */
            size_t k = (size_t)__builtin_ctzll ((x - ones) & ~x & highs) / 8;

            in += k;
            o += k;
          }
#else
          while (*in != '\n')
            *o++ = *in++;
#endif
          *after_newline = true;
          break;
        }
      if (!*after_newline)
        while (in < end && *in != '\n')
          *o++ = *in++;
      if (in < end)
        {
          *o++ = *in++; /* the newline */
          *after_newline = true;
          ++*newlines;
        }
    }
  return (size_t)(o - out);
}

int
iw_kube_parser_feed (iw_kube_parser *p, const char *data, size_t len, iw_error **err)
{
  yajl_status st;

  while (len > 0)
    {
      size_t n = len < SQUEEZE_MAX ? len : SQUEEZE_MAX;
      const char *in = data;
      size_t in_len = n;
      unsigned long long newlines = 0;

      /* Compact JSON (API pages, kubectl -o json | jq -c) goes as it is. */
      if (p->after_newline || memchr (data, '\n', n) != NULL)
        {
          if (p->squeezed == NULL)
            p->squeezed = iw_xmalloc (SQUEEZE_MAX + 8);
          in_len = squeeze (p->squeezed, data, n, &p->after_newline, &newlines);
          in = p->squeezed;
        }
      p->feeding_len = in_len;
      p->item_closed_at_end = false;
      st = yajl_parse (p->h, (const unsigned char *)in, in_len);
      if (st != yajl_status_ok)
        return parse_error (p, st, in, in_len, err);
      p->lines += newlines;
      p->offset += n;
      p->stats.bytes += n;
      data += n;
      len -= n;
    }
  return 0;
}

bool
iw_kube_parser_at_item_boundary (const iw_kube_parser *p)
{
  size_t n = p->list_kind ? strlen (p->list_kind) : 0;

  /* Items of a "PodList" without a kind would be taken for pods from the
   * list's kind: a second thread starting in the middle cannot know it. */
  if (n > 4 && strcmp (p->list_kind + n - 4, "List") == 0 && strcmp (p->list_kind, "List") != 0)
    return false;
  return p->item_closed_at_end && p->depth == 2 && p->skip == 0 && p->frames[0].c == C_OBJ
         && !p->frames[0].item && p->frames[1].c == C_ITEMS && p->mode == IW_KUBE_PARSE_RECORDS
         && p->seen_pods == NULL;
}

int
iw_kube_parser_resume_items (iw_kube_parser *p, unsigned long long lines, unsigned long long offset,
                             iw_error **err)
{
  static const char open[] = "{\"items\":[";

  p->feeding_len = sizeof open - 1;
  if (yajl_parse (p->h, (const unsigned char *)open, sizeof open - 1) != yajl_status_ok)
    return parse_error (p, yajl_status_error, open, sizeof open - 1, err);
  p->lines = lines;
  p->offset = offset;
  return 0;
}

void
iw_kube_parser_defer_warnings (iw_kube_parser *p)
{
  p->defer_warnings = true;
}

const char *
iw_kube_parser_warnings (const iw_kube_parser *p)
{
  return p->warnings;
}

int
iw_kube_parser_finish (iw_kube_parser *p, iw_error **err)
{
  yajl_status st = yajl_complete_parse (p->h);

  if (st != yajl_status_ok)
    return parse_error (p, st, NULL, 0, err);
  if (p->depth != 0 || p->skip != 0)
    return iw_error_set (err, IW_EPARSE, "%s:%llu: invalid JSON: unexpected end of input", p->name,
                         p->lines + 1);
  return 0;
}

const char *
iw_kube_parser_continue (const iw_kube_parser *p)
{
  return p->list_continue && *p->list_continue ? p->list_continue : NULL;
}

const iw_kube_stats *
iw_kube_parser_stats (const iw_kube_parser *p)
{
  return &p->stats;
}

const char *const *
iw_kube_parser_pull_secrets (const iw_kube_parser *p)
{
  static const char *const none[] = { NULL };

  return p->secret_list ? (const char *const *)p->secret_list : none;
}

void
iw_kube_parser_free (iw_kube_parser *p)
{
  if (p == NULL)
    return;
  if (p->h)
    yajl_free (p->h);
  object_clear (&p->top);
  object_clear (&p->item);
  container_clear (&p->cur_container);
  status_clear (&p->cur_status);
  owner_clear (&p->cur_owner);
  free (p->cur_secret);
  free (p->list_continue);
  free (p->list_kind);
  free (p->squeezed);
  free (p->warnings);
  strmap_free (&p->owners);
  strmap_free (&p->secret_set);
  for (size_t i = 0; i < p->n_secret_list; i++)
    free (p->secret_list[i]);
  free (p->secret_list);
  if (p->seen_pods)
    free (p->seen_pods->slots);
  free (p->seen_pods);
  iw_error_free (p->cb_err);
  free (p->source);
  free (p->name);
  free (p->cluster);
  free (p);
}
