"""End-to-end tests of `imgwatch serve` against a real docker-registry whose
`notifications` endpoint points at serve.

The cluster state comes from a pods file (re-read when it changes), as
`kubectl get pods -A -o json` prints it.  What is asserted is what a user
sees: /api/v1/assessment (the `assess -o json` document), /api/v1/history,
/api/v1/images/<ref>, /metrics.  Times are measured and printed, never
asserted.
"""

import json
import os
import signal
import ssl
import statistics
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from iwtest import kubeobjs, util
from iwtest.tls import make_ca
from iwtest import registry as reg

SECRET = "e2e-webhook-secret"


class Serve:
    """One `imgwatch serve` process on a free port, with its files in workdir."""

    def __init__(self, binary, workdir, port, registry_host, extra=(), db_url=None):
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.pods = os.path.join(workdir, "pods.json")
        self.db = os.path.join(workdir, "history.db")
        self.db_url = db_url or "sqlite:" + self.db
        self.log = os.path.join(workdir, "serve.log")
        self.config = os.path.join(workdir, "config.yaml")
        self.secret_file = os.path.join(workdir, "secret")
        self.extra = list(extra)
        self.proc = None
        self.ssl_context = None  # for HTTPS
        self.token = None  # sent as a bearer token when set
        with open(self.config, "w") as f:
            f.write('trustedRegistries: ["%s"]\nregistries:\n  "%s": {insecure: true}\n'
                    % (registry_host, registry_host))
        with open(self.secret_file, "w") as f:
            f.write(SECRET + "\n")

    def write_pods(self, pods):
        tmp = self.pods + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": pods, "metadata": {}}, f)
        os.replace(tmp, self.pods)

    def start(self):
        argv = [self.binary, "--log-level", "info", "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--db", self.db_url, "--from-file", self.pods, "--config", self.config,
                "--webhook-secret-file", self.secret_file, "--reresolve", "1h"] + self.extra
        self.proc = util.start_process(argv, self.log)
        util.wait_for(self.ready, timeout=60, what="serve /readyz")
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise util.GiveUp("serve exited %s:\n%s" % (self.proc.returncode, util.read_tail(self.log)))
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def stop(self):
        util.stop_process(self.proc)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        util.stop_process(self.proc)

    def get(self, path, headers=None):
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def json(self, path):
        status, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def assessment(self):
        return self.json("/api/v1/assessment")

    def image(self, ref):
        for img in self.assessment().get("images", []):
            if img["reference"] == ref:
                return img
        return None

    def metric(self, name, labels=""):
        body = self.get("/metrics")[1]
        want = name + ("{%s}" % labels if labels else "") + " "
        for line in body.splitlines():
            if line.startswith(want):
                return float(line.split()[-1])
        return 0.0


def gb_pods(host, repo, digests, name="green-burrito"):
    """A Deployment's pods running host/repo:latest at the given digests."""
    rs = "%s-7d4b9c8f6d" % name
    labels = {"app": name, "pod-template-hash": "7d4b9c8f6d"}
    image = "%s/%s:latest" % (host, repo)
    return [kubeobjs.pod("default", "%s-%d" % (rs, i), [kubeobjs.owner("ReplicaSet", rs)],
                         [kubeobjs.container("app", image, "IfNotPresent", 8080)],
                         [kubeobjs.status("app", image, "%s/%s@%s" % (host, repo, d))],
                         "node-%d" % (i + 1), labels=labels)
            for i, d in enumerate(digests)]


def findings_of(img):
    return sorted(f["check"] for f in (img or {}).get("findings", []))


@pytest.fixture
def db_url():
    """The history database serve uses: its default SQLite file (None)."""
    return None


@pytest.fixture
def serve_env(imgwatch_bin, registry_factory, oci, unique_repo, tmp_path, db_url):
    """(serve, registry, repo, push) with green-burrito v1 running on 2 pods."""
    port = util.free_port()
    r = registry_factory(notifications_url="http://127.0.0.1:%d/webhooks/distribution" % port,
                         notifications_headers={"X-Imgwatch-Secret": SECRET})
    repo = unique_repo
    v1 = oci.build(labels={"org.opencontainers.image.source": "https://git.example.com/green-burrito",
                           "org.opencontainers.image.revision": "v1"})
    d1 = oci.push(v1, "%s/%s:latest" % (r.host, repo))
    client = reg.client_for(r.host)
    body, media_type, _ = reg.get_manifest(client, repo, "latest")
    counter = iter(range(1, 10**6))

    def push(annotation=None):
        """PUT a new manifest (same blobs, own annotation) under :latest: a real push."""
        doc = json.loads(body)
        doc["annotations"] = {"org.imgwatch.test.push": annotation or str(next(counter))}
        b = json.dumps(doc, separators=(",", ":")).encode()
        return reg.put_manifest(client, repo, "latest", b, media_type)

    s = Serve(imgwatch_bin, str(tmp_path), port, r.host, db_url=db_url)
    s.write_pods(gb_pods(r.host, repo, [d1, d1]))
    s.start()
    try:
        yield s, r, repo, push, d1, v1
    finally:
        s.stop()


