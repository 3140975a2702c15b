package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyJobRegister stores the job version and its evaluation, filling in the
// evaluation's JobModifyIndex from the stored job.
func (f *fsm) applyJobRegister(buf []byte, index uint64) error {
	var req structs.JobRegisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode job register request: %w", err)
	}
	if req.Job == nil {
		return fmt.Errorf("job register request carries no job")
	}
	if err := f.state.UpsertJob(index, req.Job); err != nil {
		return fmt.Errorf("upsert job %q: %w", req.Job.ID, err)
	}
	if req.Eval == nil {
		return nil
	}
	return f.upsertJobEval(index, req.Job.Namespace, req.Job.ID, req.Eval)
}

// applyJobDeregister stops the job (a new version with Stop set) or purges it,
// and stores its evaluation.
func (f *fsm) applyJobDeregister(buf []byte, index uint64) error {
	var req structs.JobDeregisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode job deregister request: %w", err)
	}
	if req.Purge {
		if err := f.state.DeleteJob(index, req.Namespace, req.JobID); err != nil {
			return fmt.Errorf("purge job %q: %w", req.JobID, err)
		}
		if err := f.state.DeletePeriodicLaunch(index, req.Namespace, req.JobID); err != nil {
			return fmt.Errorf("purge launches of job %q: %w", req.JobID, err)
		}
	} else {
		cur, err := f.state.JobByID(nil, req.Namespace, req.JobID)
		if err != nil {
			return fmt.Errorf("look up job %q: %w", req.JobID, err)
		}
		if cur != nil && !cur.Stop {
			stopped := cur.Copy()
			stopped.Stop = true
			stopped.SubmitTime = req.SubmitTime
			if err := f.state.UpsertJob(index, stopped); err != nil {
				return fmt.Errorf("stop job %q: %w", req.JobID, err)
			}
		}
	}
	f.blocked.untrack(req.Namespace, req.JobID)
	if req.Eval == nil {
		return nil
	}
	return f.upsertJobEval(index, req.Namespace, req.JobID, req.Eval)
}

// upsertJobEval stores eval with the job's current JobModifyIndex and hands
// it to the broker.
func (f *fsm) upsertJobEval(index uint64, namespace, jobID string, eval *structs.Evaluation) error {
	job, err := f.state.JobByID(nil, namespace, jobID)
	if err != nil {
		return fmt.Errorf("look up job %q: %w", jobID, err)
	}
	if job != nil {
		eval.JobModifyIndex = job.JobModifyIndex
	}
	return f.upsertEvals(index, []*structs.Evaluation{eval})
}
