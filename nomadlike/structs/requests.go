package structs

import (
	"fmt"
	"time"
)

// This file holds the bodies of Raft log entries and of HTTP requests and
// replies. Raft entries carry everything the FSM needs (IDs, timestamps)
// so that applying them is deterministic.

// JobRegisterRequest is the body of PUT /v1/jobs and of the Raft entry that
// registers a job. Eval is set by the server before the entry is written.
type JobRegisterRequest struct {
	Job            *Job
	EnforceIndex   bool   `json:",omitempty"`
	JobModifyIndex uint64 `json:",omitempty"`
	PolicyOverride bool   `json:",omitempty"`
	PreserveCounts bool   `json:",omitempty"`
	EvalPriority   int    `json:",omitempty"`
	// Submission is the job's source as submitted, kept with the version.
	Submission *JobSubmission `json:",omitempty"`

	Eval       *Evaluation `json:"-"`
	SubmitTime int64       `json:"-"`
	// Once makes a retried register, dispatch, scale or revert apply once.
	Once WriteOnce `json:"-"`
}

// JobRegisterResponse is the reply of PUT /v1/jobs.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Warnings        string
	Index           uint64
}

// JobDeregisterRequest is the Raft entry that stops (or purges) a job.
type JobDeregisterRequest struct {
	JobID      string
	Namespace  string
	Purge      bool
	Eval       *Evaluation
	SubmitTime int64
	// NoShutdownDelay marks the job's allocations to be stopped without
	// their shutdown_delay (DesiredTransition.NoShutdownDelay).
	NoShutdownDelay bool `json:",omitempty"`
	// Once makes a retried stop or purge apply once.
	Once WriteOnce
}

// JobDeregisterOptions are the options of DELETE /v1/job/{id}.
type JobDeregisterOptions struct {
	// Purge removes the job instead of stopping it.
	Purge bool
	// EvalPriority, when not 0, is the priority of the evaluation that
	// stops the job's allocations (eval_priority; 1-100).
	EvalPriority int
	// NoShutdownDelay stops the allocations without their shutdown_delay.
	NoShutdownDelay bool
}

// JobDeregisterResponse is the reply of DELETE /v1/job/{id}.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Index           uint64
}

// JobsParseRequest is the body of PUT /v1/jobs/parse.
type JobsParseRequest struct {
	JobHCL       string
	Variables    string `json:",omitempty"`
	Canonicalize bool
}

// JobValidateResponse is the reply of PUT /v1/validate/job.
type JobValidateResponse struct {
	DriverConfigValidated bool
	ValidationErrors      []string
	Error                 string
	Warnings              string
}

// EvalUpdateRequest is the Raft entry that upserts evaluations.
type EvalUpdateRequest struct {
	Evals []*Evaluation
}

// EvalDeleteRequest is the Raft entry that deletes evaluations (garbage collection).
type EvalDeleteRequest struct {
	Evals  []string
	Allocs []string
}

// ApplyPlanResultsRequest is the Raft entry that commits a plan: stopped and
// placed allocations, plus evaluations created with it (a blocked eval).
type ApplyPlanResultsRequest struct {
	Job           *Job
	AllocsStopped []*Allocation
	AllocsPlaced  []*Allocation
	EvalID        string
	Evals         []*Evaluation
	Timestamp     int64 // unix nanoseconds, set by the leader
	// AllocsPreempted are allocations evicted to make room for placements
	// (DesiredStatus "evict", PreemptedByAllocation set).
	AllocsPreempted []*Allocation `json:",omitempty"`
	// Deployment is the plan's deployment (created or updated with it) and
	// DeploymentUpdates the status changes of other deployments, committed
	// in the same transaction as the allocations.
	Deployment        *Deployment               `json:",omitempty"`
	DeploymentUpdates []*DeploymentStatusUpdate `json:",omitempty"`
}

// ApplyPlanResultsBatchRequest is the results of several plans, each
// checked against the state plus the ones before it, applied in order in
// one transaction: all of them or none.
type ApplyPlanResultsBatchRequest struct {
	Plans []*ApplyPlanResultsRequest
}

// AllocClientUpdateRequest carries client-side status of allocations, and the
// evaluations their failures call for.
type AllocClientUpdateRequest struct {
	Allocs    []*Allocation
	Evals     []*Evaluation
	Timestamp int64
	// Once makes a client's retried update apply once (no second
	// alloc-failure evaluation).
	Once WriteOnce
}

// AllocClientUpdateBatchRequest is the allocation updates of several client
// requests (from any nodes) that the leader collected for one Raft entry.
// Each part applies as its own AllocClientUpdateRequest would, once per
// request ID, all in one transaction.
type AllocClientUpdateBatchRequest struct {
	Parts []*AllocClientUpdateRequest
}

