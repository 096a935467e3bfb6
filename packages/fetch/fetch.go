package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cache is a content-addressed download cache rooted at Dir. The zero
// value of every field but Dir is usable: a nil Client means
// http.DefaultClient. A Cache must not be copied after first use; it is
// safe for concurrent use, and several processes may share one Dir.
type Cache struct {
	// Dir is the cache's root directory; it is created on demand.
	Dir string
	// Client does the downloads; nil means http.DefaultClient.
	Client *http.Client
	// Offline forbids every network access: only what is already in the
	// cache can be had.
	Offline bool
	// UserAgent, when set, is sent with every request.
	UserAgent string

	mu       sync.Mutex
	inflight map[string]*flight
}

type flight struct {
	done chan struct{}
	path string
	err  error
}

// Request names one blob to fetch: where to get it and what it must be.
type Request struct {
	URL    string
	Size   int64  // expected size in bytes; negative when unknown
	SHA256 string // expected hex SHA-256 digest
}

// DefaultDir is the default cache directory: the user cache directory
// (XDG_CACHE_HOME, or ~/.cache, on Linux) plus "distroless".
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return filepath.Join(base, "distroless"), nil
}

const (
	blobDir  = "blobs/sha256"
	namedDir = "named"
	attempts = 3
)

// normHex checks that s is a hex SHA-256 digest and returns it lower-cased.
func normHex(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 64 {
		return "", fmt.Errorf("invalid sha256 digest %q", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("invalid sha256 digest %q", s)
	}
	return s, nil
}

// BlobPath is where the blob with the given digest is (or would be) stored.
func (c *Cache) BlobPath(sha256hex string) string {
	return filepath.Join(c.Dir, filepath.FromSlash(blobDir), strings.ToLower(sha256hex))
}

// Blob returns the path of the cached blob with the given digest and
// whether it is present.
func (c *Cache) Blob(sha256hex string) (string, bool) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", false
	}
	p := c.BlobPath(h)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// Fetch returns the path of the blob with digest sha256hex, downloading it
// from url first when it is not in the cache. size is the expected length
// in bytes (negative when unknown). The download is verified while it
// streams and enters the cache only when both size and digest match.
func (c *Cache) Fetch(ctx context.Context, url string, size int64, sha256hex string) (string, error) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", url, err)
	}
	p := c.BlobPath(h)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		if size < 0 || st.Size() == size {
			return p, nil
		}
		// A blob of the wrong size cannot have been written by this
		// package (it is renamed into place only once verified): treat it
		// as damage and fetch it again.
		if c.Offline {
			return "", fmt.Errorf("cached blob %s has size %d, want %d (remove it, then fetch online)", p, st.Size(), size)
		}
		os.Remove(p)
	}
	if c.Offline {
		return "", fmt.Errorf("offline: %s (sha256 %s) is not in the cache %s", url, h, c.Dir)
	}

	// Collapse concurrent fetches of one blob within this process.
	c.mu.Lock()
	if c.inflight == nil {
		c.inflight = map[string]*flight{}
	}
	if f, ok := c.inflight[h]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return "", f.err
			}
			return f.path, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[h] = f
	c.mu.Unlock()

	f.path, f.err = c.download(ctx, url, size, h, p)
	c.mu.Lock()
	delete(c.inflight, h)
	c.mu.Unlock()
	close(f.done)
	return f.path, f.err
}

// permanentError marks a failure that retrying will not cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func (c *Cache) download(ctx context.Context, url string, size int64, h, dst string) (string, error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(i) * 500 * time.Millisecond):
			}
		}
		err = c.downloadOnce(ctx, url, size, h, dst)
		if err == nil {
			return dst, nil
		}
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil {
			break
		}
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		return "", perm.err
	}
	return "", err
}

func (c *Cache) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("GET %s: %w", url, err)}
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err := fmt.Errorf("GET %s: %s", url, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, err
		}
		return nil, &permanentError{err}
	}
	return resp, nil
}

