package state

// CONTRACT FILE: the method set below is what the server, scheduler and agent
// compile against. The state helper implements the bodies (replacing the
// panics) and may add methods, but must keep these signatures.

import (
	"context"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Store is the state store. Writes are called only by the FSM (one goroutine),
// with the Raft index of the entry being applied; reads may come from any
// goroutine. Objects returned are shared: callers must Copy before changing.
type Store struct {
	db *memdb.MemDB
}

// Snapshot is a read-only, point-in-time view of the store. It has every read
// method of Store.
type Snapshot struct {
	Store
}

// NewStore returns an empty store.
func NewStore() (*Store, error) { panic("unimplemented") }

// Snapshot returns a point-in-time view.
func (s *Store) Snapshot() (*Snapshot, error) { panic("unimplemented") }

// LatestIndex returns the highest modify index of any table.
func (s *Store) LatestIndex() (uint64, error) { panic("unimplemented") }

// Index returns the modify index of one table ("jobs", "nodes", "allocs", "evals", "job_summary", "job_version").
func (s *Store) Index(table string) (uint64, error) { panic("unimplemented") }

// BlockingQuery runs fn; while the index fn returns is <= minIndex it waits
// for fn's watch set to fire (or ctx to end) and runs it again. It returns
// fn's last result and index. minIndex 0 runs fn once.
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64, fn QueryFn) (any, uint64, error) {
	panic("unimplemented")
}

// QueryFn reads from s, adds what it read to ws, and returns the result and the index to report.
type QueryFn func(ws memdb.WatchSet, s *Store) (any, uint64, error)

// --- jobs ---

// UpsertJob stores a job: sets CreateIndex, ModifyIndex, JobModifyIndex and
// Version (0 for a new job, previous+1 when the job spec changed), keeps the
// version in the job versions table, and creates or updates its summary.
func (s *Store) UpsertJob(index uint64, job *structs.Job) error { panic("unimplemented") }

// DeleteJob removes a job, its versions and its summary (purge).
func (s *Store) DeleteJob(index uint64, namespace, jobID string) error { panic("unimplemented") }

// JobByID returns the job or nil.
func (s *Store) JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	panic("unimplemented")
}

// Jobs returns every job in namespace ("*" or "" for all), sorted by ID.
func (s *Store) Jobs(ws memdb.WatchSet, namespace string) ([]*structs.Job, error) {
	panic("unimplemented")
}

// JobsByIDPrefix returns the jobs whose ID starts with prefix.
func (s *Store) JobsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Job, error) {
	panic("unimplemented")
}

// JobVersionsByID returns every kept version of a job, newest first.
func (s *Store) JobVersionsByID(ws memdb.WatchSet, namespace, id string) ([]*structs.Job, error) {
	panic("unimplemented")
}

// JobByIDAndVersion returns one version of a job or nil.
func (s *Store) JobByIDAndVersion(ws memdb.WatchSet, namespace, id string, version uint64) (*structs.Job, error) {
	panic("unimplemented")
}

// JobSummaryByID returns the job's summary or nil.
func (s *Store) JobSummaryByID(ws memdb.WatchSet, namespace, id string) (*structs.JobSummary, error) {
	panic("unimplemented")
}

// --- nodes ---

// UpsertNode registers or updates a node (keeps CreateIndex of an existing one).
func (s *Store) UpsertNode(index uint64, node *structs.Node) error { panic("unimplemented") }

// UpdateNodeStatus sets a node's status at updatedAt (unix seconds), appending event if not nil.
func (s *Store) UpdateNodeStatus(index uint64, nodeID, status string, updatedAt int64, event *structs.NodeEvent) error {
	panic("unimplemented")
}

// DeleteNodes removes nodes.
func (s *Store) DeleteNodes(index uint64, nodeIDs []string) error { panic("unimplemented") }

// NodeByID returns the node or nil.
func (s *Store) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) { panic("unimplemented") }

// Nodes returns every node, sorted by ID.
func (s *Store) Nodes(ws memdb.WatchSet) ([]*structs.Node, error) { panic("unimplemented") }

// NodesByIDPrefix returns the nodes whose ID starts with prefix.
func (s *Store) NodesByIDPrefix(ws memdb.WatchSet, prefix string) ([]*structs.Node, error) {
	panic("unimplemented")
}

// --- allocations ---

