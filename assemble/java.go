package assemble

// Generators for Java runtimes: what the postinst scripts of Debian's
// openjdk-N-jre-headless and ca-certificates-java would have done, done
// in Go. Profiles name them in their generate: list.

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/internal/trust"
)

func init() {
	registerGenerator("java-alternatives", javaAlternatives)
	registerGenerator("java-cacerts", javaCACerts)
	// Made again from the bundle when a later layer changes it.
	registerRerun("java-cacerts", javaCACerts, caBundlePath)
}

// Where the JVMs live, and where the Java trust store goes: the path
// every Debian JVM's lib/security/cacerts links to.
const (
	jvmDir           = "/usr/lib/jvm"
	javaCACertsPath  = "/etc/ssl/certs/java/cacerts"
	javaSystemPrefs  = "/etc/.java/.systemPrefs"
	alternativesDir  = "/etc/alternatives"
	javaCommandsDir  = "/usr/bin"
	javaLibjvmServer = "server/libjvm.so"
)

// javaAlternatives makes the links update-alternatives would have made for
// the image's JVM, and what the JRE's postinst creates besides:
//
//   - /usr/bin/TOOL → /etc/alternatives/TOOL → /usr/lib/jvm/HOME/bin/TOOL
//     for every executable in the JVM's bin/ (java, keytool, …), unless
//     the image already has /usr/bin/TOOL;
//   - /etc/.java/.systemPrefs with its two lock files (java.util.prefs);
//   - HOME/lib/libjvm.so → server/libjvm.so. The launcher loads
//     lib/server/libjvm.so (as jvm.cfg says) before any other library of
//     the JVM; those name it as libjvm.so with a $ORIGIN run path, and the
//     loader matches the copy already loaded by its soname. The link gives
//     the name a file at $ORIGIN too, so that every DT_NEEDED resolves
//     through the loader's search path, as the image's library check
//     requires, without changing which file the JVM loads.
//
// A JVM is a directory /usr/lib/jvm/HOME with an executable bin/java (the
// java-1.N.0-… alias links are not homes). With several, the one whose
// .jinfo file gives the highest priority wins, as with update-alternatives;
// ties go to the greatest name. No JVM is an error.
func javaAlternatives(f imageFS) ([]File, error) {
	img, err := scanJava(f)
	if err != nil {
		return nil, err
	}
	if len(img.homes) == 0 {
		return nil, fmt.Errorf("no JVM in the image: no executable %s/*/bin/java", jvmDir)
	}
	homes := slices.Clone(img.homes)
	sort.SliceStable(homes, func(i, j int) bool {
		pi, pj := img.priority[path.Base(homes[i])], img.priority[path.Base(homes[j])]
		if pi != pj {
			return pi > pj
		}
		return homes[i] > homes[j]
	})
	home := homes[0]

	var out []File
	for _, tool := range img.tools[home] {
		cmd := path.Join(javaCommandsDir, tool)
		if img.paths[cmd] {
			continue
		}
		alt := path.Join(alternativesDir, tool)
		out = append(out,
			File{Path: alt, Mode: fs.ModeSymlink | 0o777, Link: path.Join(home, "bin", tool)},
			File{Path: cmd, Mode: fs.ModeSymlink | 0o777, Link: alt})
	}
	out = append(out,
		File{Path: "/etc/.java", Mode: fs.ModeDir | 0o755},
		File{Path: javaSystemPrefs, Mode: fs.ModeDir | 0o755},
		File{Path: javaSystemPrefs + "/.system.lock", Mode: 0o644},
		File{Path: javaSystemPrefs + "/.systemRootModFile", Mode: 0o644})
	for _, h := range img.homes {
		jvm, link := path.Join(h, "lib", javaLibjvmServer), path.Join(h, "lib", "libjvm.so")
		if img.paths[jvm] && !img.paths[link] {
			out = append(out, File{Path: link, Mode: fs.ModeSymlink | 0o777, Link: javaLibjvmServer})
		}
	}
	return out, nil
}

// javaImage is what javaAlternatives needs to know of the image.
type javaImage struct {
	homes    []string            // JVM homes, sorted
	tools    map[string][]string // home → executables in its bin/, sorted
	priority map[string]int      // home's base name → .jinfo priority
	paths    map[string]bool     // every path of the image
}

func scanJava(f imageFS) (*javaImage, error) {
	img := &javaImage{tools: map[string][]string{}, priority: map[string]int{}, paths: map[string]bool{}}
	var jinfos []string
	err := f.Walk(func(p string, mode fs.FileMode, _ string) error {
		img.paths[p] = true
		rest, ok := strings.CutPrefix(p, jvmDir+"/")
		if !ok {
			return nil
		}
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) == 1 && strings.HasPrefix(rest, ".") && strings.HasSuffix(rest, ".jinfo") && mode.IsRegular():
			jinfos = append(jinfos, p)
		case len(parts) == 3 && parts[1] == "bin" && mode.IsRegular() && mode&0o111 != 0:
			home := path.Join(jvmDir, parts[0])
			img.tools[home] = append(img.tools[home], parts[2])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for h, ts := range img.tools {
		if !slices.Contains(ts, "java") {
			delete(img.tools, h)
			continue
		}
		sort.Strings(ts)
		img.homes = append(img.homes, h)
	}
	sort.Strings(img.homes)
	// A .jinfo file (what update-java-alternatives reads) gives the name=
	// of a home and its priority=.
	for _, p := range jinfos {
		b, err := f.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name, prio := "", 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			switch {
			case !ok:
			case k == "name":
				name = v
			case k == "priority":
				prio, _ = strconv.Atoi(v)
			}
		}
		if name != "" {
			img.priority[name] = prio
		}
	}
	return img, nil
}

// javaCACerts writes the Java trust store, /etc/ssl/certs/java/cacerts,
// from the image's CA bundle (/etc/ssl/certs/ca-certificates.crt, which
// the build makes in the layer of ca-certificates): what
// ca-certificates-java's hook, run by Java in its postinst, would have
// made. See trust.JavaTrustStore for the format.
func javaCACerts(f imageFS) ([]File, error) {
	bundle, err := f.ReadFile(caBundlePath)
	if err != nil {
		return nil, fmt.Errorf("no CA bundle to make the Java trust store from (the profile must extend static, whose ca-certificates the bundle is built from): %w", err)
	}
	data, n, err := trust.JavaTrustStore(bundle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caBundlePath, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no certificates", caBundlePath)
	}
	return []File{
		{Path: path.Dir(javaCACertsPath), Mode: fs.ModeDir | 0o755},
		{Path: javaCACertsPath, Mode: 0o644, Data: data},
	}, nil
}
