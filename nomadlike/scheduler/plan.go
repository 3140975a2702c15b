package scheduler

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// planBuilder turns one reconciliation into one plan.
type planBuilder struct {
	s      *genericScheduler
	job    *structs.Job
	nodes  map[string]*structs.Node
	all    []*structs.Node
	plan   *structs.Plan
	usage  *usageTracker
	feas   *feasibilityChecker
	sel    *selector // built on the first placement
	placed *placementState

	config *structs.SchedulerConfig // nil: defaults
	deploy *deployer                // nil: no deployments (not a service job)
	// deploymentIDs is the deployment each group's new allocations join.
	deploymentIDs map[string]string
	asks          map[string]*placeAsk
	failed        map[string]*structs.AllocMetric
	queued        map[string]int
	stopped       map[string]*structs.Allocation // alloc ID -> its stop in the plan

	// Shared, read-only parts of every placement's metric.
	perDC  map[string]int
	inPool int
}

func newPlanBuilder(s *genericScheduler, job *structs.Job, nodes []*structs.Node, index uint64, config *structs.SchedulerConfig, deploy *deployer) *planBuilder {
	b := &planBuilder{
		s:       s,
		job:     job,
		all:     nodes,
		nodes:   make(map[string]*structs.Node, len(nodes)),
		usage:   newUsageTracker(s.state),
		config:  config,
		deploy:  deploy,
		asks:    map[string]*placeAsk{},
		failed:  map[string]*structs.AllocMetric{},
		queued:  map[string]int{},
		stopped: map[string]*structs.Allocation{},
		plan: &structs.Plan{
			EvalID:        s.eval.ID,
			Priority:      s.eval.Priority,
			Job:           job,
			SnapshotIndex: index,
		},
	}
	for _, n := range nodes {
		b.nodes[n.ID] = n
	}
	b.placed = newPlacementState(b.nodes)
	if job != nil {
		b.plan.AllAtOnce = job.AllAtOnce
		b.feas = newFeasibilityChecker(job, 0)
		for _, tg := range job.TaskGroups {
			b.queued[tg.Name] = 0
			// Build every group's ask now: it creates the property counters
			// the existing allocations must be counted in.
			b.ask(tg)
		}
	}
	return b
}

// build reconciles allocs with the job and fills the plan.
func (b *planBuilder) build(allocs []*structs.Allocation) error {
	if b.s.system {
		return b.buildSystem(allocs)
	}
	r := &reconciler{
		job:    b.job,
		evalID: b.s.eval.ID,
		batch:  b.s.batch,
		nodes:  b.nodes,
		now:    b.s.now(),
		inplaceOK: func(a *structs.Allocation, tg *structs.TaskGroup) bool {
			n := b.nodes[a.NodeID]
			ok, _ := b.feas.check(tg, n, -1)
			return ok
		},
		deploy: b.deploy,
	}
	res := r.reconcile(allocs)
	b.plan.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: res.desired}
	b.plan.Deployment, b.plan.DeploymentUpdates = res.deployment, res.deploymentUpdates
	b.deploymentIDs = res.deploymentIDs
	for _, a := range allocs {
		if !a.TerminalStatus() {
			b.collide(a.TaskGroup, a.NodeID, 1)
		}
	}
	for _, st := range res.stops {
		b.stop(st.alloc, st.desc, st.clientStatus)
	}
	for _, a := range res.inplace {
		b.plan.AppendAlloc(a)
	}
	if err := b.scheduleFollowups(res.followups); err != nil {
		return err
	}
	for _, p := range res.place {
		if err := b.place(p); err != nil {
			return err
		}
	}
	return nil
}

func (b *planBuilder) collide(group, nodeID string, delta int) {
	b.placed.collide(group, nodeID, delta)
}

// stop adds a stop of a to the plan and frees its resources.
func (b *planBuilder) stop(a *structs.Allocation, desc, clientStatus string) *structs.Allocation {
	if st, ok := b.stopped[a.ID]; ok {
		return st
	}
	b.plan.AppendStoppedAlloc(a, desc, clientStatus)
	list := b.plan.NodeUpdate[a.NodeID]
	st := list[len(list)-1]
	b.stopped[a.ID] = st
	if !a.TerminalStatus() {
		b.collide(a.TaskGroup, a.NodeID, -1)
	}
	b.usage.stop(a)
	return st
}

