"""Proof that the shared e2e fixtures work, checked with curl and skopeo.

These tests use only outside tools (curl, skopeo, tar, sha256 from hashlib), not
imgwatch, so a failure here points at the fixtures, not at the code under test.
"""

import hashlib
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from iwtest import registry as iwreg
from iwtest import util
from iwtest.images import BUSYBOX
from iwtest.registry import Registry, RegistryError

HERE = os.path.dirname(os.path.abspath(__file__))


def curl(*args):
    """Run curl; return (exit code, http status or None, stdout body)."""
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"] + list(args),
                       capture_output=True, text=True)
    body, _, code = r.stdout.rpartition("\n")
    return r.returncode, (int(code) if code.isdigit() and code != "000" else None), body


def curl_headers(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-D", "-"]
                       + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout


def skopeo(*args, check=True):
    r = subprocess.run(["skopeo", "--insecure-policy"] + list(args), capture_output=True,
                       text=True)
    if check and r.returncode != 0:
        raise AssertionError("skopeo %s: %s" % (" ".join(args), r.stderr))
    return r


def inspect_raw(ref, *flags):
    return skopeo("inspect", "--raw", *flags, "docker://" + ref).stdout.encode()


# --- registry modes -------------------------------------------------------


def test_plain_registry_answers_v2(registry):
    rc, code, body = curl(registry.url + "/v2/")
    assert (rc, code) == (0, 200)
    assert body.strip() == "{}"
    rc, headers = curl_headers(registry.url + "/v2/")
    assert "docker-distribution-api-version: registry/2.0" in headers.lower()
    assert registry.host == "127.0.0.1:%d" % registry.port
    assert os.path.isdir(registry.storage)


def test_tls_registry_needs_the_test_ca(registry_factory):
    reg = registry_factory("tls")
    assert reg.url.startswith("https://127.0.0.1:")
    rc, code, _ = curl(reg.url + "/v2/")
    assert rc == 60, "curl must refuse the unknown CA (exit 60), got %d" % rc
    rc, code, _ = curl("--cacert", reg.ca_path, reg.url + "/v2/")
    assert (rc, code) == (0, 200)
    # The certificate also names localhost.
    rc, code, _ = curl("--cacert", reg.ca_path, "https://localhost:%d/v2/" % reg.port)
    assert (rc, code) == (0, 200)
    assert os.path.exists(os.path.join(reg.cert_dir, "ca.crt"))


def test_htpasswd_registry_wants_credentials(registry_factory):
    reg = registry_factory("htpasswd")
    rc, code, _ = curl(reg.url + "/v2/")
    assert code == 401
    rc, headers = curl_headers(reg.url + "/v2/")
    assert 'www-authenticate: basic realm=' in headers.lower()
    rc, code, _ = curl("-u", reg.username + ":wrong", reg.url + "/v2/")
    assert code == 401
    rc, code, _ = curl("-u", reg.creds, reg.url + "/v2/")
    assert code == 200


def test_token_registry_issues_bearer_challenge_and_accepts_token(registry_factory):
    reg = registry_factory("token")
    issuer = reg.issuer
    rc, headers = curl_headers(reg.url + "/v2/")
    assert rc == 0 and " 401" in headers.splitlines()[0]
    challenge = [h for h in headers.splitlines() if h.lower().startswith("www-authenticate:")]
    scheme, params = iwreg.parse_challenge(challenge[0].split(":", 1)[1])
    assert scheme == "bearer"
    assert params["realm"] == issuer.realm
    assert params["service"] == issuer.service

    # Wrong credentials are refused by the issuer.
    rc, code, _ = curl("-u", issuer.username + ":nope",
                       issuer.realm + "?service=%s&scope=repository:t/a:pull" % issuer.service)
    assert code == 401

    rc, code, body = curl("-u", reg.creds,
                          issuer.realm + "?service=%s&scope=repository:t/a:pull" % issuer.service)
    assert code == 200
    doc = json.loads(body)
    assert set(doc) >= {"token", "access_token", "expires_in", "issued_at"}
    claims = issuer.decode(doc["token"])
    assert claims["sub"] == issuer.username
    assert claims["access"] == [{"type": "repository", "name": "t/a", "actions": ["pull"]}]

    rc, code, _ = curl("-H", "Authorization: Bearer " + doc["token"], reg.url + "/v2/")
    assert code == 200
    rc, code, _ = curl("-H", "Authorization: Bearer not-a-token", reg.url + "/v2/")
    assert code == 401

    seen = issuer.requests
    assert [r["status"] for r in seen] == [401, 200]
    assert seen[1]["method"] == "GET" and seen[1]["path"] == "/token"
    assert seen[1]["query"]["scope"] == ["repository:t/a:pull"]
    assert seen[1]["headers"]["Authorization"].startswith("Basic ")
    assert seen[1]["user"] == issuer.username


def test_token_registry_push_with_skopeo(registry_factory, oci, unique_repo):
    reg = registry_factory("token")
    img = oci.build()
    digest = oci.push(img, "%s/%s:v1" % (reg.host, unique_repo), creds=reg.creds)
    assert digest == img.digest
    granted = [g for r in reg.issuer.requests for g in r["granted"]]
    assert any(g.startswith("repository:%s:" % unique_repo) and "push" in g for g in granted)
    raw = inspect_raw("%s/%s:v1" % (reg.host, unique_repo), "--tls-verify=false",
                      "--creds", reg.creds)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest


def test_anonymous_token_can_be_refused(registry_factory, oci, unique_repo):
    reg = registry_factory("token")
    reg.issuer.allow_anonymous = False
    img = oci.build()
    with pytest.raises(RuntimeError):
        oci.push(img, "%s/%s:v1" % (reg.host, unique_repo))
    assert oci.push(img, "%s/%s:v1" % (reg.host, unique_repo), creds=reg.creds) == img.digest


# --- images ---------------------------------------------------------------


def test_pushed_digest_matches_skopeo_inspect_raw(registry, oci, unique_repo):
    img = oci.build(labels={"org.example.team": "burrito"}, arch="amd64",
                    created="2024-05-01T12:00:00Z")
    ref = "%s/%s:v1" % (registry.host, unique_repo)
    digest = oci.push(img, ref)
    raw = inspect_raw(ref, "--tls-verify=false")
    assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert digest == img.digest
    assert iwreg.manifest_digest(registry.url, unique_repo, "v1") == digest
    config = json.loads(skopeo("inspect", "--config", "--tls-verify=false",
                               "docker://" + ref).stdout)
    assert config["config"]["Labels"]["org.example.team"] == "burrito"
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["created"].startswith("2024-05-01T12:00:00")
    assert oci.config_digest(ref) == img.config_digest
    assert oci.config_digest("%s/%s@%s" % (registry.host, unique_repo, digest)) == \
        img.config_digest


def test_builds_are_unique_and_files_land_in_the_layer(oci, tmp_path):
    a, b = oci.build(), oci.build()
    assert a.digest != b.digest
    img = oci.build(files={"/bin/busybox": BUSYBOX, "/etc/motd": "hello\n"})
    layer = img.blob(img.manifest["layers"][0]["digest"])
    (tmp_path / "layer.tgz").write_bytes(layer)
    listing = subprocess.run(["tar", "tzvf", str(tmp_path / "layer.tgz")], capture_output=True,
                             text=True, check=True).stdout
    assert "bin/busybox" in listing and "etc/motd" in listing
    assert "rwx" in [l for l in listing.splitlines() if "busybox" in l][0]


def test_push_to_tls_and_htpasswd_registries(registry_factory, oci, unique_repo):
    tls_reg = registry_factory("tls")
    auth_reg = registry_factory("htpasswd")
    img = oci.build()
    with pytest.raises(RuntimeError):
        oci.push(img, "%s/%s:v1" % (tls_reg.host, unique_repo))  # CA not given
    assert oci.push(img, "%s/%s:v1" % (tls_reg.host, unique_repo), ca=tls_reg.ca_path) == \
        img.digest
    raw = inspect_raw("%s/%s:v1" % (tls_reg.host, unique_repo), "--cert-dir", tls_reg.cert_dir)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == img.digest

    with pytest.raises(RuntimeError):
        oci.push(img, "%s/%s:v1" % (auth_reg.host, unique_repo))  # no credentials
    assert oci.push(img, "%s/%s:v1" % (auth_reg.host, unique_repo), creds=auth_reg.creds) == \
        img.digest
    assert iwreg.manifest_digest(auth_reg.url, unique_repo, "v1", creds=auth_reg.creds) == \
        img.digest


def test_index_lists_both_platforms(registry, oci, unique_repo):
    amd, arm = oci.build(arch="amd64"), oci.build(arch="arm64")
    ref = "%s/%s:multi" % (registry.host, unique_repo)
    index_digest, children = oci.push_index([amd, arm], ref)
    assert children == {"linux/amd64": amd.digest, "linux/arm64": arm.digest}
    raw = inspect_raw(ref, "--tls-verify=false")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == index_digest
    index = json.loads(raw)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = {"%s/%s" % (m["platform"]["os"], m["platform"]["architecture"]): m["digest"]
                 for m in index["manifests"]}
    assert platforms == children
    for platform, child in children.items():
        cref = "%s/%s@%s" % (registry.host, unique_repo, child)
        config = json.loads(skopeo("inspect", "--config", "--tls-verify=false",
                                   "docker://" + cref).stdout)
        assert "%s/%s" % (config["os"], config["architecture"]) == platform
        child_raw = inspect_raw(cref, "--tls-verify=false")
        assert "sha256:" + hashlib.sha256(child_raw).hexdigest() == child
    with pytest.raises(ValueError):
        oci.config_digest(ref)


def test_new_content_under_same_tag_changes_digest(registry, oci, unique_repo):
    ref = "%s/%s:moving" % (registry.host, unique_repo)
    first = oci.push(oci.build(), ref)
    assert iwreg.manifest_digest(registry.url, unique_repo, "moving") == first
    second = oci.push(oci.build(), ref)
    assert second != first
    raw = inspect_raw(ref, "--tls-verify=false")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == second


def test_deleted_tag_gives_404(registry, oci, unique_repo):
    ref = "%s/%s:gone" % (registry.host, unique_repo)
    digest = oci.push(oci.build(), ref)
    rc, code, _ = curl("-I", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                       "%s/v2/%s/manifests/gone" % (registry.url, unique_repo))
    assert code == 200
    assert oci.delete_tag(ref) == digest
    rc, code, _ = curl("-I", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                       "%s/v2/%s/manifests/gone" % (registry.url, unique_repo))
    assert code == 404
    assert oci.manifest_digest(ref) is None
    r = skopeo("inspect", "--raw", "--tls-verify=false", "docker://" + ref, check=False)
    assert r.returncode != 0


# --- notifications, failures, teardown --------------------------------------


def test_notifications_reach_the_configured_endpoint(registry_factory, oci, unique_repo):
    events = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            events.append((dict(self.headers.items()), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    t = threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    try:
        reg = registry_factory("plain",
                               notifications_url="http://127.0.0.1:%d/events"
                               % sink.server_address[1],
                               notifications_headers={"Authorization": "Bearer sink-secret"})
        digest = oci.push(oci.build(), "%s/%s:v1" % (reg.host, unique_repo))

        def pushed():
            return [e for h, doc in events for e in doc.get("events", [])
                    if e.get("action") == "push" and e["target"].get("digest") == digest]

        found = util.wait_for(pushed, timeout=30, what="registry push notification")
        assert found[0]["target"]["repository"] == unique_repo
        assert found[0]["target"].get("tag") == "v1"
        assert all(h.get("Authorization") == "Bearer sink-secret" for h, _ in events)
    finally:
        sink.shutdown()
        sink.server_close()


def test_start_failure_shows_the_registry_log(tmp_path):
    reg = Registry(str(tmp_path / "bad"), mode="plain",
                   extra_config={"http": {"tls": {"certificate": str(tmp_path / "missing.crt"),
                                                  "key": str(tmp_path / "missing.key")}}})
    with pytest.raises(RegistryError) as ei:
        reg.start(timeout=30)
    assert "missing.crt" in str(ei.value)
    assert reg.proc is None


def test_stopped_registry_leaves_no_process(registry_factory):
    reg = registry_factory("htpasswd")
    pid = reg.proc.pid
    assert util.pid_alive(pid)
    reg.stop()
    assert not util.pid_alive(pid)
    assert util.pgrep(reg.config_path) == []
    reg.stop()  # twice is fine


def test_failing_test_still_tears_down(tmp_path):
    """A failing inner test session leaves no registry or issuer behind."""
    inner = tmp_path / "inner"
    inner.mkdir()
    os.symlink(os.path.join(HERE, "iwtest"), str(inner / "iwtest"))
    (inner / "conftest.py").write_text(open(os.path.join(HERE, "conftest.py")).read())
    pidfile = tmp_path / "pids"
    (inner / "test_inner.py").write_text(textwrap.dedent("""
        def test_boom(registry, registry_factory):
            reg = registry_factory("token")
            with open(%r, "w") as f:
                f.write("%%d %%d %%s" %% (registry.proc.pid, reg.proc.pid, reg.issuer.url))
            assert False, "deliberate failure"
    """ % str(pidfile)))
    base = tmp_path / "inner-tmp"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--basetemp", str(base), str(inner)],
                       capture_output=True, text=True, timeout=300, cwd=str(inner))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "deliberate failure" in r.stdout
    assert "left running" not in r.stdout
    # The failure report carries the registry log and the issuer's requests.
    assert "docker-registry token 127.0.0.1:" in r.stdout
    assert "token issuer requests" in r.stdout
    p1, p2, issuer_url = pidfile.read_text().split()
    assert not util.pid_alive(int(p1)) and not util.pid_alive(int(p2))
    assert util.pgrep(str(base)) == []
    rc, code, _ = curl(issuer_url + "/token")
    assert rc == 7  # connection refused: the issuer thread died with the session


def test_run_imgwatch_runs_the_binary(run_imgwatch, imgwatch_bin):
    r = run_imgwatch("--version", check=0)
    assert r.stdout.strip()
    with pytest.raises(AssertionError):
        run_imgwatch("--version", check=3)


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_auth_modes_over_tls(registry_factory, oci, unique_repo, mode):
    reg = registry_factory(mode, tls=True)
    assert reg.url.startswith("https://")
    if reg.issuer is not None:
        assert reg.issuer.realm.startswith("https://127.0.0.1:")
        rc, code, _ = curl("--cacert", reg.ca_path, "-u", reg.creds,
                           reg.issuer.realm + "?service=" + reg.issuer.service)
        assert (rc, code) == (0, 200)
    rc, code, _ = curl("--cacert", reg.ca_path, reg.url + "/v2/")
    assert code == 401
    img = oci.build()
    digest = oci.push(img, "%s/%s:v1" % (reg.host, unique_repo), creds=reg.creds, ca=reg.ca_path)
    assert digest == img.digest
    assert oci.manifest_digest("%s/%s:v1" % (reg.host, unique_repo)) == digest


def test_docker_schema2_push_and_manifest_list(registry, oci, unique_repo):
    img = oci.build()
    digest = oci.push(img, registry.ref(unique_repo, "v2s2"), format="v2s2")
    raw = inspect_raw(registry.ref(unique_repo, "v2s2"), "--tls-verify=false")
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest != img.digest
    assert registry.manifest_digest(unique_repo, "v2s2") == digest

    ref = registry.ref(unique_repo, "list")
    index_digest, children = oci.push_index(None, ref, format="docker")
    raw = inspect_raw(ref, "--tls-verify=false")
    doc = json.loads(raw)
    assert doc["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == index_digest
    assert set(children) == {"linux/amd64", "linux/arm64"}
    for m in doc["manifests"]:
        assert m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        child = inspect_raw(registry.ref(unique_repo, m["digest"]), "--tls-verify=false")
        assert "sha256:" + hashlib.sha256(child).hexdigest() == m["digest"]


def test_index_with_attestations(registry, oci, unique_repo):
    ref = registry.ref(unique_repo, "att")
    index_digest, children = oci.push_index(None, ref, attestations=True)
    doc = json.loads(inspect_raw(ref, "--tls-verify=false"))
    unknown = [m for m in doc["manifests"] if m["platform"]["os"] == "unknown"]
    assert len(unknown) == 2 and len(doc["manifests"]) == 4
    refs = {m["annotations"]["vnd.docker.reference.digest"] for m in unknown}
    assert refs == set(children.values())
    assert set(oci.last_index["attestations"]) == set(children)


def test_retag_makes_many_tags_quickly(registry, oci, unique_repo):
    digest = oci.push(oci.build(), registry.ref(unique_repo, "base"))
    same = oci.retag(registry.ref(unique_repo, "base"), ["a", "b"])
    assert same == {"a": digest, "b": digest}
    distinct = oci.retag(registry.ref(unique_repo, "base"), ["c%d" % i for i in range(20)],
                         distinct=True)
    assert len(set(distinct.values())) == 20 and digest not in distinct.values()
    for tag in ("a", "c7"):
        raw = inspect_raw(registry.ref(unique_repo, tag), "--tls-verify=false")
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == (same.get(tag) or distinct[tag])


def test_untrusted_issuer_key_gets_invalid_token(registry_factory):
    reg = registry_factory("token")
    reg.issuer.untrusted = True
    tok = reg.client().token(reg.issuer.realm, reg.issuer.service, "repository:t/a:pull")
    rc, headers = curl_headers("-H", "Authorization: Bearer " + tok, reg.url + "/v2/")
    assert " 401" in headers.splitlines()[0]
    assert 'error="invalid_token"' in headers
    reg.issuer.untrusted = False
    tok = reg.client().token(reg.issuer.realm, reg.issuer.service, "repository:t/a:pull")
    rc, code, _ = curl("-H", "Authorization: Bearer " + tok, reg.url + "/v2/")
    assert code == 200


def test_grant_policy_limits_scopes(registry_factory, oci, unique_repo):
    reg = registry_factory("token")
    digest = oci.push(oci.build(), reg.ref(unique_repo, "v1"), creds=reg.creds)
    reg.issuer.grant = lambda user, typ, name, actions: [] if name == unique_repo else actions
    r = reg.client().request("HEAD", "/v2/%s/manifests/v1" % unique_repo)
    assert r.status == 401
    reg.issuer.grant = None
    assert reg.manifest_digest(unique_repo, "v1") == digest


def test_blob_path_points_into_storage(registry, oci, unique_repo):
    img = oci.build()
    oci.push(img, registry.ref(unique_repo, "v1"))
    with open(registry.blob_path(img.config_digest), "rb") as f:
        assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == img.config_digest


def test_issuer_can_omit_response_fields(token_issuer):
    token_issuer.omit = {"token", "expires_in"}
    rc, code, body = curl(token_issuer.realm + "?service=" + token_issuer.service
                          + "&scope=repository:t/a:pull")
    assert code == 200
    doc = json.loads(body)
    assert "token" not in doc and "expires_in" not in doc
    assert token_issuer.decode(doc["access_token"])["sub"] == ""
    assert token_issuer.requests[0]["user"] is None  # anonymous
