package assemble

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/distroless-dev/distroless/internal/trust/trusttest"
)

func TestJavaCACertsGenerator(t *testing.T) {
	a := trusttest.CA(t, pkix.Name{CommonName: "A Root"}, 1)
	b := trusttest.CA(t, pkix.Name{CommonName: "B Root"}, 2)
	fx := newFixture()
	ca := fx.pkg("ca-certificates",
		regBytes("./usr/share/ca-certificates/mozilla/A_Root.crt", 0o644, trusttest.PEM(a)),
		regBytes("./usr/share/ca-certificates/mozilla/B_Root.crt", 0o644, trusttest.PEM(b)))
	static := layer("static", ca)
	static.Generate = []string{"ca-certificates"}
	java := layer("java", fx.pkg("jre", reg("./usr/lib/jvm/j/release", 0o644, "x")))
	java.Generate = []string{"java-cacerts"}
	img, _ := mustBuild(t, fx.spec(static, java))
	fsys := rootfs(t, img)
	f, ok := fsys["etc/ssl/certs/java/cacerts"]
	if !ok {
		t.Fatalf("no etc/ssl/certs/java/cacerts in %v", names(fsys))
	}
	if f.h.Mode&0o777 != 0o644 || f.h.Uid != 0 {
		t.Errorf("cacerts mode %o uid %d", f.h.Mode, f.h.Uid)
	}
	got, err := pkcs12.DecodeTrustStore(f.data, "")
	if err != nil || len(got) != 2 || !got[0].Equal(a) || !got[1].Equal(b) {
		t.Fatalf("cacerts holds %d certificates (%v), want A Root, B Root", len(got), err)
	}
	// The store is in the java layer, not the static one.
	ls, _ := img.Layers()
	for _, e := range layerFiles(t, ls[0]) {
		if strings.Contains(e.h.Name, "java") {
			t.Errorf("static layer has %s", e.h.Name)
		}
	}
	// Same inputs, same layer.
	img2, _ := mustBuild(t, fx.spec(static, java))
	if d1, d2 := layerDigests(t, img), layerDigests(t, img2); strings.Join(d1, ",") != strings.Join(d2, ",") {
		t.Errorf("two builds: layers %v and %v", d1, d2)
	}

	// Without the CA bundle the generator fails, saying so.
	fx2 := newFixture()
	lone := layer("java", fx2.pkg("jre", reg("./usr/lib/jvm/j/release", 0o644, "x")))
	lone.Generate = []string{"java-cacerts"}
	if _, _, err := Build(context.Background(), fx2.spec(lone)); err == nil || !strings.Contains(err.Error(), "no CA bundle") {
		t.Errorf("no bundle: %v", err)
	}
}

func TestJavaAlternativesGenerator(t *testing.T) {
	jre := func(fx *fixture, name, home, alias string, prio int) Unpack {
		h := "./usr/lib/jvm/" + home
		return fx.pkg(name,
			reg(h+"/bin/java", 0o755, "java"),
			reg(h+"/bin/keytool", 0o755, "keytool"),
			reg(h+"/bin/README", 0o644, "not a command"),
			reg(h+"/lib/server/libjvm.so", 0o644, "jvm"),
			reg(h+"/lib/libjava.so", 0o644, "java lib"),
			sym("./usr/lib/jvm/"+alias, home),
			reg("./usr/lib/jvm/."+alias+".jinfo", 0o644, fmt.Sprintf("name=%s\nalias=%s\npriority=%d\nsection=main\n\nhl java /usr/lib/jvm/%s/bin/java\n", home, alias, prio, home)))
	}
	t.Run("one", func(t *testing.T) {
		fx := newFixture()
		// Any architecture's name: the generator does not build it.
		l := layer("java17", jre(fx, "openjdk-17-jre-headless", "java-17-openjdk-arm64", "java-1.17.0-openjdk-arm64", 1711))
		l.Generate = []string{"java-alternatives"}
		fsys := buildFS(t, fx.spec(l))
		for p, want := range map[string]string{
			"usr/bin/java":             "/etc/alternatives/java",
			"etc/alternatives/java":    "/usr/lib/jvm/java-17-openjdk-arm64/bin/java",
			"usr/bin/keytool":          "/etc/alternatives/keytool",
			"etc/alternatives/keytool": "/usr/lib/jvm/java-17-openjdk-arm64/bin/keytool",
			"usr/lib/jvm/java-17-openjdk-arm64/lib/libjvm.so": "server/libjvm.so",
		} {
			e, ok := fsys[p]
			if !ok || e.h.Linkname != want {
				t.Errorf("%s: link %q (present %v), want %q", p, e.h.Linkname, ok, want)
			}
		}
		for _, p := range []string{"usr/bin/README", "etc/alternatives/README"} {
			if _, ok := fsys[p]; ok {
				t.Errorf("%s: not an executable, not linked", p)
			}
		}
		for _, p := range []string{"etc/.java/.systemPrefs/.system.lock", "etc/.java/.systemPrefs/.systemRootModFile"} {
			if e, ok := fsys[p]; !ok || e.h.Mode&0o777 != 0o644 || len(e.data) != 0 {
				t.Errorf("%s: present %v", p, ok)
			}
		}
	})
	t.Run("highest priority wins", func(t *testing.T) {
		fx := newFixture()
		// Another package already has /usr/bin/keytool: it stays.
		other := fx.pkg("other", reg("./usr/bin/keytool", 0o755, "mine"))
		l := layer("java", jre(fx, "a", "java-21-openjdk-amd64", "java-1.21.0-openjdk-amd64", 2111),
			jre(fx, "b", "java-17-openjdk-amd64", "java-1.17.0-openjdk-amd64", 1711), other)
		l.Generate = []string{"java-alternatives"}
		fsys := buildFS(t, fx.spec(l))
		if got := fsys["etc/alternatives/java"].h.Linkname; got != "/usr/lib/jvm/java-21-openjdk-amd64/bin/java" {
			t.Errorf("java → %s, want the priority 2111 JVM", got)
		}
		if e := fsys["usr/bin/keytool"]; string(e.data) != "mine" {
			t.Errorf("/usr/bin/keytool replaced: %+v", e.h)
		}
		for _, h := range []string{"java-21-openjdk-amd64", "java-17-openjdk-amd64"} {
			if fsys["usr/lib/jvm/"+h+"/lib/libjvm.so"].h == nil {
				t.Errorf("%s: no lib/libjvm.so link", h)
			}
		}
	})
	t.Run("no JVM", func(t *testing.T) {
		fx := newFixture()
		l := layer("java", fx.pkg("x", reg("./usr/lib/jvm/x/bin/keytool", 0o755, "k")))
		l.Generate = []string{"java-alternatives"}
		if _, _, err := Build(context.Background(), fx.spec(l)); err == nil || !strings.Contains(err.Error(), "no JVM") {
			t.Errorf("no JVM: %v", err)
		}
	})
}

func buildFS(t *testing.T, s Spec) map[string]tarFile {
	t.Helper()
	img, _ := mustBuild(t, s)
	return rootfs(t, img)
}
