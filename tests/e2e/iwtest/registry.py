"""A real docker-registry (distribution 2.8) started for a test, and a tiny client.

Registry(...).start() runs /usr/bin/docker-registry on a free 127.0.0.1 port with
filesystem storage in a temporary directory and deletes enabled, in one of four
modes: "plain" (HTTP), "tls" (HTTPS with a test CA), "htpasswd" (HTTP with Basic
auth) and "token" (HTTP with bearer tokens from a test TokenIssuer).

Client speaks just enough of the distribution API for the fixtures: it answers
401 challenges (Basic, or Bearer through the realm) and returns raw responses.
The module-level helpers (manifest_digest, get_manifest, put_manifest,
delete_manifest) take a base URL like "http://127.0.0.1:5000".
"""

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import yaml

from . import tls
from . import util

REGISTRY_BIN = os.environ.get("IW_REGISTRY_BIN", "/usr/bin/docker-registry")

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join([MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_MANIFEST])

MODES = ("plain", "tls", "htpasswd", "token")

# host ("127.0.0.1:PORT") -> running Registry, so helpers given only a
# reference can find the scheme, credentials and CA.
KNOWN = {}


class Response:
    """A finished HTTP exchange: status, headers (case-insensitive) and body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


def parse_challenge(value):
    """Split a WWW-Authenticate value into (scheme, {param: value})."""
    if not value:
        return None, {}
    scheme, _, rest = value.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


def _split_creds(creds):
    if creds is None:
        return None
    if isinstance(creds, (tuple, list)):
        return str(creds[0]), str(creds[1])
    user, _, password = creds.partition(":")
    return user, password


def _basic(creds):
    user, password = _split_creds(creds)
    raw = ("%s:%s" % (user, password)).encode()
    return "Basic " + base64.b64encode(raw).decode()


class Client:
    """A minimal distribution API client.

    url: "http://127.0.0.1:PORT" or "https://...".  creds: "user:pass" or a
    (user, pass) pair, or None.  ca: a CA file for https, or None for the system
    store.  Bearer tokens are fetched from the challenge's realm (with Basic
    credentials when creds are set) and cached per scope.
    """

    def __init__(self, url, creds=None, ca=None, timeout=30):
        self.url = url.rstrip("/")
        self.creds = creds
        self.timeout = timeout
        self.ctx = None
        if self.url.startswith("https:"):
            self.ctx = ssl.create_default_context(cafile=ca)
        self._tokens = {}

    def _open(self, method, url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ctx) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            e.close()
            return Response(e.code, e.headers, body)

    def token(self, realm, service=None, scope=None):
        """Fetch a bearer token from realm; return the token string."""
        query = []
        if service:
            query.append(("service", service))
        for s in (scope or "").split(" "):
            if s:
                query.append(("scope", s))
        url = realm + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {}
        if self.creds is not None:
            headers["Authorization"] = _basic(self.creds)
        r = self._open("GET", url, headers=headers)
        if r.status != 200:
            raise RuntimeError("token request to %s failed: %d %r" % (realm, r.status, r.body))
        doc = r.json()
        return doc.get("token") or doc.get("access_token")

    def request(self, method, path, data=None, headers=None):
        """Send method path (relative to url) and answer one auth challenge.

        Returns a Response whatever its status.
        """
        url = self.url + path
        headers = dict(headers or {})
        r = self._open(method, url, data, headers)
        if r.status != 401:
            return r
        scheme, params = parse_challenge(r.headers.get("WWW-Authenticate"))
        if scheme == "basic":
            if self.creds is None:
                return r
            headers["Authorization"] = _basic(self.creds)
        elif scheme == "bearer":
            key = (params.get("realm"), params.get("service"), params.get("scope"))
            tok = self._tokens.get(key)
            if tok is None:
                tok = self.token(params["realm"], params.get("service"), params.get("scope"))
                self._tokens[key] = tok
            headers["Authorization"] = "Bearer " + tok
        else:
            return r
        return self._open(method, url, data, headers)


def _client(url, creds=None, ca=None):
    return url if isinstance(url, Client) else Client(url, creds=creds, ca=ca)


def manifest_digest(url, repo, ref, creds=None, ca=None):
    """HEAD a manifest; return its Docker-Content-Digest, or None on 404.

    url may also be a Client.  Raises RuntimeError on any other status.
    """
    c = _client(url, creds, ca)
    r = c.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": MANIFEST_ACCEPT})
    if r.status == 404:
        return None
    if r.status != 200:
        raise RuntimeError("HEAD %s/%s:%s: %d" % (c.url, repo, ref, r.status))
    return r.headers.get("Docker-Content-Digest")


def get_manifest(url, repo, ref, creds=None, ca=None):
    """GET a manifest; return (body bytes, media type, digest).

    The digest is computed from the bytes and checked against the
    Docker-Content-Digest header.  Raises RuntimeError on a non-200 status.
    """
    c = _client(url, creds, ca)
    r = c.request("GET", "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": MANIFEST_ACCEPT})
    if r.status != 200:
        raise RuntimeError("GET %s/%s:%s: %d %r" % (c.url, repo, ref, r.status, r.body[:300]))
    digest = "sha256:" + hashlib.sha256(r.body).hexdigest()
    header = r.headers.get("Docker-Content-Digest")
    if header and header != digest:
        raise RuntimeError("registry says %s but the bytes hash to %s" % (header, digest))
    return r.body, r.headers.get("Content-Type"), digest


def put_manifest(url, repo, ref, body, media_type, creds=None, ca=None):
    """PUT manifest bytes under ref (a tag or digest); return the digest of body.

    Raises RuntimeError unless the registry answers 201.
    """
    c = _client(url, creds, ca)
    r = c.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), data=body,
                  headers={"Content-Type": media_type})
    if r.status != 201:
        raise RuntimeError("PUT %s/%s:%s: %d %r" % (c.url, repo, ref, r.status, r.body[:500]))
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    header = r.headers.get("Docker-Content-Digest")
    if header and header != digest:
        raise RuntimeError("registry stored %s, expected %s" % (header, digest))
    return digest


def delete_manifest(url, repo, digest, creds=None, ca=None):
    """DELETE a manifest by digest (every tag pointing at it disappears).

    Raises RuntimeError unless the registry answers 202.
    """
    c = _client(url, creds, ca)
    r = c.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
    if r.status != 202:
        raise RuntimeError("DELETE %s/%s@%s: %d %r" % (c.url, repo, digest, r.status, r.body[:300]))


def split_ref(ref):
    """Split "host/repo:tag" or "host/repo@sha256:..." into (host, repo, tag_or_digest)."""
    host, _, rest = ref.partition("/")
    if not rest:
        raise ValueError("reference %r has no repository" % ref)
    if "@" in rest:
        repo, _, tail = rest.partition("@")
    else:
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            repo, tail = rest[:colon], rest[colon + 1:]
        else:
            repo, tail = rest, "latest"
    return host, repo, tail


def client_for(host, creds=None, ca=None):
    """Return a Client for a host, using a known Registry's scheme/creds/CA by default."""
    reg = KNOWN.get(host)
    if reg is not None:
        return Client(reg.url, creds=creds if creds is not None else reg.creds,
                      ca=ca if ca is not None else reg.ca_path)
    scheme = "https" if ca else "http"
    return Client("%s://%s" % (scheme, host), creds=creds, ca=ca)


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


