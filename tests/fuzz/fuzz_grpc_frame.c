/*
 * fuzz_grpc_frame.c - what containerd's socket sends back: the gRPC
 * framing, fed in two pieces cut where the second byte says, and every
 * message decoded as the protobuf response the first byte picks (content
 * chunks, images, containers, tasks, namespaces, content info, snapshot info).
 */
#include "containerd.pb-c.h"
#include "runtime/grpc.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
decode (const uint8_t *p, size_t n, void *ud, iw_error **err)
{
  const ProtobufCMessageDescriptor *const *d = ud;
  ProtobufCMessage *m = protobuf_c_message_unpack (*d, NULL, n, p);

  (void)err;
  if (m)
    protobuf_c_message_free_unpacked (m, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const ProtobufCMessageDescriptor *const types[] = {
    &iwctd__read_content_response__descriptor,    &iwctd__list_images_response__descriptor,
    &iwctd__list_container_message__descriptor,   &iwctd__list_tasks_response__descriptor,
    &iwctd__list_namespaces_response__descriptor, &iwctd__info_response__descriptor,
    &iwctd__stat_snapshot_response__descriptor,
  };
  const ProtobufCMessageDescriptor *type;
  iw_grpc_frames f;
  iw_error *err = NULL;
  size_t cut;

  if (size < 2)
    return 0;
  type = types[data[0] % 7];
  cut = data[1] < size - 2 ? data[1] : size - 2;
  data += 2;
  size -= 2;
  iw_grpc_frames_init (&f, 1 << 16, decode, (void *)&type);
  if (iw_grpc_frames_feed (&f, data, cut, &err) == 0)
    iw_grpc_frames_feed (&f, data + cut, size - cut, &err);
  iw_error_free (err);
  iw_grpc_frames_clear (&f);
  return 0;
}
