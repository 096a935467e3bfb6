#!/usr/bin/env bash
# Prints, for every built-in profile image, its uncompressed and compressed
# size next to the Installed-Size sum of Debian's full Depends closure of
# the same roots (resolve --no-prune). Run by hand; needs the mirror.
#
#   ./scripts/sizes.sh [PROFILE@DISTRO ...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/distroless" ./cmd/distroless
dl="$work/distroless"
cache=${DISTROLESS_CACHE_DIR:-$work/cache}

if (($#)); then set -- "$@"; else
  set -- static@debian:trixie base@debian:trixie cc@debian:trixie \
    python3.11@debian:bookworm python3@debian:trixie \
    nodejs@debian:trixie java17@debian:bookworm java21@debian:trixie java25@debian:trixie \
    python3-debug@debian:trixie
fi

printf '%-16s %-16s %5s %11s %11s %5s %14s %7s\n' PROFILE DISTRO PKGS ROOTFS COMPRESSED FULL FULL-INSTALLED RATIO
for pd in "$@"; do
  p=${pd%@*}; d=${pd#*@}
  if ! img=$("$dl" gen "$p" --distro "$d" --cache-dir "$cache" -o "oci:$work/img:x" --json 2>"$work/err"); then
    printf '%-16s %-16s %s\n' "$p" "$d" "failed: $(tail -1 "$work/err")"; continue
  fi
  full=$("$dl" resolve "$p" --distro "$d" --cache-dir "$cache" --no-prune --json 2>/dev/null)
  python3 - "$p" "$d" "$img" "$full" <<'PY'
import json, sys
p, d, img, full = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
mb = lambda n: f"{n/1e6:.1f} MB"
print(f"{p:16} {d:16} {len(img['packages']):5} {mb(img['size']):>11} {mb(img['image_size']):>11} "
      f"{len(full['packages']):5} {mb(full['installed_size']):>14} {img['size']/full['installed_size']:6.0%}")
PY
done
