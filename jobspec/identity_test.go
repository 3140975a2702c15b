package jobspec

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseIdentitiesAndActions(t *testing.T) {
	src := `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      identity {
        env  = true
        file = true
      }
      identity {
        name          = "vault_default"
        aud           = ["vault.io"]
        ttl           = "1h"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        filepath      = "local/vault.jwt"
      }
      action "current-date" {
        command = "/bin/date"
      }
      action "list-tmp" {
        command = "/bin/ls"
        args    = ["-l", "/tmp"]
      }
    }
  }
}
`
	job, err := Parse("i.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	task := job.TaskGroups[0].Tasks[0]
	if diff := cmp.Diff(&structs.WorkloadIdentity{Name: "default", Env: true, File: true}, task.Identity); diff != "" {
		t.Errorf("default identity (-want +got):\n%s", diff)
	}
	want := []*structs.WorkloadIdentity{{Name: "vault_default", Audience: []string{"vault.io"}, TTL: time.Hour,
		ChangeMode: "signal", ChangeSignal: "SIGHUP", Filepath: "local/vault.jwt"}}
	if diff := cmp.Diff(want, task.Identities); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
	acts := []*structs.Action{{Name: "current-date", Command: "/bin/date"}, {Name: "list-tmp", Command: "/bin/ls", Args: []string{"-l", "/tmp"}}}
	if diff := cmp.Diff(acts, task.Actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}

	bad := strings.Replace(src, `aud           = ["vault.io"]`, "", 1)
	if _, err := Parse("i.hcl", []byte(bad)); err == nil || !strings.Contains(err.Error(), `i.hcl:9:7: Invalid job: TaskGroups["g"].Tasks["t"].Identities[0].Audience: identity "vault_default" needs an audience`) {
		t.Errorf("named identity without aud: %v", err)
	}
}

// TestTaskInJobBody: Nomad's HCL2 parser takes a task in the job body as a
// group of its own named after it, before the job's groups.
func TestTaskInJobBody(t *testing.T) {
	src := `job "j" {
  reschedule { attempts = 2 }
  task "solo" {
    driver = "raw_exec"
    config { command = "/bin/true" }
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
`
	job, err := Parse("t.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(job.TaskGroups) != 2 || job.TaskGroups[0].Name != "solo" || job.TaskGroups[0].Count != 1 ||
		job.TaskGroups[0].Tasks[0].Name != "solo" || job.TaskGroups[1].Name != "g" || job.TaskGroups[0].ReschedulePolicy.Attempts != 2 {
		t.Fatalf("groups: %+v", job.TaskGroups)
	}
	dup := strings.Replace(src, `group "g"`, `group "solo"`, 1)
	if _, err := Parse("t.hcl", []byte(dup)); err == nil || !strings.Contains(err.Error(), "Duplicate group") {
		t.Errorf("a group named as a job-body task: %v", err)
	}
}
