package server

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// planEntry has the fields of structs.ApplyPlanResultsRequest, by name
// and type (but the Job, kept encoded), so it decodes the same entries: a
// field added to the request must be added to it.
func TestPlanEntryMatchesTheRequest(t *testing.T) {
	want, got := reflect.TypeFor[structs.ApplyPlanResultsRequest](), reflect.TypeFor[planEntry]()
	if want.NumField() != got.NumField() {
		t.Fatalf("planEntry has %d fields, structs.ApplyPlanResultsRequest %d", got.NumField(), want.NumField())
	}
	for i := range want.NumField() {
		w, g := want.Field(i), got.Field(i)
		if w.Name != g.Name || w.Tag != g.Tag || (w.Name != "Job" && w.Type != g.Type) {
			t.Errorf("field %d: planEntry has %s %s `%s`, the request %s %s `%s`", i, g.Name, g.Type, g.Tag, w.Name, w.Type, w.Tag)
		}
	}
}

// A plan result entry decoded as the FSM does (planEntry) is the request
// the codec decodes, but for its Job: decoded only when a placement has
// none, nil otherwise (a plan that places nothing, or whose placements
// carry their job). Checked on the golden Raft entries of the codec tests
// (a previous build's bytes) and on a deployment-only plan, alone and in
// a batch.
func TestPlanEntryDecodesTheRequest(t *testing.T) {
	job := mockJob("web", 1, 100, 64)
	job.Canonicalize()
	d := structs.NewDeployment(structs.GenerateUUID(), job, 50, time.Unix(100, 0))
	placed := &structs.Allocation{ID: structs.GenerateUUID(), JobID: "web", TaskGroup: "web"}
	withJob := &structs.Allocation{ID: structs.GenerateUUID(), JobID: "web", TaskGroup: "web", Job: job}
	cases := map[string]*structs.ApplyPlanResultsRequest{
		"deployment only":        {Job: job, EvalID: "e1", Deployment: d, Timestamp: 5},
		"placement without job":  {Job: job, EvalID: "e2", AllocsPlaced: []*structs.Allocation{withJob, placed}},
		"placements with a job":  {Job: job, EvalID: "e3", AllocsPlaced: []*structs.Allocation{withJob}},
		"no job, nothing placed": {EvalID: "e4"},
	}
	bodies := map[string][]byte{}
	for name, req := range cases {
		buf, err := encodeEntry(structs.ApplyPlanResultsRequestType, req)
		if err != nil {
			t.Fatal(err)
		}
		bodies[name] = buf[1:]
	}
	golden, err := filepath.Glob("../structs/testdata/codec/ApplyPlanResultsRequest-*.raft.msgpack")
	if err != nil || len(golden) == 0 {
		t.Fatalf("golden plan entries: %v %v", golden, err)
	}
	for _, path := range golden {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(path)] = b
	}
	var batch structs.ApplyPlanResultsBatchRequest
	for name, body := range bodies {
		var want structs.ApplyPlanResultsRequest
		if err := decodeBody(body, &want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		batch.Plans = append(batch.Plans, &want)
		var p planEntry
		if err := decodeBody(body, &p); err != nil {
			t.Fatalf("%s: decode planEntry: %v", name, err)
		}
		got, err := p.request()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPlanEntry(t, name, &want, got)
	}
	buf, err := encodeEntry(structs.ApplyPlanResultsBatchRequestType, &batch)
	if err != nil {
		t.Fatal(err)
	}
	var b planBatchEntry
	if err := decodeBody(buf[1:], &b); err != nil || len(b.Plans) != len(batch.Plans) {
		t.Fatalf("batch: %d plans, %v", len(b.Plans), err)
	}
	for i, p := range b.Plans {
		got, err := p.request()
		if err != nil {
			t.Fatal(err)
		}
		checkPlanEntry(t, "batch plan "+batch.Plans[i].EvalID, batch.Plans[i], got)
	}
}

// checkPlanEntry compares got, decoded through planEntry, with want: equal
// but for the Job, which got has only when a placement needs it.
func checkPlanEntry(t *testing.T, name string, want, got *structs.ApplyPlanResultsRequest) {
	t.Helper()
	needed := false
	for _, a := range want.AllocsPlaced {
		needed = needed || (a != nil && a.Job == nil)
	}
	if !needed {
		if got.Job != nil {
			t.Errorf("%s: the job was decoded though no placement needs it", name)
		}
		w := *want
		w.Job = nil
		want = &w
	} else if got.Job == nil && want.Job != nil {
		t.Errorf("%s: a placement needs the job and it was not decoded", name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: planEntry's request differs from the codec's (-want +got):\n%s", name, diff)
	}
}
