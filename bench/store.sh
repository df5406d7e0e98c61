#!/usr/bin/env bash
# store.sh - verify-store throughput on a containerd-shaped content
# directory of STORE_MIB (default 2048) MiB of layer blobs, compared with
# `sha256sum` over the same files and with `openssl speed -evp sha256`
# (the per-core limit of SHA-256 on this CPU; it divides by user CPU time).
# The blobs are read from the page cache (they are written just before), so
# this measures hashing and copying, not the disk.  Besides wall time, each
# tool's CPU time (user + system) is reported: MB per CPU-second is the
# per-core efficiency and does not depend on what else the machine runs.
# Prints a markdown table.
#
#   STORE_MIB=512 bash bench/store.sh      a quicker run
set -euo pipefail
cd "$(dirname "$0")/.."
IMGWATCH=${IMGWATCH:-$PWD/build/imgwatch}
MIB=${STORE_MIB:-2048}
LAYER_MIB=${STORE_LAYER_MIB:-128}
[ -x "$IMGWATCH" ] || make -s build/imgwatch
work=$(mktemp -d /tmp/iw-bench-store-XXXXXX)
trap 'rm -rf "$work"' EXIT
blobs=$work/io.containerd.content.v1.content/blobs/sha256
mkdir -p "$blobs"

# Layers of pseudo-random bytes (AES-CTR keystream: fast, incompressible).
n=$(((MIB + LAYER_MIB - 1) / LAYER_MIB))
layers=""
for i in $(seq 1 "$n"); do
  f=$work/layer$i
  { openssl enc -aes-128-ctr -nosalt -pass pass:"layer$i" -in /dev/zero 2>/dev/null || true; } |
    head -c $((LAYER_MIB * 1024 * 1024)) >"$f"
  h=$(sha256sum "$f" | cut -c1-64)
  mv "$f" "$blobs/$h"
  layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$h\",\"size\":$((LAYER_MIB * 1024 * 1024))}"
done
cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
printf '%s' "$cfg" >"$work/cfg"
ch=$(sha256sum "$work/cfg" | cut -c1-64)
mv "$work/cfg" "$blobs/$ch"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}' \
  "$ch" "${#cfg}" "$layers" >"$work/manifest"
mh=$(sha256sum "$work/manifest" | cut -c1-64)
mv "$work/manifest" "$blobs/$mh"
total=$(du -sb "$blobs" | cut -f1)

# Warm the page cache once more, so every tool reads the same cached bytes.
cat "$blobs"/* >/dev/null

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

# Wall seconds, CPU seconds and peak RSS (KiB) of a command, via GNU time.
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    rc=$?
    [ "$rc" -eq 0 ] || { cat "$work/err" >&2; return "$rc"; }
  }
  read -r secs user sys rss <"$work/time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

limit=$(openssl speed -seconds 3 -bytes 1048576 -evp sha256 2>/dev/null | awk '/^sha256/ { sub(/k$/, "", $2); printf "%.0f", $2 * 1000 / 1e6 }')

load=$(cut -d' ' -f1 /proc/loadavg)
measure sha256sum "$blobs"/*
sum_s=$secs sum_rss=$rss sum_cpu=$cpu
measure "$IMGWATCH" verify-store --root "$work" --jobs 1 --offline "bench=sha256:$mh"
grep -q "no findings" "$work/out" || { cat "$work/out" "$work/err" >&2; exit 1; }
j1_s=$secs j1_rss=$rss j1_cpu=$cpu
measure "$IMGWATCH" verify-store --root "$work" --jobs 2 --offline "bench=sha256:$mh"
grep -q "no findings" "$work/out" || { cat "$work/out" "$work/err" >&2; exit 1; }
j2_s=$secs j2_rss=$rss j2_cpu=$cpu

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "verify-store on $((total / 1024 / 1024)) MiB in $n layers (page cache), $(nproc) cores, load average $load before the runs"
echo
echo "| tool | jobs | wall s | MB/s (wall) | CPU s | MB per CPU-s | vs openssl per core | peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
echo "| openssl speed -evp sha256 (1 MiB blocks) | 1 | - | - | - | $limit | 1.00 | - |"
row() {
  local name=$1 jobs=$2 s=$3 c=$4 r=$5 eff
  eff=$(mbps "$total" "$c")
  echo "| $name | $jobs | $s | $(mbps "$total" "$s") | $c | $eff | $(ratio "$eff" "$limit") | $((r / 1024)) MiB |"
}
row sha256sum 1 "$sum_s" "$sum_cpu" "$sum_rss"
row "imgwatch verify-store" 1 "$j1_s" "$j1_cpu" "$j1_rss"
row "imgwatch verify-store" 2 "$j2_s" "$j2_cpu" "$j2_rss"
echo
echo "Scaling from 1 to 2 jobs (wall): $(ratio "$j1_s" "$j2_s")x."
