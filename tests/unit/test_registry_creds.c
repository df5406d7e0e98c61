/*
 * test_registry_creds.c - where credentials come from: imgwatch's config
 * (username + passwordFile), docker's config.json auths (base64 `auth`,
 * username/password, Docker Hub's aliases) and credential helpers.
 */
#include "config/config.h"
#include "registry/internal.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void
write_file (const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  chmod (path, mode);
}

static const struct
{
  const char *json;
  const char *host;
  int found;
  const char *user, *pass, *helper;
} docker_cases[] = {
  /* "alice:s3cret" */
  { "{\"auths\":{\"reg.example.com\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "reg.example.com", 1, "alice",
    "s3cret", NULL },
  { "{\"auths\":{\"https://reg.example.com/v2/\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "reg.example.com", 1,
    "alice", "s3cret", NULL },
  /* Docker Hub's key answers for docker.io and its API host. */
  { "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "docker.io", 1, "alice",
    "s3cret", NULL },
  { "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "registry-1.docker.io",
    1, "alice", "s3cret", NULL },
  /* A password with a colon: only the first one splits. */
  { "{\"auths\":{\"r:5000\":{\"auth\":\"Ym9iOmE6Yg==\"}}}", "r:5000", 1, "bob", "a:b", NULL },
  { "{\"auths\":{\"r\":{\"username\":\"u\",\"password\":\"p\"}}}", "r", 1, "u", "p", NULL },
  /* An identity token (OAuth2 refresh token): no username or password. */
  { "{\"auths\":{\"r\":{\"auth\":\"\",\"identitytoken\":\"refresh-xyz\"}}}", "r", 1, NULL, NULL, NULL },
  /* Another host, or a prefix of one, gets nothing. */
  { "{\"auths\":{\"reg.example.com\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "reg.example.com.evil", 0, NULL,
    NULL, NULL },
  { "{\"auths\":{\"reg.example.com\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", "other.example.com", 0, NULL, NULL,
    NULL },
  /* Helpers: credHelpers for the host wins over credsStore. */
  { "{\"credsStore\":\"desktop\",\"credHelpers\":{\"r\":\"ecr-login\"}}", "r", 0, NULL, NULL, "ecr-login" },
  { "{\"credsStore\":\"desktop\",\"credHelpers\":{\"r\":\"ecr-login\"}}", "s", 0, NULL, NULL, "desktop" },
  { "{}", "r", 0, NULL, NULL, NULL },
  /* Malformed. */
  { "{\"auths\":{\"r\":{\"auth\":\"not base64!\"}}}", "r", -1, NULL, NULL, NULL },
  { "{\"auths\":{\"r\":{\"auth\":\"bm9jb2xvbg==\"}}}", "r", -1, NULL, NULL, NULL },
  { "{\"auths\":{},\"auths\":{}}", "r", -1, NULL, NULL, NULL },
  { "[", "r", -1, NULL, NULL, NULL },
};

static void
test_registry_creds__docker_config_json (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof docker_cases / sizeof docker_cases[0]; i++)
    {
      iw_creds c = { 0 };
      char *helper = NULL;
      iw_error *err = NULL;
      int r = iw_creds_from_docker_json (&c, &helper, docker_cases[i].json, strlen (docker_cases[i].json),
                                         docker_cases[i].host, &err);

      if (r != docker_cases[i].found)
        fail_msg ("case %zu: got %d (%s)", i, r, iw_error_msg (err));
      if (r == 1 && docker_cases[i].user)
        {
          assert_string_equal (c.username, docker_cases[i].user);
          assert_string_equal (c.password, docker_cases[i].pass);
          assert_null (c.identity_token);
        }
      else if (r == 1)
        {
          assert_null (c.username);
          assert_string_equal (c.identity_token, "refresh-xyz");
        }
      if (r >= 0 && docker_cases[i].helper)
        assert_string_equal (helper, docker_cases[i].helper);
      else if (r >= 0)
        assert_null (helper);
      if (r < 0)
        assert_int_equal (iw_error_code (err), IW_EPARSE);
      iw_creds_clear (&c);
      free (helper);
      iw_error_free (err);
    }
}

