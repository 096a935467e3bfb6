//go:build !linux

package assemble

// scratchDir is the system's temporary directory off Linux (where no
// program of an image is run).
func scratchDir(need int64) string { return "" }
