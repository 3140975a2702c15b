package deptest

import (
	"go/ast"
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
	files := parseGoFiles(t, []string{"nomadlike/state/*.go", "nomadlike/server/fsm*.go"}, nil)
	for _, file := range files {
		f, fset := file.ast, file.fset
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
	if len(files) == 0 {
		t.Fatal("found no FSM or state files to check")
	}
}
