package jobspec

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// sleepTask is the raw_exec task most block fixtures use.
func sleepTask(name string) *structs.Task {
	return &structs.Task{Name: name, Driver: "raw_exec",
		Config: map[string]any{"command": "/bin/sleep", "args": []any{"3600"}}}
}

func durp(d time.Duration) *time.Duration { return &d }

// TestParseBlocks checks the update, periodic, parameterized, migrate,
// max_client_disconnect/disconnect and dynamic fixtures field by field.
func TestParseBlocks(t *testing.T) {
	jobUpdate := &structs.UpdateStrategy{
		Stagger: 30 * time.Second, MaxParallel: 2, HealthCheck: "checks",
		MinHealthyTime: 15 * time.Second, HealthyDeadline: 5 * time.Minute,
		ProgressDeadline: 10 * time.Minute, AutoRevert: true,
	}
	webUpdate := *jobUpdate
	webUpdate.Canary, webUpdate.AutoPromote = 1, true
	webUpdate.HealthCheck, webUpdate.HealthyDeadline = "task_states", 2*time.Minute

	tests := []struct {
		file string
		want *structs.Job
	}{
		{"update.nomad.hcl", &structs.Job{
			ID: "update", Update: jobUpdate.Copy(),
			TaskGroups: []*structs.TaskGroup{
				{Name: "web", Count: 4, Update: &webUpdate, Tasks: []*structs.Task{sleepTask("app")}},
				// A group without an update block inherits the job's.
				{Name: "worker", Count: 1, Tasks: []*structs.Task{sleepTask("app")}},
			},
		}},
		{"update_group.nomad.hcl", &structs.Job{
			ID: "update-group",
			TaskGroups: []*structs.TaskGroup{{
				Name: "web", Count: 1, Tasks: []*structs.Task{sleepTask("app")},
				// Nomad's defaults for what the block leaves out; max_parallel 1.
				Update: &structs.UpdateStrategy{
					Stagger: 10 * time.Second, MaxParallel: 1, HealthCheck: "checks",
					MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute,
					ProgressDeadline: 15 * time.Minute,
				},
			}},
		}},
		{"periodic.nomad.hcl", &structs.Job{
			ID: "report", Type: "batch",
			Periodic: &structs.PeriodicConfig{
				Enabled: true, Specs: []string{"0 3 * * *", "@weekly"}, SpecType: "cron",
				ProhibitOverlap: true, TimeZone: "Europe/Paris",
			},
			TaskGroups: []*structs.TaskGroup{{Name: "report", Count: 1, Tasks: []*structs.Task{{
				Name: "run", Driver: "raw_exec", Config: map[string]any{"command": "/bin/date"},
			}}}},
		}},
		{"periodic_cron.nomad.hcl", &structs.Job{
			ID: "nightly", Type: "sysbatch",
			Periodic: &structs.PeriodicConfig{Enabled: false, Spec: "*/15 * * * *", SpecType: "cron", TimeZone: "UTC"},
			TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{{
				Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"},
			}}}},
		}},
		{"parameterized.nomad.hcl", &structs.Job{
			ID: "transcode", Type: "batch",
			ParameterizedJob: &structs.ParameterizedJobConfig{
				Payload: "required", MetaRequired: []string{"input"}, MetaOptional: []string{"profile", "bitrate"},
			},
			TaskGroups: []*structs.TaskGroup{{Name: "work", Count: 1, Tasks: []*structs.Task{{
				Name: "encode", Driver: "raw_exec",
				Config:          map[string]any{"command": "/bin/cat", "args": []any{"${NOMAD_TASK_DIR}/input.json"}},
				DispatchPayload: &structs.DispatchPayloadConfig{File: "input.json"},
			}}}},
		}},
		{"migrate.nomad.hcl", &structs.Job{
			ID: "migrate",
			TaskGroups: []*structs.TaskGroup{
				{
					Name: "cache", Count: 3, MaxClientDisconnect: durp(time.Hour),
					Migrate: &structs.MigrateStrategy{MaxParallel: 2, HealthCheck: "task_states",
						MinHealthyTime: 5 * time.Second, HealthyDeadline: time.Minute},
					Tasks: []*structs.Task{sleepTask("redis")},
				},
				{
					Name: "db", Count: 1, MaxClientDisconnect: durp(30 * time.Minute),
					// The job's block with Nomad's defaults for the rest.
					Migrate: &structs.MigrateStrategy{MaxParallel: 2, HealthCheck: "task_states",
						MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute},
					Tasks: []*structs.Task{sleepTask("pg")},
				},
			},
		}},
		{"dynamic.nomad.hcl", func() *structs.Job {
			group := func(name string, count int) *structs.TaskGroup {
				task := sleepTask("app")
				task.Config["mount"] = []any{
					map[string]any{"source": "/srv/a", "target": "/a/" + name},
					map[string]any{"source": "/srv/b", "target": "/b/" + name},
				}
				task.Env = map[string]string{"ROLE": strings.ToUpper(name)}
				return &structs.TaskGroup{
					Name: name, Count: count, Meta: map[string]string{"role": name},
					Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{
						{Label: "http", To: 8000}, {Label: "grpc", To: 8001},
					}}},
					Tasks: []*structs.Task{task},
				}
			}
			return &structs.Job{
				ID: "dynamic",
				Constraints: []*structs.Constraint{
					{LTarget: "${meta.rack}", RTarget: "r1", Operand: "!="},
					{LTarget: "${meta.rack}", RTarget: "r2", Operand: "!="},
				},
				// for_each over a map goes in key order.
				TaskGroups: []*structs.TaskGroup{group("api", 2), group("web", 1)},
			}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("ParseFile: got error %v, want none", err)
			}
			want := canonical(tt.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("job mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJobLevelReschedule checks that a job's reschedule block is the base of
// every group's: groups without one inherit it, a group's block overrides
// the fields it sets.
func TestJobLevelReschedule(t *testing.T) {
	src := `job "r" {
  reschedule {
    attempts  = 4
    unlimited = false
    interval  = "1h"
  }
  group "a" {
    task "t" {
      driver = "raw_exec"
    }
  }
  group "b" {
    reschedule {
      delay = "1m"
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
`
	job, err := Parse("r.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: got error %v, want none", err)
	}
	a, b := job.TaskGroups[0].ReschedulePolicy, job.TaskGroups[1].ReschedulePolicy
	if a.Attempts != 4 || a.Unlimited || a.Interval != time.Hour {
		t.Errorf("group a: got %+v, want the job's attempts 4, limited, interval 1h", a)
	}
	if b.Attempts != 4 || b.Unlimited || b.Delay != time.Minute {
		t.Errorf("group b: got %+v, want the job's attempts 4 with delay 1m", b)
	}
}

// TestDynamicBlocks covers dynamic blocks at every level they matter:
// nested iterators, list and map for_each, and the errors dynblock reports.
func TestDynamicBlocks(t *testing.T) {
	tests := []struct {
		name, body string // body of group "g" besides its task
		check      func(*testing.T, *structs.TaskGroup)
		wantErr    string
	}{
		{
			name: "ports from a map with static values",
			body: `network {
  dynamic "port" {
    for_each = { http = 8080, admin = 9090 }
    labels   = [port.key]
    content {
      static = port.value
    }
  }
}`,
			check: func(t *testing.T, tg *structs.TaskGroup) {
				got := tg.Networks[0].ReservedPorts
				want := []structs.Port{{Label: "admin", Value: 9090}, {Label: "http", Value: 8080}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ports (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "empty for_each generates nothing",
			body: `dynamic "constraint" {
  for_each = []
  content {
    attribute = "${meta.x}"
    value     = "y"
  }
}`,
			check: func(t *testing.T, tg *structs.TaskGroup) {
				if len(tg.Constraints) != 0 {
					t.Errorf("got constraints %v, want none", tg.Constraints)
				}
			},
		},
		{
			name:    "missing content",
			body:    "dynamic \"constraint\" {\n  for_each = [1]\n}",
			wantErr: "d.hcl:3:22: Missing dynamic content block",
		},
		{
			name:    "unknown iterator reference",
			body:    "dynamic \"constraint\" {\n  for_each = [1]\n  content {\n    attribute = \"${meta.x}\"\n    value = item.value\n  }\n}",
			wantErr: `d.hcl:7:13: Unknown variable: There is no variable named "item"`,
		},
		{
			name:    "dynamic update is a single block",
			body:    "dynamic \"update\" {\n  for_each = [1, 2]\n  content {\n  }\n}",
			wantErr: `d.hcl:3:1: Duplicate block: only one "update" block is allowed here`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "job \"j\" {\ngroup \"g\" {\n" + tt.body + "\ntask \"t\" {\ndriver = \"raw_exec\"\n}\n}\n}\n"
			job, err := Parse("d.hcl", []byte(src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error\n%v\nwant it to contain\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			tt.check(t, job.TaskGroups[0])
		})
	}
}
