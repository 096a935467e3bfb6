// Package debtest serves throwaway Debian archives for tests: signed
// InRelease files, Packages indexes and pool/ files generated from a few
// package definitions, on an httptest server. The signing key is made in
// the test, so nothing is read from the network or the host.
//
//	a := debtest.NewArchive(t, debtest.Suite{Name: "bookworm", Packages: []debtest.Package{
//		{Name: "libc6", Version: "2.36-9", MultiArch: "same"},
//		{Name: "hello", Version: "2.10-3", Depends: "libc6 (>= 2.34)"},
//	}})
//	ix, err := deb.Open(ctx, cache, deb.Spec{
//		Suites:  []deb.Suite{{Mirror: a.URL, Name: "bookworm"}},
//		Keyring: a.Keyring, Arch: "amd64",
//	})
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Package is one binary package of a test archive. Only Name and Version
// are needed; the stanza gets Filename, Size and SHA256 from Deb.
type Package struct {
	Name    string
	Version string
	// Architecture defaults to the archive's architecture.
	Architecture string
	MultiArch    string
	Source       string // "name" or "name (version)"
	PreDepends   string
	Depends      string
	Recommends   string
	Provides     string
	// InstalledSize in KiB (the field's unit); 0 means 1.
	InstalledSize int64
	// Extra holds further stanza lines, "Field: value" each, without the
	// trailing blank line.
	Extra string
	// Deb is the file served at the stanza's Filename under pool/; nil
	// means a small placeholder (use Deb to make a real one).
	Deb []byte
	// Raw, when set, is the whole stanza, used as is (no pool file).
	Raw string
}

// Suite is one suite of a test archive.
type Suite struct {
	Name string
	// Packages are the packages of component main; Components adds
	// others (or replaces main).
	Packages   []Package
	Components map[string][]Package
	// Codename defaults to Name.
	Codename string
	// ValidUntil, when set, becomes the Valid-Until field.
	ValidUntil time.Time
	// Date defaults to one hour before the archive is made.
	Date time.Time
	// PlainOnly serves only the uncompressed Packages (no .gz).
	PlainOnly bool
	// Contents are the Contents-ARCH files of components (their text:
	// "PATH  SECTION/PACKAGE" lines), served gzipped and listed.
	Contents map[string]string
}

// Config configures an archive beyond its suites.
type Config struct {
	// Arch is the archive's architecture; default amd64.
	Arch   string
	Suites []Suite
	// Signers sign every InRelease; default one fresh key, which is also
	// the archive's Keyring. With Signers set, Keyring holds their public
	// keys.
	Signers []*openpgp.Entity
	// ByHash adds Acquire-By-Hash: yes and serves the by-hash paths.
	ByHash bool
	// SeparateAll lists Architecture: all packages in binary-all/Packages
	// only, as suites without "No-Support-for-Architecture-all: Packages"
	// may; by default they are in binary-<arch>/Packages and the header
	// says so, as in Debian.
	SeparateAll bool
}

// Archive is a served test archive.
type Archive struct {
	// URL is the mirror base URL (dists/ and pool/ are under it).
	URL string
	// Keyring holds the public keys the InRelease files are signed with.
	Keyring openpgp.EntityList
	// Signers are the private keys that signed them.
	Signers []*openpgp.Entity
	Arch    string
	Server  *httptest.Server

	t           testing.TB
	byHash      bool
	separateAll bool
	mu          sync.Mutex
	files       map[string][]byte
	log         []string
}

// NewKey makes a throwaway Ed25519 OpenPGP key that can sign.
func NewKey(t testing.TB, name string) *openpgp.Entity {
	t.Helper()
	// Made "a week ago", so that tests may set the time back a little.
	created := time.Now().Add(-7 * 24 * time.Hour)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, DefaultHash: crypto.SHA256,
		Time: func() time.Time { return created }}
	e, err := openpgp.NewEntity(name, "debtest", "debtest@example.invalid", cfg)
	if err != nil {
		t.Fatalf("debtest: new key: %v", err)
	}
	return e
}

// PublicKeyring returns the public parts of keys, as a keyring file read
// back would hold them.
func PublicKeyring(t testing.TB, keys ...*openpgp.Entity) openpgp.EntityList {
	t.Helper()
	var buf bytes.Buffer
	for _, k := range keys {
		if err := k.Serialize(&buf); err != nil {
			t.Fatalf("debtest: serialize key: %v", err)
		}
	}
	el, err := openpgp.ReadKeyRing(&buf)
	if err != nil {
		t.Fatalf("debtest: read keyring: %v", err)
	}
	return el
}

// NewArchive serves suites for amd64, signed by a fresh key.
func NewArchive(t testing.TB, suites ...Suite) *Archive {
	t.Helper()
	return New(t, Config{Suites: suites})
}

