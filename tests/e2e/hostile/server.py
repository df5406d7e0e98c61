"""A hostile registry for imgwatch's end-to-end tests, driven by case files.

One case (tests/e2e/hostile/cases/*.yaml) is the server's replies, the
imgwatch command to run against it, the expected outcome and the requests the
server must (or must not) have received.  See README.md next to this file.

The server speaks just enough HTTP/1.1 by hand (raw sockets, one thread per
connection, keep-alive) to misbehave on purpose: lying digests, oversize,
trickling or endless responses, redirects, 429/503 sequences, odd
WWW-Authenticate headers.
"""

import calendar
import email.utils
import hashlib
import json
import re
import socket
import threading
import time


def expand(value, ctx):
    """Replace {host}, {other}, {digest:NAME}, {httpdate:+N}, {epoch:+N} in strings."""
    if isinstance(value, str):
        def sub(m):
            key = m.group(1)
            if key in ("host", "other"):
                return ctx[key]
            kind, _, arg = key.partition(":")
            if kind == "digest":
                return "sha256:" + hashlib.sha256(ctx["bodies"][arg]).hexdigest()
            if kind == "httpdate":
                return email.utils.formatdate(time.time() + int(arg), usegmt=True)
            if kind == "epoch":
                return str(int(time.time()) + int(arg))
            if kind == "size":
                return str(len(ctx["bodies"][arg]))
            return m.group(0)
        return re.sub(r"\{([a-z]+(?::[^}]*)?)\}", sub, value)
    if isinstance(value, list):
        return [expand(v, ctx) for v in value]
    if isinstance(value, dict):
        return {expand(k, ctx): expand(v, ctx) for k, v in value.items()}
    return value


def make_body(spec, ctx):
    """Bytes of a body spec: {json: obj}, {text: str}, {repeat: [[str, n], ...]}."""
    if "json" in spec:
        return json.dumps(expand(spec["json"], ctx), separators=(",", ":")).encode()
    if "text" in spec:
        return expand(spec["text"], ctx).encode()
    if "repeat" in spec:
        return b"".join(s.encode() * int(n) for s, n in spec["repeat"])
    raise ValueError("unknown body spec %r" % spec)


class Server:
    """One hostile server on 127.0.0.1; replies are matched in order."""

    def __init__(self, name, replies, ctx, tls=None):
        self.tls = tls  # an ssl.SSLContext for HTTPS, or None
        self.name = name
        self.replies = [dict(r, used=0) for r in replies]
        self.ctx = ctx
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.host = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stopping = False
        self.threads = []
        self.conns = []

    def start(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping = True
        try:
            # shutdown() wakes a thread blocked in accept(); close() alone does not.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=5)

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _pick(self, method, path, headers):
        with self.lock:
            for r in self.replies:
                m = r["match"]
                want_method, _, want_path = m.partition(" ")
                if want_method != method and want_method != "*":
                    continue
                want_path = expand(want_path, self.ctx)
                if want_path.startswith("~"):
                    if not re.fullmatch(want_path[1:], path):
                        continue
                elif want_path != path:
                    continue
                if r.get("when_no_header") and r["when_no_header"].lower() in headers:
                    continue
                if r.get("when_header") and r["when_header"].lower() not in headers:
                    continue
                if r.get("times") is not None and r["used"] >= r["times"]:
                    continue
                r["used"] += 1
                return r
        return None

    def _serve(self, conn):
        conn.settimeout(60)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ValueError):
                return  # a failed handshake: the client gave up on our certificate
            self.conns.append(conn)
        f = conn.makefile("rb")
        try:
            while not self.stopping:
                line = f.readline(65536)
                if not line:
                    return
                parts = line.decode("latin-1").strip().split(" ")
                if len(parts) != 3:
                    return
                method, target, _ = parts
                headers = {}
                while True:
                    h = f.readline(65536)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                path, _, query = target.partition("?")
                with self.lock:
                    self.requests.append({"method": method, "path": path, "query": query,
                                          "headers": headers})
                reply = self._pick(method, path, headers)
                if not self._reply(conn, method, reply):
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _reply(self, conn, method, reply):
        """Send one response; False closes the connection."""
        if reply is None:
            reply = {"status": 404, "body": None,
                     "headers": {"Content-Type": "application/json"}}
        if reply.get("delay"):
            time.sleep(float(reply["delay"]))
        status = int(reply.get("status", 200))
        body = b""
        if reply.get("body"):
            body = self.ctx["bodies"][reply["body"]]
        headers = expand(reply.get("headers") or {}, self.ctx)
        pairs = headers.items() if isinstance(headers, dict) else [tuple(p) for p in headers]
        out = ["HTTP/1.1 %d X" % status]
        names = set()
        for k, v in pairs:
            out.append("%s: %s" % (k, v))
            names.add(k.lower())
        chunked = reply.get("chunked", False)
        if reply.get("endless_headers"):
            conn.sendall(("\r\n".join(out) + "\r\n").encode())
            deadline = time.time() + 30
            i = 0
            while time.time() < deadline and not self.stopping:
                conn.sendall(("X-Endless-%d: %s\r\n" % (i, "a" * 200)).encode())
                i += 1
            return False
        if chunked:
            out.append("Transfer-Encoding: chunked")
        elif "content-length" not in names:
            out.append("Content-Length: %d" % len(body))
        conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode())
        if method == "HEAD":
            return True
        if reply.get("trickle"):
            for i in range(len(body)):
                if self.stopping:
                    return False
                conn.sendall(body[i:i + 1])
                time.sleep(float(reply["trickle"]))
            return True
        if chunked:
            step = 65536
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.sendall(b"0\r\n\r\n")
            return True
        conn.sendall(body)
        return not reply.get("close", False)


def http_date_to_epoch(s):
    return calendar.timegm(email.utils.parsedate(s))
