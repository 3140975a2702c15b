package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Evaluation status descriptions.
const (
	descMaxAttempts   = "maximum attempts reached (5)"
	descBlocked       = "created to place remaining allocations"
	descMaxPlansRetry = "created due to maximum plan attempts reached (5)"
	descFollowup      = "created for delayed rescheduling"
)

// followupBatchWindow groups failed allocations whose reschedules fall within
// this window of each other into one follow-up evaluation, as Nomad does.
const followupBatchWindow = 5 * time.Second

// genericScheduler is the scheduler of every job type: service and batch
// jobs place Count allocations per group on the best-ranked nodes; system and
// sysbatch jobs place one allocation per group on every eligible node (system.go).
type genericScheduler struct {
	jobType string
	batch   bool // batch or sysbatch: completed allocations are not replaced
	system  bool // system or sysbatch
	logger  *slog.Logger
	state   State
	planner Planner
	rng     *rand.Rand
	now     func() time.Time

	// Per Process call.
	eval      *structs.Evaluation
	followups map[string]string // failed alloc ID -> follow-up eval ID created by this Process
}

// outcome is what one planning attempt produced.
type outcome struct {
	job      *structs.Job
	failed   map[string]*structs.AllocMetric
	queued   map[string]int
	refused  bool // part of the plan was refused: retry against fresh state
	attempts int
	// deploymentID is the deployment of the job version reconciled (created
	// by this plan or already there): the evaluation carries it, as Nomad's
	// does, so that `job run` follows the deployment.
	deploymentID string
}

// Process implements Scheduler.
func (s *genericScheduler) Process(eval *structs.Evaluation) error {
	s.eval = eval
	s.followups = map[string]string{}
	log := s.logger.With("eval_id", eval.ID, "job_id", eval.JobID, "namespace", eval.Namespace)
	var out *outcome
	for attempt := 1; ; attempt++ {
		if attempt > maxPlanAttempts {
			log.Warn("plan refused too often, giving up on evaluation", "attempts", maxPlanAttempts)
			return s.failMaxAttempts(out)
		}
		var err error
		if out, err = s.attempt(log); err != nil {
			return fmt.Errorf("evaluation %s of job %q: %w", eval.ID, eval.JobID, err)
		}
		if !out.refused {
			break
		}
		log.Debug("plan partially committed, retrying against fresh state", "attempt", attempt)
	}
	return s.finish(out)
}

// attempt plans once against s.state and submits the plan.
func (s *genericScheduler) attempt(log *slog.Logger) (*outcome, error) {
	eval := s.eval
	job, err := s.state.JobByID(nil, eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("read job: %w", err)
	}
	allocs, err := s.state.AllocsByJob(nil, eval.Namespace, eval.JobID, true)
	if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	allocs = dropPurgedInstance(job, allocs)
	nodes, err := s.state.Nodes(nil)
	if err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	index, err := s.state.LatestIndex()
	if err != nil {
		return nil, fmt.Errorf("read state index: %w", err)
	}
	config, err := s.poolSchedulerConfig(job)
	if err != nil {
		return nil, err
	}
	var deploy *deployer
	if s.jobType == structs.JobTypeService {
		latest, err := s.state.LatestDeploymentByJobID(nil, eval.Namespace, eval.JobID)
		if err != nil {
			return nil, fmt.Errorf("read deployments: %w", err)
		}
		deploy = &deployer{now: s.now(), priority: eval.Priority, newID: structs.GenerateUUID, latest: latest}
	}
	b := newPlanBuilder(s, job, nodes, index, config, deploy)
	if err := b.build(allocs); err != nil {
		return nil, err
	}
	out := &outcome{job: job, failed: b.failed, queued: b.queued}
	if deploy != nil && deploy.dep != nil {
		out.deploymentID = deploy.dep.ID
	}
	if b.plan.IsNoOp() {
		return out, nil
	}
	result, fresh, err := s.planner.SubmitPlan(b.plan)
	if err != nil {
		return nil, fmt.Errorf("submit plan: %w", err)
	}
	if result == nil {
		return nil, errors.New("submit plan: planner returned no result")
	}
	if result.RefreshIndex != 0 {
		if fresh == nil {
			return nil, fmt.Errorf("submit plan: part of the plan was refused (refresh index %d) but the planner returned no fresh state", result.RefreshIndex)
		}
		_, expected, actual := result.FullCommit(b.plan)
		log.Info("plan partially committed", "expected", expected, "committed", actual, "refresh_index", result.RefreshIndex)
		s.state = fresh
		out.refused = true
	}
	return out, nil
}

