"""End-to-end tests of `imgwatch assess --use-pull-secrets`.

A real docker-registry protected by htpasswd holds the images; the pods, on
the Kubernetes API test server, name a kubernetes.io/dockerconfigjson (or
legacy dockercfg) Secret holding the registry's credentials.  Without the
option the registry refuses and the image is unverified (auth); with it the
assessment says what the registry says.  Passwords never reach stdout or
stderr, even at --log-level trace, and credentials for one host are never
sent to another (a recording server checks what it received).
"""

import base64
import http.server
import json
import threading

import jsonschema
import pytest

import assesslib as al
from iwtest.kubeapi import KubeAPI, make_pki
from test_assess import SCHEMA, finding_of, image_of, pullable

DECOY_USER = "decoy-user-7f3a"
DECOY_PASS = "decoy-pass-91c2"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def dockerconfigjson(auths):
    """A kubernetes.io/dockerconfigjson Secret's data for {host: (user, password)}."""
    doc = {"auths": {h: {"auth": b64("%s:%s" % up)} for h, up in auths.items()}}
    return {".dockerconfigjson": b64(json.dumps(doc))}


def secret(ns, name, data, type_="kubernetes.io/dockerconfigjson"):
    return {"metadata": {"name": name, "namespace": ns}, "type": type_, "data": data}


class Recorder:
    """An HTTP server on 127.0.0.1 that refuses everything with a Basic
    challenge and records the Authorization header of every request."""

    def __init__(self):
        self.auth = []
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self):
                rec.auth.append(self.headers.get("Authorization"))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="hostile"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


@pytest.fixture
def private(registry_factory, oci):
    """An htpasswd registry with one pushed image: (registry, ref, host_repo, digest)."""
    reg = registry_factory("htpasswd")
    ref = reg.ref("t/private", "1.0")
    d = oci.push(oci.build(), ref, creds=reg.creds, ca=reg.ca_path)
    return reg, ref, "%s/t/private" % reg.host, d


def cluster_with_secret(ref, host_repo, digest, secret_name="regcred", ns="shop", extra=None):
    c = al.Cluster().deployment(ns, "private", ref, [pullable(host_repo, digest)], "Always")
    for img, hr, d in extra or []:
        c.deployment(ns, "other", img, [pullable(hr, d)], "Always")
    for it in c.items:
        if it["kind"] == "Pod":
            it["spec"]["imagePullSecrets"] = [{"name": secret_name}]
    return c


def write_cfg(tmp_path, hosts, extra=""):
    path = str(tmp_path / "cfg.yaml")
    with open(path, "w") as f:
        f.write("trustedRegistries: [%s]\n" % ", ".join(json.dumps(h) for h in hosts))
        f.write("severity: {moving-tag: info, pull-policy: info}\n")
        f.write("registries:\n")
        for h in hosts:
            f.write("  %s: {insecure: true}\n" % json.dumps(h))
        f.write(extra)
    return path


def run_assess(run_imgwatch, tmp_path, api, cfg, *args, env=None):
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    e = {"DOCKER_CONFIG": str(tmp_path / "no-docker-config"), "HOME": str(tmp_path), "KUBECONFIG": None}
    e.update(env or {})
    r = run_imgwatch("--log-level", "trace", "assess", "--kubeconfig", kubeconfig, "-A", "--config", cfg,
                     "-o", "json", "--fail-on", "medium", *args, env=e)
    assert r.stdout, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    return r, doc


def imgwatch_log(reg):
    """The registry's log lines about imgwatch's requests."""
    return [line for line in reg.log().splitlines() if "useragent=imgwatch/" in line]


def assert_no_secrets(r, *words):
    for w in words:
        assert w not in r.stdout and w not in r.stderr, w


