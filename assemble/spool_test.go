package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// spoolEverything makes every file of the builds in fn go through the
// spool file, none stay in memory.
func spoolEverything(t *testing.T) {
	old := spoolInline
	spoolInline = -1
	t.Cleanup(func() { spoolInline = old })
}

// TestSpooledBuilds runs tests of placement, conflicts, hard links,
// pruning, generators and the library check with every file's content in
// the spool file rather than in memory: they must hold the same.
func TestSpooledBuilds(t *testing.T) {
	spoolEverything(t)
	for name, fn := range map[string]func(*testing.T){
		"Determinism":       TestDeterminism,
		"LowerLayersShared": TestLowerLayersShared,
		"TarFormat":         TestTarFormat,
		"UnsafeEntries":     TestUnsafeEntries,
		"MergedUsr":         TestMergedUsr,
		"Conflicts":         TestConflicts,
		"SymlinkedParents":  TestSymlinkedParents,
		"Prune":             TestPrune,
		"GeneratedFiles":    TestGeneratedFiles,
		"BuildErrors":       TestBuildErrors,
	} {
		t.Run(name, fn)
	}
}

// TestSpooledSameImage: the same spec gives the same image, byte for
// byte, whether its files are kept in memory or spooled; large files,
// hard links and files two packages ship alike included.
func TestSpooledSameImage(t *testing.T) {
	big := mixedData(5<<20, 7) // several chunks and spool pieces
	f := newFixture()
	a := f.pkg("alpha", dir("./usr/", 0o755), regBytes("./usr/lib/big", 0o644, big), hard("./usr/lib/big2", "./usr/lib/big"),
		reg("./usr/lib/small", 0o644, "small"), regBytes("./usr/share/alike", 0o644, big[:100<<10]))
	b := f.pkg("beta", regBytes("./usr/share/alike", 0o644, big[:100<<10]), regBytes("./usr/lib/mid", 0o644, big[:40<<10]))
	spec := f.spec(layer("one", a), layer("two", b))
	img1, rep1 := mustBuild(t, spec)
	spoolEverything(t)
	img2, rep2 := mustBuild(t, spec)
	d1, _ := img1.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Fatalf("spooled build %s, in-memory build %s", d2, d1)
	}
	if rep1.Size != rep2.Size || rep1.Size < int64(len(big)) {
		t.Errorf("sizes %d and %d", rep1.Size, rep2.Size)
	}
	fs := rootfs(t, img2)
	if !bytes.Equal(fs["usr/lib/big"].data, big) || !bytes.Equal(fs["usr/lib/mid"].data, big[:40<<10]) {
		t.Error("a spooled file's content differs")
	}
}

// TestSpoolDir: the spool file is made in Spec.SpoolDir and never
// appears there under a name; a SpoolDir that cannot be made is an error
// naming it.
func TestSpoolDir(t *testing.T) {
	spoolEverything(t)
	dir := t.TempDir()
	f := newFixture()
	a := f.pkg("alpha", reg("./usr/lib/x", 0o644, strings.Repeat("x", 1000)))
	spec := f.spec(layer("one", a))
	spec.SpoolDir = dir
	mustBuild(t, spec)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the spool directory holds %v", ents)
	}
	blocker := dir + "/file"
	os.WriteFile(blocker, nil, 0o644)
	spec.SpoolDir = blocker + "/sub"
	if _, _, err := Build(context.Background(), spec); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("err = %v, want one naming %s", err, blocker)
	}
}

