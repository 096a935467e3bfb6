#!/usr/bin/env bash
# Installs the image scanners the fidelity and SBOM tests run (trivy, syft
# and grype, at pinned versions, and grype-emptydb) and cosign, which the
# supply-chain tests verify with, into a tool directory outside the
# repository, built from source through a throwaway module (the module proxy
# may refuse `go install` of these modules, whose go.mod has replace
# directives).
# Already-built versions are reused. Prints the tool directory.
# Usage: scripts/scanners.sh [TOOLDIR]   (default: $DISTROLESS_TOOLS, else
# $XDG_CACHE_HOME/distroless-tools, else ~/.cache/distroless-tools)
set -euo pipefail
TRIVY_VERSION=v0.57.1
SYFT_VERSION=v1.18.1
COSIGN_VERSION=v2.6.5
GRYPE_VERSION=v0.121.3
dir=${1:-${DISTROLESS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/distroless-tools}}
mkdir -p "$dir"
# Concurrent runs (two test processes on one machine) take turns: the
# second finds what the first built.
exec 9>"$dir/.lock"
flock 9
build() { # NAME MODULE VERSION PACKAGE
  local name=$1 mod=$2 ver=$3 pkg=$4
  local bin="$dir/$name-$ver"
  if [ ! -x "$bin" ]; then
    local tmp
    tmp=$(mktemp -d)
    (
      cd "$tmp"
      go mod init tools.local/"$name" >/dev/null 2>&1
      go get "$pkg@$ver" >&2
      CGO_ENABLED=0 go build -trimpath -o "$bin.tmp.$$" "$pkg" >&2
    )
    mv "$bin.tmp.$$" "$bin"
    rm -rf "$tmp"
  fi
  ln -sfn "$name-$ver" "$dir/$name"
}
build trivy github.com/aquasecurity/trivy "$TRIVY_VERSION" github.com/aquasecurity/trivy/cmd/trivy
build syft github.com/anchore/syft "$SYFT_VERSION" github.com/anchore/syft/cmd/syft
build cosign github.com/sigstore/cosign/v2 "$COSIGN_VERSION" github.com/sigstore/cosign/v2/cmd/cosign
build grype github.com/anchore/grype "$GRYPE_VERSION" github.com/anchore/grype/cmd/grype
# grype needs a vulnerability database to read an SBOM at all (it loads one
# before matching and fails without): grype-emptydb writes an empty one of
# grype's own schema, made by grype's own database writer, for
# `grype db import` (the SBOM tests list packages, they match nothing).
emptydb="$dir/grype-emptydb-$GRYPE_VERSION"
if [ ! -x "$emptydb" ]; then
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    go mod init tools.local/grype-emptydb >/dev/null 2>&1
    cat > main.go <<'GO'
// grype-emptydb DIR writes DIR/vulnerability.db: an empty grype database.
package main

import (
	"fmt"
	"os"

	v6 "github.com/anchore/grype/grype/db/v6"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: grype-emptydb DIR")
		os.Exit(2)
	}
	w, err := v6.NewWriter(v6.Config{DBDirPath: os.Args[1]})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
    go get "github.com/anchore/grype/grype/db/v6@$GRYPE_VERSION" >&2
    CGO_ENABLED=0 go build -trimpath -o "$emptydb.tmp.$$" . >&2
  )
  mv "$emptydb.tmp.$$" "$emptydb"
  rm -rf "$tmp"
fi
ln -sfn "grype-emptydb-$GRYPE_VERSION" "$dir/grype-emptydb"
echo "$dir"
