"""The hostile registry: one test per case file in tests/e2e/hostile/cases.

Each case gives the server's replies, the imgwatch command, the expected exit
status and output, and the requests the server must (or must not) have
received.  The format is described in tests/e2e/hostile/README.md.
"""

import glob
import os
import re
import ssl
import sys
import urllib.parse

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "hostile"))

import server as hostile  # noqa: E402
from iwtest import tls  # noqa: E402

CASES = sorted(glob.glob(os.path.join(HERE, "hostile", "cases", "*.yaml")))


def load(path):
    with open(path) as f:
        case = yaml.safe_load(f)
    for key in ("servers", "args", "expect"):
        assert key in case, "%s: no %s" % (path, key)
    return case


def write_config(tmp_path, case, hosts, tls_servers=(), ca_path=None):
    settings = case.get("config") or {}
    lines = ["registries:"]
    for name, host in hosts.items():
        s = dict(settings.get(name) or ({} if name in tls_servers else {"insecure": True}))
        if name in tls_servers:
            s.setdefault("ca", ca_path)
        s = {k: v for k, v in s.items() if v is not None}  # "ca: null" means none
        if "password" in s:
            pw = tmp_path / ("pw-" + name)
            pw.write_text(s.pop("password") + "\n")
            s["passwordFile"] = str(pw)
        parts = ["%s: %s" % (k, ("true" if v else "false") if isinstance(v, bool) else '"%s"' % v)
                 for k, v in s.items()]
        lines.append('  "%s": {%s}' % (host, ", ".join(parts)))
    if case.get("mirrors"):
        lines.append("mirrors:")
        for reg, ms in case["mirrors"].items():
            lines.append('  "%s": [%s]' % (hosts[reg], ", ".join('"%s"' % hosts[m] for m in ms)))
    path = tmp_path / "imgwatch.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def selected(requests, spec, ctx):
    spec = hostile.expand(spec, ctx)
    out = []
    for r in requests:
        line = "%s %s" % (r["method"], r["path"])
        if spec.startswith("~"):
            if re.fullmatch(spec[1:], line):
                out.append(r)
        elif line == spec:
            out.append(r)
    return out


def satisfies(r, want, ctx):
    h = r["headers"]
    for name in [want["header_present"]] if "header_present" in want else []:
        if name.lower() not in h:
            return False
    for name in [want["header_absent"]] if "header_absent" in want else []:
        if name.lower() in h:
            return False
    for k, v in (want.get("header_equals") or {}).items():
        if h.get(k.lower()) != hostile.expand(v, ctx):
            return False
    query = r["query"]
    for q in want.get("query_contains") or []:
        q = hostile.expand(q, ctx)
        if q not in query and q not in urllib.parse.unquote(query):
            return False
    return True


@pytest.mark.parametrize("case_path", CASES, ids=[os.path.basename(c)[:-5] for c in CASES])
def test_registry_hostile(case_path, run_imgwatch, tmp_path):
    case = load(case_path)
    ctx = {"bodies": {}}
    servers = {}
    try:
        tls_servers = case.get("tls") or []
        ca = sslctx = None
        if tls_servers:
            ca = tls.make_ca(str(tmp_path / "ca"))
            sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            sslctx.load_cert_chain(ca.cert_path, ca.key_path)
        for name, replies in case["servers"].items():
            servers[name] = hostile.Server(name, replies, ctx, tls=sslctx if name in tls_servers else None)
        ctx["host"] = servers["main"].host
        ctx["other"] = servers["other"].host if "other" in servers else "127.0.0.1:9"
        ctx["ca"] = ca.ca_path if ca else ""
        for name, spec in (case.get("bodies") or {}).items():
            ctx["bodies"][name] = hostile.make_body(spec, ctx)
        for s in servers.values():
            s.start()
        cfg = write_config(tmp_path, case, {n: s.host for n, s in servers.items()}, tls_servers,
                           ca.ca_path if ca else None)
        dockercfg = tmp_path / "docker"
        dockercfg.mkdir()
        args = ["resolve", "--config", cfg] + [hostile.expand(str(a), ctx) for a in case["args"][1:]]
        expect = case["expect"]
        env = dict(case.get("env") or {}, DOCKER_CONFIG=str(dockercfg))
        r = run_imgwatch(*args, env=env,
                         timeout=expect.get("max_seconds", 60))
    finally:
        for s in servers.values():
            s.stop()

    where = "\n--- stdout ---\n%s\n--- stderr ---\n%s" % (r.stdout, r.stderr)
    assert r.returncode == expect["exit"], where
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, where
    if "stdout" in expect:
        assert r.stdout == hostile.expand(expect["stdout"], ctx), where
    for s in expect.get("stdout_contains") or []:
        assert hostile.expand(s, ctx) in r.stdout, where
    for s in expect.get("stdout_not_contains") or []:
        assert hostile.expand(s, ctx) not in r.stdout, where
    for s in expect.get("stderr_contains") or []:
        assert hostile.expand(s, ctx) in r.stderr, where
    for s in expect.get("stderr_not_contains") or []:
        assert hostile.expand(s, ctx) not in r.stderr, where

    for want in case.get("requests") or []:
        got = servers[want["server"]].requests
        sel = selected(got, want["request"], ctx)
        ok = [q for q in sel if satisfies(q, want, ctx)]
        seen = "\nrequests to %s: %s" % (want["server"], ["%s %s?%s" % (q["method"], q["path"], q["query"])
                                                         for q in got])
        if "count" in want:
            assert len(ok) == want["count"], "%r%s%s" % (want, seen, where)
        else:
            assert sel and len(ok) == len(sel), "%r%s%s" % (want, seen, where)
