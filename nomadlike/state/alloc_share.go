package state

import (
	"reflect"
	"unique"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocSharer makes the allocations one transaction stores (or a restore
// loads) share what they have in common instead of each keeping what its
// Raft entry decoded: the job's, node's and plan's strings (IDs of 36
// bytes each) and identical allocated resources; and it keeps their
// metrics and task states packed (Allocation.PackMetrics and
// PackTaskStates). Stored objects are immutable (readers Copy before
// changing), so sharing is safe; it changes no value.
type allocSharer struct {
	jobs sharedJobs // nil: keep each allocation's job (a restore: the snapshot shares them as the state did)
	strs map[string]string
	res  *structs.AllocatedResources
}

func newAllocSharer() *allocSharer {
	return &allocSharer{jobs: sharedJobs{}, strs: map[string]string{}}
}

// share changes a (the store's new version of existing, or a new
// allocation when existing is nil) to share with what the transaction
// stored before it. a's fields are its own, but a sub-object a still
// shares with existing (a shallow copy's) is not changed in place.
func (s *allocSharer) share(txn *memdb.Txn, a, existing *structs.Allocation) error {
	var err error
	if s.jobs != nil {
		if a.Job, err = s.jobs.job(txn, a.Job); err != nil {
			return err
		}
	}
	// Assigning an equal string is not a no-op: a then points at the job's
	// copy of its bytes, and the decoded copy can be collected.
	if j := a.Job; j != nil {
		if a.JobID == j.ID {
			a.JobID = j.ID
		}
		if a.Namespace == j.Namespace {
			a.Namespace = j.Namespace
		}
		if tg := j.LookupTaskGroup(a.TaskGroup); tg != nil {
			a.TaskGroup = tg.Name
		}
	}
	a.EvalID = s.str(a.EvalID)
	a.DeploymentID = s.str(a.DeploymentID)
	if a.NodeID, err = s.nodeID(txn, a.NodeID); err != nil {
		return err
	}
	a.NodeName = s.str(a.NodeName)
	internAllocStrings(a)
	if existing == nil {
		// A new or restored allocation's task states are its own: packed,
		// or interned when they cannot be. An update keeps the stored
		// version's.
		a.PackTaskStates()
		a.TaskStates = internTaskStates(a.TaskStates)
	}
	if m := a.Metrics; m != nil && (existing == nil || m != existing.Metrics) {
		// Nothing on the servers reads the metric, it is only sent: kept
		// packed (the shallow copy of a stored version keeps its packing).
		a.PackMetrics()
	}
	if r := a.AllocatedResources; r != nil {
		if s.res != nil && reflect.DeepEqual(s.res, r) {
			a.AllocatedResources = s.res
		} else {
			s.res = r
		}
	}
	return nil
}

// str returns the transaction's copy of v.
func (s *allocSharer) str(v string) string {
	if v == "" {
		return v
	}
	if c, ok := s.strs[v]; ok {
		return c
	}
	s.strs[v] = v
	return v
}

// nodeID returns the nodes table's copy of the node ID id (or the
// transaction's, for a node the table lacks).
func (s *allocSharer) nodeID(txn *memdb.Txn, id string) (string, error) {
	if id == "" {
		return id, nil
	}
	if c, ok := s.strs[id]; ok {
		return c, nil
	}
	n, err := nodeByIDTxn(txn, nil, id)
	if err != nil {
		return id, err
	}
	if n != nil && n.ID == id {
		id = n.ID
		if n.Name != "" {
			s.strs[n.Name] = n.Name
		}
	}
	s.strs[id] = id
	return id, nil
}

// intern returns the process's canonical copy of v. The strings it is used
// for repeat across allocations and transactions (statuses, score names,
// task names, task event types and messages): each stored allocation would
// otherwise keep the bytes its Raft entry decoded.
func intern(v string) string {
	if v == "" {
		return v
	}
	return unique.Make(v).Value()
}

// internAllocStrings interns a's status strings in place.
func internAllocStrings(a *structs.Allocation) {
	a.DesiredStatus = intern(a.DesiredStatus)
	a.DesiredDescription = intern(a.DesiredDescription)
	a.ClientStatus = intern(a.ClientStatus)
	a.ClientDescription = intern(a.ClientDescription)
}

// noDetails is the Details of every stored task event that has none but
// an empty map (as NewTaskEvent makes them): stored objects are never
// changed in place (TaskState.Copy clones it), so they can share one.
var noDetails = map[string]string{}

// internTaskStates returns ts with its task names, states and event
// strings interned and empty event details shared. It changes ts's
// TaskStates and TaskEvents in place: the caller's own copies.
func internTaskStates(ts map[string]*structs.TaskState) map[string]*structs.TaskState {
	if len(ts) == 0 {
		return ts
	}
	out := make(map[string]*structs.TaskState, len(ts))
	for name, st := range ts {
		if st != nil {
			st.State = intern(st.State)
			for _, e := range st.Events {
				if e == nil {
					continue
				}
				e.Type = intern(e.Type)
				e.Message = intern(e.Message)
				e.DisplayMessage = intern(e.DisplayMessage)
				if e.Details != nil && len(e.Details) == 0 {
					e.Details = noDetails
				}
			}
		}
		out[intern(name)] = st
	}
	return out
}
