"""`imgwatch pin` against a real docker-registry: multi-document YAML with
comments, anchors, quoted and plain images, and JSON, pinned to the digests
the registry holds (byte-exact output, kubectl still reads it), the diff
preview and its exit status, atomic --write (mode kept, no temp files left,
nothing written when any reference fails), --check, --verify, stdin, and a
precise error per reference for not found, auth and TLS failures.
"""

import json
import os
import re
import shutil
import subprocess

import pytest


def write_config(tmp_path, host, **settings):
    """An imgwatch config with one registries entry; returns its path."""
    parts = ", ".join("%s: %s" % (k, json.dumps(v)) for k, v in settings.items())
    path = tmp_path / ("imgwatch-%s.yaml" % re.sub(r"[^0-9a-z]", "-", host))
    path.write_text('registries:\n  "%s": {%s}\n' % (host, parts))
    return str(path)


def clean_env(tmp_path):
    d = tmp_path / "docker-empty"
    d.mkdir(exist_ok=True)
    return {"DOCKER_CONFIG": str(d)}


def manifest_heads(reg, repo):
    """The HEAD/GET manifest requests the registry logged for repo."""
    out = []
    for line in reg.log().splitlines():
        m = re.search(r'"(HEAD|GET) (/v2/%s/manifests/\S+) HTTP' % re.escape(repo), line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def snapshot(path):
    st = os.stat(path)
    return (open(path, "rb").read(), st.st_ino, st.st_mtime_ns, st.st_mode)


def kubectl_images(path):
    """The images kubectl reads from a manifest file (offline: label --local)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    r = subprocess.run([kubectl, "label", "--local", "-f", str(path), "pinned=yes", "-o", "json"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, KUBECONFIG=os.devnull))
    assert r.returncode == 0, r.stderr
    # One JSON object per document, one after the other.
    objs, pos, dec = [], 0, json.JSONDecoder()
    while r.stdout[pos:].strip():
        while r.stdout[pos].isspace():
            pos += 1
        obj, pos = dec.raw_decode(r.stdout, pos)
        objs.append(obj)
    images = []

    def walk(o):
        if o.get("kind", "").endswith("List"):
            for i in o.get("items", []):
                walk(i)
            return
        if o["kind"] not in ("Pod", "Deployment", "Job", "CronJob"):
            return
        spec = o.get("spec", {})
        if o["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]["template"]["spec"]
        elif o["kind"] != "Pod":
            spec = spec["template"]["spec"]
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(key, []):
                images.append(c["image"])

    for o in objs:
        walk(o)
    return images


MANIFEST = """\
# Rendered by hand: comments, anchors and every quoting style survive.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web          # the front end
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - name: migrate
          image: '{A}'       # single-quoted
      containers:
        - name: app
          image: &app "{A}"
          imagePullPolicy: IfNotPresent
        - name: sidecar
          image: {B}
---
# A second document: a Job reusing nothing from the first.
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: {B}}, {name: pinned, image: "{PINNED}"}]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - &c {name: a, image: {LATEST}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-an-image}
data:
  image: {CM}
