"""verify-store against a real containerd: a clean node, a flipped byte in a
layer, a deleted blob, a tampered manifest, names that disagree with the
registry (store-mismatch), and containerd gone.

Each test starts its own containerd (temp root, state and socket), pulls an
image pushed to the session's test registry with `ctr images pull`, runs a
container from it when runc can start one here, then damages the content
store on disk the way a poisoned or failing node would.
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


@pytest.fixture
def pulled(containerd, registry, oci, unique_repo):
    """An image pushed to the registry and pulled into containerd, with a
    container made from it.  Returns (ref, manifest digest, manifest dict)."""
    img = oci.build(files={"/bin/sh": BUSYBOX, "/iw/nonce": secrets.token_hex(16) + "\n"})
    ref = registry.ref(unique_repo, "latest")
    digest = oci.push(img, ref)
    assert containerd.pull(ref) == digest
    containerd.run(ref, "app-" + secrets.token_hex(3))
    return ref, digest, containerd.manifest(ref)


@pytest.fixture
def cfg(tmp_path, registry):
    """Registry settings: the test registry speaks plain HTTP."""
    path = tmp_path / "imgwatch.yaml"
    path.write_text("registries:\n  %s: {insecure: true}\n" % json.dumps(registry.host))
    return str(path)


def verify(run_imgwatch, *args):
    r = run_imgwatch("verify-store", "-o", "json", *args,
                     env={"DOCKER_CONFIG": "/nonexistent/iw-docker-config"})
    assert r.returncode in (0, 1), r.stderr
    return r, json.loads(r.stdout)


def apply_fix(containerd, remediation):
    """Run a suggested fix against the test containerd: its socket is not the
    default one, and the test registry speaks plain HTTP."""
    import subprocess
    cmd = remediation.replace("ctr ", "ctr --address %s " % containerd.socket)
    cmd = cmd.replace(" images pull ", " images pull --plain-http ")
    subprocess.run(["sh", "-c", cmd], check=True, capture_output=True)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def test_clean_node_has_no_finding(containerd, pulled, run_imgwatch, cfg):
    ref, digest, manifest = pulled
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 0
    assert doc["kind"] == "StoreVerification"
    assert doc["findings"] == []
    assert doc["summary"]["images"] == 1
    # manifest + config + layers, all read and hashed
    assert doc["summary"]["blobs"] == 2 + len(manifest["layers"])
    layer_bytes = sum(l["size"] for l in manifest["layers"])
    assert doc["summary"]["bytes"] >= layer_bytes
    # The table says so too, and names are usable as REF arguments.
    t = run_imgwatch("verify-store", "--containerd", containerd.socket, "--config", cfg, ref, check=0)
    assert "no findings" in t.stdout


def test_clean_node_through_the_directory_too(containerd, pulled, run_imgwatch, cfg):
    ref, digest, manifest = pulled
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--root", containerd.root, "--config", cfg)
    assert r.returncode == 0 and doc["findings"] == []
    # --root alone: every manifest found and every blob checked.
    r, doc = verify(run_imgwatch, "--root", containerd.root)
    assert r.returncode == 0 and doc["findings"] == []
    assert doc["summary"]["images"] >= 1


@pytest.mark.parametrize("mode", ["api", "root", "root-only"])
def test_flipped_layer_byte_is_store_corrupt(containerd, pulled, run_imgwatch, mode):
    ref, digest, manifest = pulled
    layer = manifest["layers"][-1]["digest"]
    flip(containerd.blob_path(layer), manifest["layers"][-1]["size"] // 2)
    if mode == "api":
        args = ["--containerd", containerd.socket, "--offline"]
    elif mode == "root":
        args = ["--containerd", containerd.socket, "--root", containerd.root, "--offline"]
    else:
        args = ["--root", containerd.root, "--offline", "%s=%s" % (ref, digest)]
    r, doc = verify(run_imgwatch, *args)
    assert r.returncode == 1
    assert len(doc["findings"]) == 1
    f = doc["findings"][0]
    assert (f["check"], f["severity"], f["reason"], f["role"]) == ("store-corrupt", "critical", "hash", "layer")
    assert f["blob"] == layer and f["image"] == ref
    assert layer in f["message"] and ref in f["message"]
    # The table names blob and image as well.
    t = run_imgwatch("verify-store", *args)
    assert t.returncode == 1
    assert "store-corrupt" in t.stdout and layer in t.stdout and ref in t.stdout
    # The suggested fix repairs the store.
    assert f["remediation"] == ("ctr -n default content rm %s; ctr -n default images rm --sync %s && "
                                "ctr -n default images pull %s" % (layer, ref, ref))
    apply_fix(containerd, f["remediation"])
    r, doc = verify(run_imgwatch, *args)
    assert r.returncode == 0 and doc["findings"] == []


def test_deleted_blob_is_store_corrupt_missing(containerd, pulled, run_imgwatch):
    ref, digest, manifest = pulled
    layer = manifest["layers"][0]["digest"]
    os.unlink(containerd.blob_path(layer))
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["check"], f["reason"], f["blob"], f["image"]) == ("store-corrupt", "missing", layer, ref)
    assert f["remediation"].endswith("ctr -n default images pull " + ref)
    apply_fix(containerd, f["remediation"])
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 0 and doc["findings"] == []


def test_truncated_config_is_store_corrupt(containerd, pulled, run_imgwatch):
    ref, digest, manifest = pulled
    config = manifest["config"]["digest"]
    os.truncate(containerd.blob_path(config), manifest["config"]["size"] - 10)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--root", containerd.root, "--offline")
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["reason"], f["role"], f["blob"]) == ("truncated", "config", config)


def test_tampered_manifest_is_not_followed(containerd, pulled, run_imgwatch):
    ref, digest, manifest = pulled
    path = containerd.blob_path(digest)
    with open(path, "rb") as f:
        body = f.read()
    # Same length, other bytes: a poisoned manifest that would point elsewhere.
    with open(path, "wb") as f:
        f.write(body.replace(b'"schemaVersion"', b'"schemaVersioN"'))
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["reason"], f["role"], f["blob"]) == ("hash", "manifest", digest)


def test_other_image_imported_under_the_name_is_store_mismatch(containerd, pulled, oci, run_imgwatch, cfg):
    ref, digest, manifest = pulled
    local = oci.build(files={"/bin/sh": BUSYBOX, "/iw/nonce": "not what the registry has\n"})
    assert containerd.import_image(local.layout, ref) == local.digest
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["check"], f["severity"], f["reason"]) == ("store-mismatch", "critical", "digest-absent")
    assert f["image"] == ref and f["blob"] == local.digest
    assert local.digest in f["message"] and digest in f["message"]
    # Offline, the blobs alone are sound: nothing to report.
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 0 and doc["findings"] == []


def test_tag_moved_in_the_registry_is_store_mismatch(containerd, pulled, oci, registry, run_imgwatch, cfg):
    ref, digest, manifest = pulled
    newer = oci.push(oci.build(), ref)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["check"], f["reason"], f["image"], f["blob"]) == ("store-mismatch", "tag-moved", ref, digest)
    assert newer in f["message"]
    # Pulling again repairs it.
    containerd.pull(ref)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 0 and doc["findings"] == []


def test_registry_that_cannot_answer_is_unverified(containerd, oci, run_imgwatch, cfg):
    local = oci.build()
    name = "127.0.0.1:1/t/unreachable:1"
    containerd.import_image(local.layout, name)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 0  # medium is below the default --fail-on high
    [f] = doc["findings"]
    assert (f["check"], f["severity"], f["image"]) == ("unverified", "medium", name)
    r = run_imgwatch("verify-store", "--containerd", containerd.socket, "--config", cfg, "--fail-on", "medium",
                     env={"DOCKER_CONFIG": "/nonexistent/iw-docker-config"})
    assert r.returncode == 1 and "unverified" in r.stdout


def test_unknown_ref_is_a_usage_error(containerd, pulled, run_imgwatch):
    r = run_imgwatch("verify-store", "--containerd", containerd.socket, "127.0.0.1:1/nope:1")
    assert r.returncode == 2
    assert "no image named" in r.stderr


def test_containerd_stopped_is_exit_3(containerd, pulled, run_imgwatch):
    containerd.stop()
    r = run_imgwatch("verify-store", "--containerd", containerd.socket)
    assert r.returncode == 3
    assert "cannot reach containerd" in r.stderr and containerd.socket in r.stderr
    assert r.stdout == ""


def test_socket_that_is_not_containerd_is_exit_3(tmp_path, run_imgwatch):
    import socket as s
    path = "/tmp/iw-notctd-%s.sock" % secrets.token_hex(4)
    srv = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    try:
        # Nobody answers: the connection is accepted by the kernel, then closed.
        srv.close()
        r = run_imgwatch("verify-store", "--containerd", path, timeout=60)
        assert r.returncode == 3
        assert path in r.stderr
    finally:
        os.unlink(path)


def test_bad_usage(run_imgwatch, tmp_path):
    assert run_imgwatch("verify-store").returncode == 2
    assert run_imgwatch("verify-store", "--root", str(tmp_path), "-o", "yaml").returncode == 2
    assert run_imgwatch("verify-store", "--root", str(tmp_path), "--jobs", "0").returncode == 2
    r = run_imgwatch("verify-store", "--root", str(tmp_path))
    assert r.returncode == 2 and "blobs/sha256" in r.stderr
    r = run_imgwatch("verify-store", "--root", str(tmp_path / "nope"))
    assert r.returncode == 2


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_multi_arch_index_with_one_platform_pulled(containerd, registry, oci, unique_repo, run_imgwatch, cfg,
                                                   fmt):
    """containerd pulls only its platform of an index: the others are not
    damage; a damaged layer of the pulled platform is, named with the index's
    image name."""
    ref = registry.ref(unique_repo, "multi")
    index, children = oci.push_index(None, ref, format=fmt)
    assert containerd.pull(ref) == index
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--config", cfg)
    assert r.returncode == 0 and doc["findings"] == []
    assert doc["summary"]["skippedPlatformManifests"] == 1
    # index + amd64 manifest + config + layer
    assert doc["summary"]["blobs"] == 4
    with open(containerd.blob_path(children["linux/amd64"]), "rb") as f:
        manifest = json.load(f)
    layer = manifest["layers"][0]["digest"]
    flip(containerd.blob_path(layer), 7)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["reason"], f["blob"], f["image"]) == ("hash", layer, ref)


def test_big_layer_streams_in_chunks_through_the_api(containerd, registry, oci, unique_repo, run_imgwatch):
    """A layer of several MiB comes back as many Read messages; each must
    continue where the last ended."""
    img = oci.build(files={"/big": os.urandom(6 * 1024 * 1024)})
    ref = registry.ref(unique_repo, "big")
    digest = oci.push(img, ref)
    containerd.pull(ref)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 0 and doc["findings"] == []
    assert doc["summary"]["bytes"] > 6 * 1024 * 1024
    manifest = containerd.manifest(ref)
    layer = manifest["layers"][0]
    flip(containerd.blob_path(layer["digest"]), layer["size"] - 3)
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 1 and [f["blob"] for f in doc["findings"]] == [layer["digest"]]


def test_namespaces_are_verified_each_with_its_own_content(containerd, registry, oci, unique_repo,
                                                          run_imgwatch):
    a = registry.ref(unique_repo, "a")
    b = registry.ref(unique_repo, "b")
    oci.push(oci.build(), a)
    oci.push(oci.build(), b)
    containerd.pull(a, namespace="k8s.io")
    containerd.pull(b, namespace="default")
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 0 and doc["summary"]["images"] == 2
    layer = containerd.manifest(a, namespace="k8s.io")["layers"][0]["digest"]
    os.unlink(containerd.blob_path(layer))
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline", "--namespace", "default")
    assert r.returncode == 0 and doc["summary"]["images"] == 1
    r, doc = verify(run_imgwatch, "--containerd", containerd.socket, "--offline")
    assert r.returncode == 1
    [f] = doc["findings"]
    assert (f["namespace"], f["image"], f["reason"]) == ("k8s.io", a, "missing")
