/*
 * manifest.c - strict parsing of manifests, indexes and image configs
 * (small documents: jansson with JSON_REJECT_DUPLICATES, so a document
 * with two `config` members is refused instead of read one way here and
 * another way by the runtime).
 */
#include "registry/manifest.h"
#include "ref/ref.h"
#include "util/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
iw_manifest_media_type_known (const char *mt)
{
  return mt
         && (strcmp (mt, IW_MT_OCI_MANIFEST) == 0 || strcmp (mt, IW_MT_OCI_INDEX) == 0
             || strcmp (mt, IW_MT_DOCKER_MANIFEST) == 0 || strcmp (mt, IW_MT_DOCKER_LIST) == 0);
}

bool
iw_manifest_media_type_is_index (const char *mt)
{
  return mt && (strcmp (mt, IW_MT_OCI_INDEX) == 0 || strcmp (mt, IW_MT_DOCKER_LIST) == 0);
}

static void
descriptor_clear (iw_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->platform);
  memset (d, 0, sizeof *d);
}

void
iw_manifest_free (iw_manifest *m)
{
  if (m == NULL)
    return;
  free (m->media_type);
  descriptor_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  free (m->layers);
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_clear (&m->manifests[i]);
  free (m->manifests);
  free (m);
}

/* A string member or NULL; a present member of another type is an error. */
static int
get_string (const char **out, json_t *obj, const char *key, const char *what, iw_error **err)
{
  json_t *v = json_object_get (obj, key);

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_string (v))
    return iw_error_set (err, IW_EPARSE, "%s: %s is not a string", what, key);
  if (strlen (json_string_value (v)) != json_string_length (v))
    return iw_error_set (err, IW_EPARSE, "%s: %s contains NUL", what, key);
  *out = json_string_value (v);
  return 0;
}

static int
parse_platform (iw_descriptor *d, json_t *pl, const char *what, iw_error **err)
{
  const char *os, *arch, *variant;

  if (pl == NULL)
    return 0;
  if (!json_is_object (pl))
    return iw_error_set (err, IW_EPARSE, "%s: platform is not an object", what);
  if (get_string (&os, pl, "os", what, err) < 0 || get_string (&arch, pl, "architecture", what, err) < 0
      || get_string (&variant, pl, "variant", what, err) < 0)
    return -1;
  if (os == NULL || arch == NULL || *os == '\0' || *arch == '\0')
    return iw_error_set (err, IW_EPARSE, "%s: platform without os or architecture", what);
  if (strcmp (os, "unknown") == 0 && strcmp (arch, "unknown") == 0)
    d->attestation = true;
  d->platform
      = variant && *variant ? iw_xasprintf ("%s/%s/%s", os, arch, variant) : iw_xasprintf ("%s/%s", os, arch);
  return 0;
}

static int
parse_descriptor (iw_descriptor *d, json_t *obj, const char *what, iw_error **err)
{
  const char *mt, *digest, *reftype = NULL;
  json_t *size, *urls, *ann;
  iw_error *e = NULL;

  if (!json_is_object (obj))
    return iw_error_set (err, IW_EPARSE, "%s: not an object", what);
  if (get_string (&mt, obj, "mediaType", what, err) < 0 || get_string (&digest, obj, "digest", what, err) < 0)
    return -1;
  if (mt == NULL || *mt == '\0')
    return iw_error_set (err, IW_EPARSE, "%s: no mediaType", what);
  if (digest == NULL)
    return iw_error_set (err, IW_EPARSE, "%s: no digest", what);
  if (iw_digest_validate (digest, &e) < 0)
    {
      iw_error_set (err, IW_EPARSE, "%s: %s", what, iw_error_msg (e));
      iw_error_free (e);
      return -1;
    }
  size = json_object_get (obj, "size");
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return iw_error_set (err, IW_EPARSE, "%s: size is not a non-negative integer", what);
  urls = json_object_get (obj, "urls");
  if (urls != NULL && !json_is_array (urls))
    return iw_error_set (err, IW_EPARSE, "%s: urls is not an array", what);
  ann = json_object_get (obj, "annotations");
  if (ann != NULL && !json_is_object (ann))
    return iw_error_set (err, IW_EPARSE, "%s: annotations is not an object", what);
  if (ann != NULL && get_string (&reftype, ann, "vnd.docker.reference.type", what, err) < 0)
    return -1;
  d->media_type = iw_xstrdup (mt);
  d->digest = iw_xstrdup (digest);
  d->size = json_integer_value (size);
  d->n_urls = urls ? json_array_size (urls) : 0;
  if (reftype && strcmp (reftype, "attestation-manifest") == 0)
    d->attestation = true;
  return parse_platform (d, json_object_get (obj, "platform"), what, err);
}

