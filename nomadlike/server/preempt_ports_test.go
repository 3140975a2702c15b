package server

import (
	"context"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestPortPreemptionCommitted checks that the plan applier commits a
// placement that takes a static port from the lower-priority allocation it
// preempts (the port is free once the victim is evicted).
func TestPortPreemptionCommitted(t *testing.T) {
	s := newTestServer(t, nil)
	resp, err := s.SetSchedulerConfig(context.Background(), &structs.SchedulerConfig{
		SchedulerAlgorithm: structs.SchedulerAlgorithmBinpack,
		PreemptionConfig:   structs.PreemptionConfig{ServiceSchedulerEnabled: true, SystemSchedulerEnabled: true},
	}, false, 0)
	if err != nil || !resp.Updated {
		t.Fatalf("SetSchedulerConfig = %+v, %v", resp, err)
	}
	registerNode(t, s, mockNode("only"))
	withPort := func(id string, prio int) *structs.Job {
		j := mockJob(id, 1, 100, 64)
		j.Priority = prio
		j.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "host", ReservedPorts: []structs.Port{{Label: "http", Value: 8080}}}}
		return j
	}
	registerJob(t, s, withPort("low", 20))
	victim := waitLiveAllocs(t, s, "low", 1)[0]
	registerJob(t, s, withPort("high", 80))
	placed := waitLiveAllocs(t, s, "high", 1)[0]
	evicted, err := s.state.AllocByID(nil, victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	if evicted.DesiredStatus != structs.AllocDesiredStatusEvict || evicted.PreemptedByAllocation != placed.ID {
		t.Errorf("victim: desired %q preempted by %q; want evict by %s", evicted.DesiredStatus, evicted.PreemptedByAllocation, placed.ID)
	}
	if ports := placed.AllocatedResources.Shared.Ports; len(ports) != 1 || ports[0].Value != 8080 {
		t.Errorf("placed with ports %+v, want 8080", ports)
	}
}
