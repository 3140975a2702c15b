package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// errWrongSecret is the 403 a node gets when its secret does not match.
func errWrongSecret(nodeID string) error {
	return &structs.CodedError{
		Code: http.StatusForbidden,
		Msg:  fmt.Sprintf("node %s: the node secret does not match the one it registered with; if the client's data dir was wiped, give it a new node ID", structs.ShortID(nodeID)),
		Err:  structs.ErrPermissionDenied,
	}
}

// RegisterNode registers a client node (or re-registers it) as ready. A node
// coming back from down gets node-update evaluations for its jobs; a ready
// node is new capacity, which releases blocked evaluations.
func (s *Server) RegisterNode(ctx context.Context, node *structs.Node) (*structs.NodeUpdateResponse, error) {
	if node == nil {
		return nil, structs.NewBadRequest("node register request has no Node")
	}
	if err := structs.CheckNoNullElements(node, "Node"); err != nil {
		return nil, err
	}
	if err := node.Validate(); err != nil {
		var ve *structs.ValidationError
		if errors.As(err, &ve) {
			return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("node %q is invalid", node.Name), Err: err}
		}
		return nil, structs.NewBadRequest("node %q is invalid: %v", node.Name, err)
	}
	existing, err := s.state.NodeByID(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", node.ID, err)
	}
	if existing != nil && !structs.SecretsEqual(existing.SecretID, node.SecretID) {
		return nil, errWrongSecret(node.ID)
	}
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	now := time.Now()
	n := node.Copy()
	n.Status = structs.NodeStatusReady
	n.StatusUpdatedAt = now.Unix()
	if n.SchedulingEligibility == "" {
		n.SchedulingEligibility = structs.NodeSchedulingEligible
	}
	if existing != nil {
		// Drain and eligibility are the servers' (operators'), not the
		// client's: a re-registration (a restart, a driver's health, new
		// metadata) keeps them.
		n.Drain, n.DrainStrategy = existing.Drain, existing.DrainStrategy.Copy()
		n.SchedulingEligibility = existing.SchedulingEligibility
		n.LastDrain = existing.LastDrain.Copy()
	}
	if n.NodePool == "" {
		n.NodePool = structs.DefaultNodePool
	}
	n.ComputeClass()
	if existing == nil {
		n.Events = []*structs.NodeEvent{{Message: "Node registered", Subsystem: "Cluster", Timestamp: now}}
	} else {
		n.Events = existing.Events
	}
	var evals []*structs.Evaluation
	if existing == nil {
		// A new node is capacity for every system and sysbatch job.
		if evals, err = s.nodeEvals(n, now); err != nil {
			return nil, fmt.Errorf("register node %s: %w", node.ID, err)
		}
	} else if existing.Status != structs.NodeStatusReady {
		if evals, err = s.nodeEvals(existing, now); err != nil {
			return nil, fmt.Errorf("register node %s: %w", node.ID, err)
		}
	}
	req := &structs.NodeRegisterRequest{Node: n, Evals: evals, Timestamp: now.UnixNano()}
	index, err := s.raftApply(ctx, structs.NodeRegisterRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", node.ID, err)
	}
	return &structs.NodeUpdateResponse{HeartbeatTTL: s.hb.reset(node.ID), Index: index, Servers: s.ServerHTTPAddrs()}, nil
}

// NodeHeartbeat resets the node's TTL timer. A node that was marked down
// becomes ready again (and its jobs are re-evaluated). An unknown node gets
// a 404 so the client registers again.
func (s *Server) NodeHeartbeat(ctx context.Context, nodeID, secretID string) (*structs.NodeUpdateResponse, error) {
	node, err := s.authNode(nodeID, secretID)
	if err != nil {
		return nil, err
	}
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	var index uint64
	if node.Status != structs.NodeStatusReady {
		now := time.Now()
		evals, err := s.nodeEvals(node, now)
		if err != nil {
			return nil, fmt.Errorf("heartbeat of node %s: %w", nodeID, err)
		}
		req := &structs.NodeUpdateStatusRequest{
			NodeID: nodeID, Status: structs.NodeStatusReady, Evals: evals, Timestamp: now.UnixNano(),
			Event: &structs.NodeEvent{Message: fmt.Sprintf("Node heartbeating again (was %s)", node.Status), Subsystem: "Cluster", Timestamp: now},
		}
		if index, err = s.raftApply(ctx, structs.NodeUpdateStatusRequestType, req); err != nil {
			return nil, fmt.Errorf("heartbeat of node %s: mark ready: %w", nodeID, err)
		}
		s.logger.Info("node is heartbeating again; marked ready", "node_id", nodeID, "was", node.Status)
	} else if index, err = s.state.Index("nodes"); err != nil {
		return nil, fmt.Errorf("heartbeat of node %s: %w", nodeID, err)
	}
	return &structs.NodeUpdateResponse{HeartbeatTTL: s.hb.reset(nodeID), Index: index, Servers: s.ServerHTTPAddrs()}, nil
}

// authNode returns the node if it exists and secretID is its secret.
func (s *Server) authNode(nodeID, secretID string) (*structs.Node, error) {
	node, err := s.state.NodeByID(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("look up node %s: %w", nodeID, err)
	}
	if node == nil {
		return nil, structs.NewNotFound("node %s is not registered (the servers may have lost their state); register it again", nodeID)
	}
	if !structs.SecretsEqual(node.SecretID, secretID) {
		return nil, errWrongSecret(nodeID)
	}
	return node, nil
}
