// Package depcheck checks which of the module's packages another one
// depends on, directly or through others, as go-containerregistry's
// internal/depcheck does. Its test keeps the format-neutral packages free
// of the format packages (packages/deb, packages/rpm); another keeps every
// start of a program in internal/sandbox (and the tests' helpers).
package depcheck

import (
	"fmt"
	"go/build"
	"path/filepath"
	"slices"
	"strings"
)

// Module is the module path of this repository.
const Module = "github.com/distroless-dev/distroless"

// Deps returns the module-internal packages pkg depends on (its non-test
// imports, transitively), each with one import chain that leads to it;
// with tests, pkg's own test files' imports count too. root is the
// module's directory; pkg a module path such as Module+"/resolver".
func Deps(root, pkg string, tests bool) (map[string][]string, error) {
	chains := map[string][]string{pkg: {pkg}}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, Module), "/")))
		bp, err := build.Default.ImportDir(dir, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		imports := bp.Imports
		if tests && p == pkg {
			imports = slices.Concat(imports, bp.TestImports, bp.XTestImports)
		}
		for _, imp := range imports {
			if imp != Module && !strings.HasPrefix(imp, Module+"/") {
				continue
			}
			if _, seen := chains[imp]; seen {
				continue
			}
			chains[imp] = append(slices.Clone(chains[p]), imp)
			queue = append(queue, imp)
		}
	}
	delete(chains, pkg)
	return chains, nil
}
