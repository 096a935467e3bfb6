package publish

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestSwapByRename(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "new"), filepath.Join(dir, "out")
	os.MkdirAll(a, 0o755)
	os.MkdirAll(b, 0o755)
	os.WriteFile(filepath.Join(a, "f"), []byte("new"), 0o644)
	os.WriteFile(filepath.Join(b, "f"), []byte("old"), 0o644)
	if err := swapByRename(a, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(b, "f")); string(got) != "new" {
		t.Errorf("out holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left: %v", ents)
	}
	// A failing second rename puts the old directory back.
	if err := swapByRename(filepath.Join(dir, "missing"), b); err == nil {
		t.Error("no error")
	}
	if got, _ := os.ReadFile(filepath.Join(b, "f")); string(got) != "new" {
		t.Errorf("after a failed swap out holds %q", got)
	}
}

// checkModes asserts every file of a layout is mode 0644 and every
// directory 0755.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		want := fs.FileMode(0o644)
		if st.IsDir() {
			want = fs.ModeDir | 0o755
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 { // dir, blobs, blobs/sha256, oci-layout, index.json, lock, blobs
		t.Fatalf("%s: only %d entries", dir, n)
	}
}

// TestWriteModes: whatever the umask, layout files and archives are 0644
// and layout directories 0755, so that other users can read them.
func TestWriteModes(t *testing.T) {
	ctx := context.Background()
	for _, mask := range []int{0o077, 0o022, 0o002, 0o777} {
		t.Run(fmt.Sprintf("umask%03o", mask), func(t *testing.T) {
			root := t.TempDir()
			img1, img2 := testImage(t, "one"), testImage(t, "two")
			old := syscall.Umask(mask)
			defer syscall.Umask(old)
			out := filepath.Join(root, "layout")
			archive := filepath.Join(root, "image.tar")
			// A fresh layout, then another tag in it (old blobs brought
			// over), then a replaced tag.
			for _, w := range []struct {
				img v1.Image
				out string
			}{{img1, "oci:" + out}, {img2, "oci:" + out + ":v2"}, {img2, "oci:" + out}, {img1, "docker-archive:" + archive + ":x/y:z"}} {
				if _, err := writeImage(ctx, w.img, w.out, WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			syscall.Umask(old)
			checkModes(t, out)
			if st, err := os.Stat(archive); err != nil || st.Mode() != 0o644 {
				t.Errorf("archive: %v, %v", st.Mode(), err)
			}
		})
	}
	// Blobs an existing layout holds with other modes are copied, not
	// linked, so that fixing the new layout's modes leaves the old files
	// alone.
	root := t.TempDir()
	out := filepath.Join(root, "layout")
	if _, err := writeImage(ctx, testImage(t, "one"), "oci:"+out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// As an older version wrote them.
	blobs := filepath.Join(out, "blobs", "sha256")
	ents, _ := os.ReadDir(blobs)
	keep := filepath.Join(root, "keep")
	os.Mkdir(keep, 0o755)
	for _, e := range ents {
		p := filepath.Join(blobs, e.Name())
		if err := errors.Join(os.Chmod(p, 0o600), os.Link(p, filepath.Join(keep, e.Name()))); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(out, "index.json"), 0o755)
	if _, err := writeImage(ctx, testImage(t, "two"), "oci:"+out+":v2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	checkModes(t, out)
	kept, _ := os.ReadDir(keep)
	for _, e := range kept {
		if st, _ := os.Stat(filepath.Join(keep, e.Name())); st.Mode().Perm() != 0o600 {
			t.Errorf("an old blob's mode was changed: %v", st.Mode())
		}
	}
	if len(kept) == 0 {
		t.Fatal("no blobs kept")
	}
}

// TestWriteConcurrent: writers of different tags into one existing layout
// and into one directory that does not exist yet all succeed, and every
// tag is there afterwards, each image whole.
func TestWriteConcurrent(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	existing, fresh := filepath.Join(root, "existing"), filepath.Join(root, "sub", "fresh")
	base := testImage(t, "base")
	if _, err := writeImage(ctx, base, "oci:"+existing+":base", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	imgs := make([]v1.Image, n)
	for i := range imgs {
		imgs[i] = testImage(t, fmt.Sprint("image ", i%3)) // some share every blob
	}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			for j, dir := range []string{existing, fresh} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[2*i+j] = writeImage(ctx, imgs[i], fmt.Sprintf("oci:%s:r%d-t%d", dir, round, i), WriteOptions{})
				}()
			}
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		for _, dir := range []string{existing, fresh} {
			tags, got := layoutTags(t, dir)
			for i := range n {
				tag := fmt.Sprintf("r%d-t%d", round, i)
				img, ok := got[tag]
				if !ok {
					t.Fatalf("round %d: %s lost tag %s: has %v", round, dir, tag, tags)
				}
				if digestOf(t, img) != digestOf(t, imgs[i]) {
					t.Errorf("%s:%s holds the wrong image", dir, tag)
				}
				if err := validate.Image(img); err != nil {
					t.Errorf("%s:%s: %v", dir, tag, err)
				}
			}
			if want := n * (round + 1); dir == fresh && len(tags) != want || dir == existing && len(tags) != want+1 {
				t.Errorf("%s: %d tags: %v", dir, len(tags), tags)
			}
		}
	}
	checkModes(t, existing)
	// Nothing is left beside the layouts.
	for _, d := range []string{root, filepath.Dir(fresh)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("left in %s: %s", d, e.Name())
			}
		}
	}

	// Two writers of one docker-archive: both succeed, the file is one of
	// the two archives, whole.
	archive := filepath.Join(root, "image.tar")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = writeImage(ctx, imgs[i], "docker-archive:"+archive+":x/y:z", WriteOptions{})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("x/y:z")
	back, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatal(err)
	}
	found := false
	got, _ := back.ConfigName()
	for _, img := range imgs {
		want, _ := img.ConfigName()
		found = found || got == want
	}
	if !found {
		t.Error("the archive holds none of the images written")
	}
}

