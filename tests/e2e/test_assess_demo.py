"""`make demo`'s script, run end to end: the green-burrito story must show the
stale finding with its fix, then a clean green-burrito, and leave nothing
behind (registry stopped, temp dir removed)."""

import os
import re
import subprocess

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_assess_demo__tells_the_green_burrito_story(imgwatch_bin):
    r = subprocess.run([os.path.join(REPO_ROOT, "scripts", "demo.sh")], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, IMGWATCH=imgwatch_bin, NO_COLOR="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    first, _, second = out.partition("==> Taking the fix")
    assert second, out
    gb = re.search(r"^high\s+(127\.0\.0\.1:\d+/green-burrito:latest)\s", first, re.M)
    assert gb, first
    assert "integrity-stale (high)" in first
    assert re.search(r"kubectl -n shop set image deployment/green-burrito app=127\.0\.0\.1:\d+/green-burrito@sha256:"
                     r"[0-9a-f]{64}", first)
    after = second.split("==> Assessing again", 1)[1].split("$ imgwatch assess", 1)[1]
    assert "green-burrito" not in after.split("==> Stopping")[0]
    # The neighbours: never-held digest and lookalike registry stay flagged, payments stays clean.
    assert re.search(r"^critical\s+127\.0\.0\.1:\d+/ledger:2\.0", after, re.M)
    assert re.search(r"^high\s+docker\.io\.evil\.com/library/nginx:1\.25", after, re.M)
    assert not re.search(r"^\S+\s+127\.0\.0\.1:\d+/payments", out, re.M)
    assert "4 images (2 with findings, 2 clean)" in after
    work = re.search(r"==> Stopping the registry and removing (\S+)", out).group(1)
    assert not os.path.exists(work)
    left = subprocess.run(["pgrep", "-f", work], capture_output=True, text=True)
    assert left.stdout.strip() == ""
