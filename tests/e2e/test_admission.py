"""End-to-end tests of serve's admission webhooks (/admission/validate,
/admission/mutate) over HTTPS with a test CA, against a real docker-registry.

The bodies are AdmissionReview v1 documents shaped as the API server sends
them (Pod and Deployment CREATE).  The returned JSONPatch is applied to the
object with python3-jsonpatch (an independent RFC 6902 implementation) and
the images must then be tag@digest with the digest the registry holds.
"""

import base64
import copy
import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
import uuid

import jsonpatch
import pytest

from iwtest import registry as reg
from iwtest import util
from iwtest.tls import make_ca


class Serve:
    """`imgwatch serve` on a free port, HTTPS with the test CA unless tls=False."""

    def __init__(self, binary, workdir, config, tls=True, log_level="info"):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.port = util.free_port()
        self.log = os.path.join(workdir, "serve.log")
        pods = os.path.join(workdir, "pods.json")
        with open(pods, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": [], "metadata": {}}, f)
        cfg = os.path.join(workdir, "config.yaml")
        with open(cfg, "w") as f:
            f.write(config)
        self.argv = [binary, "--log-level", log_level, "serve", "--listen", "127.0.0.1:%d" % self.port,
                     "--db", "sqlite:" + os.path.join(workdir, "history.db"), "--from-file", pods,
                     "--config", cfg, "--reresolve", "1h"]
        self.ctx = None
        self.base = "http://127.0.0.1:%d" % self.port
        if tls:
            ca = make_ca(os.path.join(workdir, "tls"))
            self.argv += ["--tls-cert", ca.cert_path, "--tls-key", ca.key_path]
            self.ctx = ssl.create_default_context(cafile=ca.ca_path)
            self.base = "https://127.0.0.1:%d" % self.port
        self.proc = None

    def __enter__(self):
        docker_config = os.path.join(self.workdir, "docker")  # not the machine's credentials
        os.makedirs(docker_config, exist_ok=True)
        env = dict(os.environ, DOCKER_CONFIG=docker_config)
        self.proc = util.start_process(self.argv, self.log, env=env)
        util.wait_for(self.ready, timeout=60, what="serve /readyz")
        return self

    def __exit__(self, *exc):
        util.stop_process(self.proc)

    def ready(self):
        if self.proc.poll() is not None:
            raise util.GiveUp("serve exited %s:\n%s" % (self.proc.returncode, util.read_tail(self.log)))
        try:
            return self.request("GET", "/readyz")[0] == 200
        except OSError:
            return False

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ctx) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def review(self, endpoint, doc):
        """POST an AdmissionReview; returns (HTTP status, parsed body)."""
        status, text = self.request("POST", "/admission/" + endpoint, json.dumps(doc).encode())
        return status, json.loads(text)

    def metric(self, name, labels):
        want = "%s{%s} " % (name, labels)
        for line in self.request("GET", "/metrics")[1].splitlines():
            if line.startswith(want):
                return float(line.split()[-1])
        return 0.0


GVR = {
    "Pod": ("", "v1", "pods"),
    "Deployment": ("apps", "v1", "deployments"),
}


def admission_review(obj, operation="CREATE", dry_run=False, namespace="shop"):
    """An AdmissionReview v1 request as kube-apiserver sends it for obj."""
    group, version, resource = GVR[obj["kind"]]
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    gvr = {"group": group, "version": version, "resource": resource}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": obj["metadata"].get("name", ""),
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": obj,
            "oldObject": None,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions", "fieldManager": "kubectl-client-side-apply"},
        },
    }


def pod_spec(containers, init=()):
    spec = {
        "containers": [{"name": n, "image": i, "imagePullPolicy": "IfNotPresent", "resources": {},
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
                       for n, i in containers],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30,
    }
    if init:
        spec["initContainers"] = [{"name": n, "image": i} for n, i in init]
    return spec


def pod(containers, init=(), name="web"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
            "spec": pod_spec(containers, init)}


def deployment(containers, name="web"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(containers)}}}


