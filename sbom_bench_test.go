package distroless

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

// BenchmarkGenWarmSBOM: what the SBOM costs a warm python3 build on
// trixie: a docker-archive without one, then with --sbom (each package
// file described: control data and copyright file, read through the
// unpack cache).
func BenchmarkGenWarmSBOM(b *testing.B) {
	dir := b.TempDir()
	for _, tc := range []struct{ name, sbom string }{{"without", ""}, {"with", filepath.Join(dir, "sbom.json")}} {
		o := pipeline.GenOptions{Options: pipeline.Options{Distro: "debian:trixie", CacheDir: testCache}, Output: clitest.Output(b, "docker-archive:"+filepath.Join(dir, "py.tar")), SBOM: tc.sbom}
		if _, err := pipeline.Gen(context.Background(), "python3", o); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := pipeline.Gen(context.Background(), "python3", o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
