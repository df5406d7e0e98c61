"""`imgwatch resolve` against a real docker-registry: plain HTTP (insecure),
TLS with and without the test CA, htpasswd Basic auth, token auth with the
test issuer, multi-arch indexes with labels, moving and deleted tags, and the
three-state existence checks.
"""

import json
import os
import re

import pytest

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def write_config(tmp_path, registries, mirrors=None):
    """A new imgwatch config file with these registries settings; returns its path."""
    lines = ["registries:"]
    for host, settings in registries.items():
        parts = []
        for k, v in settings.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            else:
                v = json.dumps(str(v))
            parts.append("%s: %s" % (k, v))
        lines.append('  "%s": {%s}' % (host, ", ".join(parts)))
    if mirrors:
        lines.append("mirrors:")
        for reg, ms in mirrors.items():
            lines.append('  "%s": [%s]' % (reg, ", ".join('"%s"' % m for m in ms)))
    n = 0
    while (tmp_path / ("imgwatch-%d.yaml" % n)).exists():
        n += 1
    path = tmp_path / ("imgwatch-%d.yaml" % n)
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def empty_docker_config(tmp_path):
    d = tmp_path / "docker-empty"
    d.mkdir(exist_ok=True)
    return {"DOCKER_CONFIG": str(d)}


def registry_requests(reg, repo, agent=None):
    """(method, uri) of the requests the registry logged for repo (its access log),
    only those whose user agent starts with agent when given."""
    out = []
    for line in reg.log().splitlines():
        m = re.search(r'"([A-Z]+) (/v2/\S+) HTTP/[0-9.]+" \d+ \S+ "[^"]*" "([^"]*)"', line)
        if m and ("/v2/" + repo + "/") in m.group(2) and (agent is None or m.group(3).startswith(agent)):
            out.append((m.group(1), m.group(2)))
    return out


@pytest.fixture
def insecure_config(tmp_path, registry):
    return write_config(tmp_path, {registry.host: {"insecure": True}})


# --- plain HTTP ---------------------------------------------------------


def test_registry__resolves_tag_to_pushed_digest(run_imgwatch, registry, oci, unique_repo,
                                                 insecure_config, tmp_path):
    ref = "%s/%s:v1" % (registry.host, unique_repo)
    digest = oci.push(oci.build(), ref)
    r = run_imgwatch("resolve", "--config", insecure_config, ref, check=0,
                     env=empty_docker_config(tmp_path))
    assert r.stdout == "%s\t%s\n" % (ref, digest)
    assert r.stderr == ""
    # A HEAD and nothing else: the digest came from Docker-Content-Digest.
    assert registry_requests(registry, unique_repo)[-1] == ("HEAD", "/v2/%s/manifests/v1" % unique_repo)


def test_registry__plain_http_needs_insecure_and_never_falls_back(run_imgwatch, registry, oci,
                                                                  unique_repo, tmp_path):
    ref = "%s/%s:v1" % (registry.host, unique_repo)
    oci.push(oci.build(), ref)
    before = registry_requests(registry, unique_repo)
    r = run_imgwatch("resolve", ref, check=1, env=empty_docker_config(tmp_path))
    assert r.stdout == ""
    assert "TLS error" in r.stderr and ref in r.stderr
    # The HTTPS attempt failed; nothing was asked over plain HTTP.
    assert registry_requests(registry, unique_repo) == before


def test_registry__moving_tag_gives_new_digest(run_imgwatch, registry, oci, unique_repo,
                                               insecure_config):
    ref = "%s/%s:latest" % (registry.host, unique_repo)
    first = oci.push(oci.build(), ref)
    r1 = run_imgwatch("resolve", "--config", insecure_config, ref, check=0)
    second = oci.push(oci.build(), ref)
    assert first != second
    r2 = run_imgwatch("resolve", "--config", insecure_config, ref, check=0)
    assert r1.stdout.split("\t")[1].strip() == first
    assert r2.stdout.split("\t")[1].strip() == second


