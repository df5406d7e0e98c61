/*
 * internal.h - pieces of the registry client shared between its files and
 * with the unit tests and fuzz targets: WWW-Authenticate parsing,
 * Retry-After parsing, token responses and credential lookup.  Not for
 * other modules.
 */
#ifndef IW_REGISTRY_INTERNAL_H
#define IW_REGISTRY_INTERNAL_H

#include "config/config.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One auth-param of a challenge; name lowercased, value unquoted. */
typedef struct iw_auth_param
{
  char *name;
  char *value;
} iw_auth_param;

/* One challenge of a WWW-Authenticate header (RFC 9110 11.6.1). */
typedef struct iw_auth_challenge
{
  char *scheme;  /* lowercased: "bearer", "basic", ... */
  char *token68; /* or NULL */
  iw_auth_param *params;
  size_t n_params;
} iw_auth_challenge;

typedef struct iw_auth_challenges
{
  iw_auth_challenge *items;
  size_t n;
} iw_auth_challenges;

/* Parse a WWW-Authenticate value (several header lines may be joined
 * with ", ").  Fails with IW_EPARSE on malformed input (unterminated
 * quotes, missing scheme, junk); *out is then empty. */
int iw_auth_challenges_parse (iw_auth_challenges *out, const char *value, iw_error **err);
void iw_auth_challenges_clear (iw_auth_challenges *c);

/* The challenge with this (case-insensitive) scheme, or NULL.  Borrowed. */
const iw_auth_challenge *iw_auth_challenges_find (const iw_auth_challenges *c, const char *scheme);

/* The value of a param (case-insensitive name), or NULL.  Borrowed. */
const char *iw_auth_challenge_param (const iw_auth_challenge *c, const char *name);

/* A token endpoint's JSON reply: `token` or `access_token`, `expires_in`
 * (default 60 s, as the spec says), `issued_at` ignored.  *out_token is
 * the caller's. */
int iw_auth_token_parse (char **out_token, long *expires_in, const char *body, size_t len, iw_error **err);

/* Is this host a loopback address ("127.x.y.z", "::1", "localhost"),
 * with or without a port? */
bool iw_auth_host_is_loopback (const char *host);

/* Parse a Retry-After value: delta-seconds ("120"), an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT") or a unix timestamp (an integer of
 * 1,000,000,000 or more).  *out_ms is the wait from now, clamped to
 * [0, max_ms].  IW_EPARSE for anything else. */
int iw_retry_after_parse (long *out_ms, const char *value, time_t now, long max_ms, iw_error **err);

/* Credentials for a registry host: a username and password, or an
 * identity token (an OAuth2 refresh token, from `identitytoken` in
 * docker's auths or a helper's "<token>" username), which only a token
 * realm can use. */
typedef struct iw_creds
{
  char *username;
  char *password;
  char *identity_token;
} iw_creds;

void iw_creds_clear (iw_creds *c);

/* Look up credentials for host ("127.0.0.1:5000", "docker.io" or its API
 * host): the imgwatch config's username/passwordFile first, then docker's
 * config.json in docker_config_dir (or $DOCKER_CONFIG, or ~/.docker):
 * credHelpers[host], credsStore, auths[host].auth or username/password.
 * Returns 1 with *out filled when found, 0 when there are none, < 0 on
 * error (an unreadable password file, a malformed config.json, a failing
 * helper). */
int iw_creds_lookup (iw_creds *out, const iw_config *cfg, const char *host, const char *docker_config_dir,
                     bool use_docker_config, iw_error **err);

/* Parse docker's config.json text for host (no helpers are run: a helper
 * name is returned in *out_helper, caller frees).  Returns 1 when auths
 * gave credentials, 0 otherwise. */
int iw_creds_from_docker_json (iw_creds *out, char **out_helper, const char *json, size_t len,
                               const char *host, iw_error **err);

/* Decode a docker `auth` value (base64 of "user:password") into
 * out->username and out->password (caller clears).  IW_EPARSE when it is
 * not base64, holds a NUL or has no colon. */
int iw_creds_decode_auth (iw_creds *out, const char *b64, iw_error **err);

/* One registry's credentials from a Kubernetes pull secret. */
typedef struct iw_pull_auth
{
  char *host; /* normalized as kubelet does: "docker.io", "127.0.0.1:5000" */
  char *path; /* a repository prefix the entry is scoped to ("team/app"), or NULL */
  iw_creds creds;
} iw_pull_auth;

/* Parse the decoded content of a pull secret: `.dockerconfigjson`
 * ({"auths": {KEY: ENTRY}}) or the legacy `.dockercfg` ({KEY: ENTRY}),
 * with duplicate keys rejected.  KEY may be a host, host/path or a URL
 * ("https://index.docker.io/v1/" is docker.io; "/v1/" and "/v2/" path
 * prefixes are dropped); ENTRY gives base64 `auth`, or `username` and
 * `password`.  Entries with wildcards in the host, without usable
 * credentials or that are not objects are skipped (counted in
 * *out_skipped, which may be NULL).  *out is a new array of *out_n
 * entries, in key order; release it with iw_pull_auths_free.  IW_EPARSE
 * for invalid JSON, a non-object document, or an `auth` that is not
 * base64 of user:password. */
int iw_pull_auths_parse (iw_pull_auth **out, size_t *out_n, size_t *out_skipped, const char *json, size_t len,
                         iw_error **err);
void iw_pull_auths_free (iw_pull_auth *a, size_t n);

/* Normalize a docker config key to a registry host (and optional path),
 * as kubelet does.  Returns 0, or < 0 (IW_EPARSE) for an empty or
 * wildcard host.  *out_host and *out_path (NULL when none) are the
 * caller's. */
int iw_pull_key_normalize (char **out_host, char **out_path, const char *key, iw_error **err);

#endif
