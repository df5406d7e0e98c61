"""A real containerd for the node-agent tests.

Containerd(workdir).start() runs Debian's containerd as root with its root and
state under workdir and its gRPC socket in a short temp dir (unix socket paths
are limited to 108 bytes); the CRI plugin is disabled.  ctr() drives it with
`ctr --address SOCK`.  stop() kills every task, deletes every container,
stops containerd, unmounts whatever it left mounted under its dirs and checks
that no shim is left running.

Whether containers can really start depends on the machine (runc needs
cgroups and namespaces); can_run() tries once and caches the answer, so tests
that need a running task can skip with the reason instead of failing.
"""

import os
import shutil
import subprocess
import tempfile

from . import util

CONFIG = """version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""
"""


class Containerd:
    """One containerd.  Attributes: root, state, socket, log_path, content_dir."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        self.state = os.path.join(workdir, "state")
        self.sockdir = tempfile.mkdtemp(prefix="iwctd-", dir="/tmp")
        self.socket = os.path.join(self.sockdir, "containerd.sock")
        self.log_path = os.path.join(workdir, "containerd.log")
        self.config_path = os.path.join(workdir, "config.toml")
        self.content_dir = os.path.join(self.root, "io.containerd.content.v1.content", "blobs", "sha256")
        self.proc = None
        self._can_run = None

    def start(self, timeout=30.0):
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(root=self.root, state=self.state, socket=self.socket))
        self.proc = util.start_process(["containerd", "--config", self.config_path], self.log_path)

        def ready():
            if self.proc.poll() is not None:
                raise util.GiveUp("containerd exited %d: %s" % (self.proc.returncode,
                                                                 util.read_tail(self.log_path, 2000)))
            r = self.ctr("version", check=False)
            return r.returncode == 0

        util.wait_for(ready, timeout=timeout, what="containerd on " + self.socket)
        return self

    def ctr(self, *args, namespace="default", check=True, timeout=120):
        """Run `ctr --address SOCK -n NS ARGS...`; return the CompletedProcess."""
        argv = ["ctr", "--address", self.socket, "-n", namespace] + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s %s" % (" ".join(argv), r.returncode,
                                                               r.stderr.strip(), r.stdout.strip()))
        return r

    def pull(self, ref, namespace="default"):
        """Pull ref from a plain-HTTP test registry; return the image's target digest."""
        self.ctr("images", "pull", "--plain-http", ref, namespace=namespace)
        return self.image_digest(ref, namespace=namespace)

    def import_image(self, layout, name, namespace="default"):
        """Import an OCI layout ("oci:DIR:TAG") under image name, replacing
        any image of that name (`ctr images import`); return its digest."""
        tar = os.path.join(self.workdir, "import-%s.tar" % os.urandom(4).hex())
        subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", layout,
                        "oci-archive:%s:%s" % (tar, name)], check=True, capture_output=True)
        self.ctr("images", "import", tar, namespace=namespace)
        os.unlink(tar)
        return self.image_digest(name, namespace=namespace)

    def image_digest(self, name, namespace="default"):
        """The target digest of image name, or None."""
        out = self.ctr("images", "ls", namespace=namespace).stdout.splitlines()
        for line in out[1:]:
            parts = line.split()
            if parts and parts[0] == name:
                return parts[2]
        return None

    def blob_path(self, digest):
        return os.path.join(self.content_dir, digest.split(":", 1)[1])

    def manifest(self, name, namespace="default"):
        """The manifest (a dict) of a pulled single-platform image."""
        import json
        with open(self.blob_path(self.image_digest(name, namespace=namespace)), "rb") as f:
            return json.load(f)

    def can_run(self):
        """Whether `ctr run -d` can start a container on this machine; cached."""
        return self._can_run

    def run(self, image, name, namespace="default", labels=None, args=("/bin/sh", "-c", "sleep 3600")):
        """Start a container (a task) with `ctr run -d`; return True if it runs.

        When runc cannot start containers here, the container is created
        without a task instead (`ctr containers create`) and False is returned.
        """
        lab = []
        for k, v in (labels or {}).items():
            lab += ["--label", "%s=%s" % (k, v)]
        if self._can_run is not False:
            r = self.ctr("run", "-d", *lab, image, name, *args, namespace=namespace, check=False,
                         timeout=60)
            if r.returncode == 0:
                self._can_run = True
                return True
            self._can_run = False
            # A failed run may leave the container behind.
            self.ctr("containers", "rm", name, namespace=namespace, check=False)
        self.ctr("containers", "create", *lab, image, name, *args, namespace=namespace)
        return False

    def namespaces(self):
        out = self.ctr("namespaces", "ls", "-q", check=False).stdout.split()
        return out or ["default"]

    def _cleanup_containers(self):
        for ns in self.namespaces():
            tasks = self.ctr("tasks", "ls", "-q", namespace=ns, check=False).stdout.split()
            for t in tasks:
                self.ctr("tasks", "kill", "-s", "SIGKILL", t, namespace=ns, check=False)
            for t in tasks:
                try:
                    util.wait_for(lambda: "STOPPED" in self.ctr("tasks", "ls", namespace=ns,
                                                                check=False).stdout
                                  or t not in self.ctr("tasks", "ls", "-q", namespace=ns,
                                                       check=False).stdout,
                                  timeout=10, what="task %s to stop" % t)
                except TimeoutError:
                    pass
                self.ctr("tasks", "rm", "-f", t, namespace=ns, check=False)
            for c in self.ctr("containers", "ls", "-q", namespace=ns, check=False).stdout.split():
                self.ctr("containers", "rm", c, namespace=ns, check=False)

    def _unmount_leftovers(self):
        mounts = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp.startswith(self.workdir + "/") or mp.startswith(self.sockdir + "/"):
                    mounts.append(mp)
        for mp in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._cleanup_containers()
            finally:
                util.stop_process(self.proc)
        elif self.proc is not None:
            util.stop_process(self.proc)
        self._unmount_leftovers()
        for pid in util.pgrep(self.socket):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