// AllocDesiredUpdateRequest changes the desired status of allocations (alloc stop).
type AllocDesiredUpdateRequest struct {
	AllocIDs      []string
	DesiredStatus string
	Description   string
	Evals         []*Evaluation
	Timestamp     int64
	// NoShutdownDelay marks the allocations to be stopped without their
	// shutdown_delay (DesiredTransition.NoShutdownDelay).
	NoShutdownDelay bool `json:",omitempty"`
	// Once makes a retried alloc stop apply once.
	Once WriteOnce
}

// NodeRegisterRequest is the body of PUT /v1/node/register and its Raft entry.
type NodeRegisterRequest struct {
	Node      *Node
	Evals     []*Evaluation `json:"-"`
	Timestamp int64         `json:"-"`
}

// NodeUpdateResponse is the reply to node registration and heartbeats.
type NodeUpdateResponse struct {
	HeartbeatTTL time.Duration
	// Index is the state index after the write.
	Index uint64
	// LeaderRPCAddr and Servers let the client find other servers.
	Servers []string `json:",omitempty"`
}

// NodeUpdateStatusRequest is the Raft entry that changes a node's status (heartbeat expiry, re-registration).
type NodeUpdateStatusRequest struct {
	NodeID    string
	Status    string
	Event     *NodeEvent
	Evals     []*Evaluation
	Timestamp int64
}

// NodeDeregisterRequest is the Raft entry that removes nodes.
type NodeDeregisterRequest struct {
	NodeIDs   []string
	Timestamp int64
	// Evals re-evaluate the jobs that had allocations on the nodes (node
	// purge); the GC's deregistrations carry none.
	Evals []*Evaluation `json:",omitempty"`
}

// NodeAllocUpdateRequest is the body of PUT /v1/node/{id}/allocations: the
// client's view of its allocations (ClientStatus, TaskStates).
type NodeAllocUpdateRequest struct {
	Allocs []*Allocation
}

// GenericResponse is the reply to a write that returns only the index.
type GenericResponse struct {
	Index uint64
}

// EvalDeleteResponse is the reply of DELETE /v1/evaluations: how many
// evaluations were deleted.
type EvalDeleteResponse struct {
	Count int
	Index uint64 `json:"-"`
}

// NodeClientAllocs is the client protocol's view of a node's allocations
// (GET /v1/node/{id}/client-allocations, a blocking query): each
// allocation's AllocModifyIndex by ID, which changes only with the
// servers' changes, so a client fetches just the allocations that changed
// (PUT /v1/node/{id}/client-allocations) instead of all of them, each with
// its job, on every wake-up. Nomad's /v1/node/{id}/allocations still
// returns them in full.
//
// A client that sends ?have=N (the number of allocations it holds as of
// ?index=) gets the delta form instead (Delta true): the query waits until
// one of the node's allocations has an AllocModifyIndex above the index or
// an allocation the client holds is gone (not for the node's own status
// reports, which change neither), and the reply carries the allocations
// that changed since the index in full (without Job), the job versions
// they run that no unchanged allocation does, and Allocs only when an
// allocation is gone. One round trip per change instead of a watch
// return, a fetch, and a watch return for each of the node's own status
// reports.
type NodeClientAllocs struct {
	// Allocs is every allocation's AllocModifyIndex by ID; in the delta form
	// only when an allocation the client holds is gone (otherwise the
	// client's set plus Changed is the node's set).
	Allocs map[string]uint64 `json:",omitempty"`
	// Delta marks the delta form (a server that ignores ?have= sends the
	// full Allocs only).
	Delta bool `json:",omitempty"`
	// Count is how many allocations the node has (delta form): a client
	// whose set, once Changed and Allocs are applied, has another size
	// starts over from index 0.
	Count int `json:",omitempty"`
	// Changed are the allocations whose AllocModifyIndex is above the
	// request's index, without Job (delta form).
	Changed []*Allocation `json:",omitempty"`
	// JobKeys is each changed allocation's job version (JobVersionKey).
	JobKeys map[string]string `json:",omitempty"`
	// Jobs are the job versions of Changed that no unchanged allocation of
	// the node runs (the client holds the others).
	Jobs map[string]*Job `json:",omitempty"`
}

// NodeAllocsPullRequest is the body of PUT /v1/node/{id}/client-allocations:
// the allocations to fetch, and the job versions (JobVersionKey) the client
// already holds, which the reply leaves out.
type NodeAllocsPullRequest struct {
	AllocIDs []string
	HaveJobs []string `json:",omitempty"`
}

// NodeAllocsPullResponse is the reply: the node's allocations asked for
// (IDs no longer on the node are left out) without their Job, and each job
// version they run that the client did not have, by JobVersionKey.
type NodeAllocsPullResponse struct {
	Allocs []*Allocation
	// JobKeys is each allocation's job version (JobVersionKey) by ID.
	JobKeys map[string]string
	Jobs    map[string]*Job
}

// JobVersionKey names one version of a job for the client's job cache:
// namespace, ID, version and JobModifyIndex.
func JobVersionKey(j *Job) string {
	if j == nil {
		return ""
	}
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d", j.Namespace, j.ID, j.Version, j.JobModifyIndex)
}
