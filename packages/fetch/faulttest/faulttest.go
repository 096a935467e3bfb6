// Package faulttest is an HTTP server on 127.0.0.1 that serves files
// with faults injected, for tests of code that downloads: it stalls
// before the headers or in the middle of the body, resets or closes the
// connection half way, answers 5xx, 429 or 404, or serves the file with
// one byte changed. Each path has a plan, a list of faults used by its
// next requests in turn; once the plan is used up (or with Always, never)
// the file is served as it is.
package faulttest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Fault is what the server does to one request.
type Fault int

const (
	OK           Fault = iota // serve the file
	StallHeaders              // send nothing until the client gives up
	StallBody                 // send the headers and half the body, then nothing
	Reset                     // send the headers and half the body, then reset the connection
	Truncate                  // send the headers and half the body, then close the connection
	Status503                 // answer 503 Service Unavailable
	Status429                 // answer 429 Too Many Requests
	Status404                 // answer 404 Not Found
	Tamper                    // serve the file with its middle byte changed
)

func (f Fault) String() string {
	return [...]string{"ok", "stall before headers", "stall mid-body", "reset", "truncate", "503", "429", "404", "tamper"}[f]
}

// Server serves files with faults. Use New.
type Server struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte
	plan   map[string][]Fault
	always map[string]Fault
	hits   map[string]int
	stop   chan struct{}
}

// New starts a server of files (path → content) on 127.0.0.1, closed
// when the test ends (stalled requests are released first).
func New(t testing.TB, files map[string][]byte) *Server {
	s := &Server{files: files, plan: map[string][]Fault{}, always: map[string]Fault{}, hits: map[string]int{}, stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.stop)
		s.Server.CloseClientConnections()
		s.Server.Close()
	})
	return s
}

// Plan sets the faults of the next requests of path, in order.
func (s *Server) Plan(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan[path] = faults
	delete(s.always, path)
}

// Always makes every request of path meet fault.
func (s *Server) Always(path string, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always[path] = fault
}

// Hits is how many requests path has had.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// URL of a path.
func (s *Server) At(path string) string { return s.Server.URL + path }

func (s *Server) next(path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[path]++
	if f, ok := s.always[path]; ok {
		return f
	}
	if p := s.plan[path]; len(p) > 0 {
		s.plan[path] = p[1:]
		return p[0]
	}
	return OK
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	fault := s.next(r.URL.Path)
	data, ok := s.files[r.URL.Path]
	if !ok || fault == Status404 {
		http.NotFound(w, r)
		return
	}
	switch fault {
	case StallHeaders:
		s.wait(r)
		return
	case Status503:
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	case Status429:
		w.Header().Set("Retry-After", "0")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case Tamper:
		d := append([]byte(nil), data...)
		if len(d) > 0 {
			d[len(d)/2] ^= 0x20
		}
		data = d
	case StallBody:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		s.wait(r)
		return
	case Reset, Truncate:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", len(data))
		buf.Write(data[:len(data)/2])
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok && fault == Reset {
			tc.SetLinger(0) // close sends RST
		}
		conn.Close()
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.stop:
	}
}
