package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// monitorUntil follows a monitor stream opened through c with params until
// a line contains want, and fails after 30s.
func monitorUntil(t *testing.T, c *nomad.Client, params map[string]string, want string, poke func()) {
	t.Helper()
	stop := make(chan struct{})
	defer close(stop)
	frames, errCh := c.Agent().Monitor(stop, &nomad.QueryOptions{Params: params})
	if frames == nil {
		t.Fatalf("Monitor(%v): %v", params, <-errCh)
	}
	var got strings.Builder
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(got.String(), want) {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("Monitor(%v) ended: %v; got:\n%s", params, <-errCh, got.String())
			}
			got.Write(f.Data)
		case <-tick.C:
			// The target logs requests once a debug subscriber exists,
			// which happens once the forwarded stream reaches it.
			poke()
		case <-deadline:
			t.Fatalf("Monitor(%v): no line with %q within 30s; got:\n%s", params, want, got.String())
		}
	}
}

// get requests path on the agent at addr and drops the answer.
func get(t *testing.T, addr, path string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestAgentMonitorForwardsToNode: a monitor with the node_id of another
// node streams that node's log through the server it was sent to (Nomad's
// `nomad monitor -node-id`), and through a client-only agent too.
func TestAgentMonitorForwardsToNode(t *testing.T) {
	a := startDevAgent(t)
	cfg := DefaultConfig()
	cfg.Name = "monitor-client"
	cfg.BindAddr = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.Ports.HTTP = 0
	cfg.Client.Enabled = true
	cfg.Client.Servers = []string{a.HTTPAddr()}
	b, err := New(cfg, testLogger(t).With("agent", "client"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("start the client agent: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shut down the client agent: %v", err)
		}
	})
	c := aclClient(t, a.HTTPAddr(), "")
	var nodeID, devID string
	waitFor(t, "the client agent's node to register", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, n := range nodes {
			if n.Name == "monitor-client" {
				nodeID = n.ID
			} else {
				devID = n.ID
			}
		}
		return nodeID != "" && devID != "", fmt.Sprintf("%d nodes", len(nodes))
	})

	marker := "/v1/monitor-marker-" + nodeID[:8]
	monitorUntil(t, c, map[string]string{"node_id": nodeID, "log_level": "debug"}, "path="+marker,
		func() { get(t, b.HTTPAddr(), marker) })

	// Asked of the client-only agent for the other node: through its server.
	devMarker := "/v1/monitor-marker-dev"
	monitorUntil(t, aclClient(t, b.HTTPAddr(), ""), map[string]string{"node_id": devID, "log_level": "debug"}, "path="+devMarker,
		func() { get(t, a.HTTPAddr(), devMarker) })

	_, errCh := c.Agent().Monitor(nil, &nomad.QueryOptions{Params: map[string]string{"node_id": "00000000-0000-0000-0000-000000000000"}})
	wantStatus(t, "monitor of an unknown node", <-errCh, http.StatusNotFound)
	_, errCh = c.Agent().Monitor(nil, &nomad.QueryOptions{Params: map[string]string{"node_id": nodeID, "server_id": "leader"}})
	wantStatus(t, "monitor of a node and a server", <-errCh, http.StatusBadRequest)
}

// TestAgentMonitorForwardsToServer: server_id names another server (its
// name as `server members` lists it, its node name, or "leader") and the
// stream comes from it; with ACLs, the token is checked as without
// forwarding (anonymous refused, management allowed).
func TestAgentMonitorForwardsToServer(t *testing.T) {
	servers := startCluster(t, 2, func(c *Config) { c.ACL.Enabled = true })
	leader := waitLeader(t, servers, 2)
	var follower *clusterServer
	for _, s := range servers {
		if s != leader {
			follower = s
		}
	}
	boot, _, err := aclClient(t, leader.agent.HTTPAddr(), "").ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	_, errCh := aclClient(t, follower.agent.HTTPAddr(), "").Agent().Monitor(nil,
		&nomad.QueryOptions{Params: map[string]string{"server_id": leader.name}})
	wantStatus(t, "anonymous monitor of another server", <-errCh, http.StatusForbidden)

	mgmt := func(s *clusterServer) *nomad.Client { return aclClient(t, s.agent.HTTPAddr(), boot.SecretID) }
	waitFor(t, "the follower to know the bootstrap token", 30*time.Second, func() (bool, string) {
		_, err := mgmt(follower).Agent().Members()
		return err == nil, fmt.Sprint(err)
	})
	for _, name := range []string{leader.name, leader.name + ".global", "leader"} {
		marker := "/v1/monitor-marker-" + strings.ReplaceAll(name, ".", "-")
		monitorUntil(t, mgmt(follower), map[string]string{"server_id": name, "log_level": "debug"}, "path="+marker,
			func() { get(t, leader.agent.HTTPAddr(), marker) })
	}
	marker := "/v1/monitor-marker-follower"
	monitorUntil(t, mgmt(leader), map[string]string{"server_id": follower.name, "log_level": "debug"}, "path="+marker,
		func() { get(t, follower.agent.HTTPAddr(), marker) })

	_, errCh = mgmt(leader).Agent().Monitor(nil, &nomad.QueryOptions{Params: map[string]string{"server_id": "nope"}})
	wantStatus(t, "monitor of an unknown server", <-errCh, http.StatusNotFound)
}
