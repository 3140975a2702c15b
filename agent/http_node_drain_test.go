package agent

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// startTestServer starts an in-memory server that leads, behind the HTTP API.
func startTestServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv, err := server.NewServer(server.Config{NodeName: "drain-test", NumSchedulers: 1, BootstrapExpect: 1, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		t.Fatalf("WaitForLeader: %v", err)
	}
	cfg := HTTPConfig{Server: srv, Agent: DevConfig(), Logger: testLogger(t)}
	ts := httptest.NewServer(NewHTTPServer(cfg).Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

func testNode() *structs.Node {
	return &structs.Node{
		ID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{Cpu: structs.NodeCpuResources{CpuShares: 1000}, Memory: structs.NodeMemoryResources{MemoryMB: 1024}},
	}
}

// TestOfficialClientDrainEligibilitySchedulerConfig drives the new
// endpoints with HashiCorp's official client.
func TestOfficialClientDrainEligibilitySchedulerConfig(t *testing.T) {
	srv, addr := startTestServer(t)
	node := testNode()
	if _, err := srv.RegisterNode(context.Background(), node); err != nil {
		t.Fatalf("RegisterNode: %v", err)
	}
	c, err := nomad.NewClient(&nomad.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}

	got, _, err := c.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		t.Fatalf("SchedulerGetConfiguration: %v", err)
	}
	if got.SchedulerConfig.SchedulerAlgorithm != nomad.SchedulerAlgorithmBinpack || !got.SchedulerConfig.PreemptionConfig.SystemSchedulerEnabled {
		t.Errorf("default config = %+v, want binpack with system preemption", got.SchedulerConfig)
	}
	set, _, err := c.Operator().SchedulerSetConfiguration(&nomad.SchedulerConfiguration{
		SchedulerAlgorithm: nomad.SchedulerAlgorithmSpread,
		PreemptionConfig:   nomad.PreemptionConfig{ServiceSchedulerEnabled: true},
	}, nil)
	if err != nil || !set.Updated {
		t.Fatalf("SchedulerSetConfiguration = %+v, %v", set, err)
	}
	got, _, err = c.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := got.SchedulerConfig
	if sc.SchedulerAlgorithm != nomad.SchedulerAlgorithmSpread || !sc.PreemptionConfig.ServiceSchedulerEnabled || sc.PreemptionConfig.SystemSchedulerEnabled || sc.ModifyIndex == 0 {
		t.Errorf("stored config = %+v", sc)
	}
	stale := *sc
	stale.ModifyIndex--
	cas, _, err := c.Operator().SchedulerCASConfiguration(&stale, nil)
	if err != nil || cas.Updated {
		t.Errorf("CAS with a stale index = %+v, %v; want not updated", cas, err)
	}

	el, err := c.Nodes().ToggleEligibility(node.ID, false, nil)
	if err != nil || el.NodeModifyIndex == 0 {
		t.Fatalf("ToggleEligibility = %+v, %v", el, err)
	}
	info, _, err := c.Nodes().Info(node.ID, nil)
	if err != nil || info.SchedulingEligibility != nomad.NodeSchedulingIneligible {
		t.Fatalf("after ToggleEligibility(false): %v, %v", info, err)
	}
	if _, err := c.Nodes().ToggleEligibility(node.ID, true, nil); err != nil {
		t.Fatalf("ToggleEligibility(true): %v", err)
	}

	dr, err := c.Nodes().UpdateDrain(node.ID, &nomad.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true}, false, nil)
	if err != nil || dr.NodeModifyIndex == 0 {
		t.Fatalf("UpdateDrain = %+v, %v", dr, err)
	}
	// The node is empty, so the drain completes on its own.
	waitFor(t, "the drain to complete", 10*time.Second, func() (bool, string) {
		info, _, err = c.Nodes().Info(node.ID, nil)
		if err != nil {
			return false, err.Error()
		}
		return !info.Drain && info.DrainStrategy == nil, "still draining"
	})
	if info.SchedulingEligibility != nomad.NodeSchedulingIneligible {
		t.Errorf("drained node eligibility = %q, want ineligible", info.SchedulingEligibility)
	}
	if _, err := c.Nodes().UpdateDrain(node.ID, nil, true, nil); err != nil {
		t.Fatalf("UpdateDrain(nil, markEligible): %v", err)
	}
	info, _, _ = c.Nodes().Info(node.ID, nil)
	if info.SchedulingEligibility != nomad.NodeSchedulingEligible {
		t.Errorf("eligibility after ending the drain with MarkEligible = %q", info.SchedulingEligibility)
	}
}

func TestHTTPDrainAndSchedulerErrors(t *testing.T) {
	srv, addr := startTestServer(t)
	node := testNode()
	if _, err := srv.RegisterNode(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	fake := testAPI(t, newFakeServer(t), nil)
	tests := []struct {
		name     string
		base     string
		method   string
		path     string
		body     string
		wantCode int
		wantMsg  string
	}{
		{"unknown eligibility", addr, "PUT", "/v1/node/" + node.ID + "/eligibility", `{"Eligibility":"maybe"}`, 400, "unknown scheduling eligibility"},
		{"no eligibility", addr, "PUT", "/v1/node/" + node.ID + "/eligibility", `{}`, 400, "no Eligibility"},
		{"unknown node", addr, "PUT", "/v1/node/nope/drain", `{"DrainSpec":{"Deadline":0}}`, 404, `node "nope" not found`},
		{"mismatched node ID", addr, "PUT", "/v1/node/" + node.ID + "/drain", `{"NodeID":"other"}`, 400, "does not match"},
		{"bad algorithm", addr, "PUT", "/v1/operator/scheduler/configuration", `{"SchedulerAlgorithm":"random"}`, 400, `unknown algorithm "random"`},
		{"bad cas", addr, "PUT", "/v1/operator/scheduler/configuration?cas=x", `{}`, 400, "cas="},
		{"server without drain support", fake.URL, "PUT", "/v1/node/x/drain", `{}`, 501, "does not support node drain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := do(t, tt.method, tt.base+tt.path, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, code, body, tt.wantCode, tt.wantMsg)
			}
		})
	}
}