static void
test_registry_creds__config_password_file_first (void **state)
{
  char dir[] = "/tmp/iw-creds-XXXXXX";
  char *pw, *yaml, *dcfg;
  iw_config *cfg = NULL;
  iw_error *err = NULL;
  iw_creds c = { 0 };

  (void)state;
  assert_non_null (mkdtemp (dir));
  pw = iw_xasprintf ("%s/pw", dir);
  dcfg = iw_xasprintf ("%s/config.json", dir);
  write_file (pw, "from-file\n", 0600);
  write_file (dcfg, "{\"auths\":{\"reg.example.com\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", 0600);
  yaml = iw_xasprintf ("registries:\n  \"reg.example.com\": {username: ci, passwordFile: %s}\n", pw);
  assert_int_equal (iw_config_parse (&cfg, yaml, strlen (yaml), "test.yaml", &err), 0);

  /* The imgwatch config wins over docker's. */
  assert_int_equal (iw_creds_lookup (&c, cfg, "reg.example.com", dir, true, &err), 1);
  assert_string_equal (c.username, "ci");
  assert_string_equal (c.password, "from-file");
  iw_creds_clear (&c);

  /* Docker's config.json for a host the config does not name. */
  iw_config_free (cfg);
  cfg = NULL;
  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", dir, true, &err), 1);
  assert_string_equal (c.username, "alice");
  iw_creds_clear (&c);
  /* ...unless docker's config is turned off. */
  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", dir, false, &err), 0);
  /* DOCKER_CONFIG is read when no directory is given. */
  setenv ("DOCKER_CONFIG", dir, 1);
  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", NULL, true, &err), 1);
  iw_creds_clear (&c);
  unsetenv ("DOCKER_CONFIG");

  /* A missing password file is an error that names the setting. */
  unlink (pw);
  assert_int_equal (iw_config_parse (&cfg, yaml, strlen (yaml), "test.yaml", &err), 0);
  assert_int_equal (iw_creds_lookup (&c, cfg, "reg.example.com", dir, true, &err), -1);
  assert_non_null (strstr (iw_error_msg (err), "passwordFile"));
  iw_error_clear (&err);

  unlink (dcfg);
  rmdir (dir);
  iw_config_free (cfg);
  free (pw);
  free (dcfg);
  free (yaml);
}

static void
test_registry_creds__credential_helper_protocol (void **state)
{
  char dir[] = "/tmp/iw-helper-XXXXXX";
  char *helper, *dcfg, *path, *old_path, *log, *script;
  iw_error *err = NULL;
  iw_creds c = { 0 };

  (void)state;
  assert_non_null (mkdtemp (dir));
  helper = iw_xasprintf ("%s/docker-credential-iwtest", dir);
  log = iw_xasprintf ("%s/log", dir);
  script = iw_xasprintf (
      "#!/bin/sh\nread server\necho \"$1 $server\" > %s\n"
      "case \"$server\" in\n"
      "  reg.example.com) echo '{\"ServerURL\":\"x\",\"Username\":\"hu\",\"Secret\":\"hs\"}';;\n"
      "  tok.example.com) echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"rt\"}';;\n"
      "  *) echo 'credentials not found in native keychain'; exit 1;;\n"
      "esac\n",
      log);
  write_file (helper, script, 0755);
  dcfg = iw_xasprintf ("%s/config.json", dir);
  write_file (dcfg,
              "{\"credsStore\":\"iwtest\",\"auths\":{\"other.example.com\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}",
              0600);
  old_path = iw_xstrdup (getenv ("PATH"));
  path = iw_xasprintf ("%s:%s", dir, old_path);
  setenv ("PATH", path, 1);

  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", dir, true, &err), 1);
  assert_string_equal (c.username, "hu");
  assert_string_equal (c.password, "hs");
  iw_creds_clear (&c);
  /* "<token>" as the username: an identity token. */
  assert_int_equal (iw_creds_lookup (&c, NULL, "tok.example.com", dir, true, &err), 1);
  assert_null (c.username);
  assert_string_equal (c.identity_token, "rt");
  iw_creds_clear (&c);
  /* The helper knows nothing of this host: auths still answers. */
  assert_int_equal (iw_creds_lookup (&c, NULL, "other.example.com", dir, true, &err), 1);
  assert_string_equal (c.username, "alice");
  iw_creds_clear (&c);
  /* Nobody knows this one. */
  assert_int_equal (iw_creds_lookup (&c, NULL, "third.example.com", dir, true, &err), 0);

  /* A helper that does not exist is an error, not silence. */
  write_file (dcfg, "{\"credsStore\":\"does-not-exist-here\"}", 0600);
  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", dir, true, &err), -1);
  iw_error_clear (&err);
  /* A helper name with a slash is refused. */
  write_file (dcfg, "{\"credsStore\":\"../evil\"}", 0600);
  assert_int_equal (iw_creds_lookup (&c, NULL, "reg.example.com", dir, true, &err), -1);
  assert_non_null (strstr (iw_error_msg (err), "not valid"));
  iw_error_clear (&err);

  setenv ("PATH", old_path, 1);
  unlink (helper);
  unlink (log);
  unlink (dcfg);
  rmdir (dir);
  free (helper);
  free (dcfg);
  free (path);
  free (old_path);
  free (log);
  free (script);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_creds__docker_config_json),
    cmocka_unit_test (test_registry_creds__config_password_file_first),
    cmocka_unit_test (test_registry_creds__credential_helper_protocol),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