// TestSizeLimits: a file over MaxFileSize, or the file at which the
// payloads pass MaxImageSize, is refused with a LimitError naming the
// package, the file and the sizes, before its content is read.
func TestSizeLimits(t *testing.T) {
	f := newFixture()
	a := f.pkg("alpha", reg("./usr/lib/a", 0o644, strings.Repeat("a", 600)), reg("./usr/lib/b", 0o644, strings.Repeat("b", 600)))
	spec := f.spec(layer("one", a))
	spec.MaxFileSize = 599
	_, _, err := Build(context.Background(), spec)
	var le *LimitError
	if !errors.As(err, &le) || le.Image || le.Path != "usr/lib/a" || le.Size != 600 || le.Limit != 599 || le.Package != "alpha 1.0" {
		t.Errorf("per-file limit: %#v (%v)", le, err)
	}
	spec.MaxFileSize, spec.MaxImageSize = 600, 1199
	_, _, err = Build(context.Background(), spec)
	if !errors.As(err, &le) || !le.Image || le.Path != "usr/lib/b" || le.Total != 1200 || le.Limit != 1199 {
		t.Errorf("image limit: %#v (%v)", le, err)
	}
	if err != nil && !strings.Contains(err.Error(), "package alpha 1.0 (pool/alpha_1.0_amd64.deb): /usr/lib/b (600 bytes) brings the files of the packages to 1200 bytes, more than the image may have (1199 bytes)") {
		t.Errorf("message: %v", err)
	}
	spec.MaxImageSize = 1200
	mustBuild(t, spec)

	// The limit holds before the content is read: a payload that would
	// fail if its content were read is refused for its size instead.
	g := newFixture()
	spec = g.spec(layer("one", g.pkg("huge", reg("./usr/lib/huge", 0o644, ""))))
	spec.Payload = hugePayload{g.payload}
	_, _, err = Build(context.Background(), spec)
	if !errors.As(err, &le) || le.Size != 8<<30 || le.Limit != DefaultMaxFileSize {
		t.Errorf("huge file: %v", err)
	}
}

// hugePayload declares every regular file 8 GiB long, with a reader that
// fails.
type hugePayload struct{ fakePayload }

func (h hugePayload) Walk(file string, fn func(*tar.Header, io.Reader) error) error {
	p := h.fakePayload[file]
	for _, e := range p.entries {
		hd := e.h
		hd.Size = 8 << 30
		if err := fn(&hd, iotest.ErrReader(errors.New("the content was read"))); err != nil {
			return err
		}
	}
	return nil
}

// TestArrived: with Spec.Arrived the build reads each package as its
// file arrives, in any order, and makes the same image as without; a
// channel closed before every file arrived fails naming the packages
// missing; a cancelled context stops a build waiting for files.
func TestArrived(t *testing.T) {
	f := newFixture()
	a := f.pkg("alpha", reg("./usr/lib/a", 0o644, strings.Repeat("a", 70000)))
	b := f.pkg("beta", reg("./usr/lib/b", 0o644, "b"))
	c := f.pkg("gamma", reg("./usr/lib/c", 0o644, "c"))
	spec := f.spec(layer("one", a, b), layer("two", c, a))
	want, _ := mustBuild(t, spec)
	wantD, _ := want.Digest()

	arrive := func(files ...string) chan string {
		ch := make(chan string, len(files))
		go func() {
			for _, f := range files {
				time.Sleep(5 * time.Millisecond)
				ch <- f
			}
			close(ch)
		}()
		return ch
	}
	spec.Arrived = arrive(c.File, b.File, c.File, a.File)
	img, _ := mustBuild(t, spec)
	if d, _ := img.Digest(); d != wantD {
		t.Errorf("with arrivals: %s, want %s", d, wantD)
	}

	spec.Arrived = arrive(b.File)
	_, _, err := Build(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "package alpha 1.0 ("+a.File+") was not fetched") {
		t.Errorf("missing files: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	spec.Arrived = make(chan string) // nothing ever arrives
	done := make(chan error)
	go func() { _, _, err := Build(ctx, spec); done <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled build still waits for its files")
	}

	// A package refused early ends the build without waiting for the
	// others.
	spec.MaxFileSize = 100
	ch := make(chan string, 3)
	ch <- a.File
	spec.Arrived = ch
	go func() { done <- func() error { _, _, err := Build(context.Background(), spec); return err }() }()
	select {
	case err := <-done:
		var le *LimitError
		if !errors.As(err, &le) || le.Package != "alpha 1.0" {
			t.Errorf("refused package: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a refused package does not end the build")
	}
}
