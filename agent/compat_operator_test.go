package agent

import (
	"io"
	"net/http"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatOperator covers autopilot, snapshot save with its Digest, the
// scheduler workers, regions and the workload identity discovery
// documents through the official client.
func TestCompatOperator(t *testing.T) {
	a, c, _ := compatAgent(t, nil)
	t.Run("autopilot", func(t *testing.T) {
		conf, _, err := c.Operator().AutopilotGetConfiguration(nil)
		if err != nil || !conf.CleanupDeadServers || conf.MaxTrailingLogs != 250 {
			t.Errorf("AutopilotGetConfiguration = %+v, %v", conf, err)
		}
		if _, err := c.Operator().AutopilotSetConfiguration(conf, nil); err == nil || !strings.Contains(err.Error(), "fixed") {
			t.Errorf("AutopilotSetConfiguration = %v, want a refusal saying why", err)
		}
		h, _, err := c.Operator().AutopilotServerHealth(nil)
		if err != nil || !h.Healthy || len(h.Servers) != 1 || !h.Servers[0].Leader || h.Leader == "" || len(h.Voters) != 1 {
			t.Errorf("AutopilotServerHealth = %+v, %v", h, err)
		}
	})
	t.Run("snapshot save with digest", func(t *testing.T) {
		r, err := c.Operator().Snapshot(nil)
		if err != nil {
			t.Fatalf("Snapshot: %v", err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil || n == 0 {
			t.Fatalf("reading the snapshot (the client checks the Digest): %d bytes, %v", n, err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close (digest check): %v", err)
		}
	})
	t.Run("schedulers and regions", func(t *testing.T) {
		info, err := c.Agent().GetSchedulerWorkersInfo(nil)
		if err != nil || len(info.Schedulers) == 0 || info.Schedulers[0].Status != "started" {
			t.Errorf("GetSchedulerWorkersInfo = %+v, %v", info, err)
		}
		regions, err := c.Regions().List()
		if err != nil || len(regions) != 1 || regions[0] != "global" {
			t.Errorf("Regions = %v, %v", regions, err)
		}
	})
	t.Run("well-known", func(t *testing.T) {
		for _, p := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration"} {
			resp, err := http.Get("http://" + a.HTTPAddr() + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "{") {
				t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
			}
		}
	})
	t.Run("response fields", func(t *testing.T) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("Nodes().List: %v", err)
		}
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/node/" + nodes[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"SecretID":""`) {
			t.Errorf("node response lacks an empty SecretID key: %.300s", body)
		}
	})
}

// TestCompatPprof: /v1/agent/pprof/ is served only with enable_debug, or
// with ACLs to a token with agent:write (TestPprofACL).
func TestCompatPprof(t *testing.T) {
	_, off, _ := compatAgent(t, nil)
	if _, err := off.Agent().Lookup("goroutine", nomad.PprofOptions{}, nil); err == nil || !strings.Contains(err.Error(), "enable_debug") {
		t.Errorf("Lookup without enable_debug: %v, want a 403 naming enable_debug", err)
	}
	_, on, _ := compatAgent(t, func(c *Config) { c.EnableDebug = true })
	b, err := on.Agent().Lookup("goroutine", nomad.PprofOptions{}, nil)
	if err != nil || len(b) == 0 {
		t.Errorf("Lookup(goroutine) with enable_debug: %d bytes, %v", len(b), err)
	}
	if b, err := on.Agent().CPUProfile(nomad.PprofOptions{Seconds: 1}, nil); err != nil || len(b) == 0 {
		t.Errorf("CPUProfile: %d bytes, %v", len(b), err)
	}
}

// TestPprofACL: with ACLs enabled and enable_debug off, the profiler is
// served to a management token and refused to anonymous, as Nomad does.
func TestPprofACL(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.ACL.Enabled = true })
	anon := aclClient(t, a.HTTPAddr(), "")
	_, err := anon.Agent().Lookup("goroutine", nomad.PprofOptions{}, nil)
	wantStatus(t, "anonymous pprof", err, http.StatusForbidden)
	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("ACLTokens().Bootstrap: %v", err)
	}
	b, err := aclClient(t, a.HTTPAddr(), boot.SecretID).Agent().Lookup("heap", nomad.PprofOptions{GC: 1}, nil)
	if err != nil || len(b) == 0 {
		t.Errorf("management Lookup(heap, gc=1): %d bytes, %v", len(b), err)
	}
}
