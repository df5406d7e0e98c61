"""`imgwatch serve --kubeconfig`: the Kubernetes watch against the test API
server (iwtest.kubeapi), with its faults: an ERROR 410 inside the stream,
a dropped connection, a compacted history (watch from a too-old
resourceVersion), and an expired continue token during the relist.

Changes to pods reach the assessment through the watch (the resync is an
hour away), and each fault must be survived: the next change still shows.
"""

import json
import os
import urllib.parse

import pytest

from iwtest import kubeobjs, util
from iwtest.kubeapi import KubeAPI, make_pki

from test_serve import SECRET, Serve, findings_of, gb_pods


class KubeServe(Serve):
    """Serve reading the Kubernetes API instead of a file."""

    def __init__(self, binary, workdir, port, registry_host, kubeconfig):
        super().__init__(binary, workdir, port, registry_host)
        self.kubeconfig = str(kubeconfig)

    def start(self):
        argv = [self.binary, "--log-level", "info", "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--db", "sqlite:" + self.db, "--kubeconfig", self.kubeconfig, "--config", self.config,
                "--webhook-secret-file", self.secret_file, "--reresolve", "1h", "--resync", "1h"]
        self.proc = util.start_process(argv, self.log)
        util.wait_for(self.ready, timeout=60, what="serve /readyz")
        return self


def filler(n):
    """n pods of an untrusted image (no registry request), so lists take pages."""
    return [kubeobjs.pod("batch", "filler-%d" % i, None,
                         [kubeobjs.container("c", "other.example.com/filler:1", "Always")],
                         [kubeobjs.status("c", "other.example.com/filler:1",
                                          "other.example.com/filler@" + kubeobjs.digest("filler"))],
                         "node-9")
            for i in range(n)]


@pytest.fixture
def watch_env(imgwatch_bin, registry, oci, unique_repo, tmp_path):
    repo = unique_repo
    ref = "%s/%s:latest" % (registry.host, repo)
    d1 = oci.push(oci.build(), ref)
    d2 = oci.push(oci.build(), ref)
    pods = gb_pods(registry.host, repo, [d1, d1]) + filler(520)
    pki = make_pki(tmp_path / "pki")
    api = KubeAPI(pki, objects={"pods": pods}).start()
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    s = KubeServe(imgwatch_bin, str(tmp_path), util.free_port(), registry.host, kubeconfig)
    try:
        s.start()
        yield s, api, ref, d1, d2, pods[:2]
    finally:
        s.stop()
        api.stop()


def moved(pod, host_repo, digest):
    p = json.loads(json.dumps(pod))
    p["status"]["containerStatuses"][0]["imageID"] = "%s@%s" % (host_repo, digest)
    return p


def pod_lists(api):
    """First pages of pod lists served so far."""
    return sum(1 for m, p, u in list(api.requests)
               if p.startswith("/api/v1/pods?") and "limit=500" in p and "continue" not in p and "watch" not in p)


def watch_requests(api):
    return sum(1 for m, p, u in list(api.requests) if "watch=1" in p)


def stale(s, ref):
    return "integrity-stale" in findings_of(s.image(ref))


def test_serve_watch__follows_pods_through_watch_faults(watch_env):
    s, api, ref, d1, d2, gb = watch_env
    host_repo = ref.rsplit(":", 1)[0]
    # Listed at start: both pods run v1, the tag is at v2.
    assert stale(s, ref)
    lists_before = pod_lists(api)

    # 1. Pods restart on v2, seen through the watch: resolved.
    for p in gb:
        api.modify("pods", moved(p, host_repo, d2))
    util.wait_for(lambda: not stale(s, ref), timeout=30, what="resolved through the watch")
    hist = s.json("/api/v1/history")
    res = [f for f in hist["findings"] if f["reference"] == ref and f["check"] == "integrity-stale"]
    assert res and res[0]["resolvedAt"] and "pod default/" in res[0]["resolution"]

    # 2. ERROR 410 inside the stream, and the relist meets an expired
    #    continue token (520 pods: two pages): it relists from the start.
    api.expire_continue = 1
    api.expire_watches()
    util.wait_for(lambda: pod_lists(api) >= lists_before + 2, timeout=30,
                  what="relist after 410 and expired continue (requests: %r)" % api.requests[-8:])
    assert api.expire_continue == 0
    api.modify("pods", moved(gb[0], host_repo, d1))
    util.wait_for(lambda: stale(s, ref), timeout=30, what="change after the 410 relist")

    # 3. The stream is closed under it: reconnect and resume from the last version.
    watches = watch_requests(api)
    api.drop_watches()
    util.wait_for(lambda: watch_requests(api) > watches, timeout=30, what="reconnect")
    api.modify("pods", moved(gb[0], host_repo, d2))
    util.wait_for(lambda: not stale(s, ref), timeout=30, what="change after the reconnect")

    # 4. History compacted while disconnected: the resume gets ERROR 410,
    #    serve relists and sees what changed meanwhile.
    api.compact()
    api.drop_watches()
    api.modify("pods", moved(gb[1], host_repo, d1))
    util.wait_for(lambda: stale(s, ref), timeout=30, what="change after the compaction")

    # 5. Bookmarks move the resume point; deletions remove the image.
    api.bookmark()
    for p in gb:
        api.delete("pods", p["metadata"]["namespace"], p["metadata"]["name"])
    util.wait_for(lambda: s.image(ref) is None, timeout=30, what="pods deleted")
    page = s.json("/api/v1/images/" + urllib.parse.quote(ref, safe=""))
    assert all(r["endedAt"] for r in page["history"]["runs"])
    assert "relist" in util.read_tail(s.log, 1 << 20) or "410" in util.read_tail(s.log, 1 << 20)
