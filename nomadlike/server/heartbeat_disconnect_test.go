package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// disconnectJob is a job with a group "keep" that may stay disconnected for
// window and, when withLose, a group "lose" that may not.
func disconnectJob(id string, window time.Duration, withLose bool) *structs.Job {
	j := mockJob(id, 1, 100, 64)
	j.TaskGroups[0].Name = "keep"
	j.TaskGroups[0].MaxClientDisconnect = &window
	if withLose {
		lose := j.TaskGroups[0].Copy()
		lose.Name = "lose"
		lose.MaxClientDisconnect = nil
		j.TaskGroups = append(j.TaskGroups, lose)
	}
	return j
}

func allocOfGroup(allocs []*structs.Allocation, group string) *structs.Allocation {
	for _, a := range allocs {
		if a.TaskGroup == group {
			return a
		}
	}
	return nil
}

func TestHeartbeatDisconnectWindowThenLost(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 200 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
	})
	n1 := mockNode("node-1")
	registerNode(t, s, n1)
	stop1 := heartbeatLoop(t, s, n1)
	const window = 3 * time.Second
	registerJob(t, s, disconnectJob("cache", window, true))
	first := waitLiveAllocs(t, s, "cache", 2)
	keep, lose := allocOfGroup(first, "keep"), allocOfGroup(first, "lose")

	n2 := mockNode("node-2")
	registerNode(t, s, n2)
	heartbeatLoop(t, s, n2)
	stop1()

	waitFor(t, 10*time.Second, "node-1 disconnected", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		return n.Status == structs.NodeStatusDisconnected, "status " + n.Status
	})
	n, _ := s.state.NodeByID(nil, n1.ID)
	if last := n.Events[len(n.Events)-1].Message; !strings.Contains(last, "disconnected") || !strings.Contains(last, window.String()) {
		t.Errorf("last event of node-1: got %q, want it to say disconnected for up to %s", last, window)
	}
	// The group without max_client_disconnect is lost and replaced at once;
	// the other stays unknown, not replaced.
	waitFor(t, 10*time.Second, "the lose alloc lost and replaced on node-2", func() (bool, string) {
		cur, _ := s.state.AllocByID(nil, lose.ID)
		if cur.ClientStatus != structs.AllocClientStatusLost {
			return false, "lose alloc client status " + cur.ClientStatus
		}
		r := allocOfGroup(liveAllocs(t, s, "cache"), "lose")
		return r != nil && r.NodeID == n2.ID, fmt.Sprintf("replacement %v", r)
	})
	cur, _ := s.state.AllocByID(nil, keep.ID)
	if cur.ClientStatus != structs.AllocClientStatusUnknown || cur.DesiredStatus != structs.AllocDesiredStatusRun {
		t.Errorf("keep alloc within the window: got client %q desired %q, want unknown and run", cur.ClientStatus, cur.DesiredStatus)
	}
	if r := allocOfGroup(liveAllocs(t, s, "cache"), "keep"); r == nil || r.ID != keep.ID {
		t.Errorf("keep group within the window: got live alloc %v, want the original %s (no replacement)", r, keep.ID)
	}

	// Once the window has passed it is lost and replaced, and the node is down.
	waitFor(t, window+10*time.Second, "the keep alloc lost and replaced after the window", func() (bool, string) {
		cur, _ := s.state.AllocByID(nil, keep.ID)
		if cur.ClientStatus != structs.AllocClientStatusLost || cur.DesiredStatus != structs.AllocDesiredStatusStop {
			return false, fmt.Sprintf("keep alloc client %q desired %q", cur.ClientStatus, cur.DesiredStatus)
		}
		r := allocOfGroup(liveAllocs(t, s, "cache"), "keep")
		return r != nil && r.NodeID == n2.ID, fmt.Sprintf("replacement %v", r)
	})
	waitFor(t, 10*time.Second, "node-1 down after its windows", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		return n.Status == structs.NodeStatusDown, "status " + n.Status
	})

	// The node comes back after the window: its copy, already replaced,
	// stays stopped (its client stops it) while it reports it running.
	heartbeatLoop(t, s, n1)
	r := keep.Copy()
	r.Job, r.ClientStatus = nil, structs.AllocClientStatusRunning
	if _, err := s.UpdateAllocsFromClient(context.Background(), n1.ID, n1.SecretID, []*structs.Allocation{r}); err != nil {
		t.Fatalf("client update after reconnecting: %v", err)
	}
	waitFor(t, 10*time.Second, "node-1 ready again", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		return n.Status == structs.NodeStatusReady, "status " + n.Status
	})
	waitFor(t, 10*time.Second, "the job's evaluations complete", func() (bool, string) {
		evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "cache")
		for _, e := range evals {
			if e.Status != structs.EvalStatusComplete {
				return false, fmt.Sprintf("eval %s (%s) is %s", e.ID, e.TriggeredBy, e.Status)
			}
		}
		return true, ""
	})
	if cur, _ := s.state.AllocByID(nil, keep.ID); cur.DesiredStatus != structs.AllocDesiredStatusStop {
		t.Errorf("reconnected copy of keep: got desired %q, want stop", cur.DesiredStatus)
	}
	live := liveAllocs(t, s, "cache")
	if len(live) != 2 {
		t.Errorf("got %d live allocs after the reconnect, want the 2 replacements", len(live))
	}
	for _, a := range live {
		if a.NodeID != n2.ID {
			t.Errorf("live alloc %s (%s) on node %s, want node-2", a.ID, a.TaskGroup, a.NodeID)
		}
	}
}

