#!/usr/bin/env bash
# fixtures.sh - what the e2e fixtures cost: registry start per mode, image
# build, push, index push.  Prints a markdown table (median of N runs).
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e"
exec /usr/bin/python3 - "${N:-5}" <<'PY'
import os, shutil, statistics, sys, tempfile, time
from iwtest.registry import Registry
from iwtest.images import OCI

n = int(sys.argv[1])
rows = []

def measure(name, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    rows.append((name, statistics.median(times), max(times)))

top = tempfile.mkdtemp(prefix="iwbench-")

def tmp():
    return tempfile.mkdtemp(dir=top)

def start_stop(mode):
    with Registry(tmp(), mode):
        pass

for mode in ("plain", "tls", "htpasswd", "token"):
    measure("registry start+stop (%s)" % mode, lambda m=mode: start_stop(m))

with Registry(tmp(), "plain") as reg:
    oci = OCI(tmp())
    measure("oci.build (nonce file)", oci.build)
    measure("oci.build + push", lambda: oci.push(oci.build(), reg.ref("bench/a", "v1")))
    measure("oci.push_index (2 platforms, builds included)",
            lambda: oci.push_index(None, reg.ref("bench/i", "multi")))
    oci.push(oci.build(), reg.ref("bench/t", "base"))
    measure("oci.retag 100 distinct tags",
            lambda: oci.retag(reg.ref("bench/t", "base"), ["t%d" % i for i in range(100)],
                              distinct=True))

shutil.rmtree(top, ignore_errors=True)
print("| operation | median ms | max ms |")
print("|---|---:|---:|")
for name, med, mx in rows:
    print("| %s | %.0f | %.0f |" % (name, med, mx))
print()
print("N=%d runs each on this machine (nproc=%s)." % (n, os.cpu_count()))
PY
