package jobspec

import (
	"slices"
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

// TestPortRange: count makes a port a range (dynamic, or static from
// static); bad counts and overlapping static ranges are refused at the
// attribute that causes them.
func TestPortRange(t *testing.T) {
	spec := func(ports string) []byte {
		return []byte(`job "j" {
  group "g" {
    network {
` + ports + `
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
`)
	}
	job, err := Parse("p.nomad.hcl", spec(`      port "rtp" {
        count = 100
        to    = 10000
      }
      port "media" {
        static = 30000
        count  = 10
      }
      port "http" {}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	n := job.TaskGroups[0].Networks[0]
	wantDyn := []structs.Port{{Label: "rtp", To: 10000, Count: 100}, {Label: "http"}}
	wantRes := []structs.Port{{Label: "media", Value: 30000, Count: 10}}
	if !slices.Equal(n.DynamicPorts, wantDyn) || !slices.Equal(n.ReservedPorts, wantRes) {
		t.Errorf("dynamic %+v reserved %+v, want %+v and %+v", n.DynamicPorts, n.ReservedPorts, wantDyn, wantRes)
	}
	for _, tc := range []struct{ ports, err string }{
		{`      port "rtp" { count = 0 }`, `p.nomad.hcl:4:28: Invalid port count: count of port "rtp" must be between 1 and 1000, got 0`},
		{`      port "rtp" { count = 1001 }`, `p.nomad.hcl:4:28: Invalid port count: count of port "rtp" must be between 1 and 1000, got 1001`},
		{`      port "rtp" {
        static = 65530
        count  = 10
      }`, `p.nomad.hcl:6:18: Invalid port count: port "rtp": static = 65530 with count = 10 ends at 65539, beyond 65535; lower static or count`},
		{`      port "rtp" {
        to    = 65530
        count = 10
      }`, `p.nomad.hcl:6:17: Invalid port count: port "rtp": to = 65530 with count = 10 ends at 65539, beyond 65535; lower to or count`},
		{`      port "a" {
        static = 30000
        count  = 10
      }
      port "b" { static = 30009 }`, `p.nomad.hcl:8:27: Overlapping ports: port "b" (30009) overlaps port "a" (30000-30009) defined at line 4; give each static port or range its own ports`},
	} {
		_, err := Parse("p.nomad.hcl", spec(tc.ports))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s:\nerror %v\nwant  %q", tc.ports, err, tc.err)
		}
	}
}
