package state

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// checkNodeAllocViews fails t unless every node with allocations has a
// node_alloc_view row listing exactly them (ID, AllocModifyIndex,
// CreateIndex and the very job version stored), at an index no lower than
// any of their CreateIndex and AllocModifyIndex, and no other node has one.
func checkNodeAllocViews(t testing.TB, st *Store) {
	t.Helper()
	allocs, err := st.Allocs(nil, "*")
	if err != nil {
		t.Fatalf("Allocs: %v", err)
	}
	type want struct {
		allocs map[string]NodeAlloc
		index  uint64
	}
	wants := map[string]*want{}
	for _, a := range allocs {
		if a.NodeID == "" {
			continue
		}
		w := wants[a.NodeID]
		if w == nil {
			w = &want{allocs: map[string]NodeAlloc{}}
			wants[a.NodeID] = w
		}
		w.allocs[a.ID] = NodeAlloc{ID: a.ID, AllocModifyIndex: a.AllocModifyIndex, CreateIndex: a.CreateIndex, Job: a.Job}
		w.index = max(w.index, a.CreateIndex, a.AllocModifyIndex)
	}
	it, err := st.db.Load().Txn(false).Get(tableNodeAllocView, indexID)
	if err != nil {
		t.Fatalf("list node allocation views: %v", err)
	}
	rows := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		v := raw.(*nodeAllocView)
		rows++
		w := wants[v.NodeID]
		if w == nil {
			t.Errorf("node %s: a view (%+v) but no allocations", v.NodeID, *v)
			continue
		}
		if v.Index < w.index {
			t.Errorf("node %s: view at index %d; want at least %d", v.NodeID, v.Index, w.index)
		}
		seen := map[string]bool{}
		for _, e := range v.Allocs {
			if seen[e.ID] {
				t.Errorf("node %s: allocation %s listed twice", v.NodeID, e.ID)
			}
			seen[e.ID] = true
			if e != w.allocs[e.ID] {
				t.Errorf("node %s: view lists %+v; stored %+v", v.NodeID, e, w.allocs[e.ID])
			}
		}
		if len(v.Allocs) != len(w.allocs) {
			t.Errorf("node %s: view lists %d allocations; want %d", v.NodeID, len(v.Allocs), len(w.allocs))
		}
	}
	if rows != len(wants) {
		t.Errorf("%d views for %d nodes with allocations", rows, len(wants))
	}
}

// TestNodeAllocs: a node's view moves, and its watch fires, when
// the scheduler places, stops or the GC removes one of its allocations,
// and not when the node reports an allocation's status (what woke every
// delta allocation watch once per report); a restore rebuilds the views.
func TestNodeAllocs(t *testing.T) {
	st := newTestStore(t)
	job := testJob("web")
	must(t, st.UpsertJob(1, job))
	view := func() (uint64, int, memdb.WatchSet) {
		t.Helper()
		snap, err := st.Snapshot()
		must(t, err)
		ws := memdb.NewWatchSet()
		idx, allocs, err := snap.NodeAllocs(ws, "n1")
		must(t, err)
		return idx, len(allocs), ws
	}
	fired := func(ws memdb.WatchSet) bool { return !ws.Watch(time.After(50 * time.Millisecond)) }

	if idx, n, _ := view(); idx != 0 || n != 0 {
		t.Fatalf("node without allocations: view %d, %d; want 0, 0", idx, n)
	}
	_, _, ws := view()
	a1, a2 := testAlloc("a1", job, "n1"), testAlloc("a2", job, "n1")
	must(t, st.UpsertAllocs(2, []*structs.Allocation{a1, a2, testAlloc("a3", job, "n2")}))
	if !fired(ws) {
		t.Fatal("placing on the node: the view's watch did not fire")
	}
	idx, n, ws := view()
	if idx != 2 || n != 2 {
		t.Fatalf("after placing two: view %d, %d; want 2, 2", idx, n)
	}

	must(t, st.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}))
	if fired(ws) {
		t.Fatal("the node's own status report fired the view's watch")
	}
	if idx, n, _ := view(); idx != 2 || n != 2 {
		t.Fatalf("after the node's report: view %d, %d; want 2, 2", idx, n)
	}

	stop := a1.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	stop.AllocModifyIndex = 4
	must(t, st.UpsertAllocs(4, []*structs.Allocation{stop}))
	if !fired(ws) {
		t.Fatal("stopping an allocation: the view's watch did not fire")
	}
	if idx, n, ws = view(); idx != 4 || n != 2 {
		t.Fatalf("after the stop: view %d, %d; want 4, 2", idx, n)
	}

	must(t, st.DeleteEvals(5, nil, []string{"a1"}))
	if !fired(ws) {
		t.Fatal("collecting an allocation: the view's watch did not fire")
	}
	if idx, n, _ := view(); idx != 5 || n != 1 {
		t.Fatalf("after the collection: view %d, %d; want 5, 1", idx, n)
	}
	checkNodeAllocViews(t, st)
	checkNodeAllocViews(t, restoreCopy(t, st))

	must(t, st.DeleteEvals(6, nil, []string{"a2"}))
	if idx, n, _ := view(); idx != 0 || n != 0 {
		t.Fatalf("after the last one went: view %d, %d; want 0, 0 (no row)", idx, n)
	}
	checkNodeAllocViews(t, st)
}

