package server

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// heartbeats keeps one TTL timer per node on the leader. A node whose timer
// fires is marked down. Safe for concurrent use.
type heartbeats struct {
	srv *Server

	mu     sync.Mutex
	timers map[string]*time.Timer
	// active is true while this server is the leader; done and wg belong
	// to the current leadership term.
	active bool
	done   <-chan struct{}
	wg     *sync.WaitGroup
	rng    *rand.Rand
}

func newHeartbeats(s *Server) *heartbeats {
	return &heartbeats{srv: s, timers: map[string]*time.Timer{}, rng: s.cfg.newRand()}
}

// initialize arms a timer for every ready or disconnected node with FailoverHeartbeatTTL
// (at least the TTL plus the grace period): clients whose server died need
// time to fail over to another one and reach the new leader, and no node
// may be marked down merely because leadership moved.
func (h *heartbeats) initialize(ctx context.Context, wg *sync.WaitGroup) error {
	h.mu.Lock()
	h.active, h.done, h.wg = true, ctx.Done(), wg
	h.mu.Unlock()
	nodes, err := h.srv.state.Nodes(nil)
	if err != nil {
		return fmt.Errorf("list nodes for heartbeat timers: %w", err)
	}
	for _, n := range nodes {
		// A disconnected node's timer decides, when it fires, whether its
		// windows have passed and it goes down.
		if n.Status != structs.NodeStatusReady && n.Status != structs.NodeStatusDisconnected {
			continue
		}
		h.resetFor(n.ID, h.srv.cfg.FailoverHeartbeatTTL)
	}
	return nil
}

// ttlLocked is the TTL handed to a client: at least MinHeartbeatTTL, longer
// with many nodes so the leader sees at most maxHeartbeatsPerSecond, plus
// up to the same again as jitter so heartbeats spread out.
func (h *heartbeats) ttlLocked() time.Duration {
	ttl := h.srv.cfg.MinHeartbeatTTL
	if scaled := time.Duration(float64(len(h.timers)) / maxHeartbeatsPerSecond * float64(time.Second)); scaled > ttl {
		ttl = scaled
	}
	return ttl + time.Duration(h.rng.Int63n(int64(ttl)))
}

// reset (re)arms the node's timer and returns the TTL the client should
// heartbeat within. It returns 0 when this server is not the leader.
func (h *heartbeats) reset(nodeID string) time.Duration {
	return h.resetFor(nodeID, 0)
}

// resetFor is reset with the timer set to at least minWait.
func (h *heartbeats) resetFor(nodeID string, minWait time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.active {
		return 0
	}
	ttl := h.ttlLocked()
	wait := max(ttl+h.srv.cfg.HeartbeatGrace, minWait)
	if t, ok := h.timers[nodeID]; ok && t.Stop() {
		h.wg.Done() // a stopped timer's function never runs
	}
	done, wg := h.done, h.wg
	wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		defer wg.Done()
		h.mu.Lock()
		current := h.timers[nodeID] == t
		if current {
			delete(h.timers, nodeID)
		}
		h.mu.Unlock()
		if !current {
			return
		}
		ctx, cancel := doneContext(done, raftApplyTimeout)
		defer cancel()
		h.srv.nodeHeartbeatMissed(ctx, nodeID, wait)
	})
	h.timers[nodeID] = t
	return ttl
}

// remove stops the node's timer.
func (h *heartbeats) remove(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.timers[nodeID]; ok {
		if t.Stop() {
			h.wg.Done()
		}
		delete(h.timers, nodeID)
	}
}

// clear stops every timer (leadership lost).
func (h *heartbeats) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.timers {
		if t.Stop() {
			h.wg.Done()
		}
		delete(h.timers, id)
	}
	h.active = false
	h.done, h.wg = nil, nil
}

func (h *heartbeats) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.timers)
}

// nodeHeartbeatMissed marks a node down and creates a node-update
// evaluation for every job with allocations on it, so the scheduler marks
// them lost and replaces them. A node with allocations of groups that set
// max_client_disconnect becomes "disconnected" instead, until the longest
// window has passed (heartbeat_disconnect.go).
func (s *Server) nodeHeartbeatMissed(ctx context.Context, nodeID string, waited time.Duration) {
	node, err := s.state.NodeByID(nil, nodeID)
	if err != nil {
		s.logger.Error("heartbeat expiry: look up node", "node_id", nodeID, "error", err)
		return
	}
	if node == nil || node.Status == structs.NodeStatusDown {
		return
	}
	s.metrics.heartbeatsExpired.Inc()
	now := time.Now()
	dis, err := s.disconnectAllocs(nodeID)
	if err != nil {
		s.logger.Error("heartbeat expiry: list allocations", "node_id", nodeID, "error", err)
		return
	}
	if len(dis) > 0 && s.nodeDisconnected(ctx, node, dis, waited, now) {
		return
	}
	evals, err := s.nodeEvals(node, now)
	if err != nil {
		s.logger.Error("heartbeat expiry: build evaluations", "node_id", nodeID, "error", err)
		return
	}
	req := &structs.NodeUpdateStatusRequest{
		NodeID: nodeID, Status: structs.NodeStatusDown, Evals: evals, Timestamp: now.UnixNano(),
		Event: &structs.NodeEvent{
			Message: "Node heartbeat missed", Subsystem: "Cluster", Timestamp: now,
			Details: map[string]string{"waited": waited.String()},
		},
	}
	if _, err := s.raftApply(ctx, structs.NodeUpdateStatusRequestType, req); err != nil {
		s.logger.Error("heartbeat expiry: mark node down", "node_id", nodeID, "error", err)
		return
	}
	s.logger.Warn("node missed its heartbeat; marked down and its allocations rescheduled",
		"node_id", nodeID, "node_name", node.Name, "waited", waited, "jobs", len(evals))
}

// nodeEvals returns a node-update evaluation for each job with live
// allocations on node, and for every system and sysbatch job.
func (s *Server) nodeEvals(node *structs.Node, now time.Time) ([]*structs.Evaluation, error) {
	allocs, err := s.state.AllocsByNode(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("list allocs of node %s: %w", node.ID, err)
	}
	seen := map[jobKey]bool{}
	var evals []*structs.Evaluation
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		key := jobKey{a.Namespace, a.JobID}
		if seen[key] {
			continue
		}
		seen[key] = true
		job, err := s.state.JobByID(nil, a.Namespace, a.JobID)
		if err != nil {
			return nil, fmt.Errorf("look up job %q: %w", a.JobID, err)
		}
		if job == nil {
			job = a.Job
		}
		if job == nil {
			continue
		}
		evals = append(evals, &structs.Evaluation{
			ID: structs.GenerateUUID(), Namespace: a.Namespace, Priority: job.Priority, Type: job.Type,
			TriggeredBy: structs.EvalTriggerNodeUpdate, JobID: a.JobID, NodeID: node.ID,
			NodeModifyIndex: node.ModifyIndex, Status: structs.EvalStatusPending,
			CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
		})
	}
	return s.appendSystemJobEvals(evals, seen, node, now)
}
