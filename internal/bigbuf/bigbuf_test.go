package bigbuf

import "testing"

// TestMake: buffers of every size come zeroed, at their length, and can
// be written to their end; freeing one does not disturb another.
func TestMake(t *testing.T) {
	var frees []func()
	var bufs [][]byte
	for _, n := range []int{0, 1, minSize - 1, minSize, minSize + 4097, 9 << 20} {
		b, free := Make(n)
		if len(b) != n {
			t.Fatalf("Make(%d): %d bytes", n, len(b))
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("Make(%d): byte %d is %d", n, i, c)
			}
		}
		for i := range b {
			b[i] = byte(i)
		}
		bufs = append(bufs, b)
		frees = append(frees, free)
	}
	frees[3]()
	frees[3] = nil
	for _, i := range []int{4, 5} {
		for j, c := range bufs[i] {
			if c != byte(j) {
				t.Fatalf("buffer %d changed at %d after another was freed", i, j)
			}
		}
	}
	for _, f := range frees {
		if f != nil {
			f()
		}
	}
	frees[0]() // freeing a small buffer twice is harmless
}
