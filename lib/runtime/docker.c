/*
 * docker.c - Docker Engine API over a unix socket with libcurl: containers
 * and images (with RepoDigests) become container records.
 */
#include "runtime/docker.h"
#include "ref/ref.h"
#include "util/buf.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX (64 * IW_MIB)
#define API_VERSION "v1.40"

static size_t
on_body (char *p, size_t size, size_t nmemb, void *ud)
{
  iw_buf *b = ud;

  if (iw_buf_append (b, p, size * nmemb, NULL) < 0)
    return 0;
  return size * nmemb;
}

/* GET path from the engine into out. */
static int
get (iw_buf *out, const char *socket, const char *path, iw_error **err)
{
  CURL *h = curl_easy_init ();
  char *url = iw_xasprintf ("http://localhost/" API_VERSION "%s", path);
  long status = 0;
  CURLcode rc;
  int ret = -1;

  if (h == NULL)
    {
      free (url);
      return iw_error_set (err, IW_ENOMEM, "curl_easy_init failed");
    }
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_UNIX_SOCKET_PATH, socket);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "imgwatch");
  rc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_WRITE_ERROR && out->len + CURL_MAX_WRITE_SIZE > out->max)
    iw_error_set (err, IW_ETOOBIG, "GET %s: the answer is over %zu bytes", path, out->max);
  else if (rc == CURLE_COULDNT_CONNECT)
    iw_error_set (err, IW_ENET, "cannot connect to Docker Engine at %s: %s", socket, curl_easy_strerror (rc));
  else if (rc == CURLE_OPERATION_TIMEDOUT)
    iw_error_set (err, IW_ETIMEOUT, "GET %s from %s: timed out", path, socket);
  else if (rc != CURLE_OK)
    iw_error_set (err, IW_ENET, "GET %s from %s: %s", path, socket, curl_easy_strerror (rc));
  else if (status != 200)
    iw_error_set (err, status == 401 || status == 403 ? IW_EAUTH : IW_ESERVER, "GET %s: HTTP %ld: %.200s",
                  path, status, iw_buf_cstr (out));
  else
    ret = 0;
  curl_easy_cleanup (h);
  free (url);
  return ret;
}

static const char *
str (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);

  return json_is_string (v) ? json_string_value (v) : NULL;
}

/* The repository ("docker.io/library/nginx") of an image reference, or
 * NULL; caller frees. */
static char *
repository_of (const char *image)
{
  iw_ref *r = NULL;
  iw_error *e = NULL;
  char *name;

  if (image == NULL || iw_ref_parse (&r, image, &e) < 0)
    {
      iw_error_free (e);
      return NULL;
    }
  name = iw_ref_name (r);
  iw_ref_free (r);
  return name;
}

/* "docker-pullable://repo@sha256:..." from the image's RepoDigests whose
 * repository is the container's, else the first one; NULL when none. */
static char *
pullable_id (json_t *image, const char *container_image)
{
  json_t *digests = json_object_get (image, "RepoDigests"), *d;
  char *want = repository_of (container_image);
  const char *first = NULL, *match = NULL;
  size_t i;
  char *out = NULL;

  json_array_foreach (digests, i, d)
  {
    const char *s = json_is_string (d) ? json_string_value (d) : NULL;
    const char *at = s ? strchr (s, '@') : NULL;
    char *repo;

    if (at == NULL)
      continue;
    if (first == NULL)
      first = s;
    repo = repository_of (s);
    if (want && repo && strcmp (repo, want) == 0 && match == NULL)
      match = s;
    free (repo);
  }
  if (match || first)
    out = iw_xasprintf ("docker-pullable://%s", match ? match : first);
  free (want);
  return out;
}

