package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writers (a logger).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAttackSecretsNotServed is issue 12 item 9 (redaction): the gossip key
// and the node's secret appear in no API response (agent self, nodes,
// allocations, the event stream) and in no log line, at debug level.
func TestAttackSecretsNotServed(t *testing.T) {
	const gossipKey = "cg8StVXbQJ0gPvMd9o7yrg=="
	var logs lockedBuffer
	a := startDevAgentLogging(t, func(c *Config) { c.Server.Encrypt = gossipKey }, &logs)
	addr := a.HTTPAddr()
	var node *structs.Node
	waitFor(t, "the dev node to register", 30*time.Second, func() (bool, string) {
		snap, err := a.server.State().Snapshot()
		if err != nil {
			return false, err.Error()
		}
		nodes, err := snap.Nodes(nil)
		if err != nil || len(nodes) == 0 {
			return false, "no node"
		}
		node = nodes[0]
		return node.Status == structs.NodeStatusReady, node.Status
	})
	secret := node.SecretID
	if secret == "" {
		t.Fatal("the node has no secret")
	}
	if code, msg := send(t, addr, http.MethodPost, "/v1/jobs", "", rawExecJobJSON("secrets", "/dev/null")); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, msg)
	}
	var allocID string
	waitFor(t, "the allocation to complete", 60*time.Second, func() (bool, string) {
		snap, err := a.server.State().Snapshot()
		if err != nil {
			return false, err.Error()
		}
		allocs, err := snap.AllocsByJob(nil, structs.DefaultNamespace, "secrets", true)
		if err != nil || len(allocs) == 0 {
			return false, "no alloc"
		}
		allocID = allocs[0].ID
		return allocs[0].ClientStatus == structs.AllocClientStatusComplete, allocs[0].ClientStatus
	})
	paths := []string{
		"/v1/agent/self", "/v1/agent/members", "/v1/agent/servers", "/v1/nodes", "/v1/nodes?resources=true",
		"/v1/node/" + node.ID, "/v1/node/" + node.ID + "/allocations", "/v1/allocations",
		"/v1/allocation/" + allocID, "/v1/job/secrets/allocations", "/v1/metrics", "/v1/client/stats",
		"/v1/operator/raft/configuration",
	}
	check := func(what, body string) {
		t.Helper()
		if strings.Contains(body, gossipKey) {
			t.Errorf("%s holds the gossip key", what)
		}
		if strings.Contains(body, secret) {
			t.Errorf("%s holds the node secret", what)
		}
	}
	for _, p := range paths {
		code, body := send(t, addr, http.MethodGet, p, "", "")
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
		check("GET "+p, body)
	}
	// The event stream from the start of the log: read what it has.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/event/stream?index=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := io.ReadAll(resp.Body) // ends at the context's deadline
	resp.Body.Close()
	if !strings.Contains(string(events), node.ID) {
		t.Errorf("the event stream has no event of the node: %.300s", events)
	}
	check("the event stream", string(events))
	check("the agent log", logs.String())
	var self struct {
		Config struct{ Server struct{ Encrypt string } } `json:"config"`
	}
	if err := json.Unmarshal([]byte(mustGet(t, addr, "/v1/agent/self")), &self); err != nil || self.Config.Server.Encrypt != redacted {
		t.Errorf("agent self: config.Server.Encrypt = %q (%v), want %q", self.Config.Server.Encrypt, err, redacted)
	}
}

func mustGet(t *testing.T, addr, path string) string {
	t.Helper()
	_, body := send(t, addr, http.MethodGet, path, "", "")
	return body
}
