package python

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/distroless-dev/distroless/assemble"
)

// relPath is target relative to the directory base (both absolute).
func relPath(base, target string) string {
	b := strings.Split(strings.Trim(base, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	i := 0
	for i < len(b) && i < len(t) && b[i] == t[i] {
		i++
	}
	var parts []string
	for range b[i:] {
		parts = append(parts, "..")
	}
	return strings.Join(append(parts, t[i:]...), "/")
}

// shebang rewrites a "#!python" first line to the image's interpreter.
func (in *installer) shebang(data []byte) []byte {
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	l := string(bytes.TrimRight(line, "\r"))
	for _, p := range []string{"#!pythonw", "#!python"} {
		if args, ok := strings.CutPrefix(l, p); ok && (args == "" || args[0] == ' ') {
			return append([]byte("#!"+in.t.Interpreter+args+"\n"), rest...)
		}
	}
	return data
}

// entryPoints makes the scripts of console_scripts and gui_scripts.
func (in *installer) entryPoints(data []byte) ([]assemble.File, error) {
	var out []assemble.File
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "console_scripts" && section != "gui_scripts" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not NAME = MODULE:FUNCTION", i+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if j := strings.Index(v, "["); j >= 0 {
			v = strings.TrimSpace(v[:j]) // extras
		}
		mod, attr, _ := strings.Cut(v, ":")
		mod, attr = strings.TrimSpace(mod), strings.TrimSpace(attr)
		if !scriptName.MatchString(k) || !dotted.MatchString(mod) || (attr != "" && !dotted.MatchString(attr)) {
			return nil, fmt.Errorf("line %d: %q is not NAME = MODULE:FUNCTION", i+1, line)
		}
		var body string
		if attr == "" {
			body = fmt.Sprintf("import %s\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(%s())\n", mod, mod)
		} else {
			head, _, _ := strings.Cut(attr, ".")
			body = fmt.Sprintf("from %s import %s\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(%s())\n", mod, head, attr)
		}
		script := "#!" + in.t.Interpreter + "\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n" + body
		out = append(out, assemble.File{Path: path.Join(in.t.Prefix, "bin", k), Mode: 0o755, Data: []byte(script)})
	}
	return out, nil
}

var (
	scriptName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*$`)
	dotted     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)
