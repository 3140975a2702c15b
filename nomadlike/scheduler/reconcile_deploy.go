package scheduler

import (
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// deployer is the rollout state of one reconciliation of a service job, as
// Nomad's reconciler keeps it: the job version's current deployment (or the
// one this plan creates), and the older deployments it cancels.
type deployer struct {
	now      time.Time
	priority int
	newID    func() string
	// latest is the job's newest deployment in state, or nil.
	latest *structs.Deployment
	// dep is the deployment of the job version being reconciled (a private
	// copy), nil when there is none or it finished successfully.
	dep     *structs.Deployment
	created bool // dep is new in this plan (then changed too)
	changed bool // dep gained a group
}

// groupRoll is what reconcileGroup hands to rollGroup for one group.
type groupRoll struct {
	rolling bool // the group has an update strategy with max_parallel > 0
	// others are the allocations reconcileGroup sees; unpromoted canaries
	// of the current deployment are kept apart: they hold no slot.
	others   []*structs.Allocation
	canaries []*structs.Allocation
	// destructive are the destructive updates found, in index order, and
	// inplace the in-place updates (copies already in the result).
	destructive []placement
	inplace     []*structs.Allocation
}

// start decides what happens to the job's newest deployment: a stopped
// job's active deployment is cancelled, as is an active deployment of an
// older version; a successful or cancelled one is over. What remains is the
// current version's deployment (running, paused or failed).
func (d *deployer) start(res *reconcileResult, job *structs.Job) {
	if d == nil || d.latest == nil {
		return
	}
	l := d.latest
	cancel := func(desc string) {
		if l.Active() {
			res.deploymentUpdates = append(res.deploymentUpdates, &structs.DeploymentStatusUpdate{
				DeploymentID: l.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: desc,
			})
		}
	}
	switch {
	case job == nil || job.Stop:
		cancel(structs.DeploymentStatusDescriptionStoppedJob)
	case l.JobCreateIndex != job.CreateIndex || l.JobVersion != job.Version:
		cancel(structs.DeploymentStatusDescriptionNewerJob)
	case l.Status == structs.DeploymentStatusSuccessful || l.Status == structs.DeploymentStatusCancelled:
	default:
		d.dep = l.Copy()
	}
}

// finish puts the deployment in the result when this plan creates or changes it.
func (d *deployer) finish(res *reconcileResult) {
	if d == nil || d.dep == nil || !d.changed {
		return
	}
	if d.created {
		canaries, auto := false, true
		for _, g := range d.dep.TaskGroups {
			if g.DesiredCanaries > 0 {
				canaries = true
				auto = auto && g.AutoPromote
			}
		}
		if canaries {
			d.dep.StatusDescription = structs.DeploymentStatusDescriptionRunningNeedsPromotion
			if auto {
				d.dep.StatusDescription = structs.DeploymentStatusDescriptionRunningAutoPromotion
			}
		}
	}
	res.deployment = d.dep
}

// group splits a group's allocations for reconcileGroup.
func (d *deployer) group(tg *structs.TaskGroup, allocs []*structs.Allocation) *groupRoll {
	roll := &groupRoll{others: allocs}
	if d == nil || !tg.Update.Rolling() {
		return roll
	}
	roll.rolling = true
	if d.dep == nil {
		return roll
	}
	ds := d.dep.TaskGroups[tg.Name]
	if ds == nil || ds.DesiredCanaries == 0 || ds.Promoted {
		return roll
	}
	roll.others = nil
	for _, a := range allocs {
		if a.DeploymentID == d.dep.ID && a.DeploymentStatus.IsCanary() {
			roll.canaries = append(roll.canaries, a)
		} else {
			roll.others = append(roll.others, a)
		}
	}
	return roll
}

// rollGroup applies the group's update strategy: it creates the deployment
// when the version has something to roll out, places canaries while they
// await promotion, and lets through at most max_parallel destructive updates
// minus the deployment's allocations not yet healthy (none while paused or
// failed). In-place updates and new placements are not limited; they join
// the deployment.
func (r *reconciler) rollGroup(res *reconcileResult, du *structs.DesiredUpdates, tg *structs.TaskGroup, roll *groupRoll, live []classified) {
	d := r.deploy
	if !roll.rolling || d == nil {
		placeDestructive(res, du, roll.destructive)
		return
	}
	var ds *structs.DeploymentState
	if d.dep != nil {
		ds = d.dep.TaskGroups[tg.Name]
	}
	if ds == nil && tg.Count > 0 {
		hadRunning := false
		for _, c := range live {
			if !c.alloc.TerminalStatus() && r.current(c.alloc) {
				hadRunning = true
				break
			}
		}
		if !hadRunning || len(roll.destructive)+len(roll.inplace) > 0 {
			if d.dep == nil {
				d.dep = structs.NewDeployment(d.newID(), r.job, d.priority, d.now)
				d.created = true
			}
			u := tg.Update
			ds = &structs.DeploymentState{AutoRevert: u.AutoRevert, AutoPromote: u.AutoPromote,
				ProgressDeadline: u.ProgressDeadline, DesiredTotal: tg.Count}
			if len(roll.destructive) > 0 && u.Canary > 0 {
				ds.DesiredCanaries = u.Canary
			}
			d.dep.TaskGroups[tg.Name] = ds
			d.changed = true
		}
	}
	if ds == nil {
		placeDestructive(res, du, roll.destructive)
		return
	}
	if res.deploymentIDs == nil {
		res.deploymentIDs = map[string]string{}
	}
	res.deploymentIDs[tg.Name] = d.dep.ID
	for _, a := range roll.inplace {
		if a.DeploymentID != d.dep.ID {
			a.DeploymentID = d.dep.ID
			a.DeploymentStatus = nil
		}
	}
	held := !d.dep.Active() || d.dep.Status == structs.DeploymentStatusPaused
	if ds.DesiredCanaries > 0 && !ds.Promoted && d.dep.Status == structs.DeploymentStatusFailed {
		// As Nomad does, the unpromoted canaries of a failed deployment
		// are stopped (a drain would otherwise wait on them forever).
		for _, a := range roll.canaries {
			if !a.TerminalStatus() {
				res.stop(a, allocNotNeeded, "")
				du.Stop++
			}
		}
		du.Ignore += uint64(len(roll.destructive))
		return
	}
	if ds.DesiredCanaries > 0 && !ds.Promoted {
		if !held {
			r.placeCanaries(res, du, tg, ds.DesiredCanaries-len(roll.canaries), roll)
		}
		du.Ignore += uint64(len(roll.destructive))
		return
	}
	limit := 0
	if !held {
		limit = r.rollLimit(tg, live)
	}
	n := min(limit, len(roll.destructive))
	placeDestructive(res, du, roll.destructive[:n])
	du.Ignore += uint64(len(roll.destructive) - n)
}

// placeDestructive places the destructive updates ps now.
func placeDestructive(res *reconcileResult, du *structs.DesiredUpdates, ps []placement) {
	res.place = append(res.place, ps...)
	du.DestructiveUpdate += uint64(len(ps))
}

// rollLimit is max_parallel minus the deployment's live allocations not yet
// healthy; 0 once one of them is unhealthy.
func (r *reconciler) rollLimit(tg *structs.TaskGroup, live []classified) int {
	limit := tg.Update.MaxParallel
	for _, c := range live {
		a := c.alloc
		if a.DeploymentID != r.deploy.dep.ID || a.TerminalStatus() {
			continue
		}
		if a.DeploymentStatus.IsUnhealthy() {
			return 0
		}
		if !a.DeploymentStatus.IsHealthy() {
			limit--
		}
	}
	return max(limit, 0)
}

// placeCanaries places n canaries of the new version beside the old
// allocations. They take the names of the allocations being replaced (so a
// promoted canary replaces the old allocation of its name), then names past
// the group's count (stopped as surplus after promotion).
func (r *reconciler) placeCanaries(res *reconcileResult, du *structs.DesiredUpdates, tg *structs.TaskGroup, n int, roll *groupRoll) {
	if n <= 0 {
		return
	}
	taken := map[int]bool{}
	for _, a := range roll.canaries {
		taken[a.Index()] = true
	}
	var indexes []int
	for _, p := range roll.destructive {
		if !taken[p.index] {
			indexes = append(indexes, p.index)
			taken[p.index] = true
		}
	}
	slices.Sort(indexes)
	for i := tg.Count; len(indexes) < n; i++ {
		if !taken[i] {
			indexes = append(indexes, i)
			taken[i] = true
		}
	}
	for _, i := range indexes[:n] {
		res.place = append(res.place, placement{tg: tg, name: allocName(r.job.ID, tg.Name, i), index: i, canary: true})
		du.Canary++
	}
}
