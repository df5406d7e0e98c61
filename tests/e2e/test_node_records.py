"""containerd as a source of container records (`imgwatch list --containerd`):
CRI labels give pod, namespace and container names; plain containers are
named by their ID in their containerd namespace; the running digest is the
target of the image name; the state comes from the task.
"""

import json
import os
import secrets

import pytest

from iwtest.containerd import Containerd
from iwtest.images import BUSYBOX

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root")


@pytest.fixture
def containerd(tmp_path):
    c = Containerd(str(tmp_path / "containerd"))
    try:
        yield c.start()
    finally:
        c.stop()


def image_in(containerd, registry, oci, repo, namespace="default"):
    img = oci.build(files={"/bin/sh": BUSYBOX, "/iw/nonce": secrets.token_hex(16) + "\n"})
    ref = registry.ref(repo, "latest")
    digest = oci.push(img, ref)
    assert containerd.pull(ref, namespace=namespace) == digest
    return ref, digest


def list_json(run_imgwatch, *args):
    r = run_imgwatch("list", "-o", "json", *args, check=0)
    doc = json.loads(r.stdout)
    assert doc["kind"] == "ContainerList" and doc["complete"] is True
    return doc["items"]


def test_cri_and_plain_containers_become_records(containerd, registry, oci, unique_repo, run_imgwatch):
    ref, digest = image_in(containerd, registry, oci, unique_repo, namespace="k8s.io")
    ref2, digest2 = image_in(containerd, registry, oci, unique_repo + "-plain")
    cri = {
        "io.kubernetes.pod.name": "web-5d8f-abcde",
        "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.container.name": "app",
        "io.cri-containerd.kind": "container",
    }
    running = containerd.run(ref, "c-cri", namespace="k8s.io", labels=cri)
    containerd.run(ref2, "c-plain")
    # A CRI sandbox (pause container) is not a workload container.
    containerd.ctr("containers", "create", "--label", "io.cri-containerd.kind=sandbox", ref, "sandbox-1",
                   namespace="k8s.io")

    items = list_json(run_imgwatch, "--containerd", containerd.socket)
    by_container = {i["container"]: i for i in items}
    assert set(by_container) == {"app", "c-plain"}

    a = by_container["app"]
    assert a["namespace"] == "shop" and a["pod"] == "web-5d8f-abcde"
    assert a["workload"] == {"kind": "Pod", "name": "web-5d8f-abcde"}
    assert a["image"] == ref
    assert a["imageID"]["kind"] == "repo-digest"
    assert a["imageID"]["digest"] == digest
    assert a["imageID"]["repository"] == ref.rsplit(":", 1)[0]
    assert a["source"] == "containerd:" + containerd.socket
    assert a["state"] == ("running" if running else "waiting")

    p = by_container["c-plain"]
    assert p["namespace"] == "default"
    assert p["workload"] == {"kind": "Container", "name": "c-plain"}
    assert p["imageID"]["digest"] == digest2

    # -n limits the listing to one containerd namespace.
    only = list_json(run_imgwatch, "--containerd", containerd.socket, "-n", "default")
    assert [i["container"] for i in only] == ["c-plain"]


def test_stopped_task_is_terminated(containerd, registry, oci, unique_repo, run_imgwatch):
    ref, digest = image_in(containerd, registry, oci, unique_repo)
    if not containerd.run(ref, "short", args=("/bin/sh", "-c", "exit 0")):
        pytest.skip("runc cannot start containers on this machine")
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "STOPPED" in containerd.ctr("tasks", "ls").stdout:
            break
        time.sleep(0.1)
    [item] = list_json(run_imgwatch, "--containerd", containerd.socket)
    assert item["state"] == "terminated"


def test_image_repointed_after_start_is_not_taken_for_the_new_one(containerd, registry, oci, unique_repo,
                                                                   run_imgwatch):
    """containerd keeps only the image name per container.  The record must
    say what the container really runs (the image whose layers its snapshot
    sits on), not what the name points to after a new pull."""
    ref, old = image_in(containerd, registry, oci, unique_repo)
    containerd.run(ref, "c1")
    # Keep the old image under a second name, then pull a new one under the first.
    keep = registry.ref(unique_repo, "kept")
    containerd.ctr("images", "tag", ref, keep)
    ref2, new = image_in(containerd, registry, oci, unique_repo)
    assert ref2 == ref and new != old
    [item] = list_json(run_imgwatch, "--containerd", containerd.socket)
    assert item["image"] == ref
    assert item["imageID"]["digest"] == old
    assert item["imageID"]["repository"] == ref.rsplit(":", 1)[0]

    # Without any image holding the old layers, the digest is unknown: never
    # the new digest, which would pass a stale container as current.
    containerd.ctr("images", "rm", keep)
    r = run_imgwatch("list", "--containerd", containerd.socket, "-o", "json", check=0)
    [item] = json.loads(r.stdout)["items"]
    assert item["imageID"]["kind"] == "unknown"
    assert item["imageID"]["digest"] is None
    assert "no image" in r.stderr


def test_unreachable_containerd_is_exit_3(run_imgwatch):
    r = run_imgwatch("list", "--containerd", "/tmp/iw-no-such-containerd.sock")
    assert r.returncode == 3
    assert "/tmp/iw-no-such-containerd.sock" in r.stderr
