package lockfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSetWriteRead: a set reads back the same, sorted by key; Put replaces
// the lock of the same profile, distro and architecture.
func TestSetWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.lock.json")
	s := &Set{}
	arm := sample()
	arm.Arch = "arm64"
	s.Put(arm)
	s.Put(sample())
	st := sample()
	st.Profile, st.Requested = "static", ""
	s.Put(st)
	newer := sample()
	newer.Packages[0].Version = "2.41-13"
	s.Put(newer)
	if len(s.Locks) != 3 || s.Find(SetKey("python3", "debian:trixie", "amd64")).Packages[0].Version != "2.41-13" {
		t.Fatalf("Put: %d locks, %+v", len(s.Locks), s.Find(SetKey("python3", "debian:trixie", "amd64")))
	}
	if err := WriteSet(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSet(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range got.Locks {
		keys = append(keys, l.Key())
	}
	want := []string{"python3 debian:trixie amd64", "python3 debian:trixie arm64", "static debian:trixie amd64"}
	if !reflect.DeepEqual(keys, want) || got.Single {
		t.Errorf("keys %v (single %v), want %v", keys, got.Single, want)
	}
	if !reflect.DeepEqual(got.Locks[0], newer) {
		t.Errorf("read back %+v, want %+v", got.Locks[0], newer)
	}
}

// TestSetSingle: one image's lockfile reads as a set of one and is
// written back in its own form, which gen --lock reads.
func TestSetSingle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.lock")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSet(path)
	if err != nil || !s.Single || len(s.Locks) != 1 {
		t.Fatalf("ReadSet: %+v, %v", s, err)
	}
	s.Locks[0].Packages[0].Version = "9"
	if err := WriteSet(path, s); err != nil {
		t.Fatal(err)
	}
	l, err := Read(path)
	if err != nil || l.Packages[0].Version != "9" {
		t.Fatalf("Read after WriteSet: %+v, %v", l, err)
	}
}

// TestSetSinglePlatforms: gen's lockfile of several platforms (version 2)
// is a set of one lock per platform, written back as one version-2
// lockfile in its order; a set lock of version 2 is refused.
func TestSetSinglePlatforms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.lock")
	arm := sample()
	arm.Arch = "arm64"
	amd := sample()
	amd.Arch = "amd64"
	m, err := Merge([]*Lock{arm, amd})
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(path, m); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSet(path)
	if err != nil || !s.Single || len(s.Locks) != 2 || s.Locks[0].Arch != "arm64" || s.Locks[1].Key() != amd.Key() {
		t.Fatalf("ReadSet: %+v, %v", s, err)
	}
	s.Locks[1].Packages[0].Version = "9"
	if err := WriteSet(path, s); err != nil {
		t.Fatal(err)
	}
	l, err := Read(path)
	if err != nil || l.Version != VersionPlatforms || strings.Join(l.Archs(), ",") != "arm64,amd64" || l.Platforms[1].Packages[0].Version != "9" {
		t.Fatalf("Read after WriteSet: %+v, %v", l, err)
	}
	// Another image added: the file becomes a set.
	other := sample()
	other.Profile = "other"
	s.Put(other)
	if err := WriteSet(path, s); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "several images") {
		t.Errorf("Read of a set: %v", err)
	}
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), `"version": 1,
      "profile": "other"`, `"version": 2,
      "profile": "other"`, 1)
	if bad == string(data) {
		t.Fatalf("set file:\n%s", data)
	}
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSet(path); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("ReadSet of a version-2 lock in a set: %v", err)
	}
}

func TestReadSetRefuses(t *testing.T) {
	good := `{"version":1,"profile":"p","distro":"d","arch":"amd64","packages":[{"name":"a","url":"u","sha256":"` + strings.Repeat("a", 64) + `","size":1}]}`
	for _, c := range []struct{ raw, want string }{
		{`[]`, "cannot unmarshal array"},
		{`{"version":2,"locks":[]}`, "version 2"},
		{`{"version":1,"locks":[null]}`, "locks[0] is null"},
		{`{"version":1,"locks":[` + good + `,` + good + `]}`, "locks[1]: p on d (amd64) is locked twice"},
		{`{"version":1,"locks":[{"version":1,"profile":"p","distro":"d","arch":"amd64"}]}`, "locks[0]: profile, distro and packages are required"},
		{`{"version":1,"locks":[],"extra":1}`, `unknown field "extra"`},
	} {
		path := filepath.Join(t.TempDir(), "x.json")
		if err := os.WriteFile(path, []byte(c.raw), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSet(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.raw, err, c.want)
		}
	}
}

// TestReadRefusesSet: gen --lock given a release's lockfile says what it is.
func TestReadRefusesSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteSet(path, &Set{Locks: []*Lock{sample(), func() *Lock { l := sample(); l.Arch = "arm64"; return l }()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "holds the locks of several images") {
		t.Errorf("err = %v", err)
	}
}
