package jobspec

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRoundTripJSON checks that every good fixture survives HCL -> Job ->
// JSON (the body of PUT /v1/jobs) -> Job: the HTTP API's decoding, with no
// unknown field, gives the same job after Canonicalize, and that job
// validates. Driver config numbers come back from JSON as float64, as in
// Nomad, so they are compared as numbers.
func TestRoundTripJSON(t *testing.T) {
	files, err := filepath.Glob("testdata/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob fixtures: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			job, err := ParseFile(file)
			if err != nil {
				t.Fatalf("ParseFile: got error %v, want none", err)
			}
			body, err := json.Marshal(&structs.JobRegisterRequest{Job: job})
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			var req structs.JobRegisterRequest
			if err := dec.Decode(&req); err != nil {
				t.Fatalf("decode the API body: %v\n%s", err, body)
			}
			got := req.Job
			got.Canonicalize()
			if err := got.Validate(); err != nil {
				t.Fatalf("round-tripped job fails Validate: %v", err)
			}
			want := job.Copy()
			want.Canonicalize() // idempotent: a parsed job is already canonical
			if diff := cmp.Diff(job, want); diff != "" {
				t.Errorf("Canonicalize is not idempotent on the parsed job (-parsed +again):\n%s", diff)
			}
			normalizeConfigNumbers(want)
			normalizeConfigNumbers(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("job changed through JSON (-parsed +decoded):\n%s", diff)
			}
		})
	}
}

// normalizeConfigNumbers turns every int in the tasks' driver config into
// float64, what encoding/json decodes numbers to.
func normalizeConfigNumbers(j *structs.Job) {
	var norm func(v any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case int:
			return float64(x)
		case []any:
			for i := range x {
				x[i] = norm(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = norm(x[k])
			}
		}
		return v
	}
	for _, tg := range j.TaskGroups {
		for _, task := range tg.Tasks {
			if task.Config != nil {
				norm(task.Config)
			}
		}
	}
}
