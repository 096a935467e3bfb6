package sqlitefile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// PageSize is the size of the file's pages; no bytes are reserved.
const PageSize = 4096

const (
	usable = PageSize

	pageIndexInterior = 0x02
	pageTableInterior = 0x05
	pageIndexLeaf     = 0x0a
	pageTableLeaf     = 0x0d

	// The payload a cell keeps on its page (fileformat §1.6).
	tableMaxLocal = usable - 35
	indexMaxLocal = (usable-12)*64/255 - 23
	minLocal      = (usable-12)*32/255 - 23

	maxPayload = 1<<31 - 1 // SQLite's SQLITE_MAX_LENGTH ceiling
	maxPages   = 1<<31 - 2
)

// DB is a database being put together. Its zero value is empty and ready.
type DB struct {
	objects []object
}

type object struct {
	table *Table
	index *Index
}

// Table is a table (a rowid table) of a DB.
type Table struct {
	name, sql string
	ncol      int
	rows      []row
}

type row struct {
	rowid int64
	vals  []any
}

// Index is an index of a table of a DB.
type Index struct {
	name, sql string
	table     *Table
	cols      []int
}

// CreateTable adds a table of ncol columns named name, whose CREATE
// statement, as sqlite_schema holds it, is sql.
func (db *DB) CreateTable(name, sql string, ncol int) *Table {
	t := &Table{name: name, sql: sql, ncol: ncol}
	db.objects = append(db.objects, object{table: t})
	return t
}

// CreateIndex adds an index named name of t's columns cols (numbered from
// 0, in order), whose CREATE statement is sql. Its entries are each row's
// values of those columns followed by the rowid.
func (db *DB) CreateIndex(name, sql string, t *Table, cols ...int) (*Index, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("index %s: no columns", name)
	}
	for _, c := range cols {
		if c < 0 || c >= t.ncol {
			return nil, fmt.Errorf("index %s: table %s has no column %d", name, t.name, c)
		}
	}
	ix := &Index{name: name, sql: sql, table: t, cols: slices.Clone(cols)}
	db.objects = append(db.objects, object{index: ix})
	return ix, nil
}

// Insert adds a row: rowid must be greater than the rowid of every row
// inserted before, and vals hold one value per column, each nil, an
// integer (int or int64), a string (text) or a []byte (blob; kept, not
// copied).
func (t *Table) Insert(rowid int64, vals ...any) error {
	if n := len(t.rows); n > 0 && rowid <= t.rows[n-1].rowid {
		return fmt.Errorf("table %s: rowid %d after %d", t.name, rowid, t.rows[n-1].rowid)
	}
	if len(vals) != t.ncol {
		return fmt.Errorf("table %s: %d values for %d columns", t.name, len(vals), t.ncol)
	}
	vals = slices.Clone(vals)
	for i, v := range vals {
		switch v := v.(type) {
		case nil, int64, string, []byte:
		case int:
			vals[i] = int64(v)
		default:
			return fmt.Errorf("table %s: column %d: values of type %T are not supported", t.name, i, v)
		}
	}
	t.rows = append(t.rows, row{rowid, vals})
	return nil
}

// LastRowid is the rowid of the last row inserted, 0 if none.
func (t *Table) LastRowid() int64 {
	if len(t.rows) == 0 {
		return 0
	}
	return t.rows[len(t.rows)-1].rowid
}

