/*
 * test_registry_auth.c - WWW-Authenticate parsing, token replies and the
 * loopback rule for sending credentials to a plain-HTTP token realm.
 */
#include "registry/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* One expected challenge: scheme, then up to 4 name=value pairs. */
typedef struct want_challenge
{
  const char *scheme;
  const char *token68;
  const char *params[8];
} want_challenge;

static const struct
{
  const char *header;
  size_t n;
  want_challenge c[3];
} good[] = {
  { "Bearer "
    "realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:app:pull\"",
    1,
    { { "bearer",
        NULL,
        { "realm", "https://auth.example.com/token", "service", "registry.example.com", "scope",
          "repository:app:pull" } } } },
  /* Bearer not first, and several challenges. */
  { "Basic realm=\"x\", Bearer realm=\"https://a/t\", service=\"s\"",
    2,
    { { "basic", NULL, { "realm", "x" } }, { "bearer", NULL, { "realm", "https://a/t", "service", "s" } } } },
  /* A comma inside a quoted scope stays in the value. */
  { "Bearer realm=\"r\",scope=\"repository:app:pull,push\"",
    1,
    { { "bearer", NULL, { "realm", "r", "scope", "repository:app:pull,push" } } } },
  /* Escaped quotes and backslashes. */
  { "Bearer realm=\"r\", service=\"a \\\"q\\\" \\\\ b\"",
    1,
    { { "bearer", NULL, { "realm", "r", "service", "a \"q\" \\ b" } } } },
  /* Case-insensitive scheme and parameter names; token (unquoted) values. */
  { "BEARER REALM=r, Service=svc", 1, { { "bearer", NULL, { "realm", "r", "service", "svc" } } } },
  /* Optional whitespace around '=' and empty list elements. */
  { " , Basic realm = \"x\" ,, ", 1, { { "basic", NULL, { "realm", "x" } } } },
  /* token68 and a scheme alone. */
  { "Negotiate abc+/=, Basic", 2, { { "negotiate", "abc+/=", { NULL } }, { "basic", NULL, { NULL } } } },
  /* "realm=" with no value is a token68 by the grammar, not a parameter. */
  { "Bearer realm=", 1, { { "bearer", "realm=", { NULL } } } },
  { "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
    2,
    { { "newauth", NULL, { "realm", "apps", "type", "1", "title", "Login to \"apps\"" } },
      { "basic", NULL, { "realm", "simple" } } } },
};

static void
test_registry_auth__parses_challenges (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      iw_auth_challenges c;
      iw_error *err = NULL;

      if (iw_auth_challenges_parse (&c, good[i].header, &err) < 0)
        fail_msg ("case %zu (%s): %s", i, good[i].header, iw_error_msg (err));
      assert_int_equal (c.n, good[i].n);
      for (size_t j = 0; j < c.n; j++)
        {
          const want_challenge *w = &good[i].c[j];
          size_t np = 0;

          assert_string_equal (c.items[j].scheme, w->scheme);
          if (w->token68)
            assert_string_equal (c.items[j].token68, w->token68);
          else
            assert_null (c.items[j].token68);
          while (np < 8 && w->params[np])
            np += 2;
          assert_int_equal (c.items[j].n_params, np / 2);
          for (size_t k = 0; k < np; k += 2)
            {
              const char *v = iw_auth_challenge_param (&c.items[j], w->params[k]);

              assert_non_null (v);
              assert_string_equal (v, w->params[k + 1]);
            }
        }
      iw_auth_challenges_clear (&c);
    }
}

static const struct
{
  const char *header;
  const char *message;
} bad[] = {
  { "", "no challenge" },
  { "Bearer realm=\"unterminated", "unterminated" },
  { "Bearer realm=\"x\\", "unterminated" },
  { "=realm", "expected an auth scheme" },
  { "Bearer realm=x junk", "expected ','" },
  { "Bearer realm=\"a\nb\"", "control character" },
  { "Bearer realm=\"x\" \"y\"", "expected ','" },
  { "Bea(rer realm=x", "unexpected character" },
};

