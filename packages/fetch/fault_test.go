package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages/fetch/faulttest"
)

// faultCache is a cache with short timeouts and backoff, for fault tests.
func faultCache(t *testing.T) (*Cache, *bytes.Buffer) {
	var log bytes.Buffer
	return &Cache{Dir: t.TempDir(), Timeout: 300 * time.Millisecond, RetryFor: 5 * time.Second, RetryDelay: 10 * time.Millisecond, Log: &log}, &log
}

func TestFetchFaults(t *testing.T) {
	t.Parallel()
	blob := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 kB
	cases := []struct {
		name   string
		plan   []faulttest.Fault
		always bool
		hits   int    // requests the server must have seen
		err    string // "" = success
	}{
		{name: "stall before headers", plan: []faulttest.Fault{faulttest.StallHeaders}, always: true, hits: 5, err: "no response headers within 300ms"},
		{name: "stall mid-body", plan: []faulttest.Fault{faulttest.StallBody}, always: true, hits: 5, err: "no data for 300ms while reading the body"},
		{name: "stall once", plan: []faulttest.Fault{faulttest.StallBody}, hits: 2},
		{name: "reset once", plan: []faulttest.Fault{faulttest.Reset}, hits: 2},
		{name: "reset always", plan: []faulttest.Fault{faulttest.Reset}, always: true, hits: 5, err: "gave up after 5 attempts"},
		{name: "truncate once", plan: []faulttest.Fault{faulttest.Truncate}, hits: 2},
		{name: "truncate always", plan: []faulttest.Fault{faulttest.Truncate}, always: true, hits: 5, err: "connection closed before the end of the body"},
		{name: "503 then ok", plan: []faulttest.Fault{faulttest.Status503, faulttest.Status503}, hits: 3},
		{name: "503 always", plan: []faulttest.Fault{faulttest.Status503}, always: true, hits: 5, err: "503 Service Unavailable (gave up after 5 attempts"},
		{name: "429 then ok", plan: []faulttest.Fault{faulttest.Status429}, hits: 2},
		{name: "404", plan: []faulttest.Fault{faulttest.Status404}, always: true, hits: 1, err: "404 Not Found"},
		{name: "tampered once", plan: []faulttest.Fault{faulttest.Tamper}, hits: 2},
		{name: "tampered always", plan: []faulttest.Fault{faulttest.Tamper}, always: true, hits: 2, err: "sha256 mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // its own server and cache; mostly waiting on timeouts
			srv := faulttest.New(t, map[string][]byte{"/p.deb": blob})
			if tc.always {
				srv.Always("/p.deb", tc.plan[0])
			} else {
				srv.Plan("/p.deb", tc.plan...)
			}
			c, log := faultCache(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p, err := c.Fetch(ctx, srv.At("/p.deb"), int64(len(blob)), digest(blob))
			if ctx.Err() != nil {
				t.Fatalf("not bounded by the timeouts: %v", err)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(p); !bytes.Equal(got, blob) {
					t.Fatal("wrong content")
				}
				if !strings.Contains(log.String(), "retrying") {
					t.Errorf("no warning about the retry: %q", log.String())
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), srv.At("/p.deb")) {
					t.Fatalf("err = %v, want the URL and %q", err, tc.err)
				}
				if _, ok := c.Blob(digest(blob)); ok {
					t.Fatal("blob cached after a failure")
				}
			}
			if n := srv.Hits("/p.deb"); n != tc.hits {
				t.Errorf("%d requests, want %d", n, tc.hits)
			}
			if l := leftovers(t, c); len(l) != 0 {
				t.Fatalf("leftover files %v", l)
			}
		})
	}
}

func TestDownloadFaults(t *testing.T) {
	t.Parallel()
	data := []byte(strings.Repeat("Origin: Debian\n", 200))
	srv := faulttest.New(t, map[string][]byte{"/InRelease": data})
	c, _ := faultCache(t)
	ctx := context.Background()
	for _, f := range []faulttest.Fault{faulttest.StallHeaders, faulttest.StallBody, faulttest.Reset, faulttest.Truncate, faulttest.Status503} {
		srv.Plan("/InRelease", f)
		got, err := c.Download(ctx, srv.At("/InRelease"), 1<<20)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s once: %v", f, err)
		}
	}
	srv.Always("/InRelease", faulttest.StallHeaders)
	_, err := c.Download(ctx, srv.At("/InRelease"), 1<<20)
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "GET "+srv.At("/InRelease")+": no response headers within 300ms") {
		t.Fatalf("err = %v", err)
	}
	srv.Always("/InRelease", faulttest.Truncate)
	if _, err := c.Download(ctx, srv.At("/InRelease"), 1<<20); err == nil || !strings.Contains(err.Error(), "connection closed before the end") {
		t.Fatalf("err = %v", err)
	}
	// A cancelled context ends a stall at once.
	srv.Always("/InRelease", faulttest.StallHeaders)
	c.Timeout = time.Hour
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Download(cctx, srv.At("/InRelease"), 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// A server that accepts the connection and then says nothing: over https
// the TLS handshake times out, over http the response headers.
func TestSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	c, _ := faultCache(t)
	c.RetryFor = -1
	for scheme, want := range map[string]string{"https": "TLS handshake not done within 300ms", "http": "no response headers within 300ms"} {
		url := scheme + "://" + ln.Addr().String() + "/InRelease"
		_, err := c.Download(context.Background(), url, 100)
		var te *TimeoutError
		if !errors.As(err, &te) || err.Error() != "GET "+url+": "+want {
			t.Errorf("%s: err = %v, want %q", scheme, err, want)
		}
	}
}

// fakeClock is a clock whose waits pass at once, moving its time on.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- f.now
	return ch
}

// TestRetryBudget: no attempt starts once its wait would end past
// RetryFor. With waits of 1, 2, 4 and 8 s (on a clock of the test's),
// a budget of 10 s allows 4 attempts, one of 15 s 5 (maxAttempts), and a
// negative one a single attempt; the error says how many were made.
func TestRetryBudget(t *testing.T) {
	srv := faulttest.New(t, map[string][]byte{"/InRelease": []byte("data")})
	srv.Always("/InRelease", faulttest.Status503)
	for _, tc := range []struct {
		budget   time.Duration
		attempts int
	}{{10 * time.Second, 4}, {15 * time.Second, maxAttempts}, {-1, 1}} {
		c, _ := faultCache(t)
		c.RetryFor, c.RetryDelay = tc.budget, time.Second
		clk := &fakeClock{now: time.Unix(1700000000, 0)}
		c.clock = clk
		before := srv.Hits("/InRelease")
		_, err := c.Download(context.Background(), srv.At("/InRelease"), 1<<20)
		if err == nil {
			t.Fatalf("budget %s: a server that always answers 503 gave an answer", tc.budget)
		}
		if n := srv.Hits("/InRelease") - before; n != tc.attempts {
			t.Errorf("budget %s: %d attempts, want %d (%v)", tc.budget, n, tc.attempts, err)
		}
		if tc.attempts > 1 && !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d attempts", tc.attempts)) {
			t.Errorf("budget %s: %v", tc.budget, err)
		}
		if waited := clk.Now().Sub(time.Unix(1700000000, 0)); waited > max(tc.budget, 0) {
			t.Errorf("budget %s: waited %s", tc.budget, waited)
		}
	}
}
