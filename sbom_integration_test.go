package distroless

// The SBOM gen attaches and writes, read by independent readers: syft
// (which converts it) and grype (which lists its packages), against the
// image's own status.d.

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	packageurl "github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/pipeline"
)

// layoutReferrer returns the digest of the one manifest of an OCI layout
// whose artifactType is artifactType and whose subject is the manifest
// subject, and its one layer's bytes.
func layoutReferrer(t *testing.T, dir, subject, artifactType string) (string, []byte) {
	t.Helper()
	var found []string
	var doc []byte
	for _, d := range clitest.ReadIndex(t, dir).Manifests {
		if d.ArtifactType != artifactType {
			continue
		}
		var m clitest.Manifest
		if err := json.Unmarshal(clitest.ReadBlob(t, dir, d), &m); err != nil {
			t.Fatalf("manifest %s: %v", d.Digest, err)
		}
		if m.Subject == nil || m.Subject.Digest != subject {
			continue
		}
		if m.ArtifactType != artifactType || len(m.Layers) != 1 || m.Layers[0].MediaType != artifactType ||
			m.Config.MediaType != "application/vnd.oci.empty.v1+json" {
			t.Fatalf("referrer %s: artifactType %q, config %s, layers %+v", d.Digest, m.ArtifactType, m.Config.MediaType, m.Layers)
		}
		found, doc = append(found, d.Digest), clitest.ReadBlob(t, dir, m.Layers[0])
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d %s referrers of %s, want 1", dir, len(found), artifactType, subject)
	}
	return found[0], doc
}

