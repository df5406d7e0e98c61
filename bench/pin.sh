#!/usr/bin/env bash
# pin.sh - how fast `imgwatch pin` finds the image fields of big manifests
# (parse, walk, byte offsets: the part that does not depend on a registry).
#
#   PIN_BENCH_OBJECTS=20000 bench/pin.sh   (the default)
#
# Inputs: a multi-document YAML of OBJECTS Deployments (comments, anchors,
# two containers and an init container each), and the same objects as one
# JSON List.  `pin --check` reads, locates and lists every unpinned image
# without network.  Prints a markdown table: size, images, wall time,
# throughput and peak RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${PIN_BENCH_OBJECTS:-20000}
BIN=${IMGWATCH:-$PWD/build/imgwatch}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$N" "$work" <<'PYEOF'
import json, sys
n, d = int(sys.argv[1]), sys.argv[2]
docs, items = [], []
for i in range(n):
    docs.append(f"""# service {i}: owned by team-{i % 40}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  labels: {{app: svc-{i}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: svc-{i}}}}}
  template:
    metadata: {{labels: {{app: svc-{i}}}}}
    spec:
      initContainers:
        - name: migrate
          image: &app 'registry.example.com/team-{i % 40}/svc-{i}:1.{i % 7}'
      containers:
        - name: app
          image: *app
          ports: [{{containerPort: 8080}}]
        - name: proxy
          image: "registry.example.com/infra/envoy:v1.{i % 30}"   # sidecar
""")
    c = lambda name, img: {"name": name, "image": img}
    items.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"svc-{i}"},
                  "spec": {"template": {"spec": {
                      "initContainers": [c("migrate", f"registry.example.com/team-{i % 40}/svc-{i}:1.{i % 7}")],
                      "containers": [c("app", f"registry.example.com/team-{i % 40}/svc-{i}:1.{i % 7}"),
                                     c("proxy", f"registry.example.com/infra/envoy:v1.{i % 30}")]}}}})
open(f"{d}/all.yaml", "w").write("---\n".join(docs))
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(f"{d}/all.json", "w"), indent=2)
PYEOF

echo "| input | size | images | wall | MB/s | images/s | peak RSS |"
echo "|---|---|---|---|---|---|---|"
for f in all.yaml all.json; do
  size=$(stat -c %s "$work/$f")
  /usr/bin/time -f "%e %M" -o "$work/time" "$BIN" pin --check "$work/$f" > "$work/out" || [ $? -eq 1 ]
  read -r wall rss < <(tail -n 1 "$work/time")
  images=$(wc -l < "$work/out")
  awk -v f="$f" -v s="$size" -v i="$images" -v w="$wall" -v r="$rss" 'BEGIN {
    if (w == 0) w = 0.01;
    printf "| %s (%d objects) | %.1f MiB | %d | %.2f s | %.1f | %.0f | %.0f MiB |\n",
      f, '"$N"', s / 1048576, i, w, s / 1048576 / w, i / w, r / 1024 }'
done