def test_registry__deleted_tag_is_not_found(run_imgwatch, registry, oci, unique_repo,
                                            insecure_config):
    gone = "%s/%s:gone" % (registry.host, unique_repo)
    kept = "%s/%s:kept" % (registry.host, unique_repo)
    oci.push(oci.build(), gone)
    kept_digest = oci.push(oci.build(), kept)
    oci.delete_tag(gone)
    r = run_imgwatch("resolve", "--config", insecure_config, kept, gone, check=1)
    assert r.stdout == "%s\t%s\n" % (kept, kept_digest)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("imgwatch resolve: %s: not found:" % gone)


def test_registry__stdin_and_duplicates_share_one_request(run_imgwatch, registry, oci, unique_repo,
                                                          insecure_config):
    refs = ["%s/%s:t%d" % (registry.host, unique_repo, i) for i in range(3)]
    digests = [oci.push(oci.build(), ref) for ref in refs]
    text = "\n".join(refs + refs + ["", "# a comment"]) + "\n"
    r = run_imgwatch("resolve", "--config", insecure_config, "-", input=text, check=0)
    assert r.stdout.splitlines() == ["%s\t%s" % (f, d) for f, d in zip(refs + refs, digests + digests)]
    heads = [u for m, u in registry_requests(registry, unique_repo) if m == "HEAD"]
    for i in range(3):
        assert heads.count("/v2/%s/manifests/t%d" % (unique_repo, i)) == 1


def test_registry__invalid_reference_is_usage_error(run_imgwatch, registry, unique_repo):
    r = run_imgwatch("resolve", "%s/%s:ok" % (registry.host, unique_repo), "Bad/Name", check=2)
    assert 'invalid reference "Bad/Name"' in r.stderr
    assert r.stdout == ""


def test_registry__bad_config_is_usage_error(run_imgwatch, tmp_path, registry, unique_repo):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("registries: [this, is, a, list]\n")
    r = run_imgwatch("resolve", "--config", str(cfg), "%s/%s:x" % (registry.host, unique_repo), check=2)
    assert "bad.yaml" in r.stderr


