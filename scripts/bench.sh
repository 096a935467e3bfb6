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

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.3f", b-a}'; }

echo "== $profile on $dist ($(nproc) cores)"
cold=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-cold:x")
echo "gen, cold cache:            ${cold} s"
mm=$(secs mmdebstrap --quiet --variant=extract --include="$profile" "$suite" "$work/mm.tar" "$mirror")
echo "mmdebstrap --variant=extract --include=$profile: ${mm} s  (gen is $(awk -v a="$mm" -v b="$cold" 'BEGIN{printf "%.1f", a/b}')x faster)"

"$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x" >/dev/null 2>&1
# No change: the image is read back from the cache (the image memo).
for i in 1 2 3 4 5; do
  t=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x")
  echo "gen, warm cache, no change, run $i: ${t} s"
  echo "$t" >> "$work/nochange"
done
echo "gen, warm cache, no change, median: $(median < "$work/nochange") s"
# Only the image config changes (another --user each run): every layer is
# taken from the layer cache, the rest of the build runs.
for i in 1 2 3 4 5; do
  t=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" --user "$((1000 + i))" -o "oci:$work/out-user:x")
  echo "gen, warm cache, new --user (layers cached), run $i: ${t} s"
  echo "$t" >> "$work/layers"
done
echo "gen, warm cache, layers cached, median: $(median < "$work/layers") s"
# zstd layers: the first build compresses them, the next is a no-change build.
zs=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" --compression zstd -o "oci:$work/out-zstd:x")
echo "gen --compression zstd, warm cache, layers compressed: ${zs} s"
zjson=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" --compression zstd -o "oci:$work/out-zstd:x" --json 2>/dev/null)
gjson=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold" -o "oci:$work/out-warm:x" --json 2>/dev/null)
python3 - "$gjson" "$zjson" <<'PY'
import json, sys
g, z = (json.loads(a) for a in sys.argv[1:3])
print(f"layers: gzip {g['image_size']/1e6:.1f} MB, zstd {z['image_size']/1e6:.1f} MB")
PY
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

echo "== xz decoders on real packages (libnode, openjdk-21-jre-headless)"
"$dl" gen nodejs --distro debian:trixie --cache-dir "$work/cold" -o "oci:$work/out-node:x" --lock "$work/node.lock" >/dev/null 2>&1
"$dl" gen java21 --distro debian:trixie --cache-dir "$work/cold" -o "oci:$work/out-java:x" --lock "$work/java.lock" >/dev/null 2>&1
debs=$(python3 - "$work/cold" "$work/node.lock" "$work/java.lock" <<'PY'
import json, sys
cache = sys.argv[1]
for lock in sys.argv[2:]:
    for p in json.load(open(lock))["packages"]:
        if p["name"].startswith("libnode") or p["name"] == "openjdk-21-jre-headless":
            print(f"{cache}/blobs/sha256/{p['sha256']}")
PY
)
DISTROLESS_BENCH_DEBS="$debs" go test -run '^$' -bench XZDebs -benchtime 3x ./packages/decompress/ | grep -E '^Benchmark'

echo "== Go benchmarks"
go test -run '^$' -bench 'IndexReady|OpenWarm|WarmClosure' -benchtime 5x ./packages/deb/ | grep -E '^Benchmark'
go test -run '^$' -bench . -benchtime 3x ./assemble/ | grep -E '^Benchmark'
