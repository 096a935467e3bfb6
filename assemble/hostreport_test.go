package assemble

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"
)

// A generated file that names the host file its Data came from (From) is
// listed among the Report's HostFiles, and the image is the one without
// From.
func TestHostFileFromReported(t *testing.T) {
	data := []byte("-----BEGIN CERTIFICATE-----\n")
	f := File{Path: "/etc/corp.pem", Mode: 0o644, Data: data}
	plain, _ := mustBuild(t, newFixture().spec(Layer{Name: "top", Files: []File{f}}))
	f.From = "/host/corp.pem"
	img, rep := mustBuild(t, newFixture().spec(Layer{Name: "top", Files: []File{f}}))
	sum := sha256.Sum256(data)
	want := []HostFile{{Path: "/etc/corp.pem", Source: "/host/corp.pem", Layer: "top", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}}
	if !reflect.DeepEqual(rep.HostFiles, want) {
		t.Errorf("HostFiles %+v, want %+v", rep.HostFiles, want)
	}
	d1, _ := plain.Digest()
	d2, _ := img.Digest()
	if d1 != d2 {
		t.Errorf("From changed the image: %s, %s", d1, d2)
	}
}
