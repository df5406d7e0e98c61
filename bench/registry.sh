#!/usr/bin/env bash
# registry.sh - resolving tags on a local docker-registry: `imgwatch resolve`
# (one process, concurrent, reused connections) against a `skopeo inspect`
# loop (one process per image), one curl process doing keep-alive HEADs on one
# connection, and a bare libcurl-multi HEAD loop at concurrency 16
# (bench/headloop.c: the registry's own ceiling here).  Then the peak RSS of
# `imgwatch resolve` for 10,000 references.  Prints a markdown table.
#
#   N=1000 (tags resolved per run)  SKOPEO_N=100 (skopeo is slow: a sample)
#   BIG=10000 (references for the RSS run)  RUNS=5 (interleaved rounds, best of)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/imgwatch ] || make -s build/imgwatch
work=$(mktemp -d /tmp/iwbench-registry-XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/headloop" bench/headloop.c $(pkg-config --cflags --libs libcurl)
export IWBENCH_WORK=$work IWBENCH_ROOT=$PWD
cd tests/e2e
exec /usr/bin/python3 - <<'PY'
import os, re, subprocess, sys, time
from iwtest.registry import Registry
from iwtest.images import OCI

work, root = os.environ["IWBENCH_WORK"], os.environ["IWBENCH_ROOT"]
n = int(os.environ.get("N", "1000"))
skopeo_n = int(os.environ.get("SKOPEO_N", "100"))
big = int(os.environ.get("BIG", "10000"))
runs = int(os.environ.get("RUNS", "5"))
imgwatch = os.path.join(root, "build", "imgwatch")
accept = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json")


def timed(argv, stdin=None, check=None):
    t = time.perf_counter()
    r = subprocess.run(argv, stdin=stdin, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if check:
        check(r)
    return dt, r


with Registry(os.path.join(work, "reg"), "plain") as reg:
    oci = OCI(os.path.join(work, "oci"))
    base = reg.ref("bench/app", "base")
    oci.push(oci.build(), base)
    tags = ["t%05d" % i for i in range(max(n, big))]
    digests = oci.retag(base, tags, distinct=True)
    refs = [reg.ref("bench/app", t) for t in tags]
    cfg = os.path.join(work, "imgwatch.yaml")
    with open(cfg, "w") as f:
        f.write('registries:\n  "%s": {insecure: true}\n' % reg.host)
    refs_n = os.path.join(work, "refs-n")
    with open(refs_n, "w") as f:
        f.write("\n".join(refs[:n]) + "\n")
    refs_big = os.path.join(work, "refs-big")
    with open(refs_big, "w") as f:
        f.write("\n".join(refs[:big]) + "\n")
    urls = os.path.join(work, "urls")
    with open(urls, "w") as f:
        f.write("\n".join("%s/v2/bench/app/manifests/%s" % (reg.url, t) for t in tags[:n]) + "\n")
    curlcfg = os.path.join(work, "curl.cfg")
    with open(curlcfg, "w") as f:
        for t in tags[:n]:
            f.write('url = "%s/v2/bench/app/manifests/%s"\noutput = "/dev/null"\n' % (reg.url, t))

    def check_imgwatch(r):
        lines = r.stdout.splitlines()
        if r.returncode != 0 or len(lines) != n:
            sys.exit("imgwatch resolve failed: %s" % r.stderr[:500])
        for line in lines[:50]:
            ref, digest = line.split("\t")
            if digests[ref.rsplit(":", 1)[1]] != digest:
                sys.exit("imgwatch resolve: wrong digest for %s" % ref)

    def run_imgwatch():
        with open(refs_n) as stdin:
            return timed([imgwatch, "resolve", "--config", cfg, "-"], stdin, check_imgwatch)[0]

    def run_curl():
        def check(r):
            if r.returncode != 0 or r.stdout.count("200") != n:
                sys.exit("curl failed: %s" % r.stderr[:300])
        return timed(["curl", "-s", "--head", "-H", "Accept: " + accept, "-w", "%{http_code}\n",
                      "-K", curlcfg], None, check)[0]

    def run_headloop():
        with open(urls) as stdin:
            r = subprocess.run([os.path.join(work, "headloop"), "16"], stdin=stdin,
                               capture_output=True, text=True)
        ok, total, secs = r.stdout.split()
        if int(ok) != n:
            sys.exit("headloop: %s of %s" % (ok, total))
        return float(secs)

    def run_skopeo():
        t = time.perf_counter()
        for ref in refs[:skopeo_n]:
            subprocess.run(["skopeo", "inspect", "--no-tags", "--tls-verify=false", "docker://" + ref],
                           check=True, capture_output=True)
        return time.perf_counter() - t

    # Interleaved rounds, best of each: the other tenants of this machine
    # come and go, and must not favour whichever tool ran in a quiet spell.
    run_imgwatch()  # warm-up: page cache, registry
    t_iw = t_ceiling = t_curl = float("inf")
    for _ in range(runs):
        t_iw = min(t_iw, run_imgwatch())
        t_ceiling = min(t_ceiling, run_headloop())
        t_curl = min(t_curl, run_curl())
    rate_iw = n / t_iw
    t_skopeo = run_skopeo()
    rates = {
        "imgwatch resolve (1 process, 16/registry)": (n, t_iw),
        "skopeo inspect loop (1 process per image)": (skopeo_n, t_skopeo),
        "curl, keep-alive HEADs on one connection": (n, t_curl),
        "bare libcurl-multi HEAD loop, 16 (ceiling)": (n, t_ceiling),
    }
    with open(refs_big) as stdin:
        r = subprocess.run(["/usr/bin/time", "-v", imgwatch, "resolve", "--config", cfg, "-"],
                           stdin=stdin, capture_output=True, text=True)
    if r.returncode != 0 or len(r.stdout.splitlines()) != big:
        sys.exit("imgwatch resolve (%d refs) failed: %s" % (big, r.stderr[-500:]))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", r.stderr).group(1)
    cpu = sum(float(re.search(r"%s time \(seconds\): (\S+)" % k, r.stderr).group(1)) for k in ("User", "System"))
    load = os.getloadavg()[0]

print("| tool | requests | seconds | requests/s | imgwatch is |")
print("|---|---:|---:|---:|---:|")
for name, (count, secs) in rates.items():
    rate = count / secs
    ratio = "—" if name.startswith("imgwatch") else "%.2f×" % (rate_iw / rate)
    print("| %s | %d | %.2f | %.0f | %s |" % (name, count, secs, rate, ratio))
print()
print("| imgwatch resolve, %d distinct references | value |" % big)
print("|---|---:|")
print("| peak RSS | %.1f MB |" % (rss_kb / 1024))
print("| wall clock | %s |" % wall)
print("| CPU of imgwatch (user+sys) | %.2f s (%.0f µs per reference) |" % (cpu, cpu * 1e6 / big))
print()
print("Best of %d interleaved rounds (skopeo: one run of %d images); one plain-HTTP docker-registry on "
      "127.0.0.1, nproc=%s, shared with other work (1-minute load average at the end: %.1f)."
      % (runs, skopeo_n, os.cpu_count(), load))
PY
