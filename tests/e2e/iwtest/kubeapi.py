"""A Kubernetes API test server: the one test double imgwatch's tests use.

No API server is packaged here, so this serves recorded real-shaped
objects (see kubeobjs.py) the way kube-apiserver does, closely enough that
the installed ``kubectl get pods -A`` and ``kubectl get pods -A -o json``
work against it (the tests check that, which keeps it honest):

- discovery: /version, /api, /api/v1, /apis, /apis/<group>/<version>;
- list and get of pods, replicasets, jobs and secrets, namespaced and
  cluster-wide, with labelSelector, ``limit``/``continue`` pagination and
  Table output for kubectl's human printer;
- HTTPS only, with Bearer-token, client-certificate (verified against the
  test CA) and basic auth; 401 and 403 answered with Status bodies as the
  real server words them;
- fault injection: ``expire_continue`` answers the next N continue
  requests with 410 Expired; ``forbidden`` holds (verb, resource) pairs
  refused with 403; ``cut_lists`` drops the connection in the middle of the
  next N pod list bodies.

- watch (``?watch=1``): chunked JSON lines, as the real server streams
  them: ADDED for what exists when no resourceVersion is given, then every
  change made with ``add``/``modify``/``delete``; ``BOOKMARK`` events with
  ``bookmark()`` when the client allows them; a resourceVersion older than
  ``compact()`` left gets an ERROR event with a 410 Expired Status, and
  ``expire_watches()`` sends one to every open watch; ``drop_watches()``
  closes the streams; ``timeoutSeconds`` ends a watch.

Usage::

    pki = make_pki(tmpdir)
    with KubeAPI(pki, objects={"pods": pods, "replicasets": rss}) as api:
        kubeconfig = api.kubeconfig(tmpdir / "config", auth="token")
"""

