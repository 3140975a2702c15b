package server

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// gcPlan is what one garbage collection pass removes.
type gcPlan struct {
	jobs        []jobKey // to purge
	evals       []string
	allocs      []string
	deployments []string
	nodes       []string
}

// empty reports whether the pass has nothing to remove.
func (p *gcPlan) empty() bool {
	return len(p.jobs)+len(p.evals)+len(p.allocs)+len(p.deployments)+len(p.nodes) == 0
}

// gcPlanner decides, on one state snapshot, what is garbage. Ages are the
// objects' ModifyTime (SubmitTime for jobs, StatusUpdatedAt for nodes):
// times chosen before the writes entered the Raft log, so every server
// would decide alike; only IDs go into the delete entries.
type gcPlanner struct {
	st  *state.Snapshot
	cut gcCutoffs
	now time.Time

	plan       gcPlan
	evalSeen   map[string]bool
	allocSeen  map[string]bool
	deploySeen map[string]bool
	// evalAllocs holds, per job looked at, its allocations by EvalID:
	// allocations have no eval index, so each job's are listed once.
	evalAllocs map[jobKey]map[string][]*structs.Allocation
}

// planGC returns what a pass at now with cutoffs cut removes from st.
func planGC(st *state.Snapshot, cut gcCutoffs, now time.Time) (*gcPlan, error) {
	p := &gcPlanner{st: st, cut: cut, now: now,
		evalSeen: map[string]bool{}, allocSeen: map[string]bool{}, deploySeen: map[string]bool{},
		evalAllocs: map[jobKey]map[string][]*structs.Allocation{}}
	for _, step := range []func() error{p.jobGC, p.evalGC, p.deploymentGC, p.nodeGC} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return &p.plan, nil
}

func (p *gcPlanner) addEval(id string) {
	if !p.evalSeen[id] {
		p.evalSeen[id] = true
		p.plan.evals = append(p.plan.evals, id)
	}
}

func (p *gcPlanner) addAllocs(ids []string) {
	for _, id := range ids {
		if !p.allocSeen[id] {
			p.allocSeen[id] = true
			p.plan.allocs = append(p.plan.allocs, id)
		}
	}
}

func (p *gcPlanner) addDeployment(id string) {
	if !p.deploySeen[id] {
		p.deploySeen[id] = true
		p.plan.deployments = append(p.plan.deployments, id)
	}
}

// jobGC purges dead jobs older than the job threshold whose evaluations
// and allocations are all collectable, with their evaluations, allocations
// and deployments. Periodic and parameterized parents are collected only
// once stopped and when none of their children is still alive.
func (p *gcPlanner) jobGC() error {
	jobs, err := p.st.Jobs(nil, "*")
	if err != nil {
		return fmt.Errorf("gc: list jobs: %w", err)
	}
	for _, job := range jobs {
		ok, err := p.jobCollectable(job)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		evals, err := p.st.EvalsByJob(nil, job.Namespace, job.ID)
		if err != nil {
			return fmt.Errorf("gc: evaluations of job %q: %w", job.ID, err)
		}
		allocs, err := p.st.AllocsByJob(nil, job.Namespace, job.ID, true)
		if err != nil {
			return fmt.Errorf("gc: allocations of job %q: %w", job.ID, err)
		}
		newest := job.SubmitTime
		for _, e := range evals {
			newest = max(newest, e.ModifyTime)
		}
		for _, a := range allocs {
			newest = max(newest, a.ModifyTime)
		}
		if newest > p.cut.job {
			continue
		}
		collect := true
		var allocIDs []string
		for _, a := range allocs {
			if !p.allocEligible(a, job, p.cut.job) {
				collect = false
				break
			}
			allocIDs = append(allocIDs, a.ID)
		}
		for _, e := range evals {
			if !collect {
				break
			}
			gc, _, err := p.evalCollectable(e, job, p.cut.job, true)
			if err != nil {
				return err
			}
			collect = gc
		}
		if !collect {
			continue
		}
		deps, err := p.st.DeploymentsByJobID(nil, job.Namespace, job.ID)
		if err != nil {
			return fmt.Errorf("gc: deployments of job %q: %w", job.ID, err)
		}
		p.plan.jobs = append(p.plan.jobs, jobKey{job.Namespace, job.ID})
		for _, e := range evals {
			p.addEval(e.ID)
		}
		p.addAllocs(allocIDs)
		for _, d := range deps {
			p.addDeployment(d.ID)
		}
	}
	return nil
}

