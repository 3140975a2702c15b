package scheduler

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// oneNodeState holds one node's allocations; sums says whether NodeUsage
// reports their sum or, as for a node with ports, asks for a walk.
type oneNodeState struct {
	State
	allocs []*structs.Allocation
	sums   bool
}

func (s *oneNodeState) AllocsByNode(memdb.WatchSet, string) ([]*structs.Allocation, error) {
	return slices.Clone(s.allocs), nil
}

func (s *oneNodeState) NodeUsage(_ memdb.WatchSet, nodeID string) (*structs.NodeUsage, error) {
	u := &structs.NodeUsage{NodeID: nodeID}
	if !s.sums {
		u.Exclusive = 1
		return u, nil
	}
	for _, a := range s.allocs {
		u.Apply(a, 1)
	}
	return u, nil
}

// TestUsageTrackerSumsMatchWalk checks that a node's usage loaded from the
// state's sum equals the usage counted from its allocations, whatever the
// plan stopped and un-stopped before and after the node was loaded, and
// that preemption then sees the same existing allocations.
func TestUsageTrackerSumsMatchWalk(t *testing.T) {
	node := &structs.Node{ID: "node-1", NodeResources: &structs.NodeResources{
		Cpu: structs.NodeCpuResources{CpuShares: 8000}, Memory: structs.NodeMemoryResources{MemoryMB: 16384}}}
	for seed := range int64(50) {
		rng := rand.New(rand.NewSource(seed))
		var allocs []*structs.Allocation
		for i := range 8 {
			a := &structs.Allocation{ID: fmt.Sprintf("a%d", i), NodeID: node.ID, DesiredStatus: structs.AllocDesiredStatusRun,
				ClientStatus: structs.AllocClientStatusRunning, AllocatedResources: &structs.AllocatedResources{
					Tasks: map[string]*structs.AllocatedTaskResources{"t": {Cpu: structs.AllocatedCpuResources{CpuShares: int64(100 * (i + 1))},
						Memory: structs.AllocatedMemoryResources{MemoryMB: int64(64 << rng.Intn(4))}}}}}
			if rng.Intn(4) == 0 {
				a.ClientStatus = structs.AllocClientStatusFailed
			}
			allocs = append(allocs, a)
		}
		// The same operations on both trackers: stops and un-stops, the
		// node loaded at a random point, a placement.
		type op struct {
			kind string
			a    *structs.Allocation
		}
		var ops []op
		for range 10 {
			ops = append(ops, op{[]string{"stop", "stop", "unstop"}[rng.Intn(3)], allocs[rng.Intn(len(allocs))]})
		}
		ops = slices.Insert(ops, rng.Intn(len(ops)+1), op{kind: "load"})
		var got [2]*nodeUsage
		for i, sums := range []bool{false, true} {
			u := newUsageTracker(&oneNodeState{allocs: allocs, sums: sums})
			for _, o := range ops {
				switch o.kind {
				case "stop":
					u.stop(o.a)
				case "unstop":
					u.unstop(o.a)
				case "load":
					if _, err := u.get(node); err != nil {
						t.Fatal(err)
					}
				}
			}
			nu, err := u.get(node)
			if err != nil {
				t.Fatal(err)
			}
			if err := u.loadExisting(nu); err != nil {
				t.Fatal(err)
			}
			got[i] = nu
		}
		walk, sum := got[0], got[1]
		if walk.used != sum.used {
			t.Fatalf("seed %d: used from sums %+v, from allocations %+v", seed, sum.used, walk.used)
		}
		ids := func(as []*structs.Allocation) (out []string) {
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		if !slices.Equal(ids(walk.existing), ids(sum.existing)) {
			t.Fatalf("seed %d: existing from sums %v, from allocations %v", seed, ids(sum.existing), ids(walk.existing))
		}
	}
}
