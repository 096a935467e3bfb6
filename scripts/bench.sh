#!/usr/bin/env bash
# Measures the speed and size targets of distroless on this machine and
# prints the figures. Not part of the test command: run it by hand.
#
#   ./scripts/bench.sh [profile] [distro]     (default: python3.11 debian:bookworm)
#   ./scripts/bench.sh release [PROFILES [PLATFORMS]]   (scripts/release-bench.sh)
#   ./scripts/bench.sh short [RUNS]   (go test -short ./... offline, warm
#     build cache, RUNS runs (default 3): median wall and CPU seconds)
#   ./scripts/bench.sh fresh [REV]   (scripts/fresh-bench.sh: a fresh clone's
#                                     module download, compile and first gen)
#
# Without arguments the cold-cache comparison with mmdebstrap runs for
# python3.11 (bookworm, BENCH_RUNS runs each, default 5) and java21
# (trixie, BENCH_JAVA_RUNS, default 3) in the same run, medians of wall,
# CPU (user + system) and peak memory with their ratios; then a warm
# no-change gen of python3 (trixie, medians of BENCH_WARM_RUNS, default
# 11) and the README's first command on a fresh clone
# (scripts/fresh-bench.sh; BENCH_FRESH=0 leaves it out). Each figure is printed with the load
# average at the time. Peak memory is
# measured with /usr/bin/time -v (gen java25) and, for hostile packages,
# by the tests that assert it. Needs mmdebstrap and time (installed if
# missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = release ]; then shift; exec ./scripts/release-bench.sh "$@"; fi
if [ "${1:-}" = fresh ]; then shift; exec ./scripts/fresh-bench.sh "$@"; fi
if [ "${1:-}" = short ]; then
  # Offline: a network namespace of its own, loopback up (tests serve on
  # 127.0.0.1). One run first to fill the build cache.
  runs=${2:-3}
  go test -short -count=1 ./... >/dev/null
  out=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -a -o "$out" unshare -n sh -c 'ip link set lo up && go test -short -count=1 ./... >/dev/null'
  done
  mid() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  printf 'go test -short ./... offline (load %s, %d runs): median %s s wall, %s CPU-s\n' \
    "$(cut -d' ' -f1 /proc/loadavg)" "$runs" "$(awk '{print $1}' "$out" | mid)" "$(awk '{print $2+$3}' "$out" | mid)"
  rm -f "$out"
  exit 0
