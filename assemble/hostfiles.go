package assemble

// Files from the build host: a file or a directory tree copied into a
// layer, deterministically and without following anything out of it.

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// HostOptions say how HostFiles takes a host tree into the image.
type HostOptions struct {
	// UID and GID own every entry (default 0).
	UID, GID int
	// Mode, when not zero, is the permission bits of every regular file;
	// otherwise each keeps its own, less setuid and setgid.
	Mode fs.FileMode
}

// HostFiles lists the files that copy src (a file or a directory on the
// build host) to dest in the image: a file becomes dest, a directory's
// tree goes under dest. Regular files are read by the build (File.Source,
// within its size limits); their modification times are the host's,
// clamped as packaged files' are; directories and symlinks keep theirs
// too. A symlink inside the tree is kept as a link when it resolves
// inside the tree; an absolute link, one leading out of the tree, a
// dangling one, a loop, or a link to a directory above it (a cycle) is an
// error, as are devices, FIFOs, sockets and unreadable files. Errors name
// the host path. Nothing is read but the tree's metadata and the links.
func HostFiles(src, dest string, o HostOptions) ([]File, error) {
	if !path.IsAbs(dest) {
		return nil, fmt.Errorf("%s: destination %q must be an absolute path in the image", src, dest)
	}
	dest = path.Clean(dest)
	root, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	// src itself may be a link: take what it names.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	w := hostWalk{root: root, dest: dest, o: o}
	if !st.IsDir() {
		f, err := w.file(root, dest, st)
		if err != nil {
			return nil, err
		}
		return []File{f}, nil
	}
	if dest == "/" {
		return nil, fmt.Errorf("%s: a directory cannot replace the image's root; name a directory in it", src)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		ip := path.Join(dest, filepath.ToSlash(rel))
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		f, err := w.file(p, ip, info)
		if err != nil {
			return err
		}
		w.out = append(w.out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := w.checkCycles(); err != nil {
		return nil, err
	}
	sort.Slice(w.out, func(i, j int) bool { return w.out[i].Path < w.out[j].Path })
	return w.out, nil
}

type hostWalk struct {
	root, dest string
	o          HostOptions
	out        []File
	dirLinks   map[string]string // link → the directory it resolves to
}

// file is the File of host path p (info its lstat) at ip in the image.
func (w *hostWalk) file(p, ip string, info fs.FileInfo) (File, error) {
	f := File{Path: ip, UID: w.o.UID, GID: w.o.GID, MTime: max(info.ModTime().Unix(), 1)}
	perm := info.Mode().Perm()
	switch m := info.Mode(); {
	case m.IsRegular():
		r, err := OpenHostFile(p)
		if err != nil {
			return f, err
		}
		r.Close()
		f.Mode, f.Source, f.Size = perm, p, info.Size()
		if w.o.Mode != 0 {
			f.Mode = w.o.Mode.Perm()
		}
	case m.IsDir():
		f.Mode = fs.ModeDir | perm
		if m&fs.ModeSticky != 0 {
			f.Mode |= fs.ModeSticky
		}
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return f, err
		}
		if err := w.checkLink(p, target); err != nil {
			return f, err
		}
		f.Mode, f.Link = fs.ModeSymlink|0o777, target
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return f, fmt.Errorf("%s: a device file; only regular files, directories and symlinks can be copied", p)
	case m&fs.ModeNamedPipe != 0:
		return f, fmt.Errorf("%s: a FIFO; only regular files, directories and symlinks can be copied", p)
	case m&fs.ModeSocket != 0:
		return f, fmt.Errorf("%s: a socket; only regular files, directories and symlinks can be copied", p)
	default:
		return f, fmt.Errorf("%s: unsupported file type %v", p, m.Type())
	}
	return f, nil
}

// checkLink refuses a symlink that is absolute, leads out of the tree,
// dangles, loops, or names a directory above itself.
func (w *hostWalk) checkLink(p, target string) error {
	if filepath.IsAbs(target) {
		return fmt.Errorf("%s: a symlink to the absolute path %s; only relative links inside the tree are kept", p, target)
	}
	// Resolve it inside the tree, one component at a time, as the
	// kernel would, never looking outside the tree.
	cur, err := w.resolve(p, 0)
	if err != nil {
		return err
	}
	if cur == filepath.Dir(p) || strings.HasPrefix(filepath.Dir(p)+string(filepath.Separator), cur+string(filepath.Separator)) {
		if st, err := os.Stat(cur); err == nil && st.IsDir() {
			return fmt.Errorf("%s: a symlink to %s, a directory above it: a loop", p, target)
		}
	}
	if st, err := os.Stat(cur); err == nil && st.IsDir() {
		if w.dirLinks == nil {
			w.dirLinks = map[string]string{}
		}
		w.dirLinks[p] = cur
	}
	return nil
}

// checkCycles refuses links to directories that, followed, come back to
// themselves: a/x → ../b and b/y → ../a make a/x/y/x/y/… endless. A link
// L leads to every link under its target; a cycle of such steps is a
// loop.
func (w *hostWalk) checkCycles() error {
	links := make([]string, 0, len(w.dirLinks))
	for l := range w.dirLinks {
		links = append(links, l)
	}
	sort.Strings(links)
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(l string, path []string) error
	visit = func(l string, path []string) error {
		switch state[l] {
		case open:
			return fmt.Errorf("%s: symlinks to directories that lead back to it: a loop (%s)", l, strings.Join(append(path, l), " → "))
		case done:
			return nil
		}
		state[l] = open
		under := w.dirLinks[l] + string(filepath.Separator)
		for _, m := range links {
			if strings.HasPrefix(m, under) {
				if err := visit(m, append(path, l)); err != nil {
					return err
				}
			}
		}
		state[l] = done
		return nil
	}
	for _, l := range links {
		if err := visit(l, nil); err != nil {
			return err
		}
	}
	return nil
}

// resolve follows the link p inside the tree and returns the host path
// it leads to; hops counts the links followed so far.
func (w *hostWalk) resolve(p string, hops int) (string, error) {
	if hops > 40 {
		return "", fmt.Errorf("%s: too many levels of symlinks: a loop", p)
	}
	target, err := os.Readlink(p)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(target) {
		return "", fmt.Errorf("%s: a symlink to the absolute path %s; only relative links inside the tree are kept", p, target)
	}
	cur := filepath.Dir(p)
	for _, c := range strings.Split(filepath.ToSlash(target), "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if cur == w.root {
				return "", fmt.Errorf("%s: a symlink to %s, which leads out of the tree %s", p, target, w.root)
			}
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		st, err := os.Lstat(next)
		if err != nil {
			return "", fmt.Errorf("%s: a symlink to %s, which does not exist in the tree", p, target)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			if next, err = w.resolve(next, hops+1); err != nil {
				if strings.Contains(err.Error(), "a loop") {
					return "", fmt.Errorf("%s: too many levels of symlinks: a loop", p)
				}
				return "", fmt.Errorf("%s: a symlink to %s, through %w", p, target, err)
			}
		}
		cur = next
	}
	return cur, nil
}

// readSource reads a host file's content into the spool, within the
// build's size limits, refusing the file on its size before reading any
// of it.
func (b *build) readSource(f File) (content, error) {
	r, err := OpenHostFile(f.Source)
	if err != nil {
		return content{}, err
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil {
		return content{}, fmt.Errorf("%s: %w", f.Source, err)
	}
	n := st.Size()
	p := strings.TrimPrefix(f.Path, "/")
	if n > b.limits.file {
		return content{}, &LimitError{File: f.Source, Path: p, Size: n, Limit: b.limits.file}
	}
	if total := b.limits.total.Add(n); total > b.limits.image {
		return content{}, &LimitError{File: f.Source, Path: p, Size: n, Total: total, Limit: b.limits.image, Image: true}
	}
	c, err := b.spool.read(io.LimitReader(r, n), n)
	if err != nil {
		return content{}, fmt.Errorf("%s: %w (did it change while the build read it?)", f.Source, err)
	}
	return c, nil
}
