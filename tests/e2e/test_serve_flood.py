"""A flood of webhook posts from `wrk` (the Debian package) on loopback:
every distinct event id is stored exactly once (redeliveries are counted as
duplicates), the inbox drains, and memory stays bounded.
"""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from iwtest import util

from test_serve import SECRET, Serve, gb_pods

LUA = r"""
-- Each thread posts distinct event ids PREFIX-<thread>-0 .. N-1, then
-- starts again (redeliveries), and stops once it has N + EXTRA answers.
local N, EXTRA = %(per_thread)d, %(extra)d
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local sent, answered = 0, 0
function request()
  local id = string.format("%(prefix)s-%%d-%%d", tid, sent %% N)
  sent = sent + 1
  local body = '{"events":[{"id":"' .. id .. '","timestamp":"2026-12-03T17:00:00Z","action":"push",' ..
    '"target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"flood/x",' ..
    '"tag":"latest","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},' ..
    '"request":{"host":"127.0.0.1:1"}}]}'
  return wrk.format("POST", "/webhooks/distribution",
    {["Content-Type"] = "application/vnd.docker.distribution.events.v1+json",
     ["X-Imgwatch-Secret"] = "%(secret)s"}, body)
end
function response(status)
  answered = answered + 1
  if answered >= N + EXTRA then
    wrk.thread:stop()
  end
end
"""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def accepted(s):
    return s.metric("imgwatch_webhook_events_total", 'provider="distribution",result="accepted"')


def flood(s, tmp_path, prefix, threads=2, per_thread=5000):
    """Post threads * per_thread distinct events (and some redeliveries);
    return the number of posts wrk saw answered."""
    script = tmp_path / ("%s.lua" % prefix)
    script.write_text(LUA % {"per_thread": per_thread, "extra": 100, "prefix": prefix, "secret": SECRET})
    want = accepted(s) + threads * per_thread
    t0 = time.monotonic()
    # wrk runs for its whole duration even when every thread stopped: stop
    # it with SIGINT (it then prints its statistics) once all have landed.
    proc = subprocess.Popen(["wrk", "-t%d" % threads, "-c%d" % (threads * 4), "-d300s", "-s", str(script),
                             s.base], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        util.wait_for(lambda: accepted(s) >= want, timeout=240, interval=0.2, what="%s accepted" % prefix)
        elapsed = time.monotonic() - t0
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert "Non-2xx" not in out, out
    sent = int(re.search(r"(\d+) requests in", out).group(1))
    print("\n%s: %d posts answered, %d distinct events accepted in %.1f s (%.0f events/s)"
          % (prefix, sent, threads * per_thread, elapsed, threads * per_thread / elapsed))
    return sent


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/deps.d/serve.txt)")
def test_serve_flood__no_distinct_event_lost_and_memory_bounded(imgwatch_bin, registry, oci, unique_repo,
                                                                 tmp_path, monkeypatch):
    # A small ASan quarantine, so RSS reflects what the daemon keeps.
    monkeypatch.setenv("ASAN_OPTIONS", "quarantine_size_mb=8:detect_leaks=1")
    ref = "%s/%s:latest" % (registry.host, unique_repo)
    d1 = oci.push(oci.build(), ref)
    s = Serve(imgwatch_bin, str(tmp_path), util.free_port(), registry.host)
    s.write_pods(gb_pods(registry.host, unique_repo, [d1]))
    s.start()
    try:
        pid = s.proc.pid
        rss0 = rss_kib(pid)
        sent1 = flood(s, tmp_path, "flood-a")
        rss1 = rss_kib(pid)
        sent2 = flood(s, tmp_path, "flood-b")
        rss2 = rss_kib(pid)
        n = accepted(s)
        dups = s.metric("imgwatch_webhook_events_total", 'provider="distribution",result="duplicate"')
        print("accepted %d, duplicates %d; RSS %d -> %d -> %d KiB" % (n, dups, rss0, rss1, rss2))
        # Every distinct id exactly once, every redelivery recognised.
        assert n == 20000
        # wrk counts answers it read; a few posts may be in flight when it stops.
        assert n + dups >= sent1 + sent2
        # Everything acknowledged is processed: the inbox drains.
        util.wait_for(lambda: s.metric("imgwatch_webhook_inbox_pending") == 0 and
                      s.get("/metrics")[1].count("imgwatch_webhook_inbox_pending 0") == 1,
                      timeout=60, what="inbox drained")
        # Bounded: the second 10,000 events cost about nothing more.
        assert rss2 - rss1 < 32 * 1024, (rss0, rss1, rss2)
        assert s.get("/healthz")[0] == 200
    finally:
        s.stop()
    assert s.proc.returncode == 0, util.read_tail(s.log)
