package units

import "testing"

func TestSize(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1536, "1.5 kB"},
		{999_949, "999.9 kB"},
		{1_000_000, "1.0 MB"},
		{12_345_678, "12.3 MB"},
		{1_000_000_000, "1.0 GB"},
		{-5, "-5 B"},
	} {
		if got := Size(c.n); got != c.want {
			t.Errorf("Size(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
