/*
 * grpc.h - a minimal gRPC client over a unix socket: HTTP/2 with prior
 * knowledge through libcurl, length-prefixed message framing, status from
 * the trailers.  Enough for containerd's unary and server-streaming calls.
 *
 * Ownership: the caller owns *out; iw_grpc_frames_clear() releases a
 * decoder's buffer.
 *
 * Errors: a connection failure is IW_ENET ("cannot connect to SOCK: ...");
 * a gRPC status maps to a code (NOT_FOUND -> IW_ENOTFOUND, UNAVAILABLE ->
 * IW_ENET, DEADLINE_EXCEEDED -> IW_ETIMEOUT, UNAUTHENTICATED and
 * PERMISSION_DENIED -> IW_EAUTH, UNIMPLEMENTED -> IW_EUNSUPPORTED, others
 * IW_ESERVER) with grpc-message in the text; a malformed frame is
 * IW_EPARSE; a message over the cap is IW_ETOOBIG.
 */
#ifndef IW_RUNTIME_GRPC_H
#define IW_RUNTIME_GRPC_H

#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* Called with each complete message; < 0 stops the call. */
typedef int (*iw_grpc_message_fn) (const uint8_t *msg, size_t len, void *userdata, iw_error **err);

/* Incremental decoder of the gRPC message framing: 1 byte compressed flag,
 * 4 bytes big-endian length, then the message. */
typedef struct iw_grpc_frames
{
  uint8_t head[5];
  size_t head_len;
  uint32_t msg_len;
  iw_buf msg;
  size_t messages;
  iw_grpc_message_fn fn;
  void *userdata;
} iw_grpc_frames;

void iw_grpc_frames_init (iw_grpc_frames *f, size_t max_message, iw_grpc_message_fn fn, void *userdata);
/* Feed bytes; calls fn for each message completed.  A compressed message
 * (flag 1: no compression was negotiated) or a bad flag is IW_EPARSE. */
int iw_grpc_frames_feed (iw_grpc_frames *f, const void *p, size_t n, iw_error **err);
/* True when no partial message is pending. */
int iw_grpc_frames_complete (const iw_grpc_frames *f);
void iw_grpc_frames_clear (iw_grpc_frames *f);

/* Map a gRPC status code to an iw_code. */
iw_code iw_grpc_status_code (int status);

/* Decode a grpc-message value (percent-encoded); caller frees. */
char *iw_grpc_message_decode (const char *s, size_t n);

typedef struct iw_grpc_call
{
  const char *socket;     /* unix socket path */
  const char *path;       /* "/containerd.services.images.v1.Images/List" */
  const char *namespace_; /* sent as containerd-namespace, or NULL */
  const uint8_t *request; /* the serialized request message */
  size_t request_len;
  size_t max_message;    /* cap on one response message */
  long timeout_ms;       /* whole call; 0 = none */
  iw_grpc_message_fn fn; /* each response message */
  void *userdata;
} iw_grpc_call;

/* Make the call; returns 0 when the status is OK and every message was
 * accepted by fn. */
int iw_grpc_invoke (const iw_grpc_call *call, iw_error **err);

#endif
