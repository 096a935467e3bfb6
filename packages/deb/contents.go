package deb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/decompress"
)

// contentsFile is one Contents-ARCH file an InRelease lists: which
// package ships each file of a component.
type contentsFile struct {
	url   string
	plain string       // its URL by name, when url is by hash
	entry releaseEntry // of the variant fetched
	kind  string       // its compression: gz, xz or ""
}

// planContents lists the Contents-ARCH file of every suite's components
// (compressed when the InRelease lists it so), as the InRelease files
// give their sizes and SHA-256.
func planContents(s Spec, rels []*release) []contentsFile {
	var out []contentsFile
	for i, su := range s.Suites {
		rel := rels[i]
		comps := su.Components
		if len(comps) == 0 {
			comps = []string{"main"}
		}
		base := strings.TrimRight(su.Mirror, "/") + "/dists/" + su.Name + "/"
		for _, comp := range comps {
			p := comp + "/Contents-" + s.Arch
			for _, kind := range []string{"gz", "xz", ""} {
				name := p
				if kind != "" {
					name += "." + kind
				}
				if e, ok := rel.Files[name]; ok {
					// By its hash when the suite offers that: the file
					// this InRelease names, even after the mirror moved on.
					cf := contentsFile{url: base + name, entry: e, kind: kind}
					if rel.AcquireByHash {
						cf.url, cf.plain = base+path.Dir(name)+"/by-hash/SHA256/"+e.SHA256, cf.url
					}
					out = append(out, cf)
					break
				}
			}
		}
	}
	return out
}

// contentsMemoPrefix keys the answers of a Contents file to a set of
// names.
const contentsMemoPrefix = "deb/contents/v1/"

// FindFiles looks the base names up in the suites' Contents-ARCH files,
// each downloaded into the cache and verified against the SHA-256 its
// signed InRelease gives; paths are returned absolute, the packages by
// name. A name no file has is absent from the result.
func (ix *Index) FindFiles(ctx context.Context, names []string) (map[string][]packages.FileOwners, error) {
	if len(ix.contents) == 0 {
		return nil, fmt.Errorf("%s: its InRelease files list no Contents-%s file", ix.name, ix.arch)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	sorted := slices.Sorted(func(yield func(string) bool) {
		for n := range want {
			if !yield(n) {
				return
			}
		}
	})
	nameSum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	found := map[string]map[string][]string{} // name → path → packages
	for _, cf := range ix.contents {
		key := contentsMemoPrefix + cf.entry.SHA256 + "/" + hex.EncodeToString(nameSum[:])
		var part map[string]map[string][]string
		if raw, err := ix.contentsCache.Get(key); err == nil && json.Unmarshal(raw, &part) == nil {
			// answered before, for this very file
		} else {
			var err error
			if part, err = ix.scanContents(ctx, cf, want); err != nil {
				return nil, err
			}
			if b, err := json.Marshal(part); err == nil {
				_ = ix.contentsCache.Put(key, b)
			}
		}
		for n, paths := range part {
			if found[n] == nil {
				found[n] = map[string][]string{}
			}
			for p, pkgs := range paths {
				for _, pk := range pkgs {
					if !slices.Contains(found[n][p], pk) {
						found[n][p] = append(found[n][p], pk)
					}
				}
			}
		}
	}
	out := map[string][]packages.FileOwners{}
	for n, paths := range found {
		for p, pkgs := range paths {
			sort.Strings(pkgs)
			out[n] = append(out[n], packages.FileOwners{Path: p, Packages: pkgs})
		}
		sort.Slice(out[n], func(i, j int) bool { return out[n][i].Path < out[n][j].Path })
	}
	return out, nil
}

// maxContentsLine bounds one line of a Contents file.
const maxContentsLine = 1 << 20

// scanContents reads one Contents file for the names.
func (ix *Index) scanContents(ctx context.Context, cf contentsFile, want map[string]bool) (map[string]map[string][]string, error) {
	file, err := ix.contentsCache.Fetch(ctx, cf.url, cf.entry.Size, cf.entry.SHA256)
	if err != nil && cf.plain != "" {
		// A mirror without that hash: by name, verified all the same.
		var err2 error
		if file, err2 = ix.contentsCache.Fetch(ctx, cf.plain, cf.entry.Size, cf.entry.SHA256); err2 != nil {
			return nil, fmt.Errorf("%w; by name: %w", err, err2)
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	format := decompress.None
	if cf.kind != "" {
		format, _ = decompress.FromExt("." + cf.kind)
	}
	z, err := decompress.Open(f, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cf.url, err)
	}
	defer z.Close()
	out := map[string]map[string][]string{}
	sc := bufio.NewScanner(z)
	sc.Buffer(make([]byte, 64<<10), maxContentsLine)
	n := 0
	for sc.Scan() {
		if n++; n%65536 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		line := sc.Bytes()
		// PATH, white space, then SECTION/PACKAGE[,…] (a path may hold
		// spaces; the locations hold none).
		i := bytes.LastIndexAny(line, " \t")
		if i <= 0 {
			continue
		}
		p := bytes.TrimRight(line[:i], " \t")
		base := p
		if j := bytes.LastIndexByte(p, '/'); j >= 0 {
			base = p[j+1:]
		}
		if !want[string(base)] {
			continue
		}
		abs := path.Clean("/" + string(p))
		if out[string(base)] == nil {
			out[string(base)] = map[string][]string{}
		}
		for _, loc := range strings.Split(string(line[i+1:]), ",") {
			pkg := loc[strings.LastIndexByte(loc, '/')+1:]
			if pkg != "" && !slices.Contains(out[string(base)][abs], pkg) {
				out[string(base)][abs] = append(out[string(base)][abs], pkg)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", cf.url, err)
	}
	return out, nil
}
