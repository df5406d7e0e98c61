#!/usr/bin/env bash
# serve.sh - imgwatch serve: time to detect a push under a running tag (the
# real docker-registry posting its notifications to serve), webhook
# ingestion rate with wrk, and memory.  Prints a markdown table.
#   N=pushes (default 50), SECONDS_WRK=wrk duration (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${IMGWATCH:-$PWD/build/imgwatch}
[ -x "$bin" ] || { echo "serve bench: $bin missing (make build/imgwatch)" >&2; exit 1; }
cd tests/e2e
exec /usr/bin/python3 - "$bin" "${N:-50}" "${SECONDS_WRK:-5}" <<'PY'
import json, os, re, statistics, subprocess, sys, tempfile, time
from iwtest import registry as reg, util
from iwtest.images import OCI
from iwtest.registry import Registry
from test_serve import SECRET, Serve, gb_pods

binary, n, wrk_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
top = tempfile.mkdtemp(prefix="iwbench-serve-")
port = util.free_port()
rows = []

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v))) - 1))]

def rss_mib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0

os.makedirs(os.path.join(top, "reg"))
r = Registry(os.path.join(top, "reg"), "plain",
             notifications_url="http://127.0.0.1:%d/webhooks/distribution" % port,
             notifications_headers={"X-Imgwatch-Secret": SECRET})
r.start()
s = None
try:
    oci = OCI(os.path.join(top, "oci"))
    repo = "bench/green-burrito"
    ref = "%s/%s:latest" % (r.host, repo)
    d1 = oci.push(oci.build(), ref)
    client = reg.client_for(r.host)
    body, media_type, _ = reg.get_manifest(client, repo, "latest")
    s = Serve(binary, top, port, r.host)
    s.write_pods(gb_pods(r.host, repo, [d1, d1]))
    s.start()
    # Warm-up: v1 was pushed before serve listened, so the registry's sink
    # is backing off; let it deliver that backlog first.
    doc = json.loads(body)
    doc["annotations"] = {"bench": "warm-up"}
    d = reg.put_manifest(client, repo, "latest", json.dumps(doc).encode(), media_type)
    util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d, timeout=30, interval=0.002)
    lat = []
    for i in range(n):
        doc = json.loads(body)
        doc["annotations"] = {"bench": str(i)}
        t0 = time.monotonic()
        d = reg.put_manifest(client, repo, "latest", json.dumps(doc).encode(), media_type)
        util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d, timeout=30, interval=0.002)
        lat.append((time.monotonic() - t0) * 1000)
    rows.append(("time to detect a push (PUT manifest -> finding in /api/v1/assessment), %d pushes" % n,
                 "p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms"
                 % (pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat))))
    lua = os.path.join(top, "flood.lua")
    with open(lua, "w") as f:
        f.write('''local t = 0
function setup(thread) thread:set("tid", t); t = t + 1 end
local c = 0
function request()
  c = c + 1
  return wrk.format("POST", "/webhooks/distribution", {["X-Imgwatch-Secret"] = "%s"},
    '{"events":[{"id":"b-' .. tid .. '-' .. c .. '","action":"push","target":{"repository":"flood/x",' ..
    '"tag":"latest"},"request":{"host":"127.0.0.1:1"}}]}')
end
''' % SECRET)
    rss0 = rss_mib(s.proc.pid)
    out = subprocess.run(["wrk", "-t2", "-c16", "-d%ds" % wrk_s, "--latency", "-s", lua, s.base],
                         capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)
    rows.append(("webhook ingestion (wrk, 16 connections, distinct events, durable inbox)",
                 "%s posts/s, p99 latency %s" % (rate, p99)))
    util.wait_for(lambda: s.metric("imgwatch_webhook_inbox_pending") == 0, timeout=120)
    rows.append(("RSS before / after the flood", "%.1f MiB / %.1f MiB" % (rss0, rss_mib(s.proc.pid))))
    cyc = s.metric("imgwatch_cycle_duration_seconds_sum") / max(1.0, s.metric("imgwatch_cycle_duration_seconds_count"))
    rows.append(("mean assess cycle (2 pods, 1 image, lineage)", "%.1f ms" % (cyc * 1000)))
finally:
    if s:
        s.stop()
    r.stop()
print("| measure | result |")
print("|---|---|")
for k, v in rows:
    print("| %s | %s |" % (k, v))
PY
