package deptest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goFile is one parsed non-test Go file of the repository.
type goFile struct {
	rel  string // path from the repository root, with slashes
	ast  *ast.File
	fset *token.FileSet
}

// parseGoFiles parses the non-test Go files matching patterns (globs from
// the repository root), leaving out the relative paths in skip.
func parseGoFiles(t *testing.T, patterns []string, skip map[string]bool) []goFile {
	t.Helper()
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(thisFile)))
	var out []goFile
	for _, pattern := range patterns {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range m {
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if strings.HasSuffix(path, "_test.go") || skip[rel] {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			out = append(out, goFile{rel: rel, ast: f, fset: fset})
		}
	}
	return out
}
