package sqlitefile

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The tests read every file back with the sqlite3 command-line shell
// (scripts/test.sh installs it): its integrity check, and every row and
// column as SQLite itself decodes them.

func sqlite3(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Fatalf("sqlite3 is not installed (scripts/test.sh installs it): %v", err)
	}
	return p
}

// query runs sql on the database file with sqlite3 and returns its output.
func query(t testing.TB, file, sql string) string {
	t.Helper()
	cmd := exec.Command(sqlite3(t), "-bail", "-batch", "-readonly", file)
	cmd.Stdin = strings.NewReader(sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("sqlite3 %s: %v\n%s", sql, err, stderr.Bytes())
	}
	return string(out)
}

// spec is a table for the tests: rows of values, and indexes of columns.
type spec struct {
	name    string
	ncol    int
	rowids  []int64
	rows    [][]any
	indexes [][]int
}

func (s *spec) sql() string {
	var cols []string
	for i := range s.ncol {
		cols = append(cols, fmt.Sprintf("c%d", i))
	}
	return fmt.Sprintf("CREATE TABLE '%s' (%s)", s.name, strings.Join(cols, ", "))
}

func (s *spec) indexSQL(i int) (string, string) {
	name := fmt.Sprintf("%s_idx%d", s.name, i)
	var cols []string
	for _, c := range s.indexes[i] {
		cols = append(cols, fmt.Sprintf("c%d ASC", c))
	}
	return name, fmt.Sprintf("CREATE INDEX '%s' ON '%s'(%s)", name, s.name, strings.Join(cols, ", "))
}

