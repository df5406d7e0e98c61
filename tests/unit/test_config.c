/*
 * test_config.c - the YAML config: every key, every error message, the
 * ConfigMap form, defaults, and the trustedRegistries pattern table.
 */
#include "config/config.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static size_t
list_count (char **v)
{
  size_t n = 0;

  while (v[n] != NULL)
    n++;
  return n;
}

static iw_config *
parse_ok (const char *yaml)
{
  iw_config *c = NULL;
  iw_error *err = NULL;

  if (iw_config_parse (&c, yaml, strlen (yaml), "config.yaml", &err) < 0)
    fail_msg ("unexpected error: %s", iw_error_msg (err));
  assert_non_null (c);
  assert_null (err);
  return c;
}

/* Parsing must fail with exactly this message and code. */
static void
parse_fails (const char *yaml, iw_code code, const char *msg)
{
  iw_config *c = (iw_config *)0x1;
  iw_error *err = NULL;

  assert_int_equal (iw_config_parse (&c, yaml, strlen (yaml), "config.yaml", &err), -1);
  assert_null (c);
  assert_non_null (err);
  if (strcmp (iw_error_msg (err), msg) != 0)
    fail_msg ("for:\n%s\nexpected: %s\n     got: %s", yaml, msg, iw_error_msg (err));
  assert_int_equal (iw_error_code (err), code);
  iw_error_free (err);
}

static void
test_config__defaults (void **state)
{
  iw_config *c = iw_config_new_default ();
  const char *tags[]
      = { "latest", "stable", "prod", "production", "main", "master", "dev", "edge", "nightly" };
  size_t i;

  (void)state;
  assert_false (c->has_trusted);
  assert_null (c->trusted[0]);
  for (i = 0; i < sizeof tags / sizeof *tags; i++)
    {
      assert_string_equal (c->moving_tags[i], tags[i]);
      assert_true (iw_config_is_moving_tag (c, tags[i]));
      assert_true (iw_config_is_moving_tag (NULL, tags[i]));
    }
  assert_null (c->moving_tags[i]);
  assert_false (iw_config_is_moving_tag (c, "1.25"));
  assert_false (iw_config_is_moving_tag (c, "Latest"));
  assert_false (iw_config_is_moving_tag (c, NULL));
  assert_true (iw_config_is_trusted (c, "evil.example/x"));
  assert_int_equal (c->n_registries, 0);
  assert_null (iw_config_registry (c, "docker.io"));
  assert_null (iw_config_mirrors (c, "docker.io"));
  assert_null (iw_config_severity (c, "moving-tag"));
  assert_false (iw_config_is_exempt (c, "default", "docker.io/library/nginx", "moving-tag"));
  assert_true (c->admission.deny_untrusted);
  assert_true (c->admission.deny_moving_tags);
  assert_false (c->admission.require_digest);
  assert_true (c->admission.mutate);
  assert_false (c->admission.allow_on_registry_error);
  iw_config_free (c);
  iw_config_free (NULL);
}

static void
test_config__admission (void **state)
{
  iw_config *c;

  (void)state;
  c = parse_ok ("admission:\n  denyUntrusted: false\n  denyMovingTags: false\n  requireDigest: true\n"
                "  mutate: false\n  onRegistryError: allow\n");
  assert_false (c->admission.deny_untrusted);
  assert_false (c->admission.deny_moving_tags);
  assert_true (c->admission.require_digest);
  assert_false (c->admission.mutate);
  assert_true (c->admission.allow_on_registry_error);
  iw_config_free (c);
  /* Keys not given keep their defaults. */
  c = parse_ok ("admission: {onRegistryError: deny}\n");
  assert_true (c->admission.deny_untrusted);
  assert_true (c->admission.mutate);
  assert_false (c->admission.allow_on_registry_error);
  iw_config_free (c);
  parse_fails ("admission: {onRegistryError: maybe}\n", IW_EPOLICY,
               "config.yaml:1: admission.onRegistryError: expected deny or allow, got \"maybe\"");
  parse_fails ("admission: {mutate: yes}\n", IW_EPOLICY,
               "config.yaml:1: admission.mutate: expected true or false, got \"yes\"");
  parse_fails ("admission: [mutate]\n", IW_EPOLICY,
               "config.yaml:1: admission: expected a mapping, got a list");
  parse_fails ("admission: {denyMovingTag: true}\n", IW_EPOLICY,
               "config.yaml:1: admission: unknown key denyMovingTag (did you mean denyMovingTags?)");
}

static void
test_config__empty_documents_are_defaults (void **state)
{
  const char *docs[] = { "", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "~\n", "null\n", "{}\n" };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof docs / sizeof *docs; i++)
    {
      iw_config *c = parse_ok (docs[i]);

      assert_false (c->has_trusted);
      assert_true (iw_config_is_moving_tag (c, "latest"));
      assert_string_equal (c->path, "config.yaml");
      iw_config_free (c);
    }
}

