/*
 * test_util.c - errors, bounded buffers, JSON quoting, sha256, logging.
 */
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int
fail_deep (iw_error **err)
{
  return iw_error_set (err, IW_EAUTH, "HTTP %d", 401);
}

static int
fail_mid (iw_error **err)
{
  if (fail_deep (err) < 0)
    return iw_error_wrap (err, "HEAD manifest");
  return 0;
}

static void
test_error__wraps_context_and_keeps_code (void **state)
{
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (fail_mid (&err), -1);
  assert_int_equal (iw_error_wrap (&err, "resolve %s", "app:1"), -1);
  assert_string_equal (iw_error_msg (err), "resolve app:1: HEAD manifest: HTTP 401");
  assert_int_equal (iw_error_code (err), IW_EAUTH);
  assert_string_equal (iw_code_name (iw_error_code (err)), "auth");
  iw_error_clear (&err);
  assert_null (err);
  assert_int_equal (iw_error_code (NULL), IW_OK);
  assert_string_equal (iw_error_msg (NULL), "");
  iw_error_free (NULL);
}

static void
test_error__wrap_without_error_still_explains (void **state)
{
  iw_error *err = NULL;

  (void)state;
  iw_error_wrap (&err, "open %s", "x");
  assert_string_equal (iw_error_msg (err), "open x");
  assert_int_equal (iw_error_code (err), IW_EIO);
  iw_error_free (err);
  /* A NULL err pointer is allowed: the caller does not want details. */
  assert_int_equal (iw_error_set (NULL, IW_EINVAL, "ignored"), -1);
}

static void
test_error__set_replaces_previous (void **state)
{
  iw_error *err = NULL;

  (void)state;
  iw_error_set (&err, IW_ENET, "first");
  iw_error_set (&err, IW_ETLS, "second");
  assert_string_equal (iw_error_msg (err), "second");
  assert_int_equal (iw_error_code (err), IW_ETLS);
  iw_error_free (err);
}

