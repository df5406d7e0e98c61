/*
 * kube.h - the Kubernetes inventory: what runs in a cluster, read the way
 * kubectl reads it, and what a pods file or a manifest says would run.
 *
 * Sources hand container records (inventory/record.h) to a callback one
 * at a time, so memory stays bounded by one API page (or one object of a
 * file), never by the size of the cluster:
 *
 *   iw_kube_options o = IW_KUBE_OPTIONS_INIT;
 *   o.all_namespaces = true;
 *   if (iw_kube_list_pods (&o, on_record, ctx, &stats, &err) < 0) ...
 *
 * Errors (codes callers branch on):
 *   IW_ENET       the API server is unreachable; the message names the URL
 *   IW_ETLS       TLS handshake or certificate verification failed
 *   IW_ETIMEOUT   a request hit its timeout
 *   IW_EAUTH      401/403; the message says which verb and resource RBAC
 *                 must allow ("list pods in all namespaces")
 *   IW_EPARSE     malformed kubeconfig YAML, API body, or input file; the
 *                 message names the file and line (or the URL)
 *   IW_EPOLICY    a kubeconfig that parses but is wrong (missing cluster,
 *                 bad key value); the message names the file and the key
 *   IW_EUNSUPPORTED  a kubeconfig setting this build does not handle
 *                 (auth-provider, ...), named
 *   IW_EIO        files, exec plugins (a missing plugin binary is named)
 * When a list fails half-way, the records already handed over are not a
 * complete inventory: the call returns < 0 and callers must not present
 * them as complete.
 */
#ifndef IW_KUBE_KUBE_H
#define IW_KUBE_KUBE_H

#include "inventory/record.h"
#include "util/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Counters a list fills in; also what the progress callback sees. */
typedef struct iw_kube_stats
{
  size_t pages;        /* pod list pages (or file chunks) read */
  size_t pods;         /* pod objects seen */
  size_t records;      /* records handed to the callback */
  size_t objects;      /* non-pod objects seen (ReplicaSets, Jobs, workloads) */
  size_t skipped;      /* objects of unknown kinds, skipped with a note */
  size_t restarts;     /* lists restarted after 410 Expired */
  size_t bytes;        /* body bytes read */
  double wall_seconds; /* whole call */
  double cpu_seconds;  /* this process's CPU time (user + system) during the call */
} iw_kube_stats;

typedef void (*iw_kube_progress_fn) (const iw_kube_stats *stats, void *userdata);

/* A pull secret's content, handed over when use_pull_secrets is set:
 * dockerconfigjson is the decoded ".dockerconfigjson" (or ".dockercfg")
 * value, borrowed for the duration of the call.  Never log it. */
typedef int (*iw_kube_secret_fn) (const char *namespace_, const char *name, const char *dockerconfigjson,
                                  size_t len, void *userdata, iw_error **err);

typedef struct iw_kube_options
{
  const char *kubeconfig;     /* --kubeconfig; NULL: $KUBECONFIG (merged), ~/.kube/config, in-cluster */
  const char *context;        /* NULL: current-context */
  const char *namespace_;     /* NULL: the context's namespace, else "default" */
  bool all_namespaces;        /* -A; overrides namespace_ */
  const char *label_selector; /* -l, or NULL */
  bool use_pull_secrets;      /* read the Secrets named by imagePullSecrets */
  iw_kube_secret_fn secret_fn;
  void *secret_userdata;
  unsigned page_limit;          /* limit= per page; 500 */
  long connect_timeout_ms;      /* 10 s */
  long request_timeout_ms;      /* per page; 60 s */
  unsigned max_restarts;        /* restarts after 410 Expired before giving up; 5 */
  iw_kube_progress_fn progress; /* called after every page, or NULL */
  void *progress_userdata;
  /* With use_pull_secrets: a Secret that cannot be read (403, or not
   * decodable) is a warning naming the RBAC needed, not an error; the
   * images that needed it are then judged without it. */
  bool secrets_best_effort;
} iw_kube_options;

#define IW_KUBE_OPTIONS_INIT                                                                                 \
  {                                                                                                          \
    NULL, NULL, NULL, false, NULL, false, NULL, NULL, 500, 10000, 60000, 5, NULL, NULL, false                \
  }