// finish records the evaluation's outcome, creating a blocked evaluation for
// placements that failed.
func (s *genericScheduler) finish(out *outcome) error {
	e := s.eval.Copy()
	e.QueuedAllocations = out.queued
	e.FailedTGAllocs = nil
	if out.deploymentID != "" {
		e.DeploymentID = out.deploymentID
	}
	if len(out.failed) > 0 {
		e.FailedTGAllocs = out.failed
	}
	now := s.now()
	e.ModifyTime = now.UnixNano()
	switch {
	case s.eval.Status == structs.EvalStatusBlocked && len(out.failed) > 0 && queuedAny(out.queued):
		// A blocked evaluation being retried that still cannot place: report
		// the metrics with the status left blocked; the server re-blocks it.
		// With nothing queued (a system job no node matches) it completes.
	case len(out.failed) > 0 && queuedAny(out.queued):
		blocked := s.newEval(out.job, structs.EvalStatusBlocked, structs.EvalTriggerQueuedAllocs, descBlocked)
		if err := s.planner.CreateEval(blocked); err != nil {
			return fmt.Errorf("evaluation %s: create blocked evaluation: %w", s.eval.ID, err)
		}
		e.BlockedEval = blocked.ID
		e.Status = structs.EvalStatusComplete
		e.StatusDescription = ""
	default:
		e.Status = structs.EvalStatusComplete
		e.StatusDescription = ""
	}
	if err := s.planner.UpdateEval(e); err != nil {
		return fmt.Errorf("evaluation %s: record status %q: %w", s.eval.ID, e.Status, err)
	}
	return nil
}

// queuedAny reports whether any allocation is still waiting for a node. A
// system job whose groups fit no node at all reports the reason in
// FailedTGAllocs with nothing queued: new nodes re-evaluate it, not a blocked eval.
func queuedAny(queued map[string]int) bool {
	for _, n := range queued {
		if n > 0 {
			return true
		}
	}
	return false
}

// failMaxAttempts fails the evaluation after too many refused plans and
// leaves a blocked evaluation to try again once the cluster changes.
func (s *genericScheduler) failMaxAttempts(out *outcome) error {
	e := s.eval.Copy()
	e.Status = structs.EvalStatusFailed
	e.StatusDescription = descMaxAttempts
	e.ModifyTime = s.now().UnixNano()
	if out != nil {
		e.QueuedAllocations = out.queued
		if len(out.failed) > 0 {
			e.FailedTGAllocs = out.failed
		}
	}
	if s.eval.Status != structs.EvalStatusBlocked {
		var job *structs.Job
		if out != nil {
			job = out.job
		}
		blocked := s.newEval(job, structs.EvalStatusBlocked, structs.EvalTriggerMaxPlans, descMaxPlansRetry)
		if err := s.planner.CreateEval(blocked); err != nil {
			return fmt.Errorf("evaluation %s: create blocked evaluation after %d refused plans: %w", s.eval.ID, maxPlanAttempts, err)
		}
		e.BlockedEval = blocked.ID
	}
	if err := s.planner.UpdateEval(e); err != nil {
		return fmt.Errorf("evaluation %s: record status %q: %w", s.eval.ID, e.Status, err)
	}
	return nil
}

// newEval returns an evaluation of the same job, following this one.
func (s *genericScheduler) newEval(job *structs.Job, status, trigger, desc string) *structs.Evaluation {
	now := s.now().UnixNano()
	e := &structs.Evaluation{
		ID:                structs.GenerateUUID(),
		Namespace:         s.eval.Namespace,
		Priority:          s.eval.Priority,
		Type:              s.eval.Type,
		TriggeredBy:       trigger,
		JobID:             s.eval.JobID,
		Status:            status,
		StatusDescription: desc,
		PreviousEval:      s.eval.ID,
		CreateTime:        now,
		ModifyTime:        now,
	}
	if job != nil {
		e.JobModifyIndex = job.JobModifyIndex
	}
	return e
}

// dropPurgedInstance drops the terminal allocations of an earlier instance
// of the job (one purged, then registered again: another CreateIndex).
// They are history, not this job's: a completed batch allocation of the
// purged job must not count as done for the new one.
func dropPurgedInstance(job *structs.Job, allocs []*structs.Allocation) []*structs.Allocation {
	if job == nil {
		return allocs
	}
	out := allocs[:0:0]
	for _, a := range allocs {
		if a.Job != nil && a.Job.CreateIndex != job.CreateIndex && a.TerminalStatus() {
			continue
		}
		out = append(out, a)
	}
	return out
}

// poolSchedulerConfig is the cluster's scheduler configuration with the
// algorithm of the job's node pool, when the pool sets one (the built-in
// pool "all" always uses the cluster's).
func (s *genericScheduler) poolSchedulerConfig(job *structs.Job) (*structs.SchedulerConfig, error) {
	config, err := s.state.SchedulerConfig()
	if err != nil {
		return nil, fmt.Errorf("read scheduler configuration: %w", err)
	}
	if job == nil || job.NodePool == "" || job.NodePool == structs.NodePoolAll {
		return config, nil
	}
	pool, err := s.state.NodePoolByName(nil, job.NodePool)
	if err != nil {
		return nil, fmt.Errorf("read node pool %q: %w", job.NodePool, err)
	}
	if pool == nil || pool.SchedulerConfiguration == nil || pool.SchedulerConfiguration.SchedulerAlgorithm == "" {
		return config, nil
	}
	if config == nil {
		config = structs.DefaultSchedulerConfig()
	}
	config = config.Copy()
	config.SchedulerAlgorithm = pool.SchedulerConfiguration.SchedulerAlgorithm
	return config, nil
}
