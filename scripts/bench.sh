#!/usr/bin/env bash
# Measures the speed and size targets of distroless on this machine and
# prints the figures. Not part of the test command: run it by hand.
#
#   ./scripts/bench.sh [profile] [distro]     (default: python3.11 debian:bookworm)
#   ./scripts/bench.sh release [PROFILES [PLATFORMS]]   (scripts/release-bench.sh)
#
# Needs mmdebstrap (installed if missing) for the cold-cache comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = release ]; then shift; exec ./scripts/release-bench.sh "$@"; fi
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

echo "== Go benchmarks"
go test -run '^$' -bench 'IndexReady|OpenWarm|WarmClosure' -benchtime 5x ./packages/deb/ | grep -E '^Benchmark'
go test -run '^$' -bench . -benchtime 3x ./assemble/ | grep -E '^Benchmark'
