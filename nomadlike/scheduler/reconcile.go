package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Descriptions of why the scheduler stops an allocation, as Nomad words them.
const (
	allocNotNeeded   = "alloc not needed due to job update"
	allocJobStopped  = "alloc not needed as job is stopped"
	allocGroupGone   = "alloc not needed as its task group was removed from the job"
	allocMigrating   = "alloc is being migrated"
	allocUpdating    = "alloc is being updated due to job update"
	allocLost        = "alloc is lost since its node is down"
	allocRescheduled = "alloc was rescheduled because it failed"
)

// placement is one allocation the plan must create.
type placement struct {
	tg    *structs.TaskGroup
	name  string
	index int
	// previous is the allocation this one replaces (failed, lost, migrating
	// or destructively updated), or nil.
	previous *structs.Allocation
	// reschedule marks the replacement of a failed allocation; delay is the
	// reschedule delay that applied.
	reschedule bool
	delay      time.Duration
	// stopPrevious asks to stop previous only if the replacement is placed
	// (destructive update): the old version keeps running otherwise.
	stopPrevious bool
	// canary marks a canary of the deployment (placed beside the old version).
	canary bool
}

// stopRequest is one allocation the plan stops.
type stopRequest struct {
	alloc        *structs.Allocation
	desc         string
	clientStatus string
}

// followup is a failed allocation whose reschedule is due later.
type followup struct {
	alloc     *structs.Allocation
	waitUntil time.Time
}

// reconcileResult is the difference between the job's desired groups and
// its allocations.
type reconcileResult struct {
	stops     []stopRequest
	inplace   []*structs.Allocation // copies pointing at the current job
	place     []placement
	followups []followup
	desired   map[string]*structs.DesiredUpdates
	// deployment is the plan's deployment (new, or the current one with new
	// groups), nil when it changes none; deploymentUpdates cancel older ones.
	deployment        *structs.Deployment
	deploymentUpdates []*structs.DeploymentStatusUpdate
	// deploymentIDs is the deployment each rolling group's new allocations join.
	deploymentIDs map[string]string
}

// allocClass is how the reconciler sees an existing allocation.
type allocClass int

const (
	classUntainted allocClass = iota // running or pending on a usable node
	classMigrate                     // on a draining node
	classLost                        // on a down or missing node
	classComplete                    // batch allocation that finished successfully
	classFailed                      // failed and not yet replaced
)

type classified struct {
	alloc *structs.Allocation
	class allocClass
	index int
}

// reconciler compares a job with its allocations. It does no I/O.
type reconciler struct {
	job    *structs.Job // nil when the job was purged
	evalID string
	batch  bool
	nodes  map[string]*structs.Node
	now    time.Time
	// inplaceOK reports whether alloc's node can run the new version of its group.
	inplaceOK func(alloc *structs.Allocation, tg *structs.TaskGroup) bool
	// deploy is the rollout state of service jobs (reconcile_deploy.go); nil
	// for other job types.
	deploy *deployer
}

func (r *reconciler) reconcile(allocs []*structs.Allocation) *reconcileResult {
	res := &reconcileResult{desired: map[string]*structs.DesiredUpdates{}}
	byGroup := map[string][]*structs.Allocation{}
	for _, a := range allocs {
		byGroup[a.TaskGroup] = append(byGroup[a.TaskGroup], a)
	}
	stopAll := r.job == nil || r.job.Stop
	r.deploy.start(res, r.job)
	if !stopAll {
		for _, tg := range r.job.TaskGroups {
			r.reconcileGroup(res, tg, byGroup[tg.Name])
			delete(byGroup, tg.Name)
		}
	}
	// Whatever is left belongs to a stopped job or a removed group.
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	desc := allocGroupGone
	if stopAll {
		desc = allocJobStopped
	}
	for _, g := range groups {
		du := res.updates(g)
		for _, a := range byGroup[g] {
			if a.TerminalStatus() {
				continue
			}
			res.stop(a, desc, r.lostStatus(a))
			du.Stop++
		}
	}
	r.deploy.finish(res)
	return res
}

// lostStatus returns "lost" when a's node is down or gone, "" otherwise.
func (r *reconciler) lostStatus(a *structs.Allocation) string {
	if n := r.nodes[a.NodeID]; n == nil || n.TerminalStatus() {
		return structs.AllocClientStatusLost
	}
	return ""
}

func (res *reconcileResult) updates(group string) *structs.DesiredUpdates {
	du := res.desired[group]
	if du == nil {
		du = &structs.DesiredUpdates{}
		res.desired[group] = du
	}
	return du
}

func (res *reconcileResult) stop(a *structs.Allocation, desc, clientStatus string) {
	res.stops = append(res.stops, stopRequest{alloc: a, desc: desc, clientStatus: clientStatus})
}

