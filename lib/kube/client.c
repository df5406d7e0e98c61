/*
 * client.c - the HTTPS client to the Kubernetes API server (libcurl).
 *
 * One easy handle, reused, so pages share a connection.  TLS is verified
 * against the kubeconfig's CA unless it says insecure-skip-tls-verify;
 * tls-server-name is honoured by connecting to the server's address under
 * that name.  Credentials: bearer token (inline, tokenFile re-read before
 * every request so rotated service-account tokens are picked up, or from
 * an exec plugin, cached until its expirationTimestamp), client
 * certificates, basic auth.  Bodies of 200 answers stream to the caller;
 * other answers are read (capped) as a Kubernetes Status for the error.
 */
#include "kube/kube.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#ifndef IW_VERSION
#define IW_VERSION "0.0.0-dev"
#endif

#define EXEC_OUTPUT_MAX (1024 * 1024)
#define EXEC_TIMEOUT_S 60
#define TOKEN_FILE_MAX (64 * 1024)

extern char **environ;

struct iw_kube_client
{
  CURL *curl;
  char *server;            /* without trailing slash */
  char *url_base;          /* what URLs start with (tls-server-name applied) */
  const iw_kubeconfig *kc; /* borrowed */
  struct curl_slist *connect_to;
  char *exec_token; /* cached exec plugin token; never logged */
  char *exec_cert, *exec_key;
  time_t exec_expiry; /* 0 = no expiry given */
  char *user_label;   /* "user \"admin\"" for messages */
};

/* --- exec credential plugins ------------------------------------------ */

static time_t
parse_rfc3339 (const char *s)
{
  struct tm tm = { 0 };
  const char *end = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);

  if (end == NULL)
    return 0;
  return timegm (&tm);
}

static char *
exec_info (const iw_kubeconfig *kc)
{
  json_t *info = json_pack ("{s:s, s:s, s:{s:b}}", "apiVersion", kc->exec->api_version, "kind",
                            "ExecCredential", "spec", "interactive", 0);
  char *text;

  if (kc->exec->provide_cluster_info)
    {
      json_t *cl = json_pack ("{s:s, s:b}", "server", kc->server, "insecure-skip-tls-verify",
                              kc->insecure_skip_tls_verify);

      if (kc->ca_data)
        {
          /* []byte in Go's JSON: base64. */
          size_t n = strlen (kc->ca_data);
          unsigned char *b64 = iw_xmalloc ((n + 2) / 3 * 4 + 1);

          EVP_EncodeBlock (b64, (const unsigned char *)kc->ca_data, (int)n);
          json_object_set_new (cl, "certificate-authority-data", json_string ((char *)b64));
          free (b64);
        }
      if (kc->tls_server_name)
        json_object_set_new (cl, "tls-server-name", json_string (kc->tls_server_name));
      json_object_set_new (json_object_get (info, "spec"), "cluster", cl);
    }
  text = json_dumps (info, JSON_COMPACT);
  json_decref (info);
  return text;
}