static char *
rfc3339 (json_t *created)
{
  struct tm tm;
  time_t s;
  char buf[32];

  if (!json_is_integer (created) || json_integer_value (created) <= 0)
    return NULL;
  s = (time_t)json_integer_value (created);
  if (gmtime_r (&s, &tm) == NULL || strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return NULL;
  return iw_xstrdup (buf);
}

static const char *
state_of (const char *docker_state)
{
  if (docker_state == NULL)
    return NULL;
  if (strcmp (docker_state, "running") == 0 || strcmp (docker_state, "paused") == 0
      || strcmp (docker_state, "restarting") == 0)
    return "running";
  if (strcmp (docker_state, "exited") == 0 || strcmp (docker_state, "dead") == 0)
    return "terminated";
  return "waiting"; /* created, removing */
}

int
iw_docker_records_from_json (const char *containers, size_t containers_len, const char *images,
                             size_t images_len, const char *source, iw_record_fn fn, void *userdata,
                             iw_error **err)
{
  json_error_t jerr;
  json_t *cs = NULL, *is = NULL, *c;
  size_t i;
  int ret = -1;

  cs = json_loadb (containers, containers_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_array (cs))
    {
      iw_error_set (err, IW_EPARSE, "containers: %s", cs ? "not a JSON array" : jerr.text);
      goto done;
    }
  is = json_loadb (images, images_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_array (is))
    {
      iw_error_set (err, IW_EPARSE, "images: %s", is ? "not a JSON array" : jerr.text);
      goto done;
    }
  json_array_foreach (cs, i, c)
  {
    json_t *labels = json_object_get (c, "Labels"), *names = json_object_get (c, "Names"), *img = NULL, *e;
    const char *id = str (c, "Id"), *image = str (c, "Image"), *image_id = str (c, "ImageID");
    const char *pod = str (labels, "io.kubernetes.pod.name"),
               *kns = str (labels, "io.kubernetes.pod.namespace");
    const char *cname = str (labels, "io.kubernetes.container.name"),
               *dtype = str (labels, "io.kubernetes.docker.type");
    const char *name = NULL;
    char *raw = NULL;
    iw_record *r;
    size_t k;

    if (!json_is_object (c) || id == NULL)
      {
        iw_error_set (err, IW_EPARSE, "containers[%zu]: not a container (no Id)", i);
        goto done;
      }
    if (dtype && strcmp (dtype, "podsandbox") == 0)
      continue;
    if (json_is_array (names) && json_is_string (json_array_get (names, 0)))
      {
        name = json_string_value (json_array_get (names, 0));
        if (*name == '/')
          name++;
      }
    if (name == NULL || *name == '\0')
      name = id;
    json_array_foreach (is, k, e)
    {
      if (image_id && str (e, "Id") && strcmp (str (e, "Id"), image_id) == 0)
        {
          img = e;
          break;
        }
    }
    raw = img ? pullable_id (img, image) : NULL;
    if (raw == NULL && image_id && strncmp (image_id, "sha256:", 7) == 0)
      raw = iw_xasprintf ("docker://%s", image_id);
    r = iw_xcalloc (1, sizeof *r);
    r->source = iw_xstrdup (source);
    r->namespace_ = iw_xstrdup (kns ? kns : "docker");
    r->pod = iw_xstrdup (pod ? pod : name);
    r->workload_kind = iw_xstrdup (pod ? "Pod" : "Container");
    r->workload_name = iw_xstrdup (pod ? pod : name);
    r->container = iw_xstrdup (cname ? cname : name);
    r->container_type = IW_CONTAINER_APP;
    r->image = iw_xstrdup0 (image);
    r->status_image = iw_xstrdup0 (image);
    iw_image_id_parse (&r->image_id, raw);
    free (raw);
    r->state = iw_xstrdup0 (state_of (str (c, "State")));
    r->phase = iw_xstrdup (r->state && strcmp (r->state, "running") == 0 ? "Running" : "Pending");
    r->started_at = rfc3339 (json_object_get (c, "Created"));
    {
      char host[256];

      if (gethostname (host, sizeof host) == 0)
        {
          host[sizeof host - 1] = '\0';
          r->node = iw_xstrdup (host);
        }
    }
    if (fn (r, userdata, err) < 0)
      goto done;
  }
  ret = 0;
done:
  json_decref (cs);
  json_decref (is);
  return ret;
}

int
iw_docker_list_containers (const char *socket, iw_record_fn fn, void *userdata, iw_error **err)
{
  iw_buf cs = IW_BUF_INIT (ANSWER_MAX), is = IW_BUF_INIT (ANSWER_MAX);
  char *source = iw_xasprintf ("docker:%s", socket);
  int ret = -1;

  curl_global_init (CURL_GLOBAL_DEFAULT);
  if (access (socket, F_OK) < 0)
    {
      iw_error_set (err, IW_ENET, "cannot connect to Docker Engine at %s: no such socket", socket);
      goto done;
    }
  if (get (&cs, socket, "/containers/json?all=1", err) < 0 || get (&is, socket, "/images/json", err) < 0)
    goto done;
  if (iw_docker_records_from_json (cs.data, cs.len, is.data, is.len, source, fn, userdata, err) < 0)
    {
      iw_error_wrap (err, "Docker Engine at %s", socket);
      goto done;
    }
  ret = 0;
done:
  iw_buf_free (&cs);
  iw_buf_free (&is);
  free (source);
  return ret;
}
