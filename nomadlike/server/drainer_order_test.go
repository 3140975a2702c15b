package server

import (
	"fmt"
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fakeDrainView serves planNodeDrain's job lookups from a map.
type fakeDrainView struct{ jobs map[string]*structs.Job }

func (v fakeDrainView) JobByID(_ memdb.WatchSet, _, id string) (*structs.Job, error) {
	return v.jobs[id], nil
}

func (v fakeDrainView) AllocsByJob(memdb.WatchSet, string, string, bool) ([]*structs.Allocation, error) {
	return nil, nil
}

// TestDrainOrderByPriority checks that a drain marks the allocations of
// higher-priority jobs first, before and after its deadline, and system
// jobs last.
func TestDrainOrderByPriority(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	view := fakeDrainView{jobs: map[string]*structs.Job{}}
	var allocs []*structs.Allocation
	for i, spec := range []struct {
		id   string
		prio int
		typ  string
	}{
		{"a-low", 20, structs.JobTypeService},
		{"b-sys", 100, structs.JobTypeSystem},
		{"c-high", 90, structs.JobTypeService},
		{"d-mid", 50, structs.JobTypeBatch},
		{"e-mid", 50, structs.JobTypeService},
	} {
		j := mockJob(spec.id, 1, 100, 64)
		j.Priority, j.Type = spec.prio, spec.typ
		view.jobs[j.ID] = j
		allocs = append(allocs, &structs.Allocation{
			ID: fmt.Sprintf("alloc-%d", i), Name: j.ID + ".web[0]", JobID: j.ID, Job: j, TaskGroup: "web",
			NodeID: "n1", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		})
	}
	jobsOf := func(list []*structs.Allocation) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.JobID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		deadline time.Time
		want     []string
	}{
		{"before the deadline", now.Add(time.Hour), []string{"c-high", "d-mid", "e-mid", "a-low"}},
		{"past the deadline", now.Add(-time.Second), []string{"c-high", "d-mid", "e-mid", "a-low", "b-sys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := &structs.Node{ID: "n1", Drain: true, DrainStrategy: &structs.DrainStrategy{ForceDeadline: tc.deadline}}
			step, err := planNodeDrain(view, node, allocs, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := jobsOf(step.mark); !slices.Equal(got, tc.want) {
				t.Errorf("got marks %v, want %v", got, tc.want)
			}
		})
	}
}