static void
test_config__design_example (void **state)
{
  const char *yaml
      = "trustedRegistries: [\"registry.example.com\", \"*.jfrog.io\", \"docker.io/library/*\"]\n"
        "movingTags: [latest, stable, prod, production, main, master, dev, edge, nightly]\n"
        "registries:\n"
        "  \"127.0.0.1:5000\": {insecure: true}              # plain HTTP only when asked\n"
        "  \"registry.example.com\": {ca: /etc/imgwatch/ca.pem, username: ci, passwordFile: "
        "/run/secrets/pw}\n"
        "mirrors: {\"docker.io\": [\"mirror.example.com\"]}\n"
        "severity: {moving-tag: low}\n"
        "exemptions: [{namespace: kube-system, checks: [moving-tag]}]\n";
  iw_config *c = parse_ok (yaml);
  const iw_registry_settings *r;
  const char *const *m;

  (void)state;
  assert_true (c->has_trusted);
  assert_string_equal (c->trusted[0], "registry.example.com");
  assert_string_equal (c->trusted[1], "*.jfrog.io");
  assert_string_equal (c->trusted[2], "docker.io/library/*");
  assert_null (c->trusted[3]);
  assert_true (iw_config_is_trusted (c, "registry.example.com/green-burrito"));
  assert_true (iw_config_is_trusted (c, "acme.jfrog.io/team/app"));
  assert_true (iw_config_is_trusted (c, "docker.io/library/nginx"));
  assert_false (iw_config_is_trusted (c, "docker.io/someone/nginx"));
  assert_false (iw_config_is_trusted (c, "registry.example.com.evil.io/green-burrito"));

  assert_int_equal (c->n_registries, 2);
  r = iw_config_registry (c, "127.0.0.1:5000");
  assert_non_null (r);
  assert_true (r->insecure);
  assert_null (r->ca);
  assert_int_equal (r->max_concurrency, 0);
  assert_null (iw_config_registry (c, "127.0.0.1:5001"));
  assert_null (iw_config_registry (c, "127.0.0.1"));
  r = iw_config_registry (c, "Registry.Example.com");
  assert_non_null (r);
  assert_false (r->insecure);
  assert_string_equal (r->host, "registry.example.com");
  assert_string_equal (r->ca, "/etc/imgwatch/ca.pem");
  assert_string_equal (r->username, "ci");
  assert_string_equal (r->password_file, "/run/secrets/pw");

  assert_int_equal (c->n_mirrors, 1);
  m = iw_config_mirrors (c, "docker.io");
  assert_non_null (m);
  assert_string_equal (m[0], "mirror.example.com");
  assert_null (m[1]);
  assert_ptr_equal (iw_config_mirrors (c, "registry-1.docker.io"), m);
  assert_ptr_equal (iw_config_mirrors (c, "index.docker.io"), m);
  assert_null (iw_config_mirrors (c, "quay.io"));

  assert_int_equal (c->n_severity, 1);
  assert_string_equal (iw_config_severity (c, "moving-tag"), "low");
  assert_null (iw_config_severity (c, "pull-policy"));

  assert_int_equal (c->n_exemptions, 1);
  assert_string_equal (c->exemptions[0].namespace_, "kube-system");
  assert_null (c->exemptions[0].image);
  assert_string_equal (c->exemptions[0].checks[0], "moving-tag");
  assert_null (c->exemptions[0].checks[1]);
  assert_true (iw_config_is_exempt (c, "kube-system", "docker.io/library/pause", "moving-tag"));
  assert_false (iw_config_is_exempt (c, "kube-system", "docker.io/library/pause", "pull-policy"));
  assert_false (iw_config_is_exempt (c, "default", "docker.io/library/pause", "moving-tag"));
  assert_false (iw_config_is_exempt (c, NULL, "docker.io/library/pause", "moving-tag"));
  iw_config_free (c);
}

static void
test_config__block_style_every_key (void **state)
{
  const char *yaml = "trustedRegistries:\n"
                     "  - registry.example.com\n"
                     "  - nginx\n"
                     "  - library/*\n"
                     "  - Index.Docker.IO/bitnami/*\n"
                     "movingTags:\n"
                     "  - latest\n"
                     "  - canary\n"
                     "registries:\n"
                     "  docker.io:\n"
                     "    username: bot\n"
                     "    passwordFile: /run/hub\n"
                     "    maxConcurrency: 4\n"
                     "  \"[::1]:5000\":\n"
                     "    insecure: false\n"
                     "    maxConcurrency: 1024\n"
                     "mirrors:\n"
                     "  docker.io:\n"
                     "    - mirror.gcr.io\n"
                     "    - 10.0.0.1:5000\n"
                     "  quay.io: []\n"
                     "severity:\n"
                     "  integrity-unknown: critical\n"
                     "  integrity-stale: high\n"
                     "  digest-drift: medium\n"
                     "  untrusted-registry: low\n"
                     "  tag-missing: info\n"
                     "  unverified: high\n"
                     "  pull-policy: low\n"
                     "  image-id-reference: high\n"
                     "  store-corrupt: critical\n"
                     "  store-mismatch: critical\n"
                     "  tag-rollback: high\n"
                     "  config: info\n"
                     "exemptions:\n"
                     "  - namespace: kube-system\n"
                     "  - image: quay.io/calico/*\n"
                     "    checks: [moving-tag, pull-policy]\n"
                     "  - namespace: ci\n"
                     "    image: \"*.jfrog.io\"\n";
  iw_config *c = parse_ok (yaml);
  const iw_registry_settings *r;

  (void)state;
  assert_string_equal (c->trusted[0], "registry.example.com");
  assert_string_equal (c->trusted[1], "docker.io/library/nginx");
  assert_string_equal (c->trusted[2], "docker.io/library/*");
  assert_string_equal (c->trusted[3], "docker.io/bitnami/*");
  assert_null (c->trusted[4]);
  assert_true (iw_config_is_trusted (c, "docker.io/library/nginx"));
  assert_true (iw_config_is_trusted (c, "docker.io/bitnami/redis"));
  assert_false (iw_config_is_trusted (c, "docker.io/bitnamix/redis"));

  /* movingTags replaces the defaults. */
  assert_true (iw_config_is_moving_tag (c, "canary"));
  assert_true (iw_config_is_moving_tag (c, "latest"));
  assert_false (iw_config_is_moving_tag (c, "stable"));

  /* Docker Hub's settings apply to all its names. */
  r = iw_config_registry (c, "docker.io");
  assert_non_null (r);
  assert_ptr_equal (iw_config_registry (c, "registry-1.docker.io"), r);
  assert_ptr_equal (iw_config_registry (c, "index.docker.io"), r);
  assert_string_equal (r->username, "bot");
  assert_string_equal (r->password_file, "/run/hub");
  assert_int_equal (r->max_concurrency, 4);
  assert_null (iw_config_registry (c, "docker.io.evil.com"));
  r = iw_config_registry (c, "[::1]:5000");
  assert_non_null (r);
  assert_false (r->insecure);
  assert_int_equal (r->max_concurrency, 1024);

  assert_string_equal (iw_config_mirrors (c, "docker.io")[1], "10.0.0.1:5000");
  assert_null (iw_config_mirrors (c, "quay.io")[0]);

  assert_int_equal (c->n_severity, 12);
  assert_string_equal (iw_config_severity (c, "tag-missing"), "info");
  assert_string_equal (iw_config_severity (c, "config"), "info");

  assert_int_equal (c->n_exemptions, 3);
  assert_true (iw_config_is_exempt (c, "kube-system", "docker.io/library/x", "integrity-unknown"));
  assert_true (iw_config_is_exempt (c, "default", "quay.io/calico/node", "pull-policy"));
  assert_false (iw_config_is_exempt (c, "default", "quay.io/calico/node", "integrity-stale"));
  assert_false (iw_config_is_exempt (c, "default", "quay.io/calicox/node", "pull-policy"));
  assert_true (iw_config_is_exempt (c, "ci", "acme.jfrog.io/app", "integrity-stale"));
  assert_false (iw_config_is_exempt (c, "ci", "jfrog.io/app", "integrity-stale"));
  assert_false (iw_config_is_exempt (c, "other", "acme.jfrog.io/app", "integrity-stale"));
  iw_config_free (c);
}

