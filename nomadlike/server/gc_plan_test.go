package server

import (
	"slices"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// gcFixture fills a state store with explicit indexes and modify times.
type gcFixture struct {
	t   testing.TB
	st  *state.Store
	idx uint64
	now time.Time
}

func newGCFixture(t testing.TB) *gcFixture {
	st, err := state.NewStore()
	if err != nil {
		t.Fatal(err)
	}
	return &gcFixture{t: t, st: st, idx: 100, now: time.Unix(1_800_000_000, 0)}
}

func (f *gcFixture) next() uint64 { f.idx++; return f.idx }

// ago is the unix-nanosecond time d before the fixture's now.
func (f *gcFixture) ago(d time.Duration) int64 { return f.now.Add(-d).UnixNano() }

func (f *gcFixture) job(id, typ string, submitted time.Duration) *structs.Job {
	j := mockJob(id, 1, 100, 64)
	j.Type = typ
	j.Canonicalize()
	j.SubmitTime = f.ago(submitted)
	if err := f.st.UpsertJob(f.next(), j); err != nil {
		f.t.Fatal(err)
	}
	cur, err := f.st.JobByID(nil, j.Namespace, j.ID)
	if err != nil || cur == nil {
		f.t.Fatalf("job %q not stored: %v", id, err)
	}
	return cur
}

func (f *gcFixture) eval(id string, job *structs.Job, status string, modified time.Duration) *structs.Evaluation {
	e := &structs.Evaluation{ID: id, Namespace: job.Namespace, JobID: job.ID, Type: job.Type, Priority: 50,
		TriggeredBy: structs.EvalTriggerJobRegister, Status: status, ModifyTime: f.ago(modified)}
	if err := f.st.UpsertEvals(f.next(), []*structs.Evaluation{e}); err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *gcFixture) alloc(id string, job *structs.Job, evalID, nodeID, desired, client string, modified time.Duration) *structs.Allocation {
	a := &structs.Allocation{ID: id, Namespace: job.Namespace, EvalID: evalID, Name: job.ID + ".web[0]",
		NodeID: nodeID, JobID: job.ID, Job: job, TaskGroup: "web", DesiredStatus: desired, ClientStatus: client,
		ModifyTime: f.ago(modified)}
	if err := f.st.UpsertAllocs(f.next(), []*structs.Allocation{a}); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *gcFixture) node(id, status string, updated time.Duration) {
	n := mockNode(id)
	n.ID = id
	if err := f.st.UpsertNode(f.next(), n); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.UpdateNodeStatus(f.next(), id, status, f.now.Add(-updated).Unix(), nil); err != nil {
		f.t.Fatal(err)
	}
}

func (f *gcFixture) plan(force bool) *gcPlan {
	f.t.Helper()
	p, err := planGC(f.snapshot(), GCConfig{}.withDefaults().cutoffs(f.now, force), f.now)
	if err != nil {
		f.t.Fatalf("planGC: %v", err)
	}
	return p
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("%s collected = %v, want %v", what, sorted(got), sorted(want))
	}
}

func TestGCPlanEvalsByAge(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	// A service job still running: its old terminal eval and stopped alloc
	// go, the young ones and the running alloc stay.
	job := f.job("web", structs.JobTypeService, 48*time.Hour)
	f.eval("old-eval", job, structs.EvalStatusComplete, 2*time.Hour)
	f.alloc("old-alloc", job, "old-eval", "n1", structs.AllocDesiredStatusStop, structs.AllocClientStatusComplete, 2*time.Hour)
	f.eval("young-eval", job, structs.EvalStatusComplete, 10*time.Minute)
	f.alloc("young-alloc", job, "young-eval", "n1", structs.AllocDesiredStatusStop, structs.AllocClientStatusComplete, 10*time.Minute)
	f.eval("live-eval", job, structs.EvalStatusComplete, 3*time.Hour)
	f.alloc("live-alloc", job, "live-eval", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 3*time.Hour)
	// Stopped by the server but the client has not finished it yet.
	f.eval("stopping-eval", job, structs.EvalStatusComplete, 3*time.Hour)
	f.alloc("stopping-alloc", job, "stopping-eval", "n1", structs.AllocDesiredStatusStop, structs.AllocClientStatusRunning, 3*time.Hour)

	p := f.plan(false)
	wantIDs(t, "evals", p.evals, "old-eval")
	wantIDs(t, "allocs", p.allocs, "old-alloc")
	if len(p.jobs) != 0 {
		t.Errorf("jobs collected = %v, want none (the job has a running allocation)", p.jobs)
	}

	forced := f.plan(true)
	wantIDs(t, "forced evals", forced.evals, "old-eval", "young-eval")
	wantIDs(t, "forced allocs", forced.allocs, "old-alloc", "young-alloc")
	if len(forced.jobs) != 0 {
		t.Errorf("forced: jobs collected = %v, want none", forced.jobs)
	}
}

