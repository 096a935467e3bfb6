// Package ldcachetest reads an ld.so.cache back, for the tests that hold
// what internal/ldcache writes (and what glibc's ldconfig writes) to
// each other. It reads the format from glibc's sysdeps/generic/dl-cache.h
// on its own, without the writer's constants, so that a mistake in one
// does not hide in the other. Nothing outside tests imports it.
package ldcachetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/distroless-dev/distroless/internal/ldcache"
)

// Layout constants of glibc's dl-cache.h.
const (
	ldCacheMagicNew     = "glibc-ld.so.cache"
	ldCacheVersion      = "1.1"
	ldCacheMagicOld     = "ld.so-1.7.0"
	ldCacheHeaderLen    = 48 // struct cache_file_new
	ldCacheEntryLen     = 24 // struct file_entry_new
	ldCacheOldHeader    = 16 // struct cache_file (magic, nlibs)
	ldCacheOldEntry     = 12 // struct file_entry
	ldCacheExtMagic     = 0xeaa42174
	ldCacheEndianLittle = 2 // cache_file_new_flags_endian_little
	ldCacheEndianBig    = 3 // cache_file_new_flags_endian_big
	ldCacheExtGenerator = 0 // cache_extension_tag_generator
	ldCacheExtHwcaps    = 1 // cache_extension_tag_glibc_hwcaps
	hwcapExtension      = uint64(1) << 62
)

// Cache is a parsed ld.so.cache.
type Cache struct {
	Entries   []ldcache.Entry // in file order
	Generator string          // the generator extension; "" without one
	Flags     uint8           // the header's flags (endianness)
}

// Parse reads an ld.so.cache in glibc's new format, alone or
// after an old-format table (ldconfig -c compat), in the byte order its
// flags say (little-endian when they say none).
func Parse(b []byte) (*Cache, error) {
	var le binary.ByteOrder = binary.LittleEndian
	base := 0
	if bytes.HasPrefix(b, []byte(ldCacheMagicOld)) {
		if len(b) < ldCacheOldHeader {
			return nil, errors.New("ld.so.cache: truncated old-format header")
		}
		n := int(le.Uint32(b[12:]))
		if n < 0 || n > (len(b)-ldCacheOldHeader)/ldCacheOldEntry {
			return nil, errors.New("ld.so.cache: old-format entry count out of range")
		}
		base = (ldCacheOldHeader + n*ldCacheOldEntry + 7) &^ 7
	}
	if len(b) < base+ldCacheHeaderLen || string(b[base:base+20]) != ldCacheMagicNew+ldCacheVersion {
		return nil, errors.New("ld.so.cache: no glibc-ld.so.cache1.1 header")
	}
	h := b[base:]
	c := &Cache{Flags: h[28]}
	switch c.Flags & 3 {
	case 0, ldCacheEndianLittle:
	case ldCacheEndianBig:
		le = binary.BigEndian
	default:
		return nil, fmt.Errorf("ld.so.cache: flags %#x: no byte order", c.Flags)
	}
	n := int(le.Uint32(h[20:]))
	lenStrings := int(le.Uint32(h[24:]))
	if n < 0 || n > (len(h)-ldCacheHeaderLen)/ldCacheEntryLen {
		return nil, fmt.Errorf("ld.so.cache: %d entries do not fit in %d bytes", n, len(b))
	}
	if end := ldCacheHeaderLen + n*ldCacheEntryLen + lenStrings; lenStrings < 0 || end > len(h) {
		return nil, fmt.Errorf("ld.so.cache: string table (%d bytes) past the end of the file", lenStrings)
	}
	// String offsets count from the new header (cache.c: "the string
	// table always begins at the beginning of the new cache struct").
	str := func(o uint32) (string, error) {
		if int(o) >= len(h) {
			return "", fmt.Errorf("ld.so.cache: string offset %d out of range", o)
		}
		s := h[o:]
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			return "", fmt.Errorf("ld.so.cache: string at %d not terminated", o)
		}
		return string(s[:i]), nil
	}
	for i := range n {
		e := h[ldCacheHeaderLen+ldCacheEntryLen*i:]
		key, err := str(le.Uint32(e[4:]))
		if err != nil {
			return nil, err
		}
		val, err := str(le.Uint32(e[8:]))
		if err != nil {
			return nil, err
		}
		c.Entries = append(c.Entries, ldcache.Entry{Flags: int32(le.Uint32(e[0:])), Key: key, Value: val,
			OSVersion: le.Uint32(e[12:]), HWCap: le.Uint64(e[16:])})
	}
	// The extension directory; its offset counts from the file's start.
	if eo := int(le.Uint32(h[32:])); eo != 0 {
		if eo%4 != 0 || eo+8 > len(b) || eo < 0 {
			return nil, fmt.Errorf("ld.so.cache: extension offset %d out of range", eo)
		}
		if le.Uint32(b[eo:]) != ldCacheExtMagic {
			return nil, errors.New("ld.so.cache: bad extension magic")
		}
		count := int(le.Uint32(b[eo+4:]))
		if count < 0 || count > (len(b)-eo-8)/16 {
			return nil, errors.New("ld.so.cache: extension count out of range")
		}
		var hwcaps []string
		for i := range count {
			s := b[eo+8+16*i:]
			tag, so, sz := le.Uint32(s), uint64(le.Uint32(s[8:])), uint64(le.Uint32(s[12:]))
			if so+sz > uint64(len(b)) {
				return nil, errors.New("ld.so.cache: extension section past the end of the file")
			}
			switch tag {
			case ldCacheExtGenerator:
				c.Generator = string(b[so : so+sz])
			case ldCacheExtHwcaps:
				if so%4 != 0 || sz%4 != 0 {
					return nil, errors.New("ld.so.cache: misaligned glibc-hwcaps section")
				}
				for o := so; o < so+sz; o += 4 {
					n, err := str(le.Uint32(b[o:]) - uint32(base))
					if err != nil {
						return nil, err
					}
					hwcaps = append(hwcaps, n)
				}
			}
		}
		// dl_cache_hwcap_extension: only the extension bit set above the
		// ISA level bits.
		for i := range c.Entries {
			e := &c.Entries[i]
			if (e.HWCap>>32)&^0x3ff == hwcapExtension>>32 {
				if j := int(uint32(e.HWCap)); j < len(hwcaps) {
					e.HWCaps = hwcaps[j]
				} else {
					return nil, fmt.Errorf("ld.so.cache: %s: glibc-hwcaps index %d out of range", e.Value, j)
				}
			}
		}
	}
	return c, nil
}
