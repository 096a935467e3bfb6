package packages

import (
	"archive/tar"
	"context"
	"io"
	"strings"
	"time"
)

// Package is one binary package as a repository index describes it.
type Package struct {
	Name    string
	Version string // the format's own version string (dpkg or EVR)
	Arch    string // e.g. amd64, arm64, all, noarch, x86_64

	// Depends are the run-time requirements the resolver follows, in index
	// order (Debian: Pre-Depends then Depends; RPM: Requires minus
	// scriptlet-only ones).
	Depends []Dep
	// Provides lists what the package provides, as the index wrote it.
	Provides []string
	// Conflicts are relations no other package of the same closure may
	// satisfy, by name or by Provides (Debian: Conflicts; RPM: Conflicts).
	Conflicts []Atom
	// Breaks are Debian's Breaks. An image is never upgraded in place, so
	// the resolver treats them as Conflicts.
	Breaks []Atom
	// Obsoletes (RPM) are relations on package names only, never on
	// Provides: a package they match cannot share a closure with this one.
	Obsoletes []Atom
	// ConflictsRich and ObsoletesRich are Conflicts and Obsoletes given as
	// a boolean expression (RPM rich relations other than a plain "or",
	// which become atoms above): the package cannot share a closure whose
	// other packages make the expression true (ObsoletesRich's atoms match
	// package names only). A relation's default is false, so If holds
	// only when its condition does and Unless only when its condition
	// does not, unless they have an else branch (If: A and B; A if B else
	// C: B ? A : C; A unless B: A and not B; A unless B else C: B ? C : A).
	ConflictsRich []Dep `json:",omitempty"`
	ObsoletesRich []Dep `json:",omitempty"`

	// Priority ranks the package among others that could stand for it,
	// for choices the resolver's other rules leave tied: 1 is the most
	// wanted, higher numbers less; 0 when the index gives none (ranked
	// after every ranked one). Formats map their own field to it.
	Priority int

	Size          int64  // download size in bytes
	InstalledSize int64  // unpacked size in bytes
	SHA256        string // hex digest of the download
	URL           string // absolute download URL
	Location      string // download path relative to the repository base
	Source        string // source package name, when known
	Origin        string // the index (suite or repository) it was read from
}

// ID is the key under which a resolution holds at most one package.
func (p *Package) ID() string { return p.Name + ":" + p.Arch }

// DepKind says how a Dep combines its operands.
type DepKind uint8

const (
	DepAtom    DepKind = iota // a single name with an optional version relation
	DepOr                     // any of Args (Debian "a | b", RPM "(a or b)")
	DepAnd                    // all of Args
	DepIf                     // Args[0] if Args[1] holds, else Args[2] when present
	DepUnless                 // Args[0] unless Args[1] holds, else Args[2] when present
	DepWith                   // one package satisfying both Args[0] and Args[1]
	DepWithout                // one package satisfying Args[0] but not Args[1]
)

// Dep is one requirement: an atom, or a boolean combination of them.
type Dep struct {
	Kind DepKind
	Atom Atom
	Args []Dep
}

// Atom names a package or capability, with an optional version relation.
// Op is one of "", "<", "<=", "=", ">=", ">" (formats normalise their
// spelling, e.g. Debian's "<<" becomes "<"). Arch is a format-specific
// qualifier ("any", "native", or an architecture) or empty.
type Atom struct {
	Name    string
	Op      string
	Version string
	Arch    string
}

func (a Atom) String() string {
	s := a.Name
	if a.Arch != "" {
		s += ":" + a.Arch
	}
	if a.Op != "" {
		s += " (" + a.Op + " " + a.Version + ")"
	}
	return s
}

func (d Dep) String() string {
	// An "or" inside another operator keeps its parentheses:
	// "((a | b) and c)", not "(a | b and c)".
	arg := func(a Dep) string {
		if a.Kind == DepOr && d.Kind != DepOr {
			return "(" + a.String() + ")"
		}
		return a.String()
	}
	join := func(sep string) string {
		parts := make([]string, len(d.Args))
		for i, a := range d.Args {
			parts[i] = arg(a)
		}
		return strings.Join(parts, sep)
	}
	switch d.Kind {
	case DepAtom:
		return d.Atom.String()
	case DepOr:
		return join(" | ")
	case DepAnd:
		return "(" + join(" and ") + ")"
	case DepWith:
		return "(" + join(" with ") + ")"
	case DepWithout:
		return "(" + join(" without ") + ")"
	case DepIf, DepUnless:
		word := " if "
		if d.Kind == DepUnless {
			word = " unless "
		}
		s := "(" + arg(d.Args[0]) + word + arg(d.Args[1])
		if len(d.Args) > 2 {
			s += " else " + arg(d.Args[2])
		}
		return s + ")"
	}
	return "?"
}

