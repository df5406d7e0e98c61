#!/usr/bin/env bash
# assess.sh - `imgwatch assess` on a big recorded cluster against the local
# docker-registry, and the same check done by a jq | skopeo script.
#
#   ASSESS_BENCH_PODS=100000 ASSESS_BENCH_REFS=2000 bench/assess.sh   (the defaults)
#   ASSESS_BENCH_SKOPEO_REFS=200   references the skopeo script resolves (its
#                                  time is extrapolated to all of them; 0 = all)
#
# The cluster: PODS pods in 50 namespaces on 200 nodes, REFS distinct
# references (tags of one repository, each with its own digest), 1 pod in 10
# running an older digest the registry still holds (integrity-stale).
# Prints a markdown table: wall time and peak RSS (GNU time), registry
# requests (counted in the registry's access log) and findings.  `kubectl
# get pods -A -o json` is stood in for by the recorded file in both
# pipelines (there is no cluster here).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${ASSESS_BENCH_PODS:-100000}
REFS=${ASSESS_BENCH_REFS:-2000}
SKOPEO_REFS=${ASSESS_BENCH_SKOPEO_REFS:-200}
BIN=${IMGWATCH:-$PWD/build/imgwatch}
PY=/usr/bin/python3
work=$(mktemp -d)
cleanup() {
  if [ -s "$work/registry.pid" ]; then
    kill "$(cat "$work/registry.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Registry, images, pods file, policy.  The registry keeps running after
# the helper exits (its pid in registry.pid); cleanup stops it.
PYTHONPATH=tests/e2e $PY - "$PODS" "$REFS" "$work" <<'PYEOF'
import json, os, sys
from iwtest.images import OCI
import iwtest.registry as reg

pods, refs, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = reg.Registry(os.path.join(d, "registry"), mode="plain")
r.start()
with open(os.path.join(d, "registry.pid"), "w") as f:
    f.write(str(r.proc.pid))
oci = OCI(os.path.join(d, "oci"))
oci.push(oci.build(), r.host + "/bench/app:base")
tags = ["t%05d" % i for i in range(refs)]
old = oci.retag(r.host + "/bench/app:base", ["old-" + t for t in tags], distinct=True)
new = oci.retag(r.host + "/bench/app:base", tags, distinct=True)
for name, stale_every in (("pods.json", 10), ("pods-clean.json", 0)):
  with open(os.path.join(d, name), "w") as f:
    f.write('{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[')
    for i in range(pods):
        t = tags[i % refs]
        dep = "app-%05d" % (i % refs)
        running = old["old-" + t] if stale_every and i % stale_every == stale_every - 1 else new[t]
        image = "%s/bench/app:%s" % (r.host, t)
        p = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "%s-%07d" % (dep, i), "namespace": "ns-%d" % (i % refs % 50),
                          "labels": {"app": dep, "pod-template-hash": "5d9c7b8f4"},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": dep + "-5d9c7b8f4", "controller": True,
                                               "uid": "00000000-0000-0000-0000-%012d" % (i % refs)}]},
             "spec": {"nodeName": "node-%d" % (i % 200),
                      "containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}]},
             "status": {"phase": "Running",
                        "containerStatuses": [{"name": "app", "image": image, "ready": True,
                                               "imageID": "docker-pullable://%s/bench/app@%s" % (r.host, running),
                                               "state": {"running": {"startedAt": "2026-11-30T09:14:07Z"}}}]}}
        f.write(("," if i else "") + json.dumps(p, separators=(",", ":")))
    f.write("]}\n")
with open(os.path.join(d, "policy.yaml"), "w") as f:
    f.write('trustedRegistries: ["%s"]\nregistries:\n  "%s": {insecure: true}\n' % (r.host, r.host))
# Leave the registry running for the measurements: os._exit skips the atexit
# handler that would stop it; cleanup in this script stops it by pid.
os._exit(0)
PYEOF
log="$work/registry/registry.log"
size=$(du -m "$work/pods.json" | cut -f1)