def images_of(spec):
    return [c["image"] for k in ("initContainers", "containers") for c in spec.get(k, [])]


def apply_patch(obj, response):
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    assert all(op["op"] == "replace" for op in ops), ops
    return jsonpatch.apply_patch(copy.deepcopy(obj), ops)


@pytest.fixture
def setup(imgwatch_bin, registry, oci, unique_repo, tmp_path):
    """A repository with :1 and :latest (different images), a port nothing
    listens on (a registry that is down), and the config trusting both."""
    d1 = oci.push(oci.build(), "%s/%s:1" % (registry.host, unique_repo))
    dl = oci.push(oci.build(), "%s/%s:latest" % (registry.host, unique_repo))
    dead = "127.0.0.1:%d" % util.free_port()
    config = ('trustedRegistries: ["%s", "%s"]\nregistries:\n  "%s": {insecure: true}\n  "%s": {insecure: true}\n'
              % (registry.host, dead, registry.host, dead))
    return {"bin": imgwatch_bin, "repo": "%s/%s" % (registry.host, unique_repo), "d1": d1, "dl": dl,
            "dead": dead, "config": config, "tmp": tmp_path, "registry": registry, "name": unique_repo}


def test_admission__mutate_pins_pod_and_deployment_to_registry_digests(setup):
    s = setup
    # The digests the registry itself holds for the tags.
    assert reg.manifest_digest(s["registry"].url, s["name"], "1") == s["d1"]
    assert reg.manifest_digest(s["registry"].url, s["name"], "latest") == s["dl"]
    assert s["d1"] != s["dl"]
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"]) as srv:
        p = pod([("app", s["repo"] + ":1"), ("sidecar", s["repo"] + "@" + s["dl"])], init=[("init", s["repo"])])
        review = admission_review(p)
        status, out = srv.review("mutate", review)
        assert status == 200, out
        assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview"
        resp = out["response"]
        assert resp["uid"] == review["request"]["uid"]
        assert resp["allowed"] is True
        patched = apply_patch(p, resp)
        assert images_of(patched["spec"]) == [
            s["repo"] + ":latest@" + s["dl"],  # implicit latest, pinned
            s["repo"] + ":1@" + s["d1"],
            s["repo"] + "@" + s["dl"],  # already pinned: untouched
        ]
        # Only the images changed.
        for c in patched["spec"]["containers"]:
            c["image"] = None
        for c in patched["spec"]["initContainers"]:
            c["image"] = None
        for c in p["spec"]["containers"] + p["spec"]["initContainers"]:
            c["image"] = None
        assert patched == p

        d = deployment([("app", s["repo"] + ":1")])
        status, out = srv.review("mutate", admission_review(d))
        assert status == 200 and out["response"]["allowed"] is True
        patched = apply_patch(d, out["response"])
        assert images_of(patched["spec"]["template"]["spec"]) == [s["repo"] + ":1@" + s["d1"]]

        # The pinned object passes validation (the order the API server uses).
        status, out = srv.review("validate", admission_review(patched))
        assert status == 200 and out["response"] == {"uid": out["response"]["uid"], "allowed": True}
        assert srv.metric("imgwatch_admission_requests_total", 'endpoint="mutate",result="patched"') == 2
        assert srv.metric("imgwatch_admission_requests_total", 'endpoint="validate",result="allowed"') == 1


