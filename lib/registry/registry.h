/*
 * registry.h - the OCI Distribution API client: tag -> digest, manifests
 * and indexes by digest (always hashed), config labels, and three-state
 * existence checks, for thousands of references at once.
 *
 * One iw_registry holds a libcurl multi handle (connection reuse, HTTP/2
 * where offered), a host table (scheme, CA, credentials, token cache,
 * concurrency accounting, circuit breaker) and metrics.  Work is submitted
 * in batches: iw_registry_resolve_many() makes one request per distinct
 * (registry, repository, tag or digest) and runs them concurrently,
 * bounded per registry (default 16) and overall (default 64).
 *
 * Trust rules the client enforces, whatever the server says:
 *   - a body fetched by digest is hashed; a mismatch is IW_EINTEGRITY and
 *     the message names both digests;
 *   - when HEAD gives no Docker-Content-Digest the manifest is fetched and
 *     hashed; a GET whose header digest differs from the body hash fails;
 *   - ambiguous manifests (an index with layers/config, no mediaType, a
 *     mediaType that disagrees with Content-Type, duplicate keys) fail;
 *   - TLS is verified (system CAs, or the registry's `ca`); plain HTTP
 *     only for registries configured `insecure: true`, never as fallback;
 *   - credentials go only to the registry host itself, or to its token
 *     realm over HTTPS (or loopback); never across a redirect to another
 *     scheme, host or port; foreign-layer URLs are never fetched;
 *   - tags resolve only against the authoritative registry; mirrors
 *     serve fetches by digest only, and those are verified too.
 *
 * Threads: an iw_registry is used by one thread at a time, except
 * iw_registry_metrics_get(), which any thread may call.
 *
 * Ownership: iw_registry_new() hands *out to the caller, released with
 * iw_registry_free() (NULL is fine).  The config passed to it is copied.
 * Result arrays are owned by the caller and released with the matching
 * _free function.
 */
#ifndef IW_REGISTRY_REGISTRY_H
#define IW_REGISTRY_REGISTRY_H

#include "config/config.h"
#include "ref/ref.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iw_registry iw_registry;

/* Called from inside the batch calls after each finished item. */
typedef void (*iw_registry_progress_fn) (void *data, size_t done, size_t total);

/* Zero in any field means "the default" (given in the comments). */
typedef struct iw_registry_options
{
  long connect_timeout_ms;       /* 10000 */
  long request_timeout_ms;       /* total deadline of one request: 30000 */
  long low_speed_limit;          /* bytes/s below which ... */
  long low_speed_time;           /* ... for this many seconds a transfer is aborted: 1024, 10 */
  int max_per_host;              /* concurrent requests per registry: 16 (a registry's own
                                    max_concurrency in the config wins) */
  int max_total;                 /* concurrent requests overall: 64 */
  int max_retries;               /* retries after 5xx, 429 or a reset connection: 3 */
  long retry_base_ms;            /* first backoff; doubles each retry, with jitter: 200 */
  long retry_after_max_ms;       /* cap on a 429's Retry-After: 60000 */
  int breaker_threshold;         /* consecutive failures that open a registry's circuit: 5 */
  long breaker_cooldown_ms;      /* how long it stays open: 30000 */
  const char *user_agent;        /* "imgwatch/<version>" */
  const char *docker_config_dir; /* instead of $DOCKER_CONFIG or ~/.docker */
  bool no_docker_config;         /* do not read docker's config.json at all */
  iw_registry_progress_fn progress;
  void *progress_data;
} iw_registry_options;

#define IW_REGISTRY_OPTIONS_INIT                                                                             \
  {                                                                                                          \
    0                                                                                                        \
  }

/* What to fetch beyond the digest.  Without flags a tag costs one HEAD
 * (plus a GET when the registry gives no Docker-Content-Digest). */
enum
{
  /* GET the manifest or index (by digest, verified) to learn the media
   * type's content: index children, and a manifest's config digest. */
  IW_RESOLVE_MANIFEST = 1 << 0,
  /* Also GET each index child (verified) for its config digest. */
  IW_RESOLVE_CHILDREN = 1 << 1,
  /* Also GET the config blobs (verified) for labels, `created` and the
   * platform of single manifests.  Implies the two above. */
  IW_RESOLVE_LABELS = 1 << 2,
};