/* "application/vnd.oci.image.index.v1+json; charset=utf-8" -> the type. */
static char *
bare_content_type (const char *ct)
{
  size_t n;

  if (ct == NULL)
    return NULL;
  while (*ct == ' ')
    ct++;
  n = strcspn (ct, "; \t");
  return n ? iw_xstrndup (ct, n) : NULL;
}

static int
parse_descriptor_array (iw_descriptor **out, size_t *n_out, json_t *arr, const char *what, iw_error **err)
{
  size_t n = json_array_size (arr);

  *out = NULL;
  *n_out = 0;
  if (!json_is_array (arr))
    return iw_error_set (err, IW_EPARSE, "%s is not an array", what);
  if (n == 0)
    return 0;
  *out = iw_xcalloc (n, sizeof **out);
  for (size_t i = 0; i < n; i++)
    {
      char where[64];

      snprintf (where, sizeof where, "%s[%zu]", what, i);
      *n_out = i + 1;
      if (parse_descriptor (&(*out)[i], json_array_get (arr, i), where, err) < 0)
        return -1;
    }
  return 0;
}

int
iw_manifest_parse (iw_manifest **out, const char *body, size_t len, const char *content_type, iw_error **err)
{
  json_error_t jerr;
  json_t *root = NULL, *config, *layers, *manifests, *sv;
  iw_manifest *m = NULL;
  const char *mt;
  char *ct = bare_content_type (content_type);
  int ret = -1;

  root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    {
      iw_error_set (err, IW_EPARSE, "manifest: invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                    jerr.column);
      goto done;
    }
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "manifest: not a JSON object");
      goto done;
    }
  if (get_string (&mt, root, "mediaType", "manifest", err) < 0)
    goto done;
  sv = json_object_get (root, "schemaVersion");
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    {
      iw_error_set (err, IW_EPARSE, "manifest: schemaVersion is not 2");
      goto done;
    }
  config = json_object_get (root, "config");
  layers = json_object_get (root, "layers");
  manifests = json_object_get (root, "manifests");
  if (manifests && (config || layers))
    {
      iw_error_set (err, IW_EPARSE, "manifest: both manifests and %s (ambiguous document)",
                    config ? "config" : "layers");
      goto done;
    }
  if (mt == NULL)
    {
      /* Older OCI writers (umoci among them) omit mediaType.  The document
       * is then taken for what the server's Content-Type says, but only
       * when that is a manifest type and the structure agrees with it;
       * otherwise nothing says what it is. */
      if (ct == NULL || !iw_manifest_media_type_known (ct))
        {
          iw_error_set (err, IW_EPARSE,
                        "manifest: no mediaType and no manifest Content-Type (ambiguous document)");
          goto done;
        }
      if (iw_manifest_media_type_is_index (ct) ? manifests == NULL : config == NULL)
        {
          iw_error_set (err, IW_EPARSE,
                        "manifest: no mediaType, and the document is not the %s the Content-Type says", ct);
          goto done;
        }
      mt = ct;
    }
  if (!iw_manifest_media_type_known (mt))
    {
      iw_error_set (err, IW_EPARSE, "manifest: unsupported mediaType \"%s\"", mt);
      goto done;
    }
  if (ct && iw_manifest_media_type_known (ct) && strcmp (ct, mt) != 0)
    {
      iw_error_set (err, IW_EPARSE, "manifest: mediaType \"%s\" disagrees with Content-Type \"%s\"", mt, ct);
      goto done;
    }
  m = iw_xcalloc (1, sizeof *m);
  m->media_type = iw_xstrdup (mt);
  m->is_index = iw_manifest_media_type_is_index (mt);
  if (m->is_index)
    {
      if (manifests == NULL)
        {
          iw_error_set (err, IW_EPARSE, "manifest: an index without manifests");
          goto done;
        }
      if (parse_descriptor_array (&m->manifests, &m->n_manifests, manifests, "manifests", err) < 0)
        goto done;
    }
  else
    {
      if (manifests)
        {
          iw_error_set (err, IW_EPARSE, "manifest: an image manifest with manifests (ambiguous document)");
          goto done;
        }
      if (config == NULL)
        {
          iw_error_set (err, IW_EPARSE, "manifest: no config");
          goto done;
        }
      if (parse_descriptor (&m->config, config, "config", err) < 0)
        goto done;
      if (layers && parse_descriptor_array (&m->layers, &m->n_layers, layers, "layers", err) < 0)
        goto done;
    }
  *out = iw_steal (&m);
  ret = 0;
