#!/usr/bin/env bash
# Prints the image digest of every built-in Debian profile (and its debug
# variant) on the distros gen picks, with a fixed SOURCE_DATE_EPOCH, one
# "PROFILE DISTRO DIGEST" line each. Compare two runs (before and after a
# change) to see which images a change altered:
#   scripts/digests.sh > before.txt; ...; scripts/digests.sh > after.txt; diff before.txt after.txt
# Usage: scripts/digests.sh [DISTROLESS_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/distroless
  go build -o "$bin" ./cmd/distroless
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
while read -r profile distro; do
  for p in "$profile" "$profile-debug"; do
    d=$("$bin" gen "$p" --distro "$distro" -o "oci:$out/img:$p" 2>/dev/null | tail -n 1) || d="FAILED"
    echo "$p $distro $d"
  done
done <<'LIST'
static debian:trixie
base debian:trixie
cc debian:trixie
python3 debian:trixie
python3.13 debian:trixie
python3.11 debian:bookworm
nodejs debian:trixie
nodejs debian:bookworm
java-base debian:trixie
java17 debian:bookworm
java21 debian:trixie
java25 debian:trixie
static debian:bookworm
cc debian:bookworm
LIST
