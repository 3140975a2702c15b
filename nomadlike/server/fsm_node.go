package server

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyNodeRegister stores a node and the evaluations its return calls for;
// a ready node is new capacity, so blocked evaluations are released.
func (f *fsm) applyNodeRegister(buf []byte, index uint64) error {
	var req structs.NodeRegisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode node register request: %w", err)
	}
	if req.Node == nil {
		return fmt.Errorf("node register request carries no node")
	}
	if err := f.state.UpsertNode(index, req.Node); err != nil {
		return fmt.Errorf("upsert node %s: %w", req.Node.ID, err)
	}
	if err := f.upsertEvals(index, req.Evals); err != nil {
		return err
	}
	if req.Node.Ready() {
		f.blocked.unblock(index)
	}
	return nil
}

// applyNodeUpdateStatus changes a node's status (heartbeat expiry, a down
// node heartbeating again) and stores the evaluations that follow.
func (f *fsm) applyNodeUpdateStatus(buf []byte, index uint64) error {
	var req structs.NodeUpdateStatusRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode node status update: %w", err)
	}
	if req.Event != nil {
		req.Event.CreateIndex = index
	}
	updatedAt := time.Unix(0, req.Timestamp).Unix()
	if err := f.state.UpdateNodeStatus(index, req.NodeID, req.Status, updatedAt, req.Event); err != nil {
		return fmt.Errorf("set node %s status %q: %w", req.NodeID, req.Status, err)
	}
	if err := f.upsertEvals(index, req.Evals); err != nil {
		return err
	}
	if req.Status == structs.NodeStatusReady {
		f.blocked.unblock(index)
	}
	return nil
}

// applyNodeDeregister removes nodes.
func (f *fsm) applyNodeDeregister(buf []byte, index uint64) error {
	var req structs.NodeDeregisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode node deregister request: %w", err)
	}
	if err := f.state.DeleteNodes(index, req.NodeIDs); err != nil {
		return fmt.Errorf("delete nodes %v: %w", req.NodeIDs, err)
	}
	return nil
}
