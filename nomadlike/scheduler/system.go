package scheduler

import (
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Descriptions of why the system scheduler stops an allocation.
const (
	allocNodeDraining  = "alloc is being migrated because its node is draining"
	allocNodeNotWanted = "alloc not needed as its node no longer matches the job's datacenters, node pool or constraints"
)

// buildSystem fills the plan of a system or sysbatch job: one allocation of
// each group on every ready node in the job's datacenters and node pool that
// passes the group's constraints and drivers.
//
//   - A node without a live allocation of the group gets one (for sysbatch,
//     unless an allocation of this job version already ran there: complete
//     or failed, a sysbatch group runs once per node and version).
//   - Allocations on down or deleted nodes are stopped (lost), on draining
//     nodes stopped, on ready nodes that no longer match the job stopped;
//     on nodes merely marked ineligible they keep running, untouched.
//   - A live allocation of an older job version is updated in place, or
//     replaced on the same node when the change is destructive.
//   - A node that matches but lacks room is a failed placement (queued),
//     unless preemption (on by default for system jobs) frees room there.
//
// Failed allocations of a system job are replaced on their node; the task
// group's restart policy is what limits a crash loop.
func (b *planBuilder) buildSystem(allocs []*structs.Allocation) error {
	job := b.job
	b.plan.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: map[string]*structs.DesiredUpdates{}}
	stopAll := job == nil || job.Stop
	if !stopAll {
		for _, tg := range job.TaskGroups {
			b.desired(tg.Name)
		}
	}
	for _, a := range allocs {
		if !a.TerminalStatus() {
			b.collide(a.TaskGroup, a.NodeID, 1)
		}
	}
	// Classify the live allocations; keep one per (group, node).
	live := map[string]map[string]*structs.Allocation{} // group -> node ID -> alloc
	ran := map[string]map[string]bool{}                 // sysbatch: group -> node ID -> this version ran
	for _, a := range sortedByCreate(allocs) {
		var tg *structs.TaskGroup
		if !stopAll {
			tg = job.LookupTaskGroup(a.TaskGroup)
		}
		if a.TerminalStatus() {
			if tg != nil && b.s.batch && a.DesiredStatus == structs.AllocDesiredStatusRun && sameVersion(a, job) {
				set(ran, a.TaskGroup, a.NodeID, true)
			}
			continue
		}
		node := b.nodes[a.NodeID]
		switch {
		case stopAll:
			b.stopSystem(a, allocJobStopped, lostIf(node))
		case tg == nil:
			b.stopSystem(a, allocGroupGone, lostIf(node))
		case node == nil || node.TerminalStatus() || disconnectLost(node, a, b.s.now()):
			b.stopSystem(a, allocLost, structs.AllocClientStatusLost)
		case drainMigrates(node, a):
			b.stopSystem(a, allocNodeDraining, "")
		case live[a.TaskGroup][a.NodeID] != nil:
			b.stopSystem(a, allocNotNeeded, "")
		default:
			set(live, a.TaskGroup, a.NodeID, a)
		}
	}
	if stopAll {
		return nil
	}
	ready, perDC, inPool := readyNodes(b.all, job)
	b.perDC, b.inPool = perDC, inPool
	isReady := make(map[string]bool, len(ready))
	for _, n := range ready {
		isReady[n.ID] = true
	}
	b.usage.nodes = make(map[string]*nodeUsage, len(ready))
	sel := b.systemSelector(ready)
	for _, tg := range job.TaskGroups {
		filtered := &structs.AllocMetric{NodesAvailable: perDC, NodesInPool: inPool, NodePool: job.NodePool}
		feasible := 0
		// Allocations on nodes that are not ready (ineligible, or out of the
		// job's datacenters or pool) are kept when merely ineligible.
		for _, nodeID := range slices.Sorted(mapKeys(live[tg.Name])) {
			a := live[tg.Name][nodeID]
			if isReady[nodeID] {
				continue
			}
			// Also kept: those on a disconnected node within max_client_disconnect.
			if n := b.nodes[nodeID]; n.SchedulingEligibility == structs.NodeSchedulingIneligible && n.Status == structs.NodeStatusReady ||
				disconnected(n) {
				b.desired(tg.Name).Ignore++
				continue
			}
			b.stopSystem(a, allocNodeNotWanted, "")
		}
		for idx, node := range ready {
			a := live[tg.Name][node.ID]
			ok, reason := b.feas.check(tg, node, idx)
			if ok {
				if r := b.placed.distinctFails(b.ask(tg), node); r != "" && a == nil {
					ok, reason = false, r
				}
			}
			if !ok {
				filtered.NodesEvaluated++
				filtered.FilterNode(node, reason)
				if a != nil {
					b.stopSystem(a, allocNodeNotWanted, "")
				}
				continue
			}
			feasible++
			switch {
			case a != nil && upToDate(a, job):
				b.desired(tg.Name).Ignore++
				continue
			case a != nil:
				if old := a.Job.LookupTaskGroup(tg.Name); old != nil {
					if destructive, _ := destructiveChange(old, tg); !destructive {
						n := a.Copy()
						n.Job = job
						n.EvalID = b.s.eval.ID
						b.plan.AppendAlloc(n)
						b.desired(tg.Name).InPlaceUpdate++
						continue
					}
				}
			case ran[tg.Name][node.ID]:
				b.desired(tg.Name).Ignore++
				continue
			}
			if err := b.placeOnNode(sel, tg, node, idx, a); err != nil {
				return err
			}
		}
		if feasible == 0 && len(live[tg.Name]) == 0 && b.failed[tg.Name] == nil {
			// Nothing matches: say why, though nothing is queued (new nodes re-evaluate the job).
			b.failed[tg.Name] = filtered
		}
	}
	return nil
}