/* List the pods (all namespaces, or one) and hand every container (init,
 * app, ephemeral) to fn as a record.  ReplicaSets and Jobs are listed
 * once first, so owners read Deployment and CronJob.  Pages of
 * opts->page_limit; a 410 Expired on a continue restarts the list from the
 * first page (at most opts->max_restarts times, counted in
 * stats->restarts), and pods already handed over are not handed over
 * again.  stats_out may be NULL. */
int iw_kube_list_pods (const iw_kube_options *opts, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                       iw_error **err);

/* Read pods or manifests from a file ("-" = stdin): `kubectl get pods -A -o
 * json` (List/PodList), Lists mixing pods, ReplicaSets and Jobs (owners
 * resolved from them), single objects, and multi-document YAML or JSON of
 * Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob and
 * List.  Workloads give spec-only records (pod NULL, image_id NONE).
 * Unknown kinds are skipped with a warning.  Errors name the file and line. */
int iw_source_read_file (const char *path, iw_record_fn fn, void *userdata, iw_error **err);
/* The same, with counters and a progress callback (may be NULL). */
int iw_source_read_file_stats (const char *path, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                               iw_kube_progress_fn progress, void *progress_userdata, iw_error **err);

/* The same, for a consumer that can take records on two threads: a big
 * regular JSON file of pods may be parsed by two threads, the second from
 * the middle.  Its records go to second->fn, on that thread, and belong
 * after all those given to fn; *second->used says whether it happened.
 * When it did not, whatever second->fn was given is void (a guess that
 * did not hold) and must be dropped: all records went to fn. */
typedef struct iw_source_second
{
  iw_record_fn fn;
  void *userdata;
  bool *used;
} iw_source_second;

int iw_source_read_file_split (const char *path, iw_record_fn fn, void *userdata,
                               const iw_source_second *second, iw_kube_stats *stats_out,
                               iw_kube_progress_fn progress, void *progress_userdata, iw_error **err);

/*
 * kubeconfig: where the cluster is and how to authenticate, resolved for
 * one context.  Exposed for tests, the daemon's watch and diagnostics.
 */
typedef struct iw_kube_exec
{
  char *command;
  char **args; /* NULL-terminated, or NULL */
  char **env;  /* NULL-terminated "NAME=value", or NULL */
  char *api_version;
  bool provide_cluster_info;
} iw_kube_exec;

typedef struct iw_kubeconfig
{
  char *origin;     /* file(s) it came from, or "in-cluster" */
  char *context;    /* the context name, or NULL in-cluster */
  char *cluster;    /* the cluster name */
  char *user;       /* the user (AuthInfo) name */
  char *namespace_; /* the context's namespace, or NULL */
  char *server;     /* "https://10.0.0.1:6443" */
  char *ca_file;    /* certificate-authority, or NULL */
  char *ca_data;    /* certificate-authority-data, decoded PEM, or NULL */
  bool insecure_skip_tls_verify;
  char *tls_server_name;
  char *token;      /* never logged */
  char *token_file; /* re-read at every request (rotation) */
  char *client_cert_file;
  char *client_cert_data; /* decoded PEM */
  char *client_key_file;
  char *client_key_data; /* decoded PEM; never logged */
  char *username;
  char *password; /* never logged */
  iw_kube_exec *exec;
} iw_kubeconfig;

/* Load and merge kubeconfig files as kubectl does: path if not NULL, else
 * $KUBECONFIG (colon-separated; for every map the first file that sets a
 * key wins), else ~/.kube/config, else the in-cluster service account
 * ($KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/
 * serviceaccount, overridable with $IMGWATCH_SA_DIR for tests).  context
 * NULL means current-context.  Relative file paths are resolved against
 * the file that names them. */
int iw_kubeconfig_load (iw_kubeconfig **out, const char *path, const char *context, iw_error **err);
/* Parse one kubeconfig document held in memory; name is used in errors and
 * to resolve relative paths (its directory). */
int iw_kubeconfig_parse (iw_kubeconfig **out, const char *text, size_t len, const char *name,
                         const char *context, iw_error **err);
/* The in-cluster configuration from a service account directory. */
int iw_kubeconfig_in_cluster (iw_kubeconfig **out, const char *sa_dir, iw_error **err);
void iw_kubeconfig_free (iw_kubeconfig *kc);

/*
 * The API client: HTTPS (libcurl) with the kubeconfig's credentials.
 * Exposed for the daemon's watch.  Paths are absolute API paths with query
 * ("/api/v1/pods?limit=500").
 */
