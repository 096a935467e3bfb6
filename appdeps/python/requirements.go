package python

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Requirement is one pinned line of a requirements file.
type Requirement struct {
	Name    string   // as written
	Version string   // the == pin
	Hashes  []string // sha256 hex digests, any of which the wheel must have
	Line    int
}

// reqLine is NAME[extras]==VERSION with optional options after it.
var reqLine = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[A-Za-z0-9._, -]*\])?\s*===?\s*([A-Za-z0-9.!+_-]+)$`)

// maxRequirements bounds a requirements file.
const maxRequirements = 4 << 20

// readRequirements reads a requirements file in which every requirement
// is pinned (==) with at least one --hash=sha256:HEX. Comments, blank
// lines and backslash continuations are allowed; anything else (another
// option, a URL, an environment marker, an unpinned requirement, another
// hash algorithm) is an error naming the file and line.
func readRequirements(file string) ([]Requirement, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) > maxRequirements {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxRequirements)
	}
	return parseRequirements(file, data)
}

func parseRequirements(file string, data []byte) ([]Requirement, error) {
	var reqs []Requirement
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxRequirements)
	n, start := 0, 0
	var logical strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		if logical.Len() == 0 {
			start = n
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			line = ""
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			logical.WriteString(s + " ")
			continue
		}
		logical.WriteString(line)
		text := strings.TrimSpace(logical.String())
		logical.Reset()
		if text == "" {
			continue
		}
		r, err := parseRequirement(text)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", file, start, err)
		}
		r.Line = start
		if at, ok := seen[normalize(r.Name)]; ok {
			return nil, fmt.Errorf("%s: line %d: %s is required on line %d already", file, start, r.Name, at)
		}
		seen[normalize(r.Name)] = start
		reqs = append(reqs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if logical.Len() > 0 {
		return nil, fmt.Errorf("%s: line %d: a continuation (\\) at the end of the file", file, start)
	}
	return reqs, nil
}

func parseRequirement(text string) (Requirement, error) {
	if strings.Contains(text, ";") {
		return Requirement{}, fmt.Errorf("%q: environment markers are not supported; list the requirements of the image's python only", text)
	}
	fields := strings.Fields(text)
	spec := fields[0]
	var opts []string
	for i := 1; i < len(fields); i++ {
		if strings.HasPrefix(fields[i], "-") {
			opts = fields[i:]
			break
		}
		spec += fields[i] // "name == 1.0"
	}
	if strings.HasPrefix(spec, "-") {
		return Requirement{}, fmt.Errorf("%q: option %s is not supported (only NAME==VERSION --hash=sha256:HEX lines; the index is a setting)", text, spec)
	}
	m := reqLine.FindStringSubmatch(spec)
	if m == nil {
		return Requirement{}, fmt.Errorf("%q is not pinned as NAME==VERSION (every requirement needs an exact version and its hashes, as pip install --require-hashes wants)", spec)
	}
	r := Requirement{Name: m[1], Version: m[3]}
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		val, ok := strings.CutPrefix(o, "--hash=")
		if !ok && o == "--hash" && i+1 < len(opts) {
			val, ok = opts[i+1], true
			i++
		}
		if !ok {
			return Requirement{}, fmt.Errorf("%s: option %s is not supported (only --hash=sha256:HEX)", r.Name, o)
		}
		h, ok := strings.CutPrefix(val, "sha256:")
		if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != 32 {
			return Requirement{}, fmt.Errorf("%s: --hash=%s is not sha256:<64 hex digits>", r.Name, val)
		}
		r.Hashes = append(r.Hashes, strings.ToLower(h))
	}
	if len(r.Hashes) == 0 {
		return Requirement{}, fmt.Errorf("%s==%s has no --hash=sha256:HEX (every requirement must be pinned with its hashes)", r.Name, r.Version)
	}
	return r, nil
}
