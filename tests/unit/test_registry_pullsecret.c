/*
 * test_registry_pullsecret.c - Kubernetes pull secrets: .dockerconfigjson
 * and legacy .dockercfg parsing, kubelet's key normalization, and how the
 * registry client keeps the credentials per host (first one wins, a
 * whole-host entry beats a path-scoped one, docker.io's aliases).
 */
#include "registry/registry.h"
#include "registry/transport.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* "alice:s3cret" and "bob:pa:ss" in base64. */
#define ALICE "YWxpY2U6czNjcmV0"
#define BOB "Ym9iOnBhOnNz"

static const struct
{
  const char *json;
  int rc;             /* 0 or -1 */
  size_t n, skipped;  /* entries kept and skipped */
  const char *host;   /* of the first entry */
  const char *path;   /* of the first entry, or NULL */
  const char *user;   /* of the first entry */
  const char *pass;   /* of the first entry */
  const char *errmsg; /* a substring of the error */
} parse_cases[] = {
  { "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" ALICE "\"}}}", 0, 1, 0, "127.0.0.1:5000", NULL, "alice",
    "s3cret", NULL },
  /* username/password instead of auth; the password may hold colons. */
  { "{\"auths\":{\"reg.example.com\":{\"username\":\"u\",\"password\":\"p:q\"}}}", 0, 1, 0, "reg.example.com",
    NULL, "u", "p:q", NULL },
  { "{\"auths\":{\"r.io\":{\"auth\":\"" BOB "\"}}}", 0, 1, 0, "r.io", NULL, "bob", "pa:ss", NULL },
  /* Legacy .dockercfg: no "auths" wrapper. */
  { "{\"https://index.docker.io/v1/\":{\"auth\":\"" ALICE "\",\"email\":\"a@b\"}}", 0, 1, 0, "docker.io",
    NULL, "alice", "s3cret", NULL },
  /* Keys as kubelet reads them: scheme, /v1/ and /v2/ dropped, case folded, hub aliases. */
  { "{\"auths\":{\"http://Reg.Example.COM:8443/v2/\":{\"auth\":\"" ALICE "\"}}}", 0, 1, 0,
    "reg.example.com:8443", NULL, "alice", "s3cret", NULL },
  { "{\"auths\":{\"registry-1.docker.io\":{\"auth\":\"" ALICE "\"}}}", 0, 1, 0, "docker.io", NULL, "alice",
    "s3cret", NULL },
  { "{\"auths\":{\"index.docker.io/v1\":{\"auth\":\"" ALICE "\"}}}", 0, 1, 0, "docker.io", NULL, "alice",
    "s3cret", NULL },
  { "{\"auths\":{\"quay.io/team/app/\":{\"auth\":\"" ALICE "\"}}}", 0, 1, 0, "quay.io", "team/app", "alice",
    "s3cret", NULL },
  /* Skipped: wildcards, entries without credentials, non-objects, userinfo in the key. */
  { "{\"auths\":{\"*.example.com\":{\"auth\":\"" ALICE "\"},\"r.io\":{\"email\":\"x\"},\"s.io\":3,"
    "\"u@t.io\":{\"auth\":\"" ALICE "\"}}}",
    0, 0, 4, NULL, NULL, NULL, NULL, NULL },
  { "{\"auths\":{}}", 0, 0, 0, NULL, NULL, NULL, NULL, NULL },
  { "{}", 0, 0, 0, NULL, NULL, NULL, NULL, NULL },
  /* Errors. */
  { "{\"auths\":{\"r.io\":{\"auth\":\"" ALICE "\"},\"r.io\":{\"auth\":\"" BOB "\"}}}", -1, 0, 0, NULL, NULL,
    NULL, NULL, "duplicate" },
  { "{\"auths\":{\"r.io\":{\"auth\":\"not base64!\"}}}", -1, 0, 0, NULL, NULL, NULL, NULL,
    "auths[\"r.io\"]" },
  /* base64 of "nocolon". */
  { "{\"auths\":{\"r.io\":{\"auth\":\"bm9jb2xvbg==\"}}}", -1, 0, 0, NULL, NULL, NULL, NULL, "user:password" },
  { "{\"auths\":[]}", -1, 0, 0, NULL, NULL, NULL, NULL, "not an object" },
  { "[1]", -1, 0, 0, NULL, NULL, NULL, NULL, "not a JSON object" },
  { "{\"auths\":", -1, 0, 0, NULL, NULL, NULL, NULL, "invalid JSON" },
  { "", -1, 0, 0, NULL, NULL, NULL, NULL, "invalid JSON" },
};

static void
test_registry_pullsecret__parse (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
    {
      iw_pull_auth *a = NULL;
      size_t n = 99, skipped = 99;
      iw_error *err = NULL;
      int rc
          = iw_pull_auths_parse (&a, &n, &skipped, parse_cases[i].json, strlen (parse_cases[i].json), &err);

      printf ("# case %zu: %s\n", i, parse_cases[i].json);
      if (parse_cases[i].rc < 0)
        {
          assert_true (rc < 0);
          assert_null (a);
          assert_int_equal (n, 0);
          assert_non_null (err);
          assert_non_null (strstr (iw_error_msg (err), parse_cases[i].errmsg));
          /* A credential never appears in an error. */
          assert_null (strstr (iw_error_msg (err), "s3cret"));
          iw_error_free (err);
          continue;
        }
      assert_int_equal (rc, 0);
      assert_null (err);
      assert_int_equal (n, parse_cases[i].n);
      assert_int_equal (skipped, parse_cases[i].skipped);
      if (n > 0)
        {
          assert_string_equal (a[0].host, parse_cases[i].host);
          if (parse_cases[i].path)
            assert_string_equal (a[0].path, parse_cases[i].path);
          else
            assert_null (a[0].path);
          assert_string_equal (a[0].creds.username, parse_cases[i].user);
          assert_string_equal (a[0].creds.password, parse_cases[i].pass);
          assert_null (a[0].creds.identity_token);
        }
      iw_pull_auths_free (a, n);
    }
}

