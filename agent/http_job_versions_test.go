package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHTTPJobVersionsDiffs reads versions with and without diffs.
func TestHTTPJobVersionsDiffs(t *testing.T) {
	fake := newFakeServer(t)
	srv := testAPI(t, fake, nil)
	for _, count := range []int{1, 3} {
		job := &structs.Job{ID: "web", Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: count, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}}}
		if _, err := fake.RegisterJob(context.Background(), &structs.JobRegisterRequest{Job: job}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		query     string
		wantCode  int
		wantDiffs int
	}{
		{"", http.StatusOK, 0},
		{"?diffs=false", http.StatusOK, 0},
		{"?diffs=true", http.StatusOK, 1},
		{"?diffs=maybe", http.StatusBadRequest, 0},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			code, _, body := do(t, http.MethodGet, srv.URL+"/v1/job/web/versions"+tc.query, "")
			if code != tc.wantCode {
				t.Fatalf("GET versions%s = %d %q, want %d", tc.query, code, body, tc.wantCode)
			}
			if code != http.StatusOK {
				return
			}
			var got structs.JobVersionsResponse
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Versions) != 2 || got.Versions[0].Version != 1 || len(got.Diffs) != tc.wantDiffs {
				t.Fatalf("got %d versions (first %d) and %d diffs, want 2 versions newest first and %d diffs",
					len(got.Versions), got.Versions[0].Version, len(got.Diffs), tc.wantDiffs)
			}
			if tc.wantDiffs == 1 {
				d := got.Diffs[0]
				if d.Type != structs.DiffTypeEdited || len(d.TaskGroups) != 1 || len(d.TaskGroups[0].Fields) != 1 ||
					d.TaskGroups[0].Fields[0].Old != "1" || d.TaskGroups[0].Fields[0].New != "3" {
					t.Errorf("diff = %+v, want Count 1 => 3", d)
				}
			}
		})
	}
	if code, _, body := do(t, http.MethodGet, srv.URL+"/v1/job/nope/versions?diffs=true", ""); code != http.StatusNotFound || !strings.Contains(body, `"nope"`) {
		t.Errorf("versions of an unknown job = %d %q, want 404 naming it", code, body)
	}
}

// TestCompatJobVersionsRevertStable drives versions, revert and stable with
// the official client against a dev agent.
func TestCompatJobVersionsRevertStable(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	for _, secs := range []string{"1000", "2000"} {
		if _, _, err := c.Jobs().Register(sleepJob("hist", 1, secs), nil); err != nil {
			t.Fatalf("Jobs().Register: %v", err)
		}
	}
	versions, diffs, _, err := c.Jobs().Versions("hist", true, nil)
	if err != nil {
		t.Fatalf("Jobs().Versions: %v", err)
	}
	if len(versions) != 2 || *versions[0].Version != 1 || len(diffs) != 1 || diffs[0].Type != "Edited" {
		t.Fatalf("Versions = %d versions, %d diffs (%+v); want 2 and 1 Edited", len(versions), len(diffs), diffs)
	}

	_, _, err = c.Jobs().Revert("hist", 1, nil, nil, "", "")
	if err == nil || !strings.Contains(err.Error(), "already at version 1") {
		t.Errorf("Revert to the current version: err = %v, want a 400 saying it is already at version 1", err)
	}
	_, _, err = c.Jobs().Revert("hist", 7, nil, nil, "", "")
	if err == nil || !strings.Contains(err.Error(), "no version 7") {
		t.Errorf("Revert to a missing version: err = %v, want a 400 naming version 7", err)
	}
	wrongPrior := uint64(0)
	_, _, err = c.Jobs().Revert("hist", 0, &wrongPrior, nil, "", "")
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("Revert with a stale prior version: err = %v, want a 409", err)
	}
	prior := uint64(1)
	reg, _, err := c.Jobs().Revert("hist", 0, &prior, nil, "", "")
	if err != nil || reg.EvalID == "" {
		t.Fatalf("Revert to version 0: %+v, %v", reg, err)
	}
	info, _, err := c.Jobs().Info("hist", nil)
	if err != nil {
		t.Fatal(err)
	}
	args := info.TaskGroups[0].Tasks[0].Config["args"]
	if *info.Version != 2 || !strings.Contains(strings.ReplaceAll(jsonString(t, args), " ", ""), `["1000"]`) {
		t.Errorf("after revert: version %d args %v, want version 2 running version 0's args [1000]", *info.Version, args)
	}

	if _, _, err := c.Jobs().Stable("hist", 0, true, nil); err != nil {
		t.Fatalf("Jobs().Stable: %v", err)
	}
	waitFor(t, "version 0 to be stable", 10*time.Second, func() (bool, string) {
		vs, _, _, err := c.Jobs().Versions("hist", false, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, v := range vs {
			if *v.Version == 0 {
				return *v.Stable, "version 0 not stable"
			}
		}
		return false, "version 0 missing"
	})
	if _, _, err := c.Jobs().Stable("hist", 9, true, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Stable of a missing version: err = %v, want a 404", err)
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
