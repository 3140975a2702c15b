package state

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestSnapshotIsolation(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertNode(2, testNode("n1")))
	snap, err := s.Snapshot()
	must(t, err)

	changed := testJob("web")
	changed.TaskGroups[0].Count = 5
	must(t, s.UpsertJob(3, changed))
	must(t, s.UpsertNode(4, testNode("n2")))
	must(t, s.UpsertAllocs(5, []*structs.Allocation{testAlloc("a1", changed, "n1")}))

	tests := []struct {
		name      string
		got, want any
	}{
		{"job count", mustGet(t, func() (any, error) { j, err := snap.JobByID(nil, "default", "web"); return j.TaskGroups[0].Count, err }), 2},
		{"nodes", mustGet(t, func() (any, error) { n, err := snap.Nodes(nil); return len(n), err }), 1},
		{"allocs by node", mustGet(t, func() (any, error) { a, err := snap.AllocsByNode(nil, "n1"); return len(a), err }), 0},
		{"latest index", mustGet(t, func() (any, error) { return snap.LatestIndex() }), uint64(2)},
		{"store sees the write", mustGet(t, func() (any, error) { j, err := s.JobByID(nil, "default", "web"); return j.TaskGroups[0].Count, err }), 5},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	// Writes to a fork stay in the fork.
	fork := snap.Fork()
	must(t, fork.UpsertNode(6, testNode("fork-only")))
	if n, err := s.NodeByID(nil, "fork-only"); err != nil || n != nil {
		t.Errorf("store sees a node written to a fork: %v, %v", n, err)
	}
	if n, err := snap.NodeByID(nil, "fork-only"); err != nil || n != nil {
		t.Errorf("snapshot sees a node written to its fork: %v, %v", n, err)
	}
	if n, err := fork.NodeByID(nil, "fork-only"); err != nil || n == nil {
		t.Errorf("fork does not see its own write: %v, %v", n, err)
	}
}

func mustGet(t *testing.T, f func() (any, error)) any {
	t.Helper()
	v, err := f()
	must(t, err)
	return v
}

func TestIndexes(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(3, testNode("n1")))
	must(t, s.UpsertJob(7, testJob("web")))
	tests := []struct {
		table   string
		want    uint64
		wantErr bool
	}{
		{"nodes", 3, false},
		{"jobs", 7, false},
		{"job_version", 7, false},
		{"job_summary", 7, false},
		{"allocs", 0, false},
		{"bogus", 0, true},
		{"index", 0, true},
	}
	for _, tt := range tests {
		got, err := s.Index(tt.table)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Index(%q) = %d, %v; want %d, error %v", tt.table, got, err, tt.want, tt.wantErr)
		}
	}
	latest, err := s.LatestIndex()
	must(t, err)
	if latest != 7 {
		t.Errorf("LatestIndex = %d, want 7", latest)
	}
	all, err := s.Indexes()
	must(t, err)
	if all["nodes"] != 3 || all["jobs"] != 7 {
		t.Errorf("Indexes = %v, want nodes 3 and jobs 7", all)
	}
}
