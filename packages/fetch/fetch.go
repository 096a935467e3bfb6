package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distroless-dev/distroless/internal/atomicfile"
)

// Cache is a content-addressed download cache rooted at Dir. The zero
// value of every field but Dir is usable. A Cache must not be copied after first use; it is
// safe for concurrent use, and several processes may share one Dir.
type Cache struct {
	// Dir is the cache's root directory; it is created on demand.
	Dir string
	// Client does the downloads; nil means a client whose transport
	// bounds connecting and the TLS handshake by Timeout.
	Client *http.Client
	// Offline forbids every network access: only what is already in the
	// cache can be had.
	Offline bool
	// UserAgent, when set, is sent with every request.
	UserAgent string
	// Timeout bounds each wait on the network: connecting, the TLS
	// handshake, the response headers after the request is sent, and
	// each pause while a body streams. Zero means DefaultTimeout.
	Timeout time.Duration
	// RetryFor bounds the time over which a failed request is retried
	// (see Cache.retry); zero means DefaultRetryFor, negative means no
	// retry.
	RetryFor time.Duration
	// RetryDelay is the first backoff delay, doubled after each failed
	// attempt; zero means DefaultRetryDelay. Tests against a server that
	// is down shorten it.
	RetryDelay time.Duration
	// Log receives warnings: a damaged cache entry that was removed and
	// fetched or rebuilt again, a request being retried. Nil discards them.
	Log io.Writer

	// clock times the retries; nil is the real one (tests set another).
	clock clock

	mu         sync.Mutex
	inflight   map[string]*flight
	clientOnce sync.Once
	client     *http.Client
	sweepOnce  sync.Once
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
// whether it is present. A present blob is verified first (its SHA-256
// is computed once per process and file): one that does not match is
// removed, with a warning to Log, and reported absent.
func (c *Cache) Blob(sha256hex string) (string, bool) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", false
	}
	c.sweep()
	p := c.BlobPath(h)
	ok, bad := c.checkBlob(p, h, -1)
	if bad != "" {
		c.evictBlob(p, h, bad, "fetching it again")
	}
	if !ok {
		return "", false
	}
	return p, true
}

// Fetch returns the path of the blob with digest sha256hex, downloading it
// from url first when it is not in the cache. size is the expected length
// in bytes (negative when unknown). A cached blob is verified first (and
// removed, with a warning, and downloaded again if it does not match). The
// download is verified while it streams and enters the cache only when
// both size and digest match; it is bounded by Timeout and retried as
// Cache.retry says.
func (c *Cache) Fetch(ctx context.Context, url string, size int64, sha256hex string) (string, error) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", url, err)
	}
	c.sweep()
	p := c.BlobPath(h)
	// A cached blob is verified before each use: one that does not match
	// its digest (damaged, or replaced behind our back) is removed and
	// fetched again.
	ok, bad := c.checkBlob(p, h, size)
	if ok {
		return p, nil
	}
	if bad != "" {
		if c.Offline {
			os.Remove(p)
			return "", fmt.Errorf("offline: cached %s (for %s) was damaged (%s) and is removed; fetch it again online", p, url, bad)
		}
		c.evictBlob(p, h, bad, "downloading "+url+" again")
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

func (c *Cache) download(ctx context.Context, url string, size int64, h, dst string) (string, error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	err := c.retry(ctx, url, func() error { return c.downloadOnce(ctx, url, size, h, dst) })
	if err != nil {
		return "", err
	}
	c.remember(dst, h)
	return dst, nil
}

func (c *Cache) downloadOnce(ctx context.Context, url string, size int64, h, dst string) error {
	resp, done, err := c.get(ctx, url)
	if err != nil {
		return err
	}
	defer done()
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
		if size >= 0 && n < size {
			// Cut short (the connection closed early): worth a retry.
			return fmt.Errorf("%s: truncated: expected %d bytes, got %d", url, size, n)
		}
		if size >= 0 && n > size {
			return &permanentError{fmt.Errorf("%s: size mismatch: expected %d bytes, got more", url, size)}
		}
		if got := hex.EncodeToString(hasher.Sum(nil)); got != h {
			return &mismatchError{fmt.Errorf("%s: sha256 mismatch: expected %s, got %s", url, h, got)}
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
	c.sweep()
	dst := c.BlobPath(h)
	ok, bad := c.checkBlob(dst, h, -1)
	if ok {
		return dst, nil
	}
	if bad != "" {
		c.evictBlob(dst, h, bad, "making it again")
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
	c.remember(dst, h)
	return dst, nil
}

// writeAtomic writes dst whole or not at all (a temporary file named
// tempPrefix*, which cache pruning knows, renamed into place).
func writeAtomic(dst string, write func(w io.Writer) error) error {
	return atomicfile.Write(dst, atomicfile.Options{Pattern: tempPrefix + "*", MkdirAll: true}, write)
}
