package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recordDeployment is the snapshot record of one deployment (append-only
// numbering, see snapshotRecord).
const recordDeployment snapshotRecord = 8

// applyDeploymentStatusUpdate changes a deployment's status, with the job it
// may register (auto-revert) and its evaluation.
func (f *fsm) applyDeploymentStatusUpdate(buf []byte, index uint64) error {
	var req structs.DeploymentStatusUpdateRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode deployment status update: %w", err)
	}
	if err := f.state.UpdateDeploymentStatus(index, &req); err != nil {
		return fmt.Errorf("update deployment status: %w", err)
	}
	f.notifyEvals(evalSlice(req.Eval))
	return nil
}

// applyDeploymentPromotion promotes a deployment's canaries.
func (f *fsm) applyDeploymentPromotion(buf []byte, index uint64) error {
	var req structs.DeploymentPromoteRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode deployment promotion: %w", err)
	}
	if err := f.state.UpdateDeploymentPromotion(index, &req); err != nil {
		return fmt.Errorf("promote deployment %s: %w", req.DeploymentID, err)
	}
	f.notifyEvals(evalSlice(req.Eval))
	return nil
}

// applyDeploymentAllocHealth records allocation health in a deployment.
func (f *fsm) applyDeploymentAllocHealth(buf []byte, index uint64) error {
	var req structs.DeploymentAllocHealthRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode deployment allocation health: %w", err)
	}
	if err := f.state.UpdateDeploymentAllocHealth(index, &req); err != nil {
		return fmt.Errorf("set allocation health in deployment %s: %w", req.DeploymentID, err)
	}
	f.notifyEvals(evalSlice(req.Eval))
	return nil
}

// evalSlice is e as a list (empty when nil).
func evalSlice(e *structs.Evaluation) []*structs.Evaluation {
	if e == nil {
		return nil
	}
	return []*structs.Evaluation{e}
}

// writeDeploymentRecords writes every deployment to a snapshot.
func writeDeploymentRecords(snap *state.Snapshot, put func(snapshotRecord, any) error) error {
	ds, err := snap.Deployments(nil)
	if err != nil {
		return fmt.Errorf("snapshot deployments: %w", err)
	}
	for _, d := range ds {
		if err := put(recordDeployment, d); err != nil {
			return fmt.Errorf("write deployment %s: %w", d.ID, err)
		}
	}
	return nil
}

// restoreDeploymentRecord reads one deployment from a snapshot.
func restoreDeploymentRecord(restore *state.Restore, dec *codec.Decoder) error {
	var d structs.Deployment
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("decode deployment: %w", err)
	}
	return restore.DeploymentRestore(&d)
}
