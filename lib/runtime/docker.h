/*
 * docker.h - the Docker Engine API as a source of container records: REST
 * over a unix socket (/var/run/docker.sock, or podman's Docker-compatible
 * service), read-only.
 *
 * Ownership: records are handed to fn, which owns them.
 * Errors: an unreachable engine is IW_ENET naming the socket; an HTTP
 * error status IW_ESERVER (or IW_EAUTH for 401/403) with the engine's
 * message; a malformed answer IW_EPARSE; an answer over 64 MiB IW_ETOOBIG.
 */
#ifndef IW_RUNTIME_DOCKER_H
#define IW_RUNTIME_DOCKER_H

#include "inventory/record.h"
#include "util/error.h"

#define IW_DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

/* Every container (running or not) as a record.  Kubernetes containers
 * run by dockershim or cri-dockerd get pod, namespace and container names
 * from their io.kubernetes.* labels, and their sandboxes are skipped;
 * others are workload kind "Container" named by the container name, in
 * namespace "docker".  The running image is "docker-pullable://repo@digest"
 * from the image's RepoDigests for the container's repository, else the
 * config digest ("docker://sha256:..."), as the kubelet reports them. */
int iw_docker_list_containers (const char *socket, iw_record_fn fn, void *userdata, iw_error **err);

/* Parse the two answers (GET /containers/json?all=1 and GET /images/json)
 * into records; exposed for tests and fuzzing.  source names the engine. */
int iw_docker_records_from_json (const char *containers, size_t containers_len, const char *images,
                                 size_t images_len, const char *source, iw_record_fn fn, void *userdata,
                                 iw_error **err);

#endif
