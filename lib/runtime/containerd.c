/*
 * containerd.c - containerd's gRPC API, read-only: namespaces, containers,
 * tasks, images, content Info/Read.  Messages are the subset declared in
 * proto/containerd.proto, encoded and decoded by protobuf-c.
 */
#include "runtime/containerd.h"
#include "containerd.pb-c.h"
#include "ref/ref.h"
#include "runtime/grpc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Caps on one response message: lists of namespaces, images and tasks are
 * small; one container (ListStream sends one per message) may carry a big
 * spec; content arrives in chunks of at most 1 MiB. */
#define LIST_MAX (64 * IW_MIB)
#define CONTAINER_MAX (16 * IW_MIB)
#define CHUNK_MAX (8 * IW_MIB)
#define CALL_TIMEOUT_MS 60000L

struct iw_containerd
{
  char *socket;
};

const char *
iw_containerd_socket (const iw_containerd *c)
{
  return c->socket;
}

void
iw_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

/* Collects the one message of a unary call. */
typedef struct unary
{
  const ProtobufCMessageDescriptor *desc;
  ProtobufCMessage *msg;
} unary;

static int
on_unary (const uint8_t *p, size_t n, void *ud, iw_error **err)
{
  unary *u = ud;

  if (u->msg)
    return iw_error_set (err, IW_EPARSE, "more than one message in a unary answer");
  u->msg = protobuf_c_message_unpack (u->desc, NULL, n, p);
  if (u->msg == NULL)
    return iw_error_set (err, IW_EPARSE, "cannot decode %s", u->desc->name);
  return 0;
}

static int
call_unary (ProtobufCMessage **out, const iw_containerd *c, const char *path, const char *ns,
            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc, size_t max,
            iw_error **err)
{
  size_t len = protobuf_c_message_get_packed_size (req);
  uint8_t *buf = iw_xmalloc (len ? len : 1);
  unary u = { resp_desc, NULL };
  iw_grpc_call call = { 0 };
  int ret;

  protobuf_c_message_pack (req, buf);
  call.socket = c->socket;
  call.path = path;
  call.namespace_ = ns;
  call.request = buf;
  call.request_len = len;
  call.max_message = max;
  call.timeout_ms = CALL_TIMEOUT_MS;
  call.fn = on_unary;
  call.userdata = &u;
  ret = iw_grpc_invoke (&call, err);
  free (buf);
  if (ret == 0 && u.msg == NULL)
    {
      iw_error_set (err, IW_EPARSE, "%s: no message in the answer", path);
      ret = -1;
    }
  if (ret < 0)
    {
      if (u.msg)
        protobuf_c_message_free_unpacked (u.msg, NULL);
      return -1;
    }
  *out = u.msg;
  return 0;
}

int
iw_containerd_namespaces (char ***out, iw_containerd *c, iw_error **err)
{
  Iwctd__ListNamespacesRequest req = IWCTD__LIST_NAMESPACES_REQUEST__INIT;
  Iwctd__ListNamespacesResponse *resp = NULL;
  char **v;

  if (call_unary ((ProtobufCMessage **)&resp, c, "/containerd.services.namespaces.v1.Namespaces/List", NULL,
                  &req.base, &iwctd__list_namespaces_response__descriptor, LIST_MAX, err)
      < 0)
    return iw_error_wrap (err, "list containerd namespaces");
  v = iw_xcalloc (resp->n_namespaces + 1, sizeof *v);
  for (size_t i = 0; i < resp->n_namespaces; i++)
    v[i] = iw_xstrdup (resp->namespaces[i]->name);
  iwctd__list_namespaces_response__free_unpacked (resp, NULL);
  *out = v;
  return 0;
}

int
iw_containerd_open (iw_containerd **out, const char *socket, iw_error **err)
{
  iw_containerd *c = iw_xcalloc (1, sizeof *c);
  char **ns = NULL;

  curl_global_init (CURL_GLOBAL_DEFAULT);
  c->socket = iw_xstrdup (socket);
  if (access (socket, F_OK) < 0)
    {
      iw_containerd_free (c);
      return iw_error_set (err, IW_ENET, "cannot connect to containerd at %s: no such socket", socket);
    }
  if (iw_containerd_namespaces (&ns, c, err) < 0)
    {
      iw_containerd_free (c);
      return iw_error_wrap (err, "containerd at %s", socket);
    }
  iw_strv_free (ns);
  *out = c;
  return 0;
}

