"""`imgwatch assess --containerd SOCK`: the node's containers checked
against the registry exactly as the Kubernetes source is.  A clean node has
no integrity finding; a new :latest pushed after the node pulled the old one
is integrity-stale, seen from the node.
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


def build(oci):
    return oci.build(files={"/bin/sh": BUSYBOX, "/iw/nonce": secrets.token_hex(16) + "\n"})


def config(tmp_path, registry):
    path = tmp_path / "imgwatch.yaml"
    path.write_text("trustedRegistries: [%s]\nregistries:\n  %s: {insecure: true}\n"
                    % (json.dumps(registry.host), json.dumps(registry.host)))
    return str(path)


def assess(run_imgwatch, containerd, cfg, tmp_path):
    r = run_imgwatch("assess", "--containerd", containerd.socket, "--config", cfg, "-o", "json",
                     env={"DOCKER_CONFIG": str(tmp_path / "no-docker-config")})
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


def checks(doc, ref):
    for img in doc["images"]:
        if img["reference"] == ref:
            return sorted(f["check"] for f in img["findings"])
    return []


def test_clean_node_then_new_latest_is_stale(containerd, registry, oci, unique_repo, run_imgwatch,
                                             tmp_path):
    cfg = config(tmp_path, registry)
    ref = registry.ref(unique_repo, "1.0")
    d1 = oci.push(build(oci), ref)
    assert containerd.pull(ref) == d1
    containerd.run(ref, "app")
    rc, doc = assess(run_imgwatch, containerd, cfg, tmp_path)
    assert rc == 0, doc
    assert doc["source"] == "containerd:" + containerd.socket
    assert doc["summary"]["containers"] == 1
    assert not [c for c in checks(doc, ref) if c.startswith("integrity")]

    latest = registry.ref(unique_repo, "latest")
    old = oci.push(build(oci), latest)
    assert containerd.pull(latest) == old
    containerd.run(latest, "web")
    new = oci.push(build(oci), latest)
    assert new != old
    rc, doc = assess(run_imgwatch, containerd, cfg, tmp_path)
    assert rc == 1
    assert "integrity-stale" in checks(doc, latest)
    [img] = [i for i in doc["images"] if i["reference"] == latest]
    assert img["runningDigests"] == [old] and img["registryDigest"] == new
    # The pinned 1.0 next to it stays clean.
    assert not [c for c in checks(doc, ref) if c.startswith("integrity")]


def test_image_the_registry_never_held_is_unknown(containerd, registry, oci, unique_repo, run_imgwatch,
                                                 tmp_path):
    """An image imported on the node under a registry name, never pushed:
    a poisoned cache as assess sees it."""
    cfg = config(tmp_path, registry)
    ref = registry.ref(unique_repo, "2.0")
    oci.push(build(oci), ref)
    local = build(oci)
    assert containerd.import_image(local.layout, ref) == local.digest
    containerd.run(ref, "poisoned")
    rc, doc = assess(run_imgwatch, containerd, cfg, tmp_path)
    assert rc == 1
    assert "integrity-unknown" in checks(doc, ref)


def test_unreachable_containerd_is_exit_3(run_imgwatch, tmp_path):
    r = run_imgwatch("assess", "--containerd", str(tmp_path / "nope.sock"), "-o", "json")
    assert r.returncode == 3
    assert "nope.sock" in r.stderr


def test_container_left_on_old_layers_after_a_new_pull_is_not_clean(containerd, registry, oci, unique_repo,
                                                                    run_imgwatch, tmp_path):
    """The node pulled the new :latest, but the running container still sits
    on the old image's layers, which no image holds any more: assess must not
    call it current (the record says the digest is unknown: unverified)."""
    cfg = config(tmp_path, registry)
    latest = registry.ref(unique_repo, "latest")
    oci.push(build(oci), latest)
    containerd.pull(latest)
    containerd.run(latest, "web")
    new = oci.push(build(oci), latest)
    assert containerd.pull(latest) == new
    rc, doc = assess(run_imgwatch, containerd, cfg, tmp_path)
    [img] = [i for i in doc["images"] if i["reference"] == latest]
    assert new not in img["runningDigests"]
    [f] = [f for f in img["findings"] if f["check"] == "unverified"]
    assert "no local image" in f["message"]