// jobCollectable reports whether job's status allows purging it.
func (p *gcPlanner) jobCollectable(job *structs.Job) (bool, error) {
	if job.Status != structs.JobStatusDead {
		return false, nil
	}
	if !job.IsTemplate() {
		return true, nil
	}
	if !job.Stop {
		return false, nil
	}
	children, err := p.st.ChildJobs(nil, job.Namespace, job.ID)
	if err != nil {
		return false, fmt.Errorf("gc: children of job %q: %w", job.ID, err)
	}
	for _, c := range children {
		if c.Status != structs.JobStatusDead {
			return false, nil
		}
	}
	return true, nil
}

// evalGC collects terminal evaluations older than the evaluation threshold
// (the batch one for batch jobs) whose allocations are all collectable,
// with those allocations, as Nomad's evalGC.
func (p *gcPlanner) evalGC() error {
	evals, err := p.st.Evals(nil, "*")
	if err != nil {
		return fmt.Errorf("gc: list evaluations: %w", err)
	}
	jobs := map[jobKey]*structs.Job{}
	for _, e := range evals {
		if p.evalSeen[e.ID] || !e.TerminalStatus() {
			continue
		}
		ref := evalJobKey(e)
		job, seen := jobs[ref]
		if !seen {
			if job, err = p.st.JobByID(nil, e.Namespace, e.JobID); err != nil {
				return fmt.Errorf("gc: look up job %q: %w", e.JobID, err)
			}
			jobs[ref] = job
		}
		cut := p.cut.eval
		if e.Type == structs.JobTypeBatch {
			cut = p.cut.batchEval
		}
		gc, allocIDs, err := p.evalCollectable(e, job, cut, false)
		if err != nil {
			return err
		}
		if gc {
			p.addEval(e.ID)
		}
		p.addAllocs(allocIDs)
	}
	return nil
}

// evalCollectable is Nomad's gcEval: whether the evaluation can go and
// which of its allocations can. The evaluations of a batch job that is
// still alive (or dead but not stopped, unless allowBatch) stay, and only
// the terminal allocations of its older versions go: removing the others
// would make the scheduler run them again.
func (p *gcPlanner) evalCollectable(e *structs.Evaluation, job *structs.Job, cut int64, allowBatch bool) (bool, []string, error) {
	if !e.TerminalStatus() || e.ModifyTime > cut {
		return false, nil, nil
	}
	allocs, err := p.allocsOfEval(e)
	if err != nil {
		return false, nil, err
	}
	if e.Type == structs.JobTypeBatch {
		collect := job == nil || (job.Status == structs.JobStatusDead && (job.Stop || allowBatch))
		if !collect {
			var old []string
			for _, a := range allocs {
				if a.Job != nil && a.Job.Version < job.Version && p.allocEligible(a, job, cut) {
					old = append(old, a.ID)
				}
			}
			return false, old, nil
		}
	}
	gc := true
	var ids []string
	for _, a := range allocs {
		if p.allocEligible(a, job, cut) {
			ids = append(ids, a.ID)
		} else {
			gc = false
		}
	}
	return gc, ids, nil
}

// allocsOfEval returns the allocations e created, listing its job's
// allocations once per pass.
func (p *gcPlanner) allocsOfEval(e *structs.Evaluation) ([]*structs.Allocation, error) {
	key := evalJobKey(e)
	byEval, ok := p.evalAllocs[key]
	if !ok {
		allocs, err := p.st.AllocsByJob(nil, e.Namespace, e.JobID, true)
		if err != nil {
			return nil, fmt.Errorf("gc: allocations of evaluation %q: %w", e.ID, err)
		}
		byEval = map[string][]*structs.Allocation{}
		for _, a := range allocs {
			byEval[a.EvalID] = append(byEval[a.EvalID], a)
		}
		p.evalAllocs[key] = byEval
	}
	return byEval[e.ID], nil
}

