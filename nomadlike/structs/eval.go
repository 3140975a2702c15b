package structs

import (
	"maps"
	"time"
)

// Evaluation statuses.
const (
	EvalStatusBlocked   = "blocked"
	EvalStatusPending   = "pending"
	EvalStatusComplete  = "complete"
	EvalStatusFailed    = "failed"
	EvalStatusCancelled = "canceled"
)

// What triggered an evaluation.
const (
	EvalTriggerJobRegister      = "job-register"
	EvalTriggerJobDeregister    = "job-deregister"
	EvalTriggerNodeUpdate       = "node-update"
	EvalTriggerRetryFailedAlloc = "alloc-failure"
	EvalTriggerQueuedAllocs     = "queued-allocs"
	EvalTriggerMaxPlans         = "max-plan-attempts"
	EvalTriggerFailedFollowUp   = "failed-follow-up"
	EvalTriggerAllocStop        = "alloc-stop"
)

// Evaluation asks the scheduler to reconcile one job with the cluster.
type Evaluation struct {
	ID                   string
	Namespace            string
	Priority             int
	Type                 string // the job's type, which picks the scheduler
	TriggeredBy          string
	JobID                string
	JobModifyIndex       uint64
	NodeID               string
	NodeModifyIndex      uint64
	DeploymentID         string
	Status               string
	StatusDescription    string
	Wait                 time.Duration
	WaitUntil            time.Time
	NextEval             string
	PreviousEval         string
	BlockedEval          string
	RelatedEvals         []*EvaluationStub `json:",omitempty"`
	FailedTGAllocs       map[string]*AllocMetric
	ClassEligibility     map[string]bool
	EscapedComputedClass bool
	AnnotatePlan         bool
	QueuedAllocations    map[string]int
	SnapshotIndex        uint64
	CreateIndex          uint64
	ModifyIndex          uint64
	CreateTime           int64
	ModifyTime           int64
}

// TerminalStatus reports whether the evaluation is done.
func (e *Evaluation) TerminalStatus() bool {
	switch e.Status {
	case EvalStatusComplete, EvalStatusFailed, EvalStatusCancelled:
		return true
	}
	return false
}

// Copy returns a deep copy of e.
func (e *Evaluation) Copy() *Evaluation {
	if e == nil {
		return nil
	}
	n := *e
	if e.FailedTGAllocs != nil {
		n.FailedTGAllocs = make(map[string]*AllocMetric, len(e.FailedTGAllocs))
		for k, m := range e.FailedTGAllocs {
			n.FailedTGAllocs[k] = m.Copy()
		}
	}
	n.QueuedAllocations = copyIntMap(e.QueuedAllocations)
	n.RelatedEvals = copyPtrs(e.RelatedEvals)
	n.ClassEligibility = maps.Clone(e.ClassEligibility)
	return &n
}

// Validate checks an evaluation before it is committed.
func (e *Evaluation) Validate() error {
	var v ValidationError
	if e.ID == "" {
		v.add("ID", "evaluation needs an ID")
	}
	if e.JobID == "" && e.NodeID == "" {
		v.add("JobID", "evaluation needs a job or a node")
	}
	if e.Status == "" {
		v.add("Status", "evaluation needs a status")
	}
	return v.err()
}

// Stub returns the evaluation's short form.
func (e *Evaluation) Stub() *EvaluationStub {
	return &EvaluationStub{
		ID: e.ID, Namespace: e.Namespace, Priority: e.Priority, Type: e.Type,
		TriggeredBy: e.TriggeredBy, JobID: e.JobID, NodeID: e.NodeID,
		DeploymentID: e.DeploymentID, Status: e.Status, StatusDescription: e.StatusDescription,
		WaitUntil: e.WaitUntil, NextEval: e.NextEval, PreviousEval: e.PreviousEval,
		BlockedEval: e.BlockedEval, CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex,
		CreateTime: e.CreateTime, ModifyTime: e.ModifyTime,
	}
}

// EvaluationStub is the short form of an evaluation (RelatedEvals).
type EvaluationStub struct {
	ID                string
	Namespace         string
	Priority          int
	Type              string
	TriggeredBy       string
	JobID             string
	NodeID            string
	DeploymentID      string
	Status            string
	StatusDescription string
	WaitUntil         time.Time
	NextEval          string
	PreviousEval      string
	BlockedEval       string
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
}

func copyIntMap(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	n := make(map[string]int, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}
