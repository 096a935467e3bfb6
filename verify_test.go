package distroless

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type tarEntry struct {
	name, body string
	mode       int64
	uid        int
	typ        byte
	link       string
}

func testLayer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Typeflag: typ, Linkname: e.link}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDiffImages: the differences are said layer by layer, file by file
// (content, mode, owner, type, link, presence), then config fields; a
// layer that is the same is not mentioned.
func TestDiffImages(t *testing.T) {
	same := testLayer(t, tarEntry{name: "etc/", mode: 0o755, typ: tar.TypeDir}, tarEntry{name: "etc/a", body: "a", mode: 0o644})
	pub, err := mutate.AppendLayers(empty.Image, same, testLayer(t,
		tarEntry{name: "bin/x", body: "evil", mode: 0o755},
		tarEntry{name: "bin/y", body: "y", mode: 0o4755},
		tarEntry{name: "bin/z", mode: 0o777, typ: tar.TypeSymlink, link: "/tmp/evil"},
		tarEntry{name: "bin/extra", body: "e", mode: 0o644, uid: 1000},
	))
	if err != nil {
		t.Fatal(err)
	}
	reb, err := mutate.AppendLayers(empty.Image, same, testLayer(t,
		tarEntry{name: "bin/x", body: "good", mode: 0o755},
		tarEntry{name: "bin/y", body: "y", mode: 0o755},
		tarEntry{name: "bin/z", mode: 0o777, typ: tar.TypeSymlink, link: "x"},
		tarEntry{name: "bin/gone", body: "g", mode: 0o644},
	))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := pub.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = []string{"A=1"}
	cf.Config.User = "0:0"
	if pub, err = mutate.ConfigFile(pub, cf); err != nil {
		t.Fatal(err)
	}
	out, err := diffImages(pub, reb)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(out, "\n")
	for _, want := range []string{
		"layer 2: sha256:",
		"~ /bin/x: file 0755 0:0 4 bytes sha256:",
		"~ /bin/y: file 4755 0:0 1 bytes",
		"~ /bin/z: symlink 0777 0:0 0 bytes → /tmp/evil in the image, symlink 0777 0:0 0 bytes → x rebuilt",
		"+ /bin/extra: only in the image: file 0644 1000:0 1 bytes",
		"- /bin/gone: only in the rebuild: file 0644 0:0 1 bytes",
		"config config.User: 0:0 in the image,  rebuilt",
		"config config.Env: [A=1] in the image, [] rebuilt",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "layer 1") || strings.Contains(text, "/etc/a") {
		t.Errorf("the same layer is mentioned:\n%s", text)
	}
}

// TestRebuildInputs: a provenance makes the lockfile its packages pin;
// what cannot be rebuilt from it is refused, saying why.
func TestRebuildInputs(t *testing.T) {
	mk := func(params map[string]any, pkgAnn map[string]any, pkgName string) *provenanceStatement {
		st := &provenanceStatement{PredicateType: "https://slsa.dev/provenance/v1"}
		bd := &st.Predicate.BuildDefinition
		bd.ExternalParameters = map[string]any{"profile": "static", "resolvedProfile": "static", "distro": "debian:trixie", "arch": "amd64", "user": "root"}
		for k, v := range params {
			bd.ExternalParameters[k] = v
		}
		bd.ResolvedDependencies = append(bd.ResolvedDependencies, struct {
			Name        string            `json:"name"`
			URI         string            `json:"uri"`
			Digest      map[string]string `json:"digest"`
			Annotations map[string]any    `json:"annotations"`
		}{Name: pkgName, URI: "http://mirror.example/debian/pool/main/b/base-files/base-files_13.8_amd64.deb", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}, Annotations: pkgAnn})
		return st
	}
	good := map[string]any{"kind": "package", "layer": "static", "size": "100", "path": "pool/main/b/base-files/base-files_13.8_amd64.deb"}
	in, err := rebuildInputs(mk(nil, good, "base-files_13.8_amd64"), "")
	if err != nil {
		t.Fatal(err)
	}
	p := in.lock.Packages[0]
	if p.Name != "base-files" || p.Version != "13.8" || p.Arch != "amd64" || p.Size != 100 || p.Layer != "static" || !strings.HasPrefix(p.URL, "http://mirror.example/") || in.user != "root" {
		t.Errorf("package %+v, user %q", p, in.user)
	}
	in, err = rebuildInputs(mk(nil, good, "base-files_13.8_amd64"), "http://snapshot.example/archive/debian/20260101T000000Z/")
	if err != nil || in.lock.Packages[0].URL != "http://snapshot.example/archive/debian/20260101T000000Z/pool/main/b/base-files/base-files_13.8_amd64.deb" {
		t.Errorf("--mirror: %v %v", in, err)
	}
	for name, c := range map[string]struct {
		st     *provenanceStatement
		mirror string
		want   string
	}{
		"no layer":     {mk(nil, map[string]any{"kind": "package", "size": "100"}, "base-files_13.8_amd64"), "", "without its layer"},
		"bad name":     {mk(nil, good, "basefiles"), "", "without its layer"},
		"add":          {mk(map[string]any{"add": []any{"curl"}}, good, "base-files_13.8_amd64"), "", "--add"},
		"profile file": {mk(map[string]any{"resolvedProfile": "myapp"}, good, "base-files_13.8_amd64"), "", "not built in"},
		"distro file":  {mk(map[string]any{"distro": "./corp.yaml"}, good, "base-files_13.8_amd64"), "", "distro file"},
		"no arch":      {mk(map[string]any{"arch": ""}, good, "base-files_13.8_amd64"), "", "no profile, distro or architecture"},
		"dotdot path": {mk(nil, map[string]any{"kind": "package", "layer": "static", "size": "100", "path": "../../etc/passwd"}, "base-files_13.8_amd64"),
			"http://m.example/", "no usable path"},
	} {
		if _, err := rebuildInputs(c.st, c.mirror); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
