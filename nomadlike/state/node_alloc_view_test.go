package state

import (
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// checkNodeAllocViews fails t unless every node with allocations has a
// node_alloc_view row counting them, at an index no lower than any of
// their CreateIndex and AllocModifyIndex, and no other node has one.
func checkNodeAllocViews(t testing.TB, st *Store) {
	t.Helper()
	allocs, err := st.Allocs(nil, "*")
	if err != nil {
		t.Fatalf("Allocs: %v", err)
	}
	type want struct {
		count int
		index uint64
	}
	wants := map[string]*want{}
	for _, a := range allocs {
		if a.NodeID == "" {
			continue
		}
		w := wants[a.NodeID]
		if w == nil {
			w = &want{}
			wants[a.NodeID] = w
		}
		w.count++
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
		switch {
		case w == nil:
			t.Errorf("node %s: a view (%+v) but no allocations", v.NodeID, *v)
		case v.Count != w.count || v.Index < w.index:
			t.Errorf("node %s: view %+v; want count %d, index at least %d", v.NodeID, *v, w.count, w.index)
		}
	}
	if rows != len(wants) {
		t.Errorf("%d views for %d nodes with allocations", rows, len(wants))
	}
}

// TestNodeAllocsChanged: a node's view moves, and its watch fires, when
// the scheduler places, stops or the GC removes one of its allocations,
// and not when the node reports an allocation's status (what woke every
// delta allocation watch once per report); a restore rebuilds the views.
func TestNodeAllocsChanged(t *testing.T) {
	st := newTestStore(t)
	job := testJob("web")
	must(t, st.UpsertJob(1, job))
	view := func() (uint64, int, memdb.WatchSet) {
		t.Helper()
		snap, err := st.Snapshot()
		must(t, err)
		ws := memdb.NewWatchSet()
		idx, n, err := snap.NodeAllocsChanged(ws, "n1")
		must(t, err)
		return idx, n, ws
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
