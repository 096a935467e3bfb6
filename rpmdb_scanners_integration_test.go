package distroless

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// rpmScannersList checks that syft, trivy (offline) and grype (an empty
// vulnerability database) each list exactly the packages want from the
// rpm database of the image flattened at root.
func rpmScannersList(t *testing.T, root string, want []string) {
	t.Helper()
	tools := scanners(t)
	run := func(name string, env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(tools, name), args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, stderrOf(err))
		}
		return out
	}
	var bom struct {
		Components []struct{ Type, Name, Purl string }
	}
	names := func(name string, out []byte, keep func(typ, purl string) bool) []string {
		t.Helper()
		bom.Components = nil
		if err := json.Unmarshal(out, &bom); err != nil {
			t.Fatalf("%s output: %v\n%s", name, err, clitest.Tail(string(out), 20))
		}
		var got []string
		for _, c := range bom.Components {
			if keep(c.Type, c.Purl) {
				got = append(got, c.Name)
			}
		}
		return got
	}
	rpmPurl := func(_, purl string) bool { return strings.HasPrefix(purl, "pkg:rpm/") }

	out := run("syft", os.Environ(), "scan", "dir:"+root, "-q", "-o", "cyclonedx-json")
	if d := setDiff(want, names("syft", out, rpmPurl)); d != "" {
		t.Errorf("syft's packages differ from the rpm database's:\n%s", d)
	}
	out = run("trivy", os.Environ(), "rootfs", "--quiet", "--cache-dir", t.TempDir(), "--offline-scan",
		"--skip-db-update", "--skip-java-db-update", "--format", "cyclonedx", root)
	// The test distro's os-release is one trivy does not know: it lists
	// the rpm database's packages as libraries without purls.
	if d := setDiff(want, names("trivy", out, func(typ, _ string) bool { return typ == "library" })); d != "" {
		t.Errorf("trivy's packages differ from the rpm database's:\n%s", d)
	}
	dbRoot, dbDir := t.TempDir(), t.TempDir()
	if out, err := exec.Command(filepath.Join(tools, "grype-emptydb"), dbDir).CombinedOutput(); err != nil {
		t.Fatalf("grype-emptydb: %v\n%s", err, out)
	}
	env := append(os.Environ(), "GRYPE_DB_CACHE_DIR="+dbRoot, "GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false", "GRYPE_DB_REQUIRE_UPDATE_CHECK=false")
	run("grype", env, "db", "import", filepath.Join(dbDir, "vulnerability.db"))
	out = run("grype", env, "-q", "dir:"+root, "-o", "cyclonedx-json")
	if d := setDiff(want, names("grype", out, rpmPurl)); d != "" {
		t.Errorf("grype's packages differ from the rpm database's:\n%s", d)
	}
}
