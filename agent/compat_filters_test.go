package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatFiltersPagination lists with ?filter= (Nomad's grammar),
// per_page, next_token, reverse and the documented list parameters, as the
// stock CLI sends them (eval list -job/-status/-filter, job periodic force
// and dispatch look-ups with a filter).
func TestCompatFiltersPagination(t *testing.T) {
	_, c, nodeID := compatAgent(t, nil)
	for i := range 3 {
		job := nomad.NewBatchJob(fmt.Sprintf("fb-%d", i), "fb", "global", 50)
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		waitAllocs(t, c, *job.ID, 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "complete" })
	}
	cron := nomad.NewBatchJob("fb-cron", "fb-cron", "global", 50)
	cron.Periodic = &nomad.PeriodicConfig{Spec: new("0 0 1 1 *")}
	cron.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
	if _, _, err := c.Jobs().Register(cron, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("jobs filter as periodic force sends it", func(t *testing.T) {
		jobs, _, err := c.Jobs().List(&nomad.QueryOptions{Prefix: "fb", Filter: `Periodic == true`})
		if err != nil || len(jobs) != 1 || jobs[0].ID != "fb-cron" {
			t.Fatalf("List(Periodic == true) = %v, %v; want fb-cron", stubIDs(jobs), err)
		}
		if _, _, err := c.Jobs().PeriodicForce("fb-cron", nil); err != nil {
			t.Errorf("PeriodicForce: %v", err)
		}
	})

	t.Run("pages of evaluations with next_token", func(t *testing.T) {
		var seen []string
		q := &nomad.QueryOptions{PerPage: 2, Filter: `JobID matches "^fb-[0-9]$" and Status == "complete"`}
		for page := 0; page < 10; page++ {
			evals, meta, err := c.Evaluations().List(q)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if len(evals) > 2 {
				t.Fatalf("page %d has %d evals, want at most 2", page, len(evals))
			}
			for _, e := range evals {
				seen = append(seen, e.ID)
			}
			if meta.NextToken == "" {
				break
			}
			q.NextToken = meta.NextToken
		}
		// (The official client sorts each page by CreateIndex itself.)
		slices.Sort(seen)
		if len(slices.Compact(slices.Clone(seen))) != 3 {
			t.Errorf("paged through %v, want the 3 registrations once each", seen)
		}
		rev, _, err := c.Evaluations().List(&nomad.QueryOptions{Reverse: true, PerPage: 1, Filter: `JobID matches "^fb-[0-9]$"`})
		if err != nil || len(rev) != 1 || rev[0].ID != seen[2] {
			t.Errorf("reverse first page: %d evals, %v; want the highest ID %s", len(rev), err, seen[2])
		}
	})

	t.Run("eval list -job and -status", func(t *testing.T) {
		evals, _, err := c.Evaluations().List(&nomad.QueryOptions{Params: map[string]string{"job": "fb-1"}})
		if err != nil || len(evals) != 1 || evals[0].JobID != "fb-1" {
			t.Errorf("?job=fb-1: %d evals, %v", len(evals), err)
		}
		evals, _, err = c.Evaluations().List(&nomad.QueryOptions{Params: map[string]string{"status": "complete", "job": "fb-2"}})
		if err != nil || len(evals) != 1 || evals[0].Status != "complete" {
			t.Errorf("?status=complete&job=fb-2: %d evals, %v", len(evals), err)
		}
		evals, _, err = c.Evaluations().List(&nomad.QueryOptions{Params: map[string]string{"status": "failed"}})
		if err != nil || len(evals) != 0 {
			t.Errorf("?status=failed: %d evals, %v; want none", len(evals), err)
		}
	})

	t.Run("allocations, nodes and deployments filter", func(t *testing.T) {
		allocs, _, err := c.Allocations().List(&nomad.QueryOptions{Filter: `JobID == "fb-2" and ClientStatus == "complete"`})
		if err != nil || len(allocs) != 1 {
			t.Errorf("allocations: %d, %v", len(allocs), err)
		}
		nodes, _, err := c.Nodes().List(&nomad.QueryOptions{Filter: fmt.Sprintf(`ID == %q and Status == "ready"`, nodeID)})
		if err != nil || len(nodes) != 1 {
			t.Errorf("nodes: %d, %v", len(nodes), err)
		}
		if _, _, err := c.Deployments().List(&nomad.QueryOptions{Filter: `Status == "running"`}); err != nil {
			t.Errorf("deployments: %v", err)
		}
	})

	t.Run("bad filters are 400s that say why", func(t *testing.T) {
		for _, f := range []string{`Status ==`, `NoSuchField == "x"`} {
			_, _, err := c.Evaluations().List(&nomad.QueryOptions{Filter: f})
			if err == nil || !strings.Contains(err.Error(), "400") {
				t.Errorf("filter %q: got %v, want a 400", f, err)
			}
		}
	})
}

func stubIDs(jobs []*nomad.JobListStub) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}