"""


@pytest.fixture
def pushed(registry, oci, unique_repo, tmp_path):
    """Three references in the registry: :v1, :v2 and an implicit latest."""
    a = "%s/%s:v1" % (registry.host, unique_repo)
    b = "%s/%s-side:v2" % (registry.host, unique_repo)
    latest = "%s/%s-cron" % (registry.host, unique_repo)
    digests = {a: oci.push(oci.build(), a), b: oci.push(oci.build(), b),
               latest: oci.push(oci.build(), latest + ":latest")}
    pinned_digest = oci.push(oci.build(), "%s/%s:old" % (registry.host, unique_repo))
    pinned = "%s/%s:old@%s" % (registry.host, unique_repo, pinned_digest)
    cfg = write_config(tmp_path, registry.host, insecure=True)
    return {"A": a, "B": b, "LATEST": latest, "PINNED": pinned, "digests": digests, "config": cfg,
            "repo": unique_repo}


def render(template, refs):
    out = template.replace("{CM}", refs.get("CM", refs["B"]))
    for k in ("PINNED", "LATEST", "A", "B"):
        out = out.replace("{%s}" % k, refs[k])
    return out


def expected(template, refs):
    pinned = dict(refs, CM=refs["B"])
    for k in ("A", "B", "LATEST"):
        pinned[k] = refs[k] + "@" + refs["digests"][refs[k]]
    return render(template, pinned)


def test_pin__write_multi_document_yaml_byte_exact(run_imgwatch, registry, pushed, tmp_path):
    path = tmp_path / "app.yaml"
    original = render(MANIFEST, pushed)
    path.write_text(original)
    os.chmod(path, 0o640)
    ino = os.stat(path).st_ino

    r = run_imgwatch("pin", "--config", pushed["config"], "--write", path, check=0, env=clean_env(tmp_path))
    assert r.stdout == "%s: pinned 5 images\n" % path
    want = expected(MANIFEST, pushed)
    assert path.read_text() == want
    # Replaced by rename (a new inode), mode kept, no temp file left behind.
    st = os.stat(path)
    assert st.st_ino != ino
    assert st.st_mode & 0o7777 == 0o640
    assert sorted(os.listdir(tmp_path)) == sorted(["app.yaml", "docker-empty", os.path.basename(pushed["config"]),
                                                   "oci"])

    # Each distinct reference cost one request, although A and B appear twice.
    heads = manifest_heads(registry, pushed["repo"])
    assert heads.count(("HEAD", "/v2/%s/manifests/v1" % pushed["repo"])) == 1
    heads = manifest_heads(registry, pushed["repo"] + "-side")
    assert heads.count(("HEAD", "/v2/%s-side/manifests/v2" % pushed["repo"])) == 1

    # kubectl reads the pinned file, and sees the pinned images.
    assert kubectl_images(path) == [
        pushed["A"] + "@" + pushed["digests"][pushed["A"]],
        pushed["A"] + "@" + pushed["digests"][pushed["A"]],
        pushed["B"] + "@" + pushed["digests"][pushed["B"]],
        pushed["B"] + "@" + pushed["digests"][pushed["B"]],
        pushed["PINNED"],
        pushed["LATEST"] + "@" + pushed["digests"][pushed["LATEST"]],
    ]

    # Pinning again changes nothing; --check passes without the registry.
    before = snapshot(path)
    r = run_imgwatch("pin", "--config", pushed["config"], "--write", path, check=0, env=clean_env(tmp_path))
    assert r.stdout == ""
    assert snapshot(path) == before
    r = run_imgwatch("pin", "--check", path, check=0)
    assert r.stdout == ""


def test_pin__diff_preview_exit_status(run_imgwatch, pushed, tmp_path):
    path = tmp_path / "app.yaml"
    original = render(MANIFEST, pushed)
    path.write_text(original)
    before = snapshot(path)

    r = run_imgwatch("pin", "--config", pushed["config"], path, check=1, env=clean_env(tmp_path))
    assert snapshot(path) == before
    assert r.stdout.startswith("--- a/%s\n+++ b/%s\n@@ " % (path, path))
    removed = [l[1:] for l in r.stdout.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l[1:] for l in r.stdout.splitlines() if l.startswith("+") and not l.startswith("+++")]
    old_lines, new_lines = original.splitlines(), expected(MANIFEST, pushed).splitlines()
    changed = [i for i in range(len(old_lines)) if old_lines[i] != new_lines[i]]
    assert removed == [old_lines[i] for i in changed]
    assert added == [new_lines[i] for i in changed]
    # Nothing to change: no output, exit 0.
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(expected(MANIFEST, pushed))
    r = run_imgwatch("pin", "--config", pushed["config"], pinned, check=0, env=clean_env(tmp_path))
    assert r.stdout == ""


def test_pin__diff_applies_with_patch(run_imgwatch, pushed, tmp_path, monkeypatch):
    if shutil.which("patch") is None:
        pytest.skip("patch not installed")
    work = tmp_path / "w"
    work.mkdir()
    (work / "app.yaml").write_text(render(MANIFEST, pushed))
    # From inside the directory, so that the diff names a relative path.
    monkeypatch.chdir(work)
    r = run_imgwatch("pin", "--config", pushed["config"], "app.yaml", check=1, env=clean_env(tmp_path))
    p = subprocess.run(["patch", "-p1", "--no-backup-if-mismatch"], cwd=work, input=r.stdout, text=True,
                       capture_output=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (work / "app.yaml").read_text() == expected(MANIFEST, pushed)


def test_pin__json_stays_json(run_imgwatch, pushed, tmp_path):
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
         "spec": {"containers": [{"name": "a", "image": pushed["A"]}],
                  "ephemeralContainers": [{"name": "dbg", "image": pushed["B"]}]}}]}
    path = tmp_path / "pods.json"
    text = json.dumps(doc, indent="\t") + "\n"
    path.write_text(text)
    run_imgwatch("pin", "--config", pushed["config"], "-w", path, check=0, env=clean_env(tmp_path))
    out = path.read_text()
    want = text.replace('"%s"' % pushed["A"], '"%s@%s"' % (pushed["A"], pushed["digests"][pushed["A"]]))
    want = want.replace('"%s"' % pushed["B"], '"%s@%s"' % (pushed["B"], pushed["digests"][pushed["B"]]))
    assert out == want
    assert json.loads(out)["items"][0]["spec"]["containers"][0]["image"].endswith(pushed["digests"][pushed["A"]])


def test_pin__stdin_to_stdout(run_imgwatch, pushed, tmp_path):
    text = render(MANIFEST, pushed)
    r = run_imgwatch("pin", "--config", pushed["config"], "-", input=text, check=0, env=clean_env(tmp_path))
    assert r.stdout == expected(MANIFEST, pushed)


def test_pin__index_pins_the_index_digest(run_imgwatch, registry, oci, unique_repo, tmp_path):
    ref = "%s/%s:multi" % (registry.host, unique_repo)
    index_digest, children = oci.push_index([oci.build(arch="amd64"), oci.build(arch="arm64")], ref)
    cfg = write_config(tmp_path, registry.host, insecure=True)
    text = "kind: Pod\nspec:\n  containers:\n  - image: %s\n" % ref
    r = run_imgwatch("pin", "--config", cfg, "-", input=text, check=0, env=clean_env(tmp_path))
    assert r.stdout == "kind: Pod\nspec:\n  containers:\n  - image: %s@%s\n" % (ref, index_digest)
    assert index_digest not in children.values()


def test_pin__unresolvable_reference_writes_nothing(run_imgwatch, registry, pushed, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(render(MANIFEST, pushed))
    missing = "%s/%s:no-such-tag" % (registry.host, pushed["repo"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: %s\n"
                   "  - name: b\n    image: %s\n" % (pushed["A"], missing))
    before = [snapshot(good), snapshot(bad)]
    env = clean_env(tmp_path)
    listing = sorted(os.listdir(tmp_path))

    r = run_imgwatch("pin", "--config", pushed["config"], "--write", good, bad, check=3, env=env)
    assert [snapshot(good), snapshot(bad)] == before
    assert sorted(os.listdir(tmp_path)) == listing
    assert r.stdout == ""
    assert "%s:8:12: %s: not found:" % (bad, missing) in r.stderr
    assert "1 reference could not be resolved; nothing was written" in r.stderr

    # The diff preview fails the same way and prints no partial diff.
    r = run_imgwatch("pin", "--config", pushed["config"], good, bad, check=3, env=clean_env(tmp_path))
    assert r.stdout == ""


def test_pin__invalid_yaml_names_file_and_line(run_imgwatch, pushed, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(render(MANIFEST, pushed))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Pod\nspec:\n  containers:\n  - image: %s\n   name: x\n" % pushed["A"])
    before = [snapshot(good), snapshot(broken)]
    r = run_imgwatch("pin", "--config", pushed["config"], "-w", good, broken, check=2, env=clean_env(tmp_path))
    assert re.search(r"%s:5:\d+: invalid YAML: " % re.escape(str(broken)), r.stderr), r.stderr
    assert [snapshot(good), snapshot(broken)] == before

    # An invalid reference is an input error too, with its place.
    bad_ref = tmp_path / "ref.yaml"
    bad_ref.write_text("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: Nope/App:1}]}\n")
    r = run_imgwatch("pin", "--check", bad_ref, check=2)
    assert "%s:3:" % bad_ref in r.stderr and "Pod/p container a" in r.stderr and "lowercase" in r.stderr


def test_pin__check_is_offline(run_imgwatch, tmp_path):
    path = tmp_path / "m.yaml"
    # The registry host does not exist: --check must not ask it.
    path.write_text("kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
                    "      containers:\n      - {name: a, image: 127.0.0.1:9/x/a:1}\n"
                    "      - {name: b, image: '127.0.0.1:9/x/b@sha256:%s'}\n" % ("0" * 64))
    r = run_imgwatch("pin", "--check", path, check=1)
    assert r.stdout == "%s:7:26: Deployment/web container a: 127.0.0.1:9/x/a:1 is not pinned to a digest\n" % path


def test_pin__verify_checks_pinned_digests(run_imgwatch, registry, oci, pushed, tmp_path):
    gone = oci.push(oci.build(), "%s/%s:gone" % (registry.host, pushed["repo"]))
    from iwtest.registry import delete_manifest
    delete_manifest(registry.url, pushed["repo"], gone)
    path = tmp_path / "m.yaml"
    path.write_text("kind: Pod\nspec:\n  containers:\n  - image: %s\n  - image: %s/%s:gone@%s\n"
                    % (pushed["PINNED"], registry.host, pushed["repo"], gone))
    before = snapshot(path)
    # Without --verify, pinned references are not asked about.
    run_imgwatch("pin", "--config", pushed["config"], path, check=0, env=clean_env(tmp_path))
    r = run_imgwatch("pin", "--config", pushed["config"], "--verify", path, check=3, env=clean_env(tmp_path))
    assert ("%s:5:12: %s/%s:gone@%s: not found: the registry does not hold %s"
            % (path, registry.host, pushed["repo"], gone, gone)) in r.stderr
    assert pushed["PINNED"] + ":" not in r.stderr
    assert snapshot(path) == before


def test_pin__auth_and_tls_errors_are_precise(run_imgwatch, registry_factory, oci, unique_repo, tmp_path):
    auth = registry_factory("htpasswd")
    tls = registry_factory("tls")
    a = "%s/%s:v1" % (auth.host, unique_repo)
    t = "%s/%s:v1" % (tls.host, unique_repo)
    oci.push(oci.build(), a, creds=auth.creds)
    oci.push(oci.build(), t, ca=tls.ca_path)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text('registries:\n  "%s": {insecure: true}\n' % auth.host)
    path = tmp_path / "m.yaml"
    path.write_text("kind: Pod\nspec:\n  containers:\n  - image: %s\n  - image: %s\n" % (a, t))
    before = snapshot(path)
    r = run_imgwatch("pin", "--config", cfg, "-w", path, check=3, env=clean_env(tmp_path))
    assert "%s:4:12: %s: authentication failed: " % (path, a) in r.stderr
    assert "%s:5:12: %s: TLS error: " % (path, t) in r.stderr
    assert "2 references could not be resolved" in r.stderr
    assert snapshot(path) == before


def test_pin__usage_errors(run_imgwatch, tmp_path):
    r = run_imgwatch("pin", check=2)
    assert "no files given" in r.stderr
    r = run_imgwatch("pin", "--write", "--check", "x.yaml", check=2)
    assert "do not go together" in r.stderr
    r = run_imgwatch("pin", "--write", "-", input="", check=2)
    assert "--write needs files" in r.stderr
    r = run_imgwatch("pin", "--check", tmp_path / "missing.yaml", check=2)
    assert "missing.yaml: No such file or directory" in r.stderr


def test_pin__same_file_twice_is_pinned_once(run_imgwatch, pushed, tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(render(MANIFEST, pushed))
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    r = run_imgwatch("pin", "--config", pushed["config"], "-w", path, link, check=0, env=clean_env(tmp_path))
    assert r.stdout == "%s: pinned 5 images\n" % path
    assert path.read_text() == expected(MANIFEST, pushed)
    assert link.is_symlink()
