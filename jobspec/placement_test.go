package jobspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestAffinityAndSpread(t *testing.T) {
	const task = "task \"t\" {\n driver = \"raw_exec\"\n}\n"
	tests := []struct {
		name       string
		job, group string // blocks at job and group level
		wantJob    *structs.Job
		wantErr    string
	}{
		{
			name:  "affinity defaults",
			group: "affinity {\n attribute = \"${meta.rack}\"\n value = \"r1\"\n}\n",
			wantJob: &structs.Job{TaskGroups: []*structs.TaskGroup{{
				Affinities: []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: 50}},
			}}},
		},
		{
			name: "job affinity with operator and negative weight",
			job:  "affinity {\n attribute = \"${node.class}\"\n operator = \"set_contains_any\"\n value = \"a,b\"\n weight = -30\n}\n",
			wantJob: &structs.Job{
				Affinities: []*structs.Affinity{{LTarget: "${node.class}", RTarget: "a,b", Operand: "set_contains_any", Weight: -30}},
				TaskGroups: []*structs.TaskGroup{{}},
			},
		},
		{
			name:  "spread with targets",
			group: "spread {\n attribute = \"${node.datacenter}\"\n weight = 100\n target \"dc1\" {\n percent = 70\n }\n target \"dc2\" {\n percent = 30\n }\n}\n",
			wantJob: &structs.Job{TaskGroups: []*structs.TaskGroup{{
				Spreads: []*structs.Spread{{Attribute: "${node.datacenter}", Weight: 100, SpreadTarget: []*structs.SpreadTarget{{Value: "dc1", Percent: 70}, {Value: "dc2", Percent: 30}}}},
			}}},
		},
		{
			name: "even spread",
			job:  "spread {\n attribute = \"${meta.rack}\"\n}\n",
			wantJob: &structs.Job{
				Spreads:    []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}},
				TaskGroups: []*structs.TaskGroup{{}},
			},
		},
		{name: "affinity weight zero", group: "affinity {\n attribute = \"${meta.rack}\"\n value = \"r1\"\n weight = 0\n}\n", wantErr: "a.hcl:6:11: Invalid affinity weight: weight must be between -100 and 100 and not 0"},
		{name: "affinity distinct_hosts", group: "affinity {\n operator = \"distinct_hosts\"\n}\n", wantErr: `a.hcl:4:13: Invalid affinity operator: operator "distinct_hosts" cannot be used in an affinity`},
		{name: "spread over 100", group: "spread {\n attribute = \"${meta.rack}\"\n target \"a\" {\n percent = 60\n }\n target \"b\" {\n percent = 50\n }\n}\n", wantErr: "a.hcl:3:1: Invalid spread: the targets' percentages of \"${meta.rack}\" add up to 110%"},
		{name: "spread without attribute", group: "spread {\n weight = 10\n}\n", wantErr: "a.hcl:3:1: Missing spread attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "job \"j\" {\n" + tt.job + "group \"g\" {\n" + tt.group + task + "}\n}\n"
			job, err := Parse("a.hcl", []byte(src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error\n%v\nwant it to contain\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			got := &structs.Job{Affinities: job.Affinities, Spreads: job.Spreads,
				TaskGroups: []*structs.TaskGroup{{Affinities: job.TaskGroups[0].Affinities, Spreads: job.TaskGroups[0].Spreads}}}
			if d := cmp.Diff(tt.wantJob, got); d != "" {
				t.Errorf("affinities and spreads (-want +got):\n%s", d)
			}
		})
	}
}

func TestTaskAffinityAndSystemType(t *testing.T) {
	src := `job "sys" {
  type = "system"
  group "g" {
    task "t" {
      driver = "raw_exec"
      affinity {
        attribute = "${attr.cpu.arch}"
        value     = "arm64"
        weight    = 20
      }
    }
  }
}
`
	job, err := Parse("s.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: got error %v, want none", err)
	}
	if job.Type != structs.JobTypeSystem {
		t.Errorf("got type %q, want system", job.Type)
	}
	want := []*structs.Affinity{{LTarget: "${attr.cpu.arch}", RTarget: "arm64", Operand: "=", Weight: 20}}
	if d := cmp.Diff(want, job.TaskGroups[0].Tasks[0].Affinities); d != "" {
		t.Errorf("task affinities (-want +got):\n%s", d)
	}
}
