#!/usr/bin/env bash
# Measures `distroless release` against the equivalent single gens, on a
# local distribution registry (Debian's docker-registry, plain HTTP on
# 127.0.0.1, started here): the release of PROFILES × {root, nonroot} ×
# {plain, debug} × PLATFORMS, warm cache, into an empty repository
# namespace; the sum of one `gen -o REGISTRY/…` per image and platform,
# warm, into another; and a re-release with nothing changed (its time and
# the blob uploads the registry logged). Run by scripts/bench.sh release.
#
#   ./scripts/release-bench.sh [PROFILES [PLATFORMS]]
#     (default: "static base cc python3 nodejs java21" "linux/amd64 linux/arm64")
# BENCH_CACHE_DIR names a cache to use (and keep) instead of a fresh one;
# BENCH_SKIP_GENS=1 leaves out the single gens; BENCH_SHARDS=N adds the
# matrix as N shards at once on empty caches, then --finish.
# Last, the re-release on an empty cache each run (a fresh CI runner): the
# records in the registry say nothing changed; its time, the blob uploads
# and the blobs (packages) the new cache got.
set -euo pipefail
cd "$(dirname "$0")/.."
profiles=${1:-static base cc python3 nodejs java21}
platforms=${2:-linux/amd64 linux/arm64}

if ! command -v docker-registry >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi

work=$(mktemp -d)
regpid=""
cleanup() { [ -n "$regpid" ] && kill "$regpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/distroless" ./cmd/distroless
dl="$work/distroless"
export DISTROLESS_CACHE_DIR=${BENCH_CACHE_DIR:-$work/cache}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $work/registry}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done
reg=127.0.0.1:$port

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>>"$work/err.log" || { tail -20 "$work/err.log" >&2; exit 1; }; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}'; }
uploads() { grep -c '"PUT /v2/[^ ]*/blobs/uploads/' "$work/registry.log" || true; }

release_file() { # NAMESPACE
  { echo "registry: $reg/$1"
    echo "lock: release.lock.json"
    echo "distros: [debian:trixie]"
    echo "platforms: [$(echo "$platforms" | sed 's/ /, /g')]"
    echo "users: [root, nonroot]"
    echo "debug: [false, true]"
    echo "images:"
    for p in $profiles; do echo "  - $p"; done
  } > "$work/$1.yaml"
}

n_images=$(( $(wc -w <<<"$profiles") * 4 ))
echo "== release of $profiles × 4 variants × $platforms ($n_images images, $(nproc) cores)"
# Warm-up (fills the cache, writes the lockfile every run below shares).
release_file warmup
label="release, cold cache:               "
[ -n "${BENCH_CACHE_DIR:-}" ] && label="release, cache $BENCH_CACHE_DIR:"
echo "$label $(secs "$dl" release "$work/warmup.yaml") s"
for ns in measured gens; do release_file $ns; done
cp "$work/release.lock.json" "$work/keep.lock.json"

u0=$(uploads)
t_release=$(secs "$dl" release "$work/measured.yaml")
u1=$(uploads)
echo "release, warm cache, empty registry: ${t_release} s ($((u1 - u0)) blob uploads)"

