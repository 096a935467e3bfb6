package assemble

import (
	"debug/elf"
	"path"
)

// LibraryDirs is the dynamic loader's default search path for arch, as
// the library check uses it (absolute paths): libraryPath when given,
// else Debian's multiarch directories and /lib, /usr/lib. machine is the
// ELF machine of arch's programs; ok is false for an unknown arch.
func LibraryDirs(arch string, libraryPath []string) (dirs []string, machine elf.Machine, ok bool) {
	a, ok := arches[arch]
	if !ok {
		return nil, 0, false
	}
	if len(libraryPath) > 0 {
		for _, d := range libraryPath {
			dirs = append(dirs, path.Clean("/"+d))
		}
	} else {
		dirs = []string{"/lib/" + a.triplet, "/usr/lib/" + a.triplet, "/lib", "/usr/lib"}
	}
	return dirs, elf.Machine(a.machine), true
}
