package rpm

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// filelistOwners returns the packages of repository ri whose file list
// (filelists.xml, loaded on first use) has path. ix.mu is held.
func (ix *Index) filelistOwners(ri int, path string) []*rpmPkg {
	rf := ix.repos[ri]
	if err := ix.loadFilelists(ri); err != nil {
		err := fmt.Errorf("file dependency %s: %w", path, err)
		ix.problems = append(ix.problems, err)
		return nil
	}
	var esc bytes.Buffer
	if err := xml.EscapeText(&esc, []byte(path)); err != nil {
		return nil
	}
	needle := append(append([]byte(">"), esc.Bytes()...), "</file>"...)
	var out []*rpmPkg
	data := rf.fl
	for at := 0; at < len(data); {
		i := bytes.Index(data[at:], needle)
		if i < 0 {
			break
		}
		hit := at + i
		at = hit + len(needle)
		out = append(out, ix.ownersAt(ri, hit)...)
	}
	return out
}

// loadFilelists loads repository ri's filelists.xml, once.
func (ix *Index) loadFilelists(ri int) error {
	rf := ix.repos[ri]
	rf.flOnce.Do(func() {
		e, err := rf.md.need("filelists")
		if err != nil {
			rf.flErr = err
			return
		}
		blob, err := metadataBlob(ix.ctx, ix.cache, rf.repo, e)
		if err != nil {
			rf.flErr = err
			return
		}
		data, _, err := fetch.MapFile(blob) // kept for the index's lifetime
		if err != nil {
			rf.flErr = err
			return
		}
		if e.OpenSize >= 0 && int64(len(data)) != e.OpenSize {
			rf.flErr = fmt.Errorf("%s/%s: decompressed size %d, repomd.xml says %d", baseURL(rf.repo), e.Href, len(data), e.OpenSize)
			return
		}
		rf.fl = data
	})
	return rf.flErr
}

// ownersAt are the index's packages whose <package> element of
// repository ri's filelists holds offset hit.
func (ix *Index) ownersAt(ri, hit int) []*rpmPkg {
	rf := ix.repos[ri]
	data := rf.fl
	start := bytes.LastIndex(data[:hit], []byte("<package "))
	if start < 0 {
		return nil
	}
	pkgid, name, arch, ok := packageAttrs(data[start:hit])
	if !ok || !ix.archOK(arch) {
		return nil
	}
	var out []*rpmPkg
	for _, j := range rf.sc.named(name) {
		if rf.sc.arch(j) != arch {
			continue
		}
		if p := ix.get(ri, j); p != nil && p.pkg.SHA256 == strings.ToLower(pkgid) {
			out = append(out, p)
		}
	}
	return out
}

// packageAttrs reads the pkgid, name and arch of the <package> start tag
// at the beginning of b.
func packageAttrs(b []byte) (pkgid, name, arch string, ok bool) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return "", "", "", false
	}
	st, isStart := tok.(xml.StartElement)
	if !isStart || st.Name.Local != "package" {
		return "", "", "", false
	}
	for _, a := range st.Attr {
		switch a.Name.Local {
		case "pkgid":
			pkgid = a.Value
		case "name":
			name = a.Value
		case "arch":
			arch = a.Value
		}
	}
	return pkgid, name, arch, name != "" && pkgid != ""
}
