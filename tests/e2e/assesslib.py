"""Helpers for the assessment's end-to-end tests and for `make demo`.

A "cluster" here is a list of real-shaped Kubernetes objects (pods and the
ReplicaSets that own them) written as `kubectl get pods,replicasets -A -o
json` would print it, so `imgwatch assess --from-file` reads exactly what it
would read from a cluster.  Workload manifests (a Deployment's YAML) are
written too, so remediation commands can be run with `kubectl --local`.
"""

import hashlib
import json
import os
import shlex
import subprocess

from iwtest import kubeobjs as k


def _hash(name):
    return hashlib.sha256(name.encode()).hexdigest()[:10]


class Cluster:
    """Workloads and the pods that run them, as a pods file."""

    def __init__(self):
        self.items = []
        self.manifests = {}

    def deployment(self, ns, name, image, image_ids, policy=None, container="app", nodes=None,
                   kind="Deployment"):
        """A workload whose pods run image_ids[i] (one pod each) for spec image `image`.

        kind: Deployment (pods owned by a ReplicaSet), StatefulSet or DaemonSet
        (owned directly).  image_ids entries are runtime imageIDs exactly as
        the kubelet reports them; "" means the container is being created.
        """
        h = _hash(ns + name)
        if kind == "Deployment":
            rs = "%s-%s" % (name, h)
            self.items.append(k.replicaset(ns, rs, name, h, image))
            owners = [k.owner("ReplicaSet", rs)]
        else:
            rs = name
            owners = [k.owner(kind, name)]
        for i, image_id in enumerate(image_ids):
            node = (nodes or ["node-%d" % (i + 1) for i in range(len(image_ids))])[i]
            state = "running" if image_id else "waiting"
            self.items.append(k.pod(ns, "%s-%s" % (rs, _hash("%s%d" % (rs, i))[:5]), owners,
                                    [k.container(container, image, policy)],
                                    [k.status(container, image, image_id, state)],
                                    node, labels={"app": name, "pod-template-hash": h},
                                    phase="Running" if image_id else "Pending"))
        spec = {"containers": [{"name": container, "image": image}]}
        if policy:
            spec["containers"][0]["imagePullPolicy"] = policy
        api = "apps/v1"
        obj = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns},
               "spec": {"selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
        if kind != "DaemonSet":
            obj["spec"]["replicas"] = len(image_ids)
        self.manifests[(ns, kind, name)] = obj
        return self

    def set_running(self, ns, name, image=None, image_id=None):
        """Apply a rollout to the recorded pods: new spec image and/or running ID."""
        for it in self.items:
            md = it.get("metadata", {})
            if md.get("namespace") != ns or not md.get("name", "").startswith(name + "-"):
                continue
            if it.get("kind") == "ReplicaSet":
                if image:
                    it["spec"]["template"]["spec"]["containers"][0]["image"] = image
                continue
            for c, s in zip(it["spec"]["containers"], it["status"]["containerStatuses"]):
                if image:
                    c["image"] = image
                    s["image"] = image
                if image_id:
                    s["imageID"] = image_id
        for (mns, _, mname), obj in self.manifests.items():
            if mns == ns and mname == name and image:
                obj["spec"]["template"]["spec"]["containers"][0]["image"] = image

    def write(self, path):
        with open(path, "w") as f:
            f.write(k.kubectl_list(self.items))
        return path

    def write_manifest(self, path, ns, kind, name):
        with open(path, "w") as f:
            json.dump(self.manifests[(ns, kind, name)], f, indent=2)
        return path


def write_config(path, registry_host, trusted=None, extra=""):
    """A policy config: the test registry is insecure (plain HTTP); trusted
    registries as given (None: no trustedRegistries key at all)."""
    lines = []
    if trusted is not None:
        lines.append("trustedRegistries: [%s]" % ", ".join(json.dumps(t) for t in trusted))
    lines.append("registries:")
    lines.append("  %s: {insecure: true}" % json.dumps(registry_host))
    if extra:
        lines.append(extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def findings(doc):
    """{reference: sorted [(check, severity)]} from an imgwatch/v1 document."""
    out = {}
    for img in doc["images"]:
        out[img["reference"]] = sorted((f["check"], f["severity"]) for f in img["findings"])
    return out


def kubectl_commands(text):
    """The kubectl command lines in a remediation text."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("kubectl ")]


def run_local(cmd, manifest):
    """Run a suggested kubectl command against a manifest file, without a
    cluster, and return the resulting object.

    `kubectl -n NS set image KIND/NAME C=IMG` becomes
    `kubectl set image --local -f MANIFEST C=IMG -o json`;
    `kubectl -n NS patch KIND NAME -p P` becomes
    `kubectl patch --local -f MANIFEST -p P -o json`.
    """
    argv = shlex.split(cmd)
    assert argv[0] == "kubectl", cmd
    args = argv[1:]
    if args[0] == "-n":
        args = args[2:]
    if args[:2] == ["set", "image"]:
        local = ["kubectl", "set", "image", "--local", "-f", manifest] + args[3:] + ["-o", "json"]
    elif args[0] == "patch":
        local = ["kubectl", "patch", "--local", "-f", manifest] + args[3:] + ["-o", "json"]
    else:
        raise AssertionError("no local form for %s" % cmd)
    r = subprocess.run(local, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, KUBECONFIG=os.devnull))
    assert r.returncode == 0, "%s failed: %s" % (" ".join(local), r.stderr)
    return json.loads(r.stdout)


class WorkloadAPI:
    """A minimal Kubernetes API over plain HTTP on 127.0.0.1 for commands that
    have no --local form (`kubectl rollout restart`): discovery for apps/v1,
    GET of the workloads it holds, and PATCH, which it records (and answers
    with the object unchanged).  Use as a context manager; .patches lists
    (path, content type, decoded body)."""

    RESOURCES = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}

    def __init__(self, objects):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.objects = {}
        for obj in objects:
            md = obj["metadata"]
            self.objects["/apis/apps/v1/namespaces/%s/%s/%s" % (
                md["namespace"], self.RESOURCES[obj["kind"]], md["name"])] = obj
        self.patches = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/version":
                    return self._send(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0"})
                if path == "/api":
                    return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
                if path == "/apis":
                    gv = {"groupVersion": "apps/v1", "version": "v1"}
                    return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                        {"name": "apps", "versions": [gv], "preferredVersion": gv}]})
                if path == "/api/v1":
                    return self._send(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": []})
                if path == "/apis/apps/v1":
                    return self._send(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                                            "resources": [{"name": r, "singularName": k.lower(), "namespaced": True,
                                                           "kind": k, "verbs": ["get", "list", "patch"]}
                                                          for k, r in WorkloadAPI.RESOURCES.items()]})
                if path in api.objects:
                    return self._send(200, api.objects[path])
                self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "NotFound", "code": 404, "message": "%s not found" % path})

            def do_PATCH(self):
                path = self.path.split("?")[0]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.patches.append((path, self.headers.get("Content-Type"), json.loads(body)))
                if path not in api.objects:
                    return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                            "reason": "NotFound", "code": 404, "message": "not found"})
                self._send(200, api.objects[path])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def run(self, cmd, home):
        """Run a suggested kubectl command exactly as printed, against this server."""
        argv = shlex.split(cmd)
        assert argv[0] == "kubectl", cmd
        argv = ["kubectl", "--server", "http://127.0.0.1:%d" % self.server.server_address[1]] + argv[1:]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, KUBECONFIG=os.devnull, HOME=home))
        assert r.returncode == 0, "%s failed: %s" % (" ".join(argv), r.stderr)
        return r.stdout