/* Labels read from an image config (config.Labels and `created`).  Any
 * field may be NULL. */
typedef struct iw_image_labels
{
  char *source;         /* org.opencontainers.image.source */
  char *revision;       /* org.opencontainers.image.revision */
  char *authors;        /* org.opencontainers.image.authors */
  char *created;        /* org.opencontainers.image.created */
  char *version;        /* org.opencontainers.image.version */
  char *title;          /* org.opencontainers.image.title */
  char *config_created; /* the config's own "created" */
} iw_image_labels;

/* One platform manifest of an index (attestations are skipped). */
typedef struct iw_platform_child
{
  char *platform;         /* "linux/amd64", "linux/arm64/v8" */
  char *digest;           /* the child manifest digest */
  char *media_type;       /* from the index descriptor */
  char *config_digest;    /* NULL unless IW_RESOLVE_CHILDREN or _LABELS */
  iw_image_labels labels; /* filled with IW_RESOLVE_LABELS */
} iw_platform_child;

/* The outcome for one reference.  On failure code != IW_OK, message says
 * why and the other fields may be partly filled (e.g. the digest when
 * only fetching a child failed). */
typedef struct iw_resolution
{
  iw_code code;           /* IW_OK, IW_ENOTFOUND (tag or digest missing), IW_EAUTH,
                             IW_ETLS, IW_ENET, IW_ETIMEOUT, IW_ERATELIMIT, IW_EINTEGRITY,
                             IW_ESERVER, IW_ETOOBIG, IW_EPARSE, ... */
  char *message;          /* NULL when code == IW_OK */
  char *digest;           /* the manifest or index digest */
  char *media_type;       /* of that manifest or index (Content-Type) */
  bool is_index;          /* known with IW_RESOLVE_MANIFEST, or from media_type */
  char *config_digest;    /* single manifests, with IW_RESOLVE_MANIFEST */
  char *platform;         /* single manifests, from the config (IW_RESOLVE_LABELS) */
  iw_image_labels labels; /* single manifest: its config's; index: the
                             linux/amd64 child's, else the first child's */
  iw_platform_child *children;
  size_t n_children;
} iw_resolution;

/* Build a client.  cfg may be NULL (defaults), opts may be NULL.
 * Errors: IW_EINVAL for bad options, IW_EIO if libcurl cannot start. */
int iw_registry_new (iw_registry **out, const iw_config *cfg, const iw_registry_options *opts,
                     iw_error **err);
void iw_registry_free (iw_registry *reg);

/* Extra credentials for a registry host, e.g. from a pod's pull secret.
 * host is "registry.example:5000", "docker.io" or a docker config key
 * ("https://index.docker.io/v1/" is docker.io; a path after the host
 * scopes the entry, which then yields to a whole-host one).  They obey
 * the same rules as every credential: Basic only to that host itself or
 * to its token realm over HTTPS (or loopback), never across a redirect,
 * never logged.  Precedence for a host: the config's
 * registries.<host>.username, then these, then docker's config.json.
 * The first credentials given for a host win; later ones for the same
 * host are ignored (returns 0), so that the answer does not depend on the
 * order of a hash table.  Returns 1 when added; IW_EINVAL for an empty
 * username, one with ':' or a missing argument; IW_EPARSE for a
 * wildcard or empty host.  Strings are copied. */
int iw_registry_add_credentials (iw_registry *reg, const char *host, const char *username,
                                 const char *password, iw_error **err);

/* Add every registry's credentials from the decoded content of a pull
 * secret (.dockerconfigjson or legacy .dockercfg; see
 * iw_pull_auths_parse in internal.h), as iw_registry_add_credentials
 * would.  name ("namespace/secret") appears in messages.  Returns how
 * many hosts got credentials, or < 0 (IW_EPARSE, IW_ETOOBIG) for a
 * malformed secret, which then adds nothing. */
