package assemble

import (
	"io/fs"
	"time"

	"github.com/distroless-dev/distroless/packages"
)

// File is a file the build generates rather than unpacks.
type File struct {
	Path string // absolute path in the image, e.g. /etc/passwd
	// Mode holds the permission bits and the type: 0 for a regular file,
	// fs.ModeDir or fs.ModeSymlink. fs.ModeSticky is kept on directories
	// only; setuid and setgid are cleared.
	Mode     fs.FileMode
	UID, GID int
	Data     []byte // a regular file's content
	Link     string // a symlink's target
	// Source, for a regular file, is a file on the build host the build
	// reads its content from (within the size limits; Data is unused),
	// Size its size when listed; MTime, when not 0, the entry's
	// modification time (clamped as packaged files' are), else it is
	// dated as generated files are. HostFiles fills them.
	Source string `json:",omitempty"`
	Size   int64  `json:",omitempty"`
	MTime  int64  `json:",omitempty"`
	// From, for a regular file given as Data, names the file on the build
	// host Data was read from (gen's --ca-cert): the Report lists it among
	// HostFiles as it lists Source files. It changes nothing in the image.
	From string `json:",omitempty"`

	src *content // Source's content, once read
}

// Unpack is one package to unpack: its index entry and the local file
// holding its download.
type Unpack struct {
	Pkg  *packages.Package
	File string
}

// Layer is one image layer: the packages of one profile level and the
// files generated for it. Generated files are placed after the packages
// and take precedence over them.
type Layer struct {
	Name     string
	Packages []Unpack
	Files    []File
	// Accounts are users and groups added to /etc/passwd and /etc/group
	// after the layer's files (see Account).
	Accounts []Account
	// Generate names registered generators (registerGenerator) run after
	// the layer's packages and files are placed; their files go into this
	// layer.
	Generate []string
	// PythonBytecode compiles the .py files this layer placed under
	// /usr/lib*/python3* into __pycache__ (see bytecode.go), after
	// Generate.
	PythonBytecode bool
}

// Spec says what image Build makes.
type Spec struct {
	Layers  []Layer          // bottom first, one per profile level
	Payload packages.Payload // reads package files (deb.Payload{})
	Arch    string           // OCI architecture: amd64, arm64, …
	Created time.Time        // config.created; zero means defaultCreated
	// ClampMTimes lowers every file's modification time later than
	// Created to Created (SOURCE_DATE_EPOCH's rule), and dates what the
	// build generates Created rather than minMTime. Either way no mtime is
	// earlier than minMTime.
	ClampMTimes bool
	Env         []string          // KEY=VALUE, added to (or replacing) defaultEnv
	User        string            // config.User
	WorkDir     string            // config.WorkingDir
	Labels      map[string]string // config labels
	// Annotations go on the image manifest.
	Annotations     map[string]string
	Entrypoint, Cmd []string
	// OSRelease is written as /etc/os-release and /usr/lib/os-release in a
	// top layer of its own (ID, VERSION_ID, VERSION_CODENAME, PRETTY_NAME,
	// …); empty writes none.
	OSRelease map[string]string
	// ReleaseFiles are written in that layer too: absolute path →
	// content (/etc/redhat-release, …).
	ReleaseFiles map[string]string
	// PruneFiles are path patterns left out of the packages' files; see
	// DefaultPruneFiles for the syntax. Nil prunes nothing.
	PruneFiles []string
	// AllowMissingLibs turns missing ELF libraries into report warnings.
	AllowMissingLibs bool
	// LibraryPath is the dynamic loader's built-in search path (absolute
	// directories) for the library check; nil means Debian's: the
	// multiarch directories, /lib and /usr/lib.
	LibraryPath []string
	// Compression compresses the layers: Gzip ("", the default) or Zstd
	// (the OCI media type application/vnd.oci.image.layer.v1.tar+zstd).
	Compression Compression
	// Progress, when set, is told what the build is doing.
	Progress func(string) `json:"-"`
	// MaxImageSize bounds the bytes of regular files of the packages'
	// payloads together (pruned files included), MaxFileSize those of
	// one file: a payload past either is refused (a *LimitError) before
	// more of it is read. Zero means DefaultMaxImageSize and
	// DefaultMaxFileSize.
	MaxImageSize, MaxFileSize int64
	// Arrived, when set, names the package files as they become
	// readable (gen sends each as its download completes): the build
	// reads each package as it arrives instead of waiting for all of
	// them, and fails naming the packages whose files had not arrived
	// when the channel is closed. Sends to it must not block on the build
	// (a buffered channel): a failed build stops reading it.
	Arrived <-chan string `json:"-"`
	// SpoolDir is where the build keeps file contents and compressed
	// layers while it runs (an unnamed file, see spool.go); empty means
	// the system's temporary directory.
	SpoolDir string `json:"-"`
	// Cache, when set, keeps what the build derives at some cost (the
	// Python bytecode, the compressed layers) for the next build of the same inputs; its entries
	// must be checked when read (fetch.Cache's named entries are).
	Cache DerivedCache `json:"-"`
	// Bytecode, when set, shares Python bytecode between the builds of
	// one image index (see BytecodeShare): the BytecodeDonor build
	// publishes what it compiles, the others take from it.
	Bytecode      *BytecodeShare `json:"-"`
	BytecodeDonor bool           `json:"-"`
	// Sandbox bounds the programs of the image the build runs (the
	// Python compiler); zero fields take DefaultSandboxLimits'.
	Sandbox SandboxLimits `json:"-"`
}

