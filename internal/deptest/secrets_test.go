package deptest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSecretsComparedInConstantTime fails when production code compares a
// secret (a name containing "secret") with == or != against anything but the
// empty string: the comparison's time tells an attacker how much of a guess
// was right. Use crypto/subtle (structs.SecretsEqual).
func TestSecretsComparedInConstantTime(t *testing.T) {
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(thisFile)))
	isSecret := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.Ident:
			return strings.Contains(strings.ToLower(x.Name), "secret")
		case *ast.SelectorExpr:
			return strings.Contains(strings.ToLower(x.Sel.Name), "secret")
		}
		return false
	}
	isEmpty := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Kind == token.STRING && (lit.Value == `""` || lit.Value == "``")
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n != "." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "e2e") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		checked++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			be, ok := n.(*ast.BinaryExpr)
			if !ok || (be.Op != token.EQL && be.Op != token.NEQ) {
				return true
			}
			if (isSecret(be.X) || isSecret(be.Y)) && !isEmpty(be.X) && !isEmpty(be.Y) {
				t.Errorf("%s: secret compared with %s: use structs.SecretsEqual (crypto/subtle, constant time)", fset.Position(be.Pos()), be.Op)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files under %s", checked, root)
	}
}
