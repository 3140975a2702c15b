package state

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recountNodeUsage sums the live allocations of st per node, as the
// scheduler did by reading each node's allocations.
func recountNodeUsage(t testing.TB, st *Store) map[string]structs.NodeUsage {
	t.Helper()
	allocs, err := st.Allocs(nil, "*")
	if err != nil {
		t.Fatalf("Allocs: %v", err)
	}
	out := map[string]structs.NodeUsage{}
	for _, a := range allocs {
		if a.NodeID == "" || a.TerminalStatus() {
			continue
		}
		u := out[a.NodeID]
		u.NodeID = a.NodeID
		u.Used.Add(a.AllocatedResources.Comparable())
		u.Live++
		if a.HoldsExclusive() {
			u.Exclusive++
		}
		out[a.NodeID] = u
	}
	return out
}

// checkNodeUsage fails t unless every node_usage row equals the recount
// and no node with live allocations lacks one.
func checkNodeUsage(t testing.TB, st *Store) {
	t.Helper()
	want := recountNodeUsage(t, st)
	got := map[string]structs.NodeUsage{}
	it, err := st.db.Load().Txn(false).Get(tableNodeUsage, indexID)
	if err != nil {
		t.Fatalf("list node usage: %v", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		u := raw.(*structs.NodeUsage)
		got[u.NodeID] = *u
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node_usage differs from a recount of the allocations (-recount +table):\n%s", diff)
	}
}

// TestNodeUsageMatchesRecount drives random writes through each path that
// writes allocations (plan results with placements, stops and preemptions,
// client updates, desired-status updates, upserts, eval GC deleting
// allocations, job deregistration) and checks the node_usage table against
// a recount after every step, then after a snapshot restore.
func TestNodeUsageMatchesRecount(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			st := newTestStore(t)
			index := uint64(1)
			nodes := []string{"n1", "n2", "n3", "n4"}
			for _, n := range nodes {
				must(t, st.UpsertNode(index, testNode(n)))
				index++
			}
			job := testJob("web")
			must(t, st.UpsertJob(index, job))
			index++
			stored, _ := st.JobByID(nil, job.Namespace, job.ID)
			var ids []string
			pick := func() *structs.Allocation {
				if len(ids) == 0 {
					return nil
				}
				a, _ := st.AllocByID(nil, ids[rng.IntN(len(ids))])
				return a
			}
			for step := range 200 {
				switch op := rng.IntN(6); op {
				case 0, 1: // placements, with ports or cores now and then
					req := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: structs.GenerateUUID()}
					for k := range 1 + rng.IntN(4) {
						a := testAlloc(structs.GenerateUUID(), stored, nodes[rng.IntN(len(nodes))])
						a.Name = fmt.Sprintf("web.web[%d]", k)
						a.AllocatedResources = &structs.AllocatedResources{
							Tasks:  map[string]*structs.AllocatedTaskResources{"web": {Cpu: structs.AllocatedCpuResources{CpuShares: int64(10 + rng.IntN(90))}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}}},
							Shared: structs.AllocatedSharedResources{DiskMB: int64(rng.IntN(3) * 100)},
						}
						switch rng.IntN(4) {
						case 0:
							a.AllocatedResources.Shared.Ports = []structs.PortMapping{{Label: "http", Value: 20000 + rng.IntN(1000)}}
						case 1:
							a.AllocatedResources.Tasks["web"].Cpu.ReservedCores = []uint16{uint16(rng.IntN(4))}
						}
						req.AllocsPlaced = append(req.AllocsPlaced, a)
						ids = append(ids, a.ID)
					}
					if a := pick(); a != nil && rng.IntN(2) == 0 {
						stop := a.Copy()
						stop.DesiredStatus = structs.AllocDesiredStatusStop
						req.AllocsStopped = append(req.AllocsStopped, stop)
					}
					if a := pick(); a != nil && rng.IntN(3) == 0 {
						ev := a.Copy()
						ev.DesiredStatus = structs.AllocDesiredStatusEvict
						req.AllocsPreempted = append(req.AllocsPreempted, ev)
					}
					must(t, errOf(st.ApplyPlanResults(index, req)))
				case 2: // the client reports
					if a := pick(); a != nil {
						status := []string{structs.AllocClientStatusRunning, structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost}[rng.IntN(4)]
						must(t, errOf(st.AllocClientUpdate(index, &structs.AllocClientUpdateRequest{Allocs: []*structs.Allocation{{ID: a.ID, ClientStatus: status}}})))
					}
				case 3: // an upsert moving an allocation to another node
					if a := pick(); a != nil {
						c := a.Copy()
						c.NodeID = nodes[rng.IntN(len(nodes))]
						must(t, st.UpsertAllocs(index, []*structs.Allocation{c}))
					}
				case 4: // GC deletes allocations
					if a := pick(); a != nil {
						must(t, st.DeleteEvals(index, nil, []string{a.ID}))
						ids = removeID(ids, a.ID)
					}
				case 5: // desired-status updates
					if a := pick(); a != nil {
						must(t, errOf(st.AllocDesiredUpdate(index, &structs.AllocDesiredUpdateRequest{
							AllocIDs: []string{a.ID}, DesiredStatus: structs.AllocDesiredStatusStop})))
					}
				}
				index++
				checkNodeUsage(t, st)
				checkNodeAllocViews(t, st)
				if t.Failed() {
					t.Fatalf("after step %d", step)
				}
			}
			restored := restoreCopy(t, st)
			checkNodeUsage(t, restored)
			checkNodeAllocViews(t, restored)
		})
	}
}