int iw_registry_add_pull_secret (iw_registry *reg, const char *name, const char *json, size_t len,
                                 iw_error **err);

/* Resolve n references concurrently.  *out receives a new array of n
 * results in the order of refs (caller frees with iw_resolutions_free).
 * A reference with a digest is checked and fetched by that digest (its
 * tag, if any, is ignored); otherwise its tag, or "latest", is resolved.
 * Identical references share one request.  Returns 0 when the batch ran
 * (each result has its own code), < 0 only for invalid arguments. */
int iw_registry_resolve_many (iw_resolution **out, iw_registry *reg, const iw_ref *const *refs, size_t n,
                              unsigned flags, iw_error **err);

/* One reference; fills *out (caller frees its content with
 * iw_resolution_clear).  Returns < 0 with *err set (same code as
 * out->code) when it could not be resolved. */
int iw_registry_resolve (iw_resolution *out, iw_registry *reg, const iw_ref *ref, unsigned flags,
                         iw_error **err);

void iw_resolution_clear (iw_resolution *r);
void iw_resolutions_free (iw_resolution *r, size_t n);

/* Existence checks: three states, never conflated. */
typedef enum iw_presence_state
{
  IW_PRESENCE_UNKNOWN = 0, /* could not tell: 401, 403, 5xx, TLS, network, rate limit */
  IW_PRESENCE_PRESENT,     /* 200 */
  IW_PRESENCE_ABSENT,      /* 404 (MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN) */
} iw_presence_state;

typedef struct iw_presence
{
  iw_presence_state state;
  iw_code code;  /* why UNKNOWN (IW_EAUTH, IW_ETLS, ...); IW_OK otherwise */
  char *message; /* NULL unless UNKNOWN */
} iw_presence;

typedef enum iw_check_kind
{
  IW_CHECK_MANIFEST = 0, /* HEAD /v2/<repo>/manifests/<digest> */
  IW_CHECK_BLOB,         /* HEAD /v2/<repo>/blobs/<digest> (config IDs) */
} iw_check_kind;

typedef struct iw_check
{
  const iw_ref *repo; /* registry and repository; its tag and digest are ignored */
  const char *digest; /* "sha256:..." */
  iw_check_kind kind;
} iw_check;

/* Check n digests concurrently; *out receives a new array of n answers in
 * order (caller frees with iw_presences_free).  Existence is asked of the
 * authoritative registry only, never of a mirror.  Returns < 0 only for
 * invalid arguments (IW_EINVAL), e.g. a malformed digest. */
int iw_registry_check_many (iw_presence **out, iw_registry *reg, const iw_check *checks, size_t n,
                            iw_error **err);
void iw_presences_free (iw_presence *p, size_t n);

/* Short name of a state: "present", "absent", "unknown". */
const char *iw_presence_name (iw_presence_state s);

/* Counters since iw_registry_new, for /metrics. */
#define IW_REGISTRY_LATENCY_BUCKETS 10
extern const double iw_registry_latency_bounds[IW_REGISTRY_LATENCY_BUCKETS]; /* seconds, "le" */

typedef struct iw_registry_metrics
{
  uint64_t requests;           /* HTTP requests completed (any status) */
  uint64_t errors;             /* requests that ended in a transport error or HTTP >= 400 */
  uint64_t retries;            /* requests retried (5xx, 429, reset) */
  uint64_t bytes;              /* body bytes received */
  uint64_t token_fetches;      /* bearer tokens fetched */
  uint64_t integrity_failures; /* bodies that did not hash to their digest */
  uint64_t breaker_opens;      /* times a registry's circuit opened */
  double latency_sum;          /* seconds, over all requests */
  uint64_t latency_buckets[IW_REGISTRY_LATENCY_BUCKETS]; /* cumulative, as Prometheus wants */
  long ratelimit_remaining; /* last Docker Hub ratelimit-remaining, -1 when never seen */
} iw_registry_metrics;

void iw_registry_metrics_get (iw_registry_metrics *out, const iw_registry *reg);

#endif
