"""The green-burrito story, narrated (run by scripts/demo.sh).

A newer green-burrito:latest is pushed to the registry; the Deployment uses
imagePullPolicy IfNotPresent, so its pods keep running the old digest.
imgwatch notices, says how to fix it, and is quiet once it is fixed.  The
cluster state is a pods file shaped like `kubectl get pods,replicasets -A
-o json`, so no cluster is needed; the registry is a real docker-registry
on 127.0.0.1 with its storage in a temp dir.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import assesslib as al
from iwtest.images import OCI
from iwtest.registry import Registry

IMGWATCH = os.environ["IMGWATCH"]
TTY = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def say(text):
    print(("\n\033[1;34m==> %s\033[0m" if TTY else "\n==> %s") % text, flush=True)


def show(argv):
    print(("\033[2m$ %s\033[0m" if TTY else "$ %s") % " ".join(argv), flush=True)


def imgwatch(*args):
    argv = [IMGWATCH] + list(args)
    show(["imgwatch"] + list(args))
    r = subprocess.run(argv, text=True)
    print("(exit status %d)" % r.returncode, flush=True)
    return r.returncode


def main():
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix="imgwatch-demo-")
    reg = Registry(os.path.join(work, "registry"), mode="plain")
    try:
        say("Starting a private registry (docker-registry) on 127.0.0.1, storage in %s" % work)
        reg.start()
        host = reg.host
        oci = OCI(os.path.join(work, "oci"))
        gb = host + "/green-burrito"

        say("Building green-burrito v1 with umoci and pushing it as %s:latest with skopeo" % gb)
        v1 = oci.push(oci.build(files={"/app/VERSION": "v1\n"}, labels={
            "org.opencontainers.image.source": "https://git.example.com/food/green-burrito",
            "org.opencontainers.image.revision": "1a2b3c4 (v1)",
            "org.opencontainers.image.authors": "burrito-team@example.com"}), gb + ":latest")
        print("    green-burrito:latest = %s" % v1)

        say("Pushing the neighbours: payments (pinned by digest) and ledger:2.0")
        pay = oci.push(oci.build(files={"/app/VERSION": "payments 3.1\n"}), host + "/payments:3.1")
        oci.push(oci.build(files={"/app/VERSION": "ledger 2.0\n"}), host + "/ledger:2.0")
        forged = "sha256:" + secrets.token_hex(32)

        say("Recording the cluster: what `kubectl get pods,replicasets -A -o json` would show")
        cluster = (al.Cluster()
                   .deployment("shop", "green-burrito", gb + ":latest",
                               ["docker-pullable://%s@%s" % (gb, v1)] * 2, "IfNotPresent")
                   .deployment("shop", "payments", "%s/payments@%s" % (host, pay),
                               ["docker-pullable://%s/payments@%s" % (host, pay)] * 2)
                   .deployment("shop", "ledger", host + "/ledger:2.0",
                               ["docker-pullable://%s/ledger@%s" % (host, forged)], "Always")
                   .deployment("tools", "proxy", "docker.io.evil.com/library/nginx:1.25",
                               ["docker-pullable://docker.io.evil.com/library/nginx@sha256:" + "e" * 64],
                               "IfNotPresent"))
        pods = cluster.write(os.path.join(work, "pods.json"))
        print("    shop/green-burrito  Deployment, 2 replicas, imagePullPolicy IfNotPresent, running v1")
        print("    shop/payments       pinned by digest, running exactly that (clean)")
        print("    shop/ledger         running a digest the registry never held")
        print("    tools/proxy         from docker.io.evil.com, a lookalike of docker.io")
        policy = os.path.join(work, "policy.yaml")
        al.write_config(policy, host, trusted=[host, "docker.io"])
        print("    policy: trustedRegistries [%s, docker.io]" % host)

        say("CI pushes green-burrito v2 as :latest. The nodes keep v1: IfNotPresent never pulls again")
        v2 = oci.push(oci.build(files={"/app/VERSION": "v2\n"}, labels={
            "org.opencontainers.image.source": "https://git.example.com/food/green-burrito",
            "org.opencontainers.image.revision": "9f8e7d6 (v2)",
            "org.opencontainers.image.authors": "burrito-team@example.com"}), gb + ":latest")
        print("    green-burrito:latest = %s (was %s)" % (v2, v1))

        say("The Live Assessment: what runs, compared with what the registry holds")
        imgwatch("assess", "--from-file", pods, "--config", policy)

        say("Taking the fix imgwatch suggests for green-burrito: roll forward, pinned by digest")
        r = subprocess.run([IMGWATCH, "assess", "--from-file", pods, "--config", policy, "-o", "json"],
                           capture_output=True, text=True)
        doc = json.loads(r.stdout)
        img = [i for i in doc["images"] if i["reference"] == gb + ":latest"][0]
        stale = [f for f in img["findings"] if f["check"] == "integrity-stale"][0]
        fix = al.kubectl_commands(stale["remediation"])[0]
        show([fix])
        manifest = cluster.write_manifest(os.path.join(work, "green-burrito.json"), "shop", "Deployment",
                                          "green-burrito")
        out = al.run_local(fix, manifest)
        image = out["spec"]["template"]["spec"]["containers"][0]["image"]
        print("    (run here with kubectl --local on the Deployment's manifest: image is now %s)" % image)
        print("    The rollout replaces the pods; they now run v2.")
        cluster.set_running("shop", "green-burrito", image=image,
                            image_id="docker-pullable://%s@%s" % (gb, v2))
        cluster.write(pods)

        say("Assessing again: green-burrito is clean; ledger and proxy still need people")
        imgwatch("assess", "--from-file", pods, "--config", policy)
    finally:
        say("Stopping the registry and removing %s" % work)
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("\nDone in %.1f s." % (time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
