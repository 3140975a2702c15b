package jobspec

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestMemoryMax: memory_max = -1 is Nomad's "no hard limit" and is kept;
// other values below memory are refused at memory_max with the fix.
func TestMemoryMax(t *testing.T) {
	spec := func(max string) []byte {
		return []byte(`job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      resources {
        memory     = 64
        memory_max = ` + max + `
      }
    }
  }
}
`)
	}
	for _, tc := range []struct {
		max  string
		want int    // MemoryMaxMB when accepted
		err  string // the error's text when refused
	}{
		{max: "-1", want: structs.MemoryNoLimit},
		{max: "128", want: 128},
		{max: "0", want: 0},
		{max: "32", err: "m.nomad.hcl:8:22: Invalid resources: memory_max (32 MB) is less than memory (64 MB); set it to at least memory, or to -1 for no limit"},
		{max: "-2", err: "m.nomad.hcl:8:22: Invalid resources: memory_max must be at least -1, got -2"},
	} {
		job, err := Parse("m.nomad.hcl", spec(tc.max))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("memory_max = %s: error %v, want %q", tc.max, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("memory_max = %s: %v", tc.max, err)
			continue
		}
		if got := job.TaskGroups[0].Tasks[0].Resources.MemoryMaxMB; got != tc.want {
			t.Errorf("memory_max = %s: MemoryMaxMB = %d, want %d", tc.max, got, tc.want)
		}
	}
}

// TestNetworkCNIArgs: a network's cni { args } are kept for the client,
// runtime interpolations as text; in host mode they are refused.
func TestNetworkCNIArgs(t *testing.T) {
	spec := func(mode string) []byte {
		return []byte(`job "j" {
  group "g" {
    network {
      mode = "` + mode + `"
      cni {
        args = {
          FancyMessage = "${node.pool}"
          FancyTaskDir = "${NOMAD_ALLOC_DIR}/task/local"
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
`)
	}
	job, err := Parse("c.nomad.hcl", spec("cni/cni_args"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := job.TaskGroups[0].Networks[0].CNI
	want := map[string]string{"FancyMessage": "${node.pool}", "FancyTaskDir": "${NOMAD_ALLOC_DIR}/task/local"}
	if got == nil || len(got.Args) != 2 || got.Args["FancyMessage"] != want["FancyMessage"] || got.Args["FancyTaskDir"] != want["FancyTaskDir"] {
		t.Errorf("CNI %+v, want args %v", got, want)
	}
	_, err = Parse("c.nomad.hcl", spec("host"))
	if wantErr := `c.nomad.hcl:3:5: Invalid job: TaskGroups["g"].Networks[0].CNI: cni args go to the CNI plugins of network mode "bridge" or "cni/<name>"`; err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("host mode: error %v, want %q", err, wantErr)
	}
}
