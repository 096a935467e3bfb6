//go:build !linux

package assemble

func swapDirs(a, b string) error { return swapByRename(a, b) }
