package command

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// versionsFixture records the example job with two versions.
func versionsFixture(f *fakeAgent) {
	v0 := &structs.Job{ID: "example", Type: "service", Version: 0, Stable: true, SubmitTime: testNow.Add(-3600e9).UnixNano()}
	v1 := &structs.Job{ID: "example", Type: "service", Version: 1, SubmitTime: testNow.Add(-60e9).UnixNano()}
	f.on("GET", "/v1/jobs", 20, []*structs.JobListStub{{ID: "example", Type: "service", Status: "running"}})
	f.on("GET", "/v1/job/example", 20, v1)
	f.on("GET", "/v1/job/example/versions", 20, &structs.JobVersionsResponse{
		Versions: []*structs.Job{v1, v0},
		Diffs: []*structs.JobDiff{{Type: structs.DiffTypeEdited, ID: "example",
			Fields: []*structs.FieldDiff{{Type: structs.DiffTypeEdited, Name: "Priority", Old: "50", New: "70"}}}},
	})
}

func TestJobHistory(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		absent   string
	}{
		{"versions", []string{"example"}, 0,
			[]string{"Version     = 1", "Stable      = false", "", "Version     = 0", "Stable      = true"}, "Diff"},
		{"with diffs", []string{"-p", "example"}, 0,
			[]string{"Version     = 1", `+/- Job: "example"`, `+/- Priority: "50" => "70"`, "", "Version     = 0"}, ""},
		{"one version", []string{"-version", "0", "example"}, 0, []string{"Version     = 0"}, "Version     = 1"},
		{"missing version", []string{"-version", "5", "example"}, 1, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			versionsFixture(f)
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr, "job", "history"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tc.wantCode, errOut)
			}
			if missing, ok := containsInOrder(lines(out), tc.want); !ok {
				t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
			}
			if tc.absent != "" && strings.Contains(out, tc.absent) {
				t.Errorf("output has %q; got:\n%s", tc.absent, out)
			}
			if tc.wantCode != 0 && !strings.Contains(errOut, "no such version") {
				t.Errorf("stderr = %q, want it to say the version is not kept", errOut)
			}
			if wantDiffs := strings.Contains(tc.name, "diffs"); f.requested("GET /v1/job/example/versions?diffs=true") != wantDiffs {
				t.Errorf("asked for diffs = %t, want %t; requests %q", !wantDiffs, wantDiffs, f.requests)
			}
		})
	}
}

func TestJobInspect(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"current", []string{"example"}, 0, `"Version": 1`},
		{"old version", []string{"-version", "0", "example"}, 0, `"Version": 0`},
		{"missing version", []string{"-version", "4", "example"}, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			versionsFixture(f)
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr, "job", "inspect"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tc.wantCode, errOut)
			}
			if tc.wantCode == 0 && (!strings.HasPrefix(out, "{\n    \"Job\": {") || !strings.Contains(out, tc.want)) {
				t.Errorf("output = %s, want {\"Job\": ...} with %s", out, tc.want)
			}
		})
	}
}

func TestJobRevert(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		status   int
		reply    any
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"detached", []string{"-detach", "example", "0"}, http.StatusOK,
			&structs.JobRegisterResponse{EvalID: evalID, Index: 21}, 0, "Job reverted to version 0", ""},
		{"current version", []string{"example", "1"}, http.StatusBadRequest,
			rawBody(`job "example" is already at version 1`), 1, "", "job history example"},
		{"not a number", []string{"example", "v1"}, http.StatusOK, nil, 1, "", "is not a version number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			versionsFixture(f)
			f.onStatus("PUT", "/v1/job/example/revert", 21, tc.status, tc.reply)
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr, "job", "revert"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
			if !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out, errOut, tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestJobValidate(t *testing.T) {
	cases := []struct {
		name     string
		reply    *structs.JobValidateResponse
		wantCode int
		want     []string
	}{
		{"valid", &structs.JobValidateResponse{DriverConfigValidated: true}, 0, []string{"Job validation successful"}},
		{"invalid on the server", &structs.JobValidateResponse{ValidationErrors: []string{"TaskGroups[\"hello\"].Count: cannot be negative, got -1"}}, 1,
			[]string{"Job validation errors:", `  * TaskGroups["hello"].Count: cannot be negative, got -1`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			f.on("PUT", "/v1/validate/job", 1, tc.reply)
			code, out, errOut := runCLI(t, "", "-address="+addr, "job", "validate", writeJobFile(t))
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
			if missing, ok := containsInOrder(lines(out), tc.want); !ok {
				t.Errorf("output lacks %q; got:\n%s", missing, out)
			}
		})
	}
}
