#!/usr/bin/env bash
# Runs every test of distroless, installing what the tests need first.
# For a fresh Debian/Ubuntu machine with Go; needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real tools the integration tests drive: podman (with runc) runs the
# generated images, skopeo and umoci inspect them; the JDK's javac and jar
# build the jar the java images run; rpm (rpmbuild, rpmsign), createrepo-c,
# gnupg and gcc build the signed RPM repositories the RPM tests serve (from
# the host's glibc, OpenSSL, C++ runtime, CA certificates, time zones,
# /etc/services and /etc/mime.types). The fidelity tests compile C and
# C++ programs against glibc and OpenSSL (g++, libssl-dev) and compare
# subject hashes with the openssl tool; mmdebstrap makes the full Debian
# root filesystem CPython's regression tests are compared against.
need=(podman runc skopeo umoci default-jdk-headless
  rpm createrepo-c gnupg gcc libc6-dev ca-certificates tzdata netbase media-types
  g++ libssl-dev openssl mmdebstrap)
# xz and bzip2 compress the hostile packages the payload tests build.
need+=(xz-utils bzip2)
# The distribution registry the push tests run (internal/registrytest).
need+=(docker-registry)
# The host's Python 3.11, whose standard library TestPycParallelSame
# (assemble) compiles in one process and in several.
need+=(python3.11)
# qemu-user through binfmt_misc runs the arm64 and armhf images of the
# multi-platform tests.
need+=(qemu-user-static binfmt-support)
# The application-layer tests build wheels with the host's python3 (a pure
# one, and a C extension linked against libyaml).
need+=(python3-dev python3-setuptools python3-wheel libyaml-dev)
# npm: appdeps/npm's real-registry test compares its tree with npm ci's
# (a host whose npm comes with another nodejs package keeps it).
command -v npm >/dev/null || need+=(npm)
# The sqlite3 shell reads back the SQLite files internal/sqlitefile writes
# (the RPM images' rpmdb.sqlite).
need+=(sqlite3)
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# binfmt_misc, with qemu-user's arm64 and armhf entries enabled: the
# multi-platform tests run those images, and fail when they cannot.
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
mountpoint -q /proc/sys/fs/binfmt_misc || $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
for q in qemu-aarch64 qemu-arm; do
  [ -e "/proc/sys/fs/binfmt_misc/$q" ] || $sudo update-binfmts --enable "$q"
  grep -qx enabled "/proc/sys/fs/binfmt_misc/$q" || { echo "binfmt_misc: $q is not enabled" >&2; exit 1; }
done

# trivy and syft, at pinned versions, for the scanner tests (built once,
# kept outside the repository).
scripts/scanners.sh >/dev/null

go vet ./...
go test -count=1 -timeout 28m "$@" ./...
