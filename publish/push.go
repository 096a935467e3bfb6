package publish

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/distroless-dev/distroless/internal/atomicfile"
)

// CheckPush makes sure, before a build, that every repository the
// registry outputs among outputs name can be pushed to: one request to
// each, authenticated as the push will be, that opens an upload (with
// the push scope, so that a token registry checks the right to push)
// and cancels it. What the registry refuses (credentials, certificate,
// plain HTTP, a timeout) fails with the message the push would give.
// Outputs that are not registries are left alone.
func CheckPush(ctx context.Context, outputs []string, opts WriteOptions) error {
	o := opts.registry()
	seen := map[string]bool{}
	for _, output := range outputs {
		t, err := parseOutput(output, opts)
		if err != nil {
			return err
		}
		if t.ref == nil || seen[t.ref.Context().Name()] {
			continue
		}
		seen[t.ref.Context().Name()] = true
		if err := o.checkPush(ctx, t.ref); err != nil {
			return err
		}
	}
	return nil
}

// checkPush opens an upload to ref's repository and cancels it.
func (o RegistryOptions) checkPush(ctx context.Context, ref name.Reference) error {
	rt, kc, ak, err := o.client(ref)
	if err != nil {
		return err
	}
	repo := ref.Context()
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{ref.Scope(transport.PushScope)})
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	client := &http.Client{Transport: tr}
	u := &url.URL{Scheme: repo.Registry.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted, http.StatusCreated); err != nil {
		return o.explainPushError(err, ref, ak)
	}
	// The upload opened is of no use: cancel it (what the registry says
	// to that does not matter; it drops unfinished uploads anyway).
	if loc, err := resp.Location(); err == nil {
		if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil); err == nil {
			if r, err := client.Do(del); err == nil {
				r.Body.Close()
			}
		}
	}
	return nil
}

// hintError is an error followed, on a line of its own, by what to do
// about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string {
	return strings.TrimRight(e.err.Error(), "\n ") + "\n(" + e.hint + ")"
}

func (e *hintError) Unwrap() error { return e.err }

// explainPushError says what to do about a failed push: for a refusal
// for want of credentials, whether credentials were found and where; for
// a certificate not trusted, where a CA would be looked for; for a
// registry that speaks plain HTTP, how to allow it.
func (o RegistryOptions) explainPushError(err error, ref name.Reference, ak *authKeychain) error {
	registry := ref.Context().RegistryStr()
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) || strings.Contains(err.Error(), "certificate signed by unknown authority") {
		hint := "no certificate directory has " + registry
		if dir := o.certDir(registry); dir != "" {
			hint = "the CA certificates of " + dir + " do not verify it"
		}
		dirs := append([]string{filepath.Join("~/.config/containers/certs.d", registry)}, systemCertsDirs...)
		for i := 1; i < len(dirs); i++ {
			dirs[i] = filepath.Join(dirs[i], registry)
		}
		return &hintError{fmt.Errorf("pushing %s: %w", ref, err), fmt.Sprintf("%s does not present a certificate this machine trusts, and %s: put its CA in one of %s as ca.crt, or give RegistryOptions.CertDir; RegistryOptions.Insecure skips verification",
			registry, hint, strings.Join(dirs, ", "))}
	}
	if errors.Is(err, http.ErrSchemeMismatch) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return &hintError{fmt.Errorf("pushing %s: %w", ref, err), registry + " speaks plain HTTP: allow it with RegistryOptions.Insecure, or with insecure = true for it in registries.conf"}
	}
	if isTimeout(err) {
		return fmt.Errorf("pushing %s: %s did not answer within %s (the network timeout): %w", ref, registry, o.timeout(), err)
	}
	var te *transport.Error
	if !errors.As(err, &te) || (te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden) {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	status := strconv.Itoa(te.StatusCode) + " " + http.StatusText(te.StatusCode)
	if ak == nil {
		return fmt.Errorf("pushing %s: %s refused the credentials given (%s): %w", ref, registry, status, err)
	}
	if src, ok := ak.Source(registry); ok {
		who := "the credentials"
		if src.User != "" {
			who = fmt.Sprintf("the credentials of user %q", src.User)
		}
		if te.StatusCode == http.StatusForbidden {
			return fmt.Errorf("pushing %s: %s denied %s (from %s, entry %s) access to %s (%s)", ref, registry, who, src.File, src.Key, ref.Context().RepositoryStr(), status)
		}
		return fmt.Errorf("pushing %s: %s refused %s (from %s, entry %s) (%s); log in again with `podman login %s`", ref, registry, who, src.File, src.Key, status, registry)
	}
	return fmt.Errorf("pushing %s: %s requires credentials (%s) and none were found for it in %s; log in with `podman login %s` or `docker login %s`",
		ref, registry, status, strings.Join(authFiles(), ", "), registry, registry)
}

// blobMemory records which repository of each registry received each
// layer (registry → layer digest → repository).
type blobMemory struct {
	path string
	mu   sync.Mutex
	m    map[string]map[string]string
}

// maxRemembered bounds the layers remembered per registry.
const maxRemembered = 20000

func newBlobMemory(path string) *blobMemory {
	b := &blobMemory{path: path, m: map[string]map[string]string{}}
	b.m = b.read()
	return b
}

// read reads the file; a missing or damaged one is an empty record (it
// is a hint: a wrong entry costs a mount the registry refuses).
func (b *blobMemory) read() map[string]map[string]string {
	m := map[string]map[string]string{}
	if b.path == "" {
		return m
	}
	if data, err := os.ReadFile(b.path); err == nil {
		if json.Unmarshal(data, &m) != nil || m == nil {
			m = map[string]map[string]string{}
		}
	}
	return m
}

