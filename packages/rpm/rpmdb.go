package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"time"

	"github.com/distroless-dev/distroless/internal/sqlitefile"
	"github.com/distroless-dev/distroless/packages"
)

// Header tags the rpm database indexes, and the ones installation adds.
const (
	tagSigSize       = 257
	tagSigMD5        = 261
	tagDSAHeader     = 267
	tagRSAHeader     = 268
	tagSHA1Header    = 269
	tagSHA256Header  = 273
	tagInstallTime   = 1008
	tagGroup         = 1016
	tagProvideName   = 1047
	tagRequireFlags  = 1048
	tagRequireName   = 1049
	tagConflictName  = 1054
	tagTriggerName   = 1066
	tagObsoleteName  = 1090
	tagInstallColor  = 1127
	tagInstallTID    = 1128
	tagRecommendName = 5046
	tagSuggestName   = 5049
	tagSupplement    = 5052
	tagEnhanceName   = 5055
	tagFileTrigger   = 5069
	tagTransTrigger  = 5079

	sigTagSize = 1000
	sigTagMD5  = 1004
	sigTagSHA1 = 269
)

// Header data types.
const (
	typeInt32  = 4
	typeString = 6
	typeBin    = 7
)

// Requirement flags that make a requirement install-only (rpm's
// _INSTALL_ONLY_MASK) or erase-only (_ERASE_ONLY_MASK); rpm leaves
// install-only requirements out of the Requirename index.
const (
	installOnlyMask = 1<<5 | 1<<7 | 1<<9 | 1<<10 | 1<<24 | 1<<26 // posttrans, pretrans, pre, post, rpmlib, keyring
	eraseOnlyMask   = 1<<11 | 1<<12                              // preun, postun
)

// rpmdbIndexes are rpm's index tables: the header tag each indexes, and
// whether its key is a blob and has a key index and an hnum index.
var rpmdbIndexes = []struct {
	name       string
	tag        int
	blob       bool
	keyIdx     bool
	hnumIdx    bool
	uniqueOnly bool // keep the first of equal strings (triggers)
}{
	{"Name", tagName, false, true, false, false},
	{"Basenames", tagBaseNames, false, true, true, false},
	{"Group", tagGroup, false, true, false, false},
	{"Requirename", tagRequireName, false, true, true, false},
	{"Providename", tagProvideName, false, true, true, false},
	{"Conflictname", tagConflictName, false, true, true, false},
	{"Obsoletename", tagObsoleteName, false, true, true, false},
	{"Triggername", tagTriggerName, false, true, true, true},
	{"Dirnames", tagDirNames, false, true, true, false},
	{"Installtid", tagInstallTID, true, false, false, false},
	{"Sigmd5", tagSigMD5, true, false, false, false},
	{"Sha1header", tagSHA1Header, false, true, false, false},
	{"Filetriggername", tagFileTrigger, false, true, true, true},
	{"Transfiletriggername", tagTransTrigger, false, true, true, true},
	{"Recommendname", tagRecommendName, false, true, true, false},
	{"Suggestname", tagSuggestName, false, true, true, false},
	{"Supplementname", tagSupplement, false, true, true, false},
	{"Enhancename", tagEnhanceName, false, true, true, false},
}

// PackageDB writes the rpm database of the installed packages, as rpm
// (4.16 and later: RHEL 9, Fedora) keeps it and as image scanners (syft,
// trivy) read it: DBPath/rpmdb.sqlite, holding each package's header as
// installation leaves it (the package's signed header, plus the
// signature tags and install time rpm adds) and rpm's indexes. It
// implements packages.PackageDB. The file is the same for the same
// packages and created time.
func (p Payload) PackageDB(installed []packages.Installed, created time.Time) ([]packages.DBFile, error) {
	dir := p.DBPath
	if dir == "" {
		dir = "/usr/lib/sysimage/rpm"
	}
	var hdrs []*rpmHeaders
	for _, in := range installed {
		f, err := os.Open(in.File)
		if err != nil {
			return nil, err
		}
		h, err := readHeaders(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", in.File, in.Pkg.Name, err)
		}
		hdrs = append(hdrs, h)
	}
	bigEndian := len(installed) > 0 && installed[0].Pkg.Arch == "s390x"
	data, err := writeRPMDB(hdrs, created, bigEndian)
	if err != nil {
		return nil, fmt.Errorf("rpm database: %w", err)
	}
	return []packages.DBFile{{Path: path.Join(dir, "rpmdb.sqlite"), Data: data}}, nil
}