void
iw_containerd_free (iw_containerd *c)
{
  if (c == NULL)
    return;
  free (c->socket);
  free (c);
}

int
iw_containerd_images (iw_store_images *out, iw_containerd *c, const char *ns, iw_error **err)
{
  Iwctd__ListImagesRequest req = IWCTD__LIST_IMAGES_REQUEST__INIT;
  Iwctd__ListImagesResponse *resp = NULL;

  if (call_unary ((ProtobufCMessage **)&resp, c, "/containerd.services.images.v1.Images/List", ns, &req.base,
                  &iwctd__list_images_response__descriptor, LIST_MAX, err)
      < 0)
    return iw_error_wrap (err, "list images in namespace %s", ns);
  for (size_t i = 0; i < resp->n_images; i++)
    {
      const Iwctd__Image *img = resp->images[i];

      if (img->target == NULL || !iw_store_digest_valid (img->target->digest))
        {
          iw_log_warn ("containerd image %s in namespace %s has no sha256 target; skipped", img->name, ns);
          continue;
        }
      iw_store_images_add (out, img->name, ns, img->target->digest,
                           *img->target->media_type ? img->target->media_type : NULL,
                           (long long)img->target->size);
    }
  iwctd__list_images_response__free_unpacked (resp, NULL);
  return 0;
}

/* ---- content through the API ----------------------------------------- */

static int
doc_sink (const void *p, size_t n, void *ud, iw_error **err)
{
  return iw_buf_append (ud, p, n, err);
}

typedef struct api_ctx
{
  iw_containerd *c;
  char *ns;
} api_ctx;

static int
api_stat (void *ctx, const char *digest, long long *size_out, iw_error **err)
{
  api_ctx *a = ctx;
  Iwctd__InfoRequest req = IWCTD__INFO_REQUEST__INIT;
  Iwctd__InfoResponse *resp = NULL;

  req.digest = (char *)digest;
  if (call_unary ((ProtobufCMessage **)&resp, a->c, "/containerd.services.content.v1.Content/Info", a->ns,
                  &req.base, &iwctd__info_response__descriptor, LIST_MAX, err)
      < 0)
    return iw_error_wrap (err, "content info %s", digest);
  *size_out = resp->info ? (long long)resp->info->size : 0;
  iwctd__info_response__free_unpacked (resp, NULL);
  return 0;
}

typedef struct read_state
{
  iw_content_sink sink;
  void *userdata;
  long long offset; /* next expected offset */
} read_state;

static int
on_chunk (const uint8_t *p, size_t n, void *ud, iw_error **err)
{
  read_state *st = ud;
  Iwctd__ReadContentResponse *r = iwctd__read_content_response__unpack (NULL, n, p);
  int ret;

  if (r == NULL)
    return iw_error_set (err, IW_EPARSE, "cannot decode a ReadContentResponse");
  if (r->offset != st->offset)
    {
      iw_error_set (err, IW_EPARSE, "content chunk at offset %lld, expected %lld", (long long)r->offset,
                    st->offset);
      iwctd__read_content_response__free_unpacked (r, NULL);
      return -1;
    }
  st->offset += (long long)r->data.len;
  ret = r->data.len ? st->sink (r->data.data, r->data.len, st->userdata, err) : 0;
  iwctd__read_content_response__free_unpacked (r, NULL);
  return ret;
}

static int
api_read (void *ctx, const char *digest, long long limit, iw_content_sink sink, void *userdata,
          iw_error **err)
{
  api_ctx *a = ctx;
  Iwctd__ReadContentRequest req = IWCTD__READ_CONTENT_REQUEST__INIT;
  read_state st = { sink, userdata, 0 };
  iw_grpc_call call = { 0 };
  size_t len;
  uint8_t *buf;
  int ret;

  req.digest = (char *)digest;
  req.offset = 0;
  req.size = limit > 0 ? limit : 0; /* 0: to the end */
  len = iwctd__read_content_request__get_packed_size (&req);
  buf = iw_xmalloc (len);
  iwctd__read_content_request__pack (&req, buf);
  call.socket = a->c->socket;
  call.path = "/containerd.services.content.v1.Content/Read";
  call.namespace_ = a->ns;
  call.request = buf;
  call.request_len = len;
  call.max_message = CHUNK_MAX;
  call.fn = on_chunk;
  call.userdata = &st;
  ret = iw_grpc_invoke (&call, err);
  free (buf);
  if (ret < 0)
    return iw_error_wrap (err, "read content %s", digest);
  return 0;
}

