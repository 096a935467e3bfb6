#!/usr/bin/env bash
# Runs every fuzz target of the repository, one after another, for a while
# each (go test -fuzz allows one target per run). A failing input is
# written by go test under the package's testdata/fuzz/TARGET/, where it
# stays as a regression case of the plain test run once the bug is fixed.
# Usage: scripts/fuzz.sh [DURATION] [PACKAGE...]
#   DURATION is go test's -fuzztime (default 3m: minutes each, enough to
#   find what a few seconds do not); PACKAGEs default to ./...
# Exits non-zero if any target failed, after running all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
time=${1:-3m}
shift || true
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(./...)
failed=()
n=0
for pkg in $(go list "${pkgs[@]}"); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz') || continue
  for target in $targets; do
    n=$((n + 1))
    echo "== $pkg $target ($time)"
    # A new input is minimized for 5s at most: with go test's default
    # (60s), a 2-minute run of FuzzFromCopyright on a loaded machine spent
    # nearly all of it minimizing inputs grown from a 17 KB seed (31
    # executions); with 2s, one minute made 94,000.
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg"; then
      failed+=("$pkg $target")
    fi
  done
done
echo "$n fuzz targets, ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
((${#failed[@]} == 0))
