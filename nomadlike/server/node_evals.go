package server

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// appendSystemJobEvals appends to evals a node-update evaluation (NodeID set)
// for every running system and sysbatch job not already in seen: a node
// that registers, comes back, goes down or changes eligibility or drain
// changes where those jobs must run. seen is updated.
func (s *Server) appendSystemJobEvals(evals []*structs.Evaluation, seen map[jobKey]bool, node *structs.Node, now time.Time) ([]*structs.Evaluation, error) {
	jobs, err := s.state.Jobs(nil, "*")
	if err != nil {
		return nil, fmt.Errorf("list jobs for the system evaluations of node %s: %w", node.ID, err)
	}
	for _, job := range jobs {
		if job.Stop || job.IsTemplate() || (job.Type != structs.JobTypeSystem && job.Type != structs.JobTypeSysBatch) {
			continue
		}
		key := jobKey{job.Namespace, job.ID}
		if seen[key] {
			continue
		}
		seen[key] = true
		evals = append(evals, nodeUpdateEval(job, node, now))
	}
	return evals, nil
}

// nodeUpdateEval returns a pending node-update evaluation of job for node.
func nodeUpdateEval(job *structs.Job, node *structs.Node, now time.Time) *structs.Evaluation {
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: structs.EvalTriggerNodeUpdate, JobID: job.ID, NodeID: node.ID,
		NodeModifyIndex: node.ModifyIndex, Status: structs.EvalStatusPending,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
}

// jobEval returns a pending evaluation of job triggered by trigger, at the
// job's priority.
func jobEval(job *structs.Job, trigger string, now time.Time) *structs.Evaluation {
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: trigger, JobID: job.ID, Status: structs.EvalStatusPending,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
}
