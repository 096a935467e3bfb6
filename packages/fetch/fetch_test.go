package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type server struct {
	*httptest.Server
	hits  atomic.Int64
	files map[string][]byte
	delay time.Duration
}

func newServer(t *testing.T, files map[string][]byte) *server {
	s := &server{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		data, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if s.delay > 0 {
			// Send half, wait, send the rest: makes concurrent fetches
			// overlap.
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			time.Sleep(s.delay)
			w.Write(data[len(data)/2:])
			return
		}
		w.Write(data)
	}))
	t.Cleanup(s.Close)
	return s
}

// leftovers lists files in the cache's blob directory other than blobs.
func leftovers(t *testing.T, c *Cache) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(c.BlobPath(strings.Repeat("0", 64))))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if len(e.Name()) != 64 {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestFetchGood(t *testing.T) {
	blob := []byte("hello, cache\n")
	srv := newServer(t, map[string][]byte{"/a": blob})
	c := &Cache{Dir: t.TempDir()}
	ctx := context.Background()
	p, err := c.Fetch(ctx, srv.URL+"/a", int64(len(blob)), digest(blob))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, blob) {
		t.Fatalf("cached content %q", got)
	}
	if p != c.BlobPath(digest(blob)) {
		t.Fatalf("path %s", p)
	}
	// Second fetch is served from the cache.
	if _, err := c.Fetch(ctx, srv.URL+"/a", int64(len(blob)), strings.ToUpper(digest(blob))); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	// Offline hit works too.
	off := &Cache{Dir: c.Dir, Offline: true}
	if _, err := off.Fetch(ctx, srv.URL+"/a", -1, digest(blob)); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
}

func TestFetchSizeMismatch(t *testing.T) {
	blob := []byte("0123456789")
	srv := newServer(t, map[string][]byte{"/a": blob})
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Fetch(context.Background(), srv.URL+"/a", 5, digest(blob))
	if err == nil || !strings.Contains(err.Error(), "size mismatch") || !strings.Contains(err.Error(), srv.URL+"/a") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := c.Blob(digest(blob)); ok {
		t.Fatal("blob cached despite size mismatch")
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
}

func TestFetchSizeMismatchChunked(t *testing.T) {
	// No Content-Length: the mismatch is found while streaming.
	blob := bytes.Repeat([]byte("x"), 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(blob[:50])
		w.(http.Flusher).Flush()
		w.Write(blob[50:])
	}))
	defer srv.Close()
	c := &Cache{Dir: t.TempDir(), RetryDelay: time.Millisecond}
	for _, size := range []int64{99, 101} {
		_, err := c.Fetch(context.Background(), srv.URL+"/a", size, digest(blob))
		want := map[int64]string{99: "size mismatch: expected 99 bytes, got more", 101: "truncated: expected 101 bytes, got 100 (gave up after 5 attempts"}[size]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("size %d: err = %v", size, err)
		}
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
}

func TestFetchSHAMismatch(t *testing.T) {
	blob := []byte("the real content")
	want := digest([]byte("something else!"))
	srv := newServer(t, map[string][]byte{"/a": blob})
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Fetch(context.Background(), srv.URL+"/a", int64(len(blob)), want)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{srv.URL + "/a", want, digest(blob), "sha256 mismatch"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if _, ok := c.Blob(want); ok {
		t.Fatal("blob cached despite digest mismatch")
	}
	if _, ok := c.Blob(digest(blob)); ok {
		t.Fatal("blob cached under its real digest")
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
	// Retried once (a proxy may have mangled one copy), not more.
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("mismatch tried %d times, want 2", n)
	}
	if !strings.Contains(err.Error(), "(twice)") {
		t.Errorf("error %q does not say the mismatch was seen twice", err)
	}
}

func TestFetchHTTPError(t *testing.T) {
	srv := newServer(t, map[string][]byte{})
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Fetch(context.Background(), srv.URL+"/missing", 3, digest([]byte("abc")))
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), srv.URL+"/missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchBadDigest(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	for _, d := range []string{"", "abc", strings.Repeat("g", 64), "../../../../etc/passwd"} {
		if _, err := c.Fetch(context.Background(), "http://127.0.0.1:1/x", 1, d); err == nil {
			t.Errorf("digest %q accepted", d)
		}
	}
}