// TestNodeAllocsManyInOneTransaction: transactions that place, stop and
// collect many allocations of one node at once (a plan of a big job, a
// drain, the GC) leave the node's list exact, copy it (a snapshot taken
// before keeps its list), and a restore rebuilds it.
func TestNodeAllocsManyInOneTransaction(t *testing.T) {
	st := newTestStore(t)
	must(t, st.UpsertNode(1, testNode("n1")))
	must(t, st.UpsertNode(2, testNode("n2")))
	job := testJob("web")
	must(t, st.UpsertJob(3, job))
	stored, err := st.JobByID(nil, job.Namespace, job.ID)
	must(t, err)
	list := func(st *Store, node string) (uint64, map[string]NodeAlloc) {
		t.Helper()
		snap, err := st.Snapshot()
		must(t, err)
		idx, allocs, err := snap.NodeAllocs(nil, node)
		must(t, err)
		out := map[string]NodeAlloc{}
		for _, e := range allocs {
			out[e.ID] = e
		}
		return idx, out
	}

	var ids []string
	place := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: structs.GenerateUUID()}
	for i := range 30 {
		a := testAlloc(fmt.Sprintf("a%02d", i), stored, "n1")
		if i%10 == 9 {
			a.NodeID = "n2"
		}
		place.AllocsPlaced = append(place.AllocsPlaced, a)
		ids = append(ids, a.ID)
	}
	must(t, errOf(st.ApplyPlanResults(4, place)))
	if idx, got := list(st, "n1"); idx != 4 || len(got) != 27 || got["a00"].CreateIndex != 4 || got["a00"].AllocModifyIndex != 4 || got["a00"].Job != stored {
		t.Fatalf("after placing 27 on n1: index %d, %d listed, a00 %+v; want index 4, 27, a00 created at 4 with the stored job", idx, len(got), got["a00"])
	}
	before, err := st.Snapshot()
	must(t, err)
	_, beforeList, err := before.NodeAllocs(nil, "n1")
	must(t, err)
	kept := append([]NodeAlloc(nil), beforeList...)

	// One plan stops 12 of n1's and places 5 more there.
	next := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: structs.GenerateUUID()}
	for _, id := range ids[:13] {
		if id == "a09" {
			continue
		}
		a, err := st.AllocByID(nil, id)
		must(t, err)
		stop := a.Copy()
		stop.DesiredStatus = structs.AllocDesiredStatusStop
		next.AllocsStopped = append(next.AllocsStopped, stop)
	}
	for i := range 5 {
		next.AllocsPlaced = append(next.AllocsPlaced, testAlloc(fmt.Sprintf("b%02d", i), stored, "n1"))
	}
	must(t, errOf(st.ApplyPlanResults(5, next)))
	idx, got := list(st, "n1")
	if idx != 5 || len(got) != 32 || got["a00"].AllocModifyIndex != 5 || got["a00"].CreateIndex != 4 || got["a20"].AllocModifyIndex != 4 || got["b04"].CreateIndex != 5 {
		t.Fatalf("after stopping 12 and placing 5: index %d, %d listed, a00 %+v, a20 %+v, b04 %+v", idx, len(got), got["a00"], got["a20"], got["b04"])
	}
	if !slices.Equal(beforeList, kept) {
		t.Error("the write changed the list an older snapshot reads")
	}
	checkNodeAllocViews(t, st)

	// The node reports all of them running: one transaction, no change.
	var reports []*structs.Allocation
	for id := range got {
		reports = append(reports, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning})
	}
	must(t, st.UpdateAllocsFromClient(6, reports))
	if idx, _ := list(st, "n1"); idx != 5 {
		t.Errorf("after the node's reports: view at index %d, want 5", idx)
	}

	// The GC collects 20 of n1's and one of n2's at once.
	gone := append(slices.Clone(ids[:20]), "a29")
	must(t, st.DeleteEvals(7, nil, gone))
	idx, got = list(st, "n1")
	if _, ok := got["a00"]; idx != 7 || len(got) != 14 || ok {
		t.Fatalf("after collecting 18 of n1's: index %d, %d listed (a00 listed: %v); want 7, 14, not", idx, len(got), ok)
	}
	checkNodeAllocViews(t, st)
	restored := restoreCopy(t, st)
	checkNodeAllocViews(t, restored)
	if _, rgot := list(restored, "n1"); !maps.EqualFunc(rgot, got, func(a, b NodeAlloc) bool {
		return a.ID == b.ID && a.AllocModifyIndex == b.AllocModifyIndex && a.CreateIndex == b.CreateIndex
	}) {
		t.Errorf("restored list %v, want %v", rgot, got)
	}
}

