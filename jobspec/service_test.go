package jobspec

import (
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
    }
    service {
      name = "web"
      port = "http"
      tags = ["a", "b"]
      meta { k = "v" }
    }
    task "t" {
      driver = "raw_exec"
      service {
        name         = "api"
        port         = "http"
        provider     = "nomad"
        address_mode = "host"
        check {
          type     = "http"
          path     = "/health"
          interval = "5s"
          timeout  = "1s"
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
	want := []*structs.Service{{Name: "web", PortLabel: "http", Tags: []string{"a", "b"}, Provider: "nomad", AddressMode: "auto", Meta: map[string]string{"k": "v"}}}
	if diff := cmp.Diff(want, tg.Services); diff != "" {
		t.Errorf("group services (-want +got):\n%s", diff)
	}
	want = []*structs.Service{{Name: "api", PortLabel: "http", Provider: "nomad", AddressMode: "host",
		Checks: []*structs.ServiceCheck{{Name: `service: "api" check`, Type: "http", Path: "/health", Method: "GET", Protocol: "http",
			Interval: 5 * time.Second, Timeout: time.Second}}}}
	if diff := cmp.Diff(want, tg.Tasks[0].Services); diff != "" {
		t.Errorf("task services (-want +got):\n%s", diff)
	}
}
