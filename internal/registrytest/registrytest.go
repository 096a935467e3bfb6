// Package registrytest runs the real distribution registry (Debian's
// docker-registry package, which scripts/test.sh installs) for tests that
// push and pull images: on a free port of a loopback address, with TLS
// from a CA made for the test and htpasswd (bcrypt) basic auth, both on
// by default. It hands the test the CA, the credentials, the host:port,
// the registry's request log (to count blob uploads and cross-repository
// mounts) and stops the registry and removes its files at the end of the
// test.
package registrytest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Options change how Start runs the registry. The zero value is TLS and
// basic auth on 127.0.0.1.
type Options struct {
	// IP is the loopback address the registry listens on (default
	// 127.0.0.1). Image-reference libraries treat 127.0.0.1 and
	// localhost as allowed to speak plain HTTP; another loopback address
	// such as 127.0.0.2 is not, which is what a test of --insecure needs.
	IP string
	// PlainHTTP serves plain HTTP instead of TLS.
	PlainHTTP bool
	// NoAuth serves without authentication.
	NoAuth bool
	// ClientCerts requires a client certificate signed by the test's
	// client CA (Registry.ClientCert and ClientKey).
	ClientCerts bool
}

// Registry is a running registry.
type Registry struct {
	// Host is HOST:PORT, the registry part of image references.
	Host string
	// CAFile is the PEM file of the CA that signed the server's
	// certificate (empty with PlainHTTP); CAPEM is its content.
	CAFile string
	CAPEM  []byte
	// User and Password are the basic-auth credentials (empty with
	// NoAuth).
	User, Password string
	// ClientCert and ClientKey are the PEM files of a client certificate
	// the registry accepts (set with Options.ClientCerts only).
	ClientCert, ClientKey string
	// Dir is the registry's private directory (configuration, storage,
	// log); it is removed at the end of the test.
	Dir string

	opts    Options
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	syncN   int
	mu      sync.Mutex
}

// Start runs a registry for the rest of the test. It fails the test when
// docker-registry is not installed or does not come up.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry not found (Debian package docker-registry; scripts/test.sh installs it): %v", err)
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	dir, err := os.MkdirTemp("", "distroless-registry-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Dir: dir, opts: opts, logPath: filepath.Join(dir, "registry.log")}
	t.Cleanup(func() {
		r.stop()
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the test registry's files: %v", err)
		}
	})
	if err := r.prepare(); err != nil {
		t.Fatal(err)
	}
	// The free port is found by listening on port 0 and closing the
	// listener, so another process can take it in between: try again.
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		if last = r.start(bin); last == nil {
			return r
		}
	}
	t.Fatalf("starting docker-registry: %v", last)
	return nil
}