def test_pull_secrets__unverified_without_then_clean_and_stale_with(private, oci, run_imgwatch, tmp_path):
    reg, ref, host_repo, d = private
    cfg = write_cfg(tmp_path, [reg.host])
    cluster = cluster_with_secret(ref, host_repo, d)
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    rss = [i for i in cluster.items if i["kind"] == "ReplicaSet"]
    secrets = [secret("shop", "regcred", dockerconfigjson({reg.host: (reg.username, reg.password)}))]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "replicasets": rss, "secrets": secrets}) as api:
        # Without the option: no secret is read, the registry refuses.
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg)
        assert r.returncode == 1, r.stderr
        assert not any("/secrets/" in p for m, p, u in api.requests)
        assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info"),
                                          ("unverified", "medium")]}
        assert "auth" in finding_of(image_of(doc, ref), "unverified")["message"]

        # With it: the registry vouches for the running digest.
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
        assert r.returncode == 0, r.stderr
        assert ("GET", "/api/v1/namespaces/shop/secrets/regcred") in [(m, p) for m, p, u in api.requests]
        assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info")]}
        assert_no_secrets(r, reg.password, b64("%s:%s" % (reg.username, reg.password)))

        # The tag moves: stale, as the registry says.
        oci.push(oci.build(), ref, creds=reg.creds, ca=reg.ca_path)
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
        assert r.returncode == 1, r.stderr
        assert ("integrity-stale", "high") in al.findings(doc)[ref]
        assert ("unverified", "medium") not in al.findings(doc)[ref]
        assert_no_secrets(r, reg.password, b64("%s:%s" % (reg.username, reg.password)))


def test_pull_secrets__legacy_dockercfg_and_url_keys(private, run_imgwatch, tmp_path):
    reg, ref, host_repo, d = private
    cfg = write_cfg(tmp_path, [reg.host])
    cluster = cluster_with_secret(ref, host_repo, d, secret_name="legacy")
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    # A .dockercfg keyed by URL, as `docker login` wrote them long ago.
    cfgjson = {"http://%s/v1/" % reg.host: {"auth": b64("%s:%s" % (reg.username, reg.password)),
                                           "email": "ops@example.com"}}
    secrets = [secret("shop", "legacy", {".dockercfg": b64(json.dumps(cfgjson))}, "kubernetes.io/dockercfg")]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
        assert r.returncode == 0, r.stderr
        assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info")]}


def test_pull_secrets__other_hosts_never_get_them(private, oci, recorder, run_imgwatch, tmp_path):
    reg, ref, host_repo, d = private
    other_ref = "%s/t/elsewhere:1" % recorder.host
    other_repo = "%s/t/elsewhere" % recorder.host
    cfg = write_cfg(tmp_path, [reg.host, recorder.host])
    cluster = cluster_with_secret(ref, host_repo, d,
                                  extra=[(other_ref, other_repo, "sha256:" + "ab" * 32)])
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    # The secret has the right credentials for the registry, and a decoy
    # entry for a third host; nothing is meant for the recorder.
    secrets = [secret("shop", "regcred", dockerconfigjson({reg.host: (reg.username, reg.password),
                                                           "127.0.0.2:1": (DECOY_USER, DECOY_PASS)}))]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
    assert recorder.auth, "the recorder was never asked"
    assert recorder.auth == [None] * len(recorder.auth)
    f = finding_of(image_of(doc, other_ref), "unverified")
    assert "auth" in f["message"]
    # The registry got its own credentials and never the decoy.
    assert ("unverified", "medium") not in al.findings(doc)[ref]
    log = imgwatch_log(reg)
    assert any('msg="authorized request"' in line for line in log)
    assert not any(DECOY_USER in line for line in log)
    assert_no_secrets(r, reg.password, DECOY_PASS, b64("%s:%s" % (DECOY_USER, DECOY_PASS)))


def test_pull_secrets__precedence(private, run_imgwatch, tmp_path):
    """config registries.<host>.username > pull secret > docker's config.json."""
    reg, ref, host_repo, d = private
    cluster = cluster_with_secret(ref, host_repo, d)
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    secrets = [secret("shop", "regcred", dockerconfigjson({reg.host: (reg.username, reg.password)}))]
    dcfg = tmp_path / "docker"
    dcfg.mkdir()
    (dcfg / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": b64(reg.username + ":wrong")}}}))
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        # docker's config.json alone is wrong: refused.
        cfg = write_cfg(tmp_path, [reg.host])
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, env={"DOCKER_CONFIG": str(dcfg)})
        assert ("unverified", "medium") in al.findings(doc)[ref]
        # The pull secret wins over it.
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets",
                            env={"DOCKER_CONFIG": str(dcfg)})
        assert r.returncode == 0, r.stderr
        # imgwatch's own config wins over the pull secret (here: wrongly).
        pw = tmp_path / "pw"
        pw.write_text("not-the-password\n")
        path = str(tmp_path / "cfg2.yaml")
        with open(path, "w") as f:
            f.write("trustedRegistries: [%s]\nseverity: {moving-tag: info, pull-policy: info}\n" % json.dumps(reg.host))
            f.write("registries:\n  %s: {insecure: true, username: %s, passwordFile: %s}\n"
                    % (json.dumps(reg.host), json.dumps(reg.username), json.dumps(str(pw))))
        r, doc = run_assess(run_imgwatch, tmp_path, api, path, "--use-pull-secrets")
        assert ("unverified", "medium") in al.findings(doc)[ref]


