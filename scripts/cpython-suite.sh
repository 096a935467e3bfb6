#!/usr/bin/env bash
# CPython's whole regression suite (Debian's libpython3.X-testsuite) in the
# python images next to a full Debian root filesystem of the same packages.
#
#   scripts/cpython-suite.sh [JOBS [3.X:SUITE...]]
#
# JOBS is regrtest's -jN (default 2); the pairs default to 3.13:trixie
# 3.11:bookworm. For each pair: gen builds the image with
# --add libpython3.X-testsuite; mmdebstrap (--variant=apt) installs the same
# packages, with their maintainer scripts, into a directory; every test
# module then runs in both with podman (--network=none, the image's nonroot
# UID 65532, HOME=/tmp, LANG=C.UTF-8) through
# testdata/python/cpython_suite.py, and the per-module results are compared.
# The test cases testdata/python/shell_cases.txt lists (they need /bin/sh)
# are left out of both runs.
# Prints a Markdown table (the one in README) and the modules that fail only
# in the image. Needs root (mmdebstrap's root mode), podman, mmdebstrap; takes
# long (an hour and more on two cores). The mirror is $DISTROLESS_DEBIAN_MIRROR
# (and $DISTROLESS_DEBIAN_SECURITY_MIRROR), else http://deb.debian.org/debian.
# PODMAN overrides the podman command (e.g. "podman --runtime runc").
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-2}
shift || true
pairs=("$@")
((${#pairs[@]})) || pairs=(3.13:trixie 3.11:bookworm)
podman=${PODMAN:-podman}
mirror=${DISTROLESS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DISTROLESS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
tmp=${TMPDIR:-/tmp}/cpython-suite-$$
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/distroless" ./cmd/distroless
runner=$(cat testdata/python/cpython_suite.py)
# The test cases that need /bin/sh are left out of both runs.
ignore=()
while read -r pat; do
  case $pat in ''|'#'*) ;; *) ignore+=(-i "$pat") ;; esac
done <testdata/python/shell_cases.txt

results=()
for pair in "${pairs[@]}"; do
  v=${pair%%:*} suite=${pair#*:}
  out="$tmp/py$v"
  "$tmp/distroless" gen "python$v" --distro "debian:$suite" --add "libpython$v-testsuite" \
    --json -o "oci:$out:suite" >"$tmp/gen-$v.json" 2>"$tmp/gen-$v.log"
  pkgs=$(python3 -c 'import json,sys; print(",".join(p.split("=")[0] for p in json.load(open(sys.argv[1]))["packages"]))' "$tmp/gen-$v.json")
  echo "python$v: $(wc -l <<<"${pkgs//,/$'\n'}") packages; mmdebstrap…" >&2
  mmdebstrap --quiet --variant=apt --include="$pkgs" "$suite" "$tmp/full-$v" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
  img=$($podman pull -q "oci:$out:suite")
  common=(run --rm --network=none --workdir /tmp -e HOME=/tmp -e LANG=C.UTF-8 --user 65532:65532)
  # Both at once: the tests mostly wait (timeouts, children, sockets).
  $podman "${common[@]}" "$img" -c "$runner" "-j$jobs" "${ignore[@]}" --all >"$tmp/image-$v.out" 2>"$tmp/image-$v.log" &
  $podman "${common[@]}" --rootfs "$tmp/full-$v" "/usr/bin/python$v" -c "$runner" "-j$jobs" "${ignore[@]}" --all \
    >"$tmp/full-$v.out" 2>"$tmp/full-$v.log" &
  wait
  $podman rmi -f "$img" >/dev/null 2>&1 || true
  results+=("$v" "$tmp/image-$v.out" "$tmp/full-$v.out")
done

python3 - "${results[@]}" <<'EOF'
import json, sys
bad = {"failed", "crashed", "timeout", "env_changed"}
def load(f):
    for line in open(f):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.exit(f"{f}: no RESULT line")
args = sys.argv[1:]
rows, only = [], []
for i in range(0, len(args), 3):
    v, img, full = args[i], load(args[i + 1]), load(args[i + 2])
    mods = sorted(set(img) | set(full))
    ok_both = sum(1 for m in mods if img.get(m) == "ok" and full.get(m) == "ok")
    fail_both = sum(1 for m in mods if img.get(m) in bad and full.get(m) in bad)
    img_only = [m for m in mods if img.get(m) in bad and full.get(m) not in bad]
    full_only = [m for m in mods if full.get(m) in bad and img.get(m) not in bad]
    skip_img = [m for m in mods if img.get(m) != "ok" and img.get(m) not in bad and full.get(m) == "ok"]
    rows.append(f"| {v} | {len(mods)} | {ok_both} | {fail_both} | {len(img_only)} | {len(full_only)} | {len(skip_img)} |")
    only.append(f"python{v}: fail only in the image: {' '.join(img_only) or '-'}; "
                f"skipped only in the image: {' '.join(skip_img) or '-'}; fail only in full Debian: {' '.join(full_only) or '-'}")
print("| python | modules | pass in both | fail in both | fail only in the image | fail only in full Debian | skipped only in the image |")
print("|---|---|---|---|---|---|---|")
print("\n".join(rows))
print()
print("\n".join(only))
EOF
