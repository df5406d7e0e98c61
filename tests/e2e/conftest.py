"""Shared pytest fixtures for imgwatch's end-to-end tests.

The fixtures start real components on 127.0.0.1 in temp dirs and stop them at
teardown, also when a test fails.  See docs/testing.md for how to use them; the
helpers live in the iwtest package next to this file.
"""

import os
import secrets
import subprocess

import pytest

from iwtest import util
from iwtest.images import OCI
from iwtest.registry import Registry
from iwtest.tokenissuer import TokenIssuer

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

_ADJECTIVES = ["green", "red", "quiet", "brave", "lazy", "shiny", "odd", "plain", "spicy", "calm"]
_NOUNS = ["burrito", "falcon", "teapot", "lantern", "otter", "pickle", "comet", "walrus", "tulip"]


@pytest.fixture(scope="session")
def imgwatch_bin():
    """Absolute path of the binary under test ($IMGWATCH, default build/asan/imgwatch)."""
    path = os.path.abspath(os.environ.get("IMGWATCH") or
                           os.path.join(REPO_ROOT, "build", "asan", "imgwatch"))
    if not os.access(path, os.X_OK):
        pytest.fail("imgwatch binary %s not found: run `make build/asan/imgwatch` "
                    "or set IMGWATCH" % path)
    return path


@pytest.fixture
def run_imgwatch(imgwatch_bin):
    """Return run(*args, input=None, env=None, timeout=60, check=None) -> CompletedProcess.

    Text mode, stdout/stderr captured.  env entries are added to (None:
    removed from) the current environment.  check=True asserts exit 0; an int
    asserts that exit status.  Failures show the command, stdout and stderr.
    """

    def run(*args, input=None, env=None, timeout=60, check=None):
        full_env = dict(os.environ)
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
        argv = [imgwatch_bin] + [str(a) for a in args]
        r = subprocess.run(argv, input=input, env=full_env, capture_output=True, text=True,
                           timeout=timeout)
        want = 0 if check is True else check
        if want is not None and want is not False and r.returncode != want:
            raise AssertionError("%s exited %d, expected %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                                 % (" ".join(argv), r.returncode, want, r.stdout, r.stderr))
        return r

    return run


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """A plain-HTTP docker-registry shared by the whole session (use unique repos)."""
    reg = Registry(str(tmp_path_factory.mktemp("registry")), mode="plain")
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def registry_factory(tmp_path_factory):
    """Return start(mode="plain", notifications_url=None, notifications_headers=None,
    extra_config=None, tls=False, **kw) -> a started Registry, stopped at test end."""
    factory = _RegistryFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        for reg in reversed(factory.started):
            reg.stop()


class _RegistryFactory:
    """The registry_factory callable; .started lists what it started."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.started = []

    def __call__(self, mode="plain", notifications_url=None, notifications_headers=None,
                 extra_config=None, **kw):
        reg = Registry(str(self.tmp_path_factory.mktemp("registry-" + mode)), mode=mode,
                       notifications_url=notifications_url,
                       notifications_headers=notifications_headers,
                       extra_config=extra_config, **kw)
        self.started.append(reg)
        return reg.start()


@pytest.fixture
def token_issuer(tmp_path_factory):
    """A running TokenIssuer on its own (registry_factory("token") makes one itself)."""
    issuer = TokenIssuer(str(tmp_path_factory.mktemp("issuer")))
    issuer.start()
    try:
        yield issuer
    finally:
        issuer.stop()


@pytest.fixture
def oci(tmp_path):
    """An iwtest.images.OCI working in this test's temp dir."""
    return OCI(str(tmp_path / "oci"))


@pytest.fixture
def unique_repo():
    """A fresh repository name like "t/green-burrito-3f2a"."""
    return "t/%s-%s-%s" % (secrets.choice(_ADJECTIVES), secrets.choice(_NOUNS),
                           secrets.token_hex(2))


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any process the fixtures started is still alive."""
    leftover = util.stop_all()
    base = session.config._tmp_path_factory.getbasetemp() \
        if hasattr(session.config, "_tmp_path_factory") else None
    strays = util.pgrep(str(base) + "/") if base is not None else []
    for pid in strays:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    if leftover or strays:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = "e2e fixtures: processes left running at session end: %s" % (leftover + strays)
        if tr is not None:
            tr.write_line(msg, red=True)
        session.exitstatus = 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the logs of the registries the test used to the report."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed or rep.when == "teardown":
        return
    regs = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Registry):
            regs.append(value)
        regs.extend(getattr(value, "started", []) if isinstance(value, _RegistryFactory) else [])
    for reg in regs:
        rep.sections.append(("docker-registry %s %s log (tail)" % (reg.mode, reg.host),
                             util.read_tail(reg.log_path, 4000)))
        if reg.issuer is not None:
            lines = ["%s %s %s -> %s" % (r["method"], r["path"], r["query"], r["status"])
                     for r in reg.issuer.requests]
            rep.sections.append(("token issuer requests", "\n".join(lines[-30:])))