// TestWriteWaitsForLock: a writer waits while another holds the layout's
// lock, and gives up, leaving the layout as it was, when its context ends.
func TestWriteWaitsForLock(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "layout")
	if _, err := writeImage(context.Background(), testImage(t, "one"), "oci:"+out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, out)
	f, err := openDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if busy, err := tryLock(f); busy || err != nil {
		t.Fatalf("tryLock: %v %v", busy, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	two := testImage(t, "two")
	go func() {
		_, err := writeImage(ctx, two, "oci:"+out+":v2", WriteOptions{})
		done <- err
	}()
	// The writer cannot finish while the lock is held; cancelling it ends
	// its wait.
	cancel()
	if err := <-done; err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "locking") {
		t.Fatalf("err = %v", err)
	}
	if after := snapshotDir(t, out); !maps.Equal(before, after) {
		t.Error("layout changed")
	}
	// A locked fresh directory: the writer that made it and gave up
	// removes it again.
	fresh := filepath.Join(root, "fresh")
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := writeImage(ctx, testImage(t, "two"), "oci:"+fresh, WriteOptions{}); err == nil {
		t.Fatal("no error with a cancelled context")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed write left %s: %v", fresh, err)
	}

	// Released, the next writer proceeds.
	f.Close()
	if _, err := writeImage(context.Background(), testImage(t, "two"), "oci:"+out+":v2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := layoutTags(t, out); !slices.Equal(tags, []string{"latest", "v2"}) {
		t.Errorf("tags %v", tags)
	}
}

// TestWriteLockReplaced: a writer that got the lock of a directory that
// is no longer the layout's (the layout was removed and made again
// meanwhile) takes the new one's instead.
func TestWriteLockReplaced(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "layout")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := openDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if busy, err := tryLock(f); busy || err != nil {
		t.Fatalf("tryLock: %v %v", busy, err)
	}
	done := make(chan error)
	one := testImage(t, "one")
	go func() {
		_, err := writeImage(context.Background(), one, "oci:"+out, WriteOptions{})
		done <- err
	}()
	// Once the writer has opened the directory to lock it (a second
	// descriptor of this process on it), replace the directory, then let
	// the old one go. Should the writer not have opened it yet, it makes
	// the new one itself: the old one must stay empty all the same.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && openCount(out) < 2; {
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(out, out+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Fatal(err)
	}
	f.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tags, _ := layoutTags(t, out); !slices.Equal(tags, []string{"latest"}) {
		t.Errorf("tags %v", tags)
	}
	if ents, err := os.ReadDir(out + ".old"); err != nil || len(ents) != 0 {
		t.Errorf("the replaced directory was written into: %v %v", ents, err)
	}
}