def test_serve__detects_pushes_resolves_and_keeps_history(serve_env, oci):
    s, r, repo, push, d1, v1 = serve_env
    ref = "%s/%s:latest" % (r.host, repo)

    # Running what the registry holds: green-burrito is not stale.
    assert "integrity-stale" not in findings_of(s.image(ref))

    # v1 was pushed before serve listened: the registry's notification sink
    # failed and backs off (1 s) before it delivers that backlog.  One push
    # first, so the measure below is imgwatch's, not the registry's backoff.
    warm = push()
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == warm, timeout=30, what="warm-up push")

    # 20 pushes under the running tag; each must show up as the new
    # registryDigest with integrity-stale, found from the webhook.
    latencies = []
    last = None
    for i in range(20):
        t0 = time.monotonic()
        last = push()

        def detected(want=last):
            img = s.image(ref)
            return img and img.get("registryDigest") == want and "integrity-stale" in findings_of(img)

        util.wait_for(detected, timeout=30, interval=0.005, what="push %d detected" % i)
        latencies.append(time.monotonic() - t0)
    print("\nlatencies in push order (ms): %s" % " ".join("%.0f" % (x * 1000) for x in latencies))
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    print("\ntime to detect over %d pushes: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (len(latencies), p50 * 1000, p99 * 1000, latencies[-1] * 1000))

    # The finding carries the fix, and the workload.
    stale = [f for f in s.image(ref)["findings"] if f["check"] == "integrity-stale"][0]
    assert "default/Deployment/green-burrito" in stale["workloads"]
    assert last in stale["remediation"] or "rollout restart" in stale["remediation"]

    # The webhook, not the periodic re-resolution (1h here), found them.
    assert s.metric("imgwatch_webhook_events_total",
                    'provider="distribution",result="accepted"') >= 20
    assert s.metric("imgwatch_time_to_detect_seconds_count") >= 1
    assert s.metric("imgwatch_event_to_assessment_seconds_count") >= 20

    # The pods restart on the new digest: resolved, with the cause and MTTR.
    s.write_pods(gb_pods(r.host, repo, [last, last]))
    util.wait_for(lambda: "integrity-stale" not in findings_of(s.image(ref)), timeout=30,
                  what="integrity-stale resolved")
    hist = s.json("/api/v1/history")
    resolved = [f for f in hist["findings"]
                if f["check"] == "integrity-stale" and f["reference"] == ref and f["resolvedAt"]]
    assert resolved, hist["findings"]
    assert "changed" in resolved[0]["resolution"]
    mttr = {m["check"]: m for m in hist["mttr"]}
    assert mttr["integrity-stale"]["resolved"] >= 1
    assert mttr["integrity-stale"]["meanSeconds"] > 0
    assert s.metric("imgwatch_mttr_seconds", 'check="integrity-stale"') > 0

    # The image page data: the tag -> digest timeline next to the runs.
    page = s.json("/api/v1/images/" + urllib.parse.quote(ref, safe=""))
    digests = [t["digest"] for t in page["history"]["tags"]]
    assert digests[0] == last and digests[-1] == d1 and len(digests) == 22
    runs = page["history"]["runs"]
    assert {(x["digest"], x["endedAt"] is None) for x in runs} == {(last, True), (d1, False)}

    # The tag goes back to v1: a rollback, flagged high.
    again = oci.push(v1, ref)
    assert again == d1
    util.wait_for(lambda: "tag-rollback" in findings_of(s.image(ref)), timeout=30, what="tag-rollback")
    rb = [f for f in s.image(ref)["findings"] if f["check"] == "tag-rollback"][0]
    assert rb["severity"] == "high" and d1 in rb["message"]
    assert s.image(ref)["severity"] == "high"


def test_serve__survives_kill_9_with_history_intact(serve_env):
    s, r, repo, push, d1, v1 = serve_env
    ref = "%s/%s:latest" % (r.host, repo)
    d2 = push()
    util.wait_for(lambda: "integrity-stale" in findings_of(s.image(ref)), timeout=30, what="stale")
    before = s.json("/api/v1/history")

    # Killed mid-activity: right after a push was acknowledged.
    d3 = push()
    s.kill9()
    s.start()
    after = s.json("/api/v1/history")
    tags_before = [t["digest"] for t in before["tags"] if t["repository"].endswith(repo)]
    tags_after = [t["digest"] for t in after["tags"] if t["repository"].endswith(repo)]
    assert tags_after[-len(tags_before):] == tags_before
    opened = [f for f in before["findings"] if f["reference"] == ref and f["check"] == "integrity-stale"]
    assert [f for f in after["findings"] if f["openedAt"] == opened[0]["openedAt"]]
    # What was pushed while it died is there after the restart.
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d3, timeout=30, what="d3 after restart")
    assert d2 in [t["digest"] for t in s.json("/api/v1/history")["tags"]]


