package deptest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// cliCommandRE matches a string naming one of our CLI commands: "`nomadlike
// job ...", "'nomadlike node ...", "(nomadlike operator ...", or a bare
// "`job history`".
var cliCommandRE = regexp.MustCompile("[`'(](nomadlike )?(job|node|alloc|deployment|eval|operator|server|service|acl|namespace|var|tls|system|monitor|event) [a-z]")

// startupErrors are the files whose messages an operator reads when the
// agent fails to start (printed by the agent command, never an API reply):
// they may name the commands that fix the data dir or the config.
var startupErrors = map[string]bool{
	"nomadlike/server/serf.go":        true, // server.encrypt in the agent config
	"nomadlike/server/raft.go":        true, // a damaged Raft log at startup
	"nomadlike/server/raft_verify.go": true,
	"nomadlike/server/server_id.go":   true,
}

// TestAPIErrorsNameNoCLICommand fails when the cluster core or the HTTP
// layer puts one of our CLI's commands into a message: the API's users
// (the official Go client, the UI, scripts) do not have our CLI, so errors
// there say what and where in the API's terms, and command/ adds which
// command fixes it (hintOn).
func TestAPIErrorsNameNoCLICommand(t *testing.T) {
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(thisFile)))
	var files []string
	for _, pattern := range []string{"nomadlike/server/*.go", "nomadlike/state/*.go", "nomadlike/scheduler/*.go", "nomadlike/structs/*.go", "agent/http*.go"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	checked := 0
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		if strings.HasSuffix(path, "_test.go") || startupErrors[filepath.ToSlash(rel)] {
			continue
		}
		checked++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && cliCommandRE.MatchString(s) {
				t.Errorf("%s: %q names a CLI command: say it in the API's terms (endpoint, field) and add the command's hint in command/ (hintOn)",
					fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: the globs no longer match the layout", checked)
	}
}