done:
  iw_manifest_free (m);
  json_decref (root);
  free (ct);
  return ret;
}

void
iw_image_config_free (iw_image_config *c)
{
  if (c == NULL)
    return;
  free (c->os);
  free (c->architecture);
  free (c->variant);
  free (c->created);
  for (size_t i = 0; i < c->n_labels; i++)
    {
      free (c->label_keys[i]);
      free (c->label_values[i]);
    }
  free (c->label_keys);
  free (c->label_values);
  free (c);
}

int
iw_image_config_parse (iw_image_config **out, const char *body, size_t len, iw_error **err)
{
  json_error_t jerr;
  json_t *root, *cfg, *labels;
  iw_image_config *c = NULL;
  const char *os, *arch, *variant, *created;
  int ret = -1;

  root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return iw_error_set (err, IW_EPARSE, "image config: invalid JSON: %s (line %d, column %d)", jerr.text,
                         jerr.line, jerr.column);
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "image config: not a JSON object");
      goto done;
    }
  if (get_string (&os, root, "os", "image config", err) < 0
      || get_string (&arch, root, "architecture", "image config", err) < 0
      || get_string (&variant, root, "variant", "image config", err) < 0
      || get_string (&created, root, "created", "image config", err) < 0)
    goto done;
  c = iw_xcalloc (1, sizeof *c);
  c->os = iw_xstrdup0 (os);
  c->architecture = iw_xstrdup0 (arch);
  c->variant = iw_xstrdup0 (variant);
  c->created = iw_xstrdup0 (created);
  cfg = json_object_get (root, "config");
  if (cfg != NULL && !json_is_object (cfg) && !json_is_null (cfg))
    {
      iw_error_set (err, IW_EPARSE, "image config: config is not an object");
      goto done;
    }
  labels = json_is_object (cfg) ? json_object_get (cfg, "Labels") : NULL;
  if (labels != NULL && !json_is_object (labels) && !json_is_null (labels))
    {
      iw_error_set (err, IW_EPARSE, "image config: config.Labels is not an object");
      goto done;
    }
  if (json_is_object (labels))
    {
      const char *key;
      json_t *v;
      size_t n = json_object_size (labels);

      c->label_keys = iw_xcalloc (n ? n : 1, sizeof *c->label_keys);
      c->label_values = iw_xcalloc (n ? n : 1, sizeof *c->label_values);
      json_object_foreach (labels, key, v)
      {
        if (!json_is_string (v) || strlen (json_string_value (v)) != json_string_length (v))
          {
            iw_error_set (err, IW_EPARSE, "image config: label \"%s\" is not a string", key);
            goto done;
          }
        c->label_keys[c->n_labels] = iw_xstrdup (key);
        c->label_values[c->n_labels] = iw_xstrdup (json_string_value (v));
        c->n_labels++;
      }
    }
  *out = iw_steal (&c);
  ret = 0;
done:
  iw_image_config_free (c);
  json_decref (root);
  return ret;
}

const char *
iw_image_config_label (const iw_image_config *c, const char *key)
{
  for (size_t i = 0; i < c->n_labels; i++)
    if (strcmp (c->label_keys[i], key) == 0)
      return c->label_values[i];
  return NULL;
}

char *
iw_image_config_platform (const iw_image_config *c)
{
  if (c->os == NULL || c->architecture == NULL || !*c->os || !*c->architecture)
    return NULL;
  if (c->variant && *c->variant)
    return iw_xasprintf ("%s/%s/%s", c->os, c->architecture, c->variant);
  return iw_xasprintf ("%s/%s", c->os, c->architecture);
}