func TestGCPlanBatchJobLifecycle(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	batch := f.job("report", structs.JobTypeBatch, 30*time.Hour)
	f.eval("b-eval", batch, structs.EvalStatusComplete, 30*time.Hour)
	f.alloc("b-alloc", batch, "b-eval", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusComplete, 25*time.Hour)

	// Dead but not stopped: the batch eval threshold does not apply (the
	// scheduler would run the allocation again); the job threshold does.
	p := f.plan(false)
	if len(p.jobs) != 1 || p.jobs[0].id != "report" {
		t.Fatalf("jobs collected = %v, want [report]", p.jobs)
	}
	wantIDs(t, "evals", p.evals, "b-eval")
	wantIDs(t, "allocs", p.allocs, "b-alloc")

	// A young dead batch job stays, and so do its eval and alloc.
	young := f.job("young", structs.JobTypeBatch, 5*time.Hour)
	f.eval("y-eval", young, structs.EvalStatusComplete, 3*time.Hour)
	f.alloc("y-alloc", young, "y-eval", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusComplete, 3*time.Hour)
	p = f.plan(false)
	for _, j := range p.jobs {
		if j.id == "young" {
			t.Errorf("young batch job collected")
		}
	}
	if slices.Contains(p.evals, "y-eval") || slices.Contains(p.allocs, "y-alloc") {
		t.Errorf("young batch job's eval or alloc collected: %v %v", p.evals, p.allocs)
	}
}

func TestGCPlanKeepsFailedAllocAwaitingReschedule(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	job := f.job("api", structs.JobTypeService, 48*time.Hour)
	f.eval("e1", job, structs.EvalStatusComplete, 3*time.Hour)
	f.alloc("failed", job, "e1", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusFailed, 3*time.Hour)
	f.eval("e2", job, structs.EvalStatusComplete, 3*time.Hour)
	f.alloc("live", job, "e2", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 3*time.Hour)
	// Service jobs reschedule without limit: the failed allocation is the
	// reschedule tracker's last link and stays until replaced.
	p := f.plan(true)
	if slices.Contains(p.allocs, "failed") || slices.Contains(p.evals, "e1") {
		t.Errorf("failed allocation awaiting reschedule collected: evals %v allocs %v", p.evals, p.allocs)
	}
}

func TestGCPlanPurgeTakesVersionsAndDeployments(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	job := f.job("old", structs.JobTypeService, 10*time.Hour)
	d := structs.NewDeployment("dep-1", job, 50, f.now.Add(-9*time.Hour))
	d.Status = structs.DeploymentStatusSuccessful
	if err := f.st.UpsertDeployment(f.next(), d); err != nil {
		t.Fatal(err)
	}
	stopped := job.Copy()
	stopped.Stop = true
	stopped.SubmitTime = f.ago(9 * time.Hour)
	if err := f.st.UpsertJob(f.next(), stopped); err != nil {
		t.Fatal(err)
	}
	stopped, _ = f.st.JobByID(nil, job.Namespace, job.ID)
	f.eval("e1", stopped, structs.EvalStatusComplete, 9*time.Hour)
	f.alloc("a1", stopped, "e1", "n1", structs.AllocDesiredStatusStop, structs.AllocClientStatusComplete, 9*time.Hour)
	p := f.plan(false)
	if len(p.jobs) != 1 || p.jobs[0].id != "old" {
		t.Fatalf("jobs collected = %v, want [old]", p.jobs)
	}
	wantIDs(t, "deployments", p.deployments, "dep-1")
	wantIDs(t, "evals", p.evals, "e1")
	wantIDs(t, "allocs", p.allocs, "a1")
}

