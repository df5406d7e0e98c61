/*
 * test_runtime_grpc.c - gRPC message framing (split anywhere, several
 * messages per chunk, caps, compression refused), status mapping, the
 * grpc-message decoding, and a call to a socket nobody listens on.
 */
#include "runtime/containerd.h"
#include "runtime/grpc.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct collected
{
  char msgs[8][64];
  size_t n;
  int fail_at; /* stop at this message (1-based), 0 = never */
} collected;

static int
collect (const uint8_t *p, size_t n, void *ud, iw_error **err)
{
  collected *c = ud;

  if (c->fail_at && (int)c->n + 1 == c->fail_at)
    return iw_error_set (err, IW_EINVAL, "stop");
  assert_true (n < sizeof c->msgs[0]);
  memcpy (c->msgs[c->n], p, n);
  c->msgs[c->n][n] = '\0';
  c->n++;
  return 0;
}

/* Frame s as one gRPC message into out; returns the frame length. */
static size_t
frame (uint8_t *out, const char *s)
{
  size_t n = strlen (s);

  out[0] = 0;
  out[1] = (uint8_t)(n >> 24);
  out[2] = (uint8_t)(n >> 16);
  out[3] = (uint8_t)(n >> 8);
  out[4] = (uint8_t)n;
  memcpy (out + 5, s, n);
  return n + 5;
}

static void
test_runtime_grpc__frames_split_at_every_byte (void **state)
{
  uint8_t wire[128];
  size_t len = 0;

  (void)state;
  len += frame (wire + len, "first");
  len += frame (wire + len, "");
  len += frame (wire + len, "third message");
  /* Every way of cutting the stream in two gives the same messages. */
  for (size_t cut = 0; cut <= len; cut++)
    {
      collected c = { 0 };
      iw_grpc_frames f;
      iw_error *err = NULL;

      iw_grpc_frames_init (&f, 1024, collect, &c);
      assert_int_equal (iw_grpc_frames_feed (&f, wire, cut, &err), 0);
      assert_int_equal (iw_grpc_frames_feed (&f, wire + cut, len - cut, &err), 0);
      assert_true (iw_grpc_frames_complete (&f));
      assert_int_equal (c.n, 3);
      assert_string_equal (c.msgs[0], "first");
      assert_string_equal (c.msgs[1], "");
      assert_string_equal (c.msgs[2], "third message");
      iw_grpc_frames_clear (&f);
    }
}

static void
test_runtime_grpc__frames_reject_what_they_must (void **state)
{
  static const struct
  {
    uint8_t bytes[8];
    size_t len;
    size_t max;
    iw_code code;
    const char *msg;
  } cases[] = {
    { { 1, 0, 0, 0, 1, 'x' }, 6, 64, IW_EPARSE, "compressed" },
    { { 7, 0, 0, 0, 1, 'x' }, 6, 64, IW_EPARSE, "flag 7" },
    { { 0, 0, 0, 0, 65, 'x' }, 6, 64, IW_ETOOBIG, "over the cap" },
    { { 0, 0xff, 0xff, 0xff, 0xff }, 5, 1 << 20, IW_ETOOBIG, "4294967295" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      collected c = { 0 };
      iw_grpc_frames f;
      iw_error *err = NULL;

      iw_grpc_frames_init (&f, cases[i].max, collect, &c);
      assert_int_equal (iw_grpc_frames_feed (&f, cases[i].bytes, cases[i].len, &err), -1);
      assert_int_equal (iw_error_code (err), cases[i].code);
      if (strstr (iw_error_msg (err), cases[i].msg) == NULL)
        fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, iw_error_msg (err), cases[i].msg);
      assert_int_equal (c.n, 0);
      iw_error_free (err);
      iw_grpc_frames_clear (&f);
    }
}

static void
test_runtime_grpc__partial_frame_is_incomplete_and_callback_can_stop (void **state)
{
  uint8_t wire[64];
  size_t len = frame (wire, "abc");
  collected c = { 0 };
  iw_grpc_frames f;
  iw_error *err = NULL;

  (void)state;
  iw_grpc_frames_init (&f, 64, collect, &c);
  assert_int_equal (iw_grpc_frames_feed (&f, wire, len - 1, &err), 0);
  assert_false (iw_grpc_frames_complete (&f));
  iw_grpc_frames_clear (&f);

  c.fail_at = 2;
  len += frame (wire + len, "def");
  iw_grpc_frames_init (&f, 64, collect, &c);
  assert_int_equal (iw_grpc_frames_feed (&f, wire, len, &err), -1);
  assert_string_equal (iw_error_msg (err), "stop");
  assert_int_equal (c.n, 1);
  iw_error_free (err);
  iw_grpc_frames_clear (&f);
}

static void
test_runtime_grpc__status_codes_and_messages (void **state)
{
  static const struct
  {
    int status;
    iw_code code;
  } codes[] = {
    { 0, IW_OK },     { 3, IW_EINVAL },        { 4, IW_ETIMEOUT }, { 5, IW_ENOTFOUND }, { 7, IW_EAUTH },
    { 16, IW_EAUTH }, { 12, IW_EUNSUPPORTED }, { 14, IW_ENET },    { 13, IW_ESERVER },  { 2, IW_ESERVER },
  };
  static const struct
  {
    const char *in;
    const char *out;
  } msgs[] = {
    { "content%20digest%20sha256:ab%3A%20not%20found", "content digest sha256:ab: not found" },
    { "100%", "100%" },
    { "%zz%4", "%zz%4" },
    { "plain", "plain" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    assert_int_equal (iw_grpc_status_code (codes[i].status), codes[i].code);
  for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
    {
      char *s = iw_grpc_message_decode (msgs[i].in, strlen (msgs[i].in));

      assert_string_equal (s, msgs[i].out);
      free (s);
    }
}

static void
test_runtime_grpc__unreachable_containerd_is_a_network_error (void **state)
{
  iw_containerd *c = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_containerd_open (&c, "/nonexistent/containerd.sock", &err), -1);
  assert_null (c);
  assert_int_equal (iw_error_code (err), IW_ENET);
  assert_non_null (strstr (iw_error_msg (err), "/nonexistent/containerd.sock"));
  iw_error_free (err);
  iw_containerd_free (NULL);
  iw_strv_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_runtime_grpc__frames_split_at_every_byte),
    cmocka_unit_test (test_runtime_grpc__frames_reject_what_they_must),
    cmocka_unit_test (test_runtime_grpc__partial_frame_is_incomplete_and_callback_can_stop),
    cmocka_unit_test (test_runtime_grpc__status_codes_and_messages),
    cmocka_unit_test (test_runtime_grpc__unreachable_containerd_is_a_network_error),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