def test_registry__multi_arch_index_json_with_labels(run_imgwatch, registry, oci, unique_repo,
                                                     insecure_config):
    labels = {
        "org.opencontainers.image.source": "https://example.com/green-burrito",
        "org.opencontainers.image.revision": "0123abc",
        "org.opencontainers.image.authors": "team-burrito",
        "org.opencontainers.image.version": "1.2.3",
        "org.opencontainers.image.title": "green-burrito",
    }
    amd = oci.build(arch="amd64", labels=labels, created="2024-05-06T07:08:09Z")
    arm = oci.build(arch="arm64", variant="v8", labels=labels)
    ref = "%s/%s:multi" % (registry.host, unique_repo)
    index_digest, children = oci.push_index([amd, arm], ref)
    r = run_imgwatch("resolve", "--config", insecure_config, "-o", "json", ref, check=0)
    doc = json.loads(r.stdout)
    assert doc["apiVersion"] == "imgwatch/v1"
    (item,) = doc["items"]
    assert item["digest"] == index_digest
    assert item["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {p: c["digest"] for p, c in item["children"].items()} == children
    assert set(children) == {"linux/amd64", "linux/arm64/v8"}
    amd_ref = "%s/%s@%s" % (registry.host, unique_repo, children["linux/amd64"])
    assert item["children"]["linux/amd64"]["configDigest"] == oci.config_digest(amd_ref)
    for k, v in labels.items():
        assert item["labels"][k] == v
        assert item["children"]["linux/arm64/v8"]["labels"][k] == v
    assert item["labels"]["created"].startswith("2024-05-06T07:08:09")
    # --platform picks the child.
    r = run_imgwatch("resolve", "--config", insecure_config, "--platform", "linux/arm64", ref, check=0)
    assert r.stdout == "%s\t%s\n" % (ref, children["linux/arm64/v8"])
    r = run_imgwatch("resolve", "--config", insecure_config, "--platform", "linux/s390x", ref, check=1)
    assert "no manifest for platform linux/s390x" in r.stderr


def test_registry__single_manifest_json(run_imgwatch, registry, oci, unique_repo, insecure_config):
    ref = "%s/%s:one" % (registry.host, unique_repo)
    digest = oci.push(oci.build(labels={"org.opencontainers.image.revision": "feed"}), ref)
    r = run_imgwatch("resolve", "--config", insecure_config, "-o", "json", ref, check=0)
    (item,) = json.loads(r.stdout)["items"]
    assert item["digest"] == digest
    assert item["configDigest"] == oci.config_digest(ref)
    assert item["platform"] == "linux/amd64"
    assert item["labels"]["org.opencontainers.image.revision"] == "feed"
    assert "children" not in item


def test_registry__json_reports_errors_per_item(run_imgwatch, registry, unique_repo, insecure_config):
    ref = "%s/%s:nope" % (registry.host, unique_repo)
    r = run_imgwatch("resolve", "--config", insecure_config, "-o", "json", ref, check=1)
    (item,) = json.loads(r.stdout)["items"]
    assert item["error"]["code"] == "not-found"


def test_registry__digest_reference_and_existence(run_imgwatch, registry, oci, unique_repo,
                                                  insecure_config):
    ref = "%s/%s:v1" % (registry.host, unique_repo)
    digest = oci.push(oci.build(), ref)
    config = oci.config_digest(ref)
    by_digest = "%s/%s@%s" % (registry.host, unique_repo, digest)
    unknown = "%s/%s@sha256:%s" % (registry.host, unique_repo, "ab" * 32)
    r = run_imgwatch("resolve", "--config", insecure_config, by_digest, check=0)
    assert r.stdout == "%s\t%s\n" % (by_digest, digest)
    r = run_imgwatch("resolve", "--config", insecure_config, unknown, check=1)
    assert "not found" in r.stderr
    r = run_imgwatch("resolve", "--config", insecure_config, "--exists", by_digest, unknown, check=1)
    assert r.stdout == "%s\tpresent\n%s\tabsent\n" % (by_digest, unknown)
    assert r.stderr == ""
    cfg_ref = "%s/%s@%s" % (registry.host, unique_repo, config)
    r = run_imgwatch("resolve", "--config", insecure_config, "--exists", "--blob", cfg_ref, check=0)
    assert r.stdout == "%s\tpresent\n" % cfg_ref


# --- TLS ------------------------------------------------------------------


def test_registry__tls_with_ca_and_without(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("tls")
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, ca=reg.ca_path)
    with_ca = write_config(tmp_path, {reg.host: {"ca": reg.ca_path}})
    r = run_imgwatch("resolve", "--config", with_ca, ref, check=0, env=empty_docker_config(tmp_path))
    assert r.stdout == "%s\t%s\n" % (ref, digest)
    before = registry_requests(reg, unique_repo)
    r = run_imgwatch("resolve", ref, check=1, env=empty_docker_config(tmp_path))
    assert "TLS error" in r.stderr
    assert registry_requests(reg, unique_repo) == before
    # --exists says unknown, not absent, when TLS fails.
    r = run_imgwatch("resolve", "--exists", "%s/%s@%s" % (reg.host, unique_repo, digest), check=1)
    assert r.stdout.endswith("\tunknown\n")
    assert "TLS error" in r.stderr


# --- htpasswd Basic -------------------------------------------------------


def test_registry__htpasswd_basic_from_config(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("htpasswd")
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=reg.creds)
    pw = tmp_path / "pw"
    pw.write_text(reg.password + "\n")
    cfg = write_config(tmp_path, {reg.host: {"insecure": True, "username": reg.username,
                                             "passwordFile": str(pw)}})
    r = run_imgwatch("resolve", "--config", cfg, ref, check=0, env=empty_docker_config(tmp_path))
    assert r.stdout == "%s\t%s\n" % (ref, digest)
    assert reg.password not in r.stderr

    # Without credentials: an auth failure, and --exists says unknown, never absent.
    plain = write_config(tmp_path, {reg.host: {"insecure": True}})
    r = run_imgwatch("resolve", "--config", plain, ref, check=1, env=empty_docker_config(tmp_path))
    assert "authentication failed" in r.stderr
    r = run_imgwatch("resolve", "--config", plain, "--exists", "%s/%s@%s" % (reg.host, unique_repo, digest),
                     check=1, env=empty_docker_config(tmp_path))
    assert r.stdout.endswith("\tunknown\n")

    # Wrong password.
    pw.write_text("wrong\n")
    r = run_imgwatch("resolve", "--config", cfg, ref, check=1, env=empty_docker_config(tmp_path))
    assert "authentication failed" in r.stderr and "refused" in r.stderr


def test_registry__htpasswd_from_docker_config(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    import base64

    reg = registry_factory("htpasswd")
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=reg.creds)
    dc = tmp_path / "dockercfg"
    dc.mkdir()
    auth = base64.b64encode(reg.creds.encode()).decode()
    (dc / "config.json").write_text(json.dumps({"auths": {"http://%s" % reg.host: {"auth": auth}}}))
    cfg = write_config(tmp_path, {reg.host: {"insecure": True}})
    r = run_imgwatch("resolve", "--config", cfg, ref, check=0, env={"DOCKER_CONFIG": str(dc)})
    assert r.stdout == "%s\t%s\n" % (ref, digest)


def test_registry__credential_helper(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("htpasswd")
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=reg.creds)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-iwtest"
    log = tmp_path / "helper.log"
    helper.write_text("#!/bin/sh\nread server\necho \"$1 $server\" >> %s\n"
                      "printf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$server\"\n"
                      % (log, reg.username, reg.password))
    helper.chmod(0o755)
    dc = tmp_path / "dockercfg"
    dc.mkdir()
    (dc / "config.json").write_text(json.dumps({"credHelpers": {reg.host: "iwtest"}}))
    cfg = write_config(tmp_path, {reg.host: {"insecure": True}})
    env = {"DOCKER_CONFIG": str(dc), "PATH": "%s:%s" % (bindir, os.environ["PATH"])}
    r = run_imgwatch("resolve", "--config", cfg, ref, check=0, env=env)
    assert r.stdout == "%s\t%s\n" % (ref, digest)
    assert log.read_text() == "get %s\n" % reg.host


# --- token auth -----------------------------------------------------------


def test_registry__token_auth_anonymous_denied_then_credentialed(run_imgwatch, registry_factory, oci,
                                                                 unique_repo, tmp_path):
    reg = registry_factory("token")
    issuer = reg.issuer
    refs = ["%s/%s:t%d" % (reg.host, unique_repo, i) for i in range(4)]
    digests = [oci.push(oci.build(), ref, creds=reg.creds) for ref in refs]

    # Anonymous: the issuer hands out tokens without pull rights.
    issuer.allow_anonymous = True
    issuer.grant = lambda user, type_, name, actions: actions if user else []
    cfg = write_config(tmp_path, {reg.host: {"insecure": True}})
    r = run_imgwatch("resolve", "--config", cfg, refs[0], check=1, env=empty_docker_config(tmp_path))
    assert "authentication failed" in r.stderr

    # With credentials: one token for the whole repository scope.
    issuer.clear()
    pw = tmp_path / "pw"
    pw.write_text(reg.password)
    cfg = write_config(tmp_path, {reg.host: {"insecure": True, "username": reg.username,
                                             "passwordFile": str(pw)}})
    r = run_imgwatch("resolve", "--config", cfg, *refs, check=0, env=empty_docker_config(tmp_path))
    assert r.stdout.splitlines() == ["%s\t%s" % (f, d) for f, d in zip(refs, digests)]
    got = [q for q in issuer.requests if q["path"].endswith("/token")]
    assert len(got) == 1, got
    assert got[0]["user"] == reg.username
    assert got[0]["query"]["scope"] == ["repository:%s:pull" % unique_repo]
    assert got[0]["query"]["service"] == [issuer.service]


def test_registry__token_expiry_is_honoured(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("token")
    issuer = reg.issuer
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=reg.creds)
    cfg = write_config(tmp_path, {reg.host: {"insecure": True}})
    issuer.clear()
    issuer.expires_in = 1
    # With a 1-second token, the index and each child are still fetched fine.
    r = run_imgwatch("resolve", "--config", cfg, "-o", "json", ref, check=0, env=empty_docker_config(tmp_path))
    assert json.loads(r.stdout)["items"][0]["digest"] == digest


# --- one dead registry does not stall the others --------------------------


def test_registry__circuit_breaker_fails_fast_and_others_resolve(run_imgwatch, registry, oci, unique_repo,
                                                                 tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()  # nothing listens there now
    live = "%s/%s:v1" % (registry.host, unique_repo)
    digest = oci.push(oci.build(), live)
    cfg = write_config(tmp_path, {registry.host: {"insecure": True}, dead: {"insecure": True}})
    dead_refs = ["%s/app:t%d" % (dead, i) for i in range(40)]
    r = run_imgwatch("resolve", "--config", cfg, *(dead_refs + [live]), check=1,
                     env=empty_docker_config(tmp_path))
    assert r.stdout == "%s\t%s\n" % (live, digest)
    lines = [x for x in r.stderr.splitlines() if x.startswith("imgwatch resolve: ")]
    assert len(lines) == 40
    assert "circuit open" in r.stderr.splitlines()[0]  # the warning, once
    assert all("network error" in line for line in lines)
    # At most 16 in flight plus 4 started after the first failures, before the
    # fifth opened the circuit; the rest failed fast.
    assert sum("circuit open" in line for line in lines) >= 40 - 16 - 4


def test_registry__progress_bar_only_on_a_terminal(imgwatch_bin, run_imgwatch, registry, oci, unique_repo,
                                                   insecure_config):
    import pty
    import subprocess

    refs = ["%s/%s:p%d" % (registry.host, unique_repo, i) for i in range(3)]
    for ref in refs:
        oci.push(oci.build(), ref)
    many = (refs * 20)[:60]  # more than 50 references
    master, slave = pty.openpty()
    try:
        p = subprocess.run([imgwatch_bin, "resolve", "--config", insecure_config] + many,
                           stdout=subprocess.PIPE, stderr=slave, timeout=60)
        os.close(slave)
        slave = None
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0
    assert len(p.stdout.decode().splitlines()) == 60
    assert b"resolving [" in err and b"60/60" in err
    # Not a terminal: no bar.
    r = run_imgwatch("resolve", "--config", insecure_config, *many, check=0)
    assert r.stderr == ""


# --- transport: connection reuse, HTTP/2, mirrors -------------------------


def remote_ports(reg, repo):
    """Client ports of the requests the registry logged for repo."""
    ports = []
    for line in reg.log().splitlines():
        if "response completed" in line and "/v2/%s/" % repo in line and "imgwatch/" in line:
            m = re.search(r'http\.request\.remoteaddr="?[0-9.]+:(\d+)', line)
            if m:
                ports.append(int(m.group(1)))
    return ports


def test_registry__connections_are_reused(run_imgwatch, registry, oci, unique_repo, insecure_config):
    base = "%s/%s:base" % (registry.host, unique_repo)
    oci.push(oci.build(), base)
    tags = ["r%03d" % i for i in range(120)]
    oci.retag(base, tags, distinct=True)
    refs = ["%s/%s:%s" % (registry.host, unique_repo, t) for t in tags]
    r = run_imgwatch("resolve", "--config", insecure_config, "--concurrency", "4", "-",
                     input="\n".join(refs) + "\n", check=0)
    assert len(r.stdout.splitlines()) == 120
    ports = remote_ports(registry, unique_repo)
    assert len(ports) == 120
    # 120 requests over at most 4 connections (plain HTTP/1.1, 4 at a time).
    assert len(set(ports)) <= 4


def test_registry__http2_over_tls(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("tls")
    refs = ["%s/%s:h%d" % (reg.host, unique_repo, i) for i in range(3)]
    digest = oci.push(oci.build(), refs[0], ca=reg.ca_path)
    oci.retag(refs[0], ["h1", "h2"], ca=reg.ca_path)
    cfg = write_config(tmp_path, {reg.host: {"ca": reg.ca_path}})
    r = run_imgwatch("resolve", "--config", cfg, *refs, check=0, env=empty_docker_config(tmp_path))
    assert r.stdout == "".join("%s\t%s\n" % (ref, digest) for ref in refs)
    lines = [x for x in reg.log().splitlines() if "imgwatch/" in x and "/v2/%s/" % unique_repo in x
             and '"HEAD ' in x]
    assert len(lines) == 3
    assert all("HTTP/2.0" in x for x in lines), lines
    # All three streams shared one connection.
    assert len(set(remote_ports(reg, unique_repo))) == 1


def test_registry__mirror_serves_digests_only(run_imgwatch, registry, registry_factory, oci, unique_repo,
                                              tmp_path):
    mirror = registry_factory("plain")
    image = oci.build(labels={"org.opencontainers.image.revision": "m1"})
    ref = "%s/%s:v1" % (registry.host, unique_repo)
    digest = oci.push(image, ref)
    oci.push(image, "%s/%s:v1" % (mirror.host, unique_repo))
    cfg = write_config(tmp_path, {registry.host: {"insecure": True}, mirror.host: {"insecure": True}},
                       mirrors={registry.host: [mirror.host]})
    r = run_imgwatch("resolve", "--config", cfg, "-o", "json", ref, check=0, env=empty_docker_config(tmp_path))
    (item,) = json.loads(r.stdout)["items"]
    assert item["digest"] == digest
    assert item["labels"]["org.opencontainers.image.revision"] == "m1"
    at_registry = registry_requests(registry, unique_repo, agent="imgwatch/")
    at_mirror = registry_requests(mirror, unique_repo, agent="imgwatch/")
    # The tag was asked of the registry only; the digest fetches went to the mirror.
    assert ("HEAD", "/v2/%s/manifests/v1" % unique_repo) in at_registry
    assert not any(u.endswith("/manifests/v1") for _, u in at_mirror)
    assert ("GET", "/v2/%s/manifests/%s" % (unique_repo, digest)) in at_mirror
    assert ("GET", "/v2/%s/manifests/%s" % (unique_repo, digest)) not in at_registry


@pytest.mark.parametrize("args, message", [
    (["--exists", "-o", "json", "r.example.com/a@sha256:" + "1" * 64], "takes no -o json"),
    (["--exists", "r.example.com/a:tag"], "needs REF@DIGEST"),
    (["-o", "yaml", "r.example.com/a:1"], "unknown output format"),
    (["--platform", "linux", "r.example.com/a:1"], "expected OS/ARCH"),
    (["--concurrency", "0", "r.example.com/a:1"], "expected 1 to 256"),
    (["--timeout", "x", "r.example.com/a:1"], "expected 1 to 3600"),
    ([], "no references given"),
])
def test_registry__usage_errors(run_imgwatch, args, message):
    r = run_imgwatch("resolve", *args, check=2)
    assert message in r.stderr
    assert r.stdout == ""


def test_registry__token_auth_with_identity_token(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    reg = registry_factory("token")
    issuer = reg.issuer
    ref = "%s/%s:v1" % (reg.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=reg.creds)
    issuer.grant = lambda user, type_, name, actions: actions if user else []
    issuer.clear()
    dc = tmp_path / "dockercfg"
    dc.mkdir()
    # What `docker login` leaves for an OAuth2 registry: a refresh token.
    (dc / "config.json").write_text(json.dumps(
        {"auths": {reg.host: {"auth": "", "identitytoken": "refresh-" + reg.username}}}))
    cfg = write_config(tmp_path, {reg.host: {"insecure": True}})
    r = run_imgwatch("resolve", "--config", cfg, ref, check=0, env={"DOCKER_CONFIG": str(dc)})
    assert r.stdout == "%s\t%s\n" % (ref, digest)
    (q,) = [q for q in issuer.requests if q["path"] == "/token"]
    assert q["method"] == "POST"
    assert q["form"]["grant_type"] == ["refresh_token"]
    assert q["form"]["scope"] == ["repository:%s:pull" % unique_repo]
    assert q["user"] == reg.username
    assert "Authorization" not in q["headers"]