// TestNodeAllocsAppendKeepsOlderLists: placements append to the node's
// list in its array when it has room, yet a list read from an older
// snapshot never changes, whatever follows (more placements, a stop that
// copies the list, placements after it), and a caller's append to a list
// it read does not reach the store's.
func TestNodeAllocsAppendKeepsOlderLists(t *testing.T) {
	st := newTestStore(t)
	must(t, st.UpsertNode(1, testNode("n1")))
	job := testJob("web")
	must(t, st.UpsertJob(2, job))
	type seen struct {
		list, copy []NodeAlloc
	}
	var lists []seen
	read := func() []NodeAlloc {
		t.Helper()
		snap, err := st.Snapshot()
		must(t, err)
		_, list, err := snap.NodeAllocs(nil, "n1")
		must(t, err)
		lists = append(lists, seen{list, slices.Clone(list)})
		return list
	}
	index := uint64(3)
	place := func(n int) {
		t.Helper()
		var allocs []*structs.Allocation
		for range n {
			allocs = append(allocs, testAlloc(fmt.Sprintf("a%03d", index*10+uint64(len(allocs))), job, "n1"))
		}
		must(t, st.UpsertAllocs(index, allocs))
		index++
	}
	for i := range 12 {
		place(1 + i%3)
		read()
	}
	list := read()
	stop := list[0]
	a, err := st.AllocByID(nil, stop.ID)
	must(t, err)
	c := a.Copy()
	c.DesiredStatus = structs.AllocDesiredStatusStop
	must(t, st.UpsertAllocs(index, []*structs.Allocation{c}))
	index++
	read()
	for range 5 {
		place(1)
		read()
	}
	// A caller appending to what it read, then a placement.
	mine := append(read(), NodeAlloc{ID: "not-stored"})
	place(1)
	if mine[len(mine)-1].ID != "not-stored" {
		t.Errorf("a placement overwrote what a caller appended to the list it read")
	}
	for i, l := range lists {
		if !slices.Equal(l.list, l.copy) {
			t.Fatalf("list %d changed after it was read: now %v, was %v", i, l.list, l.copy)
		}
	}
	if last := read(); len(last) != 30 || slices.ContainsFunc(last, func(e NodeAlloc) bool { return e.ID == "not-stored" }) {
		t.Errorf("the node's list has %d entries (want 30), or the caller's append", len(last))
	}
}

