package pipeline

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// countingDescriber describes every file the same way and counts the
// reads; fail makes it fail.
type countingDescriber struct {
	n    atomic.Int32
	fail error
}

func (d *countingDescriber) Describe(file string) (packages.Description, error) {
	d.n.Add(1)
	if d.fail != nil {
		return packages.Description{}, d.fail
	}
	return packages.Description{Supplier: "Maint <m@example.org>", Homepage: "https://example.org/" + file,
		License:  packages.License{Expression: "LicenseRef-x", Extracted: []packages.ExtractedLicense{{ID: "LicenseRef-x", Name: "x", Text: "x"}}},
		Depends:  []packages.Dep{{Kind: packages.DepOr, Args: []packages.Dep{{Atom: packages.Atom{Name: "a", Op: ">=", Version: "1"}}, {Atom: packages.Atom{Name: "b"}}}}},
		Provides: []string{"p"}}, nil
}

// TestDescribeMemo: a description is read once and then taken from the
// cache, equal to the one read; a damaged entry, an entry moved to
// another package's place, another package file and a failed read are
// never answered from the cache.
func TestDescribeMemo(t *testing.T) {
	if toolID() == "" {
		t.Fatal("the test binary has no Go build ID: the memo cannot be tested")
	}
	var log bytes.Buffer
	c := &fetch.Cache{Dir: t.TempDir(), Log: &log}
	d := &countingDescriber{}
	shaA, shaB := strings.Repeat("a", 64), strings.Repeat("b", 64)

	want, _ := d.Describe("fileA")
	d.n.Store(0)
	got, err := describeMemo(c, d, "fileA", shaA)
	if err != nil || !reflect.DeepEqual(got, want) || d.n.Load() != 1 {
		t.Fatalf("first: %+v, %v, %d reads; want %+v, 1 read", got, err, d.n.Load(), want)
	}
	got, err = describeMemo(c, d, "fileA", shaA)
	if err != nil || !reflect.DeepEqual(got, want) || d.n.Load() != 1 {
		t.Fatalf("second: %+v, %v, %d reads; want the kept description, no read", got, err, d.n.Load())
	}

	// Another package file: read.
	if _, err := describeMemo(c, d, "fileA", shaB); err != nil || d.n.Load() != 2 {
		t.Fatalf("another sha256: %v, %d reads; want a read", err, d.n.Load())
	}

	// A damaged entry: removed with a warning, read again, kept again.
	pA := c.NamedPath(describeKey(d, shaA))
	raw, err := os.ReadFile(pA)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(raw, []byte("example.org"), []byte("example.net"), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("the entry does not hold the description")
	}
	if err := os.WriteFile(pA, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = describeMemo(c, d, "fileA", shaA)
	if err != nil || !reflect.DeepEqual(got, want) || d.n.Load() != 3 {
		t.Fatalf("damaged: %+v, %v, %d reads; want a read giving %+v", got, err, d.n.Load(), want)
	}
	if !strings.Contains(log.String(), "damaged") {
		t.Errorf("no warning of the damaged entry: %q", log.String())
	}

	// B's entry (intact) moved to A's place: its key is not A's.
	pB := c.NamedPath(describeKey(d, shaB))
	rawB, err := os.ReadFile(pB)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pA, rawB, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := describeMemo(c, d, "fileA", shaA); err != nil || d.n.Load() != 4 {
		t.Fatalf("misplaced entry: %v, %d reads; want a read", err, d.n.Load())
	}

	// A failed read is an error and keeps nothing.
	shaC := strings.Repeat("c", 64)
	f := &countingDescriber{fail: errors.New("truncated control file")}
	if _, err := describeMemo(c, f, "fileC", shaC); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("failed read: %v; want its error", err)
	}
	if _, err := os.Stat(c.NamedPath(describeKey(f, shaC))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed read left an entry: %v", err)
	}
	if _, err := describeMemo(c, f, "fileC", shaC); err == nil || f.n.Load() != 2 {
		t.Fatalf("after a failed read: %v, %d reads; want a read and its error", err, f.n.Load())
	}
}
