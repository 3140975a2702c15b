package jobspec

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseServices(t *testing.T) {
	src := `job "j" {
  group "g" {
    network {
      port "http" {}
      port "admin" {}
    }
    service {
      name        = "web"
      port        = "http"
      tags        = ["a", "b"]
      canary_tags = ["canary"]
      meta { k = "v" }
      check {
        type     = "script"
        task     = "t"
        command  = "/bin/check"
        args     = ["-v"]
        interval = "5s"
        timeout  = "1s"
        on_update = "ignore"
      }
    }
    task "t" {
      driver = "raw_exec"
      service {
        name         = "${NOMAD_JOB_NAME}-api"
        port         = "http"
        provider     = "nomad"
        address_mode = "host"
        on_update    = "ignore_warnings"
        check_restart {
          limit = 3
          grace = "10s"
        }
        check {
          type         = "http"
          port         = "admin"
          path         = "/health"
          method       = "POST"
          body         = "{}"
          address_mode = "alloc"
          expose       = true
          interval     = "5s"
          timeout      = "1s"
          header {
            Authorization = ["Basic x"]
          }
          check_restart {
            limit           = 2
            ignore_warnings = true
          }
        }
      }
    }
  }
}
`
	job, err := Parse("s.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tg := job.TaskGroups[0]
	want := []*structs.Service{{Name: "web", PortLabel: "http", Tags: []string{"a", "b"}, CanaryTags: []string{"canary"},
		Provider: "nomad", AddressMode: "auto", Meta: map[string]string{"k": "v"}, OnUpdate: "require_healthy",
		Checks: []*structs.ServiceCheck{{Name: `service: "web" check`, Type: "script", TaskName: "t", Command: "/bin/check",
			Args: []string{"-v"}, Interval: 5 * time.Second, Timeout: time.Second, OnUpdate: "ignore"}}}}
	if diff := cmp.Diff(want, tg.Services); diff != "" {
		t.Errorf("group services (-want +got):\n%s", diff)
	}
	want = []*structs.Service{{Name: "${NOMAD_JOB_NAME}-api", PortLabel: "http", Provider: "nomad", AddressMode: "host",
		OnUpdate: "ignore_warnings", CheckRestart: &structs.CheckRestart{Limit: 3, Grace: 10 * time.Second},
		Checks: []*structs.ServiceCheck{{Name: `service: "${NOMAD_JOB_NAME}-api" check`, Type: "http", PortLabel: "admin",
			Path: "/health", Method: "POST", Body: "{}", Protocol: "http", AddressMode: "alloc", Expose: true,
			Header:       map[string][]string{"Authorization": {"Basic x"}},
			CheckRestart: &structs.CheckRestart{Limit: 2, Grace: 10 * time.Second, IgnoreWarnings: true},
			OnUpdate:     "ignore_warnings", Interval: 5 * time.Second, Timeout: time.Second}}}}
	if diff := cmp.Diff(want, tg.Tasks[0].Services); diff != "" {
		t.Errorf("task services (-want +got):\n%s", diff)
	}
}

// TestServiceDefaultName checks Nomad's default service names and the
// ${JOB}/${TASKGROUP}/${TASK}/${BASE} replacement done at registration.
func TestServiceDefaultName(t *testing.T) {
	src := `job "j" {
  group "g" {
    service {}
    task "t" {
      driver = "raw_exec"
      service {}
      service { name = "${BASE}-x" }
    }
  }
}
`
	job, err := Parse("s.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tg := job.TaskGroups[0]
	got := []string{tg.Services[0].Name, tg.Tasks[0].Services[0].Name, tg.Tasks[0].Services[1].Name}
	if diff := cmp.Diff([]string{"j-g", "j-g-t", "j-g-t-x"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// TestServiceNumericPort: a service or check port may be a number, as in
// Nomad (the port inside the allocation's network).
func TestServiceNumericPort(t *testing.T) {
	src := `job "j" {
  group "g" {
    service {
      name = "api"
      port = "9001"
      check {
        type     = "tcp"
        port     = "9002"
        interval = "5s"
        timeout  = "1s"
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}
`
	if _, err := Parse("n.hcl", []byte(src)); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("n.hcl", []byte(strings.Replace(src, `"9001"`, `"99999"`, 1))); err == nil || !strings.Contains(err.Error(), `port "99999" is not a port`) {
		t.Errorf("port 99999: %v", err)
	}
}
