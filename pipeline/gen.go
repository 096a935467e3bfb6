package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
	"github.com/distroless-dev/distroless/sbom"
)

// Version is the tool's version, set at link time
// (-ldflags "-X github.com/distroless-dev/distroless.Version=v1.2.3").
var Version = "dev"

// GenOptions are the settings of gen beyond those of resolve.
type GenOptions struct {
	Options
	Output publish.Output // publish.ParseOutput's; the zero Output = oci:./<profile> (when Outputs is empty too)
	Lock   string         // rebuild from this lockfile; written first when it does not exist
	// User is the image's user (ParseUser); the zero User is nonroot
	// unless the profile names another.
	User             User
	KeepDocs         bool
	AllowMissingLibs bool
	Compression      assemble.Compression // layer compression: gzip ("", the default) or zstd
	Parallel         int                  // downloads at once; 0 = 8
	// MaxImageSize and MaxFileSize bound the packages' files, in bytes
	// (0 = assemble's defaults): all together, and each one.
	MaxImageSize, MaxFileSize int64
	// SBOM, when set, is a file the image's SBOM is written to (with
	// several platforms, one file each: FILE's name with the
	// architecture before its extension); the SBOM is also attached to
	// OCI layouts and pushes as a referrer.
	SBOM       string
	SBOMFormat sbom.Format // sbom.SPDX ("", the default) or sbom.CycloneDX
	// Progress gets progress messages, one at a time (gen serialises the
	// builds' and the downloads' messages).
	Progress func(string)
	// Signer, when set, signs the image and its attestations in cosign's
	// format (attest.LoadKey).
	Signer *attest.Signer
	// BuilderID is the SLSA builder id of the provenance
	// (attest.DefaultBuilderID when empty); Argv the invocation it
	// records (the command's arguments).
	BuilderID string
	Argv      []string

	// Outputs are further outputs, written after Output; Registry is the
	// registry settings of the pushes.
	Outputs  []publish.Output
	Registry publish.RegistryOptions

	// Sandbox bounds the programs of an image the build runs (the Python
	// compiler, see assemble.SandboxLimits); zero fields take
	// assemble.DefaultSandboxLimits'.
	Sandbox assemble.SandboxLimits
	// Customisations of the top layer: CACerts are PEM files the image
	// trusts as its distro's local CAs (--ca-cert); AddFiles copy host
	// files or trees into the image, each SRC:DEST (--add-file).
	CACerts  []string
	AddFiles []string
	// Settings override the profile's entrypoint, command, working
	// directory, environment, labels and annotations (settings.go).
	Settings Settings
	// Attach puts the attachments (SBOM and provenance referrers, cosign
	// signatures and attestations) into OCI layouts and oci-archives too;
	// without it they hold the image or index alone, which every tool
	// reads untagged. Pushes carry the attachments in any case.
	Attach bool

	// SourceDate (SOURCE_DATE_EPOCH) dates the image's config and
	// whatever the build generates, and clamps every mtime to it. Nil:
	// the config says 1970-01-01 and packaged mtimes are kept.
	SourceDate *time.Time

	// Provenance, when set, amends what each image's Provenance says of
	// its build (a release records its file and lockfile).
	Provenance func(*attest.Build)
}

// GenResult is what gen made. For several platforms, Digest is the image
// index's, Arch lists the architectures, Packages is every platform's
// (name=version, each once), the sizes are the index's (each layer and
// package file counted once), Layers is empty and Platforms describes
// each image.
type GenResult struct {
	Digest    string           `json:"digest"`
	Output    string           `json:"output"`
	Profile   string           `json:"profile"`
	Distro    string           `json:"distro"`
	Arch      string           `json:"arch"`
	Packages  []string         `json:"packages"`
	Size      int64            `json:"size"`       // uncompressed rootfs bytes
	Download  int64            `json:"download"`   // bytes of package files
	ImageSize int64            `json:"image_size"` // compressed layer bytes
	Layers    []GenLayerResult `json:"layers"`
	Warnings  []string         `json:"warnings,omitempty"`
	// Platforms are the images of an image index, in its order (only
	// when gen built several).
	Platforms []GenPlatformResult `json:"platforms,omitempty"`
	// Images are the images gen built, one per platform, with what went
	// into each (for attaching SBOMs, provenance and signatures).
	Images []*PlatformImage `json:"-"`
	// Provenance is the digest of the provenance referrer attached to the
	// image (of the first platform's, for an index); Signature and
	// Attestations those of the cosign signature and attestations
	// manifests of the image or index, when signed.
	Provenance   string `json:"provenance,omitempty"`
	Signature    string `json:"signature,omitempty"`
	Attestations string `json:"attestations,omitempty"`
	// SBOM is the digest of the SBOM referrer attached to the image (of
	// the first platform's, for an index), when one was; SBOMFiles the
	// files written (--sbom).
	SBOM      string   `json:"sbom,omitempty"`
	SBOMFiles []string `json:"sbom_files,omitempty"`
	// Outputs is every output, Output first; Pushed the registry
	// repositories written, each REPO@DIGEST with its tags.
	Outputs []string    `json:"outputs"`
	Pushed  []GenPushed `json:"pushed,omitempty"`
	// Memo says the image (every platform's) was taken from the image
	// memo, built earlier from the same inputs, rather than built.
	Memo bool `json:"memo,omitempty"`
}

