package distroless

// CPython's own regression tests, for the modules that exercise the
// runtime, in the python3 image next to a full Debian root filesystem of
// the same packages (mmdebstrap). The whole suite, both versions, is
// scripts/cpython-suite.sh.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

const suiteRunner = "testdata/python/cpython_suite.py"

// suiteModules touch what an image has or lacks: the C extensions and the
// libraries behind them, files (time zones, MIME types, services, CA
// certificates, locales), users, processes, signals and sockets. The
// slowest (test_socket, test_asyncio.test_events, test_threading,
// test_zipimport: minutes on two cores) are left to the script.
var suiteModules = []string{
	"test_ssl", "test_sqlite3", "test_ctypes", "test_zoneinfo", "test_locale", "test_codecs", "test_os",
	"test_asyncio.test_subprocess", "test_asyncio.test_unix_events", "test_asyncio.test_streams",
	"test_zipfile", "test_tarfile", "test_email", "test_json", "test_decimal", "test_hashlib", "test_zlib", "test_bz2",
	"test_lzma", "test_gzip", "test_zipapp", "test_shutil", "test_unicodedata", "test_datetime",
	"test_time", "test_strptime", "test_logging", "test_tempfile", "test_pathlib", "test_glob", "test_posixpath",
	"test_subprocess", "test_signal", "test_selectors", "test_pwd", "test_grp", "test_resource",
	"test_sys", "test_sysconfig", "test_site", "test_platform", "test_uuid", "test_mimetypes", "test_urllib",
	"test_httplib", "test_hmac", "test_random", "test_csv", "test_re", "test_struct", "test_io", "test_importlib",
	"test_pickle", "test_xml_etree", "test_tomllib", "test_c_locale_coercion", "test_utf8_mode", "test_readline",
	"test_curses", "test_getpass", "test_fcntl", "test_mmap",
}

// shellCases lists the test cases left out of both runs: those that
// need /bin/sh, which the image has not by design (see the file).
const shellCases = "testdata/python/shell_cases.txt"

func ignoreArgs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(shellCases)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			args = append(args, "-i", line)
		}
	}
	if len(args) == 0 {
		t.Fatalf("%s lists no test case", shellCases)
	}
	return args
}

// suiteResult parses the RESULT line the runner prints last.
func suiteResult(t *testing.T, what, stdout, stderr string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var m map[string]string
			if err := json.Unmarshal([]byte(rest), &m); err != nil {
				t.Fatalf("%s: %v: %s", what, err, rest)
			}
			return m
		}
	}
	t.Fatalf("%s: no RESULT line\nstdout:\n%s\nstderr:\n%s", what, clitest.Tail(stdout, 20), clitest.Tail(stderr, 60))
	return nil
}

var suiteBad = map[string]bool{"failed": true, "crashed": true, "timeout": true, "env_changed": true}