// source is a repository of registry other than repo that received
// digest, if one is known.
func (b *blobMemory) source(registry, repo, digest string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.m[registry][digest]
	return r, ok && r != repo
}

// add records that repo of registry holds the digests, and saves the
// record, merged with what other processes saved meanwhile, through a
// temporary file.
func (b *blobMemory) add(registry, repo string, digests []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	record := func(m map[string]map[string]string) {
		if m[registry] == nil {
			m[registry] = map[string]string{}
		}
		for _, d := range digests {
			m[registry][d] = repo
		}
		for d := range m[registry] {
			if len(m[registry]) <= maxRemembered {
				break
			}
			if m[registry][d] != repo {
				delete(m[registry], d)
			}
		}
	}
	record(b.m)
	if b.path == "" {
		return nil
	}
	// Writers take turns (flock on a lock file beside the record), so
	// that concurrent pushes each add to what the others saved.
	if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
		return err
	}
	lock, err := openLockFile(b.path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitLock(ctx, lock); err != nil {
		return err
	}
	saved := b.read()
	record(saved)
	data, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(b.path, data, atomicfile.Options{Pattern: ".tmp-" + filepath.Base(b.path) + "-*", MkdirAll: true})
}

// artifactLayers is the layers of the artifact's image or of every image
// of its index.
func artifactLayers(a Artifact) ([]v1.Layer, error) {
	if a.Image != nil {
		return a.Image.Layers()
	}
	var out []v1.Layer
	seen := map[v1.Hash]bool{}
	var walk func(idx v1.ImageIndex, depth int) error
	walk = func(idx v1.ImageIndex, depth int) error {
		if depth > 4 {
			return errors.New("image index nested too deep")
		}
		children, err := partial.Manifests(idx)
		if err != nil {
			return err
		}
		for _, c := range children {
			switch c := c.(type) {
			case v1.ImageIndex:
				if err := walk(c, depth+1); err != nil {
					return err
				}
			case v1.Image:
				ls, err := c.Layers()
				if err != nil {
					return err
				}
				for _, l := range ls {
					d, err := l.Digest()
					if err != nil {
						return err
					}
					if !seen[d] {
						seen[d] = true
						out = append(out, l)
					}
				}
			}
		}
		return nil
	}
	return out, walk(a.Index, 0)
}

// Pushed is one repository a push wrote: REPO@DIGEST, and its tags.
type Pushed struct {
	Ref  string   `json:"ref"`  // REGISTRY/REPO@sha256:…
	Tags []string `json:"tags"` // the tags written in it
}

// pushAll pushes a to every registry reference: once per repository, in
// the order the references first name it, then each further tag of that
// repository (a manifest PUT, the blobs being there). Layers that an
// earlier push (of this call or, through o.BlobMemory, of an earlier
// run) sent to another repository of the same registry are mounted from
// there; a registry that does not mount gets them uploaded as usual.
func pushAll(ctx context.Context, a Artifact, refs []name.Reference, o RegistryOptions) ([]Pushed, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	desc, err := a.descriptor()
	if err != nil {
		return nil, err
	}
	layers, err := artifactLayers(a)
	if err != nil {
		return nil, err
	}
	mem := newBlobMemory(o.BlobMemory)
	var order []name.Repository
	byRepo := map[name.Repository][]name.Reference{}
	for _, r := range refs {
		if _, ok := byRepo[r.Context()]; !ok {
			order = append(order, r.Context())
		}
		byRepo[r.Context()] = append(byRepo[r.Context()], r)
	}
	var out []Pushed
	for _, repo := range order {
		rs := byRepo[repo]
		ro, ak, err := o.remoteFor(ctx, rs[0])
		if err != nil {
			return out, err
		}
		p, err := remote.NewPusher(ro...)
		if err != nil {
			return out, err
		}
		registry := repo.RegistryStr()
		var digests []string
		var mounts []v1.Layer
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return out, err
			}
			digests = append(digests, d.String())
			from, ok := mem.source(registry, repo.RepositoryStr(), d.String())
			if !ok {
				continue
			}
			src, err := name.NewRepository(registry+"/"+from, registryNameOpts(repo)...)
			if err != nil {
				continue // a damaged record: upload instead
			}
			mounts = append(mounts, &remote.MountableLayer{Layer: l, Reference: src.Digest(d.String())})
		}
		if err := mountLayers(ctx, p, repo, mounts); err != nil {
			// A mount source that cannot be read (no pull access, a
			// stale record) must not fail the push: push afresh, with
			// uploads; a real refusal shows there.
			if p, err = remote.NewPusher(ro...); err != nil {
				return out, err
			}
		}
		ro = append(ro, remote.Reuse(p))
		pushed := Pushed{Ref: repo.Digest(desc.Digest.String()).String()}
		for _, r := range rs {
			if err := push(ctx, a, r, ro); err != nil {
				return out, o.explainPushError(err, r, ak)
			}
			if t, ok := r.(name.Tag); ok {
				pushed.Tags = append(pushed.Tags, t.TagStr())
			}
		}
		out = append(out, pushed)
		// The record only saves uploads later: a cache that cannot be
		// written costs those, not this push.
		_ = mem.add(registry, repo.RepositoryStr(), digests)
	}
	return out, nil
}

// mountLayers sends layers (MountableLayers) to repo through p, four at
// a time: each is mounted from its source repository, or uploaded where
// the registry does not mount it.
func mountLayers(ctx context.Context, p *remote.Pusher, repo name.Repository, layers []v1.Layer) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	errs := make([]error, len(layers))
	for i, l := range layers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = p.Upload(ctx, repo, l)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// registryNameOpts keeps a repository's insecure setting for a sibling.
func registryNameOpts(repo name.Repository) []name.Option {
	if repo.Registry.Scheme() == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}
