#!/usr/bin/env bash
# The README's first command on a fresh clone, taken apart: a clone of
# the committed tree (REV, default HEAD) with an empty module cache and an
# empty build cache, then
#   1. go list -deps ./cmd/distroless (module download time: the modules
#      of the packages the command imports, which is what go run
#      fetches; go mod download would fetch every module of go.mod, test
#      dependencies too)
#   2. go build ./cmd/distroless (compile time, wall and CPU-seconds)
#   3. distroless gen python3    (the first image, empty image cache)
# and their sum, which is what `go run ./cmd/distroless gen python3 …`
# costs. Each step is printed with wall time, CPU-seconds (user + system,
# children included) and the load average before and after it.
# Then the build once more from an empty build cache with the modules
# already there (BENCH_FRESH_REBUILD=0 leaves it out), and with
# BENCH_FRESH_GRAPH=FILE the compile's action graph (go build
# -debug-actiongraph) is kept in FILE (its actions have Package, TimeStart and TimeDone).
#
#   ./scripts/fresh-bench.sh [REV]      (also: ./scripts/bench.sh fresh [REV])
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$(git rev-parse "${1:-HEAD}")
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
git clone -q --no-local --no-checkout . "$work/src"
git -C "$work/src" checkout -q --detach "$rev"
cd "$work/src"
export GOCACHE="$work/gocache" GOMODCACHE="$work/gomod" GOFLAGS=-modcacherw

load() { cut -d' ' -f1 /proc/loadavg; }
# step NAME CMD...: runs CMD, prints its figures, adds its wall time to total.
total=0
step() {
  local name=$1 l0 e u s; shift
  l0=$(load)
  /usr/bin/time -f '%e %U %S' -o "$work/t" "$@" >"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
  read -r e u s <"$work/t"
  printf '%-34s %7.1f s wall %7.1f CPU-s (load %s -> %s)\n' "$name" "$e" "$(awk -v a="$u" -v b="$s" 'BEGIN{print a+b}')" "$l0" "$(load)"
  total=$(awk -v a="$total" -v b="$e" 'BEGIN{print a+b}')
}

echo "== fresh clone of $(git rev-parse --short HEAD) ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3))"
step "module download (go list -deps)" go list -deps ./cmd/distroless
graph=()
[ -n "${BENCH_FRESH_GRAPH:-}" ] && graph=(-debug-actiongraph="$work/graph.json")
step "go build (empty build cache)" go build "${graph[@]}" -o "$work/distroless" ./cmd/distroless
[ -n "${BENCH_FRESH_GRAPH:-}" ] && cp "$work/graph.json" "$BENCH_FRESH_GRAPH"
step "gen python3 (empty image cache)" "$work/distroless" gen python3 --cache-dir "$work/cache" -o "oci:$work/out:python3"
printf '%-34s %7.1f s wall\n' "first image from a fresh clone" "$total"
if [ "${BENCH_FRESH_REBUILD:-1}" = 1 ]; then
  rm -rf "$GOCACHE"
  step "go build again (modules there)" go build -o "$work/distroless2" ./cmd/distroless
fi
