package jobspec

import (
	"encoding/json"
	"testing"
)

// TestScalingPolicyShape: a policy's labeled blocks are kept as Nomad's
// HCL1 decoder kept them, the shape the nomad-autoscaler (and our
// autoscaler) reads.
func TestScalingPolicyShape(t *testing.T) {
	src := `job "a" {
  group "g" {
    scaling {
      min = 1
      max = 3
      policy {
        cooldown = "1m"
        check "cpu" {
          source = "nomad-apm"
          query  = "avg_cpu"
          strategy "target-value" {
            target = 50
          }
        }
        check "mem" {
          query = "avg_memory"
          strategy "fixed-value" { value = 2 }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}`
	j, err := Parse("a.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(j.TaskGroups[0].Scaling.Policy)
	want := `{"check":[{"cpu":[{"query":"avg_cpu","source":"nomad-apm","strategy":[{"target-value":[{"target":50}]}]}]},{"mem":[{"query":"avg_memory","strategy":[{"fixed-value":[{"value":2}]}]}]}],"cooldown":"1m"}`
	if string(got) != want {
		t.Errorf("policy = %s\nwant     %s", got, want)
	}
}