typedef struct iw_kube_client iw_kube_client;

int iw_kube_client_new (iw_kube_client **out, const iw_kubeconfig *kc, const iw_kube_options *opts,
                        iw_error **err);
void iw_kube_client_free (iw_kube_client *c);
/* The server URL.  Borrowed. */
const char *iw_kube_client_server (const iw_kube_client *c);

/* Body chunks as they arrive; return < 0 (with *err set) to stop. */
typedef int (*iw_kube_chunk_fn) (const char *data, size_t len, void *userdata, iw_error **err);

/* GET path, streaming the body to fn when the status is 200.  On any other
 * status the body (capped) is read as a Kubernetes Status and the error is
 * IW_EAUTH (401/403, naming `what`, e.g. "list pods in all namespaces"),
 * IW_ENOTFOUND (404), IW_EPARSE... ; *status_out (may be NULL) receives
 * the HTTP status, 0 when no answer came.  410 Gone is IW_ENOTFOUND with
 * status 410 so callers can relist. */
int iw_kube_client_get (iw_kube_client *c, const char *path, const char *what, iw_kube_chunk_fn fn,
                        void *userdata, long *status_out, iw_error **err);

/*
 * Internals shared by the sources and their tests/fuzzers.
 */

/* A streaming parser for Kubernetes JSON: a List/PodList/...List, single
 * objects, or several concatenated values.  Feed it bytes; it hands
 * records to fn as each object completes. */
typedef struct iw_kube_parser iw_kube_parser;

typedef enum iw_kube_parse_mode
{
  IW_KUBE_PARSE_RECORDS = 0, /* emit records for pods and workloads */
  IW_KUBE_PARSE_OWNERS_ONLY, /* only learn ReplicaSet/Job owners (first pass) */
} iw_kube_parse_mode;

/* source: the record's source ("kube:https://...", "file:pods.json");
 * name: used in error messages ("pods.json"). */
iw_kube_parser *iw_kube_parser_new (const char *source, const char *name, iw_record_fn fn, void *userdata);
/* Switching mode starts the counters afresh. */
void iw_kube_parser_set_mode (iw_kube_parser *p, iw_kube_parse_mode mode);
/* The cluster name records carry (the kubeconfig context), or NULL. */
void iw_kube_parser_set_cluster (iw_kube_parser *p, const char *cluster);
/* Hand every pod over once, even when the list restarts (410 Expired):
 * keeps a set of the pods' namespace/name. */
void iw_kube_parser_dedup_pods (iw_kube_parser *p);
/* Keep the learned owners but start a new document (e.g. the next page). */
int iw_kube_parser_reset (iw_kube_parser *p, iw_error **err);
/* Splitting a big file between two threads.  iw_kube_parser_at_item_boundary:
 * the last byte fed closed an item of the top-level object's "items" (so
 * what follows, up to the next item, can only be a comma and blanks), and
 * nothing read so far would change how a later item is read.
 * iw_kube_parser_resume_items: start a fresh parser as if inside such an
 * "items" array, LINES newlines and OFFSET bytes into the input, so its
 * errors name the lines of the whole file.  Warnings of a parser whose
 * work may be thrown away are deferred: iw_kube_parser_warnings gives them
 * (one per line, NULL if none). */
bool iw_kube_parser_at_item_boundary (const iw_kube_parser *p);
int iw_kube_parser_resume_items (iw_kube_parser *p, unsigned long long lines, unsigned long long offset,
                                 iw_error **err);
void iw_kube_parser_defer_warnings (iw_kube_parser *p);
const char *iw_kube_parser_warnings (const iw_kube_parser *p);
int iw_kube_parser_feed (iw_kube_parser *p, const char *data, size_t len, iw_error **err);
int iw_kube_parser_finish (iw_kube_parser *p, iw_error **err);
/* metadata.continue of the last List parsed, or NULL.  Borrowed. */
const char *iw_kube_parser_continue (const iw_kube_parser *p);
/* Counters (pods, records, objects, skipped, bytes). */
const iw_kube_stats *iw_kube_parser_stats (const iw_kube_parser *p);
/* Names of the pull secrets seen, as "namespace/name", deduplicated;
 * NULL-terminated, borrowed. */
const char *const *iw_kube_parser_pull_secrets (const iw_kube_parser *p);
void iw_kube_parser_free (iw_kube_parser *p);

#endif
