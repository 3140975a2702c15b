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

// forbiddenInApply are calls that make FSM apply or a state-store write
// depend on the node that runs it: the time, randomness, new IDs. They belong
// in the endpoint that builds the Raft entry (STYLE.md, practice 5).
var forbiddenInApply = map[string]map[string]bool{
	"time":    {"Now": true, "Since": true, "Until": true},
	"rand":    nil, // every function of math/rand and math/rand/v2
	"uuid":    nil,
	"structs": {"GenerateUUID": true},
}

// TestFSMAndStateAreDeterministic fails when FSM apply code or the state
// store calls the clock, a random source or an ID generator.
func TestFSMAndStateAreDeterministic(t *testing.T) {
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(thisFile)))
	var files []string
	for _, pattern := range []string{"nomadlike/state/*.go", "nomadlike/server/fsm*.go"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	checked := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		checked++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			funcs, listed := forbiddenInApply[pkg.Name]
			if listed && (funcs == nil || funcs[sel.Sel.Name]) {
				t.Errorf("%s: %s.%s in FSM/state code: put the value into the Raft entry in the endpoint instead, so every server applies the same thing",
					fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("found no FSM or state files to check")
	}
}
