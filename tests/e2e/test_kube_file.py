"""imgwatch list --from-file: kubectl's JSON, mixed Lists, manifests in
YAML and JSON, stdin, and precise errors for bad input."""

import json
from pathlib import Path

import pytest

from iwtest import kubeobjs

DATA = Path(__file__).parent / "data" / "kube"


def items(r):
    doc = json.loads(r.stdout)
    assert doc["complete"] is True
    return doc["items"]


def test_kubectl_pod_list_file(run_imgwatch):
    r = run_imgwatch("list", "--from-file", DATA / "pods.json", "-o", "json", check=True)
    its = items(r)
    assert len(its) == 10
    assert {i["source"] for i in its} == {f"file:{DATA / 'pods.json'}"}
    gb = [i for i in its if i["workload"] == {"kind": "Deployment", "name": "green-burrito"}]
    assert sorted(i["imageID"]["digest"] for i in gb) == sorted([kubeobjs.A, kubeobjs.B])
    assert {i["node"] for i in gb} == {"node-1", "node-2"}
    # Without ReplicaSets in the file, the bare ReplicaSet stays a ReplicaSet
    # and the Deployment comes from pod-template-hash.
    assert any(i["workload"] == {"kind": "ReplicaSet", "name": "legacy-rs"} for i in its)


def test_stdin_and_file_agree(run_imgwatch):
    text = (DATA / "pods-replicasets.json").read_text()
    a = run_imgwatch("list", "-f", "-", "-o", "json", input=text, check=True)
    b = run_imgwatch("list", "-f", DATA / "pods-replicasets.json", "-o", "json", check=True)
    strip = lambda its: [{k: v for k, v in i.items() if k != "source"} for i in its]  # noqa: E731
    assert strip(items(a)) == strip(items(b))
    assert len(items(a)) == 10  # ReplicaSets and Jobs from a cluster are owners, not workloads


def test_owner_from_replicaset_printed_after_its_pods(tmp_path, run_imgwatch):
    pods, rss, jobs = kubeobjs.cluster()
    rs = rss[0]
    rs["metadata"]["ownerReferences"][0].update(kind="Rollout", name="green-burrito-canary")
    path = tmp_path / "list.json"
    path.write_text(kubeobjs.kubectl_list(pods + [rs]))
    its = items(run_imgwatch("list", "-f", path, "-o", "json", check=True))
    gb = [i for i in its if i["pod"] and i["pod"].startswith("green-burrito-")]
    assert {(i["workload"]["kind"], i["workload"]["name"]) for i in gb} == {("Rollout", "green-burrito-canary")}


MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: green-burrito
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example.com/green-burrito:latest
        imagePullPolicy: IfNotPresent
