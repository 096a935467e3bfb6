package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// writeDeadlineConn is a connection whose every write must be done
// within t: a registry that stops taking an upload fails it.
type writeDeadlineConn struct {
	net.Conn
	t time.Duration
}

func (c *writeDeadlineConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.t)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// idleBodyTransport gives each response a body that fails when no data
// comes for t.
type idleBodyTransport struct {
	base     http.RoundTripper
	t        time.Duration
	registry string
}

// registryTimeoutError is a registry that sent nothing for the timeout.
type registryTimeoutError struct{ what string }

func (e *registryTimeoutError) Error() string { return e.what }

func (e *registryTimeoutError) Timeout() bool { return true }

func (it *idleBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := it.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	b := &idleBody{r: resp.Body, t: it.t, ctx: ctx, cancel: cancel}
	b.timer = time.AfterFunc(it.t, func() {
		cancel(&registryTimeoutError{fmt.Sprintf("%s %s: no data from %s for %s while reading the response", req.Method, req.URL.Redacted(), it.registry, it.t)})
	})
	b.timer.Stop() // runs only while a Read waits
	resp.Body = b
	return resp, nil
}

// idleBody is a response body that fails with a registryTimeoutError
// when a Read gets no data for t.
type idleBody struct {
	r      io.ReadCloser
	t      time.Duration
	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.t)
	n, err := b.r.Read(p)
	b.timer.Stop()
	var te *registryTimeoutError
	if err != nil && err != io.EOF && errors.As(context.Cause(b.ctx), &te) {
		return n, te
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.r.Close()
	b.cancel(nil)
	return err
}

// retryable is go-containerregistry's retry rule for a failed request
// (a temporary network error, a connection cut short) less the waits
// that reached the timeout: those have waited long enough.
func retryable(err error) bool {
	if isTimeout(err) {
		return false
	}
	if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// isTimeout reports a network wait that reached its bound.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