// New serves the archive cfg describes; it is shut down when the test
// ends.
func New(t testing.TB, cfg Config) *Archive {
	t.Helper()
	a := &Archive{t: t, Arch: cfg.Arch, Signers: cfg.Signers, byHash: cfg.ByHash, separateAll: cfg.SeparateAll, files: map[string][]byte{}}
	if a.Arch == "" {
		a.Arch = "amd64"
	}
	if len(a.Signers) == 0 {
		a.Signers = []*openpgp.Entity{NewKey(t, "debtest archive key")}
	}
	a.Keyring = PublicKeyring(t, a.Signers...)
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.Server.URL + "/debian"
	t.Cleanup(a.Server.Close)
	for _, s := range cfg.Suites {
		a.SetSuite(s)
	}
	return a
}

func (a *Archive) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/debian/")
	a.mu.Lock()
	a.log = append(a.log, p)
	data, ok := a.files[p]
	a.mu.Unlock()
	if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

// Close shuts the server down (it is also shut down when the test ends).
func (a *Archive) Close() { a.Server.Close() }

// Requests returns the paths (relative to URL) requested so far.
func (a *Archive) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.log...)
}

// File returns the served file at path (relative to URL), or nil.
func (a *Archive) File(path string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.files[path]
}

// SetFile serves data at path (relative to URL), e.g. to tamper with a
// file after the InRelease was signed; nil removes it.
func (a *Archive) SetFile(path string, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if data == nil {
		delete(a.files, path)
		return
	}
	a.files[path] = data
}

// Filename is where the pool file of p is served, relative to URL (the
// stanza's Filename).
func (a *Archive) Filename(component string, p Package) string {
	src := p.Source
	if src == "" {
		src = p.Name
	}
	if i := strings.IndexByte(src, ' '); i >= 0 {
		src = src[:i]
	}
	prefix := src[:1]
	if strings.HasPrefix(src, "lib") && len(src) > 3 {
		prefix = src[:4]
	}
	ver := p.Version
	if i := strings.IndexByte(ver, ':'); i >= 0 {
		ver = ver[i+1:]
	}
	arch := p.Architecture
	if arch == "" {
		arch = a.Arch
	}
	return fmt.Sprintf("pool/%s/%s/%s/%s_%s_%s.deb", component, prefix, src, p.Name, ver, arch)
}

// Stanza renders p as the archive would list it, serving its pool file.
func (a *Archive) Stanza(component string, p Package) string {
	if p.Raw != "" {
		return strings.TrimRight(p.Raw, "\n") + "\n"
	}
	arch := p.Architecture
	if arch == "" {
		arch = a.Arch
	}
	deb := p.Deb
	if deb == nil {
		deb = []byte(fmt.Sprintf("debtest placeholder for %s %s %s\n", p.Name, p.Version, arch))
	}
	fn := a.Filename(component, p)
	a.SetFile(fn, deb)
	var b strings.Builder
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Package", p.Name)
	field("Source", p.Source)
	field("Version", p.Version)
	field("Architecture", arch)
	field("Multi-Arch", p.MultiArch)
	field("Pre-Depends", p.PreDepends)
	field("Depends", p.Depends)
	field("Recommends", p.Recommends)
	field("Provides", p.Provides)
	is := p.InstalledSize
	if is == 0 {
		is = 1
	}
	field("Installed-Size", fmt.Sprint(is))
	if p.Extra != "" {
		b.WriteString(strings.TrimRight(p.Extra, "\n") + "\n")
	}
	field("Filename", fn)
	field("Size", fmt.Sprint(len(deb)))
	field("SHA256", Digest(deb))
	field("Description", "test package "+p.Name)
	return b.String()
}

