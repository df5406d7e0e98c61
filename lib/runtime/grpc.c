/*
 * grpc.c - gRPC over a unix socket with libcurl: HTTP/2 prior knowledge,
 * message framing, and the status from the trailers (or, for a
 * "trailers-only" answer, from the headers).
 */
#include "runtime/grpc.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
iw_grpc_frames_init (iw_grpc_frames *f, size_t max_message, iw_grpc_message_fn fn, void *userdata)
{
  memset (f, 0, sizeof *f);
  iw_buf_init (&f->msg, max_message);
  f->fn = fn;
  f->userdata = userdata;
}

void
iw_grpc_frames_clear (iw_grpc_frames *f)
{
  iw_buf_free (&f->msg);
}

int
iw_grpc_frames_complete (const iw_grpc_frames *f)
{
  return f->head_len == 0;
}

int
iw_grpc_frames_feed (iw_grpc_frames *f, const void *p, size_t n, iw_error **err)
{
  const uint8_t *b = p;

  while (n > 0)
    {
      if (f->head_len < 5)
        {
          size_t take = 5 - f->head_len < n ? 5 - f->head_len : n;

          memcpy (f->head + f->head_len, b, take);
          f->head_len += take;
          b += take;
          n -= take;
          if (f->head_len < 5)
            break;
          if (f->head[0] == 1)
            return iw_error_set (err, IW_EPARSE, "compressed gRPC message, but no compression was asked for");
          if (f->head[0] != 0)
            return iw_error_set (err, IW_EPARSE, "bad gRPC frame flag %u", f->head[0]);
          f->msg_len = (uint32_t)f->head[1] << 24 | (uint32_t)f->head[2] << 16 | (uint32_t)f->head[3] << 8
                       | (uint32_t)f->head[4];
          if (f->msg_len > f->msg.max)
            return iw_error_set (err, IW_ETOOBIG, "gRPC message of %u bytes, over the cap of %zu", f->msg_len,
                                 f->msg.max);
          iw_buf_reset (&f->msg);
        }
      if (f->msg.len == 0 && n >= f->msg_len)
        {
          /* The whole message is in this chunk: hand it over in place. */
          const uint8_t *m = b;

          b += f->msg_len;
          n -= f->msg_len;
          f->head_len = 0;
          f->messages++;
          if (f->fn && f->fn (m, f->msg_len, f->userdata, err) < 0)
            return -1;
          continue;
        }
      if (f->msg.len < f->msg_len)
        {
          size_t take = f->msg_len - f->msg.len < n ? f->msg_len - f->msg.len : n;

          if (iw_buf_append (&f->msg, b, take, err) < 0)
            return -1;
          b += take;
          n -= take;
        }
      if (f->msg.len == f->msg_len)
        {
          f->head_len = 0;
          f->messages++;
          if (f->fn && f->fn ((const uint8_t *)f->msg.data, f->msg.len, f->userdata, err) < 0)
            return -1;
        }
    }
  return 0;
}

iw_code
iw_grpc_status_code (int status)
{
  switch (status)
    {
    case 0:
      return IW_OK;
    case 3: /* INVALID_ARGUMENT */
      return IW_EINVAL;
    case 4: /* DEADLINE_EXCEEDED */
      return IW_ETIMEOUT;
    case 5: /* NOT_FOUND */
      return IW_ENOTFOUND;
    case 7:  /* PERMISSION_DENIED */
    case 16: /* UNAUTHENTICATED */
      return IW_EAUTH;
    case 8: /* RESOURCE_EXHAUSTED */
      return IW_ETOOBIG;
    case 12: /* UNIMPLEMENTED */
      return IW_EUNSUPPORTED;
    case 14: /* UNAVAILABLE */
      return IW_ENET;
    default:
      return IW_ESERVER;
    }
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
iw_grpc_message_decode (const char *s, size_t n)
{
  char *out = iw_xmalloc (n + 1);
  size_t j = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '%' && i + 2 < n && hexval (s[i + 1]) >= 0 && hexval (s[i + 2]) >= 0)
        {
          out[j++] = (char)(hexval (s[i + 1]) * 16 + hexval (s[i + 2]));
          i += 2;
        }
      else
        out[j++] = s[i];
    }
  out[j] = '\0';
  return out;
}

typedef struct call_state
{
  iw_grpc_frames frames;
  iw_error *err; /* from the message callback or the decoder */
  int status;    /* -1 until a grpc-status header is seen */
  char *message;
  long http_status;
  char content_type[64];
} call_state;

static size_t
on_body (char *p, size_t size, size_t nmemb, void *ud)
{
  call_state *st = ud;
  size_t n = size * nmemb;

  if (st->err)
    return 0;
  if (iw_grpc_frames_feed (&st->frames, p, n, &st->err) < 0)
    return 0;
  return n;
}

