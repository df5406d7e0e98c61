/*
 * test_kube_kubeconfig.c - kubeconfig loading: contexts, every credential
 * field, relative paths, $KUBECONFIG merging, in-cluster, and errors that
 * name the file, line and key.
 */
#include "kube/kube.h"
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

static char dir[64];

static int
setup (void **state)
{
  (void)state;
  strcpy (dir, "/tmp/test_kubeconfig.XXXXXX");
  return mkdtemp (dir) ? 0 : -1;
}

static int
teardown (void **state)
{
  char *cmd = iw_xasprintf ("rm -rf '%s'", dir);
  int rc;

  (void)state;
  rc = system (cmd);
  free (cmd);
  return rc == 0 ? 0 : -1;
}

static char *
write_file (const char *name, const char *text)
{
  char *path = iw_xasprintf ("%s/%s", dir, name);
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  return path;
}

static const char full[] = "apiVersion: v1\n"
                           "kind: Config\n"
                           "current-context: dev\n"
                           "clusters:\n"
                           "- name: prod-cluster\n"
                           "  cluster:\n"
                           "    server: https://10.0.0.1:6443\n"
                           "    certificate-authority: certs/ca.pem\n"
                           "    tls-server-name: api.prod.internal\n"
                           "- name: dev-cluster\n"
                           "  cluster:\n"
                           "    server: https://127.0.0.1:6443\n"
                           "    certificate-authority-data: aGVsbG8gY2E=\n"
                           "    insecure-skip-tls-verify: false\n"
                           "contexts:\n"
                           "- name: prod\n"
                           "  context: {cluster: prod-cluster, user: ci, namespace: shop}\n"
                           "- name: dev\n"
                           "  context: {cluster: dev-cluster, user: me}\n"
                           "users:\n"
                           "- name: ci\n"
                           "  user:\n"
                           "    client-certificate: /etc/ci/cert.pem\n"
                           "    client-key-data: a2V5\n"
                           "    tokenFile: token\n"
                           "- name: me\n"
                           "  user:\n"
                           "    exec:\n"
                           "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                           "      command: ./bin/login\n"
                           "      args: [get-token, --cluster, dev]\n"
                           "      env: [{name: MODE, value: ci}, {name: EMPTY}]\n"
                           "      provideClusterInfo: true\n"
                           "    username: alice\n"
                           "    password: pw\n";

static void
test_kube_kubeconfig__contexts_and_every_field (void **state)
{
  char *path = write_file ("config", full);
  iw_kubeconfig *kc = NULL;
  iw_error *err = NULL;
  char *want;

  (void)state;
  assert_int_equal (iw_kubeconfig_load (&kc, path, NULL, &err), 0);
  assert_string_equal (kc->context, "dev");
  assert_string_equal (kc->server, "https://127.0.0.1:6443");
  assert_string_equal (kc->ca_data, "hello ca");
  assert_false (kc->insecure_skip_tls_verify);
  assert_null (kc->namespace_);
  assert_string_equal (kc->username, "alice");
  assert_non_null (kc->exec);
  want = iw_xasprintf ("%s/./bin/login", dir);
  assert_string_equal (kc->exec->command, want);
  free (want);
  assert_string_equal (kc->exec->args[2], "dev");
  assert_null (kc->exec->args[3]);
  assert_string_equal (kc->exec->env[0], "MODE=ci");
  assert_string_equal (kc->exec->env[1], "EMPTY=");
  assert_true (kc->exec->provide_cluster_info);
  iw_kubeconfig_free (kc);

  assert_int_equal (iw_kubeconfig_load (&kc, path, "prod", &err), 0);
  assert_string_equal (kc->cluster, "prod-cluster");
  assert_string_equal (kc->user, "ci");
  assert_string_equal (kc->namespace_, "shop");
  assert_string_equal (kc->tls_server_name, "api.prod.internal");
  want = iw_xasprintf ("%s/certs/ca.pem", dir);
  assert_string_equal (kc->ca_file, want);
  free (want);
  want = iw_xasprintf ("%s/token", dir);
  assert_string_equal (kc->token_file, want);
  free (want);
  assert_string_equal (kc->client_cert_file, "/etc/ci/cert.pem");
  assert_string_equal (kc->client_key_data, "key");
  assert_null (kc->exec);
  iw_kubeconfig_free (kc);
  free (path);
}

