/*
 * ref.h - image references and digests, parsed and normalized exactly as
 * Docker's reference grammar (distribution/reference) does.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *
 * The first component is a domain iff it contains "." or ":" or is
 * "localhost" (or is an IPv6 literal in brackets).  Docker Hub names are
 * normalized: "nginx", "library/nginx", "docker.io/nginx" and
 * "index.docker.io/library/nginx" all become "docker.io/library/nginx".
 *
 * Ownership: iw_ref_parse() hands *out to the caller, who releases it with
 * iw_ref_free() (NULL is fine).  Strings returned by the iw_ref_*string
 * functions are owned by the caller; struct fields are borrowed.
 *
 * Errors: IW_EPARSE with a message naming the bad part, e.g.
 *   invalid reference "Docker/app": repository name must be lowercase
 */
#ifndef IW_REF_REF_H
#define IW_REF_REF_H

#include "util/error.h"

#include <stdbool.h>

#define IW_REF_NAME_MAX 255

typedef struct iw_ref
{
  char *domain; /* "docker.io", "localhost:5000", "[::1]:5000"; never NULL */
  char *path;   /* repository path, "library/nginx"; never NULL */
  char *tag;    /* NULL when the reference has none */
  char *digest; /* "sha256:<hex>"; NULL when the reference has none */
} iw_ref;

/* Parse and normalize text (Docker's ParseNormalizedNamed).  A bare 64-hex
 * string is an image ID, not a reference, and is rejected here, as is
 * "sha256:<64 hex>"; see iw_ref_is_image_id().  A reference with both a
 * tag and a digest keeps both; the digest is what identifies the image.
 * An uppercase first component ("Docker/app") is a repository name that
 * is not lowercase (Docker would take it for a registry host). */
int iw_ref_parse (iw_ref **out, const char *text, iw_error **err);

/* Parse without normalization: text must already be fully qualified
 * (Docker's ParseNamed); "nginx" is an error. */
int iw_ref_parse_canonical (iw_ref **out, const char *text, iw_error **err);

void iw_ref_free (iw_ref *r);
iw_ref *iw_ref_dup (const iw_ref *r);

/* "docker.io/library/nginx" */
char *iw_ref_name (const iw_ref *r);
/* Full canonical form: "docker.io/library/nginx:1.25@sha256:..." (tag and
 * digest only when present). */
char *iw_ref_string (const iw_ref *r);
/* Familiar (short) form as Docker prints it: "nginx:1.25",
 * "user/app", "quay.io/x/y@sha256:...".  Unlike Docker, a Docker Hub
 * repository whose first component looks like a host keeps its domain
 * ("docker.io/foo.com/app"), so the familiar form always parses back to
 * the same reference. */
char *iw_ref_familiar (const iw_ref *r);

/* The host to talk to for the distribution API: "registry-1.docker.io"
 * for docker.io, otherwise the domain.  Borrowed, static or from r. */
const char *iw_ref_api_host (const iw_ref *r);

/* The tag to resolve: the tag, or "latest" when the reference has neither
 * tag nor digest; NULL when it has only a digest.  Borrowed. */
const char *iw_ref_effective_tag (const iw_ref *r);

/* True when the reference has neither tag nor digest (implicit latest). */
bool iw_ref_is_implicit_latest (const iw_ref *r);

/* True for a bare image ID: 64 lowercase hex, or "sha256:" + 64 hex. */
bool iw_ref_is_image_id (const char *text);

/* "sha256:<hex>" for an image ID as iw_ref_is_image_id() accepts it (a
 * bare 64-hex ID gains the prefix), NULL for anything else.  Caller frees. */
char *iw_ref_image_id (const char *text);

/* True when a and b have the same domain, path, tag and digest. */
bool iw_ref_equal (const iw_ref *a, const iw_ref *b);

/* Validate a digest string: "sha256:" + 64 lowercase hex or "sha512:" +
 * 128 lowercase hex.  The error names the bad part. */
int iw_digest_validate (const char *digest, iw_error **err);

#endif
