#!/usr/bin/env bash
# run-replay.sh - replay every fuzz target's seed corpus under ASan+UBSan.
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
for b in "$@"; do
  n=$(basename "$b")
  dir=tests/fuzz/corpus/$n
  if [ ! -d "$dir" ]; then echo "replay: $n has no corpus at $dir" >&2; fail=1; continue; fi
  out=$("$b" "$dir" 2>&1) || { echo "$out" >&2; echo "replay: $n FAILED" >&2; fail=1; continue; }
  echo "replay: $n: ${out##*$'\n'}"
done
exit $fail