func TestGCPlanLatestDeploymentOfLiveJobStays(t *testing.T) {
	f := newGCFixture(t)
	job := f.job("svc", structs.JobTypeService, 10*time.Hour)
	for i, id := range []string{"dep-old", "dep-new"} {
		d := structs.NewDeployment(id, job, 50, f.now.Add(-time.Duration(9-i)*time.Hour))
		d.Status = structs.DeploymentStatusSuccessful
		if err := f.st.UpsertDeployment(f.next(), d); err != nil {
			t.Fatal(err)
		}
	}
	f.eval("e", job, structs.EvalStatusPending, time.Minute)
	p := f.plan(false)
	wantIDs(t, "deployments", p.deployments, "dep-old")
}

func TestGCPlanDownNodes(t *testing.T) {
	f := newGCFixture(t)
	f.node("down-empty", structs.NodeStatusDown, 48*time.Hour)
	f.node("down-young", structs.NodeStatusDown, time.Hour)
	f.node("down-busy", structs.NodeStatusDown, 48*time.Hour)
	f.node("ready", structs.NodeStatusReady, 48*time.Hour)
	job := f.job("svc", structs.JobTypeService, 48*time.Hour)
	f.eval("e", job, structs.EvalStatusComplete, 48*time.Hour)
	f.alloc("a", job, "e", "down-busy", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 48*time.Hour)
	p := f.plan(false)
	wantIDs(t, "nodes", p.nodes, "down-empty")
	wantIDs(t, "forced nodes", f.plan(true).nodes, "down-empty", "down-young")
}

func TestGCPlanPeriodicParentWaitsForChildren(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	parent := mockJob("nightly", 1, 100, 64)
	parent.Type = structs.JobTypeBatch
	parent.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "@daily", SpecType: "cron"}
	parent.Stop = true
	parent.Canonicalize()
	parent.SubmitTime = f.ago(48 * time.Hour)
	if err := f.st.UpsertJob(f.next(), parent); err != nil {
		t.Fatal(err)
	}
	child := mockJob("nightly/periodic-1", 1, 100, 64)
	child.Type = structs.JobTypeBatch
	child.ParentID = "nightly"
	child.Canonicalize()
	child.SubmitTime = f.ago(48 * time.Hour)
	if err := f.st.UpsertJob(f.next(), child); err != nil {
		t.Fatal(err)
	}
	child, _ = f.st.JobByID(nil, child.Namespace, child.ID)
	f.eval("c-eval", child, structs.EvalStatusComplete, 48*time.Hour)
	f.alloc("c-alloc", child, "c-eval", "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 48*time.Hour)

	collected := func(p *gcPlan, id string) bool {
		return slices.ContainsFunc(p.jobs, func(j jobKey) bool { return j.id == id })
	}
	if p := f.plan(true); collected(p, "nightly") || collected(p, "nightly/periodic-1") {
		t.Fatalf("stopped periodic parent with a running child: jobs collected = %v, want none", p.jobs)
	}
	done := &structs.Allocation{ID: "c-alloc", ClientStatus: structs.AllocClientStatusComplete, ModifyTime: f.ago(47 * time.Hour)}
	if err := f.st.UpdateAllocsFromClient(f.next(), []*structs.Allocation{done}); err != nil {
		t.Fatal(err)
	}
	if p := f.plan(true); !collected(p, "nightly") || !collected(p, "nightly/periodic-1") {
		t.Errorf("stopped periodic parent with only dead children: jobs collected = %v, want both", p.jobs)
	}
}

// snapshot returns a snapshot of the fixture's store.
func (f *gcFixture) snapshot() *state.Snapshot {
	snap, err := f.st.Snapshot()
	if err != nil {
		f.t.Fatalf("Snapshot: %v", err)
	}
	return snap
}
