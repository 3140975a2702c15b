package state

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// deployFixture stores a job with a rolling group and returns it with a
// deployment of its current version (not stored).
func deployFixture(t *testing.T, s *Store) (*structs.Job, *structs.Deployment) {
	t.Helper()
	job := testJob("web")
	job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 1, ProgressDeadline: time.Minute}
	must(t, s.UpsertJob(10, job))
	d := structs.NewDeployment("dep-1", job, 50, time.Unix(100, 0))
	d.TaskGroups["web"] = &structs.DeploymentState{DesiredTotal: 2, ProgressDeadline: time.Minute, AutoRevert: true}
	return job, d
}

func boolp(b bool) *bool { return &b }

func TestPlanResultsStoreDeploymentAndCountPlacements(t *testing.T) {
	s := newTestStore(t)
	job, d := deployFixture(t, s)
	old := structs.NewDeployment("dep-0", job, 50, time.Unix(50, 0))
	must(t, s.UpsertDeployment(11, old))

	a1 := testAlloc("a1", job, "n1")
	a1.DeploymentID = d.ID
	a2 := testAlloc("a2", job, "n1")
	a2.DeploymentID = d.ID
	a2.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	req := &structs.ApplyPlanResultsRequest{
		Job: job, EvalID: "e1", Timestamp: time.Unix(200, 0).UnixNano(),
		AllocsPlaced: []*structs.Allocation{a1, a2},
		Deployment:   d,
		DeploymentUpdates: []*structs.DeploymentStatusUpdate{{DeploymentID: old.ID, Status: structs.DeploymentStatusCancelled,
			StatusDescription: structs.DeploymentStatusDescriptionNewerJob}},
	}
	must(t, errOf(s.ApplyPlanResults(20, req)))

	got, err := s.DeploymentByID(nil, d.ID)
	must(t, err)
	g := got.TaskGroups["web"]
	if g.PlacedAllocs != 2 || len(g.PlacedCanaries) != 1 || g.PlacedCanaries[0] != "a2" {
		t.Fatalf("placed=%d canaries=%v, want 2 and [a2]", g.PlacedAllocs, g.PlacedCanaries)
	}
	if want := time.Unix(200, 0).Add(time.Minute); !g.RequireProgressBy.Equal(want) {
		t.Fatalf("RequireProgressBy = %v, want %v", g.RequireProgressBy, want)
	}
	if got.CreateIndex != 20 || got.ModifyIndex != 20 {
		t.Fatalf("indexes %d/%d, want 20/20", got.CreateIndex, got.ModifyIndex)
	}
	o, _ := s.DeploymentByID(nil, old.ID)
	if o.Status != structs.DeploymentStatusCancelled || o.StatusDescription != structs.DeploymentStatusDescriptionNewerJob {
		t.Fatalf("old deployment %s (%s), want cancelled", o.Status, o.StatusDescription)
	}
	latest, _ := s.LatestDeploymentByJobID(nil, job.Namespace, job.ID)
	if latest == nil || latest.ID != d.ID {
		t.Fatalf("latest = %v, want %s", latest, d.ID)
	}
	byJob, _ := s.DeploymentsByJobID(nil, job.Namespace, job.ID)
	if len(byJob) != 2 || byJob[0].ID != d.ID || byJob[1].ID != old.ID {
		t.Fatalf("DeploymentsByJobID order wrong: %v", byJob)
	}
	all, _ := s.Deployments(nil)
	if len(all) != 2 || all[0].ID != old.ID {
		t.Fatalf("Deployments not ordered by create index: %v", all)
	}
	if idx, _ := s.Index(tableDeployment); idx != 20 {
		t.Fatalf("deployment table index %d, want 20", idx)
	}

	// Re-submitting the deployment (a later plan) keeps the counters.
	again := d.Copy()
	req2 := &structs.ApplyPlanResultsRequest{Job: job, EvalID: "e2", Timestamp: time.Unix(300, 0).UnixNano(), Deployment: again}
	must(t, errOf(s.ApplyPlanResults(21, req2)))
	got, _ = s.DeploymentByID(nil, d.ID)
	if got.TaskGroups["web"].PlacedAllocs != 2 {
		t.Fatalf("a later plan reset PlacedAllocs to %d", got.TaskGroups["web"].PlacedAllocs)
	}
	// A stop entry from a stale copy does not count again.
	stop := a1.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	must(t, s.UpsertAllocs(22, []*structs.Allocation{stop}))
	got, _ = s.DeploymentByID(nil, d.ID)
	if got.TaskGroups["web"].PlacedAllocs != 2 {
		t.Fatalf("stop counted as a placement: %d", got.TaskGroups["web"].PlacedAllocs)
	}
}