def test_admission__denies_untrusted_registries_moving_tags_and_image_ids(setup):
    s = setup
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"]) as srv:
        d = deployment([("app", "evil.example.com/shop/web:1"), ("web", s["repo"] + ":latest"),
                        ("ok", s["repo"] + ":1"), ("id", "sha256:" + "ab" * 32)])
        review = admission_review(d)
        status, out = srv.review("validate", review)
        assert status == 200, out
        assert out["response"] == {
            "uid": review["request"]["uid"],
            "allowed": False,
            "status": {
                "code": 403,
                "reason": "Forbidden",
                "message": "\n".join([
                    'container "app" image "evil.example.com/shop/web:1": registry not trusted '
                    "(denyUntrusted; trustedRegistries: %s, %s)" % (s["registry"].host, s["dead"]),
                    'container "web" image "%s:latest": moving tag "latest" without a digest (denyMovingTags)'
                    % s["repo"],
                    'container "id" image "sha256:%s": a bare image ID names no registry or repository; use '
                    "repository@digest (image-id-reference)" % ("ab" * 32),
                ]),
            },
        }
        # Mutate denies the untrusted image too, and pins nothing then.
        p = pod([("app", "evil.example.com/shop/web:1"), ("web", s["repo"] + ":1")])
        status, out = srv.review("mutate", admission_review(p))
        assert status == 200 and out["response"]["allowed"] is False
        assert "patch" not in out["response"]
        assert out["response"]["status"]["message"].startswith(
            'container "app" image "evil.example.com/shop/web:1": registry not trusted')
        # A tag the registry does not have.
        status, out = srv.review("mutate", admission_review(pod([("app", s["repo"] + ":nope")])))
        assert out["response"]["allowed"] is False
        assert out["response"]["status"]["message"] == (
            'container "app" image "%s:nope": tag "nope" not found in %s (tag-missing)' % (s["repo"], s["repo"]))
        assert srv.metric("imgwatch_admission_requests_total", 'endpoint="validate",result="denied"') == 1
    assert "evil.example.com/shop/web:1" in util.read_tail(srv.log, 1 << 20)  # denials are logged


def test_admission__registry_down_denies_by_default_and_says_why(setup):
    s = setup
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"]) as srv:
        image = s["dead"] + "/shop/web:1"
        status, out = srv.review("mutate", admission_review(pod([("app", image)])))
        assert status == 200, out
        resp = out["response"]
        assert resp["allowed"] is False and resp["status"]["code"] == 403
        msg = resp["status"]["message"]
        assert msg.startswith('container "app" image "%s": the registry could not be asked: ' % image), msg
        assert msg.endswith("(onRegistryError: deny)") and "\n" not in msg


def test_admission__registry_down_allowed_when_configured(setup):
    s = setup
    config = s["config"] + "admission: {onRegistryError: allow}\n"
    with Serve(s["bin"], str(s["tmp"] / "a"), config) as srv:
        image = s["dead"] + "/shop/web:1"
        p = pod([("app", image), ("ok", s["repo"] + ":1")])
        status, out = srv.review("mutate", admission_review(p))
        assert status == 200, out
        resp = out["response"]
        assert resp["allowed"] is True
        assert len(resp["warnings"]) == 1
        assert resp["warnings"][0].startswith(
            'container "app" image "%s": admitted unpinned: the registry could not be asked: ' % image)
        assert resp["warnings"][0].endswith("(onRegistryError: allow)")
        # The reachable registry's image is still pinned; the other is left.
        assert images_of(apply_patch(p, resp)["spec"]) == [image, s["repo"] + ":1@" + s["d1"]]


def test_admission__dry_run_answers_alike_and_writes_nothing(setup):
    s = setup
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"]) as srv:
        before = srv.request("GET", "/api/v1/history")
        assert before[0] == 200
        p = pod([("app", s["repo"] + ":1"), ("bad", "evil.example.com/x:1")])
        answers = []
        for dry in (True, False):
            for endpoint in ("validate", "mutate"):
                review = admission_review(p if endpoint == "validate" else pod([("app", s["repo"] + ":1")]),
                                          dry_run=dry)
                status, out = srv.review(endpoint, review)
                assert status == 200 and out["response"]["uid"] == review["request"]["uid"]
                del out["response"]["uid"]
                answers.append(out)
        assert answers[0] == answers[2] and answers[1] == answers[3]
        assert answers[0]["response"]["allowed"] is False and answers[1]["response"]["allowed"] is True
        assert srv.request("GET", "/api/v1/history") == before