// scheduleFollowups creates follow-up evaluations for failed allocations
// whose reschedule is due later, batching those due within a few seconds of
// each other, and records each evaluation's ID on its allocations.
func (b *planBuilder) scheduleFollowups(fs []followup) error {
	slices.SortStableFunc(fs, func(x, y followup) int { return x.waitUntil.Compare(y.waitUntil) })
	var cur *structs.Evaluation
	for _, f := range fs {
		id, ok := b.s.followups[f.alloc.ID]
		if !ok {
			if cur == nil || f.waitUntil.Sub(cur.WaitUntil) > followupBatchWindow {
				cur = b.s.newEval(b.job, structs.EvalStatusPending, structs.EvalTriggerRetryFailedAlloc, descFollowup)
				cur.WaitUntil = f.waitUntil
				if err := b.s.planner.CreateEval(cur); err != nil {
					return fmt.Errorf("create follow-up evaluation to reschedule allocation %s at %s: %w", f.alloc.ID, f.waitUntil.Format(time.RFC3339), err)
				}
			}
			id = cur.ID
			b.s.followups[f.alloc.ID] = id
		}
		n := f.alloc.Copy()
		n.FollowupEvalID = id
		b.plan.AppendAlloc(n)
	}
	return nil
}

// ask returns what a placement of tg needs, computed once per group.
func (b *planBuilder) ask(tg *structs.TaskGroup) *placeAsk {
	if a, ok := b.asks[tg.Name]; ok {
		return a
	}
	a := &placeAsk{tg: tg, network: newNetworkAsk(tg)}
	for _, t := range tg.Tasks {
		if t.Resources == nil {
			continue
		}
		if t.Resources.Cores > 0 {
			a.cores += t.Resources.Cores
		} else {
			a.resources.CPU += int64(t.Resources.CPU)
		}
		a.resources.MemoryMB += int64(t.Resources.MemoryMB)
	}
	if tg.EphemeralDisk != nil {
		a.resources.DiskMB = int64(tg.EphemeralDisk.SizeMB)
	}
	a.distinct = b.placed.distinctChecks(b.job, tg)
	if !b.s.system {
		a.affinities = append(append([]*structs.Affinity(nil), b.job.Affinities...), tg.Affinities...)
		for _, t := range tg.Tasks {
			a.affinities = append(a.affinities, t.Affinities...)
		}
		for _, af := range a.affinities {
			a.affWeight += math.Abs(float64(af.Weight))
		}
		a.spreads = b.placed.spreadScorers(b.job, tg)
	}
	b.asks[tg.Name] = a
	return a
}

// preemptionEnabled reports whether this job's placements may evict
// lower-priority allocations under the scheduler configuration.
func (b *planBuilder) preemptionEnabled() bool {
	return b.config.PreemptionEnabled(b.s.jobType)
}

// selector returns the evaluation's node selector, shuffling the ready nodes
// on first use.
func (b *planBuilder) selector() *selector {
	if b.sel != nil {
		return b.sel
	}
	ready, perDC, inPool := readyNodes(b.all, b.job)
	b.s.rng.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	b.perDC, b.inPool = perDC, inPool
	b.feas.nodes = len(ready)
	if len(b.usage.nodes) == 0 {
		b.usage.nodes = make(map[string]*nodeUsage, len(ready))
	}
	b.sel = &selector{
		nodes:     ready,
		feas:      b.feas,
		usage:     b.usage,
		rng:       b.s.rng,
		place:     b.placed,
		algorithm: b.config.Algorithm(),
		preempt:   b.preemptionEnabled(),
		priority:  b.job.Priority,
		affinity:  map[string][]cachedScore{},
	}
	limit := candidateLimit(len(ready), b.s.batch)
	for _, a := range b.asks {
		a.limit = limit
		if len(a.affinities) > 0 || len(a.spreads) > 0 {
			a.limit = max(limit, preferenceLimit)
		}
	}
	return b.sel
}

// place finds a node for p and adds the allocation to the plan. A placement
// that finds no node is recorded in failed and queued, not returned as an error.
func (b *planBuilder) place(p placement) error {
	name := p.tg.Name
	if m, ok := b.failed[name]; ok {
		// Later placements of a group that already failed would fail the same way.
		m.CoalescedFailures++
		b.queued[name]++
		return nil
	}
	sel := b.selector()
	ask := b.ask(p.tg)
	if p.previous != nil && p.reschedule {
		withPenalty := *ask
		withPenalty.penalty = penaltyNodes(p.previous)
		ask = &withPenalty
	}
	prev := p.previous
	if p.stopPrevious {
		// A destructive update may reuse the resources of the version it replaces.
		b.usage.stop(prev)
		b.collide(prev.TaskGroup, prev.NodeID, -1)
	}
	start := b.s.now()
	m := &structs.AllocMetric{NodesAvailable: b.perDC, NodesInPool: b.inPool, NodePool: b.job.NodePool}
	var c *candidate
	var err error
	if prev != nil && hasStickyVolume(p.tg) {
		// The data of a sticky volume is on the node of the allocation
		// this one replaces: that node first, when it still fits.
		c, err = sel.pickOn(ask, prev.NodeID, m)
	}
	if c == nil && err == nil {
		c, err = sel.pick(ask, m)
	}
	m.AllocationTime = b.s.now().Sub(start)
	if err != nil {
		return err
	}
	if c == nil {
		if p.stopPrevious {
			b.usage.unstop(prev)
			b.collide(prev.TaskGroup, prev.NodeID, 1)
		}
		b.failed[name] = m
		b.queued[name]++
		return nil
	}
	alloc := b.commit(p, c, m)
	if prev == nil {
		return nil
	}
	st, ok := b.stopped[prev.ID]
	if !ok {
		desc := allocRescheduled
		if p.stopPrevious {
			desc = allocUpdating
		}
		st = b.stop(prev, desc, "")
	}
	st.NextAllocation = alloc.ID
	return nil
}

