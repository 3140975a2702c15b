package clientstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fixtureAlloc, fixtureHandle and fixtureState are what testdata/state-v*.db
// hold: one running raw_exec task as a client of that schema stored it.
func fixtureAlloc() *structs.Allocation {
	return &structs.Allocation{ID: "7b1f0c2e-5d3a-4b8e-9f10-2a6c4e8d0b13", EvalID: "e1", Name: "web.server[0]", Namespace: "default",
		NodeID: "n1", JobID: "web", TaskGroup: "server", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus: structs.AllocClientStatusRunning, CreateIndex: 12, ModifyIndex: 14,
		Job: &structs.Job{ID: "web", Name: "web", Namespace: "default", Type: structs.JobTypeService, Priority: 50,
			TaskGroups: []*structs.TaskGroup{{Name: "server", Count: 1, Tasks: []*structs.Task{{Name: "server", Driver: "raw_exec",
				Config: map[string]any{"command": "/bin/sleep", "args": []any{"3600"}}}}}}}}
}

func fixtureHandle() *drivers.TaskHandle {
	return &drivers.TaskHandle{Version: 1, State: drivers.TaskStateRunning,
		DriverState: []byte(`{"StateDir":"/var/lib/nomadlike/client/tasks/7b1f0c2e/server","SupervisorPID":4242,"PID":4243,"StartedAt":"2026-12-06T20:00:00Z"}`),
		Config: &drivers.TaskConfig{ID: "7b1f0c2e-5d3a-4b8e-9f10-2a6c4e8d0b13/server", Name: "server", AllocID: "7b1f0c2e-5d3a-4b8e-9f10-2a6c4e8d0b13",
			Config: map[string]any{"command": "/bin/sleep", "args": []any{"3600"}}}}
}

func fixtureState() *structs.TaskState {
	return &structs.TaskState{State: structs.TaskStateRunning, StartedAt: time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC),
		Events: []*structs.TaskEvent{{Type: structs.TaskStarted, Time: 1765051200000000000}}}
}

// TestWriteFixture writes testdata/state-<name>.db with the code as it is
// (NOMADLIKE_WRITE_CLIENTSTATE_FIXTURE=<name>). Each schema version keeps the
// fixture written by the release that introduced it; never rewrite an old one.
func TestWriteFixture(t *testing.T) {
	name := os.Getenv("NOMADLIKE_WRITE_CLIENTSTATE_FIXTURE")
	if name == "" {
		t.Skip("set NOMADLIKE_WRITE_CLIENTSTATE_FIXTURE=<name> to write testdata/state-<name>.db")
	}
	path := filepath.Join("testdata", "state-"+name+".db")
	_ = os.Remove(path)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := fixtureAlloc()
	for _, err := range []error{db.PutIdentity(Identity{NodeID: "n1", SecretID: "s1"}), db.PutAlloc(a),
		db.PutTaskHandle(a.ID, "server", fixtureHandle()), db.PutTaskState(a.ID, "server", fixtureState())} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(fixtureHandle())
	t.Logf("wrote %s (handle %s)", path, b)
}

// TestFixturesMigrate opens a copy of the database each schema version
// wrote: it is migrated to SchemaVersion and yields the task's handle and
// state unchanged, so the client re-attaches to the task.
func TestFixturesMigrate(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "state-v*.db"))
	if err != nil || len(paths) < SchemaVersion {
		t.Fatalf("fixtures %v (%v): want one per schema version up to %d", paths, err, SchemaVersion)
	}
	for _, src := range paths {
		t.Run(filepath.Base(src), func(t *testing.T) {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
			}
			if id, err := db.Identity(); err != nil || id != (Identity{NodeID: "n1", SecretID: "s1"}) {
				t.Errorf("Identity = %+v, %v", id, err)
			}
			got, err := db.Allocs()
			if err != nil {
				t.Fatalf("Allocs: %v", err)
			}
			want := []*RestoredAlloc{{Alloc: fixtureAlloc(), Handles: map[string]*drivers.TaskHandle{"server": fixtureHandle()},
				States: map[string]*structs.TaskState{"server": fixtureState()}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Allocs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewerSchemaRefused: a database written by a newer release is refused
// with a message saying what to do, not misread.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		return b.Put(versionKey, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer nomadlike") {
		t.Errorf("Open of a version 99 database: %v; want a refusal naming the newer release", err)
	}
}