// SetSuite (re)generates a suite's Packages files and signed InRelease.
func (a *Archive) SetSuite(s Suite) {
	a.t.Helper()
	comps := map[string][]Package{}
	if len(s.Packages) > 0 || len(s.Components) == 0 {
		comps["main"] = s.Packages
	}
	for c, ps := range s.Components {
		comps[c] = ps
	}
	var names []string
	for c := range comps {
		names = append(names, c)
	}
	sort.Strings(names)

	type entry struct {
		path string
		data []byte
	}
	var listed []entry
	for _, c := range names {
		var stanzas, allStanzas []string
		for _, p := range comps[c] {
			st := a.Stanza(c, p)
			if a.separateAll && p.Architecture == "all" {
				allStanzas = append(allStanzas, st)
			} else {
				stanzas = append(stanzas, st)
			}
		}
		add := func(arch string, stanzas []string) {
			packages := []byte(strings.Join(stanzas, "\n"))
			dir := c + "/binary-" + arch + "/"
			listed = append(listed, entry{dir + "Packages", packages})
			if !s.PlainOnly {
				listed = append(listed, entry{dir + "Packages.gz", Gzip(packages)})
			}
		}
		add(a.Arch, stanzas)
		if a.separateAll {
			add("all", allStanzas)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(s.Contents)) {
		listed = append(listed, entry{c + "/Contents-" + a.Arch + ".gz", Gzip([]byte(s.Contents[c]))})
	}

	date := s.Date
	if date.IsZero() {
		date = time.Now().Add(-time.Hour)
	}
	codename := s.Codename
	if codename == "" {
		codename = s.Name
	}
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Debtest\nLabel: Debtest\nSuite: %s\nCodename: %s\n", s.Name, codename)
	fmt.Fprintf(&rel, "Date: %s\n", date.UTC().Format(time.RFC1123))
	if !s.ValidUntil.IsZero() {
		fmt.Fprintf(&rel, "Valid-Until: %s\n", s.ValidUntil.UTC().Format(time.RFC1123))
	}
	if a.byHash {
		rel.WriteString("Acquire-By-Hash: yes\n")
	}
	if !a.separateAll {
		rel.WriteString("No-Support-for-Architecture-all: Packages\n")
	}
	fmt.Fprintf(&rel, "Architectures: all %s\nComponents: %s\nDescription: debtest archive\nSHA256:\n", a.Arch, strings.Join(names, " "))
	base := "dists/" + s.Name + "/"
	for _, e := range listed {
		fmt.Fprintf(&rel, " %s %8d %s\n", Digest(e.data), len(e.data), e.path)
		a.SetFile(base+e.path, e.data)
		if a.byHash {
			dir := e.path[:strings.LastIndexByte(e.path, '/')+1]
			a.SetFile(base+dir+"by-hash/SHA256/"+Digest(e.data), e.data)
		}
	}
	a.SetFile(base+"Release", []byte(rel.String()))
	a.SetFile(base+"InRelease", clearsignAt(a.t, date, []byte(rel.String()), a.Signers...))
}

// Clearsign clearsigns text with every key; the signatures are dated one
// hour ago, like the default Date of a suite.
func Clearsign(t testing.TB, text []byte, keys ...*openpgp.Entity) []byte {
	t.Helper()
	return clearsignAt(t, time.Now().Add(-time.Hour), text, keys...)
}

func clearsignAt(t testing.TB, at time.Time, text []byte, keys ...*openpgp.Entity) []byte {
	t.Helper()
	var out bytes.Buffer
	var priv []*packet.PrivateKey
	for _, k := range keys {
		priv = append(priv, k.PrivateKey)
	}
	w, err := clearsign.EncodeMulti(&out, priv, &packet.Config{DefaultHash: crypto.SHA256, Time: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("debtest: clearsign: %v", err)
	}
	if _, err := w.Write(text); err != nil {
		t.Fatalf("debtest: clearsign: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("debtest: clearsign: %v", err)
	}
	return out.Bytes()
}

// Digest is the hex SHA-256 of data.
func Digest(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Gzip compresses data.
func Gzip(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// DebFile is one entry of a .deb's data archive.
type DebFile struct {
	Name string // e.g. "./usr/bin/hello" or "usr/bin/hello"
	Body []byte
	Mode int64 // default 0644 (0755 for directories)
	// Type is a tar type flag (default regular file); Link is the target
	// of a symlink or hard link.
	Type byte
	Link string
}

// Deb builds a .deb: an ar archive with debian-binary, control.tar.gz
// (control plus any extra control files, e.g. "md5sums") and data.tar.gz.
func Deb(control string, controlFiles map[string][]byte, files []DebFile) []byte {
	ctl := map[string][]byte{"control": []byte(strings.TrimRight(control, "\n") + "\n")}
	for k, v := range controlFiles {
		ctl[k] = v
	}
	var cnames []string
	for k := range ctl {
		cnames = append(cnames, k)
	}
	sort.Strings(cnames)
	var cfiles []DebFile
	cfiles = append(cfiles, DebFile{Name: "./", Type: tar.TypeDir})
	for _, k := range cnames {
		cfiles = append(cfiles, DebFile{Name: "./" + k, Body: ctl[k]})
	}
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	arMember(&out, "debian-binary", []byte("2.0\n"))
	arMember(&out, "control.tar.gz", Gzip(tarball(cfiles)))
	arMember(&out, "data.tar.gz", Gzip(tarball(files)))
	return out.Bytes()
}

// DebData builds a .deb like Deb whose data member is given as it is
// (named e.g. "data.tar.zst"), for payloads too large to hold
// uncompressed.
func DebData(control, member string, data []byte) []byte {
	cfiles := []DebFile{{Name: "./", Type: tar.TypeDir}, {Name: "./control", Body: []byte(strings.TrimRight(control, "\n") + "\n")}}
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	arMember(&out, "debian-binary", []byte("2.0\n"))
	arMember(&out, "control.tar.gz", Gzip(tarball(cfiles)))
	arMember(&out, member, data)
	return out.Bytes()
}

func tarball(files []DebFile) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: f.Mode, Typeflag: f.Type, Linkname: f.Link,
			Uname: "root", Gname: "root", ModTime: time.Unix(1700000000, 0), Format: tar.FormatGNU}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write(f.Body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

func arMember(w *bytes.Buffer, name string, data []byte) {
	fmt.Fprintf(w, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 1700000000, 0, 0, "100644", len(data))
	w.Write(data)
	if len(data)%2 == 1 {
		w.WriteByte('\n')
	}
}
