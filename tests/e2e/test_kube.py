"""imgwatch list against the Kubernetes API test server (iwtest.kubeapi).

kubectl itself is run against the same server first, so the server stays
honest; then imgwatch lists pods with every kind of credential, paging,
a 410 on continue, RBAC refusals, TLS mistakes and broken kubeconfigs.
"""

import json
import os
import stat
import subprocess

import pytest

from iwtest import kubeobjs
from iwtest.kubeapi import KubeAPI, make_pki
from iwtest.util import free_port


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("kube-pki"))


@pytest.fixture
def api(pki):
    pods, rss, jobs = kubeobjs.cluster(listed=False)
    with KubeAPI(pki, {"pods": pods, "replicasets": rss, "jobs": jobs,
                       "secrets": [{"metadata": {"name": "regcred", "namespace": "default"},
                                    "type": "kubernetes.io/dockerconfigjson",
                                    "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}}]},
                 basic=("alice", "s3cret")) as server:
        yield server


def clean_env(tmp_path, **kw):
    """An environment with no kubeconfig of the user's leaking in."""
    env = {"KUBECONFIG": None, "HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": None,
           "KUBERNETES_SERVICE_PORT": None}
    env.update(kw)
    return env


def items(r):
    doc = json.loads(r.stdout)
    assert doc["kind"] == "ContainerList"
    assert doc["complete"] is True
    return doc["items"]


def summary(its):
    return sorted((i["namespace"], i["pod"], f'{i["workload"]["kind"]}/{i["workload"]["name"]}', i["container"],
                   i["containerType"]) for i in its)


EXPECTED_ALL = sorted([
    ("default", "green-burrito-7d4b9c8f6d-x2mlq", "Deployment/green-burrito", "app", "app"),
    ("default", "green-burrito-7d4b9c8f6d-p8fzt", "Deployment/green-burrito", "app", "app"),
    ("kube-system", "kube-proxy-7xk9d", "DaemonSet/kube-proxy", "kube-proxy", "app"),
    ("kube-system", "etcd-node-1", "Pod/etcd-node-1", "etcd", "app"),
    ("shop", "cart-0", "StatefulSet/cart", "init-perms", "init"),
    ("shop", "cart-0", "StatefulSet/cart", "redis", "app"),
    ("shop", "cart-0", "StatefulSet/cart", "debugger-k4x2p", "ephemeral"),
    ("batch", "report-28934560-6ps7w", "CronJob/report", "report", "app"),
    ("default", "scratch", "Pod/scratch", "web", "app"),
    ("shop", "legacy-rs-5kq8m", "ReplicaSet/legacy-rs", "web", "app"),
])


def kubectl(kubeconfig, *args):
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                          timeout=60)


def test_kubectl_works_against_the_test_server(api, tmp_path):
    kc = api.kubeconfig(tmp_path / "config")
    r = kubectl(kc, "get", "pods", "-A")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    assert {tuple(line.split()[:2]) for line in lines[1:]} == {(n, p) for n, p, *_ in EXPECTED_ALL}
    r = kubectl(kc, "get", "pods", "-A", "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["kind"] == "List"
    assert len(doc["items"]) == 8
    assert all(i["kind"] == "Pod" for i in doc["items"])


def test_kubectl_output_read_back_from_file_matches_the_api(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    r = kubectl(kc, "get", "pods,replicasets,jobs", "-A", "-o", "json")
    assert r.returncode == 0, r.stderr
    from_file = run_imgwatch("list", "--from-file", "-", "-o", "json", input=r.stdout, check=True)
    from_api = run_imgwatch("list", "-A", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert summary(items(from_file)) == summary(items(from_api)) == EXPECTED_ALL


def test_list_all_namespaces_with_token(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    r = run_imgwatch("list", "--kubeconfig", kc, "-A", "-o", "json", env=clean_env(tmp_path), check=True)
    its = items(r)
    assert summary(its) == EXPECTED_ALL
    by = {(i["pod"], i["container"]): i for i in its}
    gb = by[("green-burrito-7d4b9c8f6d-x2mlq", "app")]
    assert gb["imageID"] == {"raw": "registry.example.com/green-burrito@" + kubeobjs.A, "kind": "repo-digest",
                             "repository": "registry.example.com/green-burrito", "digest": kubeobjs.A}
    assert gb["imagePullPolicy"] == "IfNotPresent" and gb["node"] == "node-1" and gb["state"] == "running"
    assert gb["cluster"] == "test" and gb["source"] == "kube:" + api.url
    proxy = by[("kube-proxy-7xk9d", "kube-proxy")]["imageID"]
    assert (proxy["kind"], proxy["repository"]) == ("repo-digest", "registry.k8s.io/kube-proxy")
    init = by[("cart-0", "init-perms")]["imageID"]
    assert (init["kind"], init["digest"]) == ("config", kubeobjs.BUSYBOX_CFG)
    assert by[("cart-0", "debugger-k4x2p")]["imageID"]["kind"] == "unknown"
    redis = by[("cart-0", "redis")]
    assert redis["imagePullPolicy"] == "IfNotPresent" and redis["imagePullPolicyDefaulted"] is True
    scratch = by[("scratch", "web")]
    assert scratch["imageID"]["kind"] == "none" and scratch["imagePullPolicy"] == "Always"
    assert scratch["imagePullSecrets"] == ["regcred"] and scratch["phase"] == "Pending"
    mirror = by[("legacy-rs-5kq8m", "web")]["imageID"]
    assert mirror["repository"] == "mirror.gcr.io/library/nginx"
    # Read-only: only GETs, pods listed cluster-wide, owners listed once.
    paths = [p for m, p, u in api.requests]
    assert all(m == "GET" for m, p, u in api.requests)
    assert sum(p.startswith("/apis/apps/v1/replicasets") for p in paths) == 1
    assert sum(p.startswith("/apis/batch/v1/jobs") for p in paths) == 1
    assert any(p.startswith("/api/v1/pods?limit=500") for p in paths)


def test_table_output(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "RUNNING-DIGEST", "PULL-POLICY",
                                "NODE"]
    assert len(lines) == 11
    row = next(line for line in lines if "init-perms" in line)
    assert "StatefulSet/cart" in row and "(init)" in row and kubeobjs.BUSYBOX_CFG + " (config)" in row


def test_namespace_defaults_like_kubectl(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    r = run_imgwatch("list", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert {i["namespace"] for i in items(r)} == {"default"}
    assert any(p.startswith("/api/v1/namespaces/default/pods?") for m, p, u in api.requests)
    kc2 = api.kubeconfig(tmp_path / "config2", namespace="shop")
    r = run_imgwatch("list", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc2), check=True)
    assert {i["pod"] for i in items(r)} == {"cart-0", "legacy-rs-5kq8m"}
    r = run_imgwatch("list", "-n", "batch", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc2), check=True)
    assert {i["pod"] for i in items(r)} == {"report-28934560-6ps7w"}


def test_label_selector(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    r = run_imgwatch("list", "-A", "-l", "app=green-burrito,pod-template-hash", "-o", "json",
                     env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert {i["pod"] for i in items(r)} == {"green-burrito-7d4b9c8f6d-x2mlq", "green-burrito-7d4b9c8f6d-p8fzt"}
    assert any("labelSelector=app%3Dgreen-burrito%2Cpod-template-hash" in p for m, p, u in api.requests)


def test_pages_and_a_410_on_continue_restart_the_list(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    api.expire_continue = 1
    r = run_imgwatch("list", "-A", "--chunk-size", "3", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc),
                     check=True)
    assert summary(items(r)) == EXPECTED_ALL  # every container exactly once
    assert "410" in r.stderr
    pod_reqs = [p for m, p, u in api.requests if p.startswith("/api/v1/pods")]
    firsts = [p for p in pod_reqs if "continue=" not in p]
    assert len(firsts) == 2  # the list started over once
    assert all("limit=3" in p for p in pod_reqs)
    assert len(pod_reqs) == 1 + 1 + 3  # first page, expired continue, then 3 pages


def test_410_every_time_gives_up(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    api.expire_continue = 100
    r = run_imgwatch("list", "-A", "--chunk-size", "3", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode != 0
    doc = json.loads(r.stdout)
    assert doc["complete"] is False and "410" in doc["error"]
    assert "incomplete" in r.stderr


@pytest.mark.parametrize("auth", ["cert", "cert-data", "basic"])
def test_client_certificate_and_basic_auth(api, tmp_path, run_imgwatch, auth):
    kc = api.kubeconfig(tmp_path / "config", auth=auth)
    r = run_imgwatch("list", "-A", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert summary(items(r)) == EXPECTED_ALL
    assert {u for m, p, u in api.requests} == {"admin" if auth.startswith("cert") else "alice"}


def write_plugin(tmp_path, body):
    plugin = tmp_path / "kube-login"
    plugin.write_text("#!/bin/sh\n" + body)
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    return plugin


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_exec_plugin_token_cached_until_expiry(api, tmp_path, run_imgwatch, version):
    calls = tmp_path / "calls"
    plugin = write_plugin(tmp_path, f"""
echo "$1 $PLUGIN_MODE $KUBERNETES_EXEC_INFO" >> {calls}
cat <<EOF
{{"apiVersion":"client.authentication.k8s.io/{version}","kind":"ExecCredential",
 "status":{{"token":"exec-token","expirationTimestamp":"$2"}}}}
EOF
""")
    api.tokens = {"exec-token"}
    for expiry, min_calls, max_calls in (("2099-01-01T00:00:00Z", 1, 1), ("2001-01-01T00:00:00Z", 5, 99)):
        calls.write_text("")
        kc = api.kubeconfig(tmp_path / "config", auth="exec", extra_user={"exec": {
            "apiVersion": f"client.authentication.k8s.io/{version}", "command": str(plugin),
            "args": ["get-token", expiry], "env": [{"name": "PLUGIN_MODE", "value": "ci"}],
            "provideClusterInfo": True, "interactiveMode": "Never"}})
        r = run_imgwatch("list", "-A", "--chunk-size", "2", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc),
                         check=True)
        assert summary(items(r)) == EXPECTED_ALL
        lines = calls.read_text().splitlines()
        assert min_calls <= len(lines) <= max_calls, lines
        arg, mode, info = lines[0].split(" ", 2)
        assert (arg, mode) == ("get-token", "ci")
        info = json.loads(info)
        assert info["kind"] == "ExecCredential" and info["apiVersion"].endswith(version)
        assert info["spec"]["cluster"]["server"] == api.url


def test_exec_plugin_missing_binary_is_named(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config", auth="exec", extra_user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "kubelogin-not-installed"}})
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 2
    assert "kubelogin-not-installed" in r.stderr and "No such file" in r.stderr
    assert r.stdout == ""


def test_exec_plugin_failure_is_an_auth_error(api, tmp_path, run_imgwatch):
    plugin = write_plugin(tmp_path, "echo 'login required' >&2; exit 7\n")
    kc = api.kubeconfig(tmp_path / "config", auth="exec", extra_user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}})
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3
    assert "exit status 7" in r.stderr


def test_in_cluster_service_account_with_token_rotation(api, pki, tmp_path, run_imgwatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token-1\n")
    (sa / "ca.crt").write_bytes((pki / "ca.crt").read_bytes())
    (sa / "namespace").write_text("shop")
    api.tokens = {"sa-token-1"}
    rotated = []

    def rotate(path):
        # The kubelet rotates the projected token while the list runs.
        if path == "/api/v1/namespaces/shop/pods" and not rotated:
            (sa / "token").write_text("sa-token-2\n")
            api.tokens = {"sa-token-2"}
            rotated.append(path)

    api.after_auth = rotate
    env = clean_env(tmp_path, KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=api.port,
                    IMGWATCH_SA_DIR=sa)
    r = run_imgwatch("list", "--chunk-size", "1", "-o", "json", env=env, check=True)
    assert {i["pod"] for i in items(r)} == {"cart-0", "legacy-rs-5kq8m"}
    assert rotated
    users = [u for m, p, u in api.requests if p.startswith("/api/v1/namespaces/shop/pods")]
    assert users[0] == "sa-token-1" and users[-1] == "sa-token-2"


def test_no_configuration_at_all(tmp_path, run_imgwatch):
    r = run_imgwatch("list", env=clean_env(tmp_path))
    assert r.returncode == 2
    assert "no kubeconfig" in r.stderr


def test_kubeconfig_merge_from_KUBECONFIG(api, tmp_path, run_imgwatch):
    full = json.loads(api.kubeconfig(tmp_path / "full").read_text())
    first = {"apiVersion": "v1", "kind": "Config", "current-context": "test", "contexts": full["contexts"],
             "users": full["users"]}
    # The second file also names user test-user, with a bad token: the first file wins.
    second = {"apiVersion": "v1", "kind": "Config", "current-context": "elsewhere", "clusters": full["clusters"],
              "users": [{"name": "test-user", "user": {"token": "wrong"}}]}
    (tmp_path / "a").write_text(json.dumps(first))
    (tmp_path / "b").write_text(json.dumps(second))
    kcpath = f"{tmp_path}/missing:{tmp_path}/a:{tmp_path}/b"
    r = run_imgwatch("list", "-A", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kcpath), check=True)
    assert summary(items(r)) == EXPECTED_ALL


def test_context_flag_selects_a_context(api, tmp_path, run_imgwatch):
    doc = json.loads(api.kubeconfig(tmp_path / "c").read_text())
    doc["contexts"].append({"name": "other", "context": {"cluster": "test-cluster", "user": "test-user",
                                                         "namespace": "kube-system"}})
    (tmp_path / "c").write_text(json.dumps(doc))
    r = run_imgwatch("list", "--kubeconfig", tmp_path / "c", "--context", "other", "-o", "json",
                     env=clean_env(tmp_path), check=True)
    assert {i["namespace"] for i in items(r)} == {"kube-system"}
    r = run_imgwatch("list", "--kubeconfig", tmp_path / "c", "--context", "nope", env=clean_env(tmp_path))
    assert r.returncode == 2 and 'context "nope" not found' in r.stderr


def test_unreachable_server_exits_3_with_the_url(api, tmp_path, run_imgwatch):
    url = f"https://127.0.0.1:{free_port()}"
    kc = api.kubeconfig(tmp_path / "config", server=url)
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3
    assert url in r.stderr and "cannot reach" in r.stderr
    assert r.stdout == ""


def test_bad_token_is_401_naming_the_user(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config", token="stolen")
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3
    assert "401" in r.stderr and 'user "test-user"' in r.stderr


def test_forbidden_pods_names_verb_and_resource(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    api.forbidden = {("list", "pods")}
    r = run_imgwatch("list", "-A", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3
    assert "RBAC must allow" in r.stderr and "list pods in all namespaces" in r.stderr
    assert json.loads(r.stdout)["complete"] is False
    r = run_imgwatch("list", "-n", "shop", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert 'list pods in namespace "shop"' in r.stderr


def test_forbidden_replicasets_falls_back_to_labels(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    api.forbidden = {("list", "replicasets"), ("list", "jobs")}
    r = run_imgwatch("list", "-A", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert "list replicasets in all namespaces" in r.stderr and "inferred" in r.stderr
    # The Deployment comes from pod-template-hash, the CronJob from the Job name.
    assert summary(items(r)) == EXPECTED_ALL


def test_pull_secrets_are_read_only_when_asked(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert not any("/secrets/" in p for m, p, u in api.requests)
    r = run_imgwatch("list", "-A", "--use-pull-secrets", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert "read 1 pull secret" in r.stderr
    assert any(p == "/api/v1/namespaces/default/secrets/regcred" for m, p, u in api.requests)
    api.forbidden = {("get", "secrets")}
    r = run_imgwatch("list", "-A", "--use-pull-secrets", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3 and 'get secrets in namespace "default"' in r.stderr


def test_tls_verification(api, tmp_path, run_imgwatch):
    other = make_pki(tmp_path / "other-pki")
    import base64
    kc = api.kubeconfig(tmp_path / "config", extra_cluster={
        "certificate-authority-data": base64.b64encode((other / "ca.crt").read_bytes()).decode()})
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3 and api.url in r.stderr
    kc = api.kubeconfig(tmp_path / "config", extra_cluster={"certificate-authority-data": None,
                                                           "insecure-skip-tls-verify": True})
    run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    kc = api.kubeconfig(tmp_path / "config", extra_cluster={"tls-server-name": "kube.test"})
    run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    kc = api.kubeconfig(tmp_path / "config", extra_cluster={"tls-server-name": "wrong.example"})
    r = run_imgwatch("list", "-A", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3


@pytest.mark.parametrize("text, want", [
    ("apiVersion: v1\nclusters:\n- name: x\n  cluster: {server: [\n", ":5: invalid YAML"),
    ("apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {certificate-authority-data: abc}\nusers: []\n",
     "clusters[k].cluster.certificate-authority-data: invalid base64"),
    ("apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {insecure-skip-tls-verify: true}\nusers: []\n",
     "clusters[k].cluster.server is missing"),
    ("apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n"
     "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n",
     ":12: users[u].user.auth-provider is not supported"),
    ("apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n"
     "users:\n- name: u\n  user: {token: [a, b]}\n",
     ":11: users[u].user.token: expected a string"),
    ("apiVersion: v1\nclusters: []\n", "current-context is not set"),
])
def test_malformed_kubeconfig_names_file_and_key(tmp_path, run_imgwatch, text, want):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    r = run_imgwatch("list", "--kubeconfig", path, env=clean_env(tmp_path))
    assert r.returncode == 2
    assert str(path) in r.stderr and want in r.stderr, r.stderr
    assert r.stdout == ""


def test_connection_dropped_mid_page_is_not_a_complete_list(api, tmp_path, run_imgwatch):
    kc = api.kubeconfig(tmp_path / "config")
    api.cut_lists = 1
    r = run_imgwatch("list", "-A", "--chunk-size", "3", "-o", "json", env=clean_env(tmp_path, KUBECONFIG=kc))
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert doc["complete"] is False and api.url in doc["error"]
    assert api.url in r.stderr
    r = run_imgwatch("list", "-A", "--chunk-size", "3", env=clean_env(tmp_path, KUBECONFIG=kc), check=True)
    assert len(r.stdout.splitlines()) == 11  # the next list is whole again
