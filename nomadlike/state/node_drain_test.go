package state

import (
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestLastDrain follows Node.LastDrain through a drain's life: started
// (draining, with meta and accessor), changed (same start, new meta),
// canceled by a user; a second drain completed by the drainer.
func TestLastDrain(t *testing.T) {
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	node := &structs.Node{ID: "n1", Name: "n1", Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible}
	if err := s.UpsertNode(10, node); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_000_000, 0).UTC()
	drain := func(index uint64, at time.Time, spec *structs.DrainStrategy, complete bool, meta map[string]string) *structs.DrainMetadata {
		t.Helper()
		req := &structs.NodeUpdateDrainRequest{NodeID: "n1", DrainStrategy: spec, UpdatedAt: at.Unix(), Complete: complete, Meta: meta, AccessorID: "acc"}
		if _, err := s.NodeUpdateDrain(index, req); err != nil {
			t.Fatal(err)
		}
		n, err := s.NodeByID(nil, "n1")
		if err != nil || n.LastDrain == nil {
			t.Fatalf("node %+v, %v: no LastDrain", n, err)
		}
		return n.LastDrain
	}
	spec := &structs.DrainStrategy{StartedAt: t0}
	d := drain(11, t0, spec, false, map[string]string{"reason": "a"})
	if d.Status != structs.DrainStatusDraining || !d.StartedAt.Equal(t0) || d.AccessorID != "acc" || d.Meta["reason"] != "a" {
		t.Errorf("started: %+v", d)
	}
	d = drain(12, t0.Add(time.Minute), spec, false, map[string]string{"reason": "b"})
	if d.Status != structs.DrainStatusDraining || !d.StartedAt.Equal(t0) || !d.UpdatedAt.Equal(t0.Add(time.Minute)) || d.Meta["reason"] != "b" {
		t.Errorf("changed: %+v", d)
	}
	d = drain(13, t0.Add(2*time.Minute), nil, false, nil)
	if d.Status != structs.DrainStatusCanceled || !d.StartedAt.Equal(t0) || !d.UpdatedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("canceled: %+v", d)
	}
	t1 := t0.Add(time.Hour)
	drain(14, t1, &structs.DrainStrategy{StartedAt: t1}, false, nil)
	d = drain(15, t1.Add(time.Minute), nil, true, nil)
	if d.Status != structs.DrainStatusComplete || !d.StartedAt.Equal(t1) {
		t.Errorf("completed: %+v", d)
	}
}
