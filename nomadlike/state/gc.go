package state

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DeleteDeployments removes deployments (garbage collection). Unknown IDs
// are skipped, so a deployment removed meanwhile never fails the entry.
// Allocations keep their DeploymentID; a deployment is only collected once
// no allocation refers to it.
func (s *Store) DeleteDeployments(index uint64, ids []string) error {
	txn := s.writeTxn()
	defer txn.Abort()
	deleted := 0
	for _, id := range ids {
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
	if err := setIndex(txn, tableDeployment, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// ReconcileJobSummaries recounts every job's summary (and the children
// counts of periodic and parameterized parents) from its allocations and
// latest evaluation (PUT /v1/system/reconcile/summaries). Only summaries
// whose counts changed are written.
func (s *Store) ReconcileJobSummaries(index uint64) error {
	txn := s.writeTxn()
	defer txn.Abort()
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
	txn.Commit()
	return nil
}
