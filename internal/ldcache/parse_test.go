package ldcache_test

import (
	"encoding/binary"
	"reflect"
	"slices"
	"testing"

	"github.com/distroless-dev/distroless/internal/ldcache"
	"github.com/distroless-dev/distroless/internal/ldcache/ldcachetest"
)

// TestParseLdCache holds the encoder and the tests' reader to each other
// and to glibc's layout, field by field.
func TestParseLdCache(t *testing.T) {
	entries := []ldcache.Entry{{Flags: 0x303, Key: "libz.so.1", Value: "/lib/x86_64-linux-gnu/libz.so.1"}}
	b := ldcache.Encode(entries, nil, "gen")
	c, err := ldcachetest.Parse(b)
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
	if c2, err := ldcachetest.Parse(append(old, withoutExt...)); err != nil || !reflect.DeepEqual(c2.Entries, entries) {
		t.Errorf("compat cache: %+v %v", c2, err)
	}
	for _, bad := range [][]byte{nil, []byte("glibc-ld.so.cache1.0"), b[:40], b[:60]} {
		if _, err := ldcachetest.Parse(bad); err == nil {
			t.Errorf("Parse(% x) succeeded", bad)
		}
	}
	if e := ldcache.Encode(nil, nil, ldcache.Generator); len(e) != 48+24+len(ldcache.Generator) {
		t.Errorf("empty cache: %d bytes", len(e))
	}
}