// Bytes lays out the database file.
func (db *DB) Bytes() ([]byte, error) {
	w := &writer{}
	w.alloc() // page 1: the header and sqlite_schema's root
	roots := make([]uint32, len(db.objects))
	for i := range db.objects {
		roots[i] = w.alloc()
	}
	schema := &Table{name: "sqlite_schema", ncol: 5}
	for i, o := range db.objects {
		var err error
		if t := o.table; t != nil {
			err = w.table(roots[i], t)
			if err == nil {
				err = schema.Insert(int64(i+1), "table", t.name, t.name, int64(roots[i]), t.sql)
			}
		} else {
			ix := o.index
			err = w.index(roots[i], ix)
			if err == nil {
				err = schema.Insert(int64(i+1), "index", ix.name, ix.table.name, int64(roots[i]), ix.sql)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := w.table(1, schema); err != nil {
		return nil, err
	}
	if w.err != nil {
		return nil, w.err
	}
	out := make([]byte, 0, len(w.pages)*PageSize)
	for _, p := range w.pages {
		out = append(out, p...)
	}
	h := out[:100]
	copy(h, "SQLite format 3\x00")
	binary.BigEndian.PutUint16(h[16:], PageSize)
	h[18], h[19] = 1, 1                                      // legacy (rollback journal) read and write versions
	h[20] = 0                                                // reserved bytes a page
	h[21], h[22], h[23] = 64, 32, 32                         // payload fractions, fixed by the format
	binary.BigEndian.PutUint32(h[24:], 1)                    // file change counter
	binary.BigEndian.PutUint32(h[28:], uint32(len(w.pages))) // pages
	schemaCookie := uint32(0)
	if len(db.objects) > 0 {
		schemaCookie = 1
	}
	binary.BigEndian.PutUint32(h[40:], schemaCookie)
	binary.BigEndian.PutUint32(h[44:], 4)       // schema format
	binary.BigEndian.PutUint32(h[56:], 1)       // UTF-8
	binary.BigEndian.PutUint32(h[92:], 1)       // version-valid-for: the change counter
	binary.BigEndian.PutUint32(h[96:], 3045000) // SQLite version the file is compatible with
	return out, nil
}

// writer holds the pages laid out so far; page n is pages[n-1].
type writer struct {
	pages [][]byte
	err   error
}

func (w *writer) alloc() uint32 {
	if len(w.pages) >= maxPages {
		if w.err == nil {
			w.err = errors.New("database too large")
		}
		return 0
	}
	w.pages = append(w.pages, make([]byte, PageSize))
	return uint32(len(w.pages))
}

// payloadCell appends payload to prefix as a cell keeps it: the part that
// stays on the page, and the rest on a chain of overflow pages whose first
// page number ends the cell.
func (w *writer) payloadCell(prefix, payload []byte, maxLocal int) []byte {
	local := localSize(len(payload), maxLocal)
	cell := append(prefix, payload[:local]...)
	rest := payload[local:]
	if len(rest) == 0 {
		return cell
	}
	first := w.alloc()
	cell = binary.BigEndian.AppendUint32(cell, first)
	pg := first
	for len(rest) > 0 {
		n := min(len(rest), usable-4)
		var next uint32
		if len(rest) > n {
			next = w.alloc()
		}
		if pg != 0 {
			p := w.pages[pg-1]
			binary.BigEndian.PutUint32(p, next)
			copy(p[4:], rest[:n])
		}
		rest = rest[n:]
		pg = next
	}
	return cell
}

// localSize is how much of a payload of p bytes stays on the b-tree page.
func localSize(p, maxLocal int) int {
	if p <= maxLocal {
		return p
	}
	k := minLocal + (p-minLocal)%(usable-4)
	if k <= maxLocal {
		return k
	}
	return minLocal
}

// capacity is the room for cells and their pointers on page pgno.
func capacity(pgno uint32, typ byte) int {
	c := PageSize - 8
	if typ == pageTableInterior || typ == pageIndexInterior {
		c -= 4
	}
	if pgno == 1 {
		c -= 100
	}
	return c
}

// cellRoom is the room a cell takes: itself (at least 4 bytes) and its
// pointer.
func cellRoom(c []byte) int { return max(len(c), 4) + 2 }

func fits(pgno uint32, typ byte, cells [][]byte) bool {
	n := 0
	for _, c := range cells {
		n += cellRoom(c)
	}
	return n <= capacity(pgno, typ)
}

// writePage writes a b-tree page: its header, cell pointers and cells,
// the cells packed at the end of the page in order.
func (w *writer) writePage(pgno uint32, typ byte, cells [][]byte, right uint32) {
	if pgno == 0 {
		return // allocation failed; w.err says why
	}
	p := w.pages[pgno-1]
	h := 0
	if pgno == 1 {
		h = 100
	}
	hs := 8
	if typ == pageTableInterior || typ == pageIndexInterior {
		hs = 12
		binary.BigEndian.PutUint32(p[h+8:], right)
	}
	p[h] = typ
	binary.BigEndian.PutUint16(p[h+3:], uint16(len(cells)))
	end := PageSize
	for i, c := range cells {
		end -= max(len(c), 4)
		copy(p[end:], c)
		binary.BigEndian.PutUint16(p[h+hs+2*i:], uint16(end))
	}
	binary.BigEndian.PutUint16(p[h+5:], uint16(end)) // start of the cell content area
}

// table writes t's b-tree with its root at page root.
func (w *writer) table(root uint32, t *Table) error {
	cells := make([][]byte, len(t.rows))
	keys := make([]int64, len(t.rows))
	for i, r := range t.rows {
		rec := record(r.vals, nil)
		if len(rec) > maxPayload {
			return fmt.Errorf("table %s: row %d is too large (%d bytes)", t.name, r.rowid, len(rec))
		}
		prefix := appendVarint(nil, uint64(len(rec)))
		prefix = appendVarint(prefix, uint64(r.rowid))
		cells[i] = w.payloadCell(prefix, rec, tableMaxLocal)
		keys[i] = r.rowid
	}
	if fits(root, pageTableLeaf, cells) {
		w.writePage(root, pageTableLeaf, cells, 0)
		return nil
	}
	// Leaves, then levels of interior pages until one fits the root.
	var groups [][2]int // [first, end) of cells
	for start := 0; start < len(cells); {
		end, room := start, capacity(2, pageTableLeaf)
		for end < len(cells) && cellRoom(cells[end]) <= room {
			room -= cellRoom(cells[end])
			end++
		}
		groups = append(groups, [2]int{start, end})
		start = end
	}
	if len(groups) == 1 { // fits a page, not the root (page 1): two leaves
		if len(cells) < 2 {
			return fmt.Errorf("table %s: its one row does not fit on page 1", t.name)
		}
		groups = [][2]int{{0, len(cells) / 2}, {len(cells) / 2, len(cells)}}
	}
	children := make([]uint32, len(groups))
	maxKeys := make([]int64, len(groups))
	for i, g := range groups {
		children[i] = w.alloc()
		w.writePage(children[i], pageTableLeaf, cells[g[0]:g[1]], 0)
		maxKeys[i] = keys[g[1]-1]
	}
	for {
		icells := make([][]byte, len(children))
		for i := range children {
			icells[i] = appendVarint(binary.BigEndian.AppendUint32(nil, children[i]), uint64(maxKeys[i]))
		}
		if fits(root, pageTableInterior, icells[:len(icells)-1]) {
			w.writePage(root, pageTableInterior, icells[:len(icells)-1], children[len(children)-1])
			return nil
		}
		groups, err := interiorGroups(icells, root)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		var up []uint32
		var upKeys []int64
		for _, g := range groups {
			pg := w.alloc()
			w.writePage(pg, pageTableInterior, icells[g[0]:g[1]-1], children[g[1]-1])
			up = append(up, pg)
			upKeys = append(upKeys, maxKeys[g[1]-1])
		}
		children, maxKeys = up, upKeys
	}
}

// interiorGroups splits the children of a level of interior pages
// (icells[i] is the cell child i would have) into pages: each page
// [first, end) keeps the cells of its children but the last, which is
// its right child, and has at least one cell. For a table b-tree each
// child is one page; for an index b-tree the caller passes the cells of
// (child, separator) pairs, the last with no separator, and a page's last
// separator moves up a level.
func interiorGroups(icells [][]byte, root uint32) ([][2]int, error) {
	var groups [][2]int
	for start := 0; start < len(icells); {
		end, room := start+1, capacity(2, pageTableInterior)
		// Child end-1 is the right child; adding child end makes end-1 a cell.
		for end < len(icells) && cellRoom(icells[end-1]) <= room {
			room -= cellRoom(icells[end-1])
			end++
		}
		groups = append(groups, [2]int{start, end})
		start = end
	}
	n := len(groups)
	if n == 1 { // fits a page, not the root (page 1)
		if len(icells) < 4 {
			return nil, errors.New("an interior page does not fit on page 1")
		}
		mid := len(icells) / 2
		return [][2]int{{0, mid}, {mid, len(icells)}}, nil
	}
	if last := groups[n-1]; last[1]-last[0] == 1 {
		// A lone right child: the page before gives it its last child.
		prev := groups[n-2]
		if prev[1]-prev[0] < 3 {
			return nil, errors.New("cells too large for an interior page")
		}
		groups[n-2][1]--
		groups[n-1][0]--
	}
	return groups, nil
}

// index writes ix's b-tree with its root at page root: the entries in
// order, each in one place, on a leaf or as an interior page's separator.
func (w *writer) index(root uint32, ix *Index) error {
	entries := make([][]any, len(ix.table.rows))
	for i, r := range ix.table.rows {
		e := make([]any, 0, len(ix.cols)+1)
		for _, c := range ix.cols {
			e = append(e, r.vals[c])
		}
		entries[i] = append(e, r.rowid)
	}
	slices.SortFunc(entries, compareRecords)
	// An entry's cell without a child pointer, the same on a leaf and on
	// an interior page (the two keep the same payload on the page).
	bodies := make([][]byte, len(entries))
	for i, e := range entries {
		rec := record(e, nil)
		if len(rec) > maxPayload {
			return fmt.Errorf("index %s: an entry is too large (%d bytes)", ix.name, len(rec))
		}
		bodies[i] = w.payloadCell(appendVarint(nil, uint64(len(rec))), rec, indexMaxLocal)
	}
	if fits(root, pageIndexLeaf, bodies) {
		w.writePage(root, pageIndexLeaf, bodies, 0)
		return nil
	}
	// Leaves: fill one, the next entry separates it from the next leaf.
	var leaves [][][]byte
	var seps [][]byte
	var leaf [][]byte
	room := capacity(2, pageIndexLeaf)
	for _, b := range bodies {
		if cellRoom(b) <= room {
			leaf = append(leaf, b)
			room -= cellRoom(b)
			continue
		}
		leaves = append(leaves, leaf)
		seps = append(seps, b)
		leaf, room = nil, capacity(2, pageIndexLeaf)
	}
	if len(leaf) == 0 {
		// The last entry became a separator, with no leaf after it: it
		// makes the last leaf, and the leaf before gives its last entry
		// to separate the two (a full leaf holds at least four entries).
		n := len(leaves)
		prev := leaves[n-1]
		leaf = [][]byte{seps[n-1]}
		seps[n-1] = prev[len(prev)-1]
		leaves[n-1] = prev[:len(prev)-1]
	}
	leaves = append(leaves, leaf)
	children := make([]uint32, len(leaves))
	for i, l := range leaves {
		children[i] = w.alloc()
		w.writePage(children[i], pageIndexLeaf, l, 0)
	}
	for {
		if len(seps) != len(children)-1 {
			return fmt.Errorf("index %s: %d separators for %d children", ix.name, len(seps), len(children))
		}
		icells := make([][]byte, len(children))
		for i := range children {
			c := binary.BigEndian.AppendUint32(nil, children[i])
			if i < len(seps) {
				c = append(c, seps[i]...)
			}
			icells[i] = c
		}
		if fits(root, pageIndexInterior, icells[:len(icells)-1]) {
			w.writePage(root, pageIndexInterior, icells[:len(icells)-1], children[len(children)-1])
			return nil
		}
		groups, err := interiorGroups(icells, root)
		if err != nil {
			return fmt.Errorf("index %s: %w", ix.name, err)
		}
		var up []uint32
		var upSeps [][]byte
		for gi, g := range groups {
			pg := w.alloc()
			w.writePage(pg, pageIndexInterior, icells[g[0]:g[1]-1], children[g[1]-1])
			up = append(up, pg)
			if gi < len(groups)-1 {
				upSeps = append(upSeps, seps[g[1]-1])
			}
		}
		children, seps = up, upSeps
	}
}

// compareRecords orders records as SQLite does with the BINARY
// collation: NULL, then numbers, then text, then blobs; text and blobs
// byte by byte, a prefix first.
func compareRecords(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

func class(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case int64:
		return 1
	case string:
		return 2
	}
	return 3
}

func compareValues(a, b any) int {
	if c := cmp.Compare(class(a), class(b)); c != 0 {
		return c
	}
	switch a := a.(type) {
	case int64:
		return cmp.Compare(a, b.(int64))
	case string:
		return cmp.Compare(a, b.(string))
	case []byte:
		return bytes.Compare(a, b.([]byte))
	}
	return 0
}

// record appends vals in SQLite's record format to dst.
func record(vals []any, dst []byte) []byte {
	var types []byte
	bodyLen := 0
	for _, v := range vals {
		t, n := serialType(v)
		types = appendVarint(types, t)
		bodyLen += n
	}
	hl := len(types) + 1
	for varintLen(uint64(hl)) != hl-len(types) {
		hl++
	}
	dst = slices.Grow(dst, hl+bodyLen)
	dst = appendVarint(dst, uint64(hl))
	dst = append(dst, types...)
	for _, v := range vals {
		switch v := v.(type) {
		case int64:
			_, n := serialType(v)
			for i := n - 1; i >= 0; i-- {
				dst = append(dst, byte(v>>(8*i)))
			}
		case string:
			dst = append(dst, v...)
		case []byte:
			dst = append(dst, v...)
		}
	}
	return dst
}

// serialType is v's serial type and the length of its content.
func serialType(v any) (uint64, int) {
	switch v := v.(type) {
	case int64:
		switch {
		case v == 0:
			return 8, 0
		case v == 1:
			return 9, 0
		}
		u := v
		if u < 0 {
			u = ^u
		}
		switch {
		case u <= 127:
			return 1, 1
		case u <= 32767:
			return 2, 2
		case u <= 8388607:
			return 3, 3
		case u <= 2147483647:
			return 4, 4
		case u <= 0x7fffffffffff:
			return 5, 6
		}
		return 6, 8
	case string:
		return uint64(len(v))*2 + 13, len(v)
	case []byte:
		return uint64(len(v))*2 + 12, len(v)
	}
	return 0, 0
}

// appendVarint appends v as SQLite's big-endian variable-length integer:
// 7 bits a byte, the high bit set on all but the last, and a ninth byte
// of 8 bits when v needs more than 56.
func appendVarint(dst []byte, v uint64) []byte {
	if v>>56 != 0 {
		var b [9]byte
		b[8] = byte(v)
		v >>= 8
		for i := 7; i >= 0; i-- {
			b[i] = byte(v&0x7f) | 0x80
			v >>= 7
		}
		return append(dst, b[:]...)
	}
	var b [8]byte
	i := len(b) - 1
	b[i] = byte(v & 0x7f)
	for v >>= 7; v != 0; v >>= 7 {
		i--
		b[i] = byte(v&0x7f) | 0x80
	}
	return append(dst, b[i:]...)
}

func varintLen(v uint64) int { return len(appendVarint(nil, v)) }
