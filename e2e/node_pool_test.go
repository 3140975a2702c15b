package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodePoolCLI drives `nomadlike node pool` as a user would: a client
// in pool "edge" creates it, a spec file adds "gpu", and list, info, nodes,
// jobs and delete show and refuse what Nomad's do; the pools survive an
// agent restart (durable Raft state).
func TestNodePoolCLI(t *testing.T) {
	a := startAgent(t, agentOpts{clientExtra: `node_pool = "edge"`})
	dir := t.TempDir()
	spec := filepath.Join(dir, "gpu.nomad.hcl")
	if err := os.WriteFile(spec, []byte(`
node_pool "gpu" {
  description = "GPU nodes"
  meta {
    owner = "ml"
  }
  scheduler_config {
    scheduler_algorithm = "spread"
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code := a.cli(dir, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d:\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return out
	}
	if out := run(0, "node", "pool", "apply", spec); !strings.Contains(out, `Successfully applied node pool "gpu"!`) {
		t.Errorf("apply: %s", out)
	}
	out := run(0, "node", "pool", "list")
	for _, want := range []string{"all", "Node pool with all nodes in the cluster.", "default", "edge", "gpu", "GPU nodes"} {
		if !strings.Contains(out, want) {
			t.Errorf("node pool list lacks %q:\n%s", want, out)
		}
	}
	if out := run(0, "node", "pool", "info", "gpu"); !strings.Contains(out, "owner") || !strings.Contains(out, "ml") || !strings.Contains(out, "spread") {
		t.Errorf("node pool info gpu:\n%s", out)
	}
	if out := run(0, "node", "pool", "nodes", "edge"); !strings.Contains(out, "ready") {
		t.Errorf("node pool nodes edge shows no ready node:\n%s", out)
	}
	if out := run(0, "node", "pool", "nodes", "gpu"); !strings.Contains(out, `No nodes in node pool "gpu"`) {
		t.Errorf("node pool nodes gpu:\n%s", out)
	}

	job := filepath.Join(dir, "edge.nomad.hcl")
	if err := os.WriteFile(job, []byte(`
job "on-edge" {
  node_pool = "edge"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 300"]
      }
    }
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run(0, "job", "run", "-detach", job)
	if out := run(0, "node", "pool", "jobs", "edge"); !strings.Contains(out, "on-edge") {
		t.Errorf("node pool jobs edge:\n%s", out)
	}
	if out := run(1, "node", "pool", "delete", "edge"); !strings.Contains(out, `node pool "edge" still has 1 node(s)`) {
		t.Errorf("delete of a pool with a node:\n%s", out)
	}
	if out := run(1, "node", "pool", "delete", "default"); !strings.Contains(out, "built in") {
		t.Errorf("delete of the default pool:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.nomad.hcl")
	if err := os.WriteFile(bad, []byte(`node_pool "x" { descripton = "typo" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(1, "node", "pool", "apply", bad); !strings.Contains(out, "descripton") || !strings.Contains(out, "bad.nomad.hcl:1") {
		t.Errorf("apply of a spec with a typo names neither the attribute nor the place:\n%s", out)
	}

	a.stop()
	a.start()
	if out := run(0, "node", "pool", "info", "gpu"); !strings.Contains(out, "GPU nodes") {
		t.Errorf("after a restart node pool info gpu:\n%s", out)
	}
	run(0, "node", "pool", "delete", "gpu")
	if out := run(1, "node", "pool", "info", "gpu"); !strings.Contains(out, "not found") {
		t.Errorf("info of a deleted pool:\n%s", out)
	}
}
