package state

import (
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Result is what one write transaction changed: the Raft index it was
// applied at and its change set (one Change per object, holding the object
// before the transaction and after it, in the order of the last write of
// each). The objects are the store's own: read them, never change them.
type Result struct {
	Index   uint64
	Changes memdb.Changes
	// Repeat, when set, is the record of an earlier entry with the same
	// request ID: this entry was a no-op (structs.WriteOnce).
	Repeat *structs.WriteRecord
}

// Evals returns the evaluations the write stored, in write order.
func (r Result) Evals() []*structs.Evaluation {
	var out []*structs.Evaluation
	for _, c := range r.Changes {
		if e, ok := c.After.(*structs.Evaluation); ok && c.Table == tableEvals {
			out = append(out, e)
		}
	}
	return out
}

// StoppedJobs returns the jobs the write stopped or purged (their last
// stored version), in write order.
func (r Result) StoppedJobs() []*structs.Job {
	var out []*structs.Job
	for _, c := range r.Changes {
		if c.Table != tableJobs {
			continue
		}
		before, _ := c.Before.(*structs.Job)
		after, _ := c.After.(*structs.Job)
		switch {
		case after == nil && before != nil:
			out = append(out, before)
		case after != nil && after.Stop && (before == nil || !before.Stop):
			out = append(out, after)
		}
	}
	return out
}

// FreedCapacity reports whether the write may let a blocked evaluation
// place: a live allocation became terminal or was removed, or a node was
// stored ready for work (registered, back up, eligible again).
func (r Result) FreedCapacity() bool {
	for _, c := range r.Changes {
		switch c.Table {
		case tableAllocs:
			before, _ := c.Before.(*structs.Allocation)
			after, _ := c.After.(*structs.Allocation)
			live := before == nil || !before.TerminalStatus()
			if after == nil {
				if before != nil && live {
					return true
				}
				continue
			}
			if after.TerminalStatus() && live {
				return true
			}
		case tableNodes:
			if n, ok := c.After.(*structs.Node); ok && n.Ready() {
				return true
			}
		}
	}
	return false
}

// SchedulerConfig returns the scheduler configuration the write stored, or
// nil when it stored none.
func (r Result) SchedulerConfig() *structs.SchedulerConfig {
	for _, c := range r.Changes {
		if cfg, ok := c.After.(*structs.SchedulerConfig); ok && c.Table == tableSchedulerConfig {
			return cfg
		}
	}
	return nil
}
