package distroless

import (
	"context"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/resolver"
)

// BenchmarkResolveWarm resolves python3 on trixie from a warm cache (the
// first iteration warms it): index open, profile expansion and closure.
func BenchmarkResolveWarm(b *testing.B) {
	o := pipeline.Options{Distro: "debian:trixie", CacheDir: testCache}
	if _, err := pipeline.Resolve(context.Background(), "python3", o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pipeline.Resolve(context.Background(), "python3", o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenWarm builds python3 on trixie from a warm cache (the first
// run warms it) into an OCI layout: index open, closure, the cache reads
// (with their verification) and the image build and write.
func BenchmarkGenWarm(b *testing.B) {
	o := pipeline.GenOptions{Options: pipeline.Options{Distro: "debian:trixie", CacheDir: testCache}, Output: clitest.Output(b, "oci:"+b.TempDir()+"/out:latest")}
	if _, err := pipeline.Gen(context.Background(), "python3", o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pipeline.Gen(context.Background(), "python3", o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveCustom resolves a custom profile of 50 packages over
// python3 (testdata/bench/custom50.yaml) on trixie from a warm cache.
func BenchmarkResolveCustom(b *testing.B) {
	p, err := pipeline.LoadProfileFile("testdata/bench/custom50.yaml")
	if err != nil {
		b.Fatal(err)
	}
	o := pipeline.Options{Distro: "debian:trixie", CacheDir: testCache, Profile: p}
	if _, err := pipeline.Resolve(context.Background(), p.Name, o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pipeline.Resolve(context.Background(), p.Name, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClosure times the resolver alone on an open index (its parsed
// stanzas kept): python3, and the 50-package profile above.
func BenchmarkClosure(b *testing.B) {
	p, err := pipeline.LoadProfileFile("testdata/bench/custom50.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    pipeline.Options
	}{
		{"python3", pipeline.Options{Distro: "debian:trixie", CacheDir: testCache}},
		{"custom50", pipeline.Options{Distro: "debian:trixie", CacheDir: testCache, Profile: p}},
	} {
		name := c.name
		r, err := pipeline.Resolve(context.Background(), name, c.o)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := resolver.Resolve(r.Index, r.Plan.Levels, resolver.Options{Prune: r.Plan.Prune}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