static void
api_free (void *ctx)
{
  api_ctx *a = ctx;

  if (a == NULL)
    return;
  free (a->ns);
  free (a);
}

static const iw_content_ops api_ops = { api_stat, api_read, NULL, api_free };

int
iw_containerd_content (iw_content_store **out, iw_containerd *c, const char *ns, iw_error **err)
{
  iw_content_store *cs = iw_xcalloc (1, sizeof *cs);
  api_ctx *a = iw_xcalloc (1, sizeof *a);

  (void)err;
  a->c = c;
  a->ns = iw_xstrdup (ns);
  cs->ops = &api_ops;
  cs->ctx = a;
  cs->description = iw_xasprintf ("containerd:%s", c->socket);
  *out = cs;
  return 0;
}

/* ---- containers as records ------------------------------------------- */

typedef struct task_state
{
  char *id;
  Iwctd__TaskStatus status;
} task_state;

typedef struct list_state
{
  iw_containerd *c;
  const char *ns;
  Iwctd__ListImagesResponse *images;
  Iwctd__ListTasksResponse *tasks;
  char ***chains; /* per image: NULL-terminated chain IDs of its present platforms, computed on demand */
  iw_content_store *content;
  char *node;
  iw_record_fn fn;
  void *userdata;
  size_t containers;
} list_state;

static const char *
label (const Iwctd__Container *ct, const char *key)
{
  for (size_t i = 0; i < ct->n_labels; i++)
    if (strcmp (ct->labels[i]->key, key) == 0)
      return ct->labels[i]->value;
  return NULL;
}

static const Iwctd__Image *
find_image (const list_state *st, const char *name)
{
  for (size_t i = 0; st->images && i < st->images->n_images; i++)
    if (strcmp (st->images->images[i]->name, name) == 0)
      return st->images->images[i];
  return NULL;
}

/* The init process of container id.  containerd's task list gives the
 * container ID in `id` and leaves `container_id` empty; exec processes (if
 * ever listed) carry both. */
static const Iwctd__Process *
find_task (const list_state *st, const char *id)
{
  for (size_t i = 0; st->tasks && i < st->tasks->n_tasks; i++)
    {
      const Iwctd__Process *t = st->tasks->tasks[i];

      if (strcmp (t->id, id) == 0 && (*t->container_id == '\0' || strcmp (t->container_id, id) == 0))
        return t;
    }
  return NULL;
}