import base64
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RESOURCES = {
    # resource: (group, version, kind, namespaced, verbs)
    "pods": ("", "v1", "Pod", True),
    "secrets": ("", "v1", "Secret", True),
    "namespaces": ("", "v1", "Namespace", False),
    "replicasets": ("apps", "v1", "ReplicaSet", True),
    "jobs": ("batch", "v1", "Job", True),
}


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory):
    """A CA, a server certificate for 127.0.0.1/localhost/kube.test and a
    client certificate (CN=admin, O=system:masters), made with openssl."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=imgwatch-test-ca", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kube.test\n"
                                  "extendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subj in (("server", "/CN=kube-apiserver"), ("client", "/O=system:masters/CN=admin")):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _match_selector(labels, selector):
    labels = labels or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class KubeAPI:
    """The server.  ``objects`` maps a resource name to a sequence of
    objects (anything with len() and indexing, so benchmarks can make pods
    on demand)."""

    def __init__(self, pki, objects=None, tokens=("test-token",), basic=None):
        self.pki = Path(pki)
        self.objects = {k: [] for k in RESOURCES}
        self.objects.update(objects or {})
        self.tokens = set(tokens)
        self.basic = basic  # ("user", "password") or None
        self.forbidden = set()  # {("list", "pods"), ...}
        self.expire_continue = 0
        self.cut_lists = 0  # cut the next N list bodies after their first item, then drop the connection
        self.resource_version = "48213"
        self.events = []  # (rv:int, resource, type, object)
        self.compacted = 0  # watches from an older resourceVersion get 410
        self.changed = threading.Condition(threading.Lock())
        self.watch_epoch = 0  # bumped by drop_watches()
        self.expire_epoch = 0  # bumped by expire_watches()
        self.open_watches = 0  # watches past their initial events, waiting for changes
        self.requests = []  # (method, path, user) of every request
        self.after_auth = None  # called with the path of every authenticated request
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        api = self

        class Handler(_Handler):
            pass

        Handler.api = api
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki / "server.crt", self.pki / "server.key")
        ctx.load_verify_locations(self.pki / "ca.crt")
        ctx.verify_mode = ssl.CERT_OPTIONAL
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                             do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- changes, for watch ----------------------------------------------
    def _event(self, resource, type_, obj):
        with self.changed:
            rv = int(self.resource_version) + 1
            self.resource_version = str(rv)
            if type_ != "BOOKMARK":
                obj["metadata"]["resourceVersion"] = str(rv)
            self.events.append((rv, resource, type_, obj))
            self.changed.notify_all()
        return rv

    def add(self, resource, obj):
        self.objects[resource].append(obj)
        return self._event(resource, "ADDED", obj)

    def modify(self, resource, obj):
        md = obj["metadata"]
        objs = self.objects[resource]
        for i, o in enumerate(objs):
            if o["metadata"].get("namespace") == md.get("namespace") and o["metadata"]["name"] == md["name"]:
                objs[i] = obj
                return self._event(resource, "MODIFIED", obj)
        raise KeyError(md["name"])

    def delete(self, resource, namespace, name):
        objs = self.objects[resource]
        for i, o in enumerate(objs):
            if o["metadata"].get("namespace") == namespace and o["metadata"]["name"] == name:
                del objs[i]
                return self._event(resource, "DELETED", o)
        raise KeyError(name)

    def bookmark(self, resource="pods"):
        return self._event(resource, "BOOKMARK", {"metadata": {}})

    def compact(self):
        """Forget history: watches from an older resourceVersion get 410."""
        with self.changed:
            self.compacted = int(self.resource_version)
            self.events = []

    def expire_watches(self):
        """Send a 410 Expired ERROR event to every open watch."""
        with self.changed:
            self.expire_epoch += 1
            self.changed.notify_all()

    def wait_for_watches(self, n=1, timeout=20):
        """Wait until n watches are open and waiting for changes."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.open_watches < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.open_watches} watches open, want {n}")
                self.changed.wait(min(left, 0.1))

    def drop_watches(self):
        """Close every open watch stream, as a restarting API server does."""
        with self.changed:
            self.watch_epoch += 1
            self.changed.notify_all()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    # -- kubeconfigs -------------------------------------------------------
    def kubeconfig(self, path, auth="token", token="test-token", namespace=None, server=None,
                   extra_user=None, extra_cluster=None, context="test"):
        """Write a kubeconfig for this server; auth is token, cert,
        cert-data, basic, exec (extra_user supplies the exec block) or none."""
        ca = (self.pki / "ca.crt").read_bytes()
        cluster = {"server": server or self.url,
                   "certificate-authority-data": base64.b64encode(ca).decode()}
        cluster.update(extra_cluster or {})
        user = {}
        if auth == "token":
            user["token"] = token
        elif auth == "cert":
            user["client-certificate"] = str(self.pki / "client.crt")
            user["client-key"] = str(self.pki / "client.key")
        elif auth == "cert-data":
            user["client-certificate-data"] = base64.b64encode((self.pki / "client.crt").read_bytes()).decode()
            user["client-key-data"] = base64.b64encode((self.pki / "client.key").read_bytes()).decode()
        elif auth == "basic":
            user["username"], user["password"] = self.basic
        user.update(extra_user or {})
        ctx = {"cluster": "test-cluster", "user": "test-user"}
        if namespace:
            ctx["namespace"] = namespace
        doc = {"apiVersion": "v1", "kind": "Config", "current-context": context,
               "clusters": [{"name": "test-cluster", "cluster": cluster}],
               "contexts": [{"name": context, "context": ctx}],
               "users": [{"name": "test-user", "user": user}], "preferences": {}}
        Path(path).write_text(json.dumps(doc, indent=2))
        return Path(path)


