package pipeline

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/internal/parallel"
	"github.com/distroless-dev/distroless/packages"
)

// The image memo (see assemble/memo.go): gen keeps each image it builds
// under a key that is a digest of every input of the build, and a later
// gen whose inputs have that same digest writes the kept image instead of
// building it again. The key covers:
//
//   - the distroless binary itself: its Go build ID, which changes with
//     any change to its code or its dependencies (no memo without one);
//   - the whole assembler spec: every layer's packages (each one's index
//     entry, sha256 included), files, accounts, generators and bytecode setting, the
//     architecture, creation time and mtime clamping (SOURCE_DATE_EPOCH),
//     user, working directory, environment, entrypoint, command, labels
//     (the tool's version and revision among them), annotations,
//     os-release, file pruning, the library check's settings, the size
//     limits (--max-image-size, --max-file-size: an image is never taken
//     from the memo when the limits would refuse its packages) and the
//     layer compression;
//   - whether the build takes its Python bytecode from another build of
//     an image index (a foreign architecture's bytecode, compiled by the
//     native one);
//   - the distro's name and package format, and the fingerprints of the
//     keys the packages are verified with.
//
// With several platforms (an image index), each platform's image is kept
// under its own key, and the memo is used only when every platform's
// image is there: otherwise all are built, as they share their Python
// bytecode.
//
// An image with files from the build host (File.Source) is never kept:
// their contents are not in the key.
//
// Only a build without warnings is kept (a warning may depend on the host,
// such as bytecode not compiled for a foreign architecture), and a memo
// is used only when every package file is still in the download cache and
// passes its check (its SHA-256), so that gen succeeds or fails, and warns
// of a damaged download, as a full build would.

// toolID is the running binary's Go build ID, or "" when it has none.
var toolID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	b, err := s.Data()
	if err != nil || len(b) < 16 {
		return ""
	}
	return hex.EncodeToString(b)
})

// memoInline is the largest content a memo key holds as it is; larger
// ones are keyed by their SHA-256 and size.
const memoInline = 64 << 10

type memoLayer struct {
	Name           string
	Packages       []*packages.Package
	Files          []assemble.File
	Accounts       []assemble.Account
	Generate       []string
	PythonBytecode bool
}

// memoKey is the key of the image spec describes, or "" when it cannot
// have one.
func (in *Input) memoKey(spec assemble.Spec, takesBytecode bool) string {
	id := toolID()
	if id == "" {
		return ""
	}
	s := spec
	s.Layers, s.Payload, s.Progress, s.Cache = nil, nil, nil, nil
	s.Arrived, s.SpoolDir, s.Bytecode, s.BytecodeDonor = nil, "", nil, false
	k := struct {
		Tool, Distro, Format, Payload string
		Keys                          []string
		Spec                          assemble.Spec
		Layers                        []memoLayer
		TakesBytecode                 bool
	}{Tool: id, Distro: in.distro.Name, Format: in.distro.Format, Payload: fmt.Sprintf("%T", spec.Payload), Spec: s, TakesBytecode: takesBytecode}
	for _, e := range in.keys {
		k.Keys = append(k.Keys, hex.EncodeToString(e.PrimaryKey.Fingerprint))
	}
	for _, l := range spec.Layers {
		for _, f := range l.Files {
			if f.Source != "" {
				return "" // files from the host: their contents are not in the key
			}
		}
		files := l.Files
		if slices.ContainsFunc(files, func(f assemble.File) bool { return len(f.Data) > memoInline }) {
			// Large contents (an application layer's) by their digest,
			// not copied into the key's JSON.
			files = slices.Clone(files)
			for i, f := range files {
				if len(f.Data) > memoInline {
					sum := sha256.Sum256(f.Data)
					files[i].Data = []byte("sha256:" + hex.EncodeToString(sum[:]))
					files[i].Size = int64(len(f.Data))
				}
			}
		}
		ml := memoLayer{Name: l.Name, Files: files, Accounts: l.Accounts, Generate: l.Generate, PythonBytecode: l.PythonBytecode}
		for _, u := range l.Packages {
			ml.Packages = append(ml.Packages, u.Pkg)
		}
		k.Layers = append(k.Layers, ml)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "image/" + hex.EncodeToString(sum[:])
}

// packagesCached reports whether every package file is in the cache,
// verified as a fetch verifies it: one that is damaged is removed, with
// the warning a fetch gives, and the build then fetches it again, so that
// a gen using the memo notices what a full build would.
//
// The files are checked on every core at once (hashing them is most of
// what a gen with nothing changed spends).
func (in *Input) packagesCached() bool {
	var shas []string
	for _, lv := range in.levels {
		for _, p := range lv {
			shas = append(shas, p.SHA256)
		}
	}
	return parallel.All(shas, func(sha string) bool {
		_, ok := in.cache.Blob(sha)
		return ok
	})
}
