package agent

import (
	"fmt"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatForceLeavePrune removes a stopped server with `server
// force-leave -prune` as the stock CLI sends it (PUT
// /v1/agent/force-leave?node=X&prune=1 through the official client): the
// member disappears from serf's member list entirely and from Raft.
func TestCompatForceLeavePrune(t *testing.T) {
	servers := startCluster(t, 3, nil)
	waitLeader(t, servers, 3)
	gone := servers[2]
	gone.stop(t)
	leader := waitLeader(t, servers, 3)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + leader.agent.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	member := gone.name + ".global"
	status := func() (string, error) {
		m, err := c.Agent().Members()
		if err != nil {
			return "", err
		}
		for _, x := range m.Members {
			if x.Name == member {
				return x.Status, nil
			}
		}
		return "", nil
	}
	waitFor(t, "the stopped server to be failed or left", 30*time.Second, func() (bool, string) {
		s, err := status()
		if err != nil {
			return false, err.Error()
		}
		return s == "failed" || s == "left", fmt.Sprintf("status %q", s)
	})
	if err := c.Agent().ForceLeaveWithOptions(member, nomad.ForceLeaveOpts{Prune: true}); err != nil {
		t.Fatalf("ForceLeaveWithOptions(prune): %v", err)
	}
	waitFor(t, "the pruned member to leave the member list", 30*time.Second, func() (bool, string) {
		s, err := status()
		if err != nil {
			return false, err.Error()
		}
		return s == "", fmt.Sprintf("still listed as %q", s)
	})
	waitLeader(t, servers, 2)
	if err := c.Agent().ForceLeave(""); err == nil {
		t.Errorf("ForceLeave without a node: no error, want a 400")
	}
}