class _Handler(BaseHTTPRequestHandler):
    api = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- helpers -----------------------------------------------------------
    def _send(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", "0f3c1c1e-7f4c-4d8e-9d0a-2c6a3c9d1f00")
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send(code, status_body(code, reason, message))

    def _user(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return ("token", auth[7:].strip()) if auth[7:].strip() in self.api.tokens else None
        if auth.startswith("Basic ") and self.api.basic:
            try:
                u, p = base64.b64decode(auth[6:]).decode().split(":", 1)
            except ValueError:
                return None
            return ("basic", u) if (u, p) == tuple(self.api.basic) else None
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return ("cert", v)
        return None

    # -- routing -----------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        user = self._user()
        with self.api.lock:
            self.api.requests.append(("GET", self.path, user[1] if user else None))
        if user is None:
            return self._status(401, "Unauthorized", "Unauthorized")
        if self.api.after_auth:
            self.api.after_auth(url.path)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["version"]:
            return self._send(200, {"major": "1", "minor": "28", "gitVersion": "v1.28.4",
                                    "gitCommit": "bae2c62678db2b5053817bc97181fcc2e8388103",
                                    "gitTreeState": "clean", "buildDate": "2023-11-15T16:48:54Z",
                                    "goVersion": "go1.20.11", "compiler": "gc", "platform": "linux/amd64"})
        if parts == ["api"]:
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.api.port}"}]})
        if parts == ["apis"]:
            groups = []
            for g in ("apps", "batch"):
                gv = {"groupVersion": f"{g}/v1", "version": "v1"}
                groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts == ["api", "v1"]:
            return self._send(200, self._resource_list("", "v1"))
        if len(parts) == 3 and parts[0] == "apis" and parts[2] == "v1" and parts[1] in ("apps", "batch"):
            return self._send(200, self._resource_list(parts[1], "v1"))
        # /api/v1/[namespaces/NS/]RESOURCE[/NAME], /apis/G/v1/...
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        group = "" if parts[:1] == ["api"] else (parts[1] if len(parts) > 1 else None)
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][0] != group:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        resource = rest[0]
        if len(rest) == 1:
            if q.get("watch") in ("1", "true"):
                return self._watch(resource, ns, q, user)
            return self._list(resource, ns, q, user)
        if len(rest) == 2 and ns:
            return self._get(resource, ns, rest[1], user)
        return self._status(404, "NotFound", "the server could not find the requested resource")

    def _resource_list(self, group, version):
        res = []
        for name, (g, v, kind, namespaced) in RESOURCES.items():
            if g == group and v == version:
                res.append({"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                            "kind": kind, "verbs": ["get", "list", "watch"],
                            "shortNames": {"pods": ["po"], "replicasets": ["rs"], "namespaces": ["ns"]}.get(name, []),
                            "categories": ["all"] if name in ("pods", "replicasets", "jobs") else []})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": res}

    def _forbidden(self, verb, resource, ns, user):
        if (verb, resource) not in self.api.forbidden:
            return False
        group = RESOURCES[resource][0]
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        self._status(403, "Forbidden", f'{resource} is forbidden: User "{user[1]}" cannot {verb} resource '
                                       f'"{resource}" in API group "{group}" {scope}')
        return True

    def _get(self, resource, ns, name, user):
        if self._forbidden("get", resource, ns, user):
            return None
        for o in self.api.objects[resource]:
            if o["metadata"].get("namespace") == ns and o["metadata"]["name"] == name:
                g, v, kind, _ = RESOURCES[resource]
                return self._send(200, {"kind": kind, "apiVersion": f"{g}/{v}" if g else v,
                                        **{k: val for k, val in o.items() if k not in ("kind", "apiVersion")}})
        return self._status(404, "NotFound", f'{resource} "{name}" not found')

    def _list(self, resource, ns, q, user):
        if self._forbidden("list", resource, ns, user):
            return None
        g, v, kind, _ = RESOURCES[resource]
        start = 0
        if q.get("continue"):
            with self.api.lock:
                expire = self.api.expire_continue > 0
                if expire:
                    self.api.expire_continue -= 1
            if expire:
                return self._status(410, "Expired", "The provided continue parameter is too old to display a "
                                    "consistent list result. You can start a new list without the continue "
                                    "parameter.")
            try:
                start = json.loads(base64.b64decode(q["continue"]))["start"]
            except (ValueError, KeyError):
                return self._status(400, "BadRequest", "continue key is not valid")
        limit = int(q.get("limit") or 0)
        selector = q.get("labelSelector", "")
        objs = self.api.objects[resource]
        page, i, n = [], start, len(objs)
        while i < n and (limit == 0 or len(page) < limit):
            o = objs[i]
            i += 1
            md = o["metadata"]
            if ns and md.get("namespace") != ns:
                continue
            if selector and not _match_selector(md.get("labels"), selector):
                continue
            page.append(o)
        meta = {"resourceVersion": str(self.api.resource_version)}
        if i < n and limit:
            meta["continue"] = base64.b64encode(json.dumps({"start": i, "rv": 48213}).encode()).decode()
            meta["remainingItemCount"] = n - i
        items = [{k: val for k, val in o.items() if k not in ("kind", "apiVersion")} for o in page]
        if "as=Table" in self.headers.get("Accept", "") and resource == "pods":
            return self._send(200, self._table(page, meta))
        # Streamed in chunks, like the real server, so big pages do not
        # need one big buffer on either side.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = json.dumps({"kind": f"{kind}List", "apiVersion": f"{g}/{v}" if g else v, "metadata": meta})
        self._chunk(head[:-1].encode() + b',"items":[')
        with self.api.lock:
            cut = self.api.cut_lists > 0 and resource == "pods"
            if cut:
                self.api.cut_lists -= 1
        if cut:
            # A connection dropped mid-body: no terminating chunk.
            self._chunk(json.dumps(items[0], separators=(",", ":")).encode() if items else b"")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        for j, it in enumerate(items):
            self._chunk((b"," if j else b"") + json.dumps(it, separators=(",", ":")).encode())
        self._chunk(b"]}")
        self._chunk(b"")
        return None

    def _chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _table(self, pods, meta):
        rows = []
        for p in pods:
            st = p.get("status", {})
            cs = st.get("containerStatuses", [])
            ready = sum(1 for c in cs if c.get("ready"))
            rows.append({"cells": [p["metadata"]["name"], f"{ready}/{len(p['spec']['containers'])}",
                                   st.get("phase", "Unknown"), sum(c.get("restartCount", 0) for c in cs), "3d"],
                         "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                    "metadata": p["metadata"]}})
        cols = [{"name": n, "type": t, "format": f, "description": n, "priority": 0}
                for n, t, f in (("Name", "string", "name"), ("Ready", "string", ""), ("Status", "string", ""),
                                ("Restarts", "integer", ""), ("Age", "string", ""))]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "columnDefinitions": cols, "rows": rows}

    def _watch(self, resource, ns, q, user):
        if self._forbidden("watch", resource, ns, user):
            return None
        api = self.api
        g, v, kind, _ = RESOURCES[resource]
        api_version = f"{g}/{v}" if g else v
        selector = q.get("labelSelector", "")
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(q.get("timeoutSeconds") or 300)
        rv = q.get("resourceVersion", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(type_, obj):
            body = {k: val for k, val in obj.items()}
            body.setdefault("kind", kind if type_ != "ERROR" else "Status")
            body.setdefault("apiVersion", api_version if type_ != "ERROR" else "v1")
            self._chunk(json.dumps({"type": type_, "object": body}, separators=(",", ":")).encode() + b"\n")

        def wanted(obj):
            md = obj["metadata"]
            return (not ns or md.get("namespace") == ns) and \
                (not selector or _match_selector(md.get("labels"), selector))

        expired = status_body(410, "Expired", f"too old resource version: {rv} ({api.compacted})")
        counted = False
        try:
            with api.changed:
                epoch, expire_epoch = api.watch_epoch, api.expire_epoch
                if rv in ("", "0"):
                    start = int(api.resource_version)
                    initial = [o for o in api.objects[resource] if wanted(o)]
                else:
                    start, initial = int(rv), []
                too_old = rv not in ("", "0") and start < api.compacted
            for o in initial:
                send("ADDED", o)
            if too_old:
                send("ERROR", expired)
                self._chunk(b"")
                return None
            deadline = time.monotonic() + timeout
            seen = start
            with api.changed:
                api.open_watches += 1
                counted = True
            while True:
                with api.changed:
                    pending = [e for e in api.events if e[0] > seen and e[1] == resource]
                    if not pending:
                        left = deadline - time.monotonic()
                        if left <= 0 or api.watch_epoch != epoch:
                            break
                        if api.expire_epoch != expire_epoch:
                            pending = None
                        else:
                            api.changed.wait(min(left, 1.0))
                            continue
                if pending is None:
                    send("ERROR", expired)
                    break
                for rv_, _, type_, obj in pending:
                    seen = rv_
                    if type_ == "BOOKMARK":
                        if bookmarks:
                            send("BOOKMARK", {"metadata": {"resourceVersion": str(rv_)}})
                    elif wanted(obj):
                        send(type_, obj)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        finally:
            if counted:
                with api.changed:
                    api.open_watches -= 1
        self.close_connection = True
        return None

def main():
    """Run standalone: ``python3 -m iwtest.kubeapi DIR`` serves the test
    cluster and writes DIR/kubeconfig; for poking at it with kubectl."""
    import sys
    import time
    from . import kubeobjs

    d = Path(sys.argv[1])
    pki = make_pki(d / "pki")
    pods, rss, jobs = kubeobjs.cluster(listed=False)
    api = KubeAPI(pki, {"pods": pods, "replicasets": rss, "jobs": jobs}).start()
    api.kubeconfig(d / "kubeconfig")
    print(api.url, d / "kubeconfig", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
