package rpm

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"path"
	"slices"
	"sort"

	"github.com/distroless-dev/distroless/packages"
)

// FindFiles looks the base names up in the repositories' file lists
// (filelists.xml, verified through repomd.xml as the index's other
// metadata): every path with that base name, and the packages of the
// index that ship it.
func (ix *Index) FindFiles(ctx context.Context, names []string) (map[string][]packages.FileOwners, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	found := map[string]map[string][]string{}
	for ri := range ix.repos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := ix.loadFilelists(ri); err != nil {
			return nil, fmt.Errorf("file lists of %s: %w", baseURL(ix.repos[ri].repo), err)
		}
		data := ix.repos[ri].fl
		for _, name := range names {
			var esc bytes.Buffer
			if err := xml.EscapeText(&esc, []byte(name)); err != nil || name == "" {
				continue
			}
			needle := append(append([]byte("/"), esc.Bytes()...), "</file>"...)
			for at := 0; at < len(data); {
				i := bytes.Index(data[at:], needle)
				if i < 0 {
					break
				}
				hit := at + i
				at = hit + len(needle)
				open := bytes.LastIndexByte(data[:hit], '>')
				if open < 0 {
					continue
				}
				p := path.Clean(html.UnescapeString(string(data[open+1 : hit+len(needle)-len("</file>")])))
				for _, o := range ix.ownersAt(ri, hit) {
					if found[name] == nil {
						found[name] = map[string][]string{}
					}
					if !slices.Contains(found[name][p], o.pkg.Name) {
						found[name][p] = append(found[name][p], o.pkg.Name)
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