func (r *reconciler) classify(a *structs.Allocation) (allocClass, bool) {
	if a.TerminalStatus() {
		switch {
		case a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusFailed && a.NextAllocation == "":
			return classFailed, true
		case r.batch && a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusComplete:
			return classComplete, true
		}
		return 0, false
	}
	n := r.nodes[a.NodeID]
	switch {
	case n == nil || n.TerminalStatus() || disconnectLost(n, a, r.now):
		return classLost, true
	case drainMigrates(n, a) || a.DesiredTransition.ShouldMigrate():
		// A stopped allocation (alloc stop, job restart -reschedule) is
		// marked for migration, as in Nomad: replaced and linked to its
		// replacement (NextAllocation / PreviousAllocation).
		return classMigrate, true
	}
	return classUntainted, true
}

func (r *reconciler) reconcileGroup(res *reconcileResult, tg *structs.TaskGroup, allocs []*structs.Allocation) {
	du := res.updates(tg.Name)
	roll := r.deploy.group(tg, allocs)
	allocs = roll.others
	// Collect the allocations that occupy a slot of the group, one per index.
	var live []classified
	byIndex := map[int]int{} // index -> position in live
	for _, a := range allocs {
		class, ok := r.classify(a)
		if !ok {
			continue
		}
		c := classified{alloc: a, class: class, index: a.Index()}
		if pos, dup := byIndex[c.index]; dup {
			// Two allocations claim one name: keep the healthier one, or
			// of two alike the one running the current version (a promoted
			// canary replaces the old allocation of its name).
			if class < live[pos].class || class == live[pos].class && r.current(a) && !r.current(live[pos].alloc) {
				c, live[pos] = live[pos], c
			}
			res.stop(c.alloc, allocNotNeeded, r.lostStatus(c.alloc))
			du.Stop++
			continue
		}
		byIndex[c.index] = len(live)
		live = append(live, c)
	}
	// Scale down: stop the highest indexes.
	if excess := len(live) - tg.Count; excess > 0 {
		slices.SortFunc(live, func(a, b classified) int { return b.index - a.index })
		for _, c := range live[:excess] {
			res.stop(c.alloc, allocNotNeeded, r.lostStatus(c.alloc))
			du.Stop++
		}
		live = live[excess:]
	}
	slices.SortFunc(live, func(a, b classified) int { return a.index - b.index })
	used := make(map[int]bool, len(live))
	for _, c := range live {
		used[c.index] = true
		r.reconcileAlloc(res, du, tg, c, roll)
	}
	// Place what is missing, lowest free indexes first.
	for i, missing := 0, tg.Count-len(live); missing > 0; i++ {
		if used[i] {
			continue
		}
		res.place = append(res.place, placement{tg: tg, name: allocName(r.job.ID, tg.Name, i), index: i})
		du.Place++
		missing--
	}
	r.rollGroup(res, du, tg, roll, live)
}

// current reports whether a runs the job version being reconciled.
func (r *reconciler) current(a *structs.Allocation) bool {
	return a.Job != nil && r.job != nil && (a.Job == r.job || a.Job.Version == r.job.Version && a.Job.JobModifyIndex == r.job.JobModifyIndex)
}

func (r *reconciler) reconcileAlloc(res *reconcileResult, du *structs.DesiredUpdates, tg *structs.TaskGroup, c classified, roll *groupRoll) {
	a := c.alloc
	replace := placement{tg: tg, name: a.Name, index: c.index, previous: a}
	switch c.class {
	case classComplete:
		du.Ignore++
	case classLost:
		res.stop(a, allocLost, structs.AllocClientStatusLost)
		du.Stop++
		res.place = append(res.place, replace)
		du.Place++
	case classMigrate:
		res.stop(a, allocMigrating, "")
		du.Migrate++
		res.place = append(res.place, replace)
	case classFailed:
		at, delay, ok := rescheduleTime(a, tg.ReschedulePolicy, r.now)
		switch {
		case a.DesiredTransition.ShouldForceReschedule():
			replace.reschedule = true
			res.place = append(res.place, replace)
			du.Place++
		case !ok:
			du.Ignore++
		case a.FollowupEvalID == r.evalID || !at.After(r.now.Add(rescheduleWindow)):
			replace.reschedule, replace.delay = true, delay
			res.place = append(res.place, replace)
			du.Place++
		default:
			if a.FollowupEvalID == "" {
				res.followups = append(res.followups, followup{alloc: a, waitUntil: at})
			}
			du.Ignore++
		}
	case classUntainted:
		if a.Job == nil || r.current(a) || disconnected(r.nodes[a.NodeID]) {
			du.Ignore++
			return
		}
		old := a.Job.LookupTaskGroup(tg.Name)
		destructive := old == nil
		if !destructive {
			destructive, _ = destructiveChange(old, tg)
		}
		if !destructive && r.inplaceOK != nil && !r.inplaceOK(a, tg) {
			destructive = true
		}
		if destructive {
			// Placed (or held back) by rollGroup, under the update strategy.
			replace.stopPrevious = true
			roll.destructive = append(roll.destructive, replace)
			return
		}
		n := a.Copy()
		n.Job = r.job
		n.EvalID = r.evalID
		roll.inplace = append(roll.inplace, n)
		res.inplace = append(res.inplace, n)
		du.InPlaceUpdate++
	}
}

// allocName is Nomad's allocation name, "<job>.<group>[<index>]".
func allocName(job, group string, index int) string {
	return fmt.Sprintf("%s.%s[%d]", job, group, index)
}
