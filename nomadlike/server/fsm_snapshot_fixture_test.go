package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyFixture applies fsmFixture's entries to f at indexes 100, 101, ...
// and returns the index of the last one.
func applyFixture(t *testing.T, f *fsm) uint64 {
	t.Helper()
	index := uint64(99)
	for _, e := range fsmFixture() {
		index++
		applyEntry(t, f, index, e.typ, e.body)
	}
	return index
}

// stateDumpReader is what dumpState reads: the live store or a snapshot.
type stateDumpReader interface {
	Jobs(ws memdb.WatchSet, namespace string) ([]*structs.Job, error)
	JobVersions(ws memdb.WatchSet) ([]*structs.Job, error)
	JobSummaries(ws memdb.WatchSet) ([]*structs.JobSummary, error)
	Nodes(ws memdb.WatchSet) ([]*structs.Node, error)
	Allocs(ws memdb.WatchSet, namespace string) ([]*structs.Allocation, error)
	Evals(ws memdb.WatchSet, namespace string) ([]*structs.Evaluation, error)
	Deployments(ws memdb.WatchSet) ([]*structs.Deployment, error)
	PeriodicLaunches(ws memdb.WatchSet) ([]*structs.PeriodicLaunch, error)
	ServiceRegistrations(ws memdb.WatchSet, namespace string) ([]*structs.ServiceRegistration, error)
	SchedulerConfig() (*structs.SchedulerConfig, error)
	Indexes() (map[string]uint64, error)
}

// storedAlloc is an allocation as stored, without Allocation.MarshalJSON.
type storedAlloc structs.Allocation

// dumpState returns every table of st as indented JSON, for golden files.
func dumpState(t *testing.T, st stateDumpReader) []byte {
	t.Helper()
	dump := map[string]any{}
	add := func(name string, v any, err error) {
		if err != nil {
			t.Fatalf("dump %s: %v", name, err)
		}
		dump[name] = v
	}
	jobs, err := st.Jobs(nil, "*")
	add("jobs", jobs, err)
	versions, err := st.JobVersions(nil)
	add("job_version", versions, err)
	sums, err := st.JobSummaries(nil)
	add("job_summary", sums, err)
	nodes, err := st.Nodes(nil)
	add("nodes", nodes, err)
	allocs, err := st.Allocs(nil, "*")
	// The stored fields only: not the legacy ones MarshalJSON derives. A
	// Copy, whose task states and score metadata are unpacked.
	stored := make([]*storedAlloc, len(allocs))
	for i, a := range allocs {
		stored[i] = (*storedAlloc)(a.Copy())
	}
	add("allocs", stored, err)
	evals, err := st.Evals(nil, "*")
	add("evals", evals, err)
	deps, err := st.Deployments(nil)
	add("deployment", deps, err)
	launches, err := st.PeriodicLaunches(nil)
	add("periodic_launch", launches, err)
	regs, err := st.ServiceRegistrations(nil, "*")
	add("service_registrations", regs, err)
	cfg, err := st.SchedulerConfig()
	add("scheduler_config", cfg, err)
	idx, err := st.Indexes()
	add("index", idx, err)
	out, err := json.MarshalIndent(dump, "", "  ")
	if err != nil {
		t.Fatalf("marshal dump: %v", err)
	}
	return out
}

// TestSnapshotFixtureV0 restores a snapshot written by the FSM as it was
// before snapshots had a header (format 0, nomadlike main at 6981ad2) and
// checks that every table comes back as that code dumped it: the upgrade
// story. NOMADLIKE_WRITE_SNAPSHOT_FIXTURE=v0 rewrote the fixture with that
// code; never regenerate it with newer code.
func TestSnapshotFixtureV0(t *testing.T) {
	bin, golden := filepath.Join("testdata", "snapshot-v0.msgpack"), filepath.Join("testdata", "snapshot-v0.json")
	if os.Getenv("NOMADLIKE_WRITE_SNAPSHOT_FIXTURE") == "v0" {
		f := newTestFSM(t)
		applyFixture(t, f)
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatalf("Snapshot: %v", err)
		}
		var buf bytes.Buffer
		if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, dumpState(t, f.state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden dump: %v", err)
	}
	g := newTestFSM(t)
	if err := g.Restore(nopCloser{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Restore of the format-0 fixture: %v", err)
	}
	if diff := cmp.Diff(string(want), string(dumpState(t, g.state))); diff != "" {
		t.Errorf("state restored from the format-0 fixture differs from what the old code dumped (-want +got):\n%s", diff)
	}
}
