package state

import (
	"testing"

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
