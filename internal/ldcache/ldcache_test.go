package ldcache

import (
	"encoding/binary"
	"reflect"
	"slices"
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

func TestParseLdCache(t *testing.T) {
	entries := []Entry{{Flags: 0x303, Key: "libz.so.1", Value: "/lib/x86_64-linux-gnu/libz.so.1"}}
	b := Encode(entries, nil, "gen")
	c, err := Parse(b)
	if err != nil || !reflect.DeepEqual(c.Entries, entries) || c.Generator != "gen" {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	// The layout, field by field (dl-cache.h).
	le := binary.LittleEndian
	if string(b[:20]) != "glibc-ld.so.cache1.1" || le.Uint32(b[20:]) != 1 || b[28] != 2 {
		t.Errorf("header % x", b[:48])
	}
	strOff := uint32(48 + 24)
	lenStrings := le.Uint32(b[24:])
	ext := le.Uint32(b[32:])
	if ext != (strOff+lenStrings+3)&^3 || le.Uint32(b[ext:]) != 0xeaa42174 || le.Uint32(b[ext+4:]) != 1 {
		t.Errorf("extension at %d: % x", ext, b[ext:])
	}
	if le.Uint32(b[48+4:]) != strOff+uint32(len("/lib/x86_64-linux-gnu/")) || le.Uint32(b[48+8:]) != strOff {
		t.Errorf("key/value offsets % x", b[48:72])
	}
	if len(b) != int(ext)+24+3 || le.Uint32(b[ext+16:]) != ext+24 || string(b[ext+24:]) != "gen" {
		t.Errorf("generator section % x", b[ext:])
	}
	// Old-format compat prefix (ldconfig -c compat): the new cache after
	// it, 8-aligned, string offsets from the new header.
	old := make([]byte, 16+12*2)
	copy(old, "ld.so-1.7.0")
	le.PutUint32(old[12:], 2)
	withoutExt := slices.Clone(b)
	le.PutUint32(withoutExt[32:], 0)
	if c2, err := Parse(append(old, withoutExt...)); err != nil || !reflect.DeepEqual(c2.Entries, entries) {
		t.Errorf("compat cache: %+v %v", c2, err)
	}
	for _, bad := range [][]byte{nil, []byte("glibc-ld.so.cache1.0"), b[:40], b[:60]} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(% x) succeeded", bad)
		}
	}
	if e := Encode(nil, nil, Generator); len(e) != 48+24+len(Generator) {
		t.Errorf("empty cache: %d bytes", len(e))
	}
}
