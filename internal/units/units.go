// Package units formats sizes for people, in one unit system for every
// message the command and its packages print: decimal (SI) units, B, kB,
// MB, GB, as disk and download sizes are usually given.
package units

import "fmt"

// Size formats a byte count: "512 B", "1.5 kB", "12.3 MB", "1.1 GB".
func Size(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
