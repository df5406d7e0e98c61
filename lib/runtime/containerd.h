/*
 * containerd.h - a read-only client of containerd's gRPC API over its unix
 * socket: namespaces, containers and their tasks, images (name -> target
 * descriptor), and content (info and read).
 *
 * Every call opens its own HTTP/2 connection, so a client may be used from
 * several threads at once (the content store of iw_containerd_content does).
 *
 * Ownership: *out belongs to the caller; iw_containerd_free() and
 * iw_strv_free() accept NULL.  A content store made from a client borrows
 * it: free the store first.
 *
 * Errors: containerd not reachable (no socket, refused, not speaking gRPC)
 * is IW_ENET with the socket path in the message; gRPC statuses map as in
 * grpc.h (NOT_FOUND -> IW_ENOTFOUND).
 */
#ifndef IW_RUNTIME_CONTAINERD_H
#define IW_RUNTIME_CONTAINERD_H

#include "inventory/record.h"
#include "runtime/store.h"
#include "util/error.h"

#define IW_CONTAINERD_DEFAULT_SOCKET "/run/containerd/containerd.sock"

typedef struct iw_containerd iw_containerd;

/* Connect (by listing namespaces once, so an unreachable containerd fails
 * here with IW_ENET). */
int iw_containerd_open (iw_containerd **out, const char *socket, iw_error **err);
void iw_containerd_free (iw_containerd *c);

/* The socket path.  Borrowed. */
const char *iw_containerd_socket (const iw_containerd *c);

/* NULL-terminated names of every namespace. */
int iw_containerd_namespaces (char ***out, iw_containerd *c, iw_error **err);
void iw_strv_free (char **v);

/* Append every image of namespace ns (name, namespace, target digest,
 * media type and size) to out. */
int iw_containerd_images (iw_store_images *out, iw_containerd *c, const char *ns, iw_error **err);

/* A content store reading blobs of namespace ns through the content API
 * (Info for the size, Read streamed in chunks). */
int iw_containerd_content (iw_content_store **out, iw_containerd *c, const char *ns, iw_error **err);

/* The containers of namespace ns (every namespace when ns is NULL) as
 * container records, handed to fn one at a time.  CRI containers get pod,
 * namespace and container names from their io.kubernetes.* labels; CRI
 * sandboxes (pause containers) are skipped.  Others become workload kind
 * "Container" named by their ID, in their containerd namespace.  The
 * running image is the target digest the container's image name has now
 * (containerd records no digest per container), and state comes from the
 * task: "running", "waiting" (created, or no task) or "terminated". */
int iw_containerd_list (iw_containerd *c, const char *ns, iw_record_fn fn, void *userdata, iw_error **err);

/* The same, connecting to socket first: the source function for
 * `imgwatch assess --containerd SOCK`. */
int iw_containerd_list_containers (const char *socket, const char *ns, iw_record_fn fn, void *userdata,
                                   iw_error **err);

#endif
