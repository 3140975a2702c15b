package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// evalTriggerMaxDisconnectTimeout is Nomad's trigger of the evaluation that
// runs when an allocation's max_client_disconnect window ends.
const evalTriggerMaxDisconnectTimeout = "max-disconnect-timeout"

// disconnectAlloc is a live allocation of a group with max_client_disconnect.
type disconnectAlloc struct {
	alloc  *structs.Allocation
	window time.Duration
}

// disconnectAllocs returns the node's live allocations whose group (in the
// version they run) sets max_client_disconnect.
func (s *Server) disconnectAllocs(nodeID string) ([]disconnectAlloc, error) {
	allocs, err := s.state.AllocsByNode(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("list allocs of node %s: %w", nodeID, err)
	}
	var out []disconnectAlloc
	for _, a := range allocs {
		if a.TerminalStatus() || a.Job == nil {
			continue
		}
		tg := a.Job.LookupTaskGroup(a.TaskGroup)
		if tg == nil || tg.MaxClientDisconnect == nil {
			continue
		}
		out = append(out, disconnectAlloc{alloc: a, window: *tg.MaxClientDisconnect})
	}
	return out, nil
}

// nodeDisconnected handles a missed heartbeat of a node with allocations
// that may stay disconnected (dis not empty). A ready node becomes
// "disconnected": those allocations become "unknown" (the scheduler keeps
// them without replacement), the others are lost and replaced by the usual
// node-update evaluations, an evaluation per job and window runs when the
// window ends, and the heartbeat timer fires again then. A node already
// disconnected stays so while a window is open; it reports false when every
// window has passed and the node must be marked down.
func (s *Server) nodeDisconnected(ctx context.Context, node *structs.Node, dis []disconnectAlloc, waited time.Duration, now time.Time) bool {
	if node.Status == structs.NodeStatusDisconnected {
		var remaining time.Duration
		for _, d := range dis {
			remaining = max(remaining, scheduler.DisconnectExpiry(node, d.window).Sub(now))
		}
		if remaining <= 0 {
			return false
		}
		s.hb.resetFor(node.ID, remaining)
		return true
	}

	update := &structs.AllocClientUpdateRequest{Timestamp: now.UnixNano()}
	longest := time.Duration(0)
	type jobWindow struct {
		key    jobKey
		window time.Duration
	}
	seen := map[jobWindow]bool{}
	var timeouts []*structs.Evaluation
	for _, d := range dis {
		longest = max(longest, d.window)
		if d.alloc.ClientStatus != structs.AllocClientStatusUnknown {
			u := d.alloc.Copy()
			u.Job = nil
			u.ClientStatus = structs.AllocClientStatusUnknown
			u.ClientDescription = fmt.Sprintf("node disconnected; kept for up to %s (max_client_disconnect) before it is replaced", d.window)
			u.TaskStates = nil // keep the client's
			update.Allocs = append(update.Allocs, u)
		}
		jw := jobWindow{jobKey{d.alloc.Namespace, d.alloc.JobID}, d.window}
		if seen[jw] {
			continue
		}
		seen[jw] = true
		job := d.alloc.Job
		if cur, err := s.state.JobByID(nil, d.alloc.Namespace, d.alloc.JobID); err == nil && cur != nil {
			job = cur
		}
		e := nodeUpdateEval(job, node, now)
		e.TriggeredBy = evalTriggerMaxDisconnectTimeout
		e.WaitUntil = now.Add(d.window)
		e.Wait = d.window
		timeouts = append(timeouts, e)
	}
	slices.SortFunc(update.Allocs, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })

	evals, err := s.nodeEvals(node, now)
	if err != nil {
		s.logger.Error("heartbeat expiry: build evaluations", "node_id", node.ID, "error", err)
		return true
	}
	if len(update.Allocs) > 0 {
		if _, err := s.raftApply(ctx, structs.AllocClientUpdateRequestType, update); err != nil {
			s.logger.Error("heartbeat expiry: mark allocations unknown", "node_id", node.ID, "error", err)
			return true
		}
	}
	req := &structs.NodeUpdateStatusRequest{
		NodeID: node.ID, Status: structs.NodeStatusDisconnected, Evals: append(evals, timeouts...), Timestamp: now.UnixNano(),
		Event: &structs.NodeEvent{
			Message:   fmt.Sprintf("Node heartbeat missed; disconnected: %d allocation(s) with max_client_disconnect are unknown for up to %s", len(dis), longest),
			Subsystem: "Cluster", Timestamp: now,
			Details: map[string]string{"waited": waited.String(), "max_client_disconnect": longest.String()},
		},
	}
	if _, err := s.raftApply(ctx, structs.NodeUpdateStatusRequestType, req); err != nil {
		s.logger.Error("heartbeat expiry: mark node disconnected", "node_id", node.ID, "error", err)
		return true
	}
	s.hb.resetFor(node.ID, longest)
	s.logger.Warn("node missed its heartbeat; marked disconnected: its allocations with max_client_disconnect are kept as unknown, the others rescheduled",
		"node_id", node.ID, "node_name", node.Name, "waited", waited, "unknown_allocs", len(dis), "window", longest)
	return true
}