// UpsertAllocs stores allocations from the server side (plan results, desired
// status changes). For an existing allocation it keeps the client-side fields
// (ClientStatus, ClientDescription, TaskStates) unless the new one sets
// ClientStatus, keeps the Job when the new one has none, and bumps
// AllocModifyIndex. It updates job summaries and job status.
func (s *Store) UpsertAllocs(index uint64, allocs []*structs.Allocation) error {
	panic("unimplemented")
}

// UpdateAllocsFromClient applies client-reported fields (ClientStatus,
// ClientDescription, TaskStates, ModifyTime) to existing allocations; unknown
// IDs are skipped. It updates job summaries and job status.
func (s *Store) UpdateAllocsFromClient(index uint64, allocs []*structs.Allocation) error {
	panic("unimplemented")
}

// AllocByID returns the allocation or nil.
func (s *Store) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	panic("unimplemented")
}

// Allocs returns every allocation in namespace ("*" or "" for all), sorted by ID.
func (s *Store) Allocs(ws memdb.WatchSet, namespace string) ([]*structs.Allocation, error) {
	panic("unimplemented")
}

// AllocsByIDPrefix returns allocations whose ID starts with prefix.
func (s *Store) AllocsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Allocation, error) {
	panic("unimplemented")
}

// AllocsByJob returns a job's allocations; with all=false only those of the
// job's current incarnation (CreateIndex of the alloc's job matches the job's).
func (s *Store) AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error) {
	panic("unimplemented")
}

// AllocsByNode returns a node's allocations.
func (s *Store) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	panic("unimplemented")
}

// AllocsByEval returns the allocations an evaluation created.
func (s *Store) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	panic("unimplemented")
}

// --- evaluations ---

// UpsertEvals stores evaluations (sets CreateIndex/ModifyIndex) and updates job status.
func (s *Store) UpsertEvals(index uint64, evals []*structs.Evaluation) error { panic("unimplemented") }

// DeleteEvals removes evaluations and allocations (garbage collection).
func (s *Store) DeleteEvals(index uint64, evalIDs, allocIDs []string) error { panic("unimplemented") }

// EvalByID returns the evaluation or nil.
func (s *Store) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	panic("unimplemented")
}

// Evals returns every evaluation in namespace ("*" or "" for all), sorted by ID.
func (s *Store) Evals(ws memdb.WatchSet, namespace string) ([]*structs.Evaluation, error) {
	panic("unimplemented")
}

// EvalsByIDPrefix returns evaluations whose ID starts with prefix.
func (s *Store) EvalsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Evaluation, error) {
	panic("unimplemented")
}

// EvalsByJob returns a job's evaluations.
func (s *Store) EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error) {
	panic("unimplemented")
}

// --- snapshot and restore (FSM) ---

// Restore is a bulk load into an empty store, used by FSM restore; Commit
// makes it visible atomically.
type Restore struct{}

// NewRestore starts a restore into a fresh store that replaces s's contents on Commit.
func (s *Store) NewRestore() (*Restore, error) { panic("unimplemented") }

// JobRestore, NodeRestore, AllocRestore, EvalRestore, JobVersionRestore,
// JobSummaryRestore and IndexRestore load one object each.
func (r *Restore) JobRestore(job *structs.Job) error             { panic("unimplemented") }
func (r *Restore) JobVersionRestore(job *structs.Job) error      { panic("unimplemented") }
func (r *Restore) JobSummaryRestore(s *structs.JobSummary) error { panic("unimplemented") }
func (r *Restore) NodeRestore(node *structs.Node) error          { panic("unimplemented") }
func (r *Restore) AllocRestore(alloc *structs.Allocation) error  { panic("unimplemented") }
func (r *Restore) EvalRestore(eval *structs.Evaluation) error    { panic("unimplemented") }
func (r *Restore) IndexRestore(table string, index uint64) error { panic("unimplemented") }
func (r *Restore) Commit() error                                 { panic("unimplemented") }
func (r *Restore) Abort()                                        { panic("unimplemented") }

// AbandonCh is closed when a restore replaces the store's contents, so
// long-running watchers can restart against the new data.
func (s *Store) AbandonCh() <-chan struct{} { panic("unimplemented") }

// JobVersions returns every kept version of every job (for FSM snapshots).
func (s *Store) JobVersions(ws memdb.WatchSet) ([]*structs.Job, error) { panic("unimplemented") }

// JobSummaries returns every job summary (for FSM snapshots).
func (s *Store) JobSummaries(ws memdb.WatchSet) ([]*structs.JobSummary, error) {
	panic("unimplemented")
}

// Indexes returns every table's modify index (for FSM snapshots).
func (s *Store) Indexes() (map[string]uint64, error) { panic("unimplemented") }