// restoreCopy restores a snapshot of st's tables into a new store.
func restoreCopy(t *testing.T, st *Store) *Store {
	t.Helper()
	snap, err := st.Snapshot()
	must(t, err)
	out := newTestStore(t)
	r, err := out.NewRestore()
	must(t, err)
	defer r.Abort()
	for _, table := range TableNames() {
		must(t, snap.Rows(table, func(row any) error { return r.Row(table, row) }))
	}
	must(t, r.Commit())
	return out
}

// TestRestoreRefusesDerivedRows checks that a snapshot cannot bring its
// own node_usage rows: the restore derives them.
func TestRestoreRefusesDerivedRows(t *testing.T) {
	r, err := newTestStore(t).NewRestore()
	must(t, err)
	defer r.Abort()
	if err := r.Row(tableNodeUsage, &structs.NodeUsage{NodeID: "n1", Live: 1}); err == nil {
		t.Fatal("restore accepted a node_usage row")
	}
}

func removeID(ids []string, id string) []string {
	for i, v := range ids {
		if v == id {
			return append(ids[:i], ids[i+1:]...)
		}
	}
	return ids
}

// TestNodeUsageRead checks the reader: a node's sum, zero for a node
// without live allocations (even when another node's ID starts with its
// ID), with and without a watch set.
func TestNodeUsageRead(t *testing.T) {
	st := newTestStore(t)
	job := testJob("web")
	must(t, st.UpsertJob(1, job))
	a := testAlloc("a1", job, "n10")
	a.AllocatedResources = &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
		"web": {Cpu: structs.AllocatedCpuResources{CpuShares: 300}, Memory: structs.AllocatedMemoryResources{MemoryMB: 128}}}}
	must(t, st.UpsertAllocs(2, []*structs.Allocation{a}))
	for _, ws := range []memdb.WatchSet{nil, memdb.NewWatchSet()} {
		u, err := st.NodeUsage(ws, "n10")
		must(t, err)
		if want := (structs.ComparableResources{CPU: 300, MemoryMB: 128}); u.Used != want || u.Live != 1 {
			t.Errorf("n10: got %+v, want used %+v and 1 live", u, want)
		}
		u, err = st.NodeUsage(ws, "n1")
		must(t, err)
		if *u != (structs.NodeUsage{NodeID: "n1"}) {
			t.Errorf("n1: got %+v, want zero", u)
		}
	}
}