// TestCPythonSuite: each module that passes in full Debian passes in the
// python3 image (trixie) built with the testsuite package added (the
// shell's cases left out of both). Both run with podman, no network, as
// UID 65532.
func TestCPythonSuite(t *testing.T) {
	integration(t)
	if os.Geteuid() != 0 {
		t.Fatal("mmdebstrap's root mode needs root")
	}
	p := newPodman(t)
	mmdebstrap := needTool(t, "mmdebstrap")
	script, err := os.ReadFile(suiteRunner)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// podman names an image run from oci:DIR after DIR, which must be
	// lowercase: t.TempDir's name is not.
	shared, err := sharedDir()
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(shared, "cpython-suite")
	stdout, stderr, code, err := runBin("", "gen", "python3", "--distro", "debian:trixie", "--add", "libpython3.13-testsuite",
		"--cache-dir", testCache, "--json", "-o", "oci:"+layout+":suite")
	if err != nil || code != 0 {
		t.Fatalf("gen: exit %d, %v\n%s", code, err, clitest.Tail(stderr, 30))
	}
	var res pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Packages {
		n, _, _ := strings.Cut(p, "=")
		names = append(names, n)
	}

	// The full root filesystem, installed by apt and dpkg with maintainer
	// scripts, while the image runs its tests.
	mirrors, err := distro.ResolveMirrors(distro.Mirrors{}, "/")
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	mmdone := make(chan error, 1)
	finished := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer func() {
		cancel()
		<-finished // before t.TempDir's removal
	}()
	go func() {
		defer close(finished)
		cmd := exec.CommandContext(ctx, mmdebstrap, "--quiet", "--variant=apt", "--include="+strings.Join(names, ","), "trixie", full,
			"deb "+mirrors.Archive+" trixie main", "deb "+mirrors.Archive+" trixie-updates main", "deb "+mirrors.Security+" trixie-security main")
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("mmdebstrap: %v\n%s", err, clitest.Tail(string(out), 30))
		}
		mmdone <- err
	}()

	ignore := ignoreArgs(t)
	common := []string{"run", "--rm", "--network=none", "--workdir", "/tmp", "-e", "HOME=/tmp", "-e", "LANG=C.UTF-8", "--user", "65532:65532"}
	type output struct {
		where          string
		stdout, stderr string
		code           int
		took           time.Duration
	}
	runSuite := func(where []string, mods []string) output {
		start := time.Now()
		args := append(append(append([]string{}, common...), where...), "-c", string(script), "-j3")
		args = append(append(args, ignore...), mods...)
		stdout, stderr, code := p.run(t, 15*time.Minute, args...)
		return output{strings.Join(where, " "), stdout, stderr, code, time.Since(start).Round(time.Second)}
	}
	// result is a run's RESULT; the runner exits 0 once it has printed
	// one, whatever the modules did, so another exit is a failed run.
	result := func(o output) map[string]string {
		t.Helper()
		if o.code != 0 {
			t.Fatalf("%s: the runner exited %d\nstdout:\n%s\nstderr:\n%s", o.where, o.code, clitest.Tail(o.stdout, 20), clitest.Tail(o.stderr, 60))
		}
		return suiteResult(t, o.where, o.stdout, o.stderr)
	}
	run := func(where []string, mods []string) (map[string]string, string) {
		o := runSuite(where, mods)
		return result(o), o.stderr
	}
	// The image's run starts at once; full Debian's when mmdebstrap is
	// done. Both are mostly waiting (timeouts, child processes, sockets),
	// so they share the machine well.
	image := []string{"oci:" + layout + ":suite"}
	imageRun := make(chan output, 1)
	go func() { imageRun <- runSuite(image, suiteModules) }()
	if err := <-mmdone; err != nil {
		<-imageRun
		t.Fatal(err)
	}
	fo := runSuite([]string{"--rootfs", full, "/usr/bin/python3.13"}, suiteModules)
	ir := <-imageRun
	t.Logf("image: %v, full Debian: %v", ir.took, fo.took)
	got, imageLog := result(ir), ir.stderr
	want := result(fo)
	// The reference must have run: a full Debian where the suite crashed
	// or found nothing would leave nothing to compare. (59 of the 62
	// modules pass there; test_ctypes and test_sysconfig look for gcc,
	// test_curses is resource-denied.)
	wantOK := 0
	for _, m := range suiteModules {
		if want[m] == "ok" {
			wantOK++
		}
	}
	if min := len(suiteModules) - 6; wantOK < min {
		t.Fatalf("full Debian: %d of %d modules ok, want at least %d: %v\n%s", wantOK, len(suiteModules), min, want, clitest.Tail(fo.stderr, 100))
	}

	var only []string
	counts := map[string]int{}
	for _, m := range suiteModules {
		g, w := got[m], want[m]
		counts[g]++
		if g == w || w != "ok" || (!suiteBad[g] && g != "skipped" && g != "resource_denied") {
			continue
		}
		only = append(only, m)
	}
	t.Logf("image results: %v", counts)
	if len(only) > 0 {
		// Once more, alone, before calling it: a loaded machine makes
		// some tests flaky.
		again, againLog := run(image, only)
		var still []string
		for _, m := range only {
			if again[m] != "ok" {
				still = append(still, m+" ("+got[m]+", then "+again[m]+")")
			}
		}
		sort.Strings(still)
		if len(still) > 0 {
			t.Errorf("pass in full Debian, not in the image: %s\n%s\n%s", strings.Join(still, ", "), clitest.Tail(imageLog, 200), clitest.Tail(againLog, 200))
		}
	}
}