// spdxPackages lists the installed packages of an SPDX document (those
// with a purl of the distro's format), by name.
func spdxPackages(t *testing.T, data []byte) []string {
	t.Helper()
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		t.Fatalf("SPDX document: %v", err)
	}
	var names []string
	for _, p := range doc.Packages {
		for _, r := range p.PackageExternalReferences {
			if r.RefType == "purl" && (strings.HasPrefix(r.Locator, "pkg:deb/") || strings.HasPrefix(r.Locator, "pkg:rpm/")) {
				names = append(names, p.PackageName)
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestSBOMReadByScanners: the SPDX SBOM attached to each image lists
// exactly the packages of its status.d, and so do syft (converting it)
// and grype (reading it with sbom:, no vulnerability database).
func TestSBOMReadByScanners(t *testing.T) {
	integration(t)
	tools := scanners(t)
	for _, s := range []*sharedImage{rtCCTrixie, py3Image} {
		t.Run(s.name, func(t *testing.T) {
			img := s.get(t)
			want := statusPackages(t, flatten(t, img.dir, img.tag))
			ref, doc := layoutReferrer(t, img.dir, img.res.Digest, "application/spdx+json")
			if img.res.SBOM != ref {
				t.Errorf("gen --json says SBOM %q, the layout's referrer is %s", img.res.SBOM, ref)
			}
			if d := setDiff(want, spdxPackages(t, doc)); d != "" {
				t.Errorf("the SBOM's packages differ from status.d:\n%s", d)
			}
			file := filepath.Join(t.TempDir(), "sbom.spdx.json")
			if err := os.WriteFile(file, doc, 0o644); err != nil {
				t.Fatal(err)
			}

			// syft converts it to its own model.
			out, err := exec.Command(filepath.Join(tools, "syft"), "convert", "-q", file, "-o", "syft-json").Output()
			if err != nil {
				t.Fatalf("syft convert: %v\n%s", err, stderrOf(err))
			}
			var sd struct {
				Artifacts []struct {
					Name, Version, Type, Purl string
					Licenses                  []struct{ Value string }
				}
				Distro struct{ ID, VersionID string }
			}
			if err := json.Unmarshal(out, &sd); err != nil {
				t.Fatalf("syft output: %v", err)
			}
			var syftPkgs []string
			licensed := 0
			for _, a := range sd.Artifacts {
				if a.Type == "deb" {
					syftPkgs = append(syftPkgs, a.Name)
					pu, err := packageurl.FromString(a.Purl)
					if err != nil || pu.Type != "deb" || pu.Namespace != "debian" || pu.Name != a.Name || pu.Version != a.Version ||
						pu.Qualifiers.Map()["distro"] != "debian-13" {
						t.Errorf("syft: %s %s has purl %q (%v)", a.Name, a.Version, a.Purl, err)
					}
					if len(a.Licenses) > 0 {
						licensed++
					}
				}
			}
			if d := setDiff(want, syftPkgs); d != "" {
				t.Errorf("syft's packages differ from status.d:\n%s", d)
			}
			if licensed != len(syftPkgs) {
				t.Errorf("syft: %d of %d packages have a license", licensed, len(syftPkgs))
			}
			if sd.Distro.ID != "debian" || sd.Distro.VersionID != "13" {
				t.Errorf("syft: distro %+v, want debian 13", sd.Distro)
			}

			// grype lists the SBOM's packages.
			grypePkgs := grypeList(t, tools, file)
			if d := setDiff(want, grypePkgs); d != "" {
				t.Errorf("grype's packages differ from status.d:\n%s", d)
			}
			t.Logf("%d packages in status.d, the SBOM, syft and grype", len(want))
		})
	}
}

// TestSBOMFileReproducible: --sbom writes the document that is attached
// (CycloneDX here, which syft and grype read too); a rebuild from the lockfile, with the same
// SOURCE_DATE_EPOCH, writes the same bytes; a docker-archive gets the
// file and nothing else.
func TestSBOMFileReproducible(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, "static.lock")
	gen := func(out, file string, extra ...string) pipeline.GenResult {
		t.Helper()
		r := clitest.Must(t, testBin, clitest.Cmd{Env: []string{"SOURCE_DATE_EPOCH=1700000000"}}, append([]string{"gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--lock", lock,
			"-o", out, "--sbom", file, "--sbom-format", "cyclonedx", "--json"}, extra...)...)
		stdout := r.Stdout
		var res pipeline.GenResult
		if err := clitest.DecodeOne(stdout, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := filepath.Join(dir, "first.cdx.json")
	res1 := gen("oci:"+filepath.Join(dir, "one"), first, "--attach") // resolves and writes the lockfile
	ref, attached := layoutReferrer(t, filepath.Join(dir, "one"), res1.Digest, "application/vnd.cyclonedx+json")
	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, attached) || res1.SBOM != ref {
		t.Errorf("--sbom's file and the attached referrer (%s, gen says %s) differ", ref, res1.SBOM)
	}
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Timestamp string
			Component struct{ Version string }
		}
		Components []struct{ Name, Version, Purl string }
	}
	if err := json.Unmarshal(a, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" || bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" || bom.Metadata.Component.Version != res1.Digest {
		t.Errorf("BOM: spec %s, timestamp %s, image %s", bom.SpecVersion, bom.Metadata.Timestamp, bom.Metadata.Component.Version)
	}
	var names []string
	for _, c := range bom.Components {
		if strings.HasPrefix(c.Purl, "pkg:deb/") {
			names = append(names, c.Name+"="+c.Version)
		}
	}
	if d := setDiff(res1.Packages, names); d != "" {
		t.Errorf("the BOM's packages differ from gen's:\n%s", d)
	}
	// syft and grype read the CycloneDX BOM too.
	var pkgNames []string
	for _, p := range res1.Packages {
		pkgNames = append(pkgNames, strings.SplitN(p, "=", 2)[0])
	}
	tools := scanners(t)
	out, err := exec.Command(filepath.Join(tools, "syft"), "convert", "-q", first, "-o", "syft-json").Output()
	if err != nil {
		t.Fatalf("syft convert: %v\n%s", err, stderrOf(err))
	}
	var sd struct{ Artifacts []struct{ Name, Type string } }
	if err := json.Unmarshal(out, &sd); err != nil {
		t.Fatal(err)
	}
	var syftPkgs []string
	for _, a := range sd.Artifacts {
		if a.Type == "deb" {
			syftPkgs = append(syftPkgs, a.Name)
		}
	}
	if d := setDiff(pkgNames, syftPkgs); d != "" {
		t.Errorf("syft's packages of the CycloneDX BOM differ from gen's:\n%s", d)
	}
	if d := setDiff(pkgNames, grypeList(t, tools, first)); d != "" {
		t.Errorf("grype's packages of the CycloneDX BOM differ from gen's:\n%s", d)
	}

	// From the lockfile, to a docker-archive: the same document.
	second := filepath.Join(dir, "sub", "second.cdx.json")
	res2 := gen("docker-archive:"+filepath.Join(dir, "static.tar"), second)
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Digest != res1.Digest || !bytes.Equal(a, b) {
		t.Errorf("a rebuild from the lockfile gives image %s (was %s) and another SBOM: %v", res2.Digest, res1.Digest, !bytes.Equal(a, b))
	}
	if res2.SBOM != "" {
		t.Errorf("a docker-archive holds no referrer, yet gen says SBOM %s", res2.SBOM)
	}
	// A layout without --attach: the file alone, the layout the image alone.
	third := filepath.Join(dir, "third.cdx.json")
	res3 := gen("oci:"+filepath.Join(dir, "plain"), third)
	c, err := os.ReadFile(third)
	if err != nil {
		t.Fatal(err)
	}
	if res3.Digest != res1.Digest || !bytes.Equal(a, c) || res3.SBOM != "" || res3.Provenance != "" {
		t.Errorf("without --attach: image %s (was %s), same SBOM %v, attached SBOM %q, provenance %q", res3.Digest, res1.Digest, bytes.Equal(a, c), res3.SBOM, res3.Provenance)
	}
	if n := len(clitest.ReadIndex(t, filepath.Join(dir, "plain")).Manifests); n != 1 {
		t.Errorf("a layout without --attach holds %d manifests, want the image alone", n)
	}
}

// TestSBOMRefused: a bad --sbom-format or an --sbom that is a directory
// is refused before anything is fetched, and nothing is written.
// Hermetic (offline, a cold cache), so it runs under -short too.
func TestSBOMRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sbom-format", "spdx-tag-value"}, `SBOM format "spdx-tag-value": want spdx`},
		{[]string{"--sbom", dir}, "is a directory"},
	} {
		out := filepath.Join(dir, "img")
		args := append([]string{"gen", "static", "--offline", "--cache-dir", filepath.Join(dir, "cache"), "-o", "oci:" + out}, tc.args...)
		_, stderr, code, err := runBin("", args...)
		if err != nil {
			t.Fatal(err)
		}
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: the output was written", tc.args)
		}
	}
}

