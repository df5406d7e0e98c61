"""The Kubernetes API test server's watch streams, checked with kubectl.

imgwatch's list does not watch; the daemon will.  These tests keep the
server's watch honest before the daemon's tests rely on it: kubectl's own
watch must see the events, and the raw stream must carry bookmarks and 410
ERROR events the way kube-apiserver sends them.
"""

import base64
import json
import queue
import ssl
import subprocess
import threading
import time
import urllib.request

import pytest

from iwtest import kubeobjs
from iwtest.kubeapi import KubeAPI, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("kube-watch-pki"))


@pytest.fixture
def api(pki):
    pods, rss, jobs = kubeobjs.cluster(listed=False)
    with KubeAPI(pki, {"pods": pods, "replicasets": rss, "jobs": jobs}) as server:
        yield server


def line_reader(proc):
    """A queue receiving proc's stdout lines from a thread (select() on a
    buffered pipe would miss lines already read into Python's buffer)."""
    q = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def read_lines(q, n, timeout=60):
    """n lines from the queue, or fail after timeout seconds."""
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {out} after {timeout}s"
        try:
            line = q.get(timeout=left)
        except queue.Empty:
            continue
        assert line is not None, f"stream ended after {out}"
        out.append(line)
    return out


def new_pod(name):
    p = kubeobjs.cluster(listed=False)[0][6]  # the bare pod
    p = json.loads(json.dumps(p))
    p["metadata"]["name"] = name
    p["metadata"]["uid"] = kubeobjs.uid(name)
    return p


def test_kubectl_watch_sees_changes(api, tmp_path):
    kc = api.kubeconfig(tmp_path / "config")
    proc = subprocess.Popen(["kubectl", "--kubeconfig", str(kc), "get", "pods", "-n", "default", "--watch",
                             "--output-watch-events", "-o", "jsonpath={.type} {.object.metadata.name}{\"\\n\"}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = line_reader(proc)
    try:
        first = read_lines(lines, 3)
        assert sorted(first) == sorted(f"ADDED {p}\n" for p in (
            "green-burrito-7d4b9c8f6d-x2mlq", "green-burrito-7d4b9c8f6d-p8fzt", "scratch"))
        # Wait until kubectl's watch request is open, then change things.
        api.wait_for_watches()
        api.add("pods", new_pod("late"))
        changed = new_pod("late")
        changed["status"]["phase"] = "Running"
        api.modify("pods", changed)
        api.delete("pods", "default", "late")
        assert read_lines(lines, 3) == ["ADDED late\n", "MODIFIED late\n", "DELETED late\n"]
    finally:
        proc.kill()
        proc.wait()


def raw_watch(api, query, timeout=10):
    ctx = ssl.create_default_context(cafile=str(api.pki / "ca.crt"))
    req = urllib.request.Request(f"{api.url}/api/v1/pods?watch=1&{query}",
                                 headers={"Authorization": "Bearer test-token"})
    return urllib.request.urlopen(req, context=ctx, timeout=timeout)


def test_bookmarks_and_timeout(api):
    rv = api.resource_version
    api.bookmark()
    api.add("pods", new_pod("p1"))
    with raw_watch(api, f"resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1") as r:
        events = [json.loads(line) for line in r]
    assert [e["type"] for e in events] == ["BOOKMARK", "ADDED"]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) == int(rv) + 1
    assert events[1]["object"]["kind"] == "Pod" and events[1]["object"]["metadata"]["name"] == "p1"
    with raw_watch(api, f"resourceVersion={rv}&timeoutSeconds=1") as r:
        assert [json.loads(line)["type"] for line in r] == ["ADDED"]  # no bookmarks unless allowed


def test_too_old_resource_version_is_410_error_event(api):
    old = api.resource_version
    api.add("pods", new_pod("p2"))
    api.compact()
    with raw_watch(api, f"resourceVersion={old}") as r:
        events = [json.loads(line) for line in r]
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_expire_and_drop_open_watches(api):
    with raw_watch(api, f"resourceVersion={api.resource_version}") as r:
        api.wait_for_watches()
        api.expire_watches()
        events = [json.loads(line) for line in r]
    assert [(e["type"], e["object"].get("code")) for e in events] == [("ERROR", 410)]
    with raw_watch(api, f"resourceVersion={api.resource_version}") as r:
        api.wait_for_watches()
        api.drop_watches()
        assert list(r) == []  # the stream just ends


def test_watch_needs_credentials(api):
    ctx = ssl.create_default_context(cafile=str(api.pki / "ca.crt"))
    req = urllib.request.Request(f"{api.url}/api/v1/pods?watch=1",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    assert e.value.code == 401
