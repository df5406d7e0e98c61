/*
 * creds.c - where registry credentials come from: imgwatch's own config
 * (registries.<host>.username and passwordFile), then docker's
 * config.json ($DOCKER_CONFIG or ~/.docker): credHelpers[host],
 * credsStore, and auths[host] (base64 `auth`, or username/password).
 * Helpers are run with the `docker-credential-<name> get` protocol.
 *
 * Credentials are never logged; error messages name files and hosts only.
 */
#include "registry/internal.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HELPER_TIMEOUT_MS 10000
#define DOCKER_CONFIG_MAX IW_MIB

void
iw_creds_clear (iw_creds *c)
{
  if (c == NULL)
    return;
  if (c->password)
    explicit_bzero (c->password, strlen (c->password));
  if (c->identity_token)
    explicit_bzero (c->identity_token, strlen (c->identity_token));
  free (c->username);
  free (c->password);
  free (c->identity_token);
  c->username = NULL;
  c->password = NULL;
  c->identity_token = NULL;
}

static bool
is_hub (const char *h)
{
  return strcmp (h, "docker.io") == 0 || strcmp (h, "index.docker.io") == 0
         || strcmp (h, "registry-1.docker.io") == 0 || strcmp (h, "registry.hub.docker.com") == 0;
}

/* "https://index.docker.io/v1/" -> "index.docker.io"; caller frees. */
static char *
key_host (const char *key)
{
  const char *p = key;

  if (strncasecmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncasecmp (p, "http://", 7) == 0)
    p += 7;
  return iw_xstrndup (p, strcspn (p, "/"));
}

static bool
host_matches (const char *key, const char *host)
{
  char *k = key_host (key);
  bool m = strcasecmp (k, host) == 0 || (is_hub (k) && is_hub (host));

  free (k);
  return m;
}

static int
read_file_capped (iw_buf *out, const char *path, iw_error **err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char chunk[8192];
  ssize_t n;

  if (fd < 0)
    return iw_error_set (err, errno == ENOENT ? IW_ENOTFOUND : IW_EIO, "%s: %s", path, strerror (errno));
  while ((n = read (fd, chunk, sizeof chunk)) > 0)
    if (iw_buf_append (out, chunk, (size_t)n, err) < 0)
      {
        close (fd);
        return iw_error_wrap (err, "%s", path);
      }
  if (n < 0)
    {
      iw_error_set (err, IW_EIO, "%s: %s", path, strerror (errno));
      close (fd);
      return -1;
    }
  close (fd);
  return 0;
}

/* Split "user:password" into creds. */
static int
split_userpass (iw_creds *out, const char *s, size_t n, iw_error **err)
{
  const char *colon = memchr (s, ':', n);

  if (colon == NULL || colon == s)
    return iw_error_set (err, IW_EPARSE, "auth is not base64 of user:password");
  out->username = iw_xstrndup (s, (size_t)(colon - s));
  out->password = iw_xstrndup (colon + 1, n - (size_t)(colon - s) - 1);
  return 0;
}

int
iw_creds_decode_auth (iw_creds *out, const char *b64, iw_error **err)
{
  char *raw = NULL;
  size_t n = 0;
  int ret;

  if (*b64 == '\0' || strlen (b64) > 16384 || iw_base64_decode (&raw, &n, b64, strlen (b64)) < 0)
    return iw_error_set (err, IW_EPARSE, "auth is not valid base64");
  if (memchr (raw, '\0', n) != NULL)
    {
      explicit_bzero (raw, n);
      free (raw);
      return iw_error_set (err, IW_EPARSE, "auth contains NUL");
    }
  ret = split_userpass (out, raw, n, err);
  explicit_bzero (raw, n);
  free (raw);
  return ret;
}

static const char *
str_member (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);

  return json_is_string (v) && strlen (json_string_value (v)) == json_string_length (v)
             ? json_string_value (v)
             : NULL;
}

