"""podman's Docker-compatible API service, for the Docker Engine source.

Podman(workdir).start() runs `podman system service --time=0` with its own
storage root, run root and temp dir under workdir, listening on a unix
socket in a short temp dir.  podman() runs the podman CLI on the same
storage (to pull from the test registry and create containers).  Here podman
can create containers but usually not start them (runc cannot set rlimits
in this sandbox), which is enough: the API lists created containers too.
"""

import os
import shutil
import subprocess
import tempfile

from . import util


class Podman:
    def __init__(self, workdir):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        # podman wants a run root of at most 50 characters: it lives with
        # the socket in a short temp dir.
        self.sockdir = tempfile.mkdtemp(prefix="iwpdm-", dir="/tmp")
        self.runroot = os.path.join(self.sockdir, "run")
        self.tmpdir = os.path.join(workdir, "tmp")
        self.socket = os.path.join(self.sockdir, "podman.sock")
        self.log_path = os.path.join(workdir, "podman.log")
        self.proc = None

    def _base(self):
        return ["podman", "--root", self.root, "--runroot", self.runroot, "--tmpdir", self.tmpdir,
                "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def start(self, timeout=30.0):
        for d in (self.root, self.runroot, self.tmpdir):
            os.makedirs(d, exist_ok=True)
        self.proc = util.start_process(self._base() + ["system", "service", "--time=0",
                                                       "unix://" + self.socket], self.log_path)

        def ready():
            if self.proc.poll() is not None:
                raise util.GiveUp("podman exited %d: %s" % (self.proc.returncode,
                                                             util.read_tail(self.log_path, 2000)))
            r = subprocess.run(["curl", "-sf", "--unix-socket", self.socket, "http://d/v1.40/version"],
                               capture_output=True)
            return r.returncode == 0

        util.wait_for(ready, timeout=timeout, what="podman service on " + self.socket)
        return self

    def podman(self, *args, check=True, timeout=120):
        argv = self._base() + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
        return r

    def stop(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.podman("rm", "-af", check=False, timeout=60)
        finally:
            util.stop_process(self.proc)
            subprocess.run(self._base() + ["system", "reset", "--force"], capture_output=True, timeout=60)
            for pid in util.pgrep(self.runroot):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            with open("/proc/self/mountinfo") as f:
                mounts = [line.split()[4] for line in f
                          if line.split()[4].startswith((self.workdir + "/", self.sockdir + "/"))]
            for mp in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", mp], capture_output=True)
            shutil.rmtree(self.sockdir, ignore_errors=True)
