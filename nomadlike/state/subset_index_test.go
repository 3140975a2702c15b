package state

import (
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestPeriodicJobsWatchOnlyPeriodicJobs: the periodic index lists the jobs
// with a periodic block, and its watch ignores every other job's writes
// (the leader's dispatcher then costs nothing per ordinary registration).
func TestPeriodicJobsWatchOnlyPeriodicJobs(t *testing.T) {
	s := newTestStore(t)
	periodic := func(id string) *structs.Job {
		j := testJob(id)
		j.Type = structs.JobTypeBatch
		j.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "*/5 * * * *", SpecType: "cron"}
		return j
	}
	if err := s.UpsertJob(10, periodic("cron-b")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertJob(11, testJob("web")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertJob(12, periodic("cron-a")); err != nil {
		t.Fatal(err)
	}
	ws := memdb.NewWatchSet()
	jobs, err := s.PeriodicJobs(ws)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if len(ids) != 2 || ids[0] != "cron-a" || ids[1] != "cron-b" {
		t.Fatalf("PeriodicJobs = %v, want [cron-a cron-b]", ids)
	}
	for i := range 3 {
		if err := s.UpsertJob(uint64(20+i), testJob("other-"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	if watchFired(ws) {
		t.Fatal("registering non-periodic jobs woke the periodic watch")
	}
	// Losing the periodic block is a change the dispatcher must see.
	plain := testJob("cron-a")
	if err := s.UpsertJob(30, plain); err != nil {
		t.Fatal(err)
	}
	if !watchFired(ws) {
		t.Fatal("a job losing its periodic block did not wake the periodic watch")
	}
	jobs, err = s.PeriodicJobs(nil)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "cron-b" {
		t.Fatalf("PeriodicJobs after cron-a lost its block = %v, %v; want [cron-b]", jobs, err)
	}
}

// TestActiveDeploymentsWatchOnlyActiveOnes: the active index lists the
// running deployments, ignores writes to terminal ones, and wakes its
// watch when a deployment stops being active.
func TestActiveDeploymentsWatchOnlyActiveOnes(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(10, job))
	running := structs.NewDeployment("dep-run", job, 50, time.Unix(50, 0))
	done := structs.NewDeployment("dep-done", job, 50, time.Unix(50, 0))
	done.Status = structs.DeploymentStatusSuccessful
	must(t, s.UpsertDeployment(11, running))
	must(t, s.UpsertDeployment(12, done))
	ws := memdb.NewWatchSet()
	ds, err := s.ActiveDeployments(ws)
	if err != nil || len(ds) != 1 || ds[0].ID != "dep-run" {
		t.Fatalf("ActiveDeployments = %v, %v; want [dep-run]", ds, err)
	}
	other := structs.NewDeployment("dep-old", job, 50, time.Unix(50, 0))
	other.Status = structs.DeploymentStatusFailed
	must(t, s.UpsertDeployment(13, other))
	if watchFired(ws) {
		t.Fatal("storing a failed deployment woke the active-deployments watch")
	}
	_, err = s.DeploymentStatusUpdate(14, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: "dep-run", Status: structs.DeploymentStatusSuccessful, StatusDescription: structs.DeploymentStatusDescriptionSuccessful}})
	must(t, err)
	if !watchFired(ws) {
		t.Fatal("a deployment finishing did not wake the active-deployments watch")
	}
	if ds, err := s.ActiveDeployments(nil); err != nil || len(ds) != 0 {
		t.Fatalf("ActiveDeployments after the last one finished = %v, %v; want none", ds, err)
	}
}

// TestDeploymentsModifiedSince: the deployments written after an index,
// oldest write first, with the table index to ask from next; the watch
// wakes on the next deployment write.
func TestDeploymentsModifiedSince(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	for i, id := range []string{"dep-a", "dep-b", "dep-c"} {
		must(t, s.UpsertDeployment(uint64(10+i), structs.NewDeployment(id, job, 1, time.Unix(1, 0))))
	}
	// dep-a is written again: it now sorts last.
	must(t, s.UpsertDeployment(20, structs.NewDeployment("dep-a", job, 1, time.Unix(1, 0))))
	ids := func(ds []*structs.Deployment) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	ds, index, err := s.DeploymentsModifiedSince(nil, 0)
	if err != nil || index != 20 || !slices.Equal(ids(ds), []string{"dep-b", "dep-c", "dep-a"}) {
		t.Fatalf("since 0 = %v, %d, %v; want [dep-b dep-c dep-a], 20", ids(ds), index, err)
	}
	ds, index, err = s.DeploymentsModifiedSince(nil, 11)
	if err != nil || index != 20 || !slices.Equal(ids(ds), []string{"dep-c", "dep-a"}) {
		t.Fatalf("since 11 = %v, %d, %v; want [dep-c dep-a], 20", ids(ds), index, err)
	}
	ws := memdb.NewWatchSet()
	ds, index, err = s.DeploymentsModifiedSince(ws, 20)
	if err != nil || index != 20 || len(ds) != 0 {
		t.Fatalf("since 20 = %v, %d, %v; want none, 20", ids(ds), index, err)
	}
	must(t, s.UpsertJob(21, testJob("other")))
	if watchFired(ws) {
		t.Fatal("a job write woke the deployments watch")
	}
	must(t, s.DeleteDeployments(22, []string{"dep-b"}))
	if !watchFired(ws) {
		t.Fatal("deleting a deployment did not wake the watch")
	}
	ds, index, err = s.DeploymentsModifiedSince(nil, 20)
	if err != nil || index != 22 || len(ds) != 0 {
		t.Fatalf("after the delete = %v, %d, %v; want none, 22", ids(ds), index, err)
	}
}
