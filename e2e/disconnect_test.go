package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// startAgentHCL starts an agent with body as its whole configuration
// (after name, data_dir, bind_addr and the ports, which it chooses) and
// returns it with its HTTP port.
func startAgentHCL(t *testing.T, name, body string) *agent {
	t.Helper()
	dir := t.TempDir()
	httpPort, rpcPort, serfPort := freeport.TCP(t), freeport.TCP(t), freeport.TCP(t)
	cfg := fmt.Sprintf(`
name      = %q
data_dir  = %q
bind_addr = "127.0.0.1"
log_level = "DEBUG"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
%s
`, name, filepath.Join(dir, "data"), httpPort, rpcPort, serfPort, body)
	a := &agent{
		t: t, addr: fmt.Sprintf("http://127.0.0.1:%d", httpPort), dataDir: filepath.Join(dir, "data"),
		cfgPath: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "agent.log"),
	}
	a.launch(cfg, "agent", "-config", a.cfgPath)
	return a
}

// TestMaxClientDisconnect stops a client agent with SIGSTOP (a disconnect:
// it misses its heartbeats while its tasks keep running) and resumes it.
// The allocation of the group with max_client_disconnect becomes unknown,
// is not replaced, and runs again when the client is back; the allocation
// of the group without it is lost at once.
func TestMaxClientDisconnect(t *testing.T) {
	srv := startAgentHCL(t, "disc-server", `
server {
  enabled           = true
  bootstrap_expect  = 1
  min_heartbeat_ttl = "1s"
  heartbeat_grace   = "1s"
}
client {
  enabled = true
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`)
	cl := startAgentHCL(t, "disc-client", fmt.Sprintf(`
client {
  enabled = true
  servers = [%q]
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, strings.TrimPrefix(srv.addr, "http://")))
	t.Cleanup(func() { _ = cl.cmd.Process.Signal(syscall.SIGCONT) }) // before its stop

	dir := t.TempDir()
	spec := `
job "%s" {
  group "g" {
    %s
    constraint {
      attribute = "${node.unique.name}"
      value     = "disc-client"
    }
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`
	for id, extra := range map[string]string{"keep": `max_client_disconnect = "10m"`, "lose": ""} {
		file := filepath.Join(dir, id+".nomad.hcl")
		if err := os.WriteFile(file, []byte(fmt.Sprintf(spec, id, extra)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := srv.cli(dir, "job", "run", "-detach", file); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s", id, code, out)
		}
	}
	api := srv.api()
	allocsOf := func(job string) []*structs.AllocListStub {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := api.JobAllocations(ctx, job, nil)
		if err != nil {
			t.Fatalf("allocations of %s: %v", job, err)
		}
		return allocs
	}
	var keep, lose *structs.AllocListStub
	waitFor(t, 60*time.Second, "both jobs running on disc-client", func() (bool, string) {
		k, l := allocsOf("keep"), allocsOf("lose")
		if len(k) != 1 || len(l) != 1 || k[0].ClientStatus != "running" || l[0].ClientStatus != "running" {
			return false, fmt.Sprintf("keep %s, lose %s", stubs(k), stubs(l))
		}
		keep, lose = k[0], l[0]
		return true, ""
	})
	nodeStatus := func() string {
		ctx, cancel := ctx10s()
		defer cancel()
		n, _, err := api.Node(ctx, keep.NodeID, nil)
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		return n.Status
	}

	if err := cl.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP the client agent: %v", err)
	}
	waitFor(t, 60*time.Second, "disc-client disconnected, keep unknown and lose lost", func() (bool, string) {
		st := nodeStatus()
		k, l := allocsOf("keep"), allocsOf("lose")
		var lost bool
		for _, a := range l {
			lost = lost || a.ID == lose.ID && a.ClientStatus == structs.AllocClientStatusLost
		}
		ok := st == structs.NodeStatusDisconnected && len(k) == 1 && k[0].ClientStatus == structs.AllocClientStatusUnknown && lost
		return ok, fmt.Sprintf("node %s, keep %s, lose %s", st, stubs(k), stubs(l))
	})
	if out, _ := srv.cli(dir, "node", "status", keep.NodeID); !strings.Contains(out, "disconnected") {
		t.Errorf("node status does not show the node disconnected:\n%s", out)
	}

	if err := cl.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT the client agent: %v", err)
	}
	waitFor(t, 60*time.Second, "disc-client ready and keep running again, not replaced", func() (bool, string) {
		st := nodeStatus()
		k := allocsOf("keep")
		ok := st == structs.NodeStatusReady && len(k) == 1 && k[0].ID == keep.ID && k[0].ClientStatus == structs.AllocClientStatusRunning
		return ok, fmt.Sprintf("node %s, keep %s", st, stubs(k))
	})
	// The lost copy of the other job is stopped on the client; a new one runs.
	waitFor(t, 60*time.Second, "lose replaced on the reconnected client", func() (bool, string) {
		l := allocsOf("lose")
		var running, old string
		for _, a := range l {
			switch {
			case a.ID == lose.ID:
				old = a.DesiredStatus + "/" + a.ClientStatus
			case a.ClientStatus == structs.AllocClientStatusRunning:
				running = a.ID
			}
		}
		return running != "" && strings.HasPrefix(old, structs.AllocDesiredStatusStop), fmt.Sprintf("lose %s", stubs(l))
	})
	if k := allocsOf("keep"); len(k) != 1 {
		t.Errorf("keep has %d allocations after the reconnect, want the original only: %s", len(k), stubs(k))
	}
}

// stubs renders allocations as id:desired/client for failure messages.
func stubs(allocs []*structs.AllocListStub) string {
	var out []string
	for _, a := range allocs {
		out = append(out, fmt.Sprintf("%s:%s/%s", structs.ShortID(a.ID), a.DesiredStatus, a.ClientStatus))
	}
	return "[" + strings.Join(out, " ") + "]"
}
