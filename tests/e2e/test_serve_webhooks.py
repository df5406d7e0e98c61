"""Webhooks in, alerts out, end to end with `imgwatch serve`.

In: Harbor and Artifactory payloads (as their documentation gives them)
naming a tag of the test registry make serve re-resolve that tag at once
(the periodic re-resolution is an hour away), never trusting the digest the
payload claims.  Out: a receiver on loopback gets FindingOpened when the
tag moves under running pods, then FindingResolved when they restart, in
the generic and the Slack-compatible formats.
"""

import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iwtest import util

from test_serve import SECRET, Serve, findings_of, gb_pods

BOGUS = "sha256:" + "0" * 64


def post(s, provider, doc, headers):
    req = urllib.request.Request(s.base + "/webhooks/" + provider, data=json.dumps(doc).encode(),
                                 headers=dict({"Content-Type": "application/json"}, **headers))
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read())


@pytest.fixture
def quiet_env(imgwatch_bin, registry, oci, unique_repo, tmp_path):
    """serve on the session registry, which sends no notifications."""
    ref = "%s/%s:latest" % (registry.host, unique_repo)
    d1 = oci.push(oci.build(), ref)
    s = Serve(imgwatch_bin, str(tmp_path), util.free_port(), registry.host)
    s.write_pods(gb_pods(registry.host, unique_repo, [d1, d1]))
    yield s, registry, unique_repo, ref, d1
    s.stop()


def test_serve_webhooks__harbor_and_artifactory_trigger_reresolution(quiet_env, oci):
    s, registry, repo, ref, d1 = quiet_env
    s.start()
    namespace, name = repo.split("/", 1)
    d2 = oci.push(oci.build(), ref)
    harbor = {"type": "PUSH_ARTIFACT", "occur_at": int(time.time()), "operator": "ci",
              "event_data": {"resources": [{"digest": BOGUS, "tag": "latest",
                                            "resource_url": "%s/%s:latest" % (registry.host, repo)}],
                             "repository": {"date_created": 1, "name": name, "namespace": namespace,
                                            "repo_full_name": repo, "repo_type": "private"}}}
    status, body = post(s, "harbor", harbor, {"Authorization": "Bearer " + SECRET})
    assert status == 202 and body["accepted"] == 1
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d2, timeout=30, what="harbor event")
    # The registry's answer, not the payload's claim.
    assert "integrity-stale" in findings_of(s.image(ref))
    assert s.image(ref)["registryDigest"] != BOGUS

    d3 = oci.push(oci.build(), ref)
    artifactory = {"domain": "docker", "event_type": "pushed", "subscription_key": "imgwatch",
                   "jpd_origin": "http://%s" % registry.host, "source": "jfrt@test",
                   "data": {"repo_key": namespace, "event_type": "pushed",
                            "path": "%s/latest/manifest.json" % name, "name": "manifest.json",
                            "sha256": "0" * 64, "size": 1, "image_name": name, "tag": "latest"}}
    status, body = post(s, "artifactory", artifactory, {"X-JFrog-Event-Auth": SECRET})
    assert status == 202 and body["accepted"] == 1
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d3, timeout=30, what="artifactory event")
    # The same delivery again is a duplicate.
    status, body = post(s, "artifactory", artifactory, {"X-JFrog-Event-Auth": SECRET})
    assert body == {"accepted": 0, "duplicates": 1, "ignored": 0}


class Receiver:
    """Collects alert POSTs on a loopback port."""

    def __init__(self):
        self.bodies = []
        recv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                recv.bodies.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_serve_webhooks__alerts_on_new_high_findings_and_their_resolution(quiet_env, oci):
    s, registry, repo, ref, d1 = quiet_env
    recv = Receiver()
    try:
        s.extra += ["--alert-url", recv.url + "/generic", "--alert-slack-url", recv.url + "/services/T0/B0/x"]
        s.start()
        # Nothing high at start: no alert (medium pull-policy and moving-tag are not alerted).
        time.sleep(0.5)
        assert recv.bodies == []
        d2 = oci.push(oci.build(), ref)
        post(s, "distribution", {"events": [{"id": "alert-1", "action": "push",
                                              "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                         "repository": repo, "tag": "latest", "digest": d2},
                                              "request": {"host": registry.host}}]},
             {"X-Imgwatch-Secret": SECRET})
        util.wait_for(lambda: len(recv.bodies) >= 2, timeout=30, what="opened alerts")
        generic = [b for p, b in recv.bodies if p == "/generic"]
        slack = [b for p, b in recv.bodies if p.startswith("/services/")]
        assert generic[0]["kind"] == "FindingOpened" and generic[0]["check"] == "integrity-stale"
        assert generic[0]["reference"] == ref and generic[0]["severity"] == "high"
        assert slack[0]["text"].startswith("[high] integrity-stale on " + ref)
        s.write_pods(gb_pods(registry.host, repo, [d2, d2]))
        util.wait_for(lambda: len(recv.bodies) >= 4, timeout=30, what="resolved alerts")
        resolved = [b for p, b in recv.bodies if p == "/generic" and b["kind"] == "FindingResolved"]
        assert resolved and resolved[0]["resolution"] and resolved[0]["resolvedAt"]
        # The receiver records a body before serve sees the response and counts it.
        util.wait_for(lambda: s.metric("imgwatch_alerts_total", 'result="sent"') == 4, timeout=30,
                      what="4 alerts counted as sent")
        assert s.metric("imgwatch_alerts_total", 'result="sent"') == 4
        # The Slack URL (a credential) never reaches the log.
        assert "/services/T0/B0/x" not in util.read_tail(s.log, 1 << 20)
    finally:
        s.stop()
        recv.stop()


def test_serve_webhooks__an_event_asks_the_registry_about_its_reference_only(quiet_env, oci, unique_repo):
    s, registry, repo, ref, d1 = quiet_env
    other = repo + "-other"
    do = oci.push(oci.build(), "%s/%s:latest" % (registry.host, other))
    s.write_pods(gb_pods(registry.host, repo, [d1, d1]) + gb_pods(registry.host, other, [do], name="other"))
    s.start()
    util.wait_for(lambda: s.metric("imgwatch_cycles_total", 'result="ok"') >= 1, timeout=30, what="first cycle")
    time.sleep(0.3)
    mark = os.path.getsize(registry.log_path)
    d2 = oci.push(oci.build(), ref)
    post(s, "distribution", {"events": [{"id": "only-" + repo, "action": "push",
                                          "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                     "repository": repo, "tag": "latest"},
                                          "request": {"host": registry.host}}]},
         {"X-Imgwatch-Secret": SECRET})
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d2, timeout=30, what="detected")
    # The second look a second later is partial too.
    util.wait_for(lambda: s.metric("imgwatch_cycles_total", 'result="partial"') >= 2, timeout=30,
                  what="second look")
    with open(registry.log_path) as f:
        f.seek(mark)
        asked = [l for l in f if " - - [" in l and "/v2/" in l]
    assert [l for l in asked if "/v2/%s/manifests" % repo in l]
    assert not [l for l in asked if "/v2/%s/" % other in l], asked
    # The other image is still in the assessment, untouched.
    assert s.assessment()["summary"]["images"] == 2
