package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyDeploymentDelete removes deployments (garbage collection).
func (f *fsm) applyDeploymentDelete(buf []byte, index uint64) error {
	var req structs.DeploymentDeleteRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode deployment delete request: %w", err)
	}
	if err := f.state.DeleteDeployments(index, req.Deployments); err != nil {
		return fmt.Errorf("delete %d deployments: %w", len(req.Deployments), err)
	}
	return nil
}

// applyReconcileSummaries recounts every job summary.
func (f *fsm) applyReconcileSummaries(index uint64) error {
	if err := f.state.ReconcileJobSummaries(index); err != nil {
		return fmt.Errorf("reconcile job summaries: %w", err)
	}
	return nil
}
