package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// heartbeatLoop heartbeats node until the returned stop function is called.
func heartbeatLoop(t *testing.T, s *Server, n *structs.Node) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(30 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := s.NodeHeartbeat(ctx, n.ID, n.SecretID); err != nil && ctx.Err() == nil {
					t.Errorf("heartbeat of %s: %v", n.Name, err)
					return
				}
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func TestHeartbeatExpiryReplacesAllocs(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 200 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
	})
	n1 := mockNode("node-1")
	registerNode(t, s, n1)
	stop1 := heartbeatLoop(t, s, n1)
	registerJob(t, s, mockJob("web", 2, 100, 128))
	first := waitLiveAllocs(t, s, "web", 2)

	n2 := mockNode("node-2")
	registerNode(t, s, n2)
	heartbeatLoop(t, s, n2)
	stop1() // node-1 goes silent

	waitFor(t, 10*time.Second, "node-1 down", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		return n.Status == structs.NodeStatusDown, "status " + n.Status
	})
	n, _ := s.state.NodeByID(nil, n1.ID)
	if last := n.Events[len(n.Events)-1]; last.Message != "Node heartbeat missed" {
		t.Errorf("last event of node-1: got %q, want %q", last.Message, "Node heartbeat missed")
	}
	waitFor(t, 10*time.Second, "allocs of node-1 lost and replaced on node-2", func() (bool, string) {
		for _, a := range first {
			cur, _ := s.state.AllocByID(nil, a.ID)
			if cur.ClientStatus != structs.AllocClientStatusLost {
				return false, fmt.Sprintf("alloc %s client status %q", a.ID, cur.ClientStatus)
			}
		}
		live := liveAllocs(t, s, "web")
		for _, a := range live {
			if a.NodeID != n2.ID {
				return false, fmt.Sprintf("live alloc %s on %s", a.ID, a.NodeID)
			}
		}
		return len(live) == 2, fmt.Sprintf("%d live allocs", len(live))
	})

	// A down node heartbeating again becomes ready.
	if _, err := s.NodeHeartbeat(context.Background(), n1.ID, n1.SecretID); err != nil {
		t.Fatalf("heartbeat of the down node: %v", err)
	}
	n, _ = s.state.NodeByID(nil, n1.ID)
	if n.Status != structs.NodeStatusReady {
		t.Errorf("node-1 after heartbeating again: got %q, want ready", n.Status)
	}
}

func TestBlockedEvalUnblockedByNewNode(t *testing.T) {
	s := newTestServer(t, nil)
	registerNode(t, s, mockNode("small"))
	// 3 x 3000 MHz do not fit on one 4000 MHz node.
	resp := registerJob(t, s, mockJob("big", 3, 3000, 128))
	waitLiveAllocs(t, s, "big", 1)
	var blockedID string
	waitFor(t, 10*time.Second, "a blocked eval with placement failures", func() (bool, string) {
		evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "big")
		for _, e := range evals {
			if e.Status == structs.EvalStatusBlocked && e.FailedTGAllocs["web"] != nil {
				blockedID = e.ID
				return true, ""
			}
		}
		var st []string
		for _, e := range evals {
			st = append(st, e.TriggeredBy+"/"+e.Status+"/"+e.StatusDescription)
		}
		return false, fmt.Sprintf("%d evals, none blocked: %q", len(evals), st)
	})
	reg, _ := s.state.EvalByID(nil, resp.EvalID)
	if reg.FailedTGAllocs["web"] == nil || reg.FailedTGAllocs["web"].DimensionExhausted["cpu"] == 0 {
		t.Errorf("register eval FailedTGAllocs: got %+v, want web exhausted on cpu", reg.FailedTGAllocs)
	}
	if s.blocked.count() != 1 {
		t.Errorf("blocked tracker: got %d, want 1", s.blocked.count())
	}

	registerNode(t, s, mockNode("big-1"))
	registerNode(t, s, mockNode("big-2"))
	waitLiveAllocs(t, s, "big", 3)
	waitFor(t, 10*time.Second, "blocked eval done", func() (bool, string) {
		e, _ := s.state.EvalByID(nil, blockedID)
		evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "big")
		var st []string
		for _, e := range evals {
			st = append(st, e.ID[:8]+"/"+e.TriggeredBy+"/"+e.Status+"/"+e.StatusDescription)
		}
		return e.Status == structs.EvalStatusComplete, fmt.Sprintf("status %s of %s; all: %q", e.Status, blockedID[:8], st)
	})
}