// write lays out the specs as a database and writes it to a file.
func write(t testing.TB, specs []*spec) string {
	t.Helper()
	b := build(t, specs)
	again := build(t, specs)
	if !bytes.Equal(b, again) {
		t.Fatal("two layouts of the same tables differ")
	}
	if len(b)%PageSize != 0 {
		t.Fatalf("file of %d bytes", len(b))
	}
	p := filepath.Join(t.TempDir(), "test.sqlite")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t testing.TB, specs []*spec) []byte {
	t.Helper()
	var db DB
	for _, s := range specs {
		tb := db.CreateTable(s.name, s.sql(), s.ncol)
		for i, r := range s.rows {
			if err := tb.Insert(s.rowids[i], r...); err != nil {
				t.Fatal(err)
			}
		}
		for i := range s.indexes {
			name, sql := s.indexSQL(i)
			if _, err := db.CreateIndex(name, sql, tb, s.indexes[i]...); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := db.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// check reads the file back with sqlite3, in one run: the integrity
// check (which also checks every index against its table), the schema,
// every value of every row, and each index read in its own order against
// a sort by SQLite.
func check(t testing.TB, file string, specs []*spec) {
	t.Helper()
	var script strings.Builder
	var names, wants []string
	part := func(name, sql, want string) {
		fmt.Fprintf(&script, "SELECT '-- %d';\n%s\n", len(names), sql)
		names = append(names, name)
		wants = append(wants, want)
	}
	part("integrity_check", "PRAGMA integrity_check;", "ok\n")
	var schema strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&schema, "table|%s|%s|%s\n", s.name, s.name, s.sql())
		for i := range s.indexes {
			name, sql := s.indexSQL(i)
			fmt.Fprintf(&schema, "index|%s|%s|%s\n", name, s.name, sql)
		}
	}
	part("schema", "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid;", schema.String())
	for _, s := range specs {
		var sel []string
		for i := range s.ncol {
			sel = append(sel, fmt.Sprintf("typeof(c%d), hex(c%d)", i, i))
		}
		var want strings.Builder
		for i, r := range s.rows {
			want.WriteString(strconv.FormatInt(s.rowids[i], 10))
			for _, v := range r {
				switch v := v.(type) {
				case nil:
					want.WriteString("|null|")
				case int:
					fmt.Fprintf(&want, "|integer|%X", strconv.Itoa(v))
				case int64:
					fmt.Fprintf(&want, "|integer|%X", strconv.FormatInt(v, 10))
				case string:
					fmt.Fprintf(&want, "|text|%X", v)
				case []byte:
					fmt.Fprintf(&want, "|blob|%X", v)
				}
			}
			want.WriteString("\n")
		}
		part("table "+s.name, fmt.Sprintf("SELECT rowid, %s FROM '%s' ORDER BY rowid;", strings.Join(sel, ", "), s.name), want.String())
		for i, cols := range s.indexes {
			name, _ := s.indexSQL(i)
			var by []string
			for _, c := range cols {
				by = append(by, fmt.Sprintf("c%d", c))
			}
			order := strings.Join(by, ", ")
			var rowids strings.Builder
			for _, id := range s.rowids {
				fmt.Fprintf(&rowids, "%d\n", id)
			}
			part("count of index "+name, fmt.Sprintf("SELECT rowid FROM '%s' INDEXED BY '%s' ORDER BY rowid;", s.name, name), rowids.String())
			part("index "+name, fmt.Sprintf("SELECT rowid FROM '%s' INDEXED BY '%s' ORDER BY %s;", s.name, name, order),
				"SAME AS NEXT")
			part("sort of "+name, fmt.Sprintf("SELECT rowid FROM '%s' NOT INDEXED ORDER BY %s, rowid;", s.name, order), "")
		}
	}
	out := query(t, file, script.String())
	got := make([]string, len(names))
	for i := len(names) - 1; i >= 0; i-- {
		marker := fmt.Sprintf("-- %d\n", i)
		at := strings.LastIndex(out, marker)
		if at < 0 {
			t.Fatalf("no output for %s", names[i])
		}
		got[i] = out[at+len(marker):]
		out = out[:at]
	}
	for i, name := range names {
		want := wants[i]
		switch {
		case want == "SAME AS NEXT":
			want = got[i+1]
		case i > 0 && wants[i-1] == "SAME AS NEXT":
			continue
		}
		if got[i] != want {
			t.Fatalf("%s:\n%.2000s\nwant\n%.2000s", name, got[i], want)
		}
	}
}

func TestSmall(t *testing.T) {
	specs := []*spec{
		{name: "empty", ncol: 2, indexes: [][]int{{0}}},
		{name: "mixed", ncol: 3, indexes: [][]int{{0}, {1, 2}, {2}},
			rowids: []int64{1, 2, 3, 7, 100, 1 << 40, math.MaxInt64},
			rows: [][]any{
				{nil, 0, "a"},
				{1, -1, ""},
				{"text", 127, []byte{}},
				{[]byte{0, 1, 2}, 128, "b"},
				{math.MinInt64, math.MaxInt64, "a"},
				{-32769, 8388608, []byte("a")},
				{"", 1 << 47, "ä"},
			}},
	}
	f := write(t, specs)
	check(t, f, specs)
	if got := query(t, f, "PRAGMA page_size; PRAGMA journal_mode; PRAGMA encoding; PRAGMA freelist_count; PRAGMA user_version;"); got != "4096\ndelete\nUTF-8\n0\n0\n" {
		t.Errorf("pragmas: %q", got)
	}
	// The index orders as SQLite does: NULL, numbers, text, blobs.
	if got := query(t, f, "SELECT rowid FROM mixed INDEXED BY mixed_idx0 ORDER BY c0;"); got != "1\n100\n1099511627776\n2\n9223372036854775807\n3\n7\n" {
		t.Errorf("index order %q", got)
	}
}

// TestEmptyDB: no tables at all.
func TestEmptyDB(t *testing.T) {
	f := write(t, nil)
	if got := query(t, f, "PRAGMA integrity_check; SELECT count(*) FROM sqlite_schema;"); got != "ok\n0\n" {
		t.Fatalf("got %q", got)
	}
}

// TestLarge: thousands of rows, blobs from empty to 1 MiB, index keys that
// overflow, so that tables and indexes have interior pages on more than
// one level and long overflow chains.
func TestLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	blobs := &spec{name: "blobs", ncol: 2, indexes: [][]int{{0}}}
	sizes := []int{0, 1, 100, tableMaxLocal - 10, tableMaxLocal, tableMaxLocal + 1, 4096, usable - 4, 2 * usable, 100000, 1 << 20}
	for i := range 300 {
		n := r.IntN(3000)
		if i < len(sizes) {
			n = sizes[i]
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		blobs.rowids = append(blobs.rowids, int64(i+1))
		blobs.rows = append(blobs.rows, []any{nil, b})
	}
	keys := &spec{name: "keys", ncol: 3, indexes: [][]int{{0}, {1}}}
	for i := range 6000 {
		var k string
		switch i % 5 {
		case 0:
			k = strings.Repeat("k", indexMaxLocal+r.IntN(3000)) + strconv.Itoa(r.IntN(50)) // overflows
		case 1:
			k = ""
		default:
			k = fmt.Sprintf("/usr/lib/python3/%x/%d", r.IntN(1000), r.IntN(100))
		}
		keys.rowids = append(keys.rowids, int64(i+1))
		keys.rows = append(keys.rows, []any{k, r.IntN(1000), i % 7})
	}
	specs := []*spec{blobs, keys}
	f := write(t, specs)
	check(t, f, specs)
	depth := func(ix string) int {
		out := query(t, f, fmt.Sprintf("SELECT rootpage FROM sqlite_schema WHERE name = '%s';", ix))
		root, _ := strconv.Atoi(strings.TrimSpace(out))
		b, _ := os.ReadFile(f)
		d := 1
		for p := b[(root-1)*PageSize:]; p[0] == pageIndexInterior || p[0] == pageTableInterior; d++ {
			right := int(p[8])<<24 | int(p[9])<<16 | int(p[10])<<8 | int(p[11])
			p = b[(right-1)*PageSize:]
		}
		return d
	}
	if d := depth("keys_idx0"); d < 3 {
		t.Errorf("keys_idx0 is %d levels deep; the test wants at least 3", d)
	}
	if d := depth("keys"); d < 2 {
		t.Errorf("keys is %d levels deep", d)
	}
}

// TestSchemaSpansPages: more schema rows than page 1 holds, so the
// schema's root (page 1, 100 bytes smaller) is an interior page.
func TestSchemaSpansPages(t *testing.T) {
	var specs []*spec
	for i := range 60 {
		specs = append(specs, &spec{name: fmt.Sprintf("t%02d_%s", i, strings.Repeat("x", 80)), ncol: 1, indexes: [][]int{{0}},
			rowids: []int64{1}, rows: [][]any{{i}}})
	}
	f := write(t, specs)
	check(t, f, specs)
	b, _ := os.ReadFile(f)
	if b[100] != pageTableInterior {
		t.Fatalf("page 1 is of type %#x, not an interior page", b[100])
	}
}

// TestRandom: random tables, checked by sqlite3.
func TestRandom(t *testing.T) {
	n := 30
	if testing.Short() {
		n = 8
	}
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		specs := randomSpecs(r)
		f := write(t, specs)
		check(t, f, specs)
	}
}

