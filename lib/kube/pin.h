/*
 * pin.h - find the image fields of Kubernetes manifests in their text and
 * rewrite them to tag@digest, changing nothing else, byte for byte.
 *
 * The input is YAML (one or many documents, comments, anchors, aliases,
 * merge keys) or JSON.  Objects of kind Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, ReplicationController, Job, CronJob and
 * PodTemplate are understood, also inside a List (or any *List) at any
 * depth; the image of every container, init container and ephemeral
 * container is a site.  Other kinds are left alone.
 *
 * Sites are located with libyaml's event parser: the scalar's token range
 * (quotes included, anchors and tags excluded) is mapped to byte offsets
 * in the original text, and only those bytes are replaced.  A plain
 * scalar stays plain, a single- or double-quoted one keeps its quotes
 * (a JSON string stays a JSON string).  One exception keeps the output
 * readable by stricter parsers: a plain scalar inside a flow collection
 * ({...} or [...]) whose old value had no ':' is double-quoted, since
 * some YAML 1.1 parsers reject "x:y" there.  Every rewrite is parsed back
 * before it is returned: the same sites must come out with the expected
 * values, or nothing is returned.
 *
 * Input size is capped at IW_PIN_MAX bytes.
 *
 * Ownership: arrays and strings returned through out parameters belong to
 * the caller (iw_pin_sites_free, free).  Inputs are borrowed.
 *
 * Errors: IW_EPARSE for invalid YAML ("NAME:LINE:COL: ..."), an image
 * that is not a string, or an anchor shared between an image and other
 * fields; IW_EUNSUPPORTED for block scalars (| or >) as images and for
 * UTF-16 input; IW_ETOOBIG over the cap; IW_EINTEGRITY when a rewrite does
 * not parse back as expected (a bug: nothing is written).
 */
#ifndef IW_KUBE_PIN_H
#define IW_KUBE_PIN_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

#define IW_PIN_MAX (64 * 1024 * 1024)

typedef enum iw_pin_style
{
  IW_PIN_PLAIN = 0,
  IW_PIN_SINGLE_QUOTED,
  IW_PIN_DOUBLE_QUOTED,
} iw_pin_style;

/* One image field in the text. */
typedef struct iw_pin_site
{
  size_t start, end;  /* byte range of the scalar token, quotes included */
  size_t line, col;   /* 1-based position of start */
  iw_pin_style style; /* as written */
  bool flow;          /* inside a flow collection ({...}, [...], JSON) */
  char *value;        /* the image, as a YAML parser reads it */
  char *where;        /* "Deployment/web container app", for messages */
} iw_pin_site;

/* Locate the image sites of text (len bytes; NUL not needed).  name is
 * used in error messages ("deploy.yaml", "<stdin>").  *out receives a new
 * array of *n_out sites in text order, each once even when aliases make
 * several fields share it (*out is NULL when there are none). */
int iw_pin_locate (iw_pin_site **out, size_t *n_out, const char *text, size_t len, const char *name,
                   iw_error **err);

void iw_pin_sites_free (iw_pin_site *sites, size_t n);

/* The pinned form of an image: the reference as written with "@digest"
 * appended ("nginx:1.25" -> "nginx:1.25@sha256:...").  Caller frees. */
char *iw_pin_pinned (const char *image, const char *digest);

/* Rewrite text: values[i] is the new value of sites[i], or NULL to keep
 * it.  *out receives the new text (NUL-terminated, *out_len bytes, caller
 * frees), verified to parse back with the same sites and the new values.
 * Sites must be those iw_pin_locate() returned for this text. */
int iw_pin_apply (char **out, size_t *out_len, const char *text, size_t len, const char *name,
                  const iw_pin_site *sites, const char *const *values, size_t n, iw_error **err);

/* A unified diff (3 lines of context, "--- a/NAME" and "+++ b/NAME"
 * headers) of the same rewrite; *out is "" when no value changes.
 * Caller frees. */
int iw_pin_diff (char **out, const char *text, size_t len, const char *name, const iw_pin_site *sites,
                 const char *const *values, size_t n, iw_error **err);

#endif
