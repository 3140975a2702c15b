package acl

import (
	"strings"
	"testing"
)

func TestVariablesRules(t *testing.T) {
	p, err := Parse("vars", `
namespace "default" {
  variables {
    path "project/*" { capabilities = ["read"] }
    path "project/secret" { capabilities = ["deny"] }
    path "shared/db" { capabilities = ["write", "destroy"] }
  }
}
namespace "prod-*" {
  policy = "read"
  variables {
    path "*" { capabilities = ["list"] }
  }
}
namespace "locked" {
  policy = "deny"
  variables {
    path "*" { capabilities = ["read"] }
  }
}`)
	if err != nil {
		t.Fatal(err)
	}
	a := Compile([]*Policy{p})
	cases := []struct {
		ns, path, c string
		want        bool
	}{
		{"default", "project/db", VariablesCapabilityRead, true},
		{"default", "project/db", VariablesCapabilityList, true}, // read gives list
		{"default", "project/db", VariablesCapabilityWrite, false},
		{"default", "project/secret", VariablesCapabilityRead, false},
		{"default", "shared/db", VariablesCapabilityWrite, true},
		{"default", "shared/db", VariablesCapabilityRead, false},
		{"default", "other", VariablesCapabilityRead, false},
		{"prod-eu", "anything", VariablesCapabilityList, true},
		{"prod-eu", "anything", VariablesCapabilityRead, false},
		{"locked", "x", VariablesCapabilityRead, false}, // a namespace deny wins
		{"elsewhere", "project/db", VariablesCapabilityRead, false},
	}
	for _, c := range cases {
		if got := a.AllowVariableOp(c.ns, c.path, c.c); got != c.want {
			t.Errorf("AllowVariableOp(%q, %q, %q) = %v, want %v", c.ns, c.path, c.c, got, c.want)
		}
	}
	if !ManagementACL.AllowVariableOp("any", "path", VariablesCapabilityDestroy) {
		t.Error("management may not destroy a variable")
	}
	if DenyAll.AllowVariableOp("default", "x", VariablesCapabilityRead) {
		t.Error("deny-all may read a variable")
	}
	_, err = Parse("bad", "namespace \"default\" {\n variables {\n path \"x\" { capabilities = [\"sudo\"] }\n }\n}")
	if err == nil || !strings.Contains(err.Error(), `unknown capability "sudo"`) || !strings.Contains(err.Error(), "valid: read, write, list, destroy, deny") {
		t.Errorf("unknown variables capability: got %v", err)
	}
	_, err = Parse("bad", "host_volume \"x\" {\n variables {\n path \"x\" { capabilities = [\"read\"] }\n }\n}")
	if err == nil || !strings.Contains(err.Error(), "belongs in a namespace rule") {
		t.Errorf("variables in a host_volume rule: got %v", err)
	}
}
