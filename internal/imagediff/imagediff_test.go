package imagediff

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

// TestImages: the differences are said layer by layer, file by file
// (content, mode, owner, type, link, presence), then config fields; a
// layer that is the same is not mentioned.
func TestImages(t *testing.T) {
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
	out, err := Images(pub, reb)
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