requests() { grep -cE '"(HEAD|GET) /v2/bench/app/' "$log" || true; }

# measure NAME CMD... -> "NAME|wall|rssMB|requests"; stdout of CMD in $work/out.
measure() {
  local name=$1 before after wall rss
  shift
  before=$(requests)
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  sleep 1 # the registry writes its access log asynchronously
  after=$(requests)
  read -r wall rss < <(tail -n 1 "$work/time")
  echo "$name|$wall|$((rss / 1024))|$((after - before))"
}

count_findings() {
  $PY -c 'import json, sys
d = json.load(open(sys.argv[1]))
stale = sum(1 for i in d["images"] for f in i["findings"] if f["check"] == "integrity-stale")
print("%d (%d stale)" % (sum(len(i["findings"]) for i in d["images"]), stale))' "$work/out"
}

row0=$(measure "imgwatch assess --no-lineage, no pod stale" "$BIN" assess --from-file "$work/pods-clean.json" \
  --config "$work/policy.yaml" --no-lineage -o json)
f0=$(count_findings)
row1=$(measure "imgwatch assess --no-lineage" "$BIN" assess --from-file "$work/pods.json" \
  --config "$work/policy.yaml" --no-lineage -o json)
f1=$(count_findings)
row2=$(measure "imgwatch assess" "$BIN" assess --from-file "$work/pods.json" \
  --config "$work/policy.yaml" -o json)
f2=$(count_findings)

# The script: distinct references with jq, one skopeo per reference, then
# jq again to compare each container's running digest with the answer.
cat >"$work/script.sh" <<'SHEOF'
#!/usr/bin/env bash
set -euo pipefail
pods=$1 limit=$2 work=$3
jq -r '.items[].spec.containers[].image' "$pods" | sort -u >"$work/refs"
if [ "$limit" -gt 0 ]; then head -n "$limit" "$work/refs" >"$work/refs.sample"; mv "$work/refs.sample" "$work/refs"; fi
while read -r ref; do
  printf '%s\t%s\n' "$ref" "$(skopeo inspect --tls-verify=false --raw "docker://$ref" | sha256sum | cut -d' ' -f1)"
done <"$work/refs" >"$work/digests"
jq -r --rawfile d "$work/digests" '
  ($d | split("\n") | map(select(length > 0) | split("\t") | {(.[0]): ("sha256:" + .[1])}) | add) as $want
  | .items[] | .metadata as $m | .status.containerStatuses[]
  | select($want[.image] != null and ($want[.image] != (.imageID | sub("^.*@"; ""))))
  | "\($m.namespace)/\($m.name)/\(.name) runs \(.imageID) not \($want[.image])"' "$pods"
SHEOF
chmod +x "$work/script.sh"
row3=$(measure "jq + skopeo inspect loop" "$work/script.sh" "$work/pods.json" "$SKOPEO_REFS" "$work")
stale3=$(wc -l <"$work/out")
n3=$(wc -l <"$work/refs")
wall3=$(echo "$row3" | cut -d'|' -f2)

echo "$PODS pods ($size MB of compact JSON), $REFS distinct references, 1 pod in 10 running an older"
echo "digest; docker-registry on 127.0.0.1; imgwatch: $BIN."
echo
echo "| pipeline | wall s | peak RSS MB | registry requests | findings |"
echo "|---|---|---|---|---|"
echo "| $row0 | $f0 |"
echo "| $row1 | $f1 |"
echo "| $row2 | $f2 |"
echo "| ${row3%%|*} ($n3 refs) |${row3#*|} | $stale3 stale containers (of those refs) |"
if [ "$n3" -lt "$REFS" ]; then
  echo "| jq + skopeo, extrapolated to $REFS refs | $($PY -c "print(round($wall3 * $REFS / $n3, 1))") | | $REFS | |"
fi
