package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestJobDispatchPrefixTemplateAndPriority(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("PUT", "/v1/job/param/dispatch", 7, &structs.JobDispatchResponse{
		DispatchedJobID: "param/dispatch-nightly-1700000000-0123abcd", EvalID: "e1e1e1e1-0000-0000-0000-000000000000", Index: 7})
	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "dispatch", "-detach",
		"-id-prefix-template", "nightly", "-priority", "70", "param")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "param/dispatch-nightly-1700000000-0123abcd") {
		t.Errorf("output %q lacks the dispatched job ID", out)
	}
	f.mu.Lock()
	body := f.bodies["PUT /v1/job/param/dispatch"]
	f.mu.Unlock()
	var req structs.JobDispatchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("request body %s: %v", body, err)
	}
	if req.IdPrefixTemplate != "nightly" || req.Priority != 70 {
		t.Errorf("request %+v, want IdPrefixTemplate nightly and Priority 70", req)
	}
}

func TestJobDispatchBadPriority(t *testing.T) {
	code, _, errOut := runCLI(t, "", "-address=http://127.0.0.1:1", "job", "dispatch", "-priority", "101", "param")
	if code != 1 || !strings.Contains(errOut, "-priority 101 is out of range") {
		t.Errorf("exit %d, stderr %q: want a usage error naming -priority", code, errOut)
	}
}
