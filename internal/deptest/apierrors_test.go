package deptest

import (
	"go/ast"
	"go/token"
	"regexp"
	"strconv"
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
	files := parseGoFiles(t, []string{"nomadlike/server/*.go", "nomadlike/state/*.go", "nomadlike/scheduler/*.go", "nomadlike/structs/*.go", "agent/http*.go"}, startupErrors)
	for _, f := range files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && cliCommandRE.MatchString(s) {
				t.Errorf("%s: %q names a CLI command: say it in the API's terms (endpoint, field) and add the command's hint in command/ (hintOn)",
					f.fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
	if len(files) < 50 {
		t.Fatalf("checked only %d files: the globs no longer match the layout", len(files))
	}
}