// DerivedCache stores derived data under a key: Get fails for a key it
// does not hold (or holds damaged), Put replaces an entry atomically.
type DerivedCache interface {
	Get(key string) ([]byte, error)
	Put(key string, data []byte) error
}

// Report tells what Build made.
type Report struct {
	Layers   []LayerReport
	Files    int   // entries in the image's root filesystem
	Size     int64 // bytes of regular file content in it (uncompressed)
	ELFFiles int   // ELF files whose libraries were checked
	Warnings []string
	// HostFiles are the regular files read from the build host
	// (File.Source), in placement order.
	HostFiles []HostFile `json:",omitempty"`
}

// HostFile is a file the build read from the build host.
type HostFile struct {
	Path, Source, Layer string
	SHA256              string // hex
	Size                int64
}

// LayerReport describes one layer.
type LayerReport struct {
	Name           string
	Packages       int   // packages unpacked into it
	Files          int   // tar entries, parents included
	Size           int64 // bytes of regular file content
	TarSize        int64 // the uncompressed tar stream
	CompressedSize int64
	Digest, DiffID string
}

// defaultCreated is the creation time used when Spec.Created is zero.
var defaultCreated = time.Unix(0, 0).UTC()

// defaultEnv is the environment every image starts with.
var defaultEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	"LANG=C.UTF-8",
}

// DefaultPruneFiles lists the files left out of images by default.
//
// A pattern is an absolute path whose components may use path.Match
// wildcards, and "**" for any number of components. It matches the path
// it names and everything below it. A pattern starting with "!" keeps
// what it matches; the last pattern that matches a path decides.
// Directories left empty by pruning go too; a directory that keeps
// anything stays.
var DefaultPruneFiles = []string{
	"/usr/share/doc/**",
	"!/usr/share/doc/*/copyright",
	"/usr/share/man",
	"/usr/share/info",
	"/usr/share/lintian",
	"/usr/share/linda",
	"/usr/share/locale",
	"/usr/share/bash-completion",
	"/usr/share/zsh",
	"/usr/share/fish",
	"/usr/share/bug",
	"/usr/share/menu",
	"/usr/share/gdb",
	"/usr/share/doc-base",
	"/usr/share/gtk-doc",
	"/usr/share/help",
	// Leap-second ("right/") time zones: unused by default TZ handling;
	// Debian itself moved them to tzdata-legacy in trixie.
	"/usr/share/zoneinfo/right",
}

// archInfo is what the library check and the config need per architecture.
type archInfo struct {
	triplet string // Debian multiarch triplet
	variant string // OCI platform variant
	machine uint16 // elf.Machine
	class64 bool
	lib64   bool // the loader lives in /lib64
}

var arches = map[string]archInfo{
	"amd64":   {"x86_64-linux-gnu", "", 62, true, true},
	"arm64":   {"aarch64-linux-gnu", "v8", 183, true, false},
	"386":     {"i386-linux-gnu", "", 3, false, false},
	"arm":     {"arm-linux-gnueabihf", "v7", 40, false, false},
	"ppc64le": {"powerpc64le-linux-gnu", "", 21, true, true},
	"s390x":   {"s390x-linux-gnu", "", 22, true, false},
	"riscv64": {"riscv64-linux-gnu", "", 243, true, false},
}
