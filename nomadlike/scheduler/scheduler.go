package scheduler

import (
	"fmt"
	"log/slog"
	"math/rand"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// State is a read-only, point-in-time view of the cluster. *state.Snapshot implements it
// (all methods accept a nil WatchSet; a missing object is (nil, nil)).
//
// The scheduler never changes an object it reads: it copies before changing.
type State interface {
	JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error)
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	Nodes(ws memdb.WatchSet) ([]*structs.Node, error) // sorted by ID
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error)
	AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error)
	// NodeUsage returns what the node's live allocations use, summed (zero
	// when it has none).
	NodeUsage(ws memdb.WatchSet, nodeID string) (*structs.NodeUsage, error)
	EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error)
	LatestIndex() (uint64, error)
	// SchedulerConfig returns the operator's scheduler configuration, or nil
	// for the defaults (structs.DefaultSchedulerConfig).
	SchedulerConfig() (*structs.SchedulerConfig, error)
	// NodePoolByName returns a node pool (the built-in ones included) or nil.
	NodePoolByName(ws memdb.WatchSet, name string) (*structs.NodePool, error)
	// LatestDeploymentByJobID returns the job's newest deployment, or nil.
	LatestDeploymentByJobID(ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error)
}

// Planner is how a scheduler commits its decisions; the server's worker implements it.
// Methods are called from the scheduler's goroutine only.
type Planner interface {
	// SubmitPlan sends a plan to the leader's plan applier. The result tells what was
	// committed; when part was refused (result.RefreshIndex != 0) newState is a snapshot
	// at least that fresh to retry against (otherwise nil).
	SubmitPlan(plan *structs.Plan) (result *structs.PlanResult, newState State, err error)
	// UpdateEval records the evaluation's final status.
	UpdateEval(eval *structs.Evaluation) error
	// CreateEval creates an evaluation (a blocked eval, or a delayed follow-up).
	CreateEval(eval *structs.Evaluation) error
}

// Scheduler turns one evaluation into at most one committed plan per attempt.
// Process is not safe for concurrent use; a worker makes one scheduler per evaluation.
type Scheduler interface {
	// Process reconciles the evaluation's job with the cluster, submits the
	// plan, and records the evaluation's outcome through the Planner. An error
	// means the evaluation could not be processed (state or planner failure)
	// and should be retried (nacked) by the caller.
	Process(eval *structs.Evaluation) error
}

// maxPlanAttempts bounds the SubmitPlan retries after partial commits.
const maxPlanAttempts = 5

// NewScheduler returns the scheduler for eval.Type: "service", "batch",
// "system" or "sysbatch" (an error for others).
// rng seeds every random choice and now gives the time, so a run can be replayed in a test.
func NewScheduler(jobType string, logger *slog.Logger, st State, planner Planner, rng *rand.Rand, now func() time.Time) (Scheduler, error) {
	switch jobType {
	case structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch:
	default:
		return nil, structs.NewBadRequest("no scheduler for job type %q: this server schedules %q, %q, %q and %q jobs",
			jobType, structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch)
	}
	if st == nil || planner == nil {
		return nil, fmt.Errorf("new %s scheduler: state and planner are required", jobType)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if rng == nil {
		rng = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	if now == nil {
		now = time.Now
	}
	return &genericScheduler{
		jobType: jobType,
		batch:   jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysBatch,
		system:  jobType == structs.JobTypeSystem || jobType == structs.JobTypeSysBatch,
		logger:  logger.With("component", "scheduler", "type", jobType),
		state:   st,
		planner: planner,
		rng:     rng,
		now:     now,
	}, nil
}