// grypeList lists the packages grype reads from an SBOM file (sbom:FILE).
// grype loads a vulnerability database before it reads its input and
// stops without one, so it gets an empty database of its own schema
// (grype-emptydb: grype's database writer) imported with `grype db
// import`, and no network; its CycloneDX output lists every package it
// read, with no vulnerability to match.
func grypeList(t *testing.T, tools, file string) []string {
	t.Helper()
	dbRoot, dbDir := t.TempDir(), t.TempDir()
	if out, err := exec.Command(filepath.Join(tools, "grype-emptydb"), dbDir).CombinedOutput(); err != nil {
		t.Fatalf("grype-emptydb: %v\n%s", err, out)
	}
	env := append(os.Environ(), "GRYPE_DB_CACHE_DIR="+dbRoot, "GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false", "GRYPE_DB_REQUIRE_UPDATE_CHECK=false")
	imp := exec.Command(filepath.Join(tools, "grype"), "db", "import", filepath.Join(dbDir, "vulnerability.db"))
	imp.Env = env
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("grype db import: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(tools, "grype"), "-q", "sbom:"+file, "-o", "cyclonedx-json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("grype sbom:%s: %v\n%s", file, err, stderrOf(err))
	}
	var bom struct {
		Components []struct{ Name, Purl string }
	}
	if err := json.Unmarshal(out, &bom); err != nil {
		t.Fatalf("grype output: %v\n%s", err, clitest.Tail(string(out), 20))
	}
	var names []string
	for _, c := range bom.Components {
		if strings.HasPrefix(c.Purl, "pkg:deb/") || strings.HasPrefix(c.Purl, "pkg:rpm/") {
			names = append(names, c.Name)
		}
	}
	return names
}

