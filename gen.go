package distroless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
	"github.com/distroless-dev/distroless/sbom"
)

// Version is the tool's version, set at link time
// (-ldflags "-X github.com/distroless-dev/distroless.Version=v1.2.3").
var Version = "dev"

// GenOptions are the settings of gen beyond those of resolve.
type GenOptions struct {
	Options
	Output           string // oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or REGISTRY/REPO:TAG; "" = oci:./<profile> (when Outputs is empty too)
	Lock             string // rebuild from this lockfile; written first when it does not exist
	User             string // nonroot (default), root, or a numeric UID
	KeepDocs         bool
	AllowMissingLibs bool
	Compression      string // layer compression: gzip ("", the default) or zstd
	Parallel         int    // downloads at once; 0 = 8
	// MaxImageSize and MaxFileSize bound the packages' files ("2GiB",
	// "500MB"; "" = assemble's defaults): all together, and each one.
	MaxImageSize, MaxFileSize string
	// SBOM, when set, is a file the image's SBOM is written to (with
	// several platforms, one file each: FILE's name with the
	// architecture before its extension); the SBOM is also attached to
	// OCI layouts and pushes as a referrer.
	SBOM       string
	SBOMFormat string // spdx (default) or cyclonedx
	// Progress gets progress messages, one at a time (gen serialises the
	// builds' and the downloads' messages).
	Progress func(string)
	// SignKey is a signing key file (--sign-key): the image and its
	// attestations are signed in cosign's format.
	SignKey string
	// BuilderID is the SLSA builder id of the provenance
	// (attest.DefaultBuilderID when empty); Argv the invocation it
	// records (the command's arguments).
	BuilderID string
	Argv      []string

	// Outputs are further outputs, written after Output; Registry is the
	// registry settings of the pushes.
	Outputs  []string
	Registry assemble.RegistryOptions

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

	// provenance, when set, amends what each image's provenance says of
	// its build (a release records its file and lockfile).
	provenance func(*attest.Build)
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
type GenPushed = assemble.Pushed

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
	app        *AppResult       // its application layer's install, if any
}

