package rpm

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
)

// TestPackageDBAgainstSQLite writes the rpm database of every package of
// the test repositories and has SQLite itself (the sqlite3 shell, which
// scripts/test.sh installs) build the same database from rpm's own
// statements: CREATE TABLE IF NOT EXISTS as rpm's sqlite backend issues
// them, then one INSERT per row in rpm's order. The two must pass
// SQLite's integrity check and dump to the same SQL: schema, rows, rowids
// and sqlite_sequence.
func TestPackageDBAgainstSQLite(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Fatalf("sqlite3 is not installed (scripts/test.sh installs it): %v", err)
	}
	fx := needFixture(t)
	var names []string
	for n := range fx.RPMs {
		names = append(names, n)
	}
	sort.Strings(names)
	var in []packages.Installed
	var hdrs []*rpmHeaders
	for _, n := range names {
		in = append(in, packages.Installed{Pkg: &packages.Package{Name: n, Arch: "x86_64"}, File: fx.RPMs[n]})
		f, err := os.Open(fx.RPMs[n])
		if err != nil {
			t.Fatal(err)
		}
		h, err := readHeaders(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
	}
	created := time.Unix(1700000000, 0)
	out, err := Payload{}.PackageDB(in, created)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.sqlite")
	if err := os.WriteFile(ours, out[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}

	// rpm's statements, from rpm's sqlite backend (lib/backend/sqlite.c).
	var sql strings.Builder
	sql.WriteString("BEGIN;\n")
	sql.WriteString("CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL);\n")
	for _, ix := range rpmdbIndexes {
		typ := "TEXT"
		if ix.blob {
			typ = "BLOB"
		}
		fmt.Fprintf(&sql, "CREATE TABLE IF NOT EXISTS '%s' (key '%s' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));\n", ix.name, typ)
		if ix.keyIdx {
			fmt.Fprintf(&sql, "CREATE INDEX IF NOT EXISTS '%s_key_idx' ON '%s'(key ASC);\n", ix.name, ix.name)
		}
		if ix.hnumIdx {
			fmt.Fprintf(&sql, "CREATE INDEX IF NOT EXISTS '%s_hnum_idx' ON '%s'(hnum ASC);\n", ix.name, ix.name)
		}
	}
	lit := func(v any) string {
		switch v := v.(type) {
		case string:
			return "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case []byte:
			return fmt.Sprintf("X'%X'", v)
		}
		t.Fatalf("key of type %T", v)
		return ""
	}
	tid := uint32(created.Unix())
	rows := 0
	for i, h := range hdrs {
		blob, err := installedBlob(h, tid)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sql, "INSERT INTO 'Packages' VALUES (%d, X'%X');\n", i+1, blob)
		for _, ix := range rpmdbIndexes {
			keys, err := indexKeys(h, ix.tag, ix.uniqueOnly, tid, binary.LittleEndian)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				fmt.Fprintf(&sql, "INSERT INTO '%s' VALUES (%s, %d, %d);\n", ix.name, lit(k.key), i+1, k.idx)
				rows++
			}
		}
	}
	sql.WriteString("COMMIT;\n")
	if rows < 400 {
		t.Fatalf("only %d index rows: the test wants indexes of several pages", rows)
	}
	ref := filepath.Join(dir, "sqlite.sqlite")
	run := func(file, input string, args ...string) string {
		t.Helper()
		cmd := exec.Command(sqlite3, append([]string{"-bail", "-batch", file}, args...)...)
		cmd.Stdin = strings.NewReader(input)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3 %s: %v\n%.2000s", file, err, b)
		}
		return string(b)
	}
	run(ref, sql.String())
	if got := run(ours, "PRAGMA integrity_check;\n"); got != "ok\n" {
		t.Fatalf("integrity_check: %s", got)
	}
	want := run(ref, ".dump\n")
	got := run(ours, ".dump\n")
	if got != want {
		t.Fatalf("the database dumps differently from SQLite's (%d and %d bytes of SQL)", len(got), len(want))
	}
	if !strings.Contains(got, fmt.Sprintf("INSERT INTO sqlite_sequence VALUES('Packages',%d);", len(hdrs))) {
		t.Errorf("no sqlite_sequence row for Packages")
	}

	// No packages: the tables, empty.
	out, err = Payload{}.PackageDB(nil, created)
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.sqlite")
	os.WriteFile(empty, out[0].Data, 0o644)
	schema := "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid;\n"
	if got, want := run(empty, "PRAGMA integrity_check; SELECT count(*) FROM Packages; SELECT count(*) FROM sqlite_sequence;\n"+schema), "ok\n0\n0\n"+run(ref, schema); got != want {
		t.Errorf("empty database: %q", got)
	}
}