static void
test_config__empty_trusted_list_trusts_nothing (void **state)
{
  iw_config *c = parse_ok ("trustedRegistries: []\nmovingTags: []\n");

  (void)state;
  assert_true (c->has_trusted);
  assert_false (iw_config_is_trusted (c, "docker.io/library/nginx"));
  assert_false (iw_config_is_moving_tag (c, "latest"));
  iw_config_free (c);
}

static void
test_config__booleans (void **state)
{
  const char *yes[] = { "true", "True", "TRUE" };
  const char *no[] = { "false", "False", "FALSE" };
  iw_config *c0;
  size_t i;
  char yaml[128];

  (void)state;
  for (i = 0; i < 3; i++)
    {
      iw_config *c;

      snprintf (yaml, sizeof yaml, "registries: {a.io: {insecure: %s}, b.io: {insecure: %s}}\n", yes[i],
                no[i]);
      c = parse_ok (yaml);
      assert_true (iw_config_registry (c, "a.io")->insecure);
      assert_false (iw_config_registry (c, "b.io")->insecure);
      iw_config_free (c);
    }
  c0 = parse_ok ("registries: {a.io: {insecure: !!bool true}}\r\nmovingTags: [x]\r\n");
  assert_true (iw_config_registry (c0, "a.io")->insecure);
  iw_config_free (c0);
}

typedef struct err_case
{
  const char *yaml;
  iw_code code;
  const char *msg;
} err_case;

