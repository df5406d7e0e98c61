#!/usr/bin/env bash
# ref.sh - reference parsing throughput of `imgwatch ref` (optimized build).
#
# Feeds N generated references (a mix of Docker Hub names, private
# registries with ports, IPv6 hosts, tags and digests, and 1 in 10 invalid)
# on standard input and times the text and JSON outputs.  Prints a
# markdown table.  N defaults to 200000 (BENCH_REF_N).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_REF_N:-200000}
bin=build/imgwatch
[ -x "$bin" ] || make -s build/imgwatch >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d=$(printf 'f%.0s' $(seq 64))
awk -v n="$n" -v d="$d" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = i % 10
    if (k == 0) print "nginx"
    else if (k == 1) print "library/app" i ":v" i
    else if (k == 2) print "registry.example.com:5000/team/app" i ":1.2." i
    else if (k == 3) print "[::1]:5000/a/b/c" i "@sha256:" d
    else if (k == 4) print "ghcr.io/owner/app" i ":v1@sha256:" d
    else if (k == 5) print "index.docker.io/user/app" i
    else if (k == 6) print "localhost/x" i ":latest"
    else if (k == 7) print "quay.io/org/sub/repo" i "@sha256:" d
    else if (k == 8) print "docker.io/user" i "/tool:2024-01-01"
    else print "Invalid/Name" i
  }
}' > "$tmp/refs"

run() { # format
  local t
  t=$( { TIMEFORMAT='%R %U %S'; time "$bin" ref -o "$1" - < "$tmp/refs" > "$tmp/out" 2> "$tmp/err" || [ $? -eq 2 ]; } 2>&1 )
  echo "$t" | awk -v n="$n" -v f="$1" \
    '{ cpu = $2 + $3; printf "| %s | %d | %.3f | %.3f | %.0f |\n", f, n, $1, cpu, n / (cpu > 0 ? cpu : 0.001) }'
}

# CPU time is the fairer number on a shared machine; wall time includes
# waiting for a core.
echo "| output | references | wall s | cpu s | references per cpu s |"
echo "|---|---:|---:|---:|---:|"
run text
run json