func randomSpecs(r *rand.Rand) []*spec {
	var specs []*spec
	for ti := range 1 + r.IntN(4) {
		s := &spec{name: fmt.Sprintf("t%d", ti), ncol: 1 + r.IntN(3)}
		rowid := int64(r.IntN(5)) - 2
		nrows := r.IntN([]int{3, 50, 2000}[r.IntN(3)])
		for range nrows {
			rowid += 1 + int64(r.IntN([]int{1, 1000, 1 << 30}[r.IntN(3)]))
			vals := make([]any, s.ncol)
			for c := range vals {
				vals[c] = randomValue(r, nrows <= 50)
			}
			s.rowids = append(s.rowids, rowid)
			s.rows = append(s.rows, vals)
		}
		for range r.IntN(3) {
			cols := []int{r.IntN(s.ncol)}
			if s.ncol > 1 && r.IntN(2) == 0 {
				cols = append(cols, (cols[0]+1)%s.ncol)
			}
			s.indexes = append(s.indexes, cols)
		}
		specs = append(specs, s)
	}
	return specs
}

// randomValue is a value of a random type and size; large ones (up to 20
// kB) only if large (few rows), so that a database stays a few MB.
func randomValue(r *rand.Rand, large bool) any {
	sizes := []int{0, 1, 10, 500, 1500, 5000, 20000}
	if !large {
		sizes = sizes[:5]
	}
	size := func() int { return sizes[r.IntN(len(sizes))] + r.IntN(10) }
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return int64(r.Uint64()) >> r.IntN(64)
	case 2:
		return r.IntN(3) - 1
	case 3:
		b := make([]byte, size())
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	b := make([]byte, size())
	for i := range b {
		b[i] = "ab/é0"[r.IntN(5)]
	}
	return string(b) // text as bytes: SQLite keeps them as given
}

