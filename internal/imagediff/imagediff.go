package imagediff

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fileEntry is what a layer says of a path.
type fileEntry struct {
	typ, mode, owner, link, digest string
	size                           int64
}

func (f fileEntry) String() string {
	s := fmt.Sprintf("%s %s %s %d bytes", f.typ, f.mode, f.owner, f.size)
	if f.link != "" {
		s += " → " + f.link
	}
	if f.digest != "" {
		s += " " + f.digest
	}
	return s
}

// maxDiffRead bounds what is read of one layer to compare it.
const maxDiffRead = 4 << 30

// layerFiles lists a layer's entries by path.
func layerFiles(l v1.Layer) (map[string]fileEntry, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(io.LimitReader(rc, maxDiffRead))
	files := map[string]fileEntry{}
	for len(files) < 1_000_000 {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		e := fileEntry{mode: fmt.Sprintf("%04o", h.Mode&0o7777), owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid), size: h.Size}
		switch h.Typeflag {
		case tar.TypeReg:
			e.typ = "file"
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return nil, err
			}
			e.digest = "sha256:" + hex.EncodeToString(sum.Sum(nil))
		case tar.TypeDir:
			e.typ = "dir"
		case tar.TypeSymlink:
			e.typ, e.link = "symlink", h.Linkname
		case tar.TypeLink:
			e.typ, e.link = "hardlink", h.Linkname
		case tar.TypeChar, tar.TypeBlock:
			e.typ = fmt.Sprintf("device %d,%d", h.Devmajor, h.Devminor)
		case tar.TypeFifo:
			e.typ = "fifo"
		default:
			e.typ = fmt.Sprintf("type %q", h.Typeflag)
		}
		files["/"+strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = e
	}
	return files, nil
}

// maxListed bounds the files listed of one layer.
const maxListed = 50

