package command

import (
	"os"
	"strings"
	"testing"
)

// TestNodePoolInit: the example `node pool init` writes is a valid spec for
// `node pool apply`, and an existing file is not overwritten.
func TestNodePoolInit(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, out, errOut := runCLI(t, "", "node", "pool", "init"); code != 0 || !strings.Contains(out, "pool.nomad.hcl") {
		t.Fatalf("init: exit %d, out %q, err %q", code, out, errOut)
	}
	src, err := os.ReadFile("pool.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseNodePoolSpec("pool.nomad.hcl", src, false)
	if err != nil || p.Name != "example" || p.Meta["owner"] != "sre" || p.SchedulerConfiguration != nil {
		t.Fatalf("the example parses to %+v, %v", p, err)
	}
	if code, _, errOut := runCLI(t, "", "node", "pool", "init"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("init over an existing file: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "", "node", "pool", "init", "-quiet"); code != 0 || out != examplePoolSpec {
		t.Errorf("init -quiet: exit %d, output %q", code, out)
	}
	if _, err := parseNodePoolSpec("x.hcl", []byte(`node_pool "a" {}
node_pool "b" {}`), false); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("two pools in one file: %v", err)
	}
}