static size_t
on_header (char *p, size_t size, size_t nmemb, void *ud)
{
  call_state *st = ud;
  size_t n = size * nmemb, len = n;

  while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
    len--;
  if (len > 12 && strncasecmp (p, "grpc-status:", 12) == 0)
    {
      char buf[16];
      size_t k = len - 12 < sizeof buf - 1 ? len - 12 : sizeof buf - 1;

      memcpy (buf, p + 12, k);
      buf[k] = '\0';
      st->status = atoi (buf);
    }
  else if (len > 13 && strncasecmp (p, "grpc-message:", 13) == 0)
    {
      const char *v = p + 13;
      size_t vl = len - 13;

      while (vl > 0 && *v == ' ')
        v++, vl--;
      free (st->message);
      st->message = iw_grpc_message_decode (v, vl > 1024 ? 1024 : vl);
    }
  else if (len > 13 && strncasecmp (p, "content-type:", 13) == 0)
    {
      const char *v = p + 13;
      size_t vl = len - 13;

      while (vl > 0 && *v == ' ')
        v++, vl--;
      if (vl >= sizeof st->content_type)
        vl = sizeof st->content_type - 1;
      memcpy (st->content_type, v, vl);
      st->content_type[vl] = '\0';
    }
  return n;
}

int
iw_grpc_invoke (const iw_grpc_call *call, iw_error **err)
{
  CURL *h = curl_easy_init ();
  struct curl_slist *hdrs = NULL;
  call_state st;
  uint8_t *body = NULL;
  char *ns_header = NULL;
  CURLcode rc;
  int ret = -1;

  memset (&st, 0, sizeof st);
  st.status = -1;
  iw_grpc_frames_init (&st.frames, call->max_message, call->fn, call->userdata);
  if (h == NULL)
    {
      iw_error_set (err, IW_ENOMEM, "curl_easy_init failed");
      goto done;
    }
  body = iw_xmalloc (call->request_len + 5);
  body[0] = 0;
  body[1] = (uint8_t)(call->request_len >> 24);
  body[2] = (uint8_t)(call->request_len >> 16);
  body[3] = (uint8_t)(call->request_len >> 8);
  body[4] = (uint8_t)call->request_len;
  if (call->request_len)
    memcpy (body + 5, call->request, call->request_len);
  hdrs = curl_slist_append (hdrs, "content-type: application/grpc+proto");
  hdrs = curl_slist_append (hdrs, "te: trailers");
  hdrs = curl_slist_append (hdrs, "user-agent: imgwatch");
  hdrs = curl_slist_append (hdrs, "Expect:");
  if (call->namespace_)
    {
      ns_header = iw_xasprintf ("containerd-namespace: %s", call->namespace_);
      hdrs = curl_slist_append (hdrs, ns_header);
    }
  {
    char *url = iw_xasprintf ("http://localhost%s", call->path);

    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_UNIX_SOCKET_PATH, call->socket);
    curl_easy_setopt (h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt (h, CURLOPT_POST, 1L);
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(call->request_len + 5));
    curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt (h, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* A peer that stops sending (a hung daemon, something that is not
     * gRPC) fails the call instead of hanging it. */
    curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 30L);
    if (call->timeout_ms > 0)
      curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, call->timeout_ms);
    rc = curl_easy_perform (h);
    free (url);
  }
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &st.http_status);
  if (st.err)
    {
      if (err)
        *err = iw_steal (&st.err);
      goto done;
    }
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    {
      iw_error_set (err, IW_ENET, "cannot connect to %s: %s", call->socket, curl_easy_strerror (rc));
      goto done;
    }
  if (rc == CURLE_OPERATION_TIMEDOUT)
    {
      iw_error_set (err, IW_ETIMEOUT, "%s: timed out", call->path);
      goto done;
    }
  if (rc != CURLE_OK)
    {
      iw_error_set (err, IW_ENET, "%s over %s: %s", call->path, call->socket, curl_easy_strerror (rc));
      goto done;
    }
  if (st.http_status != 200)
    {
      iw_error_set (err, IW_ESERVER, "%s: HTTP %ld", call->path, st.http_status);
      goto done;
    }
  if (st.status < 0)
    {
      iw_error_set (err, IW_EPARSE, "%s: the answer has no grpc-status", call->path);
      goto done;
    }
  if (st.status != 0)
    {
      iw_error_set (err, iw_grpc_status_code (st.status), "%s: %s (gRPC status %d)", call->path,
                    st.message ? st.message : "no message", st.status);
      goto done;
    }
  if (!iw_grpc_frames_complete (&st.frames))
    {
      iw_error_set (err, IW_EPARSE, "%s: the answer ends inside a message", call->path);
      goto done;
    }
  ret = 0;
done:
  iw_error_free (st.err);
  free (st.message);
  iw_grpc_frames_clear (&st.frames);
  curl_slist_free_all (hdrs);
  free (ns_header);
  free (body);
  if (h)
    curl_easy_cleanup (h);
  return ret;
}
