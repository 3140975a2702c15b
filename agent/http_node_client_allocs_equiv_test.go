package agent

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// refClientAllocsDelta is the delta watch's reply as it was computed
// before the node's view listed its allocations (the code of dfa675d):
// from every allocation of the node, read from the allocs table.
func refClientAllocsDelta(allocs []*structs.Allocation, since uint64, have int, idx uint64) (*structs.NodeClientAllocs, uint64) {
	out := &structs.NodeClientAllocs{Delta: true, Count: len(allocs)}
	if since > 0 && idx <= since {
		out.Count = have
		return out, since
	}
	created := 0
	for _, a := range allocs {
		if a.AllocModifyIndex > since {
			out.Changed = append(out.Changed, a)
			if a.CreateIndex > since {
				created++
			}
		}
	}
	gone := have+created != len(allocs)
	if since > 0 && len(out.Changed) == 0 && !gone {
		out.Count = have
		return out, since
	}
	if gone {
		out.Allocs = make(map[string]uint64, len(allocs))
		for _, a := range allocs {
			out.Allocs[a.ID] = a.AllocModifyIndex
		}
	}
	held := refHeldJobVersions(allocs, out.Changed, since)
	changed := out.Changed
	out.Changed = make([]*structs.Allocation, len(changed))
	out.JobKeys = make(map[string]string, len(changed))
	for i, a := range changed {
		out.Changed[i] = withoutJob(a, held, out.JobKeys, &out.Jobs)
	}
	return out, idx
}

// refHeldJobVersions is heldJobVersions as it was (dfa675d).
func refHeldJobVersions(allocs, changed []*structs.Allocation, since uint64) map[string]bool {
	wanted := map[jobVersion]bool{}
	for _, a := range changed {
		if a.Job != nil {
			wanted[jobVersionOf(a.Job)] = false
		}
	}
	held := map[string]bool{}
	if len(wanted) == 0 {
		return held
	}
	seen := map[*structs.Job]bool{}
	for _, a := range allocs {
		if a.AllocModifyIndex > since || a.Job == nil || seen[a.Job] {
			continue
		}
		seen[a.Job] = true
		v := jobVersionOf(a.Job)
		if h, ok := wanted[v]; ok && !h {
			wanted[v] = true
			held[structs.JobVersionKey(a.Job)] = true
		}
	}
	return held
}

