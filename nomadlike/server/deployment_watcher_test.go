package server

import (
	"context"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// watcherOnStore is a deployment watcher over a bare store (no Raft: the
// deployments' jobs are not stored, so a step changes nothing).
func watcherOnStore(t *testing.T) (*deploymentWatcher, *state.Store) {
	t.Helper()
	st, err := state.NewStore()
	if err != nil {
		t.Fatal(err)
	}
	return newDeploymentWatcher(&Server{state: st, logger: discardLogger()}), st
}

// seedDeployments stores n running deployments at indexes 10, 11, ...
func seedDeployments(t testing.TB, st *state.Store, n int) {
	t.Helper()
	for i := range n {
		if err := st.UpsertDeployment(uint64(10+i), benchDeployment(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// pass runs one pass of w at now and returns how many deployments it examined.
func pass(t *testing.T, w *deploymentWatcher, now time.Time) int {
	t.Helper()
	if _, err := w.once(context.Background(), memdb.NewWatchSet(), now); err != nil {
		t.Fatalf("once: %v", err)
	}
	return w.examined
}

// TestDeploymentWatcherWakeExaminesOnlyWhatChanged: with many active
// deployments that do not change, a pass steps only the ones written since
// the last (each wake listed and checked every active deployment: 4% of
// the servers' CPU in BenchmarkClusterRegister, whose jobs each leave one
// that never finishes).
func TestDeploymentWatcherWakeExaminesOnlyWhatChanged(t *testing.T) {
	w, st := watcherOnStore(t)
	const n = 500
	seedDeployments(t, st, n)
	now := time.Now()
	if got := pass(t, w, now); got != n {
		t.Fatalf("first pass examined %d deployments, want all %d", got, n)
	}
	if got := pass(t, w, now); got != 0 {
		t.Fatalf("a pass with nothing written examined %d deployments, want 0", got)
	}
	index := uint64(10 + n)
	for _, i := range []int{7, 300} {
		if err := st.UpsertDeployment(index, benchDeployment(i)); err != nil {
			t.Fatal(err)
		}
		index++
	}
	if got := pass(t, w, now); got != 2 {
		t.Fatalf("after 2 writes a pass examined %d deployments, want 2", got)
	}
	// One finishes: it is forgotten, not stepped.
	req := &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: benchDeployment(9).ID, Status: structs.DeploymentStatusSuccessful}}
	if _, err := st.DeploymentStatusUpdate(index, req); err != nil {
		t.Fatal(err)
	}
	if got := pass(t, w, now); got != 0 || len(w.tracked) != n-1 {
		t.Fatalf("after one finished: examined %d, tracking %d; want 0, %d", got, len(w.tracked), n-1)
	}
}

// TestDeploymentWatcherRebuildsAfterRestore: a restore replaces the
// store's contents, and the watcher starts again from what it holds.
func TestDeploymentWatcherRebuildsAfterRestore(t *testing.T) {
	w, st := watcherOnStore(t)
	seedDeployments(t, st, 3)
	now := time.Now()
	if got := pass(t, w, now); got != 3 {
		t.Fatalf("first pass examined %d, want 3", got)
	}
	// The restored state has two other deployments, written at lower
	// indexes than the watcher has seen.
	r, err := st.NewRestore()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		d := benchDeployment(100 + i)
		d.CreateIndex, d.ModifyIndex = 5, 5
		if err := r.Row("deployment", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.IndexRestore("deployment", 5); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := pass(t, w, now); got != 2 || len(w.tracked) != 2 {
		t.Fatalf("after the restore: examined %d, tracking %d; want 2, 2", got, len(w.tracked))
	}
}

// TestDeploymentWatcherSweepsDeleted: a deleted deployment leaves nothing
// to read as a change; the periodic sweep forgets it.
func TestDeploymentWatcherSweepsDeleted(t *testing.T) {
	w, st := watcherOnStore(t)
	seedDeployments(t, st, 3)
	now := time.Now()
	pass(t, w, now)
	if err := st.DeleteDeployments(20, []string{benchDeployment(1).ID}); err != nil {
		t.Fatal(err)
	}
	pass(t, w, now)
	if len(w.tracked) != 3 {
		t.Fatalf("tracking %d before the sweep, want 3", len(w.tracked))
	}
	pass(t, w, now.Add(deploymentWatcherSweep))
	if _, ok := w.tracked[benchDeployment(1).ID]; ok || len(w.tracked) != 2 {
		t.Fatalf("after the sweep tracking %v, want the 2 left", w.tracked)
	}
}
