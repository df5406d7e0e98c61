"""The Live Assessment page of `imgwatch serve` in headless Chromium (the
Debian package): the page loads from the embedded assets, green-burrito
(stale) is at the top of the risk-sorted table, the image page shows the
tag -> digest timeline next to the runs.  Screenshots are kept under
tests/e2e/artifacts/.
"""

import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from iwtest import kubeobjs, util

from test_serve import Serve, gb_pods

ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts")


def chromium(url, workdir, *mode, height=900):
    """Run headless Chromium on url; mode is --dump-dom or --screenshot=PATH."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (scripts/deps.d/serve.txt lists it)")
    profile = os.path.join(workdir, "chromium-profile")
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1400,%d" % height,
            "--virtual-time-budget=8000", *mode, url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_serve_dashboard__shows_risk_order_and_timeline(imgwatch_bin, registry, oci, unique_repo, tmp_path):
    host = registry.host
    repo = unique_repo.replace("t/", "t/green-burrito-")
    ref = "%s/%s:latest" % (host, repo)
    def build(rev):
        return oci.build(labels={"org.opencontainers.image.source": "https://git.example.com/green-burrito",
                                 "org.opencontainers.image.revision": rev})

    d1 = oci.push(build("1f3e2d"), ref)
    d2 = oci.push(build("2a9c41"), ref)
    # Neighbours: one pinned and clean, one with only a moving tag (low).
    calm = "%s/%s-calm" % (host, unique_repo)
    dc = oci.push(oci.build(), calm + ":1.0")
    neighbours = [
        kubeobjs.pod("shop", "calm-0", [kubeobjs.owner("StatefulSet", "calm")],
                     [kubeobjs.container("app", "%s:1.0@%s" % (calm, dc), "IfNotPresent")],
                     [kubeobjs.status("app", "%s:1.0" % calm, "%s@%s" % (calm, dc))], "node-2"),
        kubeobjs.pod("shop", "web-0", [kubeobjs.owner("StatefulSet", "web")],
                     [kubeobjs.container("app", calm + ":1.0", "Always")],
                     [kubeobjs.status("app", calm + ":1.0", "%s@%s" % (calm, dc))], "node-3"),
    ]
    s = Serve(imgwatch_bin, str(tmp_path), util.free_port(), host)
    s.write_pods(gb_pods(host, repo, [d1, d1]) + neighbours)
    s.start()
    try:
        util.wait_for(lambda: s.image(ref), timeout=30, what="green-burrito assessed")
        # History for the timeline: the pods roll to v2, then the tag moves on.
        s.write_pods(gb_pods(host, repo, [d2, d2]) + neighbours)
        util.wait_for(lambda: any(r["digest"] == d2 for r in
                                  s.json("/api/v1/images/" + urllib.parse.quote(ref, safe=""))["history"]["runs"]),
                      timeout=30, what="runs recorded")
        d3 = oci.push(build("3b7d05"), ref)
        # Without webhooks here, SIGHUP re-reads the file and the cycle asks
        # the registry again.
        s.proc.send_signal(1)
        util.wait_for(lambda: (s.image(ref) or {}).get("registryDigest") == d3, timeout=30, what="d3 seen")

        dom = chromium(s.base + "/", str(tmp_path), "--dump-dom")
        rows = re.findall(r'<tr data-reference="([^"]+)" data-severity="([^"]*)"', dom)
        assert rows, dom[-3000:]
        assert "green-burrito" in rows[0][0] and rows[0][1] == "high", rows
        assert 'class="card sev-high' in dom
        os.makedirs(ARTIFACTS, exist_ok=True)
        chromium(s.base + "/", str(tmp_path), "--screenshot=" + os.path.join(ARTIFACTS, "serve-dashboard.png"))

        page = s.base + "/images/" + urllib.parse.quote(ref, safe="")
        dom = chromium(page, str(tmp_path), "--dump-dom")
        timeline = dom[dom.index('id="tag-timeline"'):]
        timeline = timeline[:timeline.index("</ul>")]
        shown = re.findall(r'<div class="digest" title="(sha256:[0-9a-f]{64})"', timeline)
        # Newest first; serve first saw the tag at d2 (v1 was replaced before it started).
        assert shown == [d3, d2], shown
        runs = dom[dom.index('id="run-timeline"'):]
        runs = runs[:runs.index("</ul>")]
        assert "default/Deployment/green-burrito" in runs
        assert [d[:19] for d in (d2, d1)] == re.findall(r'title="sha256:[0-9a-f]{64}">(sha256:[0-9a-f]{12})', runs)
        assert "https://git.example.com/green-burrito" in dom and "3b7d05" in dom
        findings = re.findall(r'<div class="finding (\w+)">.*?<span>([a-z-]+)</span>', dom)
        assert ("high", "integrity-stale") in findings, findings
        assert "kubectl" in dom  # the remediation is shown
        chromium(page, str(tmp_path), "--screenshot=" + os.path.join(ARTIFACTS, "serve-image-page.png"), height=1800)
        assert os.path.getsize(os.path.join(ARTIFACTS, "serve-image-page.png")) > 10000
    finally:
        s.stop()