// TestSBOMHostilePackages builds an image of packages with odd and hostile
// metadata (control characters and markup in Maintainer, a script URL as
// Homepage, a Latin-1 copyright with broken license lines, a huge
// free-form copyright, a doc directory linked to another package's, a
// requirement met only through Provides): the SBOM is valid, says what it
// should, and syft and grype read it.
func TestSBOMHostilePackages(t *testing.T) {
	integration(t)
	tools := scanners(t)
	dep5 := []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: caf\xe9 \"<script>\"\n" +
		"License: GPL-2+ or , and\n\nFiles: x\nLicense: Expat and weird\u2603name\n\nLicense: weird\u2603name\n Some text.\n .\n More.\n")
	huge := bytes.Repeat([]byte("All rights reversed. "), 20000) // 420 kB, free-form
	deb := func(control string, files ...debtest.DebFile) []byte {
		return debtest.Deb(control, nil, append([]debtest.DebFile{{Name: "./usr/", Type: '5'}, {Name: "./usr/share/", Type: '5'},
			{Name: "./usr/share/doc/", Type: '5'}}, files...))
	}
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{
		{Name: "odd", Version: "1:2.0~rc1+x-1", Depends: "shared, virt",
			Deb: deb("Package: odd\nVersion: 1:2.0~rc1+x-1\nArchitecture: amd64\nMaintainer: \"Evil\" <b>Team</b> \x1b[31m <evil@example.org>\n"+
				"Homepage: javascript:alert(1)\nDepends: shared, virt\n",
				debtest.DebFile{Name: "./usr/share/doc/odd/", Type: '5'}, debtest.DebFile{Name: "./usr/share/doc/odd/copyright", Body: dep5})},
		{Name: "shared", Version: "1.0",
			Deb: deb("Package: shared\nVersion: 1.0\nArchitecture: amd64\nMaintainer: A <a@example.org>\n",
				debtest.DebFile{Name: "./usr/share/doc/shared", Type: '2', Link: "odd"})},
		{Name: "prov", Version: "1.0", Provides: "virt",
			Deb: deb("Package: prov\nVersion: 1.0\nArchitecture: amd64\nProvides: virt\n",
				debtest.DebFile{Name: "./usr/share/doc/prov/", Type: '5'}, debtest.DebFile{Name: "./usr/share/doc/prov/copyright", Body: huge})},
	}})
	distroFile := debDistroFile(t, a, "s")
	prof := writeProfile(t, "name: app\npackages: [odd]\n")
	out := filepath.Join(t.TempDir(), "img")
	file := filepath.Join(t.TempDir(), "sbom.json")
	d := genDigest(t, "-f", prof, "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "-o", "oci:"+out+":v1", "--sbom", file, "--attach")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, attached := layoutReferrer(t, out, d, "application/spdx+json"); !bytes.Equal(attached, data) {
		t.Error("the attached SBOM is not --sbom's file")
	}
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		t.Fatalf("SPDX document: %v", err)
	}
	pk := map[string]*spdx.Package{}
	ids := map[string]string{}
	for _, p := range doc.Packages {
		pk[p.PackageName] = p
		ids[string(p.PackageSPDXIdentifier)] = p.PackageName
	}
	odd, shared, prov := pk["odd"], pk["shared"], pk["prov"]
	if odd == nil || shared == nil || prov == nil {
		t.Fatalf("packages %v", ids)
	}
	if odd.PackageHomePage != "" {
		t.Errorf("homepage %q: not a URL, should be left out", odd.PackageHomePage)
	}
	if odd.PackageSupplier == nil || !strings.Contains(odd.PackageSupplier.Supplier, "evil@example.org") || strings.ContainsAny(odd.PackageSupplier.Supplier, "\n") {
		t.Errorf("supplier %+v", odd.PackageSupplier)
	}
	if shared.PackageLicenseDeclared != odd.PackageLicenseDeclared || odd.PackageLicenseDeclared == "NOASSERTION" {
		t.Errorf("shared's doc directory links to odd's: licenses %q and %q", shared.PackageLicenseDeclared, odd.PackageLicenseDeclared)
	}
	texts := map[string]string{}
	for _, o := range doc.OtherLicenses {
		texts[o.LicenseIdentifier] = o.ExtractedText
	}
	if txt := texts[prov.PackageLicenseDeclared]; len(txt) < 200000 || len(txt) > 300000 {
		t.Errorf("prov's free-form copyright: license %q with a text of %d bytes, want it clipped to 256 KiB", prov.PackageLicenseDeclared, len(txt))
	}
	var deps []string
	for _, r := range doc.Relationships {
		if r.Relationship == "DEPENDS_ON" {
			deps = append(deps, ids[string(r.RefA.ElementRefID)]+">"+ids[string(r.RefB.ElementRefID)])
		}
	}
	sort.Strings(deps)
	if strings.Join(deps, " ") != "odd>prov odd>shared" {
		t.Errorf("DEPENDS_ON %v, want odd>prov (through Provides: virt) and odd>shared", deps)
	}
	out2, err := exec.Command(filepath.Join(tools, "syft"), "convert", "-q", file, "-o", "syft-json").Output()
	if err != nil || !bytes.Contains(out2, []byte(`"name":"odd"`)) {
		t.Errorf("syft convert: %v\n%s", err, stderrOf(err))
	}
	got := grypeList(t, tools, file)
	sort.Strings(got)
	if strings.Join(got, " ") != "odd prov shared" {
		t.Errorf("grype lists %v", got)
	}
}