// prepare writes the certificates and the password file.
func (r *Registry) prepare() error {
	if !r.opts.NoAuth {
		r.User = "distroless"
		r.Password = "pw-" + randomHex(8)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		line := r.User + ":" + string(hash) + "\n"
		if err := os.WriteFile(filepath.Join(r.Dir, "htpasswd"), []byte(line), 0o600); err != nil {
			return err
		}
	}
	if r.opts.PlainHTTP {
		return nil
	}
	ca, caKey, err := newCert(pkix.Name{CommonName: "distroless test registry CA"}, nil, nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, x509.KeyUsageCertSign
	})
	if err != nil {
		return err
	}
	srv, srvKey, err := newCert(pkix.Name{CommonName: r.opts.IP}, ca, caKey, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP(r.opts.IP)}
		c.DNSNames = []string{"localhost"}
		c.KeyUsage = x509.KeyUsageDigitalSignature
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	if err != nil {
		return err
	}
	r.CAPEM = certPEM(ca)
	r.CAFile = filepath.Join(r.Dir, "ca.crt")
	files := map[string][]byte{
		r.CAFile:                           r.CAPEM,
		filepath.Join(r.Dir, "server.crt"): certPEM(srv),
		filepath.Join(r.Dir, "server.key"): keyPEM(srvKey),
	}
	if r.opts.ClientCerts {
		cca, ccaKey, err := newCert(pkix.Name{CommonName: "distroless test client CA"}, nil, nil, func(c *x509.Certificate) {
			c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, x509.KeyUsageCertSign
		})
		if err != nil {
			return err
		}
		cli, cliKey, err := newCert(pkix.Name{CommonName: "distroless test client"}, cca, ccaKey, func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageDigitalSignature
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		})
		if err != nil {
			return err
		}
		r.ClientCert = filepath.Join(r.Dir, "client.cert")
		r.ClientKey = filepath.Join(r.Dir, "client.key")
		files[filepath.Join(r.Dir, "client-ca.crt")] = certPEM(cca)
		files[r.ClientCert] = certPEM(cli)
		files[r.ClientKey] = keyPEM(cliKey)
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// start runs the registry on a free port and waits until it answers.
func (r *Registry) start(bin string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(r.opts.IP, "0"))
	if err != nil {
		return err
	}
	host := l.Addr().String()
	l.Close()

	var conf strings.Builder
	fmt.Fprintf(&conf, "version: 0.1\nlog:\n  level: info\n  formatter: json\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&conf, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", filepath.Join(r.Dir, "data"))
	fmt.Fprintf(&conf, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&conf, "http:\n  addr: %q\n  secret: %q\n", host, randomHex(16))
	if !r.opts.PlainHTTP {
		fmt.Fprintf(&conf, "  tls:\n    certificate: %q\n    key: %q\n", filepath.Join(r.Dir, "server.crt"), filepath.Join(r.Dir, "server.key"))
		if r.opts.ClientCerts {
			fmt.Fprintf(&conf, "    clientcas:\n      - %q\n", filepath.Join(r.Dir, "client-ca.crt"))
		}
	}
	if !r.opts.NoAuth {
		fmt.Fprintf(&conf, "auth:\n  htpasswd:\n    realm: distroless-test\n    path: %q\n", filepath.Join(r.Dir, "htpasswd"))
	}
	confPath := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.Host, r.cmd, r.done = host, cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(r.logPath)
			return fmt.Errorf("docker-registry exited at start: %s", tail(log))
		default:
		}
		resp, err := r.get("/v2/", false)
		if err == nil {
			resp.Body.Close()
			want := http.StatusOK
			if !r.opts.NoAuth {
				want = http.StatusUnauthorized
			}
			if resp.StatusCode == want {
				return nil
			}
			err = fmt.Errorf("GET /v2/ without credentials: %s, want %d", resp.Status, want)
		}
		if time.Now().After(deadline) {
			r.stop()
			log, _ := os.ReadFile(r.logPath)
			return fmt.Errorf("docker-registry not answering on %s after 30s (%v): %s", host, err, tail(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the registry process and waits for it.
func (r *Registry) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Kill()
	<-r.done
}

// URL is the registry's base URL (https:// or http://).
func (r *Registry) URL() string {
	if r.opts.PlainHTTP {
		return "http://" + r.Host
	}
	return "https://" + r.Host
}

// TLSConfig trusts the registry's CA and presents the client certificate
// when there is one; nil with PlainHTTP.
func (r *Registry) TLSConfig() *tls.Config {
	if r.opts.PlainHTTP {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CAPEM)
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if r.ClientCert != "" {
		if kp, err := tls.LoadX509KeyPair(r.ClientCert, r.ClientKey); err == nil {
			c.Certificates = []tls.Certificate{kp}
		}
	}
	return c
}

// Transport is an HTTP transport that trusts the registry (for tests
// that talk to it with go-containerregistry's remote.WithTransport).
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = r.TLSConfig()
	return tr
}

// AuthConfig is the credentials as the "auths" entry of a docker or
// podman auth file: {"auths": {HOST: {"auth": base64(USER:PASSWORD)}}}.
func (r *Registry) AuthConfig() []byte {
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{
		r.Host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))},
	}})
	return b
}

// WriteAuthFile writes AuthConfig to path (creating its directory).
func (r *Registry) WriteAuthFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, r.AuthConfig(), 0o600)
}

// CertDir writes the registry's CA as ca.crt (and, with ClientCerts, the
// client certificate as client.cert and client.key) into dir, the layout
// of one HOST:PORT directory of /etc/containers/certs.d and of podman's
// --cert-dir. It returns dir.
func (r *Registry) CertDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), r.CAPEM, 0o644); err != nil {
		return "", err
	}
	for src, dst := range map[string]string{r.ClientCert: "client.cert", r.ClientKey: "client.key"} {
		if src == "" {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// get requests path from the registry, with the credentials when auth
// is true.
func (r *Registry) get(path string, auth bool) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, r.URL()+path, nil)
	if err != nil {
		return nil, err
	}
	if auth && r.User != "" {
		req.SetBasicAuth(r.User, r.Password)
	}
	c := &http.Client{Transport: r.Transport(), Timeout: 5 * time.Second}
	return c.Do(req)
}

// Request is one request the registry answered, from its log.
type Request struct {
	Method string
	// Path is the URL path, Query its parsed query.
	Path  string
	Query url.Values
	// Status is the response's status code (401 for a request refused
	// for want of valid credentials).
	Status int
}

// Repo is the repository a /v2/REPO/{blobs,manifests,tags}/… request is
// about ("" for other paths).
func (q Request) Repo() string {
	p, ok := strings.CutPrefix(q.Path, "/v2/")
	if !ok {
		return ""
	}
	for _, kind := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.LastIndex(p, kind); i > 0 {
			return p[:i]
		}
	}
	return ""
}

