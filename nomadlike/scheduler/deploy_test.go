package scheduler_test

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// rollingJob is schedtest.Job with count allocations and an update block.
func rollingJob(count, maxParallel, canary int) *structs.Job {
	job := schedtest.Job()
	tg := job.TaskGroups[0]
	tg.Count = count
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel, u.Canary = maxParallel, canary
	tg.Update = u
	return job
}

// destructiveVersion returns job with a task change that needs new allocations.
func destructiveVersion(job *structs.Job, arg string) *structs.Job {
	n := job.Copy()
	n.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []string{arg}}
	return n
}

// setHealthy records the client's healthy verdict on allocations.
func setHealthy(h *schedtest.Harness, allocs ...*structs.Allocation) {
	yes := true
	for _, a := range allocs {
		n := h.State.AllocByID(a.ID).Copy()
		n.ClientStatus = structs.AllocClientStatusRunning
		canary := n.DeploymentStatus.IsCanary()
		n.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &yes, Canary: canary}
		h.State.UpsertAllocs(n)
	}
}

// latestDeployment returns the job's newest deployment or fails.
func latestDeployment(t *testing.T, h *schedtest.Harness, job *structs.Job) *structs.Deployment {
	t.Helper()
	d, _ := h.State.LatestDeploymentByJobID(nil, job.Namespace, job.ID)
	if d == nil {
		t.Fatal("no deployment")
	}
	return d
}

// setDeploymentStatus changes a stored deployment's status.
func setDeploymentStatus(h *schedtest.Harness, d *structs.Deployment, status string) {
	n := h.State.DeploymentByID(d.ID).Copy()
	n.Status = status
	h.State.UpsertDeployment(n)
}

// newVersionAllocs returns the live allocations of job's current version.
func newVersionAllocs(h *schedtest.Harness, job *structs.Job) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range live(h, job.ID) {
		if a.Job.Version == job.Version {
			out = append(out, a)
		}
	}
	return out
}

func TestRollingUpdateMaxParallel(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(4, nil)
	v0 := rollingJob(4, 1, 0)
	register(t, h, v0)
	// The first version places everything at once, under a deployment.
	if got := len(planned(h.LastPlan())); got != 4 {
		t.Fatalf("first version placed %d, want 4 (new placements are not limited)", got)
	}
	d0 := latestDeployment(t, h, v0)
	if d0.JobVersion != 0 || d0.TaskGroups["web"].DesiredTotal != 4 || d0.Status != structs.DeploymentStatusRunning {
		t.Fatalf("first deployment %+v", d0)
	}
	for _, a := range live(h, v0.ID) {
		if a.DeploymentID != d0.ID {
			t.Fatalf("alloc %s has deployment %q, want %s", a.Name, a.DeploymentID, d0.ID)
		}
	}
	// The evaluation names its deployment: `nomad job run` follows it.
	if e := h.LastEval(); e.DeploymentID != d0.ID {
		t.Fatalf("evaluation carries deployment %q, want %s", e.DeploymentID, d0.ID)
	}
	setHealthy(h, live(h, v0.ID)...)

	v1 := destructiveVersion(v0, "1")
	h.State.UpsertJob(v1)
	process(t, h, v1, structs.EvalTriggerJobRegister)
	plan := h.LastPlan()
	if plan.Deployment == nil || plan.Deployment.JobVersion != 1 {
		t.Fatalf("plan deployment %+v, want one for version 1", plan.Deployment)
	}
	if len(plan.DeploymentUpdates) != 1 || plan.DeploymentUpdates[0].DeploymentID != d0.ID ||
		plan.DeploymentUpdates[0].StatusDescription != structs.DeploymentStatusDescriptionNewerJob {
		t.Fatalf("older running deployment not cancelled: %+v", plan.DeploymentUpdates)
	}
	if p, s := len(planned(plan)), len(stopped(plan)); p != 1 || s != 1 {
		t.Fatalf("placed %d stopped %d, want one destructive update", p, s)
	}
	du := plan.Annotations.DesiredTGUpdates["web"]
	if du.DestructiveUpdate != 1 || du.Ignore != 3 {
		t.Fatalf("annotations %+v, want 1 destructive update and 3 ignored", du)
	}
	d1 := latestDeployment(t, h, v1)

	// Until the new allocation is healthy nothing else is replaced.
	for range 2 {
		process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
		if got := len(newVersionAllocs(h, v1)); got != 1 {
			t.Fatalf("%d new-version allocs before the first became healthy, want 1", got)
		}
	}
	for want := 2; want <= 4; want++ {
		setHealthy(h, newVersionAllocs(h, v1)...)
		process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
		got := newVersionAllocs(h, v1)
		if len(got) != want {
			t.Fatalf("after %d healthy: %d new-version allocs, want %d", want-1, len(got), want)
		}
		for _, a := range got {
			if a.DeploymentID != d1.ID {
				t.Fatalf("new alloc %s in deployment %q, want %s", a.Name, a.DeploymentID, d1.ID)
			}
		}
	}
	if got := len(live(h, v1.ID)); got != 4 {
		t.Fatalf("%d live allocs at the end, want 4", got)
	}
}