static const struct
{
  const char *key, *host, *path;
} key_cases[] = {
  { "https://index.docker.io/v1/", "docker.io", NULL },
  { "docker.io", "docker.io", NULL },
  { "registry.hub.docker.com", "docker.io", NULL },
  { "HTTPS://GHCR.IO", "ghcr.io", NULL },
  { "127.0.0.1:5000", "127.0.0.1:5000", NULL },
  { "[::1]:5000/v2/", "[::1]:5000", NULL },
  { "reg.io/v1/team", "reg.io", "team" },
  { "reg.io//a//", "reg.io", "a" },
};

static void
test_registry_pullsecret__key_normalization (void **state)
{
  static const char *const bad[] = { "", "https://", "/path", "*.io", "reg?.io", "a b", "u:p@reg.io" };

  (void)state;
  for (size_t i = 0; i < sizeof key_cases / sizeof key_cases[0]; i++)
    {
      char *h = NULL, *p = NULL;

      assert_int_equal (iw_pull_key_normalize (&h, &p, key_cases[i].key, NULL), 0);
      assert_string_equal (h, key_cases[i].host);
      if (key_cases[i].path)
        assert_string_equal (p, key_cases[i].path);
      else
        assert_null (p);
      free (h);
      free (p);
    }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      char *h = (char *)"x", *p = (char *)"y";
      iw_error *err = NULL;

      assert_true (iw_pull_key_normalize (&h, &p, bad[i], &err) < 0);
      assert_null (h);
      assert_null (p);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      iw_error_free (err);
    }
}

static void
expect_creds (iw_registry *reg, const char *hostname, const char *user, const char *pass)
{
  iw_creds c = { 0 };
  int r = iw_registry__pull_creds (&c, reg, hostname);

  if (user == NULL)
    {
      assert_int_equal (r, 0);
      assert_null (c.username);
      return;
    }
  assert_int_equal (r, 1);
  assert_string_equal (c.username, user);
  assert_string_equal (c.password, pass);
  iw_creds_clear (&c);
}

static void
test_registry_pullsecret__registry_keeps_first_per_host (void **state)
{
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  const char *s1 = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" ALICE "\"},"
                   "\"quay.io/team\":{\"username\":\"scoped\",\"password\":\"x\"}}}";
  const char *s2 = "{\"auths\":{\"docker.io\":{\"auth\":\"" BOB "\"},"
                   "\"quay.io\":{\"username\":\"whole\",\"password\":\"y\"},"
                   "\"127.0.0.1:5000\":{\"username\":\"local\",\"password\":\"z\"}}}";
  const char *bad = "{\"auths\":{\"x.io\":{\"auth\":\"!!\"}}}";

  (void)state;
  assert_int_equal (iw_registry_new (&reg, NULL, NULL, &err), 0);
  expect_creds (reg, "docker.io", NULL, NULL);
  assert_int_equal (iw_registry_add_pull_secret (reg, "ns/one", s1, strlen (s1), &err), 2);
  /* docker.io is taken (the first secret wins); quay.io's scoped entry
   * yields to the whole-host one; 127.0.0.1:5000 is new. */
  assert_int_equal (iw_registry_add_pull_secret (reg, "ns/two", s2, strlen (s2), &err), 2);
  expect_creds (reg, "docker.io", "alice", "s3cret");
  expect_creds (reg, "index.docker.io", "alice", "s3cret");
  expect_creds (reg, "quay.io", "whole", "y");
  expect_creds (reg, "127.0.0.1:5000", "local", "z");
  /* No credentials for another host, nor another port of the same host. */
  expect_creds (reg, "127.0.0.1:5001", NULL, NULL);
  expect_creds (reg, "ghcr.io", NULL, NULL);

  /* The direct API follows the same rules. */
  assert_int_equal (iw_registry_add_credentials (reg, "ghcr.io", "g", "h", &err), 1);
  assert_int_equal (iw_registry_add_credentials (reg, "https://ghcr.io/v2/", "other", "i", &err), 0);
  expect_creds (reg, "ghcr.io", "g", "h");
  assert_int_equal (iw_registry_add_credentials (reg, "r.io", "a:b", "c", &err), -1);
  assert_int_equal (iw_error_code (err), IW_EINVAL);
  iw_error_clear (&err);
  assert_int_equal (iw_registry_add_credentials (reg, "*.r.io", "a", "c", &err), -1);
  assert_int_equal (iw_error_code (err), IW_EPARSE);
  iw_error_clear (&err);

  /* A malformed secret adds nothing and names the secret. */
  assert_int_equal (iw_registry_add_pull_secret (reg, "ns/bad", bad, strlen (bad), &err), -1);
  assert_non_null (strstr (iw_error_msg (err), "pull secret ns/bad"));
  iw_error_clear (&err);
  expect_creds (reg, "x.io", NULL, NULL);
  iw_registry_free (reg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_pullsecret__parse),
    cmocka_unit_test (test_registry_pullsecret__key_normalization),
    cmocka_unit_test (test_registry_pullsecret__registry_keeps_first_per_host),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