// FuzzLayout builds tables from random seeds and checks them with sqlite3.
func FuzzLayout(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(99), uint64(0))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		specs := randomSpecs(rand.New(rand.NewPCG(a, b)))
		check(t, write(t, specs), specs)
	})
}

func TestVarint(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want string
	}{
		{0, "00"}, {127, "7f"}, {128, "8100"}, {16383, "ff7f"}, {16384, "818000"},
		{1<<56 - 1, "ffffffffffffff7f"}, {1 << 56, "80c080808080808000"},
		{math.MaxUint64, "ffffffffffffffffff"},
	} {
		if got := hex.EncodeToString(appendVarint(nil, c.v)); got != c.want {
			t.Errorf("varint(%d) = %s, want %s", c.v, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		v := r.Uint64() >> r.IntN(64)
		if got, n := readVarint(appendVarint(nil, v)); got != v || n != varintLen(v) {
			t.Fatalf("varint %d read back as %d", v, got)
		}
	}
}

// readVarint decodes a varint as the format describes it.
func readVarint(b []byte) (uint64, int) {
	var v uint64
	for i := range 8 {
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return v<<8 | uint64(b[8]), 9
}

func TestRefused(t *testing.T) {
	var db DB
	tb := db.CreateTable("t", "CREATE TABLE t (a)", 1)
	if err := tb.Insert(5, 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.Insert(5, 1); err == nil {
		t.Error("a repeated rowid accepted")
	}
	if err := tb.Insert(4, 1); err == nil {
		t.Error("a smaller rowid accepted")
	}
	if err := tb.Insert(6, 1, 2); err == nil {
		t.Error("two values for one column accepted")
	}
	if err := tb.Insert(7, 1.5); err == nil {
		t.Error("a float accepted")
	}
	if _, err := db.CreateIndex("i", "CREATE INDEX i ON t(b)", tb, 1); err == nil {
		t.Error("an index of a missing column accepted")
	}
	if tb.LastRowid() != 5 {
		t.Errorf("last rowid %d", tb.LastRowid())
	}
}

// TestBoundaries: for every row count up to 160, a table and an index of
// keys of about 1000 bytes (four to a leaf, three or four to an interior
// page), so that every way the last leaf and the last interior page of a
// level can fall is laid out once; one database, one sqlite3 run.
func TestBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("161 databases through sqlite3: skipped with -short; the full test command runs it")
	}
	var specs []*spec
	for n := range 161 {
		s := &spec{name: fmt.Sprintf("b%d", n), ncol: 1, indexes: [][]int{{0}}}
		for i := range n {
			size := 990 + (i*37)%13
			if n%3 == 0 {
				size = 700 + (i*37)%300 // some leaves hold five
			}
			k := fmt.Sprintf("%06d", (i*7919)%1000003) + strings.Repeat("k", size)
			s.rowids = append(s.rowids, int64(i+1))
			s.rows = append(s.rows, []any{k})
		}
		specs = append(specs, s)
	}
	check(t, write(t, specs), specs)
}

// TestTableBoundaries: rows of one leaf each and rowids of nine-byte
// varints, 273 children to an interior page, for row counts that leave
// the last interior page of a level one child, or fill it exactly.
func TestTableBoundaries(t *testing.T) {
	var specs []*spec
	for _, n := range []int{273, 274, 275, 547} {
		s := &spec{name: fmt.Sprintf("t%d", n), ncol: 1}
		for i := range n {
			s.rowids = append(s.rowids, math.MaxInt64-int64(n-i))
			s.rows = append(s.rows, []any{bytes.Repeat([]byte{byte(i)}, 2100)})
		}
		specs = append(specs, s)
	}
	f := write(t, specs)
	check(t, f, specs)
	b, _ := os.ReadFile(f)
	for i, s := range specs {
		root := b[(i+1)*PageSize:] // roots are pages 2 to 5
		if root[0] != pageTableInterior {
			t.Fatalf("%s: root of type %#x", s.name, root[0])
		}
	}
}
