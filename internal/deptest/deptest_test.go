// Package deptest enforces DESIGN.md's dependency direction: each package of
// the project may import only the project packages listed for it. It runs in
// `make lint`, so a forbidden import fails the build, not a review.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/nomadlike/nomadlike"

// allowed maps a package prefix (relative to the module) to the project
// prefixes it may import. The longest matching prefix wins. Test files are
// not checked (tests may reach across, e.g. to build a real agent).
var allowed = map[string][]string{
	"nomadlike/structs":   {},
	"nomadlike/acl":       {"nomadlike/structs"},
	"nomadlike/state":     {"nomadlike/structs"},
	"nomadlike/scheduler": {"nomadlike/structs", "nomadlike/scheduler"},
	"nomadlike/server":    {"nomadlike/structs", "nomadlike/acl", "nomadlike/state", "nomadlike/scheduler", "nomadlike/server"},
	"nomadlike/api":       {"nomadlike/structs", "nomadlike/tlsutil"},
	"nomadlike/tlsutil":   {},
	"nomadlike/client":    {"nomadlike/structs", "nomadlike/api", "nomadlike/client", "drivers"},
	"drivers":             {"nomadlike/structs", "drivers"},
	"jobspec":             {"nomadlike/structs"},
	"ui":                  {},
	"agent": {"nomadlike/structs", "nomadlike/acl", "nomadlike/state", "nomadlike/server", "nomadlike/client",
		"nomadlike/api", "nomadlike/tlsutil", "drivers", "jobspec", "ui", "agent"},
	"command":  {"nomadlike/structs", "nomadlike/api", "nomadlike/tlsutil", "jobspec", "agent", "command"},
	"internal": {},
	"scripts":  {"nomadlike/structs", "nomadlike/api"},
	// The node simulator runs the client's protocol code (client.Session).
	"scripts/nodesim": {"nomadlike/structs", "nomadlike/api", "nomadlike/client"},
	// The corpus check runs the job spec parser (make corpus).
	"scripts/nomadcorpus": {"nomadlike/structs", "jobspec"},
	"e2e":                 {"nomadlike/structs", "nomadlike/api"},
	"":                    {"command", "drivers/supervisor"}, // main
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r, true
	}
	return "", false
}

func hasPrefix(p, prefix string) bool {
	return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/")
}

func rule(p string) (string, []string) {
	best, found := "", false
	for prefix := range allowed {
		if hasPrefix(p, prefix) && (!found || len(prefix) > len(best)) {
			best, found = prefix, true
		}
	}
	return best, allowed[best]
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		n++
		prefix, okList := rule(from)
		for _, imp := range p.Imports {
			to, ours := rel(imp)
			if !ours || hasPrefix(to, from) && from != "" {
				continue
			}
			permitted := false
			for _, a := range okList {
				if hasPrefix(to, a) {
					permitted = true
					break
				}
			}
			if !permitted {
				t.Errorf("%s imports %s: DESIGN.md's dependency direction forbids it (rule %q allows %v)", p.ImportPath, imp, prefix, okList)
			}
		}
	}
	if n == 0 {
		t.Fatal("go list returned no packages of the module")
	}
}
