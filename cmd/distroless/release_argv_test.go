package main

import (
	"strings"
	"testing"
)

func TestReleaseArgv(t *testing.T) {
	for in, want := range map[string]string{
		"release r.yaml --json --cache-dir /c --sign-key k": "release r.yaml --sign-key k",
		"release r.yaml --shard 2/4 --cache-dir=/c -q":      "release r.yaml",
		"release r.yaml --finish --shard=1/2 --dry-run":     "release r.yaml",
		"release r.yaml --builder-id x --quiet --matrix":    "release r.yaml --builder-id x",
		"release r.yaml --date 20260101 --sbom-format spdx": "release r.yaml --date 20260101 --sbom-format spdx",
		"release r.yaml --sandbox-timeout 3h --json":        "release r.yaml",
		"release r.yaml --sandbox-timeout=2h --insecure":    "release r.yaml --insecure",
	} {
		if got := strings.Join(releaseArgv(strings.Fields(in)), " "); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