// Index is one distro's package universe for one target architecture, as
// the resolver sees it. Implementations are read-only and safe for
// concurrent use.
type Index interface {
	// Satisfiers returns the packages that satisfy a, by name or by
	// Provides, honouring the version relation and architecture rules of
	// the format. The preferred candidate comes first; the order is
	// deterministic.
	Satisfiers(a Atom) []*Package
	// Names returns every real package name in the index, sorted.
	Names() []string
}

// Lookup returns the real package of that name in ix (the preferred one,
// for the format's rules), or nil when no package has that name; one that
// only provides the name does not count. An index that implements Looker
// answers itself, without gathering providers.
func Lookup(ix Index, name string) *Package {
	if l, ok := ix.(Looker); ok {
		return l.Lookup(name)
	}
	return LookupSatisfiers(ix, name)
}

// Looker is implemented by an index that finds the real package of a
// name directly (deb and rpm do). Its Lookup must return what
// LookupSatisfiers does.
type Looker interface {
	Lookup(name string) *Package
}

// LookupSatisfiers is Lookup from Satisfiers alone: the first satisfier
// of the bare name that has that name. Formats test their Lookup
// against it.
func LookupSatisfiers(ix Index, name string) *Package {
	for _, p := range ix.Satisfiers(Atom{Name: name}) {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// IndexFile is one file an index was built from (a signed release file,
// a package list), by URL and digest, for lockfiles.
type IndexFile struct {
	URL    string
	SHA256 string
}

// Payload reads the file tree a downloaded package file installs. Each
// format converts its own archive entries to tar headers; names are
// relative to the root ("./usr/bin/x" or "usr/bin/x"). The reader is valid
// until the next call of fn.
type Payload interface {
	Walk(file string, fn func(h *tar.Header, r io.Reader) error) error
}

// Preparer is a Payload that can decode a package file ahead of its Walk
// (into a cache), so that decoding overlaps with other downloads.
type Preparer interface {
	Prepare(file string) error
}

// PackageDB is implemented by a Payload whose format keeps a database of
// the installed packages in the image (Debian's status.d, RPM's rpmdb).
// The assembler calls it once for each layer that adds packages, with
// every package placed so far (lower layers first, by name within a
// layer), and puts the files it returns into that layer, leaving out
// those a lower layer already has with the same content.
// created is the image's creation time (the install time to record).
type PackageDB interface {
	PackageDB(installed []Installed, created time.Time) ([]DBFile, error)
}

// Installed is a package placed in an image and the local file holding
// its download.
type Installed struct {
	Pkg  *Package
	File string
}

// DBFile is a file of a package database, by absolute path.
type DBFile struct {
	Path string
	Data []byte
}

// Description is what a package file says of itself beyond its identity,
// for a bill of materials. It is read from the file (never an index), so
// that a build from a lockfile describes its packages the same way.
type Description struct {
	Supplier string // deb: Maintainer; rpm: Vendor, else Packager
	Homepage string
	// License is the package's license, as the format says it (rpm's
	// License header; a deb's /usr/share/doc/NAME/copyright, the place
	// Debian policy puts a package's licenses); empty when it says none.
	License License
	// DocLink, for a deb whose /usr/share/doc/NAME is a symlink to another
	// package's documentation directory (as Debian allows for packages
	// built from one source), is that package's name: its License is that
	// package's.
	DocLink string
	// Depends and Provides are the package's requirements and what it
	// provides (names only), as its own control record or header has them.
	Depends  []Dep
	Provides []string
}

// Describer is a Payload that can read a package file's Description.
type Describer interface {
	Describe(file string) (Description, error)
}

// FileFinder is an index that can say which packages ship a file (from
// the distro's signed file index: Debian's Contents-ARCH).
type FileFinder interface {
	// FindFiles returns, for each base name asked for, every path with
	// that base name and the names of the packages shipping it.
	FindFiles(ctx context.Context, names []string) (map[string][]FileOwners, error)
}

// FileOwners is one path (absolute, as in the image) and the packages
// that ship it.
type FileOwners struct {
	Path     string
	Packages []string
}
