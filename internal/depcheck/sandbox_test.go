package depcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// runsPrograms are the packages, and the functions of packages, that
// start a program.
var runsPrograms = map[string][]string{
	"os/exec":               nil, // any use
	"os":                    {"StartProcess"},
	"syscall":               {"Exec", "ForkExec", "StartProcess"},
	"golang.org/x/sys/unix": {"Exec"},
}

// programRunners are the module's only packages (outside tests and
// testdata) allowed to start a program: the sandbox, through which every
// program of an image goes, and the helpers of tests.
var programRunners = []string{"internal/sandbox", "internal/clitest", "internal/registrytest", "packages/rpm/rpmtest"}

// TestOneSandbox: outside internal/sandbox (and the tests' helpers), no
// code of the module starts a program, so that a program of an image can
// only run in the sandbox: a new generator that runs one must go through
// it.
func TestOneSandbox(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") && rel != "." || slices.Contains(programRunners, filepath.ToSlash(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local name -> import path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if _, ok := runsPrograms[path]; !ok {
				continue
			}
			name := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if runsPrograms[path] == nil {
				t.Errorf("%s imports %s: only %v may start programs (an image's program runs in internal/sandbox)", rel, path, programRunners)
			}
			names[name] = path
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok {
				if path, ok := names[x.Name]; ok && slices.Contains(runsPrograms[path], sel.Sel.Name) {
					t.Errorf("%s:%d uses %s.%s: only %v may start programs (an image's program runs in internal/sandbox)",
						rel, fset.Position(sel.Pos()).Line, path, sel.Sel.Name, programRunners)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files under %s; is the module root right?", files, root)
	}
}
