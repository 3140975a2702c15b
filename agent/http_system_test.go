package agent

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/client"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestSystemGCEndpoint runs a batch job to completion, then forces a GC
// with HashiCorp's official client: the job and its allocations are gone.
func TestSystemGCEndpoint(t *testing.T) {
	srv, addr := startTestServer(t)
	node := testNode()
	node.Attributes = map[string]string{"kernel.name": "linux", "driver.raw_exec": "1", "unique.hostname": "n1"}
	node.NodeResources.Disk = structs.NodeDiskResources{DiskMB: 10000}
	if _, err := srv.RegisterNode(context.Background(), node); err != nil {
		t.Fatalf("RegisterNode: %v", err)
	}
	job := &structs.Job{ID: "gc-batch", Type: structs.JobTypeBatch, Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec",
			Config: map[string]any{"command": "/bin/true"}, Resources: &structs.Resources{CPU: 100, MemoryMB: 64}}}}}}
	if _, err := srv.RegisterJob(context.Background(), &structs.JobRegisterRequest{Job: job}); err != nil {
		t.Fatalf("RegisterJob: %v", err)
	}
	st := srv.State()
	var allocs []*structs.Allocation
	waitFor(t, "the batch allocation to be placed", 10*time.Second, func() (bool, string) {
		allocs, _ = snapOf(t, st).AllocsByJob(nil, structs.DefaultNamespace, "gc-batch", true)
		return len(allocs) == 1, "no allocation yet"
	})
	done := &structs.Allocation{ID: allocs[0].ID, ClientStatus: structs.AllocClientStatusComplete, ModifyTime: time.Now().UnixNano()}
	if _, err := srv.UpdateAllocsFromClient(context.Background(), node.ID, node.SecretID, []*structs.Allocation{done}); err != nil {
		t.Fatalf("UpdateAllocsFromClient: %v", err)
	}
	waitFor(t, "the job to be dead", 10*time.Second, func() (bool, string) {
		j, _ := snapOf(t, st).JobByID(nil, structs.DefaultNamespace, "gc-batch")
		evals, _ := snapOf(t, st).EvalsByJob(nil, structs.DefaultNamespace, "gc-batch")
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false, "eval " + e.Status
			}
		}
		return j != nil && j.Status == structs.JobStatusDead, "job " + j.Status
	})

	c, err := nomad.NewClient(&nomad.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.System().ReconcileSummaries(); err != nil {
		t.Fatalf("System().ReconcileSummaries: %v", err)
	}
	if err := c.System().GarbageCollect(); err != nil {
		t.Fatalf("System().GarbageCollect: %v", err)
	}
	if code, _, body := do(t, http.MethodGet, addr+"/v1/job/gc-batch", ""); code != http.StatusNotFound {
		t.Errorf("GET the collected job = %d %s, want 404", code, body)
	}
	if code, _, body := do(t, http.MethodGet, addr+"/v1/allocation/"+allocs[0].ID, ""); code != http.StatusNotFound {
		t.Errorf("GET the collected allocation = %d %s, want 404", code, body)
	}
	// A server-only agent has no allocation directories: a clear 503, and
	// a collected allocation is a 404 whatever the agent.
	if code, _, body := do(t, http.MethodGet, addr+"/v1/client/gc", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "no client") {
		t.Errorf("GET /v1/client/gc on a server-only agent = %d %s, want a 503 saying it runs no client", code, body)
	}
	if code, _, body := do(t, http.MethodGet, addr+"/v1/client/allocation/"+allocs[0].ID+"/gc", ""); code != http.StatusNotFound {
		t.Errorf("GET /v1/client/allocation/<collected>/gc = %d %s, want 404", code, body)
	}
}

func TestParseConfigGC(t *testing.T) {
	src := `
server {
  enabled                 = true
  job_gc_interval         = "2m"
  eval_gc_interval        = "1m"
  job_gc_threshold        = "2h"
  eval_gc_threshold       = "30m"
  batch_eval_gc_threshold = "12h"
  deployment_gc_threshold = "15m"
  node_gc_threshold       = "48h"
}
client {
  enabled                 = true
  servers                 = ["127.0.0.1:4646"]
  gc_interval             = "30s"
  gc_max_allocs           = 10
  gc_disk_usage_threshold = 90.5
  gc_inode_usage_threshold = 60
  logs_retention {
    max_mb  = 10
    max_age = "2h"
  }
  logs {
    ship {
      syslog { address = "udp://127.0.0.1:514" }
      otlp {
        endpoint = "http://127.0.0.1:4318/v1/logs"
        headers  = { X-Token = "t" }
      }
      queue_lines = 50
    }
  }
}
`
	c := DefaultConfig()
	if err := ParseConfig(c, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	wantServer := server.GCConfig{Interval: time.Minute, JobThreshold: 2 * time.Hour, EvalThreshold: 30 * time.Minute,
		BatchEvalThreshold: 12 * time.Hour, DeploymentThreshold: 15 * time.Minute, NodeThreshold: 48 * time.Hour}
	if c.Server.GC != wantServer {
		t.Errorf("server GC = %+v, want %+v", c.Server.GC, wantServer)
	}
	wantClient := client.GCConfig{Interval: 30 * time.Second, MaxAllocs: 10, DiskUsageThreshold: 90.5, InodeUsageThreshold: 60}
	if c.Client.GC != wantClient {
		t.Errorf("client GC = %+v, want %+v", c.Client.GC, wantClient)
	}
	if want := (client.LogsRetentionConfig{MaxMB: 10, MaxAge: 2 * time.Hour}); c.Client.LogsRetention != want {
		t.Errorf("client logs_retention = %+v, want %+v", c.Client.LogsRetention, want)
	}
	if ls := c.Client.LogShip; ls == nil || ls.Syslog == nil || ls.Syslog.Address != "udp://127.0.0.1:514" || ls.OTLP == nil ||
		ls.OTLP.Headers["X-Token"] != "t" || ls.QueueLines != 50 {
		t.Errorf("client logs ship = %+v", ls)
	}

	wantParseErrors(t, []struct{ src, want string }{
		{"server {\n  job_gc_threshold = \"soon\"\n}", "agent.hcl:2:22"},
		{"client {\n  gc_max_allocs = 0\n}", "agent.hcl:2:19: gc_max_allocs = 0"},
		{"client {\n  gc_disk_usage_threshold = 120\n}", "agent.hcl:2:29: gc_disk_usage_threshold = 120"},
		{"client {\n  gc_disk_usage_threshold = \"lots\"\n}", "agent.hcl:2:29: gc_disk_usage_threshold must be a number"},
		{"client {\n  gc_inode_usage_threshold = 0\n}", "agent.hcl:2:30: gc_inode_usage_threshold = 0 must be a percentage"},
		{"client {\n  logs_retention {\n    max_mb = 0.5\n  }\n}", "agent.hcl:3:14: logs_retention max_mb = 0.5 must be a whole number"},
		{"client {\n  logs {\n    ship {\n      syslog { address = \"127.0.0.1:514\" }\n    }\n  }\n}", "must be tcp://host:port"},
		{"client {\n  logs {\n    ship {\n    }\n  }\n}", "logs ship needs a syslog"},
		{"client {\n  logs {\n    ship {\n      otlp { endpoint = \"localhost:4318\" }\n    }\n  }\n}", "must be an http(s) URL"},
		{"client {\n  logs_retention {\n    max_age = \"-1h\"\n  }\n}", "agent.hcl:3:15: duration \"-1h\" must not be negative"},
	})
}