static const err_case errors[] = {
  /* The example from the brief. */
  { "trustedRegistries: [registry.example.com]\n"
    "registries:\n"
    "  registry.example.com:\n"
    "    ca: /etc/ca.pem\n"
    "\n"
    "  \"127.0.0.1:5000\":\n"
    "    insecure: yes please\n",
    IW_EPOLICY,
    "config.yaml:7: registries.\"127.0.0.1:5000\".insecure: expected true or false, got \"yes please\"" },
  { "registries: {a.io: {insecure: yes}}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got \"yes\"" },
  { "registries: {a.io: {insecure: \"true\"}}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got the quoted string \"true\"" },
  { "registries: {a.io: {insecure: [true]}}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got a list" },
  { "registries: {a.io: {insecure: }}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got null" },
  { "registries: {a.io: {insecure: !!str true}}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got \"true\" tagged !!str" },
  { "registries: {a.io: {insecure: !custom true}}\n", IW_EPOLICY,
    "config.yaml:1: registries.\"a.io\".insecure: expected true or false, got \"true\" tagged !custom" },
  /* User text in messages is escaped and cut. */
  { "trustedRegistries:\n  - a.io\n  - |\n    b.io\n", IW_EPOLICY,
    "config.yaml:3: trustedRegistries[1]: invalid pattern \"b.io\\n\": pattern contains a space or control "
    "character" },
  { "\"say \\\"hi\\\"\\e[31m\": 1\n", IW_EPOLICY, "config.yaml:1: unknown key \"say \\\"hi\\\"\\x1b[31m\"" },
  { "severity: {moving-tag: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaa}\n",
    IW_EPOLICY,
    "config.yaml:1: severity.moving-tag: expected critical, high, medium, low or info, got "
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
    "..." },
  /* Unknown keys, with suggestions when close. */
  { "trustedRegistry: [a.io]\n", IW_EPOLICY,
    "config.yaml:1: unknown key trustedRegistry (did you mean trustedRegistries?)" },
  { "trustedregistries: [a.io]\n", IW_EPOLICY,
    "config.yaml:1: unknown key trustedregistries (did you mean trustedRegistries?)" },
  { "movingtag: [a]\n", IW_EPOLICY, "config.yaml:1: unknown key movingtag (did you mean movingTags?)" },
  { "colour: blue\n", IW_EPOLICY, "config.yaml:1: unknown key colour" },
  { "registries:\n  a.io:\n    pasword_file: x\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\": unknown key pasword_file (did you mean passwordFile?)" },
  { "registries:\n  a.io:\n    insecur: true\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\": unknown key insecur (did you mean insecure?)" },
  { "exemptions:\n  - namespaces: x\n", IW_EPOLICY,
    "config.yaml:2: exemptions[0]: unknown key namespaces (did you mean namespace?)" },
  { "\"key with space\": 1\n", IW_EPOLICY, "config.yaml:1: unknown key \"key with space\"" },
  /* Duplicate keys, which libyaml itself accepts. */
  { "movingTags: [a]\ntrustedRegistries: [a.io]\nmovingTags: [b]\n", IW_EPOLICY,
    "config.yaml:3: duplicate key movingTags (first at line 1)" },
  { "registries:\n  a.io: {}\n  b.io: {}\n  \"a.io\": {}\n", IW_EPOLICY,
    "config.yaml:4: registries: duplicate key \"a.io\" (first at line 2)" },
  { "registries:\n  a.io:\n    ca: x\n    ca: y\n", IW_EPOLICY,
    "config.yaml:4: registries.\"a.io\": duplicate key ca (first at line 3)" },
  { "severity: {moving-tag: low, moving-tag: high}\n", IW_EPOLICY,
    "config.yaml:1: severity: duplicate key moving-tag (first at line 1)" },
  { "registries:\n  docker.io: {}\n  registry-1.docker.io: {}\n", IW_EPOLICY,
    "config.yaml:3: registries.\"registry-1.docker.io\": same registry as \"docker.io\" (line 2)" },
  { "mirrors:\n  Quay.io: [a.io]\n  quay.io: [b.io]\n", IW_EPOLICY,
    "config.yaml:3: mirrors.\"quay.io\": same registry as \"Quay.io\" (line 2)" },
  { "? [a]\n: b\n", IW_EPOLICY, "config.yaml:1: keys must be strings, got a list" },
  /* Wrong types. */
  { "[a, b]\n", IW_EPOLICY, "config.yaml:1: expected a mapping of settings at the top level, got a list" },
  { "just text\n", IW_EPOLICY,
    "config.yaml:1: expected a mapping of settings at the top level, got \"just text\"" },
  { "trustedRegistries: docker.io\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries: expected a list, got \"docker.io\"" },
  { "trustedRegistries:\n", IW_EPOLICY, "config.yaml:1: trustedRegistries: expected a list, got null" },
  { "trustedRegistries: [a.io, {b: c}]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[1]: expected a string, got a mapping" },
  { "trustedRegistries:\n  - a.io\n  - \"\"\n", IW_EPOLICY,
    "config.yaml:3: trustedRegistries[1]: expected a non-empty string" },
  { "trustedRegistries:\n  - a.io\n  - ~\n", IW_EPOLICY,
    "config.yaml:3: trustedRegistries[1]: expected a string, got null" },
  { "movingTags: {latest: true}\n", IW_EPOLICY, "config.yaml:1: movingTags: expected a list, got a mapping" },
  { "movingTags: [latest, \"bad tag\"]\n", IW_EPOLICY,
    "config.yaml:1: movingTags[1]: invalid tag \"bad tag\"" },
  { "registries: [a.io]\n", IW_EPOLICY, "config.yaml:1: registries: expected a mapping, got a list" },
  { "registries:\n  a.io: true\n", IW_EPOLICY,
    "config.yaml:2: registries.\"a.io\": expected a mapping, got \"true\"" },
  { "registries:\n  a.io:\n    ca: [x]\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".ca: expected a string, got a list" },
  { "registries:\n  a.io:\n    username: \"\"\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".username: expected a non-empty string" },
  { "registries:\n  a.io:\n    maxConcurrency: 0\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".maxConcurrency: expected an integer from 1 to 1024, got \"0\"" },
  { "registries:\n  a.io:\n    maxConcurrency: 1025\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".maxConcurrency: expected an integer from 1 to 1024, got \"1025\"" },
  { "registries:\n  a.io:\n    maxConcurrency: -1\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".maxConcurrency: expected an integer from 1 to 1024, got \"-1\"" },
  { "registries:\n  a.io:\n    maxConcurrency: \"8\"\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".maxConcurrency: expected an integer from 1 to 1024, got \"8\"" },
  { "registries:\n  a.io:\n    maxConcurrency: 99999999999999999999\n", IW_EPOLICY,
    "config.yaml:3: registries.\"a.io\".maxConcurrency: expected an integer from 1 to 1024, got "
    "\"99999999999999999999\"" },
  /* Registry and mirror hosts. */
  { "registries:\n  https://a.io: {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"https://a.io\": expected a registry host (host[:port]) without scheme or "
    "path" },
  { "registries:\n  a.io/path: {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"a.io/path\": expected a registry host (host[:port]) without scheme or "
    "path" },
  { "registries:\n  \"a.io:99999\": {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"a.io:99999\": port out of range" },
  { "registries:\n  \"a.io:0\": {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"a.io:0\": port out of range" },
  { "registries:\n  \"a..io\": {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"a..io\": empty label in host name" },
  { "registries:\n  \"*.a.io\": {}\n", IW_EPOLICY,
    "config.yaml:2: registries.\"*.a.io\": a wildcard is only allowed as a leading \"*.\"" },
  { "mirrors:\n  docker.io: [https://m.io]\n", IW_EPOLICY,
    "config.yaml:2: mirrors.\"docker.io\"[0]: expected a registry host (host[:port]) without scheme or "
    "path" },
  { "mirrors:\n  docker.io:\n    - m.io\n    - index.docker.io\n", IW_EPOLICY,
    "config.yaml:4: mirrors.\"docker.io\"[1]: a registry cannot mirror itself" },
  { "mirrors:\n  docker.io: m.io\n", IW_EPOLICY,
    "config.yaml:2: mirrors.\"docker.io\": expected a list, got \"m.io\"" },
  /* Severity. */
  { "severity:\n  moving-tags: low\n", IW_EPOLICY,
    "config.yaml:2: severity: unknown check \"moving-tags\" (did you mean moving-tag?)" },
  { "severity:\n  everything: low\n", IW_EPOLICY, "config.yaml:2: severity: unknown check \"everything\"" },
  { "severity:\n  moving-tag: severe\n", IW_EPOLICY,
    "config.yaml:2: severity.moving-tag: expected critical, high, medium, low or info, got \"severe\"" },
  { "severity:\n  moving-tag: LOW\n", IW_EPOLICY,
    "config.yaml:2: severity.moving-tag: expected critical, high, medium, low or info, got \"LOW\"" },
  { "severity:\n  moving-tag: [low]\n", IW_EPOLICY,
    "config.yaml:2: severity.moving-tag: expected a string, got a list" },
  { "severity: [moving-tag]\n", IW_EPOLICY, "config.yaml:1: severity: expected a mapping, got a list" },
  /* Exemptions. */
  { "exemptions: {namespace: x}\n", IW_EPOLICY, "config.yaml:1: exemptions: expected a list, got a mapping" },
  { "exemptions:\n  - kube-system\n", IW_EPOLICY,
    "config.yaml:2: exemptions[0]: expected a mapping, got \"kube-system\"" },
  { "exemptions:\n  - {}\n", IW_EPOLICY,
    "config.yaml:2: exemptions[0]: an empty exemption would exempt everything; give namespace, image or "
    "checks" },
  { "exemptions:\n  - namespace: Kube_System\n", IW_EPOLICY,
    "config.yaml:2: exemptions[0].namespace: invalid namespace name \"Kube_System\"" },
  { "exemptions:\n  - namespace: kube-system\n    checks: []\n", IW_EPOLICY,
    "config.yaml:3: exemptions[0].checks: an empty list exempts nothing; omit checks to exempt every check" },
  { "exemptions:\n  - namespace: kube-system\n    checks: [moving-tag, pullpolicy]\n", IW_EPOLICY,
    "config.yaml:3: exemptions[0].checks[1]: unknown check \"pullpolicy\" (did you mean pull-policy?)" },
  { "exemptions:\n  - namespace: a\n  - image: \"docker.io/*/x\"\n", IW_EPOLICY,
    "config.yaml:3: exemptions[1].image: invalid pattern \"docker.io/*/x\": a wildcard is only allowed as a "
    "leading \"*.\" label or as a final \"/*\"" },
  /* Patterns. */
  { "trustedRegistries: [\"*\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"*\": a wildcard is only allowed as a leading "
    "\"*.\" "
    "label or as a final \"/*\"" },
  { "trustedRegistries:\n  - a.io\n  - \"a.io/App\"\n", IW_EPOLICY,
    "config.yaml:3: trustedRegistries[1]: invalid pattern \"a.io/App\": repository paths must be lowercase" },
  { "trustedRegistries: [\"a.io/app:1.0\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"a.io/app:1.0\": patterns name repositories; "
    "remove the "
    "tag" },
  { "trustedRegistries: [\"a.io/app@sha256:00\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"a.io/app@sha256:00\": patterns name "
    "repositories; "
    "remove the digest" },
  { "trustedRegistries: [\"https://a.io\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"https://a.io\": empty port" },
  { "trustedRegistries: [\"a.io//x\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"a.io//x\": empty path component" },
  { "trustedRegistries: [\"a.io/\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"a.io/\": empty path component" },
  { "trustedRegistries: [\"*.io.*\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"*.io.*\": a wildcard is only allowed as a "
    "leading \"*.\"" },
  { "trustedRegistries: [\"*.[::1]\"]\n", IW_EPOLICY,
    "config.yaml:1: trustedRegistries[0]: invalid pattern \"*.[::1]\": a wildcard cannot apply to an IPv6 "
    "address" },
  /* Malformed YAML: file:line:column and libyaml's problem. */
  { "trustedRegistries: [a.io\nmovingTags: [x]\n", IW_EPARSE,
    "config.yaml:2:11: did not find expected ',' or ']' (while parsing a flow sequence at line 1)" },
  { "a: b\n c: d\n", IW_EPARSE, "config.yaml:2:3: mapping values are not allowed in this context" },
  { "key: \"unterminated\n", IW_EPARSE,
    "config.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar at line 1)" },
  { "\tkey: value\n", IW_EPARSE,
    "config.yaml:1:1: found character that cannot start any token (while scanning for the next token at line "
    "1)" },
  /* What libyaml accepts but a config must not contain. */
  { "movingTags: &t [a]\ntrustedRegistries: *t\n", IW_EPOLICY,
    "config.yaml:2: YAML aliases (*t) are not supported in a config" },
  { "movingTags: [a]\n---\nmovingTags: [b]\n", IW_EPOLICY,
    "config.yaml:2: more than one YAML document; a config is one document" },
  { "movingTags: [\"a\\0b\"]\n", IW_EPOLICY, "config.yaml:1: a string contains a NUL character" },
  { "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", IW_EPOLICY,
    "config.yaml:1: nested deeper than 16 levels" },
  /* The ConfigMap wrapper. */
  { "kind: Deployment\n", IW_EPOLICY,
    "config.yaml:1: kind: expected ConfigMap (or a plain imgwatch config without kind), got \"Deployment\"" },
  { "kind: ConfigMap\nmetadata: {name: x}\n", IW_EPOLICY,
    "config.yaml:1: ConfigMap has no data; put the config under data.\"config.yaml\"" },
  { "kind: ConfigMap\ndata:\n  a: x\n  b: y\n", IW_EPOLICY,
    "config.yaml:3: data: ConfigMap has 2 data keys and none is \"config.yaml\"" },
  { "kind: ConfigMap\ndata:\n  config.yaml: {a: b}\n", IW_EPOLICY,
    "config.yaml:3: data.\"config.yaml\": expected a string, got a mapping" },
  { "kind: ConfigMap\ndata:\n  config.yaml: x\n  config.yaml: y\n", IW_EPOLICY,
    "config.yaml:4: data: duplicate key \"config.yaml\" (first at line 3)" },
  { "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: imgwatch\n"
    "data:\n"
    "  config.yaml: |\n"
    "    trustedRegistries: [a.io]\n"
    "    registries:\n"
    "      a.io:\n"
    "        insecure: maybe\n",
    IW_EPOLICY,
    "config.yaml: data.\"config.yaml\":4: registries.\"a.io\".insecure: expected true or false, got "
    "\"maybe\" (line "
    "numbers are relative to the data.\"config.yaml\" string, which starts at config.yaml:7)" },
  { "kind: ConfigMap\n"
    "data:\n"
    "  policy: \"movingTags: [a\"\n",
    IW_EPARSE,
    "config.yaml: data.policy:2:1: did not find expected ',' or ']' (while parsing a flow sequence at line "
    "1) (line "
    "numbers are relative to the data.policy string, which starts at config.yaml:3)" },
  { "kind: ConfigMap\n"
    "data:\n"
    "  config.yaml: |\n"
    "    kind: ConfigMap\n"
    "    data: {config.yaml: x}\n",
    IW_EPOLICY,
    "config.yaml: data.\"config.yaml\":1: unknown key kind (line numbers are relative to the "
    "data.\"config.yaml\" "
    "string, which starts at config.yaml:4)" },
};

static void
test_config__error_messages (void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof errors / sizeof *errors; i++)
    parse_fails (errors[i].yaml, errors[i].code, errors[i].msg);
}

static void
test_config__configmap (void **state)
{
  const char *yaml = "apiVersion: v1\n"
                     "kind: ConfigMap\n"
                     "metadata:\n"
                     "  name: imgwatch\n"
                     "  namespace: imgwatch\n"
                     "data:\n"
                     "  config.yaml: |\n"
                     "    trustedRegistries: [registry.example.com]\n"
                     "    severity: {moving-tag: info}\n"
                     "  other: ignored\n";
  const char *only = "kind: ConfigMap\ndata:\n  policy.yaml: \"movingTags: [canary]\"\n";
  iw_config *c = parse_ok (yaml);

  (void)state;
  assert_true (c->has_trusted);
  assert_true (iw_config_is_trusted (c, "registry.example.com/app"));
  assert_false (iw_config_is_trusted (c, "docker.io/library/app"));
  assert_string_equal (iw_config_severity (c, "moving-tag"), "info");
  iw_config_free (c);

  c = parse_ok (only);
  assert_true (iw_config_is_moving_tag (c, "canary"));
  assert_false (iw_config_is_moving_tag (c, "latest"));
  iw_config_free (c);

  c = parse_ok ("kind: ConfigMap\ndata:\n  config.yaml: \"\"\n");
  assert_false (c->has_trusted);
  assert_true (iw_config_is_moving_tag (c, "latest"));
  iw_config_free (c);
}

static void
test_config__size_limit (void **state)
{
  size_t n = 1024 * 1024 + 1;
  char *big = iw_xmalloc (n + 1);
  iw_config *c = NULL;
  iw_error *err = NULL;

  (void)state;
  memset (big, '#', n);
  big[n] = '\0';
  assert_int_equal (iw_config_parse (&c, big, n, "big.yaml", &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  assert_string_equal (iw_error_msg (err), "big.yaml: larger than 1048576 bytes");
  iw_error_clear (&err);
  /* Exactly 1 MiB of comment is fine. */
  assert_int_equal (iw_config_parse (&c, big, n - 1, "big.yaml", &err), 0);
  iw_config_free (c);
  free (big);
}

static void
test_config__too_many_entries (void **state)
{
  size_t n = 10001, i;
  char *yaml = iw_xmalloc (n * 3 + 32);
  char *p = yaml;
  iw_config *c = NULL;
  iw_error *err = NULL;

  (void)state;
  p += sprintf (p, "movingTags: [");
  for (i = 0; i < n; i++)
    p += sprintf (p, "a,");
  sprintf (p, "]\n");
  assert_int_equal (iw_config_parse (&c, yaml, strlen (yaml), "config.yaml", &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  assert_string_equal (iw_error_msg (err), "config.yaml:1: more than 10000 entries in one list or mapping");
  iw_error_free (err);
  free (yaml);
}

static void
test_config__load_files (void **state)
{
  char dir[] = "/tmp/iw-config-XXXXXX";
  char path[64], missing[64];
  FILE *f;
  iw_config *c = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_non_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/config.yaml", dir);
  snprintf (missing, sizeof missing, "%s/nope.yaml", dir);

  /* A file that does not exist: IW_EIO naming the path. */
  assert_int_equal (iw_config_load (&c, missing, &err), -1);
  assert_null (c);
  assert_int_equal (iw_error_code (err), IW_EIO);
  assert_non_null (strstr (iw_error_msg (err), missing));
  assert_non_null (strstr (iw_error_msg (err), "No such file or directory"));
  iw_error_clear (&err);

  /* A directory cannot be read as a config. */
  assert_int_equal (iw_config_load (&c, dir, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EIO);
  assert_non_null (strstr (iw_error_msg (err), dir));
  iw_error_clear (&err);

  /* An empty file is the defaults. */
  f = fopen (path, "w");
  assert_non_null (f);
  fclose (f);
  assert_int_equal (iw_config_load (&c, path, &err), 0);
  assert_string_equal (c->path, path);
  assert_false (c->has_trusted);
  assert_true (iw_config_is_moving_tag (c, "nightly"));
  iw_config_free (c);

  /* Errors name the file as given. */
  f = fopen (path, "w");
  assert_non_null (f);
  fputs ("trustedRegistries: [a.io]\nregistries:\n  a.io: {insecure: 1}\n", f);
  fclose (f);
  assert_int_equal (iw_config_load (&c, path, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EPOLICY);
  {
    char *want = iw_xasprintf ("%s:3: registries.\"a.io\".insecure: expected true or false, got \"1\"", path);

    assert_string_equal (iw_error_msg (err), want);
    free (want);
  }
  iw_error_clear (&err);

  /* Over 1 MiB on disk. */
  f = fopen (path, "w");
  assert_non_null (f);
  for (int i = 0; i < 1024 * 1024 / 16 + 1; i++)
    fputs ("# padding line.\n", f);
  fclose (f);
  assert_int_equal (iw_config_load (&c, path, &err), -1);
  assert_int_equal (iw_error_code (err), IW_ETOOBIG);
  iw_error_clear (&err);

  unlink (path);
  rmdir (dir);
}

static void
test_config__load_stdin (void **state)
{
  char path[] = "/tmp/iw-config-stdin-XXXXXX";
  int fd = mkstemp (path), saved = dup (0);
  const char *yaml = "movingTags: [canary]\n";
  iw_config *c = NULL;
  iw_error *err = NULL;

  (void)state;
  assert_true (fd >= 0 && saved >= 0);
  assert_int_equal (write (fd, yaml, strlen (yaml)), (int)strlen (yaml));
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  assert_int_equal (dup2 (fd, 0), 0);
  assert_int_equal (iw_config_load (&c, "-", &err), 0);
  assert_string_equal (c->path, "<stdin>");
  assert_true (iw_config_is_moving_tag (c, "canary"));
  iw_config_free (c);
  clearerr (stdin);
  dup2 (saved, 0);
  close (saved);
  close (fd);
  unlink (path);
}

typedef struct match_case
{
  const char *pattern;
  const char *name;
  bool match;
} match_case;

static const match_case matches[] = {
  /* A registry: domain boundary. */
  { "docker.io", "docker.io/library/nginx", true },
  { "docker.io", "docker.io/someone/app", true },
  { "docker.io", "docker.io.evil.com/x", false },
  { "docker.io", "evildocker.io/x", false },
  { "docker.io", "evil.docker.io/x", false },
  { "docker.io", "docker.iox/x", false },
  { "docker.io", "docker.io:443/x", false },
  { "docker.io", "index.docker.io/library/nginx", false }, /* names must be normalized */
  { "index.docker.io", "docker.io/library/nginx", true },  /* patterns are normalized */
  { "gcr.io", "gcr.io/distroless/static", true },
  { "gcr.io", "gcr.io.evil.com/x", false },
  { "gcr.io", "us.gcr.io/x", false },
  { "gcr.io", "gcr.iop/x", false },
  { "GCR.io", "gcr.io/x", true },
  { "gcr.io", "GCR.IO/x", true },
  { "registry.example.com", "registry.example.com/green-burrito", true },
  { "registry.example.com", "registry.example.com.attacker.net/green-burrito", false },
  { "registry.example.com", "registry-example.com/green-burrito", false },
  { "registry.example.com", "registryXexample.com/green-burrito", false },
  /* Wildcard domains: one or more labels. */
  { "*.jfrog.io", "acme.jfrog.io/x", true },
  { "*.jfrog.io", "a.b.jfrog.io/x", true },
  { "*.jfrog.io", "jfrog.io/x", false },
  { "*.jfrog.io", "acme.jfrog.io.evil.com/x", false },
  { "*.jfrog.io", "evil-jfrog.io/x", false },
  { "*.jfrog.io", "acmejfrog.io/x", false },
  { "*.jfrog.io", ".jfrog.io/x", false },
  { "*.jfrog.io", "a..jfrog.io/x", false },
  { "*.jfrog.io", "acme.jfrog.io:8443/x", false },
  { "*.jfrog.io:8443", "acme.jfrog.io:8443/x", true },
  { "*.jfrog.io:8443", "acme.jfrog.io/x", false },
  { "*.jfrog.io/team", "acme.jfrog.io/team/app", true },
  { "*.jfrog.io/team", "acme.jfrog.io/other/app", false },
  /* Ports: exact. */
  { "127.0.0.1:5000", "127.0.0.1:5000/app", true },
  { "127.0.0.1:5000", "127.0.0.1:5001/app", false },
  { "127.0.0.1:5000", "127.0.0.1:50000/app", false },
  { "127.0.0.1:5000", "127.0.0.1/app", false },
  { "127.0.0.1", "127.0.0.1:5000/app", false },
  { "127.0.0.1", "127.0.0.10/app", false },
  { "localhost:5000", "localhost:5000/app", true },
  { "localhost", "localhost/app", true },
  { "localhost", "localhost:5000/app", false },
  { "localhost", "localhost.evil.com/app", false },
  { "[::1]:5000", "[::1]:5000/app", true },
  { "[::1]:5000", "[::1]:5001/app", false },
  { "[::1]", "[::1]/app", true },
  { "[::1]", "[::1]:5000/app", false },
  /* Registry and path prefix: "/" boundary. */
  { "quay.io/org", "quay.io/org", true },
  { "quay.io/org", "quay.io/org/app", true },
  { "quay.io/org", "quay.io/org/team/app", true },
  { "quay.io/org", "quay.io/organic", false },
  { "quay.io/org", "quay.io/org-evil/app", false },
  { "quay.io/org", "quay.io.evil.com/org/app", false },
  { "quay.io/org/app", "quay.io/org/app", true },
  { "quay.io/org/app", "quay.io/org/app2", false },
  /* A final star: strictly under. */
  { "docker.io/library/*", "docker.io/library/nginx", true },
  { "docker.io/library/*", "docker.io/library/a/b", true },
  { "docker.io/library/*", "docker.io/libraryx/nginx", false },
  { "docker.io/library/*", "docker.io/library", false },
  { "docker.io/library/*", "docker.io.evil.com/library/nginx", false },
  { "docker.io/library/*", "docker.io/someone/nginx", false },
  { "docker.io/*", "docker.io/someone/nginx", true },
  { "docker.io/*", "docker.io.evil.com/someone/nginx", false },
  { "quay.io/org/*", "quay.io/org/app", true },
  { "quay.io/org/*", "quay.io/org", false },
  { "quay.io/org/*", "quay.io/organic/app", false },
  /* Docker Hub shorthand in patterns. */
  { "nginx", "docker.io/library/nginx", true },
  { "nginx", "docker.io/library/nginx-evil", false },
  { "nginx", "docker.io/nginx/nginx", false },
  { "library/*", "docker.io/library/redis", true },
  { "bitnami", "docker.io/bitnami/redis", false }, /* "bitnami" is docker.io/library/bitnami */
  { "bitnami/*", "docker.io/bitnami/redis", true },
  { "docker.io/nginx", "docker.io/library/nginx", true },
  { "index.docker.io/bitnami/*", "docker.io/bitnami/redis", true },
  /* Invalid patterns match nothing. */
  { "*", "docker.io/library/nginx", false },
  { "", "docker.io/library/nginx", false },
  { "docker.io/*/x", "docker.io/a/x", false },
  { "*.*.io", "a.b.io/x", false },
  { "docker.io ", "docker.io/library/nginx", false },
  { "docker.io", "", false },
};

static void
test_config__pattern_table (void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof matches / sizeof *matches; i++)
    if (iw_config_pattern_match (matches[i].pattern, matches[i].name) != matches[i].match)
      fail_msg ("pattern \"%s\" vs \"%s\": expected %s", matches[i].pattern, matches[i].name,
                matches[i].match ? "a match" : "no match");
  assert_false (iw_config_pattern_match (NULL, "docker.io/x"));
  assert_false (iw_config_pattern_match ("docker.io", NULL));
}

static void
test_config__pattern_normalize (void **state)
{
  static const char *const cases[][2] = {
    { "nginx", "docker.io/library/nginx" },
    { "library/*", "docker.io/library/*" },
    { "user/app", "docker.io/user/app" },
    { "index.docker.io", "docker.io" },
    { "Docker.IO/nginx", "docker.io/library/nginx" },
    { "docker.io/*", "docker.io/*" },
    { "registry-1.docker.io", "registry-1.docker.io" },
    { "*.JFrog.io", "*.jfrog.io" },
    { "localhost/app", "localhost/app" },
    { "[::1]:5000/x/*", "[::1]:5000/x/*" },
  };
  size_t i;
  char *out = NULL;
  iw_error *err = NULL;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *again = NULL;

      assert_int_equal (iw_config_pattern_normalize (&out, cases[i][0], &err), 0);
      assert_string_equal (out, cases[i][1]);
      /* Normalizing is idempotent: the config stores normalized patterns. */
      assert_int_equal (iw_config_pattern_normalize (&again, out, &err), 0);
      assert_string_equal (again, out);
      free (again);
      free (out);
    }
  assert_int_equal (iw_config_pattern_normalize (&out, "a.io/A", &err), -1);
  assert_null (out);
  assert_int_equal (iw_error_code (err), IW_EPOLICY);
  assert_string_equal (iw_error_msg (err), "invalid pattern \"a.io/A\": repository paths must be lowercase");
  iw_error_free (err);
}

static void
test_config__known_checks (void **state)
{
  const char *checks[]
      = { "integrity-unknown", "integrity-stale", "digest-drift", "untrusted-registry", "tag-missing",
          "unverified",        "pull-policy",     "moving-tag",   "image-id-reference", "store-corrupt",
          "store-mismatch",    "tag-rollback",    "config" };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof checks / sizeof *checks; i++)
    assert_true (iw_config_is_known_check (checks[i]));
  assert_false (iw_config_is_known_check ("moving-tags"));
  assert_false (iw_config_is_known_check (""));
  assert_false (iw_config_is_known_check (NULL));
}

static void
test_config__documented_example_loads (void **state)
{
  iw_config *c = NULL;
  iw_error *err = NULL;

  (void)state;
  if (iw_config_load (&c, "docs/examples/config.yaml", &err) < 0)
    fail_msg ("%s", iw_error_msg (err));
  assert_int_equal (list_count (c->trusted), 6);
  assert_true (iw_config_is_trusted (c, "quay.io/calico/node"));
  assert_false (iw_config_is_trusted (c, "quay.io/calicox/node"));
  assert_true (iw_config_is_trusted (c, "docker.io/bitnami/redis"));
  assert_true (iw_config_registry (c, "127.0.0.1:5000")->insecure);
  assert_int_equal (iw_config_registry (c, "registry.example.com")->max_concurrency, 8);
  assert_string_equal (iw_config_mirrors (c, "index.docker.io")[1], "10.0.0.5:5000");
  assert_string_equal (iw_config_severity (c, "unverified"), "high");
  assert_int_equal (c->n_exemptions, 3);
  iw_config_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_config__defaults),
    cmocka_unit_test (test_config__admission),
    cmocka_unit_test (test_config__empty_documents_are_defaults),
    cmocka_unit_test (test_config__design_example),
    cmocka_unit_test (test_config__block_style_every_key),
    cmocka_unit_test (test_config__empty_trusted_list_trusts_nothing),
    cmocka_unit_test (test_config__booleans),
    cmocka_unit_test (test_config__error_messages),
    cmocka_unit_test (test_config__configmap),
    cmocka_unit_test (test_config__size_limit),
    cmocka_unit_test (test_config__too_many_entries),
    cmocka_unit_test (test_config__load_files),
    cmocka_unit_test (test_config__load_stdin),
    cmocka_unit_test (test_config__pattern_table),
    cmocka_unit_test (test_config__pattern_normalize),
    cmocka_unit_test (test_config__known_checks),
    cmocka_unit_test (test_config__documented_example_loads),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
