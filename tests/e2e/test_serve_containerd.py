"""`imgwatch serve --containerd SOCK`: a real containerd (Debian package,
started here with temp root/state) as the source, the real docker-registry
posting its notifications to serve.  A new :latest pushed under a running
container is integrity-stale from the webhook; the container replaced by one
on the new digest resolves it.
"""

import os
import secrets

import pytest

from iwtest import util
from iwtest.containerd import Containerd
from iwtest.images import BUSYBOX

from test_serve import SECRET, Serve, findings_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root")


class NodeServe(Serve):
    def __init__(self, binary, workdir, port, registry_host, socket):
        super().__init__(binary, workdir, port, registry_host)
        self.socket = socket

    def start(self):
        argv = [self.binary, "--log-level", "info", "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--db", self.db_url, "--containerd", self.socket, "--poll", "1s", "--config", self.config,
                "--webhook-secret-file", self.secret_file, "--reresolve", "1h"]
        env = dict(os.environ, DOCKER_CONFIG=os.path.join(self.workdir, "no-docker-config"))
        self.proc = util.start_process(argv, self.log, env=env)
        util.wait_for(self.ready, timeout=60, what="serve /readyz")
        return self


def test_serve_containerd__push_under_a_running_container(imgwatch_bin, registry_factory, oci, unique_repo,
                                                          tmp_path):
    port = util.free_port()
    r = registry_factory(notifications_url="http://127.0.0.1:%d/webhooks/distribution" % port,
                         notifications_headers={"X-Imgwatch-Secret": SECRET})
    c = Containerd(str(tmp_path / "containerd"))
    c.start()
    s = None
    try:
        ref = r.ref(unique_repo, "latest")
        d1 = oci.push(oci.build(files={"/bin/sh": BUSYBOX, "/iw/n": secrets.token_hex(8)}), ref)
        assert c.pull(ref) == d1
        c.run(ref, "app")
        s = NodeServe(imgwatch_bin, str(tmp_path), port, r.host, c.socket).start()
        assert "integrity-stale" not in findings_of(s.image(ref))
        assert s.assessment()["source"] == "containerd:" + c.socket

        d2 = oci.push(oci.build(files={"/bin/sh": BUSYBOX, "/iw/n": secrets.token_hex(8)}), ref)
        util.wait_for(lambda: "integrity-stale" in findings_of(s.image(ref)), timeout=30, what="stale")
        assert s.image(ref)["runningDigests"] == [d1] and s.image(ref)["registryDigest"] == d2

        # The node replaces the container with one on the new digest.
        assert c.pull(ref) == d2
        c.ctr("tasks", "kill", "-s", "SIGKILL", "app", check=False)
        c.ctr("tasks", "rm", "-f", "app", check=False)
        c.ctr("containers", "rm", "app")
        c.run(ref, "app2")
        util.wait_for(lambda: "integrity-stale" not in findings_of(s.image(ref)), timeout=30, what="resolved")
        hist = s.json("/api/v1/history")
        res = [f for f in hist["findings"] if f["check"] == "integrity-stale" and f["resolvedAt"]]
        assert res and "containers changed" in res[0]["resolution"]
    finally:
        if s:
            s.stop()
        c.stop()