static char *
rfc3339 (const Iwctd__Timestamp *t)
{
  struct tm tm;
  time_t s;
  char buf[32];

  if (t == NULL || t->seconds <= 0)
    return NULL;
  s = (time_t)t->seconds;
  if (gmtime_r (&s, &tm) == NULL || strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return NULL;
  return iw_xstrdup (buf);
}

/* "repo@sha256:..." for an image name and its digest, as runtimes report
 * image IDs; NULL when the name does not parse. */
static char *
repo_digest (const char *name, const char *digest)
{
  iw_ref *r = NULL;
  char *repo, *out;
  iw_error *e = NULL;

  if (iw_ref_parse (&r, name, &e) < 0)
    {
      iw_error_free (e);
      return NULL;
    }
  repo = iw_ref_name (r);
  out = iw_xasprintf ("%s@%s", repo, digest);
  free (repo);
  iw_ref_free (r);
  return out;
}

/* ---- what a container really runs ------------------------------------ */

/* Read a small blob (an index, a manifest or a config) through the API. */
static int
read_doc (iw_buf *out, const iw_content_store *cs, const char *digest, iw_error **err)
{
  iw_buf_reset (out);
  return cs->ops->read (cs->ctx, digest, (long long)IW_MANIFEST_MAX + 1, doc_sink, out, err);
}

/* The chain ID of a config's top layer: chain(0) = diff_ids[0],
 * chain(n) = sha256(chain(n-1) + " " + diff_ids[n]), as containerd names
 * the committed snapshot an image unpacks to. */
static char *
chain_id_of_config (const char *config, size_t len)
{
  json_error_t jerr;
  json_t *root = json_loadb (config, len, JSON_REJECT_DUPLICATES, &jerr), *ids, *d;
  char chain[IW_SHA256_DIGEST_STRLEN] = "";
  size_t i;
  char *out = NULL;

  ids = json_object_get (json_object_get (root, "rootfs"), "diff_ids");
  if (!json_is_array (ids) || json_array_size (ids) == 0)
    goto done;
  json_array_foreach (ids, i, d)
  {
    const char *diff = json_is_string (d) ? json_string_value (d) : NULL;

    if (!iw_store_digest_valid (diff))
      goto done;
    if (i == 0)
      memcpy (chain, diff, IW_SHA256_DIGEST_STRLEN);
    else
      {
        char *both = iw_xasprintf ("%s %s", chain, diff);

        iw_sha256_buf (both, strlen (both), chain);
        free (both);
      }
  }
  out = iw_xstrdup (chain);
done:
  json_decref (root);
  return out;
}

static void
chains_add (char ***v, size_t *n, char *s)
{
  *v = iw_xreallocarray (*v, *n + 2, sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* Chain IDs of every platform of a manifest or index present in the store. */
static void
collect_chains (char ***v, size_t *n, const iw_content_store *cs, const char *digest, int depth)
{
  iw_buf doc = IW_BUF_INIT (IW_MANIFEST_MAX);
  iw_store_document *d = NULL;
  iw_error *e = NULL;

  if (depth > 4 || read_doc (&doc, cs, digest, &e) < 0
      || iw_store_document_parse (&d, doc.data ? doc.data : "", doc.len, NULL, &e) < 0)
    goto done;
  if (d->is_index)
    for (size_t i = 0; i < d->n_children; i++)
      collect_chains (v, n, cs, d->children[i].digest, depth + 1);
  else if (d->n_children > 0 && read_doc (&doc, cs, d->children[0].digest, &e) == 0)
    {
      char *chain = chain_id_of_config (doc.data ? doc.data : "", doc.len);

      if (chain)
        chains_add (v, n, chain);
    }
done:
  iw_error_free (e);
  iw_store_document_free (d);
  iw_buf_free (&doc);
}

static bool
image_has_chain (list_state *st, size_t i, const char *chain)
{
  const Iwctd__Image *img = st->images->images[i];

  if (st->chains[i] == NULL)
    {
      size_t n = 0;

      st->chains[i] = iw_xcalloc (1, sizeof *st->chains[i]);
      if (img->target && iw_store_digest_valid (img->target->digest))
        collect_chains (&st->chains[i], &n, st->content, img->target->digest, 0);
    }
  for (char **c = st->chains[i]; *c; c++)
    if (strcmp (*c, chain) == 0)
      return true;
  return false;
}

/* The snapshot a container runs on is a child of the snapshot its image
 * unpacked to, named by the image's chain ID.  Returns the index of the
 * image (the named one first) whose content that is, or -1 when no image
 * in the namespace has it; -2 when the container's snapshot cannot be
 * read (then nothing is known beyond the image name). */
static long
running_image (list_state *st, const Iwctd__Container *ct, const Iwctd__Image *named)
{
  Iwctd__StatSnapshotRequest req = IWCTD__STAT_SNAPSHOT_REQUEST__INIT;
  Iwctd__StatSnapshotResponse *resp = NULL;
  iw_error *e = NULL;
  char *parent = NULL;
  long found = -1;

  if (*ct->snapshot_key == '\0' || *ct->snapshotter == '\0')
    return -2;
  req.snapshotter = ct->snapshotter;
  req.key = ct->snapshot_key;
  if (call_unary ((ProtobufCMessage **)&resp, st->c, "/containerd.services.snapshots.v1.Snapshots/Stat",
                  st->ns, &req.base, &iwctd__stat_snapshot_response__descriptor, LIST_MAX, &e)
      < 0)
    {
      iw_log_debug ("container %s: snapshot %s: %s", ct->id, ct->snapshot_key, iw_error_msg (e));
      iw_error_free (e);
      return -2;
    }
  if (resp->info && iw_store_digest_valid (resp->info->parent))
    parent = iw_xstrdup (resp->info->parent);
  iwctd__stat_snapshot_response__free_unpacked (resp, NULL);
  if (parent == NULL)
    return -2;
  for (size_t i = 0; i < st->images->n_images && found < 0; i++)
    if (st->images->images[i] == named && image_has_chain (st, i, parent))
      found = (long)i;
  for (size_t i = 0; i < st->images->n_images && found < 0; i++)
    if (st->images->images[i] != named && image_has_chain (st, i, parent))
      found = (long)i;
  if (found == -1)
    iw_log_warn ("container %s in namespace %s runs on layers (chain %s) that no image in the namespace has, "
                 "not those of %s",
                 ct->id, st->ns, parent, ct->image);
  free (parent);
  return found;
}

static int
on_container (const uint8_t *p, size_t n, void *ud, iw_error **err)
{
  list_state *st = ud;
  Iwctd__ListContainerMessage *m = iwctd__list_container_message__unpack (NULL, n, p);
  const Iwctd__Container *ct;
  const char *kind, *pod, *kns, *cname;
  const Iwctd__Image *img;
  const Iwctd__Process *task;
  iw_record *r = NULL;
  long running;
  int ret = 0;

  if (m == NULL)
    return iw_error_set (err, IW_EPARSE, "cannot decode a containerd container");
  ct = m->container;
  if (ct == NULL)
    goto done;
  kind = label (ct, "io.cri-containerd.kind");
  if (kind && strcmp (kind, "sandbox") == 0)
    goto done; /* the pod's pause container */
  pod = label (ct, "io.kubernetes.pod.name");
  kns = label (ct, "io.kubernetes.pod.namespace");
  cname = label (ct, "io.kubernetes.container.name");
  r = iw_xcalloc (1, sizeof *r);
  r->source = iw_xasprintf ("containerd:%s", st->c->socket);
  r->namespace_ = iw_xstrdup (kns ? kns : st->ns);
  r->pod = iw_xstrdup (pod ? pod : ct->id);
  r->workload_kind = iw_xstrdup (pod ? "Pod" : "Container");
  r->workload_name = iw_xstrdup (pod ? pod : ct->id);
  r->container = iw_xstrdup (cname ? cname : ct->id);
  r->container_type = IW_CONTAINER_APP;
  r->node = iw_xstrdup0 (st->node);
  r->image = *ct->image ? iw_xstrdup (ct->image) : NULL;
  r->status_image = iw_xstrdup0 (r->image);
  r->pull_policy = IW_PULL_UNSET;
  img = r->image ? find_image (st, r->image) : NULL;
  running = running_image (st, ct, img);
  if (running >= 0)
    img = st->images->images[running];
  if (running == -1)
    {
      /* Nothing here holds what it runs: say so, never the name's digest. */
      memset (&r->image_id, 0, sizeof r->image_id);
      r->image_id.kind = IW_IMAGE_ID_UNKNOWN;
      r->image_id.raw = iw_xstrdup ("containerd: layers of no local image");
    }
  else if (img && img->target && iw_store_digest_valid (img->target->digest))
    {
      char *raw = repo_digest (img->name, img->target->digest);

      iw_image_id_parse (&r->image_id, raw ? raw : img->target->digest);
      free (raw);
    }
  task = find_task (st, ct->id);
  if (task == NULL || task->status == IWCTD__TASK_STATUS__CREATED
      || task->status == IWCTD__TASK_STATUS__UNKNOWN)
    r->state = iw_xstrdup ("waiting");
  else if (task->status == IWCTD__TASK_STATUS__STOPPED)
    r->state = iw_xstrdup ("terminated");
  else
    r->state = iw_xstrdup ("running");
  if (task && task->status == IWCTD__TASK_STATUS__STOPPED)
    r->phase = iw_xstrdup (task->exit_status == 0 ? "Succeeded" : "Failed");
  else
    r->phase = iw_xstrdup (strcmp (r->state, "running") == 0 ? "Running" : "Pending");
  r->started_at = rfc3339 (ct->created_at);
  st->containers++;
  ret = st->fn (iw_steal (&r), st->userdata, err);
done:
  iw_record_free (r);
  iwctd__list_container_message__free_unpacked (m, NULL);
  return ret;
}

static int
list_namespace (iw_containerd *c, const char *ns, iw_record_fn fn, void *userdata, iw_error **err)
{
  Iwctd__ListImagesRequest ireq = IWCTD__LIST_IMAGES_REQUEST__INIT;
  Iwctd__ListTasksRequest treq = IWCTD__LIST_TASKS_REQUEST__INIT;
  Iwctd__ListContainersRequest creq = IWCTD__LIST_CONTAINERS_REQUEST__INIT;
  list_state st = { c, ns, NULL, NULL, NULL, NULL, NULL, fn, userdata, 0 };
  iw_grpc_call call = { 0 };
  char host[256];
  uint8_t *buf = NULL;
  size_t len;
  int ret = -1;

  if (gethostname (host, sizeof host) == 0)
    {
      host[sizeof host - 1] = '\0';
      st.node = iw_xstrdup (host);
    }
  if (call_unary ((ProtobufCMessage **)&st.images, c, "/containerd.services.images.v1.Images/List", ns,
                  &ireq.base, &iwctd__list_images_response__descriptor, LIST_MAX, err)
      < 0)
    {
      iw_error_wrap (err, "list images in namespace %s", ns);
      goto done;
    }
  if (call_unary ((ProtobufCMessage **)&st.tasks, c, "/containerd.services.tasks.v1.Tasks/List", ns,
                  &treq.base, &iwctd__list_tasks_response__descriptor, LIST_MAX, err)
      < 0)
    {
      iw_error_wrap (err, "list tasks in namespace %s", ns);
      goto done;
    }
  st.chains = iw_xcalloc (st.images->n_images + 1, sizeof *st.chains);
  if (iw_containerd_content (&st.content, c, ns, err) < 0)
    goto done;
  len = iwctd__list_containers_request__get_packed_size (&creq);
  buf = iw_xmalloc (len ? len : 1);
  iwctd__list_containers_request__pack (&creq, buf);
  call.socket = c->socket;
  call.path = "/containerd.services.containers.v1.Containers/ListStream";
  call.namespace_ = ns;
  call.request = buf;
  call.request_len = len;
  call.max_message = CONTAINER_MAX;
  call.timeout_ms = CALL_TIMEOUT_MS;
  call.fn = on_container;
  call.userdata = &st;
  if (iw_grpc_invoke (&call, err) < 0)
    {
      Iwctd__ListContainersResponse *all = NULL;

      /* containerd before 1.3 has no ListStream: one List answer then. */
      if (err == NULL || iw_error_code (*err) != IW_EUNSUPPORTED || st.containers > 0)
        {
          iw_error_wrap (err, "list containers in namespace %s", ns);
          goto done;
        }
      iw_error_clear (err);
      if (call_unary ((ProtobufCMessage **)&all, c, "/containerd.services.containers.v1.Containers/List", ns,
                      &creq.base, &iwctd__list_containers_response__descriptor, LIST_MAX, err)
          < 0)
        {
          iw_error_wrap (err, "list containers in namespace %s", ns);
          goto done;
        }
      for (size_t i = 0; i < all->n_containers; i++)
        {
          Iwctd__ListContainerMessage m = IWCTD__LIST_CONTAINER_MESSAGE__INIT;
          size_t mlen;
          uint8_t *mbuf;
          int rc;

          m.container = all->containers[i];
          mlen = iwctd__list_container_message__get_packed_size (&m);
          mbuf = iw_xmalloc (mlen ? mlen : 1);
          iwctd__list_container_message__pack (&m, mbuf);
          rc = on_container (mbuf, mlen, &st, err);
          free (mbuf);
          if (rc < 0)
            {
              iwctd__list_containers_response__free_unpacked (all, NULL);
              goto done;
            }
        }
      iwctd__list_containers_response__free_unpacked (all, NULL);
    }
  ret = 0;
done:
  for (size_t i = 0; st.chains && i < st.images->n_images; i++)
    iw_strv_free (st.chains[i]);
  free (st.chains);
  iw_content_store_free (st.content);
  free (buf);
  free (st.node);
  if (st.images)
    iwctd__list_images_response__free_unpacked (st.images, NULL);
  if (st.tasks)
    iwctd__list_tasks_response__free_unpacked (st.tasks, NULL);
  return ret;
}

int
iw_containerd_list (iw_containerd *c, const char *ns, iw_record_fn fn, void *userdata, iw_error **err)
{
  char **all = NULL;
  int ret = 0;

  if (ns)
    return list_namespace (c, ns, fn, userdata, err);
  if (iw_containerd_namespaces (&all, c, err) < 0)
    return -1;
  for (char **p = all; *p && ret == 0; p++)
    ret = list_namespace (c, *p, fn, userdata, err);
  iw_strv_free (all);
  return ret;
}

int
iw_containerd_list_containers (const char *socket, const char *ns, iw_record_fn fn, void *userdata,
                               iw_error **err)
{
  iw_containerd *c = NULL;
  int ret;

  if (iw_containerd_open (&c, socket, err) < 0)
    return -1;
  ret = iw_containerd_list (c, ns, fn, userdata, err);
  iw_containerd_free (c);
  return ret;
}