static void
test_kube_kubeconfig__errors_name_file_line_and_key (void **state)
{
  static const struct
  {
    const char *text;
    const char *context;
    iw_code code;
    const char *want;
  } cases[] = {
    { "clusters: [\n", NULL, IW_EPARSE, "bad:2: invalid YAML" },
    { "- a\n- b\n", NULL, IW_EPOLICY, "bad:1: a kubeconfig must be a mapping" },
    { "clusters: []\n", NULL, IW_EPOLICY, "bad: current-context is not set" },
    { "current-context: x\n", NULL, IW_EPOLICY, "context \"x\" not found" },
    { "current-context: x\ncontexts: [{name: x, context: {user: u}}]\n", NULL, IW_EPOLICY,
      "contexts[x].context.cluster is missing" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n", NULL, IW_EPOLICY,
      "cluster \"k\" (from context \"x\") not found" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\nclusters: [{name: k, cluster: "
      "{server: "
      "ftp://x}}]\n",
      NULL, IW_EPOLICY, "clusters[k].cluster.server \"ftp://x\": expected an https:// URL" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\nclusters: [{name: k, cluster: "
      "{server: "
      "'https://a', insecure-skip-tls-verify: maybe}}]\n",
      NULL, IW_EPOLICY, "bad:3: clusters[k].cluster.insecure-skip-tls-verify: expected true or false" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\nclusters: [{name: k, "
      "cluster: "
      "{server: 'https://a'}}]\nusers: [{name: u, user: {client-certificate: c.pem}}]\n",
      NULL, IW_EPOLICY, "client-certificate and client-key must be given together" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\nclusters: [{name: k, "
      "cluster: "
      "{server: 'https://a'}}]\nusers: [{name: u, user: {exec: {command: x, apiVersion: "
      "client.authentication.k8s.io/v1alpha1}}}]\n",
      NULL, IW_EUNSUPPORTED, "users[u].user.exec.apiVersion \"client.authentication.k8s.io/v1alpha1\"" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\nclusters: [{name: k, "
      "cluster: "
      "{server: 'https://a', proxy-url: 'http://p'}}]\n",
      NULL, IW_EUNSUPPORTED, "bad:3: clusters[k].cluster.proxy-url is not supported" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\nclusters: [{name: k, "
      "cluster: "
      "{server: 'https://a'}}]\nusers: [{name: u, user: {as: admin}}]\n",
      NULL, IW_EUNSUPPORTED, "users[u].user.as is not supported" },
    { "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\nclusters: [{name: k, cluster: "
      "{server: 'https://a', certificate-authority: ca.pem, insecure-skip-tls-verify: true}}]\n",
      NULL, IW_EPOLICY, "certificate-authority and insecure-skip-tls-verify are exclusive" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *path = write_file ("bad", cases[i].text);
      iw_kubeconfig *kc = NULL;
      iw_error *err = NULL;

      assert_int_equal (iw_kubeconfig_load (&kc, path, cases[i].context, &err), -1);
      assert_null (kc);
      if (strstr (iw_error_msg (err), cases[i].want) == NULL || iw_error_code (err) != cases[i].code)
        fail_msg ("case %zu: got [%s] %s, want [%s] ...%s...", i, iw_code_name (iw_error_code (err)),
                  iw_error_msg (err), iw_code_name (cases[i].code), cases[i].want);
      iw_error_free (err);
      free (path);
    }
}

static void
test_kube_kubeconfig__KUBECONFIG_merges_first_wins (void **state)
{
  char *a = write_file ("a", "current-context: one\n"
                             "contexts: [{name: one, context: {cluster: k, user: u}}]\n"
                             "users: [{name: u, user: {token: from-a}}]\n");
  char *b = write_file ("b", "current-context: two\n"
                             "contexts: [{name: two, context: {cluster: k, user: u}}]\n"
                             "clusters: [{name: k, cluster: {server: 'https://b:6443'}}]\n"
                             "users: [{name: u, user: {token: from-b}}]\n");
  char *env = iw_xasprintf ("%s/missing::%s:%s", dir, a, b);
  char *old = getenv ("KUBECONFIG") ? iw_xstrdup (getenv ("KUBECONFIG")) : NULL;
  iw_kubeconfig *kc = NULL;
  iw_error *err = NULL;

  (void)state;
  setenv ("KUBECONFIG", env, 1);
  assert_int_equal (iw_kubeconfig_load (&kc, NULL, NULL, &err), 0);
  assert_string_equal (kc->context, "one");
  assert_string_equal (kc->token, "from-a");
  assert_string_equal (kc->server, "https://b:6443");
  iw_kubeconfig_free (kc);
  assert_int_equal (iw_kubeconfig_load (&kc, NULL, "two", &err), 0);
  assert_string_equal (kc->token, "from-a"); /* the first file's user u */
  iw_kubeconfig_free (kc);
  free (env);
  env = iw_xasprintf ("%s/missing", dir);
  setenv ("KUBECONFIG", env, 1);
  assert_int_equal (iw_kubeconfig_load (&kc, NULL, NULL, &err), -1);
  assert_non_null (strstr (iw_error_msg (err), "none of its files exists"));
  iw_error_clear (&err);
  if (old)
    setenv ("KUBECONFIG", old, 1);
  else
    unsetenv ("KUBECONFIG");
  free (old);
  free (env);
  free (a);
  free (b);
}

static void
test_kube_kubeconfig__in_cluster (void **state)
{
  char *sa = iw_xasprintf ("%s/sa", dir);
  char *tok, *ns;
  iw_kubeconfig *kc = NULL;
  iw_error *err = NULL;

  (void)state;
  mkdir (sa, 0700);
  tok = write_file ("sa/token", "abc\n");
  ns = write_file ("sa/namespace", "payments\n");
  unsetenv ("KUBERNETES_SERVICE_HOST");
  assert_int_equal (iw_kubeconfig_in_cluster (&kc, sa, &err), -1);
  assert_non_null (strstr (iw_error_msg (err), "KUBERNETES_SERVICE_HOST"));
  iw_error_clear (&err);
  setenv ("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv ("KUBERNETES_SERVICE_PORT", "443", 1);
  assert_int_equal (iw_kubeconfig_in_cluster (&kc, sa, &err), 0);
  assert_string_equal (kc->server, "https://[fd00::1]:443");
  assert_string_equal (kc->token_file, tok);
  assert_string_equal (kc->namespace_, "payments");
  assert_null (kc->token); /* read at every request, for rotation */
  iw_kubeconfig_free (kc);
  unlink (tok);
  assert_int_equal (iw_kubeconfig_in_cluster (&kc, sa, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EAUTH);
  iw_error_clear (&err);
  unsetenv ("KUBERNETES_SERVICE_HOST");
  unsetenv ("KUBERNETES_SERVICE_PORT");
  free (tok);
  free (ns);
  free (sa);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_kube_kubeconfig__contexts_and_every_field),
    cmocka_unit_test (test_kube_kubeconfig__errors_name_file_line_and_key),
    cmocka_unit_test (test_kube_kubeconfig__KUBECONFIG_merges_first_wins),
    cmocka_unit_test (test_kube_kubeconfig__in_cluster),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}
