#!/usr/bin/env bash
# Times a warm, no-change gen (the same image again, to the same layout)
# and a warm resolve: medians of RUNS (default 7) of wall and CPU seconds
# (user + system). Not part of the test command: run it by hand.
#
#   ./scripts/nochange.sh [profile] [distro] [binary...]
#
# With binaries given (built from other revisions, say), each is timed in
# turn on the same cache, the runs alternating, so that they compare under
# the same load; without, the working tree's binary.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-python3}
dist=${2:-debian:trixie}
shift $(( $# < 2 ? $# : 2 ))
runs=${RUNS:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  go build -o "$work/distroless" ./cmd/distroless
  bins=("$work/distroless")
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
cache=${DISTROLESS_CACHE_DIR:-$work/cache}
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# one CMD...: "WALL CPU" of one run.
one() { /usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.3f %.3f\n", $1, $2+$3}'; }
for b in "${bins[@]}"; do
  # Warm: the build, then one no-change gen for the memo entries of this binary.
  "$b" gen "$profile" --distro "$dist" --cache-dir "$cache" -o "oci:$work/out:x" -q >/dev/null 2>&1
  "$b" gen "$profile" --distro "$dist" --cache-dir "$cache" -o "oci:$work/out:x" -q >/dev/null 2>&1
done
for i in $(seq "$runs"); do
  for j in "${!bins[@]}"; do
    one "${bins[$j]}" gen "$profile" --distro "$dist" --cache-dir "$cache" -o "oci:$work/out:x" -q >> "$work/gen.$j"
    one "${bins[$j]}" resolve "$profile" --distro "$dist" --cache-dir "$cache" >> "$work/resolve.$j"
  done
done
echo "warm, no change, $profile on $dist, medians of $runs ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):"
for j in "${!bins[@]}"; do
  for c in gen resolve; do
    printf '%-40s %-8s wall %6.3f s  CPU %6.3f s\n' "${bins[$j]##*/}" "$c" \
      "$(awk '{print $1}' "$work/$c.$j" | median)" "$(awk '{print $2}' "$work/$c.$j" | median)"
  done
done