static int
run_exec_plugin (iw_kube_client *c, iw_error **err)
{
  const iw_kube_exec *ex = c->kc->exec;
  size_t nenv = 0, nargs = 0;
  char **env = NULL, **argv = NULL;
  char *info = exec_info (c->kc);
  int out[2] = { -1, -1 };
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int rc = -1, status, e;
  iw_buf buf = IW_BUF_INIT (EXEC_OUTPUT_MAX);
  json_t *doc = NULL;
  json_error_t jerr;
  const char *token = NULL, *exp = NULL, *cert = NULL, *key = NULL, *kind = NULL;

  time_t deadline = time (NULL) + EXEC_TIMEOUT_S;

  for (char **p = environ; *p; p++)
    nenv++;
  for (char **p = ex->env; p && *p; p++)
    nenv++;
  env = iw_xcalloc (nenv + 2, sizeof (char *));
  nenv = 0;
  for (char **p = environ; *p; p++)
    if (strncmp (*p, "KUBERNETES_EXEC_INFO=", 21) != 0)
      env[nenv++] = *p;
  for (char **p = ex->env; p && *p; p++)
    env[nenv++] = *p;
  env[nenv++] = iw_xasprintf ("KUBERNETES_EXEC_INFO=%s", info);
  for (char **p = ex->args; p && *p; p++)
    nargs++;
  argv = iw_xcalloc (nargs + 2, sizeof (char *));
  argv[0] = ex->command;
  for (size_t i = 0; i < nargs; i++)
    argv[i + 1] = ex->args[i];
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      iw_error_set (err, IW_EIO, "exec plugin %s: pipe: %s", ex->command, strerror (errno));
      goto done;
    }
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  e = posix_spawnp (&pid, ex->command, &fa, NULL, argv, env);
  posix_spawn_file_actions_destroy (&fa);
  close (out[1]);
  out[1] = -1;
  if (e != 0)
    {
      iw_error_set (err, IW_EIO, "exec credential plugin \"%s\" (user %s): %s%s", ex->command,
                    c->kc->user ? c->kc->user : "?", strerror (e),
                    e == ENOENT ? ": install it or fix users[].user.exec.command" : "");
      goto done;
    }
  for (;;)
    {
      char chunk[4096];
      struct pollfd pfd = { out[0], POLLIN, 0 };
      int left = (int)(deadline - time (NULL)) * 1000;
      ssize_t n;
      int pr = left > 0 ? poll (&pfd, 1, left) : 0;

      if (pr < 0 && errno == EINTR)
        continue;
      if (pr == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          iw_error_set (err, IW_ETIMEOUT, "exec credential plugin \"%s\" gave no credential within %d s",
                        ex->command, EXEC_TIMEOUT_S);
          goto done;
        }
      n = read (out[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (iw_buf_append (&buf, chunk, (size_t)n, err) < 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          iw_error_wrap (err, "exec plugin %s output", ex->command);
          goto done;
        }
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      iw_error_set (err, IW_EAUTH, "exec credential plugin \"%s\" failed (%s %d)", ex->command,
                    WIFEXITED (status) ? "exit status" : "signal",
                    WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
      goto done;
    }
  doc = json_loadb (buf.data ? buf.data : "", buf.len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL
      || json_unpack_ex (doc, &jerr, 0, "{s?s, s:{s?s, s?s, s?s, s?s}}", "kind", &kind, "status", "token",
                         &token, "expirationTimestamp", &exp, "clientCertificateData", &cert, "clientKeyData",
                         &key)
             < 0)
    {
      iw_error_set (err, IW_EPARSE, "exec credential plugin \"%s\": invalid ExecCredential: %s", ex->command,
                    jerr.text);
      goto done;
    }
  if (kind && strcmp (kind, "ExecCredential") != 0)
    {
      iw_error_set (err, IW_EPARSE, "exec credential plugin \"%s\": kind is \"%s\", not ExecCredential",
                    ex->command, kind);
      goto done;
    }
  if (token == NULL && (cert == NULL || key == NULL))
    {
      iw_error_set (err, IW_EAUTH,
                    "exec credential plugin \"%s\" returned neither a token nor a client certificate",
                    ex->command);
      goto done;
    }
  free (c->exec_token);
  free (c->exec_cert);
  free (c->exec_key);
  c->exec_token = iw_xstrdup0 (token);
  c->exec_cert = iw_xstrdup0 (cert);
  c->exec_key = iw_xstrdup0 (key);
  c->exec_expiry = exp ? parse_rfc3339 (exp) : 0;
  rc = 0;
done:
  if (out[0] >= 0)
    close (out[0]);
  if (out[1] >= 0)
    close (out[1]);
  free (env[nenv - 1]);
  free (env);
  free (argv);
  free (info);
  json_decref (doc);
  iw_buf_free (&buf);
  return rc;
}

/* --- credentials -------------------------------------------------------- */

static int
read_token_file (char **out, const char *path, iw_error **err)
{
  FILE *f = fopen (path, "rb");
  char *buf;
  size_t n;

  if (f == NULL)
    return iw_error_set (err, IW_EAUTH, "token file %s: %s", path, strerror (errno));
  buf = iw_xmalloc (TOKEN_FILE_MAX + 1);
  n = fread (buf, 1, TOKEN_FILE_MAX, f);
  fclose (f);
  while (n > 0 && strchr (" \t\r\n", buf[n - 1]))
    n--;
  buf[n] = '\0';
  if (n == 0)
    {
      free (buf);
      return iw_error_set (err, IW_EAUTH, "token file %s is empty", path);
    }
  *out = buf;
  return 0;
}

/* Set the per-request credentials; *hdrs receives the header list. */
static int
apply_credentials (iw_kube_client *c, struct curl_slist **hdrs, iw_error **err)
{
  const iw_kubeconfig *kc = c->kc;
  char *token = NULL;

  if (kc->exec
      && ((c->exec_token == NULL && c->exec_cert == NULL)
          || (c->exec_expiry && time (NULL) >= c->exec_expiry - 10)))
    if (run_exec_plugin (c, err) < 0)
      return -1;
  if (kc->exec && c->exec_token)
    token = iw_xstrdup (c->exec_token);
  else if (kc->token_file)
    {
      if (read_token_file (&token, kc->token_file, err) < 0)
        return -1;
    }
  else if (kc->token)
    token = iw_xstrdup (kc->token);
  if (token)
    {
      char *h = iw_xasprintf ("Authorization: Bearer %s", token);

      *hdrs = curl_slist_append (*hdrs, h);
      explicit_bzero (h, strlen (h));
      explicit_bzero (token, strlen (token));
      free (h);
      free (token);
    }
  else if (kc->username)
    {
      curl_easy_setopt (c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt (c->curl, CURLOPT_USERNAME, kc->username);
      curl_easy_setopt (c->curl, CURLOPT_PASSWORD, kc->password ? kc->password : "");
    }
  if (kc->exec && c->exec_cert && c->exec_key)
    {
      struct curl_blob cert = { c->exec_cert, strlen (c->exec_cert), CURL_BLOB_COPY };
      struct curl_blob key = { c->exec_key, strlen (c->exec_key), CURL_BLOB_COPY };

      curl_easy_setopt (c->curl, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt (c->curl, CURLOPT_SSLKEY_BLOB, &key);
    }
  return 0;
}

/* --- the client ----------------------------------------------------------- */

int
iw_kube_client_new (iw_kube_client **out, const iw_kubeconfig *kc, const iw_kube_options *opts,
                    iw_error **err)
{
  iw_kube_client *c = iw_xcalloc (1, sizeof *c);
  size_t n;

  c->kc = kc;
  c->curl = curl_easy_init ();
  if (c->curl == NULL)
    {
      free (c);
      return iw_error_set (err, IW_EIO, "curl_easy_init failed");
    }
  c->server = iw_xstrdup (kc->server);
  n = strlen (c->server);
  while (n > 0 && c->server[n - 1] == '/')
    c->server[--n] = '\0';
  c->url_base = iw_xstrdup (c->server);
  if (kc->tls_server_name)
    {
      CURLU *u = curl_url ();
      char *host = NULL, *port = NULL, *scheme = NULL, *path = NULL;

      if (curl_url_set (u, CURLUPART_URL, c->server, 0) == CURLUE_OK
          && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK
          && curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK
          && curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK)
        {
          char *ct = iw_xasprintf ("%s:%s:%s:%s", kc->tls_server_name, port, host, port);

          curl_url_get (u, CURLUPART_PATH, &path, 0);
          c->connect_to = curl_slist_append (NULL, ct);
          free (ct);
          free (c->url_base);
          c->url_base = iw_xasprintf ("%s://%s:%s%s", scheme, kc->tls_server_name, port,
                                      path && strcmp (path, "/") != 0 ? path : "");
        }
      curl_free (host);
      curl_free (port);
      curl_free (scheme);
      curl_free (path);
      curl_url_cleanup (u);
    }
  c->user_label = kc->user ? iw_xasprintf ("user \"%s\"", kc->user) : iw_xstrdup ("the anonymous user");
  curl_easy_setopt (c->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c->curl, CURLOPT_USERAGENT, "imgwatch/" IW_VERSION);
  curl_easy_setopt (c->curl, CURLOPT_CONNECTTIMEOUT_MS, opts ? opts->connect_timeout_ms : 10000L);
  curl_easy_setopt (c->curl, CURLOPT_TIMEOUT_MS, opts ? opts->request_timeout_ms : 60000L);
  curl_easy_setopt (c->curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt (c->curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt (c->curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (c->connect_to)
    curl_easy_setopt (c->curl, CURLOPT_CONNECT_TO, c->connect_to);
  if (kc->insecure_skip_tls_verify)
    {
      curl_easy_setopt (c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  else if (kc->ca_data)
    {
      struct curl_blob ca = { kc->ca_data, strlen (kc->ca_data), CURL_BLOB_COPY };

      curl_easy_setopt (c->curl, CURLOPT_CAINFO_BLOB, &ca);
    }
  else if (kc->ca_file)
    curl_easy_setopt (c->curl, CURLOPT_CAINFO, kc->ca_file);
  if (kc->client_cert_data)
    {
      struct curl_blob b = { kc->client_cert_data, strlen (kc->client_cert_data), CURL_BLOB_COPY };

      curl_easy_setopt (c->curl, CURLOPT_SSLCERT_BLOB, &b);
    }
  else if (kc->client_cert_file)
    curl_easy_setopt (c->curl, CURLOPT_SSLCERT, kc->client_cert_file);
  if (kc->client_key_data)
    {
      struct curl_blob b = { kc->client_key_data, strlen (kc->client_key_data), CURL_BLOB_COPY };

      curl_easy_setopt (c->curl, CURLOPT_SSLKEY_BLOB, &b);
    }
  else if (kc->client_key_file)
    curl_easy_setopt (c->curl, CURLOPT_SSLKEY, kc->client_key_file);
  *out = c;
  return 0;
}

void
iw_kube_client_free (iw_kube_client *c)
{
  if (c == NULL)
    return;
  curl_easy_cleanup (c->curl);
  curl_slist_free_all (c->connect_to);
  free (c->server);
  free (c->url_base);
  if (c->exec_token)
    explicit_bzero (c->exec_token, strlen (c->exec_token));
  free (c->exec_token);
  free (c->exec_cert);
  if (c->exec_key)
    explicit_bzero (c->exec_key, strlen (c->exec_key));
  free (c->exec_key);
  free (c->user_label);
  free (c);
}

const char *
iw_kube_client_server (const iw_kube_client *c)
{
  return c->server;
}

typedef struct request
{
  iw_kube_client *c;
  iw_kube_chunk_fn fn;
  void *userdata;
  long status;
  iw_buf body; /* non-200 bodies, capped */
  iw_error *err;
} request;

static size_t
on_body (char *data, size_t size, size_t nmemb, void *userdata)
{
  request *r = userdata;
  size_t n = size * nmemb;

  if (r->status == 0)
    curl_easy_getinfo (r->c->curl, CURLINFO_RESPONSE_CODE, &r->status);
  if (r->status == 200)
    {
      if (r->fn (data, n, r->userdata, &r->err) < 0)
        return 0;
      return n;
    }
  /* Keep what fits of an error body; the rest is not needed. */
  if (r->body.len < r->body.max)
    iw_buf_append (&r->body, data, n < r->body.max - r->body.len ? n : r->body.max - r->body.len, NULL);
  return n;
}

/* The message of a Kubernetes Status body, or NULL. */
static char *
status_message (const iw_buf *body)
{
  json_t *doc = json_loadb (iw_buf_cstr (body), body->len, 0, NULL);
  const char *msg = NULL;
  char *out = NULL;

  if (doc && json_unpack (doc, "{s:s}", "message", &msg) == 0)
    out = iw_xstrdup (msg);
  json_decref (doc);
  return out;
}

static iw_code
curl_code_to_iw (CURLcode cc)
{
  switch (cc)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return IW_ENET;
    case CURLE_OPERATION_TIMEDOUT:
      return IW_ETIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return IW_ETLS;
    default:
      return IW_ENET;
    }
}

int
iw_kube_client_get (iw_kube_client *c, const char *path, const char *what, iw_kube_chunk_fn fn,
                    void *userdata, long *status_out, iw_error **err)
{
  request r = { .c = c, .fn = fn, .userdata = userdata };
  struct curl_slist *hdrs = NULL;
  char *url = iw_xasprintf ("%s%s", c->url_base, path);
  char errbuf[CURL_ERROR_SIZE] = "";
  CURLcode cc;
  int rc = -1, attempt = 0;

again:
  iw_buf_init (&r.body, IW_SMALL_BODY_MAX);
  r.status = 0;
  hdrs = curl_slist_append (NULL, "Accept: application/json");
  if (apply_credentials (c, &hdrs, err) < 0)
    goto done;
  curl_easy_setopt (c->curl, CURLOPT_URL, url);
  curl_easy_setopt (c->curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (c->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c->curl, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt (c->curl, CURLOPT_ERRORBUFFER, errbuf);
  iw_log_debug ("GET %s", url);
  cc = curl_easy_perform (c->curl);
  curl_easy_setopt (c->curl, CURLOPT_HTTPHEADER, NULL);
  if (r.status == 0)
    curl_easy_getinfo (c->curl, CURLINFO_RESPONSE_CODE, &r.status);
  if (status_out)
    *status_out = r.status;
  if (cc == CURLE_WRITE_ERROR && r.err)
    {
      if (err)
        {
          iw_error_free (*err);
          *err = iw_steal (&r.err);
        }
      goto done;
    }
  if (cc != CURLE_OK)
    {
      iw_code code = curl_code_to_iw (cc);

      iw_error_set (err, code, "%s the Kubernetes API server at %s: %s",
                    code == IW_ETLS       ? "TLS failed with"
                    : code == IW_ETIMEOUT ? "timed out talking to"
                                          : "cannot reach",
                    c->server, errbuf[0] ? errbuf : curl_easy_strerror (cc));
      goto done;
    }
  if (r.status == 200)
    {
      rc = 0;
      goto done;
    }
  if (r.status == 401 && c->kc->exec && attempt++ == 0)
    {
      /* The plugin's token may have been revoked early: ask again once. */
      free (c->exec_token);
      c->exec_token = NULL;
      free (c->exec_cert);
      c->exec_cert = NULL;
      curl_slist_free_all (hdrs);
      hdrs = NULL;
      iw_buf_free (&r.body);
      goto again;
    }
  {
    char *msg = status_message (&r.body);
    const char *m = msg ? msg : "";

    switch (r.status)
      {
      case 401:
        iw_error_set (err, IW_EAUTH,
                      "%s: HTTP 401 Unauthorized: the API server did not accept the credentials of %s "
                      "(to %s)%s%s",
                      c->server, c->user_label, what, *m ? ": " : "", m);
        break;
      case 403:
        iw_error_set (err, IW_EAUTH, "%s: HTTP 403 Forbidden: RBAC must allow %s to %s%s%s", c->server,
                      c->user_label, what, *m ? ": " : "", m);
        break;
      case 404:
        iw_error_set (err, IW_ENOTFOUND, "%s%s: HTTP 404 Not Found%s%s", c->server, path, *m ? ": " : "", m);
        break;
      case 410:
        iw_error_set (err, IW_ENOTFOUND, "%s: HTTP 410 Gone (%s)%s%s", c->server, what, *m ? ": " : "", m);
        break;
      case 429:
        iw_error_set (err, IW_ERATELIMIT, "%s: HTTP 429 Too Many Requests (%s)", c->server, what);
        break;
      default:
        iw_error_set (err, r.status >= 500 ? IW_ESERVER : IW_EPARSE, "%s: HTTP %ld (%s)%s%s", c->server,
                      r.status, what, *m ? ": " : "", m);
      }
    free (msg);
  }
done:
  curl_slist_free_all (hdrs);
  iw_buf_free (&r.body);
  iw_error_free (r.err);
  free (url);
  return rc;
}