// TestDeploymentCountsManyAllocsInOneWrite: a plan placing many
// allocations of one deployment and a batch of client reports of their
// health count each one, though the write stores the deployment once; a
// deployment read before the write keeps its counts.
func TestDeploymentCountsManyAllocsInOneWrite(t *testing.T) {
	s := newTestStore(t)
	job, d := deployFixture(t, s)
	d.TaskGroups["web"].DesiredTotal = 10
	place := func(index uint64, from, n int, dep *structs.Deployment) {
		t.Helper()
		req := &structs.ApplyPlanResultsRequest{Job: job, EvalID: fmt.Sprint("e", index), Timestamp: time.Unix(int64(index)*10, 0).UnixNano(), Deployment: dep}
		for i := from; i < from+n; i++ {
			a := testAlloc(fmt.Sprint("a", i), job, "n1")
			a.DeploymentID = d.ID
			if i < 2 {
				a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
			}
			req.AllocsPlaced = append(req.AllocsPlaced, a)
		}
		must(t, errOf(s.ApplyPlanResults(index, req)))
	}
	counts := func(dep *structs.Deployment) [4]int {
		g := dep.TaskGroups["web"]
		return [4]int{g.PlacedAllocs, len(g.PlacedCanaries), g.HealthyAllocs, g.UnhealthyAllocs}
	}
	place(20, 0, 6, d)
	first, err := s.DeploymentByID(nil, d.ID)
	must(t, err)
	if got := counts(first); got != [4]int{6, 2, 0, 0} || first.ModifyIndex != 20 {
		t.Fatalf("after placing 6: placed, canaries, healthy, unhealthy = %v at %d; want [6 2 0 0] at 20", got, first.ModifyIndex)
	}
	place(21, 6, 4, nil)
	second, err := s.DeploymentByID(nil, d.ID)
	must(t, err)
	if got := counts(second); got != [4]int{10, 2, 0, 0} || second.ModifyIndex != 21 {
		t.Fatalf("after placing 4 more: %v at %d; want [10 2 0 0] at 21", got, second.ModifyIndex)
	}
	healthyAt := time.Unix(500, 0).UTC()
	var reports []*structs.Allocation
	for i := range 7 {
		reports = append(reports, &structs.Allocation{ID: fmt.Sprint("a", i), ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: boolp(i != 3), Timestamp: healthyAt}})
	}
	must(t, s.UpdateAllocsFromClient(22, reports))
	third, err := s.DeploymentByID(nil, d.ID)
	must(t, err)
	if got := counts(third); got != [4]int{10, 2, 6, 1} || third.ModifyIndex != 22 || !third.TaskGroups["web"].RequireProgressBy.Equal(healthyAt.Add(time.Minute)) {
		t.Fatalf("after 7 reports: %v at %d, deadline %v; want [10 2 6 1] at 22, %v", got, third.ModifyIndex, third.TaskGroups["web"].RequireProgressBy, healthyAt.Add(time.Minute))
	}
	if got := counts(first); got != [4]int{6, 2, 0, 0} || first.ModifyIndex != 20 {
		t.Errorf("the deployment read after the first plan changed: %v at %d", got, first.ModifyIndex)
	}
	if got := counts(second); got != [4]int{10, 2, 0, 0} || second.ModifyIndex != 21 {
		t.Errorf("the deployment read after the second plan changed: %v at %d", got, second.ModifyIndex)
	}
}

