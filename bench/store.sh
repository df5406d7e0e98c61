#!/usr/bin/env bash
# store.sh - verify-store throughput on a containerd-shaped content
# directory of STORE_MIB (default 2048) MiB of layer blobs, compared with
# `sha256sum` over the same files and with `openssl speed -evp sha256`
# (the per-core limit of SHA-256 on this CPU; it divides by user CPU time).
# The blobs are read from the page cache (they are written just before), so
# this measures hashing and copying, not the disk.  Besides wall time, each
# tool's CPU time (user + system) is reported: MB per CPU-second is the
# per-core efficiency and does not depend on what else the machine runs.
# The content-API row (when containerd can run here) counts imgwatch's CPU
# only, not containerd's work serving the reads.  Prints a markdown table.
#
#   STORE_MIB=512 bash bench/store.sh      a quicker run
set -euo pipefail
cd "$(dirname "$0")/.."
IMGWATCH=${IMGWATCH:-$PWD/build/imgwatch}
MIB=${STORE_MIB:-2048}
LAYER_MIB=${STORE_LAYER_MIB:-128}
[ -x "$IMGWATCH" ] || make -s build/imgwatch
work=$(mktemp -d /tmp/iw-bench-store-XXXXXX)
ctd_pid="" sock=""
cleanup() {
  if [ -n "$ctd_pid" ]; then
    kill "$ctd_pid" 2>/dev/null || true
    wait "$ctd_pid" 2>/dev/null || true
  fi
  [ -z "$sock" ] || rm -f "$sock" "$sock.ttrpc"
  rm -rf "$work"
}
trap cleanup EXIT
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


# Through containerd's content API (gRPC Read over the socket), when this
# machine can run containerd (root, Debian's containerd installed): the
# same blobs imported as one image.
api_row=""
if [ "$(id -u)" -eq 0 ] && command -v containerd >/dev/null && command -v ctr >/dev/null; then
  lay=$work/layout
  mkdir -p "$lay/blobs"
  ln -s "$blobs" "$lay/blobs/sha256"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  msize=$(stat -c %s "$blobs/$mh")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"bench.local/store:latest"}}]}' \
    "$mh" "$msize" >"$lay/index.json"
  ctd=$work/ctd
  mkdir -p "$ctd/root" "$ctd/state"
  sock=$(mktemp -u /tmp/iw-bench-ctd-XXXXXX.sock)
  printf 'version = 2\nroot = "%s"\nstate = "%s"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' \
    "$ctd/root" "$ctd/state" "$sock" "$sock" >"$ctd/config.toml"
  containerd --config "$ctd/config.toml" >"$ctd/log" 2>&1 &
  ctd_pid=$!
  for _ in $(seq 1 100); do ctr --address "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  if tar -C "$lay" -chf - . | ctr --address "$sock" images import --no-unpack - >/dev/null 2>&1; then
    cat "$ctd/root/io.containerd.content.v1.content/blobs/sha256/"* >/dev/null 2>&1 || true
    measure "$IMGWATCH" verify-store --containerd "$sock" --offline --jobs 2 bench.local/store:latest
    grep -q "no findings" "$work/out" || { cat "$work/out" "$work/err" >&2; exit 1; }
    api_row="$secs $cpu $rss"
  else
    echo "(containerd import failed; no content-API row)" >&2
  fi
fi

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
if [ -n "$api_row" ]; then
  read -r a_s a_cpu a_rss <<<"$api_row"
  row "imgwatch verify-store --containerd (gRPC Read)" 2 "$a_s" "$a_cpu" "$a_rss"
fi
echo
echo "Scaling from 1 to 2 jobs (wall): $(ratio "$j1_s" "$j2_s")x."
