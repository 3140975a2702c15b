package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DeleteDeployments removes deployments (garbage collection), as DeploymentDelete.
func (s *Store) DeleteDeployments(index uint64, ids []string) error {
	_, err := s.DeploymentDelete(index, &structs.DeploymentDeleteRequest{Deployments: ids})
	return err
}

// DeploymentDelete applies a DeploymentDeleteRequestType entry: it removes
// deployments (garbage collection). Unknown IDs are skipped, so a
// deployment removed meanwhile never fails the entry. Allocations keep
// their DeploymentID; a deployment is only collected once no allocation
// refers to it.
func (s *Store) DeploymentDelete(index uint64, req *structs.DeploymentDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete deployments at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		deleted := 0
		for _, id := range req.Deployments {
			d, err := deploymentByIDTxn(txn, nil, id)
			if err != nil {
				return err
			}
			if d == nil {
				continue
			}
			if err := txn.Delete(tableDeployment, d); err != nil {
				return fmt.Errorf("state: delete deployment %q: %w", id, err)
			}
			deleted++
		}
		if deleted == 0 {
			return nil
		}
		return setIndex(txn, tableDeployment, index)
	})
}

// ReconcileJobSummaries applies a ReconcileJobSummariesRequestType entry
// (PUT /v1/system/reconcile/summaries): it recounts every job's summary
// (and the children counts of periodic and parameterized parents) from its
// allocations and latest evaluation. Only summaries whose counts changed
// are written.
func (s *Store) ReconcileJobSummaries(index uint64, _ *structs.ReconcileJobSummariesRequest) (Result, error) {
	return s.write(index, func(txn *memdb.Txn) error {
		it, err := get(txn, nil, tableJobs, indexID)
		if err != nil {
			return err
		}
		for _, job := range collect[*structs.Job](it, nil) {
			if err := reconcileSummaryTxn(txn, index, job.Namespace, job.ID); err != nil {
				return err
			}
			if job.IsTemplate() {
				if err := refreshChildrenTxn(txn, index, job.Namespace, job.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