func (c *Cache) downloadOnce(ctx context.Context, url string, size int64, h, dst string) error {
	resp, err := c.get(ctx, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
		return &permanentError{fmt.Errorf("%s: size mismatch: expected %d bytes, server announces %d", url, size, resp.ContentLength)}
	}
	// The body is verified inside the write: a mismatch removes the
	// temporary file, and nothing unverified is ever renamed into place.
	return writeAtomic(dst, func(w io.Writer) error {
		hasher := sha256.New()
		var body io.Reader = resp.Body
		if size >= 0 {
			body = io.LimitReader(body, size+1) // one more byte reveals a too-long body
		}
		n, err := io.Copy(io.MultiWriter(w, hasher), body)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		if size >= 0 && n != size {
			got := fmt.Sprint(n)
			if n > size {
				got = "more"
			}
			return &permanentError{fmt.Errorf("%s: size mismatch: expected %d bytes, got %s", url, size, got)}
		}
		if got := hex.EncodeToString(hasher.Sum(nil)); got != h {
			return &permanentError{fmt.Errorf("%s: sha256 mismatch: expected %s, got %s", url, h, got)}
		}
		return nil
	})
}

// FetchAll fetches every request with up to parallel downloads at once
// (parallel < 1 means 4) and returns the paths in request order. The first
// failure cancels the downloads still running and is returned. progress,
// when not nil, is called after each completed request, never
// concurrently with itself.
func (c *Cache) FetchAll(ctx context.Context, reqs []Request, parallel int, progress func(done, total int, r Request)) ([]string, error) {
	if parallel < 1 {
		parallel = 4
	}
	if parallel > len(reqs) {
		parallel = len(reqs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	paths := make([]string, len(reqs))
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := reqs[i]
				p, err := c.Fetch(ctx, r.URL, r.Size, r.SHA256)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					paths[i] = p
					done++
					if progress != nil {
						progress(done, len(reqs), r)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range reqs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return paths, nil
}

// WriteBlob stores a blob whose digest is known in advance but whose bytes
// are produced locally (for example a decompressed index). write is called
// with a writer into a temporary file; the blob enters the cache only when
// write succeeds and the written bytes hash to sha256hex. When the blob is
// already present write is not called.
func (c *Cache) WriteBlob(sha256hex string, write func(w io.Writer) error) (string, error) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", err
	}
	dst := c.BlobPath(h)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	hasher := sha256.New()
	err = writeAtomic(dst, func(w io.Writer) error {
		if err := write(io.MultiWriter(w, hasher)); err != nil {
			return err
		}
		if got := hex.EncodeToString(hasher.Sum(nil)); got != h {
			return fmt.Errorf("sha256 mismatch: expected %s, got %s", h, got)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return dst, nil
}

// writeAtomic writes a file through a temporary file in the same
// directory and a rename.
func writeAtomic(dst string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, creating the directory when needed.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// NamedPath is the file that holds the entry stored under key, for
// callers that map it rather than read it. It may not exist.
func (c *Cache) NamedPath(key string) string { return c.namedPath(key) }

func (c *Cache) namedPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, namedDir, hex.EncodeToString(sum[:]))
}

// Get returns the entry stored under key by Put. A missing entry is an
// error that wraps fs.ErrNotExist.
func (c *Cache) Get(key string) ([]byte, error) {
	data, err := os.ReadFile(c.namedPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%q is not in the cache %s: %w", key, c.Dir, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("cache: %w", err)
	}
	return data, nil
}

// GetTime is Get, also returning when the entry was stored.
func (c *Cache) GetTime(key string) ([]byte, time.Time, error) {
	p := c.namedPath(key)
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, fmt.Errorf("%q is not in the cache %s: %w", key, c.Dir, fs.ErrNotExist)
		}
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	return data, st.ModTime(), nil
}

// Put stores data under key (any string, e.g. a URL), replacing what was
// there, atomically.
func (c *Cache) Put(key string, data []byte) error {
	return WriteFileAtomic(c.namedPath(key), data)
}

// Download reads a small resource whose digest is not known in advance
// (e.g. an InRelease file) into memory, refusing more than max bytes. It
// does not cache; with Offline set it fails.
func (c *Cache) Download(ctx context.Context, url string, max int64) ([]byte, error) {
	if c.Offline {
		return nil, fmt.Errorf("offline: cannot download %s", url)
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(i) * 500 * time.Millisecond):
			}
		}
		data, err := c.downloadSmall(ctx, url, max)
		if err == nil {
			return data, nil
		}
		lastErr = err
		var perm *permanentError
		if errors.As(err, &perm) {
			return nil, perm.err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (c *Cache) downloadSmall(ctx context.Context, url string, max int64) ([]byte, error) {
	resp, err := c.get(ctx, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(data)) > max {
		return nil, &permanentError{fmt.Errorf("%s: larger than %d bytes", url, max)}
	}
	return data, nil
}