// commit adds the allocation of placement p on candidate c to the plan,
// with the evictions it needs, and records its usage.
func (b *planBuilder) commit(p placement, c *candidate, m *structs.AllocMetric) *structs.Allocation {
	alloc := b.newAlloc(p, c, m)
	for _, v := range c.victims {
		b.plan.AppendPreemptedAlloc(v, alloc.ID)
		b.usage.stop(v)
		alloc.PreemptedAllocations = append(alloc.PreemptedAllocations, v.ID)
	}
	if n := len(c.victims); n > 0 {
		b.desired(p.tg.Name).Preemptions += uint64(n)
	}
	b.plan.AppendAlloc(alloc)
	b.usage.place(alloc)
	b.collide(p.tg.Name, alloc.NodeID, 1)
	return alloc
}

// desired returns the plan's DesiredTGUpdates entry of group.
func (b *planBuilder) desired(group string) *structs.DesiredUpdates {
	if b.plan.Annotations == nil {
		b.plan.Annotations = &structs.PlanAnnotations{}
	}
	if b.plan.Annotations.DesiredTGUpdates == nil {
		b.plan.Annotations.DesiredTGUpdates = map[string]*structs.DesiredUpdates{}
	}
	du := b.plan.Annotations.DesiredTGUpdates[group]
	if du == nil {
		du = &structs.DesiredUpdates{}
		b.plan.Annotations.DesiredTGUpdates[group] = du
	}
	return du
}

// newAlloc builds the allocation of placement p on candidate c.
func (b *planBuilder) newAlloc(p placement, c *candidate, m *structs.AllocMetric) *structs.Allocation {
	now := b.s.now()
	tg := p.tg
	ar := &structs.AllocatedResources{Tasks: make(map[string]*structs.AllocatedTaskResources, len(tg.Tasks))}
	cores := c.cores
	for _, t := range tg.Tasks {
		tr := &structs.AllocatedTaskResources{}
		if r := t.Resources; r != nil {
			tr.Cpu.CpuShares = int64(r.CPU)
			if r.Cores > 0 && len(cores) >= r.Cores {
				tr.Cpu.ReservedCores = slices.Clone(cores[:r.Cores])
				tr.Cpu.CpuShares = int64(r.Cores) * c.node.MHzPerCore()
				cores = cores[r.Cores:]
			}
			tr.Memory.MemoryMB = int64(r.MemoryMB)
			tr.Memory.MemoryMaxMB = int64(r.MemoryMaxMB)
		}
		if c.ports != nil {
			tr.Networks = c.ports.tasks[t.Name]
		}
		ar.Tasks[t.Name] = tr
	}
	if tg.EphemeralDisk != nil {
		ar.Shared.DiskMB = int64(tg.EphemeralDisk.SizeMB)
	}
	if c.ports != nil {
		ar.Shared.Networks = c.ports.shared
		ar.Shared.Ports = c.ports.mappings
	}
	a := &structs.Allocation{
		ID:                 structs.GenerateUUID(),
		Namespace:          b.job.Namespace,
		EvalID:             b.s.eval.ID,
		Name:               p.name,
		NodeID:             c.node.ID,
		NodeName:           c.node.Name,
		JobID:              b.job.ID,
		Job:                b.job,
		TaskGroup:          tg.Name,
		AllocatedResources: ar,
		Metrics:            m,
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusPending,
		CreateTime:         now.UnixNano(),
		ModifyTime:         now.UnixNano(),
	}
	a.DeploymentID = b.deploymentIDs[tg.Name]
	if p.canary {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	}
	if p.previous != nil {
		a.PreviousAllocation = p.previous.ID
		if p.reschedule {
			a.RescheduleTracker = newRescheduleTracker(p.previous, p.delay, now)
		}
	}
	return a
}

// penaltyNodes are the nodes a failed allocation's lineage failed on.
func penaltyNodes(prev *structs.Allocation) map[string]bool {
	nodes := map[string]bool{prev.NodeID: true}
	if prev.RescheduleTracker != nil {
		for _, e := range prev.RescheduleTracker.Events {
			nodes[e.PrevNodeID] = true
		}
	}
	return nodes
}

// hasStickyVolume reports whether the group mounts a sticky volume.
func hasStickyVolume(tg *structs.TaskGroup) bool {
	for _, v := range tg.Volumes {
		if v != nil && v.Sticky {
			return true
		}
	}
	return false
}
