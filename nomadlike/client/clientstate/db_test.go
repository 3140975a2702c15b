package clientstate

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	id := Identity{NodeID: "n1", SecretID: "s1"}
	alloc := &structs.Allocation{ID: "a1", Name: "j.g[0]", DesiredStatus: "run"}
	h := &drivers.TaskHandle{Version: 1, State: drivers.TaskStateRunning, DriverState: []byte(`{"pid":42}`),
		Config: &drivers.TaskConfig{ID: "a1/web", Name: "web", Config: map[string]any{"command": "/bin/true"}}}
	st := &structs.TaskState{State: structs.TaskStateRunning, Restarts: 2, Events: []*structs.TaskEvent{}}
	for _, err := range []error{db.PutIdentity(id), db.PutAlloc(alloc), db.PutTaskHandle("a1", "web", h), db.PutTaskState("a1", "web", st),
		db.PutAlloc(&structs.Allocation{ID: "gone"}), db.DeleteAlloc("gone")} {
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	gotID, err := db.Identity()
	if err != nil || gotID != id {
		t.Errorf("Identity: got %+v, %v; want %+v", gotID, err, id)
	}
	got, err := db.Allocs()
	if err != nil {
		t.Fatalf("Allocs: %v", err)
	}
	want := []*RestoredAlloc{{Alloc: alloc, Handles: map[string]*drivers.TaskHandle{"web": h}, States: map[string]*structs.TaskState{"web": st}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Allocs (-want +got):\n%s", diff)
	}
	if _, err := Open(path); err == nil {
		t.Errorf("second Open of a held db: got nil error, want one naming the other agent")
	}
}
