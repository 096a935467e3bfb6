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
# /etc/services and /etc/mime.types); mmdebstrap makes the full Debian root
# filesystem CPython's regression tests are compared against.
need=(podman runc skopeo umoci default-jdk-headless
  rpm createrepo-c gnupg gcc libc6-dev ca-certificates tzdata netbase media-types
  mmdebstrap)
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

go vet ./...
go test -count=1 -timeout 20m "$@" ./...