static void
test_buf__grows_until_cap_then_refuses (void **state)
{
  iw_buf b = IW_BUF_INIT (10);
  iw_error *err = NULL;

  (void)state;
  assert_string_equal (iw_buf_cstr (&b), "");
  assert_int_equal (iw_buf_appends (&b, "hello", &err), 0);
  assert_int_equal (iw_buf_printf (&b, &err, "%d", 1234), 0);
  assert_string_equal (iw_buf_cstr (&b), "hello1234");
  assert_int_equal (iw_buf_appendc (&b, '!', &err), 0);
  assert_int_equal (b.len, 10);
  assert_int_equal (iw_buf_appendc (&b, '?', &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  /* The buffer is unchanged by the refused append. */
  assert_string_equal (iw_buf_cstr (&b), "hello1234!");
  iw_error_clear (&err);
  assert_int_equal (iw_buf_printf (&b, &err, "%s", "x"), -1);
  iw_error_clear (&err);
  iw_buf_reset (&b);
  assert_int_equal (b.len, 0);
  assert_string_equal (iw_buf_cstr (&b), "");
  iw_buf_free (&b);
}

static void
test_buf__huge_append_does_not_overflow (void **state)
{
  iw_buf b = IW_BUF_INIT (100);
  iw_error *err = NULL;

  (void)state;
  iw_buf_appends (&b, "abc", &err);
  assert_int_equal (iw_buf_append (&b, "x", (size_t)-1, &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  iw_error_free (err);
  iw_buf_free (&b);
}

static void
test_buf__take_moves_ownership (void **state)
{
  iw_buf b = IW_BUF_INIT (64);
  char *s;

  (void)state;
  s = iw_buf_take (&b);
  assert_string_equal (s, "");
  free (s);
  iw_buf_appends (&b, "abc", NULL);
  s = iw_buf_take (&b);
  assert_string_equal (s, "abc");
  assert_null (b.data);
  assert_int_equal (b.len, 0);
  free (s);
  iw_buf_free (&b);
}

static void
test_json__quotes_controls_and_bad_utf8 (void **state)
{
  static const struct
  {
    const char *in, *out;
  } cases[] = {
    { "", "\"\"" },
    { "plain", "\"plain\"" },
    { "a\"b\\c", "\"a\\\"b\\\\c\"" },
    { "line\nnext\ttab\r", "\"line\\nnext\\ttab\\r\"" },
    { "\x01\x1f", "\"\\u0001\\u001f\"" },
    { "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
    { "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
    { "\xf0\x9f\x8c\xaf", "\"\xf0\x9f\x8c\xaf\"" },
    { "bad\xff", "\"bad\\ufffd\"" },
    { "\xc3", "\"\\ufffd\"" },
    { "\xc0\xaf", "\"\\ufffd\\ufffd\"" },            /* overlong */
    { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *q = iw_json_quote (cases[i].in);

      assert_string_equal (q, cases[i].out);
      free (q);
    }
}

static void
test_sha256__known_vectors_and_streaming (void **state)
{
  char d[IW_SHA256_DIGEST_STRLEN];
  iw_sha256 *h;

  (void)state;
  iw_sha256_buf ("", 0, d);
  assert_string_equal (d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  iw_sha256_buf ("abc", 3, d);
  assert_string_equal (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  h = iw_sha256_new ();
  iw_sha256_update (h, "a", 1);
  iw_sha256_update (h, "bc", 2);
  iw_sha256_final (h, d);
  assert_string_equal (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  /* The context is reusable after final. */
  iw_sha256_update (h, "abc", 3);
  iw_sha256_final (h, d);
  assert_string_equal (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  iw_sha256_free (h);
  iw_sha256_free (NULL);
}

static void
test_sha256__fd_reads_everything (void **state)
{
  char path[] = "/tmp/iw-test-XXXXXX";
  int fd = mkstemp (path);
  char d[IW_SHA256_DIGEST_STRLEN], e[IW_SHA256_DIGEST_STRLEN];
  unsigned long long size = 0;
  size_t n = 3 * 1024 * 1024 + 7;
  unsigned char *data = iw_xmalloc (n);
  iw_error *err = NULL;

  (void)state;
  assert_true (fd >= 0);
  for (size_t i = 0; i < n; i++)
    data[i] = (unsigned char)(i * 31 + 7);
  assert_int_equal (write (fd, data, n), (ssize_t)n);
  lseek (fd, 0, SEEK_SET);
  assert_int_equal (iw_sha256_fd (fd, d, &size, &err), 0);
  iw_sha256_buf (data, n, e);
  assert_string_equal (d, e);
  assert_int_equal (size, n);
  close (fd);
  unlink (path);
  free (data);
  /* A bad descriptor is an I/O error, not a digest. */
  assert_int_equal (iw_sha256_fd (-1, d, NULL, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EIO);
  iw_error_free (err);
}

static void
test_log__levels_parse_and_redact (void **state)
{
  char *r;

  (void)state;
  assert_int_equal (iw_log_level_parse ("debug"), IW_LOG_DEBUG);
  assert_int_equal (iw_log_level_parse ("WARN"), IW_LOG_WARN);
  assert_int_equal (iw_log_level_parse ("warning"), IW_LOG_WARN);
  assert_int_equal (iw_log_level_parse ("loud"), -1);
  iw_log_setup (IW_LOG_INFO, IW_LOG_TEXT);
  assert_true (iw_log_enabled (IW_LOG_WARN));
  assert_false (iw_log_enabled (IW_LOG_DEBUG));
  r = iw_log_redact_url ("https://user:s3cret@reg.example.com/v2/?a=b@c");
  assert_string_equal (r, "https://***@reg.example.com/v2/?a=b@c");
  assert_null (strstr (r, "s3cret"));
  free (r);
  r = iw_log_redact_url ("http://127.0.0.1:5000/v2/x@y");
  assert_string_equal (r, "http://127.0.0.1:5000/v2/x@y");
  free (r);
  iw_log_setup (IW_LOG_WARN, IW_LOG_TEXT);
}

static void
test_mem__steal_moves (void **state)
{
  char *a = iw_xstrdup ("x");
  char *b;

  (void)state;
  b = iw_steal (&a);
  assert_null (a);
  assert_string_equal (b, "x");
  free (b);
  assert_null (iw_xstrdup0 (NULL));
}

static void
test_base64__decodes_and_rejects (void **state)
{
  static const struct
  {
    const char *in;
    const char *out; /* NULL: invalid */
    size_t len;
  } cases[] = {
    { "", "", 0 },
    { "Zg==", "f", 1 },
    { "Zm8=", "fo", 2 },
    { "Zm9v", "foo", 3 },
    { "dXNlcjpwYXNz", "user:pass", 9 },
    { "dXNl\ncjpw\r\nYXNz", "user:pass", 9 },
    { " Zm9v ", "foo", 3 },
    { "AAE=", "\0\1", 2 },
    { "Zm9", NULL, 0 },
    { "Zm9v=", NULL, 0 },
    { "Z===", NULL, 0 },
    { "Zg=a", NULL, 0 },
    { "Zm=v", NULL, 0 },
    { "Zm9*", NULL, 0 },
    { "====", NULL, 0 },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *out = NULL;
      size_t len = 99;
      int rc = iw_base64_decode (&out, &len, cases[i].in, strlen (cases[i].in));

      if (cases[i].out == NULL)
        {
          assert_int_equal (rc, -1);
          assert_null (out);
          continue;
        }
      assert_int_equal (rc, 0);
      assert_int_equal (len, cases[i].len);
      assert_memory_equal (out, cases[i].out, len);
      assert_int_equal (out[len], '\0');
      free (out);
    }
}

static void
test_base64__embedded_nul_is_invalid (void **state)
{
  char *out = NULL;
  size_t len = 0;

  (void)state;
  assert_int_equal (iw_base64_decode (&out, &len, "Zm9v\0Zm9v", 9), -1);
  assert_null (out);
}

static void
test_clock__monotonic_and_cpu_advance (void **state)
{
  int64_t ms = iw_clock_mono_ms ();
  double t = iw_clock_mono (), cpu = iw_clock_cpu ();
  volatile unsigned long spin = 0;

  (void)state;
  for (unsigned long i = 0; i < 20000000UL; i++)
    spin += i;
  assert_true (iw_clock_mono_ms () >= ms);
  assert_true (iw_clock_mono () > t);
  assert_true (iw_clock_cpu () > cpu);
  /* Both monotonic forms read the same clock. */
  assert_true (iw_clock_mono () * 1000 - (double)iw_clock_mono_ms () < 50);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_error__wraps_context_and_keeps_code),
    cmocka_unit_test (test_error__wrap_without_error_still_explains),
    cmocka_unit_test (test_error__set_replaces_previous),
    cmocka_unit_test (test_buf__grows_until_cap_then_refuses),
    cmocka_unit_test (test_buf__huge_append_does_not_overflow),
    cmocka_unit_test (test_buf__take_moves_ownership),
    cmocka_unit_test (test_json__quotes_controls_and_bad_utf8),
    cmocka_unit_test (test_sha256__known_vectors_and_streaming),
    cmocka_unit_test (test_sha256__fd_reads_everything),
    cmocka_unit_test (test_log__levels_parse_and_redact),
    cmocka_unit_test (test_mem__steal_moves),
    cmocka_unit_test (test_base64__decodes_and_rejects),
    cmocka_unit_test (test_base64__embedded_nul_is_invalid),
    cmocka_unit_test (test_clock__monotonic_and_cpu_advance),
  };

  return cmocka_run_group_tests_name ("util", tests, NULL, NULL);
}
