package rpm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
)

// A sidecar is the lookup table of one decompressed primary.xml, cached
// next to it (keyed by its digest) so that a warm open parses no XML:
// for every package the byte range of its <package> element, its name
// and architecture, and sorted tables from names, provided names and
// the file paths primary lists to packages. Packages are parsed from
// their element only when the resolver asks about them.
//
// Layout (little endian):
//
//	magic "DLRPMSC1", digest [32]byte, size u64, npkg u32, nprov u32, nfile u32, pool u32
//	npkg  × {off u64, len u32, name ref, arch ref}   ref = {off u32, len u32}
//	npkg  × u32                                      packages sorted by name
//	nprov × {name ref, pkg u32}                      sorted by name, then pkg
//	nfile × {path ref, pkg u32}                      sorted by path, then pkg
//	pool bytes
type sidecar struct {
	data                []byte
	n, nprov, nfile     int
	pkgs, byName, provs []byte
	files, pool         []byte
}

const (
	sidecarMagic  = "DLRPMSC1"
	sidecarHeader = 8 + 32 + 8 + 4*4
	pkgRecord     = 8 + 4 + 8 + 8
	refRecord     = 8 + 4
)

// sidecarPkg is one package of a sidecar being built.
type sidecarPkg struct {
	off, end   int64
	name, arch string
	provides   []string
	files      []string
}

type strRef struct{ off, len uint32 }

// buildSidecar encodes the table of a primary file with the given digest
// and size.
func buildSidecar(digest string, size int64, pkgs []sidecarPkg) ([]byte, error) {
	sum, err := hex.DecodeString(digest)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("bad digest %q", digest)
	}
	var pool bytes.Buffer
	refs := map[string]strRef{}
	intern := func(s string) strRef {
		if r, ok := refs[s]; ok {
			return r
		}
		r := strRef{uint32(pool.Len()), uint32(len(s))}
		pool.WriteString(s)
		refs[s] = r
		return r
	}
	type tabEntry struct {
		s   string
		ref strRef
		pkg uint32
	}
	var provs, files []tabEntry
	var body bytes.Buffer
	le := binary.LittleEndian
	for i, p := range pkgs {
		if p.off < 0 || p.end < p.off || p.end-p.off > 1<<32-1 {
			return nil, fmt.Errorf("package %s: bad range", p.name)
		}
		nr, ar := intern(p.name), intern(p.arch)
		var rec [pkgRecord]byte
		le.PutUint64(rec[0:], uint64(p.off))
		le.PutUint32(rec[8:], uint32(p.end-p.off))
		le.PutUint32(rec[12:], nr.off)
		le.PutUint32(rec[16:], nr.len)
		le.PutUint32(rec[20:], ar.off)
		le.PutUint32(rec[24:], ar.len)
		body.Write(rec[:])
		seen := map[string]bool{}
		for _, s := range p.provides {
			if !seen[s] {
				seen[s] = true
				provs = append(provs, tabEntry{s, intern(s), uint32(i)})
			}
		}
		seen = map[string]bool{}
		for _, s := range p.files {
			if !seen[s] {
				seen[s] = true
				files = append(files, tabEntry{s, intern(s), uint32(i)})
			}
		}
	}
	order := make([]uint32, len(pkgs))
	for i := range order {
		order[i] = uint32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return pkgs[order[a]].name < pkgs[order[b]].name })
	for _, o := range order {
		var b [4]byte
		le.PutUint32(b[:], o)
		body.Write(b[:])
	}
	for _, tab := range [][]tabEntry{provs, files} {
		sort.Slice(tab, func(a, b int) bool {
			if tab[a].s != tab[b].s {
				return tab[a].s < tab[b].s
			}
			return tab[a].pkg < tab[b].pkg
		})
		for _, e := range tab {
			var rec [refRecord]byte
			le.PutUint32(rec[0:], e.ref.off)
			le.PutUint32(rec[4:], e.ref.len)
			le.PutUint32(rec[8:], e.pkg)
			body.Write(rec[:])
		}
	}
	if pool.Len() > 1<<32-1 {
		return nil, errors.New("string pool too large")
	}
	out := make([]byte, 0, sidecarHeader+body.Len()+pool.Len())
	out = append(out, sidecarMagic...)
	out = append(out, sum...)
	out = le.AppendUint64(out, uint64(size))
	out = le.AppendUint32(out, uint32(len(pkgs)))
	out = le.AppendUint32(out, uint32(len(provs)))
	out = le.AppendUint32(out, uint32(len(files)))
	out = le.AppendUint32(out, uint32(pool.Len()))
	out = append(out, body.Bytes()...)
	out = append(out, pool.Bytes()...)
	return out, nil
}