# The same images one gen each (per platform: gen builds one), from the
# release's lockfile entries so both build the same packages
# (BENCH_SKIP_GENS=1 leaves them out).
t_gens=0
n_gens=0
for p in $profiles; do
  [ -n "${BENCH_SKIP_GENS:-}" ] && break
  for debug in "" -debug; do
    for plat in $platforms; do
      arch=${plat#linux/}
      python3 - "$work/keep.lock.json" "$p$debug" "$arch" "$work/one.lock" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for l in s["locks"]:
    if (l.get("requested") or l["profile"]) == sys.argv[2] and l["arch"] == sys.argv[3] and l["distro"] == "debian:trixie":
        json.dump(l, open(sys.argv[4], "w"))
        break
else:
    sys.exit("no lock for " + sys.argv[2] + " " + sys.argv[3])
PY
      for user in root nonroot; do
        variant=$user; [ "$user" = root ] && variant=latest
        [ -n "$debug" ] && { [ "$user" = root ] && variant=debug || variant=debug-nonroot; }
        t=$(secs "$dl" gen "$p$debug" --distro debian:trixie --arch "$arch" --user "$user" --lock "$work/one.lock" -o "$reg/gens/$p-debian13:$variant-$arch")
        t_gens=$(awk -v a="$t_gens" -v b="$t" 'BEGIN{printf "%.2f", a+b}')
        n_gens=$((n_gens + 1))
      done
    done
  done
done
if [ "$n_gens" -gt 0 ]; then
  echo "sum of $n_gens single gens, warm:     ${t_gens} s"
  echo "ratio release / gens:               $(awk -v a="$t_release" -v b="$t_gens" 'BEGIN{printf "%.2f", a/b}')"
fi

best=999
u0=$(uploads)
for i in 1 2 3; do
  t=$(secs "$dl" release "$work/measured.yaml")
  echo "re-release, nothing changed, run $i: ${t} s"
  best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (a < b) ? a : b}')
done
u1=$(uploads)
echo "re-release, nothing changed, best:  ${best} s ($((u1 - u0)) blob uploads in 3 runs)"

# A fresh runner: the same re-release on an empty cache each run. The
# records the release left in the registry say nothing changed; no
# package is downloaded (the cache's blob store stays empty of them).
best=999
u0=$(uploads)
for i in 1 2 3; do
  rm -rf "$work/empty-cache"
  t=$(DISTROLESS_CACHE_DIR="$work/empty-cache" secs "$dl" release "$work/measured.yaml")
  blobs=0
  [ -d "$work/empty-cache/blobs" ] && blobs=$(find "$work/empty-cache/blobs" -type f | wc -l)
  echo "re-release, nothing changed, empty cache, run $i: ${t} s (${blobs} blobs in the cache)"
  best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (a < b) ? a : b}')
done
u1=$(uploads)
echo "re-release, nothing changed, empty cache, best: ${best} s ($((u1 - u0)) blob uploads in 3 runs)"

# BENCH_SHARDS=N: the same matrix as N shards run at once, each on an
# empty cache (N fresh CI runners), into another namespace, then --finish
# on an empty cache; the wall time of the shards (the slowest) and of the
# finish, and whether every tag holds the digest the single release gave.
if [ -n "${BENCH_SHARDS:-}" ]; then
  release_file sharded
  s0=$(date +%s.%N)
  pids=()
  for k in $(seq "$BENCH_SHARDS"); do
    DISTROLESS_CACHE_DIR="$work/shard-cache-$k" "$dl" release "$work/sharded.yaml" --shard "$k/$BENCH_SHARDS" -q >/dev/null 2>"$work/shard-$k.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { tail -20 "$work"/shard-*.log >&2; exit 1; }; done
  s1=$(date +%s.%N)
  t_finish=$(DISTROLESS_CACHE_DIR="$work/finish-cache" secs "$dl" release "$work/sharded.yaml" --finish)
  echo "$BENCH_SHARDS shards at once, each on an empty cache: $(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b-a}') s; --finish, empty cache: ${t_finish} s"
  "$dl" release "$work/measured.yaml" --json --dry-run 2>/dev/null | python3 -c '
import json, sys
for im in json.load(sys.stdin)["images"]:
    for t in im["tags"]:
        print(t.split("/measured/", 1)[1], im["digest"])' | sort > "$work/single.txt"
  "$dl" release "$work/sharded.yaml" --json --dry-run 2>/dev/null | python3 -c '
import json, sys
for im in json.load(sys.stdin)["images"]:
    for t in im["tags"]:
        print(t.split("/sharded/", 1)[1], im["digest"])' | sort > "$work/sharded.txt"
  if cmp -s "$work/single.txt" "$work/sharded.txt"; then
    echo "sharded release: every tag holds the single release's digest ($(wc -l < "$work/single.txt") tags)"
  else
    echo "sharded release differs from the single one:"; diff "$work/single.txt" "$work/sharded.txt" | head
  fi
fi
