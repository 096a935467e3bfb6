package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each wait on the network (see Cache.Timeout).
const DefaultTimeout = 30 * time.Second

// DefaultRetryFor bounds the time over which a request is retried.
const DefaultRetryFor = 2 * time.Minute

// DefaultRetryDelay is the first backoff delay between attempts.
const DefaultRetryDelay = 500 * time.Millisecond

// maxAttempts bounds the attempts of one request.
const maxAttempts = 5

// permanentError marks a failure that retrying will not cure: a 4xx
// status other than 429 and 408, a body larger than expected, a bad URL.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// mismatchError is a complete body whose digest is wrong. It is retried
// once only: a proxy or a mirror in the middle of an update can serve a
// bad copy once, but a second mismatch is the file itself.
type mismatchError struct{ err error }

func (e *mismatchError) Error() string { return e.err.Error() }
func (e *mismatchError) Unwrap() error { return e.err }

// TimeoutError is a request that got nothing for too long; What says
// which wait ("no response headers within 30s").
type TimeoutError struct {
	URL, What string
}

func (e *TimeoutError) Error() string { return "GET " + e.URL + ": " + e.What }
func (e *TimeoutError) Timeout() bool { return true }

func (c *Cache) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// httpClient is Client, or a client whose transport bounds connecting
// and the TLS handshake by the timeout (the header and body waits are
// bounded in get, for every client).
func (c *Cache) httpClient() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	c.clientOnce.Do(func() {
		t := c.timeout()
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: t, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = t
		tr.ResponseHeaderTimeout = t
		c.client = &http.Client{Transport: tr}
	})
	return c.client
}

// get sends a GET and returns the response whose status is 200; its body
// fails with a TimeoutError when no data comes for the timeout. done
// closes the body and releases the request's timers.
func (c *Cache) get(ctx context.Context, url string) (resp *http.Response, done func(), err error) {
	t := c.timeout()
	rctx, cancel := context.WithCancelCause(ctx)
	var mu sync.Mutex
	var headers *time.Timer
	answered := false
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		if headers == nil && !answered {
			headers = time.AfterFunc(t, func() {
				cancel(&TimeoutError{url, "no response headers within " + t.String()})
			})
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(rctx, trace), http.MethodGet, url, nil)
	if err != nil {
		cancel(nil)
		return nil, nil, &permanentError{fmt.Errorf("GET %s: %w", url, err)}
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err = c.httpClient().Do(req)
	mu.Lock()
	if headers != nil {
		headers.Stop()
	}
	answered = true // a late WroteRequest starts nothing
	mu.Unlock()
	if err != nil {
		err = c.netError(ctx, rctx, url, err)
		cancel(nil)
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel(nil)
		err := fmt.Errorf("GET %s: %s", url, resp.Status)
		switch {
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
			return nil, nil, &statusError{err, retryAfter(resp)}
		}
		return nil, nil, &permanentError{err}
	}
	body := &idleReader{r: resp.Body, t: t, ctx: ctx, rctx: rctx, url: url}
	body.timer = time.AfterFunc(t, func() {
		cancel(&TimeoutError{url, "no data for " + t.String() + " while reading the body"})
	})
	body.timer.Stop() // runs only while a Read waits
	resp.Body = body
	return resp, func() {
		body.timer.Stop()
		body.r.Close()
		cancel(nil)
	}, nil
}

// statusError is a retryable status, with the delay the server asked for.
type statusError struct {
	err   error
	after time.Duration
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// netError names what failed: a timeout of ours, connecting, the TLS
// handshake, or the error as the client gives it.
func (c *Cache) netError(ctx, rctx context.Context, url string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("GET %s: %w", url, ctx.Err())
	}
	var te *TimeoutError
	if errors.As(context.Cause(rctx), &te) {
		return te
	}
	t := c.timeout().String()
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Timeout() {
		return &TimeoutError{url, "no connection within " + t}
	}
	if strings.Contains(err.Error(), "TLS handshake timeout") {
		return &TimeoutError{url, "TLS handshake not done within " + t}
	}
	if strings.Contains(err.Error(), "timeout awaiting response headers") {
		return &TimeoutError{url, "no response headers within " + t}
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		err = ue.Err // said our way below, without the client's prefix
	}
	return fmt.Errorf("GET %s: %w", url, err)
}

// idleReader is a response body that fails with the TimeoutError when
// no data comes for t.
type idleReader struct {
	r         io.ReadCloser
	t         time.Duration
	timer     *time.Timer
	ctx, rctx context.Context
	url       string
}

func (b *idleReader) Read(p []byte) (int, error) {
	b.timer.Reset(b.t)
	n, err := b.r.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF {
		var te *TimeoutError
		if b.ctx.Err() == nil && errors.As(context.Cause(b.rctx), &te) {
			return n, te
		}
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("connection closed before the end of the body (%w)", err)
		}
	}
	return n, err
}

func (b *idleReader) Close() error { return b.r.Close() }

// retry runs one attempt of a request, and more while it fails with an
// error worth retrying (a connection error or reset, a timeout, a body
// cut short, a 5xx, 429 or 408 status; a digest mismatch once), with
// exponential backoff, at most maxAttempts times and no new attempt after
// RetryFor. The last error is returned, saying how many attempts failed.
func (c *Cache) retry(ctx context.Context, url string, once func() error) error {
	budget := c.RetryFor
	if budget == 0 {
		budget = DefaultRetryFor
	}
	delay := c.RetryDelay
	if delay <= 0 {
		delay = DefaultRetryDelay
	}
	clk := c.clock
	if clk == nil {
		clk = realClock{}
	}
	start := clk.Now()
	mismatches := 0
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		var mm *mismatchError
		if errors.As(err, &mm) {
			if mismatches++; mismatches > 1 {
				return fmt.Errorf("%w (twice)", mm.err)
			}
		}
		wait := delay
		var se *statusError
		if errors.As(err, &se) && se.after > wait {
			wait = min(se.after, 30*time.Second)
		}
		if budget < 0 || attempt >= maxAttempts || clk.Now().Sub(start)+wait > budget {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("%w (gave up after %d attempts in %s)", err, attempt, clk.Now().Sub(start).Round(time.Millisecond))
		}
		c.logf("warning: %v; retrying in %s", err, wait)
		select {
		case <-ctx.Done():
			return err
		case <-clk.After(wait):
		}
		delay *= 2
	}
}

// clock is the time retry reads and waits on.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (c *Cache) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Download reads a small resource whose digest is not known in advance
// (e.g. an InRelease file) into memory, refusing more than max bytes, with
// Fetch's timeouts and retries. It does not cache; with Offline set it
// fails.
func (c *Cache) Download(ctx context.Context, url string, max int64) ([]byte, error) {
	if c.Offline {
		return nil, fmt.Errorf("offline: cannot download %s", url)
	}
	var data []byte
	err := c.retry(ctx, url, func() error {
		var err error
		data, err = c.downloadSmall(ctx, url, max)
		return err
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

func (c *Cache) downloadSmall(ctx context.Context, url string, max int64) ([]byte, error) {
	resp, done, err := c.get(ctx, url)
	if err != nil {
		return nil, err
	}
	defer done()
	if resp.ContentLength > max {
		return nil, &permanentError{fmt.Errorf("%s: larger than %d bytes (%d announced)", url, max, resp.ContentLength)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(data)) > max {
		return nil, &permanentError{fmt.Errorf("%s: larger than %d bytes", url, max)}
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return nil, fmt.Errorf("%s: truncated: announced %d bytes, got %d", url, resp.ContentLength, len(data))
	}
	return data, nil
}