// systemSelector returns a selector for scoring one node at a time.
func (b *planBuilder) systemSelector(ready []*structs.Node) *selector {
	b.feas.nodes = len(ready)
	return &selector{
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
}

// placeOnNode places tg on node (at idx in the ready list), replacing prev
// (a destructive update) when it is not nil.
func (b *planBuilder) placeOnNode(sel *selector, tg *structs.TaskGroup, node *structs.Node, idx int, prev *structs.Allocation) error {
	ask := b.ask(tg)
	p := placement{tg: tg, name: allocName(b.job.ID, tg.Name, 0), previous: prev, stopPrevious: prev != nil}
	if prev != nil {
		b.usage.stop(prev)
	}
	start := b.s.now()
	m := &structs.AllocMetric{NodesAvailable: b.perDC, NodesInPool: b.inPool, NodePool: b.job.NodePool, NodesEvaluated: 1}
	sel.exhausted = sel.exhausted[:0]
	c, ok, err := sel.score(ask, node, idx, m)
	if err != nil {
		return err
	}
	var cand *candidate
	switch {
	case ok:
		cand = &c
	case sel.preempt && len(sel.exhausted) > 0:
		nu, err := b.usage.get(node)
		if err != nil {
			return err
		}
		if err := b.usage.loadExisting(nu); err != nil {
			return err
		}
		if pc, ok := sel.preemptOn(ask, nu, idx); ok {
			cand = &pc
		}
	}
	m.AllocationTime = b.s.now().Sub(start)
	if cand == nil {
		if prev != nil {
			b.usage.unstop(prev)
			b.desired(tg.Name).Ignore++ // the old version keeps running
		}
		b.failSystem(tg.Name, m)
		return nil
	}
	m.ScoreMetaData = []*structs.NodeScoreMeta{cand.scoreMeta()}
	alloc := b.commit(p, cand, m)
	du := b.desired(tg.Name)
	if prev != nil {
		st := b.stop(prev, allocUpdating, "")
		st.NextAllocation = alloc.ID
		alloc.PreviousAllocation = prev.ID
		du.DestructiveUpdate++
		return nil
	}
	du.Place++
	return nil
}

// stopSystem stops a and counts the stop.
func (b *planBuilder) stopSystem(a *structs.Allocation, desc, clientStatus string) *structs.Allocation {
	if _, done := b.stopped[a.ID]; !done {
		b.desired(a.TaskGroup).Stop++
	}
	return b.stop(a, desc, clientStatus)
}

// failSystem records a placement that found no room on its node, merging
// its metric into the group's failure metric.
func (b *planBuilder) failSystem(group string, m *structs.AllocMetric) {
	b.queued[group]++
	f, ok := b.failed[group]
	if !ok {
		b.failed[group] = m
		return
	}
	f.CoalescedFailures++
	mergeMetric(f, m)
}

// mergeMetric adds src's counts to dst.
func mergeMetric(dst, src *structs.AllocMetric) {
	dst.NodesEvaluated += src.NodesEvaluated
	dst.NodesFiltered += src.NodesFiltered
	dst.NodesExhausted += src.NodesExhausted
	dst.AllocationTime += src.AllocationTime
	addCounts := func(d *map[string]int, s map[string]int) {
		for k, v := range s {
			if *d == nil {
				*d = map[string]int{}
			}
			(*d)[k] += v
		}
	}
	addCounts(&dst.ClassFiltered, src.ClassFiltered)
	addCounts(&dst.ConstraintFiltered, src.ConstraintFiltered)
	addCounts(&dst.ClassExhausted, src.ClassExhausted)
	addCounts(&dst.DimensionExhausted, src.DimensionExhausted)
	for k, s := range src.DimensionFree {
		if dst.DimensionFree == nil {
			dst.DimensionFree = map[string]*structs.DimensionShortfall{}
		}
		if d, ok := dst.DimensionFree[k]; ok {
			d.LargestFree = max(d.LargestFree, s.LargestFree)
		} else {
			sc := *s
			dst.DimensionFree[k] = &sc
		}
	}
}

// upToDate reports whether a runs the current version of job.
func upToDate(a *structs.Allocation, job *structs.Job) bool {
	return a.Job == nil || a.Job == job || sameVersion(a, job)
}

func sameVersion(a *structs.Allocation, job *structs.Job) bool {
	return a.Job != nil && a.Job.Version == job.Version && a.Job.JobModifyIndex == job.JobModifyIndex
}

// lostIf returns "lost" when node is down or gone.
func lostIf(node *structs.Node) string {
	if node == nil || node.TerminalStatus() {
		return structs.AllocClientStatusLost
	}
	return ""
}

// sortedByCreate returns allocs oldest first (then by ID), so duplicates
// resolve the same way every time.
func sortedByCreate(allocs []*structs.Allocation) []*structs.Allocation {
	out := slices.Clone(allocs)
	slices.SortFunc(out, func(a, b *structs.Allocation) int {
		switch {
		case a.CreateIndex < b.CreateIndex:
			return -1
		case a.CreateIndex > b.CreateIndex:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func set[V any](m map[string]map[string]V, k1, k2 string, v V) {
	inner := m[k1]
	if inner == nil {
		inner = map[string]V{}
		m[k1] = inner
	}
	inner[k2] = v
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