// diffImages says how the published image differs from the rebuilt one:
// layer by layer (and, in a layer that differs, file by file: path,
// type, mode, owner, size, content digest), then the config's fields,
// then the manifest's annotations and media types.
func Images(pub, reb v1.Image) ([]string, error) {
	var out []string
	pl, err := pub.Layers()
	if err != nil {
		return nil, err
	}
	rl, err := reb.Layers()
	if err != nil {
		return nil, err
	}
	list := func(prefix string, files map[string]fileEntry) {
		paths := make([]string, 0, len(files))
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for i, p := range paths {
			if i == maxListed {
				out = append(out, fmt.Sprintf("  … and %d more", len(paths)-maxListed))
				break
			}
			out = append(out, fmt.Sprintf("  %s %s: %s", prefix, p, files[p]))
		}
	}
	for i := 0; i < len(pl) || i < len(rl); i++ {
		switch {
		case i >= len(rl):
			d, _ := pl[i].Digest()
			files, err := layerFiles(pl[i])
			if err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprintf("layer %d (%s): only in the image, %d entries", i+1, d, len(files)))
			list("+", files)
			continue
		case i >= len(pl):
			d, _ := rl[i].Digest()
			files, err := layerFiles(rl[i])
			if err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprintf("layer %d (%s): only in the rebuild, %d entries", i+1, d, len(files)))
			list("-", files)
			continue
		}
		pd, err := pl[i].DiffID()
		if err != nil {
			return nil, err
		}
		rd, err := rl[i].DiffID()
		if err != nil {
			return nil, err
		}
		if pd == rd {
			pc, _ := pl[i].Digest()
			rc, _ := rl[i].Digest()
			if pc != rc {
				out = append(out, fmt.Sprintf("layer %d: the same files, compressed differently (%s in the image, %s rebuilt)", i+1, pc, rc))
			}
			continue
		}
		out = append(out, fmt.Sprintf("layer %d: %s in the image, %s rebuilt (uncompressed)", i+1, pd, rd))
		pf, err := layerFiles(pl[i])
		if err != nil {
			return nil, err
		}
		rf, err := layerFiles(rl[i])
		if err != nil {
			return nil, err
		}
		paths := map[string]bool{}
		for p := range pf {
			paths[p] = true
		}
		for p := range rf {
			paths[p] = true
		}
		sorted := make([]string, 0, len(paths))
		for p := range paths {
			sorted = append(sorted, p)
		}
		sort.Strings(sorted)
		n := 0
		for _, p := range sorted {
			a, inPub := pf[p]
			b, inReb := rf[p]
			var line string
			switch {
			case !inReb:
				line = fmt.Sprintf("  + %s: only in the image: %s", p, a)
			case !inPub:
				line = fmt.Sprintf("  - %s: only in the rebuild: %s", p, b)
			case a != b:
				line = fmt.Sprintf("  ~ %s: %s in the image, %s rebuilt", p, a, b)
			default:
				continue
			}
			if n++; n > maxListed {
				continue
			}
			out = append(out, line)
		}
		if n > maxListed {
			out = append(out, fmt.Sprintf("  … and %d more", n-maxListed))
		}
	}

	// The config, field by field.
	pc, err := pub.ConfigFile()
	if err != nil {
		return nil, err
	}
	rc, err := reb.ConfigFile()
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"architecture", pc.Architecture, rc.Architecture}, {"os", pc.OS, rc.OS}, {"variant", pc.Variant, rc.Variant},
		{"created", pc.Created.UTC().String(), rc.Created.UTC().String()},
		{"config.User", pc.Config.User, rc.Config.User}, {"config.Env", pc.Config.Env, rc.Config.Env},
		{"config.Entrypoint", pc.Config.Entrypoint, rc.Config.Entrypoint}, {"config.Cmd", pc.Config.Cmd, rc.Config.Cmd},
		{"config.WorkingDir", pc.Config.WorkingDir, rc.Config.WorkingDir}, {"config.Labels", pc.Config.Labels, rc.Config.Labels},
		{"config.ExposedPorts", pc.Config.ExposedPorts, rc.Config.ExposedPorts}, {"config.Volumes", pc.Config.Volumes, rc.Config.Volumes},
		{"config.StopSignal", pc.Config.StopSignal, rc.Config.StopSignal},
		{"history", historyOf(pc.History), historyOf(rc.History)},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			out = append(out, fmt.Sprintf("config %s: %v in the image, %v rebuilt", f.name, f.a, f.b))
		}
	}
	if pc.RootFS.Type != rc.RootFS.Type {
		out = append(out, fmt.Sprintf("config rootfs.type: %s in the image, %s rebuilt", pc.RootFS.Type, rc.RootFS.Type))
	}
	// What else a config holds (fields this list does not name).
	if len(out) == 0 {
		pr, _ := pub.RawConfigFile()
		rr, _ := reb.RawConfigFile()
		if string(pr) != string(rr) {
			out = append(out, fmt.Sprintf("config: %d bytes in the image, %d rebuilt, the same in every field compared", len(pr), len(rr)))
		}
	}

	pm, err := pub.Manifest()
	if err != nil {
		return nil, err
	}
	rm, err := reb.Manifest()
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(pm.Annotations, rm.Annotations) {
		out = append(out, fmt.Sprintf("manifest annotations: %v in the image, %v rebuilt", pm.Annotations, rm.Annotations))
	}
	if pm.MediaType != rm.MediaType || pm.Config.MediaType != rm.Config.MediaType {
		out = append(out, fmt.Sprintf("manifest media types: %s/%s in the image, %s/%s rebuilt", pm.MediaType, pm.Config.MediaType, rm.MediaType, rm.Config.MediaType))
	}
	if len(out) == 0 {
		out = append(out, "the manifests differ in nothing compared (layer order, sizes or the manifest's own fields)")
	}
	return out, nil
}

func historyOf(h []v1.History) []string {
	var out []string
	for _, e := range h {
		out = append(out, fmt.Sprintf("%q empty=%v", e.CreatedBy, e.EmptyLayer))
	}
	return out
}