func TestClientHealthCountsOnceAndKeepsCanaryFlag(t *testing.T) {
	s := newTestStore(t)
	job, d := deployFixture(t, s)
	a1 := testAlloc("a1", job, "n1")
	a1.DeploymentID = d.ID
	a1.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	a2 := testAlloc("a2", job, "n1")
	a2.DeploymentID = d.ID
	must(t, errOf(s.ApplyPlanResults(20, &structs.ApplyPlanResultsRequest{AllocsPlaced: []*structs.Allocation{a1, a2}, Deployment: d, DeploymentUpdates: nil, Timestamp: time.Unix(200, 0).UnixNano()})))

	healthyAt := time.Unix(500, 0).UTC()
	report := func(index uint64, id string, healthy bool) {
		must(t, s.UpdateAllocsFromClient(index, []*structs.Allocation{{ID: id, ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: boolp(healthy), Timestamp: healthyAt}}}))
	}
	report(21, "a1", true)
	report(22, "a1", true) // repeated: not counted twice
	report(23, "a2", false)

	got, _ := s.DeploymentByID(nil, d.ID)
	g := got.TaskGroups["web"]
	if g.HealthyAllocs != 1 || g.UnhealthyAllocs != 1 {
		t.Fatalf("healthy=%d unhealthy=%d, want 1/1", g.HealthyAllocs, g.UnhealthyAllocs)
	}
	if want := healthyAt.Add(time.Minute); !g.RequireProgressBy.Equal(want) {
		t.Fatalf("RequireProgressBy = %v, want %v (health moves the deadline)", g.RequireProgressBy, want)
	}
	a, _ := s.AllocByID(nil, "a1")
	if !a.DeploymentStatus.IsCanary() || !a.DeploymentStatus.IsHealthy() || a.DeploymentStatus.ModifyIndex == 0 {
		t.Fatalf("a1 deployment status %+v, want healthy canary", a.DeploymentStatus)
	}
	// A scheduler copy without health does not erase the client's verdict.
	stale := a1.Copy()
	stale.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	must(t, s.UpsertAllocs(24, []*structs.Allocation{stale}))
	if a, _ := s.AllocByID(nil, "a1"); !a.DeploymentStatus.IsHealthy() {
		t.Fatal("a server-side upsert dropped the client's health")
	}
	byDep, _ := s.AllocsByDeployment(nil, d.ID)
	if len(byDep) != 2 {
		t.Fatalf("AllocsByDeployment = %d allocs, want 2", len(byDep))
	}
}

func TestDeploymentStatusPromotionAndAllocHealth(t *testing.T) {
	s := newTestStore(t)
	job, d := deployFixture(t, s)
	d.TaskGroups["web"].DesiredCanaries = 1
	c := testAlloc("c1", job, "n1")
	c.DeploymentID = d.ID
	c.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	must(t, errOf(s.ApplyPlanResults(20, &structs.ApplyPlanResultsRequest{AllocsPlaced: []*structs.Allocation{c}, Deployment: d, DeploymentUpdates: nil, Timestamp: time.Unix(200, 0).UnixNano()})))

	// Promotion needs healthy canaries.
	err := errOf(s.DeploymentPromote(21, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}))
	var ce *structs.CodedError
	if !errors.As(err, &ce) || ce.Code != 400 {
		t.Fatalf("promote with an unhealthy canary: %v, want a 400", err)
	}
	must(t, errOf(s.DeploymentAllocHealth(22, &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID,
		HealthyAllocationIDs: []string{"c1"}, UpdatedAt: time.Unix(300, 0).UnixNano()})))
	eval := testEval("ev-promote", job, structs.EvalStatusPending)
	must(t, errOf(s.DeploymentPromote(23, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true, Eval: eval,
		UpdatedAt: time.Unix(400, 0).UnixNano()})))
	got, _ := s.DeploymentByID(nil, d.ID)
	g := got.TaskGroups["web"]
	if !g.Promoted || g.HealthyAllocs != 1 {
		t.Fatalf("promoted=%t healthy=%d, want true/1", g.Promoted, g.HealthyAllocs)
	}
	if a, _ := s.AllocByID(nil, "c1"); a.DeploymentStatus.IsCanary() {
		t.Fatal("promotion kept the canary flag")
	} else if a.AllocModifyIndex != 23 {
		// The client re-registers the canary's services without its
		// canary_tags only when its allocation watch sees the change.
		t.Fatalf("promoted canary's AllocModifyIndex = %d, want 23 (the client would not see the promotion)", a.AllocModifyIndex)
	}
	if changed, _, _ := s.NodeAllocs(nil, "n1"); changed != 23 {
		t.Fatalf("node n1's allocation view changed at %d, want 23 (its client's delta watch would miss the promotion)", changed)
	}
	if e, _ := s.EvalByID(nil, eval.ID); e == nil || e.CreateIndex != 23 {
		t.Fatalf("promotion eval not stored with the entry: %+v", e)
	}
	// Unknown allocation: 400; unknown deployment: 404.
	err = errOf(s.DeploymentAllocHealth(24, &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: []string{"nope"}}))
	if !errors.As(err, &ce) || ce.Code != 400 {
		t.Fatalf("health of a foreign alloc: %v, want a 400", err)
	}
	err = errOf(s.DeploymentStatusUpdate(25, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: "nope"}}))
	if !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("unknown deployment: %v, want ErrNotFound", err)
	}

	// Failing with a rollback job registers it as a new version in the same entry.
	revert := job.Copy()
	revert.Meta = map[string]string{"v": "old"}
	ev := testEval("ev-fail", job, structs.EvalStatusPending)
	must(t, errOf(s.DeploymentStatusUpdate(26, &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusFailed,
			StatusDescription: structs.DeploymentStatusDescriptionRollback(structs.DeploymentStatusDescriptionFailedAllocations, 0)},
		Job: revert, Eval: ev, UpdatedAt: time.Unix(500, 0).UnixNano(),
	})))
	got, _ = s.DeploymentByID(nil, d.ID)
	if got.Status != structs.DeploymentStatusFailed || got.ModifyTime != time.Unix(500, 0).UnixNano() {
		t.Fatalf("status %s modify time %d", got.Status, got.ModifyTime)
	}
	cur, _ := s.JobByID(nil, job.Namespace, job.ID)
	if cur.Version != job.Version+1 || cur.Meta["v"] != "old" {
		t.Fatalf("rollback job not registered: version %d meta %v", cur.Version, cur.Meta)
	}
	if stored, _ := s.EvalByID(nil, ev.ID); stored == nil || stored.JobModifyIndex != 26 {
		t.Fatalf("eval JobModifyIndex = %v, want 26", stored)
	}
}