// TestNodeAllocsForkAndStoreAppendApart: a store and a fork of one of its
// snapshots (Snapshot.Fork) share the arrays of the node lists they share.
// Placements on both, in either order, must each land in a list of their
// own: the second writer past a list's length copies, instead of writing
// the entries the first one's readers see.
func TestNodeAllocsForkAndStoreAppendApart(t *testing.T) {
	for _, storeFirst := range []bool{true, false} {
		st := newTestStore(t)
		must(t, st.UpsertNode(1, testNode("n1")))
		job := testJob("web")
		must(t, st.UpsertJob(2, job))
		for i := range 5 { // a list with room to append in place
			must(t, st.UpsertAllocs(uint64(3+i), []*structs.Allocation{testAlloc(fmt.Sprintf("base%d", i), job, "n1")}))
		}
		snap, err := st.Snapshot()
		must(t, err)
		fork := snap.Fork()
		placeStore := func() { must(t, st.UpsertAllocs(10, []*structs.Allocation{testAlloc("in-store", job, "n1")})) }
		placeFork := func() { must(t, fork.UpsertAllocs(10, []*structs.Allocation{testAlloc("in-fork", job, "n1")})) }
		if storeFirst {
			placeStore()
			placeFork()
		} else {
			placeFork()
			placeStore()
		}
		ids := func(s *Store) []string {
			t.Helper()
			sn, err := s.Snapshot()
			must(t, err)
			_, list, err := sn.NodeAllocs(nil, "n1")
			must(t, err)
			var out []string
			for _, e := range list {
				out = append(out, e.ID)
			}
			slices.Sort(out)
			return out
		}
		want := func(extra string) []string {
			return []string{"base0", "base1", "base2", "base3", "base4", extra}
		}
		if got := ids(st); !slices.Equal(got, want("in-store")) {
			t.Errorf("store first %v: the store's list is %v, want %v", storeFirst, got, want("in-store"))
		}
		if got := ids(fork); !slices.Equal(got, want("in-fork")) {
			t.Errorf("store first %v: the fork's list is %v, want %v", storeFirst, got, want("in-fork"))
		}
	}
}

// TestAllocsByNodeFromTheView: the allocations have only an ID and a job
// index (each index entry is ~250 bytes per allocation), and AllocsByNode
// reads the node's view row and each allocation by ID: sorted by ID,
// following placements, removals and moves to another node. Its watch
// fires on a client's status report (which changes no view row) and on a
// placement; a read without a watch leaves nothing behind.
func TestAllocsByNodeFromTheView(t *testing.T) {
	var names []string
	for name := range schema().Tables[tableAllocs].Indexes {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{indexID, indexJob}; !slices.Equal(names, want) {
		t.Errorf("allocs table indexes %v, want %v: every index costs an entry per allocation; read through the job index or the node view instead", names, want)
	}

	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("c", job, "n1"), testAlloc("a", job, "n1"), testAlloc("b", job, "n2"), testAlloc("d", job, "n1")}))
	ids := func(node string) []string {
		t.Helper()
		allocs, err := s.AllocsByNode(nil, node)
		must(t, err)
		var out []string
		for _, a := range allocs {
			out = append(out, a.ID)
		}
		return out
	}
	check := func(node string, want ...string) {
		t.Helper()
		if got := ids(node); !slices.Equal(got, want) {
			t.Errorf("AllocsByNode(%s) = %v, want %v", node, got, want)
		}
	}
	check("n1", "a", "c", "d")
	check("n2", "b")
	check("n3")

	ws := memdb.NewWatchSet()
	_, err := s.AllocsByNode(ws, "n1")
	must(t, err)
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "c", ClientStatus: structs.AllocClientStatusRunning}}))
	if ws.Watch(time.After(testDeadline)) {
		t.Error("a client's status report of one of the node's allocations did not fire the watch")
	}
	ws = memdb.NewWatchSet()
	_, err = s.AllocsByNode(ws, "n2")
	must(t, err)
	must(t, s.UpsertAllocs(4, []*structs.Allocation{testAlloc("e", job, "n2")}))
	if ws.Watch(time.After(testDeadline)) {
		t.Error("a placement on the node did not fire the watch")
	}
	if a, _ := s.AllocByID(nil, "c"); a.ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("c: client status %q", a.ClientStatus)
	}

	moved := testAlloc("a", job, "n2")
	must(t, s.UpsertAllocs(5, []*structs.Allocation{moved}))
	must(t, s.DeleteEvals(6, nil, []string{"d"}))
	check("n1", "c")
	check("n2", "a", "b", "e")
	checkNodeAllocViews(t, s)

	// A read without a watch of nodes not read before allocates no more
	// than the same read again: it leaves no channel on what it read.
	var nodes []string
	for i := range 40 {
		n := fmt.Sprintf("m%02d", i)
		nodes = append(nodes, n)
		must(t, s.UpsertAllocs(uint64(10+i), []*structs.Allocation{testAlloc(n+"-1", job, n), testAlloc(n+"-2", job, n)}))
	}
	pass := func() float64 {
		next := 0
		return testing.AllocsPerRun(len(nodes)-1, func() { _ = ids(nodes[next]); next++ })
	}
	if fresh, again := pass(), pass(); fresh > again {
		t.Errorf("AllocsByNode(nil) of nodes not read before: %.1f allocations each, of the same nodes read again: %.1f; the first read leaves something behind", fresh, again)
	}
}