def test_admission__malformed_bodies_are_400_with_the_field(setup):
    s = setup
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"]) as srv:
        good = admission_review(pod([("app", s["repo"] + ":1")]))
        cases = []
        v1beta1 = copy.deepcopy(good)
        v1beta1["apiVersion"] = "admission.k8s.io/v1beta1"
        cases.append((json.dumps(v1beta1), 'apiVersion: expected "admission.k8s.io/v1", got '
                      '"admission.k8s.io/v1beta1" (list only v1 in admissionReviewVersions)'))
        no_uid = copy.deepcopy(good)
        del no_uid["request"]["uid"]
        cases.append((json.dumps(no_uid), "request.uid: missing"))
        bad_containers = copy.deepcopy(good)
        bad_containers["request"]["object"]["spec"]["containers"] = {"app": "x"}
        cases.append((json.dumps(bad_containers), "request.object.spec.containers: expected a list"))
        cases.append(('{"apiVersion": "admission.k8s.io/v1", "apiVersion": "x"}',
                      "body is not JSON: duplicate object key near '\"apiVersion\"' (line 1, column 50)"))
        cases.append(("not json", "body is not JSON: '[' or '{' expected near 'not' (line 1, column 3)"))
        for body, msg in cases:
            status, text = srv.request("POST", "/admission/validate", body.encode())
            assert (status, json.loads(text)) == (400, {"error": msg})
        # Over 3 MiB, streamed without a length: 413 once the cap is hit.
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=30)
        chunks = (b" " * 65536 for _ in range(3 * 16 + 1))
        conn.request("POST", "/admission/mutate", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 413 and "3 MiB" in json.loads(r.read())["error"]
        conn.close()
        # A Content-Length over 3 MiB: 413 before any of the body is read.
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as raw:
            with srv.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"POST /admission/mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 4000000\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    data = tls.recv(4096)
                    assert data, head
                    head += data
                assert head.startswith(b"HTTP/1.1 413 "), head
        assert srv.request("GET", "/admission/validate")[0] == 405
        assert srv.request("POST", "/admission/other", json.dumps(good).encode())[0] == 404
        assert srv.metric("imgwatch_admission_requests_total", 'endpoint="validate",result="malformed"') == 5
        assert srv.metric("imgwatch_admission_requests_total", 'endpoint="mutate",result="too_big"') == 2


def test_admission__off_without_tls(setup):
    s = setup
    with Serve(s["bin"], str(s["tmp"] / "a"), s["config"], tls=False) as srv:
        status, text = srv.request("POST", "/admission/validate",
                                   json.dumps(admission_review(pod([("app", s["repo"] + ":1")]))).encode())
        assert status == 404
        assert "needs serve --tls-cert and --tls-key" in json.loads(text)["error"]


def test_admission__token_registry_credentials_never_logged(imgwatch_bin, registry_factory, oci, unique_repo,
                                                            tmp_path):
    r = registry_factory("token")
    ref = "%s/%s:2" % (r.host, unique_repo)
    digest = oci.push(oci.build(), ref, creds=r.creds)
    pw = tmp_path / "pw"
    pw.write_text(r.password)
    config = ('trustedRegistries: ["%s"]\nregistries:\n  "%s": {insecure: true, username: %s, passwordFile: %s}\n'
              % (r.host, r.host, r.username, pw))
    r.issuer.clear()
    with Serve(imgwatch_bin, str(tmp_path / "a"), config, log_level="debug") as srv:
        p = pod([("app", ref)])
        status, out = srv.review("mutate", admission_review(p))
        assert status == 200 and out["response"]["allowed"] is True, out
        assert images_of(apply_patch(p, out["response"])["spec"]) == [ref + "@" + digest]
    tokens = [q for q in r.issuer.requests if q["path"].endswith("/token")]
    assert tokens and all(q["user"] == r.username for q in tokens)
    log = util.read_tail(srv.log, 1 << 22)
    assert ('admission mutate: container "app": %s -> %s@%s' % (ref, ref, digest)) in log
    assert r.password not in log
    assert "eyJ" not in log  # no bearer token (a JWT) either