func TestFetchOfflineMiss(t *testing.T) {
	dir := t.TempDir()
	c := &Cache{Dir: dir, Offline: true}
	d := digest([]byte("nope"))
	_, err := c.Fetch(context.Background(), "http://example.invalid/x.deb", 4, d)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"offline", "http://example.invalid/x.deb", d, dir} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if _, err := c.Download(context.Background(), "http://example.invalid/InRelease", 10); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("Download offline: %v", err)
	}
}

func TestFetchDamagedBlobRefetched(t *testing.T) {
	blob := []byte("complete content")
	srv := newServer(t, map[string][]byte{"/a": blob})
	c := &Cache{Dir: t.TempDir()}
	p := c.BlobPath(digest(blob))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, blob[:4], 0o644)
	if _, err := c.Fetch(context.Background(), srv.URL+"/a", int64(len(blob)), digest(blob)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, blob) {
		t.Fatalf("content %q", got)
	}
}

func TestFetchConcurrentSharedDir(t *testing.T) {
	blob := bytes.Repeat([]byte("concurrency "), 50000)
	srv := newServer(t, map[string][]byte{"/a": blob})
	srv.delay = 50 * time.Millisecond
	dir := t.TempDir()
	// Two caches on one directory behave like two processes.
	caches := []*Cache{{Dir: dir}, {Dir: dir}}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = caches[i%2].Fetch(context.Background(), srv.URL+"/a", int64(len(blob)), digest(blob))
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(caches[0].BlobPath(digest(blob)))
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("blob damaged: %v", err)
	}
	if n := srv.hits.Load(); n > 2 {
		t.Errorf("%d requests; in-process fetches should be collapsed (want <= 2)", n)
	}
	if l := leftovers(t, caches[0]); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
}

func TestFetchAll(t *testing.T) {
	files := map[string][]byte{}
	var reqs []Request
	srv := newServer(t, files)
	for i := 0; i < 20; i++ {
		b := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
		name := "/f" + string(rune('a'+i))
		files[name] = b
		reqs = append(reqs, Request{URL: srv.URL + name, Size: int64(len(b)), SHA256: digest(b)})
	}
	c := &Cache{Dir: t.TempDir()}
	var calls []int
	paths, err := c.FetchAll(context.Background(), reqs, 3, func(done, total int, r Request) {
		if total != len(reqs) {
			t.Errorf("total %d", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		if p != c.BlobPath(reqs[i].SHA256) {
			t.Fatalf("path %d = %s", i, p)
		}
	}
	if len(calls) != len(reqs) || calls[len(calls)-1] != len(reqs) {
		t.Fatalf("progress calls %v", calls)
	}

	// One bad request fails the lot with its own error.
	bad := append([]Request{}, reqs...)
	bad[7].SHA256 = digest([]byte("wrong"))
	c2 := &Cache{Dir: t.TempDir()}
	_, err = c2.FetchAll(context.Background(), bad, 2, nil)
	if err == nil || !strings.Contains(err.Error(), bad[7].URL) {
		t.Fatalf("err = %v", err)
	}
	if l := leftovers(t, c2); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
	if _, err := c2.FetchAll(context.Background(), nil, 4, nil); err != nil {
		t.Fatal(err)
	}
}

func TestGetPut(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	key := "http://mirror.example/debian/dists/bookworm/InRelease"
	if _, err := c.Get(key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get missing: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := c.Put(key, []byte(v)); err != nil {
			t.Fatal(err)
		}
		got, err := c.Get(key)
		if err != nil || string(got) != v {
			t.Fatalf("Get = %q, %v", got, err)
		}
	}
	if err := c.Put("../../x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "..", "..", "x")); err == nil {
		t.Fatal("key escaped the cache directory")
	}
}

func TestWriteBlob(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	data := []byte("derived content")
	p, err := c.WriteBlob(digest(data), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("content")
	}
	other := []byte("other")
	if _, err := c.WriteBlob(digest([]byte("x")), func(w io.Writer) error {
		_, err := w.Write(other)
		return err
	}); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("err = %v", err)
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Fatalf("leftover files %v", l)
	}
}

func TestDownload(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/InRelease": []byte("signed")})
	c := &Cache{Dir: t.TempDir()}
	got, err := c.Download(context.Background(), srv.URL+"/InRelease", 100)
	if err != nil || string(got) != "signed" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := c.Download(context.Background(), srv.URL+"/InRelease", 3); err == nil {
		t.Fatal("size cap not enforced")
	}
	if _, err := c.Download(context.Background(), srv.URL+"/nope", 3); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", base)
	d, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if d != filepath.Join(base, "distroless") {
		t.Fatalf("DefaultDir = %s", d)
	}
}