// TestSBOMPushed: a push sends the SBOM as a referrer of the image, which
// the registry's referrers API lists (go-containerregistry's in-process
// registry with the API; registries without it need the referrers tag
// schema, not tested here) and whose layer is --sbom's file.
func TestSBOMPushed(t *testing.T) {
	integration(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	file := filepath.Join(t.TempDir(), "static.spdx.json")
	d := genDigest(t, "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", host+"/static:v1", "--sbom", file)
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(host + "/static@" + d)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// (This registry lists a referrer by its config's media type, the
	// empty descriptor's, where the OCI 1.1 referrers API gives the
	// manifest's artifactType: the manifest itself is checked.)
	// Two referrers: the SBOM and the provenance.
	if len(im.Manifests) != 2 {
		t.Fatalf("referrers of %s: %+v", d, im.Manifests)
	}
	var m *v1.Manifest
	var img v1.Image
	for _, r := range im.Manifests {
		i, err := remote.Image(ref.Context().Digest(r.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		if mm, err := i.Manifest(); err != nil {
			t.Fatal(err)
		} else if mm.ArtifactType == "application/spdx+json" {
			m, img = mm, i
		}
	}
	if m == nil {
		t.Fatalf("no SBOM among the referrers of %s: %+v", d, im.Manifests)
	}
	if m.ArtifactType != "application/spdx+json" || m.Subject == nil || m.Subject.Digest.String() != d {
		t.Errorf("referrer: artifactType %q, subject %+v", m.ArtifactType, m.Subject)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("referrer layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("the pushed SBOM (%d bytes, %v) is not --sbom's file (%d bytes)", len(got), err, len(want))
	}
}
