package distroless

import (
	"context"
	"testing"
)

// BenchmarkResolveWarm resolves python3 on trixie from a warm cache (the
// first iteration warms it): index open, profile expansion and closure.
func BenchmarkResolveWarm(b *testing.B) {
	o := Options{Distro: "debian:trixie", CacheDir: testCache}
	if _, err := Resolve(context.Background(), "python3", o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Resolve(context.Background(), "python3", o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenWarm builds python3 on trixie from a warm cache (the first
// run warms it) into an OCI layout: index open, closure, the cache reads
// (with their verification) and the image build and write.
func BenchmarkGenWarm(b *testing.B) {
	o := GenOptions{Options: Options{Distro: "debian:trixie", CacheDir: testCache}, Output: "oci:" + b.TempDir() + "/out:latest"}
	if _, err := Gen(context.Background(), "python3", o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Gen(context.Background(), "python3", o); err != nil {
			b.Fatal(err)
		}
	}
}