// TestWriteLeavesNoLockFile: a written layout holds the layout's files
// only, and a directory refused as an output is left exactly as it was,
// with no file of the writer in it.
func TestWriteLeavesNoLockFile(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	out := filepath.Join(root, "layout")
	for _, tag := range []string{"v1", "v2", "v1"} {
		if _, err := writeImage(ctx, testImage(t, tag), "oci:"+out+":"+tag, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if names := dirNames(t, out); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
			t.Errorf("layout holds %v", names)
		}
	}
	// Unchanged: left as it is, still without a lock file.
	if _, err := writeImage(ctx, testImage(t, "v1"), "oci:"+out+":v1", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
		t.Errorf("layout holds %v", names)
	}

	// Refused: a directory of the user's, every entry and mode the same
	// afterwards, and its modification time (no entry made and removed).
	user := filepath.Join(root, "mine")
	if err := os.MkdirAll(filepath.Join(user, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(user, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(user, old, old); err != nil {
		t.Fatal(err)
	}
	before := snapshotTree(t, user)
	for _, o := range []string{"oci:" + user, "oci:" + user + ":v1"} {
		_, err := writeImage(ctx, testImage(t, "x"), o, WriteOptions{})
		if err == nil || !strings.Contains(err.Error(), "neither empty nor an OCI image layout") {
			t.Fatalf("%s: err = %v", o, err)
		}
	}
	if after := snapshotTree(t, user); !maps.Equal(before, after) {
		t.Errorf("refused directory changed:\nbefore %v\nafter  %v", before, after)
	}
	if st, err := os.Stat(user); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("refused directory's mtime changed: %v %v", st.ModTime(), err)
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{"layout", "mine"}) {
		t.Errorf("left beside the outputs: %v", names)
	}
}

// TestWriteIntoLeftLockFile: a directory holding nothing but the lock
// file an earlier version's killed writer left is written into, and the
// layout then holds a valid image and no lock file; so does an existing
// layout of an earlier version, once written again.
func TestWriteIntoLeftLockFile(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "layout")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, layoutLockName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "one")
	if _, err := writeImage(ctx, img, "oci:"+out+":x", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tags, imgs := layoutTags(t, out)
	if !slices.Equal(tags, []string{"x"}) || digestOf(t, imgs["x"]) != digestOf(t, img) {
		t.Fatalf("tags %v", tags)
	}
	if err := validate.Image(imgs["x"]); err != nil {
		t.Error(err)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
		t.Errorf("layout holds %v", names)
	}
	// A layout with the lock file: the same image again is written (the
	// layout is not what a write makes), and the file goes.
	if err := os.WriteFile(filepath.Join(out, layoutLockName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeImage(ctx, img, "oci:"+out+":x", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
		t.Errorf("layout holds %v", names)
	}
}

// dirNames is the sorted names of dir's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// snapshotTree maps every path under dir (dir itself too) to its mode
// and, for a file, its content.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		m[strings.TrimPrefix(p, dir)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// An oci-archive holds the image tagged, reads back as an OCI layout,
// is the same bytes when written twice, and a failed write leaves the
// earlier archive and no temporary file.
func TestWriteOCIArchive(t *testing.T) {
	ctx := context.Background()
	img := testImage(t, "archived")
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "img.tar")
	d, err := writeImage(ctx, img, "oci-archive:"+file+":v2", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d != digestOf(t, img) {
		t.Errorf("digest %s, want %s", d, digestOf(t, img))
	}
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	// Unpack and read as a layout.
	out := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(first))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d:%d, mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		p := filepath.Join(out, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		b, _ := io.ReadAll(tr)
		writeFile(t, p, string(b))
	}
	if len(names) < 2 || names[0] != "oci-layout" || names[1] != "index.json" || slices.Contains(names, layoutLockName) {
		t.Errorf("archive entries %v", names)
	}
	tags, imgs := layoutTags(t, out)
	if !slices.Equal(tags, []string{"v2"}) || digestOf(t, imgs["v2"]) != d {
		t.Errorf("layout in the archive: tags %v", tags)
	}
	if _, err := layout.FromPath(out); err != nil {
		t.Error(err)
	}
	// Again: the same bytes.
	if _, err := writeImage(ctx, img, "oci-archive:"+file+":v2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, first) {
		t.Error("writing the same image twice gave different archives")
	}
	// A cancelled write keeps the earlier archive and leaves nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := writeImage(cctx, testImage(t, "other"), "oci-archive:"+file, WriteOptions{}); err == nil {
		t.Fatal("a cancelled write succeeded")
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, first) {
		t.Error("a failed write changed the archive")
	}
	ents, _ := os.ReadDir(filepath.Dir(file))
	if len(ents) != 1 {
		t.Errorf("left beside the archive: %v", ents)
	}
	// REF: NAME:TAG too, the default ref, and a bad one refused.
	for out, want := range map[string]string{"oci-archive:" + file + ":example/app:1.0": "example/app:1.0", "oci-archive:" + file: "distroless/x:latest"} {
		if _, err := writeImage(ctx, img, out, WriteOptions{DefaultRef: "distroless/x:latest"}); err != nil {
			t.Fatal(err)
		}
		if got := archiveRefs(t, file); !slices.Equal(got, []string{want}) {
			t.Errorf("%s: refs %v, want %s", out, got, want)
		}
	}
	for _, bad := range []string{"oci-archive:" + file + ":Bad Ref", "oci-archive:" + file + ":a/b", "oci-archive::v1"} {
		if err := CheckOutput(bad, WriteOptions{}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// A directory is refused.
	if _, err := writeImage(ctx, img, "oci-archive:"+dir, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("oci-archive of a directory: %v", err)
	}
}

// openCount is how many descriptors of this process are open on dir.
func openCount(dir string) int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		if p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && p == dir {
			n++
		}
	}
	return n
}
