package state

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableDeployment holds the deployments of service jobs, indexed by ID and
// by job (namespace + job ID).
const tableDeployment = "deployment"

// indexActive indexes only the active deployments (structs.Deployment
// Active): the leader's deployment watcher reads and watches them alone,
// not every deployment ever made.
const indexActive = "active"

// indexModify indexes every deployment by {ModifyIndex, ID}: the leader's
// deployment watcher reads only the deployments written since the index it
// last saw (DeploymentsModifiedSince), not every active one on each change.
const indexModify = "modify"

func deploymentTableSchema() *memdb.TableSchema {
	return tableSchema(tableDeployment,
		stringIndexOf(indexID, true, false, func(d *structs.Deployment) string { return d.ID }),
		namespaceIDIndexOf(indexJob, false, false, func(d *structs.Deployment) (string, string) { return d.Namespace, d.JobID }),
		subsetIndex(indexActive, func(raw any) (string, bool) {
			d, ok := raw.(*structs.Deployment)
			if !ok || !d.Active() {
				return "", false
			}
			return d.ID, true
		}),
		&memdb.IndexSchema{Name: indexModify, Unique: true, Indexer: modifyIndexer{}},
	)
}

// modifyIndexer is the memdb.Indexer of indexModify: a deployment's key is
// its ModifyIndex (8 bytes, big-endian, so keys sort by index) and its ID;
// the argument, a uint64, is the 8-byte prefix of the keys of that index.
type modifyIndexer struct{}

func (modifyIndexer) FromObject(raw any) (bool, []byte, error) {
	d, ok := raw.(*structs.Deployment)
	if !ok {
		return false, nil, fmt.Errorf("state: modify index of deployments got %T", raw)
	}
	b := make([]byte, 8, 8+len(d.ID)+1)
	binary.BigEndian.PutUint64(b, d.ModifyIndex)
	b = append(b, d.ID...)
	return true, append(b, 0), nil
}

func (modifyIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("state: modify index takes 1 argument, got %d", len(args))
	}
	i, ok := args[0].(uint64)
	if !ok {
		return nil, fmt.Errorf("state: modify index argument must be a uint64: %#v", args[0])
	}
	return binary.BigEndian.AppendUint64(nil, i), nil
}

// ActiveDeployments returns the active deployments of every namespace, by
// ID (not sorted by age: the leader's watcher reads them on every change of
// one); ws wakes only when one of them changes, or a deployment becomes
// active or stops being so.
func (s *reader) ActiveDeployments(ws memdb.WatchSet) ([]*structs.Deployment, error) {
	it, err := get(s.readTxn(), ws, tableDeployment, indexActive)
	if err != nil {
		return nil, err
	}
	return collect[*structs.Deployment](it, nil), nil
}

// DeploymentsModifiedSince returns the deployments of every namespace
// written after index since (ModifyIndex > since), oldest write first, and
// the deployment table's index, up to which the answer is complete: a
// reader that keeps it as its next since sees every write once. Deleted
// deployments are not reported. ws wakes on the table's next write.
func (s *reader) DeploymentsModifiedSince(ws memdb.WatchSet, since uint64) ([]*structs.Deployment, uint64, error) {
	txn := s.readTxn()
	index, err := tableIndexOf(txn, ws, tableDeployment)
	if err != nil || index <= since {
		return nil, index, err
	}
	it, err := txn.LowerBound(tableDeployment, indexModify, since+1)
	if err != nil {
		return nil, 0, fmt.Errorf("state: list deployments modified since %d: %w", since, err)
	}
	return collect[*structs.Deployment](it, nil), index, nil
}

func deploymentByIDTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Deployment, error) {
	raw, err := first(txn, ws, tableDeployment, indexID, id)
	if err != nil {
		return nil, err
	}
	d, _ := raw.(*structs.Deployment)
	return d, nil
}

// DeploymentByID returns the deployment or nil.
func (s *reader) DeploymentByID(ws memdb.WatchSet, id string) (*structs.Deployment, error) {
	return deploymentByIDTxn(s.readTxn(), ws, id)
}

// byCreateIndex orders deployments oldest first (ties by ID).
func byCreateIndex(a, b *structs.Deployment) int {
	if c := cmp.Compare(a.CreateIndex, b.CreateIndex); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Deployments returns every deployment of every namespace, oldest (lowest
// CreateIndex) first.
func (s *reader) Deployments(ws memdb.WatchSet) ([]*structs.Deployment, error) {
	return s.DeploymentsByIDPrefix(ws, "*", "")
}

// DeploymentsByIDPrefix returns the deployments whose ID starts with prefix
// in namespace ("*" or "" for all), oldest first.
func (s *reader) DeploymentsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Deployment, error) {
	it, err := get(s.readTxn(), ws, tableDeployment, indexIDPrefix, prefix)
	if err != nil {
		return nil, err
	}
	out := collect(it, func(d *structs.Deployment) bool {
		return allNamespaces(namespace) || d.Namespace == namespace
	})
	slices.SortFunc(out, byCreateIndex)
	return out, nil
}

func deploymentsByJobTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string) ([]*structs.Deployment, error) {
	it, err := get(txn, ws, tableDeployment, indexJob, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	out := collect[*structs.Deployment](it, nil)
	slices.SortFunc(out, func(a, b *structs.Deployment) int { return byCreateIndex(b, a) })
	return out, nil
}

// DeploymentsByJobID returns a job's deployments, newest first.
func (s *reader) DeploymentsByJobID(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Deployment, error) {
	return deploymentsByJobTxn(s.readTxn(), ws, namespace, jobID)
}

func latestDeploymentTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error) {
	all, err := deploymentsByJobTxn(txn, ws, namespace, jobID)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return all[0], nil
}

// LatestDeploymentByJobID returns the job's newest deployment, or nil.
func (s *reader) LatestDeploymentByJobID(ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error) {
	return latestDeploymentTxn(s.readTxn(), ws, namespace, jobID)
}

// allocsByDeploymentTxn returns the allocations deployment id placed,
// sorted by ID; none once the deployment is gone. Allocations have no index
// by deployment (an index entry costs ~250 bytes per allocation, the
// largest part of the state at scale, for a lookup only promotions, the
// deployment GC and the deployment's API make): they are the deployment's
// job's allocations that name it. ws watches the deployment and its job's
// allocations.
func allocsByDeploymentTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) ([]*structs.Allocation, error) {
	d, err := deploymentByIDTxn(txn, ws, id)
	if err != nil || d == nil {
		return nil, err
	}
	it, err := get(txn, ws, tableAllocs, indexJob, objectNamespace(d.Namespace), d.JobID)
	if err != nil {
		return nil, err
	}
	return collect(it, func(a *structs.Allocation) bool { return a.DeploymentID == id }), nil
}

// AllocsByDeployment returns the allocations placed by a deployment, sorted
// by ID; none once the deployment is gone.
func (s *reader) AllocsByDeployment(ws memdb.WatchSet, id string) ([]*structs.Allocation, error) {
	return allocsByDeploymentTxn(s.readTxn(), ws, id)
}
