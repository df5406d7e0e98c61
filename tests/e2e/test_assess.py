"""End-to-end tests of `imgwatch assess` against the real docker-registry.

Each acceptance scenario of the assessment builds images with umoci, pushes
them with skopeo, writes the cluster state as a pods file (what `kubectl get
pods,replicasets -A -o json` prints) and asserts the exact findings, so a
false positive fails as surely as a miss.  Every JSON document is validated
against docs/schema/assessment-v1.schema.json, and suggested kubectl
commands are run with --local against the workload's manifest.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import time

import jsonschema
import pytest

import assesslib as al
from iwtest import util

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(REPO_ROOT, "docs", "schema", "assessment-v1.schema.json")) as _f:
    SCHEMA = json.load(_f)
with open(os.path.join(REPO_ROOT, "docs", "schema", "sarif-2.1.0-subset.schema.json")) as _f:
    SARIF_SCHEMA = json.load(_f)


def random_digest():
    return "sha256:" + secrets.token_hex(32)


def pullable(host_repo, digest):
    return "docker-pullable://%s@%s" % (host_repo, digest)


@pytest.fixture
def assess(run_imgwatch, tmp_path):
    """assess(cluster, config_path, *args, check=None) -> (returncode, doc, CompletedProcess)."""

    def run(cluster, config, *args, check=None):
        pods = cluster.write(str(tmp_path / ("pods-%s.json" % secrets.token_hex(3))))
        argv = ["assess", "--from-file", pods, "-o", "json"]
        if config:
            argv += ["--config", config]
        r = run_imgwatch(*argv, *args, check=check,
                         env={"DOCKER_CONFIG": str(tmp_path / "no-docker-config")})
        assert r.stdout, r.stderr
        doc = json.loads(r.stdout)
        jsonschema.validate(doc, SCHEMA)
        return r.returncode, doc, r

    return run


def image_of(doc, ref):
    for img in doc["images"]:
        if img["reference"] == ref:
            return img
    raise AssertionError("%s not in %s" % (ref, [i["reference"] for i in doc["images"]]))


def finding_of(img, check):
    found = [f for f in img["findings"] if f["check"] == check]
    assert len(found) == 1, "%s: %s" % (check, img["findings"])
    return found[0]


def test_assess__green_burrito_stale_then_fixed(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":latest"
    v1 = oci.push(oci.build(labels={"org.opencontainers.image.source": "https://git.example.com/green-burrito",
                                    "org.opencontainers.image.revision": "v1-rev"}), ref)
    cluster = al.Cluster().deployment("shop", "green-burrito", ref, [pullable(host_repo, v1)] * 2,
                                      "IfNotPresent")
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg)
    # Before the push everything runs what the tag names: only the tag policy findings.
    assert al.findings(doc) == {ref: [("moving-tag", "medium"), ("pull-policy", "medium")]}
    assert rc == 0

    v2 = oci.push(oci.build(labels={"org.opencontainers.image.source": "https://git.example.com/green-burrito",
                                    "org.opencontainers.image.revision": "v2-rev",
                                    "org.opencontainers.image.authors": "team-burrito@example.com"}), ref)
    assert v2 != v1
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {ref: [("integrity-stale", "high"), ("moving-tag", "medium"),
                                      ("pull-policy", "medium")]}
    assert rc == 1
    img = image_of(doc, ref)
    assert img["severity"] == "high"
    assert img["runningDigests"] == [v1]
    assert img["registryDigest"] == v2
    assert img["registry"] == registry.host and img["repository"] == unique_repo and img["tag"] == "latest"
    assert img["workloads"] == [{"namespace": "shop", "kind": "Deployment", "name": "green-burrito",
                                 "container": "app", "containerType": "app", "pods": 2,
                                 "nodes": ["node-1", "node-2"], "imagePullPolicy": "IfNotPresent"}]
    # Lineage is what the registry's current image says.
    assert img["source"]["url"] == "https://git.example.com/green-burrito"
    assert img["source"]["revision"] == "v2-rev"
    assert img["source"]["authors"] == "team-burrito@example.com"
    stale = finding_of(img, "integrity-stale")
    assert v1 in stale["message"] and v2 in stale["message"]
    assert stale["workloads"] == ["shop/Deployment/green-burrito"]

    # Every kubectl command suggested works on the workload's manifest.
    manifest = cluster.write_manifest(str(tmp_path / "deploy.json"), "shop", "Deployment", "green-burrito")
    cmds = al.kubectl_commands(stale["remediation"])
    assert len(cmds) == 2
    forward = al.run_local(cmds[0], manifest)
    assert forward["spec"]["template"]["spec"]["containers"][0]["image"] == "%s@%s" % (host_repo, v2)
    freeze = al.run_local(cmds[1], manifest)
    assert freeze["spec"]["template"]["spec"]["containers"][0]["image"] == "%s@%s" % (host_repo, v1)
    pp = al.kubectl_commands(finding_of(img, "pull-policy")["remediation"])
    patched = al.run_local(pp[-1], manifest)
    assert patched["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert patched["spec"]["template"]["spec"]["containers"][0]["image"] == ref

    # Apply the roll-forward as a rollout would: new spec, pods run v2.
    cluster.set_running("shop", "green-burrito", image="%s@%s" % (host_repo, v2),
                        image_id=pullable(host_repo, v2))
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {}
    assert doc["findings"] == []
    assert rc == 0


def test_assess__digest_the_registry_never_held(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":1.0"
    oci.push(oci.build(), ref)
    never = random_digest()
    cluster = al.Cluster().deployment("pay", "checkout", ref, [pullable(host_repo, never)], "Always")
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {ref: [("integrity-unknown", "critical"), ("moving-tag", "low"),
                                      ("pull-policy", "low")]}
    assert rc == 1
    f = finding_of(image_of(doc, ref), "integrity-unknown")
    assert never in f["message"]
    assert "verify-store" in f["remediation"]


def test_assess__spec_pinned_x_runtime_y(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    x = oci.push(oci.build(), host_repo + ":x")
    y = oci.push(oci.build(), host_repo + ":y")
    pinned = "%s@%s" % (host_repo, x)
    cluster = al.Cluster().deployment("pay", "ledger", pinned, [pullable(host_repo, y)])
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg)
    # y exists in the registry, but the spec pins x: critical, and nothing else.
    assert al.findings(doc) == {pinned: [("integrity-unknown", "critical")]}
    f = finding_of(image_of(doc, pinned), "integrity-unknown")
    assert x in f["message"] and y in f["message"]
    assert "kubectl -n pay rollout restart deployment/ledger" in f["remediation"]
    # `rollout restart` has no --local form: run it against a minimal API server.
    with al.WorkloadAPI([cluster.manifests[("pay", "Deployment", "ledger")]]) as api:
        for cmd in al.kubectl_commands(f["remediation"]):
            api.run(cmd, str(tmp_path))
        assert len(api.patches) == 1
        path, ctype, body = api.patches[0]
        assert path == "/apis/apps/v1/namespaces/pay/deployments/ledger"
        assert ctype == "application/strategic-merge-patch+json"
        assert "kubectl.kubernetes.io/restartedAt" in body["spec"]["template"]["metadata"]["annotations"]
    # The same pods running x are clean.
    cluster2 = al.Cluster().deployment("pay", "ledger", pinned, [pullable(host_repo, x)])
    rc, doc, _ = assess(cluster2, cfg)
    assert al.findings(doc) == {} and rc == 0


def test_assess__replica_drift(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":stable"
    old = oci.push(oci.build(), ref)
    new = oci.push(oci.build(), ref)
    cluster = al.Cluster().deployment("web", "front", ref,
                                      [pullable(host_repo, new), pullable(host_repo, old),
                                       pullable(host_repo, new)], "IfNotPresent")
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {ref: [("digest-drift", "high"), ("integrity-stale", "high"),
                                      ("moving-tag", "medium"), ("pull-policy", "medium")]}
    img = image_of(doc, ref)
    drift = finding_of(img, "digest-drift")
    assert old in drift["message"] and new in drift["message"]
    assert "(2)" in drift["message"] and "(1)" in drift["message"]
    manifest = cluster.write_manifest(str(tmp_path / "front.json"), "web", "Deployment", "front")
    out = al.run_local(al.kubectl_commands(drift["remediation"])[0], manifest)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "%s@%s" % (host_repo, new)
    # Drift needs no registry: --offline still sees it.
    rc, doc, _ = assess(cluster, cfg, "--offline")
    assert al.findings(doc) == {ref: [("digest-drift", "high"), ("moving-tag", "medium"),
                                      ("pull-policy", "medium")]}
    assert [f["check"] for f in doc["findings"]] == ["unverified"]
    assert doc["findings"][0]["severity"] == "info"


def test_assess__untrusted_registries_and_lookalikes(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    good = oci.push(oci.build(), host_repo + ":1")
    d1, d2, d3 = random_digest(), random_digest(), random_digest()
    evil_hub = "docker.io.evil.com/library/nginx@" + d1
    evil_gcr = "gcr.io.evil.com/distroless/static@" + d2
    other = "quay.io/someone/tool@" + d3
    trusted_ref = "%s@%s" % (host_repo, good)
    cluster = (al.Cluster()
               .deployment("web", "hub", evil_hub, [pullable("docker.io.evil.com/library/nginx", d1)])
               .deployment("web", "gcr", evil_gcr, [pullable("gcr.io.evil.com/distroless/static", d2)])
               .deployment("web", "quay", other, [pullable("quay.io/someone/tool", d3)])
               .deployment("web", "ours", trusted_ref, [pullable(host_repo, good)]))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host,
                          trusted=[registry.host, "docker.io", "gcr.io"])
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {evil_hub: [("untrusted-registry", "high")],
                                evil_gcr: [("untrusted-registry", "high")],
                                other: [("untrusted-registry", "high")]}
    assert rc == 1
    for ref in (evil_hub, evil_gcr, other):
        # An untrusted registry is never asked: its answer would prove nothing.
        assert image_of(doc, ref)["registryDigest"] is None
    f = finding_of(image_of(doc, evil_hub), "untrusted-registry")
    assert ("skopeo copy --all docker://%s docker://%s/library/nginx:pinned" % (evil_hub, registry.host)
            in f["remediation"])
    manifest = cluster.write_manifest(str(tmp_path / "hub.json"), "web", "Deployment", "hub")
    out = al.run_local(al.kubectl_commands(f["remediation"])[0], manifest)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "%s/library/nginx@%s" % (registry.host, d1)


@pytest.mark.parametrize("lineage", ["lineage", "no-lineage"])
def test_assess__multi_arch_children(registry, oci, unique_repo, assess, tmp_path, lineage):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":2.0"
    _, old_children = oci.push_index(None, ref)
    index, children = oci.push_index(None, ref)
    assert set(children) == {"linux/amd64", "linux/arm64"}
    cluster = (al.Cluster()
               .deployment("app", "amd", ref, [pullable(host_repo, children["linux/amd64"])], "Always")
               .deployment("app", "arm", ref, [pullable(host_repo, children["linux/arm64"])], "Always")
               .deployment("app", "old", ref, [pullable(host_repo, old_children["linux/arm64"])], "Always")
               .deployment("app", "idx", ref, [pullable(host_repo, index)], "Always")
               # A docker node reports the config digest of its platform's child.
               .deployment("app", "dockerd", ref,
                           ["docker://" + oci.config_digest("%s@%s" % (host_repo, children["linux/arm64"]))],
                           "Always")
               # One Deployment over amd64 and arm64 nodes: one image, no drift.
               .deployment("app", "mixed", ref, [pullable(host_repo, children["linux/amd64"]),
                                                 pullable(host_repo, children["linux/arm64"])], "Always"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg, *(["--no-lineage"] if lineage == "no-lineage" else []))
    assert al.findings(doc) == {ref: [("integrity-stale", "high"), ("moving-tag", "low"),
                                      ("pull-policy", "low")]}
    img = image_of(doc, ref)
    stale = finding_of(img, "integrity-stale")
    # Only the pod on a child of the older index is stale.
    assert stale["workloads"] == ["app/Deployment/old"]
    assert old_children["linux/arm64"] in stale["message"]
    assert img["registryDigest"] == index


@pytest.mark.parametrize("lineage", ["lineage", "no-lineage"])
def test_assess__docker_config_ids(registry, oci, unique_repo, assess, tmp_path, lineage):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    match_ref, old_ref, never_ref = host_repo + ":match", host_repo + ":old", host_repo + ":never"
    oci.push(oci.build(), match_ref)
    match_cfg = oci.config_digest(match_ref)
    oci.push(oci.build(), old_ref)
    old_cfg = oci.config_digest(old_ref)
    oci.push(oci.build(), old_ref)
    oci.push(oci.build(), never_ref)
    never_cfg = random_digest()
    cluster = (al.Cluster()
               .deployment("d", "match", match_ref, ["docker://" + match_cfg], "Always")
               .deployment("d", "old", old_ref, ["docker://" + old_cfg], "Always")
               .deployment("d", "never", never_ref, ["docker://" + never_cfg], "Always"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host],
                          extra="severity: {moving-tag: info, pull-policy: info}")
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "low", *(["--no-lineage"] if lineage == "no-lineage" else []))
    tag_info = [("moving-tag", "info"), ("pull-policy", "info")]
    assert al.findings(doc) == {match_ref: tag_info,
                                old_ref: [("integrity-stale", "high")] + tag_info,
                                never_ref: [("integrity-unknown", "critical")] + tag_info}
    assert rc == 1
    assert old_cfg in finding_of(image_of(doc, old_ref), "integrity-stale")["message"]
    # Riskiest first.
    assert [i["reference"] for i in doc["images"]] == [never_ref, old_ref, match_ref]


def test_assess__registry_down_is_unverified(oci, assess, tmp_path):
    from iwtest.util import free_port
    host = "127.0.0.1:%d" % free_port()
    ref = "%s/app/api:1.4" % host
    cluster = al.Cluster().deployment("api", "api", ref, [pullable(host + "/app/api", random_digest())],
                                      "Always")
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), host, trusted=[host],
                          extra="severity: {moving-tag: info, pull-policy: info}")
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "medium", "--timeout", "50")
    assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info"),
                                      ("unverified", "medium")]}
    assert rc == 1
    f = finding_of(image_of(doc, ref), "unverified")
    assert "network" in f["message"]
    assert "curl -sI http://%s/v2/" % host in f["remediation"]
    rc, doc, _ = assess(cluster, cfg)
    assert rc == 0  # medium is below the default --fail-on high


def test_assess__auth_refused_is_unverified(registry_factory, oci, assess, tmp_path):
    reg = registry_factory("htpasswd")
    ref = reg.ref("t/private", "1.0")
    d = oci.push(oci.build(), ref, creds=reg.creds, ca=reg.ca_path)
    host_repo = "%s/t/private" % reg.host
    cluster = al.Cluster().deployment("p", "private", ref, [pullable(host_repo, d)], "Always")
    cfg = str(tmp_path / "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("trustedRegistries: [%s]\nseverity: {moving-tag: info, pull-policy: info}\n" % json.dumps(reg.host))
        f.write("registries:\n  %s: {%s}\n" % (
            json.dumps(reg.host), ("ca: %s" % reg.ca_path) if reg.ca_path else "insecure: true"))
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "medium")
    assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info"),
                                      ("unverified", "medium")]}
    assert rc == 1
    f = finding_of(image_of(doc, ref), "unverified")
    assert "auth" in f["message"]
    assert "docker login %s" % reg.host in f["remediation"]


def _remove_tag(registry, repo, tag):
    path = os.path.join(registry.storage, "docker", "registry", "v2", "repositories", repo,
                        "_manifests", "tags", tag)
    assert os.path.isdir(path), path
    shutil.rmtree(path)


def test_assess__tag_deleted_while_running(registry, oci, unique_repo, assess, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    gone_ref, kept_ref = host_repo + ":gone", host_repo + ":keep"
    img = oci.build()
    d = oci.push(img, gone_ref)
    oci.push(img, kept_ref)
    _remove_tag(registry, unique_repo, "gone")
    assert oci.manifest_digest(gone_ref) is None
    cluster = al.Cluster().deployment("ops", "cron", gone_ref, [pullable(host_repo, d)], "Always")
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host],
                          extra="severity: {moving-tag: info, pull-policy: info}")
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {gone_ref: [("moving-tag", "info"), ("pull-policy", "info"),
                                           ("tag-missing", "high")]}
    f = finding_of(image_of(doc, gone_ref), "tag-missing")
    assert "skopeo copy docker://%s@%s docker://%s" % (host_repo, d, gone_ref) in f["remediation"]
    manifest = cluster.write_manifest(str(tmp_path / "cron.json"), "ops", "Deployment", "cron")
    out = al.run_local(al.kubectl_commands(f["remediation"])[0], manifest)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "%s@%s" % (host_repo, d)
    # Deleting the manifest itself takes the running digest away too.
    oci.delete_tag(kept_ref)
    rc, doc, _ = assess(cluster, cfg)
    assert al.findings(doc) == {gone_ref: [("integrity-unknown", "critical"), ("moving-tag", "info"),
                                           ("pull-policy", "info"), ("tag-missing", "high")]}


def test_assess__clean_cluster_only_info(registry, oci, unique_repo, assess, tmp_path, run_imgwatch):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    a = oci.push(oci.build(), host_repo + ":a")
    b = oci.push(oci.build(), host_repo + ":b")
    cluster = (al.Cluster()
               .deployment("x", "one", "%s@%s" % (host_repo, a), [pullable(host_repo, a)] * 3)
               .deployment("x", "two", "%s:b@%s" % (host_repo, b), ["%s@%s" % (host_repo, b)],
                           kind="StatefulSet"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "info")
    assert al.findings(doc) == {} and doc["findings"] == [] and rc == 0
    assert doc["summary"] == {"images": 2, "containers": 4, "critical": 0, "high": 0, "medium": 0,
                              "low": 0, "info": 0}
    # Without a trust policy: the one info finding that says so, exit 0.
    nocfg = al.write_config(str(tmp_path / "nocfg.yaml"), registry.host, trusted=None)
    rc, doc, _ = assess(cluster, nocfg)
    assert al.findings(doc) == {}
    assert [(f["check"], f["severity"]) for f in doc["findings"]] == [("untrusted-registry", "info")]
    assert "trustedRegistries" in doc["findings"][0]["message"]
    assert doc["summary"]["info"] == 1
    assert rc == 0
    rc, doc, _ = assess(cluster, nocfg, "--fail-on", "info")
    assert rc == 1


def test_assess__one_request_per_reference(registry, oci, unique_repo, tmp_path, run_imgwatch):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    d = oci.push(oci.build(), host_repo + ":v9")
    cluster = al.Cluster()
    for w in range(20):
        cluster.deployment("ns-%d" % (w % 4), "w%d" % w, host_repo + ":v9", [pullable(host_repo, d)] * 10,
                           "IfNotPresent")
    pods = cluster.write(str(tmp_path / "pods.json"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])

    def counts():
        log = registry.log()
        return (log.count('"HEAD /v2/%s/manifests/' % unique_repo),
                len(re.findall(r'"GET /v2/%s/' % re.escape(unique_repo), log)))

    # The registry writes its access log asynchronously: let the push's lines land.
    while True:
        heads0, gets0 = counts()
        time.sleep(0.5)
        if counts() == (heads0, gets0):
            break
    r = run_imgwatch("assess", "--from-file", pods, "--config", cfg, "--no-lineage", "-o", "json")
    util.wait_for(lambda: counts()[0] > heads0, timeout=10, what="the HEAD in the registry log")
    time.sleep(0.5)
    heads, gets = counts()
    assert heads - heads0 == 1
    assert gets - gets0 == 0
    doc = json.loads(r.stdout)
    assert doc["summary"]["containers"] == 200 and doc["summary"]["images"] == 1
    img = image_of(doc, host_repo + ":v9")
    assert len(img["workloads"]) == 20


def test_assess__sarif_and_table(registry, oci, unique_repo, tmp_path, run_imgwatch):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":latest"
    v1 = oci.push(oci.build(), ref)
    oci.push(oci.build(), ref)
    cluster = al.Cluster().deployment("shop", "green-burrito", ref, [pullable(host_repo, v1)] * 2,
                                      "IfNotPresent")
    pods = cluster.write(str(tmp_path / "pods.json"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=None)
    r = run_imgwatch("assess", "--from-file", pods, "--config", cfg, "-o", "sarif", check=1)
    sarif = json.loads(r.stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run = sarif["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules)) == 9
    results = [(res["ruleId"], res["level"]) for res in run["results"]]
    assert sorted(results) == sorted([("untrusted-registry", "note"), ("integrity-stale", "error"),
                                      ("pull-policy", "warning"), ("moving-tag", "warning")])
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
    stale = [res for res in run["results"] if res["ruleId"] == "integrity-stale"][0]
    loc = stale["locations"][0]
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "shop/Deployment/green-burrito"
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == pods
    assert "kubectl -n shop set image" in stale["properties"]["remediation"]

    # The table: no colour when not a terminal, or with NO_COLOR.
    r = run_imgwatch("assess", "--from-file", pods, "--config", cfg, check=1, env={"NO_COLOR": "1"})
    assert "\033[" not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["SEVERITY", "IMAGE", "RUNNING", "EXPECTED", "WORKLOADS", "FINDINGS"]
    row = lines[1].split()
    assert row[:3] == ["high", ref, v1[7:19]] and row[4] == "1"
    assert "integrity-stale, pull-policy, moving-tag" in lines[1]
    assert re.search(r"^1 image \(1 with findings, 0 clean\), 2 containers: 0 critical, 1 high, 2 medium, "
                     r"0 low, 1 info$", r.stdout, re.M)
    assert "kubectl -n shop set image deployment/green-burrito app=%s@" % host_repo in r.stdout
    r = run_imgwatch("assess", "--from-file", pods, "--config", cfg, "--wide", check=1)
    assert v1 in r.stdout.splitlines()[1]
    assert "shop/Deployment/green-burrito" in r.stdout.splitlines()[1]


def test_assess__usage_and_input_errors(run_imgwatch, tmp_path):
    pods = al.Cluster().deployment("a", "b", "r.example.com/x@" + random_digest(), [""]).write(
        str(tmp_path / "pods.json"))
    r = run_imgwatch("assess", "--from-file", pods, "--fail-on", "severe", check=2)
    assert "--fail-on" in r.stderr
    r = run_imgwatch("assess", "--from-file", pods, "-o", "xml", check=2)
    assert "xml" in r.stderr
    r = run_imgwatch("assess", "--from-file", pods, "--timeout", "soon", check=2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("trustedRegistries: [a\n")
    r = run_imgwatch("assess", "--from-file", pods, "--config", str(bad), check=2)
    assert "bad.yaml" in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "List", "items": [ {"kind": "Pod", ')
    r = run_imgwatch("assess", "--from-file", str(broken), check=2)
    assert "broken.json" in r.stderr
    assert r.stdout == ""
    r = run_imgwatch("assess", "--from-file", str(tmp_path / "missing.json"), check=2)


def test_assess__timeout_bounds_a_hanging_registry(assess, tmp_path):
    import socket
    # A registry that accepts connections and never answers.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        host = "127.0.0.1:%d" % sock.getsockname()[1]
        ref = host + "/slow/app@" + random_digest()
        cluster = al.Cluster().deployment("s", "slow", ref, [pullable(host + "/slow/app", ref.split("@")[1])])
        cfg = al.write_config(str(tmp_path / "cfg.yaml"), host, trusted=[host])
        pods = cluster.write(str(tmp_path / "pods.json"))
        r = subprocess.run([os.environ.get("IMGWATCH") or os.path.join(REPO_ROOT, "build", "asan", "imgwatch"),
                            "assess", "--from-file", pods, "--config", cfg, "-o", "json", "--timeout", "4",
                            "--fail-on", "medium"], capture_output=True, text=True, timeout=60)
        # Each request gets a quarter of the deadline: the hanging registry
        # becomes an unverified finding, never a hang, never a pass.
        assert r.returncode == 1, (r.returncode, r.stderr)
        doc = json.loads(r.stdout)
        f = finding_of(image_of(doc, ref), "unverified")
        assert "timed out" in f["message"]
        assert "curl -sI http://%s/v2/" % host in f["remediation"]
    finally:
        sock.close()


def test_assess__timeout_ends_a_stalled_run_with_exit_3(imgwatch_bin):
    # stdin stays open and silent: the source never finishes.
    r, w = os.pipe()
    try:
        p = subprocess.Popen([imgwatch_bin, "assess", "--from-file", "-", "--timeout", "2"], stdin=r,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(r)
        out, err = p.communicate(timeout=60)
    finally:
        os.close(w)
    assert p.returncode == 3
    assert "--timeout reached" in err
    assert out == ""


def test_assess__unreachable_cluster_exits_3(run_imgwatch, tmp_path):
    from iwtest.util import free_port
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:%d', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n" % free_port())
    r = run_imgwatch("assess", "--kubeconfig", str(kubeconfig), "-A", "-o", "json", check=3)
    assert "127.0.0.1" in r.stderr
    assert r.stdout == ""


def test_assess__terminal_gets_colour_and_progress(registry, oci, unique_repo, imgwatch_bin, tmp_path):
    import pty
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":latest"
    v1 = oci.push(oci.build(), ref)
    oci.push(oci.build(), ref)
    pods = al.Cluster().deployment("shop", "gb", ref, [pullable(host_repo, v1)], "IfNotPresent").write(
        str(tmp_path / "pods.json"))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])

    def run_on_pty(env):
        out_master, out_slave = pty.openpty()
        err_master, err_slave = pty.openpty()
        p = subprocess.Popen([imgwatch_bin, "assess", "--from-file", pods, "--config", cfg],
                             stdout=out_slave, stderr=err_slave, env=dict(os.environ, **env))
        os.close(out_slave)
        os.close(err_slave)
        chunks = {out_master: b"", err_master: b""}
        import select
        open_fds = [out_master, err_master]
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [], 30)
            assert ready, "imgwatch hung"
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    open_fds.remove(fd)
                    os.close(fd)
                else:
                    chunks[fd] += data
        assert p.wait(timeout=30) == 1
        return chunks[out_master].decode(), chunks[err_master].decode()

    # An empty NO_COLOR counts as unset (no-color.org).
    out, err = run_on_pty({"NO_COLOR": ""})
    assert "\033[31mhigh" in out  # the severity cell, coloured
    assert "asking the registry" in err and "1/1" in err
    out, err = run_on_pty({"NO_COLOR": "1"})
    assert "\033[" not in out


def test_assess__from_the_kubernetes_api(registry, oci, unique_repo, assess, run_imgwatch, tmp_path):
    from iwtest.kubeapi import KubeAPI, make_pki
    host_repo = "%s/%s" % (registry.host, unique_repo)
    ref = host_repo + ":latest"
    v1 = oci.push(oci.build(), ref)
    oci.push(oci.build(), ref)
    cluster = (al.Cluster()
               .deployment("shop", "green-burrito", ref, [pullable(host_repo, v1)] * 2, "IfNotPresent")
               .deployment("kube-system", "dns", "%s@%s" % (host_repo, v1), [pullable(host_repo, v1)]))
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host])
    pods = [i for i in cluster.items if i["kind"] == "Pod"]
    rss = [i for i in cluster.items if i["kind"] == "ReplicaSet"]
    with KubeAPI(make_pki(tmp_path / "pki"), {"pods": pods, "replicasets": rss}) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        r = run_imgwatch("assess", "--kubeconfig", kubeconfig, "-A", "--config", cfg, "-o", "json", check=1)
        doc = json.loads(r.stdout)
        jsonschema.validate(doc, SCHEMA)
        assert al.findings(doc) == {ref: [("integrity-stale", "high"), ("moving-tag", "medium"),
                                          ("pull-policy", "medium")]}
        assert doc["source"] == "kube:" + api.url
        assert finding_of(image_of(doc, ref), "integrity-stale")["workloads"] == ["shop/Deployment/green-burrito"]
        # The same from the file gives the same findings.
        _, doc2, _ = assess(cluster, cfg)
        assert al.findings(doc2) == al.findings(doc)
        # One namespace only.
        r = run_imgwatch("assess", "--kubeconfig", kubeconfig, "-n", "kube-system", "--config", cfg, "-o", "json",
                         check=0)
        assert al.findings(json.loads(r.stdout)) == {}


def test_assess__tls_failure_is_unverified(registry_factory, oci, assess, tmp_path):
    reg = registry_factory("tls")
    ref = reg.ref("t/secure", "1.0")
    d = oci.push(oci.build(), ref, ca=reg.ca_path)
    cluster = al.Cluster().deployment("p", "secure", ref, [pullable("%s/t/secure" % reg.host, d)], "Always")
    cfg = str(tmp_path / "cfg.yaml")
    with open(cfg, "w") as f:  # no CA for it: verification must fail, and never fall back to HTTP
        f.write("trustedRegistries: [%s]\nseverity: {moving-tag: info, pull-policy: info}\n" % json.dumps(reg.host))
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "medium")
    assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info"), ("unverified", "medium")]}
    f = finding_of(image_of(doc, ref), "unverified")
    assert "TLS" in f["message"]
    assert 'registries."%s".ca' % reg.host in f["remediation"]
    # With the CA it verifies, and the image is clean.
    with open(cfg, "a") as f:
        f.write("registries:\n  %s: {ca: %s}\n" % (json.dumps(reg.host), reg.ca_path))
    rc, doc, _ = assess(cluster, cfg, "--fail-on", "medium")
    assert al.findings(doc) == {ref: [("moving-tag", "info"), ("pull-policy", "info")]}
    assert rc == 0


def test_assess__manifests_before_they_deploy(registry, oci, unique_repo, run_imgwatch, tmp_path):
    host_repo = "%s/%s" % (registry.host, unique_repo)
    d = oci.push(oci.build(), host_repo + ":1.0")
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: migrate, image: "%(repo)s:9.9", imagePullPolicy: IfNotPresent}
      containers:
      - {name: app, image: "%(repo)s@%(d)s"}
      - {name: sidecar, image: "gcr.io.evil.com/proxy@%(d)s"}
""" % {"repo": host_repo, "d": d})
    cfg = al.write_config(str(tmp_path / "cfg.yaml"), registry.host, trusted=[registry.host, "gcr.io"])
    r = run_imgwatch("assess", "--from-file", str(manifest), "--config", cfg, "-o", "json", check=1)
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    # Nothing runs yet: the pinned image is clean, the missing tag and the
    # lookalike registry are caught before the deploy.
    assert al.findings(doc) == {host_repo + ":9.9": [("moving-tag", "low"), ("pull-policy", "medium"),
                                                     ("tag-missing", "high")],
                                "gcr.io.evil.com/proxy@" + d: [("untrusted-registry", "high")]}
    missing = finding_of(image_of(doc, host_repo + ":9.9"), "tag-missing")
    assert "does not exist" in missing["message"]
    w = image_of(doc, host_repo + ":9.9")["workloads"][0]
    assert (w["kind"], w["name"], w["container"], w["containerType"], w["pods"]) == \
        ("Deployment", "web", "migrate", "init", 0)
    # The pull-policy patch for an init container works on the manifest.
    pp = al.kubectl_commands(finding_of(image_of(doc, host_repo + ":9.9"), "pull-policy")["remediation"])
    out = al.run_local(pp[-1], str(manifest))
    assert out["spec"]["template"]["spec"]["initContainers"][0]["imagePullPolicy"] == "Always"
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "%s@%s" % (host_repo, d)


def test_assess__unwritable_output_exits_3(imgwatch_bin, tmp_path):
    pods = al.Cluster().deployment("a", "b", "r.example.com/x:1", [""]).write(str(tmp_path / "pods.json"))
    with open("/dev/full", "w") as full:
        r = subprocess.run([imgwatch_bin, "assess", "--from-file", pods, "--offline", "-o", "json"],
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 3
    assert "writing the output failed" in r.stderr
