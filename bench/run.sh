#!/usr/bin/env bash
# run.sh - run every benchmark (bench/<area>.sh); each prints a markdown table.
# BENCH=name runs only bench/name.sh.  Benchmarks are not tests: they
# measure and print, and fail only when they cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
  n=$(basename "$b" .sh)
  [ "$n" = run ] && continue
  [ -n "${BENCH:-}" ] && [ "$BENCH" != "$n" ] && continue
  echo "## $n"
  echo
  bash "$b" || { echo "bench $n failed" >&2; status=1; }
  echo
done
exit $status
