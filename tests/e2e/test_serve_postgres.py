"""`imgwatch serve --db postgres://...`: the same history scenarios as
test_serve.py (push detection, resolution and MTTR, rollback, kill -9 with
history intact) against a real PostgreSQL (the Debian package) started
here in a temp dir as the postgres user, one fresh database per test.
"""

import os
import secrets
import shutil
import subprocess

import pytest

from iwtest import util

import test_serve
from test_serve import (serve_env, test_serve__detects_pushes_resolves_and_keeps_history,  # noqa: F401
                        test_serve__survives_kill_9_with_history_intact)

BIN = "/usr/lib/postgresql/15/bin"


def _as_postgres(argv, **kw):
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A PostgreSQL server on 127.0.0.1:<free port>; yields its port."""
    if not os.path.exists(os.path.join(BIN, "initdb")):
        pytest.fail("PostgreSQL is not installed (scripts/deps.d/serve.txt lists postgresql)")
    top = str(tmp_path_factory.mktemp("pg"))
    os.chmod(top, 0o777)
    for d in (os.path.dirname(top), os.path.dirname(os.path.dirname(top))):
        os.chmod(d, os.stat(d).st_mode | 0o711)
    data, sock = os.path.join(top, "data"), os.path.join(top, "sock")
    os.mkdir(sock)
    os.chmod(sock, 0o777)
    r = _as_postgres([BIN + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync",
                      "--no-instructions"])
    assert r.returncode == 0, r.stderr
    port = util.free_port()
    r = _as_postgres([BIN + "/pg_ctl", "-D", data, "-l", os.path.join(top, "log"), "-w", "-t", "60",
                      "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, sock), "start"])
    assert r.returncode == 0, r.stderr + r.stdout
    try:
        yield port
    finally:
        _as_postgres([BIN + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def db_url(postgres):
    name = "iw_" + secrets.token_hex(4)
    r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(postgres), "-U", "postgres", "-d", "postgres",
                        "-c", "CREATE DATABASE %s" % name], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return "postgres://postgres@127.0.0.1:%d/%s" % (postgres, name)


def test_serve_postgres__schema_is_migrated_once(postgres, db_url, imgwatch_bin, tmp_path):
    # Two servers on one database: the migration runs once (advisory lock).
    url = db_url
    r = subprocess.run(["psql", url, "-tAc", "SELECT count(*) FROM pg_tables WHERE tablename = 'findings'"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "0"
    pods = tmp_path / "pods.json"
    pods.write_text('{"apiVersion":"v1","kind":"List","items":[]}')
    procs = []
    for i in range(2):
        port = util.free_port()
        p = util.start_process([imgwatch_bin, "serve",
                                "--listen", "127.0.0.1:%d" % port, "--db", url, "--from-file", str(pods)],
                               str(tmp_path / ("serve%d.log" % i)))
        procs.append((p, port))
    try:
        for p, port in procs:
            util.wait_for(lambda port=port: test_serve.urllib.request.urlopen(
                "http://127.0.0.1:%d/readyz" % port, timeout=2).status == 200, timeout=60, what="ready")
    finally:
        for p, _ in procs:
            util.stop_process(p)
    r = subprocess.run(["psql", url, "-tAc", "SELECT array_agg(version ORDER BY version) FROM imgwatch_schema"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "{1,2}", r.stdout + r.stderr