int
iw_creds_from_docker_json (iw_creds *out, char **out_helper, const char *text, size_t len, const char *host,
                           iw_error **err)
{
  json_error_t jerr;
  json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *helpers, *auths, *entry;
  const char *key, *helper = NULL;
  int ret = -1;

  out->username = out->password = out->identity_token = NULL;
  *out_helper = NULL;
  if (root == NULL)
    return iw_error_set (err, IW_EPARSE, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "not a JSON object");
      goto done;
    }
  helpers = json_object_get (root, "credHelpers");
  if (json_is_object (helpers))
    json_object_foreach (helpers, key, entry)
    {
      if (host_matches (key, host) && json_is_string (entry))
        helper = json_string_value (entry);
    }
  if (helper == NULL)
    helper = str_member (root, "credsStore");
  if (helper && *helper)
    *out_helper = iw_xstrdup (helper);
  ret = 0;
  auths = json_object_get (root, "auths");
  if (!json_is_object (auths))
    goto done;
  json_object_foreach (auths, key, entry)
  {
    const char *a, *u, *p, *idt;

    if (!host_matches (key, host) || !json_is_object (entry))
      continue;
    a = str_member (entry, "auth");
    u = str_member (entry, "username");
    p = str_member (entry, "password");
    idt = str_member (entry, "identitytoken");
    if (idt && *idt)
      {
        out->identity_token = iw_xstrdup (idt);
        ret = 1;
        goto done;
      }
    if (a && *a)
      {
        if (iw_creds_decode_auth (out, a, err) < 0)
          {
            iw_error_wrap (err, "auths[\"%s\"]", key);
            ret = -1;
            goto done;
          }
        ret = 1;
        goto done;
      }
    if (u && *u && p)
      {
        out->username = iw_xstrdup (u);
        out->password = iw_xstrdup (p);
        ret = 1;
        goto done;
      }
  }
done:
  json_decref (root);
  return ret;
}