// parseSidecar checks a sidecar against the primary file it belongs to.
func parseSidecar(b []byte, digest string, size int64) (*sidecar, error) {
	if len(b) < sidecarHeader || string(b[:8]) != sidecarMagic {
		return nil, errors.New("not a sidecar")
	}
	sum, err := hex.DecodeString(digest)
	if err != nil || !bytes.Equal(b[8:40], sum) {
		return nil, errors.New("sidecar of another file")
	}
	le := binary.LittleEndian
	if int64(le.Uint64(b[40:48])) != size {
		return nil, errors.New("sidecar of another size")
	}
	s := &sidecar{data: b, n: int(le.Uint32(b[48:])), nprov: int(le.Uint32(b[52:])), nfile: int(le.Uint32(b[56:]))}
	poolLen := int(le.Uint32(b[60:]))
	need := sidecarHeader + s.n*pkgRecord + s.n*4 + (s.nprov+s.nfile)*refRecord + poolLen
	if need != len(b) {
		return nil, errors.New("sidecar has the wrong length")
	}
	at := sidecarHeader
	take := func(n int) []byte { r := b[at : at+n]; at += n; return r }
	s.pkgs = take(s.n * pkgRecord)
	s.byName = take(s.n * 4)
	s.provs = take(s.nprov * refRecord)
	s.files = take(s.nfile * refRecord)
	s.pool = take(poolLen)
	// Every reference must lie within its section.
	for i := 0; i < s.n; i++ {
		r := s.pkgs[i*pkgRecord:]
		off, ln := le.Uint64(r), uint64(le.Uint32(r[8:]))
		if off > uint64(size) || off+ln > uint64(size) || !s.refOK(r[12:]) || !s.refOK(r[20:]) {
			return nil, errors.New("sidecar: package record out of range")
		}
		if int(le.Uint32(s.byName[i*4:])) >= s.n {
			return nil, errors.New("sidecar: name order out of range")
		}
	}
	for _, tab := range [][]byte{s.provs, s.files} {
		for i := 0; i+refRecord <= len(tab); i += refRecord {
			if !s.refOK(tab[i:]) || int(le.Uint32(tab[i+8:])) >= s.n {
				return nil, errors.New("sidecar: table entry out of range")
			}
		}
	}
	return s, nil
}

func (s *sidecar) refOK(r []byte) bool {
	off, ln := uint64(binary.LittleEndian.Uint32(r)), uint64(binary.LittleEndian.Uint32(r[4:]))
	return off+ln <= uint64(len(s.pool))
}

func (s *sidecar) str(r []byte) string {
	le := binary.LittleEndian
	off, ln := le.Uint32(r), le.Uint32(r[4:])
	return string(s.pool[off : off+ln])
}

// pkgRange is the byte range of package i in the primary file.
func (s *sidecar) pkgRange(i int) (int64, int64) {
	r := s.pkgs[i*pkgRecord:]
	off := int64(binary.LittleEndian.Uint64(r))
	return off, off + int64(binary.LittleEndian.Uint32(r[8:]))
}

func (s *sidecar) name(i int) string { return s.str(s.pkgs[i*pkgRecord+12:]) }
func (s *sidecar) arch(i int) string { return s.str(s.pkgs[i*pkgRecord+20:]) }

// sortedName is the i-th package in name order.
func (s *sidecar) sortedName(i int) int { return int(binary.LittleEndian.Uint32(s.byName[i*4:])) }

// named returns the packages called name.
func (s *sidecar) named(name string) []int {
	lo := sort.Search(s.n, func(i int) bool { return s.name(s.sortedName(i)) >= name })
	var out []int
	for i := lo; i < s.n && s.name(s.sortedName(i)) == name; i++ {
		out = append(out, s.sortedName(i))
	}
	return out
}

// lookup returns the packages of a table whose string is key.
func (s *sidecar) lookup(tab []byte, key string) []int {
	n := len(tab) / refRecord
	at := func(i int) string { return s.str(tab[i*refRecord:]) }
	lo := sort.Search(n, func(i int) bool { return at(i) >= key })
	var out []int
	for i := lo; i < n && at(i) == key; i++ {
		out = append(out, int(binary.LittleEndian.Uint32(tab[i*refRecord+8:])))
	}
	return out
}

func (s *sidecar) providers(name string) []int { return s.lookup(s.provs, name) }
func (s *sidecar) fileOwners(p string) []int   { return s.lookup(s.files, p) }
