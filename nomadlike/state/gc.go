package state

import (
	"fmt"
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
