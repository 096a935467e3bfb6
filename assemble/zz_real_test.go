package assemble

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
)

func realSpec(t testing.TB) Spec {
	files, _ := filepath.Glob("/tmp/debs/*.deb")
	if len(files) == 0 {
		t.Skip("no debs")
	}
	layer := map[string]int{"base-files": 0, "netbase": 0, "tzdata": 0, "ca-certificates": 0, "media-types": 0,
		"libc6": 1, "libssl3": 1, "libgcc-s1": 2, "libstdc++6": 2}
	var ls [4]Layer
	ls[0].Name, ls[1].Name, ls[2].Name, ls[3].Name = "static", "base", "cc", "python3.11"
	for _, f := range files {
		n := strings.SplitN(filepath.Base(f), "_", 3)
		li, ok := layer[n[0]]
		if !ok {
			li = 3
		}
		ls[li].Packages = append(ls[li].Packages, Unpack{Pkg: &packages.Package{Name: n[0], Version: n[1], Arch: "amd64", Record: []byte("Package: " + n[0] + "\nVersion: " + n[1] + "\n")}, File: f})
	}
	return Spec{Layers: ls[:], Payload: deb.DebPayload{CacheDir: "/tmp/debcache"}, Arch: "amd64",
		OSRelease: map[string]string{"ID": "debian", "PRETTY_NAME": "Distroless (Debian GNU/Linux 12 (bookworm))"},
		PruneFiles: DefaultPruneFiles, Entrypoint: []string{"/usr/bin/python3.11"}}
}

func TestReal(t *testing.T) {
	spec := realSpec(t)
	spec.Progress = func(s string) { t.Log(s) }
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		img, rep, err := Build(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		os.RemoveAll("/tmp/realout")
		d, err := Write(context.Background(), img, "oci:/tmp/realout", WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("build %v write %v digest %s", t1.Sub(t0), time.Since(t1), d)
		if i == 0 {
			for _, l := range rep.Layers {
				t.Logf("%+v", l)
			}
			t.Logf("files %d size %d elf %d warnings %d", rep.Files, rep.Size, rep.ELFFiles, len(rep.Warnings))
			for _, w := range rep.Warnings {
				t.Log(w)
			}
		}
	}
}

func BenchmarkReal(b *testing.B) {
	spec := realSpec(b)
	for i := 0; i < b.N; i++ {
		img, _, err := Build(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll("/tmp/realout")
		if _, err := Write(context.Background(), img, "oci:/tmp/realout", WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
