package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/sbom"
)

// genSBOM is an image's SBOM: the document, and the referrer that
// attaches it to the image.
type genSBOM struct {
	doc      []byte
	referrer v1.Image
	digest   string // the referrer's
}

// wantSBOM says whether gen makes an SBOM: when asked for a file, and
// when an output holds a referrer (a push, an OCI layout with --attach;
// not a docker-archive; callers pass GenOptions.attachOutputs).
// wantSBOM("", outputs...) says whether to attach it.
func wantSBOM(file string, outputs ...string) bool {
	if file != "" {
		return true
	}
	for _, o := range outputs {
		if !strings.HasPrefix(o, "docker-archive:") {
			return true
		}
	}
	return false
}

// makeSBOM describes the image's packages from their files and makes its
// SBOM in format f.
func makeSBOM(im *PlatformImage, cache *fetch.Cache, f sbom.Format) (*genSBOM, error) {
	img, created, payload := im.Image, im.Created, im.payload
	in := struct {
		distro  *distro.Distro
		plan    *profiles.Plan
		arch    string
		indexes []packages.IndexFile
		levels  [][]*packages.Package
		cache   *fetch.Cache
	}{im.Distro, im.Plan, im.Arch, im.Indexes, im.Levels, cache}
	desc, err := partial.Descriptor(img)
	if err != nil {
		return nil, err
	}
	describer, ok := payload.(packages.Describer)
	if !ok {
		return nil, fmt.Errorf("distro %s: its package format cannot describe packages for an SBOM", in.distro.Name)
	}
	doc := &sbom.Image{
		Name:        in.plan.Name,
		Digest:      desc.Digest.String(),
		Arch:        in.arch,
		Created:     created,
		ToolVersion: Version,
		Distro:      sbom.Distro{Name: in.distro.Name, Format: in.distro.Format, Purl: in.distro.Purl(), OSRelease: in.distro.OSRelease},
	}
	for _, ix := range in.indexes {
		doc.Indexes = append(doc.Indexes, sbom.Index{URL: ix.URL, SHA256: ix.SHA256})
	}
	for li, lv := range in.levels {
		for _, p := range lv {
			doc.Packages = append(doc.Packages, sbom.Package{Name: p.Name, Version: p.Version, Arch: p.Arch,
				URL: p.URL, SHA256: p.SHA256, Size: p.Size, Layer: in.plan.Levels[li].Name})
		}
	}
	if im.Report != nil {
		for _, f := range im.Report.HostFiles {
			if n := len(doc.Added); n == 0 || doc.Added[n-1].Layer != f.Layer {
				doc.Added = append(doc.Added, sbom.Added{Layer: f.Layer})
			}
			a := &doc.Added[len(doc.Added)-1]
			a.Files = append(a.Files, sbom.AddedFile{Path: f.Path, SHA256: f.SHA256, Size: f.Size})
		}
	}
	for _, c := range im.App.components() {
		doc.Apps = append(doc.Apps, sbom.App{Type: c.Type, Name: c.Name, Version: c.Version, License: c.License,
			Hash: c.Hash, Source: c.Source, PURL: c.PURL, Layer: appLayer})
	}
	// Each package file is read once (its control data and, for a deb,
	// its data up to the copyright file), several at a time.
	var wg sync.WaitGroup
	errs := make([]error, len(doc.Packages))
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range doc.Packages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p := &doc.Packages[i]
			d, err := describeMemo(in.cache, describer, in.cache.BlobPath(p.SHA256), p.SHA256)
			if err != nil {
				errs[i] = fmt.Errorf("SBOM: reading package %s %s: %w", p.Name, p.Version, err)
				return
			}
			p.Description = d
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	data, err := sbom.Marshal(doc, f)
	if err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	ref, err := sbom.Referrer(*desc, f.MediaType(), data, created)
	if err != nil {
		return nil, fmt.Errorf("SBOM referrer: %w", err)
	}
	rd, err := ref.Digest()
	if err != nil {
		return nil, err
	}
	return &genSBOM{doc: data, referrer: ref, digest: rd.String()}, nil
}

// checkSBOMFile refuses an --sbom path that cannot be written, before
// anything is fetched.
func checkSBOMFile(file string) error {
	if file == "" {
		return nil
	}
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return &OptionError{Option: "SBOM", Value: file, Err: errors.New("is a directory; give a file name")}
	}
	if st, err := os.Stat(filepath.Dir(file)); err == nil && !st.IsDir() {
		return &OptionError{Option: "SBOM", Value: file, Err: fmt.Errorf("%s is not a directory", filepath.Dir(file))}
	}
	return nil
}

// writeSBOMFile writes the document to file (temporary file and rename),
// creating its directory as -o does.
func writeSBOMFile(file string, doc []byte) error {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(file)), 0o755); err != nil {
		return &OptionError{Option: "SBOM", Value: file, Err: err}
	}
	if err := atomicfile.WriteFile(file, doc, atomicfile.Options{MkdirAll: true}); err != nil {
		return &OptionError{Option: "SBOM", Value: file, Err: err}
	}
	return nil
}
