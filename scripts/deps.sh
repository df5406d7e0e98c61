#!/usr/bin/env bash
# deps.sh - install the Debian packages the build and the tests need.
#
# Package names live in scripts/deps.d/*.txt, one per line (# comments).
# A line "cmd:NAME PACKAGE" asks for PACKAGE only when no command NAME is
# on PATH (kubectl, for one, may come from elsewhere than Debian).
# Only missing packages are installed, quietly; running it twice is a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lists=$(cat "$here"/deps.d/*.txt | sed 's/#.*//')
missing=()
while read -r cmd pkg; do
  command -v "${cmd#cmd:}" >/dev/null 2>&1 || missing+=("$pkg")
done < <(grep -E '^[[:space:]]*cmd:' <<<"$lists" || true)
mapfile -t want < <(grep -vE '^[[:space:]]*cmd:' <<<"$lists" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
