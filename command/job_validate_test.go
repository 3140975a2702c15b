package command

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJobValidateFeaturesOffline: with no agent to ask, validate checks the
// file locally (as Nomad does) and lists Consul and Vault blocks as
// unsupported features with their positions and what to use instead;
// job run refuses the same file at the same positions.
func TestJobValidateFeaturesOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	_ = l.Close() // nothing listens there

	f := filepath.Join(t.TempDir(), "v.nomad.hcl")
	src := `job "v" {
  group "g" {
    consul {
      namespace = "x"
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      vault {
        policies = ["p"]
      }
    }
  }
}
`
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "validate", f)
	if code != 1 || !strings.Contains(errOut, "validated locally only") || !strings.Contains(errOut, "uses 2 Nomad feature(s)") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := []string{"Unsupported features (valid in Nomad, not available in nomadlike):",
		"  * " + f + ":3:5: Unsupported feature: Consul is not supported by nomadlike; use native service discovery",
		"  * " + f + ":9:7: Unsupported feature: Vault is not supported by nomadlike; keep secrets in Nomad variables"}
	got := lines(out)
	if len(got) != len(want) {
		t.Fatalf("output:\n%s", out)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
	code, _, errOut = runCLI(t, "", "-address="+addr, "job", "run", f)
	if code != 1 || !strings.Contains(errOut, f+":3:5: Unsupported feature: Consul") || !strings.Contains(errOut, f+":9:7: Unsupported feature: Vault") {
		t.Errorf("job run: exit %d\n%s", code, errOut)
	}

	ok := filepath.Join(t.TempDir(), "ok.nomad.hcl")
	if err := os.WriteFile(ok, []byte(strings.Replace(strings.Replace(src, "consul {\n      namespace = \"x\"\n    }\n", "", 1),
		"vault {\n        policies = [\"p\"]\n      }\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "", "-address="+addr, "job", "validate", ok); code != 0 || !strings.Contains(out, "Job validation successful") {
		t.Errorf("valid job offline: exit %d\n%s\n%s", code, out, errOut)
	}
}