static bool
valid_helper_name (const char *name)
{
  if (*name == '\0' || strlen (name) > 64)
    return false;
  for (const char *p = name; *p; p++)
    if (!isalnum ((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
      return false;
  return true;
}

/* Run `docker-credential-<name> get` with server on stdin.  Returns 1 with
 * creds, 0 when the helper knows none, < 0 when it could not be run. */
static int
run_helper (iw_creds *out, const char *name, const char *server, iw_error **err)
{
  char prog[96];
  char *argv[3];
  int in[2] = { -1, -1 }, outp[2] = { -1, -1 };
  posix_spawn_file_actions_t fa;
  pid_t pid;
  iw_buf buf = IW_BUF_INIT (IW_SMALL_BODY_MAX);
  int status = 0, ret = -1, rc;
  int64_t deadline = iw_clock_mono_ms () + HELPER_TIMEOUT_MS;
  json_t *root = NULL;
  json_error_t jerr;
  bool timed_out = false;

  if (!valid_helper_name (name))
    return iw_error_set (err, IW_EPOLICY, "credential helper name \"%s\" is not valid", name);
  snprintf (prog, sizeof prog, "docker-credential-%s", name);
  argv[0] = prog;
  argv[1] = (char *)"get";
  argv[2] = NULL;
  if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (outp, O_CLOEXEC) < 0)
    {
      iw_error_set (err, IW_EIO, "pipe: %s", strerror (errno));
      goto done;
    }
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, in[0], 0);
  posix_spawn_file_actions_adddup2 (&fa, outp[1], 1);
  rc = posix_spawnp (&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (in[0]);
  close (outp[1]);
  in[0] = outp[1] = -1;
  if (rc != 0)
    {
      iw_error_set (err, IW_EIO, "run %s: %s", prog, strerror (rc));
      goto done;
    }
  {
    /* The server name is short: one write cannot block on a pipe. */
    void (*old) (int) = signal (SIGPIPE, SIG_IGN);
    ssize_t w = write (in[1], server, strlen (server));

    (void)w;
    close (in[1]);
    in[1] = -1;
    signal (SIGPIPE, old);
  }
  for (;;)
    {
      struct pollfd pfd = { .fd = outp[0], .events = POLLIN };
      int64_t left = deadline - iw_clock_mono_ms ();
      char chunk[4096];
      ssize_t n;
      iw_error *e = NULL;

      if (left <= 0)
        {
          timed_out = true;
          break;
        }
      if (poll (&pfd, 1, (int)left) <= 0)
        continue;
      n = read (outp[0], chunk, sizeof chunk);
      if (n <= 0)
        break;
      if (iw_buf_append (&buf, chunk, (size_t)n, &e) < 0)
        {
          iw_error_free (e);
          timed_out = true; /* treated alike: kill it and fail */
          break;
        }
    }
  if (timed_out)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (timed_out)
    {
      iw_error_set (err, IW_EIO, "%s: no answer within %d s or answer too big", prog,
                    HELPER_TIMEOUT_MS / 1000);
      goto done;
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      /* "credentials not found in native keychain" and the like. */
      ret = 0;
      goto done;
    }
  root = json_loadb (buf.data ? buf.data : "", buf.len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object (root) || str_member (root, "Username") == NULL || str_member (root, "Secret") == NULL)
    {
      iw_error_set (err, IW_EPARSE, "%s: answer is not {\"Username\", \"Secret\"}", prog);
      goto done;
    }
  if (strcmp (str_member (root, "Username"), "<token>") == 0)
    {
      /* An identity token, for the token realm's OAuth2 refresh grant. */
      out->identity_token = iw_xstrdup (str_member (root, "Secret"));
      ret = 1;
      goto done;
    }
  out->username = iw_xstrdup (str_member (root, "Username"));
  out->password = iw_xstrdup (str_member (root, "Secret"));
  ret = 1;
done:
  if (buf.data)
    explicit_bzero (buf.data, buf.len);
  iw_buf_free (&buf);
  json_decref (root);
  for (int i = 0; i < 2; i++)
    {
      if (in[i] >= 0)
        close (in[i]);
      if (outp[i] >= 0)
        close (outp[i]);
    }
  return ret;
}

static int
from_config (iw_creds *out, const iw_config *cfg, const char *host, iw_error **err)
{
  const iw_registry_settings *s = cfg ? iw_config_registry (cfg, host) : NULL;
  iw_buf pw = IW_BUF_INIT (IW_SMALL_BODY_MAX);

  if (s == NULL || s->username == NULL)
    return 0;
  if (s->password_file)
    {
      if (read_file_capped (&pw, s->password_file, err) < 0)
        {
          iw_buf_free (&pw);
          return iw_error_wrap (err, "registries.%s.passwordFile", host);
        }
      while (pw.len > 0 && (pw.data[pw.len - 1] == '\n' || pw.data[pw.len - 1] == '\r'))
        pw.data[--pw.len] = '\0';
    }
  out->username = iw_xstrdup (s->username);
  out->password = iw_buf_take (&pw);
  return 1;
}

int
iw_creds_lookup (iw_creds *out, const iw_config *cfg, const char *host, const char *docker_config_dir,
                 bool use_docker_config, iw_error **err)
{
  iw_buf text = IW_BUF_INIT (DOCKER_CONFIG_MAX);
  char *path = NULL, *helper = NULL;
  const char *dir = docker_config_dir;
  iw_error *e = NULL;
  int r, ret = -1;

  out->username = out->password = out->identity_token = NULL;
  r = from_config (out, cfg, host, err);
  if (r != 0)
    return r;
  if (!use_docker_config)
    return 0;
  if (dir == NULL || *dir == '\0')
    dir = getenv ("DOCKER_CONFIG");
  if (dir && *dir)
    path = iw_xasprintf ("%s/config.json", dir);
  else if (getenv ("HOME"))
    path = iw_xasprintf ("%s/.docker/config.json", getenv ("HOME"));
  else
    return 0;
  if (read_file_capped (&text, path, &e) < 0)
    {
      ret = iw_error_code (e) == IW_ENOTFOUND ? 0 : -1;
      if (ret < 0)
        iw_error_set (err, iw_error_code (e), "%s", iw_error_msg (e));
      iw_error_free (e);
      goto done;
    }
  r = iw_creds_from_docker_json (out, &helper, text.data ? text.data : "", text.len, host, err);
  if (r < 0)
    {
      iw_error_wrap (err, "%s", path);
      goto done;
    }
  if (helper)
    {
      iw_creds hc = { 0 };
      int h = run_helper (&hc, helper, is_hub (host) ? "https://index.docker.io/v1/" : host, err);

      if (h < 0)
        {
          iw_creds_clear (out);
          iw_error_wrap (err, "credentials for %s", host);
          goto done;
        }
      if (h > 0)
        {
          iw_creds_clear (out);
          *out = hc;
          ret = 1;
          goto done;
        }
    }
  ret = r;
done:
  if (text.data)
    explicit_bzero (text.data, text.len);
  iw_buf_free (&text);
  free (path);
  free (helper);
  return ret;
}