def test_pull_secrets__forbidden_secret_does_not_abort(private, run_imgwatch, tmp_path):
    reg, ref, host_repo, d = private
    cfg = write_cfg(tmp_path, [reg.host])
    cluster = cluster_with_secret(ref, host_repo, d)
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    secrets = [secret("shop", "regcred", dockerconfigjson({reg.host: (reg.username, reg.password)}))]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        api.forbidden = {("get", "secrets")}
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
    assert r.returncode == 1, r.stderr
    assert 'get secrets in namespace "shop"' in r.stderr
    assert "auth" in finding_of(image_of(doc, ref), "unverified")["message"]


@pytest.mark.parametrize("content", [
    "not json",
    json.dumps({"auths": {"x.io": {"auth": "!!!"}}}),
    json.dumps({"auths": []}),
])
def test_pull_secrets__malformed_secret_is_a_warning(private, run_imgwatch, tmp_path, content):
    reg, ref, host_repo, d = private
    cfg = write_cfg(tmp_path, [reg.host])
    cluster = cluster_with_secret(ref, host_repo, d)
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    secrets = [secret("shop", "regcred", {".dockerconfigjson": b64(content)})]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
    assert r.returncode == 1, r.stderr
    assert "pull secret shop/regcred" in r.stderr
    assert "auth" in finding_of(image_of(doc, ref), "unverified")["message"]


@pytest.mark.parametrize("other", [["--from-file", "-"], ["--offline"], ["--docker", "/nonexistent.sock"]])
def test_pull_secrets__only_with_the_kubernetes_api(run_imgwatch, other):
    r = run_imgwatch("assess", "--use-pull-secrets", *other, input="")
    assert r.returncode == 2
    assert "--use-pull-secrets needs the Kubernetes API source" in r.stderr


def test_pull_secrets__token_realm_gets_them(registry_factory, oci, run_imgwatch, tmp_path):
    """A token-auth registry: the pull secret's credentials go to its token
    realm (loopback here), and the assessment is clean."""
    reg = registry_factory("token")
    ref = reg.ref("t/tok", "1.0")
    d = oci.push(oci.build(), ref, creds=reg.creds, ca=reg.ca_path)
    cfg = write_cfg(tmp_path, [reg.host])
    cluster = cluster_with_secret(ref, "%s/t/tok" % reg.host, d)
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    secrets = [secret("shop", "regcred", dockerconfigjson({reg.host: (reg.username, reg.password)}))]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        reg.issuer.clear()
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
    assert r.returncode == 0, r.stderr
    assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info")]}
    tokens = [q for q in reg.issuer.requests if q["path"].endswith("/token")]
    assert tokens and all(q["user"] == reg.username for q in tokens)
    assert_no_secrets(r, reg.password, "eyJ")


def test_pull_secrets__same_address_other_name_or_port_gets_nothing(private, recorder, run_imgwatch, tmp_path):
    """Credentials are keyed by host and port exactly: an entry for
    localhost:PORT is not used for 127.0.0.1:PORT, and the one for the
    recorder's port goes to the recorder only."""
    reg, ref, host_repo, d = private
    port = reg.host.rsplit(":", 1)[1]
    other_ref = "%s/t/elsewhere:1" % recorder.host
    cfg = write_cfg(tmp_path, [reg.host, recorder.host])
    cluster = cluster_with_secret(ref, host_repo, d,
                                  extra=[(other_ref, "%s/t/elsewhere" % recorder.host, "sha256:" + "cd" * 32)])
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    secrets = [secret("shop", "regcred", dockerconfigjson({"localhost:" + port: (reg.username, reg.password),
                                                           recorder.host: (DECOY_USER, DECOY_PASS)}))]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "secrets": secrets}) as api:
        r, doc = run_assess(run_imgwatch, tmp_path, api, cfg, "--use-pull-secrets")
    assert "auth" in finding_of(image_of(doc, ref), "unverified")["message"]
    log = imgwatch_log(reg)
    assert log and not any('msg="authorized request"' in line for line in log)
    decoy = "Basic " + b64("%s:%s" % (DECOY_USER, DECOY_PASS))
    assert decoy in recorder.auth
    assert set(recorder.auth) <= {None, decoy}
    assert_no_secrets(r, reg.password, DECOY_PASS, decoy)
