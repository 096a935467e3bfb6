package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFetchAlteredBlobRefetched(t *testing.T) {
	blob := bytes.Repeat([]byte("package bytes "), 1000)
	srv := newServer(t, map[string][]byte{"/a.deb": blob})
	var log bytes.Buffer
	c := &Cache{Dir: t.TempDir(), Log: &log}
	ctx := context.Background()
	p, err := c.Fetch(ctx, srv.URL+"/a.deb", int64(len(blob)), digest(blob))
	if err != nil {
		t.Fatal(err)
	}
	// Same size, one byte changed, in place.
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt([]byte{'X'}, 100)
	f.Close()
	for _, c := range []*Cache{c, {Dir: c.Dir, Log: &log}} { // this process, and a fresh one
		p2, err := c.Fetch(ctx, srv.URL+"/a.deb", int64(len(blob)), digest(blob))
		if err != nil || p2 != p {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, blob) {
			t.Fatal("altered blob used")
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (the first fetch and one refetch)", n)
	}
	if !strings.Contains(log.String(), "warning: cache entry "+p+" was damaged (its content has sha256 ") {
		t.Errorf("log %q", log.String())
	}
	// Blob (used for decompressed indexes) checks too.
	os.WriteFile(p, bytes.Repeat([]byte("z"), len(blob)), 0o644)
	if _, ok := c.Blob(digest(blob)); ok {
		t.Fatal("Blob accepted a replaced file")
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("damaged blob not removed")
	}
	// Offline: an error naming the file, not the bad bytes.
	os.WriteFile(p, bytes.Repeat([]byte("z"), len(blob)), 0o644)
	off := &Cache{Dir: c.Dir, Offline: true}
	if _, err := off.Fetch(ctx, srv.URL+"/a.deb", int64(len(blob)), digest(blob)); err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), p) {
		t.Fatalf("offline: %v", err)
	}
	// WriteBlob rewrites a damaged derived blob.
	d := []byte("derived")
	wp, _ := c.WriteBlob(digest(d), func(w io.Writer) error { _, err := w.Write(d); return err })
	os.WriteFile(wp, []byte("DERIVED"), 0o644)
	if _, err := c.WriteBlob(digest(d), func(w io.Writer) error { _, err := w.Write(d); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(wp); !bytes.Equal(got, d) {
		t.Fatalf("WriteBlob kept %q", got)
	}
}

func TestNamedEntriesVerified(t *testing.T) {
	var log bytes.Buffer
	c := &Cache{Dir: t.TempDir(), Log: &log}
	key := "inrelease:http://mirror.example/dists/trixie/InRelease"
	data := []byte("-----BEGIN PGP SIGNED MESSAGE-----\nSuite: trixie\n")
	if err := c.Put(key, data); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(key); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %q %v", got, err)
	}
	m, unmap, err := c.MapNamed(key)
	if err != nil || !bytes.Equal(m, data) {
		t.Fatalf("MapNamed = %q %v", m, err)
	}
	unmap()
	// A byte changed: reported missing (so fetched again), removed, warned.
	p := c.NamedPath(key)
	raw, _ := os.ReadFile(p)
	raw[len(raw)-3] ^= 1
	os.WriteFile(p, raw, 0o644)
	if _, err := c.Get(key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("damaged entry: %v", err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("damaged entry not removed")
	}
	if !strings.Contains(log.String(), "warning: cache entry "+p+" was damaged ("+key+": its content does not match its digest)") {
		t.Errorf("log %q", log.String())
	}
	// Another entry's file copied over it: its digest matches, but so it
	// should; the key is the file name, so a copy is that entry (the
	// callers' own checks, signatures and sidecar digests, catch a
	// mismatch). A file without the header (older cache) is rebuilt
	// quietly.
	log.Reset()
	os.WriteFile(p, data, 0o644)
	if _, _, err := c.MapNamed(key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("headerless entry: %v", err)
	}
	if log.Len() != 0 {
		t.Errorf("warned about an old entry: %q", log.String())
	}
}

func TestSweepStaleTemp(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * StaleTemp)
	var stale, fresh []string
	for _, sub := range []string{"blobs/sha256", "named", "unpacked"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		for _, name := range []string{".partial-123", ".tmp-456.tar.zst"} {
			p := filepath.Join(dir, sub, name)
			os.WriteFile(p, []byte("half"), 0o644)
			os.Chtimes(p, old, old)
			stale = append(stale, p)
			q := p + "-fresh"
			os.WriteFile(q, []byte("in progress"), 0o644)
			fresh = append(fresh, q)
		}
	}
	keep := filepath.Join(dir, "blobs/sha256", strings.Repeat("a", 64))
	os.WriteFile(keep, []byte("x"), 0o644)
	os.Chtimes(keep, old, old)
	c := &Cache{Dir: dir}
	c.Get("anything") // the first use sweeps
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale %s kept", p)
		}
	}
	for _, p := range append(fresh, keep) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", p)
		}
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	mk := func(name string, size int, age time.Duration) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, bytes.Repeat([]byte{'x'}, size), 0o644)
		at := now.Add(-age)
		os.Chtimes(p, at, at)
		return p
	}
	ancient := mk("blobs/sha256/"+strings.Repeat("1", 64), 1000, 60*24*time.Hour)
	old := mk("unpacked/"+strings.Repeat("2", 64)+".tar.zst", 1000, 10*24*time.Hour)
	older := mk("named/"+strings.Repeat("3", 64), 1000, 20*24*time.Hour)
	recent := mk("blobs/sha256/"+strings.Repeat("4", 64), 1000, time.Hour)
	inUse := mk("blobs/sha256/"+strings.Repeat("5", 64), 1000, time.Minute)
	staleTmp := mk("blobs/sha256/.partial-9", 50, 2*StaleTemp)
	freshTmp := mk("blobs/sha256/.partial-8", 50, time.Minute)

	// A reader holding an entry open keeps reading it after the prune.
	r, err := os.Open(ancient)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	res, err := Prune(dir, PruneOptions{OlderThan: 30 * 24 * time.Hour, MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != 2 || res.RemovedBytes != 1050 || res.Kept != 4 || res.KeptBytes != 4000 {
		t.Errorf("by age: %+v", res)
	}
	gone := func(p string) bool { _, err := os.Stat(p); return errors.Is(err, fs.ErrNotExist) }
	if !gone(ancient) || !gone(staleTmp) || gone(freshTmp) || gone(old) {
		t.Error("by age: wrong files removed")
	}
	if b, err := io.ReadAll(r); err != nil || len(b) != 1000 {
		t.Errorf("open reader: %d bytes, %v", len(b), err)
	}

	// By size: least recently used first, never one in use.
	res, err = Prune(dir, PruneOptions{MaxSize: 1500})
	if err != nil {
		t.Fatal(err)
	}
	if !gone(older) || !gone(old) || gone(inUse) {
		t.Errorf("by size: removed older %v old %v inUse %v", gone(older), gone(old), gone(inUse))
	}
	if gone(recent) {
		// 2000 bytes would be left with it; the one in use is protected,
		// so the recent one goes.
	} else {
		t.Error("by size: the recent, not in use, entry kept over the limit")
	}
	if res.KeptBytes != 1000 || res.InUse != 0 {
		t.Errorf("by size: %+v", res)
	}
	// Below what is in use: kept, and said.
	if res, _ = Prune(dir, PruneOptions{MaxSize: 10}); res.Kept != 1 || res.InUse != 1 || gone(inUse) {
		t.Errorf("in use: %+v", res)
	}
	if _, err := Prune(filepath.Join(dir, "missing"), PruneOptions{}); err == nil {
		t.Error("missing directory accepted")
	}
}

// Prune while processes fetch and read: every fetch succeeds with the
// right bytes (a blob pruned under a reader is fetched again).
func TestPruneConcurrent(t *testing.T) {
	files := map[string][]byte{}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("/f%d", i)] = bytes.Repeat([]byte{byte('a' + i)}, 20000+i)
	}
	srv := newServer(t, files)
	dir := t.TempDir()
	stop := make(chan struct{})
	pruned := make(chan int)
	go func() {
		n := 0
		defer func() { pruned <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := Prune(dir, PruneOptions{MaxSize: 0, InUse: time.Nanosecond})
			if err != nil {
				t.Error(err)
				return
			}
			n += res.Removed
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Cache{Dir: dir}
			for round := 0; round < 5; round++ {
				for name, b := range files {
					p, err := c.Fetch(context.Background(), srv.URL+name, int64(len(b)), digest(b))
					if err != nil {
						t.Error(err)
						return
					}
					f, err := os.Open(p)
					if err != nil {
						continue // pruned between fetch and open: a caller fetches again
					}
					got, err := io.ReadAll(f)
					f.Close()
					if err != nil || !bytes.Equal(got, b) {
						t.Errorf("%s: read %d bytes, %v", name, len(got), err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if n := <-pruned; n == 0 {
		t.Error("the pruner removed nothing: the test did not race")
	}
	if l := leftovers(t, &Cache{Dir: dir}); len(l) != 0 {
		t.Errorf("leftover files %v", l)
	}
}
