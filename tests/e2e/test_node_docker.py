"""The Docker Engine API source (`--docker SOCK`), against podman's
Docker-compatible service: containers with their images' RepoDigests become
records; Kubernetes labels name pods; a stale :latest is found by assess.
"""

import json
import os
import secrets

import pytest

from iwtest.images import BUSYBOX
from iwtest.podman import Podman

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman's service runs as root here")


@pytest.fixture
def podman(tmp_path):
    p = Podman(str(tmp_path / "podman"))
    try:
        yield p.start()
    finally:
        p.stop()


def push(oci, registry, repo, tag):
    img = oci.build(files={"/bin/sh": BUSYBOX, "/iw/nonce": secrets.token_hex(16) + "\n"})
    ref = registry.ref(repo, tag)
    return ref, oci.push(img, ref)


def test_containers_become_records(podman, registry, oci, unique_repo, run_imgwatch):
    ref, digest = push(oci, registry, unique_repo, "1.0")
    podman.podman("pull", "-q", "--tls-verify=false", ref)
    podman.podman("create", "--name", "plain", ref, "/bin/sh", "-c", "sleep 1000")
    podman.podman("create", "--name", "k8s_app_web-1", "--label", "io.kubernetes.pod.name=web-1",
                  "--label", "io.kubernetes.pod.namespace=shop", "--label", "io.kubernetes.container.name=app",
                  ref, "/bin/sh")
    podman.podman("create", "--name", "k8s_POD_web-1", "--label", "io.kubernetes.docker.type=podsandbox",
                  ref, "/bin/sh")
    r = run_imgwatch("list", "--docker", podman.socket, "-o", "json", check=0)
    doc = json.loads(r.stdout)
    assert doc["complete"] is True
    by = {i["container"]: i for i in doc["items"]}
    assert set(by) == {"plain", "app"}
    p = by["plain"]
    assert p["namespace"] == "docker" and p["workload"] == {"kind": "Container", "name": "plain"}
    assert p["image"] == ref
    assert p["imageID"]["kind"] == "repo-digest"
    assert p["imageID"]["raw"] == "docker-pullable://%s@%s" % (ref.rsplit(":", 1)[0], digest)
    assert p["imageID"]["digest"] == digest
    assert p["source"] == "docker:" + podman.socket
    a = by["app"]
    assert (a["namespace"], a["pod"], a["workload"]["kind"]) == ("shop", "web-1", "Pod")


def test_stale_latest_seen_through_docker(podman, registry, oci, unique_repo, run_imgwatch, tmp_path):
    ref, old = push(oci, registry, unique_repo, "latest")
    podman.podman("pull", "-q", "--tls-verify=false", ref)
    podman.podman("create", "--name", "web", ref, "/bin/sh")
    _, new = push(oci, registry, unique_repo, "latest")
    cfg = tmp_path / "imgwatch.yaml"
    cfg.write_text("registries:\n  %s: {insecure: true}\n" % json.dumps(registry.host))
    r = run_imgwatch("assess", "--docker", podman.socket, "--config", str(cfg), "-o", "json",
                     env={"DOCKER_CONFIG": str(tmp_path / "none")})
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    [img] = [i for i in doc["images"] if i["reference"] == ref]
    assert "integrity-stale" in [f["check"] for f in img["findings"]]
    assert img["runningDigests"] == [old] and img["registryDigest"] == new


def test_unreachable_engine_is_exit_3(run_imgwatch, tmp_path):
    r = run_imgwatch("list", "--docker", str(tmp_path / "docker.sock"))
    assert r.returncode == 3
    assert "docker.sock" in r.stderr