static void
test_registry_auth__rejects_malformed_challenges (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      iw_auth_challenges c;
      iw_error *err = NULL;

      if (iw_auth_challenges_parse (&c, bad[i].header, &err) == 0)
        fail_msg ("case %zu (%s) was accepted", i, bad[i].header);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      if (strstr (iw_error_msg (err), bad[i].message) == NULL)
        fail_msg ("case %zu: message \"%s\" lacks \"%s\"", i, iw_error_msg (err), bad[i].message);
      assert_int_equal (c.n, 0);
      iw_error_free (err);
    }
}

static void
test_registry_auth__finds_bearer_anywhere (void **state)
{
  iw_auth_challenges c;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_auth_challenges_parse (&c, "Basic realm=\"a\", bEaReR realm=\"b\"", &err), 0);
  assert_non_null (iw_auth_challenges_find (&c, "Bearer"));
  assert_string_equal (iw_auth_challenge_param (iw_auth_challenges_find (&c, "bearer"), "REALM"), "b");
  assert_null (iw_auth_challenges_find (&c, "digest"));
  iw_auth_challenges_clear (&c);
}

static const struct
{
  const char *body;
  int ok;
  const char *token;
  long expires;
} tokens[] = {
  { "{\"token\":\"abc\",\"expires_in\":300}", 1, "abc", 300 },
  { "{\"access_token\":\"xyz\"}", 1, "xyz", 60 },
  { "{\"token\":\"\",\"access_token\":\"both\"}", 1, "both", 60 },
  { "{\"token\":\"t\",\"expires_in\":-5}", 1, "t", 60 },
  { "{\"token\":\"t\",\"expires_in\":12.7}", 1, "t", 12 },
  { "{\"expires_in\":300}", 0, NULL, 0 },
  { "{\"token\":42}", 0, NULL, 0 },
  { "{\"token\":\"a b\"}", 0, NULL, 0 },
  { "{\"token\":\"a\",\"token\":\"b\"}", 0, NULL, 0 },
  { "[\"token\"]", 0, NULL, 0 },
  { "not json", 0, NULL, 0 },
};

static void
test_registry_auth__parses_token_replies (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    {
      char *t = NULL;
      long exp = 0;
      iw_error *err = NULL;
      int r = iw_auth_token_parse (&t, &exp, tokens[i].body, strlen (tokens[i].body), &err);

      if ((r == 0) != tokens[i].ok)
        fail_msg ("case %zu (%s): got %d (%s)", i, tokens[i].body, r, iw_error_msg (err));
      if (r == 0)
        {
          assert_string_equal (t, tokens[i].token);
          assert_int_equal (exp, tokens[i].expires);
        }
      free (t);
      iw_error_free (err);
    }
}

static void
test_registry_auth__knows_loopback (void **state)
{
  (void)state;
  assert_true (iw_auth_host_is_loopback ("127.0.0.1"));
  assert_true (iw_auth_host_is_loopback ("127.0.0.1:5000"));
  assert_true (iw_auth_host_is_loopback ("127.1.2.3:80"));
  assert_true (iw_auth_host_is_loopback ("localhost:5000"));
  assert_true (iw_auth_host_is_loopback ("[::1]:5000"));
  assert_false (iw_auth_host_is_loopback ("127.evil.com"));
  assert_false (iw_auth_host_is_loopback ("127.0.0.1.evil.com"));
  assert_false (iw_auth_host_is_loopback ("localhost.evil.com"));
  assert_false (iw_auth_host_is_loopback ("10.0.0.1"));
  assert_false (iw_auth_host_is_loopback (NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_auth__parses_challenges),
    cmocka_unit_test (test_registry_auth__rejects_malformed_challenges),
    cmocka_unit_test (test_registry_auth__finds_bearer_anywhere),
    cmocka_unit_test (test_registry_auth__parses_token_replies),
    cmocka_unit_test (test_registry_auth__knows_loopback),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