// GenPushed is a repository gen pushed to.
type GenPushed = publish.Pushed

// GenPlatformResult is one platform's image of an image index.
type GenPlatformResult struct {
	Platform  string           `json:"platform"` // linux/arm/v7
	Arch      string           `json:"arch"`     // the OCI architecture
	Variant   string           `json:"variant,omitempty"`
	Digest    string           `json:"digest"` // the image manifest's
	Packages  []string         `json:"packages"`
	Size      int64            `json:"size"`
	Download  int64            `json:"download"`
	ImageSize int64            `json:"image_size"`
	Layers    []GenLayerResult `json:"layers"`
	Warnings  []string         `json:"warnings,omitempty"`
	// Provenance and SBOM are the digests of the referrers attached to
	// this image.
	Provenance string `json:"provenance,omitempty"`
	SBOM       string `json:"sbom,omitempty"`
}

// PlatformImage is one platform's image and what it was built from.
type PlatformImage struct {
	Arch     string      // OCI architecture (amd64, arm64, arm, …)
	Platform v1.Platform // what the index says of it (os, architecture, variant)
	Image    v1.Image
	Digest   string    // the image manifest's digest
	Created  time.Time // its config's created (SOURCE_DATE_EPOCH)
	Distro   *distro.Distro
	Plan     *profiles.Plan
	// Levels are the packages of each level of Plan (each layer).
	Levels [][]*packages.Package
	// Indexes are the signed index files the packages came from (from
	// the lockfile, for a build from one).
	Indexes []packages.IndexFile
	// Resolution is the resolver's result; nil for a build from a
	// lockfile, which resolves nothing.
	Resolution *Resolution
	Report     *assemble.Report
	payload    packages.Payload // the reader of its package files
	memo       bool             // taken from the image memo
	App        *AppResult       // its application layer's install, if any
}