// TestClientAllocsDeltaMatchesFullRead: over random histories (placements
// of several jobs and versions, in-place updates, stops, the node's own
// reports, collections, moves), the delta watch's reply from the node's
// view equals the reply computed from all of the node's allocations, for
// clients at any earlier index holding any count.
func TestClientAllocsDeltaMatchesFullRead(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 29))
			st, err := state.NewStore()
			if err != nil {
				t.Fatal(err)
			}
			index := uint64(1)
			nodes := []string{"n1", "n2", "n3"}
			var jobs []*structs.Job
			for i := range 3 {
				j := testJob(fmt.Sprintf("job%d", i))
				j.Canonicalize()
				must(t, st.UpsertJob(index, j))
				index++
			}
			stored := func() *structs.Job {
				j := jobs[rng.IntN(len(jobs))]
				s, err := st.JobByID(nil, j.Namespace, j.ID)
				must(t, err)
				return s
			}
			for i := range 3 {
				s, err := st.JobByID(nil, structs.DefaultNamespace, fmt.Sprintf("job%d", i))
				must(t, err)
				jobs = append(jobs, s)
			}
			var ids []string
			pick := func() *structs.Allocation {
				if len(ids) == 0 {
					return nil
				}
				a, err := st.AllocByID(nil, ids[rng.IntN(len(ids))])
				must(t, err)
				return a
			}
			for step := range 150 {
				switch rng.IntN(7) {
				case 0, 1: // a plan placing a few, stopping one
					req := &structs.ApplyPlanResultsRequest{Job: stored(), EvalID: structs.GenerateUUID()}
					for range 1 + rng.IntN(12) {
						a := &structs.Allocation{ID: structs.GenerateUUID(), Name: req.Job.ID + ".web[0]", NodeID: nodes[rng.IntN(len(nodes))],
							JobID: req.Job.ID, Namespace: req.Job.Namespace, Job: req.Job, TaskGroup: "web",
							DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
						req.AllocsPlaced = append(req.AllocsPlaced, a)
						ids = append(ids, a.ID)
					}
					if a := pick(); a != nil && rng.IntN(2) == 0 {
						stop := a.Copy()
						stop.DesiredStatus = structs.AllocDesiredStatusStop
						req.AllocsStopped = append(req.AllocsStopped, stop)
					}
					_, err := st.ApplyPlanResults(index, req)
					must(t, err)
				case 2: // a new job version, and an in-place update to it
					j := stored().Copy()
					j.Meta = map[string]string{"step": fmt.Sprint(step)}
					must(t, st.UpsertJob(index, j))
					if a := pick(); a != nil {
						s, err := st.JobByID(nil, j.Namespace, j.ID)
						must(t, err)
						u := a.Copy()
						u.Job, u.JobID = s, s.ID
						index++
						must(t, st.UpsertAllocs(index, []*structs.Allocation{u}))
					}
				case 3: // the node reports
					if a := pick(); a != nil {
						must(t, st.UpdateAllocsFromClient(index, []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}}))
					}
				case 4: // the GC collects
					if a := pick(); a != nil {
						must(t, st.DeleteEvals(index, nil, []string{a.ID}))
					}
				case 5: // a move to another node
					if a := pick(); a != nil {
						c := a.Copy()
						c.NodeID = nodes[rng.IntN(len(nodes))]
						must(t, st.UpsertAllocs(index, []*structs.Allocation{c}))
					}
				case 6: // nothing of the allocations
					must(t, st.UpsertNode(index, &structs.Node{ID: nodes[rng.IntN(len(nodes))], Status: structs.NodeStatusReady}))
				}
				index++
				snap, err := st.Snapshot()
				must(t, err)
				idx, err := tableIndex(snap, "allocs", "nodes")
				must(t, err)
				for range 8 {
					node := nodes[rng.IntN(len(nodes))]
					since := uint64(rng.IntN(int(index) + 2))
					if rng.IntN(4) == 0 {
						since = 0
					}
					_, list, err := snap.NodeAllocs(nil, node)
					must(t, err)
					all, err := snap.AllocsByNode(nil, node)
					must(t, err)
					// A client holding what the node had at since, or any count.
					have := 0
					for _, a := range all {
						if a.CreateIndex <= since {
							have++
						}
					}
					if rng.IntN(3) == 0 {
						have = rng.IntN(len(all) + 3)
					}
					want, wantIdx := refClientAllocsDelta(all, since, have, idx)
					got, gotIdx, err := clientAllocsDelta(snap, list, since, have, idx)
					must(t, err)
					if gotIdx != wantIdx || !reflect.DeepEqual(got, want) {
						t.Fatalf("step %d, node %s, since %d, have %d: got %+v at %d; want %+v at %d", step, node, since, have, got, gotIdx, want, wantIdx)
					}
				}
			}
		})
	}
}

// must fails t on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkClientAllocsDeltaWake is one wake of a node's delta watch
// after one more allocation was placed on a node holding n, each of its
// own job: "view" reads the node's view and the one changed allocation,
// "full-read" all of the node's allocations (as the watch did before).
func BenchmarkClientAllocsDeltaWake(b *testing.B) {
	for _, n := range []int{10, 100, 400} {
		st, err := state.NewStore()
		if err != nil {
			b.Fatal(err)
		}
		index := uint64(1)
		for i := range n + 1 {
			j := testJob(fmt.Sprintf("job%d", i))
			j.Canonicalize()
			must(b, st.UpsertJob(index, j))
			s, err := st.JobByID(nil, j.Namespace, j.ID)
			must(b, err)
			a := &structs.Allocation{ID: structs.GenerateUUID(), Name: j.ID + ".web[0]", NodeID: "n1", JobID: j.ID, Namespace: j.Namespace,
				Job: s, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
			must(b, st.UpsertAllocs(index+1, []*structs.Allocation{a}))
			index += 2
		}
		snap, err := st.Snapshot()
		must(b, err)
		since := index - 2
		b.Run(fmt.Sprintf("view/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, list, err := snap.NodeAllocs(nil, "n1")
				must(b, err)
				if out, _, err := clientAllocsDelta(snap, list, since, n, index); err != nil || len(out.Changed) != 1 {
					b.Fatalf("%+v %v", out, err)
				}
			}
		})
		b.Run(fmt.Sprintf("full-read/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				all, err := snap.AllocsByNode(nil, "n1")
				must(b, err)
				if out, _ := refClientAllocsDelta(all, since, n, index); len(out.Changed) != 1 {
					b.Fatalf("%+v", out)
				}
			}
		})
	}
}
