package acl

import (
	"strings"
	"testing"
)

func mustCompile(t *testing.T, rules ...string) *ACL {
	t.Helper()
	var ps []*Policy
	for i, r := range rules {
		p, err := Parse("p"+string(rune('0'+i)), r)
		if err != nil {
			t.Fatalf("parse %q: %v", r, err)
		}
		ps = append(ps, p)
	}
	return Compile(ps)
}

func TestNamespaceCapabilities(t *testing.T) {
	tests := []struct {
		name  string
		rules []string
		ns    string
		cap   string
		want  bool
	}{
		{"read grants read-job", []string{`namespace "default" { policy = "read" }`}, "default", "read-job", true},
		{"read grants list-jobs", []string{`namespace "default" { policy = "read" }`}, "default", "list-jobs", true},
		{"read does not grant submit-job", []string{`namespace "default" { policy = "read" }`}, "default", "submit-job", false},
		{"write grants submit-job", []string{`namespace "web" { policy = "write" }`}, "web", "submit-job", true},
		{"write grants alloc-exec", []string{`namespace "web" { policy = "write" }`}, "web", "alloc-exec", true},
		{"write does not grant alloc-node-exec", []string{`namespace "web" { policy = "write" }`}, "web", "alloc-node-exec", false},
		{"explicit alloc-node-exec", []string{`namespace "web" { capabilities = ["alloc-node-exec"] }`}, "web", "alloc-node-exec", true},
		{"other namespace denied", []string{`namespace "web" { policy = "write" }`}, "default", "read-job", false},
		{"scale grants scale-job", []string{`namespace "web" { policy = "scale" }`}, "web", "scale-job", true},
		{"scale does not grant submit-job", []string{`namespace "web" { policy = "scale" }`}, "web", "submit-job", false},
		{"capabilities add to policy", []string{`namespace "web" {
  policy = "read"
  capabilities = ["alloc-lifecycle"]
}`}, "web", "alloc-lifecycle", true},
		{"glob matches", []string{`namespace "prod-*" { policy = "read" }`}, "prod-api", "read-job", true},
		{"glob does not match", []string{`namespace "prod-*" { policy = "read" }`}, "dev-api", "read-job", false},
		{"exact wins over glob", []string{`namespace "*" { policy = "write" }
namespace "secret" { policy = "read" }`}, "secret", "submit-job", false},
		{"longest glob wins", []string{`namespace "*" { policy = "write" }
namespace "*-web" { policy = "deny" }`}, "production-web", "read-job", false},
		{"star applies elsewhere", []string{`namespace "*" { policy = "write" }
namespace "*-web" { policy = "deny" }`}, "api", "submit-job", true},
		{"policies add up", []string{`namespace "a" { policy = "read" }`, `namespace "a" { capabilities = ["submit-job"] }`}, "a", "submit-job", true},
		{"deny wins across policies", []string{`namespace "a" { policy = "write" }`, `namespace "a" { policy = "deny" }`}, "a", "read-job", false},
		{"deny capability wins", []string{`namespace "a" { capabilities = ["read-job", "deny"] }`}, "a", "read-job", false},
		{"json policy", []string{`{"namespace": {"default": {"policy": "write"}}}`}, "default", "submit-job", true},
		{"variables block accepted", []string{`namespace "a" {
  policy = "read"
  variables {
    path "x/*" { capabilities = ["read"] }
  }
}`}, "a", "read-job", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustCompile(t, tt.rules...)
			if got := a.AllowNamespaceOp(tt.ns, tt.cap); got != tt.want {
				t.Fatalf("AllowNamespaceOp(%q, %q) = %v, want %v", tt.ns, tt.cap, got, tt.want)
			}
		})
	}
}

func TestCoarseRules(t *testing.T) {
	tests := []struct {
		name        string
		rules       []string
		kind, level string
		want        bool
	}{
		{"node read allows read", []string{`node { policy = "read" }`}, Node, PolicyRead, true},
		{"node read refuses write", []string{`node { policy = "read" }`}, Node, PolicyWrite, false},
		{"node write allows read", []string{`node { policy = "write" }`}, Node, PolicyRead, true},
		{"absent refuses read", []string{`agent { policy = "write" }`}, Node, PolicyRead, false},
		{"deny wins", []string{`operator { policy = "write" }`, `operator { policy = "deny" }`}, Operator, PolicyRead, false},
		{"strongest wins", []string{`agent { policy = "read" }`, `agent { policy = "write" }`}, Agent, PolicyWrite, true},
		{"plugin list", []string{`plugin { policy = "list" }`}, Plugin, PolicyList, true},
		{"plugin list refuses read", []string{`plugin { policy = "list" }`}, Plugin, PolicyRead, false},
		{"quota read", []string{`quota { policy = "read" }`}, Quota, PolicyRead, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustCompile(t, tt.rules...)
			if got := a.Allow(tt.kind, tt.level); got != tt.want {
				t.Fatalf("Allow(%q, %q) = %v, want %v", tt.kind, tt.level, got, tt.want)
			}
		})
	}
}

func TestHostVolumeAndNodePool(t *testing.T) {
	a := mustCompile(t, `host_volume "shared-*" { policy = "read" }
host_volume "scratch" { capabilities = ["mount-readwrite"] }
node_pool "gpu" { policy = "write" }`)
	for _, c := range []struct {
		got, want bool
		what      string
	}{
		{a.AllowHostVolume("shared-data", "mount-readonly"), true, "glob read"},
		{a.AllowHostVolume("shared-data", "mount-readwrite"), false, "glob read refuses rw"},
		{a.AllowHostVolume("scratch", "mount-readwrite"), true, "explicit rw"},
		{a.AllowHostVolume("other", "mount-readonly"), false, "unlisted"},
		{a.AllowNodePool("gpu", "delete"), true, "pool write"},
		{a.AllowNodePool("cpu", "read"), false, "other pool"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestManagementAndDenyAll(t *testing.T) {
	if !ManagementACL.AllowNamespaceOp("any", "alloc-node-exec") || !ManagementACL.Allow(Operator, PolicyWrite) {
		t.Fatal("management must allow everything")
	}
	if DenyAll.AllowNamespaceOp("default", "read-job") || DenyAll.Allow(Node, PolicyRead) || DenyAll.AllowNamespace("default") {
		t.Fatal("an empty ACL must allow nothing")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, rules, want string }{
		{"empty", "", "has no rules"},
		{"bad policy", `namespace "a" { policy = "admin" }`, `policy "admin" is not one of deny, read, write, scale`},
		{"bad capability", `namespace "a" { capabilities = ["launch"] }`, `unknown capability "launch"`},
		{"bad node level", `node { policy = "scale" }`, `node policy "scale" is not one of deny, read, write`},
		{"unknown block", `jobs { policy = "read" }`, `Unsupported block type`},
		{"syntax", `namespace "a" {`, `p.hcl:1`},
		{"position", "\n\nnamespace \"a\" { capabilities = [\"nope\"] }", `p.hcl:3`},
		{"capabilities not list", `namespace "a" { capabilities = "read-job" }`, `capabilities must be a list`},
		{"too big", strings.Repeat("#", MaxPolicyBytes+1), "more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p", tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, n string
		want bool
	}{{"*", "x", true}, {"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "abbc", true}, {"a*c", "abcd", false}, {"a*b*c", "axbxc", true}, {"ab", "ab", true}} {
		if got := globMatch(c.p, c.n); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.p, c.n, got, c.want)
		}
	}
}
