package ldcache

import "encoding/binary"

// Encode is encode in little-endian, for the external tests.
func Encode(entries []Entry, hwcapNames []string, generator string) []byte {
	return encode(binary.LittleEndian, entries, hwcapNames, generator)
}