func (q Request) String() string {
	s := q.Method + " " + q.Path
	if len(q.Query) > 0 {
		s += "?" + q.Query.Encode()
	}
	return s + " " + strconv.Itoa(q.Status)
}

// Requests is part of the registry's request log, oldest first.
type Requests []Request

// Requests is every request the registry has answered so far, including
// the ones whose responses the caller has already read: before reading
// the log it makes one more request and waits for that one to be logged.
func (r *Registry) Requests(t testing.TB) Requests {
	t.Helper()
	r.mu.Lock()
	r.syncN++
	marker := "registrytest-sync-" + strconv.Itoa(r.syncN)
	r.mu.Unlock()
	resp, err := r.get("/v2/?"+marker+"=1", true)
	if err != nil {
		t.Fatalf("reaching the test registry: %v", err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		reqs, found, err := r.readLog(marker)
		if err != nil {
			t.Fatalf("reading the test registry's log: %v", err)
		}
		if found {
			return reqs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test registry did not log request %q within 10s", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLog parses the log's "response completed" entries and its refusals
// for want of credentials (logged as "error authorizing context", as
// status 401), leaving out the synchronisation requests; found reports
// whether marker's was seen.
func (r *Registry) readLog(marker string) (reqs Requests, found bool, err error) {
	f, err := os.Open(r.logPath)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		refused := bytes.Contains(line, []byte(`"error authorizing context`))
		if !refused && !bytes.Contains(line, []byte(`"response completed"`)) {
			continue
		}
		var e struct {
			Msg    string `json:"msg"`
			Method string `json:"http.request.method"`
			URI    string `json:"http.request.uri"`
			Status int    `json:"http.response.status"`
		}
		if json.Unmarshal(line, &e) != nil || e.URI == "" {
			continue
		}
		if refused {
			e.Status = http.StatusUnauthorized
		}
		u, err := url.ParseRequestURI(e.URI)
		if err != nil {
			continue
		}
		if strings.HasPrefix(u.RawQuery, "registrytest-sync-") {
			if u.RawQuery == marker+"=1" {
				found = true
			}
			continue
		}
		reqs = append(reqs, Request{Method: e.Method, Path: u.Path, Query: u.Query(), Status: e.Status})
	}
	return reqs, found, sc.Err()
}

// Since is the requests after the first n (n = len of an earlier
// Requests), the ones one step of a test made.
func (rs Requests) Since(n int) Requests {
	if n > len(rs) {
		return nil
	}
	return rs[n:]
}

// where is the requests keep keeps, in order.
func (rs Requests) where(keep func(Request) bool) Requests {
	var out Requests
	for _, q := range rs {
		if keep(q) {
			out = append(out, q)
		}
	}
	return out
}

// Uploads is the completed blob uploads: the final PUT of an upload
// session, answered 201 Created.
func (rs Requests) Uploads() Requests {
	return rs.where(func(q Request) bool {
		return q.Method == http.MethodPut && strings.Contains(q.Path, "/blobs/uploads/") && q.Status == http.StatusCreated
	})
}

// Mounts is the cross-repository blob mounts the registry made: a POST
// to /blobs/uploads/ with mount= and from=, answered 201 Created (a
// registry that cannot mount answers 202 and opens an upload instead).
func (rs Requests) Mounts() Requests {
	return rs.where(func(q Request) bool {
		return q.Method == http.MethodPost && strings.HasSuffix(q.Path, "/blobs/uploads/") && q.Query.Get("mount") != "" && q.Status == http.StatusCreated
	})
}

// ManifestPuts is the manifests stored (PUT /v2/REPO/manifests/REF
// answered 201), one per tag or digest pushed.
func (rs Requests) ManifestPuts() Requests {
	return rs.where(func(q Request) bool {
		return q.Method == http.MethodPut && strings.Contains(q.Path, "/manifests/") && q.Status == http.StatusCreated
	})
}

// Digests is the digests the requests name: the digest= of uploads, the
// mount= of mounts, the last path element otherwise.
func (rs Requests) Digests() []string {
	var out []string
	for _, q := range rs {
		switch {
		case q.Query.Get("digest") != "":
			out = append(out, q.Query.Get("digest"))
		case q.Query.Get("mount") != "":
			out = append(out, q.Query.Get("mount"))
		default:
			out = append(out, q.Path[strings.LastIndex(q.Path, "/")+1:])
		}
	}
	return out
}

// Log is the registry's raw log, for failure messages.
func (r *Registry) Log() string {
	b, _ := os.ReadFile(r.logPath)
	return string(b)
}

func newCert(subject pkix.Name, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, edit func(*x509.Certificate)) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	edit(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err) // a key ecdsa.GenerateKey made always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on Linux
	}
	return fmt.Sprintf("%x", b)
}

// tail is the end of a log, for error messages.
func tail(b []byte) string {
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(bytes.TrimSpace(b))
}