def test_serve__sigterm_stops_gracefully(serve_env):
    s = serve_env[0]
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=20) == 0
    assert "stopping" in util.read_tail(s.log)


def test_serve__webhooks_need_the_secret_and_the_ui_is_read_only(serve_env):
    s = serve_env[0]
    body = json.dumps({"events": [{"id": "x", "action": "push", "target": {"repository": "a", "tag": "b"}}]})
    for headers in ({}, {"X-Imgwatch-Secret": "wrong"}):
        req = urllib.request.Request(s.base + "/webhooks/distribution", data=body.encode(), headers=headers)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 401
    req = urllib.request.Request(s.base + "/api/v1/assessment", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405
    assert SECRET not in util.read_tail(s.log, 1 << 20)


def test_serve__tls_token_and_json_logs(imgwatch_bin, registry, oci, unique_repo, tmp_path):
    ca = make_ca(str(tmp_path / "tls"))
    token_file = tmp_path / "token"
    token_file.write_text("ui-t0ken-%s\n" % unique_repo.split("-")[-1])
    token = token_file.read_text().strip()
    ref = "%s/%s:latest" % (registry.host, unique_repo)
    d1 = oci.push(oci.build(), ref)
    s = Serve(imgwatch_bin, str(tmp_path), util.free_port(), registry.host,
              extra=["--tls-cert", ca.cert_path, "--tls-key", ca.key_path, "--token-file", str(token_file),
                     "--log-format", "json"])
    s.base = "https://127.0.0.1:%d" % s.port
    s.ssl_context = ssl.create_default_context(cafile=ca.ca_path)
    s.token = token
    s.write_pods(gb_pods(registry.host, unique_repo, [d1]))
    s.start()
    try:
        assert s.image(ref) is None or "integrity-stale" not in findings_of(s.image(ref))
        # The token guards the API and the page; health stays open.
        for path in ("/api/v1/assessment", "/metrics", "/"):
            assert s.get(path, headers={"Authorization": "Bearer nope"})[0] == 401
        assert s.get("/healthz", headers={"Authorization": ""})[0] == 200
        assert s.get("/api/v1/history")[0] == 200
        # No plain HTTP on the TLS port.
        with pytest.raises(Exception):
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % s.port, timeout=5).read()
    finally:
        s.stop()
    log = util.read_tail(s.log, 1 << 20)
    lines = [l for l in log.splitlines() if l.startswith("{")]
    assert lines and all(json.loads(l)["level"] in ("error", "warn", "info", "debug") for l in lines)
    assert token not in log and SECRET not in log


def test_serve__rejects_bad_usage(run_imgwatch, tmp_path):
    r = run_imgwatch("serve", "--resync", "soon", check=2)
    assert "bad duration" in r.stderr
    r = run_imgwatch("serve", "--from-file", "x", "--context", "c", check=2)
    assert "mutually exclusive" in r.stderr
    r = run_imgwatch("serve", "--db", "mysql://localhost/x", "--from-file", str(tmp_path / "none"), check=2)
    assert "unknown database URL scheme" in r.stderr
    r = run_imgwatch("serve", "--db", "postgres://127.0.0.1:1/x?connect_timeout=2", "--from-file",
                     str(tmp_path / "none"), check=3)
    assert "connect to PostgreSQL" in r.stderr
    r = run_imgwatch("serve", "--listen", "example.com:80", "--from-file", str(tmp_path / "none"),
                     "--db", "sqlite:" + str(tmp_path / "h.db"), check=2)
    assert "listen address" in r.stderr


def test_serve__periodic_reresolution_catches_lost_events_with_head_only(imgwatch_bin, registry, oci,
                                                                         unique_repo, tmp_path):
    # This registry sends no notifications: only the re-resolution can see pushes.
    ref = "%s/%s:latest" % (registry.host, unique_repo)
    d1 = oci.push(oci.build(), ref)
    s = Serve(imgwatch_bin, str(tmp_path), util.free_port(), registry.host, extra=["--reresolve", "1s"])
    s.write_pods(gb_pods(registry.host, unique_repo, [d1]))
    s.start()
    try:
        cycles = s.metric("imgwatch_cycles_total", 'result="ok"')
        mark = os.path.getsize(registry.log_path)
        util.wait_for(lambda: s.metric("imgwatch_cycles_total", 'result="ok"') >= cycles + 2, timeout=30,
                      what="two periodic cycles")
        with open(registry.log_path) as f:
            f.seek(mark)
            lines = [l for l in f if unique_repo in l and '"' in l and "/manifests/" in l and " - - [" in l]
        methods = {l.split('"')[1].split()[0] for l in lines}
        assert methods == {"HEAD"}, lines[-5:]
        d2 = oci.push(oci.build(), ref)
        util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d2, timeout=30,
                      what="push seen without a webhook")
        assert "integrity-stale" in findings_of(s.image(ref))
    finally:
        s.stop()