func TestCanaryThenPromotion(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(4, nil)
	v0 := rollingJob(3, 1, 0)
	register(t, h, v0)
	setHealthy(h, live(h, v0.ID)...)
	setDeploymentStatus(h, latestDeployment(t, h, v0), structs.DeploymentStatusSuccessful)

	v1 := rollingJob(3, 1, 1)
	v1.ID = v0.ID
	v1 = destructiveVersion(v1, "canary")
	h.State.UpsertJob(v1)
	process(t, h, v1, structs.EvalTriggerJobRegister)
	plan := h.LastPlan()
	placed := planned(plan)
	if len(placed) != 1 || len(stopped(plan)) != 0 {
		t.Fatalf("placed %d stopped %d, want one canary and no stop", len(placed), len(stopped(plan)))
	}
	if !placed[0].DeploymentStatus.IsCanary() {
		t.Fatal("the placement is not marked canary")
	}
	if du := plan.Annotations.DesiredTGUpdates["web"]; du.Canary != 1 || du.DestructiveUpdate != 0 {
		t.Fatalf("annotations %+v, want 1 canary", du)
	}
	d := latestDeployment(t, h, v1)
	if d.TaskGroups["web"].DesiredCanaries != 1 || d.StatusDescription != structs.DeploymentStatusDescriptionRunningNeedsPromotion {
		t.Fatalf("deployment %+v (%s)", d.TaskGroups["web"], d.StatusDescription)
	}
	if len(plan.DeploymentUpdates) != 0 {
		t.Fatalf("a successful deployment was updated: %+v", plan.DeploymentUpdates)
	}
	// Waiting for promotion: no more canaries, no replacements, even healthy.
	setHealthy(h, placed[0])
	process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
	if got := len(live(h, v1.ID)); got != 4 {
		t.Fatalf("%d live allocs while awaiting promotion, want 3 old + 1 canary", got)
	}

	// Promote as the state store does: group promoted, canary flag cleared.
	n := h.State.DeploymentByID(d.ID).Copy()
	n.TaskGroups["web"].Promoted = true
	h.State.UpsertDeployment(n)
	c := h.State.AllocByID(placed[0].ID).Copy()
	c.DeploymentStatus.Canary = false
	h.State.UpsertAllocs(c)

	process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
	plan = h.LastPlan()
	if p, s := len(planned(plan)), len(stopped(plan)); p != 1 || s != 2 {
		t.Fatalf("after promotion placed %d stopped %d, want 1 update and 2 stops (the canary's old alloc + the update)", p, s)
	}
	if got := len(live(h, v1.ID)); got != 3 {
		t.Fatalf("%d live allocs after promotion, want 3", got)
	}
	for range 2 {
		setHealthy(h, newVersionAllocs(h, v1)...)
		process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
	}
	if got := len(newVersionAllocs(h, v1)); got != 3 {
		t.Fatalf("%d new-version allocs at the end, want 3", got)
	}
	if got := len(live(h, v1.ID)); got != 3 {
		t.Fatalf("%d live allocs at the end, want 3", got)
	}
}

func TestPausedAndFailedDeploymentsHoldDestructiveUpdates(t *testing.T) {
	for _, status := range []string{structs.DeploymentStatusPaused, structs.DeploymentStatusFailed} {
		t.Run(status, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(3, nil)
			v0 := rollingJob(3, 1, 0)
			register(t, h, v0)
			setHealthy(h, live(h, v0.ID)...)
			v1 := destructiveVersion(v0, "1")
			h.State.UpsertJob(v1)
			process(t, h, v1, structs.EvalTriggerJobRegister)
			d := latestDeployment(t, h, v1)
			setHealthy(h, newVersionAllocs(h, v1)...)
			setDeploymentStatus(h, d, status)
			plansBefore := len(h.Plans)
			process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
			if got := len(newVersionAllocs(h, v1)); got != 1 {
				t.Fatalf("%s deployment: %d new-version allocs, want still 1", status, got)
			}
			if len(h.Plans) > plansBefore {
				if du := h.LastPlan().Annotations.DesiredTGUpdates["web"]; du.DestructiveUpdate != 0 {
					t.Fatalf("%s deployment placed destructive updates: %+v", status, du)
				}
				if h.LastPlan().Deployment != nil {
					t.Fatalf("%s deployment replaced by a new one for the same version", status)
				}
			}
		})
	}
}

func TestNoDeploymentWithoutRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		update *structs.UpdateStrategy
	}{
		{"no update block", nil},
		{"max_parallel 0", &structs.UpdateStrategy{MaxParallel: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(4, nil)
			v0 := schedtest.Job()
			v0.TaskGroups[0].Count = 4
			v0.TaskGroups[0].Update = tc.update
			register(t, h, v0)
			if h.LastPlan().Deployment != nil {
				t.Fatal("a deployment was created")
			}
			v1 := destructiveVersion(v0, "1")
			h.State.UpsertJob(v1)
			process(t, h, v1, structs.EvalTriggerJobRegister)
			if h.LastPlan().Deployment != nil {
				t.Fatal("a deployment was created for the update")
			}
			if got := len(newVersionAllocs(h, v1)); got != 4 {
				t.Fatalf("%d replaced, want all 4 at once", got)
			}
			for _, a := range live(h, v1.ID) {
				if a.DeploymentID != "" {
					t.Fatalf("alloc %s joined deployment %q", a.Name, a.DeploymentID)
				}
			}
		})
	}
}

func TestStoppedJobCancelsDeployment(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(2, nil)
	v0 := rollingJob(2, 1, 0)
	register(t, h, v0)
	d := latestDeployment(t, h, v0)
	stopped := v0.Copy()
	stopped.Stop = true
	h.State.UpsertJob(stopped)
	process(t, h, stopped, structs.EvalTriggerJobDeregister)
	u := h.LastPlan().DeploymentUpdates
	if len(u) != 1 || u[0].DeploymentID != d.ID || u[0].Status != structs.DeploymentStatusCancelled ||
		u[0].StatusDescription != structs.DeploymentStatusDescriptionStoppedJob {
		t.Fatalf("deployment updates %+v, want the deployment cancelled as the job stopped", u)
	}
}

// BenchmarkRollingUpdateEval times one evaluation of a rolling update of
// 1,000 healthy allocations (max_parallel 10) on 100 nodes: the reconciler
// finds 1,000 destructive updates and lets 10 through. The harness accepts
// each plan without applying it, so every iteration plans the same step.
func BenchmarkRollingUpdateEval(b *testing.B) {
	h := schedtest.NewHarness()
	h.Nodes(100, nil)
	v0 := rollingJob(1000, 10, 0)
	v0.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 10, MemoryMB: 16}
	h.State.UpsertJob(v0)
	if err := h.Process(schedtest.Eval(v0)); err != nil {
		b.Fatal(err)
	}
	setHealthy(h, live(h, v0.ID)...)
	v1 := destructiveVersion(v0, "1")
	h.State.UpsertJob(v1)
	h.NoApply = true
	eval := schedtest.Eval(v1)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Process(eval); err != nil {
			b.Fatal(err)
		}
	}
	if du := h.LastPlan().Annotations.DesiredTGUpdates["web"]; du.DestructiveUpdate != 10 {
		b.Fatalf("annotations %+v, want 10 destructive updates", du)
	}
}

// TestFailedDeploymentStopsCanaries: `deployment fail` stops the unpromoted
// canaries, as Nomad does; the old version keeps running.
func TestFailedDeploymentStopsCanaries(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(4, nil)
	v0 := rollingJob(2, 1, 0)
	register(t, h, v0)
	setHealthy(h, live(h, v0.ID)...)
	setDeploymentStatus(h, latestDeployment(t, h, v0), structs.DeploymentStatusSuccessful)

	v1 := rollingJob(2, 1, 1)
	v1.ID = v0.ID
	v1 = destructiveVersion(v1, "canary")
	h.State.UpsertJob(v1)
	process(t, h, v1, structs.EvalTriggerJobRegister)
	canaries := planned(h.LastPlan())
	if len(canaries) != 1 || !canaries[0].DeploymentStatus.IsCanary() {
		t.Fatalf("placed %d, want one canary", len(canaries))
	}
	setDeploymentStatus(h, latestDeployment(t, h, v1), structs.DeploymentStatusFailed)
	process(t, h, v1, structs.EvalTriggerDeploymentWatcher)
	stops := stopped(h.LastPlan())
	if len(stops) != 1 || stops[0].ID != canaries[0].ID {
		t.Fatalf("stopped %d allocations, want the canary %s", len(stops), canaries[0].ID)
	}
	if got := len(live(h, v0.ID)); got != 2 {
		t.Fatalf("%d live allocs after the failed deployment, want the 2 old ones", got)
	}
}
