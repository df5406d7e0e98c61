// config.h - imgwatch's configuration: trust policy and registry settings.
//
// (Line comments here, because the patterns below contain a slash-star.)
// YAML, also valid as a ConfigMap's data (see DESIGN.md and docs/config.md):
//
//   trustedRegistries: ["registry.example.com", "*.jfrog.io", "docker.io/library/*"]
//   movingTags: [latest, stable, prod, production, main, master, dev, edge, nightly]
//   registries:
//     "127.0.0.1:5000": {insecure: true}
//     "registry.example.com": {ca: /etc/imgwatch/ca.pem, username: ci, passwordFile: /run/secrets/pw}
//   mirrors: {"docker.io": ["mirror.example.com"]}
//   severity: {moving-tag: low}
//   exemptions: [{namespace: kube-system, checks: [moving-tag]}]
//   admission: {denyUntrusted: true, denyMovingTags: true, requireDigest: false,
//               mutate: true, onRegistryError: deny}
//
// Errors are IW_EPOLICY (IW_EPARSE for malformed YAML, IW_ETOOBIG over
// 1 MiB, IW_EIO when the file cannot be read) and name file:line and the
// key: 'config.yaml:7: registries."127.0.0.1:5000".insecure: expected true
// or false, got "yes please"'.
//
// Ownership: iw_config_load() and iw_config_parse() hand *out to the
// caller; iw_config_free() releases it (NULL is fine).  Everything inside
// is owned by the config; pointers returned by the lookups are borrowed.
// Every query accepts c == NULL and answers as for the defaults.
#ifndef IW_CONFIG_CONFIG_H
#define IW_CONFIG_CONFIG_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct iw_registry_settings
{
  char *host;          /* the key as written: "127.0.0.1:5000", "registry.example.com" */
  bool insecure;       /* plain HTTP; only when asked */
  char *ca;            /* CA bundle path, or NULL for the system CAs */
  char *username;      /* or NULL */
  char *password_file; /* or NULL; the password is read at use, never stored in logs */
  int max_concurrency; /* 0 = default (16) */
} iw_registry_settings;

typedef struct iw_mirror
{
  char *registry; /* "docker.io" */
  char **mirrors; /* NULL-terminated hosts */
} iw_mirror;

typedef struct iw_severity_override
{
  char *check;    /* "moving-tag" */
  char *severity; /* "critical", "high", "medium", "low", "info" */
} iw_severity_override;

typedef struct iw_exemption
{
  char *namespace_; /* NULL = any */
  char *image;      /* a pattern like trustedRegistries entries, NULL = any */
  char **checks;    /* NULL-terminated; NULL = all checks */
} iw_exemption;

// The policy of serve's admission webhooks (docs/admission.md).
typedef struct iw_admission_policy
{
  bool deny_untrusted;          // denyUntrusted: images outside trustedRegistries (default true)
  bool deny_moving_tags;        // denyMovingTags: a movingTags tag (or none) without a digest (true)
  bool require_digest;          // requireDigest: any image without a digest (false)
  bool mutate;                  // mutate: /admission/mutate pins tags to digests (true)
  bool allow_on_registry_error; // onRegistryError: allow (default deny)
} iw_admission_policy;

typedef struct iw_config
{
  char *path;         /* where it was read from, or NULL for defaults */
  bool has_trusted;   /* trustedRegistries was given */
  char **trusted;     /* NULL-terminated patterns */
  char **moving_tags; /* NULL-terminated; defaults when not given */
  iw_registry_settings *registries;
  size_t n_registries;
  iw_mirror *mirrors;
  size_t n_mirrors;
  iw_severity_override *severity;
  size_t n_severity;
  iw_exemption *exemptions;
  size_t n_exemptions;
  iw_admission_policy admission;
} iw_config;

/* The defaults: no trusted list, the default moving tags, nothing else. */
iw_config *iw_config_new_default (void);

/* Load a YAML file (or "-" for stdin).  A ConfigMap (kind: ConfigMap) is
 * accepted: its data."config.yaml" (or its only data key) is parsed. */
int iw_config_load (iw_config **out, const char *path, iw_error **err);

/* Parse YAML text; name is used in error messages. */
int iw_config_parse (iw_config **out, const char *text, size_t len, const char *name, iw_error **err);

void iw_config_free (iw_config *c);

/* The settings for a registry host ("docker.io" also matches its API host), or NULL. */
const iw_registry_settings *iw_config_registry (const iw_config *c, const char *host);

// Does an image name (normalized domain/path, as iw_ref_name() gives,
// e.g. "docker.io/library/nginx") match a pattern?  The pattern is
// normalized like a reference first ("nginx" is docker.io/library/nginx,
// "index.docker.io" is docker.io); the name is taken as given.
//   "docker.io"            the registry: matches "docker.io/x/y", not
//                          "docker.io.evil.com/x" nor "evildocker.io/x".
//   "*.jfrog.io"           one or more labels before .jfrog.io: "acme.jfrog.io/x",
//                          "a.b.jfrog.io/x"; not "jfrog.io/x".
//   "127.0.0.1:5000"       that port only; "localhost" matches no port.
//   "quay.io/org"          the repository quay.io/org and anything under
//                          "quay.io/org/"; not "quay.io/organic".
//   "docker.io/library/*"  strictly under docker.io/library/, at any depth.
// Domains compare case-insensitively.  An invalid pattern matches nothing.
bool iw_config_pattern_match (const char *pattern, const char *name);
/* Does name match any trustedRegistries pattern?  True when no trusted
 * list is configured (has_trusted is false): the untrusted-registry check
 * cannot apply then, and callers say so with has_trusted. */
bool iw_config_is_trusted (const iw_config *c, const char *name);

/* Is tag one of movingTags (the defaults when not configured, or when c is
 * NULL)?  Tags compare case-sensitively; NULL is not a moving tag (callers
 * judge implicit latest with iw_ref_effective_tag()). */
bool iw_config_is_moving_tag (const iw_config *c, const char *tag);

// Normalize a pattern as the config does ("nginx" becomes
// "docker.io/library/nginx", "index.docker.io" becomes "docker.io", the
// domain is lowercased).  *out is the caller's.  IW_EPOLICY names what is
// wrong with an invalid pattern.
int iw_config_pattern_normalize (char **out, const char *pattern, iw_error **err);

/* One of the check names the config knows ("moving-tag", ...). */
bool iw_config_is_known_check (const char *check);

/* The configured severity for a check ("low", ...), or NULL when the
 * default applies.  Borrowed. */
const char *iw_config_severity (const iw_config *c, const char *check);

/* The mirrors of a registry host (NULL-terminated, borrowed), or NULL.
 * Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io) are
 * one registry. */
const char *const *iw_config_mirrors (const iw_config *c, const char *registry);

/* Does an exemption cover this check for an image (normalized name, as
 * iw_ref_name() gives) in a namespace?  A NULL namespace_ or name only
 * matches exemptions that do not restrict it. */
bool iw_config_is_exempt (const iw_config *c, const char *namespace_, const char *name, const char *check);

#endif
