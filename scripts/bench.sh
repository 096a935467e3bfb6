#!/usr/bin/env bash
# Measures the speed and size targets of distroless on this machine and
# prints the figures. Not part of the test command: run it by hand.
#
#   ./scripts/bench.sh [profile] [distro]     (default: python3.11 debian:bookworm)
#
# Needs mmdebstrap (installed if missing) for the cold-cache comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-python3.11}
dist=${2:-debian:bookworm}
suite=${dist#debian:}

if ! command -v mmdebstrap >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# The mirror: the setting, else the first non-security archive the host's apt sources name.
mirror=${DISTROLESS_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}' | grep -v -- -security | head -1)
  [ -n "$mirror" ] || mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v -- -security | head -1)
fi
[ -n "$mirror" ] || { echo "no mirror: set DISTROLESS_DEBIAN_MIRROR" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/distroless" ./cmd/distroless
dl="$work/distroless"

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.3f", b-a}'; }

echo "== $profile on $dist ($(nproc) cores)"
cold=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-cold:x")
echo "gen, cold cache:            ${cold} s"
mm=$(secs mmdebstrap --quiet --variant=extract --include="$profile" "$suite" "$work/mm.tar" "$mirror")
echo "mmdebstrap --variant=extract --include=$profile: ${mm} s  (gen is $(awk -v a="$mm" -v b="$cold" 'BEGIN{printf "%.1f", a/b}')x faster)"

"$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x" >/dev/null 2>&1
best=999
for i in 1 2 3 4 5; do
  t=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x")
  best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (a < b) ? a : b}')
  echo "gen, warm cache, run $i:    ${t} s"
done
echo "gen, warm cache, best:      ${best} s"
for i in 1 2 3; do
  echo "resolve, warm cache:        $(secs "$dl" resolve "$profile" --distro "$dist" --cache-dir "$work/cold") s"
done

json=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x" --json 2>/dev/null)
python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"image: {len(r['packages'])} packages, rootfs {r['size']/1e6:.1f} MB uncompressed, "
      f"{r['image_size']/1e6:.1f} MB compressed, {r['download']/1e6:.1f} MB of packages downloaded")
PY

# Several platforms: python3 on trixie for linux/amd64 alone and for
# linux/amd64,linux/arm64 (one image index), cold (an empty cache each
# run) and warm, runs of the two alternating; medians and ratios.
# (arm64's Python bytecode comes from the amd64 build, but for the few
# arm64-only modules, compiled through qemu-user when binfmt_misc has it.)
runs=${BENCH_PLATFORM_RUNS:-3}
echo "== python3 on debian:trixie: 1 platform vs 2 (medians of $runs, alternating)"
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
one=() two=()
for i in $(seq "$runs"); do
  rm -rf "$work/p1" "$work/p2"
  one+=("$(secs "$dl" gen python3 --distro debian:trixie --cache-dir "$work/p1" -o "oci:$work/p1-out:x")")
  two+=("$(secs "$dl" gen python3 --distro debian:trixie --platform linux/amd64,linux/arm64 --cache-dir "$work/p2" -o "oci:$work/p2-out:x")")
done
c1=$(printf '%s\n' "${one[@]}" | median); c2=$(printf '%s\n' "${two[@]}" | median)
echo "cold: amd64 ${one[*]} s, median $c1; amd64+arm64 ${two[*]} s, median $c2; ratio $(awk -v a="$c2" -v b="$c1" 'BEGIN{printf "%.2f", a/b}')"
one=() two=()
for i in $(seq "$runs"); do
  one+=("$(secs "$dl" gen python3 --distro debian:trixie --cache-dir "$work/p1" -o "oci:$work/p1-out:x")")
  two+=("$(secs "$dl" gen python3 --distro debian:trixie --platform linux/amd64,linux/arm64 --cache-dir "$work/p2" -o "oci:$work/p2-out:x")")
done
w1=$(printf '%s\n' "${one[@]}" | median); w2=$(printf '%s\n' "${two[@]}" | median)
echo "warm: amd64 ${one[*]} s, median $w1; amd64+arm64 ${two[*]} s, median $w2; ratio $(awk -v a="$w2" -v b="$w1" 'BEGIN{printf "%.2f", a/b}')"

echo "== Go benchmarks"
go test -run '^$' -bench 'IndexReady|OpenWarm|WarmClosure' -benchtime 5x ./packages/deb/ | grep -E '^Benchmark'
go test -run '^$' -bench . -benchtime 3x ./assemble/ | grep -E '^Benchmark'
