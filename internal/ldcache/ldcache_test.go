package ldcache

import (
	"testing"
)

func TestLdCacheLibcmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{
		{"libc.so.6", "libc.so.6", 0},
		{"libc.so.6", "libc.so.10", -1}, // numerically
		{"libz.so.1", "libzstd.so.1", -1},
		{"libfoo.so", "libfoo.so.1", -1},
		{"lib2.so", "liba.so", 1}, // a digit sorts after anything else
		{"liba.so", "lib2.so", -1},
		{"libA.so", "liba.so", -1},
		{"libssl.so.3", "libsqlite3.so.0", 1},
	} {
		got := ldCacheLibcmp(tc.a, tc.b, true)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("libcmp(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.sign)
		}
	}
	// Bytes above 0x7f: a C char is signed on x86-64, unsigned on aarch64.
	if ldCacheLibcmp("lib\xe9", "liba", true) >= 0 || ldCacheLibcmp("lib\xe9", "liba", false) <= 0 {
		t.Error("libcmp ignores char signedness")
	}
}

func TestFinalizeStrings(t *testing.T) {
	strs := []string{"/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6", "/lib/libm.so.6", "libm.so.6", "libc.so.6", "bc.so.6", "zzz"}
	table, off := finalizeStrings(strs)
	if len(off) != 6 {
		t.Fatalf("%d distinct strings, want 6: %v", len(off), off)
	}
	for s, o := range off {
		if got := string(table[o : int(o)+len(s)]); got != s || table[int(o)+len(s)] != 0 {
			t.Errorf("%q at %d reads %q", s, o, got)
		}
	}
	// Suffixes share the bytes of the longer string.
	if off["libc.so.6"] != off["/lib/x86_64-linux-gnu/libc.so.6"]+uint32(len("/lib/x86_64-linux-gnu/")) || off["bc.so.6"] != off["libc.so.6"]+2 {
		t.Errorf("no tail merging: %v", off)
	}
	// Three strings of their own: the table holds them and nothing else.
	want := len("zzz") + len("/lib/x86_64-linux-gnu/libc.so.6") + len("/lib/libm.so.6") + 3
	if len(table) != want {
		t.Errorf("table of %d bytes, want %d: %q", len(table), want, table)
	}
	// Sorted by reversed bytes, descending: "zzz" first.
	if off["zzz"] != 0 {
		t.Errorf("zzz at %d", off["zzz"])
	}
	if table2, _ := finalizeStrings(nil); len(table2) != 0 {
		t.Errorf("empty table %q", table2)
	}
}