func TestDeploymentsSurviveRestore(t *testing.T) {
	s := newTestStore(t)
	_, d := deployFixture(t, s)
	must(t, s.UpsertDeployment(20, d))
	r, err := s.NewRestore()
	must(t, err)
	stored, _ := s.DeploymentByID(nil, d.ID)
	must(t, r.Row(tableDeployment, stored.Copy()))
	must(t, r.IndexRestore(tableDeployment, 20))
	must(t, r.Commit())
	got, _ := s.DeploymentByID(nil, d.ID)
	if got == nil || got.TaskGroups["web"].DesiredTotal != 2 {
		t.Fatalf("restored deployment = %+v", got)
	}
	if idx, _ := s.Index(tableDeployment); idx != 20 {
		t.Fatalf("restored index %d, want 20", idx)
	}
}

// TestAllocsByDeploymentFiltersTheJob: with no index by deployment, a
// deployment's allocations are its job's that name it: not the job's
// allocations of an older deployment or of none, nor another job's of a
// deployment with the same ID prefix; sorted by ID; none once the
// deployment is deleted. A watch on them fires when one of them changes.
func TestAllocsByDeploymentFiltersTheJob(t *testing.T) {
	s := newTestStore(t)
	job, d := deployFixture(t, s)
	old := structs.NewDeployment("dep-0", job, 50, time.Unix(50, 0))
	must(t, s.UpsertDeployment(11, old))
	other := testJob("api")
	must(t, s.UpsertJob(12, other))
	od := structs.NewDeployment("dep-10", other, 50, time.Unix(100, 0))
	must(t, s.UpsertDeployment(13, od))

	var allocs []*structs.Allocation
	add := func(id string, j *structs.Job, dep string) {
		a := testAlloc(id, j, "n1")
		a.DeploymentID = dep
		allocs = append(allocs, a)
	}
	add("c", job, d.ID)
	add("a", job, d.ID)
	add("b", job, old.ID)
	add("d", job, "")
	add("e", other, od.ID)
	must(t, s.UpsertDeployment(14, d))
	must(t, s.UpsertAllocs(20, allocs))

	ids := func(dep string) []string {
		t.Helper()
		got, err := s.AllocsByDeployment(nil, dep)
		must(t, err)
		var out []string
		for _, a := range got {
			out = append(out, a.ID)
		}
		return out
	}
	for dep, want := range map[string][]string{d.ID: {"a", "c"}, old.ID: {"b"}, od.ID: {"e"}, "dep": nil, "missing": nil} {
		if got := ids(dep); !slices.Equal(got, want) {
			t.Errorf("AllocsByDeployment(%s) = %v, want %v", dep, got, want)
		}
	}

	ws := memdb.NewWatchSet()
	_, err := s.AllocsByDeployment(ws, d.ID)
	must(t, err)
	must(t, s.UpdateAllocsFromClient(21, []*structs.Allocation{{ID: "a", ClientStatus: structs.AllocClientStatusRunning}}))
	if ws.Watch(time.After(5 * time.Second)) {
		t.Error("a client update of one of the deployment's allocations did not fire the watch")
	}

	must(t, s.DeleteDeployments(22, []string{old.ID}))
	if got := ids(old.ID); got != nil {
		t.Errorf("AllocsByDeployment of a deleted deployment = %v, want none", got)
	}
}