fi
profile=${1:-python3.11}
dist=${2:-debian:bookworm}
suite=${dist#debian:}

if ! command -v mmdebstrap >/dev/null || ! [ -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mmdebstrap time >/dev/null
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

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.3f", b-a}'; }

# timev CMD...: runs CMD under /usr/bin/time -v, prints "SECONDS CPU-SECONDS PEAK-MiB".
timev() {
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { tail -5 "$log" >&2; rm -f "$log"; return 1; }
  awk -F': ' '/Elapsed/{n=split($2,t,":"); s=(n==3)?t[1]*3600+t[2]*60+t[3]:t[1]*60+t[2]}
    /User time/{u=$2} /System time/{y=$2} /Maximum resident/{m=$2}
    END{printf "%.2f %.2f %d", s, u+y, m/1024}' "$log"
  rm -f "$log"
}

# compare PROFILE DISTRO PACKAGES [RUNS]: cold gen and mmdebstrap
# --variant=extract of the profile's root packages, RUNS times each
# (default $BENCH_RUNS, else 5), the two alternating; medians of wall
# seconds, CPU seconds (user + system, children included) and peak RSS,
# and the ratios of the medians.
compare() {
  local profile=$1 dist=$2 pkgs=$3 runs=${4:-${BENCH_RUNS:-5}} suite=${2#debian:} i
  : >"$work/g.txt"; : >"$work/m.txt"
  for i in $(seq "$runs"); do
    rm -rf "$work/cold-$profile" "$work/mm.tar"
    timev "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" -o "oci:$work/out-cold:x" >>"$work/g.txt"; echo >>"$work/g.txt"
    timev mmdebstrap --quiet --variant=extract --include="$pkgs" "$suite" "$work/mm.tar" "$mirror" >>"$work/m.txt"; echo >>"$work/m.txt"
  done
  local gs gc gm ms mc mm
  gs=$(awk '{print $1}' "$work/g.txt" | median); gc=$(awk '{print $2}' "$work/g.txt" | median); gm=$(awk '{print $3}' "$work/g.txt" | median)
  ms=$(awk '{print $1}' "$work/m.txt" | median); mc=$(awk '{print $2}' "$work/m.txt" | median); mm=$(awk '{print $3}' "$work/m.txt" | median)
  printf '%-11s cold (medians of %d, load %s): gen %6.2f s %5.1f CPU-s %4d MiB | mmdebstrap --variant=extract %6.2f s %5.1f CPU-s %4d MiB | ratio %.2fx wall, %.2fx CPU\n' \
    "$profile" "$runs" "$(cut -d' ' -f1 /proc/loadavg)" "$gs" "$gc" "$gm" "$ms" "$mc" "$mm" \
    "$(awk -v a="$gs" -v b="$ms" 'BEGIN{print a/b}')" "$(awk -v a="$gc" -v b="$mc" 'BEGIN{print a/b}')"
}

echo "== cold cache, against mmdebstrap ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$profile" = python3.11 ] && [ -z "${2:-}" ]; then
  compare python3.11 debian:bookworm python3.11
  compare java21 debian:trixie openjdk-21-jre-headless "${BENCH_JAVA_RUNS:-3}"
else
  compare "$profile" "$dist" "$profile"
fi

# python3 on trixie, warm, nothing changed: medians of wall and CPU.
rm -rf "$work/warm-py3"
"$dl" gen python3 --distro debian:trixie --cache-dir "$work/warm-py3" -o "oci:$work/out-py3:x" >/dev/null 2>&1
RUNS=${BENCH_WARM_RUNS:-11} DISTROLESS_CACHE_DIR="$work/warm-py3" ./scripts/nochange.sh python3 debian:trixie "$dl"

# The README's first command on a fresh clone: scripts/fresh-bench.sh
# (a clone of HEAD, empty module and build caches: what `go run` downloads,
# the compile, the first gen, and their sum). BENCH_FRESH=0 leaves it out
# (it compiles every dependency).
if [ "${BENCH_FRESH:-1}" = 1 ]; then
  BENCH_FRESH_REBUILD=0 ./scripts/fresh-bench.sh
fi

echo "== peak memory (/usr/bin/time -v)"
rm -rf "$work/cold-java25"
printf 'java25, cold cache:   %s s, %s CPU-s, %s MiB peak\n' $(timev "$dl" gen java25 --cache-dir "$work/cold-java25" -o "oci:$work/out-java:x")
printf 'java25, warm cache:   %s s, %s CPU-s, %s MiB peak\n' $(timev "$dl" gen java25 --cache-dir "$work/cold-java25" -o "oci:$work/out-java:x")
# Hostile packages (a .deb of under 1 MiB holding 4 GiB of zeros): the
# tests measure gen's peak RSS through rusage and log it.
go test -count=1 -run 'TestGenSizeLimits|TestGenHugePayload' -v . 2>&1 | grep -E '^(=== RUN|\s+limits_integration_test.go:[0-9]+: peak RSS)' | sed 's/^ *//'

echo "== warm cache"
"$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" -o "oci:$work/out-warm:x" >/dev/null 2>&1
# No change: the image is read back from the cache (the image memo).
for i in 1 2 3 4 5; do
  t=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" -o "oci:$work/out-warm:x")
  echo "gen, warm cache, no change, run $i: ${t} s"
  echo "$t" >> "$work/nochange"
done
echo "gen, warm cache, no change, median: $(median < "$work/nochange") s"
# The same, CPU seconds too, next to a warm resolve (medians of 5).
RUNS=5 DISTROLESS_CACHE_DIR="$work/cold-$profile" ./scripts/nochange.sh "$profile" "$dist" "$dl" | sed 1d
# Only the image config changes (another --user each run): every layer is
# taken from the layer cache, the rest of the build runs.
for i in 1 2 3 4 5; do
  t=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" --user "$((1000 + i))" -o "oci:$work/out-user:x")
  echo "gen, warm cache, new --user (layers cached), run $i: ${t} s"
  echo "$t" >> "$work/layers"
done
echo "gen, warm cache, layers cached, median: $(median < "$work/layers") s"
# zstd layers: the first build compresses them, the next is a no-change build.
zs=$(secs "$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" --compression zstd -o "oci:$work/out-zstd:x")
echo "gen --compression zstd, warm cache, layers compressed: ${zs} s"
zjson=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" --compression zstd -o "oci:$work/out-zstd:x" --json 2>/dev/null)
gjson=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" -o "oci:$work/out-warm:x" --json 2>/dev/null)
python3 - "$gjson" "$zjson" <<'PY'
import json, sys
g, z = (json.loads(a) for a in sys.argv[1:3])
print(f"layers: gzip {g['image_size']/1e6:.1f} MB, zstd {z['image_size']/1e6:.1f} MB")
PY
for i in 1 2 3; do
  echo "resolve, warm cache:        $(secs "$dl" resolve "$profile" --distro "$dist" --cache-dir "$work/cold-$profile") s"
done

json=$("$dl" gen "$profile" --distro "$dist" --cache-dir "$work/cold-$profile" -o "oci:$work/out-warm:x" --json 2>/dev/null)
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
# Warm resolves on trixie: python3, and the custom profile of 50 packages
# over it (testdata/bench/custom50.yaml); targets 100 ms and 300 ms.
for i in 1 2 3; do
  echo "resolve python3 (trixie), warm cache: $(secs "$dl" resolve python3 --distro debian:trixie --cache-dir "$work/p1") s;" \
    "custom50: $(secs "$dl" resolve -f testdata/bench/custom50.yaml --distro debian:trixie --cache-dir "$work/p1") s"
done

echo "== xz decoders on real packages (libnode, openjdk-21-jre-headless)"
"$dl" gen nodejs --distro debian:trixie --cache-dir "$work/cold-xz" -o "oci:$work/out-node:x" --lock "$work/node.lock" >/dev/null 2>&1
"$dl" gen java21 --distro debian:trixie --cache-dir "$work/cold-xz" -o "oci:$work/out-java:x" --lock "$work/java.lock" >/dev/null 2>&1
debs=$(python3 - "$work/cold-xz" "$work/node.lock" "$work/java.lock" <<'PY'
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
# The resolver: warm resolves (index open included), the closure alone,
# and a 200 000-package generated index (time and bytes allocated).
go test -run '^$' -bench 'ResolveWarm|ResolveCustom|Closure' -benchtime 10x . | grep -E '^Benchmark'
go test -run '^$' -bench Synthetic -benchmem -count 5 ./resolver/ | grep -E '^Benchmark'
