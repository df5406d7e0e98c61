#!/usr/bin/env bash
# kube.sh - `imgwatch list -o json` on a big cluster, from a file and from
# the Kubernetes API test server, against jq extracting the same fields
# (namespace, pod, owner, container, image, imageID, policy, node).
#
#   KUBE_BENCH_PODS=100000 KUBE_BENCH_RUNS=3 KUBE_BENCH_SHAPE=lean bench/kube.sh
#                 (defaults: 20000 pods, best of 3 runs, production pods)
#
# The pods are kubeobjs.big_cluster's: with KUBE_BENCH_SHAPE=production
# (the default) they carry env, probes, args and securityContext as
# production pods do, ~6.5 KB each compact (the issue's 20,000 pods in
# 127 MB); "lean" leaves those out (~4.2 KB).
#
# Prints a markdown table: wall time, peak RSS (GNU time) and CPU time
# (user+sys); for the API the client's own CPU is apart from the wall time,
# which also holds the Python test server's time to serialize pages.  Each
# file run is repeated and the quickest kept (the highest peak RSS of all
# is shown): on a shared machine that is the least disturbed one.  The
# ratios jq / imgwatch of those wall times follow the table (a file over
# 16 MiB is parsed by two threads, so imgwatch's CPU time is higher than
# its wall time; jq uses one).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${KUBE_BENCH_PODS:-20000}
RUNS=${KUBE_BENCH_RUNS:-3}
SHAPE=${KUBE_BENCH_SHAPE:-production}
BIN=${IMGWATCH:-$PWD/build/imgwatch}
PY=/usr/bin/python3
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The pods: kubectl's indented List, and the same compact.
PYTHONPATH=tests/e2e $PY - "$N" "$work" "$SHAPE" <<'EOF'
import json, sys
from iwtest import kubeobjs
n, d, shape = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(f"{d}/pods.json", "w") as ind, open(f"{d}/pods-compact.json", "w") as com:
    ind.write('{\n    "apiVersion": "v1",\n    "items": [\n')
    com.write('{"apiVersion":"v1","items":[')
    for i, p in enumerate(kubeobjs.big_cluster(n, production=shape == "production")):
        sep = ",\n" if i else ""
        ind.write(sep + "\n".join("        " + l for l in json.dumps(p, indent=4, sort_keys=True).splitlines()))
        com.write(("," if i else "") + json.dumps(p, separators=(",", ":")))
    ind.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    com.write('],"kind":"List","metadata":{"resourceVersion":""}}\n')
EOF

JQ='.items[] | {ns: .metadata.namespace, pod: .metadata.name, owner: (.metadata.ownerReferences // [] | map(.kind + "/" + .name) | first), node: .spec.nodeName, ids: ([.status.containerStatuses[]?, .status.initContainerStatuses[]?] | map({(.name): .imageID}) | add)} + ((.spec.containers + (.spec.initContainers // []))[] | {container: .name, image, policy: .imagePullPolicy})'

measure() { # label, command...: prints "| label | wall s | RSS MB | cpu s |", sets $wall_s
  local label=$1 best= best_cpu= max_rss=0 wall rss user sys c
  shift
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || {
      echo "bench kube: $label failed:" >&2
      tail -5 "$work/err" >&2
      return 1
    }
    read -r wall rss user sys < "$work/time"
    c=$(echo "$user + $sys" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc -l)" = 1 ]; then
      best=$wall best_cpu=$c
    fi
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  done
  wall_s=$best
  printf '| %s | %.2f s | %.1f MB | %.2f s |\n' "$label" "$best" "$(echo "$max_rss / 1024" | bc -l)" "$best_cpu"
}

ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }

size() { printf '%.0f MB' "$(echo "$(stat -c %s "$1") / 1048576" | bc -l)"; }
containers=$("$BIN" list -f "$work/pods-compact.json" -o json | jq '.items | length')

echo "$N pods ($SHAPE), $containers containers; file $(size "$work/pods.json") as kubectl indents it, $(size "$work/pods-compact.json") compact."
echo
echo "| run | wall | peak RSS | CPU (user+sys) |"
echo "|---|---|---|---|"
measure "imgwatch list -o json, kubectl-indented file" "$BIN" list -f "$work/pods.json" -o json
iw_ind=$wall_s
measure "jq, same fields, kubectl-indented file" jq -c "$JQ" "$work/pods.json"
jq_ind=$wall_s
measure "imgwatch list -o json, compact file" "$BIN" list -f "$work/pods-compact.json" -o json
iw_com=$wall_s
measure "jq, same fields, compact file" jq -c "$JQ" "$work/pods-compact.json"
jq_com=$wall_s
measure "imgwatch list -o json, compact, from a pipe (one thread)" sh -c "cat \"$work/pods-compact.json\" | \"$BIN\" list -f - -o json"
RUNS=1

# The API: the test server makes pods on demand, page by page.
PYTHONPATH=tests/e2e $PY - "$N" "$work" "$SHAPE" > "$work/server.out" 2>&1 <<'EOF' &
import json, sys, time
from iwtest import kubeobjs
from iwtest.kubeapi import KubeAPI, make_pki
n, d, shape = int(sys.argv[1]), sys.argv[2], sys.argv[3]
base = [json.dumps(kubeobjs.production_details(p) if shape == "production" else p)
        for p in kubeobjs.cluster(listed=False)[0]]
class Pods:
    def __len__(self):
        return n
    def __getitem__(self, i):
        if i >= n:
            raise IndexError(i)
        p = json.loads(base[i % len(base)])
        p["metadata"]["namespace"] = f"ns-{i % 50}"
        p["metadata"]["name"] += f"-{i}"
        return p
api = KubeAPI(make_pki(f"{d}/pki"), {"pods": Pods()}).start()
api.kubeconfig(f"{d}/kubeconfig")
print("ready", flush=True)
while True:
    time.sleep(60)
EOF
server_pid=$!
for _ in $(seq 100); do grep -q ready "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/server.out" || { cat "$work/server.out" >&2; exit 1; }
measure "imgwatch list -A -o json, API (pages of 500)" "$BIN" list --kubeconfig "$work/kubeconfig" -A -o json
pages=$(( (N + 499) / 500 ))
api_cpu=$(awk '{print $3 + $4}' "$work/time")
printf '\nAPI: %d pages; client CPU %.1f ms per page (the rest of the wall time is the Python test server).\n' \
  "$pages" "$(echo "$api_cpu * 1000 / $pages" | bc -l)"
printf 'Wall time, jq / imgwatch: %sx on the kubectl-indented file, %sx on the compact one (target: 10x).\n' \
  "$(ratio "$jq_ind" "$iw_ind")" "$(ratio "$jq_com" "$iw_com")"