// GenLayerResult describes one layer of the image.
type GenLayerResult struct {
	Name           string `json:"name"`
	Digest         string `json:"digest"`
	Packages       int    `json:"packages"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
}

// Gen builds the image of a profile and writes it to the output: one
// image for one platform, or an OCI image index of one image per
// platform (Options.Platforms lists several).
func Gen(ctx context.Context, profile string, o GenOptions) (_ *GenResult, err error) {
	defer func() { err = DiskFirst(err) }()
	profile = o.ProfileName(profile)
	// Settings that cannot work fail before anything is fetched.
	outputs, err := o.outputsOf(profile)
	if err != nil {
		return nil, &UsageError{err}
	}
	output := outputs[0]
	archs, err := o.archs()
	if err != nil {
		return nil, err
	}
	if len(archs) > 1 {
		for _, out := range outputs {
			if strings.HasPrefix(out, "docker-archive:") {
				return nil, &UsageError{fmt.Errorf("output %s: a docker-archive holds one image, not an index of %d platforms; write an OCI layout (oci:DIR[:TAG]) or push to a registry", out, len(archs))}
			}
		}
	}
	if err := o.Settings.Check(); err != nil {
		return nil, &UsageError{err}
	}
	if o.Signer != nil && len(o.attachOutputs(outputs)) == 0 && !slices.ContainsFunc(outputs, func(op string) bool { return strings.HasPrefix(op, "docker-archive:") }) {
		return nil, &UsageError{&OptionError{Option: "Signer", Err: ErrNoSignatureOutput}}
	}
	sc, err := OpenSupplyChain(o, outputs)
	if err != nil {
		return nil, err
	}
	sbomFormat := o.SBOMFormat
	if sbomFormat == "" {
		sbomFormat = sbom.SPDX
	}
	sbomFiles := sbomFilesOf(o.SBOM, archs)
	for _, f := range sbomFiles {
		if err := checkSBOMFile(f); err != nil {
			return nil, &UsageError{err}
		}
	}
	if o.Registry.Timeout == 0 {
		o.Registry.Timeout = o.Timeout
	}
	if report := o.Progress; report != nil {
		// The builds and the downloads run at once: one message at a time.
		var mu sync.Mutex
		o.Progress = func(s string) {
			mu.Lock()
			defer mu.Unlock()
			report(s)
		}
	}
	imgs, err := genImages(ctx, profile, o)
	if err != nil {
		return nil, err
	}
	if o.SBOM != "" { // named in the images' order
		var built []string
		for _, im := range imgs {
			built = append(built, im.Arch)
		}
		sbomFiles = sbomFilesOf(o.SBOM, built)
	}
	progress := o.progress()
	progress("writing " + strings.Join(outputs, ", "))
	// The image is named for the profile it resolved to (python3 → python3.X).
	writeOpts := o.writeOptions(imgs[0].Plan.Name)
	writeOpts.Attach = o.Attach
	for _, out := range outputs {
		for _, p := range publish.CleanStale(out, writeOpts) {
			o.Logf("removed %s, left by an interrupted gen", p)
		}
	}
	if writeOpts.Registry.BlobMemory == "" {
		if c, err := o.Cache(); err == nil {
			writeOpts.Registry.BlobMemory = filepath.Join(c.Dir, "registry", "blobs.json")
		}
	}
	art, boms, supply, err := o.ArtifactOf(imgs, outputs, sc, sbomFormat)
	if err != nil {
		return nil, err
	}
	wr, err := publish.WriteOutputs(ctx, art, outputs, writeOpts)
	if err != nil {
		return nil, err
	}
	digest := wr.Digest
	// The SBOM files after the image: a failed build leaves none of an
	// image that was not written.
	for i, f := range sbomFiles {
		if err := writeSBOMFile(f, boms[i].doc); err != nil {
			return nil, err
		}
		o.Logf("wrote SBOM %s", f)
	}
	res := &GenResult{Digest: digest, Output: output, Outputs: outputs, Pushed: wr.Pushed, Profile: imgs[0].Plan.Name,
		Distro: imgs[0].Distro.Name, Images: imgs,
		Provenance: supply.Provenance[imgs[0].Digest], Signature: supply.Signature[digest], Attestations: supply.Attestations[digest]}
	res.SBOMFiles = sbomFiles
	res.Memo = !slices.ContainsFunc(imgs, func(pi *PlatformImage) bool { return !pi.memo })
	if boms[0] != nil && wantSBOM("", o.attachOutputs(outputs)...) {
		res.SBOM = boms[0].digest
	}
	if len(imgs) == 1 {
		pr := imgs[0].result()
		res.Arch, res.Packages, res.Size, res.Download, res.ImageSize, res.Layers, res.Warnings =
			pr.Arch, pr.Packages, pr.Size, pr.Download, pr.ImageSize, pr.Layers, pr.Warnings
		return res, nil
	}
	var names []string
	pkgs, files, layers := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, im := range imgs {
		pr := im.result()
		pr.Provenance = supply.Provenance[im.Digest]
		if boms[i] != nil && wantSBOM("", o.attachOutputs(outputs)...) {
			pr.SBOM = boms[i].digest
		}
		res.Platforms = append(res.Platforms, pr)
		names = append(names, im.Arch)
		res.Size += pr.Size
		for _, p := range pr.Packages {
			if !pkgs[p] {
				pkgs[p] = true
				res.Packages = append(res.Packages, p)
			}
		}
		for _, lv := range im.Levels {
			for _, p := range lv {
				if !files[p.SHA256] {
					files[p.SHA256] = true
					res.Download += p.Size
				}
			}
		}
		for _, l := range pr.Layers {
			if !layers[l.Digest] {
				layers[l.Digest] = true
				res.ImageSize += l.CompressedSize
			}
		}
		for _, w := range pr.Warnings {
			res.Warnings = append(res.Warnings, pr.Platform+": "+w)
		}
	}
	res.Arch = strings.Join(names, ",")
	sort.Strings(res.Packages)
	return res, nil
}

// progress is the progress callback, never nil.
func (o *GenOptions) progress() func(string) {
	if o.Progress == nil {
		return func(string) {}
	}
	return o.Progress
}

// result describes one platform's image.
func (im *PlatformImage) result() GenPlatformResult {
	r := GenPlatformResult{Platform: PlatformName(im.Arch), Arch: im.Arch, Variant: im.Platform.Variant, Digest: im.Digest,
		Size: im.Report.Size, Warnings: im.Report.Warnings}
	for _, lv := range im.Levels {
		for _, p := range lv {
			r.Packages = append(r.Packages, p.Name+"="+p.Version)
			r.Download += p.Size
		}
	}
	sort.Strings(r.Packages)
	for _, l := range im.Report.Layers {
		r.Layers = append(r.Layers, GenLayerResult{Name: l.Name, Digest: l.Digest, Packages: l.Packages, Size: l.Size, CompressedSize: l.CompressedSize})
		r.ImageSize += l.CompressedSize
	}
	return r
}

// revision is the VCS revision the binary was built from, when known.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
