// Package bigbuf gives large, short-lived byte buffers (a Packages file
// decompressed whole) from memory of their own, asking the kernel for
// huge pages, and gives the memory back when freed: one fault per 2 MiB
// instead of one per 4 KiB page, which on virtual machines is most of the
// cost of touching fresh memory.
package bigbuf
