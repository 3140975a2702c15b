package allocrunner

import (
	"context"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// watchHealth decides, once, whether an allocation placed by a deployment
// is healthy (judgeHealth), records the verdict in the allocation's
// DeploymentStatus, persists and reports it. It re-judges after every task
// change (healthCh) and when a deadline of the verdict elapses, and starts
// over when the allocation moves to another deployment (an in-place
// update). It returns when ctx ends or the allocation is terminal; Run owns
// it.
func (r *Runner) watchHealth(ctx context.Context) {
	var tracked string
	var since time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		a := r.Alloc()
		var next time.Time
		if u := healthStrategy(a); u != nil && a.DesiredStatus == structs.AllocDesiredStatusRun {
			now := r.cfg.Now()
			if a.DeploymentID != tracked {
				tracked, since = a.DeploymentID, now
			}
			v := judgeHealth(r.group, a.TaskStates, a.ClientStatus, u, since, now)
			v = r.withChecks(v, u, since, now)
			if v.Decided {
				r.setHealth(a.DeploymentID, v)
			}
			next = v.Next
		}
		if a.ClientTerminalStatus() {
			return
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(next.Sub(r.cfg.Now()), time.Millisecond))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-r.healthCh:
		case <-fire:
		}
	}
}

// healthChanged wakes watchHealth. It never blocks.
func (r *Runner) healthChanged() {
	select {
	case r.healthCh <- struct{}{}:
	default:
	}
}

// setHealth adds the "Alloc Unhealthy" events that say why, then records
// the verdict on the allocation of deployment depID (unless it moved on or
// was decided meanwhile), persists and reports it.
func (r *Runner) setHealth(depID string, v healthVerdict) {
	now := r.cfg.Now()
	stale := func() bool { return r.alloc.DeploymentID != depID || r.alloc.DeploymentStatus.HasHealth() }
	r.mu.Lock()
	gone := stale()
	r.mu.Unlock()
	if gone {
		return
	}
	// The events go first, so that the report carrying the verdict carries
	// them too: whoever reads why the deployment failed finds them.
	for _, name := range r.names {
		if msg, ok := v.Events[name]; ok {
			r.tasks[name].event(structs.NewTaskEvent(TaskAllocUnhealthy, now, msg))
		}
	}
	r.mu.Lock()
	if stale() {
		r.mu.Unlock()
		return
	}
	a := r.alloc.Copy()
	if a.DeploymentStatus == nil {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{}
	}
	healthy := v.Healthy
	a.DeploymentStatus.Healthy = &healthy
	a.DeploymentStatus.Timestamp = now
	a.ModifyTime = now.UnixNano()
	r.alloc = a
	r.mu.Unlock()

	r.cfg.Logger.Info("allocation health decided", "alloc_id", a.ID, "deployment_id", depID, "healthy", healthy)
	r.persist(true)
}

// keepHealth carries the client's health verdict from old to n, a newer
// server copy of the same allocation that does not have it yet (the
// update that reports it may still be on its way).
func keepHealth(old, n *structs.Allocation) {
	if n.DeploymentID != old.DeploymentID || !old.DeploymentStatus.HasHealth() || n.DeploymentStatus.HasHealth() {
		return
	}
	ds := n.DeploymentStatus.Copy()
	if ds == nil {
		ds = &structs.AllocDeploymentStatus{}
	}
	h := *old.DeploymentStatus.Healthy
	ds.Healthy, ds.Timestamp = &h, old.DeploymentStatus.Timestamp
	n.DeploymentStatus = ds
}