// writeRPMDB lays out rpmdb.sqlite as rpm's sqlite backend (rpm 4.16 and
// later) leaves it after installing hdrs in order: its tables and indexes
// in the order rpm creates them, with the CREATE statements SQLite keeps
// for rpm's (without IF NOT EXISTS), sqlite_sequence for the Packages
// table's AUTOINCREMENT, and each index table's rows in insertion order.
func writeRPMDB(hdrs []*rpmHeaders, created time.Time, bigEndian bool) ([]byte, error) {
	var db sqlitefile.DB
	pkgs := db.CreateTable("Packages", `CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)`, 2)
	seq := db.CreateTable("sqlite_sequence", `CREATE TABLE sqlite_sequence(name,seq)`, 2)
	tables := make([]*sqlitefile.Table, len(rpmdbIndexes))
	for i, ix := range rpmdbIndexes {
		typ := "TEXT"
		if ix.blob {
			typ = "BLOB"
		}
		t := db.CreateTable(ix.name, fmt.Sprintf(`CREATE TABLE '%s' (key '%s' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))`, ix.name, typ), 3)
		tables[i] = t
		if ix.keyIdx {
			if _, err := db.CreateIndex(ix.name+"_key_idx", fmt.Sprintf(`CREATE INDEX '%s_key_idx' ON '%s'(key ASC)`, ix.name, ix.name), t, 0); err != nil {
				return nil, err
			}
		}
		if ix.hnumIdx {
			if _, err := db.CreateIndex(ix.name+"_hnum_idx", fmt.Sprintf(`CREATE INDEX '%s_hnum_idx' ON '%s'(hnum ASC)`, ix.name, ix.name), t, 1); err != nil {
				return nil, err
			}
		}
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if bigEndian {
		order = binary.BigEndian
	}
	tid := uint32(created.Unix())
	for i, h := range hdrs {
		hnum := int64(i + 1)
		blob, err := installedBlob(h, tid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.nevra(), err)
		}
		// hnum is the rowid (INTEGER PRIMARY KEY): the record holds NULL.
		if err := pkgs.Insert(hnum, nil, blob); err != nil {
			return nil, err
		}
		for j, ix := range rpmdbIndexes {
			keys, err := indexKeys(h, ix.tag, ix.uniqueOnly, tid, order)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", h.nevra(), err)
			}
			t := tables[j]
			for _, k := range keys {
				if err := t.Insert(t.LastRowid()+1, k.key, hnum, k.idx); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(hdrs) > 0 {
		if err := seq.Insert(1, "Packages", int64(len(hdrs))); err != nil {
			return nil, err
		}
	}
	return db.Bytes()
}

type indexKey struct {
	key any // string, or []byte for blob keys
	idx int
}

// indexKeys are the rows a header gets in the index of tag, as rpm's
// tag2index makes them.
func indexKeys(h *rpmHeaders, tag int, unique bool, tid uint32, order binary.ByteOrder) ([]indexKey, error) {
	hd := &h.pkg.Header
	switch tag {
	case tagInstallTID:
		b := make([]byte, 4)
		order.PutUint32(b, tid)
		return []indexKey{{b, 0}}, nil
	case tagSigMD5:
		if b := h.pkg.Signature.GetTag(sigTagMD5).Bytes(); len(b) > 0 {
			return []indexKey{{bytes.Clone(b), 0}}, nil
		}
		return nil, nil
	case tagSHA1Header:
		if s := h.pkg.Signature.GetTag(sigTagSHA1).String(); s != "" {
			return []indexKey{{s, 0}}, nil
		}
		return nil, nil
	}
	vals := hd.GetTag(tag).StringSlice()
	var flags []int64
	if tag == tagRequireName {
		flags = hd.GetTag(tagRequireFlags).Int64Slice()
		if len(flags) != len(vals) {
			return nil, errors.New("requirement names and flags differ in number")
		}
	}
	if tag == tagGroup && len(vals) > 1 {
		vals = vals[:1] // an i18n string: the default locale's
	}
	var out []indexKey
	seen := map[string]bool{}
	for i, v := range vals {
		if flags != nil && flags[i]&installOnlyMask != 0 && flags[i]&eraseOnlyMask == 0 {
			continue
		}
		if unique {
			if seen[v] {
				continue
			}
			seen[v] = true
		}
		out = append(out, indexKey{v, i})
	}
	return out, nil
}

// newTag is an entry installation adds to a header.
type newTag struct {
	tag, typ int
	count    int
	data     []byte
}

// installedBlob is the header as rpm stores it in its database: the
// package's immutable header region unchanged (so its signature still
// verifies), followed by the tags installation adds: the signature
// header's digests and signatures, and the install time.
func installedBlob(h *rpmHeaders, tid uint32) ([]byte, error) {
	main := h.main
	if len(main) < 16 {
		return nil, errors.New("short header")
	}
	il := int(binary.BigEndian.Uint32(main[8:12]))
	dl := int(binary.BigEndian.Uint32(main[12:16]))
	if 16+il*16+dl != len(main) || il < 1 {
		return nil, errors.New("header sizes disagree")
	}
	entries, store := main[16:16+il*16], main[16+il*16:]
	if binary.BigEndian.Uint32(entries[0:4]) != tagHeaderImmutable {
		return nil, errors.New("header has no immutable region")
	}
	have := map[int]bool{}
	for i := 0; i < il; i++ {
		have[int(binary.BigEndian.Uint32(entries[i*16:]))] = true
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	var add []newTag
	sig := &h.pkg.Signature
	addBin := func(tag int, b []byte) {
		if len(b) > 0 && !have[tag] {
			add = append(add, newTag{tag, typeBin, len(b), b})
		}
	}
	addStr := func(tag int, s string) {
		if s != "" && !have[tag] {
			add = append(add, newTag{tag, typeString, 1, append([]byte(s), 0)})
		}
	}
	addI32 := func(tag int, v uint32) {
		if !have[tag] {
			add = append(add, newTag{tag, typeInt32, 1, be32(v)})
		}
	}
	if v := sig.GetTag(sigTagSize).Int64Slice(); len(v) == 1 && v[0] >= 0 && v[0] <= 1<<32-1 {
		addI32(tagSigSize, uint32(v[0]))
	}
	addBin(tagSigMD5, sig.GetTag(sigTagMD5).Bytes())
	addBin(tagDSAHeader, sig.GetTag(sigTagDSA).Bytes())
	addBin(tagRSAHeader, sig.GetTag(sigTagRSA).Bytes())
	addStr(tagSHA1Header, sig.GetTag(sigTagSHA1).String())
	addStr(tagSHA256Header, sig.GetTag(sigTagSHA256).String())
	addI32(tagInstallTime, tid)
	addI32(tagInstallColor, 0)
	addI32(tagInstallTID, tid)
	sort.Slice(add, func(a, b int) bool { return add[a].tag < add[b].tag })

	var newEntries, newData bytes.Buffer
	at := dl
	for _, t := range add {
		if t.typ == typeInt32 {
			for at%4 != 0 {
				newData.WriteByte(0)
				at++
			}
		}
		var e [16]byte
		binary.BigEndian.PutUint32(e[0:], uint32(t.tag))
		binary.BigEndian.PutUint32(e[4:], uint32(t.typ))
		binary.BigEndian.PutUint32(e[8:], uint32(at))
		binary.BigEndian.PutUint32(e[12:], uint32(t.count))
		newEntries.Write(e[:])
		newData.Write(t.data)
		at += len(t.data)
	}
	out := make([]byte, 0, 8+len(entries)+newEntries.Len()+len(store)+newData.Len())
	out = binary.BigEndian.AppendUint32(out, uint32(il+len(add)))
	out = binary.BigEndian.AppendUint32(out, uint32(at))
	out = append(out, entries...)
	out = append(out, newEntries.Bytes()...)
	out = append(out, store...)
	out = append(out, newData.Bytes()...)
	return out, nil
}
