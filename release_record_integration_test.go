package distroless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/publish"
)

// packageBlobs are the files of a cache's blob store that are packages
// the lockfile pins (a .deb downloaded).
func packageBlobs(t *testing.T, cache, lockPath string) []string {
	t.Helper()
	set, err := lockfile.ReadSet(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]string{}
	for _, l := range set.Locks {
		for _, p := range l.Packages {
			pinned[p.SHA256] = p.Name + "_" + p.Version + "_" + l.Arch
		}
	}
	if len(pinned) == 0 {
		t.Fatal("the lockfile pins no package")
	}
	ents, err := os.ReadDir(filepath.Join(cache, "blobs", "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		if p, ok := pinned[e.Name()]; ok {
			got = append(got, p)
		}
	}
	return got
}

// TestReleaseEmptyCache: a release leaves beside each image a record of
// its inputs in the registry; a re-release on an empty cache (a fresh CI
// runner) reads it and builds nothing: no package downloaded (none in the
// new cache), no blob uploaded, no manifest stored, every image
// unchanged with the first release's digest. A record tag that holds
// something else, or a record whose image a tag no longer holds, makes
// the release build and push again.
func TestReleaseEmptyCache(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	host := e.reg.Host
	release := "registry: " + host + "/rec\ndistros: [debian:trixie]\nimages:\n  - profile: static\n    platforms: [linux/amd64, linux/arm64]\n  - profile: base\n    users: [root, nonroot]\n"
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	first := e.release(t)
	digests := map[string]string{}
	for _, im := range images(t, first, 3) {
		if im.Status != "pushed" {
			t.Fatalf("first release: %s %s %s", im.Name, im.Variant, im.Status)
		}
		digests[im.Name+"/"+im.Variant] = im.Digest
	}

	empty1 := filepath.Join(t.TempDir(), "cache")
	before := len(e.reg.Requests(t))
	res := e.release(t, "--cache-dir", empty1)
	reqs := e.reg.Requests(t).Since(before)
	if n, m := len(reqs.Uploads()), len(reqs.ManifestPuts()); n+m != 0 {
		t.Errorf("re-release on an empty cache uploaded %d blobs and stored %d manifests", n, m)
	}
	for _, im := range images(t, res, 3) {
		if im.Status != "unchanged" || im.Built || im.Digest != digests[im.Name+"/"+im.Variant] {
			t.Errorf("re-release on an empty cache: %s %s: status %q, built %v, digest %s (first %s)", im.Name, im.Variant, im.Status, im.Built, im.Digest, digests[im.Name+"/"+im.Variant])
		}
	}
	lockPath := filepath.Join(e.dir, "release.lock.json")
	if got := packageBlobs(t, empty1, lockPath); len(got) != 0 {
		t.Errorf("re-release on an empty cache downloaded %d packages: %v", len(got), got)
	}
	for _, q := range reqs {
		if q.Method == "GET" && strings.Contains(q.Path, "/blobs/") {
			t.Errorf("re-release on an empty cache read a blob: %s", q)
		}
	}

	// The record tag of static holds another manifest: not a record of
	// these inputs, so static is built and pushed (its record put back).
	opts := []remote.Option{remote.WithTransport(e.reg.Transport()), remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password})}
	var recTag string
	tags, err := remote.List(mustTag(t, host+"/rec/static-debian13:x").Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags {
		if strings.HasPrefix(tg, publish.RecordTagPrefix) {
			if recTag != "" {
				t.Fatalf("two record tags in static-debian13: %v", tags)
			}
			recTag = tg
		}
	}
	if recTag == "" {
		t.Fatalf("no record tag in static-debian13: %v", tags)
	}
	// The provenance of each static platform image names the same inputs
	// digest as the record tag.
	idx, err := remote.Index(mustTag(t, host+"/rec/static-debian13:nonroot"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		refs, err := remote.Referrers(mustTag(t, host+"/rec/static-debian13:x").Context().Digest(m.Digest.String()), opts...)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := refs.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rm.Manifests {
			if r.ArtifactType != attest.InTotoMediaType {
				continue
			}
			ri, err := remote.Image(mustTag(t, host+"/rec/static-debian13:x").Context().Digest(r.Digest.String()), opts...)
			if err != nil {
				t.Fatal(err)
			}
			data, err := singleLayer(ri)
			if err != nil {
				t.Fatal(err)
			}
			found = strings.Contains(string(data), `"releaseInputs":"sha256:`+strings.TrimPrefix(recTag, publish.RecordTagPrefix)+`"`)
		}
		if !found {
			t.Errorf("the provenance of %s does not name the inputs of record tag %s", m.Digest, recTag)
		}
	}

	bogus := mutate.Annotations(empty.Image, map[string]string{publish.RecordAnnotation: `{"digest":"` + digests["base/latest"] + `"}`}).(v1.Image)
	if err := remote.Write(mustTag(t, host+"/rec/static-debian13:"+recTag), bogus, opts...); err != nil {
		t.Fatal(err)
	}
	bogusDigest, err := bogus.Digest()
	if err != nil {
		t.Fatal(err)
	}
	empty2 := filepath.Join(t.TempDir(), "cache")
	res = e.release(t, "--cache-dir", empty2)
	for _, im := range images(t, res, 3) {
		want := im.Name != "static"
		if (im.Status == "unchanged") != want || im.Digest != digests[im.Name+"/"+im.Variant] {
			t.Errorf("with a bogus record for static: %s %s: status %q, digest %s (first %s)", im.Name, im.Variant, im.Status, im.Digest, digests[im.Name+"/"+im.Variant])
		}
	}
	if got := e.head(t, host+"/rec/static-debian13:"+recTag); got == bogusDigest.String() {
		t.Error("the bogus record is still there")
	}
	// The record is back: a third empty cache builds nothing.
	res = e.release(t, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
	for _, im := range images(t, res, 3) {
		if im.Status != "unchanged" || im.Built {
			t.Errorf("after the record was put back: %s %s: %s, built %v", im.Name, im.Variant, im.Status, im.Built)
		}
	}
}
