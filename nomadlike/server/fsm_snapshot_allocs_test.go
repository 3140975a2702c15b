package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestSnapshotWritesEachAllocJobOnce: allocations placed by several plans
// of one job version share one job in the state; the snapshot writes that
// job once (recordAllocJob) and the allocations without it
// (recordAllocRef), and the restored allocations share one job again and
// equal the originals. A snapshot whose allocation names a job it did not
// write is refused.
func TestSnapshotWritesEachAllocJobOnce(t *testing.T) {
	f := newTestFSM(t)
	node, _, first := populateFSM(t, f)                               // one allocation placed at index 12 with the caller's job (no indexes)
	job, err := f.state.JobByID(nil, structs.DefaultNamespace, "web") // as the scheduler plans with it
	if err != nil {
		t.Fatal(err)
	}
	index := uint64(20)
	for p := range 3 {
		req := &structs.ApplyPlanResultsRequest{Job: job, EvalID: structs.GenerateUUID(), Timestamp: int64(p)}
		for i := range 4 {
			req.AllocsPlaced = append(req.AllocsPlaced, &structs.Allocation{
				ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: req.EvalID,
				Name: fmt.Sprintf("web.web[%d]", 1+p*4+i), NodeID: node.ID, JobID: "web", TaskGroup: "web",
				DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
				AllocatedResources: &structs.AllocatedResources{},
			})
		}
		applyEntry(t, f, index, structs.ApplyPlanResultsRequestType, req)
		index++
	}
	allocs, err := f.state.Allocs(nil, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 13 {
		t.Fatalf("%d allocations in the state, want 13", len(allocs))
	}
	// The first allocation keeps its own job (its plan's had other
	// indexes than the stored version); the other twelve share one.
	var shared *structs.Job
	for _, a := range allocs {
		if a.ID == first.ID {
			continue
		}
		if shared == nil {
			shared = a.Job
		}
		if a.Job != shared {
			t.Fatalf("allocation %s does not share the job of the others in the state", a.Name)
		}
	}

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
		t.Fatalf("write snapshot: %v", err)
	}
	data := buf.Bytes()
	kinds := map[snapshotRecord]int{}
	if err := readSnapshotKinds(data, kinds); err != nil {
		t.Fatal(err)
	}
	if kinds[recordAllocJob] != 2 || kinds[recordAllocRef] != 13 || kinds[recordAlloc] != 0 {
		t.Errorf("records: %d alloc jobs, %d alloc refs, %d full allocs; want 2, 13, 0", kinds[recordAllocJob], kinds[recordAllocRef], kinds[recordAlloc])
	}
	info, err := countRecords(bytes.NewReader(data))
	if err != nil || info.Allocs != 13 {
		t.Errorf("countRecords: %d allocations (err %v), want 13", info.Allocs, err)
	}

	g := newTestFSM(t)
	if err := g.Restore(nopCloser{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	restored, err := g.state.Allocs(nil, "*")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allocs, restored); diff != "" {
		t.Errorf("restored allocations differ (-want +got):\n%s", diff)
	}
	jobs := map[*structs.Job]int{}
	evalIDs := map[string]*byte{} // an evaluation's ID -> the string data restored allocations use
	for _, a := range restored {
		jobs[a.Job]++
		if p, ok := evalIDs[a.EvalID]; ok && p != unsafe.StringData(a.EvalID) {
			t.Errorf("restored allocation %s keeps its own copy of its evaluation's ID", a.Name)
		}
		evalIDs[a.EvalID] = unsafe.StringData(a.EvalID)
	}
	if len(jobs) != 2 {
		t.Errorf("restored allocations have %d distinct jobs, want 2 (the first allocation's and the one the others share)", len(jobs))
	}

	t.Run("dangling job reference", func(t *testing.T) {
		var bad bytes.Buffer
		enc := codec.NewEncoder(&bad, msgpackHandle)
		for _, v := range []any{recordHeader, snapshotHeader{Format: snapshotFormat}, recordAllocRef, allocRef{JobRef: 0, Alloc: allocs[0]}, recordEnd} {
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
		}
		err := newTestFSM(t).Restore(nopCloser{&bad})
		if err == nil || !strings.Contains(err.Error(), "refers to job 0 of 0") {
			t.Errorf("Restore of an allocation without its job record: got %v, want an error naming the missing job", err)
		}
	})
}

// readSnapshotKinds counts the records of a snapshot by kind.
func readSnapshotKinds(data []byte, kinds map[snapshotRecord]int) error {
	dec := codec.NewDecoder(bytes.NewReader(data), msgpackHandle)
	for {
		var kind snapshotRecord
		if err := dec.Decode(&kind); err != nil {
			return err
		}
		kinds[kind]++
		if kind == recordEnd {
			return nil
		}
		var skip any
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
}

// TestSnapshotAllocJobEmpty: a recordAllocJob holding an empty job (nil,
// or no ID) is refused on restore rather than given to allocations; an
// allocation whose job has no ID is written whole, so every snapshot this
// server writes restores.
func TestSnapshotAllocJobEmpty(t *testing.T) {
	alloc := &structs.Allocation{ID: "5a1e0000-0000-4000-8000-000000000001", Namespace: "default", JobID: "web", TaskGroup: "g"}
	for name, job := range map[string]any{"nil": nil, "no ID": &structs.Job{Name: "web"}} {
		t.Run(name, func(t *testing.T) {
			var bad bytes.Buffer
			enc := codec.NewEncoder(&bad, msgpackHandle)
			for _, v := range []any{recordHeader, snapshotHeader{Format: snapshotFormat}, recordAllocJob, job, recordAllocRef, allocRef{JobRef: 0, Alloc: alloc}, recordEnd} {
				if err := enc.Encode(v); err != nil {
					t.Fatal(err)
				}
			}
			err := newTestFSM(t).Restore(nopCloser{&bad})
			if err == nil || !strings.Contains(err.Error(), "the job of allocations 0 is empty") {
				t.Fatalf("Restore: got %v, want the empty job refused", err)
			}
		})
	}
	var kinds []snapshotRecord
	w := allocWriter(func(k snapshotRecord, _ any) error { kinds = append(kinds, k); return nil })
	withEmpty := *alloc
	withEmpty.Job = &structs.Job{}
	if err := w(&withEmpty); err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 1 || kinds[0] != recordAlloc {
		t.Fatalf("an allocation with an empty job written as %v, want one recordAlloc", kinds)
	}
}
