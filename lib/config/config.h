/*
 * config.h - imgwatch's configuration: trust policy and registry settings.
 *
 * YAML, also valid as a ConfigMap's data (see DESIGN.md):
 *
 *   trustedRegistries: ["registry.example.com", "*.jfrog.io", "docker.io/library/*"]
 *   movingTags: [latest, stable, prod, production, main, master, dev, edge, nightly]
 *   registries:
 *     "127.0.0.1:5000": {insecure: true}
 *     "registry.example.com": {ca: /etc/imgwatch/ca.pem, username: ci, passwordFile: /run/secrets/pw}
 *   mirrors: {"docker.io": ["mirror.example.com"]}
 *   severity: {moving-tag: low}
 *   exemptions: [{namespace: kube-system, checks: [moving-tag]}]
 *
 * Errors are IW_EPOLICY (or IW_EPARSE for malformed YAML) and name
 * file:line and the key: "config.yaml:7: registries.x.insecure: expected true or false".
 *
 * Ownership: iw_config_load() hands *out to the caller; iw_config_free()
 * releases it (NULL is fine).  Everything inside is owned by the config.
 */
#ifndef IW_CONFIG_CONFIG_H
#define IW_CONFIG_CONFIG_H

#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct iw_registry_settings {
  char *host;          /* the key as written: "127.0.0.1:5000", "registry.example.com" */
  bool insecure;       /* plain HTTP; only when asked */
  char *ca;            /* CA bundle path, or NULL for the system CAs */
  char *username;      /* or NULL */
  char *password_file; /* or NULL; the password is read at use, never stored in logs */
  int max_concurrency; /* 0 = default (16) */
} iw_registry_settings;

typedef struct iw_mirror {
  char *registry;  /* "docker.io" */
  char **mirrors;  /* NULL-terminated hosts */
} iw_mirror;

typedef struct iw_severity_override {
  char *check;     /* "moving-tag" */
  char *severity;  /* "critical", "high", "medium", "low", "info" */
} iw_severity_override;

typedef struct iw_exemption {
  char *namespace_; /* NULL = any */
  char *image;      /* a pattern like trustedRegistries entries, NULL = any */
  char **checks;    /* NULL-terminated; NULL = all checks */
} iw_exemption;

typedef struct iw_config {
  char *path;              /* where it was read from, or NULL for defaults */
  bool has_trusted;        /* trustedRegistries was given */
  char **trusted;          /* NULL-terminated patterns */
  char **moving_tags;      /* NULL-terminated; defaults when not given */
  iw_registry_settings *registries;
  size_t n_registries;
  iw_mirror *mirrors;
  size_t n_mirrors;
  iw_severity_override *severity;
  size_t n_severity;
  iw_exemption *exemptions;
  size_t n_exemptions;
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

/* Does image name (domain/path, e.g. "docker.io/library/nginx") match a
 * trustedRegistries pattern?  Patterns match on domain and path
 * boundaries: "docker.io" matches "docker.io/x/y" but not
 * "docker.io.evil.com/x"; "*.jfrog.io" matches one or more leading labels;
 * "docker.io/library/*" matches repositories under that path. */
bool iw_config_pattern_match (const char *pattern, const char *name);
bool iw_config_is_trusted (const iw_config *c, const char *name);

bool iw_config_is_moving_tag (const iw_config *c, const char *tag);

#endif
