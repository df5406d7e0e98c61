#!/usr/bin/env bash
# demo.sh - the green-burrito story, on a private registry this script starts
# itself: no cluster needed.  Run by `make demo` (which installs the Debian
# packages and builds build/imgwatch first).  Everything happens in a temp
# dir that is removed at the end, and the registry is stopped, also on ^C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export IMGWATCH=${IMGWATCH:-$root/build/imgwatch}
for cmd in docker-registry umoci skopeo kubectl /usr/bin/python3; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "demo: $cmd is missing: run 'make deps' first" >&2; exit 2; }
done
[ -x "$IMGWATCH" ] || { echo "demo: $IMGWATCH is missing: run 'make build/imgwatch' first" >&2; exit 2; }
export PYTHONPATH="$root/tests/e2e${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 "$root/scripts/demo/green_burrito.py" "$@"
