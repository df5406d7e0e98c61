"""A test token server for docker-registry's `auth: token` mode.

TokenIssuer runs an HTTP server in a thread on 127.0.0.1.  GET /token (and the
OAuth2 POST form) checks Basic credentials when they are given, grants the
requested scopes and answers {"token", "access_token", "expires_in",
"issued_at"} with an ES256 JWT whose x5c header carries the issuer's
self-signed certificate; the registry trusts that certificate through its
rootcertbundle.  Every request is recorded in .requests.
"""

import base64
import datetime
import http.server
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def parse_scope(scope):
    """Split "repository:name:pull,push" into (type, name, [actions])."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return typ, name, [a for a in actions.split(",") if a]


class TokenIssuer:
    """A running token server.

    tls: an iwtest.tls.CA whose server certificate the issuer serves (then
    url is https), or None for plain HTTP.

    Attributes: url ("http://127.0.0.1:PORT"), realm (url + "/token"),
    service, name (the JWT issuer), cert_path (PEM of the signing
    certificate), username, password, requests (a copy of the recorded
    requests: dicts with method, path, query {name: [values]}, headers,
    form, status, user, granted).

    Behaviour knobs, settable at any time:
      allow_anonymous (default True): requests without credentials get tokens;
      grant: None, or a callable (user, type, name, actions) -> actions to grant;
      expires_in: token lifetime in seconds (default 300);
      untrusted (default False): sign with a key the registry does not trust,
        so the registry answers every token with 401 invalid_token;
      omit: a set of response fields to leave out (e.g. {"token"} to answer
        with access_token only, {"expires_in"} to test the default lifetime).
    """

    def __init__(self, workdir, username="iwuser", password=None,
                 service="imgwatch-registry", name="imgwatch-test-issuer",
                 allow_anonymous=True, expires_in=300, tls=None):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.username = username
        self.password = password or ("pw-" + secrets.token_hex(8))
        self.service = service
        self.name = name
        self.allow_anonymous = allow_anonymous
        self.grant = None
        self.expires_in = expires_in
        self.untrusted = False
        self.omit = set()
        self.tls = tls
        self._requests = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.url = None
        self.realm = None
        self.cert_path = os.path.join(workdir, "issuer.crt")
        self._make_key()

    def _make_key(self):
        self._key, cert = self._identity()
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.public_key = self._key.public_key()
        self._rogue = None

    def _identity(self):
        """A new EC P-256 key and a self-signed certificate for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=3))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False,
                              key_encipherment=False, data_encipherment=False,
                              key_agreement=False, key_cert_sign=True, crl_sign=False,
                              encipher_only=False, decipher_only=False),
                critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    @property
    def requests(self):
        """A copy of the recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self):
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def make_token(self, user, scopes):
        """Sign a token for user granting scopes (a list of scope strings)."""
        now = int(time.time())
        access = []
        granted = []
        for s in scopes:
            typ, name, actions = parse_scope(s)
            if self.grant is not None:
                actions = list(self.grant(user, typ, name, actions) or [])
            if actions:
                access.append({"type": typ, "name": name, "actions": actions})
                granted.append("%s:%s:%s" % (typ, name, ",".join(actions)))
        claims = {
            "iss": self.name,
            "sub": user or "",
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        key, x5c = self._key, self._x5c
        if self.untrusted:
            if self._rogue is None:
                rkey, rcert = self._identity()
                self._rogue = (rkey, [base64.b64encode(
                    rcert.public_bytes(serialization.Encoding.DER)).decode()])
            key, x5c = self._rogue
        token = jwt.encode(claims, key, algorithm="ES256", headers={"typ": "JWT", "x5c": x5c})
        return token, granted, now

    def decode(self, token):
        """Verify and decode a token issued here (for tests)."""
        return jwt.decode(token, self.public_key, algorithms=["ES256"], audience=self.service,
                          issuer=self.name)

    def _record(self, entry):
        with self._lock:
            self._requests.append(entry)

    def start(self):
        """Listen on a free 127.0.0.1 port in a daemon thread; return self."""
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _reply(self, status, doc, extra=None):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method):
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
                form = {}
                if method == "POST":
                    n = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(n).decode("utf-8", "replace")
                    form = urllib.parse.parse_qs(raw, keep_blank_values=True)
                entry = {"method": method, "path": parsed.path, "query": query,
                         "headers": dict(self.headers.items()), "form": form,
                         "status": None, "user": None, "granted": []}
                try:
                    status, doc, extra = issuer._answer(method, parsed.path, query, form,
                                                        self.headers, entry)
                finally:
                    issuer._record(entry)
                entry["status"] = status
                self._reply(status, doc, extra)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        scheme = "http"
        if self.tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls.cert_path, self.tls.key_path)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True,
                                                   do_handshake_on_connect=False)
            scheme = "https"
        port = self._server.server_address[1]
        self.url = "%s://127.0.0.1:%d" % (scheme, port)
        self.realm = self.url + "/token"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="token-issuer", daemon=True)
        self._thread.start()
        return self

    def _answer(self, method, path, query, form, headers, entry):
        if path != "/token":
            return 404, {"errors": [{"code": "NOT_FOUND"}]}, None
        user = None
        auth = headers.get("Authorization") or ""
        if method == "POST":
            grant = (form.get("grant_type") or [""])[0]
            if grant == "password":
                user = (form.get("username") or [""])[0]
                if user != self.username or (form.get("password") or [""])[0] != self.password:
                    return 401, {"error": "invalid_grant"}, None
            elif grant == "refresh_token":
                if (form.get("refresh_token") or [""])[0] != "refresh-" + self.username:
                    return 401, {"error": "invalid_grant"}, None
                user = self.username
            else:
                return 400, {"error": "unsupported_grant_type"}, None
            scopes = " ".join(form.get("scope") or []).split()
        else:
            if auth.lower().startswith("basic "):
                try:
                    raw = base64.b64decode(auth[6:].strip()).decode()
                except ValueError:
                    raw = ""
                u, _, p = raw.partition(":")
                if u != self.username or p != self.password:
                    return 401, {"errors": [{"code": "UNAUTHORIZED"}]}, \
                        {"WWW-Authenticate": 'Basic realm="imgwatch-test-issuer"'}
                user = u
            elif not self.allow_anonymous:
                return 401, {"errors": [{"code": "UNAUTHORIZED"}]}, \
                    {"WWW-Authenticate": 'Basic realm="imgwatch-test-issuer"'}
            scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
        svc = (query.get("service") or form.get("service") or [self.service])[0]
        if svc != self.service:
            return 400, {"errors": [{"code": "DENIED", "message": "unknown service"}]}, None
        token, granted, now = self.make_token(user, scopes)
        entry["user"] = user
        entry["granted"] = granted
        doc = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if method == "POST" and user:
            doc["refresh_token"] = "refresh-" + self.username
        for field in self.omit:
            doc.pop(field, None)
        return 200, doc, None

    def stop(self):
        """Stop serving; safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
