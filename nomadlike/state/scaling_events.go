package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableScalingEvent holds each job's recent scaling events
// (structs.JobScalingEvents), indexed by {Namespace, JobID}; it lives as
// long as the job.
const tableScalingEvent = "scaling_event"

func scalingEventTableSchema() *memdb.TableSchema {
	return tableSchema(tableScalingEvent, namespaceIDIndex(indexID, "JobID", true, false))
}

// JobScale applies a JobScaleRequestType entry in one transaction: it
// stores the scaled job version and its evaluation as JobRegister does (when
// req.Job is set) and records req.Event for req.Group, with the eval's ID
// and CreateIndex index, keeping the group's newest
// structs.MaxScalingEventsPerGroup events. A job that does not exist is a
// 404. The request's Job and Eval get the stored server-set fields.
func (s *Store) JobScale(index uint64, req *structs.JobScaleRequest) (Result, error) {
	if req == nil || req.Event == nil {
		return Result{}, structs.NewBadRequest("state: scale job at index %d: request has no scaling event", index)
	}
	ns := objectNamespace(req.Namespace)
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		cur, err := jobByIDTxn(txn, nil, ns, req.JobID)
		if err != nil {
			return err
		}
		if cur == nil {
			return structs.NewNotFound("job %q not found in namespace %q", req.JobID, ns)
		}
		event := req.Event.Copy()
		event.CreateIndex = index
		if req.Job != nil {
			if err := registerJobTxn(txn, index, &structs.JobRegisterRequest{Job: req.Job, Eval: req.Eval}, false); err != nil {
				return err
			}
			if req.Eval != nil {
				event.EvalID = new(req.Eval.ID)
			}
		}
		return addScalingEventTxn(txn, index, ns, req.JobID, req.Group, event)
	})
}

// addScalingEventTxn records event (the store's own) for a group of a job.
func addScalingEventTxn(txn *memdb.Txn, index uint64, namespace, jobID, group string, event *structs.ScalingEvent) error {
	raw, err := first(txn, nil, tableScalingEvent, indexID, namespace, jobID)
	if err != nil {
		return err
	}
	row := &structs.JobScalingEvents{Namespace: namespace, JobID: jobID}
	if existing, ok := raw.(*structs.JobScalingEvents); ok {
		row = existing.Copy()
	}
	row.Add(group, event)
	row.ModifyIndex = index
	if err := txn.Insert(tableScalingEvent, row); err != nil {
		return fmt.Errorf("state: record a scaling event of job %q: %w", jobID, err)
	}
	return setIndex(txn, tableScalingEvent, index)
}

// deleteScalingEventsTxn drops a purged job's scaling events.
func deleteScalingEventsTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	n, err := txn.DeleteAll(tableScalingEvent, indexID, namespace, jobID)
	if err != nil {
		return fmt.Errorf("state: delete the scaling events of job %q: %w", jobID, err)
	}
	if n > 0 {
		return setIndex(txn, tableScalingEvent, index)
	}
	return nil
}

// ScalingEventsByJob returns a job's recent scaling events, or nil when it
// has none.
func (s *reader) ScalingEventsByJob(ws memdb.WatchSet, namespace, jobID string) (*structs.JobScalingEvents, error) {
	raw, err := first(s.readTxn(), ws, tableScalingEvent, indexID, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	ev, _ := raw.(*structs.JobScalingEvents)
	return ev, nil
}