class RegistryError(RuntimeError):
    """The registry could not be started; the message includes its log."""


class Registry:
    """One docker-registry process.

    mode is "plain", "tls", "htpasswd" or "token"; tls=True serves any mode
    over HTTPS ("tls" is "plain" with tls=True), and a token issuer started
    here then serves HTTPS too, with the same CA.

    Attributes once started: mode, tls, host ("127.0.0.1:PORT"), port, url,
    storage, log_path, config_path, config (the dict written), and
    with TLS: ca_path, cert_dir (directory with ca.crt, for skopeo), ca;
    for "htpasswd" and "token": username, password, creds ("user:pass");
    for "token": issuer (a running TokenIssuer).
    ca_path and creds are None where they do not apply.
    """

    def __init__(self, workdir, mode="plain", notifications_url=None,
                 notifications_headers=None, extra_config=None,
                 username="iwuser", password=None, issuer=None, tls=False):
        if mode not in MODES:
            raise ValueError("unknown registry mode %r (want one of %s)" % (mode, ", ".join(MODES)))
        self.workdir = workdir
        self.mode = mode
        self.tls = bool(tls) or mode == "tls"
        self.notifications_url = notifications_url
        self.notifications_headers = notifications_headers or {}
        self.extra_config = extra_config or {}
        self.username = None
        self.password = None
        if mode in ("htpasswd", "token"):
            self.username = username
            self.password = password or ("pw-" + secrets.token_hex(8))
        self.issuer = issuer
        self._own_issuer = False
        self.storage = os.path.join(workdir, "storage")
        self.log_path = os.path.join(workdir, "registry.log")
        self.config_path = os.path.join(workdir, "config.yml")
        self.ca = None
        self.ca_path = None
        self.cert_dir = None
        self.proc = None
        self.port = None
        self.host = None
        self.url = None
        self.config = None

    @property
    def creds(self):
        """"user:pass" for authenticated modes, else None."""
        if self.username is None:
            return None
        return "%s:%s" % (self.username, self.password)

    def client(self, creds=None):
        """A Client for this registry with its credentials (or creds) and CA."""
        return Client(self.url, creds=creds if creds is not None else self.creds, ca=self.ca_path)

    def ref(self, repo, tag_or_digest="latest"):
        """"127.0.0.1:PORT/repo:tag" (or "...@sha256:..." for a digest)."""
        sep = "@" if ":" in tag_or_digest else ":"
        return "%s/%s%s%s" % (self.host, repo, sep, tag_or_digest)

    def manifest_digest(self, repo, ref):
        """HEAD digest of repo:ref with this registry's credentials, None if missing."""
        return manifest_digest(self.client(), repo, ref)

    def delete_manifest(self, repo, digest):
        """Delete repo@digest with this registry's credentials."""
        delete_manifest(self.client(), repo, digest)

    def blob_path(self, digest):
        """Path of a blob's data file in the filesystem storage (to corrupt it)."""
        algo, _, hexd = digest.partition(":")
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", algo, hexd[:2],
                            hexd, "data")

    def log(self):
        """The registry's log so far."""
        return util.read_tail(self.log_path, 200000)

    def _prepare(self):
        os.makedirs(self.storage, exist_ok=True)
        cfg = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text",
                    "fields": {"service": "registry"}},
            "storage": {
                "filesystem": {"rootdirectory": self.storage},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": "127.0.0.1:0",
                "secret": secrets.token_hex(16),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.tls:
            self.ca = tls.make_ca(os.path.join(self.workdir, "tls"))
            self.ca_path = self.ca.ca_path
            self.cert_dir = self.ca.cert_dir
            cfg["http"]["tls"] = {"certificate": self.ca.cert_path, "key": self.ca.key_path}
        if self.mode == "htpasswd":
            r = subprocess.run(["htpasswd", "-Bbn", self.username, self.password],
                               capture_output=True, text=True, check=True)
            path = os.path.join(self.workdir, "htpasswd")
            with open(path, "w") as f:
                f.write(r.stdout.strip() + "\n")
            cfg["auth"] = {"htpasswd": {"realm": "imgwatch-test", "path": path}}
        elif self.mode == "token":
            if self.issuer is None:
                from .tokenissuer import TokenIssuer

                self.issuer = TokenIssuer(os.path.join(self.workdir, "issuer"),
                                          username=self.username, password=self.password,
                                          tls=self.ca)
                self.issuer.start()
                self._own_issuer = True
            else:
                self.username = self.issuer.username
                self.password = self.issuer.password
            cfg["auth"] = {"token": {
                "realm": self.issuer.realm,
                "service": self.issuer.service,
                "issuer": self.issuer.name,
                "rootcertbundle": self.issuer.cert_path,
            }}
        if self.notifications_url:
            headers = {k: (v if isinstance(v, list) else [v])
                       for k, v in self.notifications_headers.items()}
            cfg["notifications"] = {"endpoints": [{
                "name": "imgwatch-test",
                "url": self.notifications_url,
                "headers": headers,
                "timeout": "2s",
                "threshold": 5,
                "backoff": "1s",
            }]}
        _merge(cfg, self.extra_config)
        return cfg

    def _write_config(self, cfg, port):
        cfg["http"]["addr"] = "127.0.0.1:%d" % port
        self.config = cfg
        with open(self.config_path, "w") as f:
            yaml.safe_dump(cfg, f, sort_keys=False)

    def _ready(self):
        if self.proc.poll() is not None:
            raise util.GiveUp("docker-registry exited with status %d" % self.proc.returncode)
        r = Client(self.url, ca=self.ca_path, timeout=5)._open("GET", self.url + "/v2/")
        return r.status in (200, 401)

    def start(self, timeout=30.0):
        """Start the registry and wait until GET /v2/ answers (200 or 401).

        Retries with another port if the chosen one was taken.  Raises
        RegistryError (with the registry's log) on failure.
        """
        cfg = self._prepare()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        scheme = "https" if self.tls else "http"
        last = None
        try:
            for _attempt in range(5):
                self.port = util.free_port()
                self.host = "127.0.0.1:%d" % self.port
                self.url = "%s://%s" % (scheme, self.host)
                self._write_config(cfg, self.port)
                with open(self.log_path, "ab") as f:
                    f.write(b"--- imgwatch e2e: starting on %s\n" % self.host.encode())
                self.proc = util.start_process([REGISTRY_BIN, "serve", self.config_path],
                                               self.log_path, env=env, cwd=self.workdir)
                try:
                    util.wait_for(self._ready, timeout=timeout, interval=0.05,
                                  what="docker-registry on %s" % self.url)
                    KNOWN[self.host] = self
                    return self
                except (TimeoutError, util.GiveUp) as e:
                    last = e
                    util.stop_process(self.proc, timeout=5)
                    self.proc = None
                    if "address already in use" not in self.log():
                        break
            raise RegistryError("docker-registry (%s) did not start: %s\n--- %s ---\n%s"
                                % (self.mode, last, self.log_path, util.read_tail(self.log_path)))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop the registry (and an issuer it started); safe to call twice."""
        KNOWN.pop(self.host, None)
        try:
            util.stop_process(self.proc)
        finally:
            self.proc = None
            if self._own_issuer and self.issuer is not None:
                self.issuer.stop()

    def restart(self, timeout=30.0):
        """Stop and start the process again on the same port and storage."""
        util.stop_process(self.proc)
        self.proc = util.start_process([REGISTRY_BIN, "serve", self.config_path],
                                       self.log_path, cwd=self.workdir,
                                       env={k: v for k, v in os.environ.items()
                                            if not k.startswith("REGISTRY_")})
        util.wait_for(self._ready, timeout=timeout, what="docker-registry restart on %s" % self.url)
        KNOWN[self.host] = self
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<Registry %s %s>" % (self.mode, self.url)


