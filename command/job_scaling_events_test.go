package command

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestJobScalingEvents prints every group's events newest first, with
// Nomad's columns; an error report shows no count; no events says so.
func TestJobScalingEvents(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/jobs", 20, []*structs.JobListStub{{ID: "example", Type: "service", Status: "running"}})
	f.on("GET", "/v1/job/example", 20, &structs.Job{ID: "example", Namespace: "default", Type: "service"})
	at := func(s int) uint64 { return uint64(time.Date(2026, 12, 1, 10, 0, s, 0, time.UTC).UnixNano()) }
	three, eval := int64(3), "9ecffbba-73be-d909-5d7e-ac2694c10e0c"
	f.on("GET", "/v1/job/example/scale", 20, &structs.JobScaleStatusResponse{JobID: "example", TaskGroups: map[string]structs.TaskGroupScaleStatus{
		"web": {Desired: 3, Events: []*structs.ScalingEvent{
			{Time: at(30), PreviousCount: 3, Error: true, Message: "failed to query source"},
			{Time: at(10), Count: &three, PreviousCount: 1, Message: "submitted using the Nomad CLI", EvalID: &eval},
		}},
		"db": {Desired: 1, Events: []*structs.ScalingEvent{{Time: at(20), Count: new(int64(1)), PreviousCount: 2}}},
	}})
	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "scaling-events", "example")
	want := []string{
		`^Task Group\s+Count\s+PrevCount\s+Date$`,
		`^web {8,}3\s+<T>$`, // the error report: no count
		`^db\s+1\s+2\s+<T>$`,
		`^web\s+3\s+1\s+<T>$`,
	}
	got := lines(out)
	if !strings.Contains(out, "2026-12-01T10:00:30Z") {
		t.Errorf("dates are not RFC 3339 in UTC (the test clock's zone):\n%s", out)
	}
	if code != 0 || len(got) != len(want) {
		t.Fatalf("code %d, err %q, out:\n%s", code, errOut, out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(got[i]) {
			t.Errorf("line %d = %q, want %s", i, got[i], re)
		}
	}
	code, out, _ = runCLI(t, "", "-address="+addr, "job", "scaling-events", "-verbose", "example")
	if code != 0 || !regexp.MustCompile(`(?m)^Task Group\s+Count\s+PrevCount\s+Error\s+Message\s+Eval ID\s+Date$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web\s+3\s+true\s+failed to query source\s+2026`).MatchString(out) ||
		!strings.Contains(out, "submitted using the Nomad CLI  "+eval) {
		t.Errorf("-verbose: code %d\n%s", code, out)
	}
}