---
apiVersion: v1
kind: Service
metadata: {name: green-burrito}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    spec:
      initContainers: [{name: setup, image: "busybox:1.36"}]
      containers: [{name: agent, image: "quay.io/acme/agent@sha256:%s"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {template: {spec: {containers: [{name: m, image: "migrate:v3", imagePullPolicy: Never}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec: {containers: [{name: sh, image: busybox}]}
""" % ("a" * 64)


def test_yaml_manifests_give_spec_only_records(tmp_path, run_imgwatch):
    path = tmp_path / "release.yaml"
    path.write_text(MANIFESTS)
    r = run_imgwatch("list", "-f", path, "-o", "json", check=True)
    got = [(i["namespace"], i["workload"]["kind"], i["workload"]["name"], i["container"], i["containerType"],
            i["imagePullPolicy"], i["imagePullPolicyDefaulted"], i["imageID"]["kind"]) for i in items(r)]
    assert got == [
        ("prod", "Deployment", "green-burrito", "app", "app", "IfNotPresent", False, "none"),
        ("kube-system", "DaemonSet", "agent", "setup", "init", "IfNotPresent", True, "none"),
        ("kube-system", "DaemonSet", "agent", "agent", "app", "IfNotPresent", True, "none"),
        (None, "Job", "migrate", "m", "app", "Never", False, "none"),
        (None, "Pod", "debug", "sh", "app", "Always", True, "none"),
    ]
    assert "skipping Service green-burrito" in r.stderr
    table = run_imgwatch("list", "-f", path, check=True)
    assert "Deployment/green-burrito" in table.stdout and "<none>" in table.stdout


def test_json_documents_concatenated(tmp_path, run_imgwatch):
    docs = [{"kind": "StatefulSet", "metadata": {"name": "db"},
             "spec": {"template": {"spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}}},
            {"kind": "CronJob", "metadata": {"name": "nightly"},
             "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                 {"name": "r", "image": "tools/report"}]}}}}}}]
    path = tmp_path / "m.json"
    path.write_text("\n".join(json.dumps(d, indent=2) for d in docs))
    its = items(run_imgwatch("list", "-f", path, "-o", "json", check=True))
    assert [(i["workload"]["kind"], i["image"], i["imagePullPolicy"]) for i in its] == [
        ("StatefulSet", "postgres:16", "IfNotPresent"), ("CronJob", "tools/report", "Always")]


@pytest.mark.parametrize("name, text, want", [
    ("bad.json", '{"kind": "List",\n "items": [\n  {"kind": "Pod"},\n  {"kind": Pod}\n]}\n', "bad.json:4: invalid JSON"),
    ("cut.json", '{"kind": "PodList", "items": [\n{"metadata": {"name": "a"}}', "cut.json:2: invalid JSON"),
    ("bad.yaml", "kind: Deployment\nmetadata:\n  name: x\n spec: {}\n", "bad.yaml:4: invalid YAML"),
    ("scalar.yaml", "hello\n", "scalar.yaml:1: expected a Kubernetes object"),
])
def test_malformed_input_names_file_and_line(tmp_path, run_imgwatch, name, text, want):
    path = tmp_path / name
    path.write_text(text)
    r = run_imgwatch("list", "-f", path, "-o", "json")
    assert r.returncode == 2
    assert want in r.stderr, r.stderr
    assert json.loads(r.stdout)["complete"] is False


def test_partial_table_is_flagged(tmp_path, run_imgwatch):
    # 600 good pods, then garbage, through a pipe (read once): the rows
    # printed before the error must be flagged incomplete.
    pods = list(kubeobjs.big_cluster(600))
    text = kubeobjs.kubectl_list(pods)
    bad = text[: len(text) - 200] + "!!"
    r = run_imgwatch("list", "-f", "-", input=bad)
    assert r.returncode == 2
    assert r.stdout.count("\n") > 500
    assert "incomplete" in r.stderr and "invalid JSON" in r.stderr
    # A regular file holding ReplicaSets is read twice (owners first): the
    # error comes before any row.
    rs = kubeobjs.cluster()[1][0]
    path = tmp_path / "p.json"
    path.write_text(kubeobjs.kubectl_list([rs] + pods)[:-200] + "!!")
    r = run_imgwatch("list", "-f", path)
    assert r.returncode == 2 and r.stdout == "" and "invalid JSON" in r.stderr


def test_missing_file_and_bad_options(run_imgwatch):
    r = run_imgwatch("list", "-f", "/nonexistent/pods.json")
    assert r.returncode == 2 and "/nonexistent/pods.json" in r.stderr
    assert run_imgwatch("list", "-o", "yaml", "-f", DATA / "pods.json").returncode == 2
    assert run_imgwatch("list", "-n", "x", "-A").returncode == 2
    assert run_imgwatch("list", "--chunk-size", "0").returncode == 2
    assert run_imgwatch("list", "stray").returncode == 2


def test_empty_input(tmp_path, run_imgwatch):
    path = tmp_path / "empty.yaml"
    path.write_text("---\n# nothing\n")
    r = run_imgwatch("list", "-f", path, check=True)
    assert r.stdout == "" and "No containers found" in r.stderr


def test_table_neutralizes_control_characters(tmp_path, run_imgwatch):
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"kind": "Pod", "metadata": {"name": "p", "namespace": "x\u001b]0;pwned\u0007"},
                                "spec": {"containers": [{"name": "c\nfake row", "image": "nginx\u001b[2J"}]}}))
    r = run_imgwatch("list", "-f", path, check=True)
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert len(r.stdout.splitlines()) == 2 and "c?fake row" in r.stdout
    j = items(run_imgwatch("list", "-f", path, "-o", "json", check=True))
    assert j[0]["image"] == "nginx\u001b[2J"  # JSON keeps the exact text, escaped


@pytest.mark.parametrize("name", ["pods.json", "pods-replicasets.json"])
def test_byte_order_mark_and_crlf(tmp_path, run_imgwatch, name):
    text = (DATA / name).read_text().replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert len(items(run_imgwatch("list", "-f", path, "-o", "json", check=True))) == 10
    assert len(items(run_imgwatch("list", "-f", "-", "-o", "json", input=path.read_bytes().decode(),
                                  check=True))) == 10
    yaml_path = tmp_path / "m.yaml"
    yaml_path.write_bytes(b"\xef\xbb\xbf" + MANIFESTS.replace("\n", "\r\n").encode())
    assert len(items(run_imgwatch("list", "-f", yaml_path, "-o", "json", check=True))) == 5


def test_big_file_read_by_two_threads_as_by_one(tmp_path, run_imgwatch):
    """A regular file of pods over 16 MiB is parsed by two threads (the
    second from the middle, docs/kube.md); a pipe by one.  The output is the
    same, byte for byte, and so is an error past the middle."""
    head = '{"apiVersion":"v1","items":['
    pods = ",\n".join(json.dumps(p, separators=(",", ":")) for p in kubeobjs.big_cluster(5000))
    path = tmp_path / "big.json"
    for tail, status in (('],"kind":"List"}\n', 0), (',\n{oops}],"kind":"List"}\n', 2)):
        text = head + pods + tail
        assert len(text) > 16 << 20
        path.write_text(text)
        two = run_imgwatch("list", "-f", path, "-o", "json", check=status, timeout=180)
        one = run_imgwatch("list", "-f", "-", "-o", "json", input=text, check=status, timeout=180)
        assert two.stdout.replace(str(path), "stdin") == one.stdout
        doc = json.loads(two.stdout)
        assert doc["complete"] is (status == 0)
        assert len(doc["items"]) == 5000 * 10 // 8  # cluster(): 8 pods, 10 containers
        if status:
            assert f"{path}:5001: invalid JSON" in two.stderr