// allocEligible is Nomad's allocGCEligible: the allocation is terminal on
// both sides (the client finished it, or its node is gone) and older than
// cut, and no reschedule still needs it.
func (p *gcPlanner) allocEligible(a *structs.Allocation, job *structs.Job, cut int64) bool {
	if !a.TerminalStatus() || a.ModifyTime > cut {
		return false
	}
	if !a.ClientTerminalStatus() {
		// The client may still run it; only a vanished node cannot.
		if n, err := p.st.NodeByID(nil, a.NodeID); err != nil || n != nil {
			return false
		}
	}
	if job == nil || job.Stop || job.Status == structs.JobStatusDead {
		return true
	}
	if a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict {
		return true
	}
	if a.ClientStatus != structs.AllocClientStatusFailed {
		return true
	}
	var policy *structs.ReschedulePolicy
	if tg := job.LookupTaskGroup(a.TaskGroup); tg != nil {
		policy = tg.ReschedulePolicy
	}
	if policy == nil || (!policy.Unlimited && policy.Attempts == 0) {
		return true
	}
	if a.NextAllocation != "" {
		return true // the replacement carries the reschedule history
	}
	if policy.Unlimited {
		return false
	}
	if a.RescheduleTracker == nil || len(a.RescheduleTracker.Events) == 0 {
		return false
	}
	last := a.RescheduleTracker.Events[len(a.RescheduleTracker.Events)-1]
	return p.now.UnixNano()-last.RescheduleTime > policy.Interval.Nanoseconds()
}

// deploymentGC collects finished deployments older than the deployment
// threshold that no remaining allocation refers to, except the latest
// deployment of a job that still exists.
func (p *gcPlanner) deploymentGC() error {
	deps, err := p.st.Deployments(nil)
	if err != nil {
		return fmt.Errorf("gc: list deployments: %w", err)
	}
	for _, d := range deps {
		if p.deploySeen[d.ID] || d.Active() || d.ModifyTime > p.cut.deployment {
			continue
		}
		job, err := p.st.JobByID(nil, d.Namespace, d.JobID)
		if err != nil {
			return fmt.Errorf("gc: look up job %q: %w", d.JobID, err)
		}
		if job != nil {
			latest, err := p.st.LatestDeploymentByJobID(nil, d.Namespace, d.JobID)
			if err != nil {
				return fmt.Errorf("gc: latest deployment of job %q: %w", d.JobID, err)
			}
			if latest != nil && latest.ID == d.ID {
				continue
			}
		}
		allocs, err := p.st.AllocsByDeployment(nil, d.ID)
		if err != nil {
			return fmt.Errorf("gc: allocations of deployment %q: %w", d.ID, err)
		}
		referenced := false
		for _, a := range allocs {
			if !p.allocSeen[a.ID] {
				referenced = true
				break
			}
		}
		if !referenced {
			p.addDeployment(d.ID)
		}
	}
	return nil
}

// nodeGC collects nodes down for longer than the node threshold that have
// no non-terminal allocation.
func (p *gcPlanner) nodeGC() error {
	nodes, err := p.st.Nodes(nil)
	if err != nil {
		return fmt.Errorf("gc: list nodes: %w", err)
	}
	cut := p.cut.node / int64(time.Second) // StatusUpdatedAt is in seconds
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown || n.StatusUpdatedAt > cut {
			continue
		}
		allocs, err := p.st.AllocsByNode(nil, n.ID)
		if err != nil {
			return fmt.Errorf("gc: allocations of node %q: %w", n.ID, err)
		}
		live := false
		for _, a := range allocs {
			if !a.TerminalStatus() {
				live = true
				break
			}
		}
		if !live {
			p.plan.nodes = append(p.plan.nodes, n.ID)
		}
	}
	return nil
}
