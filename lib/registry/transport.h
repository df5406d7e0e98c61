/*
 * transport.h - what the registry client's two halves share: client.c
 * (the libcurl multi transport: hosts, queues, auth, redirects, retries,
 * circuit breaker, metrics) and resolve.c (the jobs that resolve tags,
 * fetch by digest and check existence on top of it).  Internal to
 * lib/registry; the double underscore marks these names semi-private.
 */
#ifndef IW_REGISTRY_TRANSPORT_H
#define IW_REGISTRY_TRANSPORT_H

#include "registry/internal.h"
#include "registry/registry.h"
#include "util/buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct req req;
typedef struct host host;
typedef void (*req_cb) (req *r);

/* A cached bearer token for one scope of one registry. */
typedef struct token
{
  struct token *next;
  char *scope;
  char *value;
  long long expires_ms;
  bool pending;
  req *waiters; /* requests waiting for this token, linked by wait_next */
} token;

struct host
{
  char *name;   /* the authority we connect to: "127.0.0.1:5000", "registry-1.docker.io" */
  char *domain; /* the name settings and credentials are looked up by: "docker.io" */
  bool insecure;
  char *ca;
  int max_active;
  int active;
  req *queue_head, *queue_tail;
  /* Circuit breaker. */
  int failures;
  long long open_until_ms;
  char *last_failure;
  /* Authentication learned from challenges. */
  char *realm, *service;
  bool basic;
  int creds_state;          /* 0 not looked up, 1 have, -1 none, -2 lookup failed */
  long long creds_until_ms; /* when to look them up again */
  iw_creds creds;
  iw_code creds_code;
  char *creds_error;
  token *tokens;
};

struct req
{
  req *next;      /* in a host queue or the delayed list */
  req *wait_next; /* waiting for a token */
  iw_registry *reg;
  host *host;
  char *url;
  char *origin; /* scheme://host:port credentials may go to */
  char *what;   /* "HEAD 127.0.0.1:5000/app:1" for messages */
  char *repo;   /* repository path, for scopes */
  char *scope;  /* "repository:app:pull"; NULL for token requests */
  bool head;
  const char *accept;
  size_t body_max;
  bool is_token;
  token *token_for;
  const char *ca; /* borrowed from a host */
  char *auth;     /* Authorization value, or NULL */
  char *post;     /* a form to POST (token refresh grant), or NULL for GET/HEAD */
  bool auth_bearer, auth_basic, no_auth;
  token *tok; /* the cache entry whose token auth carries */
  int token_refetches;
  int token_waits;
  int attempts;
  int redirects;
  long long due_ms;
  CURL *easy;
  struct curl_slist *hdrs;
  long long started_ms;
  /* The response. */
  long status;
  CURLcode cc;
  char errbuf[CURL_ERROR_SIZE];
  iw_buf body;
  size_t header_bytes;
  bool too_big, headers_too_big;
  char *h_digest, *h_ctype, *h_retry_after, *h_location;
  iw_buf h_www;
  /* The outcome for the callback. */
  iw_code code;
  char *msg;
  req_cb cb;
  void *ctx;
  size_t idx;
  /* Fetch by digest: verify, and try candidates (mirrors, then the registry). */
  char *expect;
  host *cands[8];
  size_t n_cands, cand;
  bool blob;
  req_cb final_cb;
};

/* Credentials handed over by the caller (pull secrets), per host. */
typedef struct pull_cred
{
  char *host;   /* normalized: "docker.io", "127.0.0.1:5000" */
  char *origin; /* the secret they came from ("ns/name"), or NULL */
  bool scoped;  /* from a host/path key */
  iw_creds creds;
} pull_cred;

struct iw_registry
{
  CURLM *multi;
  iw_registry_options o;
  char *user_agent;
  char *docker_config_dir;
  iw_config cfg; /* a copy of the registries and mirrors only */
  host **hosts;
  size_t n_hosts;
  size_t rr; /* round-robin start for pump() */
  int active;
  size_t queued;
  req *delayed;
  size_t n_delayed;
  CURL **pool;
  size_t n_pool;
  /* Batch calls hand out their jobs a few at a time, so that memory
   * stays flat for tens of thousands of references. */
  bool (*feed) (void *ctx);
  void *feed_ctx;
  pthread_mutex_t lock; /* guards m */
  iw_registry_metrics m;
  unsigned seed;
  pull_cred *pull; /* iw_registry_add_credentials, iw_registry_add_pull_secret */
  size_t n_pull;
};

#define METRIC_INC(reg, field)                                                                               \
  do                                                                                                         \
    {                                                                                                        \
      pthread_mutex_lock (&(reg)->lock);                                                                     \
      (reg)->m.field++;                                                                                      \
      pthread_mutex_unlock (&(reg)->lock);                                                                   \
    }                                                                                                        \
  while (0)

/* Pull-secret credentials for a host (copied into *out): 1 found, 0 none. */
int iw_registry__pull_creds (iw_creds *out, const iw_registry *reg, const char *domain);
void iw_registry__pull_free (iw_registry *reg);

/* The host entry for an authority, made on first use with the settings
 * of domain (or of name).  Owned by reg. */
host *iw_registry__host_get (iw_registry *reg, const char *name, const char *domain);

/* A request for path ("/v2/...") on h; repo gives its token scope. */
req *iw_registry__req_new (iw_registry *reg, host *h, const char *path, bool head, const char *repo);

/* Queue r; its callback runs once, with r->code set on failure or the
 * response in r->status, r->body and the h_ fields; r is freed after. */
void iw_registry__submit (req *r);

/* Drive the multi handle until every request (and what their callbacks
 * submit, and what reg->feed hands out) is done. */
void iw_registry__run (iw_registry *reg);

/* "CODE: message" from a registry error body, or NULL; caller frees. */
char *iw_registry__error_detail (const req *r);

#endif