func TestHeartbeatReconnectWithinWindow(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 200 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
	})
	n1 := mockNode("node-1")
	registerNode(t, s, n1)
	stop1 := heartbeatLoop(t, s, n1)
	job := disconnectJob("cache", time.Minute, false)
	job.TaskGroups[0].Count = 2
	registerJob(t, s, job)
	first := waitLiveAllocs(t, s, "cache", 2)
	n2 := mockNode("node-2")
	registerNode(t, s, n2)
	heartbeatLoop(t, s, n2)
	stop1()

	waitFor(t, 10*time.Second, "node-1 disconnected and its allocs unknown", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		if n.Status != structs.NodeStatusDisconnected {
			return false, "status " + n.Status
		}
		for _, a := range first {
			cur, _ := s.state.AllocByID(nil, a.ID)
			if cur.ClientStatus != structs.AllocClientStatusUnknown {
				return false, fmt.Sprintf("alloc %s client status %q", a.ID, cur.ClientStatus)
			}
		}
		return true, ""
	})

	// The node comes back: ready, and the client reports its allocs again.
	heartbeatLoop(t, s, n1)
	waitFor(t, 10*time.Second, "node-1 ready again", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, n1.ID)
		return n.Status == structs.NodeStatusReady, "status " + n.Status
	})
	var report []*structs.Allocation
	for _, a := range first {
		r := a.Copy()
		r.Job, r.ClientStatus = nil, structs.AllocClientStatusRunning
		report = append(report, r)
	}
	if _, err := s.UpdateAllocsFromClient(context.Background(), n1.ID, n1.SecretID, report); err != nil {
		t.Fatalf("client update after reconnecting: %v", err)
	}
	// Every evaluation that is due (not the one for the end of the window)
	// has run, and none placed a replacement.
	waitFor(t, 10*time.Second, "the job's due evaluations complete", func() (bool, string) {
		evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "cache")
		for _, e := range evals {
			if e.TriggeredBy == evalTriggerMaxDisconnectTimeout {
				continue
			}
			if e.Status != structs.EvalStatusComplete {
				return false, fmt.Sprintf("eval %s (%s) is %s", e.ID, e.TriggeredBy, e.Status)
			}
		}
		return true, ""
	})
	live := liveAllocs(t, s, "cache")
	if len(live) != 2 {
		t.Fatalf("got %d live allocs, want the 2 originals", len(live))
	}
	for _, a := range live {
		if a.NodeID != n1.ID || a.ClientStatus != structs.AllocClientStatusRunning {
			t.Errorf("alloc %s: got node %s status %q, want the original on node-1, running", a.ID, a.NodeID, a.ClientStatus)
		}
	}
	var timeouts int
	evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "cache")
	for _, e := range evals {
		if e.TriggeredBy == evalTriggerMaxDisconnectTimeout {
			timeouts++
			if e.WaitUntil.Before(time.Now().Add(50 * time.Second)) {
				t.Errorf("max-disconnect-timeout eval waits until %s, want about a minute after the disconnect", e.WaitUntil)
			}
		}
	}
	if timeouts != 1 {
		t.Errorf("got %d max-disconnect-timeout evals, want 1", timeouts)
	}
}