// GenLayerResult describes one layer of the image.
type GenLayerResult struct {
	Name           string `json:"name"`
	Digest         string `json:"digest"`
	Packages       int    `json:"packages"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
}

// genInput is a profile plan with the packages of each of its levels.
type genInput struct {
	distro *distro.Distro
	keys   distro.Keys // those the index was verified with; nil from a lockfile
	arch   string
	plan   *profiles.Plan
	levels [][]*packages.Package
	cache  *fetch.Cache
	res    *Resolution // nil from a lockfile
	// indexes are the signed index files the packages came from.
	indexes []packages.IndexFile
	// app is the application layer's install (app.go), nil for none.
	app *AppResult
}

// Gen builds the image of a profile and writes it to the output: one
// image for one platform, or an OCI image index of one image per
// platform (Options.Arch lists several).
func Gen(ctx context.Context, profile string, o GenOptions) (_ *GenResult, err error) {
	defer func() { err = diskFirst(err) }()
	profile = o.profileName(profile)
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
	if o.SignKey != "" && len(o.attachOutputs(outputs)) == 0 && !slices.ContainsFunc(outputs, func(op string) bool { return strings.HasPrefix(op, "docker-archive:") }) {
		return nil, &UsageError{fmt.Errorf("--sign-key: no output holds signatures: they go to registry pushes, and with --attach into OCI layouts and oci-archives")}
	}
	sc, err := openSupplyChain(o, outputs)
	if err != nil {
		return nil, err
	}
	sbomFormat, err := sbom.ParseFormat(o.SBOMFormat)
	if err != nil {
		return nil, &UsageError{err}
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
		for _, p := range assemble.CleanStale(out, writeOpts) {
			o.log("removed %s, left by an interrupted gen", p)
		}
	}
	if writeOpts.Registry.BlobMemory == "" {
		if c, err := o.cache(); err == nil {
			writeOpts.Registry.BlobMemory = filepath.Join(c.Dir, "registry", "blobs.json")
		}
	}
	art, boms, supply, err := o.artifactOf(imgs, outputs, sc, sbomFormat)
	if err != nil {
		return nil, err
	}
	wr, err := assemble.WriteOutputs(ctx, art, outputs, writeOpts)
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
		o.log("wrote SBOM %s", f)
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

// artifactOf is what gen writes of its images (one, or several making an
// index in their order): the image or the index, each image's SBOM (when
// an output can hold it or --sbom asks for it; attached as a referrer
// when an output can hold it) and provenance as referrers and, with a
// signing key, the signatures and attestations. The SBOMs are in the
// images' order (nil entries when none was made).
func (o GenOptions) artifactOf(imgs []*PlatformImage, outputs []string, sc *supplyChain, sbomFormat sbom.Format) (assemble.Artifact, []*genSBOM, attached, error) {
	progress := o.progress()
	var art assemble.Artifact
	var built []builtImage
	boms := make([]*genSBOM, len(imgs))
	if wantSBOM(o.SBOM, o.attachOutputs(outputs)...) {
		// Each platform's SBOM, side by side.
		c, err := o.cache()
		if err != nil {
			return art, nil, attached{}, err
		}
		errs := make([]error, len(imgs))
		var wg sync.WaitGroup
		for i, im := range imgs {
			progress("describing the packages for the SBOM of " + PlatformName(im.Arch))
			wg.Add(1)
			go func() {
				defer wg.Done()
				boms[i], errs[i] = makeSBOM(im, c, sbomFormat)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return art, nil, attached{}, err
		}
	}
	for i, im := range imgs {
		b := builtImage{img: im.Image,
			build: provenanceBuild(o, im.Distro, im.Arch, im.Plan, im.Levels, im.Indexes, im.Created, im.app)}
		if o.provenance != nil {
			o.provenance(&b.build)
		}
		if boms[i] != nil {
			if wantSBOM("", o.attachOutputs(outputs)...) {
				art.Referrers = append(art.Referrers, boms[i].referrer)
				b.docs = append(b.docs, attest.Predicate{Type: sbomFormat.PredicateType(), JSON: boms[i].doc})
			}
		}
		built = append(built, b)
	}
	var err error
	if len(imgs) == 1 {
		art.Image = imgs[0].Image
	} else if art.Index, err = imageIndex(imgs); err != nil {
		return art, nil, attached{}, err
	}
	if len(o.Settings.Annotations) > 0 && art.Index != nil {
		art.Index = mutate.Annotations(art.Index, o.Settings.Annotations).(v1.ImageIndex)
	}
	if len(o.attachOutputs(outputs)) == 0 {
		return art, boms, attached{}, nil // nowhere to attach anything
	}
	supply, err := sc.attach(&art, signOutput(outputs), built)
	if err != nil {
		return art, nil, attached{}, err
	}
	return art, boms, supply, nil
}

// attachOutputs are the outputs that hold attachments (SBOM and
// provenance referrers, signatures): the pushes, and with Attach the OCI
// layouts and oci-archives.
func (o GenOptions) attachOutputs(outputs []string) []string {
	var out []string
	for _, op := range outputs {
		switch {
		case strings.HasPrefix(op, "docker-archive:"):
		case strings.HasPrefix(op, "oci:"), strings.HasPrefix(op, "oci-archive:"):
			if o.Attach {
				out = append(out, op)
			}
		default:
			out = append(out, op)
		}
	}
	return out
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

// imageIndex is the OCI image index of the platforms' images, in the
// order of Architectures (so that the same platforms, given in any
// order, make the same index).
func imageIndex(imgs []*PlatformImage) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, im := range imgs {
		mt, err := im.Image.MediaType()
		if err != nil {
			return nil, err
		}
		p := im.Platform
		adds = append(adds, mutate.IndexAddendum{Add: im.Image, Descriptor: v1.Descriptor{MediaType: mt, Platform: &p}})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}

// genImages resolves (or reads from the lockfile) the profile for every
// platform, fetches every package file once, and builds each platform's
// image.
func genImages(ctx context.Context, profile string, o GenOptions) ([]*PlatformImage, error) {
	user, err := userOf(o.User)
	if err != nil {
		return nil, &UsageError{err}
	}
	if _, err := assemble.ParseCompression(o.Compression); err != nil { // before anything is fetched
		return nil, &UsageError{fmt.Errorf("--compression: %w", err)}
	}
	if _, _, err := o.sizeLimits(); err != nil {
		return nil, err
	}
	if err := o.checkCustom(); err != nil { // before anything is fetched
		return nil, err
	}
	if o.Profile == nil && o.Lock == "" {
		if _, _, err := profiles.Find(profile); err != nil {
			return nil, &UsageError{err}
		}
	}
	// The mistakes of the command line first, then the registries: one
	// that refuses the push fails now, before anything is fetched, not
	// after the build.
	outputs, err := o.outputsOf(profile)
	if err != nil {
		return nil, &UsageError{err}
	}
	if err := assemble.CheckPush(ctx, outputs, o.writeOptions(profile)); err != nil {
		return nil, err
	}
	ins, err := genPlans(ctx, profile, o)
	if err != nil {
		return nil, err
	}
	return buildImages(ctx, ins, o, user)
}

// sizeLimits are --max-image-size and --max-file-size in bytes (0: the
// default).
func (o GenOptions) sizeLimits() (maxImage, maxFile int64, err error) {
	if maxImage, err = sizeFlag("--max-image-size", o.MaxImageSize); err != nil {
		return 0, 0, err
	}
	if maxFile, err = sizeFlag("--max-file-size", o.MaxFileSize); err != nil {
		return 0, 0, err
	}
	return maxImage, maxFile, nil
}

// buildImages fetches every package file of the inputs (one per
// platform) once and builds each platform's image as user, the builds
// running alongside the downloads; the images are in the inputs' order.
func buildImages(ctx context.Context, ins []*genInput, o GenOptions, user imageUser) ([]*PlatformImage, error) {
	comp, err := assemble.ParseCompression(o.Compression)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("--compression: %w", err)}
	}
	maxImage, maxFile, err := o.sizeLimits()
	if err != nil {
		return nil, err
	}
	progress := o.progress()

	// Fetch every package file of every platform, each once (arch: all
	// packages are shared), verified against the signed index (or the
	// lockfile's pins) before use.
	var reqs []fetch.Request
	bySHA := map[string]*packages.Package{}
	for _, in := range ins {
		for _, lv := range in.levels {
			for _, p := range lv {
				if _, ok := bySHA[p.SHA256]; ok {
					continue
				}
				reqs = append(reqs, fetch.Request{URL: p.URL, Size: p.Size, SHA256: p.SHA256})
				bySHA[p.SHA256] = p
			}
		}
	}
	// Largest first: their decoding, the slowest step, starts earliest.
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Size > reqs[j].Size })
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	cache := ins[0].cache
	payloadOf := func(in *genInput) packages.Payload {
		payload := in.distro.Payload(filepath.Join(in.cache.Dir, "unpacked"), in.keys)
		if w, ok := payload.(interface {
			WithWarn(func(string)) packages.Payload
		}); ok {
			payload = w.WithWarn(in.cache.Warn) // damaged cache entries are rebuilt, and said
		}
		return payload
	}

	// Each platform's build runs while the packages download: it reads
	// each of its packages (decoded, its files spooled, and kept in the
	// unpack cache) as soon as the download completes and is verified.
	// Several builds at once, as many as there are CPUs. The platform the
	// host runs natively, if one is asked for, shares its Python bytecode
	// with the others (assemble.BytecodeShare); it starts first and never
	// waits for a slot, since the others wait for it.
	imgs := make([]*PlatformImage, len(ins))
	errs := make([]error, len(ins))
	arrived := make([]chan string, len(ins))
	wants := make([]map[string]bool, len(ins))
	for i, in := range ins {
		wants[i] = map[string]bool{}
		for _, lv := range in.levels {
			for _, p := range lv {
				wants[i][p.SHA256] = true
			}
		}
		arrived[i] = make(chan string, len(wants[i])) // never blocks: a failed build stops reading it
	}
	donor := -1
	if len(ins) > 1 {
		donor = slices.IndexFunc(ins, func(in *genInput) bool { return in.arch == runtime.GOARCH })
	}
	setting := func(i int) buildSetting {
		return buildSetting{maxImage, maxFile, comp, arrived[i], len(ins) > 1, nil, i == donor, donor >= 0 && i != donor}
	}

	// Images whose inputs are those of earlier builds are taken from the
	// cache (memo.go), with nothing fetched, when every platform's is
	// there; otherwise every platform is built (the builds of an index
	// share their Python bytecode, so one is not built without the
	// others).
	// The platforms are looked up side by side.
	memo := make([]*PlatformImage, len(ins))
	memoErrs := make([]error, len(ins))
	var looked sync.WaitGroup
	for i, in := range ins {
		looked.Add(1)
		go func() {
			defer looked.Done()
			memo[i], memoErrs[i] = in.fromMemo(o, user, payloadOf(in), setting(i))
		}()
	}
	looked.Wait()
	if err := errors.Join(memoErrs...); err != nil {
		return nil, err
	}
	if !slices.Contains(memo, nil) {
		if len(ins) > 1 {
			progress("the images of these inputs are in the cache")
		} else {
			progress("the image of these inputs is in the cache")
		}
		return memo, nil
	}
	var share *assemble.BytecodeShare
	if donor >= 0 {
		share = assemble.NewBytecodeShare()
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == donor {
				defer share.Close()
			} else {
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			set := setting(i)
			set.share = share
			imgs[i], errs[i] = in.build(bctx, o, user, payloadOf(in), set)
			if errs[i] != nil {
				cancel() // the index fails: no use downloading more, nor finishing the other builds
			}
		}()
	}
	_, fetchErr := cache.FetchAll(bctx, reqs, par, func(done, total int, r fetch.Request) {
		progress(fmt.Sprintf("fetched %d/%d %s", done, total, r.URL[strings.LastIndex(r.URL, "/")+1:]))
		for i := range ins {
			if wants[i][r.SHA256] {
				arrived[i] <- cache.BlobPath(r.SHA256)
			}
		}
	})
	if fetchErr != nil {
		cancel()
	}
	for _, c := range arrived {
		close(c)
	}
	wg.Wait()
	if share != nil {
		share.Release()
	}
	// The first build error, unless it is a cancellation another build's
	// failure or a failed download caused: then that failure.
	at := -1
	for i, err := range errs {
		if err != nil && (at < 0 || errors.Is(errs[at], context.Canceled) && !errors.Is(err, context.Canceled)) {
			at = i
		}
	}
	if at >= 0 && (fetchErr == nil || !errors.Is(errs[at], context.Canceled)) {
		err := errs[at]
		if le := (*assemble.LimitError)(nil); errors.As(err, &le) {
			flag := "--max-file-size"
			if le.Image {
				flag = "--max-image-size"
			}
			err = fmt.Errorf("%w; %s raises the limit", err, flag)
		}
		if len(ins) > 1 {
			return nil, fmt.Errorf("%s: %w", PlatformName(ins[at].arch), err)
		}
		return nil, err
	}
	if fetchErr != nil {
		if o.Lock != "" {
			return nil, fmt.Errorf("a package pinned by %s can no longer be fetched with its sha256: %w", o.Lock, fetchErr)
		}
		return nil, fetchErr
	}
	return imgs, nil
}

// buildSetting is what a build takes from gen's flags and downloads
// beyond the input: the size limits, the layer compression, the channel
// naming each package file as it arrives, whether it is one of several
// platforms (its progress lines then name the platform), and the Python
// bytecode it shares with the other builds of an index (as the donor, or
// taking the donor's).
type buildSetting struct {
	maxImage, maxFile int64
	comp              assemble.Compression
	arrived           <-chan string
	several           bool
	share             *assemble.BytecodeShare
	donor             bool
	takesBytecode     bool
}

// buildSpec is the spec of the input's image.
func (in *genInput) buildSpec(o GenOptions, user imageUser, payload packages.Payload, set buildSetting) (assemble.Spec, error) {
	spec, err := in.spec(o, user, payload)
	if err != nil {
		return spec, err
	}
	spec.MaxImageSize, spec.MaxFileSize = set.maxImage, set.maxFile
	spec.Compression = set.comp
	spec.Arrived = set.arrived
	// File contents wait on disk, in the cache, rather than in memory.
	spec.SpoolDir = in.cache.Dir
	spec.Bytecode, spec.BytecodeDonor = set.share, set.donor
	spec.Sandbox = o.Sandbox
	spec.Progress = o.progress()
	if set.several {
		name := PlatformName(in.arch)
		spec.Progress = func(s string) { o.progress()(name + ": " + s) }
	}
	return spec, nil
}

// platformImage is the PlatformImage of the input's image.
func (in *genInput) platformImage(spec assemble.Spec, img v1.Image, rep *assemble.Report, payload packages.Payload) (*PlatformImage, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	rep.Warnings = append(rep.Warnings, appWarnings(in.app)...)
	return &PlatformImage{Arch: in.arch, Platform: PlatformOf(in.arch), Image: img, Digest: d.String(), Created: spec.Created, Distro: in.distro,
		Plan: in.plan, Levels: in.levels, Indexes: in.indexes, Resolution: in.res, Report: rep, payload: payload, app: in.app}, nil
}

// fromMemo is the input's image from the image memo, or nil when the memo
// has none for these inputs (or one of the package files is not in the
// cache, or fails its check).
func (in *genInput) fromMemo(o GenOptions, user imageUser, payload packages.Payload, set buildSetting) (*PlatformImage, error) {
	spec, err := in.buildSpec(o, user, payload, set)
	if err != nil {
		return nil, err
	}
	key := in.memoKey(spec, set.takesBytecode)
	if key == "" || !in.packagesCached() {
		return nil, nil
	}
	img, rep, ok := assemble.LoadImage(in.cache, key, spec.SpoolDir)
	if !ok {
		return nil, nil
	}
	pi, err := in.platformImage(spec, img, rep, payload)
	if pi != nil {
		pi.memo = true
	}
	return pi, err
}

// build builds the input's image, and keeps it in the image memo.
func (in *genInput) build(ctx context.Context, o GenOptions, user imageUser, payload packages.Payload, set buildSetting) (*PlatformImage, error) {
	spec, err := in.buildSpec(o, user, payload, set)
	if err != nil {
		return nil, err
	}
	img, rep, err := assemble.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	if key := in.memoKey(spec, set.takesBytecode); key != "" && len(rep.Warnings) == 0 {
		_ = assemble.StoreImage(in.cache, key, img, rep)
	}
	return in.platformImage(spec, img, rep, payload)
}

// writeOptions are the output settings of an image of the named profile.
func writeOptions(profile string) assemble.WriteOptions {
	return assemble.WriteOptions{DefaultRef: "distroless/" + profile + ":latest"}
}

// writeOptions are the output settings of an image of the named profile,
// with gen's registry settings.
func (o GenOptions) writeOptions(profile string) assemble.WriteOptions {
	w := writeOptions(profile)
	w.Registry = o.Registry
	return w
}

// outputsOf is the outputs gen writes (Output then Outputs, else
// oci:./PROFILE), each checked before anything is fetched.
func (o GenOptions) outputsOf(profile string) ([]string, error) {
	var outputs []string
	if o.Output != "" {
		outputs = append(outputs, o.Output)
	}
	outputs = append(outputs, o.Outputs...)
	if len(outputs) == 0 {
		outputs = []string{"oci:./" + profile}
	}
	seen := map[string]bool{}
	for _, output := range outputs {
		if seen[output] {
			return nil, fmt.Errorf("output %q is given twice", output)
		}
		seen[output] = true
		if err := checkOutput(output); err != nil {
			return nil, err
		}
		if err := assemble.CheckOutput(output, o.writeOptions(profile)); err != nil {
			return nil, err
		}
	}
	return outputs, nil
}

// outputForms lists the outputs gen accepts, for error messages.
const outputForms = "oci:DIR[:TAG] (an OCI layout), oci-archive:FILE[:REF] (a tar of one), docker-archive:FILE[:REF] (a tarball) or REGISTRY/REPO:TAG (a push)"

// checkOutput refuses an output without a transport that is not a
// registry reference: a path such as ./out, /tmp/out, ../out, out/ or
// ~/out must not be taken for a registry host.
func checkOutput(output string) error {
	if strings.HasPrefix(output, "oci:") || strings.HasPrefix(output, "oci-archive:") || strings.HasPrefix(output, "docker-archive:") {
		return nil
	}
	host, rest, hasSlash := strings.Cut(output, "/")
	switch {
	case output == "":
		return fmt.Errorf("output is empty; want %s", outputForms)
	case host == "" || host == "." || host == ".." || host == "~" || strings.HasPrefix(host, "~") ||
		strings.ContainsRune(output, '\\') || (hasSlash && (rest == "" || strings.HasSuffix(rest, "/"))):
		return fmt.Errorf("output %q is a path, not a registry reference: for an OCI layout say oci:%s, for a tarball docker-archive:%s; outputs are %s",
			output, strings.TrimSuffix(output, "/"), strings.TrimSuffix(output, "/"), outputForms)
	case !hasSlash:
		return fmt.Errorf("output %q has no transport and is not a registry reference: want %s (a registry is named by its host, e.g. docker.io/…)", output, outputForms)
	}
	if !registryHost(host) {
		return fmt.Errorf("output %q: %q is not a registry host (a domain with a dot, localhost, or an address, each with an optional :PORT); want %s", output, host, outputForms)
	}
	// The tag defaults to latest, as for podman and crane.
	if _, err := name.ParseReference(output); err != nil {
		return fmt.Errorf("output %q is not a registry reference (%v); want %s", output, err, outputForms)
	}
	return nil
}

// registryHost reports whether host (with an optional :PORT) names a
// registry: localhost, an IP address, or a DNS name with a dot.
func registryHost(host string) bool {
	h, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		h, port = host[:i], host[i+1:]
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return false
		}
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(h[1:len(h)-1]) != nil
	}
	if h == "localhost" || net.ParseIP(h) != nil {
		return true
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 && port == "" {
		return false // a bare word is a registry only with a port (registry:5000)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// genPlans resolves the profile for every platform, or takes the
// packages a lockfile pins; one input per platform, in the order of
// Architectures.
func genPlans(ctx context.Context, profile string, o GenOptions) ([]*genInput, error) {
	archs, err := o.archs()
	if err != nil {
		return nil, err
	}
	if o.Lock != "" {
		l, err := ReadLock(o.Lock)
		switch {
		case err == nil:
			if o.Arch == "" {
				archs = l.Archs() // the platforms the lockfile pins
			}
			return lockPlans(profile, l, archs, o)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	sortArchs(archs)
	if len(archs) > 1 && o.Log != nil {
		// The platforms' resolutions say the same things (python3 is
		// python3.13 on …): each once.
		o.Log = &onceLines{w: o.Log, seen: map[string]bool{}}
	}
	// Every platform at once: each opens its own index (download and
	// decoding run in parallel).
	rs := make([]*Resolution, len(archs))
	errs := make([]error, len(archs))
	var wg sync.WaitGroup
	for i, a := range archs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po := o.Options
			po.Arch = a
			po.keepResolution = true
			rs[i], errs[i] = resolve(ctx, profile, po)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if len(archs) > 1 {
				return nil, platformError(archs[i], err)
			}
			return nil, err
		}
	}
	// One distro for all: without --distro each platform chose its own.
	for _, r := range rs[1:] {
		if r.Distro.Name != rs[0].Distro.Name {
			return nil, fmt.Errorf("%s resolved on %s for %s but on %s for %s: choose one distro with --distro",
				profile, rs[0].Distro.Name, PlatformName(rs[0].Arch), r.Distro.Name, PlatformName(r.Arch))
		}
	}
	if o.Lock != "" {
		var locks []*lockfile.Lock
		for _, r := range rs {
			locks = append(locks, r.Lock())
		}
		l, err := lockfile.Merge(locks)
		if err != nil {
			return nil, err
		}
		if err := lockfile.Write(o.Lock, l); err != nil {
			return nil, err
		}
		o.log("wrote lockfile %s", o.Lock)
	}
	var ins []*genInput
	for _, r := range rs {
		in := &genInput{distro: r.Distro, keys: r.Keys, arch: r.Arch, plan: r.Plan, cache: r.Cache, res: r,
			levels: make([][]*packages.Package, len(r.Result.Levels)), indexes: r.Index.Sources(), app: r.App}
		for _, s := range r.Result.Packages {
			in.levels[s.Level] = append(in.levels[s.Level], s.Pkg)
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// onceLines writes each distinct line once (each Write is one line).
type onceLines struct {
	mu   sync.Mutex
	w    io.Writer
	seen map[string]bool
}

func (o *onceLines) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[string(p)] {
		return len(p), nil
	}
	o.seen[string(p)] = true
	return o.w.Write(p)
}

// platformError names the platform in an error of its resolution,
// keeping a usage error one.
func platformError(arch string, err error) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		return &UsageError{fmt.Errorf("%s: %w", PlatformName(arch), ue.Err)}
	}
	return fmt.Errorf("%s: %w", PlatformName(arch), err)
}

// sortArchs puts architectures in the order of Architectures.
func sortArchs(archs []string) {
	slices.SortStableFunc(archs, func(a, b string) int {
		return slices.Index(Architectures, a) - slices.Index(Architectures, b)
	})
}

// lockPlans rebuilds the plan of each platform from a lockfile: archs
// must be the platforms it pins.
func lockPlans(profile string, l *lockfile.Lock, archs []string, o GenOptions) ([]*genInput, error) {
	pinned := l.Archs()
	sortArchs(archs)
	sorted := slices.Clone(pinned)
	sortArchs(sorted)
	if !slices.Equal(archs, sorted) {
		return nil, fmt.Errorf("lockfile %s pins architecture %s, not %s (without --platform, gen builds what it pins)", o.Lock, strings.Join(pinned, ","), strings.Join(archs, ","))
	}
	var ins []*genInput
	for _, a := range archs {
		pl := l.Split()[slices.Index(pinned, a)]
		po := o
		po.Arch = a
		in, err := lockPlan(profile, pl, po)
		if err != nil {
			if len(archs) > 1 {
				return nil, fmt.Errorf("%s: %w", PlatformName(a), err)
			}
			return nil, err
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// lockPlan rebuilds a plan from a lockfile alone: no index is read, and
// every package comes from the pinned URL with the pinned sha256.
func lockPlan(profile string, l *lockfile.Lock, o GenOptions) (*genInput, error) {
	if profile != l.Profile && profile != l.Requested {
		return nil, fmt.Errorf("lockfile %s pins profile %s, not %s", o.Lock, l.Profile, profile)
	}
	var d *distro.Distro
	var err error
	if o.Distro != "" && distro.IsFile(o.Distro) {
		// A distro file's distro: the file must define the pinned one.
		if d, err = o.distro(o.Distro); err != nil {
			return nil, err
		}
		if d.Name != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s (from %s)", o.Lock, l.Distro, d.Name, o.Distro)
		}
	} else {
		if d, err = distro.Get(l.Distro); err != nil {
			return nil, fmt.Errorf("lockfile %s: %w (for a distro file's distro, give the file with --distro)", o.Lock, err)
		}
		if o.Distro != "" && o.Distro != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s", o.Lock, l.Distro, o.Distro)
		}
	}
	if err := l.CheckPackages(o.Lock, d.Format); err != nil {
		return nil, err
	}
	ix := &lockIndex{}
	for _, p := range l.Packages {
		ix.pkgs = append(ix.pkgs, &packages.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, SHA256: p.SHA256,
			Size: p.Size, URL: p.URL, Location: p.Path})
	}
	if len(o.Add) > 0 || len(o.Exclude) > 0 {
		return nil, fmt.Errorf("--add and --exclude change the closure, which lockfile %s pins; remove the lockfile to resolve again", o.Lock)
	}
	for _, lp := range l.Packages {
		if lp.Layer == appLibsLevel {
			o.appLibs = append(o.appLibs, lp.Name)
		}
	}
	plan, err := o.expand(l.Profile, ix, d)
	if err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", o.Lock, err)
	}
	c, err := o.cache()
	if err != nil {
		return nil, err
	}
	in := &genInput{distro: d, arch: l.Arch, plan: plan, cache: c, levels: make([][]*packages.Package, len(plan.Levels))}
	for _, ix := range l.Indexes {
		in.indexes = append(in.indexes, packages.IndexFile{URL: ix.URL, SHA256: ix.SHA256})
	}
	for i, lp := range l.Packages {
		at := slices.IndexFunc(plan.Levels, func(lv resolver.Level) bool { return lv.Name == lp.Layer })
		if at < 0 {
			return nil, fmt.Errorf("lockfile %s: package %s is in layer %q, which profile %s does not have", o.Lock, lp.Name, lp.Layer, plan.Name)
		}
		in.levels[at] = append(in.levels[at], ix.pkgs[i])
	}
	if err := in.lockedApp(o, l); err != nil {
		return nil, err
	}
	return in, nil
}

// lockIndex answers the profile loader from a lockfile's packages.
type lockIndex struct{ pkgs []*packages.Package }

func (ix *lockIndex) Satisfiers(a packages.Atom) []*packages.Package {
	var out []*packages.Package
	for _, p := range ix.pkgs {
		if p.Name == a.Name {
			out = append(out, p)
		}
	}
	return out
}

func (ix *lockIndex) Names() []string {
	var n []string
	for _, p := range ix.pkgs {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// spec turns the plan into what the assembler builds.
func (in *genInput) spec(o GenOptions, u imageUser, payload packages.Payload) (assemble.Spec, error) {
	created, err := assemble.CreatedFromEnv()
	if err != nil {
		return assemble.Spec{}, err
	}
	cfg := o.Settings.apply(in.plan.Config)
	user, workdir := u.withSettings(in.plan.Config, o.Settings)
	spec := assemble.Spec{
		Payload:          payload,
		Arch:             in.arch,
		Created:          created,
		User:             user,
		WorkDir:          workdir,
		Entrypoint:       cfg.Entrypoint,
		Cmd:              cfg.Cmd,
		OSRelease:        in.distro.OSRelease,
		ReleaseFiles:     in.distro.ReleaseFiles,
		AllowMissingLibs: o.AllowMissingLibs,
		LibraryPath:      in.distro.LibraryDirs(),
		Labels:           map[string]string{},
	}
	spec.Cache = in.cache
	// SOURCE_DATE_EPOCH clamps the packages' mtimes and dates what the
	// build generates.
	spec.ClampMTimes = strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH")) != ""
	if !o.KeepDocs {
		spec.PruneFiles = slices.Clone(assemble.DefaultPruneFiles)
	}
	spec.PruneFiles = append(spec.PruneFiles, in.plan.PruneFiles...)
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		spec.Env = append(spec.Env, k+"="+cfg.Env[k])
	}
	maps.Copy(spec.Labels, map[string]string{
		"org.opencontainers.image.title":     in.plan.Name,
		"org.opencontainers.image.created":   created.Format(time.RFC3339),
		"org.opencontainers.image.base.name": "scratch",
		"org.opencontainers.image.version":   Version,
		"org.opencontainers.image.revision":  revision(),
		"org.opencontainers.image.description": fmt.Sprintf("distroless %s image from %s (%s), made by distroless %s",
			in.plan.Name, in.distro.Name, in.arch, Version),
	})
	maps.Copy(spec.Labels, cfg.Labels)
	spec.Annotations = maps.Clone(spec.Labels)
	maps.Copy(spec.Annotations, o.Settings.Annotations)

	for li, lv := range in.plan.Levels {
		layer := assemble.Layer{Name: lv.Name, Generate: in.plan.Chain[li].Generate}
		layer.PythonBytecode = in.plan.Chain[li].PythonBytecode
		for _, p := range in.levels[li] {
			layer.Packages = append(layer.Packages, assemble.Unpack{Pkg: p, File: in.cache.BlobPath(p.SHA256)})
		}
		prof := in.plan.Chain[li]
		for _, f := range prof.Files {
			if f.Src != "" {
				hf, err := hostFilesOf(f, prof.Dir)
				if err != nil {
					return assemble.Spec{}, fmt.Errorf("profile %s: %w", prof.Name, err)
				}
				layer.Files = append(layer.Files, hf...)
				continue
			}
			af, err := fileOf(f)
			if err != nil {
				return assemble.Spec{}, fmt.Errorf("profile %s: %w", prof.Name, err)
			}
			layer.Files = append(layer.Files, af)
		}
		layer.Accounts = accountsOf(prof.Accounts)
		spec.Layers = append(spec.Layers, layer)
	}
	top := &spec.Layers[len(spec.Layers)-1]
	cas, err := caCertFiles(o.CACerts, in.distro)
	if err != nil {
		return assemble.Spec{}, err
	}
	top.Files = append(top.Files, cas...)
	for _, a := range o.AddFiles {
		src, dest, err := addFileOf(a)
		if err != nil {
			return assemble.Spec{}, err
		}
		hf, err := assemble.HostFiles(src, dest, assemble.HostOptions{})
		if err != nil {
			return assemble.Spec{}, fmt.Errorf("--add-file %s: %w", a, err)
		}
		top.Files = append(top.Files, hf...)
	}
	if u.account != nil {
		top.Accounts = append(top.Accounts, *u.account)
	}
	if in.app != nil {
		spec.Layers = append(spec.Layers, in.app.layer())
	}
	return spec, nil
}

func fileOf(f profiles.File) (assemble.File, error) {
	af := assemble.File{Path: f.Path, UID: f.UID, GID: f.GID}
	if f.Link != "" {
		af.Mode = fs.ModeSymlink | 0o777
		af.Link = f.Link
		return af, nil
	}
	mode := uint64(0o644)
	if f.Mode != "" {
		var err error
		if mode, err = strconv.ParseUint(f.Mode, 8, 32); err != nil {
			return af, fmt.Errorf("file %s: mode %q is not octal", f.Path, f.Mode)
		}
	}
	af.Mode = fs.FileMode(mode) & fs.ModePerm
	af.Data = []byte(f.Content)
	return af, nil
}

// imageUser is the image's user and working directory as --user says.
type imageUser struct {
	user, workdir string
	flag          bool // --user was given: it wins over the profile's
	// account, when set, is the user --user adds to the top layer.
	account *assemble.Account
}

// userOf maps --user to the config's user and working directory: nonroot
// and root (and their UIDs 65532 and 0, and nobody's 65534) are the
// image's own users; another numeric UID N is a user named userN, and
// NAME:UID[:GID] the user NAME, either added to /etc/passwd with a home
// /home/NAME that is the working directory.
func userOf(u string) (imageUser, error) {
	switch u {
	case "", "nonroot":
		return imageUser{user: "65532:65532", workdir: "/home/nonroot", flag: u != ""}, nil
	case "root":
		return imageUser{user: "0:0", workdir: "/", flag: true}, nil
	}
	bad := fmt.Errorf("--user %q: want nonroot, root, a numeric UID or NAME:UID[:GID]", u)
	id := func(s string) (int, bool) {
		n, err := strconv.ParseUint(s, 10, 31)
		return int(n), err == nil && strconv.FormatUint(n, 10) == s
	}
	name, uid, gid := "", 0, 0
	if f := strings.Split(u, ":"); len(f) == 1 {
		n, ok := id(u)
		if !ok {
			return imageUser{}, bad
		}
		switch n {
		case 0:
			return imageUser{user: "0:0", workdir: "/", flag: true}, nil
		case 65532:
			return imageUser{user: "65532:65532", workdir: "/home/nonroot", flag: true}, nil
		case 65534:
			return imageUser{user: "65534:65534", workdir: "/", flag: true}, nil
		}
		name, uid, gid = fmt.Sprintf("user%d", n), n, n
	} else {
		if len(f) > 3 || !validUserName(f[0]) {
			return imageUser{}, bad
		}
		var ok bool
		if uid, ok = id(f[1]); !ok {
			return imageUser{}, bad
		}
		gid = uid
		if len(f) == 3 {
			if gid, ok = id(f[2]); !ok {
				return imageUser{}, bad
			}
		}
		name = f[0]
		if b, err := userOf(name); name == "root" || name == "nonroot" {
			if b.user != fmt.Sprintf("%d:%d", uid, gid) {
				return imageUser{}, fmt.Errorf("--user %q: the image's %s is %s", u, name, b.user)
			}
			return b, err
		}
	}
	home := "/home/" + name
	return imageUser{user: fmt.Sprintf("%d:%d", uid, gid), workdir: home, flag: true,
		account: &assemble.Account{Name: name, UID: &uid, GID: gid, Home: home}}, nil
}

// validUserName is a user name --user takes: a lower-case letter or "_",
// then lower-case letters, digits, "_", "-" and ".", at most 32.
func validUserName(s string) bool {
	if s == "" || len(s) > 32 || s == "nonroot" || s == "root" {
		return s == "nonroot" || s == "root"
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// with returns the user and working directory of an image of a profile
// with config cfg: the profile's own, each when it sets it and --user was
// not given.
func (u imageUser) with(cfg profiles.Config) (user, workdir string) {
	user, workdir = u.user, u.workdir
	if cfg.User != "" && !u.flag {
		user = cfg.User
	}
	if cfg.Workdir != "" && !u.flag {
		workdir = cfg.Workdir
	}
	return user, workdir
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

// sizeFlag is the byte count of a size flag's value (0 for "").
func sizeFlag(flag, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := fetch.ParseSize(v)
	if err == nil && n <= 0 {
		err = fmt.Errorf("size %q: must be more than 0", v)
	}
	if err != nil {
		return 0, &UsageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return n, nil
}

// sbomFilesOf is the SBOM files of --sbom FILE: FILE itself for one
// platform, and for several one per platform, FILE's name with the
// architecture before its extension (sbom.json → sbom.arm64.json).
func sbomFilesOf(file string, archs []string) []string {
	if file == "" {
		return nil
	}
	if len(archs) <= 1 {
		return []string{file}
	}
	dir, base := filepath.Split(file)
	stem, ext, ok := strings.Cut(base, ".")
	var files []string
	for _, a := range archs {
		n := stem + "." + a
		if ok {
			n += "." + ext
		}
		files = append(files, filepath.Join(dir, n))
	}
	return files
}
