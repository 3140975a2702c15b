package command

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// editedPlan is the reply of a plan that replaces the example's allocation
// and adds one.
func editedPlan() *structs.JobPlanResponse {
	return &structs.JobPlanResponse{
		JobModifyIndex: 12,
		Annotations: &structs.PlanAnnotations{DesiredTGUpdates: map[string]*structs.DesiredUpdates{
			"hello": {Place: 1, DestructiveUpdate: 1}}},
		Diff: &structs.JobDiff{Type: structs.DiffTypeEdited, ID: "example", TaskGroups: []*structs.TaskGroupDiff{{
			Type: structs.DiffTypeEdited, Name: "hello",
			Updates: map[string]uint64{"create": 1, "create/destroy update": 1},
			Fields:  []*structs.FieldDiff{{Type: structs.DiffTypeEdited, Name: "Count", Old: "1", New: "2", Annotations: []string{"forces create"}}},
			Tasks: []*structs.TaskDiff{{
				Type: structs.DiffTypeEdited, Name: "hello", Annotations: []string{"forces create/destroy update"},
				Objects: []*structs.ObjectDiff{{Type: structs.DiffTypeEdited, Name: "Config", Fields: []*structs.FieldDiff{
					{Type: structs.DiffTypeEdited, Name: "args[0]", Old: "1", New: "2"},
					{Type: structs.DiffTypeNone, Name: "command", Old: "/bin/sleep", New: "/bin/sleep"},
				}}},
			}},
		}}},
	}
}

func TestJobPlan(t *testing.T) {
	unchanged := &structs.JobPlanResponse{
		JobModifyIndex: 12,
		Annotations:    &structs.PlanAnnotations{DesiredTGUpdates: map[string]*structs.DesiredUpdates{"hello": {Ignore: 1}}},
		Diff: &structs.JobDiff{Type: structs.DiffTypeNone, ID: "example", TaskGroups: []*structs.TaskGroupDiff{{
			Type: structs.DiffTypeNone, Name: "hello", Updates: map[string]uint64{"ignore": 1}}}},
	}
	failed := editedPlan()
	failed.FailedTGAllocs = map[string]*structs.AllocMetric{"hello": {
		NodesEvaluated: 2, NodesExhausted: 2, NodesAvailable: map[string]int{"dc1": 2},
		DimensionExhausted: map[string]int{"memory": 2}}}

	cases := []struct {
		name     string
		status   int
		reply    any
		args     []string
		wantCode int
		want     []string // lines in order
	}{
		{
			name: "changes", status: http.StatusOK, reply: editedPlan(), wantCode: 1,
			want: []string{
				`+/- Job: "example"`,
				`+/- Task Group: "hello" (1 create, 1 create/destroy update)`,
				`  +/- Count: "1" => "2" (forces create)`,
				`  +/- Task: "hello" (forces create/destroy update)`,
				`    +/- Config {`,
				`      +/- args[0]: "1" => "2"`,
				`          command: "/bin/sleep"`,
				`        }`,
				`Scheduler dry-run:`,
				`- All tasks successfully allocated.`,
				`- Task group "hello": 1 create, 1 create/destroy update.`,
				`Job Modify Index: 12`,
			},
		},
		{
			name: "no changes", status: http.StatusOK, reply: unchanged, wantCode: 0,
			want: []string{`Job: "example"`, `Task Group: "hello" (1 ignore)`, `- All tasks successfully allocated.`, `Job Modify Index: 12`},
		},
		{
			name: "placement failure", status: http.StatusOK, reply: failed, wantCode: 1,
			want: []string{
				`- WARNING: Failed to place all allocations.`,
				`  Task Group "hello" (failed to place 1 allocation):`,
				`    * Resources exhausted on 2 nodes`,
				`    * Dimension "memory" exhausted on 2 nodes`,
			},
		},
		{
			name: "no diff", status: http.StatusOK, reply: editedPlan(), args: []string{"-diff=false"}, wantCode: 1,
			want: []string{`Scheduler dry-run:`, `- All tasks successfully allocated.`},
		},
		{
			name: "server rejects the job", status: http.StatusBadRequest, reply: rawBody("job \"example\" is invalid"), wantCode: 255,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			f.onStatus("PUT", "/v1/job/example/plan", 13, tc.status, tc.reply)
			file := writeJobFile(t)
			args := append([]string{"-address=" + addr, "job", "plan"}, tc.args...)
			code, out, errOut := runCLI(t, "", append(args, file)...)
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
			if missing, ok := containsInOrder(lines(out), tc.want); !ok {
				t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
			}
			if tc.status != http.StatusOK {
				if !strings.Contains(errOut, "planning job \"example\"") || !strings.Contains(errOut, "is invalid") {
					t.Errorf("stderr = %q, want the planning error with the server's message", errOut)
				}
				return
			}
			if !strings.Contains(out, "nomadlike job run -check-index 12 "+file) {
				t.Errorf("output lacks the check-index hint for %s:\n%s", file, out)
			}
			if strings.Contains(tc.name, "no diff") && strings.Contains(out, "Job:") {
				t.Errorf("-diff=false printed a diff:\n%s", out)
			}
			var req structs.JobPlanRequest
			f.mu.Lock()
			body := f.bodies["PUT /v1/job/example/plan"]
			f.mu.Unlock()
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("plan body: %v", err)
			}
			if req.Job == nil || req.Job.ID != "example" || req.Diff != !strings.Contains(tc.name, "no diff") {
				t.Errorf("plan request = %+v (Diff %t), want the example job", req.Job, req.Diff)
			}
		})
	}
}

func TestJobPlanParseError(t *testing.T) {
	code, _, errOut := runCLI(t, "job \"x\" {", "-address=http://127.0.0.1:1", "job", "plan", "-")
	if code != 255 || !strings.Contains(errOut, "parsing job file") {
		t.Errorf("exit code %d, stderr %q; want 255 and a parse error", code, errOut)
	}
}

func TestFormatJobDiffAdded(t *testing.T) {
	d := &structs.JobDiff{Type: structs.DiffTypeAdded, ID: "web", TaskGroups: []*structs.TaskGroupDiff{{
		Type: structs.DiffTypeAdded, Name: "g", Updates: map[string]uint64{"create": 2},
		Fields: []*structs.FieldDiff{{Type: structs.DiffTypeAdded, Name: "Count", New: "2"}},
		Tasks: []*structs.TaskDiff{{Type: structs.DiffTypeAdded, Name: "t", Annotations: []string{"forces create"},
			Fields: []*structs.FieldDiff{{Type: structs.DiffTypeAdded, Name: "Driver", New: "raw_exec"}}}},
	}}}
	want := []string{
		`+ Job: "web"`,
		`+ Task Group: "g" (2 create)`,
		`  + Count: "2"`,
		`  + Task: "t" (forces create)`,
		`    + Driver: "raw_exec"`,
	}
	if diff := cmp.Diff(want, lines(formatJobDiff(d, false))); diff != "" {
		t.Errorf("formatJobDiff (-want +got):\n%s", diff)
	}
}
